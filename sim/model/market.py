"""Market-clearing arithmetic, vectorised over arms, commodities and manufacturers.

Arrays are shaped ``[arm, commodity]`` or ``[arm, commodity, manufacturer]``.
"""

from __future__ import annotations

import numpy as np

_TINY = 1e-12


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
        k = classes.shape[0]
        # demand of all higher classes, by a strictly upper-triangular matmul (cheaper than cumsum here)
        before = total_k @ np.triu(np.ones((k, k)), 1) if k > 1 else np.zeros_like(total_k)
        left = np.maximum(supply[..., None] - before, 0.0)
        frac = np.minimum(1.0, left / np.maximum(total_k, _TINY))
        return need * (frac @ classes)
    remaining = supply.copy()
    given = np.zeros_like(need)
    for mask in classes:
        n = need * mask
        total = n.sum(axis=-1)
        frac = np.minimum(1.0, remaining / np.maximum(total, _TINY))
        g = n * frac[..., None]
        given += g
        remaining = np.maximum(remaining - g.sum(axis=-1), 0.0)
    return given


def target_price_ratio(tightness: np.ndarray, elasticity: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Target price / reference price for a tightness (orders / available supply).

    ``min(cap, max(1, tightness) ** (1 / elasticity))``: with an inelastic demand the
    price must rise by ``x**(1/e)`` to ration orders down to supply; with spare supply
    the price returns to reference.
    """
    return np.minimum(cap, np.maximum(tightness, 1.0) ** (1.0 / elasticity))


def split_over_suppliers(avail_s: np.ndarray, used_frac: np.ndarray, sup_c: np.ndarray) -> np.ndarray:
    """Quantity each supplier ships when a share ``used_frac`` [A, C] of supply is taken."""
    return avail_s * used_frac[:, sup_c]
