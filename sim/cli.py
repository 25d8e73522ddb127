"""Command line: ``run``, ``stress``, ``validate``, ``sweep``, ``compare``, ``discover``. Parsing and printing."""

from __future__ import annotations

import argparse
import datetime as dt
import re
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
    source = str(args.scenario or DEFAULT_SCENARIO)
    return run_scenario(args, load_scenario(args.scenario, args.set), source, list(args.set))


def run_scenario(args: argparse.Namespace, scenario, source: str, overrides: list[str]) -> int:
    """Run ``scenario`` as ``run`` does (options in ``args``), write its folder and print the answer first."""
    from sim.report.results import default_out_dir, headline_table, run_folder
    from sim.simulation.replications import run_replications

    seed = scenario.run.seed if args.seed is None else args.seed
    n = scenario.run.replications if args.replications is None else args.replications
    if n < 1:
        raise ScenarioError([_problem("--replications", "expected an integer >= 1")])
    if args.precision is not None and not 0 < args.precision < 1:
        raise ScenarioError([_problem("--precision", "expected a share between 0 and 1, e.g. 0.05")])
    if args.max_replications < 2:
        raise ScenarioError([_problem("--max-replications", "expected an integer >= 2")])
    if args.focus is not None and args.focus not in scenario.commodities:
        raise ScenarioError([_problem("--focus", f"unknown commodity {args.focus!r}; expected one of "
                                      f"{', '.join(scenario.commodities)}")])
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
        print("writing the results folder and report ...", file=sys.stderr, flush=True)
        summary = folder.finish(overrides, source, extra=extra, plots=not args.no_plots, xlsx=args.xlsx,
                                png=args.png)
    print(f"results: {out}" + (f" (workbook: {out / 'results.xlsx'})" if args.xlsx else ""))
    print(
        f"scenario {scenario.meta.name}, seed {seed}, {n} replication(s), "
        f"{scenario.run.horizon_years:g} years from {scenario.run.start_date}"
    )
    if prec:
        print(prec.sentence())
    print(headline_table(summary, focus=args.focus))
    return 0


#: Days per unit of a ban's duration.
_UNIT_DAYS = {"d": 1.0, "w": 7.0, "m": 365.0 / 12, "y": 365.0}


def parse_ban(text: str, scenario) -> dict:
    """``COUNTRY:COMMODITY[+COMMODITY]:DURATION`` checked against the scenario's countries and commodities.

    Raises:
        ScenarioError: a malformed ban, an unknown country or commodity, a duration that is not positive.

    """
    where = f"--ban {text}"
    parts = text.split(":")
    if len(parts) != 3:
        raise ScenarioError([_problem(where, "expected COUNTRY:COMMODITY[+COMMODITY]:DURATION, e.g. "
                                             "China:gallium:365d")])
    country, commodities, duration = (p.strip() for p in parts)
    countries = sorted({sup.country for sup in scenario.suppliers.values()})
    match = next((c for c in countries if c.lower() == country.lower()), None)
    if match is None:
        raise ScenarioError([_problem(where, f"unknown country {country!r}; suppliers are in {', '.join(countries)}")])
    wanted = [c.strip() for c in re.split(r"[+,]", commodities) if c.strip()]
    unknown = [c for c in wanted if c not in scenario.commodities]
    if unknown or not wanted:
        raise ScenarioError([_problem(where, f"unknown commodity {', '.join(unknown) or '(none)'}; expected "
                                             f"{', '.join(scenario.commodities)}")])
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([dwmy]?)", duration.lower())
    if m is None or float(m.group(1)) <= 0:
        raise ScenarioError([_problem(where, f"duration {duration!r}: expected a positive number with d, w, m or y, "
                                             "e.g. 365d, 18m, 2y")])
    days = float(m.group(1)) * _UNIT_DAYS[m.group(2) or "d"]
    return {"country": match, "commodities": wanted, "days": round(days)}


def stress_scenario(base, bans: list[str], start: str, severity: float, keep_shocks: bool):
    """``base`` with one export restriction per ban (and its own shocks off unless ``keep_shocks``).

    Returns:
        The validated scenario, and per ban its country, commodities, days, start and severity.

    """
    from sim.scenario.loader import validate_data

    if not 0 < severity <= 1:
        raise ScenarioError([_problem("--severity", f"expected a share in (0, 1], got {severity:g}")])
    begin: int | str = int(start) if start.strip().isdigit() else start.strip()
    data = base.model_dump(mode="json")
    if not keep_shocks:
        for shock in data.get("shocks", {}).values():
            shock["enabled"] = False
    described = []
    for i, text in enumerate(bans, 1):
        ban = parse_ban(text, base)
        data.setdefault("shocks", {})[f"stress_ban_{i}"] = {
            "kind": "export_restriction", "description": f"command line: --ban {text}", "country": ban["country"],
            "commodities": ban["commodities"], "start": begin, "duration_days": ban["days"], "severity": severity}
        day = begin if isinstance(begin, int) else None
        when = (f"day {day} ({base.run.start_date + dt.timedelta(days=day)})" if day is not None else str(begin))
        described.append({**ban, "start": when, "severity": severity})
    try:
        return validate_data(data), described
    except ScenarioError as e:
        raise ScenarioError([_problem("--start", f"{start!r}: {p.message}") if "start" in str(p.path) else p
                             for p in e.problems]) from None


