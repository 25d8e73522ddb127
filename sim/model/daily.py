"""The world's daily arrays: supply, demand and what derives from them alone, day by day.

They depend on the scenario's suppliers, manufacturers and rest of the world (a :class:`DailySpec`)
and on the run's draws (root seed and replication), never on the reserve, the shocks or the
finance. So a sweep's design points over reserve targets and shock rates share them: inside
:func:`sim.core.rng.keep_noise` (sweeps' workers) :func:`daily_arrays` keeps them per
(spec, seed, replication), read only, and the next point gets the same arrays, the same bits as
computing them afresh, without the cost (about 15 ms of a 15-year run of the default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.rng import KeptCache, Streams, keeping
from sim.kernels.layout import DC, DCM, DS

#: Most bytes of daily arrays kept per process: about 30 MB per replication of the 15-year default,
#: so a sweep with up to four replications per design point finds them all.
DAILY_CACHE_BYTES = 128 * 2**20
_DAILY = KeptCache(DAILY_CACHE_BYTES)


@dataclass(frozen=True)
class DailySpec:
    """Everything the daily arrays are computed from, but the random streams.

    Attributes:
        horizon_days: days in the run.
        n_commodities: commodities (C).
        suppliers: per supplier row (projects after suppliers): (noise stream, capacity t/yr,
            output CV, capacity growth per year).
        manufacturers: per manufacturer: (id, demand CV, ((commodity index, t/day at the
            reference price, growth per year), ...) for each commodity it uses).
        critical: critical share of demand [C][M].
        rest_of_world: per commodity: (rest-of-world demand t/yr, its growth per year).
        market_stock_days: traders' normal stocks per commodity, days of world demand.
    """

    horizon_days: int
    n_commodities: int
    suppliers: tuple[tuple[str, float, float, float], ...]
    manufacturers: tuple[tuple[str, float, tuple[tuple[int, float, float], ...]], ...]
    critical: tuple[tuple[float, ...], ...]
    rest_of_world: tuple[tuple[float, float], ...]
    market_stock_days: tuple[float, ...]


@dataclass(frozen=True)
class DailyArrays:
    """The daily packs (laid out as DCM, DC and DS) and the suppliers' output factors, all read only.

    Attributes:
        cm: [len(DCM), H, C, M].
        c: [len(DC), H, C].
        s: [len(DS), H, S].
        sup_noise: [H, S] output noise x capacity growth, multiple of day-0 capacity.
        sup_growth: [H, S] capacity growth, multiple of day-0 capacity.
    """

    cm: np.ndarray
    c: np.ndarray
    s: np.ndarray
    sup_noise: np.ndarray
    sup_growth: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes of all the arrays (what keeping them costs)."""
        return sum(x.nbytes for x in (self.cm, self.c, self.s, self.sup_noise, self.sup_growth))


def daily_arrays(spec: DailySpec, streams: Streams) -> DailyArrays:
    """The daily arrays of ``spec`` with ``streams``' draws; kept for the next runs inside ``keep_noise``."""
    if not keeping():
        return _compute(spec, streams)
    key = (spec, streams.seed, streams.replication)
    hit = _DAILY.get(key)
    if hit is None:
        hit = _compute(spec, streams)
        _DAILY.put(key, hit, hit.nbytes)
    return hit  # type: ignore[return-value]


def _compute(spec: DailySpec, streams: Streams) -> DailyArrays:
    H, C, M, S = spec.horizon_days, spec.n_commodities, len(spec.manufacturers), len(spec.suppliers)
    years = np.arange(H) / 365.0
    # filled a supplier per row, then transposed to [H, S] once (column writes touch every row)
    sup_noise = np.empty((S, H))
    sup_growth = np.empty((S, H))
    growth_of: dict[float, np.ndarray] = {}  # suppliers mostly share a few growth rates
    for j, (name, _, cv, g) in enumerate(spec.suppliers):
        if g not in growth_of:
            growth_of[g] = (1.0 + g) ** years
        sup_growth[j] = growth_of[g]
        np.multiply(streams.lognormal_noise(name, cv, H), sup_growth[j], out=sup_noise[j])
    sup_noise, sup_growth = np.ascontiguousarray(sup_noise.T), np.ascontiguousarray(sup_growth.T)
    sup_cap_tpd = np.array([r[1] for r in spec.suppliers], dtype=float) / 365.0

    cm = np.empty((len(DCM), H, C, M))
    c_pack = np.empty((len(DC), H, C))
    s_pack = np.empty((len(DS), H, S))
    expected, demand = cm[DCM.EXPECTED], cm[DCM.DEMAND]
    expected[:] = 0.0
    demand[:] = 0.0
    for m, (mid, cv, own) in enumerate(spec.manufacturers):
        noise = streams.lognormal_noise(f"manufacturer:{mid}", cv, (H, max(len(own), 1)))
        for k, (c, q, g) in enumerate(own):
            if g not in growth_of:
                growth_of[g] = (1.0 + g) ** years
            growth = growth_of[g]
            expected[:, c, m] = q * growth
            demand[:, c, m] = q * growth * noise[:, k]
    critical = np.array(spec.critical, dtype=float).reshape(C, M)
    row_demand = c_pack[DC.ROW_DEMAND]
    row_demand[:] = np.array([d / 365.0 * (1.0 + g) ** years for d, g in spec.rest_of_world]).T.reshape(H, C)
    # the sum over manufacturers written out: numpy's reduction over a short last axis is slow, and for
    # fewer than 8 terms it adds in this same order (so the bits are the same)
    de_tot = c_pack[DC.DE_TOT]
    de_tot[:] = 0.0
    for m in range(M):
        de_tot += expected[..., m]
    np.multiply(demand, critical, out=cm[DCM.CRITICAL_T])  # t/day
    share = np.divide(expected, np.maximum(de_tot, 1e-300)[..., None], out=cm[DCM.SHARE])
    share[de_tot <= 0] = 1.0 / max(M, 1)  # nobody expects to use it: shared equally
    np.multiply(sup_noise, sup_cap_tpd, out=s_pack[DS.CAP_NOISE])
    np.multiply(sup_growth, sup_cap_tpd, out=s_pack[DS.CAP_EXPECTED])
    np.multiply(expected, critical, out=cm[DCM.CRITICAL_EXPECTED])
    np.multiply(de_tot + row_demand, np.array(spec.market_stock_days, dtype=float),
                out=c_pack[DC.MARKET_STOCK_LEVEL])  # [H, C] t
    out = DailyArrays(cm, c_pack, s_pack, sup_noise, sup_growth)
    for x in (cm, c_pack, s_pack, sup_noise, sup_growth):
        x.flags.writeable = False  # shared by the runs that keep them; the kernels only read them
    return out
