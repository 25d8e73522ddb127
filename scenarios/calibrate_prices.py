#!/usr/bin/env python3
"""Price calibration of the baseline against the replays of real supply shocks.

Runs every replay in ``scenarios/replays/`` and prints, for each shocked commodity with an
observed price move in FACTS_SHOCKS (``shared/data/FACTS.md``), the model's peak price ratio
(counterfactual arm, i.e. without a reserve, as the real events were) against the observed
one. The commodity price parameters are those written in ``project_vault.yaml`` (the
replays inherit them), so this is the reproducible check of the calibration::

    python scenarios/calibrate_prices.py              # model vs observed at the written values
    python scenarios/calibrate_prices.py --fit        # re-derive each fitted price_elasticity
    python scenarios/calibrate_prices.py --seeds 1 2 3 4 5   # the same table over seeds

How the values were fitted (the numbers are in ``project_vault.yaml``, each with its
``meta.assumptions`` entry):

1. ``price_adjust_per_day`` is one value for every commodity, set from the two observed
   speeds: gallium +27% in the first week and antimony +20% within days. With the old 0.1 a
   day (elasticities refitted to the same peaks) the model rose +59% in a week (Ga) and
   +105% in three days (Sb); 0.02 gives about +32% and +25% (the speed rows below).
2. ``price_elasticity`` is then fitted per commodity by bisection so that the replay's peak
   ratio equals the observed move (``--fit``), and rounded to two digits.
3. ``price_cap_ratio`` stays 10: no fitted peak comes near it.

Tolerance (``within``): the model's rise (ratio - 1) within a factor ``RISE_FACTOR`` of the
observed rise, i.e. Ga 2.0x observed accepts 1.67x to 2.5x and Ni +9% accepts +6% to +13.5%.
This is stricter than "peak ratio within a factor 1.5" for every move.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from sim import load_scenario, simulate

HERE = Path(__file__).resolve().parent
REPLAYS = HERE / "replays"
#: Seed of the calibration runs (the tests use the same one).
SEED = 1
#: Accepted ratio between model rise and observed rise (and its inverse).
RISE_FACTOR = 1.5


@dataclass(frozen=True)
class Target:
    """An observed price move (FACTS_SHOCKS) that one replay should reproduce."""

    replay: str  # file stem in scenarios/replays/
    commodity: str
    observed: float  # price / pre-shock price
    what: str  # the FACTS_SHOCKS figure and how it was turned into a ratio


#: Peak price ratios. Where FACTS gives a range the midpoint is used; where it gives an
#: annual average (USGS) that is a lower bound of the peak and is used as the target.
PEAKS = (
    Target("china_gallium_germanium_2023", "gallium", 2.0, "Ga >100% by Mar 2024"),
    Target("china_gallium_germanium_2023", "germanium", 2.95, "Ge +195%, USGS average 2023->2025"),
    Target("china_antimony_2024", "antimony", 4.55, "Sb +355%, USGS average 2023->2025"),
    Target("china_rare_earths_2025_apr", "rare_earths_heavy", 3.0,
           "Dy oxide 250-310 -> 700-1,000 USD/kg (mid 280 -> 850); Tb mid 965 -> 3,000"),
    Target("drc_cobalt_2025", "cobalt", 2.0, "Co benchmark 'more than doubled' from 10 USD/lb"),
    Target("indonesia_nickel_ore_2020", "nickel", 1.09, "LME nickel +9%"),
)


@dataclass(frozen=True)
class Speed:
    """An observed early price move: ratio ``observed`` ``days`` after the shock started."""

    replay: str
    commodity: str
    shock: str
    days: int
    observed: float
    what: str
    tested: bool  # False: indicative only (the observed horizon is vague)


SPEEDS = (
    Speed("china_gallium_germanium_2023", "gallium", "ga_ge_licensing_aug2023", 7, 1.27,
          "Ga +27% in a week", True),
    Speed("china_antimony_2024", "antimony", "antimony_licensing_sep2024", 3, 1.20,
          "Sb +20% 'in days' (3 days taken)", False),
)

#: Shocked commodities of replays with no observed price move (FACTS: n/a), shown for information.
UNOBSERVED = (
    ("china_graphite_2023", "graphite"),
    ("china_rare_earths_2025_oct", "rare_earths_ndpr"),
    ("china_rare_earths_2025_oct", "rare_earths_light"),
    ("china_rare_earths_2025_oct", "rare_earths_heavy"),
)


def within(model: float, observed: float, factor: float = RISE_FACTOR) -> bool:
    """True when the model's rise (ratio - 1) is within ``factor`` of the observed rise."""
    rise_m, rise_o = model - 1.0, observed - 1.0
    return rise_m > 0 and rise_o / factor <= rise_m <= rise_o * factor


