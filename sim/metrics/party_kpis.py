"""Per-party KPIs: who pays for the reserve and who gains from it.

Keys are ``party.<party>.<kpi>`` in the run's flat summary, for each member, ``members`` (all
of them), ``non_members``, each ally, the ``vehicle``, the ``lender`` (every loan facility) and
the ``bloc`` (the US parties together), plus ``parties.members_loss_avoided_share``. Money is
USD; ``_npv_`` keys are discounted at the scenario's rate like the other KPIs. Every key is
declared in :mod:`sim.metrics.catalog`.

Welfare is the bloc's loss of :mod:`sim.model.welfare` split by manufacturer (surplus and
critical loss are per manufacturer; the extra import bill falls on who bought the day's
arrivals). A party's net benefit adds to its loss avoided what it received from and paid to
the vehicle, valuing tonnes at the reference price (what the loss measure takes as normal):

- member / non-members: loss avoided + tonnes drawn less tonnes handed back (reference value)
  - fees, charges and payments to the vehicle - swaps still owed at the end + own-stock cost
  saved by crowding out;
- ally: tonnes drawn (reference value) - cost shares + its claim on the end stock (its welfare
  is outside the bloc's loss measure);
- vehicle (its owners): receipts - purchases, storage, procurement, interest, loan fees and capex
  + loans drawn - principal repaid + its own end stock and swaps owed to it (reference value) -
  debt outstanding at the end; the owners' own equity is not a flow;
- lender: interest, fees and principal received - loans drawn + debt outstanding at the end;
- bloc: members + non-members + vehicle + lender, between whom fees, draws and loans cancel.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.core.ledger import Ledger
from sim.metrics.stats import mean_ci
from sim.model.parties import Parties


def _npv(series: np.ndarray, disc: np.ndarray) -> float:
    return float(series @ disc)


def party_kpis(p: Parties, ledger: Ledger, disc: np.ndarray, rstock_end: np.ndarray, loss_avoided_npv: float) -> dict:
    """All per-party KPIs of a run (reserve arm against the counterfactual)."""
    out: dict[str, float] = {}
    w = p.w
    n_p, P = len(p.party_ids), len(p.member_ids)
    p0 = w.ref_price
    end = disc[-1]
    fees = p.cash["upfront_fees"] + p.cash["annual_fees"] + p.cash["carrying_charges"]  # [H, parties]
    pays = p.cash["draw_payments"] + p.cash["settlements"] + p.cash["purchases"] + p.cash["cost_shares"]
    owed_end = np.zeros(n_p)
    np.add.at(owed_end, p.party_of[: p.M], (p.owed * p0[:, None]).sum(0))
    loss = np.zeros((len(disc), 2, n_p))  # [H, arm, party]
    for m in range(p.M):
        loss[:, :, p.party_of[m]] += p.loss[:, :, m]
    demand = np.zeros((2, n_p))
    consumed = np.zeros((2, n_p))
    np.add.at(demand.T, p.party_of[: p.M], p.demand_value.T)
    np.add.at(consumed.T, p.party_of[: p.M], p.consumed_value.T)
    allied = p.allied_claim(rstock_end)
    ally_claim = np.zeros(n_p)
    for a in range(p.K - p.M):
        share = p.undrawn()[:, p.M + a]
        tot = p.undrawn()[:, p.M:].sum(-1)
        ally_claim[P + 1 + a] = float((allied * np.where(tot > 0, share / np.maximum(tot, 1e-300), 0.0)) @ p0)

    def holder(name: str, idx: list[int]) -> None:
        k = f"party.{name}."
        ix = np.array(idx, dtype=np.intp)
        dem, con = demand[:, ix].sum(-1), consumed[:, ix].sum(-1)
        avoided = loss[:, 1, ix].sum(-1) - loss[:, 0, ix].sum(-1)
        out[k + "fees_usd"] = float(fees[:, ix].sum())
        out[k + "payments_usd"] = float(pays[:, ix].sum())
        out[k + "draws_t"] = float(p.tonnes["draws"][:, ix].sum())
        out[k + "draws_value_usd"] = float(p.tonnes["draws"][:, ix].sum(-1) @ p0)
        out[k + "returns_t"] = float(p.tonnes["returns"][:, ix].sum())
        out[k + "premium_t"] = float(p.tonnes["premium"][:, ix].sum())
        out[k + "late_returns"] = int(p.late_count[ix].sum())
        out[k + "late_returns_t"] = float(p.tonnes["late"][:, ix].sum())
        out[k + "fill_rate"] = float(con[0] / dem[0]) if dem[0] > 0 else math.nan
        out[k + "fill_rate_counterfactual"] = float(con[1] / dem[1]) if dem[1] > 0 else math.nan
        due = (p.tonnes["returns"] + p.tonnes["premium"] + p.tonnes["late"])[:, ix].sum()
        out[k + "late_share"] = float(p.tonnes["late"][:, ix].sum() / due) if due > 0 else math.nan
        out[k + "loss_avoided_usd"] = float(avoided.sum())
        out[k + "loss_avoided_npv_usd"] = _npv(avoided, disc)
        transfers = p.value_in[:, ix].sum(-1) - fees[:, ix].sum(-1) - pays[:, ix].sum(-1) + p.own_saving[:, ix].sum(-1)
        out[k + "own_stock_saving_npv_usd"] = _npv(p.own_saving[:, ix].sum(-1), disc)
        held = float(ally_claim[ix].sum() - owed_end[ix].sum())  # end stock claimed, less swaps still owed
        out[k + "net_benefit_npv_usd"] = out[k + "loss_avoided_npv_usd"] + _npv(transfers, disc) + end * held

    for i, mid in enumerate(p.member_ids):
        holder(mid, [i])
    holder("members", list(range(P)))
    holder("non_members", [P])
    for a, aid in enumerate(p.ally_ids):
        holder(aid, [P + 1 + a])

    col = ledger.column
    k = "party.vehicle."
    receipts = col("member_fees_usd") + col("sales_usd") + col("ally_payments_usd")
    costs = (col("purchases_usd") + col("storage_cost_usd") + col("procurement_fees_usd") + col("interest_usd")
             + col("fees_usd") + col("capex_usd"))
    own_end = float((rstock_end - allied) @ p0) + float(owed_end.sum())
    debt_end = float(ledger.debt_series()[-1])
    financing = col("draws_usd") - col("principal_usd")
    out[k + "fees_received_usd"] = float(col("member_fees_usd").sum())
    out[k + "sales_usd"] = float(col("sales_usd").sum())
    out[k + "ally_payments_usd"] = float(col("ally_payments_usd").sum())
    out[k + "costs_usd"] = float(costs.sum())
    out[k + "end_stock_value_usd"] = own_end
    out[k + "net_benefit_npv_usd"] = _npv(receipts - costs + financing, disc) + end * (own_end - debt_end)
    k = "party.lender."
    lender_in = col("interest_usd") + col("fees_usd") + col("principal_usd")
    out[k + "received_usd"] = float(lender_in.sum())
    out[k + "lent_usd"] = float(col("draws_usd").sum())
    out[k + "net_benefit_npv_usd"] = _npv(lender_in - col("draws_usd"), disc) + end * debt_end
    total = out["party.members.loss_avoided_npv_usd"] + out["party.non_members.loss_avoided_npv_usd"]
    out["parties.loss_avoided_npv_usd"] = total
    # the bloc's parties together: transfers between them (fees, draws, loans, interest) cancel
    k = "party.bloc."
    out[k + "loss_avoided_npv_usd"] = total
    out[k + "net_benefit_npv_usd"] = sum(out[f"party.{p}.net_benefit_npv_usd"]
                                         for p in ("members", "non_members", "vehicle", "lender"))
    out["parties.members_loss_avoided_share"] = (
        out["party.members.loss_avoided_npv_usd"] / loss_avoided_npv if loss_avoided_npv != 0 else float("nan")
    )
    return out


#: Columns of the per-party table, in order (a party lacking one shows NaN).
TABLE_COLUMNS = (
    "fees_usd",
    "payments_usd",
    "fees_received_usd",
    "sales_usd",
    "costs_usd",
    "received_usd",
    "lent_usd",
    "draws_t",
    "returns_t",
    "premium_t",
    "late_returns",
    "late_returns_t",
    "late_share",
    "fill_rate",
    "fill_rate_counterfactual",
    "loss_avoided_npv_usd",
    "own_stock_saving_npv_usd",
    "net_benefit_npv_usd",
)
#: Columns that also get a 95% confidence interval over replications.
CI_COLUMNS = ("loss_avoided_npv_usd", "net_benefit_npv_usd")


def party_table(rows: list[dict]) -> pd.DataFrame:
    """Per-party table over replications: the mean of each KPI, and 95% CIs of loss avoided and net benefit.

    Args:
        rows: run summaries (one per replication) holding ``party.<party>.<kpi>`` keys.

    Returns:
        One row per party (in summary order: members, members, non_members, allies, vehicle, lender);
        empty when the runs had no parties.

    """
    parties: list[str] = []
    for key in rows[0] if rows else ():
        if key.startswith("party.") and key.count(".") >= 2:
            name = key.split(".")[1]
            if name not in parties:
                parties.append(name)
    out = []
    for name in parties:
        row: dict[str, object] = {"party": name}
        for col in TABLE_COLUMNS:
            key = f"party.{name}.{col}"
            values = [r[key] for r in rows if key in r]
            m, lo, hi = mean_ci(values) if values else (math.nan, math.nan, math.nan)
            row[col] = m
            if col in CI_COLUMNS:
                row[col + "_ci_low"], row[col + "_ci_high"] = lo, hi
        out.append(row)
    return pd.DataFrame(out)
