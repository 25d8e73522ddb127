"""The export-restriction episode data set: reading it, turning it into regime paths, summarising paths.

One CSV row is one measure as announced (``scenarios/data/export_restrictions.csv``; its
README describes the columns). The regime model works on *cells* (one country's exports of
one commodity), so rows are merged per cell: while several rows restrict the same cell
(China's Ga licensing and its Dec 2024 ban on exports to the US), the cell's severity is the
largest of theirs, and overlapping or touching rows form one episode. A change in that
severity starts a new segment of the same episode. The same summaries (episodes, restricted
days, longest episode, overlap) are computed for the observed and the simulated paths.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.model.regimes import Segment

COLUMNS = (
    "id", "country", "commodities", "measure", "announced", "effective", "end", "severity",
    "severity_changes", "severity_is_ours", "severity_basis", "targeted_at_bloc", "target", "source", "notes",
)
FOREVER = dt.date.max


class DataError(ValueError):
    """A row of the episode file is malformed; the message names file, line and column."""


@dataclass(frozen=True)
class Episode:
    """One row of the episode file."""

    id: str
    country: str
    commodities: tuple[str, ...]
    announced: dt.date | None
    effective: dt.date
    end: dt.date | None  # None = still in force at the data cut-off
    severity: float
    changes: tuple[tuple[dt.date, float], ...]
    severity_is_ours: bool
    targeted_at_bloc: bool
    source: str
    line: int

    def pieces(self) -> list[tuple[dt.date, dt.date, float]]:
        """(from, to, severity) stretches of constant severity; ``to`` is FOREVER while open."""
        bounds = [self.effective] + [d for d, _ in self.changes] + [self.end or FOREVER]
        sevs = [self.severity] + [s for _, s in self.changes]
        return [(bounds[i], bounds[i + 1], sevs[i]) for i in range(len(sevs))]


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise DataError(f"{where}: expected a date YYYY-MM-DD, got {text!r}") from None


def _share(text: str, where: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise DataError(f"{where}: expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= x <= 1.0:
        raise DataError(f"{where}: expected a number in [0, 1], got {x}")
    return x


def _yes_no(text: str, where: str) -> bool:
    if text not in ("yes", "no"):
        raise DataError(f"{where}: expected 'yes' or 'no', got {text!r}")
    return text == "yes"


def _row(r: dict[str, str], where: str) -> Episode:
    at = lambda col: f"{where}: {col}"  # noqa: E731 - names the column in every message
    commodities = tuple(c.strip() for c in r["commodities"].split(";") if c.strip())
    if not commodities or not r["country"].strip() or not r["source"].strip():
        raise DataError(f"{where}: country, commodities and source must not be empty")
    announced = _date(r["announced"], at("announced")) if r["announced"].strip() else None
    effective = _date(r["effective"], at("effective"))
    end = _date(r["end"], at("end")) if r["end"].strip() else None
    if announced and announced > effective:
        raise DataError(f"{at('announced')}: expected on or before effective {effective}, got {announced}")
    if end and end <= effective:
        raise DataError(f"{at('end')}: expected after effective {effective}, got {end}")
    changes = []
    for item in (x for x in r["severity_changes"].split(";") if x.strip()):
        day, _, value = item.partition(":")
        d = _date(day, at("severity_changes"))
        if not effective < d < (end or FOREVER) or (changes and d <= changes[-1][0]):
            raise DataError(f"{at('severity_changes')}: expected increasing dates inside the episode, got {d}")
        changes.append((d, _share(value, at("severity_changes"))))
    return Episode(
        id=r["id"].strip(), country=r["country"].strip(), commodities=commodities, announced=announced,
        effective=effective, end=end, severity=_share(r["severity"], at("severity")), changes=tuple(changes),
        severity_is_ours=_yes_no(r["severity_is_ours"], at("severity_is_ours")),
        targeted_at_bloc=_yes_no(r["targeted_at_bloc"], at("targeted_at_bloc")),
        source=r["source"].strip(), line=int(where.rsplit(":", 1)[1]),
    )


def load_episodes(path: str | Path) -> list[Episode]:
    """Read and check the episode file.

    Raises:
        DataError: naming file, line and column, for a missing column or a bad value.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}:1: missing columns {missing}; expected {list(COLUMNS)}")
        return [_row(r, f"{path}:{i}") for i, r in enumerate(reader, start=2)]


