"""``aks``: adaptive keyframe selection (after AKS, Tang et al., CVPR 2025).

The timeline is split recursively. For each segment and the number of frames ``k`` it must
supply, we ask whether its best frames stand out: the mean of its top-``k`` scores minus the mean
of all its scores, in units of the whole video's score spread (a robust standard deviation,
1.4826 × median absolute deviation, or the plain standard deviation when the MAD is 0).

* stands out (≥ ``threshold``): the question is answered here, so take the segment's top-``k``
  frames (relevance), with the same near-duplicate gap as ``topk``;
* does not: split the segment in two halves of equal duration and give each half ``k / 2``
  frames (coverage); an odd frame goes to the half with the higher best score;
* at ``max_depth`` or when a segment cannot be split, relevance wins.

Defaults: ``threshold = 3.0`` spreads (about the top-frame excess that pure Gaussian noise shows
over a few hundred frames, so noise alone mostly leads to coverage; a real match a few spreads
above the rest leads to relevance). ``max_depth = ceil(log2(budget))``: deep enough that pure
coverage ends with about one frame per 1/budget of the timeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, default_gap_s, is_flat, make_selection, uniform_indices
from .topk import topk_indices


def robust_spread(s: np.ndarray) -> float:
    mad = 1.4826 * float(np.median(np.abs(s - np.median(s))))
    return mad if mad > 0 else float(np.std(s))


def select_aks(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    threshold: float = 3.0,
    max_depth: int | None = None,
) -> Selection:
    """``budget`` frames by recursive relevance-versus-coverage splitting. ``scenes`` is ignored."""
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if not np.isfinite(threshold) or threshold < 0:
        raise InvalidArgumentError(f"threshold = {threshold!r} is invalid", "expected 0 or more score spreads")
    if max_depth is None:
        max_depth = math.ceil(math.log2(budget)) if budget > 1 else 0
    elif isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise InvalidArgumentError(f"max_depth = {max_depth!r} is invalid", "expected an integer of 0 or more")
    if budget >= t.size:
        return make_selection(t, s, range(t.size), "aks")
    if is_flat(s):
        return make_selection(t, s, uniform_indices(t, budget), "aks")

    z = (s - np.median(s)) / robust_spread(s)
    gap_s = default_gap_s(t, budget)
    picks: list[int] = []

    def visit(lo: int, hi: int, k: int, depth: int) -> None:
        n = hi - lo
        if k <= 0 or n <= 0:
            return
        if k >= n:
            picks.extend(range(lo, hi))
            return
        seg = z[lo:hi]
        top_mean = float(np.mean(np.partition(seg, n - k)[n - k :]))
        if depth >= max_depth or n < 2 or top_mean - float(seg.mean()) >= threshold:
            picks.extend(topk_indices(t, z, k, gap_s, subset=np.arange(lo, hi)))
            return
        mid_s = 0.5 * (t[lo] + t[hi - 1])
        mid = int(np.searchsorted(t, mid_s, side="right"))
        mid = min(max(mid, lo + 1), hi - 1)  # both halves keep at least one frame
        k_left = k_right = k // 2
        if k % 2:
            if z[lo:mid].max() >= z[mid:hi].max():
                k_left += 1
            else:
                k_right += 1
        # A half with fewer frames than its share hands the rest to the other half.
        k_left, k_right = min(k_left, mid - lo), min(k_right, hi - mid)
        spare = k - k_left - k_right
        k_left += min(spare, mid - lo - k_left)
        k_right += k - k_left - k_right
        visit(lo, mid, k_left, depth + 1)
        visit(mid, hi, k_right, depth + 1)

    visit(0, t.size, budget, 0)
    return make_selection(t, s, picks, "aks")
