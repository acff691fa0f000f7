"""``uniform``: evenly spaced frames over the time range, blind to the question.

The reference every query-aware strategy is measured against. Scores are only carried along so
the :class:`~longvid.types.Selection` says how relevant the chosen frames happened to be.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import Scene, Selection
from ._common import check_inputs, make_selection, uniform_indices


def select_uniform(
    timestamps_s: Sequence[float] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    budget: int,
    scenes: Sequence[Scene] | np.ndarray | None = None,
) -> Selection:
    """``budget`` frames nearest to the centres of ``budget`` equal time bins (all frames if fewer).

    Frames need not be evenly spaced (keyframes, refined samples): each bin centre takes the
    nearest frame not already taken. ``scenes`` is accepted for a uniform signature and ignored.
    """
    t, s, budget = check_inputs(timestamps_s, scores, budget)
    return make_selection(t, s, uniform_indices(t, budget), "uniform")
