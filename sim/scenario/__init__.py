"""Scenario schema, distributions registry and loading."""

from sim.scenario.loader import DEFAULT_SCENARIO, ScenarioError, load_scenario
from sim.scenario.schema import Scenario

__all__ = ["DEFAULT_SCENARIO", "Scenario", "ScenarioError", "load_scenario"]
