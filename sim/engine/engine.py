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

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import simpy

from sim.core.ledger import Ledger
from sim.core.rng import Streams
from sim.engine.reserve_step import ReserveStep
from sim.kernels.day_kernel import market_day, review, set_drawdown
from sim.kernels.jit import bound
from sim.kernels.layout import AC, ACM, AS, C1, CB, CK, CM, FLAG, MONEY, SB, SERIES, SI, WC
from sim.kernels.market_kernel import clear_and_ship, supply_and_demand
from sim.kernels.price_kernel import consume_and_price
from sim.model.finance import Finance
from sim.model.parties import Parties
from sim.model.projects import ProjectCompanies
from sim.model.public_stocks import PublicStocks
from sim.model.shocks import ShockEffect, project_process, review_process, shock_process
from sim.model.welfare import DeadweightCurve
from sim.model.world import World
from sim.scenario.schema import Scenario

__all__ = ["SERIES", "CountingEnvironment", "Engine", "collector_paused"]
_TINY = 1e-12
#: Storage is billed monthly, like warehouse rent.
STORAGE_BILLING_DAYS = 30


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one run; it resumes (and catches up) after.

    A run allocates tens of thousands of small objects (SimPy events, log tuples) that reference
    counting frees at once, yet each allocation counts toward the collector's next pass, and its
    passes over the whole heap (pandas, numba, SimPy, the world's arrays) cost about 6% of a run
    (measured in one process, runs alternately with and without). The cycles a run makes are broken
    by :meth:`Engine.dispose`.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


class Engine(ReserveStep):
    """State and daily step of one paired replication."""

    #: Run every day step by step, with the finance and parties in Python, even where one compiled call
    #: could do the day (the readable form; tests hold the two to the same bits).
    step_by_step = False

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
        self.rec_all = np.zeros((len(SERIES), H, 2, C))  # written by the kernels at SERIES' indices
        self.rec = {name: self.rec_all[i] for i, name in enumerate(SERIES)}
        self.onehot = np.zeros((S, C))
        self.onehot[np.arange(S), w.sup_c] = 1.0
        # mutable state
        self.active = w.sup_active0.copy()
        self.mult = np.ones(S)  # share of output left to every buyer (untargeted restrictions, outages)
        self.bloc_keep = np.ones(S)  # share of the rest the bloc can reach (targeted restrictions)
        self.restricted = np.zeros(S, dtype=bool)
        self.restricted_c = np.zeros(C)  # 1 while an export restriction is on (precautionary cover)
        self.surge = np.ones(C)
        self._zeros = np.zeros((2, C))
        self.extra = np.zeros(S, dtype=np.intp)
        self._lead = w.sup_lead + self.extra  # days from shipment to arrival, incl. logistics delays
        self.effects: list[ShockEffect] = []
        self.storage_due = 0.0
        self.price = np.tile(w.ref_price, (2, 1))
        self.clearing = np.ones((2, C))  # last clearing price ratio (Newton's warm start)
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
            self.parties.entitlements()  # (refreshes the cut, Parties.crowd_cut, if the targets moved)
            self.mstock[0] = np.maximum(0.0, self.mstock[0] - self.parties.crowd_cut)
        # pipelines by arrival day: [slot, arm, commodity], so a day's arrivals are one contiguous row
        self.ring_m = np.zeros((R, 2, C))
        self.ring_r = np.zeros((R, 2, C))
        self.ring_rel = np.zeros((2, C, R))  # released tonnes on their way to manufacturers
        self.r_room_cap = np.minimum(self.target, w.r_capacity)
        base_cap = self.active[0] * w.sup_cap_tpd @ self.onehot
        share0 = np.divide(de0.sum(-1), base_cap, out=np.zeros(C), where=base_cap > 0)
        for j in range(S):
            if self.active[0, j] and w.sup_lead[j] > 0:
                self.ring_m[: w.sup_lead[j], :, w.sup_c[j]] += w.sup_cap_tpd[j] * min(1.0, share0[w.sup_c[j]])
        self.transit_m = self.ring_m.sum(0)
        self.transit_r = np.zeros((2, C))
        self.transit_rel = np.zeros((2, C))
        self.wstock = np.tile(w.market_stock_level[0], (2, 1))  # traders' stocks outside the bloc
        self.opening_t = self.mstock.sum(-1) + self.rstock + self.transit_m + self.wstock
        if self.public is not None:
            self.opening_t += self.public.total_stock
        self.env = CountingEnvironment()
        self._bind_kernels()
        self._set_drawdown()

    def _bind_kernels(self) -> None:
        """Pack the state into the kernels' arrays (``sim/kernels/market_kernel.py``); the engine keeps named views.

        Every state array the kernels touch becomes a view into a pack, so the Python parts of the
        day (finance, parties, releases, shocks) must update them in place, never rebind them.
        """
        w = self.world
        C, S, M = len(w.commodity_ids), len(w.sup_c), len(w.manufacturer_ids)
        p = self.parties
        initial = {"price": self.price, "supply_factor": np.ones((2, C)), "transit_m": self.transit_m,
                   "rstock": self.rstock, "wstock": self.wstock, "clearing": np.ones((2, C))}
        self._ac = np.zeros((len(AC), 2, C))
        for i, name in enumerate(AC.names()):
            if name in initial:
                self._ac[i] = initial[name]
            setattr(self, name, self._ac[i])
        self._acm = np.zeros((len(ACM), 2, C, M))
        self._acm[ACM.MSTOCK] = self.mstock
        for i, name in enumerate(ACM.names()):
            setattr(self, name, self._acm[i])
        self._as = np.zeros((len(AS), 2, S))
        for i, name in enumerate(AS.names()):
            setattr(self, name, self._as[i])
        self._c = np.zeros((len(C1), C))
        self._c[: C1.R_ROOM_CAP + 1] = self.surge, self.restricted_c, self.target, self.r_room_cap
        self.surge, self.restricted_c, self.target, self.r_room_cap = self._c[: C1.R_ROOM_CAP + 1]
        self._s = np.stack([self.mult, self.bloc_keep])
        self.mult, self.bloc_keep = self._s
        self._cb = np.zeros((len(CB), C), dtype=bool)
        self._cb[CB.BUY_ON] = self.buy_on
        self._cb[CB.HAS_RESERVE], self._cb[CB.IS_SHORTFALL] = w.has_reserve, w.r_is_shortfall
        self._cb[CB.IS_PRICE], self._cb[CB.IS_COVER] = w.r_is_price, w.r_is_cover
        self._cb[CB.TRIGGERED] = self.triggered
        self.buy_on, self.triggered = self._cb[CB.BUY_ON], self._cb[CB.TRIGGERED]
        self._drawdown = self._ac[AC.DRAWDOWN]
        self._sb = np.zeros((len(SB), S), dtype=bool)
        self._sb[SB.ACTIVE_RESERVE:SB.ACTIVE_RESERVE + 2], self._sb[SB.RESTRICTED] = self.active, self.restricted
        self._sb[SB.DOMESTIC] = w.sup_domestic
        self.active, self.restricted = self._sb[SB.ACTIVE_RESERVE:SB.ACTIVE_RESERVE + 2], self._sb[SB.RESTRICTED]
        self._si = np.stack([w.sup_c, self._lead]).astype(np.intp)
        self._lead = self._si[SI.LEAD]
        self._ring = np.stack([self.ring_m, self.ring_r])
        self.ring_m, self.ring_r = self._ring
        dwl = DeadweightCurve(w.elasticity, w.ref_price, w.price_cap, w.critical)
        self._cm = np.zeros((len(CM), C, M))
        self._cm[CM.CRITICAL] = w.critical
        self._cm[CM.VOLL_M] = w.voll[:, None] * w.loss_mult  # USD per critical tonne not served
        self._cm[CM.SAFETY_DAYS] = w.safety_days
        self._cm[CM.ELIGIBLE] = w.r_eligible
        self._flags = np.zeros(len(FLAG), dtype=bool)
        self._flags[FLAG.EARLY] = w.any_early
        self._flags[FLAG.SUBSTITUTION] = w.any_substitution
        self._flags[FLAG.SUPPLY_RESPONSE] = w.any_supply_response
        self._flags[FLAG.PARTIES] = p is not None
        self._flags[FLAG.NEWTON] = not bool((w.elasticity == w.row_elasticity).all())
        self._flags[FLAG.RESERVE] = self._has_reserve = bool(w.has_reserve.any())
        fixed = {"r_buy_ceiling_usd": w.r_buy_ceiling_usd, "dwl_a": dwl.a[:, 0], "dwl_g1": dwl.g1[:, 0],
                 "dwl_xc": dwl.xc[:, 0], "dwl_log": dwl.log_form[:, 0], "buy_max_reserve": w.r_buy_max_tpd[0],
                 "buy_max_counterfactual": w.r_buy_max_tpd[1], "major_price_usd": np.inf, "major_loss": np.nan,
                 "locked_price_usd": 0.0, "premium_share": 0.0,
                 # the clearing price's bounds in logs, taken once (math.log: libm's, as in the kernel)
                 "log_price_floor": [math.log(x) for x in w.price_floor.tolist()],
                 "log_price_cap": [math.log(x) for x in w.price_cap.tolist()]}
        if p is not None:  # the parties' arrays the kernels read and write become views into the packs too
            fixed["major_price_usd"], fixed["major_loss"] = p._major_price_usd, p._major_loss
            fixed["locked_price_usd"], fixed["premium_share"] = p.locked_price, p.spec.draws.premium_share
            self._flags[FLAG.SWAP] = p.swap
            self._cm[CM.CROWD_CUT] = p.crowd_cut
            p.crowd_cut, p.base_safety = self._cm[CM.CROWD_CUT], self._cm[CM.BASE_SAFETY]
            self._c[C1.P_ARRIVALS] = p.flows["arrivals"]
            self._c[C1.P_ENT_ENTITLED], self._c[C1.P_DRAWN_TODAY] = p._ent_entitled, p.drawn_today
            p.flows["arrivals"] = self._c[C1.P_ARRIVALS]
            self._c[C1.P_DRAWN] = p.flows["drawn"]
            p.flows["drawn"] = self._c[C1.P_DRAWN]
            p._ent_entitled, p.drawn_today = self._c[C1.P_ENT_ENTITLED], self._c[C1.P_DRAWN_TODAY]
            self._cb[CB.MAJOR], self._cb[CB.FLIPPED] = p.major, p._flipped
            p.major, p._flipped = self._cb[CB.MAJOR], self._cb[CB.FLIPPED]
            self._flags[FLAG.PENDING_ON:FLAG.OUTSTANDING + 1] = p.state
            p.state = self._flags[FLAG.PENDING_ON:FLAG.OUTSTANDING + 1]
            p_ck = np.zeros((len(CK), *p.out_swap.shape))
            p_ck[CK.OUT_SWAP], p_ck[CK.PENDING], p_ck[CK.ENT] = p.out_swap, p.pending, p._ent
            p_ck[CK.TRANSIT], p_ck[CK.ENTITLED] = p.transit, p.entitled
            p.out_swap, p.pending, p._ent, p.transit = p_ck[CK.OUT_SWAP], p_ck[CK.PENDING], p_ck[CK.ENT], \
                p_ck[CK.TRANSIT]
            p._need, p._d, p._work = p_ck[CK.NEED], p_ck[CK.D], p_ck[CK.WORK]
            self._flags[FLAG.FREE_STOCK_SALES] = p.free_stock_sales
            p_value = np.stack([p.demand_value, p.consumed_value])
            p.demand_value, p.consumed_value = p_value
            p_books = (p.loss, p_value, p_ck, p.entitled)
            p_draws = (p._hold, p._tonnes_drawn, p._pay, p._swap_cm, p.value_in)
            self._p_cut_value = p.cut_value
        else:  # placeholders of the right types: the kernels skip the parties' parts (FLAG.PARTIES)
            p_ck = np.zeros((len(CK), C, 1))
            p_books = (np.zeros((1, 2, M)), np.zeros((2, 2, M)), p_ck, np.zeros(1, dtype=bool))
            p_draws = (np.zeros((4, C), dtype=np.intp), np.zeros((2, C, 1)), np.zeros((3, 1)), np.zeros((3, C, M)),
                       np.zeros((1, 1)))
            self._p_cut_value = np.zeros((1, M))
        self._wc = np.array([np.broadcast_to(fixed[name] if name in fixed else getattr(w, name), C)
                             for name in WC.names()], dtype=float)
        self._owed_calm = self._cm[CM.OWED_CALM]
        self._calm_col = np.ones((C, 1))  # Parties.calm as a float column: owed x calm needs no cast each day
        p_target, p_calm = (p.target, p.calm) if p is not None else (np.zeros(C), np.zeros(C, dtype=bool))
        self._review_args = (self._ac, self._c, self._wc, self._cb, self._flags, w.r_target_t, w.r_target_days,
                             w.expected, p_target, p_calm)
        self._changed = np.zeros(C, dtype=bool)
        # step 6 in Python: the requests of every holder [A, C, M], the stock above the floor and today's room [C]
        self._requests = np.zeros((2, C, M))
        self._can, self._room = self._c[C1.CAN], self._c[C1.ROOM]
        self._no_row_gap, self._no_allies = np.zeros(C), np.zeros(0)
        self._release_scratch, self._delivered = np.zeros((3, M)), np.zeros((2, C))
        self._fired = np.zeros((2, C), dtype=bool)
        self._mid = self._ac[AC.RELEASES:AC.DELIVERED_REL + 1]  # releases, other_rel, delivered_rel: step 6's
        self._mid_dirty = False
        # allies' draws and other public stocks act between the market's steps; otherwise one call does them
        self._one_call = (p is None or not p.has_allies) and self.public is None and not self.step_by_step
        # every argument of the daily kernels after the day, bound once: the arrays are updated in place
        packs = (self._ac, self._acm, self._as, self._c, self._s, self._cm, self._wc, self._flags, self._cb, self._sb,
                 self._si, w.daily_s, w.daily_c, w.daily_cm)
        self._sd_args = (*packs, self._p_cut_value)
        self._cs_args = (self._ac, self._acm, self._as, self._wc, self._sb, self._si, self.claim_classes, self._ring,
                         w.daily_s, w.daily_c, w.daily_cm, self.rec_all)
        fin = self.finance
        if p is not None:
            fin.money[MONEY.PARTIES_FEE_SHARE] = p.proc_share  # the parties' fee rides on purchases, paid after them
        p_ring = p.ring if p is not None else np.zeros((C, 1, 1))
        self._kernel_delivers = self._one_call and p is not None
        self._flags[FLAG.KERNEL_DELIVERS] = self._kernel_delivers
        # the whole quiet day in one call: with parties (their draws are delivered by the kernel) and no project
        # companies (they sell at the day's price before it moves, in Python)
        self._has_projects = bool(self.projects.rows.size)
        self._flags[FLAG.WHOLE_DAY] = self._kernel_delivers and not self._has_projects
        self._allies = p is not None and p.has_allies  # (plain booleans: the day tests them 5,475 times a run)
        self._md_args = (*packs, self._p_cut_value, self.claim_classes, self._ring, p_ck, self._fired, fin.money,
                         fin.fac, self.ledger.flows, fin.draws_out, *p_books[:2], p_books[3], p_ring, *p_draws,
                         self.rec_all)
        self._cp_args = (self._ac, self._acm, self._as, self._c, self._cm, self._wc, self._flags, w.daily_c,
                         w.daily_cm, *p_books, p_ring, self.rec_all)
        self._trigger_args = (self._cm[CM.ELIGIBLE], self._cb[CB.IS_SHORTFALL], self._cb[CB.IS_PRICE],
                              self._wc[WC.R_TRIGGER_PRICE_USD], self._cb[CB.IS_COVER], self._wc[WC.R_TRIGGER_COVER],
                              w.de_tot, self._fired)
        # the kernels' compiled entries for these arguments' types (jit.bound): a day calls them directly
        if self._one_call:
            self._market_day = bound(market_day, 0, *self._md_args)
        else:
            self._supply_and_demand = bound(supply_and_demand, 0, *self._sd_args, self.rec_all)
            self._clear_and_ship = bound(clear_and_ship, 0, *self._cs_args)
        self._consume_and_price = bound(consume_and_price, 0, *self._cp_args)

    def dispose(self) -> None:
        """Drop every reference the engine and its parts hold, once the run's results are out.

        The engine, its finance, parties and project books point at each other (event-log
        callbacks, SimPy processes), so without this their arrays (tens of MB per replication)
        would live until the next full garbage collection, and memory would grow with the number
        of replications run in one process.
        """
        for part in (self.finance, self.parties, self.projects, self.public, self.world):
            if part is not None:
                vars(part).clear()
        vars(self).clear()

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
        # in place: the kernels hold these arrays
        self.mult[:], self.bloc_keep[:], self.surge[:] = mult, keep, surge
        self.restricted[:] = mult < 1.0
        self.restricted_c[:] = restricted_c
        self.extra[:] = np.minimum(extra, self.world.ring - 1 - self.world.sup_lead)
        self._lead[:] = self.world.sup_lead + self.extra

    def activate(self, arm: int, row: int) -> None:
        """Switch on supplier row ``row`` in ``arm`` (a completed project)."""
        self.active[arm, row] = True

    def review(self, cs: np.ndarray, t: int) -> None:
        """Set the targets of commodities ``cs`` and whether to buy them until their next review.

        The arithmetic is compiled (:func:`sim.kernels.day_kernel.review`: a few dozen numpy calls on
        arrays of a dozen numbers were most of a review's cost); the events are logged here.
        """
        w = self.world
        changed = self._changed[: len(cs)]
        review(t, cs, *self._review_args, changed)
        for c in cs[changed]:
            self.log(t, "buy_start" if self.buy_on[c] else "buy_stop", w.commodity_ids[c], "review", self.target[c])
        self._reviewed = True  # room and drawdown capacity follow the targets before the next market
        if self.parties is not None:  # entitlements follow the targets; members' stock targets follow calm
            self.parties.stale = True
            self.parties.owed_changed = True
            self._calm_col[:, 0] = self.parties.calm

    def drawdown_capacity(self) -> np.ndarray:
        """Most the reserve can release per day [A, C]: fixed, or the target over drawdown days (set at reviews)."""
        return self._drawdown

    def _set_drawdown(self) -> None:
        """Room below the targets and drawdown capacity, after reviews (all commodities review on one day)."""
        w = self.world
        self._reviewed = False
        set_drawdown(self._c, self._ac, w.r_capacity, w.r_drawdown_days, w.r_release_max_tpd)

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
        held = np.flatnonzero(w.has_reserve)  # one review process per review interval
        for interval in np.unique(w.r_review_days[held]):
            env.process(review_process(env, self, held[w.r_review_days[held] == interval]))
        if self.parties is not None:  # after the reviews: day-0 fees see the day-0 target
            self.parties.start(env, self)
        env.process(self._days(env))
        with collector_paused():
            env.run(until=w.horizon)

    def _days(self, env: simpy.Environment) -> Iterator:
        timeout, step, horizon = env.timeout, self.step, self.world.horizon  # (looked up once, not 5,475 times)
        yield timeout(0.5)
        for t in range(horizon):
            step(t)
            if t + 1 < horizon:
                yield timeout(1.0)

    def step(self, t: int) -> None:
        """One market day for every arm and commodity (DESIGN.md, "One day in the model").

        The market arithmetic is compiled (``sim/kernels/market_kernel.py``); money, parties, other public
        stocks and the reserve's release decision are here, between the kernels, in the day's order.
        """
        w = self.world
        now = t + 0.5
        parties = self.parties
        if self._reviewed:
            self._set_drawdown()
        # 1-2. supply, demand at today's price, orders (kernel); with parties, members' stock targets
        # follow crowding out and, while calm, the swaps they owe
        if parties is not None:
            if parties.stale:  # entitlements follow the targets set at reviews
                parties.refresh()
            if parties.owed_changed:
                np.multiply(parties.owed, self._calm_col, out=self._owed_calm)
                parties.owed_changed = False
        any_fired = flipped = drew = consumed = False
        if self._kernel_delivers:  # members' draws due today are delivered by the kernel
            self._flags[FLAG.DELIVERIES] = t <= parties._last_due
        if self._one_call:  # one compiled call: steps 1-5, the payment, step 6's decisions, on a quiet day 7-9 too
            to_book, any_fired, flipped, drew, consumed, storage, any_swap = self._market_day(t, *self._md_args)
            if to_book:
                self.finance.after_compiled_payment(now)
        else:
            cost = self._supply_and_demand(t, *self._sd_args, self.rec_all)
            if self._allies:  # allies' draws serve rest-of-world buyers
                self.row_own[0] = parties.allied_deliveries(t, self.row_want[0])
            # the reserve orders only what it can pay for today (an unfunded order would still move the price)
            if cost > 0:
                funds = max(self.finance.funds(now, "reserve"), 0.0)
                if cost > funds:
                    self.want_r[0] *= funds / cost
            # 3-5. the world market in tiers, shipments into the pipeline, arrivals shared out (kernel)
            cost = self._clear_and_ship(t, *self._cs_args)
            if cost > 0:
                self.finance.spend(now, "purchases_usd", cost, "reserve")
                if parties is not None:  # traders' fees; allies pay their stakes' shares
                    parties.on_purchase(now, cost, self.buy[0], self.price[0])
        if flipped:  # the kernel's morning declared or ended a major disruption
            parties.log_flips(now, self.price[0])
        if self._has_projects:  # project companies sell the share of their output produced today
            sold = np.clip(self.produced / np.maximum(self.output, _TINY), 0.0, 1.0)[0, self.projects.commodity]
            proj_out = self.out_s[0, self.projects.rows] * sold
            self.projects.output_t[t] = proj_out
            self.projects.revenue_usd[t] = proj_out * self.price[0, self.projects.commodity]

        # 6. other public stocks serve their users first (both arms); then the reserve decides: it releases
        # when its trigger holds, capped and delivered after a lag (with parties: members draw, allies too)
        if consumed:  # the kernel ran steps 6-9 too and booked today's draws: their money and events are Python's
            if drew:
                parties.after_draws(now, t, parties._d, any_swap)
            self._mid_dirty = drew
        elif not self._one_call or drew or (parties is None and (any_fired or self._deliveries_due(t))):
            self._reserve_decides(now, t, any_fired, drew)
        elif self._mid_dirty:  # yesterday's releases and deliveries are not today's
            self._mid[:] = 0.0
            self._mid_dirty = False

        # 7-9. consumption and the bloc's loss (welfare.py); storage accrues; the price moves (kernel);
        # with parties, the day's entitlement series
        if not consumed:
            if self._kernel_delivers:  # today's draws may be due today
                self._flags[FLAG.DELIVERIES] = t <= parties._last_due
            storage = self._consume_and_price(t, *self._cp_args)
        # storage accrues daily and is invoiced every STORAGE_BILLING_DAYS and on the last day
        self.storage_due += storage
        if self._allies:
            parties.accrue_storage(self.rstock[0])
        if ((t + 1) % STORAGE_BILLING_DAYS == 0 or t == w.horizon - 1) and self.storage_due > 0:
            self.finance.spend(now, "storage_cost_usd", self.storage_due, "reserve")
            self.storage_due = 0.0
            if parties is not None:  # allies pay their stakes' shares of the bill
                parties.on_storage_bill(now)
        if self._allies:
            parties.book_allies(t, self.rec)
