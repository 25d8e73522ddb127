"""Command line: ``run``, ``validate``, ``sweep``, ``compare``, ``discover``. Thin: parsing and printing only."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.scenario.loader import DEFAULT_SCENARIO, ScenarioError, load_scenario

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", disable=total <= 1, file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario (paired replications) and write a results folder."""
    from sim.report.results import default_out_dir, headline_table, run_folder
    from sim.simulation.replications import run_replications

    source = str(args.scenario or DEFAULT_SCENARIO)
    scenario = load_scenario(args.scenario, args.set)
    seed = scenario.run.seed if args.seed is None else args.seed
    n = scenario.run.replications if args.replications is None else args.replications
    if n < 1:
        raise ScenarioError([_problem("--replications", "expected an integer >= 1")])
    if args.precision is not None and not 0 < args.precision < 1:
        raise ScenarioError([_problem("--precision", "expected a share between 0 and 1, e.g. 0.05")])
    if args.max_replications < 2:
        raise ScenarioError([_problem("--max-replications", "expected an integer >= 2")])
    total = args.max_replications if args.precision is not None else n
    out = Path(args.out) if args.out else default_out_dir(scenario, seed)
    # each replication is reduced into the folder as it finishes and then dropped
    with run_folder(out, scenario, keep_series=args.keep_series, csv=args.csv) as folder:
        with _progress(total, "replications") as bar:

            def done(result) -> None:
                folder.add(result)
                bar.update(1)

            kpis, prec = run_replications(scenario, seed, n, args.precision, args.max_replications, on_result=done)
        n = len(kpis)
        extra = {"precision": prec.__dict__ | {"sentence": prec.sentence()}} if prec else {}
        summary = folder.finish(list(args.set), source, extra=extra, plots=not args.no_plots)
    print(f"results: {out}")
    print(
        f"scenario {scenario.meta.name}, seed {seed}, {n} replication(s), "
        f"{scenario.run.horizon_years:g} years from {scenario.run.start_date}"
    )
    if prec:
        print(prec.sentence())
    print(headline_table(summary))
    return 0


def _problem(path: str, message: str):
    from sim.scenario.loader import Problem

    return Problem("<command line>", None, path, message)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate scenario files without running them."""
    status = 0
    for f in args.files:
        try:
            s = load_scenario(f, args.set)
        except ScenarioError as e:
            print(str(e), file=sys.stderr)
            status = EXIT_BAD_INPUT
        else:
            print(
                f"{f}: ok ({s.meta.name}: {len(s.commodities)} commodities, {len(s.suppliers)} suppliers, "
                f"{len(s.shocks)} shocks, {len(s.manufacturers)} manufacturers)"
            )
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``run.py`` / ``vaultsim``."""
    p = argparse.ArgumentParser(prog="vaultsim", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario and write a results folder")
    r.add_argument("scenario", nargs="?", help=f"scenario YAML (default: {DEFAULT_SCENARIO.name})")
    r.add_argument("--seed", type=int, help="root seed (default: run.seed in the scenario)")
    r.add_argument("--replications", type=int, help="number of replications (default: run.replications)")
    r.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value; * and {a,b} in the path set several entries (shocks.*.rate_per_year=0.4)")
    r.add_argument("--out", help="results folder (default: results/<name>-<time>-seed<seed>)")
    r.add_argument("--csv", action="store_true", help="also write CSV copies of the tables")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    r.add_argument("--keep-series", action="store_true",
                   help="write every replication's time series and finance table (default: replication 0's; "
                   "the plots use quantiles over all replications either way)")
    r.add_argument("--precision", type=float, metavar="SHARE",
                   help="add replications until the 95%% CI half-width of the loss avoided is within SHARE "
                   "of its mean (e.g. 0.05), starting from --replications (at least 5)")
    r.add_argument("--max-replications", type=int, default=100,
                   help="most replications --precision may run (default 100)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check scenario files without running")
    v.add_argument("files", nargs="+")
    v.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a value (as for run)")
    v.set_defaults(func=cmd_validate)

    # listed for --help only; main() hands their arguments to their own parsers
    sub.add_parser("sweep", help="run a parameter sweep (see sweep --help)", add_help=False)
    sub.add_parser("compare", help="compare results folders or scenarios (see compare --help)", add_help=False)
    sub.add_parser("discover", help="PRIM scenario discovery on a finished sweep (see discover --help)",
                   add_help=False)
    return p


#: Sub-commands with their own argument parsers.
_DELEGATED = {"sweep": "sim.batch.command", "compare": "sim.compare.command", "discover": "sim.batch.discover"}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        # hand the whole rest to the sub-command's own parser (argparse REMAINDER would
        # refuse a first argument starting with '-', e.g. `compare --help`)
        import importlib

        return int(importlib.import_module(_DELEGATED[argv[0]]).main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    from sim.simulation.simulate import ConservationError

    try:
        return int(args.func(args) or 0)
    except ScenarioError as e:
        print(f"error: invalid input\n{e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConservationError as e:
        # NaN/inf or unbalanced material/money: nothing was written
        print(f"error: the run failed its end-of-run checks; no results written\n{e}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:
        print("interrupted; no results written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
