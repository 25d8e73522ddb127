"""Fuzz: mutated scenario files are accepted and run cleanly, or rejected with a located message.

A seeded generator makes mutants of two scenarios (a small one that uses every section and
distribution, and the default scenario): deleted keys, wrong types, NaN, infinities, huge
or negative numbers, booleans and strings for numbers, broken references, bad dates, bad
encodings, YAML syntax errors, truncated files, ``extends`` to missing files and cycles.
Every rejection must name an existing file and a line; every accepted mutant must run
(short horizon) without an exception. Never a traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from sim import ScenarioError, load_scenario, simulate
from sim.cli import main
from sim.scenario.loader import DEFAULT_SCENARIO
from sim.scenario.yaml_loader import ScenarioYamlLoader
from tests.builders import base_dict

N_MUTANTS = 200
RUN_DAYS = 45
BAD_DATE = "__BAD_DATE__"
WRONG_VALUES: list[Any] = ["text", [1, 2], {"a": 1}, None, "", True, False, "12", -1, 0, 1e308, -1e308,
                           float("nan"), float("inf"), -float("inf"), 2**70, 0.5]


def rich_dict() -> dict[str, Any]:
    """A small scenario that uses every section, shock kind and distribution."""
    d = base_dict()
    d["meta"]["assumptions"] = [{"key": "suppliers.s1.capacity_tpy", "reason": "fixture"}]
    d["run"] = {"start_date": dt.date(2030, 1, 1), "horizon_years": 0.2, "seed": 7}
    d["evaluation"] = {"discount_rate_per_year": 0.03}
    d["commodities"]["co"] = {"reference_price_usd_per_t": 30000.0, "value_of_lost_output_usd_per_t": 3e5,
                              "demand_elasticity": 0.5, "price_cap_ratio": 5.0}
    d["suppliers"]["s2"] = {"commodity": "co", "country": "B", "capacity_tpy": 800.0, "lead_time_days": 20,
                            "output_cv": 0.1, "origin_mix": {"A": 0.4, "B": 0.6}}
    d["manufacturers"]["m2"] = {"sector": "auto", "demand_tpy": {"ga": 100.0, "co": 700.0}, "growth_per_year": 0.02,
                                "growth_by_commodity": {"co": 0.05}, "demand_cv": 0.05, "safety_stock_days": 20.0,
                                "priority": 2, "member": True, "loss_multiplier": 2.0}
    d["shocks"] = {
        "ban": {"kind": "export_restriction", "country": "A", "commodities": ["ga", "co"], "rate_per_year": 3.0,
                "duration_days": {"dist": "lognormal", "mean": 30.0, "cv": 0.5},
                "severity": {"dist": "beta", "mean": 0.6, "sd": 0.2}},
        "outage": {"kind": "supplier_outage", "suppliers": ["s2"], "start": dt.date(2030, 1, 20),
                   "duration_days": {"dist": "uniform", "low": 5.0, "high": 15.0}, "severity": 0.5},
        "surge": {"kind": "demand_surge", "commodities": ["co"], "start": 10,
                  "duration_days": {"dist": "triangular", "low": 5.0, "mode": 10.0, "high": 20.0}, "severity": 0.2},
        "port": {"kind": "logistics_delay", "commodities": ["ga"], "rate_per_year": 2.0, "first_day": 5,
                 "duration_days": {"dist": "exponential", "mean": 10.0},
                 "severity": {"dist": "normal", "mean": 7.0, "sd": 2.0}},
    }
    d["reserve"] = {
        "ga": {"target_days": 60.0, "initial_stock_t": 10.0, "capacity_t": 500.0,
               "buy": {"max_rate_tpy": 200.0, "price_ceiling_ratio": 1.2, "mode": "spare", "review_interval_days": 15},
               "release": {"trigger": "cover", "trigger_cover_days": 10.0, "max_rate_tpy": 500.0, "offset_share": 0.9,
                           "allocation": "members_first", "price_ratio": 1.0, "floor_share": 0.1}},
        "co": {"target_t": 100.0, "release": {"trigger": "price", "trigger_price_ratio": 1.3, "price_ratio": None}},
    }
    d["projects"] = {"mine": {"commodity": "co", "country": "US", "capacity_tpy": 100.0, "capex_usd": 5e7,
                              "facility": "dfc", "start": 5, "build_time_days": 30.0, "delay_probability": 0.5,
                              "failure_probability": 0.1}}
    d["financing"] = {
        "facilities": {"exim": {"lender": "EXIM", "commitment_usd": 1e9, "interest_rate": 0.05, "tenor_years": 10.0,
                                "grace_years": 2.0, "payments_per_year": 4, "repayment": "level",
                                "upfront_fee_share": 0.01, "commitment_fee_share": 0.005},
                       "dfc": {"lender": "DFC", "purpose": "projects", "commitment_usd": 1e8, "interest_rate": 0.06,
                               "tenor_years": 8.0}},
        "equity_usd": 1e7, "loan_share_of_spend": 0.5,
        "member_fees": {"upfront_usd": 1e6, "annual_usd": 1e5, "carrying_charge_share": 0.5},
    }
    return d


def _default_dict() -> dict[str, Any] | None:
    """The default scenario as a mapping, if it is valid (mutants of an invalid file test nothing)."""
    try:
        load_scenario(DEFAULT_SCENARIO)
    except ScenarioError:
        return None
    return yaml.load(DEFAULT_SCENARIO.read_text(encoding="utf-8"), Loader=ScenarioYamlLoader)


# --------------------------------------------------------------------------- mutators


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path (to mappings, lists and leaves) below ``node``."""
    out = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return out
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _get(d: Any, path: tuple) -> Any:
    for k in path:
        d = d[k]
    return d