def cells_of(episodes: Iterable[Episode]) -> dict[str, tuple[str, ...]]:
    """Country -> commodities it restricted at least once (its cells), in order of appearance."""
    out: dict[str, list[str]] = {}
    for e in episodes:
        lst = out.setdefault(e.country, [])
        lst += [c for c in e.commodities if c not in lst]
    return {k: tuple(v) for k, v in out.items()}


def _cell_runs(rows: list[Episode], commodity: str) -> list[list[tuple[dt.date, dt.date, float, bool]]]:
    """Episodes of one cell as lists of (from, to, severity, targeted) runs of constant severity."""
    pieces = [(a, b, s, e.targeted_at_bloc) for e in rows for (a, b, s) in e.pieces() if commodity in e.commodities]
    bounds = sorted({p[0] for p in pieces} | {p[1] for p in pieces})
    episodes: list[list[tuple[dt.date, dt.date, float, bool]]] = []
    last_end = None
    for a, b in zip(bounds, bounds[1:]):
        active = [p for p in pieces if p[0] <= a and b <= p[1]]
        if not active:
            continue
        # the bloc loses the deepest cut in force; ties go to the measure that applies to all buyers
        sev, targeted = max((p[2], not p[3]) for p in active)
        targeted = not targeted
        if last_end != a:
            episodes.append([])
        runs = episodes[-1]
        if runs and runs[-1][2] == sev and runs[-1][3] == targeted:
            runs[-1] = (runs[-1][0], b, sev, targeted)
        else:
            runs.append((a, b, sev, targeted))
        last_end = b
    return episodes


def window_segments(episodes: Sequence[Episode], start: dt.date, end: dt.date) -> list[Segment]:
    """Observed regime segments in ``[start, end)``, in days from ``start``, clipped like ``sample_paths``."""
    horizon = float((end - start).days)
    out: list[tuple[Segment, dt.date]] = []
    for country, commodities in cells_of(episodes).items():
        rows = [e for e in episodes if e.country == country]
        for commodity in commodities:
            for k, runs in enumerate(_cell_runs(rows, commodity)):
                for a, b, sev, targeted in runs:
                    if b <= start or a >= end:
                        continue
                    s0 = max(0.0, float((a - start).days))
                    s1 = horizon if b == FOREVER else min(horizon, float((b - start).days))
                    out.append((Segment(country, commodity, s0, s1, sev, k, targeted), runs[0][0]))
    # number episodes in order of their first day, like sample_paths
    out.sort(key=lambda x: (x[1], x[0].country, x[0].commodity, x[0].start_day))
    ids: dict[tuple[str, str, int], int] = {}
    segs = []
    for s, _ in out:
        eid = ids.setdefault((s.country, s.commodity, s.episode), len(ids))
        segs.append(Segment(s.country, s.commodity, s.start_day, s.end_day, s.severity, eid, s.targeted))
    segs.sort(key=lambda s: (s.start_day, s.country, s.commodity, s.episode))
    return segs


def restricted_days(segments: Iterable[Segment], horizon_days: int) -> dict[str, np.ndarray]:
    """Commodity -> boolean array of days on which any country restricts it."""
    out: dict[str, np.ndarray] = {}
    for s in segments:
        mask = out.setdefault(s.commodity, np.zeros(horizon_days, dtype=bool))
        mask[int(np.floor(s.start_day)) : int(np.ceil(s.end_day))] = True
    return out


def path_stats(segments: Sequence[Segment], horizon_days: int, commodities: Sequence[str]) -> dict[str, float]:
    """The backtest's summaries of one path.

    ``episodes`` (count, including those already on at day 0), ``longest_episode_days``
    (censored at the window), ``share_days_2plus`` (share of days with two or more
    commodities restricted by any country) and ``days.<commodity>`` (days restricted).
    """
    spans: dict[int, list[float]] = {}
    for s in segments:
        a, b = spans.setdefault(s.episode, [s.start_day, s.end_day])
        spans[s.episode] = [min(a, s.start_day), max(b, s.end_day)]
    masks = restricted_days(segments, horizon_days)
    per_day = sum((m.astype(int) for m in masks.values()), np.zeros(horizon_days, dtype=int))
    out = {
        "episodes": float(len(spans)),
        "longest_episode_days": max((b - a for a, b in spans.values()), default=0.0),
        "share_days_2plus": float(np.mean(per_day >= 2)),
    }
    for c in commodities:
        out[f"days.{c}"] = float(masks[c].sum()) if c in masks else 0.0
    return out
