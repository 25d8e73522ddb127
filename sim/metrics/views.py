"""The national economic view, its split by commodity, and the entry point of all three views.

National economic view (``economic.*``), in real terms at ``evaluation.discount_rate_per_year``
(OMB Circular A-94): the resources the reserve uses against the loss it avoids.

- Resource costs: purchases at the price the world is paid, procurement fees, storage (as
  it accrues) and, per project, capex + opex - sales at the market price for a project in the
  bloc, or the bloc lender's net loan flows (draws - debt service - expected recoveries) for a
  project abroad (whose sales and costs are foreign).
- Credits at the horizon: the reserve's stock at its liquidation value (terminal value,
  :mod:`sim.metrics.terminal`), the difference of the bloc's other stocks between the arms
  at market value, and each performing project loan's outstanding balance (a floor of the
  plant's value).
- Transfers inside the bloc net out and are not counted: interest and loan fees paid to
  EXIM or DFC, member fees, the reserve's sales to bloc manufacturers, guarantee calls,
  private capital.
- Benefit: the loss avoided (counterfactual minus reserve arm) at the same real rate.

Per commodity (``economic.<commodity>.*``) every line is attributed to its commodity:
purchases and procurement fees by the tonnes bought that day at that day's price, storage
by the stock held, project lines by the project's commodity. A commodity no shock can reach
shows zero loss avoided and its full carrying cost.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.ledger import Ledger, LoanBook
from sim.metrics.credit import MICRO_USD, budget_view, programme_view, project_kpis
from sim.metrics.terminal import daily_discount, discount, inventory_difference, terminal_value
from sim.model.world import World
from sim.scenario.schema import Evaluation


def _split(total: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Share a daily total [H] out over commodities in proportion to ``weights`` [H, C]."""
    w = np.maximum(weights, 0.0)
    s = w.sum(axis=1, keepdims=True)
    share = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    return total[:, None] * share


def _price_paid(rec: dict[str, np.ndarray], w: World) -> np.ndarray:
    """Price the reserve arm traded at each day: the market price at the start of the day, [H, C]."""
    price = rec["price_usd_per_t"][:, 0, :]
    return np.vstack([w.ref_price[None, :], price[:-1]])


def _loan_daily(book: LoanBook, horizon: int, kinds: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(horizon)
    for t, k, a in book.flows:
        if k in kinds:
            out[min(int(t), horizon - 1)] += a
    return out


def _projects(ledger: Ledger, w: World) -> tuple[np.ndarray, np.ndarray]:
    """Net resource cost flows of the projects [H, C] and their value at the horizon [C]."""
    H, C = w.horizon, len(w.commodity_ids)
    flows = np.zeros((H, C))
    value = np.zeros(C)
    for pid, book in ledger.projects.items():
        if book.in_counterfactual:
            continue  # it exists without the reserve too: not the programme's effect
        loan = next((b for b in ledger.loans.values() if b.borrower == f"project:{pid}"), None)
        if book.domestic:
            lines = book.lines
            flows[:, book.commodity] += lines["capex"] + lines["opex"] - lines["revenue"]
        elif loan is not None:
            flows[:, book.commodity] += _loan_daily(loan, H, ("draw",)) - _loan_daily(
                loan, H, ("interest", "principal", "fee", "recovery")
            )
        if loan is not None and loan.performing:
            value[book.commodity] += loan.outstanding_usd
    return flows, value


def economic_view(rec: dict[str, np.ndarray], w: World, ledger: Ledger, ev: Evaluation) -> dict[str, float]:
    """``economic.*`` KPIs: totals and per commodity (see module docstring)."""
    H = w.horizon
    ids = w.commodity_ids
    disc = daily_discount(H, ev.discount_rate_per_year)
    d_end = float(discount(H, ev.discount_rate_per_year))
    paid = _price_paid(rec, w)
    bought = rec["reserve_purchases_t"][:, 0, :] * paid
    purchases = _split(ledger.column("purchases_usd"), bought)
    procurement = _split(ledger.column("procurement_fees_usd"), bought)
    storage = rec["reserve_stock_t"][:, 0, :] * w.r_hold_usd_per_t_day
    project_flows, project_value = _projects(ledger, w)
    tv = terminal_value(rec, w, ev)
    inventory = inventory_difference(rec)
    loss = rec["loss_usd"]
    avoided = disc @ (loss[:, 1, :] - loss[:, 0, :])

    parts = {
        "purchases_npv_usd": disc @ purchases,
        "procurement_fees_npv_usd": disc @ procurement,
        "storage_npv_usd": disc @ storage,
        "projects_npv_usd": disc @ project_flows,
    }
    resource = sum(parts.values())
    credit_end = d_end * (tv["value_usd"] + inventory + project_value)
    net_cost = resource - credit_end
    out: dict[str, float] = {}
    k = "economic."
    out[k + "discount_rate_per_year"] = ev.discount_rate_per_year
    for name, v in parts.items():
        out[k + name] = float(v.sum())
    out[k + "resource_cost_npv_usd"] = float(resource.sum())
    out[k + "terminal_value_usd"] = float(tv["value_usd"].sum())
    out[k + "terminal_market_value_usd"] = float(tv["market_value_usd"].sum())
    out[k + "terminal_value_npv_usd"] = float(d_end * tv["value_usd"].sum())
    out[k + "inventory_difference_npv_usd"] = float(d_end * inventory.sum())
    out[k + "project_value_npv_usd"] = float(d_end * project_value.sum())
    out[k + "net_cost_npv_usd"] = float(net_cost.sum())
    out[k + "loss_avoided_npv_usd"] = float(avoided.sum())
    out[k + "net_benefit_npv_usd"] = float(avoided.sum() - net_cost.sum())
    out[k + "benefit_cost_ratio"] = float(avoided.sum() / net_cost.sum()) if net_cost.sum() > MICRO_USD else math.nan
    for c, cid in enumerate(ids):
        p = f"{k}{cid}."
        out[p + "resource_cost_npv_usd"] = float(resource[c])
        out[p + "terminal_value_npv_usd"] = float(d_end * tv["value_usd"][c])
        out[p + "net_cost_npv_usd"] = float(net_cost[c])
        out[p + "loss_avoided_npv_usd"] = float(avoided[c])
        out[p + "net_benefit_npv_usd"] = float(avoided[c] - net_cost[c])
        out[p + "liquidation_discount"] = float(tv["discount"][c])
    return out


def evaluation_kpis(rec: dict[str, np.ndarray], w: World, ledger: Ledger, ev: Evaluation) -> dict[str, float]:
    """Every KPI of the three views and the project companies."""
    out = economic_view(rec, w, ledger, ev)
    tv = out["economic.terminal_value_usd"]
    out.update(programme_view(w, ledger, ev, tv))
    out.update(budget_view(w, ledger, ev, tv))
    out.update(project_kpis(ledger))
    return out
