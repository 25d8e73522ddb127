"""The generated scenario reference matches the schema."""

from pathlib import Path

from sim.scenario.reference import render


def test_scenario_reference_is_up_to_date():
    committed = (Path(__file__).parents[1] / "docs" / "scenario_reference.md").read_text()
    assert committed == render(), "run: python -m sim.scenario.reference > docs/scenario_reference.md"
