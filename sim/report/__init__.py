"""Writing results folders: tables, plots, atomic writes."""
