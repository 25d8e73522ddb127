"""Golden bits: hashes of whole runs that every refactoring must reproduce exactly.

Five scenarios (the default, ``vault_copper_allies``, ``vault_with_nds``, the default without
parties, and the default with gallium and germanium priced by competitive storage), 3 years,
seeds 1 and 2. Each run is reduced to SHA-256 digests of its daily
series, summary, events and finance tables, written to ``tests/data/golden_bits.json``.

Only a deliberate model change regenerates them, with the reason in the commit message::

    python -m tests.golden --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

from sim import load_scenario, simulate

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_PATH = Path(__file__).parent / "data" / "golden_bits.json"
SEEDS = (1, 2)
HORIZON_YEARS = 3
#: name -> (scenario file, extra overrides)
CASES: dict[str, tuple[str, dict]] = {
    "default": ("scenarios/project_vault.yaml", {}),
    "vault_copper_allies": ("scenarios/policies/vault_copper_allies.yaml", {}),
    "vault_with_nds": ("scenarios/policies/vault_with_nds.yaml", {}),
    "default_no_parties": ("scenarios/project_vault.yaml", {"parties": None}),
    "default_storage_ga_ge": ("scenarios/project_vault.yaml",
                              {"commodities.{gallium,germanium}.price_model": "storage"}),
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _summary_bytes(summary: dict) -> bytes:
    """The summary as bytes: keys sorted, floats by their exact hex form (NaN as the word)."""
    parts = []
    for key in sorted(summary):
        value = summary[key]
        if isinstance(value, float):
            text = "nan" if math.isnan(value) else float(value).hex()
        else:
            text = repr(value)
        parts.append(f"{key}={text}")
    return "\n".join(parts).encode()


def run_digests(case: str, seed: int, horizon_years: float = HORIZON_YEARS) -> dict[str, str]:
    """SHA-256 digests of one golden run's series, summary, events and finance tables."""
    path, changes = CASES[case]
    scenario = load_scenario(ROOT / path)
    scenario = scenario.with_changes({"run.horizon_years": horizon_years, **changes})
    result = simulate(scenario, seed=seed)
    series = np.ascontiguousarray(result.series.values)
    events = result.events
    return {
        "series": _digest(series.tobytes() + "|".join(result.series.names).encode()),
        "summary": _digest(_summary_bytes(result.summary)),
        "events": _digest(events.to_csv(index=False).encode() + _floats(events)),
        "finance": _digest(result.finance.drop(columns=["date"]).to_numpy(dtype=float).tobytes()
                           + ",".join(result.finance.columns).encode()),
    }


def _floats(frame) -> bytes:
    """The exact bits of a table's float columns (CSV text rounds them)."""
    cols = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return b"".join(np.ascontiguousarray(frame[c].to_numpy()).tobytes() for c in cols)


def all_digests() -> dict[str, dict[str, str]]:
    """Digests of every golden case and seed, keyed ``"<case>/seed<seed>"``."""
    return {f"{case}/seed{seed}": run_digests(case, seed) for case in CASES for seed in SEEDS}


def main(argv: list[str] | None = None) -> int:
    """Print the golden digests, or write them with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {GOLDEN_PATH.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    digests = all_digests()
    text = json.dumps(digests, indent=1, sort_keys=True) + "\n"
    if args.write:
        GOLDEN_PATH.write_text(text)
        print(f"wrote {GOLDEN_PATH}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
