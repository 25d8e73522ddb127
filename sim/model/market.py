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
