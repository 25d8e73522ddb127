"""Welfare on the demand curve: the bloc's loss against the undisturbed reference.

Efficient rationing is assumed, so a buyer's loss depends only on what it consumes: the
uses that value the material least are given up first. A buyer with reference demand q0
at price p0 has a critical share k (never responds to price, valued at the value of lost
output) and a price-responsive part Q = (1 - k) q0 on the constant-elasticity curve
q = Q (p/p0)^-e, i.e. inverse demand P(q) = p0 (q/Q)^(-1/e), capped at the choke price
m p0. The three components (DESIGN.md, "The market"):

(a) deadweight loss on responsive consumption q1 < Q: the integral from q1 to Q of
    (P(q) - p0) dq, in closed form below;
(b) the extra import bill (p - p0) x imported tonnes, booked by the engine at purchase;
(c) critical demand not served x value of lost output per tonne.

Reference: the consumer-surplus measure of a supply disruption in e.g. Boardman et al.,
*Cost-Benefit Analysis: Concepts and Practice* (5th ed., 2018), ch. 3.
"""

from __future__ import annotations

import numpy as np

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


class DeadweightCurve:
    """Component (a) per buyer for fixed commodity curves, with the exponents worked out once.

    Args:
        e: [C] demand elasticity (magnitude).
        p0: [C] reference price, USD/t.
        cap: [C] choke price over reference.
        critical: [C, M] critical share of each buyer.

    """

    def __init__(self, e: np.ndarray, p0: np.ndarray, cap: np.ndarray, critical: np.ndarray):
        self.log_form = np.isclose(e, 1.0)[:, None]
        self.any_log = bool(self.log_form.any())
        a = 1.0 - 1.0 / np.where(self.log_form[:, 0], 2.0, e)
        self.a = a[:, None]
        self.g1 = np.where(self.log_form[:, 0], 0.0, 1.0 / a)[:, None]  # G(1)
        self.xc = np.power(cap, -e)[:, None]
        self.cap = cap[:, None]
        self.p0 = p0[:, None]
        self.critical = critical

    def loss_usd(self, consumed: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """USD lost per buyer [..., C, M] on responsive consumption below the reference."""
        k_q = self.critical * reference
        responsive = reference - k_q
        x1 = np.minimum(np.maximum(consumed - k_q, 0.0) / np.maximum(responsive, _TINY), 1.0)
        lo = np.maximum(x1, self.xc)
        g_lo = np.power(lo, self.a) / self.a
        if self.any_log:
            g_lo = np.where(self.log_form, np.log(lo), g_lo)
        share = self.g1 - g_lo + self.cap * np.maximum(self.xc - x1, 0.0) - (1.0 - x1)
        return np.maximum(share, 0.0) * responsive * self.p0


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
    return DeadweightCurve(e, p0, cap, critical).loss_usd(consumed, reference)


def critical_loss_usd(
    consumed: np.ndarray, reference: np.ndarray, critical: np.ndarray, voll: np.ndarray
) -> np.ndarray:
    """Component (c) per buyer: critical tonnes not consumed x value of lost output (USD/t, [C, M])."""
    return np.maximum(critical * reference - consumed, 0.0) * voll
