"""The command's settings: defaults < flake8's ``[flake8]`` section < ``[tool.backprop-lint]``
in ``pyproject.toml`` < the command line (each option replaces the one below it).

Configuration is searched for from the current folder upwards (stopping before the home
folder, as flake8 does); the first folder holding a ``pyproject.toml`` with a
``[tool.backprop-lint]`` table or a ``setup.cfg`` / ``tox.ini`` / ``.flake8`` with a
``[flake8]`` section gives it. ``[tool.backprop-lint]`` takes lists or comma-separated
strings; an unknown key there is an error. From ``[flake8]`` only the options shared with
the plugin are read, and only the codes that can concern BPL codes: a ``select = E,F,W``
written for other plugins does not switch backprop-lint off. Exclude globs with a ``/``
are relative to the file that sets them (to the current folder on the command line).

Every bad value is a :class:`ConfigError` with a one-line message.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .files import DEFAULT_EXCLUDE, is_excluded, normalize_patterns
from .findings import CODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    try:
        import tomli as tomllib
    except ImportError:  # a broken install: only pyproject.toml needs it
        tomllib = None  # type: ignore[assignment]

CODE_KEYS = ("select", "ignore", "extend-select", "extend-ignore")
PATTERN_KEYS = ("exclude", "extend-exclude")
GLOB_KEYS = ("backward-functions",)
PER_FILE_KEYS = ("per-file-ignores", "extend-per-file-ignores")
KEYS = CODE_KEYS + PATTERN_KEYS + GLOB_KEYS + PER_FILE_KEYS
FLAKE8_FILES = ("setup.cfg", "tox.ini", ".flake8")
TOOL_TABLE = "backprop-lint"
PREFIX = "BPL"
# flake8's VALID_CODE_PREFIX: what a code or a code prefix looks like
CODE_PREFIX = re.compile(r"^[A-Z]{1,3}[0-9]{0,3}$", re.ASCII)
_SEPARATORS = re.compile(r"[,\s]")

RawValue = Union[str, Sequence[str], Mapping[str, Union[str, Sequence[str]]]]
PerFile = Tuple[Tuple[str, Tuple[str, ...]], ...]  # (glob, codes), in the order given


class ConfigError(Exception):
    """A configuration file or option value that cannot be used (one line)."""


@dataclasses.dataclass(frozen=True)
class CodeSelection:
    """flake8's select / ignore decision, for BPL codes: the longest matching prefix wins
    (a tie goes to ignore); without ``select``, every code not ignored is selected."""

    select: Optional[Tuple[str, ...]] = None
    extend_select: Tuple[str, ...] = ()
    ignore: Tuple[str, ...] = ()

    def __call__(self, code: str) -> bool:
        chosen = _longest(code, (self.select or ()) + self.extend_select)
        ignored = _longest(code, self.ignore)
        if chosen is not None:
            return ignored is None or len(chosen) > len(ignored)
        return self.select is None and ignored is None


def _longest(code: str, prefixes: Sequence[str]) -> Optional[str]:
    matching = [p for p in prefixes if code.startswith(p)]
    return max(matching, key=len) if matching else None


@dataclasses.dataclass(frozen=True)
class Settings:
    select: Optional[Tuple[str, ...]] = None
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    extend_ignore: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: Tuple[str, ...] = ()
    backward_functions: Optional[Tuple[str, ...]] = None  # None: the analysis's default
    per_file_ignores: PerFile = ()
    extend_per_file_ignores: PerFile = ()

    @property
    def excluded(self) -> Tuple[str, ...]:
        return self.exclude + self.extend_exclude

    @property
    def selection(self) -> CodeSelection:
        return CodeSelection(self.select, self.extend_select, self.ignore + self.extend_ignore)

    def selection_for(self, path: str) -> CodeSelection:
        """:attr:`selection` with the codes ``per-file-ignores`` adds for ``path``."""
        extra = per_file_codes(path, self.per_file_ignores + self.extend_per_file_ignores)
        if not extra:
            return self.selection
        return CodeSelection(self.select, self.extend_select,
                             self.ignore + self.extend_ignore + extra)


def per_file_codes(path: str, mapping: PerFile) -> Tuple[str, ...]:
    """flake8's rule (``StyleGuideManager.style_guide_for``): of the globs that match the
    file - its name, or its absolute path - the longest one alone gives its codes."""
    matching = [(glob, codes) for glob, codes in mapping if is_excluded(path, (glob,))]
    if not matching:
        return ()
    return max(matching, key=lambda item: len(item[0]))[1]


@dataclasses.dataclass(frozen=True)
class Layer:
    """Raw option values from one place (a file section, or the command line)."""

    origin: str  # for messages: "setup.cfg [flake8]", "the command line"
    base: str  # folder that relative exclude globs start from
    values: Mapping[str, RawValue]
    flake8: bool = False  # a [flake8] section shared with other plugins
    cli: bool = False

    def where(self, key: str) -> str:
        return f"--{key}" if self.cli else f"{self.origin}: {key}"


# -- values ---------------------------------------------------------------------------------
def _items(key: str, raw: RawValue, layer: Layer) -> List[str]:
    if isinstance(raw, str):
        parts = _SEPARATORS.split(raw)
    elif isinstance(raw, (list, tuple)) and all(isinstance(v, str) for v in raw):
        parts = [p for value in raw for p in _SEPARATORS.split(value)]
    else:
        raise ConfigError(f"{layer.where(key)}: expected a string or a list of strings, "
                          f"got {raw!r}")
    return [p.strip() for p in parts if p.strip()]


def _codes(key: str, raw: RawValue, layer: Layer) -> Tuple[str, ...]:
    codes = _items(key, raw, layer)
    for code in codes:
        if not CODE_PREFIX.match(code):
            raise ConfigError(f"{layer.where(key)}: {code!r} is not a code or code prefix "
                              f"(like BPL1 or BPL101)")
    if layer.flake8:  # keep what can concern BPL codes; the rest is for other plugins
        codes = [c for c in codes if c.startswith(PREFIX) or PREFIX.startswith(c)]
    return tuple(codes)


def _per_file(key: str, raw: RawValue, layer: Layer) -> PerFile:
    """``{glob = [codes]}`` (a TOML table, as ruff writes it) or flake8's text
    ``glob:codes glob2,glob3:codes`` (a string, or a list of such lines), read by
    flake8's own parser. Globs with a ``/`` are relative to the file that sets them."""
    if isinstance(raw, Mapping):
        pairs = [(str(glob), _codes(key, codes, layer)) for glob, codes in raw.items()]
    else:
        from flake8.utils import parse_files_to_codes_mapping  # flake8 is a dependency
        try:
            text = raw if isinstance(raw, str) else "\n".join(_items(key, raw, layer))
            parsed = parse_files_to_codes_mapping(text)
        except Exception as exc:  # flake8's ExecutionError: a malformed mapping
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{layer.where(key)}: {first}") from None
        pairs = [(glob, _codes(key, codes, layer)) for glob, codes in parsed]
    # a glob whose codes are all other plugins' stays: the longest matching glob wins
    return tuple((normalize_patterns([glob], layer.base)[0], codes)
                 for glob, codes in pairs if glob.strip())


