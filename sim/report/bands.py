"""Bands of a run's series over replications: mean, 5/50/95% quantiles, min and max per day.

This is what a results folder keeps of every replication's series by default
(``series_quantiles.parquet``) and what its plots and comparison fan charts draw. A
:class:`BandsBuilder` takes one :class:`~sim.simulation.simulate.RunResult` at a time and reduces it
into :class:`~sim.metrics.streaming.StreamingQuantiles`, so memory does not grow with the number
of replications; quantiles are exact up to 32 replications and P-square estimates beyond.

Some series are derived per replication before they are reduced, because the plots draw a band
of the derived quantity (a band of 30-day means is not the 30-day mean of a band):
``shortfall_30d_t`` (trailing 30-day mean of the daily shortfall), ``entitlement_outstanding_pct``
and ``entitlement_drawn_30d_pct`` (drawn over the past 30 days), as % of the entitlements held.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.metrics.streaming import BAND_QUANTILES, StreamingQuantiles
from sim.model.world import ARMS
from sim.simulation.simulate import SeriesRecord

#: Days in the trailing windows of the derived series.
WINDOW_DAYS = 30
#: Row label of the programme's (not per-commodity) series.
PROGRAMME = "programme"
#: Series per commodity: (name, arm). The arm is "reserve" or "counterfactual".
COMMODITY_SERIES = (
    ("reserve_stock_t", "reserve"),
    ("reserve_target_t", "reserve"),
    ("reserve_releases_t", "reserve"),
    ("capacity_t", "reserve"),
    ("demand_t", "reserve"),
    ("shortfall_t", "reserve"),
    ("shortfall_t", "counterfactual"),
    ("shortfall_30d_t", "reserve"),
    ("shortfall_30d_t", "counterfactual"),
    ("price_usd_per_t", "reserve"),
    ("price_usd_per_t", "counterfactual"),
)
#: Kept when the run has parties (the time series has entitlement columns).
ENTITLEMENT_SERIES = (
    ("entitlement_t", "reserve"),
    ("entitlement_outstanding_pct", "reserve"),
    ("entitlement_drawn_30d_pct", "reserve"),
)
#: The programme's series, from the finance table.
PROGRAMME_SERIES = (("debt_usd", "reserve"), ("cash_usd", "reserve"))
#: Statistic columns of ``series_quantiles.parquet`` besides the quantiles.
STATS = ("mean", "min", "max")


def quantile_column(p: float) -> str:
    """Column of quantile ``p``: ``p5``, ``p50``, ``p95``."""
    return f"p{round(p * 100):d}"


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` days of each row (fewer at the start)."""
    c = np.cumsum(np.nan_to_num(values, nan=0.0), axis=1)
    out = c.copy()
    out[:, window:] = c[:, window:] - c[:, :-window]
    counts = np.minimum(np.arange(1, values.shape[1] + 1), window)
    return out / counts


