"""The one entry point: ``simulate(scenario, seed, replication) -> RunResult``.

Build (compile the scenario, draw pre-sampled noise) -> run (SimPy) -> collect (checks,
KPIs, DataFrames built once at the end). Inputs and outputs are picklable, so batch
workers call this function directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from sim.core.ledger import LINES, Ledger
from sim.core.rng import Streams
from sim.engine.engine import SERIES, Engine, collector_paused
from sim.metrics import catalog
from sim.metrics.kpis import compute_kpis, discount_factors
from sim.metrics.party_kpis import party_kpis
from sim.metrics.terminal import days_of_cover
from sim.model.world import ARMS, build_world
from sim.scenario.schema import Scenario
from sim.version import __version__

#: Relative tolerance of the end-of-run conservation checks.
CONSERVATION_RTOL = 1e-9
#: The time series' column derived from the recorded series (:meth:`SeriesRecord.frame`).
COVER_SERIES = "days_of_cover"
#: Balances the finance table adds to the ledger's lines (:func:`_finance`).
BALANCES = ("cash_usd", "debt_usd")


def series_names() -> list[str]:
    """Every value column of a run's time series and finance tables, in table order (no id columns)."""
    names = [*SERIES, COVER_SERIES]
    return names + [c for c in (*LINES, *BALANCES) if c not in names]


class ConservationError(RuntimeError):
    """Material or money did not balance at the end of a run (a bug, not bad input)."""


class NonFiniteError(ConservationError):
    """A series, balance or KPI of a run is NaN or infinite (input too extreme, or a bug)."""


def _first_bad(values: np.ndarray) -> tuple[int, ...] | None:
    bad = ~np.isfinite(values)
    return tuple(int(i) for i in np.argwhere(bad)[0]) if bad.any() else None


def check_finite(eng: Engine | None = None, summary: dict[str, Any] | None = None) -> None:
    """Raise :class:`NonFiniteError` if any series, balance (``eng``) or KPI (``summary``) is NaN or infinite.

    A NaN would otherwise pass every other check (comparisons with NaN are false) and
    reach ``summary.json`` as an empty value. A KPI the catalog allows to be NaN
    (:func:`sim.metrics.catalog.nan_ok`) may be NaN, never infinite.
    """
    bad: list[str] = []
    # one sum says all series are finite (a NaN or an infinity anywhere makes it non-finite); only
    # then is it worth finding the first bad value of each series
    if eng is not None and not np.isfinite(np.add.reduce(eng.rec_all, axis=None)):
        w = eng.world
        for name, arr in eng.rec.items():
            at = _first_bad(arr)
            if at is not None:
                day, a, c = at
                bad.append(f"series {name} is {arr[at]} for {w.commodity_ids[c]} ({ARMS[a]}) on day {day}")
    if eng is not None:
        at = _first_bad(eng.ledger.flows)
        if at is not None:
            bad.append(f"finance line {LINES[at[1]]} is {eng.ledger.flows[at]} on day {at[0]}")
        for name, value in (("cash", eng.finance.cash), ("debt", eng.finance.debt)):
            if not np.isfinite(value):
                bad.append(f"{name} balance is {value}")
    for key, value in (summary or {}).items():
        if isinstance(value, (int, float)) and not np.isfinite(value):
            kpi = catalog.find(key)
            if kpi is None:
                bad.append(f"KPI {key} is {value} (and not declared in sim/metrics/catalog.py)")
            elif not (kpi.nan_ok and np.isnan(value)):
                bad.append(f"KPI {key} is {value}")
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise NonFiniteError("non-finite results: " + "; ".join(bad[:5]) + more)


@dataclass
class SeriesRecord:
    """A run's daily series as recorded: ``values`` [series, day, arm, commodity] and their labels."""

    values: np.ndarray
    names: tuple[str, ...]
    commodity_ids: list[str]
    start: pd.Timestamp

    def frame(self) -> pd.DataFrame:
        """One row per day, commodity and arm, a column per series plus ``days_of_cover``."""
        _, H, A, C = self.values.shape
        rec = dict(zip(self.names, self.values, strict=True))
        cover = days_of_cover(rec)  # derived: reserve stock in days of the day's bloc demand
        dates = pd.date_range(self.start, periods=H, freq="D")
        n = H * C
        frames = []
        for a in range(A):
            cols: dict[str, Any] = {
                "day": np.repeat(np.arange(H), C),
                "date": np.repeat(dates.values, C),
                "commodity": pd.Categorical.from_codes(np.tile(np.arange(C), H), self.commodity_ids),
                "arm": pd.Categorical.from_codes(np.full(n, a), list(ARMS)),
            }
            for name, arr in rec.items():
                cols[name] = arr[:, a, :].reshape(-1)
            cols[COVER_SERIES] = cover[:, a, :].reshape(-1)
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames, ignore_index=True)


