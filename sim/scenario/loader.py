"""Load scenario files: YAML with line numbers, ``extends`` variants, ``--set`` overrides.

Every problem is reported as ``file:line: key.path: what is wrong (expected ...)``, and all
problems in a file are reported together in one :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.overrides import apply_overrides as apply_changes_at
from sim.scenario.paths import Path_, fmt
from sim.scenario.schema import Scenario
from sim.scenario.validation import validate
from sim.scenario.yaml_loader import ScenarioYamlLoader

__all__ = ["DEFAULT_SCENARIO", "Problem", "ScenarioError", "apply_overrides", "load_scenario", "validate_data"]

#: Where the default scenario lives.
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "project_vault.yaml"


@dataclass
class _Doc:
    data: dict[str, Any]
    origins: dict[Path_, tuple[str, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- YAML


def _path_at(node: yaml.Node, mark: yaml.Mark | None, path: Path_ = ()) -> Path_ | None:
    """Key path of the node that starts at ``mark`` (None if not found)."""
    if mark is None:
        return None
    if node.start_mark.index == mark.index and not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return path
    children: list[tuple[Any, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        children = [(k.value, v) for k, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(enumerate(node.value))
    for key, child in children:
        if child.start_mark.index <= mark.index <= child.end_mark.index:
            found = _path_at(child, mark, path + (key,))
            if found is not None:
                return found
    return None


def _walk_nodes(node: yaml.Node, path: Path_, source: str, out: dict, problems: list[Problem],
                open_nodes: frozenset[int] = frozenset()) -> None:
    out[path] = (source, node.start_mark.line + 1)
    if id(node) in open_nodes:
        # an alias to an enclosing node: the document would contain itself
        problems.append(Problem(source, node.start_mark.line + 1, fmt(path), "an alias refers to its own parent"))
        return
    inner = open_nodes | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value
            if key in seen:
                problems.append(Problem(source, k.start_mark.line + 1, fmt(path + (key,)), "duplicate key"))
            seen.add(key)
            _walk_nodes(v, path + (key,), source, out, problems, inner)
            out[path + (key,)] = (source, k.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk_nodes(v, path + (i,), source, out, problems, inner)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, max(0, index)) + 1


def _syntax_problem(source: str, e: yaml.YAMLError, text: str) -> Problem:
    """A YAML error located where the unterminated thing opens, or where the problem is."""
    if isinstance(e, yaml.reader.ReaderError):
        return Problem(source, _line_of(text, e.position), "", f"YAML syntax error: {e.reason} "
                       f"(character #x{e.character if isinstance(e.character, int) else ord(e.character):04x})")
    assert isinstance(e, yaml.MarkedYAMLError)
    problem = e.problem or "invalid YAML"
    line = e.problem_mark.line + 1 if e.problem_mark else None
    context = e.context or ""
    if e.context_mark is not None and context:
        opened = e.context_mark.line + 1
        # an unterminated quote, block or bracket is reported where it opens
        if isinstance(e, yaml.scanner.ScannerError) or "flow" in context:
            problem = f"{problem} {context} that opens here" + (f" (noticed at line {line})" if line != opened else "")
            line = opened
        else:
            problem = f"{problem} {context} (line {opened})"
    kind = "YAML error" if isinstance(e, yaml.constructor.ConstructorError) else "YAML syntax error"
    return Problem(source, line, "", f"{kind}: {problem}")


def _decode(source: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ScenarioError([Problem(source, line, "", f"not UTF-8 text: byte 0x{raw[e.start]:02x} at column "
                                     f"{column}; expected a UTF-8 text file (save it as UTF-8)")]) from None


def _read_yaml(file: Path) -> _Doc:
    source = str(file)
    try:
        raw = file.read_bytes()
    except (OSError, ValueError) as e:
        raise ScenarioError([Problem(source, None, "", f"cannot read file: {e.strerror or e}")]) from None
    text = _decode(source, raw)
    node = None
    try:
        loader = ScenarioYamlLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        problem = _syntax_problem(source, e, text)
        if node is not None and isinstance(e, yaml.constructor.ConstructorError):
            path = _path_at(node, e.problem_mark)
            problem = Problem(problem.source, problem.line, fmt(path or ()), problem.message)
        raise ScenarioError([problem]) from None
    except RecursionError:
        raise ScenarioError([Problem(source, None, "", "YAML nested too deeply")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([Problem(source, 1, "", "expected a mapping of sections at top level")])
    origins: dict[Path_, tuple[str, int]] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk_nodes(node, (), source, origins, problems)
    if problems:
        raise ScenarioError(problems)
    return _Doc(data, origins)


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None and isinstance(out.get(k), dict):
            # `entry: null` in a variant removes an inherited entry (a shock, a supplier...)
            del out[k]
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _assumptions(data: dict) -> Any:
    meta = data.get("meta")
    return meta.get("assumptions") if isinstance(meta, dict) else None


def _read_with_extends(file: Path, chain: tuple[Path, ...] = ()) -> _Doc:
    file = file.resolve()
    doc = _read_yaml(file)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    src, line = doc.origins.get(("extends",), (str(file), None))
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([Problem(src, line, "extends", f"expected a file name (string), got {parent!r}")])
    try:
        parent_path = (file.parent / parent).resolve()
        parent_path.is_file()
    except (OSError, ValueError) as e:  # a NUL byte, a name too long for the file system
        raise ScenarioError([Problem(src, line, "extends", f"cannot use {parent!r} as a file name: {e}")]) from None
    if parent_path in chain + (file,):
        names = " -> ".join(p.name for p in chain + (file, parent_path))
        raise ScenarioError([Problem(src, line, "extends", f"circular extends: {names}; expected a file that "
                                     "does not extend this one")])
    if not parent_path.is_file():
        what = "is a folder" if parent_path.is_dir() else "file not found"
        raise ScenarioError([Problem(src, line, "extends", f"{what}: {parent_path}; expected a scenario file")])
    base = _read_with_extends(parent_path, chain + (file,))
    merged = _deep_merge(base.data, doc.data)
    own = {p: o for p, o in doc.origins.items() if p != ("extends",)}
    # a variant's assumptions add to its parent's (provenance accumulates along the chain)
    key = ("meta", "assumptions")
    inherited = _assumptions(base.data)
    added = _assumptions(doc.data)
    if isinstance(inherited, list) and isinstance(added, list):
        merged["meta"]["assumptions"] = copy.deepcopy(inherited) + copy.deepcopy(added)
        shift = len(inherited)
        own = {
            (p[:2] + (p[2] + shift,) + p[3:] if len(p) > 2 and p[:2] == key and isinstance(p[2], int) else p): o
            for p, o in own.items()
        }
    origins = dict(base.origins)
    origins.update(own)
    return _Doc(merged, origins)


Overrides = Iterable[str] | Mapping[str, Any]


def _resolve(path: str | Path | None, overrides: Overrides | None) -> tuple[Path, dict, dict]:
    file = Path(path) if path is not None else DEFAULT_SCENARIO
    doc = _read_with_extends(file)
    data = doc.data
    if overrides:
        data = apply_overrides(data, overrides, doc.origins)
    return file, data, doc.origins


def load_scenario(path: str | Path | None = None, overrides: Overrides | None = None) -> Scenario:
    """Load, merge (``extends``), override (``key.path=value``) and validate a scenario file.

    Args:
        path: YAML file; None loads the default scenario.
        overrides: ``key.path=value`` strings (values read as YAML), or a mapping
            ``{key.path: value}``; applied after ``extends``. Paths may use ``*`` and
            ``{a,b}`` wildcards (``shocks.*.rate_per_year=0.4``). To change an already
            loaded scenario without reading files again, use :meth:`Scenario.with_changes`.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: with every located problem.

    """
    file, data, origins = _resolve(path, overrides)
    return validate_data(data, origins, str(file))


def load_resolved_dict(path: str | Path | None = None, overrides: Overrides | None = None) -> dict:
    """The merged and overridden mapping of a scenario file, before validation."""
    return _resolve(path, overrides)[1]


def validate_data(data: dict, origins: dict | None = None, source: str = "<scenario>") -> Scenario:
    """Validate a resolved mapping into a :class:`Scenario`, with located errors."""
    return validate(data, origins, source, root=Scenario)


def apply_overrides(data: dict, overrides: Overrides, origins: dict | None = None) -> dict:
    """Apply ``key.path=value`` overrides (or a ``{path: value}`` mapping) to a scenario mapping."""
    return apply_changes_at(data, overrides, origins, root=Scenario)