def _set(d: Any, path: tuple, value: Any) -> None:
    _get(d, path[:-1])[path[-1]] = value


def _pick(rng: np.random.Generator, items: list) -> Any:
    return items[int(rng.integers(len(items)))]


def mutate_data(d: dict, rng: np.random.Generator) -> str:
    """Apply one structural mutation in place; returns its kind."""
    paths = _paths(d)
    leaves = [p for p in paths if not isinstance(_get(d, p), (dict, list))]
    numbers = [p for p in leaves if isinstance(_get(d, p), (int, float)) and not isinstance(_get(d, p), bool)]
    kind = _pick(rng, ["delete", "wrong_type", "nan_inf", "bool", "extreme", "reference", "date", "typo",
                       "quoted_number", "swap_section", "scale", "scale", "scale"])
    if kind == "scale":  # a plausible change: most such mutants are valid and must run
        p = _pick(rng, numbers)
        x = _get(d, p) * float(rng.uniform(0.25, 4.0))
        _set(d, p, int(round(x)) if isinstance(_get(d, p), int) else x)
    elif kind == "delete":
        p = _pick(rng, paths)
        node = _get(d, p[:-1])
        if isinstance(node, list):
            node.pop(p[-1])
        else:
            del node[p[-1]]
    elif kind == "wrong_type":
        _set(d, _pick(rng, leaves), copy.deepcopy(_pick(rng, WRONG_VALUES)))
    elif kind == "nan_inf":
        _set(d, _pick(rng, numbers), _pick(rng, [float("nan"), float("inf"), -float("inf")]))
    elif kind == "bool":
        _set(d, _pick(rng, numbers), bool(rng.integers(2)))
    elif kind == "extreme":
        _set(d, _pick(rng, numbers), _pick(rng, [1e308, -1e308, 1e-308, -1.0, 0, 10**30, 1e15]))
    elif kind == "reference":
        refs = [p for p in leaves if isinstance(_get(d, p), str)
                and (p[-1] in ("commodity", "country", "facility") or "commodities" in p or "suppliers" in p[2:])]
        _set(d, _pick(rng, refs), "zz_missing")
    elif kind == "date":
        dates = [p for p in leaves if isinstance(_get(d, p), dt.date) or p[-1] in ("start", "start_date")]
        _set(d, _pick(rng, dates), BAD_DATE)
    elif kind == "typo":
        p = _pick(rng, [p for p in paths if isinstance(p[-1], str)])
        node = _get(d, p[:-1])
        node[p[-1] + "x"] = node.pop(p[-1])
    elif kind == "quoted_number":
        _set(d, _pick(rng, numbers), str(_get(d, _pick(rng, numbers))))
    else:
        d[_pick(rng, list(d))] = _pick(rng, [[], "x", 3, None])
    return kind


def mutate_text(text: str, rng: np.random.Generator) -> tuple[str | bytes, str]:
    """Apply one textual mutation; returns the new content and its kind."""
    lines = text.splitlines(keepends=True)
    i = int(rng.integers(len(lines)))
    kind = _pick(rng, ["encoding", "quote", "bracket", "indent", "tab", "truncate", "control", "duplicate",
                       "colon"])
    if kind == "encoding":
        raw = text.encode("utf-8")
        at = int(rng.integers(len(raw)))
        return raw[:at] + _pick(rng, [b"\xe9", b"\xff\xfe", b"\xc3"]) + raw[at:], kind
    if kind == "quote":
        lines[i] = lines[i].replace(": ", ': "', 1) if ": " in lines[i] else lines[i].rstrip("\n") + ' "\n'
    elif kind == "bracket":
        lines[i] = lines[i].rstrip("\n") + _pick(rng, [" [", " {", " ]", " }"]) + "\n"
    elif kind == "indent":
        lines[i] = " " * int(rng.integers(1, 4)) + lines[i]
    elif kind == "tab":
        lines[i] = "\t" + lines[i]
    elif kind == "truncate":
        return text[: int(rng.integers(len(text)))], kind
    elif kind == "control":
        lines[i] = lines[i].rstrip("\n") + _pick(rng, ["\x00", "\x07", "\x1b"]) + "\n"
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    else:
        lines[i] = lines[i].rstrip("\n") + ": x: y\n"
    return "".join(lines), kind


