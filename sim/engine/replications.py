"""Run paired replications of one scenario: a fixed number, or until a precision is reached.

With a precision target ``gamma`` (``run --precision``), replications are added one at a time
after :data:`~sim.metrics.stats.PRECISION_MIN_REPLICATIONS` (or the number asked for, if
more) until the 95% interval of the mean loss avoided has a half-width of at most ``gamma``
times the mean, or ``max_replications`` have run. Replication r always uses the streams of
replication r, so a run that stops at n replications equals a fixed run of n.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.engine.simulate import RunResult, simulate
from sim.metrics.stats import PRECISION_MIN_REPLICATIONS, precision_reached
from sim.scenario.schema import Scenario

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


def run_replications(
    scenario: Scenario,
    seed: int,
    n: int,
    precision: float | None = None,
    max_replications: int = 100,
    on_result: Callable[[RunResult], None] | None = None,
) -> tuple[list[RunResult], PrecisionReport | None]:
    """Run replications 0..n-1, or until ``precision`` holds (see module docstring)."""
    results: list[RunResult] = []

    def one() -> None:
        results.append(simulate(scenario, seed=seed, replication=len(results)))
        if on_result is not None:
            on_result(results[-1])

    if precision is None:
        for _ in range(n):
            one()
        return results, None
    first = min(max(n, PRECISION_MIN_REPLICATIONS), max_replications)
    while True:
        while len(results) < first:
            one()
        values = [r.summary.get(PRECISION_KPI, float("nan")) for r in results]
        reached, half, mean = precision_reached(values, precision, seed=seed)
        if reached or len(results) >= max_replications:
            return results, PrecisionReport(precision, PRECISION_KPI, reached, len(results), half, mean)
        first = len(results) + 1
