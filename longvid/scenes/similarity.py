"""Scene splitting when only sampled frames (or their embeddings) exist, e.g. keyframe mode:
a cut wherever the cosine similarity of consecutive embeddings drops.

Two rules: ``method="threshold"`` cuts where similarity < ``threshold``; ``method="adaptive"``
(dynamic segmentation in the spirit of FastVID/HoliTom) cuts where the drop 1 - sim is an outlier,
at least ``ratio`` times the mean drop of its neighbours and at least ``min_drop``, so that slow
drifts do not cut but a change of shot does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene
from .base import scenes_from_cuts


def consecutive_similarity(embeddings: np.ndarray) -> np.ndarray:
    """cos(e[i], e[i+1]) for i in 0..n-2 (embeddings need not be normalised)."""
    e = np.asarray(embeddings, dtype=np.float32)
    if e.ndim != 2:
        raise InvalidArgumentError(f"embeddings shape {e.shape} is invalid", "give a 2-D array (frames x dims)")
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    e = e / np.maximum(norms, 1e-12)
    return np.einsum("ij,ij->i", e[:-1], e[1:])


def similarity_cuts(
    embeddings: np.ndarray,
    times_s: Sequence[float] | None = None,
    *,
    method: str = "threshold",
    threshold: float = 0.85,
    ratio: float = 3.0,
    window: int = 2,
    min_drop: float = 0.05,
    min_scene_s: float = 0.0,
) -> list[int]:
    """Positions i (1..n-1) where a new scene starts at sample i."""
    sims = consecutive_similarity(embeddings)
    n = len(sims) + 1
    if times_s is not None and len(times_s) != n:
        raise InvalidArgumentError(f"times_s has {len(times_s)} values for {n} embeddings", "give one time per embedding")
    if method == "threshold":
        if not -1.0 <= threshold <= 1.0:
            raise InvalidArgumentError(f"threshold = {threshold!r} is invalid", "give a cosine similarity in [-1, 1]")
        candidates = [i + 1 for i in np.flatnonzero(sims < threshold)]
    elif method == "adaptive":
        drop = 1.0 - sims
        candidates = []
        for i, d in enumerate(drop):
            lo, hi = max(0, i - window), min(len(drop), i + window + 1)
            neighbours = np.concatenate([drop[lo:i], drop[i + 1 : hi]])
            base = float(neighbours.mean()) if len(neighbours) else 0.0
            if d >= min_drop and (base <= 1e-6 or d / base >= ratio):
                candidates.append(i + 1)
    else:
        raise InvalidArgumentError(f"method = {method!r} is invalid", "choose 'threshold' or 'adaptive'")
    if min_scene_s <= 0 or times_s is None:
        return candidates
    cuts, last_t = [], float(times_s[0])
    for i in candidates:
        if float(times_s[i]) - last_t >= min_scene_s:
            cuts.append(i)
            last_t = float(times_s[i])
    return cuts


def scenes_from_embeddings(
    embeddings: np.ndarray,
    times_s: Sequence[float],
    frame_indices: Sequence[int],
    *,
    end_s: float,
    end_frame: int,
    **options,
) -> list[Scene]:
    """Scenes over the whole video from sampled frames' embeddings (see ``similarity_cuts``).

    A scene starts at the sample after the drop; ``end_s`` / ``end_frame`` close the last one
    (``VideoInfo.end_s`` and ``VideoInfo.frame_count``).
    """
    if len(times_s) == 0:
        return []
    cuts = similarity_cuts(embeddings, times_s, **options)
    return scenes_from_cuts(
        [(int(frame_indices[i]), float(times_s[i])) for i in cuts],
        start_frame=0 if frame_indices[0] <= 0 else int(frame_indices[0]),
        start_s=float(times_s[0]),
        end_frame=end_frame,
        end_s=end_s,
    )
