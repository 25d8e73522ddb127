"""``python run.py compare A B [C ...]``: compare results folders and scenario files.

Scenario files are run first, all with one seed and replications 0..n-1, so that every run
sees the same random draws (common random numbers) and differences are the policies', not
the noise's. The comparison folder is written atomically; a bad input (exit code 2) leaves
nothing behind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from sim.compare.inputs import (
    CompareError,
    PendingScenario,
    RunData,
    check_compatible,
    classify,
    default_labels,
    run_scenario,
    slug,
)
from sim.scenario.loader import ScenarioError
from sim.version import __version__

EXIT_BAD_INPUT = 2
RESULTS_DIR = Path("results")


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``compare``."""
    p = argparse.ArgumentParser(
        prog="vaultsim compare",
        description="Compare results folders and/or scenario files in one KPI table, plots and report.html. "
        "The first input is the baseline.",
    )
    p.add_argument("inputs", nargs="+", metavar="RUN",
                   help="a results folder written by `run`, or a scenario file (.yaml/.yml) to run first")
    p.add_argument("--labels", nargs="+", metavar="LABEL",
                   help="one label per input (space- or comma-separated; default: scenario names)")
    p.add_argument("--out", help="comparison folder (default: results/compare-<time>)")
    p.add_argument("--seed", type=int,
                   help="root seed for scenario files (default: the first folder's seed, else the first "
                   "scenario's run.seed)")
    p.add_argument("--replications", type=int,
                   help="replications for scenario files (default: the first folder's count, else the first "
                   "scenario's run.replications)")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value in every scenario file (not in folders)")
    p.add_argument("--no-plots", action="store_true", help="tables and report only, no plots at all")
    p.add_argument("--no-run-plots", action="store_true",
                   help="no PNG plots in the results folders of scenario files (faster; comparison plots stay)")
    return p


def _labels(given: list[str] | None, n: int) -> list[str] | None:
    if not given:
        return None
    labels = [s.strip() for g in given for s in g.split(",") if s.strip()] if len(given) == 1 else list(given)
    if len(labels) != n:
        raise CompareError(f"--labels: got {len(labels)} label(s) for {n} inputs; give one label per input")
    if len(set(labels)) != len(labels):
        raise CompareError(f"--labels: labels must be distinct, got {labels}")
    return labels


def _run_settings(items: list, seed: int | None, replications: int | None) -> tuple[int, int]:
    """Seed and replication count for scenario files, paired with the first folder when there is one."""
    folders = [i for i in items if isinstance(i, RunData)]
    scenarios = [i for i in items if isinstance(i, PendingScenario)]
    if seed is None:
        seed = folders[0].seed if folders else scenarios[0].scenario.run.seed
    if replications is None:
        replications = len(folders[0].replication_ids) if folders else scenarios[0].scenario.run.replications
    if replications < 1:
        raise CompareError("--replications: expected an integer >= 1")
    if seed < 0:
        raise CompareError("--seed: expected an integer >= 0")
    return seed, replications


def _check_out(out: Path, items: list) -> None:
    target = out.resolve()
    for item in items:
        if isinstance(item, RunData):
            src = item.path.resolve()
            if target == src or src in target.parents or target in src.parents:
                raise CompareError(f"--out {out} would overwrite or nest with the input folder '{item.origin}'")


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", disable=total <= 1, file=sys.stderr)


def compare(args: argparse.Namespace) -> tuple[Path, str]:
    """Check inputs, run scenario files, write the comparison folder; returns (folder, printed table).

    Raises:
        CompareError: for an input that cannot be compared (nothing is written).
        ScenarioError: for an invalid scenario file (nothing is written).

    """
    from sim.compare.plots import plot_all
    from sim.compare.report import write_compare_report
    from sim.compare.table import build_table, display_rows, headline_kpis, markdown_document, pairing_notes, plain
    from sim.report.results import atomic_dir

    if len(args.inputs) < 2:
        raise CompareError("compare needs at least two inputs (results folders or scenario files)")
    given = _labels(args.labels, len(args.inputs))
    items = classify(args.inputs, list(args.set))
    labels = given or default_labels(items)
    check_compatible(items, labels)
    has_scenarios = any(isinstance(i, PendingScenario) for i in items)
    if not has_scenarios:
        for flag, value in (("--seed", args.seed), ("--replications", args.replications), ("--set", args.set)):
            if value:
                print(f"note: {flag} applies to scenario files only; ignored for results folders", file=sys.stderr)
    seed, n = _run_settings(items, args.seed, args.replications) if has_scenarios else (0, 0)
    out = Path(args.out) if args.out else RESULTS_DIR / f"compare-{dt.datetime.now():%Y%m%d-%H%M%S}"
    _check_out(out, items)

    with atomic_dir(out) as tmp:
        runs: list[RunData] = []
        for i, (item, label) in enumerate(zip(items, labels)):
            if isinstance(item, PendingScenario):
                folder = tmp / "runs" / f"{i + 1}-{slug(label)}"
                run_plots = not (args.no_plots or args.no_run_plots)
                runs.append(run_scenario(item, label, seed, n, folder, list(args.set), _progress, run_plots))
            else:
                item.label = label
                runs.append(item)
        tab = build_table(runs)
        tab.to_csv(tmp / "kpi_table.csv", index=False)
        (tmp / "kpi_table.md").write_text(markdown_document(tab, runs), encoding="utf-8")
        plots = [] if args.no_plots else plot_all(runs, tab, tmp)
        write_compare_report(tmp, runs, tab, plots)
        record = {
            "version": __version__,
            "created": dt.datetime.now().isoformat(timespec="seconds"),
            "argv": list(args.argv),
            "baseline": labels[0],
            "runs": [
                {"label": r.label, "input": r.origin, "scenario": r.name, "seed": r.seed,
                 "replications": len(r.replication_ids),
                 "folder": str(Path("runs") / r.path.name) if r.path.parent == tmp / "runs" else str(r.path)}
                for r in runs
            ],
            "pairing": pairing_notes(runs),
        }
        (tmp / "compare.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    header, rows = display_rows(tab, headline_kpis(), short=True)
    text = "\n".join([*pairing_notes(runs), f"diff = run - baseline ({labels[0]})", "", plain(header, rows)])
    return out, text


def main(argv: list[str]) -> int:
    """Entry point of ``compare``; returns the exit code (2 for bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    args.argv = list(argv)
    try:
        out, text = compare(args)
    except CompareError as e:
        print(f"error: {e}\nnothing written", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ScenarioError as e:
        print(f"error: invalid scenario\n{e}\nnothing written", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"comparison: {out}")
    print(text)
    print("(* CI excludes zero, u unpaired Welch CI; every KPI is in kpi_table.csv / kpi_table.md)")
    return 0
