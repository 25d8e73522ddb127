"""The scenario library: provenance, calibration against USGS figures, and replays of real shocks.

Figures quoted here are the 2025 USGS estimates in shared/data/FACTS.md (source key MCS26).
Every scenario under scenarios/ (recursively, except scenarios/sweeps/) is covered.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import importlib.util
import re
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import load_scenario, simulate
from sim.scenario.loader import load_resolved_dict, validate_data
from sim.scenario.schema import ExportRestriction, Scenario, SupplierOutage

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "project_vault.yaml"
SHORT_HORIZON_YEARS = 1.5
LONGEST_REPLAY_YEARS = 3.5
#: Battery materials whose demand grows faster than 2%/yr in the baseline.
BATTERY_MATERIALS = ("lithium", "graphite", "nickel", "cobalt")

# --- MCS26 (FACTS.md) ---------------------------------------------------------------
#: US apparent consumption 2025, t/yr. Nickel is the primary 90,000 t of the 220,000 t.
US_CONSUMPTION_T = {
    "gallium": 19,
    "cobalt": 9_600,
    "nickel": 90_000,
    "graphite": 71_000,
    "antimony": 45_000,
    "tin": 43_000,
    "copper": 2_200_000,
    "rare_earths": 27_000,  # REO, the sum of the rare_earths_* commodities
}
#: US net import reliance 2025.
NET_IMPORT_RELIANCE = {
    "gallium": 1.00,
    "cobalt": 0.79,
    "graphite": 1.00,
    "antimony": 0.91,
    "tin": 0.77,
    "copper": 0.57,
    "rare_earths": 0.67,
}
#: ">50%" in MCS26: the import share must exceed one half.
RELIANCE_ABOVE_HALF = ("germanium", "tungsten", "lithium")
#: China's share of US imports, 2021-24.
CHINA_SHARE_OF_IMPORTS = {"rare_earths": 0.71, "antimony": 0.55, "graphite": 0.46, "gallium": 0.18}
LITHIUM_IMPORTS_T = 3_800
NICKEL_NET_IMPORTS_T = 0.41 * 220_000  # 41% net import reliance on total nickel use
TOLERANCE = 0.05


def library_files() -> list[Path]:
    """Every scenario file of the library (scenarios/sweeps/ belongs to the sweep tooling)."""
    return sorted(p for p in SCENARIOS.rglob("*.yaml") if "sweeps" not in p.relative_to(SCENARIOS).parts)


def rel(p: Path) -> str:
    return p.relative_to(SCENARIOS).as_posix()


def is_replay(p: Path) -> bool:
    return p.parent.name == "replays" and p.stem != "replay_base"


FILES = library_files()
REPLAYS = [p for p in FILES if is_replay(p)]
OTHERS = [p for p in FILES if not is_replay(p)]


# ==================================================================== provenance checker


@cache
def _raw_cached(path: Path, mtime_ns: int) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _raw(path: Path) -> dict:
    """The file's own YAML mapping, before extends (cached; do not mutate)."""
    path = Path(path).resolve()
    return _raw_cached(path, path.stat().st_mtime_ns)


def extends_chain(path: Path) -> list[Path]:
    """The file and every file it extends, base first."""
    chain = [path.resolve()]
    while (parent := _raw(chain[0]).get("extends")) is not None:
        chain.insert(0, (chain[0].parent / parent).resolve())
    return chain


