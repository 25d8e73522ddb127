"""Daily buckets of money flows and the event log, preallocated for the whole horizon."""

from __future__ import annotations

import numpy as np

#: Finance lines, in USD. Inflows are positive for cash, outflows are recorded positive too.
INFLOWS = ("draws_usd", "equity_usd", "member_fees_usd", "sales_usd", "ally_payments_usd")
OUTFLOWS = (
    "purchases_usd",
    "procurement_fees_usd",
    "storage_cost_usd",
    "interest_usd",
    "principal_usd",
    "fees_usd",
    "capex_usd",
)
OTHER = ("interest_accrued_usd", "defaults_usd")
LINES = INFLOWS + OUTFLOWS + OTHER


class Ledger:
    """Money flows booked per day; balances are kept by the finance model, not here."""

    def __init__(self, horizon_days: int):
        self.horizon_days = horizon_days
        self.flows = np.zeros((horizon_days, len(LINES)))
        self._col = {name: i for i, name in enumerate(LINES)}

    def book(self, now: float, line: str, amount: float) -> None:
        """Record ``amount`` USD on ``line`` on the day containing time ``now``."""
        if amount == 0.0:
            return
        day = min(int(now), self.horizon_days - 1)
        self.flows[day, self._col[line]] += amount

    def column(self, line: str) -> np.ndarray:
        """Daily series of one line."""
        return self.flows[:, self._col[line]]

    def cash_series(self) -> np.ndarray:
        """End-of-day cash implied by the booked flows."""
        net = sum(self.column(c) for c in INFLOWS) - sum(self.column(c) for c in OUTFLOWS)
        return np.cumsum(net)

    def debt_series(self) -> np.ndarray:
        """End-of-day principal outstanding implied by the booked flows."""
        return np.cumsum(self.column("draws_usd") - self.column("principal_usd"))
