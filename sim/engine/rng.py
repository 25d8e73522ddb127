"""Named random streams, one per stochastic source, spawned from one SeedSequence.

A stream's seed depends only on (root seed, replication, stream name), so adding a
supplier or a shock never shifts the draws of the others, and the reserve arm, the
counterfactual arm and every policy in a sweep see the same shocks and demand.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


class Streams:
    """Factory of independent named generators for one replication."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = int(seed)
        self.replication = int(replication)
        self._made: set[str] = set()

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; each name may be taken once per run."""
        if name in self._made:
            raise RuntimeError(f"random stream {name!r} requested twice in one run")
        self._made.add(name)
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.Generator(np.random.PCG64(ss))


def lognormal_noise(rng: np.random.Generator, cv: float, size: tuple[int, ...] | int) -> np.ndarray:
    """Multiplicative noise with mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(size)
    sigma2 = np.log1p(cv * cv)
    return rng.lognormal(-0.5 * sigma2, np.sqrt(sigma2), size)
