"""Welfare on the demand curve in numpy (the statement of :mod:`sim.model.welfare`), for tests."""

from __future__ import annotations

import numpy as np

from sim.model.welfare import DeadweightCurve

_TINY = 1e-300


def _antiderivative(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    """G(x) with G'(x) = x^(-1/e): x^(1-1/e) / (1 - 1/e), or ln x when e = 1."""
    one = np.isclose(e, 1.0)
    a = 1.0 - 1.0 / np.where(one, 2.0, e)  # placeholder exponent where e == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        power = np.power(np.maximum(x, _TINY), a) / a
        logs = np.log(np.maximum(x, _TINY))
    return np.where(one, logs, power)


def deadweight_share(x1: np.ndarray, e: np.ndarray, cap_ratio: np.ndarray) -> np.ndarray:
    """Deadweight loss per (p0 x Q) when consumption falls to x1 = q1 / Q of the reference.

    Args:
        x1: consumption as a share of reference responsive demand (values >= 1 give 0).
        e: demand elasticity (magnitude), broadcastable to ``x1``.
        cap_ratio: choke price over reference (m >= 1), broadcastable to ``x1``.

    Returns:
        The integral from x1 to 1 of (min(m, x^(-1/e)) - 1) dx, >= 0.

    """
    x1 = np.clip(x1, 0.0, 1.0)
    xc = np.power(cap_ratio, -e)  # below xc the inverse demand sits at the choke price
    lo = np.maximum(x1, xc)
    curve = _antiderivative(np.ones_like(lo), e) - _antiderivative(lo, e)
    capped = cap_ratio * np.maximum(xc - x1, 0.0)
    return np.maximum(curve + capped - (1.0 - x1), 0.0)


def curve_loss_usd(curve: DeadweightCurve, consumed: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """USD lost per buyer [..., C, M] on responsive consumption below the reference, on ``curve``."""
    k_q = curve.critical * reference
    responsive = reference - k_q
    x1 = np.minimum(np.maximum(consumed - k_q, 0.0) / np.maximum(responsive, _TINY), 1.0)
    lo = np.maximum(x1, curve.xc)
    g_lo = np.power(lo, curve.a) / curve.a
    if curve.any_log:
        g_lo = np.where(curve.log_form, np.log(lo), g_lo)
    share = curve.g1 - g_lo + curve.cap * np.maximum(curve.xc - x1, 0.0) - (1.0 - x1)
    return np.maximum(share, 0.0) * responsive * curve.p0


def deadweight_loss_usd(
    consumed: np.ndarray, reference: np.ndarray, critical: np.ndarray, e: np.ndarray, p0: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """Component (a) per buyer: USD lost on responsive consumption below the reference.

    Args:
        consumed: tonnes consumed [..., C, M].
        reference: tonnes demanded at the reference price [..., C, M].
        critical: critical share [C, M] (served first, so responsive use is what exceeds it).
        e: [C] demand elasticity (magnitude).
        p0: [C] reference price, USD/t.
        cap: [C] choke price over reference.

    """
    return curve_loss_usd(DeadweightCurve(e, p0, cap, critical), consumed, reference)


def critical_loss_usd(
    consumed: np.ndarray, reference: np.ndarray, critical: np.ndarray, voll: np.ndarray
) -> np.ndarray:
    """Component (c) per buyer: critical tonnes not consumed x value of lost output (USD/t, [C, M])."""
    return np.maximum(critical * reference - consumed, 0.0) * voll
