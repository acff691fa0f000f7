"""``topk``: the best-scoring frames, with temporal non-maximum suppression.

Picks frames in order of score and skips any frame closer than ``min_gap_s`` to one already
picked, so one long relevant moment does not take the whole budget with near-identical frames.
When the suppression leaves fewer than ``budget`` frames (sparse frames, a large gap), the gap is
halved and the walk repeated until the budget is met; the last pass uses no gap at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, default_gap_s, greedy_nms, is_flat, make_selection, rank_by_score, uniform_indices


def topk_indices(t: np.ndarray, s: np.ndarray, budget: int, min_gap_s: float, subset: np.ndarray | None = None) -> list[int]:
    """Indices (into ``t``) of the top ``budget`` frames of ``subset`` under NMS with refill."""
    order = rank_by_score(s, subset)
    budget = min(budget, order.size)
    picks: list[int] = []
    gap = min_gap_s
    while len(picks) < budget:
        picks += greedy_nms(t, order, budget - len(picks), gap, taken=picks)
        if gap <= 0:
            break
        gap = gap / 2 if gap > 1e-6 else 0.0
    return picks


def select_topk(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    min_gap_s: float | None = None,
) -> Selection:
    """The ``budget`` best frames, no two closer than ``min_gap_s`` while the budget allows.

    ``min_gap_s`` defaults to ``min(duration / (2 * budget), 1.0)`` seconds: on short clips half a
    fair share of the timeline, on long videos one second, which removes duplicate picks from
    densely sampled stretches but lets a several-second event fill several picks. Pass a larger
    gap (e.g. ``duration / budget``) for coverage of many separate moments. Flat scores give the
    uniform spread. Ties in score go to the earlier frame. ``scenes`` is ignored.
    """
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if min_gap_s is None:
        min_gap_s = default_gap_s(t, budget)
    elif not np.isfinite(min_gap_s) or min_gap_s < 0:
        raise InvalidArgumentError(f"min_gap_s = {min_gap_s!r} is invalid", "expected 0 or more seconds")
    if budget >= t.size:
        return make_selection(t, s, range(t.size), "topk")
    if is_flat(s):
        return make_selection(t, s, uniform_indices(t, budget), "topk")
    return make_selection(t, s, topk_indices(t, s, budget, float(min_gap_s)), "topk")
