"""Shock, project and review processes: the events that do not happen every day.

Each process is a SimPy generator that changes the engine's supply multipliers,
demand surge factors, extra shipping delays, supplier activity or buying programme
at its own times, and logs what it did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy

from sim.model.regimes import Segment, params_from_shock, sample_paths
from sim.model.world import MAX_EXTRA_DELAY_DAYS, World
from sim.scenario.schema import (
    DemandSurge,
    ExportRestriction,
    LogisticsDelay,
    Project,
    RestrictionRegime,
    Scenario,
    SupplierOutage,
)


@dataclass(eq=False)
class ShockEffect:
    """One active occurrence of a shock.

    Kinds: ``supply`` ([S] share of output lost to every buyer), ``bloc`` ([S] share of output
    the bloc can no longer reach: a targeted restriction net of leakage), ``demand`` ([C]
    surge share) and ``delay`` ([S] extra days).
    """

    kind: str
    vector: np.ndarray
    severity: float
    restricts: np.ndarray | None = None  # [C] bool: an export restriction on these (precautionary buying)


class Engine(Protocol):
    """What the processes here need from the engine (the engine imports this module, not back)."""

    scenario: Scenario
    world: World
    target: np.ndarray

    def add_effect(self, e: ShockEffect) -> None: ...
    def remove_effect(self, e: ShockEffect) -> None: ...
    def activate(self, arm: int, row: int) -> None: ...
    def review(self, cs: np.ndarray, t: int) -> None: ...
    def log(self, now: float, event: str, source: str, detail: str, value: float) -> None: ...


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


def restriction_effect(s: Scenario, w: World, shock: ExportRestriction, severity: float) -> ShockEffect:
    """The effect of an export restriction at ``severity``: on every buyer, or on the bloc only.

    Untargeted, each producer loses ``severity x exposure`` of what it sells to anyone;
    targeted at the bloc, the bloc can no longer reach ``severity x exposure x (1 - leakage)``
    of it, and the rest of the world buys that instead.
    """
    base = exposure(s, shock, w.supplier_ids) * severity
    restricts = np.array([c in shock.commodities for c in w.commodity_ids])
    if shock.targets:
        return ShockEffect("bloc", base * (1.0 - shock.leakage_share), severity, restricts)
    return ShockEffect("supply", base, severity, restricts)


def shock_process(env: simpy.Environment, eng: Engine, sid: str, shock, rng: np.random.Generator) -> Iterator:
    """Run one shock (scheduled once, or stochastic as a renewal process)."""
    if isinstance(shock, RestrictionRegime):
        yield from regime_process(env, eng, sid, shock, rng)
        return
    s = eng.scenario
    w = eng.world
    restricts = None
    if isinstance(shock, ExportRestriction):
        unit = restriction_effect(s, w, shock, 1.0)
        base, kind, restricts = unit.vector, unit.kind, unit.restricts
    elif isinstance(shock, SupplierOutage):
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
        if kind in ("supply", "bloc"):
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
        effect = ShockEffect(kind, base * severity, severity, restricts)
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


def regime_process(env: simpy.Environment, eng: Engine, sid: str, shock: RestrictionRegime,
                   rng: np.random.Generator) -> Iterator:
    """Sample a restriction regime's whole path up front, then play each episode's segments in turn."""
    segments = sample_paths(params_from_shock(shock), float(eng.world.horizon), rng)
    episodes: dict[int, list[Segment]] = {}
    for seg in segments:
        episodes.setdefault(seg.episode, []).append(seg)
    for segs in episodes.values():
        env.process(_play_episode(env, eng, sid, segs, shock.leakage_share))
    yield env.timeout(0)


def _play_episode(env: simpy.Environment, eng: Engine, sid: str, segs: list[Segment], leakage: float) -> Iterator:
    # one process per episode, so a severity change ends the old effect before the new one starts
    for seg in segs:
        yield from restriction_segment(env, eng, sid, seg, leakage)


def restriction_segment(
    env: simpy.Environment, eng: Engine, sid: str, seg: Segment, leakage: float = 0.0
) -> Iterator:
    """Start and end one segment's export-restriction effect.

    The effect is built exactly as an ``export_restriction`` shock of ``seg.country`` on
    ``seg.commodity`` with severity ``seg.severity`` builds one; a segment aimed at the bloc
    is a targeted restriction with the regime's ``leakage_share``.
    """
    horizon = float(eng.world.horizon)
    as_shock = ExportRestriction(
        kind="export_restriction", country=seg.country, commodities=[seg.commodity], start=0, duration_days=1.0,
        severity=seg.severity, targets=["bloc"] if seg.targeted else [], leakage_share=leakage,
    )
    severity = float(np.clip(seg.severity, 0.0, 1.0))
    effect = restriction_effect(eng.scenario, eng.world, as_shock, severity)
    source = f"{sid}:{seg.country}:{seg.commodity}"
    detail = "restriction_regime targeted" if seg.targeted else "restriction_regime"
    if seg.start_day > env.now:
        yield env.timeout(seg.start_day - env.now)
    eng.add_effect(effect)
    eng.log(env.now, "shock_start", source, detail, severity)
    if seg.end_day < horizon:
        yield env.timeout(seg.end_day - env.now)
        eng.remove_effect(effect)
        eng.log(env.now, "shock_end", source, detail, severity)


def project_process(env: simpy.Environment, eng: Engine, pid: str, p: Project, rng: np.random.Generator) -> Iterator:
    """Build a project through its company: capex over the build, then its capacity (or a failure).

    The company (:mod:`sim.model.projects`) funds the capex with its own loan; a failure is
    its loan's default, never programme capex.
    """
    horizon = float(eng.world.horizon)
    start = float(max(0, eng.scenario.day_of(p.start)))
    build = max(1.0, p.build_time_days.sample(rng))
    delayed = rng.random() < p.delay_probability
    delay = max(0.0, p.delay_days.sample(rng)) if delayed else 0.0
    failed = rng.random() < p.failure_probability
    if start >= horizon:
        return
    yield env.timeout(start - env.now)
    company = eng.projects.open(env, pid)
    eng.log(env.now, "project_start", pid, f"build {build:.0f} d, delay {delay:.0f} d", p.capex_usd)
    yield from company.build(env, min(start + build, horizon), p.capex_usd / build)
    if delay > 0 and env.now + delay < horizon:
        yield env.timeout(delay)
    elif delay > 0:
        return
    if env.now >= horizon:
        return
    if failed:
        eng.log(env.now, "project_failed", pid, "no capacity added", 0.0)
        company.fail(env.now)
        return
    row = eng.world.project_rows[pid]
    eng.activate(0, row)
    if p.in_counterfactual:
        eng.activate(1, row)
    company.complete(env.now)
    eng.log(env.now, "project_complete", pid, f"+{p.capacity_tpy:g} t/yr", p.capacity_tpy)


def review_process(env: simpy.Environment, eng: Engine, cs: np.ndarray) -> Iterator:
    """The reserve's periodic review of its buying programme for commodities ``cs`` (one review interval)."""
    interval = int(eng.world.r_review_days[cs[0]])
    while True:
        eng.review(cs, int(env.now))
        yield env.timeout(interval)
