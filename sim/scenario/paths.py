"""Key paths into a scenario: walking the schema, closest-key hints and wildcards.

A key path is dotted (``reserve.gallium.target_days``). A part ``*`` stands for every
entry of that mapping in the scenario and ``{a,b}`` for the entries ``a`` and ``b``, so
``shocks.*.rate_per_year`` names the rate of every shock. The same expansion serves
``--set``, ``load_scenario(..., overrides=...)``, ``Scenario.with_changes`` and sweeps. Walks start at
the model class they are given (the scenario's), so this module needs no schema.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any, Union

from pydantic import BaseModel

Path_ = tuple[Union[str, int], ...]


def fmt(path: Iterable[Any]) -> str:
    """``('a', 'b', 0)`` -> ``'a.b.0'``."""
    return ".".join(str(p) for p in path)


def suggest(key: str, options: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(key, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


def step(ann: Any, value: Any, key: str) -> tuple[Any, list[str]] | None:
    """Annotation of ``key`` inside (ann, value) and the valid keys there; None if a leaf."""
    ann = _pick_model(ann, value)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        fields = [n for n in ann.model_fields if not n.startswith("_")]
        return (ann.model_fields[key].annotation if key in ann.model_fields else None), fields
    if typing.get_origin(ann) is dict:
        keys = list(value.keys()) if isinstance(value, dict) else []
        return typing.get_args(ann)[1], keys
    return None


def valid_keys_at(data: dict, path: Path_, root: type[BaseModel]) -> list[str] | None:
    """The keys allowed at ``path`` of the mapping ``data`` of model ``root`` (None at a value)."""
    ann: Any = root
    value: Any = data
    for key in path:
        found = step(ann, value, str(key))
        if found is None:
            return None
        ann, _ = found
        value = value.get(key) if isinstance(value, dict) else None
    found = step(ann, value, "")
    return found[1] if found else None


def split_path(path: str) -> list[str]:
    """Split at dots outside braces: ``a.{b,c}.d`` -> ``['a', '{b,c}', 'd']``."""
    parts, depth, cur = [], 0, ""
    for ch in path:
        depth += (ch == "{") - (ch == "}")
        if ch == "." and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def has_wildcard(path: str) -> bool:
    """True when ``path`` has a ``*`` or ``{a,b}`` part."""
    return any(p == "*" or (p.startswith("{") and p.endswith("}")) for p in split_path(path))


def expand_path(base: dict[str, Any], path: str) -> list[str]:
    """Concrete key paths of ``path`` in the mapping ``base``.

    A ``*`` part stands for every entry of that mapping in ``base``; ``{a,b}`` for the
    entries ``a`` and ``b`` (checked later like any key). A path without wildcards is
    returned as it is.
    """
    found: list[list[str]] = [[]]
    for part in split_path(path):
        nxt = []
        for prefix in found:
            node: Any = base
            for k in prefix:
                node = node.get(k, {}) if isinstance(node, dict) else {}
            if part == "*":
                nxt.extend(prefix + [str(k)] for k in (node if isinstance(node, dict) else {}))
            elif part.startswith("{") and part.endswith("}"):
                nxt.extend(prefix + [k.strip()] for k in part[1:-1].split(",") if k.strip())
            else:
                nxt.append(prefix + [part])
        found = nxt
    return [".".join(p) for p in found]
