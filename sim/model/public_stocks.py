"""Other public stocks (e.g. the National Defense Stockpile), present in both arms.

Such a stock exists with or without the reserve, so it is the same in both arms and the
reserve's effect is measured on top of it. It releases to the manufacturers it serves when
they cannot meet today's use (a shortfall trigger), up to its drawdown capacity (day-0 stock
over ``drawdown_days``, per day), delivered ``delivery_lag_days`` later, and is not refilled.
It is a government stock whose cost is the same in both arms, so it books no money.
"""

from __future__ import annotations

import numpy as np

from sim.model.world import World
from sim.scenario.schema import PublicStock

_TINY = 1e-12


class PublicStocks:
    """Stocks, release decisions and deliveries of every other public stock, per arm."""

    def __init__(self, spec: dict[str, PublicStock], w: World, arms: int = 2):
        C, M = len(w.commodity_ids), len(w.manufacturer_ids)
        cidx = {c: i for i, c in enumerate(w.commodity_ids)}
        midx = {m: i for i, m in enumerate(w.manufacturer_ids)}
        self.ids = list(spec)
        n = len(self.ids)
        self.stock = np.zeros((arms, n, C))
        self.serves = np.zeros((n, M), dtype=bool)
        self.rate = np.zeros((n, C))  # drawdown capacity, t/day
        self.lag = np.zeros(n, dtype=np.intp)
        for i, st in enumerate(spec.values()):
            for c, x in st.stocks_t.items():
                self.stock[:, i, cidx[c]] = x
            self.serves[i, [midx[m] for m in st.serves]] = True
            self.rate[i] = self.stock[0, i] / st.drawdown_days
            self.lag[i] = st.delivery_lag_days
        self.ring_len = int(self.lag.max(initial=0)) + 1
        self.ring = np.zeros((arms, n, C, M, self.ring_len))
        self.transit_m = np.zeros((arms, C, M))  # released, not yet delivered, by manufacturer
        self.released = np.zeros((arms, C))  # today's releases (supply in the price)

    @property
    def total_stock(self) -> np.ndarray:
        """Stock of all public stocks [A, C], t."""
        return self.stock.sum(1)

    @property
    def total_transit(self) -> np.ndarray:
        """Released tonnes on their way [A, C]."""
        return self.transit_m.sum(-1)

    def deliver(self, t: int) -> np.ndarray:
        """Tonnes delivered to manufacturers today [A, C, M]."""
        slot = t % self.ring_len
        got = self.ring[..., slot].sum(1)
        self.ring[..., slot] = 0.0
        self.transit_m -= got
        return got

    def release(self, t: int, gap: np.ndarray) -> np.ndarray:
        """Release to served manufacturers' gaps [A, C, M] net of what is on its way; returns [A, C]."""
        self.released = np.zeros(self.stock.shape[::2])
        ask_all = np.maximum(0.0, gap - self.transit_m)
        for i in range(len(self.ids)):
            ask = ask_all * self.serves[i]
            tot = ask.sum(-1)
            if not (tot > 0).any():
                continue
            out = np.minimum(tot, np.minimum(self.rate[i], self.stock[:, i]))
            give = ask * (out / np.maximum(tot, _TINY))[..., None]
            self.stock[:, i] -= out
            self.ring[:, i, :, :, (t + self.lag[i]) % self.ring_len] += give
            self.transit_m += give
            ask_all = ask_all - give
            self.released += out
        return self.released
