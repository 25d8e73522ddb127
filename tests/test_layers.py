"""The package's imports point down its layers, and no package imports itself in a circle.

Layers, lowest first: foundations (``sim.core``: random streams, ledger; ``sim.scenario``, the
input contract; ``sim.version``), the compiled kernels (``sim.kernels``), the model's Python
objects (``sim.model``), the SimPy engine (``sim.engine``), metrics (``sim.metrics``, which never
import the engine), running a replication (``sim.simulation``), reports (``sim.report``), then
batch, compare and calibration, the CLI, and the package's face (``sim``). A module may import its
own package or a lower layer. Every import counts, at module level or inside a function, except
those under ``if TYPE_CHECKING:`` (annotations only).
"""

from __future__ import annotations

import ast
from pathlib import Path

import sim

SIM = Path(sim.__file__).parent

LAYER = {
    "sim.core": 0, "sim.scenario": 0, "sim.version": 0,
    "sim.kernels": 1,
    "sim.model": 2,
    "sim.engine": 3,
    "sim.metrics": 4,
    "sim.simulation": 5,
    "sim.report": 6,
    "sim.batch": 7, "sim.compare": 7, "sim.calibration": 7,
    "sim.cli": 8,
    "sim": 9,
}
#: Pairs (importer, imported) that the layer numbers alone would allow but the design does not.
FORBIDDEN = {("sim.metrics", "sim.engine"), ("sim.kernels", "sim.scenario")}


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """The layer unit of a module: ``sim.<package>`` (or ``sim`` itself, or a top-level module)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else "sim"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(path: Path) -> set[str]:
    """The ``sim`` modules a file imports anywhere (resolved to modules where a name is a submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sim")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sim":
            assert node.level == 0, f"{path}: relative import"
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                is_module = (SIM.parent / Path(*sub.split("."))).with_suffix(".py").exists() or \
                    (SIM.parent / Path(*sub.split(".")) / "__init__.py").exists()
                found.add(sub if is_module else node.module)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(SIM.rglob("*.py"))}


def test_every_package_has_a_layer():
    packages = {package_of(m) for m in graph()}
    assert packages <= set(LAYER), packages - set(LAYER)


def test_imports_point_down_the_layers():
    upward = []
    for module, deps in graph().items():
        here = package_of(module)
        for dep in deps:
            there = package_of(dep)
            if there == here:
                continue
            if LAYER[there] >= LAYER[here] or (here, there) in FORBIDDEN:
                upward.append(f"{module} imports {dep}")
    assert upward == []


def test_no_circle_of_imports():
    g = graph()
    state: dict[str, int] = {}
    circles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dep in sorted(g.get(module, ())):
            if dep not in g:
                continue
            if state.get(dep) == 1:
                circles.append(" -> ".join([*trail[trail.index(dep):], dep]))
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[module] = 2

    for module in sorted(g):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_runtime_never_imports_calibration():
    runtime = [m for m in graph() if package_of(m) not in ("sim.calibration",)]
    g = graph()
    assert [m for m in runtime if any(package_of(d) == "sim.calibration" for d in g[m])] == []
