"""Which search runs on a video that is not indexed: the published T* or longvid's coverage search.

    from longvid.search.cold import COLD_SEARCHES, cold_search, final_strategy
    result = cold_search("tstar", duration_s, score_at, 8, start_s=..., grid_s=...)

* ``tstar``: the published T* update (:mod:`.tstar`); its own final draw picks the frames.
* ``tstar-coverage``: longvid's coverage-first coarse-to-fine search (:mod:`.tstar_coverage`),
  then ``topk`` over the frames it scored.
* any selection strategy (``topk``, ``bolt``, ...): :data:`DEFAULT_COLD_SEARCH` finds the frames,
  then that strategy selects among them.

The default is ``tstar-coverage``, by measurement (``benchmarks/haystack.py --videos 6
--max-minutes 15``: generated needle videos, tiny CLIP): F1@8 0.81 with 24 % of a 1 fps index
(full-index topk 0.96), where the published T* verified a look-alike in its first 16 frames on
every video (F1 0.00); with raw cosines it never verifies, scores 99 % of the frames and reaches
0.27. README, "Cold searches", has the table and the reasons.
"""

from __future__ import annotations

from typing import Any

COLD_SEARCHES = ("tstar", "tstar-coverage")
DEFAULT_COLD_SEARCH = "tstar-coverage"


def final_strategy(strategy: str) -> str:
    """The selection strategy over scored frames: ``topk`` after a cold search name, else itself."""
    return "topk" if strategy in COLD_SEARCHES else strategy


def cold_search(
    duration_s: float,
    score_at: Any,
    budget: int,
    *,
    strategy: str,
    start_s: float = 0.0,
    initial_times_s: Any = None,
    known_times_s: Any = None,
    known_scores: Any = None,
    grid_s: float = 1.0,
    smooth_s: float = 0.0,
    smooth: str = "mean",
    seed: int = 0,
) -> Any:
    """Run the cold search ``strategy`` names (see the module docstring); its result has
    ``visited_times_s``, ``visited_scores``, ``selection``, ``evaluations`` and ``from_store``."""
    search = strategy if strategy in COLD_SEARCHES else DEFAULT_COLD_SEARCH
    if search == "tstar":
        from .tstar import tstar_search

        # T* keeps to its own 1 fps grid and first look; the keyframes and the grid step are
        # longvid's, so they are not passed.
        return tstar_search(duration_s, score_at, budget, start_s=start_s, known_times_s=known_times_s,
                            known_scores=known_scores, seed=seed)
    from .tstar_coverage import coverage_search

    return coverage_search(
        duration_s, score_at, budget, start_s=start_s, initial_times_s=initial_times_s, known_times_s=known_times_s,
        known_scores=known_scores, grid_s=grid_s, strategy=final_strategy(strategy), smooth_s=smooth_s, smooth=smooth,
        seed=seed,
    )
