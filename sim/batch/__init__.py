"""Batch runs: replications and parameter sweeps on local cores or a Dask cluster.

A sweep file names a base scenario, levers (policy choices, full factorial),
uncertainties (sampled by grid, Latin hypercube, Sobol or Morris designs), the KPIs to
keep and the daily series to summarise. :func:`sim.batch.runner.run_sweep` runs it with
results streamed to disk, resumable, with the same numbers on any number of workers.
"""

from sim.batch.spec import ResolvedSweep, SweepSpec, load_sweep

__all__ = ["ResolvedSweep", "SweepSpec", "load_sweep"]
