"""``--graph FILE``: a picture of the recursions found, as Graphviz DOT or Mermaid.

Each reported finding with a call chain contributes its steps: step i calls step i + 1,
and the last step's call back to the first (the call that closes the cycle: a function
calling itself is one such edge) is drawn red and labelled with the finding's code.
Functions are boxes labelled ``name`` over ``path:line``. The graph is a networkx
``DiGraph``; DOT and Mermaid are written here (no pydot or pygraphviz needed).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Dict, Sequence, Tuple

from .reporters import Result, Step

if TYPE_CHECKING:  # networkx takes ~0.1 s to import: only when a picture is asked for
    import networkx as nx

Node = Tuple[str, int, str]  # path, line, function


def build_graph(results: Sequence[Result]) -> "nx.DiGraph":
    import networkx as nx

    graph = nx.DiGraph()
    for result in results:
        steps = result.chain
        for step in steps:
            graph.add_node(_key(step), function=step.function, path=step.path, line=step.line)
        for index, step in enumerate(steps):
            following = steps[(index + 1) % len(steps)]
            closing = index == len(steps) - 1
            _add_edge(graph, _key(step), _key(following), result.code if closing else None)
    return graph


def _key(step: Step) -> Node:
    return (step.path, step.line, step.function)


def _add_edge(graph: "nx.DiGraph", source: Node, target: Node, code) -> None:
    if not graph.has_edge(source, target):
        graph.add_edge(source, target, recursive=False, codes=())
    data = graph.edges[source, target]
    if code is not None:
        data["recursive"] = True
        data["codes"] = tuple(sorted(set(data["codes"]) | {code}))


def _ids(graph: "nx.DiGraph") -> Dict[Node, str]:
    return {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}


def _sorted_edges(graph: "nx.DiGraph", ids: Dict[Node, str]):
    return sorted(graph.edges(data=True), key=lambda e: (ids[e[0]], ids[e[1]]))


# -- Graphviz -------------------------------------------------------------------------------
def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: "nx.DiGraph") -> str:
    ids = _ids(graph)
    lines = [
        'digraph "backprop-lint" {',
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica"];',
    ]
    for node, name in ids.items():
        data = graph.nodes[node]
        label = f"{data['function']}\n{data['path']}:{data['line']}"
        lines.append(f"  {name} [label={_dot_string(label)}];")
    for source, target, data in _sorted_edges(graph, ids):
        attributes = ""
        if data["recursive"]:
            codes = _dot_string(", ".join(data["codes"]))
            attributes = f" [color=red, fontcolor=red, penwidth=2, label={codes}]"
        lines.append(f"  {ids[source]} -> {ids[target]}{attributes};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid --------------------------------------------------------------------------------
_MERMAID_ENTITIES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "#": "#35;"}


def _mermaid_text(text: str) -> str:
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text)


def to_mermaid(graph: "nx.DiGraph") -> str:
    ids = _ids(graph)
    lines = ["flowchart LR"]
    for node, name in ids.items():
        data = graph.nodes[node]
        label = (f"{_mermaid_text(data['function'])}<br/>"
                 f"{_mermaid_text(data['path'])}:{data['line']}")
        lines.append(f'  {name}["{label}"]')
    red = []
    for index, (source, target, data) in enumerate(_sorted_edges(graph, ids)):
        if data["recursive"]:
            red.append(str(index))
            codes = _mermaid_text(", ".join(data["codes"]))
            lines.append(f"  {ids[source]} -->|{codes}| {ids[target]}")
        else:
            lines.append(f"  {ids[source]} --> {ids[target]}")
    if red:
        lines.append(f"  linkStyle {','.join(red)} stroke:red,stroke-width:2px,color:red")
    return "\n".join(lines) + "\n"


WRITERS: Dict[str, Callable[["nx.DiGraph"], str]] = {
    ".dot": to_dot, ".gv": to_dot, ".mmd": to_mermaid, ".mermaid": to_mermaid,
}


def writer_for(filename: str) -> Callable[["nx.DiGraph"], str]:
    """The writer for a file name's extension; ValueError if it has none we write."""
    extension = os.path.splitext(filename)[1].lower()
    if extension not in WRITERS:
        raise ValueError(f"--graph {filename}: the name must end in .dot or .gv (Graphviz) "
                         f"or .mmd (Mermaid)")
    return WRITERS[extension]


def render(results: Sequence[Result], filename: str) -> str:
    return writer_for(filename)(build_graph(results))
