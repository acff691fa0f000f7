"""``hybrid``: part of each frame's count goes to the tokens most similar to the query, the rest
to max-min diversity over the remaining tokens, seeded with the relevant ones (so the diverse
picks cover what the relevant ones do not).

A frame with count k reserves round(relevance_share * k) tokens (halves round up) for relevance.
Without a query this is exactly ``kcenter-frame`` (per-frame diversity, not the joint ``kcenter``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..merge import MergedFrame
from .base import Picked, SampleOptions, nothing, query_similarity, take, top_by_score
from .kcenter import greedy_kcenter, sample_kcenter_frame


def relevant_part(count: int, share: float) -> int:
    return min(count, math.floor(share * count + 0.5))


def sample_hybrid(frames: Sequence[MergedFrame], counts: Sequence[int], options: SampleOptions) -> list[Picked]:
    if options.query is None:
        return sample_kcenter_frame(frames, counts, options)
    wanted = [t for t, count in enumerate(counts) if count > 0]
    seeds = []
    for t in wanted:
        scores = query_similarity(frames[t], options.query, f"grids[{t}]")
        seeds.append(top_by_score(scores, relevant_part(counts[t], options.relevance_share)))
    local = greedy_kcenter(
        [frames[t].features for t in wanted], [counts[t] for t in wanted], seeds, options.sketch_dim,
        [f"grids[{t}]" for t in wanted],
    )
    picked = [nothing(f) for f in frames]
    for t, idx in zip(wanted, local):
        picked[t] = take(frames[t], idx)
    return picked
