"""Frame scores -> moments: merged time spans around the best-scoring frames.

    moments = find_moments(times_s, scores, k=5, scenes=scenes)

Peaks are taken best first. Each grows left and right over neighbouring frames while they stay
above ``baseline + fraction * (peak - baseline)`` (the baseline is the median score: CLIP-style
similarities sit in a narrow band far from zero, so a fraction of the raw peak would keep almost
everything), never across a scene boundary and never into another moment. A frame sampled at
``t`` stands for the time until the next sample, so a span ends where the sample after its last
frame starts (clipped to the scene's end).

Peak picking with temporal non-maximum suppression: only local maxima (within their scene) can
start a moment, so the slopes of a bump never become moments of their own; a peak inside or
within ``min_gap_s`` of an existing moment is suppressed; and after the first moment only peaks
above the baseline count (a flat stretch is not a moment).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Moment, Scene


def find_moments(
    times_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    k: int = 5,
    scene_ids: Sequence[int] | np.ndarray | None = None,
    scenes: Sequence[Scene] | None = None,
    fraction: float = 0.5,
    min_gap_s: float = 0.0,
    max_span_s: float | None = None,
    end_s: float | None = None,
) -> list[Moment]:
    """Up to ``k`` moments, best first.

    ``times_s`` must be strictly increasing. ``scene_ids`` (one per frame, -1 = unknown) or
    ``scenes`` keep spans inside shots; with ``scenes`` spans are also clipped to the shot's
    times. ``end_s`` is where the video ends (the last frame's span stops there); without it the
    last frame lasts one median sampling interval.
    """
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    _validate(times, values, k, fraction, min_gap_s, max_span_s)
    n = len(times)
    if n == 0:
        return []
    if scenes is not None:
        from ..store.writing import scene_of

        scene_list = sorted(scenes, key=lambda s: s.start_s)
        ids = scene_of(times, scene_list)
        scene_by_id = {s.index: s for s in scene_list}
    else:
        scene_by_id = {}
        ids = np.full(n, -1, np.int64) if scene_ids is None else np.asarray(scene_ids, dtype=np.int64).reshape(-1)
        if len(ids) != n:
            raise InvalidArgumentError(f"{len(ids)} scene ids for {n} frames", "pass one scene id per frame")
    step = float(np.median(np.diff(times))) if n > 1 else 1.0
    ends = np.append(times[1:], times[-1] + step if end_s is None else max(end_s, times[-1]))
    baseline = float(np.median(values))
    owner = np.full(n, -1, np.int64)  # which moment covers each frame
    spans: list[tuple[int, int]] = []
    moments: list[Moment] = []
    same_left = np.r_[False, ids[1:] == ids[:-1]]  # frame i-1 is in the same scene as frame i
    same_right = np.r_[ids[:-1] == ids[1:], False]
    prev_v, next_v = np.r_[-np.inf, values[:-1]], np.r_[values[1:], -np.inf]
    local_max = (~same_left | (values >= prev_v)) & (~same_right | (values >= next_v))
    candidates = np.flatnonzero(local_max)
    for peak in candidates[np.argsort(-values[candidates], kind="stable")]:
        if len(moments) == k or (moments and values[peak] <= baseline):
            break  # best first: nothing after this rises above the baseline either
        if owner[peak] >= 0 or _near_span(peak, spans, times, ends, min_gap_s):
            continue
        floor = baseline + fraction * (values[peak] - baseline)
        lo, hi = _grow(int(peak), (owner < 0) & (values >= floor) & (ids == ids[peak]), values, times, ends, max_span_s)
        owner[lo : hi + 1] = len(moments)
        spans.append((lo, hi))
        start, end = float(times[lo]), float(ends[hi])
        scene = scene_by_id.get(int(ids[peak]))
        if scene is not None:
            start, end = max(start, scene.start_s), min(end, scene.end_s)
            end = max(end, float(times[hi]))  # a frame at the scene's very end still has a span
        moments.append(
            Moment(
                start_s=start,
                end_s=end,
                score=float(values[peak]),
                peak_s=float(times[peak]),
                scene_index=None if ids[peak] < 0 else int(ids[peak]),
            )
        )
    return moments


def _grow(peak: int, ok: np.ndarray, values, times, ends, max_span_s: float | None) -> tuple[int, int]:
    """The run of ``ok`` frames around ``peak``; with ``max_span_s``, grown one frame at a time
    towards the better-scoring neighbour until the span would get too long."""
    left_bad = np.flatnonzero(~ok[:peak])
    right_bad = np.flatnonzero(~ok[peak + 1 :])
    lo = int(left_bad[-1]) + 1 if len(left_bad) else 0
    hi = peak + (int(right_bad[0]) if len(right_bad) else len(ok) - 1 - peak)
    if max_span_s is None:
        return lo, hi
    a = b = peak
    while True:
        options = [j for j in (a - 1, b + 1) if lo <= j <= hi and ends[max(b, j)] - times[min(a, j)] <= max_span_s]
        if not options:
            return a, b
        j = max(options, key=lambda i: values[i])
        a, b = min(a, j), max(b, j)


def _near_span(peak: int, spans, times, ends, min_gap_s: float) -> bool:
    """True when ``peak`` lies within ``min_gap_s`` of an existing moment."""
    if min_gap_s <= 0:
        return False
    t = times[peak]
    return any(times[lo] - min_gap_s < t < ends[hi] + min_gap_s for lo, hi in spans)


def _validate(times, values, k, fraction, min_gap_s, max_span_s) -> None:
    if len(times) != len(values):
        raise InvalidArgumentError(f"{len(times)} timestamps but {len(values)} scores", "pass one score per frame")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidArgumentError(f"k = {k!r} is invalid", "expected a whole number of moments, at least 1")
    if not 0.0 <= fraction <= 1.0:
        raise InvalidArgumentError(f"fraction = {fraction!r} is invalid", "expected a value from 0 to 1")
    if min_gap_s < 0:
        raise InvalidArgumentError(f"min_gap_s = {min_gap_s!r} is invalid", "expected 0 or more seconds")
    if max_span_s is not None and max_span_s <= 0:
        raise InvalidArgumentError(f"max_span_s = {max_span_s!r} is invalid", "expected a positive number of seconds")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InvalidArgumentError(f"scores[{bad[0]}] = {float(values[bad[0]])} is not a finite number")
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise InvalidArgumentError(f"times_s[{bad[0]}] = {float(times[bad[0]])} is not a finite number")
    if len(times) > 1 and not (np.diff(times) > 0).all():
        i = int(np.flatnonzero(np.diff(times) <= 0)[0])
        raise InvalidArgumentError(
            f"times_s must increase strictly: times_s[{i}] = {times[i]} then times_s[{i + 1}] = {times[i + 1]}",
            "sort the frames by time and drop duplicates",
        )
