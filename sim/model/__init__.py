"""Model components: compiled world, market arithmetic, finance, shocks and projects."""
