#!/usr/bin/env python3
"""The competitive-storage market's checks on the default scenario, against the sticky price.

Prints, for tungsten (China its main supplier): the price one month into a scheduled Chinese
export cut of 0.3, 0.6 and 1.0, and its decay after a 6-month cut ends; and, over paired
replications of the default's stochastic shocks, the rest of the world's share of the physical
shortfall per commodity and the headline losses, with both price models.

Run: ``python scenarios/storage_checks.py [--reps 5]``.
"""

from __future__ import annotations

import argparse

import numpy as np

from sim import load_scenario, simulate

START, DAYS = 365, 182


def cut_path(base, model: str, severity: float) -> np.ndarray:
    """Tungsten's price over reference, no-reserve arm, in a scheduled Chinese cut of ``severity``."""
    s = base.with_changes({"run.horizon_years": 3, "shocks.*.enabled": False, "commodities.*.price_model": model})
    data = s.model_dump(mode="json")
    data["shocks"]["cut"] = {"kind": "export_restriction", "country": "China", "commodities": ["tungsten"],
                             "start": START, "duration_days": DAYS, "severity": severity}
    s = type(s).model_validate(data)
    ts = simulate(s, seed=1).timeseries
    w = ts[(ts.arm == "counterfactual") & (ts.commodity == "tungsten")]
    return w.price_usd_per_t.to_numpy() / s.commodities["tungsten"].reference_price_usd_per_t


def main() -> None:
    """Print the checks."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    base = load_scenario(None)
    print("tungsten, scheduled Chinese cut from day 365 for 182 days, no-reserve arm, price / reference:")
    print(f"  {'model':8s} {'cut':>4s} {'day 1':>7s} {'1 month':>8s} {'3 months':>9s} {'end':>7s} "
          f"{'+1 month':>9s} {'+3 months':>10s} {'+6 months':>10s}")
    for model in ("adjust", "storage"):
        for sev in (0.3, 0.6, 1.0):
            p = cut_path(base, model, sev)
            end = START + DAYS - 1
            print(f"  {model:8s} {sev:4.1f} {p[START]:7.2f} {p[START + 30]:8.2f} {p[START + 91]:9.2f} {p[end]:7.2f} "
                  f"{p[end + 30]:9.2f} {p[end + 91]:10.2f} {p[end + 182]:10.2f}")
    print(f"\nthe default's stochastic shocks, {args.reps} paired replications of 15 years (mean, sd):")
    cids = list(base.commodities)
    for model in ("adjust", "storage"):
        s = base.with_changes({"commodities.*.price_model": model})
        runs = [simulate(s, seed=s.run.seed, replication=r).summary for r in range(args.reps)]

        def stat(key: str, scale: float = 1.0, runs: list = runs) -> str:
            v = np.array([r[key] for r in runs], dtype=float) * scale
            v = v[np.isfinite(v)]
            return "n/a" if not v.size else f"{v.mean():.3g} ({v.std(ddof=1) if v.size > 1 else 0.0:.2g})"

        print(f"  {model}: no-reserve loss NPV {stat('counterfactual.total.loss_npv_usd', 1e-9)} bn; "
              f"loss avoided NPV {stat('difference.total.loss_avoided_npv_usd', 1e-9)} bn; "
              f"economic net benefit {stat('economic.net_benefit_npv_usd', 1e-9)} bn; "
              f"releases {stat('reserve.total.releases_t')} t")
        print("    rest of world's share of the no-reserve arm's shortfall: " + ", ".join(
            f"{c} {stat(f'counterfactual.{c}.row_shortfall_share')}" for c in cids))


if __name__ == "__main__":
    main()
