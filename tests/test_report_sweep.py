"""A sweep's report.html: the answer ranks the design points; the page is interactive and renders."""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest
import yaml

from sim.batch.command import main as sweep_main
from sim.report.sweep_report import sweep_answer
from tests.test_batch import small_scenario
from tests.test_report import CHROMIUM, assert_renders

SWEEP = """\
    name: grid
    base: scenario.yaml
    levers:
      reserve.ga.target_days: [0, 60]
      reserve.*.release.trigger: [shortfall, cover]
    replications: 4
    seed: 11
    outcomes: [economic.*, difference.total.*]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    (d / "scenario.yaml").write_text(yaml.safe_dump(small_scenario(), sort_keys=False))
    (d / "sweep.yaml").write_text(textwrap.dedent(SWEEP))
    out = d / "out"
    # shrunk from the command line: 2 replications of the first 3 lever combinations
    assert sweep_main([str(d / "sweep.yaml"), "--out", str(out), "--workers", "1", "--quiet", "--no-plots",
                       "--replications", "2", "--combos", "3"]) == 0
    return out


def test_sweep_was_shrunk_and_reported(swept):
    points = pd.read_csv(swept / "points.csv")
    assert len(points) == 3 and set(points["n_ok"]) == {2}
    text = (swept / "report.html").read_text()
    assert text.count("* plotly.js v") == 1 and text.index('id="answer"') < text.index('id="chart"')
    data = json.loads(text.split('<script type="application/json" id="vs-data">', 1)[1].split("</script>", 1)[0])
    assert [p["point"] for p in data["points"]] == [0, 1, 2]


def test_answer_names_the_best_and_worst_point(swept):
    points = pd.read_csv(swept / "points.csv")
    params = [c for c in points.columns if c.startswith("lever.")]
    lines = sweep_answer(points, params, ["economic.net_benefit_npv_usd"])
    best = points.loc[points["economic.net_benefit_npv_usd.mean"].idxmax()]
    assert lines[0].startswith("3 design point(s); ranked by net benefit (NPV)")
    assert lines[1].startswith(f"Highest: point {int(best['point'])} (reserve.ga.target_days = ")
    assert "USD" in lines[1] and lines[2].startswith("Lowest: point")
    assert "intervals" in lines[3]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (CI may lack it)")
def test_sweep_report_renders_in_headless_chromium(swept, tmp_path):
    assert_renders(swept / "report.html", tmp_path, 1)
