"""Slow state of a world market: substitution away from a dear material and supply response.

Both are first-order lags on [arm, commodity] arrays, stepped once a day by the engine:

- Substitution share s: while the price ratio x = p/p0 stays above 1, demand drifts from the
  short-run curve toward the long-run one, s* = 1 - x^-(e_long - e_short); s moves toward
  s* with time constant ``substitution_time_days``. When prices fall only part of it comes
  back: s never falls below ``substitution_hysteresis_share`` x its peak.
- Supply response u: unrestricted producers' output relative to normal moves toward
  min(1 + spare share, x^supply_elasticity) with time constant ``supply_response_days``.
"""

from __future__ import annotations

import numpy as np

from sim.model.world import World


class SlowState:
    """Substitution and supply-response state of every arm and commodity."""

    def __init__(self, world: World, arms: int = 2):
        C = len(world.commodity_ids)
        self.w = world
        self.substitution = np.zeros((arms, C))
        self.peak_substitution = np.zeros((arms, C))
        self.supply_factor = np.ones((arms, C))

    def step(self, price_ratio: np.ndarray) -> None:
        """Move both states one day toward their targets at today's price ratio."""
        w = self.w
        if w.any_substitution:
            goal = np.where(price_ratio > 1.0, 1.0 - price_ratio ** (-w.long_run_gap), 0.0)
            goal = np.maximum(goal, w.hysteresis * self.peak_substitution)
            self.substitution += (goal - self.substitution) * w.subst_rate
            np.maximum(self.peak_substitution, self.substitution, out=self.peak_substitution)
        if w.any_supply_response:
            goal = np.minimum(w.supply_max, price_ratio**w.supply_elasticity)
            self.supply_factor += (goal - self.supply_factor) * w.supply_rate
