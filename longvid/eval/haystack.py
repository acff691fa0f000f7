"""Strategy comparison tables on scored videos (the core of ``benchmarks/haystack.py``).

Given, per video, the timestamps of a full index, their relevance scores for the question and
the gold timestamps, :func:`strategy_table` runs every selection strategy at several frame
budgets and reports macro temporal F1 (5 s tolerance) and the frames each needed embedded: a full
index embeds every frame; the cold searches (``tstar``, the published T*, and ``tstar-coverage``,
longvid's) are simulated as searches that look scores up only at the times they ask for, so their
count is what they would have had to embed.

:func:`synthetic_videos` makes honest stand-ins (no video, just score curves) for a quick check;
:func:`self_check` asks that the best query-aware strategy beat ``uniform`` by a wide margin on
short needles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..search.cold import COLD_SEARCHES
from ..select import STRATEGIES, select_frames
from ..types import Scene, _ToDict
from .metrics import DEFAULT_TOLERANCE_S, TemporalScore, macro_average, temporal_prf


def all_strategies() -> tuple[str, ...]:
    """Every selection strategy the registry offers, then the cold searches."""
    return (*STRATEGIES.names(), *COLD_SEARCHES)


@dataclass
class ScoredVideo:
    name: str
    timestamps_s: np.ndarray  # every frame of the full index (e.g. 1 fps), sorted
    scores: np.ndarray
    gold_s: tuple[float, ...]
    scenes: Sequence[Scene] | np.ndarray | None = None


@dataclass
class TableRow(_ToDict):
    strategy: str
    frames: int
    precision: float
    recall: float
    f1: float
    frames_embedded: float  # mean per video
    videos: int


def _cold_times(video: ScoredVideo, name: str, frames: int, smooth_s: float, options: dict[str, Any]) -> tuple[list[float], int]:
    from ..search.tstar import tstar_search
    from ..search.tstar_coverage import coverage_search

    t, s = np.asarray(video.timestamps_s, float), np.asarray(video.scores, float)
    step = float(np.median(np.diff(t))) if t.size > 1 else 1.0

    def score_at(times_s: np.ndarray) -> np.ndarray:  # a cold video: only what is asked is "embedded"
        i = np.clip(np.searchsorted(t, times_s - step / 2), 0, t.size - 1)
        return s[i]

    duration_s = float(t[-1] - t[0]) + step
    if name == "tstar":  # the published search: its own 1 fps grid and final draw
        result = tstar_search(duration_s, score_at, frames, start_s=float(t[0]), **options)
    else:  # tstar-coverage, then topk over what it scored (as the pipeline runs it)
        result = coverage_search(duration_s, score_at, frames, start_s=float(t[0]), grid_s=step, smooth_s=smooth_s, **options)
    return list(result.selection.timestamps_s), result.evaluations


def strategy_table(
    videos: Sequence[ScoredVideo],
    strategies: Sequence[str] | None = None,
    frames: Sequence[int] = (8, 16, 32),
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    smooth_s: float = 0.0,
    options: dict[str, dict[str, Any]] | None = None,
) -> list[TableRow]:
    """One row per (strategy, frame budget): macro P/R/F1 over ``videos`` and frames embedded.

    ``strategies``: default every registered strategy and both cold searches (:func:`all_strategies`).
    ``smooth_s`` is passed to every strategy but ``tstar`` (see :func:`longvid.select.select_frames`);
    ``options`` maps a strategy name to its own options (``{"tstar": {"seed": 1}}``).
    """
    if not videos:
        raise InvalidArgumentError("no videos to compare on")
    options = options or {}
    strategies = all_strategies() if strategies is None else tuple(strategies)
    for name in strategies:
        if name not in COLD_SEARCHES and name not in STRATEGIES:
            raise InvalidArgumentError(f"unknown strategy {name!r}", f"choose from: {', '.join(all_strategies())}")
    rows = []
    for name in strategies:
        for budget in frames:
            scores: list[TemporalScore] = []
            embedded: list[int] = []
            for video in videos:
                if name in COLD_SEARCHES:
                    picked, cost = _cold_times(video, name, budget, smooth_s, options.get(name, {}))
                else:
                    sel = select_frames(
                        video.timestamps_s, video.scores, budget, name, video.scenes, smooth_s=smooth_s, **options.get(name, {})
                    )
                    picked, cost = list(sel.timestamps_s), len(video.timestamps_s)
                scores.append(temporal_prf(picked, video.gold_s, tolerance_s))
                embedded.append(cost)
            mean = macro_average(scores)
            rows.append(TableRow(name, budget, mean.precision, mean.recall, mean.f1, float(np.mean(embedded)), len(videos)))
    return rows


def format_table(rows: Sequence[TableRow]) -> str:
    """Markdown: one line per strategy, F1 and mean frames embedded per frame budget."""
    budgets = sorted({r.frames for r in rows})
    names = list(dict.fromkeys(r.strategy for r in rows))
    head = "| strategy | " + " | ".join(f"F1@{b} | embedded@{b}" for b in budgets) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(budgets))]
    cell = {(r.strategy, r.frames): r for r in rows}
    for name in names:
        parts = []
        for b in budgets:
            r = cell.get((name, b))
            parts += ["-", "-"] if r is None else [f"{r.f1:.3f}", f"{r.frames_embedded:.0f}"]
        lines.append(f"| {name} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def synthetic_videos(count: int = 20, seed: int = 0, needle_s: float = 3.0, fps: float = 1.0) -> list[ScoredVideo]:
    """Score curves shaped like a CLIP query on a long video with one short answer moment.

    Each video is 10–60 minutes at ``fps``. Baseline scores are noise (plus slow drift); the
    answer ("needle", ``needle_s`` long) scores high, its surroundings rise a little (the objects
    are on screen before and after, a Gaussian of 5–15 s); two to four distractor moments (a
    similar object elsewhere) reach 40–70 % of the needle's height. Gold = the needle's frames.
    """
    rng = np.random.default_rng(seed)
    videos = []
    for k in range(count):
        duration = float(rng.uniform(600, 3600))
        t = np.arange(0.0, duration, 1.0 / fps)
        drift = 0.02 * np.sin(2 * np.pi * t / rng.uniform(200, 900) + rng.uniform(0, 6.3))
        s = 0.20 + drift + 0.02 * rng.standard_normal(t.size)
        start = float(rng.uniform(30, duration - 30 - needle_s))
        centre = start + needle_s / 2
        s += 0.08 * np.exp(-0.5 * ((t - centre) / rng.uniform(5, 15)) ** 2)
        inside = (t >= start) & (t < start + needle_s)
        s[inside] += 0.25
        for _ in range(int(rng.integers(2, 5))):
            c = float(rng.uniform(0, duration))
            if abs(c - centre) > 60:
                s += rng.uniform(0.4, 0.7) * 0.25 * np.exp(-0.5 * ((t - c) / rng.uniform(1, 4)) ** 2)
        videos.append(ScoredVideo(f"synthetic-{k:02d}", t, s, tuple(float(x) for x in t[inside])))
    return videos


@dataclass
class SelfCheck(_ToDict):
    rows: list[TableRow]
    frames: int
    uniform_f1: float
    best_strategy: str
    best_f1: float
    margin: float
    passed: bool
    table: str = field(default="")


def self_check(count: int = 20, seed: int = 0, frames: int = 8, margin: float = 0.4, smooth_s: float = 0.0) -> SelfCheck:
    """Best query-aware F1 at ``frames`` must exceed uniform's by ``margin`` on short needles."""
    rows = strategy_table(synthetic_videos(count, seed), frames=(frames,), smooth_s=smooth_s)
    by_name = {r.strategy: r for r in rows}
    best = max((r for n, r in by_name.items() if n != "uniform"), key=lambda r: r.f1)
    gain = best.f1 - by_name["uniform"].f1
    return SelfCheck(rows, frames, by_name["uniform"].f1, best.strategy, best.f1, gain, gain >= margin, format_table(rows))
