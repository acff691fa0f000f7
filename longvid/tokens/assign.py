"""Query-aware per-frame token counts (QuoTA-style): a frame's share grows with relevance ** alpha.

Counts are integers that sum exactly to ``min(budget, capacity.sum())``; no frame gets more than
its capacity (the tokens it still has after temporal merging). Rounding is largest-remainder with
deterministic ties; tokens that capped frames cannot take are handed on to the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError


def check_relevance(relevance: object, frames: int) -> np.ndarray:
    """``relevance`` as a float64 (frames,) array, or a one-line error naming the bad value."""
    if hasattr(relevance, "detach"):  # a torch tensor, on any device
        relevance = relevance.detach().float().cpu().numpy()
    try:
        scores = np.asarray(relevance, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"relevance = {relevance!r} is not a sequence of numbers", "pass one float score per frame"
        ) from None
    if scores.shape[0] != frames:
        raise InvalidArgumentError(
            f"relevance has {scores.shape[0]} scores for {frames} frames", "pass one score per frame (grid)"
        )
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        raise InvalidArgumentError(
            f"relevance[{bad[0]}] = {scores[bad[0]]} is not a finite number",
            "replace NaN/inf scores, e.g. with the minimum score",
        )
    negative = np.flatnonzero(scores < 0)
    if negative.size:
        raise InvalidArgumentError(
            f"relevance[{negative[0]}] = {scores[negative[0]]} is negative",
            "shift or rescale scores to be >= 0 (e.g. (s - s.min()) or a softmax)",
        )
    return scores


def check_alpha(alpha: float) -> float:
    if not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha < 0:
        raise InvalidArgumentError(f"alpha = {alpha!r} is invalid", "expected a finite number >= 0 (1.0: proportional)")
    return float(alpha)


def assign_counts(
    capacity: Sequence[int] | np.ndarray,
    relevance: Sequence[float] | np.ndarray,
    budget: int,
    alpha: float = 1.0,
) -> np.ndarray:
    """Per-frame token counts (int64) proportional to ``relevance ** alpha``.

    - ``sum(counts) == min(budget, sum(capacity))`` exactly, ``0 <= counts <= capacity``.
    - Frames whose weight is 0 (relevance 0 with alpha > 0) get tokens only once every frame with
      a positive weight is full; then the rest is shared equally among them. All-zero or all-equal
      relevance therefore means an even split.
    - Largest-remainder rounding; equal remainders go to the more relevant frame, then the earlier.
    """
    capacity = np.asarray(capacity, dtype=np.int64).reshape(-1)
    scores = check_relevance(relevance, capacity.shape[0])
    alpha = check_alpha(alpha)
    if not isinstance(budget, (int, np.integer)) or isinstance(budget, bool) or budget < 1:
        raise InvalidArgumentError(f"budget = {budget!r} is invalid", "expected an integer number of tokens >= 1")
    if (capacity < 0).any():
        raise InvalidArgumentError(f"capacity has a negative count ({capacity.min()})")

    # Normalise before the power so large alphas neither overflow nor depend on the score scale.
    top = scores.max() if scores.size else 0.0
    weights = (scores / top) ** alpha if top > 0 else np.ones_like(scores)
    # A positive score keeps a positive weight even where the power underflows.
    weights = np.where(scores > 0, np.maximum(weights, np.finfo(np.float64).tiny), weights)
    counts = np.zeros_like(capacity)
    remaining = int(min(int(budget), int(capacity.sum())))
    open_ = capacity > 0
    while remaining > 0:
        pool = open_ & (weights > 0)
        share_weights = weights
        if not pool.any():  # every weighted frame is full: share the rest evenly
            pool = open_.copy()
            share_weights = np.ones_like(weights)
        members = np.flatnonzero(pool)
        w = share_weights[members]
        ideal = remaining * (w / w.sum())
        room = capacity[members] - counts[members]
        full = ideal >= room
        if full.any():  # fill the capped frames and share again what they could not take
            counts[members[full]] += room[full]
            remaining -= int(room[full].sum())
            open_[members[full]] = False
            continue
        floors = np.floor(ideal).astype(np.int64)
        counts[members] += floors
        leftover = remaining - int(floors.sum())
        if leftover > 0:
            # Largest remainder first; ties: higher relevance, then earlier frame. Every member
            # has room for one more because its ideal share is below its room.
            order = np.lexsort((members, -scores[members], -(ideal - floors)))
            counts[members[order[:leftover]]] += 1
        remaining = 0
    return counts
