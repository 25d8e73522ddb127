#!/usr/bin/env python3
"""Fit the restriction-regime process to the episode data set and write the disruption variants.

    python scenarios/fit_restrictions.py                 # fit, print, write scenarios/disruptions/*.yaml
    python scenarios/fit_restrictions.py --no-write      # fit and print only
    python scenarios/fit_restrictions.py --profile       # also profile the tension multiplier (slower)

Method (stated in every file it writes):

* ``history``: maximum likelihood on 2009-01-01 .. 2025-12-31 of every parameter of
  ``sim.model.regimes`` (per-country onset rates, mean duration, move breadth, tension chain)
  by ``sim.calibration.regime_fit.fit``; severity-change rate, targeted share and the severity
  distribution by their closed-form estimates.
* ``calm`` (2009-2022) and ``escalation`` (2023-2025): the history's structure with every
  country's onset rate multiplied by one window multiplier, the Poisson MLE
  ``onsets seen in the window / onsets expected there at the history's rates``. The data
  hold 0-12 onsets per country per window, too few for separate rates; one multiplier keeps
  the history's pattern across countries and takes the level from the window.

Only cells the scenario can feel are written: commodities of ``project_vault.yaml`` restricted
by countries that supply the bloc (directly or through ``origin_mix``). Dropping the other
cells is exact: each move covers each free cell independently, so the moves seen by a subset
of cells are the same process on that subset.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sim import load_scenario  # noqa: E402
from sim.calibration.regime_data import DataError, Episode, cells_of, load_episodes, window_segments  # noqa: E402
from sim.calibration.regime_fit import FitResult, fit, observe, rate_multiplier  # noqa: E402
from sim.model.regimes import CountryCells, RegimeParams  # noqa: E402

DATA = HERE / "data" / "export_restrictions.csv"
SOURCES = HERE / "data" / "export_restrictions_sources.csv"
OUT = HERE / "disruptions"
BASELINE = HERE / "project_vault.yaml"
DATA_VERSION = "v1"
CUTOFF = dt.date(2025, 12, 31)
DATA_KEY = "RESTRICTIONS25"
SHOCK_ID = "fitted_restrictions"
WINDOWS = {
    "calm": (dt.date(2009, 1, 1), dt.date(2023, 1, 1)),
    "history": (dt.date(2009, 1, 1), CUTOFF + dt.timedelta(days=1)),
    "escalation": (dt.date(2023, 1, 1), CUTOFF + dt.timedelta(days=1)),
}
QUESTIONS = {
    "calm": "What does the baseline reserve avoid and cost if export restrictions start as rarely as in "
    "2009-2022?",
    "history": "What does the baseline reserve avoid and cost against export restrictions that behave as in "
    "2009-2025: fewer, longer, clustered regimes instead of the baseline's independent shocks?",
    "escalation": "What does the baseline reserve avoid and cost if export restrictions keep starting at their "
    "2023-2025 pace?",
}
MULTIPLIER_GRID = (1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass
class WindowFit:
    """The parameters of one window and how they were obtained."""

    name: str
    params: RegimeParams
    multiplier: float  # of the history's onset rates (1 for the history itself)
    seen: int
    expected: float
    ci: tuple[float, float]


def poisson_ratio_ci(seen: int, expected: float) -> tuple[float, float]:
    """Exact 95% interval of ``seen / expected`` for a Poisson count."""
    lo = stats.chi2.ppf(0.025, 2 * seen) / 2.0 if seen > 0 else 0.0
    hi = stats.chi2.ppf(0.975, 2 * seen + 2) / 2.0
    return lo / expected, hi / expected


def fit_windows(episodes: list[Episode]) -> tuple[FitResult, dict[str, WindowFit]]:
    """The history fit and the three windows' parameters (all cells of the data set)."""
    cells = cells_of(episodes)
    start, end = WINDOWS["history"]
    history = fit(window_segments(episodes, start, end), cells, (end - start).days, with_se=True)
    rates = {c.country: c.onset_rate_per_year for c in history.params.countries}
    out = {}
    for name, (a, b) in WINDOWS.items():
        obs = observe(window_segments(episodes, a, b), cells, (b - a).days)
        s, seen, expected = rate_multiplier(obs, rates)
        if name == "history":
            params = history.params
            s_used = 1.0
        else:
            params = replace(history.params, countries=tuple(
                CountryCells(c.country, c.commodities, c.onset_rate_per_year * s) for c in history.params.countries))
            s_used = s
        out[name] = WindowFit(name, params, s_used, seen, expected, poisson_ratio_ci(seen, expected))
    return history, out


