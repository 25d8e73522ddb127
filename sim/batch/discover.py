"""Scenario discovery: PRIM boxes on a finished sweep's runs table.

``python run.py discover SWEEP_DIR --outcome KPI --threshold X [--below]`` marks every
successful run of ``SWEEP_DIR/runs.parquet`` whose ``KPI`` is above (or below) ``X`` as a
case of interest and asks PRIM (the EMA Workbench's implementation, Friedman and Fisher
1999; Bryant and Lempert 2010) for boxes in the space of the sweep's levers and
uncertainties where such cases concentrate. Each box is a conjunction of conditions on
key paths, e.g. ``shocks.china_gallium_germanium.rate_per_year >= 0.4 and
reserve.{gallium,germanium}.target_days <= 60``, with its

- coverage: share of all cases of interest that fall in the box,
- density: share of the runs in the box that are cases of interest,
- mass: share of all runs that fall in the box.

Along PRIM's peeling trajectory, density rises as coverage falls; the box reported is the
densest point whose coverage is still at least ``--min-coverage``. Outputs (in ``--out``,
default ``SWEEP_DIR/discover/<KPI>-<above|below>-<X>``): ``boxes.csv`` and ``boxes.md``
(the boxes and their conditions), ``trajectory.csv`` (every point of every box's peeling
trajectory) and ``peeling_trajectory.png``.

Needs the optional extra: ``pip install vaultsim[ema]``.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Prefixes of the setting columns of runs.parquet (see docs/batch.md).
SETTING_PREFIXES = ("lever.", "uncertainty.")


class DiscoverError(ValueError):
    """Bad input to discovery (folder, outcome, threshold); the message says what was expected."""


@dataclass
class Box:
    """One PRIM box at its chosen point of the peeling trajectory."""

    index: int
    coverage: float
    density: float
    mass: float
    n_runs: int
    n_cases: int
    conditions: list[str]
    trajectory: pd.DataFrame
    chosen: int

    @property
    def text(self) -> str:
        """The box as one readable condition (``all runs`` for an unrestricted box)."""
        return " and ".join(self.conditions) if self.conditions else "all runs"


@dataclass
class Discovery:
    """Boxes found for one outcome and threshold."""

    outcome: str
    threshold: float
    below: bool
    n_runs: int
    n_cases: int
    n_dropped: int
    boxes: list[Box] = field(default_factory=list)

    @property
    def case_text(self) -> str:
        return f"{self.outcome} {'<' if self.below else '>'} {self.threshold:g}"


def _import_prim():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optional-backend notices printed at import
            from ema_workbench.analysis import prim
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise DiscoverError(
            "scenario discovery needs the EMA Workbench: pip install 'vaultsim[ema]' (or pip install ema_workbench)"
        ) from e
    return prim


# --------------------------------------------------------------------------- inputs


def load_runs(sweep_dir: Path) -> pd.DataFrame:
    """The runs table of a finished sweep folder."""
    path = Path(sweep_dir) / "runs.parquet"
    if not path.is_file():
        raise DiscoverError(f"{sweep_dir}: no runs.parquet; expected the output folder of a finished sweep")
    return pd.read_parquet(path)


def settings_of(runs: pd.DataFrame) -> pd.DataFrame:
    """The sweep's lever and uncertainty columns, named by key path, ready for PRIM."""
    cols = [c for c in runs.columns if c.startswith(SETTING_PREFIXES)]
    x = pd.DataFrame(index=runs.index)
    for c in cols:
        name = c.split(".", 1)[1]
        v = runs[c]
        if v.nunique(dropna=False) < 2:
            continue  # a constant setting cannot restrict a box
        if pd.api.types.is_bool_dtype(v) or not pd.api.types.is_numeric_dtype(v):
            v = pd.Categorical(v.astype(str))
        x[name] = v
    return x