def cmd_stress(args: argparse.Namespace) -> int:
    """Run a scenario under export bans given on the command line (no YAML to write)."""
    base = load_scenario(args.scenario, args.set)
    scenario, described = stress_scenario(base, args.ban, args.start, args.severity, args.keep_shocks)
    if args.focus is None:
        args.focus = described[0]["commodities"][0]
    source = str(args.scenario or DEFAULT_SCENARIO)
    overrides = list(args.set) + [f"--ban {b}" for b in args.ban]
    for d in described:
        print(f"stress: {d['country']} stops {d['severity']:.0%} of its exports of {', '.join(d['commodities'])} "
              f"for {d['days']:g} days from {d['start']}"
              + ("" if args.keep_shocks else "; the scenario's own shocks are off"))
    return run_scenario(args, scenario, source, overrides)


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


def _run_options(r: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``stress``."""
    r.add_argument("scenario", nargs="?", help=f"scenario YAML (default: {DEFAULT_SCENARIO.name})")
    r.add_argument("--seed", type=int, help="root seed (default: run.seed in the scenario)")
    r.add_argument("--replications", type=int, help="number of replications (default: run.replications)")
    r.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value; * and {a,b} in the path set several entries (shocks.*.rate_per_year=0.4)")
    r.add_argument("--out", help="results folder (default: results/<name>-<time>-seed<seed>)")
    r.add_argument("--csv", action="store_true", help="also write CSV copies of the tables")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    r.add_argument("--png", action="store_true",
                   help="also write the static PNG panels of the series (reserve, supply and demand, price, finance; "
                   "the report's charts are interactive without them)")
    r.add_argument("--focus", metavar="COMMODITY",
                   help="also print this commodity's own headline, with 95%% intervals over replications")
    r.add_argument("--keep-series", action="store_true",
                   help="write every replication's time series and finance table (default: replication 0's; "
                   "the plots use quantiles over all replications either way)")
    r.add_argument("--precision", type=float, metavar="SHARE",
                   help="add replications until the 95%% CI half-width of the loss avoided is within SHARE "
                   "of its mean (e.g. 0.05), starting from --replications (at least 5)")
    r.add_argument("--max-replications", type=int, default=100,
                   help="most replications --precision may run (default 100)")
    r.add_argument("--xlsx", action="store_true",
                   help="also write results.xlsx: the answer and warnings, every KPI and the per-commodity tables")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``run.py`` / ``vaultsim``."""
    p = argparse.ArgumentParser(prog="vaultsim", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a scenario and write a results folder")
    _run_options(r)
    r.set_defaults(func=cmd_run)

    st = sub.add_parser("stress", help="run a scenario under export bans given here, e.g. --ban China:gallium:365d",
                        description="Stress test without writing YAML: each --ban adds an export restriction "
                        "(the country stops --severity of its exports of the commodities) from --start for the "
                        "duration given. The scenario's own shocks are switched off unless --keep-shocks, so the "
                        "result is the ban's alone.")
    _run_options(st)
    st.add_argument("--ban", action="append", required=True, metavar="COUNTRY:COMMODITY[+COMMODITY]:DURATION",
                    help="e.g. China:gallium:365d, China:gallium+germanium:18m, Russia:nickel:2y (d, w, m, y)")
    st.add_argument("--start", default="365",
                    help="first day of the bans: a day number or a date YYYY-MM-DD (default 365: one year in)")
    st.add_argument("--severity", type=float, default=1.0, help="share of exports stopped, 0-1 (default 1)")
    st.add_argument("--keep-shocks", action="store_true", help="keep the scenario's own shocks on")
    st.set_defaults(func=cmd_stress)

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


#: A ``--set`` value: a dotted key path (wildcards allowed), ``=``, a value.
_SET_PIECE = re.compile(r"^[A-Za-z_][\w*{},-]*(\.[\w*{},-]+)+=")


def argv_problems(argv: list[str]) -> list[str]:
    """Messages for ``--set`` mistakes the shell or habit makes, before any parser sees them.

    A ``--set`` value without ``=`` (``--set key value``) and a bare ``key.path=value`` right
    after a ``--set`` value (what the shell leaves of ``--set reserve.{a,b}.x=1``: it expands
    the braces into two words) are named with the fix.
    """
    out = []
    after_set = False
    for i, a in enumerate(argv):
        prev = argv[i - 1] if i else ""
        if prev == "--set" or a.startswith("--set="):
            value = a.split("=", 1)[1] if a.startswith("--set=") else a
            if "=" not in value:
                nxt = argv[i + 1] if i + 1 < len(argv) and not argv[i + 1].startswith("-") else "VALUE"
                out.append(f"--set {value}: expected KEY.PATH=VALUE in one argument, e.g. --set {value}={nxt}")
            after_set = True
            continue
        if after_set and _SET_PIECE.match(a) and not Path(a).exists():
            out.append(f"{a}: looks like a piece of a --set the shell split (it expands {{a,b}} into several "
                       "words); quote the pattern, e.g. --set 'reserve.{gallium,germanium}.target_days=90'")
            continue
        after_set = False
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    problems = argv_problems(argv)
    if problems:
        print("error: invalid command line\n" + "\n".join(f"  {m}" for m in problems), file=sys.stderr)
        return EXIT_BAD_INPUT
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