def _dump(d: dict) -> str:
    return yaml.safe_dump(d, sort_keys=False, allow_unicode=True).replace(f"'{BAD_DATE}'", "2026-02-30").replace(
        BAD_DATE, "2026-02-30")


def make_mutant(k: int, rng: np.random.Generator, folder: Path, bases: list[dict]) -> tuple[Path, list[Path], str]:
    """Write mutant ``k`` (and any file it extends) into ``folder``; returns (file, all files, kinds)."""
    d = copy.deepcopy(bases[k % len(bases)])
    main_file = folder / f"m{k}.yaml"
    form = _pick(rng, ["data"] * 6 + ["text"] * 2 + ["extends", "extends_cycle", "extends_missing"])
    if form == "data":
        kinds = [mutate_data(d, rng) for _ in range(int(rng.integers(1, 3)))]
        main_file.write_text(_dump(d), encoding="utf-8")
        return main_file, [main_file], "+".join(kinds)
    if form == "text":
        content, kind = mutate_text(_dump(d), rng)
        main_file.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return main_file, [main_file], kind
    parent = folder / f"m{k}_parent.yaml"
    kind = mutate_data(d, rng)
    if form == "extends_cycle":
        d["extends"] = main_file.name
        kind = "extends_cycle"
    parent.write_text(_dump(d), encoding="utf-8")
    target = "no_such_file.yaml" if form == "extends_missing" else parent.name
    main_file.write_text(f"# variant\nextends: {target}\nmeta:\n  name: variant{k}\n", encoding="utf-8")
    return main_file, [main_file, parent], f"{form}:{kind}"


# --------------------------------------------------------------------------- the test


def test_the_unmutated_fixture_is_valid_and_runs():
    from sim.scenario.loader import validate_data

    s = validate_data(rich_dict())
    assert simulate(s.with_changes({"run.horizon_years": RUN_DAYS / 365}), seed=1).summary


def test_fuzzed_scenarios_never_give_a_traceback(tmp_path, capsys):
    rng = np.random.default_rng(20260213)
    bases = [b for b in (rich_dict(), rich_dict(), _default_dict()) if b is not None]
    counts = {"mutants": 0, "rejected": 0, "accepted": 0, "tracebacks": 0}
    failures: list[str] = []
    for k in range(N_MUTANTS):
        path, files, kinds = make_mutant(k, rng, tmp_path, bases)
        counts["mutants"] += 1
        try:
            s = load_scenario(path)
        except ScenarioError as e:
            counts["rejected"] += 1
            unlocated = [str(p) for p in e.problems if p.source not in {str(f) for f in files} or not p.line]
            if unlocated:
                failures.append(f"{path.name} ({kinds}): unlocated {unlocated}")
            if k % 10 == 0:  # the command line says the same, with exit status 2
                assert main(["validate", str(path)]) == 2
                err = capsys.readouterr().err
                assert any(str(f) in err for f in files) and "Traceback" not in err
            continue
        except Exception as e:  # noqa: BLE001 - the point of the test
            counts["tracebacks"] += 1
            failures.append(f"{path.name} ({kinds}): {type(e).__name__}: {e}")
            continue
        counts["accepted"] += 1
        try:
            short = s.with_changes({"run.horizon_years": min(s.run.horizon_years, RUN_DAYS / 365)})
            simulate(short, seed=k)
        except Exception as e:  # noqa: BLE001
            counts["tracebacks"] += 1
            failures.append(f"{path.name} ({kinds}) accepted but the run raised {type(e).__name__}: {e}")
    print(f"\nfuzz: {counts}")
    assert not failures, "\n".join(failures)
    assert counts["tracebacks"] == 0
    # the mutants exercise both outcomes (else the test could not fail)
    # (the default scenario has many required keys, so most of its mutants are rejected)
    assert counts["rejected"] >= N_MUTANTS // 4 and counts["accepted"] >= N_MUTANTS // 20


@pytest.mark.parametrize("kind", ["encoding", "quote", "truncate", "control", "colon"])
def test_text_mutations_are_rejected_with_a_line(tmp_path, kind):
    p = tmp_path / "s.yaml"
    text = _dump(rich_dict()).replace("name: test", 'name: "test' if kind == "quote" else "name: test")
    if kind == "encoding":
        p.write_bytes(text.replace("name: test", "name: caf\xe9").encode("latin-1"))
    elif kind == "truncate":
        p.write_text(text[: text.index("severity: {") if "severity: {" in text else len(text) // 2] + "[1, 2")
    elif kind == "control":
        p.write_text(text.replace("name: test", "name: te\x00st"))
    elif kind == "colon":
        p.write_text(text.replace("name: test", "name: a: b"))
    else:
        p.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    (pr,) = e.value.problems
    assert pr.source == str(p) and pr.line is not None
