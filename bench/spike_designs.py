"""Spike: two designs for a faster day, measured side by side on the same kernel.

The kernel is the heart of the day (DESIGN.md steps 2, 3, 7 and 9): demand at today's price,
the world market served in tiers, the deadweight loss of what was consumed and the clearing
price by Newton's method, for 2 arms x 13 commodities x 5 manufacturers (the default scenario's
shapes). Three ways of running it for one replication-day:

- ``numpy``: today's code, one call per array op on [2, C] arrays;
- ``batched``: the same numpy code on a leading batch axis of B replications ([B, 2, C]),
  time divided by B;
- ``numba``: the same arithmetic as explicit loops in one compiled function.

Run: ``python bench/spike_designs.py [--batch 64] [--days 5000]``. Prints microseconds per
replication-day for each design and their ratios, all measured in one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the numpy oracles live in tests/

from sim.model.welfare import DeadweightCurve  # noqa: E402
from tests.oracles.market import clearing_price_ratio  # noqa: E402
from tests.oracles.welfare import curve_loss_usd  # noqa: E402

C, M = 13, 5
_TINY = 1e-12



def serve_in_tiers(supply: np.ndarray, *tiers: np.ndarray) -> list[np.ndarray]:
    """Fill demand tiers in order from ``supply``; each tier is served pro rata within itself.

    Args:
        supply: [A, C] tonnes on offer.
        *tiers: [A, C] tonnes asked by each tier, highest priority first.

    Returns:
        The share of each tier's demand served (0-1), one [A, C] array per tier.

    """
    left = supply
    shares = []
    for ask in tiers:
        frac = np.minimum(1.0, left / np.maximum(ask, _TINY))
        shares.append(frac)
        left = np.maximum(left - ask, 0.0)
    return shares

def make_inputs(lead: tuple[int, ...], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random inputs of the kernel with leading shape ``lead`` (e.g. (2,) or (B, 2))."""
    return {
        "ratio": rng.uniform(0.8, 2.0, lead + (C,)),
        "q0": rng.uniform(1.0, 10.0, lead + (C, M)),
        "supply": rng.uniform(20.0, 60.0, lead + (C,)),
        "row0": rng.uniform(20.0, 40.0, lead + (C,)),
        "want_r": rng.uniform(0.0, 2.0, lead + (C,)),
    }