def multiplier_profile(episodes: list[Episode], history: FitResult) -> list[tuple[float, float]]:
    """(multiplier, log-likelihood maximised over the rest) on ``MULTIPLIER_GRID``."""
    cells = cells_of(episodes)
    start, end = WINDOWS["history"]
    segs = window_segments(episodes, start, end)
    return [(m, fit(segs, cells, (end - start).days, multiplier=m).loglik) for m in MULTIPLIER_GRID]


def scenario_params(params: RegimeParams, baseline=None) -> RegimeParams:
    """Keep the cells the scenario can feel: its commodities, restricted by countries that reach the bloc."""
    s = baseline or load_scenario(BASELINE)
    countries = {sup.country for sup in s.suppliers.values()}
    for sup in s.suppliers.values():
        countries |= set((sup.origin_mix or {}).keys())
    kept = []
    for c in params.countries:
        comms = tuple(m for m in c.commodities if m in s.commodities)
        if c.country in countries and comms:
            kept.append(CountryCells(c.country, comms, c.onset_rate_per_year))
    return replace(params, countries=tuple(kept))


def _g(x: float, digits: int = 4) -> str:
    """A number with ``digits`` significant digits, written so YAML reads it as a float."""
    if x == 0:
        return "0.0"
    text = f"{x:.{digits}g}"
    return text if any(ch in text for ch in ".e") else text + ".0"


