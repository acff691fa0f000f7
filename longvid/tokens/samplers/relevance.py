"""``relevance``: per frame, the tokens most similar (cosine) to the query embedding."""

from __future__ import annotations

from collections.abc import Sequence

from ...errors import InvalidArgumentError
from ..merge import MergedFrame
from .base import Picked, SampleOptions, nothing, query_similarity, take, top_by_score


def require_query(options: SampleOptions, method: str):
    if options.query is None:
        raise InvalidArgumentError(
            f"method {method!r} needs a query embedding but query is None",
            "pass query=<(D,) tensor in the tokens' space>, or use method 'kcenter' or 'pool'",
        )
    return options.query


def sample_relevance(frames: Sequence[MergedFrame], counts: Sequence[int], options: SampleOptions) -> list[Picked]:
    query = require_query(options, "relevance")
    picked = []
    for t, (frame, count) in enumerate(zip(frames, counts)):
        if not count:
            picked.append(nothing(frame))
            continue
        scores = query_similarity(frame, query, f"grids[{t}]")
        picked.append(take(frame, top_by_score(scores, count)))
    return picked
