"""Quantiles over replications in constant memory: the P-square algorithm, vectorised over cells.

A fan chart needs, for every day and series, a few quantiles across replications. Keeping every
replication's series costs memory in proportion to their number; :class:`StreamingQuantiles`
keeps a bounded number of values per cell instead, whatever the number of replications.

The method is P-square (Jain and Chlamtac 1985, "The P² algorithm for dynamic calculation of
quantiles and histograms without storing observations", CACM 28(10)) in its extended form for
several quantiles at once (Raatikainen 1987, CACM 30(3)): for ``m`` quantiles, ``2m + 3`` markers
at probabilities 0, p1/2, p1, (p1+p2)/2, ..., pm, (1+pm)/2, 1. Every replication adds one value
to every cell, so all cells advance in lock step and each step is a few numpy operations over
all cells; only the markers that must move are touched.

Three choices differ from the textbook:

- The first :data:`EXACT` (32) observations are kept as they are and the quantiles are exact
  (numpy's default linear interpolation, in float32). Most runs have fewer replications than
  that; P-square is weakest at a few dozen observations.
- When the markers start, they sit at the exact quantiles of those observations, at their
  (fractional) ideal positions, instead of at order statistics.
- Minimum and maximum are the outer markers, so they stay exact.

Accuracy beyond 32 observations, measured against ``numpy.quantile`` of the same observations:

- Smooth distributions (normal, lognormal, exponential, uniform; 2,000 cells): the rank error
  |F_n(estimate) - p| averages 0.013 at 100 observations and 0.003 at 1,000, below the sampling
  error of the quantile itself (sqrt(p (1 - p) / n) = 0.022 to 0.05 at 100);
  ``tests/test_streaming.py`` checks this on seeded cases.
- The model's own series (184 series x 365 days of the default scenario, 40-100 replications)
  are often bimodal (a replication has a shock or not), so a small error in rank can be a large
  one in value: the error averages 0.4-0.6% of a panel's height, 2-4% of (series, day,
  quantile) cells are off by more than 5% of it and the worst by up to 60% (a 95% line that
  sits on one side of the gap between shocked and unshocked replications instead of the
  other). That is the size of the sampling error there: against the quantiles of all 100
  replications, the exact quantiles of 40-60 of them are off by 0.5-0.8% on average (99th
  percentile 12-22% of the panel height), P-square by 0.7-1.0% (13-25%). Exact bands for any
  number of replications: ``run --keep-series`` writes every series.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

#: Quantiles of the fan charts of a run (5-95% band and median).
BAND_QUANTILES = (0.05, 0.5, 0.95)
#: Observations kept as they are before the markers start: quantiles are exact up to this many.
EXACT = 32


def marker_probabilities(probs: Sequence[float]) -> np.ndarray:
    """Marker probabilities of extended P-square: 0, p1/2, p1, (p1+p2)/2, ..., pm, (1+pm)/2, 1."""
    f = [0.0]
    prev = 0.0
    for p in probs:
        f += [(prev + p) / 2.0, p]
        prev = p
    f += [(prev + 1.0) / 2.0, 1.0]
    return np.array(f)


class StreamingQuantiles:
    """Quantiles, mean, minimum and maximum over observations of an array, in bounded memory.

    Args:
        shape: shape of one observation (e.g. ``(series, days)``).
        probs: the quantiles to estimate, strictly between 0 and 1.
        exact: observations kept as they are (quantiles exact) before the markers start; at
            least the number of markers, ``2 len(probs) + 3``.

    Values are held in float32 (about 7 significant digits: plenty for a band, half the
    memory); the mean is summed in float64. Memory per cell is ``4 x exact`` bytes while
    the first observations are kept, then ``(2m + 3) x 8`` bytes for ``m`` quantiles (marker
    heights and positions), plus 8 for the sum, whatever the number of observations.
    """

    def __init__(self, shape: tuple[int, ...], probs: Sequence[float] = BAND_QUANTILES, exact: int = EXACT) -> None:
        probs = tuple(float(p) for p in probs)
        if not probs or list(probs) != sorted(set(probs)) or not 0.0 < probs[0] <= probs[-1] < 1.0:
            raise ValueError(f"quantiles must be increasing and strictly between 0 and 1, got {probs}")
        self.shape = tuple(int(s) for s in shape)
        self.probs = probs
        self._f = marker_probabilities(probs)
        self.exact = max(int(exact), self._f.size)
        self._size = int(np.prod(self.shape))
        # the first observations as they are (pages are touched only as rows are written)
        self._buf: np.ndarray | None = np.empty((self.exact, self._size), dtype=np.float32)
        self._q: np.ndarray | None = None
        self._n: np.ndarray | None = None
        self._sum = np.zeros(self._size)
        self.count = 0

    @property
    def markers(self) -> int:
        """Markers per cell once the first observations are summarised."""
        return int(self._f.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the estimator's arrays (the kept observations counted in full)."""
        return sum(a.nbytes for a in (self._buf, self._q, self._n, self._sum) if a is not None)

    def add(self, values: np.ndarray) -> None:
        """Add one observation of every cell (an array of ``shape``; finite values)."""
        x = np.asarray(values, dtype=float)
        if x.shape != self.shape:
            raise ValueError(f"observation of shape {x.shape}, expected {self.shape}")
        x = x.reshape(-1)
        self._sum += x
        if self._buf is not None:
            self._buf[self.count] = x
            self.count += 1
            if self.count == self.exact:
                self._start_markers()
            return
        self._update(x.astype(np.float32))

    def _start_markers(self, chunk: int = 65536) -> None:
        """Markers at the exact quantiles of the kept observations, at their ideal positions."""
        assert self._buf is not None
        q = np.empty((self.markers, self._size), dtype=np.float32)
        for lo in range(0, self._size, chunk):  # in slices: no full-size temporaries
            q[:, lo : lo + chunk] = np.quantile(self._buf[:, lo : lo + chunk], self._f, axis=0)
        ideal = (self.count - 1) * self._f
        self._n = np.repeat(ideal.astype(np.float32)[:, None], self._size, axis=1)
        self._q, self._buf = q, None

    def _update(self, x: np.ndarray) -> None:
        q, n = self._q, self._n
        assert q is not None and n is not None
        self.count += 1
        _p_square_step(q, n, x, (self.count - 1) * self._f, float(self.count - 1))

    def quantiles(self) -> np.ndarray:
        """Estimates of ``probs``, shape ``(len(probs), *shape)``; NaN before any observation."""
        k = len(self.probs)
        if self.count == 0:
            return np.full((k, *self.shape), np.nan)
        if self._buf is not None:
            return np.quantile(self._buf[: self.count], self.probs, axis=0).astype(float).reshape(k, *self.shape)
        assert self._q is not None
        # marker 2j + 2 tracks quantile j (when the markers start it holds the exact quantile)
        return self._q[2 : 2 * k + 1 : 2].astype(float).reshape(k, *self.shape)

    def mean(self) -> np.ndarray:
        """Mean of each cell over the observations (summed in float64)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self._sum / self.count).reshape(self.shape)

    def minimum(self) -> np.ndarray:
        """Smallest observation of each cell."""
        return self._extreme(np.min, 0)

    def maximum(self) -> np.ndarray:
        """Largest observation of each cell."""
        return self._extreme(np.max, -1)

    def _extreme(self, fn, row: int) -> np.ndarray:
        if self.count == 0:
            return np.full(self.shape, np.nan)
        if self._buf is not None:
            return fn(self._buf[: self.count], axis=0).astype(float).reshape(self.shape)
        assert self._q is not None
        return self._q[row].astype(float).reshape(self.shape)


@njit(cache=True)
def _p_square_step(q, n, x, ideal, last):  # noqa: PLR0912
    """One observation ``x`` [cells] into every cell's markers: heights ``q`` and positions ``n`` [markers, cells].

    Compiled (one loop over cells) because a day-by-series grid has a million cells: the same
    steps as the textbook, cell by cell. The outer markers are the minimum and the maximum; a
    marker's position counts the observations below it; an inner marker that lags its ideal
    position ``ideal`` by 1 or more moves one position toward it where its neighbours leave room,
    its height following the piecewise-parabolic prediction, or the linear one where the
    parabola leaves the neighbours' bracket.
    """
    K, size = q.shape
    for j in range(size):
        xj = x[j]
        if xj < q[0, j]:
            q[0, j] = xj
        if xj > q[K - 1, j]:
            q[K - 1, j] = xj
        for i in range(1, K):
            if xj < q[i, j]:
                n[i, j] += 1
        n[K - 1, j] = last
        for i in range(1, K - 1):
            lag = ideal[i] - n[i, j]
            if abs(lag) < 1.0:
                continue
            ni, lo, hi = float(n[i, j]), float(n[i - 1, j]), float(n[i + 1, j])
            up = lag >= 1.0 and hi - ni > 1.0
            down = lag <= -1.0 and lo - ni < -1.0
            if not (up or down):
                continue
            s = 1.0 if up else -1.0
            qi, qlo, qhi = q[i, j], q[i - 1, j], q[i + 1, j]
            par = qi + s / (hi - lo) * ((ni - lo + s) * (qhi - qi) / (hi - ni) + (hi - ni - s) * (qi - qlo) / (ni - lo))
            if qlo < par < qhi:
                q[i, j] = par
            elif up:
                q[i, j] = qi + (qhi - qi) / (hi - ni)
            else:
                q[i, j] = qi - (qlo - qi) / (lo - ni)
            n[i, j] = ni + s
