"""Calibration of the restriction regimes to history; used by scripts and tests, never by a run."""
