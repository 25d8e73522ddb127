"""The engine's day (DESIGN.md, "One day in the model"), in the plan chosen once per run.

The market arithmetic is compiled (:mod:`sim.kernels`); money, parties, other public stocks and
the reserve's release decision are here, between the kernels, in the day's order. Two plans:

- the one-call day (:meth:`DayPlans._one_call_day`): steps 1-5 and the start of step 6 in one
  compiled call (``market_day``), with the day's purchase payment; with parties and no project
  companies, on a quiet day, steps 6-9 too;
- the split day (:meth:`DayPlans._split_day`): the steps one by one, with allies' draws (which
  serve rest-of-world buyers between the market's steps) or other public stocks; also the
  readable form that ``tests/test_compiled_day.py`` holds the one-call day to, bit for bit.
"""

from __future__ import annotations

import numpy as np

from sim.kernels.layout import FLAG

_TINY = 1e-12
#: Storage is billed monthly, like warehouse rent.
STORAGE_BILLING_DAYS = 30


class DayPlans:
    """The day's plans (a mixin of :class:`sim.engine.engine.Engine`: it uses the engine's state)."""

    def _morning(self) -> None:
        """Before the market: room and drawdown follow reviews; members' stock targets follow their entitlements."""
        if self._reviewed:
            self._set_drawdown()
        parties = self.parties
        if parties is not None:
            if parties.stale:  # entitlements follow the targets set at reviews
                parties.refresh()
            if parties.owed_changed:  # while calm, members' stock targets include the swaps they owe
                np.multiply(parties.owed, self._calm_col, out=self._owed_calm)
                parties.owed_changed = False

    def _one_call_day(self, t: int) -> None:
        """One day whose market (steps 1-5) is one compiled call; what the call leaves is done here."""
        now = t + 0.5
        parties = self.parties
        self._morning()
        if self._kernel_delivers:  # members' draws due today are delivered by the kernel
            self.packs.flags[FLAG.DELIVERIES] = t <= parties.last_due
        to_book, any_fired, flipped, drew, consumed, storage, any_swap = self._market_day(t, *self._md_args)
        if to_book:
            self.finance.after_compiled_payment(now)
        if flipped:  # the kernel's morning declared or ended a major disruption
            parties.log_flips(now, self.price[0])
        if self._has_projects:
            self._project_sales(t)
        if consumed:  # the kernel ran steps 6-9 too and booked today's draws: their money and events are Python's
            if drew:
                parties.after_draws(now, t, parties.draws, any_swap)
            self._mid_dirty = drew
        else:
            # 6. the reserve releases (or its parties draw) when its trigger holds; deliveries reach manufacturers
            if drew or (parties is None and (any_fired or self._deliveries_due(t))):
                self._reserve_decides(now, t, any_fired, drew)
            elif self._mid_dirty:  # yesterday's releases and deliveries are not today's
                self._mid[:] = 0.0
                self._mid_dirty = False
            # 7-9. consumption and the bloc's loss; storage accrues; the price moves (kernel)
            if self._kernel_delivers:  # today's draws may be due today
                self.packs.flags[FLAG.DELIVERIES] = t <= parties.last_due
            storage = self._consume_and_price(t, *self._cp_args)
        self._evening(now, t, storage)

    def _split_day(self, t: int) -> None:
        """One day step by step, with the finance, the parties and other public stocks in Python between the kernels."""
        now = t + 0.5
        parties = self.parties
        self._morning()
        # 1-2. supply, demand at today's price, orders (kernel)
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
        if self._has_projects:
            self._project_sales(t)
        # 6. other public stocks serve their users first (both arms); then the reserve decides: it releases
        # when its trigger holds, capped and delivered after a lag (with parties: members draw, allies too)
        self._reserve_decides(now, t, False, False)
        # 7-9. consumption and the bloc's loss; storage accrues; the price moves (kernel); with parties,
        # the day's entitlement series
        storage = self._consume_and_price(t, *self._cp_args)
        self._evening(now, t, storage)

    def _project_sales(self, t: int) -> None:
        """Project companies sell the share of their output produced today, at today's price."""
        sold = np.clip(self.produced / np.maximum(self.output, _TINY), 0.0, 1.0)[0, self.projects.commodity]
        proj_out = self.out_s[0, self.projects.rows] * sold
        self.projects.output_t[t] = proj_out
        self.projects.revenue_usd[t] = proj_out * self.price[0, self.projects.commodity]

    def _evening(self, now: float, t: int, storage: float) -> None:
        """After the market: storage accrues daily and is invoiced every STORAGE_BILLING_DAYS and on the last day."""
        parties = self.parties
        self.storage_due += storage
        if self._allies:
            parties.accrue_storage(self.rstock[0])
        if ((t + 1) % STORAGE_BILLING_DAYS == 0 or t == self.world.horizon - 1) and self.storage_due > 0:
            self.finance.spend(now, "storage_cost_usd", self.storage_due, "reserve")
            self.storage_due = 0.0
            if parties is not None:  # allies pay their stakes' shares of the bill
                parties.on_storage_bill(now)
        if self._allies:
            parties.book_allies(t, self.rec)
