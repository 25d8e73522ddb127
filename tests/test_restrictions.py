"""Export restrictions as clustered regimes: episode data, pure sampler, fit, engine process, variants."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim import load_scenario, simulate
from sim.calibration.regime_data import DataError, load_episodes, path_stats, window_segments
from sim.calibration.regime_fit import fit, observe, rate_multiplier
from sim.core.rng import Streams
from sim.model.regimes import (
    BetaSeverity,
    CountryCells,
    RegimeParams,
    Segment,
    Tension,
    params_from_shock,
    sample_paths,
)
from sim.scenario.loader import ScenarioError, validate_data
from tests.builders import base_dict, merge

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "scenarios" / "data" / "export_restrictions.csv"
VARIANTS = [ROOT / "scenarios" / "disruptions" / f"{w}.yaml" for w in ("calm", "history", "escalation")]
YEAR = 365.0


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scenarios" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses in the script look their module up
    spec.loader.exec_module(mod)
    return mod


def clustered(tension: bool = True) -> RegimeParams:
    """A process with every part of the common factor on (tension optional)."""
    countries = (CountryCells("A", ("a1", "a2", "a3", "a4"), 0.2), CountryCells("B", ("b1", "b2"), 0.5))
    return RegimeParams(countries, 600.0, BetaSeverity(0.6, 0.2), severity_change_rate_per_year=0.5,
                        targeted_share=0.1, tension=Tension(0.2, 1.0, 20.0) if tension else None,
                        package_breadth=0.5, lift_breadth=0.5)


# ==================================================================== the data set


def test_every_row_has_a_source_defined_in_every_variant_that_uses_the_fit():
    keys = {e.source for e in load_episodes(DATA)}
    for path in VARIANTS:
        sources = load_scenario(path).meta.sources
        assert keys <= set(sources), f"{path.name}: undefined source keys {sorted(keys - set(sources))}"
        assert "RESTRICTIONS25" in sources and "data version" in sources["RESTRICTIONS25"]


def test_data_set_holds_the_episodes_the_issue_lists():
    eps = load_episodes(DATA)

    def has(country: str, commodity: str, year: int, open_: bool | None = None, targeted: bool = False) -> bool:
        return any(e.country == country and commodity in e.commodities and e.effective.year == year
                   and (open_ is None or (e.end is None) == open_) and e.targeted_at_bloc == targeted for e in eps)

    assert any(e.country == "China" and "rare_earths_heavy" in e.commodities and e.effective.year < 2009
               and e.end == dt.date(2015, 5, 1) for e in eps), "rare-earth quotas 2009-2015"
    assert has("China", "rare_earths_light", 2010)  # the Sep-Nov 2010 halt to Japan
    assert has("Indonesia", "nickel", 2014, open_=False) and has("Indonesia", "nickel", 2020, open_=True)
    assert has("Zimbabwe", "lithium", 2022)
    assert has("China", "gallium", 2023) and has("China", "germanium", 2023) and has("China", "graphite", 2023)
    assert has("China", "antimony", 2024) and has("China", "antimony", 2024, targeted=True)
    assert has("China", "tungsten", 2025) and has("China", "rare_earths_heavy", 2025)
    assert sum(e.country == "China" and "rare_earths_ndpr" in e.commodities and e.effective.year == 2025
               for e in eps) == 1  # the Oct 2025 expansion
    assert has("DRC", "cobalt", 2025)
    for e in eps:
        assert e.end is None or e.end <= dt.date(2025, 12, 31), f"line {e.line}: ends after the cut-off"


def test_bad_row_names_file_line_and_column(tmp_path):
    text = DATA.read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(text) if line.startswith("cn_re_japan,"))
    text[i] = text[i].replace("2010-09-21", "2010-21-09")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"bad\.csv:{i + 1}: effective: expected a date YYYY-MM-DD"):
        load_episodes(bad)


def test_overlapping_rows_merge_into_one_episode_per_country_and_commodity():
    """Ga: licensing (1.0, then 0.5) overlaid by the Dec 2024 US ban (1.0, targeted); DRC: halt then quota."""
    segs = window_segments(load_episodes(DATA), dt.date(2009, 1, 1), dt.date(2026, 1, 1))
    ga = [s for s in segs if s.commodity == "gallium"]
    assert len({s.episode for s in ga}) == 1
    assert [(s.severity, s.targeted) for s in ga] == [(1.0, False), (0.5, False), (1.0, True), (0.5, False)]
    assert ga[-1].end_day == (dt.date(2026, 1, 1) - dt.date(2009, 1, 1)).days  # still on at the cut-off
    co = [s for s in segs if s.country == "DRC"]
    assert len({s.episode for s in co}) == 1 and co[0].start_day == (dt.date(2025, 2, 22) - dt.date(2009, 1, 1)).days
    quota = [s for s in segs if s.commodity == "rare_earths_heavy" and s.start_day == 0.0]
    assert quota, "the quota regime in force before 2009 is on at day 0"


def test_path_stats_of_a_hand_made_path():
    segs = [Segment("A", "x", 0.0, 10.0, 0.5, 0), Segment("A", "x", 10.0, 30.0, 0.9, 0),
            Segment("A", "y", 20.0, 40.0, 0.5, 1), Segment("B", "x", 25.0, 50.0, 0.3, 2)]
    st = path_stats(segs, 100, ["x", "y", "z"])
    assert st["episodes"] == 3 and st["longest_episode_days"] == 30.0
    assert st["days.x"] == 50 and st["days.y"] == 20 and st["days.z"] == 0
    assert st["share_days_2plus"] == pytest.approx(20 / 100)  # days 20-39: x and y


# ==================================================================== the pure sampler


def test_sampled_segments_are_well_formed_and_reproducible():
    p = clustered()
    a = sample_paths(p, 20 * YEAR, np.random.default_rng(5))
    assert a == sample_paths(p, 20 * YEAR, np.random.default_rng(5))
    assert a != sample_paths(p, 20 * YEAR, np.random.default_rng(6))
    by_cell: dict[tuple[str, str], list[Segment]] = {}
    for s in a:
        assert 0.0 <= s.start_day < s.end_day <= 20 * YEAR and 0.0 <= s.severity <= 1.0
        by_cell.setdefault((s.country, s.commodity), []).append(s)
    for segs in by_cell.values():
        segs.sort(key=lambda s: s.start_day)
        for x, y in zip(segs, segs[1:]):
            assert y.start_day >= x.end_day  # one restriction per cell at a time
            assert y.episode != x.episode or y.start_day == x.end_day  # an episode's segments touch
    assert {(s.country, s.commodity) for s in a} <= set(p.cells)


def _cell_history(segs: list[Segment], cell: tuple[str, str]) -> tuple[list[float], list[float], float, int]:
    """Complete gaps and durations of one cell, its free days and its onsets (episodes joined)."""
    eps: dict[int, list[float]] = {}
    for s in segs:
        if (s.country, s.commodity) == cell:
            a, b = eps.setdefault(s.episode, [s.start_day, s.end_day])
            eps[s.episode] = [min(a, s.start_day), max(b, s.end_day)]
    spans = sorted(eps.values())
    durations = [b - a for a, b in spans[1:-1]]
    gaps = [c - b for (_, b), (c, _) in zip(spans, spans[1:])]
    return gaps, durations, sum(gaps), len(spans) - 1


def _on_matrix(segs: list[Segment], cells: list[tuple[str, str]], days: int) -> np.ndarray:
    on = np.zeros((len(cells), days), dtype=bool)
    for s in segs:
        on[cells.index((s.country, s.commodity)), int(s.start_day) : int(s.end_day)] = True
    return on


@pytest.mark.parametrize("part", ["all off", "moves and lifts on, tension off"])
def test_each_cell_keeps_its_marginal_rates_and_without_the_factor_cells_are_independent(part):
    """Seeded, 2,000 simulated years.

    Switching the factor off leaves independent cells whose gaps are exponential with mean
    1 / onset_rate and whose durations are exponential with mean mean_duration_days (KS tests,
    Poisson test of the onset count), i.e. independent processes with the same marginal
    rates. Moves and lifts alone keep those marginals but make cells co-move, which the
    same correlation check detects (so the check can fail).
    """
    p = clustered(tension=False)
    p = p.without_factor() if part == "all off" else p
    days = int(2000 * YEAR)
    segs = sample_paths(p, days, np.random.default_rng(11))
    for c in p.countries:
        lam = c.onset_rate_per_year / YEAR
        for m in c.commodities:
            gaps, durations, free, onsets = _cell_history(segs, (c.country, m))
            assert abs(onsets - lam * free) < 4 * math.sqrt(lam * free), (c.country, m, onsets, lam * free)
            assert stats.kstest(gaps, "expon", args=(0, 1 / lam)).pvalue > 1e-3, (c.country, m)
            assert stats.kstest(durations, "expon", args=(0, p.mean_duration_days)).pvalue > 1e-3, (c.country, m)
    on = _on_matrix(segs, list(p.cells), days)
    same_country = np.corrcoef(on[:4])[np.triu_indices(4, 1)]
    first: dict[int, float] = {}
    for s in segs:
        first[s.episode] = min(first.get(s.episode, math.inf), s.start_day)
    starts = [t for t in first.values() if t > 0.0]
    simultaneous = len(starts) - len(set(starts))
    if part == "all off":
        assert np.abs(same_country).max() < 0.1
        assert simultaneous == 0
    else:
        assert same_country.min() > 0.2
        assert simultaneous > 100


def test_tension_clusters_a_countrys_moves_in_time():
    """With tension on, moves of one country come in tense spells: overdispersed yearly counts."""
    p = clustered()
    counts = {}
    for name, q in (("on", p), ("off", RegimeParams(p.countries, p.mean_duration_days, p.severity,
                                                     package_breadth=p.package_breadth))):
        segs = sample_paths(q, 3000 * YEAR, np.random.default_rng(3))
        moves = sorted({s.start_day for s in segs if s.country == "A" and s.start_day > 0})
        counts[name] = np.bincount((np.array(moves) // (2 * YEAR)).astype(int), minlength=1500)
    dispersion = {k: v.var() / v.mean() for k, v in counts.items()}
    assert dispersion["off"] < 1.3 < 1.8 < dispersion["on"], dispersion


# ==================================================================== the fit


def test_fit_recovers_known_parameters_from_synthetic_episodes():
    """400 simulated years of four countries.

    Tolerance: every likelihood parameter (onset rates, duration, both breadths, tension
    switching rates and multiplier) lies within 3.5 standard errors (Hessian, log or logit
    scale) of the truth, and those errors are small enough to mean something (< 0.45);
    severity mean and sd within 0.03, change rate within 20%, targeted share within 0.03.
    """
    countries = tuple(CountryCells(f"K{i}", tuple(f"c{j}" for j in range(n)), r)
                      for i, (r, n) in enumerate([(0.05, 8), (0.1, 6), (0.2, 4), (0.3, 2)]))
    true = RegimeParams(countries, 1500.0, BetaSeverity(0.6, 0.25), 0.3, 0.1, Tension(0.05, 0.5, 20.0), 0.4, 0.3)
    horizon = 400 * YEAR
    segs = sample_paths(true, horizon, np.random.default_rng(300))
    res = fit(segs, {c.country: c.commodities for c in countries}, horizon, n_starts=1, with_se=True)
    p = res.params
    logit = lambda x: math.log(x / (1 - x))  # noqa: E731
    pairs = {f"rate.K{i}": (math.log(e.onset_rate_per_year), math.log(t.onset_rate_per_year))
             for i, (e, t) in enumerate(zip(p.countries, countries))}
    pairs |= {
        "duration": (math.log(p.mean_duration_days), math.log(1500.0)),
        "breadth": (logit(p.package_breadth), logit(0.4)),
        "lift_breadth": (logit(p.lift_breadth), logit(0.3)),
        "tension.calm_to_tense": (math.log(p.tension.calm_to_tense_per_year), math.log(0.05)),
        "tension.tense_to_calm": (math.log(p.tension.tense_to_calm_per_year), math.log(0.5)),
        "tension.excess": (math.log(p.tension.multiplier - 1), math.log(19.0)),
    }
    for name, (est, truth) in pairs.items():
        se = res.log_se[name]
        assert se < 0.45, (name, se)
        assert abs(est - truth) <= 3.5 * se, (name, math.exp(est), math.exp(truth), se)
    assert p.severity.mean == pytest.approx(0.6, abs=0.03) and p.severity.sd == pytest.approx(0.25, abs=0.03)
    assert p.severity_change_rate_per_year == pytest.approx(0.3, rel=0.2)
    assert p.targeted_share == pytest.approx(0.1, abs=0.03)


def test_fit_without_the_factor_is_the_poisson_and_exponential_mle():
    p = clustered().without_factor()
    horizon = 500 * YEAR
    segs = sample_paths(p, horizon, np.random.default_rng(8))
    cells = {c.country: c.commodities for c in p.countries}
    res = fit(segs, cells, horizon, factor=False, initial="conditional")
    obs = observe(segs, cells, horizon)
    for c in res.params.countries:
        d = obs.countries[c.country]
        assert c.onset_rate_per_year == pytest.approx(d.onsets / d.off_days * YEAR, rel=1e-3)
    assert res.params.mean_duration_days == pytest.approx(obs.on_days / obs.ends, rel=1e-3)
    assert res.params.mean_duration_days == pytest.approx(600.0, rel=0.1)


def test_window_multiplier_is_onsets_seen_over_expected():
    p = clustered().without_factor()
    segs = sample_paths(p, 50 * YEAR, np.random.default_rng(2))
    obs = observe(segs, {c.country: c.commodities for c in p.countries}, 50 * YEAR)
    rates = {c.country: c.onset_rate_per_year for c in p.countries}
    s, seen, expected = rate_multiplier(obs, rates)
    assert seen == sum(d.onsets for d in obs.countries.values())
    assert s == pytest.approx(seen / expected)
    assert rate_multiplier(obs, {k: 2 * v for k, v in rates.items()})[0] == pytest.approx(s / 2)


# ==================================================================== engine and scenarios


def _regime_scenario(**shock):
    data = merge(base_dict(), {
        "commodities": {"ge": {"reference_price_usd_per_t": 1000.0, "value_of_lost_output_usd_per_t": 1e4,
                               "price_adjust_per_day": 0.0, "market_stock_days": 0.0}},
        "suppliers": {
            "s1": {"commodity": "ga", "country": "A", "capacity_tpy": 365.0},
            "s2": {"commodity": "ga", "country": "B", "capacity_tpy": 365.0, "origin_mix": {"A": 0.5, "B": 0.5}},
            "s3": {"commodity": "ge", "country": "A", "capacity_tpy": 365.0},
        },
        "manufacturers": {"m1": {"demand_tpy": {"ga": 365.0, "ge": 365.0}}},
        "run": {"horizon_years": 4},
    })
    data["shocks"] = {"reg": {"kind": "restriction_regime", "countries": {"A": {"commodities": ["ga", "ge"],
                      "onset_rate_per_year": 1.0}}, "mean_duration_days": 120, "severity": {"dist": "beta",
                      "mean": 0.6, "sd": 0.2}, "severity_change_rate_per_year": 2.0, "package_breadth": 0.5,
                      "tension": {"calm_to_tense_per_year": 0.5, "tense_to_calm_per_year": 2,
                                  "multiplier": 5}} | shock}
    return validate_data(data)


def test_engine_plays_the_sampled_segments_as_export_restrictions():
    """Events are the pure sampler's segments from the shock's own stream, and each cuts supply
    exactly as an export_restriction of that country and commodity does (exposure x severity)."""
    s = _regime_scenario()
    seed = 4
    segs = sample_paths(params_from_shock(s.shocks["reg"]), s.run.horizon_days,
                        Streams(seed, 0).stream("shock:reg"))
    assert len(segs) > 5
    r = simulate(s, seed=seed)
    ev = r.events[r.events.event == "shock_start"]
    assert sorted(zip(ev.source, ev.value.round(12))) == sorted(
        (f"reg:{g.country}:{g.commodity}", round(g.severity, 12)) for g in segs)
    ts = r.timeseries[r.timeseries.arm == "counterfactual"]
    cap = {c: ts[ts.commodity == c].set_index("day").capacity_t for c in ("ga", "ge")}
    for day in range(s.run.horizon_days):
        sev = {c: 0.0 for c in cap}
        for g in segs:
            if g.start_day <= day + 0.5 < g.end_day:
                sev[g.commodity] = g.severity
        assert cap["ga"][day] == pytest.approx(1.0 - sev["ga"] + 1.0 - 0.5 * sev["ga"], abs=1e-9), day
        assert cap["ge"][day] == pytest.approx(1.0 - sev["ge"], abs=1e-9), day


def test_regime_shock_is_checked_like_any_section():
    with pytest.raises(ScenarioError, match="mean_duration"):
        _regime_scenario(mean_duration_day=10)
    with pytest.raises(ScenarioError, match="unknown country 'Atlantis'"):
        _regime_scenario(countries={"Atlantis": {"commodities": ["ga"], "onset_rate_per_year": 0.1}})
    with pytest.raises(ScenarioError, match="unknown commodity 'gaa'"):
        _regime_scenario(countries={"A": {"commodities": ["gaa"], "onset_rate_per_year": 0.1}})


def test_variants_replace_the_independent_restrictions_with_the_fitted_regime():
    fit_script = _script("fit_restrictions")
    rates = {}
    for path in VARIANTS:
        s = load_scenario(path)
        on = {k: v for k, v in s.shocks.items() if v.enabled}
        assert list(on) == ["fitted_restrictions"] and on["fitted_restrictions"].kind == "restriction_regime"
        shock = on["fitted_restrictions"]
        assert {"China", "Indonesia", "DRC"} == set(shock.countries)
        rates[path.stem] = shock.countries["China"].onset_rate_per_year
        assert fit_script.DATA_VERSION in s.meta.sources["RESTRICTIONS25"]
    assert rates["calm"] < rates["history"] < rates["escalation"]
