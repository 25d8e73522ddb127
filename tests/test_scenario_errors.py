"""Bad input is rejected with the file, line, key path and what was expected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from sim import ScenarioError, load_scenario
from tests.builders import base_dict


def write(tmp_path: Path, data_or_text, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    text = data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text, sort_keys=False)
    p.write_text(text)
    return p


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def problems(path: Path, overrides=None):
    with pytest.raises(ScenarioError) as e:
        load_scenario(path, overrides)
    return e.value.problems


def test_valid_file_loads(tmp_path):
    s = load_scenario(write(tmp_path, base_dict()))
    assert s.suppliers["s1"].capacity_tpy == 365.0


def test_unknown_key_names_file_line_path_and_suggests(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["capacity"] = 5
    p = write(tmp_path, d)
    (pr,) = problems(p)
    assert pr.source == str(p)
    assert pr.line == line_of(p, "capacity:")
    assert pr.path == "suppliers.s1.capacity"
    assert "unknown key 'capacity'" in pr.message
    assert "did you mean 'capacity_tpy'" in pr.message
    assert f"{p}:{pr.line}: suppliers.s1.capacity" in str(pr)


def test_wrong_type(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["lead_time_days"] = "two weeks"
    p = write(tmp_path, d)
    (pr,) = problems(p)
    assert pr.path == "suppliers.s1.lead_time_days"
    assert pr.line == line_of(p, "lead_time_days")
    assert "integer" in pr.message and "two weeks" in pr.message


def test_negative_capacity(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["capacity_tpy"] = -5
    p = write(tmp_path, d)
    (pr,) = problems(p)
    assert pr.path == "suppliers.s1.capacity_tpy"
    assert "greater than or equal to 0" in pr.message and "-5" in pr.message


def test_unknown_distribution(tmp_path):
    d = base_dict()
    d["shocks"] = {"b": {"kind": "export_restriction", "country": "A", "commodities": ["ga"],
                         "rate_per_year": 1.0, "duration_days": {"dist": "weibull", "k": 2},
                         "severity": 0.5}}
    p = write(tmp_path, d)
    prs = problems(p)
    assert any(pr.path == "shocks.b.duration_days" and "unknown distribution 'weibull'" in pr.message
               and "lognormal" in pr.message and pr.line == line_of(p, "duration_days") for pr in prs)


def test_unknown_shock_kind(tmp_path):
    d = base_dict()
    d["shocks"] = {"b": {"kind": "embargo", "start": 1, "duration_days": 5, "severity": 1}}
    (pr,) = problems(write(tmp_path, d))
    assert pr.path == "shocks.b" and "embargo" in pr.message and "export_restriction" in pr.message


@pytest.mark.parametrize(
    ("section", "entry", "key", "value", "path"),
    [
        ("suppliers", "s2", "commodity", "gallum", "suppliers.s2.commodity"),
        ("shocks", "x", "suppliers", ["nope"], "shocks.x.suppliers.0"),
    ],
)
def test_dangling_reference(tmp_path, section, entry, key, value, path):
    d = base_dict()
    if section == "suppliers":
        d["suppliers"][entry] = {"commodity": value, "country": "B", "capacity_tpy": 1}
    else:
        d["shocks"] = {entry: {"kind": "supplier_outage", key: value, "start": 3,
                               "duration_days": 3, "severity": 1}}
    p = write(tmp_path, d)
    (pr,) = problems(p)
    assert pr.path == path
    assert pr.line is not None
    assert "unknown" in pr.message and "expected one of" in pr.message


def test_project_names_unknown_facility(tmp_path):
    d = base_dict()
    d["projects"] = {"p": {"commodity": "ga", "country": "US", "capacity_tpy": 10, "capex_usd": 1e6,
                           "facility": "exm", "build_time_days": 100}}
    d["financing"] = {"facilities": {"exim": {"lender": "EXIM", "commitment_usd": 1e9,
                                              "interest_rate": 0.05, "tenor_years": 10}}}
    (pr,) = problems(write(tmp_path, d))
    assert pr.path == "projects.p.facility" and "did you mean 'exim'" in pr.message


def test_yaml_syntax_error_has_line(tmp_path):
    p = write(tmp_path, "meta:\n  name: x\nrun: [1, 2\n")
    (pr,) = problems(p)
    assert pr.line is not None and "YAML syntax error" in pr.message


def test_duplicate_key_is_an_error(tmp_path):
    p = write(tmp_path, yaml.safe_dump(base_dict()) + "run:\n  seed: 3\n")
    prs = problems(p)
    assert any("duplicate key" in pr.message and pr.path == "run" for pr in prs)


def test_all_problems_reported_together(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["capacity_tpy"] = -1
    d["manufacturers"]["m1"]["safety_days"] = 3
    assert len(problems(write(tmp_path, d))) == 2


def test_extends_deep_merges_and_reports_the_variant_file(tmp_path):
    write(tmp_path, base_dict(), "base.yaml")
    v = write(tmp_path, textwrap.dedent("""\
        extends: base.yaml
        meta: {name: variant}
        suppliers:
          s1: {capacity_tpy: 730}
        """), "variant.yaml")
    s = load_scenario(v)
    assert s.meta.name == "variant" and s.suppliers["s1"].capacity_tpy == 730
    assert s.suppliers["s1"].lead_time_days == 10
    bad = write(tmp_path, "extends: base.yaml\nsuppliers:\n  s1: {capacity_tpy: -1}\n", "bad.yaml")
    (pr,) = problems(bad)
    assert pr.source == str(bad) and pr.line == 3


def test_extends_null_removes_inherited_entry(tmp_path):
    d = base_dict()
    d["suppliers"]["s2"] = {"commodity": "ga", "country": "B", "capacity_tpy": 10}
    write(tmp_path, d, "base.yaml")
    v = write(tmp_path, "extends: base.yaml\nsuppliers:\n  s2: null\n", "v.yaml")
    assert list(load_scenario(v).suppliers) == ["s1"]


def test_set_overrides_are_type_checked_and_suggest(tmp_path):
    p = write(tmp_path, base_dict())
    s = load_scenario(p, ["suppliers.s1.capacity_tpy=100", "run.seed=5"])
    assert s.suppliers["s1"].capacity_tpy == 100 and s.run.seed == 5
    (pr,) = problems(p, ["suppliers.s1.capacity_tp=100"])
    assert pr.source.startswith("--set") and "did you mean 'capacity_tpy'" in pr.message
    (pr,) = problems(p, ["suppliers.s9.capacity_tpy=100"])
    assert "unknown entry 's9'" in pr.message and "s1" in pr.message
    (pr,) = problems(p, ["suppliers.s1.capacity_tpy=lots"])
    assert pr.source == "--set suppliers.s1.capacity_tpy=lots" and pr.path == "suppliers.s1.capacity_tpy"
    assert "number" in pr.message


def test_origin_mix_must_sum_to_one(tmp_path):
    d = base_dict()
    d["suppliers"]["s1"]["origin_mix"] = {"A": 0.5, "B": 0.2}
    (pr,) = problems(write(tmp_path, d))
    assert pr.path == "suppliers.s1.origin_mix" and "sum to 1" in pr.message


def test_extends_accumulates_assumptions_and_locates_them(tmp_path):
    d = base_dict()
    d["meta"]["assumptions"] = [{"key": "suppliers.s1.capacity_tpy", "reason": "base"}]
    write(tmp_path, d, "base.yaml")
    v = write(tmp_path, textwrap.dedent("""\
        extends: base.yaml
        meta:
          assumptions:
            - {key: run.seed, reason: variant}
        """), "v.yaml")
    s = load_scenario(v)
    assert [a.reason for a in s.meta.assumptions] == ["base", "variant"]
    bad = write(tmp_path, "extends: base.yaml\nmeta:\n  assumptions:\n    - {key: run.seed}\n", "bad.yaml")
    (pr,) = problems(bad)
    assert pr.path == "meta.assumptions.1.reason" and pr.source == str(bad) and pr.line == 4


def test_growth_by_commodity_must_name_own_commodity(tmp_path):
    d = base_dict()
    d["manufacturers"]["m1"]["growth_by_commodity"] = {"co": 0.1}
    (pr,) = problems(write(tmp_path, d))
    assert pr.path == "manufacturers.m1.growth_by_commodity.co" and "unknown commodity" in pr.message
