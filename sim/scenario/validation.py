"""Validating a resolved scenario mapping, with every problem located at its file, line and key."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.scenario.distributions import REGISTRY
from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.paths import Path_, fmt, suggest, valid_keys_at
from sim.scenario.references import check_references

Model = TypeVar("Model", bound=BaseModel)


def _locate(origins: dict, path: Path_, fallback: str) -> tuple[str, int | None]:
    """Source and line of ``path``, or of its closest ancestor that has one."""
    p = tuple(path)
    while True:
        if p in origins:
            src, line = origins[p]
            return src, (line or None)
        if not p:
            return fallback, None
        p = p[:-1]


def _describe(err: dict, data: dict, path: Path_, root: type[BaseModel]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        valid = valid_keys_at(data, path[:-1], root) or []
        key = str(path[-1])
        return f"unknown key {key!r}{suggest(key, valid)}; expected one of: " + ", ".join(valid)
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        tags = ctx.get("expected_tags", "")
        tag = ctx.get("discriminator", "")
        return f"unknown {tag} {ctx.get('tag')!r}; expected one of: {tags}"
    if kind == "union_tag_not_found":
        return f"missing {err.get('ctx', {}).get('discriminator', 'tag')}"
    msg = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        got = repr(err["input"])
        msg += f" (got {got if len(got) <= 80 else got[:77] + '...'})"
    return msg


def validate(data: dict, origins: dict | None, source: str, *, root: type[Model]) -> Model:
    """Validate a resolved mapping into ``root`` (the scenario's class), with located errors.

    Raises:
        ScenarioError: every problem, located at the source and line it came from (``origins``:
            key path -> (source, line)), or at ``source``.
    """
    origins = origins or {}
    try:
        scenario = root.model_validate(data)
    except ValidationError as exc:
        by_path: dict[Path_, list[dict]] = {}
        for err in exc.errors():
            # pydantic adds the union member name into loc for tagged unions; drop it
            by_path.setdefault(_data_path(data, err["loc"]), []).append(err)
        problems = []
        for path, errs in by_path.items():
            if len(errs) > 1:
                # a value that fits no member of a union (day number or date): one message
                options = " or ".join(dict.fromkeys(e["msg"].removeprefix("Input should be ") for e in errs))
                msg = f"expected {options}" + (f" (got {errs[0]['input']!r})" if "input" in errs[0] else "")
            else:
                msg = _describe(errs[0], data, path, root)
            src, line = _locate(origins, path, source)
            problems.append(Problem(src, line, fmt(path), msg))
        raise ScenarioError(problems) from None
    refs = check_references(scenario)
    if refs:
        problems = []
        for path, msg in refs:
            src, line = _locate(origins, path, source)
            problems.append(Problem(src, line, fmt(path), msg))
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
        elif isinstance(part, str) and node is not None and not isinstance(node, (dict, list)):
            # below a plain value: a union member's name (date, int) or a field of the
            # mapping a bare number stands for (a fixed distribution's value)
            continue
        else:
            out.append(part)
            node = None
    return tuple(out)
