"""The run report and summary: the answer first, warnings, per-commodity outcomes, an interactive page.

The rendering test takes headless-Chromium screenshots of the page and checks they are not
blank, that Plotly drew its charts and that the console shows no error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.report.answer import answer_lines, focus_rows
from sim.report.console import headline_table

SHORT = ["--set", "run.horizon_years=1"]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
#: The default run's report must stay below this many bytes.
REPORT_BUDGET = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "res"
    assert main(["run", *SHORT, "--replications", "2", "--out", str(out), "--no-plots"]) == 0
    return out


@pytest.fixture(scope="module")
def summary(folder):
    return json.loads((folder / "summary.json").read_text())


def test_summary_json_opens_with_the_answer_and_warnings(summary):
    keys = list(summary)
    assert keys[:2] == ["answer", "warnings"]
    assert len(summary["answer"]) == 5
    assert [line.split(":")[0] for line in summary["answer"]] == ["Did", "Saved", "Cost", "By commodity (USD, NPV)",
                                                                 f"Warnings ({len(summary['warnings'])}, below)"]
    for w in summary["warnings"]:
        assert set(w) == {"kind", "message", "commodities", "details", "replications"}
        assert set(w["details"]) == set(w["commodities"])


def test_the_answer_splits_the_loss_avoided_and_names_commodities(summary):
    saved = summary["answer"][1]
    for part in ("consumer surplus", "import bill", "critical demand"):
        assert part in saved
    assert "e-0" not in " ".join(summary["answer"])  # no scientific notation
    # the answer is made from the KPIs: change one and the line changes
    changed = json.loads(json.dumps(summary))
    changed["kpis"]["economic.loss_avoided_npv_usd"] = 2.5e9
    assert "loss avoided USD 2.50 bn" in answer_lines(changed)[1]


def test_intervals_only_with_replications(summary):
    one = {**summary, "replications": 1, "answer": None}
    assert "95% CI" not in headline_table(one)
    assert "95% CI" in headline_table(summary)


def test_focus_gives_one_commodity_with_intervals(summary):
    rows = dict((label, (mean, ci)) for label, mean, ci in focus_rows(summary, "gallium"))
    assert "shortfall avoided, t" in rows and all(ci for _, ci in rows.values())
    with pytest.raises(KeyError, match="not a commodity of this run"):
        focus_rows(summary, "unobtainium")


def test_printed_headline_adds_no_tonnes_across_commodities(summary):
    text = headline_table(summary)
    assert "shortfall avoided, t" not in text  # the all-commodity tonnes row is gone
    assert "Highest price:" in text and "x reference," in text  # the peak price names its commodity
    assert text.index("The answer") < text.index("Outcomes per commodity") < text.index("National economic view")


def test_report_is_self_contained_and_states_the_answer_first(folder):
    text = (folder / "report.html").read_text()
    assert len(text.encode()) < REPORT_BUDGET
    assert text.count("* plotly.js v") == 1  # the plotting library inlined once
    assert "<script src=" not in text and "<link " not in text  # nothing fetched
    assert text.index('id="answer"') < text.index('id="outcomes"') < text.index('id="charts"')
    assert '<nav class="toc">' in text and '<details id="sources">' in text
    assert 'id="vs-commodity"' in text


def _screenshot(html: Path, png: Path, height: int) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr",
           "--v=0", f"--window-size=1280,{height}", "--virtual-time-budget=8000", f"--screenshot={png}",
           html.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert png.is_file(), done.stderr[-2000:]
    return done.stderr


def assert_renders(html: Path, tmp_path: Path, charts: int) -> None:
    """Headless Chromium draws ``html``: no console error, a screenshot that is not blank, ``charts`` Plotly charts."""
    import matplotlib.image as mpimg

    log = _screenshot(html, tmp_path / "page.png", 3000)
    errors = [line for line in log.splitlines() if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    assert not errors, errors
    pixels = mpimg.imread(tmp_path / "page.png")[..., :3]
    assert np.isfinite(pixels).all() and pixels.std() > 0.05  # not blank
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000",
                          "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="main-svg"') >= charts, "Plotly drew fewer charts than expected"


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (CI may lack it)")
def test_report_renders_in_headless_chromium(folder, tmp_path):
    assert_renders(folder / "report.html", tmp_path, 4)  # three commodity charts and the programme's money


def test_focus_lists_the_commodity_s_own_warnings(summary):
    from sim.report.console import focus_lines

    pairs = [(c, text) for w in summary["warnings"] for c, text in w["details"].items()]
    assert pairs, "the 1-year default run raises per-commodity warnings"
    for c, text in pairs:
        assert any(text in line for line in focus_lines(summary, c))
    others = [c["commodity"] for c in summary["by_commodity"] if c["commodity"] not in dict(pairs)]
    for c in others:
        assert not any("warning" in line for line in focus_lines(summary, c))


def test_report_has_each_commodity_s_headline_under_the_picker(folder, summary):
    text = (folder / "report.html").read_text()
    picker = text.index('id="vs-commodity"')
    for e in summary["by_commodity"]:
        at = text.index(f'<div class="focus" data-c="{e["commodity"]}">')
        assert picker < at < text.index('id="ch-stock"')
