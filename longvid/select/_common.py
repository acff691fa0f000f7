"""Checks and small helpers every selection strategy shares.

All strategies see the same validated inputs: ``timestamps_s`` strictly increasing finite seconds,
``scores`` finite floats of the same length, ``budget`` a positive int. They pick frame *indices*
and turn them into a :class:`~longvid.types.Selection` with :func:`make_selection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection

# Scores whose spread is below this (relative to their magnitude) count as "flat": no frame is
# more relevant than another, so strategies fall back to even spread instead of arbitrary ties.
FLAT_RTOL = 1e-9


def check_budget(budget: object) -> int:
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InvalidArgumentError(f"frame budget = {budget!r} is invalid", "expected an integer of at least 1")
    return int(budget)


def check_inputs(timestamps_s: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray, budget: object) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated float64 copies of the inputs; refuses what no strategy can handle."""
    budget = check_budget(budget)
    t = np.asarray(timestamps_s, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if t.ndim != 1 or s.ndim != 1:
        raise InvalidArgumentError(
            f"timestamps_s and scores must be 1-D, got shapes {t.shape} and {s.shape}", "pass one value per frame"
        )
    if t.size == 0:
        raise InvalidArgumentError("no frames to select from (timestamps_s is empty)", "score at least one frame first")
    if t.size != s.size:
        raise InvalidArgumentError(
            f"{t.size} timestamps but {s.size} scores", "pass exactly one score per timestamp"
        )
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise InvalidArgumentError(f"timestamps_s[{bad[0]}] = {float(t[bad[0]])!r} is not a finite number of seconds")
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        i = int(bad[0])
        raise InvalidArgumentError(
            f"scores[{i}] = {float(s[i])!r} (at {t[i]:.3f} s) is not a finite number",
            "drop or re-score that frame; NaN/inf scores cannot be ranked",
        )
    steps = np.diff(t)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        raise InvalidArgumentError(
            f"timestamps_s must be strictly increasing, but timestamps_s[{i + 1}] = {float(t[i + 1])!r} "
            f"follows {float(t[i])!r}",
            "sort the frames by time and drop duplicates",
        )
    return t, s, budget


def is_flat(scores: np.ndarray) -> bool:
    spread = float(scores.max() - scores.min())
    return spread <= FLAT_RTOL * max(1.0, float(np.abs(scores).max()))


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scores rescaled to [0, 1]; all zeros when flat."""
    if is_flat(scores):
        return np.zeros_like(scores)
    low = scores.min()
    return (scores - low) / (scores.max() - low)


def make_selection(t: np.ndarray, s: np.ndarray, indices: Iterable[int], strategy: str) -> Selection:
    idx = np.unique(np.fromiter((int(i) for i in indices), dtype=np.int64))
    return Selection(
        timestamps_s=tuple(float(x) for x in t[idx]),
        scores=tuple(float(x) for x in s[idx]),
        strategy=strategy,
    )


def nearest_unused(t: np.ndarray, target_s: float, used: np.ndarray) -> int:
    """Index of the frame nearest to ``target_s`` that is not yet ``used`` (ties: earlier frame)."""
    right = int(np.searchsorted(t, target_s))
    left = right - 1
    n = t.size
    while left >= 0 or right < n:
        while left >= 0 and used[left]:
            left -= 1
        while right < n and used[right]:
            right += 1
        if left < 0 and right >= n:
            break
        if right >= n or (left >= 0 and target_s - t[left] <= t[right] - target_s):
            return left
        return right
    raise InvalidArgumentError("every frame is already selected")  # callers never ask for more than n


def nearest_unique(t: np.ndarray, targets_s: Iterable[float]) -> list[int]:
    """One distinct frame per target time, each the nearest frame still free (targets in order).

    Collisions (two targets nearest to the same frame) move the later target to the nearest free
    neighbour, so the result keeps one frame per target and stays close to the intended times.
    """
    used = np.zeros(t.size, dtype=bool)
    picks = []
    for target in targets_s:
        i = nearest_unused(t, float(target), used)
        used[i] = True
        picks.append(i)
    return picks


def even_targets(t_first: float, t_last: float, count: int) -> np.ndarray:
    """``count`` times at the centres of ``count`` equal bins spanning [t_first, t_last]."""
    return t_first + (np.arange(count) + 0.5) * ((t_last - t_first) / count)


def uniform_indices(t: np.ndarray, budget: int) -> list[int]:
    """Evenly spread frames; all frames when ``budget >= len(t)``."""
    if budget >= t.size:
        return list(range(t.size))
    return nearest_unique(t, even_targets(float(t[0]), float(t[-1]), budget))


def greedy_nms(t: np.ndarray, order: Sequence[int] | np.ndarray, count: int, min_gap_s: float, taken: Iterable[int] = ()) -> list[int]:
    """Walk ``order`` (best first) and keep frames at least ``min_gap_s`` from every kept frame.

    Returns at most ``count`` new indices (not counting ``taken``, which only blocks neighbours).
    """
    kept_times = sorted(float(t[i]) for i in taken)
    taken_set = set(int(i) for i in taken)
    picks: list[int] = []
    slack = 1e-9 * max(1.0, float(np.abs(t).max()))  # frame grids are float: 1.0 s apart counts as 1.0 s
    for i in order:
        if len(picks) >= count:
            break
        i = int(i)
        if i in taken_set:
            continue
        ti = float(t[i])
        pos = int(np.searchsorted(kept_times, ti))
        near = (pos > 0 and ti - kept_times[pos - 1] < min_gap_s - slack) or (
            pos < len(kept_times) and kept_times[pos] - ti < min_gap_s - slack
        )
        if near:
            continue
        kept_times.insert(pos, ti)
        taken_set.add(i)
        picks.append(i)
    return picks


def rank_by_score(s: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
    """Indices by descending score; ties broken by earlier time (stable, deterministic)."""
    idx = np.arange(s.size) if subset is None else np.asarray(subset)
    return idx[np.argsort(-s[idx], kind="stable")]


def scene_labels(t: np.ndarray, scenes: Sequence[Scene] | Sequence[int] | np.ndarray) -> np.ndarray:
    """Scene id per frame from a list of :class:`Scene` or from per-frame ids.

    A frame belongs to the scene whose [start_s, end_s) holds it; frames outside every scene (a
    detector that skipped the tail, rounding at the ends) join the nearest scene.
    """
    if len(scenes) == 0:
        raise InvalidArgumentError("scenes is empty", "pass None to select without scenes, or the detected scenes")
    first = scenes[0]
    if isinstance(first, Scene):
        starts = np.array([sc.start_s for sc in scenes], dtype=np.float64)
        ends = np.array([sc.end_s for sc in scenes], dtype=np.float64)
        if np.any(np.diff(starts) < 0):
            raise InvalidArgumentError("scenes must be sorted by start_s", "sort them by time")
        # The last scene starting at or before each frame; if the frame lies past its end (or
        # before the first scene), the nearer of that scene and the next one.
        last = np.searchsorted(starts, t, side="right") - 1
        before = np.clip(last, 0, len(scenes) - 1)
        after = np.clip(last + 1, 0, len(scenes) - 1)
        gap_before = np.maximum(starts[before] - t, 0.0) + np.maximum(t - ends[before], 0.0)
        gap_after = np.maximum(starts[after] - t, 0.0) + np.maximum(t - ends[after], 0.0)
        return np.where(gap_after < gap_before, after, before).astype(np.int64)
    labels = np.asarray(scenes)
    if labels.ndim != 1 or labels.size != t.size:
        raise InvalidArgumentError(
            f"scenes must be a list of Scene or one scene id per frame; got {labels.size} ids for {t.size} frames"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise InvalidArgumentError(f"per-frame scene ids must be integers, got dtype {labels.dtype}")
    return labels.astype(np.int64)


def default_gap_s(t: np.ndarray, budget: int) -> float:
    """Half a fair share of the timeline (``duration / (2 * budget)``), capped at 1 s.

    Short clips get picks spread over the clip; in long videos, frames sampled more densely than
    1 fps stop being picked twice from the same second, while an event lasting a few seconds can
    still fill several picks (temporal-F1 style scoring rewards that).
    """
    duration = float(t[-1] - t[0])
    return min(duration / (2 * budget), 1.0)