def read_sources() -> dict[str, str]:
    """Source key -> citation of every row of the data set."""
    with SOURCES.open(newline="", encoding="utf-8") as f:
        return {r["key"]: r["citation"] for r in csv.DictReader(f)}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(wf: WindowFit, history: FitResult, fit_date: dt.date, sources: dict[str, str], n_rows: int,
           baseline=None) -> str:
    """The YAML text of one disruption variant."""
    p = scenario_params(wf.params, baseline)
    t = p.tension
    a, b = WINDOWS[wf.name]
    span = f"{a.isoformat()} .. {(b - dt.timedelta(days=1)).isoformat()}"
    if wf.name == "history":
        how = (f"Maximum likelihood on {span} (sim/calibration/regime_fit.py): onset rates per country, mean "
               "duration, move and lift breadths and the tension chain jointly; severity beta by moments; change rate "
               "and targeted share by their Poisson and binomial estimates. Log-likelihood "
               f"{history.loglik:.1f}.")
    else:
        how = (f"The history fit (2009-2025) with every onset rate multiplied by {wf.multiplier:.3g}, the "
               f"Poisson MLE of one multiplier for {span}: {wf.seen} onsets seen where the history's rates "
               f"expect {wf.expected:.1f} (95% interval {wf.ci[0]:.2g}-{wf.ci[1]:.2g}). The data hold too few "
               "onsets per country in one window for separate rates, so the window sets the level and the "
               "history the pattern, durations, severities and clustering.")
    baseline_shocks = list((baseline or load_scenario(BASELINE)).shocks)
    data_citation = (f"scenarios/data/export_restrictions.csv, data version {DATA_VERSION}: {n_rows} sourced "
                     f"export-restriction episodes 2009-2025, cut-off {CUTOFF.isoformat()}; regime parameters "
                     f"fitted by scenarios/fit_restrictions.py on {fit_date.isoformat()}")
    reason = (f"{how} Fitted {fit_date.isoformat()}, data {DATA_VERSION}. Severities the data set marks as ours "
              "are our estimates; cells are the countries and commodities of the data set that the bloc is "
              "exposed to.")
    lines = [
        f"# Disruption variant \"{wf.name}\": export restrictions as persistent regimes, clustered by country,",
        "# fitted to the episode data set.",
        *textwrap.wrap(QUESTIONS[wf.name], 94, initial_indent="# ", subsequent_indent="# "),
        "#",
        f"# GENERATED by scenarios/fit_restrictions.py on {fit_date.isoformat()} from",
        f"# scenarios/data/export_restrictions.csv, data version {DATA_VERSION} (cut-off {CUTOFF.isoformat()}).",
        "# Do not edit by hand: re-run the script. Method: see the assumption on shocks.fitted_restrictions.",
        *textwrap.wrap(f"Sources of the data set's rows (defined under meta.sources): {', '.join(sources)}.", 94,
                       initial_indent="# ", subsequent_indent="# "),
        "extends: ../project_vault.yaml",
        "",
        "meta:",
        f"  name: disruptions_{wf.name}",
        "  description: >",
        *textwrap.wrap(f"Baseline reserve against export restrictions fitted to {n_rows} episodes of 2009-2025 "
                       f"(window {span}). Question: {QUESTIONS[wf.name]} The baseline's ten independent "
                       "restriction shocks are switched off; Russian and Indonesian-tin restrictions, which "
                       "have no episode in the data, go with them.", 92, initial_indent="    ",
                       subsequent_indent="    "),
        "  sources:",
        f"    {DATA_KEY}: {_q(data_citation)}",
    ]
    lines += [f"    {k}: {_q(v)}" for k, v in sources.items()]
    lines += [
        "  assumptions:",
        f"    - key: shocks.{SHOCK_ID}",
        f"      reason: {_q(reason)}",
        f"    - key: shocks.{SHOCK_ID}.initial",
        "      reason: \"Day 0 is drawn from the process's long-run state (restrictions may already be in force), "
        "so the start date is not special; the baseline's shocks start with none in force.\"",
        "",
        "shocks:",
        "  # the baseline's independent restrictions are replaced by the fitted regime below",
    ]
    lines += [f"  {sid}: {{enabled: false}}" for sid in baseline_shocks]
    country_lines = [f"      {c.country}: {{commodities: [{', '.join(c.commodities)}], "
                     f"onset_rate_per_year: {_g(c.onset_rate_per_year)}}}" for c in p.countries]
    lines += [
        f"  # fitted from {DATA_KEY} by scenarios/fit_restrictions.py, window {span}",
        f"  {SHOCK_ID}:",
        "    kind: restriction_regime",
        "    description: >",
        "      Export restrictions of China, Indonesia and the DRC as on/off regimes per country and",
        "      commodity with exponential durations and severities redrawn while in force; a country",
        "      restricts by moves that cover several commodities, moves cluster in its tense spells, and",
        "      lifts can free several commodities at once.",
        "    countries:",
        *country_lines,
        f"    mean_duration_days: {_g(p.mean_duration_days)}",
        f"    severity: {{dist: beta, mean: {_g(p.severity.mean, 3)}, sd: {_g(p.severity.sd, 3)}}}",
        f"    severity_change_rate_per_year: {_g(p.severity_change_rate_per_year)}",
        f"    targeted_share: {_g(p.targeted_share, 3)}",
        f"    package_breadth: {_g(p.package_breadth, 3)}",
        f"    lift_breadth: {_g(p.lift_breadth, 3)}",
        f"    tension: {{calm_to_tense_per_year: {_g(t.calm_to_tense_per_year)}, "
        f"tense_to_calm_per_year: {_g(t.tense_to_calm_per_year)}, multiplier: {_g(t.multiplier)}}}",
        "    initial: stationary",
        "",
    ]
    return "\n".join(lines)