def cases_of(runs: pd.DataFrame, outcome: str, threshold: float, below: bool) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(settings, case-of-interest flags, runs dropped) for the successful runs with a value."""
    if outcome not in runs.columns:
        kpis = [c for c in runs.columns if c not in ("run_id", "point", "replication", "seed", "run_key", "status",
                                                       "error", "runtime_s", "worker", "session")
                and not c.startswith(SETTING_PREFIXES)]
        close = difflib.get_close_matches(outcome, kpis, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DiscoverError(f"--outcome {outcome}: not a KPI of this sweep{hint}; expected one of: " + ", ".join(kpis))
    ok = runs["status"] == "ok" if "status" in runs.columns else pd.Series(True, index=runs.index)
    y_all = pd.to_numeric(runs[outcome], errors="coerce")
    keep = ok & np.isfinite(y_all)
    x = settings_of(runs[keep].reset_index(drop=True))
    if x.shape[1] == 0:
        raise DiscoverError("the sweep varies no lever or uncertainty; expected at least one setting that changes")
    y = y_all[keep].to_numpy()
    flags = y < threshold if below else y > threshold
    return x, flags, int((~keep).sum())


# --------------------------------------------------------------------------- PRIM


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def conditions(initial: pd.DataFrame, box: pd.DataFrame) -> list[str]:
    """Readable conditions of ``box`` (PRIM limits, inclusive) against the unrestricted box."""
    out = []
    for name in box.columns:
        lo, hi = box[name].iloc[0], box[name].iloc[1]
        lo0, hi0 = initial[name].iloc[0], initial[name].iloc[1]
        if isinstance(lo, set):
            if lo != lo0:
                out.append(f"{name} in {{{', '.join(sorted(map(str, lo)))}}}")
            continue
        low, high = lo > lo0, hi < hi0
        if low and high:
            out.append(f"{_fmt(lo)} <= {name} <= {_fmt(hi)}")
        elif low:
            out.append(f"{name} >= {_fmt(lo)}")
        elif high:
            out.append(f"{name} <= {_fmt(hi)}")
    return out


def _choose(traj: pd.DataFrame, min_coverage: float, min_density: float) -> int:
    """The densest point with coverage >= ``min_coverage`` (or else the most covering dense point)."""
    dense = traj[traj["density"] >= min_density]
    ok = dense[dense["coverage"] >= min_coverage]
    if ok.empty:
        return int(dense["coverage"].idxmax())
    best = ok["density"].max()
    # among equally dense points, the one with the highest coverage (the least peeled)
    return int(ok[ok["density"] >= best - 1e-12]["coverage"].idxmax())


def discover(
    runs: pd.DataFrame,
    outcome: str,
    threshold: float,
    below: bool = False,
    max_boxes: int = 3,
    min_coverage: float = 0.5,
    min_density: float = 0.5,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> Discovery:
    """Run PRIM on ``runs`` (a sweep's runs table) for the cases ``outcome > threshold`` (or ``<``).

    Args:
        runs: runs.parquet as a DataFrame.
        outcome: KPI column.
        threshold: value that separates cases of interest from the rest.
        below: cases of interest are ``outcome < threshold`` (default ``>``).
        max_boxes: boxes to find at most (each on the cases the previous boxes left).
        min_coverage: the chosen point of a trajectory keeps at least this coverage.
        min_density: a box is kept only if its density reaches this.
        peel_alpha: share of the runs peeled off per step.
        mass_min: smallest share of runs a box may hold.

    Returns:
        The boxes, with their trajectories and readable conditions.

    """
    prim = _import_prim()
    x, y, dropped = cases_of(runs, outcome, threshold, below)
    result = Discovery(outcome, float(threshold), below, len(y), int(y.sum()), dropped)
    if y.sum() == 0 or y.all():
        return result  # nothing to separate: every run is (or none is) a case of interest
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y, threshold=min_density, peel_alpha=peel_alpha, mass_min=mass_min)
        for i in range(max_boxes):
            box = p.find_box()
            if box is None:
                break  # no runs left outside the boxes found so far
            traj = box.peeling_trajectory.reset_index(drop=True)
            if traj.empty or traj["density"].max() < min_density or (traj["res_dim"] == 0).all():
                break  # EMA's "dump box" (the rest of the data, unrestricted): not a finding
            chosen = _choose(traj, min_coverage, min_density)
            box.select(chosen)
            lims = box.box_lims[chosen]
            in_box = int(round(traj.loc[chosen, "mass"] * len(y)))
            result.boxes.append(Box(
                index=i + 1,
                coverage=float(traj.loc[chosen, "coverage"]),
                density=float(traj.loc[chosen, "density"]),
                mass=float(traj.loc[chosen, "mass"]),
                n_runs=in_box,
                n_cases=int(round(traj.loc[chosen, "density"] * in_box)),
                conditions=conditions(box.box_lims[0], lims),
                trajectory=traj,
                chosen=chosen,
            ))
    return result


# --------------------------------------------------------------------------- outputs


def boxes_table(d: Discovery) -> pd.DataFrame:
    """One row per box: its statistics and conditions."""
    rows = [{"box": b.index, "coverage": b.coverage, "density": b.density, "mass": b.mass, "runs": b.n_runs,
             "cases": b.n_cases, "restricted": len(b.conditions), "conditions": b.text} for b in d.boxes]
    return pd.DataFrame(rows, columns=["box", "coverage", "density", "mass", "runs", "cases", "restricted",
                                       "conditions"])


def trajectory_table(d: Discovery) -> pd.DataFrame:
    """Every point of every box's peeling trajectory, the chosen ones flagged."""
    frames = []
    for b in d.boxes:
        t = b.trajectory[["coverage", "density", "mass", "res_dim"]].copy()
        t.insert(0, "point", np.arange(len(t)))
        t.insert(0, "box", b.index)
        t["chosen"] = t["point"] == b.chosen
        frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["box", "point", "coverage", "density", "mass", "res_dim", "chosen"])


