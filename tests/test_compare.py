"""The compare command: differences and CIs, pairing, input errors, the self-contained reports."""

from __future__ import annotations

import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from sim.cli import main
from sim.metrics import catalog
from sim.metrics.stats import paired_diff_ci, welch_ci
from sim.report.numbers import sig
from sim.scenario.loader import DEFAULT_SCENARIO
from tests.builders import base_dict
from tests.test_report import CHROMIUM, assert_renders

SHORT = ["--set", "run.horizon_years=1"]
COMMODITIES = ("ga", "co")


def small_scenario(name: str, target_days: float, horizon_years: float = 2) -> dict:
    """Two metals, stochastic shocks, a reserve with a target in days; fast and independent of the baseline."""
    return {
        "meta": {"name": name, "description": f"Two metals with a {target_days:g}-day reserve target.",
                 "sources": {"FIX": "Test fixture citation: invented numbers"},
                 "assumptions": [{"key": "reserve.*.target_days", "reason": "the policy under test"}]},
        "run": {"start_date": "2030-01-01", "horizon_years": horizon_years, "seed": 11, "replications": 2},
        "commodities": {
            "ga": {"name": "Gallium", "reference_price_usd_per_t": 1000.0, "value_of_lost_output_usd_per_t": 10000.0},
            "co": {"name": "Cobalt", "reference_price_usd_per_t": 30000.0, "value_of_lost_output_usd_per_t": 300000.0},
        },
        "suppliers": {
            "ga_cn": {"commodity": "ga", "country": "CN", "capacity_tpy": 420.0, "lead_time_days": 20},
            "co_cd": {"commodity": "co", "country": "CD", "capacity_tpy": 1150.0, "lead_time_days": 40},
        },
        "shocks": {
            "cn_ban": {"kind": "export_restriction", "country": "CN", "commodities": ["ga"], "rate_per_year": 1.0,
                       "duration_days": {"dist": "lognormal", "mean": 90, "cv": 0.5},
                       "severity": {"dist": "beta", "mean": 0.7, "sd": 0.1}},
            "cd_halt": {"kind": "supplier_outage", "suppliers": ["co_cd"], "rate_per_year": 0.8,
                        "duration_days": {"dist": "lognormal", "mean": 60, "cv": 0.5},
                        "severity": {"dist": "beta", "mean": 0.5, "sd": 0.1}},
        },
        "manufacturers": {
            "m1": {"demand_tpy": {"ga": 365.0, "co": 1000.0}, "safety_stock_days": 10.0, "demand_cv": 0.05,
                   "critical_share": 0.8}
        },
        "reserve": {
            "ga": {"target_days": target_days, "buy": {"max_rate_tpy": 60}},
            "co": {"target_days": target_days, "buy": {"max_rate_tpy": 150}},
        },
        "financing": {"equity_usd": 1e8},
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Two scenario files compared with 3 replications, one year: (out folder, stdout)."""
    d = tmp_path_factory.mktemp("cmp")
    a = write_yaml(d / "full.yaml", small_scenario("full_target", 60))
    b = write_yaml(d / "half.yaml", small_scenario("half_target", 30))
    out = d / "out"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["compare", str(a), str(b), *SHORT, "--replications", "3", "--labels", "base,half",
                     "--out", str(out)])
    assert code == 0
    return out, buf.getvalue()


def _summaries(out: Path) -> tuple[dict, dict]:
    runs = json.loads((out / "compare.json").read_text())["runs"]
    return tuple(json.loads((out / r["folder"] / "summary.json").read_text()) for r in runs)


def test_differences_match_the_runs_own_summaries(compared):
    out, printed = compared
    assert f"comparison: {out}" in printed and "paired by replication" in printed
    tab = pd.read_csv(out / "kpi_table.csv")
    sa, sb = _summaries(out)
    assert sa["seed"] == sb["seed"] and sa["replications"] == sb["replications"] == 3
    other = tab[tab.run == 1].set_index("kpi")
    base = tab[tab.run == 0].set_index("kpi")
    # ratios (benefit-cost ratio, subsidy rate) are ratios of means with bootstrap intervals
    assert set(other.ci_method) == {"paired", "ratio_bootstrap"}
    assert all(catalog.ratio_parts(k) for k in other.index[other.ci_method == "ratio_bootstrap"])
    checked = 0
    for kpi, a in sa["kpis"].items():
        b = sb["kpis"][kpi]
        nan_free = all(r.get(kpi) is not None for r in sa["per_replication"] + sb["per_replication"])
        if a is None or b is None or not nan_free:
            continue
        assert base.loc[kpi, "mean"] == pytest.approx(a, rel=1e-9, abs=1e-9)
        assert other.loc[kpi, "mean"] == pytest.approx(b, rel=1e-9, abs=1e-9)
        assert other.loc[kpi, "diff"] == pytest.approx(b - a, rel=1e-9, abs=1e-6)
        assert other.loc[kpi, "diff_ci_low"] <= other.loc[kpi, "diff"] + 1e-9
        assert other.loc[kpi, "diff"] <= other.loc[kpi, "diff_ci_high"] + 1e-9
        checked += 1
    assert checked > 40
    # the paired CI is the t interval of per-replication differences, computed independently here
    kpi = "finance.net_cost_npv_usd"
    pa = [r[kpi] for r in sa["per_replication"]]
    pb = [r[kpi] for r in sb["per_replication"]]
    m, lo, hi = paired_diff_ci(pa, pb)
    assert (other.loc[kpi, "diff"], other.loc[kpi, "diff_ci_low"], other.loc[kpi, "diff_ci_high"]) == pytest.approx(
        (m, lo, hi)
    )
    # a halved target must show up: the reserve never peaks higher, and lower where buying reached it
    kpi = "reserve.total.reserve_peak_value_usd"
    pairs = [(ra[kpi], rb[kpi]) for ra, rb in zip(sa["per_replication"], sb["per_replication"])]
    assert all(b <= a for a, b in pairs) and any(b < a for a, b in pairs), pairs
    assert other.loc[kpi, "diff"] < 0
    excludes = (other["diff_ci_low"] > 0) | (other["diff_ci_high"] < 0)
    assert (other["diff_excludes_zero"] == excludes).all() and excludes.any()


def test_outputs_and_labels(compared):
    out, printed = compared
    for f in ("kpi_table.csv", "kpi_table.md", "report.html", "compare.json", "kpis.png", "cost_benefit.png"):
        assert (out / f).is_file(), f
    assert sorted(p.name for p in out.glob("ts_*.png")) == sorted(f"ts_{c}.png" for c in COMMODITIES)
    md = (out / "kpi_table.md").read_text()
    assert "| KPI | base | half | half - base | 95% CI |" in md
    assert "shortfall avoided, t" in printed and "diff = run - baseline (base)" in printed
    assert not list(out.parent.glob(".out.partial-*"))


class _Html(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("href", "src"):
            if key in a and tag != "img":
                self.links.append(a[key])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def _parse(path: Path) -> _Html:
    p = _Html()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert not p.errors, p.errors[:3]
    assert p.stack == [], p.stack
    return p


def test_report_parses_and_embeds_every_plot(compared):
    out, _ = compared
    p = _parse(out / "report.html")
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 3 + len(COMMODITIES)  # KPI bars, cost-benefit, per-commodity bars, one per commodity
    assert len(p.images) == 3  # the series per commodity are interactive charts, not images
    assert all(src.startswith("data:image/png;base64,") for src in p.images)
    assert not [link for link in p.links if not link.startswith("#")]  # nothing to fetch: opens offline
    text = (out / "report.html").read_text()
    assert text.count("* plotly.js v") == 1 and 'id="vs-data"' in text
    data = json.loads(text.split('<script type="application/json" id="vs-data">', 1)[1].split("</script>", 1)[0])
    assert set(data["commodities"]) == set(COMMODITIES)
    assert [r["label"] for r in data["commodities"][COMMODITIES[0]]["runs"]] == ["base", "half"]
    assert text.index('id="answer"') < text.index('id="runs"') and "half against base: loss avoided USD" in text
    assert "30-day reserve target" in text and "60-day reserve target" in text
    assert "Test fixture citation" in text and "the policy under test" in text


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (CI may lack it)")
def test_compare_report_renders_in_headless_chromium(compared, tmp_path):
    out, _ = compared
    assert_renders(out / "report.html", tmp_path, 3)  # stock, shortfall and price of the picked commodity


def test_run_folders_get_their_own_report(compared):
    out, _ = compared
    for folder in (out / "runs").iterdir():
        p = _parse(folder / "report.html")
        assert [f.name for f in folder.glob("*.png")] == ["commodities.png"]  # the series are interactive charts
        assert len(p.images) == 1
        text = (folder / "report.html").read_text()
        assert "avoided, t" in text and 'id="vs-data"' in text and text.count("* plotly.js v") == 1


def test_folder_compared_with_itself_gives_zero_differences(compared, tmp_path, capsys):
    out, _ = compared
    run = out / "runs" / "1-base"
    dest = tmp_path / "self"
    assert main(["compare", str(run), str(run), "--out", str(dest), "--no-plots"]) == 0
    tab = pd.read_csv(dest / "kpi_table.csv")
    other = tab[tab.run == 1]
    assert len(other) > 40 and set(other.ci_method) == {"paired", "ratio_bootstrap"}
    finite = other.dropna(subset=["diff"])
    assert len(finite) > 40
    assert (finite["diff"] == 0).all()
    # a ratio whose denominator's mean is not positive has no bootstrap interval (NaN), never a wrong one,
    # and neither has a KPI undefined in some replications (the catalog's nan_when)
    undefined = finite[finite["diff_ci_low"].isna() | finite["diff_ci_high"].isna()]
    paired = undefined[undefined.ci_method != "ratio_bootstrap"]
    assert all(catalog.nan_ok(k) for k in paired.kpi), list(paired.kpi)
    finite = finite.drop(undefined.index)
    assert (finite["diff_ci_low"] == 0).all() and (finite["diff_ci_high"] == 0).all()
    assert "full_target (1-base)" in capsys.readouterr().out  # duplicate names get the folder name


def test_scenario_paired_with_folder_reproduces_it(compared, tmp_path):
    """A scenario file compared with a folder runs with that folder's seed and replications."""
    out, _ = compared
    run = out / "runs" / "1-base"
    dest = tmp_path / "again"
    assert main(["compare", str(run), str(run / "scenario.resolved.yaml"), "--out", str(dest), "--no-plots"]) == 0
    tab = pd.read_csv(dest / "kpi_table.csv")
    other = tab[(tab.run == 1)].dropna(subset=["diff"])
    # ratios (benefit-cost ratio, subsidy rate) are ratios of means with bootstrap intervals
    assert set(other.ci_method) == {"paired", "ratio_bootstrap"}
    assert all(catalog.ratio_parts(k) for k in other.kpi[other.ci_method == "ratio_bootstrap"])
    assert np.allclose(other["diff"], 0, atol=1e-6)
    (summary,) = (dest / "runs").glob("*/summary.json")
    again = json.loads(summary.read_text())
    assert again["seed"] == json.loads((run / "summary.json").read_text())["seed"]
    assert again["replications"] == 3


def test_different_seeds_use_a_welch_interval(compared, tmp_path, capsys):
    out, _ = compared
    a = out / "runs" / "1-base"
    b = tmp_path / "reseeded"
    shutil.copytree(out / "runs" / "2-half", b)
    s = json.loads((b / "summary.json").read_text())
    s["seed"] += 1
    (b / "summary.json").write_text(json.dumps(s))
    dest = tmp_path / "welch"
    assert main(["compare", str(a), str(b), "--out", str(dest), "--no-plots"]) == 0
    assert "UNPAIRED" in capsys.readouterr().out
    tab = pd.read_csv(dest / "kpi_table.csv")
    row = tab[(tab.run == 1) & (tab.kpi == "reserve.total.reserve_end_value_usd")].iloc[0]
    assert row.ci_method == "welch"
    xa = pd.read_csv(a / "kpis.csv")["reserve.total.reserve_end_value_usd"].to_numpy()
    xb = pd.read_csv(b / "kpis.csv")["reserve.total.reserve_end_value_usd"].to_numpy()
    ci = stats.ttest_ind(xb, xa, equal_var=False).confidence_interval(0.95)
    assert (row.diff_ci_low, row.diff_ci_high) == pytest.approx((ci.low, ci.high))


def test_welch_ci_edge_cases():
    d, lo, hi = welch_ci(np.array([1.0, 1.0]), np.array([3.0, 3.0]))
    assert (d, lo, hi) == (2.0, 2.0, 2.0)
    d, lo, hi = welch_ci(np.array([1.0]), np.array([3.0, 4.0]))
    assert d == 2.5 and math.isnan(lo) and math.isnan(hi)


def _expect_error(args: list[str], dest: Path, capsys, *needles: str) -> str:
    assert main(["compare", *args, "--out", str(dest)]) == 2
    err = capsys.readouterr().err
    for n in needles:
        assert n in err, (n, err)
    assert not dest.exists()
    assert not list(dest.parent.glob(f".{dest.name}.partial-*"))
    return err


def test_missing_file_is_a_clear_error(compared, tmp_path, capsys):
    out, _ = compared
    broken = tmp_path / "broken"
    shutil.copytree(out / "runs" / "1-base", broken)
    (broken / "summary.json").unlink()
    _expect_error([str(out / "runs" / "1-base"), str(broken)], tmp_path / "x", capsys, str(broken), "summary.json")


def test_incompatible_inputs_are_refused_before_running(compared, tmp_path, capsys):
    out, _ = compared
    run = str(out / "runs" / "1-base")
    longer = write_yaml(tmp_path / "longer.yaml", small_scenario("longer", 60, horizon_years=3))
    _expect_error([run, str(longer)], tmp_path / "h", capsys, "horizon", str(longer))
    other = tmp_path / "one_commodity.yaml"
    other.write_text(yaml.safe_dump(base_dict()))
    _expect_error([run, str(other)], tmp_path / "c", capsys, "commodities", str(other))


def test_other_bad_inputs(compared, tmp_path, capsys):
    out, _ = compared
    run = str(out / "runs" / "1-base")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    _expect_error([run, str(txt)], tmp_path / "t", capsys, str(txt), "neither a results folder nor a scenario")
    _expect_error([run, str(tmp_path / "nope")], tmp_path / "n", capsys, "does not exist")
    _expect_error([run], tmp_path / "one", capsys, "at least two")
    _expect_error([run, run, "--labels", "a"], tmp_path / "l", capsys, "--labels")
    bad = tmp_path / "bad.yaml"
    bad.write_text("meta: [unclosed\n")
    _expect_error([run, str(bad)], tmp_path / "y", capsys, str(bad))
    assert main(["compare", run, run, "--out", run]) == 2
    assert "input folder" in capsys.readouterr().err
    assert (Path(run) / "summary.json").is_file()


def test_baseline_scenario_compared_with_itself(tmp_path, capsys):
    """The shipped baseline, run twice on the same seed: common random numbers give zero differences."""
    dest = tmp_path / "baseline"
    args = ["compare", str(DEFAULT_SCENARIO), str(DEFAULT_SCENARIO), *SHORT, "--replications", "2", "--no-plots"]
    assert main([*args, "--out", str(dest)]) == 0
    tab = pd.read_csv(dest / "kpi_table.csv").query("run == 1").dropna(subset=["diff"])
    assert len(tab) > 40 and (tab["diff"] == 0).all()
    assert len(list((dest / "runs").iterdir())) == 2


def test_report_headline_gives_tonnes_per_commodity_and_drops_unmoved_rows(compared):
    from sim.compare.table import headline_kpis

    out, _ = compared
    tab = pd.read_csv(out / "kpi_table.csv")
    keys = [k for k, _, _ in headline_kpis(views=False, table=tab)]
    assert not [k for k in keys if ".total." in k and k.endswith("_t")]  # no tonnes added over commodities
    short = {k.split(".")[1] for k in keys if k.endswith("shortfall_t")}
    assert short and short <= set(COMMODITIES)
    means = tab.set_index(["kpi", "run"])["mean"]
    for k, _, scale in headline_kpis(views=False, table=tab):  # every other row differs at three figures
        assert k.endswith("_t") or sig(means.loc[(k, 0)] * scale) != sig(means.loc[(k, 1)] * scale), k
    dropped = [k for k, _, _ in headline_kpis(views=False) if k not in keys and not k.endswith("_t")]
    for k in dropped:
        assert sig(means.loc[(k, 0)]) == sig(means.loc[(k, 1)]), k
    assert len(headline_kpis(views=False)) == len([k for k, _, _ in headline_kpis(views=False)])  # no table: as run
