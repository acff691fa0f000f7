"""``scene``: spread picks across shots, best frames within each shot.

Each scene gets a weight ``relevance × frames``: its best min-max normalised score (floored at
``min_relevance`` so an irrelevant shot is still worth covering) times how many frames it holds.
While the budget allows, every scene gets one pick; the rest is shared by weight (largest
remainder), never more picks than a scene has frames. When there are more scenes than the
budget, the ``budget`` heaviest scenes get one pick each. Inside a scene the picks are its best
frames, spread with a gap of half the scene's fair share per pick (``topk`` within the scene).

Without ``scenes`` the timeline is cut into ``budget`` equal-duration segments, which makes this
"the best frame of every 1/budget of the video".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, is_flat, make_selection, minmax, scene_labels, uniform_indices
from .topk import topk_indices


def allocate(weights: np.ndarray, capacity: np.ndarray, budget: int) -> np.ndarray:
    """Picks per scene: one each while the budget allows, the rest by weight, capped by capacity."""
    count = np.zeros(weights.size, dtype=np.int64)
    if budget < weights.size:
        count[np.argsort(-weights, kind="stable")[:budget]] = 1
        return count
    count[:] = 1
    left = budget - weights.size
    while left > 0:
        room = capacity - count
        open_ = room > 0
        if not open_.any():
            break
        share = np.where(open_, weights, 0.0)
        if share.sum() <= 0:
            share = open_.astype(np.float64)
        quota = share / share.sum() * left
        extra = np.minimum(np.floor(quota).astype(np.int64), room)
        if extra.sum() == 0:  # less than one frame per scene left: the largest quota gets it
            extra[int(np.argmax(np.where(open_, quota, -np.inf)))] = 1
        count += extra
        left -= int(extra.sum())
    return count


def best_in_scene(t: np.ndarray, s: np.ndarray, members: np.ndarray, k: int) -> list[int]:
    """The scene's ``k`` best frames, at least half a fair share of its span apart; even when flat."""
    if is_flat(s[members]):
        return [int(members[i]) for i in uniform_indices(t[members], k)]
    span_s = float(t[members[-1]] - t[members[0]])
    return topk_indices(t, s, k, span_s / (2 * k), subset=members)


def select_scene(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | Sequence[int] | np.ndarray | None = None,
    min_relevance: float = 0.1,
) -> Selection:
    """``budget`` frames spread across ``scenes`` (a list of Scene, or one scene id per frame)."""
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if not 0.0 <= min_relevance <= 1.0:
        raise InvalidArgumentError(f"min_relevance = {min_relevance!r} is invalid", "expected a share in [0, 1]")
    if budget >= t.size:
        return make_selection(t, s, range(t.size), "scene")
    if scenes is None:
        edges = np.linspace(t[0], t[-1], budget + 1)[1:-1]
        labels = np.searchsorted(edges, t, side="right")
    else:
        labels = scene_labels(t, scenes)
    ids, labels = np.unique(labels, return_inverse=True)  # only scenes that hold frames
    relevance = minmax(s)
    members = [np.flatnonzero(labels == j) for j in range(ids.size)]
    best = np.array([relevance[m].max() for m in members])
    size = np.array([m.size for m in members], dtype=np.int64)
    weights = np.maximum(best, min_relevance) * size
    count = allocate(weights, size, budget)
    picks: list[int] = []
    for m, k in zip(members, count):
        if k > 0:
            picks += best_in_scene(t, s, m, int(k))
    return make_selection(t, s, picks, "scene")
