"""Competitive storage with regime-switching supply: the price as a function of availability.

The standard model of a storable commodity (Williams & Wright 1991, *Storage and Commodity
Markets*, ch. 2-4; Deaton & Laroque 1992, *Review of Economic Studies* 59): each day the
availability ``z`` (stock carried in plus the day's supply) is split between use ``q`` and stock
carried out ``s``. Holders carry stock while the expected price rise covers the cost of carrying
it, so in equilibrium

    p = P(z - s),   p + k >= beta * E[p'],   s >= 0,   with equality where s > 0,

where ``P`` is the inverse demand curve, ``k`` the carrying cost per tonne and day, ``beta`` the
daily discount factor and ``p'`` tomorrow's price at availability ``z' = (1 - decay) s + y'``.
Supply ``y`` follows a Markov chain of regimes (e.g. normal and cut, as in Teisberg's 1981
model of the SPR), so the equilibrium is a price function ``f_r(z)`` per regime, decreasing in
``z``. A cut raises the price at once (less supply, and holders' stock falls only as they draw
it); holders draw when the price jumps and rebuild when it falls, and the price comes back at
the pace stocks are rebuilt. At a stock-out (``s = 0``) the price is the demand curve's.

The price functions are solved once per commodity by iterating on the carry-out grid (the
endogenous-grid form: for each stock carried out, the arbitrage condition gives today's price,
demand gives use, and their sum the availability); :meth:`StorageMarket.price` then reads the
day's price off the function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from sim.kernels.storage_kernel import solve_carry


@dataclass(frozen=True)
class StorageMarket:
    """One commodity's market: a constant-elasticity demand curve, carrying cost, supply regimes.

    Args:
        p0: reference price, USD/t.
        demand_tpd: use at the reference price, t/day.
        elasticity: demand elasticity (magnitude, > 0).
        cap_ratio: choke price over the reference price (the curve is flat above it).
        carry_usd_per_t_day: cost of carrying a tonne for a day (storage, insurance), USD.
        discount_per_day: daily discount factor of holders (e.g. ``exp(-r / 365)``).
        supply_tpd: [R] supply in each regime, t/day.
        transition: [R, R] daily probabilities of moving from regime i (row) to j.
        decay_per_day: share of stock lost per day (0 for metals).
        grid_points: points of the carry-out grid.
        max_stock_days: largest stock on the grid, in days of reference use.
    """

    p0: float
    demand_tpd: float
    elasticity: float
    cap_ratio: float
    carry_usd_per_t_day: float
    discount_per_day: float
    supply_tpd: np.ndarray
    transition: np.ndarray
    decay_per_day: float = 0.0
    grid_points: int = 400
    max_stock_days: float = 720.0
    _z: np.ndarray = field(init=False, repr=False)
    _p: np.ndarray = field(init=False, repr=False)  # the stock carried out on the grid _z
    _start: np.ndarray = field(init=False, repr=False)
    iterations: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        supply = np.asarray(self.supply_tpd, dtype=float)
        trans = np.asarray(self.transition, dtype=float)
        if trans.shape != (supply.size, supply.size) or not np.allclose(trans.sum(1), 1.0):
            raise ValueError("transition must be a square matrix of probabilities whose rows add to 1")
        object.__setattr__(self, "supply_tpd", supply)
        object.__setattr__(self, "transition", trans)
        z, p, start, n = self._solve()
        object.__setattr__(self, "_z", z)
        object.__setattr__(self, "_p", p)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "iterations", n)

    # ------------------------------------------------------------------ the demand curve
    @property
    def choke_use_tpd(self) -> float:
        """Use at the choke price, t/day (below it the price stays at the choke)."""
        return self.demand_tpd * self.cap_ratio ** (-self.elasticity)

    def inverse_demand(self, q: np.ndarray | float) -> np.ndarray:
        """Price at which use is ``q`` t/day, capped at the choke price, USD/t."""
        q = np.maximum(np.asarray(q, dtype=float), self.choke_use_tpd)  # below the choke use: the choke price
        return np.minimum(self.p0 * (q / self.demand_tpd) ** (-1.0 / self.elasticity), self.cap_ratio * self.p0)

    def demand(self, p: np.ndarray | float) -> np.ndarray:
        """Use at price ``p``, t/day (the choke use at or above the choke price)."""
        p = np.minimum(np.maximum(np.asarray(p, dtype=float), 1e-300), self.cap_ratio * self.p0)
        return self.demand_tpd * (p / self.p0) ** (-self.elasticity)

    # ------------------------------------------------------------------ the equilibrium
    def _solve(self, tol: float = 1e-10, max_iter: int = 200_000) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The storage part of each regime's price function.

        Returns:
            [R, G] availability and [R, G] stock carried out where holders carry stock (the first
            point is where they start to: below it the price is the demand curve's), [R] that
            start, and the iterations taken. Use is availability less the stock carried out, so
            the price is the demand curve's at that use, exactly.

        Iterates the arbitrage condition from "no storage" (the demand curve) until the price
        functions change by less than ``tol`` of the reference price.
        """
        beta, k, keep = self.discount_per_day, self.carry_usd_per_t_day, 1.0 - self.decay_per_day
        y, G = self.supply_tpd, self.grid_points
        R = y.size
        s = self.max_stock_days * self.demand_tpd * np.linspace(0.0, 1.0, G) ** 2  # stock carried out, dense near 0
        # start from no storage: the whole function is the demand curve (storage starting beyond any availability)
        z = np.tile(np.linspace(1.0, 2.0, G) * (s[-1] + 2.0 * y.max()), (R, 1))
        n = solve_carry(s, y, self.transition, beta, k, keep, self.p0, self.demand_tpd, self.elasticity,
                        self.cap_ratio, z, np.empty((R, G)), np.empty((R, G)), tol, max_iter)
        if n < 0:
            raise RuntimeError(f"storage equilibrium did not converge in {max_iter} iterations")
        return z, np.tile(s, (R, 1)), z[:, 0].copy(), n

    def _function(self, zs: np.ndarray, ss: np.ndarray, a: np.ndarray) -> np.ndarray:
        """A regime's price function at availabilities ``a``, from its carry-out function (``zs`` -> ``ss``)."""
        return self.inverse_demand(a - self._carry(zs, ss, a))

    @staticmethod
    def _carry(zs: np.ndarray, ss: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Stock carried out at availabilities ``a``: none below storage's start, interpolated on the grid."""
        # beyond the grid holders carry everything above the last grid point's use
        inside = np.interp(a, zs, ss)
        return np.where(a <= zs[0], 0.0, np.where(a <= zs[-1], inside, a - (zs[-1] - ss[-1])))

    def price(self, regime: int, availability: np.ndarray | float) -> np.ndarray:
        """The equilibrium price in ``regime`` at ``availability`` t (stock carried in + today's supply), USD/t."""
        return self._function(self._z[regime], self._p[regime], np.asarray(availability, dtype=float))

    def carry_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """The carry-out functions as grids: [R, G] availability and [R, G] stock carried out there, t."""
        return self._z.copy(), self._p.copy()

    def carry_out(self, regime: int, availability: np.ndarray | float) -> np.ndarray:
        """The stock holders carry out of a day in ``regime`` at ``availability``, t."""
        return self._carry(self._z[regime], self._p[regime], np.asarray(availability, dtype=float))

    def path(self, regimes: np.ndarray, stock0: float) -> dict[str, np.ndarray]:
        """Price, use and stock day by day along a given sequence of regimes, from ``stock0`` t carried in.

        Returns:
            ``price`` (USD/t), ``use`` and ``stock`` (carried out, t), one value per day.
        """
        regimes = np.asarray(regimes, dtype=int)
        price, use, stock = (np.empty(regimes.size) for _ in range(3))
        carried = stock0
        for t, r in enumerate(regimes):
            z = carried + self.supply_tpd[r]
            price[t] = self.price(r, z)
            stock[t] = min(self.carry_out(r, z), z)
            use[t] = z - stock[t]
            carried = (1.0 - self.decay_per_day) * stock[t]
        return {"price": price, "use": use, "stock": stock}

    def steady_stock(self, regime: int = 0) -> float:
        """The stock holders settle at while ``regime`` lasts: what they carry out of it plus a day's supply, t.

        The carry-out function rises by less than one tonne per tonne of availability, so the fixed point is unique.
        """
        keep, y = 1.0 - self.decay_per_day, self.supply_tpd[regime]
        top = float(self._p[regime][-1])  # the most stock the grid carries
        gap = lambda s: float(self.carry_out(regime, keep * s + y)) - s  # noqa: E731
        if gap(0.0) <= 0.0:
            return 0.0
        if gap(top) >= 0.0:  # holders would carry more than the grid holds (max_stock_days): its top
            return top
        return float(brentq(gap, 0.0, top, xtol=1e-12 * max(top, 1.0)))
