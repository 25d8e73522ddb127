"""The competitive-storage market against theory: steady state, no arbitrage, a closed-form cycle, cuts.

Reference: Williams & Wright (1991), *Storage and Commodity Markets*, ch. 2-4; Deaton & Laroque
(1992). Holders carry stock while the discounted expected price covers today's price plus the
carrying cost; at a stock-out the price is the demand curve's.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from sim.model.storage_market import StorageMarket

P0, Q = 1000.0, 100.0
BETA = float(np.exp(-0.05 / 365))
CARRY = 0.15 * P0 / 365  # 15% of the reference price a year


def market(cut: float = 0.5, rate_per_year: float = 0.3, duration_days: float = 180.0, **kw) -> StorageMarket:
    """Normal supply Q; a cut of ``cut`` x Q arrives at ``rate_per_year`` and lasts ``duration_days`` on average."""
    args = dict(p0=P0, demand_tpd=Q, elasticity=0.3, cap_ratio=10.0, carry_usd_per_t_day=CARRY,
                discount_per_day=BETA, supply_tpd=np.array([Q, (1.0 - cut) * Q]),
                transition=np.array([[1 - rate_per_year / 365, rate_per_year / 365],
                                     [1 / duration_days, 1 - 1 / duration_days]]))
    args.update(kw)
    return StorageMarket(**args)


@pytest.fixture(scope="module")
def base() -> StorageMarket:
    return market()


def test_constant_supply_carries_no_stock_and_clears_at_the_reference_price():
    m = StorageMarket(p0=P0, demand_tpd=Q, elasticity=0.3, cap_ratio=10.0, carry_usd_per_t_day=CARRY,
                      discount_per_day=BETA, supply_tpd=np.array([Q]), transition=np.array([[1.0]]))
    assert m.carry_out(0, Q) == pytest.approx(0.0, abs=1e-9)
    assert m.price(0, Q) == pytest.approx(P0, rel=1e-9)
    short = np.linspace(0.2 * Q, Q, 50)
    assert np.allclose(m.price(0, short), m.inverse_demand(short), rtol=1e-12)  # nothing to carry: the curve
    glut = np.linspace(1.5 * Q, 3 * Q, 20)  # more than a day's use carried in: holders spread it over days
    assert np.all(m.carry_out(0, glut) > 0) and np.all(m.price(0, glut) > m.inverse_demand(glut))


def test_dear_carrying_leaves_the_demand_curve(base):
    m = market(carry_usd_per_t_day=20 * P0)  # a day's carry costs more than the choke price
    z = np.linspace(0.2 * Q, 3 * Q, 50)
    for r in (0, 1):
        assert np.allclose(m.price(r, z), m.inverse_demand(z), rtol=1e-9)
        assert np.allclose(m.carry_out(r, z), 0.0, atol=1e-9)


def test_the_steady_state_of_normal_supply_is_the_reference_price_with_a_precautionary_stock(base):
    stock = base.steady_stock(0)
    assert 10 * Q < stock < base.max_stock_days * Q  # a cut is possible: holders keep some
    assert base.price(0, stock + Q) == pytest.approx(P0, rel=1e-6)  # use is the reference demand


@pytest.mark.parametrize("regime", [0, 1])
def test_no_arbitrage_is_left(base, regime):
    """Where holders carry stock, the expected discounted price covers price + carry exactly; else not more."""
    keep = 1.0 - base.decay_per_day
    for z in np.linspace(0.3 * Q, 150 * Q, 400):
        p, s = float(base.price(regime, z)), float(base.carry_out(regime, z))
        expected = sum(base.transition[regime, j] * float(base.price(j, keep * s + base.supply_tpd[j]))
                       for j in range(2))
        if s > 1e-6 * Q:
            assert p + CARRY == pytest.approx(BETA * expected, rel=2e-3)
        else:
            assert p + CARRY >= BETA * expected * (1 - 2e-3)


def test_an_alternating_supply_matches_the_two_period_closed_form():
    """Supply alternates high/low every day: holders store s in a high day with P(yA - s) + k = beta P(yB + s).

    The low day's use sits just below where its holders would start to carry (a kink of its price
    function, a carry cost away), so the grid is finer here than by default.
    """
    y_hi, y_lo = 1.3 * Q, 0.7 * Q
    m = StorageMarket(p0=P0, demand_tpd=Q, elasticity=0.5, cap_ratio=10.0, carry_usd_per_t_day=CARRY,
                      discount_per_day=BETA, supply_tpd=np.array([y_hi, y_lo]),
                      transition=np.array([[0.0, 1.0], [1.0, 0.0]]), max_stock_days=5.0, grid_points=1600)
    s_star = brentq(lambda s: float(m.inverse_demand(y_hi - s)) + CARRY - BETA * float(m.inverse_demand(y_lo + s)),
                    0.0, y_hi - y_lo)
    assert m.carry_out(0, y_hi) == pytest.approx(s_star, rel=1e-3)
    assert m.price(0, y_hi) == pytest.approx(float(m.inverse_demand(y_hi - s_star)), rel=1e-3)
    assert m.carry_out(1, y_lo + s_star) == pytest.approx(0.0, abs=1e-6 * Q)  # nothing carried into a high day


def test_a_cut_raises_the_price_at_once_and_more_for_a_bigger_cut():
    """From the same stock carried in, the first day of a bigger cut has a higher price."""
    stock = 30 * Q
    prices = [float(market(cut=cut).price(1, stock + (1 - cut) * Q)) for cut in (0.3, 0.6, 1.0)]
    assert prices[0] > 1.01 * P0
    assert prices[0] < prices[1] < prices[2]


def test_at_the_precautionary_stock_the_first_day_of_a_cut_is_priced_by_arbitrage(base):
    """p0 + k = beta ((1 - h) p0 + h p_cut) at the steady stock, h the daily hazard of a cut (closed form)."""
    h = base.transition[0, 1]
    stock = base.steady_stock(0)
    closed_form = ((P0 + CARRY) / BETA - (1 - h) * P0) / h
    assert float(base.price(1, stock + base.supply_tpd[1])) == pytest.approx(closed_form, rel=1e-3)


def test_holders_draw_in_a_cut_and_rebuild_after_it_and_the_price_follows_the_stock(base):
    stock = base.steady_stock(0)
    days = np.r_[np.zeros(30), np.ones(180), np.zeros(900)].astype(int)
    path = base.path(days, stock)
    cut, after = slice(30, 210), slice(210, None)
    assert np.all(np.diff(path["stock"][cut]) < 0)  # drawn while the price is up
    assert np.all(np.diff(path["stock"][after]) > 0)  # rebuilt once supply returns
    assert path["price"][209] > path["price"][210] > P0  # supply returns: the price falls at once, not to the reference
    assert np.all(np.diff(path["price"][after]) < 0)  # and comes back as the stock is rebuilt
    premium = path["price"][after] / P0 - 1.0
    deficit = 1.0 - path["stock"][after] / stock
    assert np.all(np.diff(premium[deficit > 0]) * np.diff(deficit[deficit > 0]) > 0)  # premium moves with the deficit