def _key_lines(path: Path) -> dict[tuple, int]:
    """0-based line of the key of every mapping entry, by key path."""
    out: dict[tuple, int] = {}

    def walk(node: yaml.Node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                out[prefix + (k.value,)] = k.start_mark.line
                walk(v, prefix + (k.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, prefix + (i,))

    root = yaml.compose(path.read_text(encoding="utf-8"))
    if root is not None:
        walk(root, ())
    return out


def _inline_comment(line: str) -> str:
    """Text after a '#' that starts a comment (outside quotes, after whitespace)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1 :]
    return ""


def _comment_above(lines: list[str], i: int) -> str:
    """The block of comment-only lines directly above line ``i``."""
    out = []
    j = i - 1
    while j >= 0 and lines[j].lstrip().startswith("#"):
        out.append(lines[j])
        j -= 1
    return "\n".join(out)


def _numbers(data: object, prefix: tuple = ()) -> list[tuple]:
    """Key paths of every number or date leaf (booleans are not numbers)."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _numbers(v, prefix + (k,))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in _numbers(v, prefix + (i,))]
    if isinstance(data, (int, float, dt.date)) and not isinstance(data, bool):
        return [prefix]
    return []


def _matches(pattern: str, path: tuple) -> bool:
    """Does the assumption key ``pattern`` (dotted, fnmatch wildcards) cover ``path``?"""
    parts = pattern.split(".")
    return len(parts) <= len(path) and all(fnmatch.fnmatchcase(str(k), p) for p, k in zip(parts, path))


def _resolves(pattern: str, data: object) -> bool:
    """Does ``pattern`` name at least one existing path in ``data``?"""
    parts = pattern.split(".")
    nodes = [data]
    for p in parts:
        nodes = [v for n in nodes if isinstance(n, dict) for k, v in n.items() if fnmatch.fnmatchcase(str(k), p)]
        if not nodes:
            return False
    return True


#: Sections that are run settings or metadata, not modelled numbers.
NOT_MODEL = ("meta", "run", "extends")
CITED_KEY = re.compile(r"\b[A-Z][A-Z_]*\d{2}\b")  # MCS26, NEWS26, IMF_WEO24 ...


def provenance_problems(path: Path) -> list[str]:
    """Every provenance rule ``path`` breaks (empty list when it is fine).

    1. The resolved scenario (after ``extends``) has non-empty ``meta.sources``.
    2. Every ``meta.assumptions`` key of this file names an existing path of its resolved
       scenario (``*`` and other fnmatch wildcards allowed per key level).
    3. Every number or date this file itself writes (outside meta and run) is covered: one
       of this file's own assumption keys covers its path (a parent's assumption does not
       vouch for a changed value), or a comment on its line, on the line of one of its
       parent keys, or directly above one of those lines names a source key.
    4. Source keys cited in comments, descriptions and reasons with a year suffix (MCS26)
       are defined, and every source key this file defines is cited somewhere in the chain.
    5. The resolved ``meta.assumptions`` are those of the whole ``extends`` chain, base first
       (a variant adds to its parent's list).
    """
    problems = []
    chain = extends_chain(path)
    resolved = load_resolved_dict(path)
    sources: dict[str, str] = resolved.get("meta", {}).get("sources") or {}
    if not sources:
        problems.append("meta.sources is empty after extends")
    own = _raw(path)
    own_meta = own.get("meta") or {}
    assumptions = [a["key"] for a in own_meta.get("assumptions") or []]
    for key in assumptions:
        if not _resolves(key, resolved):
            problems.append(f"assumption key {key!r} names nothing in the resolved scenario")

    lines = path.read_text(encoding="utf-8").splitlines()
    key_lines = _key_lines(path)
    source_word = re.compile(r"\b(" + "|".join(map(re.escape, sources)) + r")\b") if sources else None
    for num in _numbers({k: v for k, v in own.items() if k not in NOT_MODEL}):
        if any(_matches(a, num) for a in assumptions):
            continue
        text = []
        for n in range(1, len(num) + 1):
            line = key_lines.get(num[:n])
            if line is not None:
                text += [_inline_comment(lines[line]), _comment_above(lines, line)]
        if not (source_word and source_word.search("\n".join(text))):
            problems.append(f"{'.'.join(map(str, num))}: number with neither a source comment nor an assumption")

    chain_text = "\n".join(f.read_text(encoding="utf-8") for f in chain)
    for key in (own_meta.get("sources") or {}):
        if len(re.findall(rf"\b{re.escape(key)}\b", chain_text)) < 2:  # the definition itself is one
            problems.append(f"source {key!r} is defined but never cited")
    for cited in set(CITED_KEY.findall(path.read_text(encoding="utf-8"))):
        if cited not in sources:
            problems.append(f"cites {cited!r}, which is not in meta.sources")
    chained = [a["key"] for f in chain for a in (_raw(f).get("meta") or {}).get("assumptions") or []]
    if [a["key"] for a in resolved.get("meta", {}).get("assumptions") or []] != chained:
        problems.append("resolved meta.assumptions are not the extends chain's, base first")
    return problems


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_every_scenario_has_checkable_provenance(path):
    assert provenance_problems(path) == []


def test_provenance_checker_catches_unsourced_numbers_and_stale_keys(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(
        f"extends: {BASELINE}\n"
        "meta:\n  assumptions:\n    - {key: reserve.gallium.target_days, reason: test}\n"
        "reserve:\n  gallium: {target_days: 45}\n"
        "  # 100,000 t (ANI26)\n  copper: {target_t: 100000, target_days: null}\n"
    )
    assert provenance_problems(good) == []

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"extends: {BASELINE}\n"
        "meta:\n  assumptions:\n    - {key: reserve.galium.target_days, reason: typo}\n"
        "  sources: {UNUSED99: never cited}\n"
        "reserve:\n  gallium: {target_days: 45}  # a guess, see NOPE12\n"
    )
    problems = provenance_problems(bad)
    assert any("reserve.galium.target_days" in p and "names nothing" in p for p in problems)
    assert any(p.startswith("reserve.gallium.target_days: number with neither") for p in problems)
    assert any("UNUSED99" in p for p in problems)
    assert any("NOPE12" in p for p in problems)


def test_readme_lists_every_scenario_with_its_parent():
    text = (SCENARIOS / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("|")]
    for path in FILES:
        row = next((r for r in rows if f"`{rel(path)}`" in r), None)
        assert row is not None, f"{rel(path)} missing from scenarios/README.md"
        parent = _raw(path).get("extends")
        if parent is not None:
            assert f"`{rel((path.parent / parent).resolve())}`" in row, f"{rel(path)}: README row lacks its parent"


# ==================================================================== calibration


@cache
def baseline_without_shocks() -> Scenario:
    data = load_resolved_dict(BASELINE, ["run.horizon_years=1"])
    data["shocks"] = {}
    return validate_data(data)


@cache
def quiet_run():
    return simulate(baseline_without_shocks(), seed=11)


def _group(commodity: str) -> str:
    return "rare_earths" if commodity.startswith("rare_earths_") else commodity


def _capacity_by(s: Scenario, key) -> dict[str, float]:
    out: dict[str, float] = {}
    for sup in s.suppliers.values():
        if key(sup):
            out[_group(sup.commodity)] = out.get(_group(sup.commodity), 0.0) + sup.capacity_tpy
    return out


def _close(value: float, target: float) -> bool:
    return abs(value - target) <= TOLERANCE * target


def test_first_year_bloc_demand_matches_us_consumption():
    ts = quiet_run().timeseries
    year = ts[(ts.arm == "reserve") & (ts.day < 365)].copy()
    year["group"] = year.commodity.astype(str).map(_group)
    demand = year.groupby("group").demand_t.sum()
    for c, target in US_CONSUMPTION_T.items():
        assert _close(demand[c], target), f"{c}: first-year demand {demand[c]:,.0f} t vs MCS26 {target:,} t"


def test_import_shares_match_net_import_reliance():
    s = baseline_without_shocks()
    total = _capacity_by(s, lambda sup: True)
    foreign = _capacity_by(s, lambda sup: sup.country != "United States")
    for c, target in NET_IMPORT_RELIANCE.items():
        assert _close(foreign[c] / total[c], target), f"{c}: import share {foreign[c] / total[c]:.3f} vs {target}"
    for c in RELIANCE_ABOVE_HALF:
        assert foreign[c] / total[c] > 0.5, c
    china = _capacity_by(s, lambda sup: sup.country == "China")
    for c, target in CHINA_SHARE_OF_IMPORTS.items():
        assert _close(china[c] / foreign[c], target), f"{c}: China {china[c] / foreign[c]:.3f} of imports vs {target}"


def test_import_volumes_match_where_usgs_gives_them():
    """Lithium imports (3,800 t) and primary nickel = net nickel imports (41% x 220,000 t)."""
    s = baseline_without_shocks()
    demand = {c: sum(m.demand_tpy.get(c, 0.0) for m in s.manufacturers.values()) for c in s.commodities}
    total = _capacity_by(s, lambda sup: True)
    foreign = _capacity_by(s, lambda sup: sup.country != "United States")
    imports = {c: demand[c] * foreign[c] / total[c] for c in ("lithium", "nickel")}
    assert _close(imports["lithium"], LITHIUM_IMPORTS_T)
    assert _close(imports["nickel"], NICKEL_NET_IMPORTS_T)


def test_undisturbed_bloc_is_balanced_with_spare_supply():
    """No shocks: nobody runs short, prices stay at reference, yet there is spare to buy."""
    r = quiet_run()
    s = baseline_without_shocks()
    for c in s.commodities:
        for arm in ("reserve", "counterfactual"):
            assert r.summary[f"{arm}.{c}.shortfall_t"] == 0.0, (arm, c)
            assert r.summary[f"{arm}.{c}.peak_price_ratio"] < 1.001, (arm, c)
        assert r.summary[f"reserve.{c}.purchases_t"] > 0, f"{c}: reserve found no spare supply to buy"


def _exposure(s: Scenario, country: str, commodity: str) -> float:
    """Share of a commodity's bloc capacity that a full ban by ``country`` removes."""
    total = lost = 0.0
    for sup in s.suppliers.values():
        if sup.commodity == commodity:
            total += sup.capacity_tpy
            share = 1.0 if sup.country == country else (sup.origin_mix or {}).get(country, 0.0)
            lost += share * sup.capacity_tpy
    return lost / total


def test_chinese_feed_reaches_refiners_abroad():
    """A Chinese ban cuts gallium made in Japan and Germany too: exposure far above China's 18% of imports."""
    data = load_resolved_dict(SCENARIOS / "replays" / "replay_base.yaml", ["run.horizon_years=0.5"])
    data["shocks"] = {
        "ban": {"kind": "export_restriction", "country": "China", "commodities": ["gallium", "rare_earths_heavy"],
                "start": 30, "duration_days": 60, "severity": 1.0},
    }
    s = validate_data(data)
    ts = simulate(s, seed=3).timeseries
    cf = ts[ts.arm == "counterfactual"]
    for c, at_least in (("gallium", 0.6), ("rare_earths_heavy", 0.9)):
        x = cf[cf.commodity == c].set_index("day").capacity_t
        drop = 1.0 - x.loc[35:85].mean() / x.loc[0:25].mean()
        assert drop == pytest.approx(_exposure(s, "China", c), abs=0.03)
        assert drop >= at_least, (c, drop)


def test_every_producing_country_carries_a_stochastic_restriction_that_bites():
    s = load_scenario(BASELINE)
    stochastic = {k: v for k, v in s.shocks.items() if isinstance(v, ExportRestriction) and v.rate_per_year}
    assert {"China", "DRC", "Indonesia", "Russia"} <= {v.country for v in stochastic.values()}
    for sid, sh in stochastic.items():
        assert len(sh.description) > 100, f"{sid}: say why the rate, duration and severity are what they are"
        for c in sh.commodities:
            assert _exposure(s, sh.country, c) > 0, f"{sid}: {sh.country} supplies no {c} to the bloc"


def test_baseline_default_run_is_fast_and_its_shocks_cost_something():
    s = load_scenario(BASELINE)
    assert len(s.suppliers) <= 62 and len(s.manufacturers) <= 8
    r = simulate(s, seed=5)
    assert r.meta["runtime_s"] < 10
    assert (r.events.event == "shock_start").sum() >= 5
    assert r.summary["counterfactual.total.shortfall_t"] > 0
    assert r.summary["difference.total.loss_avoided_usd"] > 0
    assert r.summary["finance.drawn_usd"] <= 10e9 + 1


# ==================================================================== demand growth


def _bloc_paths(s: Scenario, years: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Expected bloc demand and supplier capacity (t/yr) of each commodity at ``years``."""
    demand = {c: np.zeros_like(years) for c in s.commodities}
    cap = {c: np.zeros_like(years) for c in s.commodities}
    for m in s.manufacturers.values():
        for c, q in m.demand_tpy.items():
            demand[c] += q * (1.0 + m.growth_by_commodity.get(c, m.growth_per_year)) ** years
    for sup in s.suppliers.values():
        cap[sup.commodity] += sup.capacity_tpy * (1.0 + sup.capacity_growth_per_year) ** years
    return demand, cap


def test_battery_demand_grows_faster_and_capacity_keeps_the_spare_margin():
    """Capacity stays >= 1.15 x bloc demand for 15 years, and battery materials grow faster than 2%/yr."""
    s = load_scenario(BASELINE)
    years = np.linspace(0.0, s.run.horizon_years, 61)
    demand, cap = _bloc_paths(s, years)
    for c in s.commodities:
        ratio = cap[c] / demand[c]
        assert ratio.min() >= 1.15 - 1e-3, f"{c}: spare margin falls to {ratio.min() - 1:.1%}"
        assert ratio[-1] <= 1.16, f"{c}: capacity outgrows demand ({ratio[-1]:.3f} x by year 15)"
        growth = (demand[c][-1] / demand[c][0]) ** (1.0 / years[-1]) - 1.0
        if c in BATTERY_MATERIALS:
            assert growth > 0.0225, f"{c}: battery demand grows only {growth:.2%}/yr"
        else:
            assert growth == pytest.approx(0.02), c


def test_baseline_without_shocks_has_no_chronic_shortage_over_15_years():
    data = load_resolved_dict(BASELINE)
    data["shocks"] = {}
    s = validate_data(data)
    assert s.run.horizon_years == 15
    r = simulate(s, seed=11)
    for c in s.commodities:
        demand = r.summary[f"counterfactual.{c}.demand_t"]
        for arm in ("reserve", "counterfactual"):
            assert r.summary[f"{arm}.{c}.shortfall_t"] <= 1e-9 * demand, (arm, c)
            assert r.summary[f"{arm}.{c}.peak_price_ratio"] < 1.001, (arm, c)


# ==================================================================== loss per tonne by sector


def test_loss_multipliers_keep_the_bloc_loss_comparable():
    """Sector multipliers move loss between buyers; the bloc's demand-weighted mean stays near 1."""
    s = load_scenario(BASELINE)
    mults = {mid: m.loss_multiplier for mid, m in s.manufacturers.items()}
    assert len(set(mults.values())) > 1
    for c in s.commodities:
        dem = {mid: m.demand_tpy.get(c, 0.0) for mid, m in s.manufacturers.items()}
        mean = sum(dem[mid] * mults[mid] for mid in dem) / sum(dem.values())
        assert 0.8 <= mean <= 1.5, f"{c}: demand-weighted loss multiplier {mean:.2f}"
    members = [m.loss_multiplier for m in s.manufacturers.values() if m.member]
    others = [m.loss_multiplier for m in s.manufacturers.values() if not m.member]
    assert min(members) > max(others), "member sectors are the higher-value users"


def test_release_allocation_matters_through_loss_multipliers():
    """The antimony replay runs the stock down. Members only: more tonnes short (non-members unserved)
    but less loss, because the stock goes to higher-value users; with uniform multipliers it loses more.
    Members first and pro rata differ only on days when releases are rationed."""
    path = SCENARIOS / "replays" / "china_antimony_2024.yaml"

    def run(allocation: str, uniform: bool = False) -> dict:
        s = load_scenario(path, [f"reserve.antimony.release.allocation={allocation}"])
        if uniform:
            for m in s.manufacturers.values():
                m.loss_multiplier = 1.0
        return simulate(s, seed=1).summary

    first, pro_rata, only = run("members_first"), run("pro_rata"), run("members_only")
    key_t, key_usd = "reserve.antimony.shortfall_t", "reserve.antimony.loss_usd"
    assert only[key_t] > first[key_t]
    assert only[key_usd] < first[key_usd] <= pro_rata[key_usd] + 1.0
    assert run("members_only", uniform=True)[key_usd] > run("members_first", uniform=True)[key_usd]


# ==================================================================== every scenario runs

#: Ratio KPIs that are empty (NaN) when their denominator is zero: no net cost, no debt service
#: due, no liabilities, nothing disbursed, no loan.
UNDEFINED_WHEN_NOTHING_TO_DIVIDE = (
    "benefit_cost_ratio", "min_dscr", "asset_cover_at_horizon", "subsidy_rate", "loan_rate_per_year",
)


@pytest.mark.parametrize("path", OTHERS, ids=rel)
def test_scenario_validates_and_runs_shortened(path):
    s = load_scenario(path, [f"run.horizon_years={SHORT_HORIZON_YEARS}"])
    assert s.meta.description.strip()
    r = simulate(s, seed=1)
    assert len(r.timeseries) == 2 * len(s.commodities) * s.run.horizon_days
    assert all(np.isfinite(v) for k, v in r.summary.items() if not k.endswith(UNDEFINED_WHEN_NOTHING_TO_DIVIDE))


@cache
def replay_run(path: Path):
    s = load_scenario(path)
    return s, simulate(s, seed=1)


def _shocked(s: Scenario) -> set[str]:
    out: set[str] = set()
    for sh in s.shocks.values():
        if isinstance(sh, SupplierOutage):
            out |= {s.suppliers[x].commodity for x in sh.suppliers}
        else:
            out |= set(sh.commodities)
    return out


@pytest.mark.parametrize("path", REPLAYS, ids=rel)
def test_replay_is_a_scheduled_event_inside_a_short_horizon(path):
    s = load_scenario(path)
    assert s.run.horizon_years <= LONGEST_REPLAY_YEARS
    assert "extends" in _raw(path)
    assert s.shocks, "a replay needs its scheduled shocks"
    for sid, sh in s.shocks.items():
        assert sh.enabled and sh.start is not None and sh.rate_per_year is None, f"{sid}: not a scheduled shock"
        start = s.day_of(sh.start)
        assert start < s.run.horizon_days, f"{sid} starts after the horizon"
        assert start + sh.duration_days.mean_value() > 0, f"{sid} is over before day 0"
    assert any(s.day_of(sh.start) > 0 for sh in s.shocks.values()), "run.start_date should precede the event"


@pytest.mark.parametrize("path", REPLAYS, ids=rel)
def test_replay_hits_the_shocked_commodity_only(path):
    s, r = replay_run(path)
    S = r.summary
    shocked = _shocked(s)
    for c in s.commodities:
        short, peak = S[f"counterfactual.{c}.shortfall_t"], S[f"counterfactual.{c}.peak_price_ratio"]
        if c in shocked:
            assert short > 0 or peak > 1.05, f"{c}: shocked but no shortfall and no price rise"
            assert S[f"reserve.{c}.shortfall_t"] <= short + 1e-9
            if short > 0:
                assert S[f"reserve.{c}.shortfall_t"] < short, f"{c}: the full reserve should avoid some shortfall"
        else:
            assert short == 0.0 and peak < 1.005, f"{c}: not shocked, yet short {short:.3g} t, peak {peak:.3f}"


# ==================================================================== price calibration


def _calibration():
    """scenarios/calibrate_prices.py: the observed moves and the tolerance (one source of truth)."""
    spec = importlib.util.spec_from_file_location("scenarios_calibrate_prices", SCENARIOS / "calibrate_prices.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


CAL = _calibration()


@pytest.mark.parametrize("target", CAL.PEAKS, ids=lambda t: f"{t.replay}:{t.commodity}")
def test_replay_reproduces_the_observed_price_move(target):
    """Counterfactual peak price ratio: rise within a factor CAL.RISE_FACTOR of the observed rise."""
    s, r = replay_run(SCENARIOS / "replays" / f"{target.replay}.yaml")
    assert CAL.SEED == 1  # replay_run's seed
    peak = r.summary[f"counterfactual.{target.commodity}.peak_price_ratio"]
    assert CAL.within(peak, target.observed), (
        f"{target.commodity}: model peak {peak:.2f}x vs observed {target.observed:.2f}x ({target.what})"
    )
    assert peak < 0.9 * s.commodities[target.commodity].price_cap_ratio, "the cap should not bind"


@pytest.mark.parametrize("speed", [x for x in CAL.SPEEDS if x.tested], ids=lambda x: f"{x.replay}:{x.commodity}")
def test_replay_price_moves_at_the_observed_speed(speed):
    s, r = replay_run(SCENARIOS / "replays" / f"{speed.replay}.yaml")
    ts = r.timeseries
    price = ts[(ts.arm == "counterfactual") & (ts.commodity == speed.commodity)].set_index("day").price_usd_per_t
    ratio = price.loc[s.day_of(s.shocks[speed.shock].start) + speed.days] / s.commodities[
        speed.commodity].reference_price_usd_per_t
    assert CAL.within(ratio, speed.observed), f"{speed.what}: model {ratio:.2f}x after {speed.days} days"


def test_every_shocked_replay_commodity_has_an_observed_move_or_says_why_not():
    listed = {(t.replay, t.commodity) for t in CAL.PEAKS} | set(CAL.UNOBSERVED)
    for path in REPLAYS:
        s, _ = replay_run(path)
        for c in _shocked(s):
            assert (path.stem, c) in listed, f"{rel(path)}: {c} is shocked; add it to PEAKS or UNOBSERVED"


def test_fitted_elasticities_name_their_replay_and_observation():
    """Each fitted price_elasticity has its own baseline assumption naming the replay it was fitted to."""
    reasons = {a["key"]: a["reason"] for a in _raw(BASELINE)["meta"]["assumptions"]}
    s = load_scenario(BASELINE)
    for t in CAL.PEAKS:
        reason = reasons.get(f"commodities.{t.commodity}.price_elasticity", "")
        assert f"replays/{t.replay}.yaml" in reason, t.commodity
    for c in s.commodities:
        assert f"commodities.{c}.price_elasticity" in reasons, f"{c}: say where its elasticity comes from"


def test_replay_base_is_quiet_and_full():
    s, r = replay_run(SCENARIOS / "replays" / "replay_base.yaml")
    assert not s.shocks
    for c, res in s.reserve.items():
        demand = sum(m.demand_tpy.get(c, 0.0) for m in s.manufacturers.values())
        assert res.initial_stock_t == pytest.approx(demand * 60 / 365, rel=0.01), c
        assert r.summary[f"counterfactual.{c}.shortfall_t"] == 0.0


def test_policy_variants_move_the_results_they_should():
    """One paired 3-year run per variant on common random numbers (same seed)."""
    over = ["run.horizon_years=3"]

    def run(name: str) -> dict:
        path = BASELINE if name == "baseline" else SCENARIOS / "policies" / f"{name}.yaml"
        return simulate(load_scenario(path, over), seed=2).summary

    base, none, t30, t180, dear = (run(n) for n in ("baseline", "no_reserve", "target_30d", "target_180d",
                                                     "dearer_loan"))
    assert none["finance.drawn_usd"] == 0 and none["difference.total.shortfall_avoided_t"] == 0
    assert none["counterfactual.total.shortfall_t"] == base["counterfactual.total.shortfall_t"]
    assert t30["reserve.total.reserve_peak_value_usd"] < base["reserve.total.reserve_peak_value_usd"]
    assert base["reserve.total.reserve_peak_value_usd"] < t180["reserve.total.reserve_peak_value_usd"]
    assert dear["finance.interest_paid_usd"] > base["finance.interest_paid_usd"]


def test_supply_projects_are_financed_by_their_named_lenders():
    s = load_scenario(SCENARIOS / "policies" / "supply_projects.yaml")
    lenders = {pid: s.financing.facilities[p.facility].lender for pid, p in s.projects.items()}
    by_lender: dict[str, float] = {}
    for pid, p in s.projects.items():
        by_lender[lenders[pid]] = by_lender.get(lenders[pid], 0.0) + p.capex_usd
    # ANI26: EXIM 455 + 400 + 350 + 215; DFC 565 + 700 (USD million)
    assert by_lender == {"EXIM": pytest.approx(1_420e6), "DFC": pytest.approx(1_265e6)}
    short = load_scenario(SCENARIOS / "policies" / "supply_projects.yaml", ["run.horizon_years=1"])
    r = simulate(short, seed=4)
    assert (r.events.event == "project_start").sum() == len(s.projects)
    # each project is its own company: it draws its capex on its lender's facility, not on programme cash
    assert r.summary["finance.capex_usd"] == 0
    for pid in s.projects:
        assert r.summary[f"project.{pid}.capex_usd"] > 0
    facilities = {fid: f for fid, f in s.financing.facilities.items() if f.purpose == "projects"}
    assert r.summary["budget.disbursements_usd"] > sum(p.capex_usd for p in s.projects.values()) * 0.1
    assert all(f.lender in ("EXIM", "DFC") for f in facilities.values())
