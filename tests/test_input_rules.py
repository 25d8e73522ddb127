"""Input rules: finite numbers that are numbers, located reading errors, and with_changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import Field

from sim import ScenarioError, load_scenario, simulate
from sim.cli import main
from sim.scenario import schema
from tests.builders import base_dict


def write(tmp_path: Path, data_or_text, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    if isinstance(data_or_text, bytes):
        p.write_bytes(data_or_text)
    else:
        p.write_text(data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text, sort_keys=False))
    return p


def line_of(path: Path, needle: str) -> int:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def only_problem(path: Path, overrides=None):
    with pytest.raises(ScenarioError) as e:
        load_scenario(path, overrides)
    (pr,) = e.value.problems
    return pr


def _with_shock(**fields) -> dict:
    d = base_dict()
    d["shocks"] = {"x": {"kind": "demand_surge", "commodities": ["ga"], "start": 3, "duration_days": 5,
                         "severity": 0.3, **fields}}
    return d


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf", "true", "false", "'365'", "1.0e+400"])
@pytest.mark.parametrize(("key", "path"), [
    ("capacity_tpy: 365.0", "suppliers.s1.capacity_tpy"),
    ("ga: 365.0", "manufacturers.m1.demand_tpy.ga"),
    ("reference_price_usd_per_t: 1000.0", "commodities.ga.reference_price_usd_per_t"),
])
def test_non_finite_bool_and_string_numbers_are_located_errors(tmp_path, text, key, path):
    written = key.split(":")[0] + ": " + text
    p = write(tmp_path, yaml.safe_dump(base_dict(), sort_keys=False).replace(key, written))
    pr = only_problem(p)
    assert (pr.source, pr.line, pr.path) == (str(p), line_of(p, written), path)
    expected = "finite number" if text in (".nan", ".inf", "-.inf", "1.0e+400") else "valid number"
    assert expected in pr.message and "got" in pr.message


@pytest.mark.parametrize(("field", "value", "path"), [
    ("severity", {"dist": "beta", "mean": 0.5, "sd": float("nan")}, "shocks.x.severity.sd"),
    ("duration_days", {"dist": "lognormal", "mean": float("inf"), "cv": 0.5}, "shocks.x.duration_days.mean"),
    ("severity", float("nan"), "shocks.x.severity"),
    ("severity", True, "shocks.x.severity"),
])
def test_distribution_parameters_follow_the_same_rules(tmp_path, field, value, path):
    pr = only_problem(write(tmp_path, _with_shock(**{field: value})))
    assert pr.path == path and pr.line is not None


def test_whole_numbers_only_for_integer_keys(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["lead_time_days"] = 10.0
    pr = only_problem(write(tmp_path, d))
    assert pr.path == "suppliers.s1.lead_time_days" and "valid integer" in pr.message


def test_exponent_numbers_are_numbers(tmp_path):
    text = yaml.safe_dump(base_dict(), sort_keys=False).replace("capacity_tpy: 365.0", "capacity_tpy: 1e3")
    assert load_scenario(write(tmp_path, text)).suppliers["s1"].capacity_tpy == 1000.0


def test_a_field_added_later_gets_the_number_rules_from_the_base():
    """The rules live on the shared base model: a new section or field needs no code of its own."""

    class WorldMarket(schema.Strict):
        world_demand_tpy: float = Field(0.0, ge=0)
        shares: dict[str, float] = Field(default_factory=dict)

    for bad in ({"world_demand_tpy": float("nan")}, {"world_demand_tpy": True}, {"shares": {"CN": float("inf")}},
                {"world_demand_tpy": "5"}):
        with pytest.raises(ValueError):
            WorldMarket.model_validate(bad)
    assert WorldMarket.model_validate({"world_demand_tpy": 5, "shares": {"CN": 0.6}}).world_demand_tpy == 5.0


def test_negative_durations_are_rejected(tmp_path):
    pr = only_problem(write(tmp_path, _with_shock(duration_days=-5)))
    assert pr.path == "shocks.x.duration_days" and ">= 0" in pr.message
    pr = only_problem(write(tmp_path, _with_shock(duration_days={"dist": "uniform", "low": -3, "high": 5})))
    assert pr.path == "shocks.x.duration_days"


def test_beta_with_huge_sd_is_an_error_not_an_overflow(tmp_path):
    p = write(tmp_path, _with_shock(severity={"dist": "beta", "mean": 0.5, "sd": 1e308}))
    pr = only_problem(p)
    assert pr.path == "shocks.x.severity.sd" and pr.line == line_of(p, "sd: 1.0e+308")
    pr = only_problem(write(tmp_path, _with_shock(severity={"dist": "beta", "mean": 0.5, "sd": 1e15})))
    assert pr.path == "shocks.x.severity" and "sd" in pr.message


def test_numbers_beyond_the_magnitude_limit_are_rejected(tmp_path):
    d = base_dict()
    d["manufacturers"]["m1"]["demand_tpy"]["ga"] = 2e15
    pr = only_problem(write(tmp_path, d))
    assert pr.path == "manufacturers.m1.demand_tpy" and "between -1e+15 and 1e+15" in pr.message and "ga" in pr.message


# ------------------------------------------------------------------ reading


def test_non_utf8_file_is_located(tmp_path):
    text = yaml.safe_dump(base_dict(), sort_keys=False).replace("name: test", "name: caf\xe9")
    p = write(tmp_path, text.encode("latin-1"))
    pr = only_problem(p)
    assert pr.line == 2 and "UTF-8" in pr.message


def test_unterminated_quote_is_reported_where_it_opens(tmp_path):
    p = write(tmp_path, yaml.safe_dump(base_dict(), sort_keys=False).replace("name: test", 'name: "test'))
    pr = only_problem(p)
    assert pr.line == line_of(p, 'name: "test') and "quoted scalar" in pr.message


def test_impossible_date_names_its_key(tmp_path):
    text = yaml.safe_dump(base_dict(), sort_keys=False).replace("'2030-01-01'", "2026-02-30")
    p = write(tmp_path, text)
    pr = only_problem(p)
    assert (pr.line, pr.path) == (line_of(p, "2026-02-30"), "run.start_date") and "date that exists" in pr.message


def test_extends_cycle_is_reported_at_the_extends_line(tmp_path):
    write(tmp_path, "meta: {name: a}\nextends: b.yaml\n", "a.yaml")
    b = write(tmp_path, "# b\n\nextends: a.yaml\n", "b.yaml")
    pr = only_problem(tmp_path / "a.yaml")
    assert (pr.source, pr.line, pr.path) == (str(b), 3, "extends")
    assert "circular extends: a.yaml -> b.yaml -> a.yaml" in pr.message
    own = write(tmp_path, "\nextends: self.yaml\n", "self.yaml")
    assert only_problem(own).line == 2


@pytest.mark.parametrize("target", ["missing.yaml", ".", "", "x" * 5000, "a\\0b.yaml"])
def test_extends_to_nothing_readable_is_located(tmp_path, target):
    p = write(tmp_path, f'meta: {{name: v}}\nextends: "{target}"\n')
    pr = only_problem(p)
    assert (pr.line, pr.path) == (2, "extends")


def test_cli_reports_reading_errors_with_exit_2(tmp_path, capsys):
    p = write(tmp_path, b"meta:\n  name: \xff\n")
    assert main(["run", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{p}:2:" in err and "Traceback" not in err and not (tmp_path / "out").exists()


# ------------------------------------------------------------------ with_changes and wildcards


def _scenario_with_shocks(tmp_path):
    d = base_dict()
    d["shocks"] = {
        name: {"kind": "export_restriction", "country": "A", "commodities": ["ga"], "rate_per_year": 0.5,
               "duration_days": 30, "severity": 0.5}
        for name in ("a", "b")
    }
    d["reserve"] = {"ga": {"target_days": 30}}
    return write(tmp_path, d)


def test_with_changes_sets_values_and_wildcards_without_touching_the_original(tmp_path):
    s = load_scenario(_scenario_with_shocks(tmp_path))
    t = s.with_changes({"reserve.ga.target_days": np.int64(90), "shocks.*.rate_per_year": np.float64(0.4)})
    assert t.reserve["ga"].target_days == 90 and isinstance(t.reserve["ga"].target_days, float)
    assert [sh.rate_per_year for sh in t.shocks.values()] == [0.4, 0.4]
    assert s.reserve["ga"].target_days == 30 and s.shocks["a"].rate_per_year == 0.5
    assert t.with_changes({"shocks.{a}.enabled": np.bool_(False)}).shocks["a"].enabled is False


def test_with_changes_equals_load_with_overrides(tmp_path):
    p = _scenario_with_shocks(tmp_path)
    changes = {"reserve.ga.target_days": 90, "shocks.*.rate_per_year": 2.0, "run.horizon_years": 0.5}
    a = load_scenario(p).with_changes(changes)
    b = load_scenario(p, [f"{k}={v}" for k, v in changes.items()])
    c = load_scenario(p, changes)
    assert a == b == c
    assert simulate(a, seed=5).summary == simulate(b, seed=5).summary


@pytest.mark.parametrize(("path", "hint"), [("reserve.ga.target_dayz", "did you mean 'target_days'"),
                                            ("reserv.ga.target_days", "did you mean 'reserve'"),
                                            ("shocks.*.rate_per_yr", "did you mean 'rate_per_year'"),
                                            ("suppliers.s9.capacity_tpy", "unknown entry 's9'")])
def test_with_changes_errors_match_set_errors(tmp_path, path, hint):
    p = _scenario_with_shocks(tmp_path)
    with pytest.raises(ScenarioError) as api:
        load_scenario(p).with_changes({path: 1})
    with pytest.raises(ScenarioError) as cli:
        load_scenario(p, [f"{path}=1"])
    assert [(q.path, q.message) for q in api.value.problems] == [(q.path, q.message) for q in cli.value.problems]
    assert hint in api.value.problems[0].message
    assert api.value.problems[0].source == f"with_changes {path}=1"


def test_with_changes_invalid_values_name_the_change(tmp_path):
    s = load_scenario(_scenario_with_shocks(tmp_path))
    with pytest.raises(ScenarioError) as e:
        s.with_changes({"shocks.*.rate_per_year": np.float64("nan")})
    assert {(q.source, q.path) for q in e.value.problems} == {
        ("with_changes shocks.*.rate_per_year=nan", "shocks.a.rate_per_year"),
        ("with_changes shocks.*.rate_per_year=nan", "shocks.b.rate_per_year"),
    }
    with pytest.raises(ScenarioError, match="wildcard matches no entry"):
        s.with_changes({"projects.*.capex_usd": 1.0})


def test_set_accepts_wildcards_on_the_command_line(tmp_path, capsys):
    p = _scenario_with_shocks(tmp_path)
    assert main(["validate", str(p), "--set", "shocks.*.rate_per_year=0.25", "--set", "shocks.{a,b}.enabled=no"]) == 0
    assert main(["validate", str(p), "--set", "shocks.*.rate_per_year=-1"]) == 2
    err = capsys.readouterr().err
    assert "--set shocks.*.rate_per_year=-1: shocks.a.rate_per_year" in err
