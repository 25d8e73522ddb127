"""KPIs and statistics over runs."""
