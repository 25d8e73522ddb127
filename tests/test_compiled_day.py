"""The engine's one-call day against its readable, step-by-step form: the same bits.

When nothing in Python must act between the market's steps, the engine's day makes one compiled
call (``market_day``) that also runs the parties' morning and pays for the day's purchases
(``sim/kernels/finance_kernel.py``). The other form calls the steps one by one with the finance
and parties in Python (``Finance.spend``, ``Parties.on_purchase``, ``Parties.morning``); it is
the one used with allies or other public stocks. Both must give identical runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario, simulate
from sim.engine import engine as engine_module
from sim.scenario.loader import validate_data

SHORT = {"run.horizon_years": 4}
#: Money runs short: a small loan, little equity, a traders' fee and a second, fee-bearing facility.
TIGHT = {
    **SHORT,
    "financing.equity_usd": 1.0e8,
    "financing.procurement_fee_share": 0.01,
    "financing.facilities.exim.commitment_usd": 6.0e8,
}
BANK = {"lender": "bank", "purpose": "reserve", "commitment_usd": 2.0e8, "commitment_fee_share": 0.005,
        "availability_years": 2, "interest_rate": 0.07, "tenor_years": 5, "payments_per_year": 4, "repayment": "linear"}


def _run(scenario, split: bool, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine_module.Engine, "step_by_step", split)
    result = simulate(scenario, seed=11, replication=1)
    monkeypatch.undo()
    return result


@pytest.mark.parametrize("overrides", [SHORT, TIGHT, {**SHORT, "parties": None}],
                         ids=["default", "tight", "no_parties"])
def test_one_call_day_equals_the_step_by_step_day(overrides, monkeypatch):
    s = load_scenario(None, overrides=overrides)
    if overrides is TIGHT:  # and a second facility, in the loans' order after EXIM's
        data = s.model_dump(mode="json", exclude_unset=True)
        data["financing"]["facilities"]["bank"] = BANK
        s = validate_data(data)
    fast = _run(s, split=False, monkeypatch=monkeypatch)
    slow = _run(s, split=True, monkeypatch=monkeypatch)
    assert np.array_equal(fast.series.values, slow.series.values)
    assert fast.summary.keys() == slow.summary.keys()
    differ = [k for k, v in fast.summary.items()
              if not (v == slow.summary[k] or (isinstance(v, float) and np.isnan(v) and np.isnan(slow.summary[k])))]
    assert differ == []
    assert fast.events.equals(slow.events)
    assert fast.finance.equals(slow.finance)
    if overrides is TIGHT:  # the case must reach the paths it is here for
        assert (fast.events["event"] == "default").any()
        assert fast.summary["finance.procurement_fees_usd"] > 0
        assert fast.finance["draws_usd"].sum() > 6.0e8  # more than EXIM lends: the second facility drew too


@pytest.mark.parametrize("name", ["vault_sale", "vault_open_to_non_members"])
def test_one_call_day_books_sales_as_the_step_by_step_day(name, monkeypatch):
    """Draws paid for (members' sales at the locked price, non-members' purchases) are booked alike."""
    s = load_scenario(Path(__file__).parents[1] / "scenarios" / "policies" / f"{name}.yaml", overrides=SHORT)
    fast = _run(s, split=False, monkeypatch=monkeypatch)
    slow = _run(s, split=True, monkeypatch=monkeypatch)
    assert np.array_equal(fast.series.values, slow.series.values)
    assert fast.summary.keys() == slow.summary.keys()
    assert all(v == slow.summary[k] or (isinstance(v, float) and np.isnan(v) and np.isnan(slow.summary[k]))
               for k, v in fast.summary.items())
    assert fast.events.equals(slow.events)
    assert fast.finance.equals(slow.finance)
    draws = fast.events[fast.events["event"] == "draw"]
    assert draws["detail"].str.endswith(" sale").sum() > 10  # the case reaches the paid draws it is here for
    assert fast.finance["sales_usd"].sum() > 0


def test_compiled_day_runs_from_numba_cache_in_a_fresh_process():
    """Kernels loaded from numba's on-disk cache (as sweep and Dask workers load them) run the whole day.

    A recursive kernel once compiled and ran in the process that cached it, then crashed every
    worker that loaded it. By the time this runs, earlier tests have written the cache.
    """
    code = (
        "from sim import load_scenario, simulate\n"
        "s = load_scenario(None, overrides={'run.horizon_years': 4})\n"
        "r = simulate(s, seed=3, replication=0)\n"
        "kinds = set(r.events['event'])\n"
        "assert {'draw', 'return'} <= kinds, kinds\n"
        "print('ok')\n"
    )
    for _ in range(2):  # the second process surely loads what the first compiled or loaded
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                             cwd=Path(__file__).resolve().parents[1])
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip().endswith("ok")
