#!/usr/bin/env python3
"""The policy table of scenarios/README.md: baseline and every policy variant, paired replications.

    python scenarios/policy_table.py                  # 10 replications x 15 years (the README table)
    python scenarios/policy_table.py --replications 3 --horizon 5   # a quicker look
    python scenarios/policy_table.py --uniform-loss   # every loss_multiplier set to 1 (for comparison)

Every scenario runs replications 0..N-1 of the baseline's root seed (``run.seed``), so all of
them see the same shocks and demand draws (common random numbers), as ``python run.py
compare`` does. Money columns are means over replications in USD billion, losses and the
national economic view's net cost and net benefit as NPVs at the scenario's real discount
rate; the loss avoided is split into its three components (consumer surplus on the demand
curve, extra import bill, critical output lost); "with - base" is the
paired mean difference of the loss with the reserve from the baseline's, with its 95%
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
    ("loss without reserve", "counterfactual.total.loss_npv_usd"),
    ("loss with", "reserve.total.loss_npv_usd"),
    ("loss avoided", "difference.total.loss_avoided_npv_usd"),
    ("of which surplus", "difference.total.loss_surplus_avoided_npv_usd"),
    ("import bill", "difference.total.loss_import_avoided_npv_usd"),
    ("critical", "difference.total.loss_critical_avoided_npv_usd"),
    ("net cost (economic)", "economic.net_cost_npv_usd"),
    ("net benefit (economic)", "economic.net_benefit_npv_usd"),
    ("drawn", "finance.drawn_usd"),
    ("defaults", "finance.defaults_usd"),
)
#: The KPI whose paired difference from the baseline is the last column.
LOSS_WITH = "reserve.total.loss_npv_usd"


def run(path: Path, n: int, seed: int, horizon: float | None, uniform_loss: bool) -> dict[str, np.ndarray]:
    """KPIs of ``n`` paired replications of one scenario, as arrays over replications."""
    s = load_scenario(path, [f"run.horizon_years={horizon}"] if horizon else None)
    if uniform_loss:
        for m in s.manufacturers.values():
            m.loss_multiplier = 1.0
    rows = [simulate(s, seed=seed, replication=r).summary for r in range(n)]
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float))]
    return {k: np.array([row[k] for row in rows], dtype=float) for k in keys}


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
    base = results["baseline"][LOSS_WITH]
    head = [t for t, _ in COLUMNS]
    print(f"Seed {seed}, replications 0-{args.replications - 1}, USD billion (means; losses and costs are NPVs)")
    print("| scenario | " + " | ".join(head) + " | loss with - base (95% CI) |")
    print("|---" * (len(head) + 2) + "|")
    for name in names:
        kp = results[name]
        cells = [f"{kp[k].mean() / 1e9:.2f}" for _, k in COLUMNS]
        diff = kp[LOSS_WITH] - base
        dcell = "-" if name == "baseline" else f"{diff.mean() / 1e9:+.2f} ± {half_width(diff) / 1e9:.2f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {dcell} |")
    se = {t: half_width(base_k) / 1e9 / stats.t.ppf(0.975, len(base_k) - 1)
          for t, base_k in (("loss without", results["baseline"]["counterfactual.total.loss_npv_usd"]),
                            ("loss with", base))}
    print("Standard errors of the baseline's means: " + ", ".join(f"{t} {v:.2f}" for t, v in se.items()))
    b = results["baseline"]
    by_c = {k.split(".")[1]: b[k].mean() / 1e9 for k in b
            if k.startswith("difference.") and k.endswith(".loss_avoided_npv_usd") and ".total." not in k}
    print("Baseline loss avoided by commodity (USD bn): "
          + ", ".join(f"{c} {v:+.2f}" for c, v in sorted(by_c.items(), key=lambda kv: -abs(kv[1]))))
    cf = {k.split(".")[1]: b[k].mean() / 1e9 for k in b
          if k.startswith("counterfactual.") and k.endswith(".loss_npv_usd") and ".total." not in k}
    print("Baseline loss without the reserve by commodity (USD bn): "
          + ", ".join(f"{c} {v:.2f}" for c, v in sorted(cf.items(), key=lambda kv: -abs(kv[1]))))
    print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
