"""Warnings for silent traps: each kind raised by a small scenario that has the trap, not by one without it."""

from __future__ import annotations

import pytest

from sim import simulate
from sim.report.traps import TrapTracker
from tests.builders import NOISY, merge, scenario

#: Spare capacity to buy from and the money to pay for it.
FUNDED = {"suppliers": {"s1": {"capacity_tpy": 500.0}}, "financing": {"equity_usd": 1e9}}
NOISY_FUNDED = merge(NOISY, {"financing": {"equity_usd": 1e9}})


def warnings_of(sc, **kw) -> dict[str, dict]:
    tracker = TrapTracker(sc, **kw)
    tracker.add(simulate(sc, seed=3))
    return {w["kind"]: w for w in tracker.warnings()}


def reserve(target_t: float, **buy) -> dict:
    return {"ga": {"target_t": target_t, "buy": {"max_rate_tpy": 1000.0, **buy}}}


def test_target_late_names_the_buy_cap():
    w = warnings_of(scenario(**FUNDED, reserve=reserve(100.0, max_rate_tpy=10.0)), target_by_years=0.5)
    assert set(w) == {"target_late"}
    msg = w["target_late"]["message"]
    assert "ga not reached by the horizon" in msg and "buy.max_rate_tpy = 10 t/yr" in msg
    assert w["target_late"]["commodities"] == {"ga": 1}


def test_target_late_names_the_price_ceiling():
    # the price stays at reference, above a ceiling of half of it
    w = warnings_of(scenario(**FUNDED, reserve=reserve(10.0, price_ceiling_ratio=0.5)), target_by_years=0.5)
    msg = w["target_late"]["message"]
    assert "buy.price_ceiling_ratio = 0.5x reference) on 100% of days" in msg and "max_rate_tpy" not in msg


def test_target_late_names_the_money():
    fin = {"financing": {"facilities": {"f": {"lender": "L", "commitment_usd": 5000.0, "interest_rate": 0.05,
                                              "tenor_years": 0.5, "repayment": "bullet"}}}}
    sc = scenario(suppliers={"s1": {"capacity_tpy": 500.0}}, **fin, reserve=reserve(20.0))
    w = warnings_of(sc, target_by_years=0.5)
    assert {"target_late", "loan_limit", "defaults"} <= set(w)
    assert "ran out of money" in w["target_late"]["message"]
    assert "USD 0.00500 M" in w["loan_limit"]["message"] and "payment date(s)" in w["defaults"]["message"]


def test_a_reserve_that_fills_in_time_raises_nothing():
    assert warnings_of(scenario(**FUNDED, reserve=reserve(10.0)), target_by_years=0.5) == {}


def test_reserve_buying_a_large_share_of_world_supply():
    w = warnings_of(scenario(**FUNDED, reserve=reserve(60.0)), target_by_years=0.5)
    assert set(w) == {"world_share"} and "ga: 12% in 2030" in w["world_share"]["message"]
    assert "world_share" not in warnings_of(scenario(**FUNDED, reserve=reserve(60.0)), world_share=0.2)


def test_stock_held_but_never_released_while_short():
    sc = scenario(**merge(NOISY_FUNDED, {"reserve": {"ga": {"release": {"offset_share": 0.0}}}}))
    w = warnings_of(sc)
    assert {"release_never_fired", "stock_unused"} <= set(w)
    assert "bloc would be short on" in w["release_never_fired"]["message"]
    assert "with 60 t held" in w["stock_unused"]["message"]


def test_a_reserve_that_releases_when_short_raises_neither():
    w = warnings_of(scenario(**NOISY_FUNDED))
    assert "release_never_fired" not in w and "stock_unused" not in w


@pytest.mark.parametrize("n", [1, 3])
def test_warnings_count_replications(n):
    sc = scenario(**merge(NOISY_FUNDED, {"reserve": {"ga": {"release": {"offset_share": 0.0}}}}))
    tracker = TrapTracker(sc)
    for rep in range(n):
        tracker.add(simulate(sc, seed=3, replication=rep))
    w = {x["kind"]: x for x in tracker.warnings()}["release_never_fired"]
    assert w["commodities"]["ga"] <= n and w["replications"] == w["commodities"]["ga"]
    assert ("replications" in w["message"]) == (n > 1)


def test_a_cause_seen_in_several_replications_is_said_once():
    sc = scenario(**FUNDED, reserve=reserve(10.0, price_ceiling_ratio=0.5))
    tracker = TrapTracker(sc, target_by_years=0.5)
    for rep in range(3):
        tracker.add(simulate(sc, seed=3, replication=rep))
    msg = {w["kind"]: w for w in tracker.warnings()}["target_late"]["message"]
    assert msg.count("buy.price_ceiling_ratio") == 1 and "in 3 of 3 replications" in msg