def report_text(d: Discovery) -> str:
    """The boxes as Markdown."""
    base = d.n_cases / d.n_runs if d.n_runs else float("nan")
    lines = [f"# Scenario discovery: {d.case_text}", "",
             f"{d.n_cases} of {d.n_runs} runs are cases of interest (base density {base:.3f}); "
             f"{d.n_dropped} runs left out (failed or no value).", ""]
    if not d.boxes:
        lines.append("No box found: " + ("no run is a case of interest." if d.n_cases == 0 else
                                         "every run is a case of interest." if d.n_cases == d.n_runs else
                                         "no region is dense enough in cases of interest."))
    for b in d.boxes:
        lines += [f"## Box {b.index}: coverage {b.coverage:.2f}, density {b.density:.2f}, mass {b.mass:.2f}", "",
                  f"{b.n_cases} of the {b.n_runs} runs in the box are cases of interest when", ""]
        lines += [f"- {c}" for c in b.conditions] or ["- (no restriction)"]
        lines += ["", f"In one line: `{b.text}`", ""]
    return "\n".join(lines) + "\n"


def plot_trajectories(d: Discovery, path: Path) -> None:
    """Peeling trajectories (coverage against density), coloured by restricted dimensions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    markers = "osD^v"
    vmax = max([int(b.trajectory["res_dim"].max()) for b in d.boxes] + [1])
    sc = None
    cmap = plt.get_cmap("viridis", vmax + 1)  # one colour per whole number of restricted dimensions
    for b in d.boxes:
        t = b.trajectory
        ax.plot(t["coverage"], t["density"], color="0.7", lw=1, zorder=1)
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap=cmap, vmin=-0.5, vmax=vmax + 0.5,
                        marker=markers[(b.index - 1) % len(markers)], s=28, zorder=2, label=f"box {b.index}")
        ax.scatter([b.coverage], [b.density], s=160, facecolors="none", edgecolors="red", lw=1.5, zorder=3)
        ax.annotate(f"box {b.index}", (b.coverage, b.density), textcoords="offset points", xytext=(-48, -4),
                    color="red", fontsize=9)
    if sc is not None:
        fig.colorbar(sc, ax=ax, label="restricted dimensions", ticks=range(vmax + 1))
        ax.legend(loc="lower left", fontsize=8)
    ax.set_xlabel("coverage (share of cases of interest inside the box)")
    ax.set_ylabel("density (share of runs inside the box that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"PRIM peeling trajectory: {d.case_text}\n(red ring: reported box)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(d: Discovery, out: Path) -> list[Path]:
    """Write boxes.csv, boxes.md, trajectory.csv and peeling_trajectory.png into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "boxes.csv", out / "boxes.md", out / "trajectory.csv", out / "peeling_trajectory.png"]
    boxes_table(d).to_csv(files[0], index=False)
    files[1].write_text(report_text(d), encoding="utf-8")
    trajectory_table(d).to_csv(files[2], index=False)
    plot_trajectories(d, files[3])
    return files


