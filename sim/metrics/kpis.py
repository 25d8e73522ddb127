"""KPIs of one paired replication, computed from the recorded arrays.

All KPIs go into one flat dict with dotted keys, so sweeps can keep any of them as
columns: ``<arm>.<commodity|total>.<kpi>`` for each arm (``reserve``,
``counterfactual``), ``difference.<commodity|total>.<kpi>`` for the reserve's effect,
``finance.<kpi>`` for the programme's money and ``check.<residual>``. Every key is declared
in :mod:`sim.metrics.catalog` (unit, meaning, NaN rule, ratio parts), in the order this module
writes them.
"""

from __future__ import annotations

import math

import numpy as np

from sim.core.ledger import Ledger
from sim.metrics.credit import MICRO_USD
from sim.metrics.terminal import days_of_cover
from sim.metrics.views import evaluation_kpis
from sim.model.world import ARMS, World
from sim.scenario.schema import Evaluation

#: Components of the bloc's loss (sim/model/welfare.py): consumer surplus on the demand curve,
#: extra import bill, critical demand not served.
LOSS_COMPONENTS = ("surplus", "import", "critical")
#: A day counts as a shortfall day when shortfall exceeds this many tonnes.
SHORTFALL_EPS_T = 1e-6


def longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True values."""
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[0::2]).max())


def discount_factors(horizon: int, rate: float) -> np.ndarray:
    """Daily discount factors ``(1 + rate) ** (-day / 365)``."""
    return (1.0 + rate) ** (-np.arange(horizon) / 365.0)


def _arm_kpis(rec: dict[str, np.ndarray], w: World, a: int, disc: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    C = len(w.commodity_ids)
    demand = rec["demand_t"][:, a, :]
    delivered = rec["delivered_t"][:, a, :]
    short = rec["shortfall_t"][:, a, :]
    price_ratio = rec["price_usd_per_t"][:, a, :] / w.ref_price
    stock = rec["reserve_stock_t"][:, a, :]
    loss = rec["loss_usd"][:, a, :]
    parts = {k: rec[f"loss_{k}_usd"][:, a, :] for k in LOSS_COMPONENTS}
    # measured cover: the last day's stock in days of that day's bloc demand (0 without demand)
    cover_end = np.nan_to_num(days_of_cover({k: rec[k][-1:] for k in ("reserve_stock_t", "demand_t")})[0, a])

    def by_commodity(x: np.ndarray) -> list[float]:
        # each commodity's sum over days, from a [C, H] copy: one call instead of C, and the same
        # pairwise summation (so the same bits) as summing each strided column
        return np.ascontiguousarray(x.T).sum(axis=1).tolist()

    sums = {name: by_commodity(x) for name, x in (
        ("demand", demand), ("delivered", delivered), ("short", short), ("loss", loss),
        ("critical", rec["critical_shortfall_t"][:, a, :]),
        ("row_short", rec["row_demand_t"][:, a, :] - rec["row_consumption_t"][:, a, :]),
        ("purchases", rec["reserve_purchases_t"][:, a, :]), ("releases", rec["reserve_releases_t"][:, a, :]))}
    mean_price = np.ascontiguousarray(price_ratio.T).mean(axis=1).tolist()
    peak_price, peak_stock = price_ratio.max(axis=0).tolist(), stock.max(axis=0).tolist()
    for c in range(C):
        k = f"{ARMS[a]}.{w.commodity_ids[c]}."
        dem = sums["demand"][c]
        flags = short[:, c] > SHORTFALL_EPS_T
        out[k + "demand_t"] = dem
        out[k + "delivered_t"] = sums["delivered"][c]
        out[k + "shortfall_t"] = sums["short"][c]
        out[k + "fill_rate"] = sums["delivered"][c] / dem if dem > 0 else 1.0
        out[k + "shortfall_days"] = int(flags.sum())
        out[k + "longest_shortfall_days"] = longest_run(flags)
        out[k + "loss_usd"] = sums["loss"][c]
        out[k + "loss_npv_usd"] = float(loss[:, c] @ disc)
        for part, series in parts.items():
            out[k + f"loss_{part}_npv_usd"] = float(series[:, c] @ disc)
        out[k + "critical_shortfall_t"] = sums["critical"][c]
        out[k + "row_shortfall_t"] = sums["row_short"][c]
        # who takes the physical shortage: the rest of the world's share of all use not served
        short_all = sums["row_short"][c] + sums["short"][c]
        out[k + "row_shortfall_share"] = sums["row_short"][c] / short_all if short_all > SHORTFALL_EPS_T else math.nan
        out[k + "peak_price_ratio"] = peak_price[c]
        out[k + "mean_price_ratio"] = mean_price[c]
        out[k + "reserve_peak_t"] = peak_stock[c]
        out[k + "reserve_end_t"] = float(stock[-1, c])
        out[k + "days_of_cover_end"] = float(cover_end[c])
        out[k + "purchases_t"] = sums["purchases"][c]
        out[k + "releases_t"] = sums["releases"][c]
    k = f"{ARMS[a]}.total."
    dem = float(demand.sum())
    flags = (short > SHORTFALL_EPS_T).any(axis=1)
    out[k + "demand_t"] = dem
    out[k + "delivered_t"] = float(delivered.sum())
    out[k + "shortfall_t"] = float(short.sum())
    out[k + "fill_rate"] = float(delivered.sum() / dem) if dem > 0 else 1.0
    out[k + "shortfall_days"] = int(flags.sum())
    out[k + "longest_shortfall_days"] = longest_run(flags)
    out[k + "loss_usd"] = float(loss.sum())
    out[k + "loss_npv_usd"] = float(loss.sum(axis=1) @ disc)
    for part, series in parts.items():
        out[k + f"loss_{part}_npv_usd"] = float(series.sum(axis=1) @ disc)
    out[k + "critical_shortfall_t"] = float(rec["critical_shortfall_t"][:, a, :].sum())
    out[k + "peak_price_ratio"] = float(price_ratio.max())
    out[k + "reserve_end_value_usd"] = float(stock[-1] @ w.ref_price)
    out[k + "reserve_peak_value_usd"] = float((stock @ w.ref_price).max())
    out[k + "purchases_t"] = float(rec["reserve_purchases_t"][:, a, :].sum())
    out[k + "releases_t"] = float(rec["reserve_releases_t"][:, a, :].sum())
    return out


def compute_kpis(
    rec: dict[str, np.ndarray],
    w: World,
    ledger: Ledger,
    discount_rate: float,
    n_defaults: int,
    evaluation: Evaluation | None = None,
) -> dict[str, float]:
    """All KPIs of a run as a flat dict (see module docstring)."""
    disc = discount_factors(w.horizon, discount_rate)
    out: dict[str, float] = {}
    for a in range(len(ARMS)):
        out.update(_arm_kpis(rec, w, a, disc))
    for c in [*w.commodity_ids, "total"]:
        r, cf = f"reserve.{c}.", f"counterfactual.{c}."
        k = f"difference.{c}."
        out[k + "shortfall_avoided_t"] = out[cf + "shortfall_t"] - out[r + "shortfall_t"]
        out[k + "loss_avoided_usd"] = out[cf + "loss_usd"] - out[r + "loss_usd"]
        out[k + "loss_avoided_npv_usd"] = out[cf + "loss_npv_usd"] - out[r + "loss_npv_usd"]
        for part in LOSS_COMPONENTS:
            out[k + f"loss_{part}_avoided_npv_usd"] = out[cf + f"loss_{part}_npv_usd"] - out[r + f"loss_{part}_npv_usd"]
        out[k + "shortfall_days_avoided"] = out[cf + "shortfall_days"] - out[r + "shortfall_days"]
        out[k + "peak_price_ratio_reduction"] = out[cf + "peak_price_ratio"] - out[r + "peak_price_ratio"]

    col = ledger.column
    debt = ledger.debt_series()
    f = "finance."
    out[f + "drawn_usd"] = float(col("draws_usd").sum())
    out[f + "peak_debt_usd"] = float(debt.max(initial=0.0))
    out[f + "end_debt_usd"] = float(debt[-1])
    out[f + "interest_paid_usd"] = float(col("interest_usd").sum())
    out[f + "principal_paid_usd"] = float(col("principal_usd").sum())
    out[f + "fees_usd"] = float(col("fees_usd").sum())
    out[f + "sales_usd"] = float(col("sales_usd").sum())
    out[f + "purchases_usd"] = float(col("purchases_usd").sum())
    out[f + "storage_cost_usd"] = float(col("storage_cost_usd").sum())
    out[f + "capex_usd"] = float(col("capex_usd").sum())
    out[f + "member_fees_usd"] = float(col("member_fees_usd").sum())
    out[f + "equity_usd"] = float(col("equity_usd").sum())
    out[f + "end_cash_usd"] = float(ledger.cash_series()[-1])
    out[f + "defaults"] = int(n_defaults)
    out[f + "defaults_usd"] = float(col("defaults_usd").sum())
    out[f + "procurement_fees_usd"] = float(col("procurement_fees_usd").sum())
    out[f + "ally_payments_usd"] = float(col("ally_payments_usd").sum())
    cost_flow = (
        col("purchases_usd")
        + col("storage_cost_usd")
        + col("interest_usd")
        + col("fees_usd")
        + col("capex_usd")
        - col("sales_usd")
        + col("procurement_fees_usd")
        - col("ally_payments_usd")
    )
    # allies' claims on the end stock are theirs, not the bloc's (joint purchases, model/parties.py)
    allied_end = float(rec["allied_stake_t"][-1, 0] @ w.ref_price)
    terminal = (out["reserve.total.reserve_end_value_usd"] - allied_end) * disc[-1]
    net_cost = float(cost_flow @ disc - terminal)
    out[f + "net_cost_npv_usd"] = net_cost
    benefit = out["difference.total.loss_avoided_npv_usd"]
    out[f + "benefit_cost_ratio"] = benefit / net_cost if net_cost > MICRO_USD else math.nan
    out[f + "discount_rate_per_year"] = discount_rate
    # evaluation views: economic, programme and budget views, project companies
    if evaluation is not None:
        out.update(evaluation_kpis(rec, w, ledger, evaluation))
    return out
