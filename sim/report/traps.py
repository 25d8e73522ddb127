"""Warnings for silent traps: settings that make a run say less than it seems to.

A :class:`TrapTracker` reads each replication's daily series and KPIs as it finishes (it keeps
only a few numbers per commodity and replication) and :meth:`TrapTracker.warnings` turns them
into warnings, one per kind, each naming the commodities it concerns, how many replications
show it and why:

- ``target_late``: the reserve did not reach its target within :data:`TARGET_BY_YEARS` years,
  with the cause: the buying cap (``buy.max_rate_tpy``), the price ceiling
  (``buy.price_ceiling_ratio``) or the money (defaults or the loan limit).
- ``release_never_fired``: the reserve released nothing of a commodity although, without it,
  the bloc was short or the price reached the release policy's ``trigger_price_ratio``.
- ``stock_unused``: the bloc was short while the reserve held stock above its floor and had
  released nothing in the delivery lag before.
- ``loan_limit``: the programme drew its whole loan commitment.
- ``defaults``: the programme missed payments.
- ``world_share``: in some year the reserve bought more than :data:`WORLD_SHARE` of world
  capacity of a commodity (its own buying then moves the price it pays).

The thresholds are module constants so that tests and reports state the same ones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from sim.report.numbers import money, share, sig, tonnes
from sim.scenario.schema import Scenario
from sim.simulation.simulate import RunResult

#: The reserve should hold its target within this many years of the start.
TARGET_BY_YEARS = 3.0
#: Stock counts as at its target from this share of the target on.
AT_TARGET = 0.98
#: A year's purchases above this share of world capacity warn.
WORLD_SHARE = 0.05
#: A price-ceiling cause needs the price above the ceiling on at least this share of the buying days.
CEILING_DAYS_SHARE = 0.25
#: Tonnes below this are float noise.
EPS_T = 1e-6
#: Warning kinds in the order they are listed.
KINDS = ("target_late", "release_never_fired", "stock_unused", "loan_limit", "defaults", "world_share")


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _yearly(values: np.ndarray) -> np.ndarray:
    """Sums over consecutive 365-day years (a last partial year included)."""
    n = -(-values.size // 365)
    padded = np.zeros(n * 365)
    padded[: values.size] = values
    return padded.reshape(n, 365).sum(axis=1)


class TrapTracker:
    """Collect, one replication at a time, what the warnings need.

    Args:
        scenario: the scenario run.
        target_by_years: years within which the target should be reached.
        world_share: share of world capacity above which a year's buying warns.

    """

    def __init__(self, scenario: Scenario, target_by_years: float = TARGET_BY_YEARS,
                 world_share: float = WORLD_SHARE) -> None:
        self.scenario = scenario
        self.target_by_years = target_by_years
        self.world_share = world_share
        self.count = 0
        #: Day by which the target should be reached (the horizon's last day when that comes first).
        self.by_day = round(365 * target_by_years)
        #: (kind, commodity) -> one dict of facts per replication showing the trap.
        self.hits: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        #: commodity -> tonnes released per calendar year, summed over replications.
        self.releases_by_year: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        commitments = [f.commitment_usd for f in scenario.financing.facilities.values() if f.purpose != "projects"]
        self.commitment_usd = float(sum(commitments))

    def add(self, result: RunResult) -> None:
        """Read one replication's series and KPIs."""
        self.count += 1
        s = result.series
        rec = dict(zip(s.names, s.values, strict=True))
        years = pd.date_range(s.start, periods=s.values.shape[1], freq="D").year.to_numpy()
        kpis = result.summary
        self._money(kpis)
        fin = result.finance
        # days on which money stopped the buying: a missed payment, or no cash with the loans drawn out
        drawn_out = fin["debt_usd"].to_numpy() >= self.commitment_usd - 1.0
        broke = (fin["defaults_usd"].to_numpy() > 0) | ((fin["cash_usd"].to_numpy() <= 1.0) & drawn_out)
        first_broke = _first(broke)
        for i, cid in enumerate(s.commodity_ids):
            rel = rec["reserve_releases_t"][:, 0, i]
            for y in np.unique(years[rel > EPS_T]):
                self.releases_by_year[cid][int(y)] += float(rel[years == y].sum())
            if cid in self.scenario.reserve:
                self._commodity(cid, i, rec, first_broke)

    def _money(self, kpis: dict[str, Any]) -> None:
        """Record the programme's money traps."""
        drawn = float(kpis.get("finance.drawn_usd") or 0.0)
        if self.commitment_usd > 0 and drawn >= 0.999 * self.commitment_usd:
            self.hits[("loan_limit", "")].append({"drawn": drawn})
        defaults = float(kpis.get("finance.defaults") or 0.0)
        if defaults > 0:
            self.hits[("defaults", "")].append({"defaults": defaults,
                                                "usd": float(kpis.get("finance.defaults_usd") or 0.0)})

    def _commodity(self, cid: str, i: int, rec: dict[str, np.ndarray], first_broke: int | None) -> None:
        policy = self.scenario.reserve[cid]
        ref = self.scenario.commodities[cid].reference_price_usd_per_t
        stock, target = rec["reserve_stock_t"][:, 0, i], rec["reserve_target_t"][:, 0, i]
        rel, bought = rec["reserve_releases_t"][:, 0, i], rec["reserve_purchases_t"][:, 0, i]
        short, short_cf = rec["shortfall_t"][:, 0, i], rec["shortfall_t"][:, 1, i]
        price, price_cf = rec["price_usd_per_t"][:, 0, i] / ref, rec["price_usd_per_t"][:, 1, i] / ref
        horizon = stock.size
        by_day = min(horizon - 1, round(365 * self.target_by_years))
        if target.max() > EPS_T:
            reach = _first((stock >= AT_TARGET * target) & (target > EPS_T))
            if reach is None or reach > by_day:
                needed = float(target[by_day]) - policy.initial_stock_t
                causes: dict[str, Any] = {}  # cause -> its measure in this replication
                if policy.buy.max_rate_tpy * self.target_by_years < AT_TARGET * needed:
                    causes["cap"] = (f"buying is capped at buy.max_rate_tpy = {sig(policy.buy.max_rate_tpy)} t/yr "
                                     f"against {tonnes(needed)} to buy")
                end = by_day if reach is None else min(reach, by_day)
                above = float(np.mean(price[: end + 1] > policy.buy.price_ceiling_ratio))
                if above >= CEILING_DAYS_SHARE:
                    causes["ceiling"] = above
                if policy.capacity_t is not None and policy.capacity_t < AT_TARGET * float(target[by_day]):
                    causes["capacity"] = f"storage capacity_t = {tonnes(policy.capacity_t)} is below the target"
                if first_broke is not None and first_broke <= end:
                    causes["money"] = first_broke
                if not causes:
                    served = ("served after every other buyer when supply is short" if policy.buy.mode == "spare"
                              else "served pro rata with other buyers")
                    causes["slow"] = f"buying ran below its cap ('{policy.buy.mode}' mode: {served})"
                self.hits[("target_late", cid)].append({"reach_day": reach, "causes": causes})
                self.by_day = by_day
        days_short_cf = int(np.sum(short_cf > EPS_T))
        peak_cf = float(price_cf.max())
        spike = policy.release.trigger_price_ratio
        if rel.sum() <= EPS_T and (days_short_cf > 0 or peak_cf >= spike):
            self.hits[("release_never_fired", cid)].append({"days_short": days_short_cf, "peak": peak_cf,
                                                             "spike": spike})
        window = policy.release.delivery_lag_days + 1
        recent = np.convolve(rel, np.ones(window))[:horizon] > EPS_T
        floor = policy.release.floor_share * target
        unused = (short > EPS_T) & (stock > floor + EPS_T) & ~recent
        if unused.any():
            self.hits[("stock_unused", cid)].append({"days": int(unused.sum()), "t": float(short[unused].sum()),
                                                      "stock": float(stock[unused].mean())})
        supply = _yearly(rec["capacity_t"][:, 0, i])
        yearly = np.divide(_yearly(bought), supply, out=np.zeros_like(supply), where=supply > 0)
        if yearly.size and yearly.max() > self.world_share:
            self.hits[("world_share", cid)].append({"share": float(yearly.max()), "year": int(yearly.argmax())})

    def release_years(self) -> dict[str, dict[int, float]]:
        """Commodity -> {calendar year: mean tonnes released that year}, for commodities released."""
        n = max(self.count, 1)
        return {c: {y: t / n for y, t in sorted(by.items())} for c, by in self.releases_by_year.items() if by}

    def warnings(self) -> list[dict[str, Any]]:
        """The warnings, one per kind that occurred, in :data:`KINDS` order.

        Each is ``{"kind", "message", "commodities": {id: replications showing it}, "details": {id:
        its part of the message}, "replications"}`` (``replications``: the most replications that
        show it for one commodity).
        """
        out = []
        start_year = self.scenario.run.start_date.year
        for kind in KINDS:
            entries = {c: facts for (k, c), facts in self.hits.items() if k == kind}
            if not entries:
                continue
            parts = {c: self._part(kind, c, facts, start_year) for c, facts in entries.items()}
            reps = max(len(f) for f in entries.values())
            by = self.scenario.run.start_date + dt.timedelta(days=self.by_day)
            out.append({"kind": kind, "message": _TITLES[kind].format(
                by=by.isoformat(), share=share(self.world_share)) + "; ".join(parts.values()),
                "commodities": {c: len(f) for c, f in entries.items() if c},
                "details": {c: text for c, text in parts.items() if c},
                "replications": reps})
        return out

    def _causes(self, cid: str, per_replication: list[dict[str, Any]]) -> list[str]:
        """The causes of a late target over the replications that show it, each said once."""
        seen = {k: [c[k] for c in per_replication if k in c] for k in ("cap", "ceiling", "capacity", "money", "slow")}
        ceiling = self.scenario.reserve[cid].buy.price_ceiling_ratio
        out = [seen["cap"][0]] if seen["cap"] else []
        if seen["ceiling"]:
            out.append(f"the price was above the buying ceiling (buy.price_ceiling_ratio = {sig(ceiling)}x "
                       f"reference) on {share(float(np.median(seen['ceiling'])))} of days")
        out += seen["capacity"][:1]
        if seen["money"]:
            out.append(f"the programme ran out of money from day {min(seen['money'])} (a missed payment, or no "
                       "cash and no loan left to draw)")
        return out or seen["slow"][:1]

    def _part(self, kind: str, cid: str, facts: list[dict[str, Any]], start_year: int) -> str:
        n = len(facts)
        of = "" if self.count == 1 else f" in {n} of {self.count} replications"
        if kind == "target_late":
            days = [f["reach_day"] for f in facts if f["reach_day"] is not None]
            start = self.scenario.run.start_date
            when = ("not reached by the horizon" if not days else
                    f"reached in {(start + dt.timedelta(days=int(np.median(days)))).year}"
                    + ("" if len(days) == n else f" ({n - len(days)} never)"))
            return f"{cid} {when}{of}: " + " and ".join(self._causes(cid, [f["causes"] for f in facts]))
        if kind == "release_never_fired":
            days = max(f["days_short"] for f in facts)
            peak = max(f["peak"] for f in facts)
            what = [f"the bloc would be short on {days} days"] if days else []
            if peak >= facts[0]["spike"]:
                what.append(f"the price would reach {sig(peak)}x reference")
            return f"{cid}{of} ({', '.join(what)})"
        if kind == "stock_unused":
            days = int(np.median([f["days"] for f in facts]))
            t = float(np.median([f["t"] for f in facts]))
            held = float(np.median([f["stock"] for f in facts]))
            return f"{cid}{of}: {days} days, {tonnes(t)} short, with {tonnes(held)} held"
        if kind == "world_share":
            top = max(facts, key=lambda f: f["share"])
            return f"{cid}{of}: {share(top['share'])} in {start_year + top['year']}"
        if kind == "loan_limit":
            return f"all of {money(self.commitment_usd)}{of}"
        usd = float(np.median([f["usd"] for f in facts]))
        return f"{sig(np.median([f['defaults'] for f in facts]))} payment date(s), {money(usd)} unpaid{of}"


_TITLES = {
    "target_late": "Target not reached by {by}: ",
    "release_never_fired": "Release rule never fired although, without the reserve, the bloc was short or the price "
    "spiked: ",
    "stock_unused": "Stock unused while the bloc was short (above the release floor, nothing released within the "
    "delivery lag): ",
    "loan_limit": "Loan limit reached: the programme drew ",
    "defaults": "Payment defaults: ",
    "world_share": "The reserve bought more than {share} of world capacity in a year: ",
}
