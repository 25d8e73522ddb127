"""`run --replications` keeps memory flat: KPIs kept, series reduced or written as they stream."""

from __future__ import annotations

import gc
import json
import tracemalloc
import weakref

import numpy as np
import pandas as pd
import pytest

from sim import simulate
from sim.cli import main
from sim.report.bands import Bands, trailing_mean
from sim.report.results import RunFolderWriter
from sim.simulation.replications import KpiRows, run_replications
from tests.builders import NOISY, base_dict, merge, scenario


@pytest.fixture(scope="module")
def noisy():
    return scenario(**NOISY)


@pytest.fixture(scope="module")
def noisy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("scen") / "noisy.yaml"
    path.write_text(json.dumps(merge(base_dict(), NOISY)))
    return str(path)


def test_runner_keeps_kpis_and_frees_each_result_before_the_next(noisy):
    refs = []
    alive_when_next_arrived = []

    def watch(result):
        # the previous replication's result, frames and engine are gone when this one arrives
        alive_when_next_arrived.append(sum(r() is not None for trio in refs for r in trio))
        refs.append((weakref.ref(result), weakref.ref(result.timeseries), weakref.ref(result.finance)))

    kpis, prec = run_replications(noisy, seed=3, n=6, on_result=watch)
    assert prec is None and isinstance(kpis, KpiRows) and len(kpis) == 6 == len(refs)
    assert alive_when_next_arrived == [0] * 6
    assert all(r() is None for trio in refs for r in trio)  # no result, time series or finance table kept
    alone = simulate(noisy, seed=3, replication=4).summary
    assert json.dumps(kpis.record(4)) == json.dumps(alone)  # values, types (an int stays an int) and NaNs
    assert kpis.replications == list(range(6))


def _peak_traced_mb(noisy, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        run_replications(noisy, seed=3, n=n)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_runner_peak_memory_does_not_grow_with_replications():
    # each replication's engine (arrays in reference cycles) is freed before the next starts;
    # left to the collector's schedule they piled up: peak 0.57 MB at 3, 1.21 MB at 12 here
    short = scenario(**merge(NOISY, {"run": {"horizon_years": 0.25}}))
    assert _peak_traced_mb(short, 12) < 1.25 * _peak_traced_mb(short, 3)


def test_folder_writer_holds_no_result_and_constant_band_memory(noisy, tmp_path):
    writer = RunFolderWriter(tmp_path, noisy)
    refs, sizes = [], []
    for rep in range(14):
        r = simulate(noisy, seed=5, replication=rep)
        writer.add(r)
        refs.append(weakref.ref(r.timeseries))
        del r
        if rep in (9, 13):  # both past the 9 observations kept exactly
            sizes.append(writer.bands.nbytes)
    gc.collect()
    writer.close()
    assert all(r() is None for r in refs)
    assert sizes[0] == sizes[1] > 0


def _replications(scen, seed, n):
    return [simulate(scen, seed=seed, replication=rep) for rep in range(n)]


def test_run_writes_replication_0_series_bands_of_all_and_every_event(noisy, noisy_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", noisy_file, "--seed", "4", "--replications", "4", "--out", str(out), "--no-plots"]) == 0
    runs = _replications(noisy, 4, 4)
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["replication"].unique().tolist() == [0]
    pd.testing.assert_frame_equal(ts.drop(columns="replication"), runs[0].timeseries, check_dtype=False)
    events = pd.read_csv(out / "events.csv")
    assert sorted(events["replication"].unique()) == [r for r in range(4) if len(runs[r].events)]
    assert len(events) == sum(len(r.events) for r in runs)
    # the bands are exact at 4 replications (up to 32 are kept as they are, in float32)
    bands = Bands.read(out / "series_quantiles.parquet")
    assert bands.count == 4
    values = np.array([r.timeseries.query("arm == 'reserve'")["reserve_stock_t"].to_numpy() for r in runs])
    stock = bands.band("reserve_stock_t", "ga")
    np.testing.assert_allclose(stock.mean, values.mean(axis=0), rtol=1e-12)
    for p, v in zip((0.05, 0.5, 0.95), np.quantile(values, [0.05, 0.5, 0.95], axis=0)):
        np.testing.assert_allclose(stock.quantiles[p], v, rtol=1e-6)
    short = np.array([r.timeseries.query("arm == 'counterfactual'")["shortfall_t"].to_numpy() for r in runs])
    np.testing.assert_allclose(bands.band("shortfall_30d_t", "ga", "counterfactual").mean,
                               trailing_mean(short, 30).mean(axis=0), rtol=1e-9, atol=1e-12)
    debt = np.array([r.finance["debt_usd"].to_numpy() for r in runs])
    np.testing.assert_allclose(bands.band("debt_usd").quantiles[0.95], np.quantile(debt, 0.95, axis=0), rtol=1e-6)


def test_keep_series_writes_every_replication(noisy, noisy_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", noisy_file, "--seed", "4", "--replications", "3", "--keep-series", "--csv", "--no-plots",
                 "--out", str(out)]) == 0
    runs = _replications(noisy, 4, 3)
    for name in ("timeseries", "finance"):
        want = pd.concat([getattr(r, name).assign(replication=i) for i, r in enumerate(runs)], ignore_index=True)
        want = want[["replication", *getattr(runs[0], name).columns]]
        got = pd.read_parquet(out / f"{name}.parquet")
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
        assert len(pd.read_csv(out / f"{name}.csv")) == len(want)


def test_bands_beyond_the_exact_ones_stay_close_to_numpy(tmp_path):
    # 40 replications of half a year: P-square estimates beyond the 32nd; mean and max stay exact
    n = 40
    noisy = scenario(**merge(NOISY, {"run": {"horizon_years": 0.5}}))
    writer = RunFolderWriter(tmp_path, noisy)
    prices = []
    for rep in range(n):
        r = simulate(noisy, seed=8, replication=rep)
        writer.add(r)
        prices.append(r.timeseries.query("arm == 'reserve'")["reserve_stock_t"].to_numpy())
    writer.close()
    x = np.array(prices)
    band = writer.bands.bands().band("reserve_stock_t", "ga")
    np.testing.assert_allclose(band.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(band.max, x.max(axis=0), rtol=1e-6)  # values kept in float32
    assert (x.std(axis=0) > 0).mean() > 0.5  # the stock does vary across replications
    # rank error: how far p is from the share of replications below / at or below the estimate
    for p in (0.05, 0.5, 0.95):
        below = (x < band.quantiles[p] * (1 - 1e-12)).mean(axis=0)
        upto = (x <= band.quantiles[p] * (1 + 1e-12)).mean(axis=0)
        err = np.maximum(0.0, np.maximum(below - p, p - upto))
        assert err.mean() < 0.05, p
