"""Load scenario files: YAML with line numbers, ``extends`` variants, ``--set`` overrides.

Every problem is reported as ``file:line: key.path: what is wrong (expected ...)``, and all
problems in a file are reported together in one :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import difflib
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from sim.scenario.distributions import REGISTRY
from sim.scenario.references import check_references
from sim.scenario.schema import Scenario

Path_ = tuple[Union[str, int], ...]

#: Where the default scenario lives.
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "project_vault.yaml"


@dataclass(frozen=True)
class Problem:
    """One located problem in a scenario."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path or '<top>'}: {self.message}"


class ScenarioError(ValueError):
    """Invalid scenario input; ``problems`` lists each located problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class _Doc:
    data: dict[str, Any]
    origins: dict[Path_, tuple[str, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader; duplicate keys are found separately from the node tree."""


def _walk_nodes(node: yaml.Node, path: Path_, source: str, out: dict, problems: list[Problem]) -> None:
    out[path] = (source, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = k.value
            if key in seen:
                problems.append(Problem(source, k.start_mark.line + 1, _fmt(path + (key,)), "duplicate key"))
            seen.add(key)
            out[path + (key,)] = (source, k.start_mark.line + 1)
            _walk_nodes(v, path + (key,), source, out, problems)
            out[path + (key,)] = (source, k.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk_nodes(v, path + (i,), source, out, problems)


def _read_yaml(file: Path) -> _Doc:
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError([Problem(source, None, "", f"cannot read file: {e.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise ScenarioError([Problem(source, line, "", f"YAML syntax error: {e.problem}")]) from None
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


def _read_with_extends(file: Path, chain: tuple[Path, ...] = ()) -> _Doc:
    file = file.resolve()
    if file in chain:
        names = " -> ".join(str(p) for p in chain + (file,))
        raise ScenarioError([Problem(str(file), None, "extends", f"circular extends: {names}")])
    doc = _read_yaml(file)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    if not isinstance(parent, str):
        src, line = doc.origins.get(("extends",), (str(file), None))
        raise ScenarioError([Problem(src, line, "extends", "expected a file name (string)")])
    parent_path = file.parent / parent
    if not parent_path.exists():
        src, line = doc.origins.get(("extends",), (str(file), None))
        raise ScenarioError([Problem(src, line, "extends", f"file not found: {parent_path}")])
    base = _read_with_extends(parent_path, chain + (file,))
    merged = _deep_merge(base.data, doc.data)
    own = {p: o for p, o in doc.origins.items() if p != ("extends",)}
    # a variant's assumptions add to its parent's (provenance accumulates along the chain)
    key = ("meta", "assumptions")
    inherited = base.data.get("meta", {}).get("assumptions")
    added = doc.data.get("meta", {}).get("assumptions")
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


# ------------------------------------------------------------------ schema walking


def _fmt(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path)


def _unwrap(ann: Any) -> Any:
    """Strip Annotated/Optional wrappers."""
    while True:
        origin = typing.get_origin(ann)
        if origin is typing.Annotated:
            ann = typing.get_args(ann)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if len(args) == 1:
                ann = args[0]
            else:
                return ann
        else:
            return ann


def _pick_model(ann: Any, value: Any) -> Any:
    """For a tagged union, the member class that ``value`` selects (or the union itself)."""
    ann = _unwrap(ann)
    if typing.get_origin(ann) in (Union, types.UnionType) and isinstance(value, dict):
        for member in typing.get_args(ann):
            member = _unwrap(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                for tag in ("kind", "dist"):
                    f = member.model_fields.get(tag)
                    if f is not None and tag in value:
                        lit = typing.get_args(f.annotation)
                        if value[tag] in lit:
                            return member
    return ann


def _step(ann: Any, value: Any, key: str) -> tuple[Any, list[str]] | None:
    """Annotation of ``key`` inside (ann, value) and the valid keys there; None if a leaf."""
    ann = _pick_model(ann, value)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        fields = [n for n in ann.model_fields if not n.startswith("_")]
        return (ann.model_fields[key].annotation if key in ann.model_fields else None), fields
    if typing.get_origin(ann) is dict:
        keys = list(value.keys()) if isinstance(value, dict) else []
        return typing.get_args(ann)[1], keys
    return None


def _valid_keys_at(data: dict, path: Path_) -> list[str] | None:
    ann: Any = Scenario
    value: Any = data
    for key in path:
        step = _step(ann, value, str(key))
        if step is None:
            return None
        ann, _ = step
        value = value.get(key) if isinstance(value, dict) else None
    step = _step(ann, value, "")
    return step[1] if step else None


def _suggest(key: str, options: list[str]) -> str:
    close = difflib.get_close_matches(key, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------ overrides


def apply_overrides(data: dict, overrides: list[str], origins: dict | None = None) -> dict:
    """Apply ``key.path=value`` overrides; unknown paths are errors with a suggestion."""
    data = copy.deepcopy(data)
    problems: list[Problem] = []
    for text in overrides:
        src = f"--set {text}"
        if "=" not in text:
            problems.append(Problem(src, None, "", "expected key.path=value"))
            continue
        path_text, raw = text.split("=", 1)
        keys = path_text.strip().split(".")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        ann: Any = Scenario
        node: Any = data
        ok = True
        for i, key in enumerate(keys):
            step = _step(ann, node, key)
            if step is None:
                problems.append(Problem(src, None, _fmt(keys[:i]), "is a value, it has no sub-keys"))
                ok = False
                break
            sub_ann, valid = step
            is_last = i == len(keys) - 1
            if key not in valid:
                what = "key" if sub_ann is None or not valid else "entry"
                problems.append(
                    Problem(
                        src,
                        None,
                        _fmt(keys[: i + 1]),
                        f"unknown {what} {key!r}{_suggest(key, valid)}; expected one of: " + ", ".join(valid[:30]),
                    )
                )
                ok = False
                break
            if is_last:
                node[key] = value
            else:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
                ann = sub_ann
        if ok and origins is not None:
            origins[tuple(keys)] = (src, 0)
    if problems:
        raise ScenarioError(problems)
    return data


# ------------------------------------------------------------------ validation


def _locate(origins: dict, path: Path_, fallback: str) -> tuple[str, int | None]:
    p = tuple(path)
    while p:
        if p in origins:
            src, line = origins[p]
            return src, (line or None)
        p = p[:-1]
    return origins.get((), (fallback, None))[0], None


def _describe(err: dict, data: dict, path: Path_) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        valid = _valid_keys_at(data, path[:-1]) or []
        key = str(path[-1])
        return f"unknown key {key!r}{_suggest(key, valid)}; expected one of: " + ", ".join(valid)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = ctx.get("expected_tags", "")
        tag = ctx.get("discriminator", "")
        return f"unknown {tag} {ctx.get('tag')!r}; expected one of: {tags}"
    if kind == "union_tag_not_found":
        return f"missing {err.get('ctx', {}).get('discriminator', 'tag')}"
    msg = err["msg"]
    if "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f" (got {err['input']!r})"
    return msg


def validate_data(data: dict, origins: dict | None = None, source: str = "<scenario>") -> Scenario:
    """Validate a resolved mapping into a :class:`Scenario`, with located errors."""
    origins = origins or {}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # pydantic adds the union member name into loc for tagged unions; drop it
            path = _data_path(data, err["loc"])
            if err["type"] == "value_error" and "unknown distribution" in err["msg"]:
                msg = err["msg"].removeprefix("Value error, ")
            else:
                msg = _describe(err, data, path)
            src, line = _locate(origins, path, source)
            problems.append(Problem(src, line, _fmt(path), msg))
        raise ScenarioError(problems) from None
    refs = check_references(scenario)
    if refs:
        problems = []
        for path, msg in refs:
            src, line = _locate(origins, path, source)
            problems.append(Problem(src, line, _fmt(path), msg))
        raise ScenarioError(problems)
    return scenario


def _data_path(data: Any, loc: tuple) -> Path_:
    """Drop the union-member names pydantic puts into error locations."""
    out: list[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and part in (node.get("kind"), node.get("dist")):
            continue
        elif isinstance(part, str) and ("[" in part or part in REGISTRY):
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)


def load_scenario(path: str | Path | None = None, overrides: list[str] | None = None) -> Scenario:
    """Load, merge (``extends``), override (``key.path=value``) and validate a scenario file.

    Args:
        path: YAML file; None loads the default scenario.
        overrides: ``key.path=value`` strings, applied after ``extends``.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: with every located problem.

    """
    file = Path(path) if path is not None else DEFAULT_SCENARIO
    doc = _read_with_extends(file)
    data = doc.data
    if overrides:
        data = apply_overrides(data, list(overrides), doc.origins)
    return validate_data(data, doc.origins, str(file))


def load_resolved_dict(path: str | Path | None = None, overrides: list[str] | None = None) -> dict:
    """The merged and overridden mapping of a scenario file, before validation."""
    file = Path(path) if path is not None else DEFAULT_SCENARIO
    doc = _read_with_extends(file)
    return apply_overrides(doc.data, list(overrides or []), doc.origins)
