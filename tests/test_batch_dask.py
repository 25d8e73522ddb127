"""The same sweep on a dask.distributed cluster of worker processes gives the same KPIs and series, bit for bit.

Slow (starting the cluster takes about 10 s); tests/test_batch_same_numbers.py checks every KPI
of the default scenario on a threaded cluster.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.batch.command import main as sweep_main
from tests.test_batch import (
    GRID,
    kpis,
    run,
    scen,  # noqa: F401 - the fixture
    write_sweep,
)

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0") as c:
        yield c


@pytest.mark.slow
def test_dask_cluster_matches_one_local_worker(tmp_path, scen, cluster, capsys):  # noqa: F811
    p = write_sweep(tmp_path, GRID + "    runs_per_task: 2\n")
    run(p, tmp_path / "local", workers=1)
    code = sweep_main([str(p), "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "dask"),
                       "--no-plots", "--quiet"])
    assert code == 0
    assert "Dask cluster" in capsys.readouterr().out
    pd.testing.assert_frame_equal(kpis(tmp_path / "local"), kpis(tmp_path / "dask"), check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "local" / "series.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "series.parquet"), check_exact=True)
    workers = set(pd.read_parquet(tmp_path / "dask" / "runs.parquet")["worker"])
    assert len(workers) >= 1 and all(":" in w for w in workers)
