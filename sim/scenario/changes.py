"""Changed copies of a validated scenario: the implementation of ``Scenario.with_changes``.

The same key paths, wildcards and errors as ``--set``; numpy scalars are taken as plain
numbers. Works on the scenario's own class, so the schema can offer it as a method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from sim.scenario.overrides import Change, apply_changes, as_changes
from sim.scenario.validation import validate

Model = TypeVar("Model", bound=BaseModel)


def derive(scenario: Model, changes: Mapping[str, Any]) -> Model:
    """A new scenario: ``scenario`` with ``changes`` applied and validated (no file is read)."""
    if not isinstance(changes, Mapping):
        raise TypeError(f"changes must be a mapping of key path -> value, got {type(changes).__name__}")
    items: list[Change]
    items, _ = as_changes(changes, label="with_changes")
    origins: dict = {}
    data = apply_changes(scenario.model_dump(), items, origins, copy_data=False, root=type(scenario))
    return validate(data, origins, "with_changes", root=type(scenario))
