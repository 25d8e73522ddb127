"""Market-clearing arithmetic, vectorised over arms, commodities and manufacturers.

Arrays are shaped ``[arm, commodity]`` or ``[arm, commodity, manufacturer]``.
"""

from __future__ import annotations

import numpy as np

_TINY = 1e-12
_PREFIX: dict[int, np.ndarray] = {}


def _prefix(k: int) -> np.ndarray:
    """[K, K] matrix whose column j sums classes 0..j-1."""
    m = _PREFIX.get(k)
    if m is None:
        m = _PREFIX[k] = np.triu(np.ones((k, k)), 1)
    return m


def allocate(supply: np.ndarray, need: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Share ``supply`` over ``need`` by class, then pro rata within a class.

    Args:
        supply: [A, C] quantity to share.
        need: [A, C, M] quantity each manufacturer asks for.
        classes: 0/1 masks, highest priority first: [K, M] (same classes for every
            commodity) or [K, C, M]; manufacturers in no class get nothing.

    Returns:
        [A, C, M] quantities given; never more than need, never more than supply in total.

    """
    if classes.ndim == 2:
        total_k = need @ classes.T  # [A, C, K]
        # demand of all higher classes, by a strictly upper-triangular matmul (cheaper than cumsum here)
        before = total_k @ _prefix(classes.shape[0])
        left = np.maximum(supply[..., None] - before, 0.0)
        frac = np.minimum(1.0, left / np.maximum(total_k, _TINY))
        return need * (frac @ classes)
    per_class = need[:, None] * classes[None]  # [A, K, C, M]
    total_k = per_class.sum(axis=-1)  # [A, K, C]
    before = np.cumsum(total_k, axis=1) - total_k
    left = np.maximum(supply[:, None, :] - before, 0.0)
    frac = np.minimum(1.0, left / np.maximum(total_k, _TINY))
    return (per_class * frac[..., None]).sum(axis=1)


def clearing_price_ratio(
    amounts: np.ndarray,
    elasticities: np.ndarray,
    residual: np.ndarray,
    guess: np.ndarray,
    floor: np.ndarray,
    cap: np.ndarray,
    iterations: int = 3,
) -> np.ndarray:
    """Price ratio x = p/p0 at which price-responsive demand equals the supply left for it.

    Solves sum_k E_k x^(-e_k) = residual by Newton's method on log x (the function is
    convex and decreasing in log x, and exactly linear for a single buyer class, so a few
    iterations from yesterday's answer suffice). Where nothing is left for responsive demand
    the answer is the choke price.

    Args:
        amounts: [K, A, C] responsive demand of each buyer class at the reference price.
        elasticities: [K, 1, C] their elasticities (magnitudes).
        residual: [A, C] supply + releases - price-insensitive demand (critical use, stock
            building, reserve purchases).
        guess: [A, C] starting ratio (yesterday's clearing ratio).
        floor: [C] lowest ratio.
        cap: [C] highest ratio (the choke price).
        iterations: Newton steps.

    """
    lo, hi = np.log(floor), np.log(cap)
    log_r = np.log(np.maximum(residual, _TINY))
    if amounts.shape[0] == 1 or (elasticities == elasticities[0]).all():
        # one elasticity: sum_k E_k x^-e = R has the closed form x = (sum_k E_k / R)^(1/e)
        y = (np.log(np.maximum(amounts.sum(0), _TINY)) - log_r) / elasticities[0]
        return np.where(residual > 0, np.exp(np.minimum(np.maximum(y, lo), hi)), cap)
    y = np.minimum(np.maximum(np.log(np.maximum(guess, _TINY)), lo), hi)
    for _ in range(iterations):
        terms = amounts * np.exp(-elasticities * y)
        total = terms.sum(0)
        g = np.log(np.maximum(total, _TINY)) - log_r
        y = np.minimum(np.maximum(y + g * total / np.maximum((elasticities * terms).sum(0), _TINY), lo), hi)
    return np.where(residual > 0, np.exp(y), cap)