def trailing_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last ``window`` days of each row."""
    return np.apply_along_axis(lambda v: np.convolve(v, np.ones(window))[: v.size], 1, values)


@dataclass
class Band:
    """One series over days: how many replications, mean, quantiles, min and max."""

    dates: np.ndarray
    count: int
    mean: np.ndarray
    quantiles: dict[float, np.ndarray]
    min: np.ndarray
    max: np.ndarray

    def scaled(self, k: float) -> Band:
        """The band of ``k`` times the series (``k`` > 0)."""
        return Band(self.dates, self.count, self.mean * k, {p: v * k for p, v in self.quantiles.items()},
                    self.min * k, self.max * k)


class Bands:
    """Bands of a run's series, by (series, commodity, arm); ``commodity`` is ``programme`` for money."""

    def __init__(self, rows: list[tuple[str, str, str]], dates: np.ndarray, count: int,
                 stats: dict[str, np.ndarray]) -> None:
        self.rows = rows
        self.dates = dates
        self.count = count
        self.stats = stats
        self._index = {r: i for i, r in enumerate(rows)}
        self.commodities = list(dict.fromkeys(c for _, c, _ in rows if c != PROGRAMME))

    def has(self, series: str, commodity: str = PROGRAMME, arm: str = "reserve") -> bool:
        """Whether the series is kept."""
        return (series, commodity, arm) in self._index

    def band(self, series: str, commodity: str = PROGRAMME, arm: str = "reserve") -> Band:
        """The band of one series (``KeyError`` if it is not kept)."""
        i = self._index[(series, commodity, arm)]
        qs = {p: self.stats[quantile_column(p)][i] for p in BAND_QUANTILES}
        return Band(self.dates, self.count, self.stats["mean"][i], qs, self.stats["min"][i], self.stats["max"][i])

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per series, commodity, arm and day."""
        n_rows, n_days = len(self.rows), len(self.dates)
        series, commodity, arm = (pd.Categorical(np.repeat([r[k] for r in self.rows], n_days)) for k in range(3))
        cols: dict[str, object] = {
            "series": series, "commodity": commodity, "arm": arm,
            "day": np.tile(np.arange(n_days), n_rows), "date": np.tile(self.dates, n_rows),
            "replications": np.full(n_rows * n_days, self.count),
        }
        for name in (*STATS, *(quantile_column(p) for p in BAND_QUANTILES)):
            cols[name] = self.stats[name].reshape(-1)
        return pd.DataFrame(cols)

    @classmethod
    def read(cls, path: Path) -> Bands:
        """Read ``series_quantiles.parquet`` as written by :meth:`to_frame`."""
        df = pd.read_parquet(path)
        keys = list(dict.fromkeys(zip(df["series"].astype(str), df["commodity"].astype(str), df["arm"].astype(str))))
        n_days = len(df) // max(1, len(keys))
        if len(df) != len(keys) * n_days or not np.array_equal(df["day"].to_numpy(), np.tile(np.arange(n_days),
                                                                                              len(keys))):
            raise ValueError(f"{path}: expected one row per series, commodity, arm and day, in that order")
        names = (*STATS, *(quantile_column(p) for p in BAND_QUANTILES))
        stats = {name: df[name].to_numpy(dtype=float).reshape(len(keys), n_days) for name in names}
        return cls(keys, df["date"].to_numpy()[:n_days], int(df["replications"].iloc[0]), stats)


class BandsBuilder:
    """Reduce replications' series into :class:`Bands`, one replication at a time."""

    def __init__(self) -> None:
        self._rows: list[tuple[str, str, str]] = []
        self._stream: StreamingQuantiles | None = None
        self._dates: np.ndarray | None = None
        self._commodities: list[str] = []

    def _start(self, ts: pd.DataFrame) -> None:
        self._commodities = [str(c) for c in ts["commodity"].cat.categories]
        self._dates = np.sort(ts["date"].unique())
        specs = COMMODITY_SERIES + (ENTITLEMENT_SERIES if "entitlement_t" in ts.columns else ())
        self._rows = [(s, c, arm) for s, arm in specs for c in self._commodities]
        self._rows += [(s, PROGRAMME, arm) for s, arm in PROGRAMME_SERIES]
        self._stream = StreamingQuantiles((len(self._rows), len(self._dates)), BAND_QUANTILES)

    def add(self, ts: pd.DataFrame | SeriesRecord, finance: pd.DataFrame) -> None:
        """Add one replication's time series (``RunResult.timeseries``, or faster its ``series``) and finance table."""
        if isinstance(ts, SeriesRecord):
            self._add_record(ts, finance)
            return
        if self._stream is None:
            self._start(ts)
        assert self._stream is not None and self._dates is not None
        n_days, n_comm = len(self._dates), len(self._commodities)
        arms = [str(a) for a in ts["arm"].cat.categories]
        at = (ts["arm"].cat.codes.to_numpy(), ts["day"].to_numpy(), ts["commodity"].cat.codes.to_numpy())

        def grid(column: str, arm: str) -> np.ndarray:
            # [commodity, day]: the frame's rows placed by their codes, whatever their order
            g = np.zeros((len(arms), n_days, n_comm))
            g[at] = ts[column].to_numpy(dtype=float)
            return g[arms.index(arm)].T

        self._add_grids(grid, finance)

    def _add_record(self, rec: SeriesRecord, finance: pd.DataFrame) -> None:
        """The same from the recorded arrays, without building the long table (a run's largest cost here)."""
        if self._stream is None:
            self._commodities = list(rec.commodity_ids)
            self._dates = pd.date_range(rec.start, periods=rec.values.shape[1], freq="D").values
            specs = COMMODITY_SERIES + (ENTITLEMENT_SERIES if "entitlement_t" in rec.names else ())
            self._rows = [(s, c, arm) for s, arm in specs for c in self._commodities]
            self._rows += [(s, PROGRAMME, arm) for s, arm in PROGRAMME_SERIES]
            self._stream = StreamingQuantiles((len(self._rows), len(self._dates)), BAND_QUANTILES)
        index = {name: i for i, name in enumerate(rec.names)}

        def grid(column: str, arm: str) -> np.ndarray:
            return rec.values[index[column], :, ARMS.index(arm), :].T  # [commodity, day]

        self._add_grids(grid, finance)

    def _add_grids(self, grid, finance: pd.DataFrame) -> None:
        assert self._stream is not None and self._dates is not None
        n_days, n_comm = len(self._dates), len(self._commodities)

        derived: dict[tuple[str, str], np.ndarray] = {}

        def series(name: str, arm: str) -> np.ndarray:
            if (name, arm) not in derived:
                if name == "shortfall_30d_t":
                    derived[(name, arm)] = trailing_mean(grid("shortfall_t", arm), WINDOW_DAYS)
                elif name == "entitlement_outstanding_pct":
                    derived[(name, arm)] = grid("entitlement_outstanding_t", arm) * self._per_held(grid, arm)
                elif name == "entitlement_drawn_30d_pct":
                    drawn = trailing_sum(grid("entitlement_drawn_t", arm), WINDOW_DAYS)
                    derived[(name, arm)] = drawn * self._per_held(grid, arm)
                else:
                    derived[(name, arm)] = grid(name, arm)
            return derived[(name, arm)]

        obs = np.empty((len(self._rows), n_days))
        k = 0
        for name, arm in dict.fromkeys((s, a) for s, c, a in self._rows if c != PROGRAMME):
            obs[k : k + n_comm] = series(name, arm)
            k += n_comm
        fin = finance.set_index("day").reindex(range(n_days))
        for name, _ in PROGRAMME_SERIES:
            obs[k] = fin[name].to_numpy(dtype=float)
            k += 1
        self._stream.add(obs)

    @staticmethod
    def _per_held(grid, arm: str) -> np.ndarray:
        # per cent of the entitlements held that day; none held gives 0 drawn, not a division by 0
        return 100.0 / np.maximum(grid("entitlement_t", arm), 1e-300)

    @property
    def count(self) -> int:
        """Replications added."""
        return 0 if self._stream is None else self._stream.count

    @property
    def nbytes(self) -> int:
        """Bytes held by the estimator."""
        return 0 if self._stream is None else self._stream.nbytes

    def bands(self) -> Bands:
        """The bands of the replications added so far."""
        if self._stream is None or self._dates is None:
            raise ValueError("no replication added")
        s = self._stream
        q = s.quantiles()
        stats = {"mean": s.mean(), "min": s.minimum(), "max": s.maximum()}
        stats.update({quantile_column(p): q[j] for j, p in enumerate(BAND_QUANTILES)})
        return Bands(list(self._rows), self._dates, s.count, stats)
