"""vaultsim: a discrete-event simulator of a strategic reserve of critical minerals."""

from sim.scenario.loader import ScenarioError, load_scenario  # noqa: E402
from sim.simulation.simulate import RunResult, simulate  # noqa: E402
from sim.version import __version__  # noqa: E402

__all__ = ["RunResult", "ScenarioError", "__version__", "load_scenario", "simulate"]