def numpy_day(x: dict[str, np.ndarray], e: np.ndarray, crit: np.ndarray, dwl: DeadweightCurve,
              floor: np.ndarray, cap: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """The kernel in today's numpy style; works on any leading shape."""
    curve = x["ratio"] ** (-e)
    crit_q = x["q0"] * crit
    want_m = crit_q + (x["q0"] - crit_q) * curve[..., None]
    want = want_m.sum(-1)
    crit_b = crit_q.sum(-1)
    row_crit = 0.3 * x["row0"]
    f1, f2, f3 = serve_in_tiers(x["supply"], crit_b + row_crit, want - crit_b + (x["row0"] - row_crit), x["want_r"])
    cons = want_m * np.minimum(f1, 1.0)[..., None] * np.minimum(f2 + 0.5, 1.0)[..., None]
    loss = curve_loss_usd(dwl, cons, x["q0"]).sum(-1)
    responsive = np.stack(((x["q0"] - crit_q).sum(-1), x["row0"] - row_crit))
    resid = x["supply"] - crit_b - row_crit - x["want_r"] * f3
    elas = np.stack((e, e * 1.3))[(slice(None),) + (None,) * (x["supply"].ndim - 1)]
    clearing = clearing_price_ratio(responsive, elas, resid, guess, floor, cap)
    return loss + clearing


@numba.njit(cache=True)
def numba_day(ratio, q0, supply, row0, want_r, e, crit, a, g1, xc, cap_r, p0, floor, cap, guess, out):
    """The same arithmetic as loops, for one replication [A, C] / [A, C, M]."""
    A = ratio.shape[0]
    for i in range(A):
        for c in range(C):
            curve = ratio[i, c] ** (-e[c])
            want = 0.0
            crit_b = 0.0
            resp = 0.0
            for m in range(M):
                cq = q0[i, c, m] * crit[c, m]
                want += cq + (q0[i, c, m] - cq) * curve
                crit_b += cq
                resp += q0[i, c, m] - cq
            row_crit = 0.3 * row0[i, c]
            left = supply[i, c]
            tiers = (crit_b + row_crit, want - crit_b + (row0[i, c] - row_crit), want_r[i, c])
            fr = np.empty(3)
            for k in range(3):
                fr[k] = min(1.0, left / max(tiers[k], 1e-12))
                left = max(left - tiers[k], 0.0)
            loss = 0.0
            for m in range(M):
                cq = q0[i, c, m] * crit[c, m]
                w = cq + (q0[i, c, m] - cq) * curve
                cons = w * min(fr[0], 1.0) * min(fr[1] + 0.5, 1.0)
                responsive = q0[i, c, m] - cq
                x1 = min(max(cons - cq, 0.0) / max(responsive, 1e-300), 1.0)
                lo = max(x1, xc[c])
                share = g1[c] - lo ** a[c] / a[c] + cap_r[c] * max(xc[c] - x1, 0.0) - (1.0 - x1)
                loss += max(share, 0.0) * responsive * p0[c]
            resid = supply[i, c] - crit_b - row_crit - want_r[i, c] * fr[2]
            amounts = (resp, row0[i, c] - row_crit)
            els = (e[c], e[c] * 1.3)
            lo_b, hi_b = np.log(floor[c]), np.log(cap[c])
            log_r = np.log(max(resid, 1e-12))
            y = min(max(np.log(max(guess[i, c], 1e-12)), lo_b), hi_b)
            for _ in range(3):
                tot = 0.0
                slope = 0.0
                for k in range(2):
                    term = amounts[k] * np.exp(-els[k] * y)
                    tot += term
                    slope += els[k] * term
                g = np.log(max(tot, 1e-12)) - log_r
                y = min(max(y + g * tot / max(slope, 1e-12), lo_b), hi_b)
            out[i, c] = loss + (np.exp(y) if resid > 0 else cap[c])


def timeit(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--days", type=int, default=3000)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    e = rng.uniform(0.1, 0.6, C)
    crit = rng.uniform(0.0, 0.3, (C, M))
    p0 = rng.uniform(1e3, 1e5, C)
    cap = np.full(C, 25.0)
    floor = np.full(C, 0.2)
    dwl = DeadweightCurve(e, p0, cap, crit)
    one = make_inputs((2,), rng)
    many = make_inputs((args.batch, 2), rng)
    g1, gB = np.ones((2, C)), np.ones((args.batch, 2, C))
    out = np.empty((2, C))
    t0 = time.perf_counter()
    numba_day(one["ratio"], one["q0"], one["supply"], one["row0"], one["want_r"], e, crit, dwl.a[:, 0], dwl.g1[:, 0],
              dwl.xc[:, 0], dwl.cap[:, 0], p0, floor, cap, g1, out)
    compile_s = time.perf_counter() - t0
    t_np = timeit(lambda: numpy_day(one, e, crit, dwl, floor, cap, g1), args.days)
    t_b = timeit(lambda: numpy_day(many, e, crit, dwl, floor, cap, gB), max(args.days // 10, 50)) / args.batch
    args_nb = (one["ratio"], one["q0"], one["supply"], one["row0"], one["want_r"], e, crit, dwl.a[:, 0],
               dwl.g1[:, 0], dwl.xc[:, 0], dwl.cap[:, 0], p0, floor, cap, g1, out)
    t_nb = timeit(lambda: numba_day(*args_nb), args.days)
    print(f"kernel per replication-day (2 arms x {C} commodities x {M} manufacturers), one run:")
    print(f"  numpy, one replication      {t_np * 1e6:8.1f} us  (1.0x)")
    print(f"  numpy, batch of {args.batch:<4d}        {t_b * 1e6:8.1f} us  ({t_np / t_b:.1f}x faster)")
    print(f"  numba, one replication      {t_nb * 1e6:8.1f} us  ({t_np / t_nb:.1f}x faster; "
          f"first call incl. compile or cache load {compile_s:.2f} s)")


if __name__ == "__main__":
    main()
