"""Numbers for people: three significant figures, money in M or bn, one spelling of "not available".

Every output of a run (terminal, ``report.html``, the answer in ``summary.json``, the
comparison tables) formats numbers through here, so a value reads the same everywhere and
never in scientific notation.
"""

from __future__ import annotations

import math
from typing import Any

#: The one spelling of a value that does not exist (a ratio with nothing to divide by, a missing KPI).
NOT_AVAILABLE = "n/a"
#: Significant figures shown.
FIGURES = 3
#: Money below this many USD (absolute) is float noise of a zero balance and shows as 0.
MONEY_NOISE_USD = 0.01
#: Money below this many USD (absolute) shows as ``<0.001 M``.
SMALL_USD = 1e3


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, NaN, infinite or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def sig(value: Any, figures: int = FIGURES, strip: bool = True) -> str:
    """``value`` to ``figures`` significant figures, thousands separated, never in scientific notation.

    Integers of more digits keep them all (``12,345``), so no digit left of the point is lost;
    with ``strip`` trailing zeros after the point are dropped (``53``, ``1.1``); money keeps them
    (``3.60 bn``) so that every amount shows its three figures.
    """
    v = _number(value)
    if v is None:
        return NOT_AVAILABLE
    if v == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(v)))
    decimals = figures - 1 - magnitude
    if decimals <= 0:
        return f"{round(v):,.0f}"
    rounded = round(v, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:  # 9.996 -> 10.0: one decimal fewer
        decimals -= 1
    text = f"{rounded:,.{max(decimals, 0)}f}"
    return text.rstrip("0").rstrip(".") if strip and "." in text else text


def money(usd: Any, unit: bool = True) -> str:
    """USD in M or bn with three significant figures: ``USD 5.37 bn``, ``USD 23.2 M``, ``USD 0.0541 M``.

    Args:
        usd: an amount in USD (None or NaN: :data:`NOT_AVAILABLE`).
        unit: prefix ``USD`` (False in tables whose header states it).

    """
    v = _number(usd)
    if v is None:
        return NOT_AVAILABLE
    prefix = "USD " if unit else ""
    if abs(v) < MONEY_NOISE_USD:
        return f"{prefix}0"
    if abs(v) < SMALL_USD:  # a thousand dollars: three figures of M would need five decimals
        return f"{prefix}{'-' if v < 0 else ''}<0.001 M"
    if abs(v) >= 0.9995e9:
        return f"{prefix}{sig(v / 1e9, strip=False)} bn"
    return f"{prefix}{sig(v / 1e6, strip=False)} M"


def scaled(value: Any, scale: float = 1.0) -> str:
    """``value * scale`` to three significant figures; money shown in M or bn under a cent is 0."""
    v = _number(value)
    if v is None:
        return NOT_AVAILABLE
    if scale <= 1e-6 and abs(v) < MONEY_NOISE_USD:
        return "0"
    return sig(v * scale)


def tonnes(t: Any) -> str:
    """Tonnes to three significant figures with the unit: ``59.2 t``."""
    text = sig(t)
    return text if text == NOT_AVAILABLE else f"{text} t"


def share(x: Any) -> str:
    """A share as a percentage to two significant figures at most: ``62%``, ``0.37%``."""
    v = _number(x)
    if v is None:
        return NOT_AVAILABLE
    return f"{sig(100 * v, 2)}%"


def interval(lo: Any, hi: Any, replications: int, fmt=sig) -> str:
    """``lo .. hi`` formatted, or "" with one replication (an interval of one value says nothing)."""
    if replications < 2 or _number(lo) is None or _number(hi) is None:
        return ""
    return f"{fmt(lo)} .. {fmt(hi)}"
