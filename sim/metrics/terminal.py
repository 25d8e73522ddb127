"""Valuation helpers shared by the evaluation views: discounting, terminal value, days of cover.

Terminal value. The stock left at the horizon is worth what it would fetch if sold: the
market price less a liquidation discount that grows with the stock relative to a year of
world supply of the commodity,

    d = d_max * x / (x + x_half),   x = stock / (one year of world supply),

so a stock that is small against the market sells near the price (d -> 0) and one of
several years' supply at up to ``d_max`` below it. ``d_max`` and ``x_half`` are
``evaluation.liquidation_discount_max`` and ``evaluation.liquidation_half_supply_years``.
World supply is the capacity of the world's producers (the scenario's suppliers) at day 0.
"""

from __future__ import annotations

import numpy as np

from sim.model.world import World
from sim.scenario.schema import Evaluation


def discount(t_days: np.ndarray | float, rate: float, per_year: int | None = None) -> np.ndarray:
    """Discount factors at times ``t_days`` (days from day 0).

    Args:
        t_days: times in days.
        rate: annual rate.
        per_year: compounding periods per year of a nominal rate (2 for a Treasury
            bond-equivalent yield); None for an effective annual rate.

    """
    t = np.asarray(t_days, dtype=float) / 365.0
    if per_year is None:
        return (1.0 + rate) ** (-t)
    return (1.0 + rate / per_year) ** (-per_year * t)


def daily_discount(horizon: int, rate: float, per_year: int | None = None) -> np.ndarray:
    """Discount factors of days 0..horizon-1 (a day's flows count at its start, as loss NPVs do)."""
    return discount(np.arange(horizon), rate, per_year)


def annual_world_supply(w: World) -> np.ndarray:
    """One year of world supply per commodity, t/yr (capacity active at day 0)."""
    C = len(w.commodity_ids)
    return 365.0 * np.bincount(w.sup_c, weights=w.sup_cap_tpd * w.sup_active0[0], minlength=C)


def liquidation_discount(stock_t: np.ndarray, supply_tpy: np.ndarray, ev: Evaluation) -> np.ndarray:
    """Share below the market price at which ``stock_t`` would sell (see module docstring)."""
    stock = np.asarray(stock_t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(supply_tpy > 0, stock / np.where(supply_tpy > 0, supply_tpy, 1.0), np.inf)
    x = np.where(stock > 0, x, 0.0)
    frac = np.where(np.isinf(x), 1.0, x / (np.where(np.isinf(x), 0.0, x) + ev.liquidation_half_supply_years))
    return ev.liquidation_discount_max * frac


def terminal_value(rec: dict[str, np.ndarray], w: World, ev: Evaluation) -> dict[str, np.ndarray]:
    """Value at the horizon of the reserve's stock, per commodity.

    Returns:
        ``stock_t``, ``price_usd_per_t`` (market, last day), ``market_value_usd``,
        ``discount`` (share) and ``value_usd`` (market value less the liquidation discount).

    """
    stock = rec["reserve_stock_t"][-1, 0, :]
    price = rec["price_usd_per_t"][-1, 0, :]
    d = liquidation_discount(stock, annual_world_supply(w), ev)
    market = stock * price
    return {"stock_t": stock, "price_usd_per_t": price, "market_value_usd": market, "discount": d,
            "value_usd": market * (1.0 - d)}


def inventory_difference(rec: dict[str, np.ndarray]) -> np.ndarray:
    """Market value at the horizon of the bloc's other stocks with the reserve less without it, USD [C].

    Manufacturers' stock and material in transit (the reserve's paid purchases still on
    their way included) differ between the arms; the difference is the reserve's too.
    """
    if "manufacturer_stock_t" not in rec or "in_transit_t" not in rec:
        return np.zeros(rec["reserve_stock_t"].shape[-1])
    held = rec["manufacturer_stock_t"][-1] + rec["in_transit_t"][-1]
    return (held[0] - held[1]) * rec["price_usd_per_t"][-1, 0, :]


def days_of_cover(rec: dict[str, np.ndarray]) -> np.ndarray:
    """Reserve stock in days of the day's bloc demand, [H, arm, C] (NaN on a day without demand)."""
    stock = rec["reserve_stock_t"]
    demand = rec["demand_t"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(demand > 0, stock / np.where(demand > 0, demand, 1.0), np.nan)