def _value(key: str, raw: RawValue, layer: Layer):
    if key in PER_FILE_KEYS:
        return _per_file(key, raw, layer)
    if key in CODE_KEYS:
        return _codes(key, raw, layer)
    items = _items(key, raw, layer)
    if key in PATTERN_KEYS:
        return normalize_patterns(items, layer.base)
    if not items:
        raise ConfigError(f"{layer.where(key)}: needs at least one glob")
    return tuple(items)


def settings_from(layers: Sequence[Layer]) -> Settings:
    """Settings from ``layers``, each replacing the options it sets in the ones before."""
    chosen: Dict[str, object] = {}
    origins: Dict[str, str] = {}
    for layer in layers:
        for key, raw in layer.values.items():
            value = _value(key, raw, layer)
            if key == "select" and layer.flake8 and not value:
                continue  # a [flake8] select naming no BPL code: not ours
            chosen[key.replace("-", "_")] = value
            origins[key] = layer.where(key)
    settings = Settings(**chosen)  # type: ignore[arg-type]
    _check_selects_a_code(settings, origins)
    return settings


def _check_selects_a_code(settings: Settings, origins: Mapping[str, str]) -> None:
    """A ``select`` that matches no code would report nothing, whatever the code holds: a
    silent all-clear. (Ignoring every code is a choice; selecting none is a typo.)"""
    if settings.select is None:
        return
    wanted = settings.select + settings.extend_select
    if any(code.startswith(wanted) for code in (doc.code for doc in CODES)):
        return
    where = " and ".join(origins[key] for key in ("select", "extend-select") if key in origins)
    raise ConfigError(f"{where}: {','.join(wanted) or 'nothing'} matches no code "
                      f"(codes: {', '.join(doc.code for doc in CODES)}; or a prefix, like BPL1)")


