"""Generate the scenario-format reference (docs/scenario_reference.md) from the schema.

Run ``python -m sim.scenario.reference > docs/scenario_reference.md``; a test checks the
committed file is up to date, so the reference can never drift from the schema.
"""

from __future__ import annotations

import re
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.scenario import schema
from sim.scenario.distributions import REGISTRY

SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("meta", schema.Meta, "Who wrote the scenario and where its numbers come from."),
    ("meta.assumptions[]", schema.Assumption, "One entry per number that is not from a source."),
    ("run", schema.Run, "Run settings (how to run, not what is modelled)."),
    ("evaluation", schema.Evaluation, "How outcomes are valued."),
    ("commodities.<id>", schema.Commodity, "One entry per material."),
    ("suppliers.<id>", schema.Supplier, "The bloc's sources, one per commodity and country."),
    ("projects.<id>", schema.Project, "New capacity financed by a loan facility."),
    ("shocks.<id> (kind: export_restriction)", schema.ExportRestriction, schema.ExportRestriction.__doc__ or ""),
    ("shocks.<id> (kind: supplier_outage)", schema.SupplierOutage, schema.SupplierOutage.__doc__ or ""),
    ("shocks.<id> (kind: demand_surge)", schema.DemandSurge, schema.DemandSurge.__doc__ or ""),
    ("shocks.<id> (kind: logistics_delay)", schema.LogisticsDelay, schema.LogisticsDelay.__doc__ or ""),
    ("shocks.<id> (kind: restriction_regime)", schema.RestrictionRegime, schema.RestrictionRegime.__doc__ or ""),
    ("shocks.<id>.countries.<country>", schema.RegimeCountry, schema.RegimeCountry.__doc__ or ""),
    ("shocks.<id>.tension", schema.RegimeTension, schema.RegimeTension.__doc__ or ""),
    ("manufacturers.<id>", schema.Manufacturer, "Consumers in the bloc."),
    ("reserve.<commodity id>", schema.ReserveCommodity, "The reserve's holding of one commodity."),
    ("reserve.<commodity id>.buy", schema.BuyPolicy, "Acquisition policy."),
    ("reserve.<commodity id>.release", schema.ReleasePolicy, "Release policy."),
    ("financing", schema.Financing, "How the programme is paid for."),
    ("financing.facilities.<id>", schema.Facility, "A loan facility."),
    ("financing.member_fees", schema.MemberFees, "What members pay."),
    ("parties", schema.Parties, schema.Parties.__doc__ or ""),
    ("parties.members.<id>", schema.Member, schema.Member.__doc__ or ""),
    ("parties.allies.<id>", schema.Ally, schema.Ally.__doc__ or ""),
    ("parties.draws", schema.DrawTerms, schema.DrawTerms.__doc__ or ""),
    ("parties.draws.major_disruption", schema.MajorDisruption, schema.MajorDisruption.__doc__ or ""),
    ("parties.fees", schema.PartyFees, schema.PartyFees.__doc__ or ""),
    ("public_stocks.<id>", schema.PublicStock, schema.PublicStock.__doc__ or ""),
]


def _type_name(ann: object) -> str:
    text = str(ann).replace("typing.", "").replace("datetime.", "")
    for mod in ("sim.scenario.schema.", "sim.scenario.distributions."):
        text = text.replace(mod, "")
    text = text.replace("<class '", "").replace("'>", "")
    text = re.sub(r"Annotated\[(\w+), [^\]]*\]", r"\1", text)
    if "Fixed" in text and "LogNormal" in text:
        return "distribution"
    return text


def _default(field: object) -> str:
    d = getattr(field, "default", PydanticUndefined)
    if d is PydanticUndefined:
        return "**required**" if getattr(field, "default_factory", None) is None else "(see text)"
    if isinstance(d, str):
        return f"`{d!r}`"
    return f"`{d}`"


def render() -> str:
    """The reference as Markdown."""
    out = [
        "# Scenario file reference",
        "",
        "Generated from `sim/scenario/schema.py` by `python -m sim.scenario.reference`; do not edit by hand.",
        "Unknown keys are errors. Units are in the key names: `_t` tonnes, `_tpy` tonnes per year,",
        "`_days` days, `_usd` US dollars, `_usd_per_t` USD per tonne; shares are fractions (0.1 = 10%).",
        "Every number must be finite (no `.nan`, no `.inf`); `true`/`false` and quoted strings are not",
        "numbers, and a key of type int takes whole numbers only (`30`, not `30.0`). Dates are",
        "`YYYY-MM-DD` and must exist (`2026-02-30` is an error).",
        "",
    ]
    for title, model, text in SECTIONS:
        out += [f"## `{title}`", "", " ".join(text.split()), ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for name, f in model.model_fields.items():
            if name == "kind":
                continue
            desc = " ".join((f.description or "").split()).replace("|", "\\|")
            typ = _type_name(f.annotation).replace("|", "\\|")
            out.append(f"| `{name}` | {typ} | {_default(f)} | {desc} |")
        out.append("")
    out += [
        "## Distributions",
        "",
        "Where a key's type is *distribution*, write a number (a fixed value) or a mapping with `dist:` and",
        "its parameters, e.g. `{dist: lognormal, mean: 180, cv: 0.5}`.",
        "",
        "| dist | parameters |",
        "|---|---|",
    ]
    for name, cls in REGISTRY.items():
        params = ", ".join(f"`{k}`" for k in cls.model_fields if k != "dist")
        out.append(f"| `{name}` | {params} — {' '.join((cls.__doc__ or '').split())} |")
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
    _ = typing  # keep import for annotations evaluated by pydantic
