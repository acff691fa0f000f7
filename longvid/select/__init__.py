"""Frame selection under a frame budget: plain functions over (timestamps, scores, budget, scenes).

    from longvid.select import select_frames
    sel = select_frames(times_s, scores, budget=16, strategy="topk")
    sel.timestamps_s, sel.scores          # sorted, unique, min(budget, frames) of them

Every strategy has the signature ``fn(timestamps_s, scores, budget, scenes=None, **options)`` and
returns a :class:`longvid.types.Selection`. Built-in strategies (one module per method):

==  ===================================================================================
uniform    evenly spaced over the time range (question-blind reference)
topk       best scores with temporal non-maximum suppression, refilled to the budget
bolt       inverse transform sampling of min-max-normalised scores raised to a power
aks        recursive split of the timeline: relevance where top scores stand out, else coverage
scene      picks spread across shots in proportion to relevance × length, best frames inside
dense      the budget spread evenly over the best few moments (questions about what happens)
=========  ===================================================================================
=======
==========  ==================================================================================
uniform     evenly spaced over the time range (question-blind reference)
topk        best scores with temporal non-maximum suppression, refilled to the budget
bolt        BOLT as published: inverse transform sampling of min-max-normalised scores ** power
aks         AKS as published: judge-and-split on normalised scores, top-n of the full budget
aks-z       longvid's AKS: robust z-score rule, shares that follow the split, budget always met
scene       picks spread across shots in proportion to relevance × length, best frames inside
dense       longvid's: the budget spread evenly over the best few moments (what happens in them)
==========  ==================================================================================

The published methods (``bolt``, ``aks``) return what the authors' code returns, which can be
fewer frames than the budget (see their modules); every other strategy returns exactly
``min(budget, frames)``.

Register your own with ``STRATEGIES.register("name", fn)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from ..errors import InvalidArgumentError
from ..registry import Registry
from ..types import Scene, Selection

StrategyFn = Callable[..., Selection]

STRATEGIES: Registry[StrategyFn] = Registry("selection strategy")
STRATEGIES.register("uniform", "longvid.select.uniform:select_uniform")
STRATEGIES.register("topk", "longvid.select.topk:select_topk")
STRATEGIES.register("bolt", "longvid.select.bolt:select_bolt")
STRATEGIES.register("aks", "longvid.select.aks:select_aks")
STRATEGIES.register("aks-z", "longvid.select.aks:select_aks_z")
STRATEGIES.register("scene", "longvid.select.scene:select_scene")
STRATEGIES.register("dense", "longvid.select.dense:select_dense")

_FIXED = ("timestamps_s", "scores", "budget", "scenes")


def strategy_options(strategy: str) -> dict[str, Any]:
    """The options a strategy takes beyond the fixed arguments, with their defaults."""
    fn = STRATEGIES.get(strategy)
    params = inspect.signature(fn).parameters
    return {name: p.default for name, p in params.items() if name not in _FIXED}


def select_frames(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    strategy: str = "bolt",
    scenes: Sequence[Scene] | Sequence[int] | np.ndarray | None = None,
    smooth_s: float = 0.0,
    smooth: str = "mean",
    **options: Any,
) -> Selection:
    """Choose ``min(budget, len(timestamps_s))`` frames with the named strategy (at most that
    many for the published ``bolt`` and ``aks``).

    ``smooth_s`` > 0 first spreads the scores over time with a Gaussian of that many seconds
    (:func:`longvid.search.scoring.smooth_scores`; ``smooth`` = ``"mean"``, a weighted average,
    or ``"max"``, a weighted max that keeps every peak's height), so frames next to a short
    relevant moment inherit some of its relevance; the selection then reports the smoothed scores
    it used. On short answer moments this lifts temporal F1 a lot (see ``longvid.eval.haystack``
    and ``benchmarks/haystack.py``: on generated needle videos ``"max"`` keeps the short needle
    ahead of longer, weaker look-alikes where ``"mean"`` lets them win).
    ``options`` go to the strategy (e.g. ``min_gap_s`` for topk, ``power`` for bolt); an option the
    strategy does not take is refused up front with the list of those it does.
    """
    fn = STRATEGIES.get(strategy)
    known = strategy_options(strategy)
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) or "no options"
        raise InvalidArgumentError(f"strategy {strategy!r} has no option {unknown[0]!r}", f"it takes: {takes}")
    if smooth_s:
        from ..search.scoring import smooth_scores
        from ._common import check_inputs

        t, s, _ = check_inputs(timestamps_s, scores, budget)
        timestamps_s, scores = t, smooth_scores(t, s, smooth_s, smooth)
    return fn(timestamps_s, scores, budget, scenes=scenes, **options)


__all__ = ["STRATEGIES", "select_frames", "strategy_options"]
