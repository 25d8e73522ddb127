"""The KPI catalog: every KPI a run writes to its summary, declared once.

Each :class:`~sim.metrics.kpi_patterns.Kpi` declares a key pattern, whose placeholders
(``<arm>``, ``<commodity>``, ``<commodity|total>``, ``<project>``, ``<party>``) stand for the
segments that vary, with its unit, label, display scale, when it may be NaN, the parts of a
ratio that summaries report as a ratio of means, its headline group, whether higher is better
and a one-line meaning. Every key a run writes matches exactly one entry (:func:`match`);
:func:`expand` lists the keys a run of a scenario writes, in the run's order, from the
scenario alone.

``CATALOG`` is in the order the run writes its keys: consecutive entries with the same
placeholders are one loop over their values, the leftmost outermost, so a new entry goes where
its computation writes its key. ``docs/kpis.md`` is generated from here:
``python -m sim.metrics.kpi_reference --write`` (a test checks it is up to date).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sim.metrics.kpi_patterns import BN, Kpi, M, accepts, check, dimension_values, expand_entries, fill, values_in
from sim.model.world import ARMS
from sim.scenario.schema import Scenario

__all__ = ["BN", "CATALOG", "M", "Kpi", "expand", "find", "headline_entries", "headline_keys", "label", "match",
           "nan_ok", "ratio_parts", "ratios"]

_ARM = "<arm>.<commodity|total>."
_ARM_C = "<arm>.<commodity>."
_DIFF = "difference.<commodity|total>."
_NET_COST = "when the net cost is not above a micro-dollar"

CATALOG: tuple[Kpi, ...] = (
    # each arm, per commodity and in total (sim/metrics/kpis.py)
    Kpi(_ARM + "demand_t", "t", "bloc demand {arm}", "Bloc manufacturers' demand over the horizon."),
    Kpi(_ARM + "delivered_t", "t", "delivered {arm}", "Tonnes delivered to bloc manufacturers.",
        higher_is_better=True),
    Kpi(_ARM + "shortfall_t", "t", "shortfall {arm}", "Bloc demand not delivered (demand - delivered).",
        headline="outcomes", rank=1, higher_is_better=False),
    Kpi(_ARM + "fill_rate", "share", "fill rate {arm}", "Delivered / demand (1 without demand).",
        headline="outcomes", rank=3, higher_is_better=True),
    Kpi(_ARM + "shortfall_days", "days", "shortfall days {arm}",
        "Days with a shortfall above 1e-6 t (in total: in any commodity).", higher_is_better=False),
    Kpi(_ARM + "longest_shortfall_days", "days", "longest shortfall {arm}",
        "Longest run of consecutive shortfall days.", higher_is_better=False),
    Kpi(_ARM + "loss_usd", "USD", "loss {arm}", "The bloc's loss (sim/model/welfare.py), undiscounted sum.",
        higher_is_better=False),
    Kpi(_ARM + "loss_npv_usd", "USD", "loss (NPV) {arm}", "The bloc's loss at the scenario's discount rate.",
        higher_is_better=False),
    Kpi(_ARM + "loss_surplus_npv_usd", "USD", "surplus loss (NPV) {arm}",
        "Consumer surplus lost on the demand curve, NPV.", higher_is_better=False),
    Kpi(_ARM + "loss_import_npv_usd", "USD", "extra import bill (NPV) {arm}",
        "Extra import bill (price above reference on imported tonnes), NPV.", higher_is_better=False),
    Kpi(_ARM + "loss_critical_npv_usd", "USD", "critical loss (NPV) {arm}",
        "Critical demand not served at the value of lost output, NPV.", higher_is_better=False),
    Kpi(_ARM + "critical_shortfall_t", "t", "critical shortfall {arm}", "Critical demand not delivered.",
        higher_is_better=False),
    Kpi(_ARM_C + "row_shortfall_t", "t", "rest-of-world shortfall {arm}", "Rest-of-world demand not consumed.",
        higher_is_better=False),
    Kpi(_ARM_C + "row_shortfall_share", "share", "rest of world's share of shortfall {arm}",
        "The rest of the world's share of all use not served (its shortfall over its and the bloc's).",
        nan_when="when no one is short"),
    Kpi(_ARM + "peak_price_ratio", "x reference price", "peak price / reference, {arm}",
        "Highest daily market price over the reference price (in total: over commodities).",
        headline="outcomes", rank=4, higher_is_better=False),
    Kpi(_ARM_C + "mean_price_ratio", "x reference price", "mean price / reference, {arm}",
        "Mean daily market price over the reference price.", higher_is_better=False),
    Kpi(_ARM_C + "reserve_peak_t", "t", "peak reserve stock {arm}", "Largest reserve stock on any day."),
    Kpi(_ARM_C + "reserve_end_t", "t", "reserve stock at horizon {arm}", "Reserve stock on the last day."),
    Kpi(_ARM_C + "days_of_cover_end", "days", "days of cover at horizon {arm}",
        "Reserve stock on the last day in days of that day's bloc demand (0 without demand)."),
    Kpi("<arm>.total.reserve_end_value_usd", "USD", "reserve value at horizon {arm}",
        "Reserve stock on the last day at reference prices."),
    Kpi("<arm>.total.reserve_peak_value_usd", "USD", "peak reserve value {arm}",
        "Largest value of the reserve stock at reference prices on any day."),
    Kpi(_ARM + "purchases_t", "t", "reserve purchases {arm}", "Tonnes the reserve bought."),
    Kpi(_ARM + "releases_t", "t", "reserve releases {arm}", "Tonnes the reserve released."),
    # the reserve's effect: counterfactual minus reserve arm
    Kpi(_DIFF + "shortfall_avoided_t", "t", "shortfall avoided", "Shortfall the reserve avoided.",
        headline="outcomes", rank=2, higher_is_better=True),
    Kpi(_DIFF + "loss_avoided_usd", "USD", "loss avoided", "Loss the reserve avoided, undiscounted.",
        higher_is_better=True),
    Kpi(_DIFF + "loss_avoided_npv_usd", "USD", "loss avoided (NPV)", "Loss the reserve avoided, NPV.",
        higher_is_better=True),
    Kpi(_DIFF + "loss_surplus_avoided_npv_usd", "USD", "surplus loss avoided (NPV)",
        "Consumer surplus loss avoided, NPV.", higher_is_better=True),
    Kpi(_DIFF + "loss_import_avoided_npv_usd", "USD", "import bill avoided (NPV)",
        "Extra import bill avoided, NPV.", higher_is_better=True),
    Kpi(_DIFF + "loss_critical_avoided_npv_usd", "USD", "critical loss avoided (NPV)",
        "Critical-demand loss avoided, NPV.", higher_is_better=True),
    Kpi(_DIFF + "shortfall_days_avoided", "days", "shortfall days avoided", "Shortfall days avoided.",
        higher_is_better=True),
    Kpi(_DIFF + "peak_price_ratio_reduction", "x reference price", "peak price reduction",
        "Peak price ratio without the reserve less with it.", higher_is_better=True),
    # the programme's ledger, reserve arm (sim/metrics/kpis.py)
    Kpi("finance.drawn_usd", "USD", "loans drawn", "Loans the programme drew."),
    Kpi("finance.peak_debt_usd", "USD", "peak debt", "Highest debt outstanding.", higher_is_better=False),
    Kpi("finance.end_debt_usd", "USD", "debt at horizon", "Debt outstanding at the horizon.",
        higher_is_better=False),
    Kpi("finance.interest_paid_usd", "USD", "interest paid", "Interest paid.", headline="programme", rank=2,
        higher_is_better=False),
    Kpi("finance.principal_paid_usd", "USD", "principal paid", "Principal repaid."),
    Kpi("finance.fees_usd", "USD", "loan fees", "Loan fees paid.", higher_is_better=False),
    Kpi("finance.sales_usd", "USD", "sales", "Receipts from the reserve's sales."),
    Kpi("finance.purchases_usd", "USD", "purchases", "Paid for the reserve's purchases."),
    Kpi("finance.storage_cost_usd", "USD", "storage", "Storage cost paid.", higher_is_better=False),
    Kpi("finance.capex_usd", "USD", "capex", "Capital spending booked by the programme."),
    Kpi("finance.member_fees_usd", "USD", "member fees", "Fees received from members."),
    Kpi("finance.equity_usd", "USD", "private capital", "Private capital paid in."),
    Kpi("finance.end_cash_usd", "USD", "cash at horizon", "Cash at the horizon.", headline="programme", rank=7,
        higher_is_better=True),
    Kpi("finance.defaults", "count", "payment defaults", "Payment dates on which cash could not meet what was due.",
        headline="programme", rank=4, higher_is_better=False),
    Kpi("finance.defaults_usd", "USD", "amounts defaulted", "The amounts newly unpaid on those dates.",
        higher_is_better=False),
    Kpi("finance.procurement_fees_usd", "USD", "procurement fees", "Procurement fees paid.",
        higher_is_better=False),
    Kpi("finance.ally_payments_usd", "USD", "ally payments", "Cost shares received from allies."),
    Kpi("finance.net_cost_npv_usd", "USD", "net cost (NPV)",
        "Kept for old sweeps, it mixes the views (use `economic.*`): purchases, storage, interest, fees, capex "
        "and procurement fees less sales and ally payments, less the bloc's end stock at reference prices, NPV.",
        higher_is_better=False),
    Kpi("finance.benefit_cost_ratio", "ratio", "benefit-cost ratio", "Loss avoided (NPV) / net cost (NPV).",
        nan_when=_NET_COST, ratio_of=("difference.total.loss_avoided_npv_usd", "finance.net_cost_npv_usd"),
        higher_is_better=True),
    Kpi("finance.discount_rate_per_year", "per year", "discount rate", "The scenario's discount rate."),
    # national economic view (sim/metrics/views.py)
    Kpi("economic.discount_rate_per_year", "per year", "real discount rate",
        "`evaluation.discount_rate_per_year`.", headline="economic", rank=11),
    Kpi("economic.purchases_npv_usd", "USD", "purchases (NPV)", "Purchases at the price the world is paid.",
        headline="economic", rank=2, higher_is_better=False),
    Kpi("economic.procurement_fees_npv_usd", "USD", "procurement fees (NPV)", "Procurement fees.",
        higher_is_better=False),
    Kpi("economic.storage_npv_usd", "USD", "storage (NPV)", "Storage as it accrues.", headline="economic", rank=3,
        higher_is_better=False),
    Kpi("economic.projects_npv_usd", "USD", "projects, net (NPV)",
        "Project capex + opex - sales (in the bloc) or the bloc lender's net loan flows (abroad).",
        headline="economic", rank=4, higher_is_better=False),
    Kpi("economic.resource_cost_npv_usd", "USD", "resource cost (NPV)", "Purchases, fees, storage and projects.",
        headline="economic", rank=5, higher_is_better=False),
    Kpi("economic.terminal_value_usd", "USD", "terminal value at horizon",
        "End stock at its liquidation value (sim/metrics/terminal.py).", headline="economic", rank=6),
    Kpi("economic.terminal_market_value_usd", "USD", "terminal market value",
        "End stock at the last day's market price."),
    Kpi("economic.terminal_value_npv_usd", "USD", "terminal value (NPV)", "Terminal value, discounted.",
        headline="economic", rank=7),
    Kpi("economic.inventory_difference_npv_usd", "USD", "other stocks' difference (NPV)",
        "Bloc manufacturers' stock and material in transit, reserve less counterfactual arm, at market value."),
    Kpi("economic.project_value_npv_usd", "USD", "project loans outstanding (NPV)",
        "Outstanding balance of each performing project loan (a floor of the plant's value)."),
    Kpi("economic.net_cost_npv_usd", "USD", "net cost (NPV)", "Resource cost less the credits at the horizon.",
        headline="economic", rank=8, higher_is_better=False),
    Kpi("economic.loss_avoided_npv_usd", "USD", "loss avoided (NPV)", "Loss avoided at the real rate.",
        headline="economic", rank=1, higher_is_better=True),
    Kpi("economic.net_benefit_npv_usd", "USD", "net benefit (NPV)", "Loss avoided less net cost.",
        headline="economic", rank=9, higher_is_better=True),
    Kpi("economic.benefit_cost_ratio", "ratio", "benefit-cost ratio", "Loss avoided / net cost.",
        nan_when=_NET_COST, ratio_of=("economic.loss_avoided_npv_usd", "economic.net_cost_npv_usd"),
        headline="economic", rank=10, higher_is_better=True),
    Kpi("economic.<commodity>.resource_cost_npv_usd", "USD", "resource cost", "The commodity's resource cost, NPV.",
        headline="by_commodity", higher_is_better=False),
    Kpi("economic.<commodity>.terminal_value_npv_usd", "USD", "terminal value",
        "The commodity's terminal value, NPV.", headline="by_commodity"),
    Kpi("economic.<commodity>.net_cost_npv_usd", "USD", "net cost", "The commodity's net cost, NPV.",
        headline="by_commodity", higher_is_better=False),
    Kpi("economic.<commodity>.loss_avoided_npv_usd", "USD", "loss avoided", "The commodity's loss avoided, NPV.",
        headline="by_commodity", higher_is_better=True),
    Kpi("economic.<commodity>.net_benefit_npv_usd", "USD", "net benefit", "The commodity's net benefit, NPV.",
        headline="by_commodity", higher_is_better=True),
    Kpi("economic.<commodity>.liquidation_discount", "share", "liquidation discount",
        "Share below the market price at which the end stock would sell."),
    # programme view (sim/metrics/credit.py)
    Kpi("programme.loan_rate_per_year", "per year", "loan rate", "The programme loans' rate, weighted by draws.",
        nan_when="without a programme loan", headline="programme", rank=10),
    Kpi("programme.min_dscr", "ratio", "lowest yearly debt service coverage",
        "Lowest yearly cash available for debt service / debt service due.",
        nan_when="when no debt service falls due", headline="programme", rank=3, higher_is_better=True),
    Kpi("programme.years_dscr_below_1", "count", "years with coverage below 1", "Loan years with DSCR below 1.",
        higher_is_better=False),
    Kpi("programme.liabilities_at_horizon_usd", "USD", "liabilities at horizon",
        "Principal not yet due, arrears and accrued interest at the horizon.", headline="programme", rank=5,
        higher_is_better=False),
    Kpi("programme.principal_after_horizon_usd", "USD", "principal due after horizon",
        "Principal falling due after the horizon.", headline="programme", rank=6),
    Kpi("programme.asset_cover_at_horizon", "ratio", "(cash + terminal value) / liabilities",
        "Cash and the stock's terminal value over liabilities at the horizon.",
        nan_when="without liabilities", headline="programme", rank=8, higher_is_better=True),
    Kpi("programme.residual_value_usd", "USD", "residual value", "Cash + terminal value - liabilities.",
        higher_is_better=True),
    Kpi("programme.guarantee_calls_usd", "USD", "project guarantees paid", "Guarantee calls paid.",
        headline="programme", rank=9, higher_is_better=False),
    Kpi("programme.net_cost_npv_usd", "USD", "net cost to owners (NPV at loan rate)",
        "Private capital paid in less the residual value, at the loan rate.", headline="programme", rank=1,
        higher_is_better=False),
    # federal budget view (sim/metrics/credit.py)
    Kpi("budget.treasury_rate_per_year", "per year", "Treasury rate", "`evaluation.treasury_rate_per_year`.",
        headline="budget", rank=7),
    Kpi("budget.disbursements_usd", "USD", "disbursed", "Federal loans disbursed.", headline="budget", rank=1),
    Kpi("budget.disbursements_pv_usd", "USD", "disbursed (PV)", "Disbursements at the Treasury rate."),
    Kpi("budget.subsidy_cost_usd", "USD", "subsidy cost", "Disbursements less expected receipts, PV.",
        headline="budget", rank=2, higher_is_better=False),
    Kpi("budget.subsidy_rate", "share", "subsidy rate", "Subsidy cost / disbursements (PV).",
        nan_when="when nothing is disbursed", ratio_of=("budget.subsidy_cost_usd", "budget.disbursements_pv_usd"),
        headline="budget", rank=3, higher_is_better=False),
    Kpi("budget.programme_subsidy_cost_usd", "USD", "of which the programme's loan",
        "Subsidy cost of the programme's federal loans.", headline="budget", rank=4, higher_is_better=False),
    Kpi("budget.projects_subsidy_cost_usd", "USD", "of which project loans",
        "Subsidy cost of the federal project loans.", headline="budget", rank=5, higher_is_better=False),
    Kpi("budget.written_off_usd", "USD", "written off", "Federal loans written off.", higher_is_better=False),
    Kpi("budget.expected_loss_after_horizon_usd", "USD", "expected loss after horizon",
        "Payments after the horizon not covered and not recovered.", headline="budget", rank=6, higher_is_better=False),
    # project companies (sim/metrics/credit.py)
    Kpi("project.<project>.capex_usd", "USD", "capex", "The project's capex.", scale=M),
    Kpi("project.<project>.revenue_usd", "USD", "revenue", "The project's sales.", scale=M, higher_is_better=True),
    Kpi("project.<project>.opex_usd", "USD", "opex", "The project's operating cost.", scale=M),
    Kpi("project.<project>.min_dscr", "ratio", "lowest debt service coverage",
        "Lowest cash / debt service due of a payment period.", nan_when="when no debt service falls due",
        higher_is_better=True),
    Kpi("project.<project>.defaulted", "count", "defaulted", "1 if its loan is not performing at the horizon.",
        higher_is_better=False),
    Kpi("project.<project>.loan_loss_usd", "USD", "loan loss", "Its lender's loss on the loan.", scale=M,
        higher_is_better=False),
    # end-of-run balances (sim/simulation/simulate.py)
    Kpi("check.material_residual_t", "t", "material residual", "Largest material imbalance of a commodity.",
        scale=1.0, higher_is_better=False),
    Kpi("check.cash_residual_usd", "USD", "cash residual", "Cash balance less the ledger's cash.", scale=1.0,
        higher_is_better=False),
    Kpi("check.debt_residual_usd", "USD", "debt residual", "Debt balance less the ledger's debt.", scale=1.0,
        higher_is_better=False),
    Kpi("check.project_residual_usd", "USD", "project residual", "Largest project company cash or debt imbalance.",
        scale=1.0, higher_is_better=False),
    Kpi("check.party_vehicle_stock_t", "t", "vehicle stock residual", "Vehicle stock against its flows.",
        when="parties", higher_is_better=False),
    Kpi("check.party_draws_in_transit_t", "t", "draws in transit residual", "Parties' transit against the reserve's.",
        when="parties", higher_is_better=False),
    Kpi("check.party_member_draws_t", "t", "member draws residual", "Draws not returned, settled, paid or owed.",
        when="parties", higher_is_better=False),
    Kpi("check.party_member_fees_usd", "USD", "member fees residual", "Fees paid against the ledger.", scale=1.0,
        when="parties", higher_is_better=False),
    Kpi("check.party_sales_usd", "USD", "sales residual", "Parties' payments against the ledger's sales.",
        scale=1.0, when="parties", higher_is_better=False),
    Kpi("check.party_ally_payments_usd", "USD", "ally payments residual", "Cost shares against the ledger.",
        scale=1.0, when="parties", higher_is_better=False),
    # parties (sim/metrics/party_kpis.py)
    Kpi("party.<party>.fees_usd", "USD", "fees and charges", "Upfront and annual fees and carrying charges paid.",
        scale=M),
    Kpi("party.<party>.payments_usd", "USD", "payments",
        "Sale draws, late settlements, purchases and allies' cost shares paid to the vehicle.", scale=M),
    Kpi("party.<party>.draws_t", "t", "draws", "Tonnes drawn from the reserve."),
    Kpi("party.<party>.draws_value_usd", "USD", "draws value", "Tonnes drawn at reference prices.", scale=M),
    Kpi("party.<party>.returns_t", "t", "returns", "Tonnes handed back."),
    Kpi("party.<party>.premium_t", "t", "premium", "Premium tonnes handed back on top of the draws."),
    Kpi("party.<party>.late_returns", "count", "late returns", "Swaps with over 0.1% paid in cash.",
        higher_is_better=False),
    Kpi("party.<party>.late_returns_t", "t", "late tonnes", "Tonnes returned late.", higher_is_better=False),
    Kpi("party.<party>.fill_rate", "share", "fill rate", "Consumed / demand at reference prices, reserve arm.",
        nan_when="for a party without demand (an ally)", higher_is_better=True),
    Kpi("party.<party>.fill_rate_counterfactual", "share", "fill rate without reserve",
        "Consumed / demand at reference prices, counterfactual arm.", nan_when="for a party without demand (an ally)",
        higher_is_better=True),
    Kpi("party.<party>.late_share", "share", "late share", "Tonnes late / tonnes due back.",
        nan_when="when nothing falls due", higher_is_better=False),
    Kpi("party.<party>.loss_avoided_usd", "USD", "loss avoided", "Its loss avoided, undiscounted.", scale=M,
        higher_is_better=True),
    Kpi("party.<party>.loss_avoided_npv_usd", "USD", "loss avoided (NPV)", "Its loss avoided, NPV.", scale=M,
        higher_is_better=True),
    Kpi("party.<party>.own_stock_saving_npv_usd", "USD", "own-stock saving (NPV)",
        "Cost of own stock saved by crowding out, NPV.", scale=M, higher_is_better=True),
    Kpi("party.<party>.net_benefit_npv_usd", "USD", "net benefit (NPV)",
        "Loss avoided + tonnes received less handed back at reference prices - fees and payments + own-stock "
        "saving - swaps still owed, NPV.", scale=M,
        higher_is_better=True),
    Kpi("party.vehicle.fees_received_usd", "USD", "fees received", "Member fees received.", scale=M,
        when="parties"),
    Kpi("party.vehicle.sales_usd", "USD", "sales", "The vehicle's sales.", scale=M, when="parties"),
    Kpi("party.vehicle.ally_payments_usd", "USD", "ally payments", "Cost shares received.", scale=M,
        when="parties"),
    Kpi("party.vehicle.costs_usd", "USD", "costs", "Purchases, storage, procurement, interest, fees and capex.",
        scale=M, when="parties", higher_is_better=False),
    Kpi("party.vehicle.end_stock_value_usd", "USD", "end stock value",
        "Its own end stock and swaps owed to it at reference prices.", scale=M, when="parties"),
    Kpi("party.vehicle.net_benefit_npv_usd", "USD", "net benefit (NPV)", "The owners' net benefit, NPV.",
        scale=M, when="parties", higher_is_better=True),
    Kpi("party.lender.received_usd", "USD", "received", "Interest, fees and principal received.", scale=M,
        when="parties"),
    Kpi("party.lender.lent_usd", "USD", "lent", "Loans drawn.", scale=M, when="parties"),
    Kpi("party.lender.net_benefit_npv_usd", "USD", "net benefit (NPV)", "Receipts - loans + debt at the end, NPV.",
        scale=M, when="parties", higher_is_better=True),
    Kpi("parties.loss_avoided_npv_usd", "USD", "parties' loss avoided (NPV)", "Members' and non-members' sum.",
        scale=M, when="parties", higher_is_better=True),
    Kpi("party.bloc.loss_avoided_npv_usd", "USD", "loss avoided (NPV)", "The bloc's parties' loss avoided.",
        scale=M, when="parties", higher_is_better=True),
    Kpi("party.bloc.net_benefit_npv_usd", "USD", "net benefit (NPV)",
        "Members + non-members + vehicle + lender (transfers between them cancel).", scale=M, when="parties",
        higher_is_better=True),
    Kpi("parties.members_loss_avoided_share", "share", "members' share of loss avoided",
        "Members' loss avoided / the bloc's (NPV).", nan_when="when the bloc avoided no loss", when="parties"),
)


check(CATALOG)
_BY_NAME: dict[str, list[Kpi]] = {}
for _kpi in CATALOG:
    _BY_NAME.setdefault(_kpi.pattern.rsplit(".", 1)[-1], []).append(_kpi)


def _hits(key: str) -> list[Kpi]:
    parts = key.split(".")
    return [k for k in _BY_NAME.get(parts[-1], ()) if accepts(k, parts)]


@functools.lru_cache(maxsize=65536)
def find(key: str) -> Kpi | None:
    """The entry of ``key``, or None unless exactly one entry matches it."""
    hits = _hits(key)
    return hits[0] if len(hits) == 1 else None


def match(key: str) -> Kpi:
    """The one entry of ``key``.

    Raises:
        KeyError: no entry matches ``key``, or more than one does.

    """
    kpi = find(key)
    if kpi is None:
        hits = [k.pattern for k in _hits(key)]
        why = f"it matches {hits}" if hits else "no entry matches it"
        raise KeyError(f"KPI {key!r} is not declared once in sim/metrics/catalog.py: {why}")
    return kpi


def nan_ok(key: str) -> bool:
    """Whether ``key`` may be NaN (a ratio with nothing to divide by)."""
    return match(key).nan_ok


def ratio_parts(key: str) -> tuple[str, str] | None:
    """(numerator, denominator) keys of a ratio KPI reported as a ratio of means; None for other KPIs."""
    kpi = match(key)
    if kpi.ratio_of is None:
        return None
    at = values_in(kpi, key)
    return (fill(kpi.ratio_of[0], at), fill(kpi.ratio_of[1], at))


def ratios(keys: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Ratio KPI -> (numerator, denominator) keys, for the ratio KPIs among ``keys``."""
    return {k: parts for k in keys if (parts := ratio_parts(k)) is not None}


def label(key: str) -> str:
    """The short label of ``key``, ``{arm}`` filled in."""
    kpi = match(key)
    at = values_in(kpi, key)
    if "arm" in at:
        at["arm"] = {"reserve": "with reserve", "counterfactual": "without reserve"}[at["arm"]]
    return kpi.label.format_map(at)


def headline_entries(group: str) -> list[Kpi]:
    """The entries of a headline group (:data:`~sim.metrics.kpi_patterns.HEADLINE_GROUPS`), by rank."""
    return sorted((k for k in CATALOG if k.headline == group), key=lambda k: k.rank)


def headline_keys(group: str) -> list[str]:
    """The keys a headline group shows: each entry's key for ``total``, for each arm it has, by rank."""
    return [key for kpi in headline_entries(group)
            for key in expand_entries([kpi], {"arm": list(ARMS), "commodity": ["total"]})]


def expand(scenario: Scenario) -> list[str]:
    """Every key a run of ``scenario`` writes to its summary, in the run's order, without running it."""
    return list(expand_entries(CATALOG, dimension_values(scenario), scenario))