# --------------------------------------------------------------------------- command


def build_parser() -> argparse.ArgumentParser:
    """Options of the ``discover`` command."""
    p = argparse.ArgumentParser(
        prog="run.py discover",
        description="Scenario discovery: PRIM boxes of the lever/uncertainty space where a KPI of a finished "
        "sweep is above (or below) a threshold. Needs: pip install 'vaultsim[ema]'.",
    )
    p.add_argument("sweep_dir", help="output folder of a finished sweep (holds runs.parquet)")
    p.add_argument("--outcome", required=True, metavar="KPI", help="KPI column of runs.parquet")
    p.add_argument("--threshold", required=True, type=float, metavar="X", help="cases of interest: KPI > X")
    p.add_argument("--below", action="store_true", help="cases of interest are KPI < X instead")
    p.add_argument("--out", metavar="DIR", help="output folder (default: SWEEP_DIR/discover/<KPI>-<above|below>-<X>)")
    p.add_argument("--max-boxes", type=int, default=3, help="boxes to find at most (default 3)")
    p.add_argument("--min-coverage", type=float, default=0.5,
                   help="report the densest trajectory point with at least this coverage (default 0.5)")
    p.add_argument("--min-density", type=float, default=0.5, help="keep a box only this dense (default 0.5)")
    p.add_argument("--peel-alpha", type=float, default=0.05, help="share peeled per step (default 0.05)")
    p.add_argument("--mass-min", type=float, default=0.05, help="smallest share of runs in a box (default 0.05)")
    return p


def _check_options(args: argparse.Namespace) -> None:
    if not np.isfinite(args.threshold):
        raise DiscoverError(f"--threshold: expected a finite number, got {args.threshold}")
    for name in ("min_coverage", "min_density", "peel_alpha", "mass_min"):
        v = getattr(args, name)
        low_ok = v >= 0 if name == "min_coverage" else v > 0
        if not (low_ok and v <= 1):
            raise DiscoverError(f"--{name.replace('_', '-')}: expected a share in (0, 1], got {v}")
    if args.max_boxes < 1:
        raise DiscoverError(f"--max-boxes: expected an integer >= 1, got {args.max_boxes}")


def main(argv: list[str]) -> int:
    """Run the ``discover`` command; returns the exit status (2 on bad input)."""
    args = build_parser().parse_args(argv)
    sweep_dir = Path(args.sweep_dir)
    try:
        _check_options(args)
        runs = load_runs(sweep_dir)
        d = discover(runs, args.outcome, args.threshold, args.below, args.max_boxes, args.min_coverage,
                     args.min_density, args.peel_alpha, args.mass_min)
    except DiscoverError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    side = "below" if args.below else "above"
    out = Path(args.out) if args.out else sweep_dir / "discover" / f"{args.outcome}-{side}-{args.threshold:g}"
    files = write_outputs(d, out)
    print(report_text(d).rstrip())
    print(f"\nfiles in {out}: " + ", ".join(f.name for f in files))
    return EXIT_OK
