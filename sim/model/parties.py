"""The reserve's parties: members with entitlements, allies with stakes, draws, returns and accounts.

Project Vault's own mechanism (FACTS.md, NEWS26): a vehicle holds the stock; members
hold per-commodity entitlements (tonnes, or a share of the target) at a locked price, pay an
upfront fee and a yearly carrying charge; allied governments own a stake of a jointly bought
stock. Everything here happens in the reserve arm (arm 0); the counterfactual has no parties.

Holders are the columns of a [commodity, holder] array: the manufacturers first (a member's
entitlement is split over its manufacturers by day-0 demand; non-members hold nothing), then
the allies. When the reserve's trigger holds:

- each holder asks for its gap (manufacturers: what they cannot consume today, plus the safety
  refill of early triggers; allies: their share of the rest of the world's unmet demand) less
  what is already on its way to it;
- entitled holders draw up to their undrawn entitlement (entitlement less outstanding swaps
  and draws the vehicle has not yet bought back); in a *major disruption* entitlements are
  scaled up pro rata until they cover the whole stock above the floor; all within the
  drawdown capacity, pro rata to requests;
- non-members then buy, at the market price, only what the vehicle chooses to sell
  (``non_member_sales``).

A member's draw is a sale (it pays the locked price; the vehicle buys back through its buying
programme) or a swap (it owes the tonnes plus a premium on the due date; it returns what it holds
above its own safety stock and pays the rest in cash at the market price). While the market is
calm (no trigger since the reserve's last review) a member orders toward its safety stock plus
what it owes. An ally's draw takes its own
stake; it pays its stake's share of every purchase, procurement fee and storage bill of the
commodity, so the buying programme replenishes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import simpy

from sim.core.ledger import Ledger
from sim.kernels.jit import bound
from sim.kernels.layout import C1, CB, CK, CM, FLAG
from sim.kernels.party_kernels import book_draws, draw_tonnes, morning, refresh, swap_return
from sim.model.finance import Finance
from sim.model.packs import Packs
from sim.model.world import World
from sim.scenario.schema import Parties as PartiesSpec
from sim.scenario.schema import Scenario

EventLog = Callable[[float, str, str, str, float], None]
#: Money lines of the parties' accounts (USD, paid to the vehicle).
PARTY_LINES = ("upfront_fees", "annual_fees", "carrying_charges", "draw_payments", "settlements", "purchases",
               "cost_shares")
_TINY = 1e-12
#: A swap counts as returned late (event, KPI) when more than this share of it is paid in cash
#: instead; smaller remainders are rounding of the members' stock rebuilding (still paid in cash).
LATE_SHARE = 1e-3


class Stocks(Protocol):
    """What the return process needs from the engine: the arrays it moves tonnes between."""

    mstock: np.ndarray  # [A, C, M]
    rstock: np.ndarray  # [A, C]
    price: np.ndarray  # [A, C]


class Parties:
    """Entitlements, draws, returns and per-party accounts of one run (reserve arm)."""

    def __init__(self, s: Scenario, w: World, finance: Finance, ledger: Ledger, log: EventLog, packs: Packs):
        spec: PartiesSpec = s.parties
        self.spec, self.w, self.finance, self.ledger, self.log = spec, w, finance, ledger, log
        C, M, H = len(w.commodity_ids), len(w.manufacturer_ids), w.horizon
        cidx = {c: i for i, c in enumerate(w.commodity_ids)}
        midx = {m: i for i, m in enumerate(w.manufacturer_ids)}
        self.member_ids = list(spec.members)
        self.ally_ids = list(spec.allies)
        Y = len(self.ally_ids)
        self.M, self.K = M, M + Y
        # party of each holder column: members 0..P-1, non-members P, allies P+1..
        P = len(self.member_ids)
        self.party_ids = [*self.member_ids, "non_members", *self.ally_ids]
        self.party_of = np.full(self.K, P, dtype=np.intp)
        self.ent_fixed = np.zeros((C, self.K))  # tonnes
        self.ent_share = np.zeros((C, self.K))  # share of the reserve's target
        day0 = w.expected[0]  # [C, M]
        for p, mem in enumerate(spec.members.values()):
            cols = [midx[m] for m in mem.manufacturers]
            self.party_of[cols] = p
            tot = day0[:, cols].sum(-1, keepdims=True)
            split = np.where(tot > 0, day0[:, cols] / np.maximum(tot, _TINY), 1.0 / len(cols))
            for values, out in ((mem.entitlements_t, self.ent_fixed), (mem.entitlement_shares, self.ent_share)):
                for c, x in values.items():
                    out[cidx[c], cols] = x * split[cidx[c]]
        for a, ally in enumerate(spec.allies.values()):
            k = M + a
            self.party_of[k] = P + 1 + a
            for c, x in ally.entitlements_t.items():
                self.ent_fixed[cidx[c], k] = x
            for c, x in ally.entitlement_shares.items():
                self.ent_share[cidx[c], k] = x
        self._holder_party = np.zeros((self.K, len(self.party_ids)))  # 0/1: holder k belongs to party j
        self._holder_party[np.arange(self.K), self.party_of] = 1.0
        self.is_member = np.zeros(self.K, dtype=bool)
        self.is_member[:M] = self.party_of[:M] < P
        self.is_ally = np.zeros(self.K, dtype=bool)
        self.is_ally[M:] = True
        self.entitled = self.is_member | self.is_ally
        self.ally_row_share = np.array([a.rest_of_world_share for a in spec.allies.values()])
        self.has_allies = Y > 0
        terms = spec.draws
        self.swap = terms.mode == "swap"
        # each holder's name and kind of draw, as the event log shows them
        self._holder_names = [w.manufacturer_ids[k] if k < M else self.party_ids[self.party_of[k]]
                              for k in range(self.K)]
        self._draw_kinds = ["sale" if not e or not self.swap or a else "swap"
                            for e, a in zip(self.entitled.tolist(), self.is_ally.tolist(), strict=True)]
        self.locked_price = terms.locked_price_ratio * w.ref_price
        self.free_stock_sales = terms.non_member_sales == "free_stock"
        md = terms.major_disruption
        self.major_price = np.inf if md.price_ratio is None else md.price_ratio
        self.tests_supply = md.supply_loss_share is not None
        self.major_price_usd = self.major_price * w.ref_price
        self.major_loss = math.nan if md.supply_loss_share is None else float(md.supply_loss_share)  # nan: untested
        fees, mf = spec.fees, s.financing.member_fees
        self.upfront = np.array([m.upfront_fee_usd if m.upfront_fee_usd is not None else
                                 (fees.upfront_usd if fees.upfront_usd is not None else mf.upfront_usd)
                                 for m in spec.members.values()])
        self.annual = fees.annual_usd if fees.annual_usd is not None else mf.annual_usd
        self.carry_share = fees.carrying_charge_share if fees.carrying_charge_share is not None \
            else mf.carrying_charge_share
        self.proc_share = fees.procurement_fee_share
        self.crowding = spec.crowding_out_share
        self.own_cost = spec.own_stock_cost_share_per_year / 365.0
        # state, [C, K] tonnes unless stated
        self.target = np.where(np.isnan(w.r_target_t), w.r_target_days * w.de_tot[0], w.r_target_t)
        self.target = np.where(w.has_reserve, np.nan_to_num(self.target), 0.0)
        # the arrays the compiled day reads and writes are views into the run's packs
        ck = packs.p_ck
        self.out_swap = ck[CK.OUT_SWAP]  # swaps drawn and not yet returned or settled
        self.pending = ck[CK.PENDING]  # drawn, paid for or settled, not yet bought back
        self.transit = ck[CK.TRANSIT]  # draws on their way to the holder
        ck[CK.ENTITLED] = self.entitled
        # swap tonnes (with premium) members owe; a day's new swaps: principal and tonnes owed (the return's) [C, M]
        self.swap_cm = np.zeros((3, C, M))
        self.owed = self.swap_cm[0]
        self.ring = np.zeros((C, self.K, w.ring))
        # calm if the reserve's trigger has not held since the last review (set at reviews, so members rebuild
        # what they owe while calm without flip-flopping daily)
        self.calm = np.ones(C, dtype=bool)
        self.owed_changed = False  # owed or calm changed: the engine's stock targets follow
        self.major = packs.cb[CB.MAJOR]
        self.base_safety = packs.cm[CM.BASE_SAFETY]  # members' safety stock after crowding out (by the kernels)
        self.crowd_cut = packs.cm[CM.CROWD_CUT]  # members' safety-stock cut (crowding out), t
        self._storage_c = np.zeros(C)
        self._ally_carry = np.zeros(H)  # allies' shares of storage and procurement fees, USD per day
        self.drawn_today = packs.c1[C1.P_DRAWN_TODAY]
        self.requests, self.draws = ck[CK.NEED], ck[CK.D]  # work arrays of the draw decision
        self._work = ck[CK.WORK]  # scratch space of the kernels
        self._ret, self._late = np.zeros((C, M)), np.zeros((C, M))  # a swap return's tonnes returned, paid for
        self._return_rows = np.zeros((C * M, 5))  # a swap return's log rows (party_kernels.swap_return)
        self._swap_return = None  # swap_return's compiled entry, bound at the first return
        self.last_due = -1  # last day a draw is due to a manufacturer
        # [some drawn tonnes await buy-back, a draw has been made (so swaps or buy-backs may be outstanding)]
        self.state = packs.flags[FLAG.PENDING_ON:FLAG.OUTSTANDING + 1]
        self._flipped = packs.cb[CB.FLIPPED]
        self._ent_entitled = packs.c1[C1.P_ENT_ENTITLED]
        self._ent = ck[CK.ENT]
        self.no_draw = np.zeros(C)  # read only: what draw() returns on a day nothing is drawn
        # accounts: money paid to the vehicle by party [H, parties] per line; tonnes by party [C, parties]
        n_p = len(self.party_ids)
        self.cash = {line: np.zeros((H, n_p)) for line in PARTY_LINES}
        self.tonnes_drawn = np.zeros((2, C, n_p))  # drawn, drawn as sales (one pack for the compiled day)
        self.tonnes = {k: np.zeros((C, n_p)) for k in ("draws", "returns", "premium", "late", "settled", "sale_draws")}
        self.tonnes["draws"], self.tonnes["sale_draws"] = self.tonnes_drawn
        self.pay = np.zeros((3, n_p))  # a day's draws: value received, paid at the locked price, bought (scratch)
        self._pay_paid = self.pay[1:].reshape(-1)  # (a view) paid at the locked price or bought
        # the holders' parties and kinds [K], the commodities' release lags [C], as integers, in the rows of
        # sim.kernels.layout.HOLD (the compiled day books draws from them)
        self.hold = np.zeros((4, max(self.K, C)), dtype=np.intp)
        self.hold[0, : self.K], self.hold[1, : self.K] = self.party_of, self.is_member
        self.hold[2, : self.K], self.hold[3, :C] = self.is_ally, w.r_release_lag
        self._max_lag = int(w.r_release_lag.max(initial=0))
        self.late_count = np.zeros(n_p, dtype=np.intp)
        self.value_in = np.zeros((H, n_p))  # reference value of tonnes received less tonnes handed back
        self._cash = np.zeros(n_p)  # a swap return's cash due by party (scratch)
        self.cut_value = np.zeros((H, M))  # reference value of each manufacturer's safety-stock cut, USD (kernel)
        # the vehicle's stock flows [C], t
        self.flows = {"arrivals": packs.c1[C1.P_ARRIVALS], "returned": np.zeros(C), "drawn": packs.c1[C1.P_DRAWN]}
        self.loss = np.zeros((H, 2, M))  # the bloc's loss by manufacturer and arm (welfare.py)
        self.demand_value, self.consumed_value = packs.p_value  # reference value of desired, consumed tonnes [A, M]
        self.refresh()

    # ------------------------------------------------------------------ entitlements
    def entitlements(self) -> np.ndarray:
        """Entitlement of each holder today [C, K], t."""
        if self.stale:
            self.refresh()
        return self._ent

    def undrawn(self, ent: np.ndarray | None = None) -> np.ndarray:
        """Entitlement not drawn and not awaiting buy-back [C, K], t."""
        ent = self.entitlements() if ent is None else ent
        return np.maximum(0.0, ent - self.out_swap - self.pending)

    def refresh(self) -> None:
        """Work out what follows from the entitlements once after they change (the engine calls it before its day).

        The reserve's reviews set ``target`` (held commodities' targets, entitlements given as shares
        of them) and mark the entitlements ``stale``; all is updated in place, as the kernels read it.
        """
        self.stale = False
        refresh(self._ent, self.ent_fixed, self.ent_share, self.target, self.entitled, self._ent_entitled,
                self.crowd_cut, self.crowding, self.is_member, self._work)

    @property
    def own_saving(self) -> np.ndarray:
        """Members' own-stock cost saved by crowding out [H, parties], USD per day.

        The engine's kernel books each manufacturer's safety-stock cut (reference value) per day in
        ``cut_value``; members cut their safety stock by ``crowding_out_share`` of their entitlement.
        """
        return self.cut_value @ self._holder_party[: self.M] * self.own_cost

    # ------------------------------------------------------------------ the draw decision
    def morning(self, now: float, arrived: np.ndarray, price: np.ndarray, supply_lost: np.ndarray) -> None:
        """Buy back drawn tonnes from today's arrivals (pro rata); declare or end major disruptions (events).

        The engine's one-call market day runs the same compiled step itself and then calls :meth:`log_flips`.
        """
        if morning(arrived, price, supply_lost, self.pending, self.flows["arrivals"], self.major, self._flipped,
                   self.major_price_usd, self.major_loss, self.w.has_reserve, self.state):
            self.log_flips(now, price)

    def log_flips(self, now: float, price: np.ndarray) -> None:
        """Log the major disruptions declared or ended this morning."""
        for c in np.flatnonzero(self._flipped):
            what = "major_disruption_start" if self.major[c] else "major_disruption_end"
            self.log(now, what, self.w.commodity_ids[c], "stock open pro rata to entitlements", price[c])

    def draw(self, now: float, t: int, fired: np.ndarray, price: np.ndarray, room: np.ndarray,
             can: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Turn today's requests into draws and sales; returns the tonnes [C] for manufacturers and for allies.

        The requests [C, K] are in ``self.requests`` (written by
        :func:`sim.kernels.day_kernel.release_requests`).

        Args:
            now: time of the decision.
            t: day.
            fired: [C] the reserve's trigger holds.
            price: [C] market price, USD/t.
            room: [C] most the vehicle can release today (drawdown capacity, stock above the floor).
            can: [C] stock above the floor, t.

        """
        need = self.requests
        d = self.draws
        drew = draw_tonnes(need, self.transit, fired, self.entitlements(), self.out_swap, self.pending, self.entitled,
                           self.major, can, room, self.free_stock_sales, d)
        if not drew:  # nothing drawn (d is all zero): the usual case while the trigger holds
            self.drawn_today[:] = 0.0
            return self.no_draw, self.no_draw
        return self.book_decided(now, t, price)

    def book_decided(self, now: float, t: int, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Book the draws decided today (``self.draws`` [C, K], not all zero); the tonnes [C] for manufacturers, allies.

        Called by :meth:`draw`, or by the engine when its compiled day has made the decision.
        """
        d = self.draws
        self.drawn_today[:] = (d * self.entitled).sum(-1)
        d = d.copy()
        self._book_draws(now, t, d, price)
        return d[:, : self.M].sum(-1), d[:, self.M:].sum(-1)

    def _book_draws(self, now: float, t: int, d: np.ndarray, price: np.ndarray) -> None:
        w, pay = self.w, self.pay
        pay[:] = 0.0
        any_swap = book_draws(t, d, w.r_release_lag, self.ring, self.transit, self.flows["drawn"], self.tonnes["draws"],
                              self.tonnes["sale_draws"], self.party_of, self.is_member, self.is_ally, self.entitled,
                              self.swap, self.spec.draws.premium_share, self.out_swap, self.owed, self.pending,
                              self.locked_price, price, w.ref_price, pay[0], pay[1], pay[2], self.swap_cm[1],
                              self.swap_cm[2])
        self.value_in[t] += pay[0]
        self.state[:] = True  # draws await buy-back (members' sales, allies) or return (swaps), may be settled late
        self.after_draws(now, t, d, any_swap)

    def after_draws(self, now: float, t: int, d: np.ndarray, any_swap: bool) -> None:
        """What follows draws ``d`` [C, K] once booked (here or in the compiled day): money, events, returns."""
        w = self.w
        self.last_due = max(self.last_due, t + self._max_lag)
        if any_swap:
            self.owed_changed = True
            principal, owed = self.swap_cm[1:].copy()  # today's new swaps, kept for their return
            self._env.process(self._due(t + self.spec.draws.return_days, principal, owed))
        # none with swaps and members only: skip two sums and bookings of nothing (a plain list's any() is
        # several times cheaper than numpy's on a few values)
        if any(self._pay_paid.tolist()):
            self._receive(now, "draw_payments", "sales_usd", self.pay[1])
            self._receive(now, "purchases", "sales_usd", self.pay[2])
        cs, ks = np.nonzero(d)  # one event per draw, from plain lists (numpy scalars cost more than the log)
        for c, k, x in zip(cs.tolist(), ks.tolist(), d[cs, ks].tolist()):
            self.log(now, "draw", self._holder_names[k], f"{w.commodity_ids[c]} {self._draw_kinds[k]}", x)

    def _by_party(self, x: np.ndarray) -> np.ndarray:
        """Sum holder columns [C, K] (or members' [C, M]) into party columns [C, parties]."""
        return x @ self._holder_party[: x.shape[-1]]

    def _receive(self, now: float, line: str, ledger_line: str, by_party: np.ndarray) -> None:
        total = float(by_party.sum())
        if total > 0:
            self.cash[line][int(now)] += by_party
            self.finance.receive(now, ledger_line, total)

    # ------------------------------------------------------------------ deliveries
    def deliver(self, t: int) -> np.ndarray | None:
        """Draws due to manufacturers today [C, M] (None if none)."""
        if t > self.last_due:
            return None
        slot = t % self.w.ring
        got = self.ring[:, : self.M, slot]
        if not got.any():
            return None
        got = got.copy()
        self.ring[:, : self.M, slot] = 0.0
        self.transit[:, : self.M] -= got
        return got

    def allied_deliveries(self, t: int, row_want: np.ndarray) -> np.ndarray:
        """Allies' draws that serve rest-of-world demand today [C]; the rest waits a day."""
        R = self.w.ring
        slot = t % R
        due = self.ring[:, self.M:, slot]
        if not due.any():
            return np.zeros(len(row_want))
        tot = due.sum(-1)
        use = np.minimum(tot, row_want)
        frac = np.where(tot > 0, use / np.maximum(tot, _TINY), 0.0)
        used = due * frac[:, None]
        self.ring[:, self.M:, (t + 1) % R] += due - used
        self.ring[:, self.M:, slot] = 0.0
        self.transit[:, self.M:] -= used
        return use

    def allied_transit(self) -> np.ndarray:
        """Allies' draws on their way to rest-of-world buyers [C], t."""
        return self.transit[:, self.M:].sum(-1)

    # ------------------------------------------------------------------ swaps falling due
    def _due(self, day: int, principal: np.ndarray, owed: np.ndarray) -> Iterator:
        """On the due date a member returns what it holds above its own safety stock, pays the rest."""
        env, w = self._env, self.w
        if day >= w.horizon:
            return
        yield env.timeout(day - env.now)
        eng = self._stocks
        tn = self.tonnes
        args = (eng.mstock[0], self.base_safety, self.owed, owed, principal, self.out_swap, self.pending,
                self.party_of, w.ref_price, eng.price[0], tn["returns"], tn["premium"], tn["late"], tn["settled"],
                self.value_in[day], self._cash, self._ret, self._late, eng.rstock[0], self.flows["returned"],
                self._return_rows)
        if self._swap_return is None:  # the compiled entry for these types (the same every return)
            self._swap_return = bound(swap_return, *args)
        total, n = self._swap_return(*args)
        self.owed_changed = True
        self.state[0] = True
        if total > 0:  # as _receive
            self.cash["settlements"][day] += self._cash
            self.finance.receive(env.now, "sales_usd", total)
        for c, m, r, short, due in self._return_rows[:n].tolist():
            c, m = int(c), int(m)
            who = w.manufacturer_ids[m]
            if r > 1e-12:
                self.log(env.now, "return", who, w.commodity_ids[c], r)
            if short > LATE_SHARE * due:
                self.late_count[self.party_of[m]] += 1
                self.log(env.now, "late_return", who, f"{w.commodity_ids[c]} paid at market price", short)

    # ------------------------------------------------------------------ money
    def start(self, env: simpy.Environment, stocks: Stocks) -> None:
        """Register the fee process; ``stocks`` is the engine (returns move tonnes between its arrays)."""
        self._env, self._stocks = env, stocks
        env.process(self._fees(env))

    def _member_weights(self) -> np.ndarray:
        """Each member's share of the reference value of members' entitlements."""
        value = self._by_party(self.entitlements() * self.is_member * self.w.ref_price[:, None]).sum(0)
        value = value[: len(self.member_ids)]
        tot = value.sum()
        return value / tot if tot > 0 else np.full(len(value), 1.0 / max(len(value), 1))

    def _fees(self, env: simpy.Environment) -> Iterator:
        P, n_p = len(self.member_ids), len(self.party_ids)
        locked = self._by_party(self.entitlements() * self.is_member * self.locked_price[:, None]).sum(0)[:P]
        pay = np.zeros(n_p)
        pay[:P] = self.upfront + self.spec.fees.upfront_share_of_locked_value * locked
        self._receive(env.now, "upfront_fees", "member_fees_usd", pay)
        # yearly, and for the last part-year after the last day's market (so no year goes unbilled)
        H = self.w.horizon
        bills = [(y * 365.0, y * 365) for y in range(1, (H - 1) // 365 + 1)] + [(H - 0.25, H)]
        lo = 0
        for when, hi in bills:
            yield env.timeout(when - env.now)
            pool = sum(float(self.ledger.column(line)[lo:hi].sum())
                       for line in ("interest_usd", "fees_usd", "storage_cost_usd", "procurement_fees_usd"))
            pool -= float(self._ally_carry[lo:hi].sum())
            annual = np.zeros(n_p)
            annual[:P] = self.annual * (hi - lo) / 365.0
            self._receive(env.now, "annual_fees", "member_fees_usd", annual)
            carry = np.zeros(n_p)
            carry[:P] = self.carry_share * max(pool, 0.0) * self._member_weights()
            self._receive(env.now, "carrying_charges", "member_fees_usd", carry)
            lo = hi

    def _ally_shares(self) -> np.ndarray:
        """Each ally's share of the costs of each commodity [C, Y]: its stake over the target."""
        stake = self.entitlements()[:, self.M:]
        return np.where(self.target[:, None] > 0, np.minimum(1.0, stake / np.maximum(self.target[:, None], _TINY)),
                        0.0)

    def on_purchase(self, now: float, cost: float, bought: np.ndarray, price: np.ndarray) -> None:
        """Pay traders' fees on today's purchases (``cost`` USD: ``bought`` [C] t at ``price`` [C]).

        Allies pay their stakes' shares of both.
        """
        if self.proc_share > 0:
            self.finance.spend(now, "procurement_fees_usd", cost * self.proc_share, "reserve")
        if self.has_allies:
            t = int(now)
            cost_c = bought * price
            fee = cost_c * self.proc_share
            share = self._ally_shares()
            self._ally_carry[t] += float((fee @ share).sum())
            pay = np.zeros(len(self.party_ids))
            pay[len(self.member_ids) + 1:] = (cost_c + fee) @ share
            self._receive(now, "cost_shares", "ally_payments_usd", pay)

    def accrue_storage(self, rstock: np.ndarray) -> None:
        """Storage cost of each commodity accrued today (the engine bills the total)."""
        if self.has_allies:
            self._storage_c += rstock * self.w.r_hold_usd_per_t_day

    def on_storage_bill(self, now: float) -> None:
        """Allies pay their stakes' shares of the storage bill just paid."""
        if not self.has_allies:
            return
        pay = np.zeros(len(self.party_ids))
        pay[len(self.member_ids) + 1:] = self._storage_c @ self._ally_shares()
        self._ally_carry[int(now)] += float(pay.sum())
        self._storage_c[:] = 0.0
        self._receive(now, "cost_shares", "ally_payments_usd", pay)

    # ------------------------------------------------------------------ per-manufacturer welfare
    def book_allies(self, t: int, rec: dict[str, np.ndarray]) -> None:
        """Record the allies' stake of the day (the engine's kernel records the entitlement series)."""
        rec["allied_stake_t"][t, 0] = self.allied_claim(rec["reserve_stock_t"][t, 0])

    def allied_claim(self, stock: np.ndarray) -> np.ndarray:
        """Allies' claim on the stock [C], t: their undrawn stakes, pro rata when the stock is short."""
        undrawn = self.undrawn()
        tot = undrawn.sum(-1)
        return undrawn[:, self.M:].sum(-1) * np.minimum(1.0, stock / np.maximum(tot, _TINY))

    # ------------------------------------------------------------------ closing the accounts
    def residuals(self, rstock: np.ndarray, r_initial: np.ndarray, transit_rel: np.ndarray) -> dict[str, float]:
        """How far each party's material and the vehicle's cash lines are from closing (0 = closed).

        Material: the vehicle's stock is its opening stock plus purchases and returns less draws;
        draws on their way are the parties' in transit; each member's draws are returned, settled,
        paid for or still owed. Cash: what the parties paid is what the vehicle's ledger booked.
        """
        f = self.flows
        stock = float(np.abs(r_initial + f["arrivals"] + f["returned"] - f["drawn"] - rstock).max(initial=0.0))
        transit = float(np.abs(self.transit[:, : self.M].sum(-1) - transit_rel).max(initial=0.0))
        tn = self.tonnes
        members = tn["draws"] - tn["returns"] - tn["settled"] - tn["sale_draws"] - self._by_party(self.out_swap)
        col = self.ledger.column
        paid = {line: float(self.cash[line].sum()) for line in PARTY_LINES}
        fees = paid["upfront_fees"] + paid["annual_fees"] + paid["carrying_charges"]
        sales = paid["draw_payments"] + paid["settlements"] + paid["purchases"]
        return {
            "vehicle_stock_t": stock,
            "draws_in_transit_t": transit,
            "member_draws_t": float(np.abs(members[:, : len(self.member_ids)]).max(initial=0.0)),
            "member_fees_usd": abs(fees - float(col("member_fees_usd").sum())),
            "sales_usd": abs(sales - float(col("sales_usd").sum())),
            "ally_payments_usd": abs(paid["cost_shares"] - float(col("ally_payments_usd").sum())),
        }
