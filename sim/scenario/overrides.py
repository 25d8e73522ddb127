"""Changes to a scenario mapping by key path: ``--set``, ``overrides`` and ``with_changes``.

All three go through :func:`apply_changes`, so they accept the same paths (wildcards
included, see :mod:`sim.scenario.paths`) and report the same errors: an unknown key or
entry names the closest valid one. Values are checked by validating the whole scenario
afterwards; a problem with a changed value is reported at the change that made it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.paths import expand_path, fmt, has_wildcard, split_path, step, suggest
from sim.scenario.yaml_loader import read_value

#: One change: (key path, possibly with wildcards; value; where it came from, for messages).
Change = tuple[str, Any, str]


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into plain Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def parse_override(text: str) -> tuple[str, Any] | None:
    """``'key.path=value'`` -> ``('key.path', value)`` with the value read as YAML; None if no ``=``."""
    if "=" not in text:
        return None
    path, raw = text.split("=", 1)
    try:
        value = read_value(raw) if raw.strip() else ""
    except (yaml.YAMLError, ValueError):
        # not YAML (or an impossible date): keep the text; validation says what was expected
        value = raw
    return path.strip(), value


def as_changes(
    overrides: Iterable[str] | Mapping[str, Any], label: str = "--set"
) -> tuple[list[Change], list[Problem]]:
    """``key.path=value`` strings (``--set``) or a ``{path: value}`` mapping as changes."""
    changes: list[Change] = []
    problems: list[Problem] = []
    if isinstance(overrides, Mapping):
        for path, value in overrides.items():
            value = plain(value)
            changes.append((str(path), value, f"{label} {path}={value!r}"))
        return changes, problems
    for text in overrides:
        parsed = parse_override(text)
        if parsed is None:
            problems.append(Problem(f"{label} {text}", None, "", "expected key.path=value"))
        else:
            changes.append((parsed[0], parsed[1], f"{label} {text}"))
    return changes, problems


def _set_one(data: dict, keys: list[str], value: Any, src: str, assign: bool, root: type[BaseModel]) -> Problem | None:
    """Walk ``keys`` along the schema from ``root`` and set ``value`` at the end (if ``assign``)."""
    ann: Any = root
    node: Any = data
    for i, key in enumerate(keys):
        found = step(ann, node, key)
        if found is None:
            return Problem(src, None, fmt(keys[:i]), "is a value, it has no sub-keys")
        sub_ann, valid = found
        if key not in valid:
            what = "key" if sub_ann is None or not valid else "entry"
            return Problem(
                src,
                None,
                fmt(keys[: i + 1]),
                f"unknown {what} {key!r}{suggest(key, valid)}; expected one of: " + ", ".join(valid[:30]),
            )
        if i == len(keys) - 1:
            if assign:
                node[key] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        else:
            if not isinstance(node.get(key), dict):
                if not assign:
                    node = {}
                    ann = sub_ann
                    continue
                node[key] = {}
            node = node[key]
            ann = sub_ann
    return None


def apply_changes(data: dict, changes: list[Change], origins: dict | None = None, copy_data: bool = True, *,
                  root: type[BaseModel]) -> dict:
    """Apply ``(path, value, source)`` changes to a scenario mapping.

    Args:
        data: the resolved scenario mapping (not changed unless ``copy_data`` is False).
        changes: key paths (``*`` and ``{a,b}`` wildcards allowed), values, and where
            each change came from (named in messages).
        origins: key path -> (source, line); changed paths are recorded here so that
            validation errors point at the change.
        copy_data: work on a deep copy of ``data``.
        root: the model class of the whole mapping (the scenario's), where key paths start.

    Returns:
        The changed mapping.

    Raises:
        ScenarioError: every unknown key or entry (with the closest valid one) and every
            wildcard that matches nothing.

    """
    if copy_data:
        data = copy.deepcopy(data)
    problems: list[Problem] = []
    for path_text, value, src in changes:
        concrete = expand_path(data, path_text)
        if not concrete:
            # say which key is wrong when the part before the wildcard does not exist
            parts = split_path(path_text)
            prefix = parts[: next(i for i, p in enumerate(parts) if has_wildcard(p))]
            bad = _set_one(data, prefix, None, src, assign=False, root=root) if prefix else None
            problems.append(bad or Problem(src, None, path_text, "the wildcard matches no entry of the scenario"))
            continue
        for path in concrete:
            keys = path.split(".")
            bad = _set_one(data, keys, value, src, assign=True, root=root)
            if bad is not None:
                problems.append(bad)
                break
            if origins is not None:
                origins[tuple(keys)] = (src, 0)
    if problems:
        raise ScenarioError(problems)
    return data


def apply_overrides(data: dict, overrides: Iterable[str] | Mapping[str, Any], origins: dict | None = None, *,
                    root: type[BaseModel]) -> dict:
    """Apply ``key.path=value`` overrides (or a ``{path: value}`` mapping); see :func:`apply_changes`."""
    changes, problems = as_changes(overrides)
    if problems:
        raise ScenarioError(problems)
    return apply_changes(data, changes, origins, root=root)
