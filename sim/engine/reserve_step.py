"""Step 6 of the day: the reserve releases, or its parties draw; deliveries reach manufacturers.

The engine's part of "One day in the model" (DESIGN.md) between the market (steps 1-5) and
consumption (step 7): other public stocks serve their users first; the reserve releases when its
trigger holds (capped by its drawdown capacity and floor, delivered after a lag), or, with parties,
members draw on their entitlements and allies on their stakes (``sim/model/parties.py``). On the
one-call day the trigger, the parties' morning and their draw decision were compiled
(``sim/kernels/day_kernel.py``); what was decided is booked here.
"""

from __future__ import annotations

import numpy as np

from sim.kernels.day_kernel import triggers
from sim.kernels.layout import WC
from sim.kernels.release_kernel import deliver_releases, release_requests, release_room


class ReserveStep:
    """Step 6 of :class:`sim.engine.engine.Engine` (a mixin: it uses the engine's state)."""

    def _release(self, now: float, t: int, fired: np.ndarray, can: np.ndarray) -> np.ndarray:
        """Release to cover the eligible requests (:func:`release_requests`), at most ``can`` [A, C] above the floor."""
        w = self.world
        requests = self._requests
        for a in range(requests.shape[0]):
            release_requests(a, self.packs.acm, self.wc, self.packs.flags, self._no_row_gap, self._no_allies,
                             requests[a])
        releases = np.minimum(
            np.minimum(self.drawdown_capacity(), can),
            np.maximum(0.0, (requests * w.r_eligible).sum(-1) - self.transit_rel),
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

    def _draw(self, now: float, t: int, fired: np.ndarray) -> np.ndarray:
        """Parties: members' and allies' draws and sales to non-members (reserve arm)."""
        parties = self.parties
        # rest-of-world demand the world market left unmet today (allies' draws serve it)
        row_gap = self.row_want[0] - self.row_got[0] - self.row_own[0] if parties.has_allies else self._no_row_gap
        release_requests(0, self.packs.acm, self.wc, self.packs.flags, row_gap, parties.ally_row_share,
                         parties.requests)
        release_room(0, self.packs.ac, self.packs.c1, self.wc, self.can, self.room)
        return self._take_draws(*parties.draw(now, t, fired[0], self.price[0], self.room, self.can))

    def _take_draws(self, to_makers: np.ndarray, to_allies: np.ndarray) -> np.ndarray:
        """Take the parties' draws [C] out of the reserve arm's stock; tonnes released [A, C]."""
        if to_makers is self.parties.no_draw:
            return self._zeros
        releases = np.zeros_like(self._zeros)
        releases[0] = to_makers + to_allies
        self.rstock -= releases
        self.transit_rel[0] += to_makers  # allies' draws travel in the parties' books (not manufacturers' pipeline)
        return releases

    def _deliver_releases(self, slot: int, x: np.ndarray, want_m: np.ndarray, safety: np.ndarray) -> np.ndarray:
        """Releases due today go to manufacturers' stocks ``x`` (in place) by the allocation rule; tonnes [A, C]."""
        w = self.world
        if not deliver_releases(slot, self.ring_rel, self.transit_rel, x, want_m, safety, w.r_release_classes,
                                w.r_eligible_share, self._release_scratch, self._delivered):
            return self._zeros
        return self._delivered

    def _deliver_draws(self, t: int, x: np.ndarray) -> np.ndarray:
        """Parties: each holder's draws due today go to its stock ``x`` (in place); tonnes [A, C]."""
        given = self.parties.deliver(t)
        if given is None:
            return self._zeros
        x[0] += given
        delivered = np.zeros_like(self._zeros)
        delivered[0] = given.sum(-1)
        self.transit_rel[0] -= delivered[0]
        return delivered

    def _deliveries_due(self, t: int) -> bool:
        """Whether released tonnes reach manufacturers today (no parties; else step 6 may have nothing to do)."""
        return bool(self.ring_rel[:, :, t % self.world.ring].any())

    def _reserve_decides(self, now: float, t: int, any_fired: bool, drew: bool) -> None:
        """Step 6: other public stocks, the reserve's releases or the parties' draws, and deliveries due.

        On the one-call day (``_one_call``) the kernel has tested the trigger (``any_fired``), run the
        parties' morning and decided their draws (``drew``: anything drawn); otherwise all is done here.
        """
        w, parties = self.world, self.parties
        x, gap, want_m, safety = self.x, self.gap, self.want_m, self.safety
        other = self._zeros
        if self.public is not None:
            other = self.public.release(t, gap)
            x += self.public.deliver(t)
            np.maximum(0.0, want_m - x - self.public.transit_m, out=gap)
        releases = self._zeros
        if self._has_reserve:
            fired = self._fired
            if not self._one_call:  # the step-by-step day: the trigger, then the parties' morning
                any_fired = triggers(t, x, want_m, gap, self.price, *self._trigger_args)
                if parties is not None:  # arrivals buy back drawn tonnes; major disruptions declared or ended
                    parties.morning(now, self.arr_r[0], self.price[0], self.supply_lost[0])
                if any_fired:
                    self.triggered |= fired[0]
            if any_fired:
                if parties is None:
                    can = np.maximum(0.0, self.rstock - self.wc[WC.R_FLOOR_SHARE] * self.target)
                    releases = self._release(now, t, fired, can)
                elif self._one_call:  # the kernel decided the draws: book them
                    if drew:
                        releases = self._take_draws(*parties.book_decided(now, t, self.price[0]))
                else:  # the parties draw from the reserve arm's stock only
                    releases = self._draw(now, t, fired)
        if parties is None:
            delivered_rel = self._deliver_releases(t % w.ring, x, want_m, safety)
        elif self._one_call:  # consume_and_price delivers them (after today's draws, as here)
            delivered_rel = self._zeros
        else:
            delivered_rel = self._deliver_draws(t, x)
        self.releases[:] = releases
        self.other_rel[:] = other
        self.delivered_rel[:] = delivered_rel
        self._mid_dirty = True
