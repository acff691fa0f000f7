"""What the store holds for one video: how completely it is indexed (the one definition of
"indexed", used by ``ask``, ``search``, ``store info`` and their JSON) and how clearly the stored
frames of a best moment match a question.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import Match, Moment


def index_state(store: Any, video_id: int | None, model_id: str, settings: dict[str, Any] | None = None) -> str:
    """The one definition of "indexed" (``ask``, ``search``, ``store info`` and their JSON use it).

    "indexed": an index pass with ``settings`` (the configured fps, mode, frame size and scene
    detector, ``longvid.indexing.index_settings``; None: any settings) stored every frame it samples, so a
    search over the stored frames covers the whole video. "partial": frames of this model are
    stored, but only a cold question's (T*) sparse ones, refinements, or a pass with other
    settings. "none": no frame of this model."""
    from .store import settings_key

    if video_id is None:
        return "none"
    if settings is None:
        passes = [r for r in store.runs(video_id, model_id) if r.kind == "index"]
    else:
        passes = [store.find_run(video_id, model_id, settings_key(settings))]
    if any(r is not None for r in passes):
        return "indexed"
    return "partial" if store.has_embeddings(video_id, model_id) else "none"


def index_summary(store: Any, video_id: int) -> list[dict[str, Any]]:
    """Per model of a stored video: its :func:`index_state`, stored frames and each index pass's
    fps and mode (what ``longvid store info`` shows)."""
    out = []
    for model_id in store.indexed_models(video_id):
        passes = [r.settings for r in store.runs(video_id, model_id) if r.kind == "index"]
        out.append({
            "model_id": model_id, "state": index_state(store, video_id, model_id),
            "frames": len(store.frames(video_id, model_id)),
            "passes": [f"{_number(p.get('fps'))} fps {p.get('mode', '?')}" for p in passes],
        })
    return out


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def best_match(
    store: Any, encoder: Any, video_id: int, moments: list[Moment], text_vectors: np.ndarray, threshold: float, within_s: float = 0.0
) -> Match | None:
    """How clearly the best moment matches: ``judge_match`` over its stored frames.

    ``within_s``: a cold search (T*) scores a grid time with a frame up to half a step away, so
    frames that close to the moment's ends count as its own."""
    if not moments:
        return None
    from .search.scoring import NULL_CAPTIONS, judge_match

    best = moments[0]
    frames, vectors = store.vectors(video_id, encoder.model_id)
    inside = np.flatnonzero((frames.pts_s >= best.start_s - within_s) & (frames.pts_s < best.end_s + within_s))
    if not inside.size:  # a moment always holds its peak; guard against a frame stored off it
        inside = np.array([int(np.argmin(np.abs(frames.pts_s - best.peak_s)))])
    nulls = store.text_vectors(encoder, list(NULL_CAPTIONS))
    return judge_match(vectors[inside], frames.pts_s[inside], text_vectors, nulls, threshold)