@cache
def _run(replay: str, seed: int, overrides: tuple[str, ...] = ()):
    s = load_scenario(REPLAYS / f"{replay}.yaml", list(overrides))
    return s, simulate(s, seed=seed)


def price_ratio(replay: str, commodity: str, seed: int = SEED, overrides: tuple[str, ...] = ()) -> pd.Series:
    """Counterfactual price / reference by day of one replay run."""
    s, r = _run(replay, seed, overrides)
    ts = r.timeseries
    x = ts[(ts.arm == "counterfactual") & (ts.commodity == commodity)].set_index("day").price_usd_per_t
    return x / s.commodities[commodity].reference_price_usd_per_t


def peak_ratio(replay: str, commodity: str, seed: int = SEED, overrides: tuple[str, ...] = ()) -> float:
    """Counterfactual peak price ratio of ``commodity`` in a replay run."""
    return float(_run(replay, seed, overrides)[1].summary[f"counterfactual.{commodity}.peak_price_ratio"])


def early_ratio(sp: Speed, seed: int = SEED) -> float:
    """Counterfactual price ratio ``sp.days`` after the start of shock ``sp.shock``."""
    s, _ = _run(sp.replay, seed)
    day0 = s.day_of(s.shocks[sp.shock].start)
    return float(price_ratio(sp.replay, sp.commodity, seed).loc[day0 + sp.days])


def fit_elasticity(t: Target, seed: int = SEED, steps: int = 18) -> float:
    """Elasticity at which the replay's peak ratio equals the observed one (bisection in log e).

    The peak falls as the elasticity rises (the target price is tightness ** (1 / e)).
    """
    lo, hi = math.log(0.05), math.log(5.0)
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        over = (f"commodities.{t.commodity}.price_elasticity={math.exp(mid):.6g}",)
        if peak_ratio(t.replay, t.commodity, seed, over) > t.observed:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))


def main(argv: list[str] | None = None) -> int:
    """Print the fit table; exit status 1 if a tested row is outside the tolerance."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", action="store_true", help="re-derive each fitted price_elasticity")
    ap.add_argument("--seeds", type=int, nargs="+", default=[SEED], help=f"seeds to run (default {SEED})")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    ok = True

    def params(replay: str, c: str) -> str:
        com = _run(replay, args.seeds[0])[0].commodities[c]
        return f"e={com.price_elasticity:g} adj={com.price_adjust_per_day:g} cap={com.price_cap_ratio:g}"

    print(f"Peak price ratio, counterfactual arm; pass = rise within a factor {RISE_FACTOR} of the observed rise")
    print(f"{'replay':30} {'commodity':18} {'model':>14} {'observed':>8}  {'pass':4}  parameters / observed figure")
    for t in PEAKS:
        vals = [peak_ratio(t.replay, t.commodity, s) for s in args.seeds]
        good = all(within(v, t.observed) for v in vals)
        ok &= good
        shown = f"{vals[0]:.2f}" if len(vals) == 1 else f"{min(vals):.2f}-{max(vals):.2f}"
        print(f"{t.replay:30} {t.commodity:18} {shown:>14} {t.observed:8.2f}  {'yes' if good else 'NO':4}  "
              f"{params(t.replay, t.commodity)}; {t.what}")
    print("\nSpeed: price ratio a few days after the shock starts")
    for sp in SPEEDS:
        vals = [early_ratio(sp, s) for s in args.seeds]
        good = all(within(v, sp.observed) for v in vals)
        if sp.tested:
            ok &= good
        shown = f"{vals[0]:.2f}" if len(vals) == 1 else f"{min(vals):.2f}-{max(vals):.2f}"
        verdict = ("yes" if good else "NO") if sp.tested else "info"
        print(f"{sp.replay:30} {sp.commodity + f' +{sp.days}d':18} {shown:>14} {sp.observed:8.2f}  {verdict:4}  "
              f"{sp.what}")
    print("\nNo observed price move (FACTS: n/a), for information")
    for replay, c in UNOBSERVED:
        vals = [peak_ratio(replay, c, s) for s in args.seeds]
        shown = f"{vals[0]:.2f}" if len(vals) == 1 else f"{min(vals):.2f}-{max(vals):.2f}"
        print(f"{replay:30} {c:18} {shown:>14} {'n/a':>8}  {'-':4}  {params(replay, c)}")
    if args.fit:
        print("\nFitted price_elasticity (peak = observed), seed by seed")
        for t in PEAKS:
            fits = [fit_elasticity(t, s) for s in args.seeds]
            print(f"{t.replay:30} {t.commodity:18} " + " ".join(f"{f:.3f}" for f in fits))
    print(f"\n{'all tested rows within tolerance' if ok else 'SOME ROWS OUTSIDE TOLERANCE'} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
