"""``bolt``: inverse transform sampling of sharpened scores (after BOLT, Liu et al., CVPR 2025).

Scores are min-max normalised to [0, 1] and raised to ``power``; the result, read as a
probability mass over frames, gives a cumulative distribution over time. The frames are taken at
``budget`` evenly spaced quantiles of that distribution (systematic sampling: deterministic, and
the lowest-variance way to draw ``budget`` samples). Where relevance is high the quantiles crowd
together; where it is low they thin out but do not vanish, so the timeline stays covered.

``power`` trades relevance against coverage: 0 is uniform sampling, large values approach top-k.
The default 3.0 is our choice of a moderate sharpening (the paper treats the exponent as a tuned
hyper-parameter); ``floor`` keeps a little mass on every frame so that a single outlier cannot
empty the rest of the timeline.

Two quantiles can land on the same frame where the mass is concentrated; the duplicate moves to
the nearest free frame in time, so the budget is met exactly and the extra picks stay around the
peak (what a question about that moment needs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, even_targets, is_flat, make_selection, minmax, nearest_unique, uniform_indices


def bolt_weights(s: np.ndarray, power: float, floor: float) -> np.ndarray:
    """Per-frame sampling mass: ``floor + (1 - floor) * minmax(s) ** power`` (all equal when flat)."""
    return floor + (1.0 - floor) * minmax(s) ** power


def its_indices(t: np.ndarray, weights: np.ndarray, budget: int) -> list[int]:
    """Frames at ``budget`` evenly spaced quantiles of ``weights``; duplicates moved to free neighbours."""
    if budget >= t.size:
        return list(range(t.size))
    if is_flat(weights):  # equal mass everywhere is exactly uniform sampling
        return uniform_indices(t, budget)
    cdf = np.cumsum(weights)
    total = float(cdf[-1])
    quantiles = even_targets(0.0, total, budget)
    first = np.searchsorted(cdf, quantiles, side="left").clip(0, t.size - 1)
    # Collisions are resolved in time: the target of each quantile is its frame's time.
    return nearest_unique(t, t[first])


def select_bolt(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    power: float = 3.0,
    floor: float = 0.01,
) -> Selection:
    """``budget`` frames by inverse transform sampling of ``minmax(scores) ** power``.

    Deterministic (evenly spaced quantiles, no random draw). Flat scores give uniform sampling.
    ``scenes`` is ignored.
    """
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if not np.isfinite(power) or power < 0:
        raise InvalidArgumentError(f"power = {power!r} is invalid", "expected a number of 0 or more (0: uniform)")
    if not 0.0 <= floor < 1.0:
        raise InvalidArgumentError(f"floor = {floor!r} is invalid", "expected a share in [0, 1)")
    return make_selection(t, s, its_indices(t, bolt_weights(s, power, floor), budget), "bolt")
