#!/usr/bin/env python3
"""The policy table of scenarios/README.md: baseline and every policy variant, paired replications.

    python scenarios/policy_table.py                  # 10 replications x 15 years (the README table)
    python scenarios/policy_table.py --replications 3 --horizon 5   # a quicker look
    python scenarios/policy_table.py --uniform-loss   # every loss_multiplier set to 1 (for comparison)

Every scenario runs replications 0..N-1 of the baseline's root seed (``run.seed``), so all of
them see the same shocks and demand draws (common random numbers), as ``python run.py
compare`` does. Money columns are means over replications in USD billion; "with - base" is
the paired mean difference of the loss with the reserve from the baseline's, with its 95%
Student-t half-width.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from sim import load_scenario, simulate

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "project_vault.yaml"
POLICIES = (
    "no_reserve",
    "target_30d",
    "target_90d",
    "target_180d",
    "release_early_cover",
    "release_early_price",
    "members_only",
    "all_buyers",
    "dearer_loan",
    "amortising_loan",
    "copper_100kt",
    "supply_projects",
)
#: (column title, KPI key)
COLUMNS = (
    ("loss without reserve", "counterfactual.total.loss_usd"),
    ("loss with", "reserve.total.loss_usd"),
    ("loss avoided (NPV)", "difference.total.loss_avoided_npv_usd"),
    ("net cost (NPV)", "finance.net_cost_npv_usd"),
    ("drawn", "finance.drawn_usd"),
    ("defaults", "finance.defaults_usd"),
)


def run(path: Path, n: int, seed: int, horizon: float | None, uniform_loss: bool) -> dict[str, np.ndarray]:
    """KPIs of ``n`` paired replications of one scenario, as arrays over replications."""
    s = load_scenario(path, [f"run.horizon_years={horizon}"] if horizon else None)
    if uniform_loss:
        for m in s.manufacturers.values():
            m.loss_multiplier = 1.0
    rows = [simulate(s, seed=seed, replication=r).summary for r in range(n)]
    return {k: np.array([row[k] for row in rows], dtype=float) for _, k in COLUMNS}


def half_width(x: np.ndarray) -> float:
    """95% Student-t half-width of the mean of ``x``."""
    return float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the table and print it as Markdown."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--horizon", type=float, default=None, help="years (default: the scenarios' 15)")
    ap.add_argument("--uniform-loss", action="store_true", help="set every manufacturer's loss_multiplier to 1")
    args = ap.parse_args(argv)
    seed = load_scenario(BASELINE).run.seed
    t0 = time.perf_counter()
    names = ["baseline", *POLICIES]
    results = {}
    for name in names:
        path = BASELINE if name == "baseline" else HERE / "policies" / f"{name}.yaml"
        results[name] = run(path, args.replications, seed, args.horizon, args.uniform_loss)
        print(f"  {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    base = results["baseline"]["reserve.total.loss_usd"]
    head = [t for t, _ in COLUMNS]
    print(f"Seed {seed}, replications 0-{args.replications - 1}, USD billion (means)")
    print("| scenario | " + " | ".join(head) + " | loss with - base (95% CI) |")
    print("|---" * (len(head) + 2) + "|")
    for name in names:
        kp = results[name]
        cells = [f"{kp[k].mean() / 1e9:.1f}" for _, k in COLUMNS]
        diff = kp["reserve.total.loss_usd"] - base
        dcell = "-" if name == "baseline" else f"{diff.mean() / 1e9:+.2f} ± {half_width(diff) / 1e9:.2f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {dcell} |")
    se = {t: half_width(base_k) / 1e9 / stats.t.ppf(0.975, len(base_k) - 1)
          for t, base_k in (("loss without", results["baseline"]["counterfactual.total.loss_usd"]),
                            ("loss with", base))}
    print("Standard errors of the baseline's means: " + ", ".join(f"{t} {v:.1f}" for t, v in se.items()))
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
