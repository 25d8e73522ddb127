"""Cross-section checks: ids that one section names must exist in another."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


def _missing(kind: str, name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; expected one of: " + ", ".join(sorted(valid))


def check_references(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Every dangling or inconsistent reference as (key path, message)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    commodities = list(s.commodities)
    suppliers = list(s.suppliers)
    facilities = list(s.financing.facilities)
    countries = {sup.country for sup in s.suppliers.values()}
    for sup in s.suppliers.values():
        countries.update((sup.origin_mix or {}).keys())
    countries.update(p.country for p in s.projects.values())

    for sid, sup in s.suppliers.items():
        if sup.commodity not in s.commodities:
            out.append((("suppliers", sid, "commodity"), _missing("commodity", sup.commodity, commodities)))
    for pid, p in s.projects.items():
        if p.commodity not in s.commodities:
            out.append((("projects", pid, "commodity"), _missing("commodity", p.commodity, commodities)))
        if p.facility not in s.financing.facilities:
            out.append((("projects", pid, "facility"), _missing("facility", p.facility, facilities)))
        elif (purpose := s.financing.facilities[p.facility].purpose) != "projects":
            out.append(
                (
                    ("projects", pid, "facility"),
                    f"facility {p.facility!r} has purpose {purpose!r}; expected a facility with purpose "
                    "'projects' (a project company borrows on its own; the programme does not)",
                )
            )
    for hid, sh in s.shocks.items():
        if sh.kind == "restriction_regime":
            for country, cells in sh.countries.items():
                if country not in countries:
                    out.append((("shocks", hid, "countries", country), _missing("country", country, sorted(countries))))
                for i, c in enumerate(cells.commodities):
                    if c not in s.commodities:
                        out.append((("shocks", hid, "countries", country, "commodities", i),
                                    _missing("commodity", c, commodities)))
            continue
        if sh.kind == "supplier_outage":
            for i, sid in enumerate(sh.suppliers):
                if sid not in s.suppliers:
                    out.append((("shocks", hid, "suppliers", i), _missing("supplier", sid, suppliers)))
        else:
            for i, c in enumerate(sh.commodities):
                if c not in s.commodities:
                    out.append((("shocks", hid, "commodities", i), _missing("commodity", c, commodities)))
        if sh.kind == "export_restriction" and sh.country not in countries:
            out.append((("shocks", hid, "country"), _missing("country", sh.country, sorted(countries))))
    for mid, m in s.manufacturers.items():
        for c in m.demand_tpy:
            if c not in s.commodities:
                out.append((("manufacturers", mid, "demand_tpy", c), _missing("commodity", c, commodities)))
        for c in m.growth_by_commodity:
            if c not in m.demand_tpy:
                out.append((("manufacturers", mid, "growth_by_commodity", c),
                            _missing("commodity in this manufacturer's demand_tpy", c, list(m.demand_tpy))))
    for c in s.reserve:
        if c not in s.commodities:
            out.append((("reserve", c), _missing("commodity", c, commodities)))
    supplied = {sup.commodity for sup in s.suppliers.values()}
    for c in s.commodities:
        if c not in supplied:
            out.append((("commodities", c), "has no supplier; add one under suppliers"))
    out += check_party_references(s)
    return out


def check_party_references(s: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Every dangling or inconsistent reference of ``parties`` and ``public_stocks`` as (path, message)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    mids = list(s.manufacturers)
    for sid, st in s.public_stocks.items():
        for i, m in enumerate(st.serves):
            if m not in s.manufacturers:
                out.append((("public_stocks", sid, "serves", i), _missing("manufacturer", m, mids)))
        for c in st.stocks_t:
            if c not in s.commodities:
                out.append((("public_stocks", sid, "stocks_t", c), _missing("commodity", c, list(s.commodities))))
    p = s.parties
    if p is None:
        return out
    owner: dict[str, str] = {}
    for pid, mem in p.members.items():
        for i, m in enumerate(mem.manufacturers):
            if m not in s.manufacturers:
                out.append((("parties", "members", pid, "manufacturers", i), _missing("manufacturer", m, mids)))
            elif m in owner:
                out.append((("parties", "members", pid, "manufacturers", i),
                            f"manufacturer {m!r} already belongs to member {owner[m]!r}"))
            elif not s.manufacturers[m].member:
                out.append((("parties", "members", pid, "manufacturers", i),
                            f"manufacturer {m!r} has member: false; expected member: true"))
            else:
                owner[m] = pid
    for mid, man in s.manufacturers.items():
        if man.member and mid not in owner:
            out.append((("manufacturers", mid, "member"),
                        "member: true but listed under no parties.members entry; expected it in one"))
    share = {c: 0.0 for c in s.commodities}
    holders = [("members", k, v) for k, v in p.members.items()] + [("allies", k, v) for k, v in p.allies.items()]
    for group, hid, h in holders:
        for key, values in (("entitlements_t", h.entitlements_t), ("entitlement_shares", h.entitlement_shares)):
            for c, x in values.items():
                if c not in s.reserve:
                    if x == 0 and c in s.commodities:  # a variant that drops a holding zeroes its entitlements
                        continue
                    out.append((("parties", group, hid, key, c), _missing("reserve commodity", c, list(s.reserve))
                                + " (or a share of 0)"))
                    continue
                target = s.reserve[c].target_t
                if key == "entitlement_shares":
                    share[c] += x
                elif target is not None:
                    share[c] += x / target if target > 0 else (float("inf") if x > 0 else 0.0)
    for c, x in share.items():
        if x > 1 + 1e-9:
            out.append((("parties",), f"entitlements and stakes of {c!r} add up to {x:.6g} of the reserve's "
                        "target; expected at most 1"))
    return out
