"""Adaptive keyframe selection (AKS, Tang et al., CVPR 2025), and longvid's variant ``aks-z``.

``aks`` is the published method as the authors' code runs it (``meanstd`` and the selection loop
of ``main`` in ncTimTang/AKS ``frame_select.py``, defaults from its argument parser):

* scores are min-max normalised to [0, 1] over the whole video;
* a segment is judged with ``n = budget`` (the full budget, at every depth): if the mean of its
  top-``n`` scores minus the mean of all its scores exceeds ``t1`` (0.8) and its standard
  deviation exceeds ``t2`` (-100, so always), it is kept whole; otherwise, while its depth is
  below ``all_depth`` (5), it is cut in two at its middle frame (index ``len // 2``), else kept;
* a segment kept at depth ``d`` supplies its top ``int(budget / 2 ** d)`` frames (ties: earlier
  frame).

The integer division is the authors': below ``2 ** all_depth`` = 32 frames a segment that reaches
full depth supplies no frame, so ``aks`` can return fewer frames than the budget, even none (at 8
frames on scores where nothing stands out). Beyond the authors' code: flat scores (their
normalisation divides by zero) give uniform sampling, and a budget of at least the frame count
gives every frame (theirs runs the rule when the two are equal).

``aks-z`` is longvid's variant: a robust z-score rule, shares that follow the split and always
fill the budget; see :func:`select_aks_z`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, default_gap_s, is_flat, make_selection, minmax, rank_by_score, uniform_indices
from .topk import topk_indices


def aks_segments(norm: np.ndarray, n: int, t1: float, t2: float, all_depth: int) -> list[tuple[int, int, int]]:
    """The segments AKS keeps, as (start, stop, depth), for normalised scores ``norm``."""
    kept: list[tuple[int, int, int]] = []
    todo = [(0, norm.size, 0)]
    while todo:
        lo, hi, depth = todo.pop()
        if hi <= lo:  # a one-frame segment cut in two leaves an empty half, which supplies nothing
            continue
        segment = norm[lo:hi]
        top = segment[rank_by_score(segment)[:n]]  # the order the authors' heapq.nlargest gives
        if np.mean(top) - np.mean(segment) > t1 and np.std(segment) > t2:
            kept.append((lo, hi, depth))
        elif depth < all_depth:
            mid = lo + (hi - lo) // 2
            todo += [(mid, hi, depth + 1), (lo, mid, depth + 1)]
        else:
            kept.append((lo, hi, depth))
    return kept


def select_aks(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    t1: float = 0.8,
    t2: float = -100.0,
    all_depth: int = 5,
) -> Selection:
    """AKS's judge-and-split selection: at most ``budget`` frames (see the module docstring for
    when fewer). ``scenes`` is ignored."""
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    for name, value in (("t1", t1), ("t2", t2)):
        if not np.isfinite(value):
            raise InvalidArgumentError(f"{name} = {value!r} is invalid", "expected a finite number")
    if isinstance(all_depth, bool) or not isinstance(all_depth, int) or all_depth < 0:
        raise InvalidArgumentError(f"all_depth = {all_depth!r} is invalid", "expected an integer of 0 or more")
    if budget >= t.size:
        return make_selection(t, s, range(t.size), "aks")
    if is_flat(s):
        return make_selection(t, s, uniform_indices(t, budget), "aks")
    norm = minmax(s)
    picks: list[int] = []
    for lo, hi, depth in aks_segments(norm, budget, t1, t2, all_depth):
        share = int(budget / 2**depth)
        picks += (lo + rank_by_score(norm[lo:hi])[:share]).tolist()
    return make_selection(t, s, picks, "aks")


# --- longvid's variant ---------------------------------------------------------------------------


def robust_spread(s: np.ndarray) -> float:
    mad = 1.4826 * float(np.median(np.abs(s - np.median(s))))
    return mad if mad > 0 else float(np.std(s))


def select_aks_z(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    threshold: float = 3.0,
    max_depth: int | None = None,
) -> Selection:
    """Exactly ``min(budget, frames)`` frames by recursive relevance-versus-coverage splitting.

    For each segment and the number of frames ``k`` it must supply: the mean of its top-``k``
    scores minus the mean of all its scores, in units of the whole video's robust spread
    (1.4826 x median absolute deviation, or the standard deviation when that is 0), decides.
    At ``threshold`` or more (3.0: about what pure Gaussian noise over a few hundred frames
    shows, so noise mostly leads to coverage) the segment gives its top-``k`` frames with
    ``topk``'s near-duplicate gap; below, it is cut into two halves of equal duration with
    ``k / 2`` frames each (an odd frame to the half with the higher best score; a half with too
    few frames hands the rest on). At ``max_depth`` (default ``ceil(log2(budget))``, where pure
    coverage reaches about one frame per 1/budget of the timeline) relevance wins. Flat scores
    give uniform sampling. ``scenes`` is ignored.
    """
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if not np.isfinite(threshold) or threshold < 0:
        raise InvalidArgumentError(f"threshold = {threshold!r} is invalid", "expected 0 or more score spreads")
    if max_depth is None:
        max_depth = math.ceil(math.log2(budget)) if budget > 1 else 0
    elif isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 0:
        raise InvalidArgumentError(f"max_depth = {max_depth!r} is invalid", "expected an integer of 0 or more")
    if budget >= t.size:
        return make_selection(t, s, range(t.size), "aks-z")
    if is_flat(s):
        return make_selection(t, s, uniform_indices(t, budget), "aks-z")

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
    return make_selection(t, s, picks, "aks-z")
