"""Compare runs and scenarios: one KPI table with paired CIs, overlaid plots and one HTML report.

Modules: :mod:`~sim.compare.inputs` (read folders, run scenario files),
:mod:`~sim.compare.table` (KPI table and its CIs), :mod:`~sim.compare.plots`,
:mod:`~sim.compare.report` (report.html) and :mod:`~sim.compare.command` (the CLI).
"""
