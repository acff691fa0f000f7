"""``dense``: the budget spread evenly over the best few moments (longvid's own strategy).

For questions about what happens *during* a moment (what does the square do, how many times does
it jump, which of two objects comes first) the answer needs several frames inside each relevant
moment, not one frame from each of many places. So:

1. find moments (:func:`longvid.search.moments.find_moments`: merged spans around score peaks,
   inside shots);
2. keep the best moment and every other of the first ``moments`` whose height above the median
   score is at least ``ratio`` times the best one's;
3. share the budget between them in proportion to their height above the median raised to
   ``sharpness`` (an exact match outweighs partial look-alikes), by largest remainders;
4. place each moment's frames at the centres of equal bins over its span, padded by half a
   sampling step on each side (a sampled frame stands for the time until the next sample, and
   the event may start up to one step before its first sampled frame). A moment takes at most
   one frame per ``min_step_s``; budget left over goes to the best remaining sampled frames.

The chosen times need not be sampled times: the pipeline decodes them (only those frames) for
the video LLM, and each carries the score interpolated from its sampled neighbours. Flat scores
give the uniform spread.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene, Selection
from ._common import check_inputs, is_flat, make_selection, rank_by_score, scene_labels, uniform_indices


def _shares(weights: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Integers summing to at most ``total``, proportional to ``weights`` (largest remainders),
    none above its cap."""
    counts = np.zeros(len(weights), dtype=np.int64)
    free = np.ones(len(weights), dtype=bool)
    left = total
    while left > 0 and free.any():
        w = np.where(free, weights, 0.0)
        exact = left * w / w.sum()
        add = np.minimum(np.floor(exact).astype(np.int64), caps - counts)
        rest = left - int(add.sum())
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        for i in order:
            if rest <= 0:
                break
            if free[i] and counts[i] + add[i] < caps[i]:
                add[i] += 1
                rest -= 1
        counts += add
        left -= int(add.sum())
        free &= counts < caps
        if add.sum() == 0:
            break
    return counts


def select_dense(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
    moments: int = 4,
    ratio: float = 0.5,
    sharpness: float = 2.0,
    min_step_s: float = 0.1,
) -> Selection:
    """``budget`` frames over the best moments (see the module docstring).

    ``moments``: how many moments may share the budget; ``ratio``: how high (relative to the best,
    above the median) a moment must peak to take part; ``sharpness``: the exponent of the budget
    shares; ``min_step_s``: the closest two frames of one moment may be (one video frame at 10 fps).
    """
    from ..search.moments import find_moments

    t, s, budget = check_inputs(timestamps_s, scores, budget)
    if not isinstance(moments, (int, np.integer)) or moments < 1:
        raise InvalidArgumentError(f"moments = {moments!r} is invalid", "expected a whole number of at least 1")
    for name, value, low in (("ratio", ratio, 0.0), ("sharpness", sharpness, 0.0), ("min_step_s", min_step_s, 0.0)):
        if not np.isfinite(value) or value < low or (name == "ratio" and value > 1):
            raise InvalidArgumentError(f"{name} = {value!r} is invalid", "expected 0..1" if name == "ratio" else "expected 0 or more")
    if is_flat(s) or t.size == 1 or budget >= t.size:
        return make_selection(t, s, uniform_indices(t, budget), "dense")
    step = float(np.median(np.diff(t)))  # the sampling step (t has 2+ frames here)
    found = find_moments(t, s, k=moments, scenes=_shots(t, scenes, step))
    baseline = float(np.median(s))
    heights = np.array([m.score - baseline for m in found])
    keep = [i for i in range(len(found)) if heights[i] > 0 and heights[i] >= ratio * heights[0]]
    if not keep:
        return make_selection(t, s, uniform_indices(t, budget), "dense")
    spans = [(found[i].start_s - step / 2, found[i].end_s + step / 2) for i in keep]
    spans = [(max(a, float(t[0])), min(b, float(t[-1]) + step)) for a, b in spans]  # stay on the timeline
    caps = np.array([max(1, int((b - a) / min_step_s)) if min_step_s > 0 else budget for a, b in spans])
    counts = _shares(heights[keep] ** sharpness, budget, caps)
    times: list[float] = []
    for (a, b), n in zip(spans, counts):
        times += list(a + (np.arange(n) + 0.5) * (b - a) / n) if n else []
    chosen = np.unique(np.round(np.asarray(times, dtype=np.float64), 6))
    if chosen.size < budget:  # budget the moments cannot hold: the best sampled frames, outside them first
        unused = np.flatnonzero(np.abs(t[:, None] - chosen[None, :]).min(axis=1) > 1e-6)
        outside = np.array([not any(a <= x <= b for a, b in spans) for x in t[unused]], dtype=bool)
        order = np.concatenate([rank_by_score(s, unused[outside]), rank_by_score(s, unused[~outside])])
        chosen = np.unique(np.concatenate([chosen, t[order[: budget - chosen.size]]]))
    return Selection(
        timestamps_s=tuple(float(x) for x in chosen),
        scores=tuple(float(x) for x in np.interp(chosen, t, s)),
        strategy="dense",
    )


def _shots(t: np.ndarray, scenes: Sequence[Scene] | np.ndarray | None, step: float) -> list[Scene] | None:
    """Shots as spans on the sampled timeline, the same whether given as ``Scene`` objects or as
    one scene id per frame: a shot runs from its first sampled frame to the next shot's first (the
    last one a sampling ``step`` past the last frame)."""
    if scenes is None or not len(scenes):
        return None
    labels = scene_labels(t, scenes)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = np.r_[starts[1:], t.size]
    return [Scene(k, float(t[a]), float(t[b]) if b < t.size else float(t[-1]) + step, int(a), int(b))
            for k, (a, b) in enumerate(zip(starts, ends))]
