"""Named random streams, one per stochastic source, spawned from one SeedSequence.

A stream's seed depends only on (root seed, replication, stream name), so adding a
supplier or a shock never shifts the draws of the others, and the reserve arm, the
counterfactual arm and every policy in a sweep see the same shocks and demand.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

#: Most bytes of noise kept per process: the default scenario's draws are about 3 MB per replication.
NOISE_CACHE_BYTES = 64 * 2**20


class KeptCache:
    """Values of recent runs kept for the next runs while inside :func:`keep_noise`, least recently used first out.

    Keys must fix their values completely (everything the value is computed from); values must be read
    only, since later runs share them. At most ``max_bytes`` are kept (but always the newest value).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._values: OrderedDict[tuple, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # a Dask worker may run several simulations in threads

    def get(self, key: tuple) -> object | None:
        with self._lock:
            hit = self._values.get(key)
            if hit is None:
                return None
            self._values.move_to_end(key)
            return hit[0]

    def put(self, key: tuple, value: object, nbytes: int) -> None:
        with self._lock:
            if key in self._values:
                return
            self._values[key] = (value, nbytes)
            self._bytes += nbytes
            while self._bytes > self.max_bytes and len(self._values) > 1:
                self._bytes -= self._values.popitem(last=False)[1][1]

    def __contains__(self, key: tuple) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)


_NOISE = KeptCache(NOISE_CACHE_BYTES)
_keeping = 0  # how many callers (threads) keep noise now; see keep_noise
_keeping_lock = threading.Lock()


def keeping() -> bool:
    """Whether some caller is inside :func:`keep_noise` (so what runs compute from their draws may be kept)."""
    return _keeping > 0


@contextmanager
def keep_noise() -> Iterator[None]:
    """Keep pre-sampled noise, and what runs derive from it alone, for the next runs with the same draws.

    Only worth it where runs share their draws, as a sweep's design points do (common random
    numbers); ``run --replications`` draws every replication's own noise, which would only fill
    memory. Besides the noise (:meth:`Streams.lognormal_noise`), the world's daily arrays are kept
    (:func:`sim.model.daily.daily_arrays`).
    """
    global _keeping
    with _keeping_lock:
        _keeping += 1
    try:
        yield
    finally:
        with _keeping_lock:
            _keeping -= 1


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
        self._take(name)
        return self._generator(name)

    def _generator(self, name: str) -> np.random.Generator:
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.Generator(np.random.PCG64(ss))

    def _take(self, name: str) -> None:
        if name in self._made:
            raise RuntimeError(f"random stream {name!r} requested twice in one run")
        self._made.add(name)

    def lognormal_noise(self, name: str, cv: float, size: tuple[int, ...] | int) -> np.ndarray:
        """Stream ``name``'s multiplicative noise (:func:`lognormal_noise`), read only.

        A sweep's design points share their random draws (common random numbers), so each point of
        replication ``r`` would draw the same noise again. Inside :func:`keep_noise` the draws are
        kept per process, keyed by everything that fixes them (root seed, replication, stream, CV,
        size), and the next run with that key gets the same array, the same bits as drawing
        afresh, without the cost (about 15 ms of a run of the default scenario, 5%). At most
        ``NOISE_CACHE_BYTES`` are kept.
        """
        self._take(name)
        key = (self.seed, self.replication, name, float(cv), size)
        noise = _NOISE.get(key) if _keeping else None
        if noise is None:
            noise = lognormal_noise(self._generator(name), cv, size)
            noise.flags.writeable = False
            if _keeping:
                _NOISE.put(key, noise, noise.nbytes)
        return noise


def lognormal_noise(rng: np.random.Generator, cv: float, size: tuple[int, ...] | int) -> np.ndarray:
    """Multiplicative noise with mean 1 and coefficient of variation ``cv``."""
    if cv <= 0:
        return np.ones(size)
    sigma2 = np.log1p(cv * cv)
    return rng.lognormal(-0.5 * sigma2, np.sqrt(sigma2), size)
