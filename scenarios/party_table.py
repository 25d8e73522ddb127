#!/usr/bin/env python3
"""Who gains and who pays: the per-party table of the baseline and the Project Vault variants.

    python scenarios/party_table.py                       # 10 replications x 15 years
    python scenarios/party_table.py --replications 3 --horizon 5
    python scenarios/party_table.py a.yaml b.yaml         # any scenarios with parties

Every scenario runs replications 0..N-1 of the baseline's root seed, so all see the same shocks
and demand draws. Per party: means over replications (USD million at present value, tonnes),
with the 95% Student-t interval of loss avoided and net benefit; and the members' share of the
bloc's loss avoided, as the mean of the per-replication shares (with its interval) and as the
ratio of the mean losses avoided.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from sim import load_scenario, simulate
from sim.metrics.party_kpis import party_table
from sim.metrics.stats import mean_ci

HERE = Path(__file__).resolve().parent
DEFAULT = [HERE / "project_vault.yaml"] + [
    HERE / "policies" / f"{n}.yaml"
    for n in ("release_early_price", "vault_sale", "vault_return_90d", "vault_major_off", "vault_crowding_50",
              "vault_copper_allies", "vault_open_to_non_members", "vault_with_nds")
]
#: (column title, per-party KPI, scale)
COLUMNS = (
    ("fees and charges", "fees_usd", 1e-6),
    ("payments", "payments_usd", 1e-6),
    ("draws t", "draws_t", 1.0),
    ("share of swaps due returned late", "late_share", 1.0),
    ("fill rate", "fill_rate", 1.0),
    ("loss avoided", "loss_avoided_npv_usd", 1e-6),
    ("net benefit", "net_benefit_npv_usd", 1e-6),
)


def _fmt(x: float, scale: float) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    v = x * scale
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def report(name: str, rows: list[dict]) -> str:
    """Markdown table of one scenario's parties."""
    table = party_table(rows)
    out = [f"### {name} ({len(rows)} replications; USD million NPV, tonnes)", ""]
    head = [t for t, _, _ in COLUMNS]
    out.append("| party | " + " | ".join(head) + " | loss avoided 95% CI | net benefit 95% CI |")
    out.append("|---" * (len(head) + 3) + "|")
    for _, r in table.iterrows():
        cells = [_fmt(r[k], s) for _, k, s in COLUMNS]
        ci = [f"{_fmt(r[k + '_ci_low'], 1e-6)} .. {_fmt(r[k + '_ci_high'], 1e-6)}"
              for k in ("loss_avoided_npv_usd", "net_benefit_npv_usd")]
        out.append(f"| {r['party']} | " + " | ".join(cells + ci) + " |")
    members = np.array([r["party.members.loss_avoided_npv_usd"] for r in rows])
    bloc = np.array([r["difference.total.loss_avoided_npv_usd"] for r in rows])
    m, lo, hi = mean_ci(np.where(bloc != 0, members / np.where(bloc != 0, bloc, 1.0), np.nan))
    ratio = members.mean() / bloc.mean() if bloc.mean() != 0 else float("nan")
    out += ["", f"Members' share of the bloc's loss avoided: {m:.3f} (95% CI {lo:.3f} .. {hi:.3f}) per replication; "
            f"{ratio:.3f} as a ratio of means (bloc loss avoided {bloc.mean() / 1e6:,.0f} M).", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios and print one table each."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", type=Path, help="scenario files (default: baseline and variants)")
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--horizon", type=float, default=None, help="years (default: the scenarios' own)")
    ap.add_argument("--save", type=Path, default=None, help="also write every run's summary to this JSON file")
    args = ap.parse_args(argv)
    paths = args.scenarios or DEFAULT
    seed = load_scenario(paths[0]).run.seed
    t0 = time.perf_counter()
    saved = {}
    for path in paths:
        s = load_scenario(path, [f"run.horizon_years={args.horizon}"] if args.horizon else None)
        rows = [simulate(s, seed=seed, replication=r).summary for r in range(args.replications)]
        saved[str(path)] = rows
        print(report(s.meta.name, rows), flush=True)
        print(f"  {path.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.save:
        args.save.write_text(json.dumps(saved, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
