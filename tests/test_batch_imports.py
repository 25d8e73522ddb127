"""The batch package reads in one direction: no module imports a later stage of the pipeline.

A sweep is defined (design, spec), planned (plan), run (worker, runner), stored (store)
and reported (outputs, sensitivity, plots); ``sweep`` wires the stages together and the
commands sit on top. Every import between ``sim.batch`` modules, at module level or inside
a function, must point to an earlier stage; modules of the same stage do not import each
other, so the graph has no cycles.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sim.batch

BATCH = Path(sim.batch.__file__).parent

#: Pipeline stage of each module: a module may import only modules of a lower stage.
STAGE = {
    "design": 0,        # marginals and samplers: the vocabulary a sweep file is written in
    "spec": 1,          # the sweep's definition: design, outcomes, series, parameter columns
    "__init__": 2,      # the package's face re-exports the definition
    "plan": 3,          # run keys and tasks
    "worker": 4,        # runs one task
    "runner": 5,        # sends tasks to workers, hands results to a sink
    "store": 6,         # writes results to disk (the sink), tells the plan what is there
    "outputs": 7,       # merged files and per-point statistics
    "sensitivity": 7,
    "plots": 7,
    "sweep": 8,         # plan -> run -> store -> report
    "command": 9,       # the CLI
    "discover": 9,      # PRIM on a finished sweep's files
    "ema": 9,           # EMA Workbench adaptor
}


def batch_imports(path: Path) -> set[str]:
    """Modules of sim.batch that the file imports anywhere (``__init__`` for the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["sim", "batch"]:
                    found.add(parts[2] if len(parts) > 2 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: the package is sim.batch itself
                parts = ["sim", "batch", *(node.module.split(".") if node.module else [])]
            else:
                parts = (node.module or "").split(".")
            if parts[:2] != ["sim", "batch"]:
                continue
            if len(parts) > 2:
                found.add(parts[2])
            else:  # from sim.batch import X: a submodule, or a name from __init__
                found.update(a.name if (BATCH / f"{a.name}.py").exists() else "__init__" for a in node.names)
    found.discard(path.stem)
    return found


def graph() -> dict[str, set[str]]:
    return {p.stem: batch_imports(p) for p in sorted(BATCH.glob("*.py"))}


def test_every_batch_module_has_a_stage():
    unplaced = sorted(set(graph()) - set(STAGE))
    assert not unplaced, f"place these sim/batch modules in STAGE (tests/test_batch_imports.py): {unplaced}"


def test_no_batch_module_imports_a_later_stage():
    edges = graph()
    # the parser sees the wiring (an empty graph would pass vacuously)
    assert {"outputs", "plan", "runner", "store"} <= edges["sweep"]
    wrong = [f"{mod} (stage {STAGE[mod]}) imports {dep} (stage {STAGE[dep]})"
             for mod, deps in sorted(edges.items()) if mod in STAGE
             for dep in sorted(deps) if STAGE.get(dep, 99) >= STAGE[mod]]
    assert not wrong, "imports against the pipeline order:\n" + "\n".join(wrong)


def test_a_worker_process_loads_no_later_stage():
    # what a spawned or Dask worker imports to run a task: nothing of running, storing or reporting
    code = ("import sys, sim.batch.worker; "
            "print(' '.join(sorted(m.split('.')[2] for m in sys.modules if m.startswith('sim.batch.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=BATCH.parents[1]).stdout.split()
    assert set(out) == {"design", "spec", "plan", "worker"}
