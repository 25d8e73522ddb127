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


class DeadweightCurve:
    """The parameters of component (a) for fixed commodity curves, worked out once for the kernels.

    The loss itself is computed each day by :func:`sim.kernels.price_kernel.consume_and_price`.

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
