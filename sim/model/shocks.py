"""Shock, project and review processes: the events that do not happen every day.

Each process is a SimPy generator that changes the engine's supply multipliers,
demand surge factors, extra shipping delays, supplier activity or buying programme
at its own times, and logs what it did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.model.world import MAX_EXTRA_DELAY_DAYS
from sim.scenario.schema import (
    DemandSurge,
    ExportRestriction,
    LogisticsDelay,
    Project,
    Scenario,
    SupplierOutage,
)

if TYPE_CHECKING:
    from sim.engine.engine import Engine


@dataclass(eq=False)
class ShockEffect:
    """One active occurrence of a shock."""

    kind: str
    vector: np.ndarray  # [S] loss share, [C] surge share or [S] extra days
    severity: float


def exposure(s: Scenario, shock: ExportRestriction | SupplierOutage, supplier_ids: list[str]) -> np.ndarray:
    """Share of each supplier's output lost per unit of severity."""
    out = np.zeros(len(supplier_ids))
    for j, sid in enumerate(supplier_ids):
        if sid.startswith("project:"):
            p = s.projects[sid.split(":", 1)[1]]
            commodity, country, mix = p.commodity, p.country, None
            if isinstance(shock, SupplierOutage):
                continue
        else:
            sp = s.suppliers[sid]
            commodity, country, mix = sp.commodity, sp.country, sp.origin_mix
            if isinstance(shock, SupplierOutage):
                out[j] = 1.0 if sid in shock.suppliers else 0.0
                continue
        if commodity not in shock.commodities:
            continue
        if country == shock.country:
            out[j] = 1.0
        elif mix:
            out[j] = mix.get(shock.country, 0.0)
    return out


def shock_process(env: simpy.Environment, eng: Engine, sid: str, shock, rng: np.random.Generator) -> Iterator:
    """Run one shock (scheduled once, or stochastic as a renewal process)."""
    s = eng.scenario
    w = eng.world
    if isinstance(shock, (ExportRestriction, SupplierOutage)):
        base = exposure(s, shock, w.supplier_ids)
        kind = "supply"
    elif isinstance(shock, DemandSurge):
        base = np.array([1.0 if c in shock.commodities else 0.0 for c in w.commodity_ids])
        kind = "demand"
    else:
        assert isinstance(shock, LogisticsDelay)
        cset = {w.commodity_ids.index(c) for c in shock.commodities}
        base = np.array([1.0 if c in cset else 0.0 for c in w.sup_c])
        kind = "delay"
    horizon = float(w.horizon)

    def occurrence(start: float, duration: float, severity: float) -> Iterator:
        if kind in ("supply",):
            severity = float(np.clip(severity, 0.0, 1.0))
        elif kind == "delay":
            severity = float(np.clip(round(severity), 0, MAX_EXTRA_DELAY_DAYS))
        else:
            severity = max(0.0, severity)
        end = start + duration
        if end <= 0 or start >= horizon:
            return
        if start > env.now:
            yield env.timeout(start - env.now)
        effect = ShockEffect(kind, base * severity, severity)
        eng.add_effect(effect)
        eng.log(env.now, "shock_start", sid, shock.kind, severity)
        if end < horizon:
            yield env.timeout(end - env.now)
            eng.remove_effect(effect)
            eng.log(env.now, "shock_end", sid, shock.kind, severity)

    if shock.start is not None:
        start = float(s.day_of(shock.start))
        duration = shock.duration_days.sample(rng)
        severity = shock.severity.sample(rng)
        yield from occurrence(start, duration, severity)
        return
    mean_gap = 365.0 / shock.rate_per_year
    t = float(shock.first_day)
    while True:
        t = max(t, env.now) + rng.exponential(mean_gap)
        if t >= horizon:
            return
        duration = shock.duration_days.sample(rng)
        severity = shock.severity.sample(rng)
        yield from occurrence(t, duration, severity)
        if t + duration >= horizon:
            # still on at the horizon (occurrence returned without waiting for its end):
            # occurrences are one at a time, so no other may start
            return
        t = env.now


def project_process(env: simpy.Environment, eng: Engine, pid: str, p: Project, rng: np.random.Generator) -> Iterator:
    """Build a project: spend capex over the build, then add its capacity (or fail)."""
    horizon = float(eng.world.horizon)
    start = float(max(0, eng.scenario.day_of(p.start)))
    build = max(1.0, p.build_time_days.sample(rng))
    delayed = rng.random() < p.delay_probability
    delay = max(0.0, p.delay_days.sample(rng)) if delayed else 0.0
    failed = rng.random() < p.failure_probability
    if start >= horizon:
        return
    yield env.timeout(start - env.now)
    eng.capex_rate[pid] = (p.capex_usd / build, p.facility)
    eng.log(env.now, "project_start", pid, f"build {build:.0f} d, delay {delay:.0f} d", p.capex_usd)
    if start + build < horizon:
        yield env.timeout(build)
    else:
        yield env.timeout(horizon - env.now)
    eng.capex_rate.pop(pid, None)
    if delay > 0 and env.now + delay < horizon:
        yield env.timeout(delay)
    elif delay > 0:
        return
    if env.now >= horizon:
        return
    if failed:
        eng.log(env.now, "project_failed", pid, "no capacity added", 0.0)
        return
    row = eng.world.project_rows[pid]
    eng.activate(0, row)
    if p.in_counterfactual:
        eng.activate(1, row)
    eng.log(env.now, "project_complete", pid, f"+{p.capacity_tpy:g} t/yr", p.capacity_tpy)


def review_process(env: simpy.Environment, eng: Engine, c: int) -> Iterator:
    """The reserve's periodic review of its buying programme for commodity ``c``."""
    interval = int(eng.world.r_review_days[c])
    while True:
        eng.review(c, int(env.now))
        yield env.timeout(interval)
