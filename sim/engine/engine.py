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
from sim.engine.day import DayPlans
from sim.engine.reserve_step import ReserveStep
from sim.engine.state import EngineViews
from sim.kernels.day_kernel import market_day, review, set_drawdown
from sim.kernels.jit import bound
from sim.kernels.layout import AC, CB, CM, FLAG, MONEY, SB, SERIES, SI, WC
from sim.kernels.market_kernel import clear_and_ship, supply_and_demand
from sim.kernels.price_kernel import consume_and_price
from sim.model.finance import Finance
from sim.model.packs import Packs
from sim.model.parties import Parties
from sim.model.projects import ProjectCompanies
from sim.model.public_stocks import PublicStocks
from sim.model.shocks import ShockEffect, project_process, review_process, shock_process
from sim.model.welfare import DeadweightCurve
from sim.model.world import World
from sim.scenario.schema import Scenario

__all__ = ["SERIES", "CountingEnvironment", "Engine", "collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one run; it resumes (and catches up) after.

    A run allocates tens of thousands of small objects (SimPy events, log tuples) that reference
    counting frees at once, yet each allocation counts toward the collector's next pass, and its
    passes over the whole heap (pandas, numba, SimPy, the world's arrays) cost a few per cent of a
    run. The cycles a run makes are broken by :meth:`Engine.dispose`.
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


class Engine(EngineViews, DayPlans, ReserveStep):
    """State and daily step of one paired replication."""

    #: Run every day step by step, with the finance and parties in Python, even where one compiled call
    #: could do the day (the readable form; tests hold the two to the same bits).
    step_by_step = False

    def __init__(self, scenario: Scenario, world: World, streams: Streams):
        self.scenario = scenario
        self.world = w = world
        self.streams = streams
        H, C, S, R = w.horizon, len(w.commodity_ids), len(w.sup_c), w.ring
        M = len(w.manufacturer_ids)
        # every array the kernels touch, allocated first: the engine's views (EngineViews) and the
        # parties' are taken from them
        holders = M + len(scenario.parties.allies) if scenario.parties else 1
        self.packs = Packs(w, holders)
        self.ledger = Ledger(H)
        self.events: list[tuple[float, str, str, str, float]] = []
        # with parties, members' fees and charges are booked by the parties (by entitlement)
        n_members = 0 if scenario.parties else int(w.member.sum())
        self.finance = Finance(scenario.financing, self.ledger, self.log, n_members)
        # project companies: their books and the daily output record filled in by the day
        self.projects = ProjectCompanies(scenario, w, self.ledger, self.finance, self.log)
        self.parties = Parties(scenario, w, self.finance, self.ledger, self.log, self.packs) \
            if scenario.parties else None
        self.public = PublicStocks(scenario.public_stocks, w) if scenario.public_stocks else None
        self.rec_all = np.zeros((len(SERIES), H, 2, C))  # written by the kernels at the rows of REC
        self.rec = {name: self.rec_all[i] for i, name in enumerate(SERIES)}
        self.onehot = np.zeros((S, C))
        self.onehot[np.arange(S), w.sup_c] = 1.0
        # mutable state (the packs' rows start at zero; shares of output left to buyers at one)
        self.active[:] = w.sup_active0
        self.surge[:] = 1.0
        self._zeros = np.zeros((2, C))
        self.extra = np.zeros(S, dtype=np.intp)
        self.packs.si[SI.SUP_C] = w.sup_c
        self.lead[:] = w.sup_lead + self.extra  # days from shipment to arrival, incl. logistics delays
        self.effects: list[ShockEffect] = []
        self.storage_due = 0.0
        self.price[:] = w.ref_price
        self.clearing[:] = 1.0  # last clearing price ratio (Newton's warm start)
        # manufacturers share arrivals as 2M claims: everyone's critical use first, then the rest by priority
        K = w.priority_classes.shape[0]
        self.claim_classes = np.zeros((K + 1, 2 * M))
        self.claim_classes[0, :M] = 1.0
        self.claim_classes[1:, M:] = w.priority_classes
        self.rstock[:] = w.r_initial
        self.target[:] = np.where(np.isnan(w.r_target_t), 0.0, w.r_target_t)
        de0 = w.expected[0]
        self.mstock[:] = de0 * w.safety_days
        if self.parties is not None:  # crowding out: members start with the safety stock they keep
            self.parties.entitlements()  # (refreshes the cut, Parties.crowd_cut, if the targets moved)
            self.mstock[0] = np.maximum(0.0, self.mstock[0] - self.parties.crowd_cut)
        # pipelines by arrival day: [slot, arm, commodity], so a day's arrivals are one contiguous row
        self.ring_rel = np.zeros((2, C, R))  # released tonnes on their way to manufacturers
        self.r_room_cap[:] = np.minimum(self.target, w.r_capacity)
        base_cap = self.active[0] * w.sup_cap_tpd @ self.onehot
        share0 = np.divide(de0.sum(-1), base_cap, out=np.zeros(C), where=base_cap > 0)
        for j in range(S):
            if self.active[0, j] and w.sup_lead[j] > 0:
                self.ring_m[: w.sup_lead[j], :, w.sup_c[j]] += w.sup_cap_tpd[j] * min(1.0, share0[w.sup_c[j]])
        self.transit_m[:] = self.ring_m.sum(0)
        # traders' stocks outside the bloc; where the price clears with stocks, holders start at their normal stock
        self.wstock[:] = np.where(w.storage_on, w.storage_steady_days * (w.de_tot[0] + w.row_demand[0]),
                                  w.market_stock_level[0])
        self.row_stock[:] = w.row_demand[0] * w.row_safety_days  # the rest of the world's users start at their safety
        self.opening_t = self.mstock.sum(-1) + self.rstock + self.transit_m + self.wstock + self.row_stock
        if self.public is not None:
            self.opening_t += self.public.total_stock
        self.env = CountingEnvironment()
        self._bind_kernels()
        self._set_drawdown()

    def _bind_kernels(self) -> None:
        """Set the packs' fixed rows and flags, bind the kernels' arguments once, and choose the day's plan.

        Every state array the kernels touch is a view into a pack, so the Python parts of the day
        (finance, parties, releases, shocks) must update them in place, never rebind them.
        """
        w, packs, p = self.world, self.packs, self.parties
        C, M = len(w.commodity_ids), len(w.manufacturer_ids)
        ac, acm, as_, c1, s1, cm, cb = packs.ac, packs.acm, packs.as_, packs.c1, packs.s1, packs.cm, packs.cb
        sb, si, flags, ring = packs.sb, packs.si, packs.flags, packs.ring
        ac[AC.SUPPLY_FACTOR] = 1.0
        cb[CB.HAS_RESERVE], cb[CB.IS_SHORTFALL] = w.has_reserve, w.r_is_shortfall
        cb[CB.IS_PRICE], cb[CB.IS_COVER] = w.r_is_price, w.r_is_cover
        sb[SB.DOMESTIC] = w.sup_domestic
        dwl = DeadweightCurve(w.elasticity, w.ref_price, w.price_cap, w.critical)
        cm[CM.CRITICAL] = w.critical
        cm[CM.VOLL_M] = w.voll[:, None] * w.loss_mult  # USD per critical tonne not served
        cm[CM.SAFETY_DAYS] = w.safety_days
        cm[CM.ELIGIBLE] = w.r_eligible
        flags[FLAG.EARLY] = w.any_early
        flags[FLAG.SUBSTITUTION] = w.any_substitution
        flags[FLAG.SUPPLY_RESPONSE] = w.any_supply_response
        flags[FLAG.PARTIES] = p is not None
        flags[FLAG.NEWTON] = not bool((w.elasticity == w.row_elasticity).all())
        flags[FLAG.RESERVE] = self._has_reserve = bool(w.has_reserve.any())
        fixed = {"r_buy_ceiling_usd": w.r_buy_ceiling_usd, "dwl_a": dwl.a[:, 0], "dwl_g1": dwl.g1[:, 0],
                 "dwl_xc": dwl.xc[:, 0], "dwl_log": dwl.log_form[:, 0], "buy_max_reserve": w.r_buy_max_tpd[0],
                 "buy_max_counterfactual": w.r_buy_max_tpd[1], "major_price_usd": np.inf, "major_loss": np.nan,
                 "locked_price_usd": 0.0, "premium_share": 0.0,
                 # the clearing price's bounds in logs, taken once (math.log: libm's, as in the kernel)
                 "log_price_floor": [math.log(x) for x in w.price_floor.tolist()],
                 "log_price_cap": [math.log(x) for x in w.price_cap.tolist()]}
        p_ck = packs.p_ck
        if p is not None:  # the parties' settings; their state arrays are already views into the packs
            fixed["major_price_usd"], fixed["major_loss"] = p.major_price_usd, p.major_loss
            fixed["locked_price_usd"], fixed["premium_share"] = p.locked_price, p.spec.draws.premium_share
            flags[FLAG.SWAP] = p.swap
            flags[FLAG.FREE_STOCK_SALES] = p.free_stock_sales
            p_books = (p.loss, packs.p_value, p_ck, p.entitled)
            p_draws = (p.hold, p.tonnes_drawn, p.pay, p.swap_cm, p.value_in)
            self._p_cut_value = p.cut_value
        else:  # placeholders of the right types: the kernels skip the parties' parts (FLAG.PARTIES)
            p_books = (np.zeros((1, 2, M)), packs.p_value, p_ck, np.zeros(1, dtype=bool))
            p_draws = (np.zeros((4, C), dtype=np.intp), np.zeros((2, C, 1)), np.zeros((3, 1)), np.zeros((3, C, M)),
                       np.zeros((1, 1)))
            self._p_cut_value = np.zeros((1, M))
        fixed.update(w.release)
        self.wc = wc = np.array([np.broadcast_to(fixed[name] if name in fixed else getattr(w, name), C)
                                 for name in WC.names()], dtype=float)
        self._owed_calm = cm[CM.OWED_CALM]
        self._calm_col = np.ones((C, 1))  # Parties.calm as a float column: owed x calm needs no cast each day
        p_target, p_calm = (p.target, p.calm) if p is not None else (np.zeros(C), np.zeros(C, dtype=bool))
        self._review_args = (ac, c1, wc, cb, flags, w.r_target_t, w.r_target_days, w.expected, p_target, p_calm)
        self._changed = np.zeros(C, dtype=bool)
        self._fired = np.zeros((2, C), dtype=bool)
        # step 6 in Python: the requests of every holder [A, C, M] and the releases' work space
        self._requests = np.zeros((2, C, M))
        self._no_row_gap, self._no_allies = np.zeros(C), np.zeros(0)
        self._release_scratch, self._delivered = np.zeros((3, M)), np.zeros((2, C))
        self._mid = ac[AC.RELEASES:AC.DELIVERED_REL + 1]  # releases, other_rel, delivered_rel: step 6's
        self._mid_dirty = False
        # allies' draws and other public stocks act between the market's steps; otherwise one call does them
        self._one_call = (p is None or not p.has_allies) and self.public is None and not self.step_by_step
        # every argument of the daily kernels after the day, bound once: the arrays are updated in place
        day_packs = (ac, acm, as_, c1, s1, cm, wc, flags, cb, sb, si, w.daily_s, w.daily_c, w.daily_cm)
        self._sd_args = (*day_packs, self._p_cut_value, w.storage_fn)
        self._cs_args = (ac, acm, as_, wc, sb, si, self.claim_classes, ring, w.daily_s, w.daily_c, w.daily_cm,
                         self.rec_all)
        fin = self.finance
        if p is not None:
            fin.money[MONEY.PARTIES_FEE_SHARE] = p.proc_share  # the parties' fee rides on purchases, paid after them
        p_ring = p.ring if p is not None else np.zeros((C, 1, 1))
        self._kernel_delivers = self._one_call and p is not None
        flags[FLAG.KERNEL_DELIVERS] = self._kernel_delivers
        # the whole quiet day in one call: with parties (their draws are delivered by the kernel) and no project
        # companies (they sell at the day's price before it moves, in Python)
        self._has_projects = bool(self.projects.rows.size)
        flags[FLAG.WHOLE_DAY] = self._kernel_delivers and not self._has_projects
        self._allies = p is not None and p.has_allies  # (plain booleans: the day tests them 5,475 times a run)
        self._md_args = (*day_packs, self._p_cut_value, w.storage_fn, self.claim_classes, ring, p_ck, self._fired,
                         fin.money, fin.fac, self.ledger.flows, fin.draws_out, *p_books[:2], p_books[3], p_ring,
                         *p_draws, self.rec_all)
        self._cp_args = (ac, acm, as_, c1, cm, wc, flags, w.daily_c, w.daily_cm, *p_books, p_ring, self.rec_all)
        self._trigger_args = (cm[CM.ELIGIBLE], cb[CB.IS_SHORTFALL], cb[CB.IS_PRICE], wc[WC.R_TRIGGER_PRICE_USD],
                              cb[CB.IS_COVER], wc[WC.R_TRIGGER_COVER], w.de_tot, self._fired)
        # the kernels' compiled entries for these arguments' types (jit.bound): a day calls them directly
        if self._one_call:
            self._market_day = bound(market_day, 0, *self._md_args)
        else:
            self._supply_and_demand = bound(supply_and_demand, 0, *self._sd_args, self.rec_all)
            self._clear_and_ship = bound(clear_and_ship, 0, *self._cs_args)
        self._consume_and_price = bound(consume_and_price, 0, *self._cp_args)
        # the day's plan, chosen once: one compiled call for steps 1-5 (on a quiet day with parties, 1-9),
        # or the steps one by one with allies' draws or other public stocks between them
        self.day = self._one_call_day if self._one_call else self._split_day

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
        self.lead[:] = self.world.sup_lead + self.extra

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
        return self.drawdown

    def _set_drawdown(self) -> None:
        """Room below the targets and drawdown capacity, after reviews (all commodities review on one day)."""
        w = self.world
        self._reviewed = False
        set_drawdown(self.packs.c1, self.packs.ac, w.r_capacity, w.r_drawdown_days, w.r_release_max_tpd)

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
        timeout, step, horizon = env.timeout, self.day, self.world.horizon  # (looked up once, not every day)
        yield timeout(0.5)
        for t in range(horizon):
            step(t)
            if t + 1 < horizon:
                yield timeout(1.0)