def report(history: FitResult, fits: dict[str, WindowFit], profile: list[tuple[float, float]] | None) -> str:
    """Plain-text summary of the fit."""
    p = history.params
    out = [f"history fit: log-likelihood {history.loglik:.2f}"]
    out.append(f"{'country':10} {'cells':>5} {'on@0':>4} {'onsets':>6} {'moves':>5} {'ends':>4} {'lifts':>5}  "
               + "  ".join(f"{w:>18}" for w in fits) + "   history 95% CI")
    for c in p.countries:
        d = history.obs.countries[c.country]
        ci = history.ci95(f"rate.{c.country}", c.onset_rate_per_year)
        rates = "  ".join(f"{c.onset_rate_per_year * f.multiplier:18.4f}" for f in fits.values())
        out.append(f"{c.country:10} {d.n_cells:5d} {d.n_on0:4d} {d.onsets:6d} {d.moves:5d} {d.ends:4d} {d.lifts:5d}  "
                   f"{rates}   "
                   + (f"{ci[0]:.3f}-{ci[1]:.3f}" if ci else "n/a"))

    def line(name: str, key: str, value: float, unit: str = "") -> str:
        ci = history.ci95(key, value)
        return f"{name:34} {value:10.4g} {unit:8}" + (f" 95% CI {ci[0]:.3g}-{ci[1]:.3g}" if ci else "")

    t = p.tension
    out += [
        line("mean duration", "duration", p.mean_duration_days / 365.0, "years"),
        f"{'move breadth':34} {p.package_breadth:10.4g}          "
        f"(logit SE {history.log_se.get('breadth', math.nan):.2f})",
        f"{'lift breadth':34} {p.lift_breadth:10.4g}          "
        f"(logit SE {history.log_se.get('lift_breadth', math.nan):.2f})",
        line("calm -> tense", "tension.calm_to_tense", t.calm_to_tense_per_year, "/yr"),
        line("tense -> calm", "tension.tense_to_calm", t.tense_to_calm_per_year, "/yr"),
        f"{'tension multiplier':34} {t.multiplier:10.4g}          (tense share {t.tense_share:.2f})",
        f"{'severity beta mean, sd':34} {p.severity.mean:10.3f} {p.severity.sd:.3f}",
        f"{'severity changes':34} {p.severity_change_rate_per_year:10.4g} /yr per restricted cell",
        f"{'targeted at the bloc':34} {p.targeted_share:10.3f} of severity levels",
    ]
    for f in fits.values():
        out.append(f"window {f.name:10}: rate multiplier {f.multiplier:.3f} ({f.seen} onsets seen, "
                   f"{f.expected:.1f} expected at history rates; 95% CI {f.ci[0]:.3f}-{f.ci[1]:.3f})")
    if profile:
        best = history.loglik
        inside = [m for m, ll in profile if ll >= best - 1.92]
        out.append("multiplier profile: " + ", ".join(f"{m:g}: {ll - best:+.2f}" for m, ll in profile)
                   + f"; 95% profile lower bound {min(inside) if inside else '>' + str(MULTIPLIER_GRID[-1])}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-write", action="store_true", help="print the fit, write nothing")
    ap.add_argument("--profile", action="store_true", help="profile likelihood of the tension multiplier")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date.today(), help="fit date to record")
    args = ap.parse_args(argv)
    try:
        episodes = load_episodes(DATA)
    except DataError as e:
        print(f"error: invalid input\n{e}", file=sys.stderr)
        return 2
    sources = read_sources()
    missing = sorted({e.source for e in episodes} - set(sources))
    if missing:
        print(f"error: invalid input\n{SOURCES}: no citation for source keys {missing}", file=sys.stderr)
        return 2
    history, fits = fit_windows(episodes)
    print(report(history, fits, multiplier_profile(episodes, history) if args.profile else None))
    if not args.no_write:
        OUT.mkdir(exist_ok=True)
        baseline = load_scenario(BASELINE)
        for name, wf in fits.items():
            path = OUT / f"{name}.yaml"
            path.write_text(render(wf, history, args.date, sources, len(episodes), baseline), encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
