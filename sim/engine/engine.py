"""The discrete-event engine: one SimPy environment running both arms of a replication.

The reserve arm and the counterfactual arm are stepped together on an ``arm`` axis, so
they share every random draw by construction (common random numbers). The market
clears once a day (at midday, after start-of-day events such as shock starts and
reviews), for every commodity at once, vectorised over arms, commodities and
manufacturers. Shocks, projects, reviews, loan payments, member fees and (with parties)
swaps falling due are SimPy processes with events at their own times. The reserve's parties
(members, allies, draws, accounts) live in ``sim/model/parties.py`` and other public stocks
in ``sim/model/public_stocks.py``; the day calls into them at the numbered steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import simpy

from sim.engine.ledger import Ledger
from sim.engine.rng import Streams
from sim.model.demand import SlowState
from sim.model.finance import Finance
from sim.model.market import allocate, clearing_price_ratio, serve_in_tiers
from sim.model.parties import PARTY_SERIES, Parties
from sim.model.projects import ProjectCompanies
from sim.model.public_stocks import PublicStocks
from sim.model.shocks import ShockEffect, project_process, review_process, shock_process
from sim.model.welfare import DeadweightCurve, critical_loss_usd
from sim.model.world import World
from sim.scenario.schema import Scenario

#: Daily series recorded per day, arm and commodity (tonnes unless stated).
SERIES = (
    "capacity_t",
    "production_t",
    "market_stock_t",
    "orders_t",
    "shipped_t",
    "arrivals_t",
    "reference_demand_t",
    "demand_t",
    "delivered_t",
    "shortfall_t",
    "critical_shortfall_t",
    "imports_t",
    "row_demand_t",
    "row_consumption_t",
    "price_usd_per_t",
    "clearing_price_usd_per_t",
    "substitution_share",
    "reserve_stock_t",
    "reserve_target_t",
    "reserve_purchases_t",
    "reserve_releases_t",
    "release_deliveries_t",
    "manufacturer_stock_t",
    "in_transit_t",
    "loss_surplus_usd",
    "loss_import_usd",
    "loss_critical_usd",
    "loss_usd",
    *PARTY_SERIES,
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
        # with parties, members' fees and charges are booked by the parties (by entitlement)
        n_members = 0 if scenario.parties else int(w.member.sum())
        self.finance = Finance(scenario.financing, self.ledger, self.log, n_members)
        # project companies: their books and the daily output record filled in step()
        self.projects = ProjectCompanies(scenario, w, self.ledger, self.finance, self.log)
        self.parties = Parties(scenario, w, self.finance, self.ledger, self.log) if scenario.parties else None
        self.public = PublicStocks(scenario.public_stocks, w) if scenario.public_stocks else None
        self.rec = {name: np.zeros((H, 2, C)) for name in SERIES}
        self.onehot = np.zeros((S, C))
        self.onehot[np.arange(S), w.sup_c] = 1.0
        # mutable state
        self.active = w.sup_active0.copy()
        self.mult = np.ones(S)  # share of output left to every buyer (untargeted restrictions, outages)
        self.bloc_keep = np.ones(S)  # share of the rest the bloc can reach (targeted restrictions)
        self.restricted = np.zeros(S, dtype=bool)
        self.restricted_c = np.zeros(C)  # 1 while an export restriction is on (precautionary cover)
        self.surge = np.ones(C)
        self.surge_on = False
        self._zeros = np.zeros((2, C))
        self.extra = np.zeros(S, dtype=np.intp)
        self._lead = w.sup_lead + self.extra  # days from shipment to arrival, incl. logistics delays
        self._ring_base = w.sup_c * w.ring
        self.effects: list[ShockEffect] = []
        self.storage_due = 0.0
        self.price = np.tile(w.ref_price, (2, 1))
        self.clearing = np.ones((2, C))  # last clearing price ratio (Newton's warm start)
        self.slow = SlowState(w)
        self.dwl = DeadweightCurve(w.elasticity, w.ref_price, w.price_cap, w.critical)
        self.voll_m = w.voll[:, None] * w.loss_mult  # [C, M] USD per critical tonne not served
        self.elasticities = np.stack((w.elasticity, w.row_elasticity))[:, None, :]  # bloc, rest of world
        self._responsive = np.zeros((2, 2, C))  # responsive demand at reference: bloc, rest of world
        # manufacturers share arrivals as 2M claims: everyone's critical use first, then the rest by priority
        M = len(w.manufacturer_ids)
        K = w.priority_classes.shape[0]
        self.claim_classes = np.zeros((K + 1, 2 * M))
        self.claim_classes[0, :M] = 1.0
        self.claim_classes[1:, M:] = w.priority_classes
        self.rstock = w.r_initial.copy()
        self.target = np.where(np.isnan(w.r_target_t), 0.0, w.r_target_t)
        self.buy_on = np.zeros(C, dtype=bool)
        self.triggered = np.zeros(C, dtype=bool)
        de0 = w.expected[0]
        self.mstock = np.tile(de0 * w.safety_days, (2, 1, 1))
        if self.parties is not None:  # crowding out: members start with the safety stock they keep
            self.mstock[0] = np.maximum(0.0, self.mstock[0] - self.parties.crowding_cut())
        self.ring_m = np.zeros((2, C, R))
        self.ring_r = np.zeros((2, C, R))
        self.ring_rel = np.zeros((2, C, R))  # released tonnes on their way to manufacturers
        self._ring_m_flat = self.ring_m.reshape(-1)
        self._ring_r_flat = self.ring_r.reshape(-1)
        self.r_room_cap = np.minimum(self.target, w.r_capacity)
        self._arm_off = (np.arange(2) * C * R)[:, None]
        base_cap = self.active[0] * w.sup_cap_tpd @ self.onehot
        share0 = np.divide(de0.sum(-1), base_cap, out=np.zeros(C), where=base_cap > 0)
        for j in range(S):
            if self.active[0, j] and w.sup_lead[j] > 0:
                self.ring_m[:, w.sup_c[j], : w.sup_lead[j]] += w.sup_cap_tpd[j] * min(1.0, share0[w.sup_c[j]])
        self.transit_m = self.ring_m.sum(-1)
        self.transit_r = np.zeros((2, C))
        self.transit_rel = np.zeros((2, C))
        self.wstock = np.tile(w.market_stock_level[0], (2, 1))  # traders' stocks outside the bloc
        self.opening_t = self.mstock.sum(-1) + self.rstock + self.transit_m + self.wstock
        if self.public is not None:
            self.opening_t += self.public.total_stock
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
        keep = np.ones_like(self.bloc_keep)
        surge = np.ones_like(self.surge)
        extra = np.zeros_like(self.extra)
        restricted_c = np.zeros_like(self.restricted_c)
        for e in self.effects:
            if e.kind == "supply":
                mult *= 1.0 - e.vector
            elif e.kind == "bloc":
                keep *= 1.0 - e.vector
            elif e.kind == "demand":
                surge *= 1.0 + e.vector
            else:
                extra += e.vector.astype(np.intp)
            if e.restricts is not None:
                restricted_c = np.maximum(restricted_c, e.restricts)
        self.mult, self.bloc_keep, self.surge = mult, keep, surge
        self.restricted = mult < 1.0
        self.restricted_c = restricted_c
        self.surge_on = bool((surge != 1.0).any())
        self.extra = np.minimum(extra, self.world.ring - 1 - self.world.sup_lead)
        self._lead = self.world.sup_lead + self.extra

    def activate(self, arm: int, row: int) -> None:
        """Switch on supplier row ``row`` in ``arm`` (a completed project)."""
        self.active[arm, row] = True

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
        if self.parties is not None:
            self.parties.set_target(self.target)
            self.parties.set_calm(c, calm)

    def drawdown_capacity(self) -> np.ndarray:
        """Most the reserve can release per day [A, C]: fixed, or the target over drawdown days."""
        w = self.world
        from_target = np.where(np.isinf(w.r_drawdown_days), np.inf, self.target / w.r_drawdown_days)
        return np.where(np.isnan(w.r_release_max_tpd), from_target, w.r_release_max_tpd)

    def supply_lost_share(self, t: int) -> np.ndarray:
        """Share of the bloc's normal supply of each commodity that active shocks cut today [C]."""
        w = self.world
        base = self.active[0] * w.cap_expected[t]
        left = (base * self.mult * self.bloc_keep) @ self.onehot
        base = base @ self.onehot
        return np.where(base > 0, 1.0 - left / np.maximum(base, _TINY), 0.0)

    def _release(self, now: float, t: int, fired: np.ndarray, gap: np.ndarray, x: np.ndarray, want_m: np.ndarray,
                 safety: np.ndarray, can: np.ndarray) -> np.ndarray:
        """Release to cover the eligible gap (and early triggers' refill); sold at the release price."""
        w = self.world
        rel_need = (gap * w.r_eligible).sum(-1)
        if w.any_early:
            refill = (np.maximum(0.0, safety - np.maximum(x - want_m, 0.0)) * w.r_eligible).sum(-1)
            rel_need = rel_need + w.r_early * refill
        releases = np.minimum(
            np.minimum(self.drawdown_capacity(), can),
            np.maximum(0.0, rel_need * w.r_offset - self.transit_rel),
        ) * fired
        if releases.any():
            self.rstock -= releases
            self.transit_rel += releases
            rel_slot = (t + w.r_release_lag) % w.ring
            self.ring_rel[:, np.arange(len(w.ref_price)), rel_slot] += releases
            if releases[0].any():
                rel_price = np.where(np.isnan(w.r_release_price), self.price[0], w.r_release_price * w.ref_price)
                self.finance.receive(now, "sales_usd", float(releases[0] @ rel_price))
        return releases

    def _draw(self, now: float, t: int, fired: np.ndarray, gap: np.ndarray, x: np.ndarray, want_m: np.ndarray,
              safety: np.ndarray, can: np.ndarray, row_gap: np.ndarray) -> np.ndarray:
        """Parties: members' and allies' draws and sales to non-members (reserve arm), see model/parties.py."""
        w = self.world
        need = gap[0]
        if w.any_early:
            need = need + w.r_early[:, None] * np.maximum(0.0, safety[0] - np.maximum(x[0] - want_m[0], 0.0))
        room = np.minimum(self.drawdown_capacity()[0], can[0])
        to_makers, to_allies = self.parties.draw(now, t, fired[0], need * w.r_offset[:, None], row_gap[0],
                                                 self.price[0], room, can[0])
        releases = np.zeros_like(self._zeros)
        releases[0] = to_makers + to_allies
        self.rstock -= releases
        self.transit_rel[0] += to_makers  # allies' draws travel in the parties' books (not manufacturers' pipeline)
        return releases

    def _deliver_releases(self, slot: int, x: np.ndarray, want_m: np.ndarray, safety: np.ndarray) -> tuple:
        """Releases due today go to manufacturers by the allocation rule; returns stocks and tonnes [A, C]."""
        w = self.world
        delivered = self.ring_rel[:, :, slot].copy()
        if delivered.any():
            self.ring_rel[:, :, slot] = 0.0
            self.transit_rel -= delivered
            rel_need_m = np.maximum(0.0, want_m + safety - x)
            given = allocate(delivered, rel_need_m, w.r_release_classes)
            x = x + given + (delivered - given.sum(-1))[..., None] * w.r_eligible_share
        return x, delivered

    def _deliver_draws(self, t: int, x: np.ndarray) -> tuple:
        """Parties: each holder's draws due today go to it; returns stocks and tonnes [A, C]."""
        given = self.parties.deliver(t)
        x = x.copy()
        x[0] += given
        delivered = np.zeros_like(self._zeros)
        delivered[0] = given.sum(-1)
        self.transit_rel[0] -= delivered[0]
        return x, delivered

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
        if self.parties is not None:  # after the reviews: day-0 fees see the day-0 target
            self.parties.start(env, self)
        env.process(self._days(env))
        env.run(until=w.horizon)

    def _days(self, env: simpy.Environment) -> Iterator:
        yield env.timeout(0.5)
        for t in range(self.world.horizon):
            self.step(t)
            if t + 1 < self.world.horizon:
                yield env.timeout(1.0)

    def step(self, t: int) -> None:
        """One market day for every arm and commodity (DESIGN.md, "One day in the model")."""
        w = self.world
        now = t + 0.5
        R = w.ring
        slot_today = t % R
        p0 = w.ref_price
        ratio = self.price / p0

        # 1. supply: output less restrictions; unrestricted producers respond to price (lagged)
        self.slow.step(ratio)
        factor = self.active * np.where(self.restricted, self.mult, self.slow.supply_factor[:, w.sup_c])
        out_s = w.cap_noise[t] * factor
        reach_s = out_s * self.bloc_keep  # what the bloc can buy from each producer
        output = out_s @ self.onehot
        supply = output + self.wstock  # on offer today: output and traders' stocks
        reach = reach_s @ self.onehot + self.wstock

        # 2. demand at today's price: critical use, then the responsive part on its curve
        q0, row0 = w.demand[t], w.row_demand[t]  # today's demand at the reference price, with noise
        q_e, crit_q, crit_e = w.expected[t], w.critical_t[t], w.critical_expected[t]  # t/day [C, M]
        if self.surge_on:
            sm = self.surge[:, None]
            q0, q_e, row0, crit_q, crit_e = q0 * sm, q_e * sm, row0 * self.surge, crit_q * sm, crit_e * sm
        crit_e = crit_e.sum(-1)
        resp_e = q_e.sum(-1) - crit_e
        keep = 1.0 - self.slow.substitution
        curve = ratio ** (-w.elasticity) * keep
        row_curve = ratio ** (-w.row_elasticity) * keep
        want_m = crit_q + (q0 - crit_q) * curve[..., None]  # [A, C, M] desired consumption
        want_tot = want_m.sum(-1)
        row_crit = w.row_critical * row0
        row_want = row_crit + (row0 - row_crit) * row_curve
        row_mkt, row_crit_mkt, row_own = row_want, row_crit, 0.0
        if self.parties is not None and self.parties.has_allies:  # allies' draws serve rest-of-world buyers
            row_own = np.zeros_like(row_want)
            row_own[0] = self.parties.allied_deliveries(t, row_want[0])
            row_mkt, row_crit_mkt = row_want - row_own, np.maximum(0.0, row_crit - row_own)
        # manufacturers order what they use plus part of the gap to their target stock and pipeline
        # (more cover while an export restriction is on: precautionary buying)
        cover = w.safety_days + (w.precaution_days * self.restricted_c)[:, None]
        safety = w.expected[t] * cover
        if self.parties is not None:  # reserve arm: members' own stocks after crowding out, plus swaps owed
            safety = self.parties.stock_targets(t, safety)
        position = self.mstock.sum(-1) + self.transit_m + self.transit_rel
        # the pipeline target follows expected use at today's price (daily noise is for stocks to absorb)
        pipeline = (crit_e + resp_e * curve) * w.pipeline_days
        order = np.maximum(0.0, want_tot + (pipeline + safety.sum(-1) - position) * w.restock_rate)
        # reserve purchases are demand like any other
        buying = self.buy_on.any()
        if buying:
            price_ok = self.price <= w.r_buy_ceiling_usd
            room = np.maximum(0.0, self.r_room_cap - self.rstock - self.transit_r)
            want_r = np.minimum(w.r_buy_max_tpd * (self.buy_on & price_ok), room)
        else:
            want_r = self._zeros

        # the reserve orders only what it can pay for today (an unfunded order would still move the price)
        if buying:
            cost = float(want_r[0] @ self.price[0])
            if cost > 0:
                funds = max(self.finance.funds(now, "reserve"), 0.0)
                if cost > funds:
                    want_r = want_r.copy()
                    want_r[0] *= funds / cost

        # 3. the world market at today's price: critical use first, then everyone's use, then stock
        # building (manufacturers' restocking, then a 'spare' reserve), pro rata within each tier;
        # so a buyer with stocks cannot take another's use by ordering more
        use_b = np.minimum(order, want_tot)
        crit_b = np.minimum(use_b, crit_q.sum(-1))
        rest_b, build_b, rest_row = use_b - crit_b, order - use_b, row_mkt - row_crit_mkt
        compete = w.r_buy_compete
        f1, f2, f3, f4 = serve_in_tiers(supply, crit_b + row_crit_mkt, rest_b + rest_row + want_r * compete, build_b,
                                        want_r * ~compete)
        ship_m = crit_b * f1 + rest_b * f2 + build_b * f3
        buy = want_r * np.where(compete, f2, f4)
        row_got = row_crit_mkt * f1 + rest_row * f2
        # a targeted restriction caps what the bloc can reach; the rest goes to other buyers
        bloc = ship_m + buy
        over = np.maximum(bloc - reach, 0.0)
        if over.any():
            cut = 1.0 - over / np.maximum(bloc, _TINY)
            ship_m, buy = ship_m * cut, buy * cut
            row_got = np.minimum(row_mkt, row_got + over)
        if buying:
            cost = float(buy[0] @ self.price[0])
            if cost > 0:
                self.finance.spend(now, "purchases_usd", cost, "reserve")
                if self.parties is not None:  # traders' fees; allies pay their stakes' shares
                    self.parties.on_purchase(now, buy[0] * self.price[0])
        shipped = ship_m + buy
        # unsold output refills traders' stocks up to their normal level; beyond it, it is not produced
        stock_before = self.wstock
        self.wstock = np.minimum(supply - shipped - row_got, w.market_stock_level[t])
        produced = shipped + row_got + self.wstock - stock_before

        # 4. ship into the pipeline; each producer delivers after its lead time (+ delays); what the
        # bloc draws from traders' stocks travels like its producers' output
        source_s = reach_s + 1e-9 * w.cap_expected[t]
        ship_s = source_s * (shipped / (source_s @ self.onehot))[:, w.sup_c]
        slots = self._arm_off + (self._ring_base + (t + self._lead) % R)
        m_share = np.where(shipped > 0, ship_m / np.maximum(shipped, _TINY), 1.0)
        if buying:
            np.add.at(self._ring_m_flat, slots, ship_s * m_share[:, w.sup_c])
            np.add.at(self._ring_r_flat, slots, ship_s * (1.0 - m_share)[:, w.sup_c])
            self.transit_r += buy
        else:
            np.add.at(self._ring_m_flat, slots, ship_s)
        self.transit_m += ship_m
        imports = (ship_s * ~w.sup_domestic) @ self.onehot * m_share

        # project companies sell their output into the world market: the share of it produced today
        if self.projects.rows.size:
            sold = np.clip(produced / np.maximum(output, _TINY), 0.0, 1.0)[0, self.projects.commodity]
            proj_out = out_s[0, self.projects.rows] * sold
            self.projects.output_t[t] = proj_out
            self.projects.revenue_usd[t] = proj_out * self.price[0, self.projects.commodity]

        # 5. arrivals; manufacturers share them: critical use first, then priority classes
        arr_m = self.ring_m[:, :, slot_today].copy()
        self.ring_m[:, :, slot_today] = 0.0
        self.transit_m -= arr_m
        arr_r = self.ring_r[:, :, slot_today].copy()
        if arr_r.any():
            self.ring_r[:, :, slot_today] = 0.0
            self.transit_r -= arr_r
            self.rstock += arr_r
            if self.parties is not None:
                self.parties.on_reserve_arrivals(arr_r[0])
        need = np.maximum(0.0, want_m + safety - self.mstock)
        crit_need = np.minimum(need, crit_q)
        claims = allocate(arr_m, np.concatenate((crit_need, need - crit_need), axis=-1), self.claim_classes)
        M = crit_need.shape[-1]
        alloc = claims[..., :M] + claims[..., M:]
        leftover = arr_m - alloc.sum(-1)
        x = self.mstock + alloc + leftover[..., None] * w.share[t]
        bought = alloc + leftover[..., None] * w.share[t] if self.parties is not None else None
        gap = np.maximum(0.0, want_m - x)

        # 6. other public stocks serve their users first (both arms); then the reserve decides: it releases
        # when its trigger holds, capped and delivered after a lag (with parties: members draw, allies too)
        other_rel = None
        if self.public is not None:
            other_rel = self.public.release(t, gap)
            x = x + self.public.deliver(t)
            gap = np.maximum(0.0, want_m - x - self.public.transit_m)
        releases = self._zeros
        if w.has_reserve.any():
            gap_tot = (gap * w.r_eligible).sum(-1)  # only the gaps its allocation rule may fill
            fired = w.r_is_shortfall & (gap_tot > 1e-9)
            if w.any_price_trigger:
                fired |= w.r_is_price & (self.price >= w.r_trigger_price_usd)
            if w.any_cover_trigger:
                after = np.maximum(x - want_m, 0.0)
                fired |= w.r_is_cover & (after.sum(-1) < w.r_trigger_cover * w.de_tot[t])
            if self.parties is not None:
                lost = self.supply_lost_share(t) if self.parties.tests_supply else None
                self.parties.declare(now, self.price[0], lost)
            if fired.any():
                self.triggered |= fired[0]
                can = np.maximum(0.0, self.rstock - w.r_floor_share * self.target)
                if self.parties is None:
                    releases = self._release(now, t, fired, gap, x, want_m, safety, can)
                else:
                    releases = self._draw(now, t, fired, gap, x, want_m, safety, can, row_want - row_got - row_own)
        if self.parties is None:
            x, delivered_rel = self._deliver_releases(slot_today, x, want_m, safety)
        else:
            x, delivered_rel = self._deliver_draws(t, x)

        # 7. consumption and the bloc's loss against the reference (welfare.py)
        cons = np.minimum(want_m, x)
        self.mstock = x - cons
        dwl_m = self.dwl.loss_usd(cons, q0)
        crit_m = critical_loss_usd(cons, q0, w.critical, self.voll_m)
        dwl, crit_loss = dwl_m.sum(-1), crit_m.sum(-1)
        import_loss = (self.price - p0) * imports

        # 8. carrying costs
        # storage accrues daily and is invoiced every STORAGE_BILLING_DAYS and on the last day
        self.storage_due += float(self.rstock[0] @ w.r_hold_usd_per_t_day)
        if self.parties is not None:
            self.parties.accrue_storage(self.rstock[0])
        if self.storage_due > 0 and ((t + 1) % STORAGE_BILLING_DAYS == 0 or t == w.horizon - 1):
            self.finance.spend(now, "storage_cost_usd", self.storage_due, "reserve")
            self.storage_due = 0.0
            if self.parties is not None:  # allies pay their stakes' shares of the bill
                self.parties.on_storage_bill(now)

        # 9. the price closes part of the gap to the price that clears the world market; it clears
        # expected flows (daily noise is absorbed by stocks, not priced) plus stock building
        fixed = crit_e + (order - want_tot) + row_crit + want_r
        residual = (w.cap_expected[t] * factor) @ self.onehot + releases - fixed
        if other_rel is not None:
            residual = residual + other_rel
        responsive = self._responsive
        np.multiply(resp_e, keep, out=responsive[0])
        np.multiply(row0 - row_crit, keep, out=responsive[1])
        self.clearing = clearing_price_ratio(responsive, self.elasticities, residual, self.clearing,
                                             w.price_floor, w.price_cap)
        self.price += w.price_adjust * (self.clearing * p0 - self.price)

        r = self.rec
        r["capacity_t"][t] = output
        r["production_t"][t] = produced
        r["market_stock_t"][t] = self.wstock
        r["orders_t"][t] = order
        r["shipped_t"][t] = shipped
        r["arrivals_t"][t] = arr_m + arr_r
        r["reference_demand_t"][t] = q0.sum(-1)
        r["demand_t"][t] = want_tot
        delivered = cons.sum(-1)
        r["delivered_t"][t] = delivered
        r["shortfall_t"][t] = want_tot - delivered
        r["critical_shortfall_t"][t] = np.maximum(crit_q - cons, 0.0).sum(-1)
        r["imports_t"][t] = imports
        r["row_demand_t"][t] = row_want
        r["row_consumption_t"][t] = row_got + row_own
        r["price_usd_per_t"][t] = self.price
        r["clearing_price_usd_per_t"][t] = self.clearing * p0
        r["substitution_share"][t] = self.slow.substitution
        r["reserve_stock_t"][t] = self.rstock
        r["reserve_target_t"][t, 0] = self.target
        r["reserve_purchases_t"][t] = buy
        r["reserve_releases_t"][t] = releases
        r["release_deliveries_t"][t] = delivered_rel + row_own
        r["manufacturer_stock_t"][t] = self.mstock.sum(-1)
        r["in_transit_t"][t] = self.transit_m + self.transit_r + self.transit_rel
        r["loss_surplus_usd"][t] = dwl
        r["loss_import_usd"][t] = import_loss
        r["loss_critical_usd"][t] = crit_loss
        r["loss_usd"][t] = dwl + import_loss + crit_loss
        if self.parties is not None:
            tot = bought.sum(-1, keepdims=True)  # the extra import bill falls on who bought today's arrivals
            share = np.where(tot > 0, bought / np.maximum(tot, _TINY), w.share[t])
            self.parties.book_day(t, r, dwl_m + crit_m + import_loss[..., None] * share, want_m, cons)
