"""vaultsim: a discrete-event simulator of a strategic reserve of critical minerals."""

__version__ = "0.1.0"

from sim.engine.simulate import RunResult, simulate  # noqa: E402
from sim.scenario.loader import ScenarioError, load_scenario  # noqa: E402

__all__ = ["RunResult", "ScenarioError", "__version__", "load_scenario", "simulate"]
