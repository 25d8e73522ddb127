"""The number rules shared by every schema model (scenario sections and distributions).

One place, so that every numeric field, present or added later, obeys them:

- numbers are finite: no NaN, no infinities (``allow_inf_nan=False``);
- a number is a number: strict mode refuses a boolean or a string where a number
  belongs (``true`` is not 1.0, ``'365'`` is not 365), and an int key takes whole
  numbers only; fields that take dates opt back into parsing strings (``schema.Date``);
- no number is larger in magnitude than ``MAX_MAGNITUDE`` (1e15 in the field's unit: a
  quadrillion USD or tonnes), so arithmetic on valid inputs cannot overflow to infinity.

A model gets the rules by using ``NUMBER_RULES`` as (part of) its config and
``within_magnitude`` as a validator of every field (``field_validator("*")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

NUMBER_RULES = ConfigDict(strict=True, allow_inf_nan=False)

#: Largest magnitude of any number in a scenario, in the field's own unit.
MAX_MAGNITUDE = 1e15


def _too_large(value: Any, where: str) -> str | None:
    if isinstance(value, bool) or isinstance(value, BaseModel):
        return None  # nested models check their own fields
    if isinstance(value, (int, float)):
        return f"{where}{value:g}" if abs(value) > MAX_MAGNITUDE else None
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for k, v in items:
        found = _too_large(v, f"{where}{k}: ")
        if found:
            return found
    return None


def within_magnitude(value: Any) -> Any:
    """Field validator: ``value`` (or any number inside it) is within ``MAX_MAGNITUDE``."""
    found = _too_large(value, "")
    if found:
        expected = f"expected a number between -{MAX_MAGNITUDE:g} and {MAX_MAGNITUDE:g}"
        # a plain value is quoted by the error report; an entry of a mapping or list is named here
        raise ValueError(expected if isinstance(value, (int, float)) else f"{expected}; got {found}")
    return value
