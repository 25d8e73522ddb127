"""The language of KPI keys: placeholders, the :class:`Kpi` entry, matching and expansion.

A KPI key is dotted segments (``reserve.gallium.fill_rate``). An entry's pattern writes a
placeholder (:data:`PLACEHOLDERS`) for a segment that varies; each placeholder belongs to a
dimension (arm, commodity, project, party) whose values a scenario fixes
(:func:`dimension_values`). The entries themselves are in :mod:`sim.metrics.catalog`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sim.model.world import ARMS
from sim.scenario.schema import Scenario

BN, M = 1e-9, 1e-6
#: Units, and how tables show them when they differ from the name.
UNITS = {"USD": "USD", "t": "t", "days": "days", "count": "count", "ratio": "ratio", "share": "share",
         "per year": "per year", "x reference price": "x ref. price"}
#: Headline groups: the outcomes printed after a run, the three evaluation views, the per-commodity split.
HEADLINE_GROUPS = ("outcomes", "economic", "programme", "budget", "by_commodity")


class Placeholder(NamedTuple):
    """A key segment that stands for several values; placeholders of one dimension loop together."""

    dimension: str
    meaning: str
    accepts: Callable[[str], bool]


#: Holders with entries of their own, so never a ``<party>``.
OWN_PARTIES = frozenset({"vehicle", "lender", "bloc"})
PLACEHOLDERS = {
    "<arm>": Placeholder("arm", "`reserve` (with the reserve) or `counterfactual` (the same draws without it)",
                         lambda s: s in ARMS),
    "<commodity>": Placeholder("commodity", "a commodity id of the scenario", lambda s: s != "total"),
    "<commodity|total>": Placeholder("commodity", "a commodity id, or `total` for all commodities together",
                                     lambda s: True),
    "<project>": Placeholder("project", "a project id (enabled, starting before the horizon)", lambda s: True),
    "<party>": Placeholder("party", "a member id, `members` (all of them), `non_members` or an ally id",
                           lambda s: s not in OWN_PARTIES),
}
#: Literal segments that are a value of a dimension: ``<arm>.total.x`` loops with ``<arm>.<commodity>.y``.
LITERAL_DIMENSIONS = {"total": "commodity"}
#: Conditions of ``Kpi.when``: (description, test on the scenario).
CONDITIONS: dict[str, tuple[str, Callable[[Scenario], bool]]] = {
    "parties": ("only with `parties`", lambda s: s.parties is not None),
}


@dataclass(frozen=True)
class Kpi:
    """One KPI, or one per value of its placeholders.

    Attributes:
        pattern: the key; its last segment is a name, never a placeholder.
        unit: a key of :data:`UNITS`.
        label: short display label; ``{arm}`` reads "with reserve" or "without reserve".
        meaning: one line.
        scale: display scale (1e-9 shows USD in billions); default 1e-9 for USD, else 1.
        nan_when: when the value is NaN (undefined); empty when it never is.
        ratio_of: (numerator, denominator) patterns: over replications the ratio of their means.
        headline: the headline group (:data:`HEADLINE_GROUPS`) that shows it, or None.
        rank: its place in the headline group (lower first; equal ranks keep the catalog's order).
        higher_is_better: True, False, or None when neither is better.
        when: a condition of :data:`CONDITIONS` for the run to write it; empty: always.

    """

    pattern: str
    unit: str
    label: str
    meaning: str
    scale: float | None = None
    nan_when: str = ""
    ratio_of: tuple[str, str] | None = None
    headline: str | None = None
    rank: int = 0
    higher_is_better: bool | None = None
    when: str = ""

    def __post_init__(self) -> None:
        if self.scale is None:
            object.__setattr__(self, "scale", BN if self.unit == "USD" else 1.0)
        segs = self.pattern.split(".")
        bad = [s for s in segs if s.startswith("<") and s not in PLACEHOLDERS]
        if bad or segs[-1].startswith("<") or self.unit not in UNITS or self.when not in ("", *CONDITIONS) or (
                self.headline not in (None, *HEADLINE_GROUPS)):
            raise ValueError(f"KPI catalog entry {self.pattern!r}: unknown placeholder, unit, condition or group")

    @property
    def nan_ok(self) -> bool:
        """Whether the value may be NaN."""
        return bool(self.nan_when)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The dimensions the pattern varies over, in order."""
        return _dimensions(self.pattern)

    @property
    def display_unit(self) -> str:
        """The unit as tables show it at :attr:`scale` (``USD bn``)."""
        if self.unit == "USD":
            return {BN: "USD bn", M: "USD m"}.get(self.scale, "USD")
        return UNITS[self.unit]



def dimension(segment: str) -> str | None:
    """The dimension a pattern segment stands for, or None for a literal segment."""
    ph = PLACEHOLDERS.get(segment)
    return ph.dimension if ph is not None else LITERAL_DIMENSIONS.get(segment)


def _dimensions(pattern: str) -> tuple[str, ...]:
    return tuple(d for d in map(dimension, pattern.split(".")) if d is not None)


def accepts(kpi: Kpi, parts: list[str]) -> bool:
    """Whether the key split into ``parts`` is one of the entry's keys."""
    segs = kpi.pattern.split(".")
    return len(segs) == len(parts) and all(
        (bool(p) and PLACEHOLDERS[s].accepts(p)) if s in PLACEHOLDERS else s == p for s, p in zip(segs, parts)
    )


def values_in(kpi: Kpi, key: str) -> dict[str, str]:
    """Dimension -> value of one of the entry's keys (``{"arm": "reserve", "commodity": "total"}``)."""
    return {d: p for s, p in zip(kpi.pattern.split("."), key.split(".")) if (d := dimension(s)) is not None}


def key_at(kpi: Kpi, values: dict[str, str]) -> str | None:
    """The entry's key at these dimension values, or None when it has none there."""
    out = []
    for s in kpi.pattern.split("."):
        dim = dimension(s)
        if dim is None or dim not in values:
            out.append(s)
            continue
        v = values[dim]
        if not (PLACEHOLDERS[s].accepts(v) if s in PLACEHOLDERS else v == s):
            return None
        out.append(v)
    return ".".join(out)


def fill(pattern: str, values: dict[str, str]) -> str:
    """``pattern`` with each placeholder replaced by its dimension's value (literal segments kept)."""
    return ".".join(values[PLACEHOLDERS[s].dimension] if s in PLACEHOLDERS else s for s in pattern.split("."))


def check(entries: Iterable[Kpi]) -> None:
    """Fail on a repeated pattern, or a ratio part with a placeholder its ratio does not have."""
    seen: set[str] = set()
    for kpi in entries:
        if kpi.pattern in seen:
            raise ValueError(f"KPI catalog: {kpi.pattern} is declared twice")
        seen.add(kpi.pattern)
        for part in kpi.ratio_of or ():
            if not {PLACEHOLDERS[s].dimension for s in part.split(".") if s in PLACEHOLDERS} <= set(kpi.dimensions):
                raise ValueError(f"KPI catalog: {kpi.pattern}: ratio part {part} has a placeholder the ratio lacks")


def _started_projects(scenario: Scenario) -> list[str]:
    """Enabled projects that start before the horizon, in the order their companies are founded."""
    starts = {pid: max(0, scenario.day_of(p.start)) for pid, p in scenario.projects.items() if p.enabled}
    return sorted((pid for pid, day in starts.items() if day < scenario.run.horizon_days), key=starts.__getitem__)


def dimension_values(scenario: Scenario) -> dict[str, list[str]]:
    """The values of each dimension in a run of ``scenario``, in the order the run writes them."""
    parties = scenario.parties
    return {
        "arm": list(ARMS),
        "commodity": [*scenario.commodities, "total"],
        "project": _started_projects(scenario),
        "party": [] if parties is None else [*parties.members, "members", "non_members", *parties.allies],
    }


def expand_entries(entries: Iterable[Kpi], values: dict[str, list[str]],
                   scenario: Scenario | None = None) -> Iterator[str]:
    """The keys of ``entries`` at ``values``: consecutive entries with the same dimensions are one loop.

    For each combination of a loop's values (the leftmost dimension outermost), each entry's key
    there, in the entries' order. With a ``scenario``, entries whose condition it fails are left out.
    """
    for dims, block in itertools.groupby(entries, key=lambda k: k.dimensions):
        live = [k for k in block if scenario is None or not k.when or CONDITIONS[k.when][1](scenario)]
        for combo in itertools.product(*(values[d] for d in dims)):
            at = dict(zip(dims, combo))
            yield from (key for kpi in live if (key := key_at(kpi, at)) is not None)
