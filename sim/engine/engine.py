"""The discrete-event engine: one SimPy environment running both arms of a replication.

The reserve arm and the counterfactual arm are stepped together on an ``arm`` axis, so
they share every random draw by construction (common random numbers). The market
clears once a day (at midday, after start-of-day events such as shock starts and
reviews), for every commodity at once, vectorised over arms, commodities and
manufacturers. Shocks, projects, reviews, loan payments and member fees are SimPy
processes with events at their own times.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import simpy

from sim.engine.ledger import Ledger
from sim.engine.rng import Streams
from sim.model.finance import Finance
from sim.model.market import allocate
from sim.model.projects import ProjectCompanies
from sim.model.shocks import ShockEffect, project_process, review_process, shock_process
from sim.model.world import World
from sim.scenario.schema import Scenario

#: Daily series recorded per day, arm and commodity (tonnes unless stated).
SERIES = (
    "capacity_t",
    "orders_t",
    "shipped_t",
    "arrivals_t",
    "demand_t",
    "delivered_t",
    "shortfall_t",
    "price_usd_per_t",
    "reserve_stock_t",
    "reserve_target_t",
    "reserve_purchases_t",
    "reserve_releases_t",
    "manufacturer_stock_t",
    "in_transit_t",
    "loss_usd",
)
_TINY = 1e-12
#: Storage is billed monthly, like warehouse rent.
STORAGE_BILLING_DAYS = 30


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


class Engine:
    """State and daily step of one paired replication."""

    def __init__(self, scenario: Scenario, world: World, streams: Streams):
        self.scenario = scenario
        self.world = w = world
        self.streams = streams
        H, C, S, R = w.horizon, len(w.commodity_ids), len(w.sup_c), w.ring
        self.ledger = Ledger(H)
        self.events: list[tuple[float, str, str, str, float]] = []
        n_members = int(w.member.sum())
        self.finance = Finance(scenario.financing, self.ledger, self.log, n_members)
        # project companies: their books and the daily output record filled in step()
        self.projects = ProjectCompanies(scenario, w, self.ledger, self.finance, self.log)
        self.rec = {name: np.zeros((H, 2, C)) for name in SERIES}
        self.onehot = np.zeros((S, C))
        self.onehot[np.arange(S), w.sup_c] = 1.0
        # mutable state
        self.active = w.sup_active0.copy()
        self.mult = np.ones(S)
        self.sfac = self.mult * self.active
        self.surge = np.ones(C)
        self.surge_on = False
        self._zeros = np.zeros((2, C))
        self.extra = np.zeros(S, dtype=np.intp)
        self._lead = w.sup_lead + self.extra  # days from shipment to arrival, incl. logistics delays
        self._ring_base = w.sup_c * w.ring
        self.effects: list[ShockEffect] = []
        self.capex_rate: dict[str, tuple[float, str]] = {}
        self.storage_due = 0.0
        self.price = np.tile(w.ref_price, (2, 1))
        self.rstock = w.r_initial.copy()
        self.target = np.where(np.isnan(w.r_target_t), 0.0, w.r_target_t)
        self.buy_on = np.zeros(C, dtype=bool)
        self.triggered = np.zeros(C, dtype=bool)
        de0 = w.expected[0]
        self.mstock = np.tile(de0 * w.safety_days, (2, 1, 1))
        self.ring_m = np.zeros((2, C, R))
        self.ring_r = np.zeros((2, C, R))
        self._ring_m_flat = self.ring_m.reshape(-1)
        self._ring_r_flat = self.ring_r.reshape(-1)
        self.r_room_cap = np.minimum(self.target, w.r_capacity)
        self._arm_off = (np.arange(2) * C * R)[:, None]
        base_cap = self.active[0] * w.sup_cap_tpd @ self.onehot
        flow0 = np.minimum(de0.sum(-1), base_cap)
        for j in range(S):
            if self.active[0, j] and w.sup_lead[j] > 0:
                c = w.sup_c[j]
                share = w.sup_cap_tpd[j] / max(base_cap[c], _TINY)
                self.ring_m[:, c, : w.sup_lead[j]] += share * flow0[c]
        self.transit_m = self.ring_m.sum(-1)
        self.transit_r = np.zeros((2, C))
        self.opening_t = self.mstock.sum(-1) + self.rstock + self.transit_m
        self.env = CountingEnvironment()

    # ------------------------------------------------------------------ helpers
    def log(self, now: float, event: str, source: str, detail: str, value: float) -> None:
        """Append to the event log."""
        self.events.append((now, event, source, detail, float(value)))

    def add_effect(self, e: ShockEffect) -> None:
        self.effects.append(e)
        self._recompute_effects()

    def remove_effect(self, e: ShockEffect) -> None:
        self.effects.remove(e)
        self._recompute_effects()

    def _recompute_effects(self) -> None:
        mult = np.ones_like(self.mult)
        surge = np.ones_like(self.surge)
        extra = np.zeros_like(self.extra)
        for e in self.effects:
            if e.kind == "supply":
                mult *= 1.0 - e.vector
            elif e.kind == "demand":
                surge *= 1.0 + e.vector
            else:
                extra += e.vector.astype(np.intp)
        self.mult, self.surge = mult, surge
        self.surge_on = bool((surge != 1.0).any())
        self.sfac = self.mult * self.active
        self.extra = np.minimum(extra, self.world.ring - 1 - self.world.sup_lead)
        self._lead = self.world.sup_lead + self.extra

    def activate(self, arm: int, row: int) -> None:
        """Switch on supplier row ``row`` in ``arm`` (a completed project)."""
        self.active[arm, row] = True
        self.sfac = self.mult * self.active

    def review(self, c: int, t: int) -> None:
        """Set the target and whether to buy until the next review."""
        w = self.world
        if np.isnan(w.r_target_t[c]):
            self.target[c] = w.r_target_days[c] * w.expected[min(t, w.horizon - 1), c].sum()
        calm = not self.triggered[c]
        price_ok = self.price[0, c] <= w.r_buy_ceiling[c] * w.ref_price[c]
        below = self.rstock[0, c] + self.transit_r[0, c] < self.target[c]
        on = bool(calm and price_ok and below and w.r_buy_max_tpd[0, c] > 0)
        if on != self.buy_on[c]:
            self.log(t, "buy_start" if on else "buy_stop", w.commodity_ids[c], "review", self.target[c])
        self.buy_on[c] = on
        self.triggered[c] = False
        self.r_room_cap = np.minimum(self.target, w.r_capacity)

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        """Register every process and run to the horizon."""
        env, w, s = self.env, self.world, self.scenario
        self.finance.start(env, float(w.horizon))
        for sid, shock in s.shocks.items():
            if not shock.enabled:
                continue
            env.process(shock_process(env, self, sid, shock, self.streams.stream(f"shock:{sid}")))
        for pid, p in s.projects.items():
            if not p.enabled:
                continue
            env.process(project_process(env, self, pid, p, self.streams.stream(f"project:{pid}")))
        for c in np.flatnonzero(w.has_reserve):
            env.process(review_process(env, self, int(c)))
        env.process(self._days(env))
        env.run(until=w.horizon)

    def _days(self, env: simpy.Environment) -> Iterator:
        yield env.timeout(0.5)
        for t in range(self.world.horizon):
            self.step(t)
            if t + 1 < self.world.horizon:
                yield env.timeout(1.0)

    def step(self, t: int) -> None:
        """One market day for every arm and commodity."""
        w = self.world
        now = t + 0.5
        R = w.ring
        slot_today = t % R

        # demand and manufacturers' orders (base-stock on stock + in transit)
        d, de_tot, safety, target_pos, d_tot = w.demand[t], w.de_tot[t], w.safety_t[t], w.target_pos[t], w.d_tot[t]
        if self.surge_on:
            d = d * self.surge[:, None]
            safety = safety * self.surge[:, None]
            de_tot, target_pos, d_tot = de_tot * self.surge, target_pos * self.surge, d_tot * self.surge
        order = np.maximum(0.0, de_tot + target_pos - (self.mstock.sum(-1) + self.transit_m))

        # supply available today and the reserve's order
        avail_s = w.cap_noise[t] * self.sfac
        avail = avail_s @ self.onehot
        buying = self.buy_on.any()
        if buying:
            price_ok = self.price <= w.r_buy_ceiling_usd
            room = np.maximum(0.0, self.r_room_cap - self.rstock - self.transit_r)
            want = np.minimum(w.r_buy_max_tpd * (self.buy_on & price_ok), room)
            scale = np.minimum(1.0, avail / np.maximum(order + want, _TINY))
            ship_m = np.where(w.r_buy_compete, order * scale, np.minimum(order, avail))
            buy = np.where(w.r_buy_compete, want * scale, np.minimum(want, avail - ship_m))
            cost = float(buy[0] @ self.price[0])
            if cost > 0:
                funds = self.finance.funds(now, "reserve")
                if cost > funds:
                    buy[0] *= max(funds, 0.0) / cost
                    cost = float(buy[0] @ self.price[0])
                self.finance.spend(now, "purchases_usd", cost, "reserve")
            shipped = ship_m + buy
        else:
            ship_m = shipped = np.minimum(order, avail)
            want = buy = self._zeros

        # ship into the pipeline; each supplier delivers after its lead time (+ delays)
        ship_s = avail_s * (shipped / np.maximum(avail, _TINY))[:, w.sup_c]
        slots = self._arm_off + (self._ring_base + (t + self._lead) % R)
        if buying:
            m_share = np.where(shipped > 0, ship_m / np.maximum(shipped, _TINY), 1.0)[:, w.sup_c]
            np.add.at(self._ring_m_flat, slots, ship_s * m_share)
            np.add.at(self._ring_r_flat, slots, ship_s * (1.0 - m_share))
            self.transit_r += buy
        else:
            np.add.at(self._ring_m_flat, slots, ship_s)
        self.transit_m += ship_m

        # project companies: output and revenue
        if self.projects.rows.size:
            proj_out = ship_s[0, self.projects.rows]
            self.projects.output_t[t] = proj_out
            self.projects.revenue_usd[t] = proj_out * self.price[0, self.projects.commodity]

        # arrivals
        arr_m = self.ring_m[:, :, slot_today].copy()
        self.ring_m[:, :, slot_today] = 0.0
        self.transit_m -= arr_m
        arr_r = self.ring_r[:, :, slot_today].copy()
        if arr_r.any():
            self.ring_r[:, :, slot_today] = 0.0
            self.transit_r -= arr_r
            self.rstock += arr_r

        # clear arrivals among manufacturers: priority classes, then pro rata
        need = np.maximum(0.0, d + safety - self.mstock)
        alloc = allocate(arr_m, need, w.priority_classes)
        leftover = arr_m - alloc.sum(-1)
        x = self.mstock + alloc + leftover[..., None] * w.share[t]
        gap = np.maximum(0.0, d - x)

        # the reserve releases when its trigger holds
        gap_tot = gap.sum(-1)
        fired = w.r_is_shortfall & (gap_tot > 1e-9)
        if w.any_price_trigger:
            fired |= w.r_is_price & (self.price >= w.r_trigger_price_usd)
        if w.any_cover_trigger:
            after = np.maximum(x - d, 0.0)
            fired |= w.r_is_cover & (after.sum(-1) < w.r_trigger_cover * de_tot)
        releases = self._zeros
        if fired.any():
            self.triggered |= fired[0]
            rel_need = gap
            if w.any_early:
                after = np.maximum(x - d, 0.0)
                rel_need = gap + w.r_early[:, None] * np.maximum(0.0, safety - after)
            can = np.maximum(0.0, self.rstock - w.r_floor_share * self.target)
            supply_rel = np.minimum(w.r_release_max_tpd, can) * fired
            if supply_rel.any():
                given = allocate(supply_rel, rel_need * w.r_offset[:, None], w.r_release_classes)
                releases = given.sum(-1)
                x = x + given
                self.rstock -= releases
                if releases[0].any():
                    rel_price = np.where(np.isnan(w.r_release_price), self.price[0] / w.ref_price, w.r_release_price)
                    self.finance.receive(now, "sales_usd", float(releases[0] @ (rel_price * w.ref_price)))

        # consumption
        cons = np.minimum(d, x)
        self.mstock = x - cons

        # carrying costs and project capex
        # storage accrues daily and is invoiced every STORAGE_BILLING_DAYS and on the last day
        self.storage_due += float(self.rstock[0] @ w.r_hold_usd_per_t_day)
        if self.storage_due > 0 and ((t + 1) % STORAGE_BILLING_DAYS == 0 or t == w.horizon - 1):
            self.finance.spend(now, "storage_cost_usd", self.storage_due, "reserve")
            self.storage_due = 0.0
        for rate, fac in list(self.capex_rate.values()):
            self.finance.spend(now, "capex_usd", rate, "projects", only=fac)

        # price moves toward the level that rations demand to supply
        bid = de_tot + want * w.r_buy_compete if buying else de_tot
        tight = bid / np.maximum(avail + releases, _TINY)
        goal = np.minimum(w.price_cap, np.maximum(tight, 1.0) ** w.inv_elasticity) * w.ref_price
        self.price += w.price_adjust * (goal - self.price)

        r = self.rec
        r["capacity_t"][t] = avail
        r["orders_t"][t] = order
        r["shipped_t"][t] = shipped
        r["arrivals_t"][t] = arr_m + arr_r
        r["demand_t"][t] = d_tot
        delivered = cons.sum(-1)
        r["delivered_t"][t] = delivered
        r["shortfall_t"][t] = d_tot - delivered
        r["loss_usd"][t] = ((d - cons) @ w.loss_mult) * w.loss_per_t
        r["price_usd_per_t"][t] = self.price
        r["reserve_stock_t"][t] = self.rstock
        r["reserve_target_t"][t, 0] = self.target
        r["reserve_purchases_t"][t] = buy
        r["reserve_releases_t"][t] = releases
        r["manufacturer_stock_t"][t] = self.mstock.sum(-1)
        r["in_transit_t"][t] = self.transit_m + self.transit_r
