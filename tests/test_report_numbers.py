"""Numbers for people: three significant figures, money in M or bn, one "not available"."""

from __future__ import annotations

import math

import pytest

from sim.report.numbers import NOT_AVAILABLE, interval, money, scaled, share, sig, tonnes


@pytest.mark.parametrize(("value", "text"), [
    (5.995e9, "USD 6.00 bn"), (3.6e9, "USD 3.60 bn"), (54_050.0, "USD 0.0541 M"), (-597_213_265.9, "USD -597 M"),
    (999.6e6, "USD 1.00 bn"), (0.7e6, "USD 0.700 M"), (12.0, "USD <0.001 M"), (-12.0, "USD -<0.001 M"),
    (0.001, "USD 0"), (None, NOT_AVAILABLE), (math.nan, NOT_AVAILABLE), (math.inf, NOT_AVAILABLE),
])
def test_money(value, text):
    assert money(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (5.4051e-05, "0.0000541"), (5.4e-05, "0.000054"), (72.99, "73"), (0.9999, "1"), (19.27, "19.3"),
    (12345.6, "12,346"), (53.0, "53"),
    (-0.1251, "-0.125"), (9.996, "10"), (0, "0"), ("x", NOT_AVAILABLE), (None, NOT_AVAILABLE),
])
def test_sig_never_uses_scientific_notation(value, text):
    assert sig(value) == text
    assert "e" not in sig(value).replace(NOT_AVAILABLE, "")


def test_every_missing_value_reads_the_same():
    assert {money(None), sig(math.nan), scaled(None, 1e-9), tonnes(None), share(None)} == {NOT_AVAILABLE}


def test_no_interval_from_one_replication():
    assert interval(-863.8, -863.8, 1) == ""
    assert interval(1.0, 2.0, 2) == "1 .. 2"
    assert interval(None, 2.0, 5) == ""


def test_shares_and_tonnes():
    assert share(0.0599) == "6%" and share(0.0037) == "0.37%" and tonnes(59.23) == "59.2 t"
