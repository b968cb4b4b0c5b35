"""``--format sarif``: valid SARIF 2.1.0 (checked against the OASIS schema kept in
``tests/data``), with the code table as rules and the cycle's steps as related locations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backprop_lint.findings import CODES
from test_cli import COUNTDOWN, PING_PONG, SPIN, describe, results, run_cli, write

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_FILE = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sarif")
    write(root, {
        "pkg/a.py": SPIN,
        "pkg/b.py": "\n\n" + PING_PONG,
        "pkg/walk.py": "def build_topo(v, topo):\n    for child in v._prev:\n"
                       "        build_topo(child, topo)\n    topo.append(v)\n",
        "pkg/c.py": "class C:\n    def m(self):  # noqa: BPL101\n        return self.m()\n",
        "pkg/d.py": COUNTDOWN,
    })
    (root / "pkg" / "broken.py").symlink_to(root / "pkg" / "missing.py")
    return root


@pytest.fixture(scope="module")
def runs(project: Path):
    """(text run, SARIF run, SARIF log) of the same command."""
    text = run_cli("--isolated", "--ignore", "BPL102", "pkg", cwd=project)
    sarif = run_cli("--isolated", "--ignore", "BPL102", "--format", "sarif", "pkg",
                    cwd=project)
    return text, sarif, json.loads(sarif.stdout)


def test_sarif_validates_against_the_schema(runs, validator) -> None:
    text, sarif, log = runs
    assert sarif.returncode == 2, describe(sarif)  # the broken link: still a full report
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1


def test_sarif_rules_are_the_code_table(runs) -> None:
    _, _, log = runs
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "backprop-lint"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [doc.code for doc in CODES]
    for rule, doc in zip(rules, CODES):
        assert rule["shortDescription"]["text"] == doc.name
        assert rule["fullDescription"]["text"] == doc.summary
        assert doc.summary in rule["help"]["text"]
        assert rule["helpUri"].startswith("https://")
        assert rule["helpUri"].endswith(f"#{doc.code.lower()}")
        assert rule["name"] and " " not in rule["name"]
        expected = "error" if doc.code.startswith("BPL1") or doc.code == "BPL900" else "warning"
        assert rule["defaultConfiguration"]["level"] == expected


def test_sarif_results_match_the_text_output(runs) -> None:
    text, _, log = runs
    run = log["runs"][0]
    found = []
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]
        region = location["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert region["endLine"] >= region["startLine"]
        assert region["endColumn"] > region["startColumn"] >= 1
        uri = location["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")), uri  # relative to the repository root
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == ("error" if result["ruleId"].startswith("BPL1") else "warning")
        found.append((uri, region["startLine"], region["startColumn"], result["ruleId"]))
    assert found == results(text) == [
        ("pkg/a.py", 1, 1, "BPL101"), ("pkg/b.py", 3, 1, "BPL103"),
        ("pkg/walk.py", 1, 1, "BPL201"),
    ]
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_chain_as_related_locations_and_code_flow(runs) -> None:
    _, _, log = runs
    cycle = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "BPL103")
    related = cycle["relatedLocations"]
    assert [(loc["physicalLocation"]["artifactLocation"]["uri"],
             loc["physicalLocation"]["region"]["startLine"]) for loc in related] == [
        ("pkg/b.py", 3), ("pkg/b.py", 7), ("pkg/b.py", 4), ("pkg/b.py", 8)]  # defs, then calls
    assert [loc["message"]["text"] for loc in related] == [
        "ping calls pong", "pong calls ping", "the call of pong", "the call of ping"]
    flow = cycle["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["physicalLocation"]["region"]["startLine"] for step in flow] == [
        3, 7, 3]
    single = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "BPL101")
    assert "relatedLocations" not in single and "codeFlows" not in single


def test_sarif_reports_inputs_it_could_not_read(runs) -> None:
    _, sarif, log = runs
    invocation = log["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert len(notes) == 1 and "broken.py" in notes[0]["message"]["text"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
        "pkg/broken.py"
    assert "broken.py" in sarif.stderr


def test_sarif_without_findings_is_valid(tmp_path, validator) -> None:
    write(tmp_path, {"ok.py": "def fine(n):\n    return n\n"})
    result = run_cli("--isolated", "--format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 0, describe(result)
    log = json.loads(result.stdout)
    assert not list(validator.iter_errors(log))
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
