"""Shared builders of small scenarios for tests."""

from __future__ import annotations

import copy
from typing import Any

from sim.scenario.loader import validate_data


def base_dict() -> dict[str, Any]:
    """One commodity, one supplier, one manufacturer, no reserve, no shocks, one year.

    The price is held at reference (``price_adjust_per_day: 0``) so that quantities follow
    inventory arithmetic; tests of the market set their own price dynamics.
    """
    return {
        "meta": {"name": "test", "sources": {"T": "test fixture"}},
        "run": {"start_date": "2030-01-01", "horizon_years": 1, "seed": 7},
        "commodities": {
            "ga": {"reference_price_usd_per_t": 1000.0, "value_of_lost_output_usd_per_t": 10000.0,
                   "price_adjust_per_day": 0.0, "market_stock_days": 0.0}
        },
        "suppliers": {
            "s1": {"commodity": "ga", "country": "A", "capacity_tpy": 365.0, "lead_time_days": 10}
        },
        "manufacturers": {
            "m1": {"demand_tpy": {"ga": 365.0}, "safety_stock_days": 0.0}
        },
    }


def merge(base: dict, over: dict) -> dict:
    """Deep-merge ``over`` into a copy of ``base``."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def scenario(**over: Any):
    """A validated scenario: ``base_dict()`` deep-merged with ``over``."""
    return validate_data(merge(base_dict(), over))


#: A reserve and a stochastic export ban over a year: loss avoided varies across replications.
NOISY = {
    "suppliers": {"s1": {"capacity_tpy": 500.0}, "s2": {"commodity": "ga", "country": "B", "capacity_tpy": 200.0}},
    "manufacturers": {"m1": {"demand_cv": 0.1, "critical_share": 1.0}},
    "reserve": {"ga": {"initial_stock_t": 60.0, "target_t": 60.0}},
    "shocks": {"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "rate_per_year": 2.0,
                       "duration_days": {"dist": "exponential", "mean": 40},
                       "severity": {"dist": "uniform", "low": 0.5, "high": 1.0}}},
}