# -- files ----------------------------------------------------------------------------------
def _normalize_keys(values: Mapping[str, object]) -> Dict[str, object]:
    return {str(k).strip().lower().replace("_", "-"): v for k, v in values.items()}


def read_pyproject(path: str, display: str) -> Optional[Layer]:
    """The ``[tool.backprop-lint]`` table of ``path``, if it has one."""
    if tomllib is None:
        raise ConfigError(f"{display}: reading it needs the 'tomli' package on Python < 3.11")
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: invalid TOML: {exc}") from None
    table = document.get("tool", {}).get(TOOL_TABLE)
    if table is None:
        return None
    origin = f"{display} [tool.{TOOL_TABLE}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: expected a table")
    values = _normalize_keys(table)
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(f"{origin}: unknown option {unknown[0]!r} "
                          f"(known: {', '.join(KEYS)})")
    return Layer(origin, os.path.dirname(os.path.abspath(path)), values)  # type: ignore[arg-type]


def read_flake8_section(path: str, display: str) -> Optional[Layer]:
    """The shared options of the ``[flake8]`` section of an ini file, if it has one."""
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as exc:
        raise ConfigError(f"{display}: cannot read: {exc.strerror or exc}") from None
    except (configparser.Error, UnicodeDecodeError) as exc:
        message = str(exc).replace("\n", " ")
        raise ConfigError(f"{display}: cannot parse: {message}") from None
    if not parser.has_section("flake8"):
        return None
    values = _normalize_keys(dict(parser.items("flake8")))
    shared = {k: v for k, v in values.items() if k in KEYS}
    return Layer(f"{display} [flake8]", os.path.dirname(os.path.abspath(path)),
                 shared, flake8=True)  # type: ignore[arg-type]


def read_config_file(path: str) -> List[Layer]:
    """An explicitly named file (``--config``): TOML if it ends in ``.toml``, else ini."""
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: configuration file not found")
    layer = (read_pyproject if path.endswith(".toml") else read_flake8_section)(path, path)
    if layer is None:
        section = f"[tool.{TOOL_TABLE}]" if path.endswith(".toml") else "[flake8]"
        raise ConfigError(f"{path}: has no {section} section")
    return [layer]


def _display(path: str) -> str:
    relative = os.path.relpath(path)
    return relative if not relative.startswith(os.pardir) else path


def layers_in(folder: str) -> List[Layer]:
    """The configuration in one folder: its [flake8] section, then [tool.backprop-lint]."""
    found: List[Layer] = []
    for name in FLAKE8_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            layer = read_flake8_section(path, _display(path))
            if layer is not None:
                found.append(layer)
                break
    pyproject = os.path.join(folder, "pyproject.toml")
    if os.path.isfile(pyproject):
        layer = read_pyproject(pyproject, _display(pyproject))
        if layer is not None:
            found.append(layer)
    return found


def discover_layers(start: str) -> List[Layer]:
    """The configuration of the nearest folder from ``start`` upwards that has any."""
    home = os.path.realpath(os.path.expanduser("~"))
    folder = os.path.abspath(start)
    while True:
        found = layers_in(folder)
        if found:
            return found
        parent = os.path.dirname(folder)
        if parent == folder or os.path.realpath(parent) == home:
            return []
        folder = parent


def load_settings(command_line: Mapping[str, RawValue], config_file: Optional[str] = None,
                  isolated: bool = False, start: str = os.curdir) -> Settings:
    """Settings from the configuration files and the command line's options."""
    if isolated:
        layers: List[Layer] = []
    elif config_file is not None:
        layers = read_config_file(config_file)
    else:
        layers = discover_layers(start)
    cli = Layer("the command line", os.path.abspath(start), command_line, cli=True)
    return settings_from([*layers, cli])
