"""Run paired replications of one scenario: a fixed number, or until a precision is reached.

The runner keeps only each replication's KPIs (:class:`KpiRows`, a few kB per replication);
every :class:`~sim.simulation.simulate.RunResult` goes to ``on_result`` as it is made (which
writes or reduces its series) and is freed before the next replication starts, so memory
stays flat in the number of replications.

With a precision target ``gamma`` (``run --precision``), replications are added one at a time
after :data:`~sim.metrics.stats.PRECISION_MIN_REPLICATIONS` (or the number asked for, if
more) until the 95% interval of the mean loss avoided has a half-width of at most ``gamma``
times the mean, or ``max_replications`` have run. Replication r always uses the streams of
replication r, so a run that stops at n replications equals a fixed run of n.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.stats import PRECISION_MIN_REPLICATIONS, precision_reached
from sim.scenario.schema import Scenario
from sim.simulation.simulate import RunResult, simulate

#: The KPI whose precision ``--precision`` controls.
PRECISION_KPI = "economic.loss_avoided_npv_usd"


@dataclass
class PrecisionReport:
    """How a precision-controlled run ended."""

    target: float
    kpi: str
    reached: bool
    replications: int
    half_width: float
    mean: float

    def sentence(self) -> str:
        """One line for the terminal and the summary."""
        rel = self.half_width / abs(self.mean) if self.mean else float("nan")
        state = "reached" if self.reached else "NOT reached"
        return (
            f"precision {self.target:g} {state} after {self.replications} replications: 95% CI half-width of "
            f"{self.kpi} = {self.half_width:,.4g} ({rel:.1%} of the mean {self.mean:,.4g})"
        )


#: How a KPI value is stored, so that it comes back as the type it was (an int stays an int).
_FLOAT, _INT, _BOOL, _MISSING = 0, 1, 2, 3


@dataclass
class KpiRows:
    """The KPI summaries of replications, one float64 row each (about 9 bytes per KPI).

    Keys are held once; a replication's values come back with their Python types (``int``
    counts stay ints), and a key a replication lacks is absent from its :meth:`records`.
    """

    keys: list[str] = field(default_factory=list)
    replications: list[int] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _values: list[np.ndarray] = field(default_factory=list, repr=False)
    _kinds: list[np.ndarray] = field(default_factory=list, repr=False)

    def append(self, summary: dict[str, Any], replication: int, seed: int) -> None:
        """Add one replication's summary."""
        for k in summary:
            if k not in self._index:
                self._index[k] = len(self.keys)
                self.keys.append(k)
        values = np.full(len(self.keys), np.nan)
        kinds = np.full(len(self.keys), _MISSING, dtype=np.int8)
        for k, v in summary.items():
            j = self._index[k]
            values[j] = float(v)
            kinds[j] = _BOOL if isinstance(v, bool) else _INT if isinstance(v, int) else _FLOAT
        self._values.append(values)
        self._kinds.append(kinds)
        self.replications.append(int(replication))
        self.seeds.append(int(seed))

    def __len__(self) -> int:
        return len(self._values)

    def values(self, key: str) -> np.ndarray:
        """One KPI over replications (NaN where a replication lacks it)."""
        j = self._index.get(key)
        if j is None:
            return np.full(len(self), np.nan)
        return np.array([v[j] if j < v.size else np.nan for v in self._values])

    def record(self, i: int) -> dict[str, Any]:
        """Replication ``i``'s summary as it was given."""
        out: dict[str, Any] = {}
        for k, v, kind in zip(self.keys, self._values[i], self._kinds[i]):
            if kind == _FLOAT:
                out[k] = float(v)
            elif kind == _INT:
                out[k] = int(v)
            elif kind == _BOOL:
                out[k] = bool(v)
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        """Every replication's summary, one at a time."""
        return (self.record(i) for i in range(len(self)))

    def frame(self, chunk: int = 64) -> pd.DataFrame:
        """One row per replication, columns ``replication``, ``seed`` and the KPIs.

        Built in chunks of ``chunk`` replications, so no more than that many dicts exist at
        once; column types come out as a frame built from all summaries at once would have them.
        """
        parts = []
        for start in range(0, len(self), chunk):
            idx = range(start, min(start + chunk, len(self)))
            parts.append(pd.DataFrame([{"replication": self.replications[i], "seed": self.seeds[i],
                                        **self.record(i)} for i in idx]))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def run_replications(
    scenario: Scenario,
    seed: int,
    n: int,
    precision: float | None = None,
    max_replications: int = 100,
    on_result: Callable[[RunResult], None] | None = None,
) -> tuple[KpiRows, PrecisionReport | None]:
    """Run replications 0..n-1, or until ``precision`` holds (see module docstring).

    Returns:
        The replications' KPIs and, with ``precision``, how the run ended. Each full result
        is handed to ``on_result`` and not kept.

    """
    results = KpiRows()

    def one() -> None:
        # simulate() disposes of its engine, so a replication's arrays go with its result here
        r = simulate(scenario, seed=seed, replication=len(results))
        results.append(r.summary, r.meta["replication"], r.meta["seed"])
        if on_result is not None:
            on_result(r)

    if precision is None:
        for _ in range(n):
            one()
        return results, None
    first = min(max(n, PRECISION_MIN_REPLICATIONS), max_replications)
    while True:
        while len(results) < first:
            one()
        values = results.values(PRECISION_KPI)
        reached, half, mean = precision_reached(values, precision, seed=seed)
        if reached or len(results) >= max_replications:
            return results, PrecisionReport(precision, PRECISION_KPI, reached, len(results), half, mean)
        first = len(results) + 1