class RunResult:
    """Everything one paired replication produced.

    Attributes:
        timeseries: one row per day, commodity and arm (``reserve`` or ``counterfactual``); built from
            ``series`` on first use (a sweep that keeps only KPIs never pays for it).
        series: the raw daily series (:class:`SeriesRecord`).
        finance: one row per day of the reserve programme's money, USD.
        events: shocks, project milestones, buying decisions, defaults.
        summary: flat dict of KPIs (see :mod:`sim.metrics.kpis`) plus run facts.

    """

    def __init__(self, series: SeriesRecord, finance: pd.DataFrame | Callable[[], pd.DataFrame],
                 events: pd.DataFrame | Callable[[], pd.DataFrame], summary: dict[str, Any],
                 meta: dict[str, Any] | None = None):
        self.series = series
        # the finance and event tables may come as builders (picklable partials), built on first use
        self._finance = finance
        self._events = events
        self.summary = summary
        self.meta = meta if meta is not None else {}
        self._timeseries: pd.DataFrame | None = None

    @property
    def finance(self) -> pd.DataFrame:
        """The programme's money, one row per day (built once, on first use)."""
        if not isinstance(self._finance, pd.DataFrame):
            self._finance = self._finance()
        return self._finance

    @property
    def events(self) -> pd.DataFrame:
        """The event log (built once, on first use)."""
        if not isinstance(self._events, pd.DataFrame):
            self._events = self._events()
        return self._events

    @property
    def timeseries(self) -> pd.DataFrame:
        """The daily series as a long DataFrame (built once, on first use)."""
        if self._timeseries is None:
            self._timeseries = self.series.frame()
        return self._timeseries


def check_conservation(eng: Engine) -> dict[str, float]:
    """Residuals of the material and money balances; raises if any is not ~0 (or any series is not finite)."""
    check_finite(eng)
    rec = eng.rec
    # per commodity: opening stocks + production = bloc + rest-of-world consumption + closing stocks
    closing = eng.mstock.sum(-1) + eng.rstock + eng.transit_m + eng.transit_r + eng.transit_rel + eng.wstock \
        + eng.row_stock
    if eng.public is not None:
        closing = closing + eng.public.total_stock + eng.public.total_transit
    if eng.parties is not None:
        closing[0] += eng.parties.allied_transit()
    inflow = rec["production_t"].sum(axis=0)
    outflow = rec["delivered_t"].sum(axis=0) + rec["row_consumption_t"].sum(axis=0)
    resid = eng.opening_t + inflow - outflow - closing
    scale = np.maximum(1.0, eng.opening_t + inflow)
    material = float(np.abs(resid).max())
    cash_resid = eng.finance.cash - float(eng.ledger.cash_series()[-1])
    debt_resid = eng.finance.debt - float(eng.ledger.debt_series()[-1])
    money_scale = max(1.0, float(np.abs(eng.ledger.flows).sum()))
    proj_cash, proj_debt = eng.projects.residuals()
    bad = []
    # written as `not <=` so that NaN residuals fail too
    if not (np.abs(resid) <= CONSERVATION_RTOL * scale).all():
        a, c = np.unravel_index(np.abs(resid / scale).argmax(), resid.shape)
        bad.append(f"material of {eng.world.commodity_ids[c]} ({ARMS[a]}) off by {resid[a, c]:.6g} t")
    if not abs(cash_resid) <= CONSERVATION_RTOL * money_scale:
        bad.append(f"cash off by {cash_resid:.6g} USD")
    if not abs(debt_resid) <= CONSERVATION_RTOL * money_scale:
        bad.append(f"debt off by {debt_resid:.6g} USD")
    if not (proj_cash <= CONSERVATION_RTOL * money_scale and proj_debt <= CONSERVATION_RTOL * money_scale):
        bad.append(f"a project company's cash or debt off by {max(proj_cash, proj_debt):.6g} USD")
    out = {
        "check.material_residual_t": material,
        "check.cash_residual_usd": abs(cash_resid),
        "check.debt_residual_usd": abs(debt_resid),
        "check.project_residual_usd": max(proj_cash, proj_debt),
    }
    if eng.parties is not None:  # every party's material and cash close too
        for name, r in eng.parties.residuals(eng.rstock[0], eng.world.r_initial[0], eng.transit_rel[0]).items():
            tol = CONSERVATION_RTOL * (money_scale if name.endswith("_usd") else float(scale.max()))
            if not r <= tol:  # NaN fails too
                bad.append(f"party accounts: {name} off by {r:.6g}")
            out[f"check.party_{name}"] = r
    if bad:
        raise ConservationError("conservation check failed: " + "; ".join(bad))
    return out


