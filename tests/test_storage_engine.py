"""The engine's market with competitive storage (price_model: storage): cuts, draws and the way back.

One commodity, two suppliers of equal size (A restricted, B not), the bloc a quarter of world use.
Holders expect cuts of half the supply at 0.3 a year lasting 180 days (the schema's defaults).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate
from tests.builders import scenario

START, DAYS = 200, 180


def _scenario(severity: float, model: str = "storage", row_days: float = 0.0):
    return scenario(
        run={"horizon_years": 3},
        commodities={"ga": {"price_model": model, "price_adjust_per_day": 0.05, "demand_elasticity": 0.3,
                            "rest_of_world": {"demand_tpy": 3 * 365.0, "safety_stock_days": row_days}}},
        suppliers={"s1": {"capacity_tpy": 2 * 365.0},
                   "s2": {"commodity": "ga", "country": "B", "capacity_tpy": 2 * 365.0}},
        manufacturers={"m1": {"critical_share": 0.2, "safety_stock_days": 30}},
        shocks={"ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "start": START,
                        "duration_days": DAYS, "severity": severity}},
    )


def _run(severity: float, model: str = "storage"):
    ts = simulate(_scenario(severity, model), seed=1).timeseries
    cf = ts[ts.arm == "counterfactual"]
    return cf.price_usd_per_t.to_numpy() / 1000.0, cf.market_stock_t.to_numpy()


@pytest.fixture(scope="module")
def paths():
    return {sev: _run(sev) for sev in (0.3, 0.6, 1.0)}


def test_in_normal_times_the_price_is_the_reference_with_holders_at_their_normal_stock(paths):
    price, stock = paths[1.0]
    assert price[:START] == pytest.approx(1.0, abs=1e-6)
    assert np.ptp(stock[:START]) < 1e-6 * stock[0]


def test_a_cut_raises_the_price_at_once_and_more_for_a_bigger_cut(paths):
    first = [paths[s][0][START] for s in (0.3, 0.6, 1.0)]
    month = [paths[s][0][START + 30] for s in (0.3, 0.6, 1.0)]
    assert min(first) > 1.3  # at once, on the first day
    assert first[0] <= first[1] <= first[2]
    assert month[0] < month[1] < month[2]  # a bigger cut drains stocks faster


def test_holders_draw_in_a_cut_and_rebuild_after_it(paths):
    price, stock = paths[1.0]
    during, after = slice(START, START + DAYS), slice(START + DAYS, None)
    assert np.all(np.diff(stock[during]) < 0)
    assert np.all(np.diff(stock[after]) >= 0) and stock[-1] > stock[START + DAYS]
    assert np.all(np.diff(price[during]) > 0)  # the price rises as stocks run down


def test_the_price_comes_back_as_stocks_are_rebuilt(paths):
    price, stock = paths[1.0]
    end = START + DAYS
    assert price[end] < 0.6 * price[end - 1]  # supply returns: the price falls at once
    after = slice(end, None)
    assert np.all(np.diff(price[after]) <= 1e-12)  # then falls while the stock is rebuilt
    assert price[-1] > 1.0 and stock[-1] < stock[START - 1]  # not all the way while stock is still short


@pytest.mark.parametrize("model", ["adjust", "storage"])
def test_a_rest_of_world_with_its_own_stock_bears_less_of_the_shortfall(model):
    """The rest of the world's users, given a safety stock, draw on it in a cut as bloc manufacturers do."""
    shares, row_short = [], []
    for days in (0.0, 60.0):
        r = simulate(_scenario(1.0, model, row_days=days), seed=1)
        share = r.summary["counterfactual.ga.row_shortfall_share"]
        shares.append(0.0 if np.isnan(share) else share)
        ts = r.timeseries
        cf = ts[ts.arm == "counterfactual"]
        row_short.append((cf.row_demand_t - cf.row_consumption_t).sum())
    assert shares[1] < shares[0] or (shares[0] == 0.0 and shares[1] == 0.0)
    assert row_short[1] < row_short[0]  # the rest of the world is short by less