def _finance(flows: np.ndarray, start: pd.Timestamp) -> pd.DataFrame:
    """The finance table of a run from its ledger's daily ``flows`` [day, line]."""
    led = Ledger(len(flows))
    led.flows = flows
    df = pd.DataFrame(flows, columns=list(LINES))
    df.insert(0, "date", pd.date_range(start, periods=len(flows), freq="D"))
    df.insert(0, "day", np.arange(led.horizon_days))
    for name, balance in zip(BALANCES, (led.cash_series(), led.debt_series()), strict=True):
        df[name] = balance
    return df


def _events(events: list[tuple[float, str, str, str, float]], start: pd.Timestamp) -> pd.DataFrame:
    """The event table of a run from its event log."""
    cols = ["time_days", "event", "source", "detail", "value"]
    df = pd.DataFrame(events, columns=cols)
    df["day"] = df["time_days"].astype(int)
    df["date"] = start + pd.to_timedelta(df["day"], unit="D")
    return df[["day", "date", "time_days", "event", "source", "detail", "value"]]


def simulate(scenario: Scenario, seed: int | None = None, replication: int = 0) -> RunResult:
    """Run one paired replication (reserve arm and no-reserve counterfactual).

    Args:
        scenario: a validated scenario (see :func:`sim.load_scenario`).
        seed: root seed; defaults to ``scenario.run.seed``.
        replication: replication index; its streams come from
            ``SeedSequence(seed, spawn_key=(replication, ...))``.

    Returns:
        The run's time series, finance, events and KPI summary.

    Raises:
        ConservationError: if material or money does not balance (a model bug).
        NonFiniteError: if a series, balance or KPI is NaN or infinite.

    """
    with collector_paused():
        return _simulate(scenario, seed, replication)


def _simulate(scenario: Scenario, seed: int | None, replication: int) -> RunResult:
    t0 = time.perf_counter()
    seed = scenario.run.seed if seed is None else int(seed)
    streams = Streams(seed, replication)
    world = build_world(scenario, streams)
    eng = Engine(scenario, world, streams)
    eng.run()
    eng.finance.close_books(float(world.horizon))
    eng.projects.close_books()
    checks = check_conservation(eng)
    n_defaults = sum(1 for e in eng.events if e[1] == "default")
    summary: dict[str, Any] = compute_kpis(
        eng.rec, world, eng.ledger, scenario.evaluation.discount_rate_per_year, n_defaults, scenario.evaluation
    )
    summary.update(checks)
    if eng.parties is not None:
        disc = discount_factors(world.horizon, scenario.evaluation.discount_rate_per_year)
        summary.update(party_kpis(eng.parties, eng.ledger, disc, eng.rstock[0],
                                  summary["difference.total.loss_avoided_npv_usd"]))
    check_finite(summary=summary)
    start = pd.Timestamp(scenario.run.start_date)
    result = RunResult(
        series=SeriesRecord(eng.rec_all, SERIES, world.commodity_ids, start),
        finance=partial(_finance, eng.ledger.flows, start),
        events=partial(_events, eng.events, start),
        summary=summary,
        meta={
            "scenario": scenario.meta.name,
            "seed": seed,
            "replication": replication,
            "version": __version__,
            "events_processed": eng.env.events_processed,
            "runtime_s": time.perf_counter() - t0,
        },
    )
    eng.dispose()  # frees the run's arrays now, not at the next full garbage collection
    return result
