"""Archive-wide search: the moments that match a query across every indexed video (or the videos
under one folder), best first, each a (video, time span, score).

    found = search_archive("~/archive", "a dog jumping into a lake", k=5, config=config)
    for m in found.moments:
        m.video, m.start_s, m.end_s, m.score

How: the query's text embedding goes to the store's archive search (the recipe index plus an
exact scan of what it does not cover yet, ``Store.search_archive``), which ranks frames. The
first ``k`` distinct videos among them are the candidates; each candidate's stored frames are
scored exactly and merged into moments (``longvid.search.moments.find_moments``, scene-aware),
so a result is a time span, not a lone frame, and hits close in time in one video become one
moment. Moments are ranked by their peak score. ``k`` videos suffice: a video's best moment is
its best frame, so every moment of the (k+1)-th video scores at most the k-th video's best
moment, which is in the list already.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PipelineConfig
from ..errors import InvalidArgumentError, NotIndexedError
from ..types import Moment, _ToDict



@dataclass
class ArchiveSearchResult(_ToDict):
    query: str
    texts: list[str]  # what was embedded (the query, or a question's phrases)
    model_id: str
    scope: str  # "store" or the folder searched
    store: str
    moments: list[Moment]  # best first; each names its video
    videos_in_scope: int
    candidates: int  # videos scored frame by frame
    index: str  # the archive index that answered: a recipe name or "exact"
    vectors_indexed: int
    vectors_exact: int
    seconds: float
    query_s: float  # text embedding + search + moments (what a repeated query costs)
    video_ids: list[int] = field(default_factory=list)  # moment by moment


@dataclass(frozen=True)
class Scope:
    store: Path
    folder: str | None  # None: the whole store


def resolve_scope(target: str | os.PathLike | None, config: PipelineConfig) -> Scope:
    """A store folder (it holds store.sqlite3) or nothing -> the whole store; any other folder
    -> the videos under it, in the store of ``config``."""
    from ..store import DB_NAME, path_key

    configured = config.store.resolved_path()
    if target is None:
        return Scope(configured, None)
    key = path_key(target)
    if not os.path.isdir(key):
        raise InvalidArgumentError(f"{target} is not a folder", "give a folder of videos or a store folder")
    if os.path.isfile(os.path.join(key, DB_NAME)):
        if config.store.path and path_key(configured) != key:
            raise InvalidArgumentError(f"{target} is a store, and --store names another ({configured})", "give the store once")
        return Scope(Path(key), None)
    return Scope(configured, key)


def search_archive(
    target: str | os.PathLike | None,
    query: str,
    *,
    k: int = 5,
    config: PipelineConfig | None = None,
    store: Any = None,
    encoder: Any = None,
    texts: list[str] | None = None,
) -> ArchiveSearchResult:
    """The ``k`` best moments for ``query`` across the archive (see the module docstring).

    ``texts``: embed these instead of the query (e.g. a question's phrases; their mean vector is
    searched, which ranks frames by their mean score over the phrases).
    """
    from ..indexing import _encoder_for, check_query
    from ..store import Store

    query = check_query(query)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidArgumentError(f"k = {k!r} is invalid", "ask for at least 1 moment")
    config = config or PipelineConfig()
    started = time.perf_counter()
    scope = resolve_scope(target, config)
    own = store is None
    if own:
        if not (scope.store / "store.sqlite3").is_file():
            raise NotIndexedError(f"there is no store at {scope.store}", "index a folder first: `longvid index DIR --store ...`")
        store = Store.open(scope.store)
    try:
        encoder = _encoder_for(config, encoder)
        if store.model_dim(encoder.model_id) is None:
            raise NotIndexedError(
                f"no video in {store.root} is indexed with model {encoder.model_id}",
                "index the folder with this model first (`longvid index DIR --model ...`), or search with the model it was indexed with",
            )
        where = None if scope.folder is None else store.videos_under(scope.folder)
        if where is not None and not where:
            raise NotIndexedError(f"no video under {scope.folder} is indexed in {store.root}", f"run `longvid index {scope.folder}` first")
        query_started = time.perf_counter()
        texts = [check_query(t) for t in texts] if texts else [query]
        vector = store.text_vectors(encoder, texts).mean(axis=0, keepdims=True)
        in_scope = len(where) if where is not None else store._query(
            "SELECT COUNT(DISTINCT video_id) FROM segments s JOIN models m ON m.id = s.model WHERE m.model_id = ?", (encoder.model_id,)
        )[0][0]
        fetch = max(10 * k, 100)
        while True:  # frames until k distinct videos (or the whole scope) are among them
            found = store.search_archive(encoder.model_id, vector, k=fetch, video_ids=None if where is None else list(where))
            candidates = list(dict.fromkeys(hit.video_id for hit in found.hits[0]))
            if len(candidates) >= k or len(found.hits[0]) < fetch:
                break
            fetch *= 4
        candidates = candidates[:k]
        moments = []
        for video_id in candidates:
            moments += _video_moments(store, video_id, encoder.model_id, vector, k, where)
        moments.sort(key=lambda pair: -pair[1].score)
        moments = moments[:k]
        return ArchiveSearchResult(
            query=query, texts=texts, model_id=encoder.model_id, scope=scope.folder or "store", store=str(store.root),
            moments=[m for _, m in moments], videos_in_scope=int(in_scope), candidates=len(candidates),
            index=found.recipe, vectors_indexed=found.indexed, vectors_exact=found.exact,
            seconds=time.perf_counter() - started, query_s=time.perf_counter() - query_started,
            video_ids=[v for v, _ in moments],
        )
    finally:
        if own:
            store.close()


def _video_moments(store, video_id: int, model_id: str, vector: np.ndarray, k: int, where) -> list[tuple[int, Moment]]:
    import dataclasses

    from ..search.moments import find_moments

    video = store.get_video(video_id)
    frames, scores = store.scores(video_id, model_id, vector)
    scenes = store.scenes(video_id, model_id)
    end_s = None if video.duration_s is None else (video.start_s or 0.0) + video.duration_s
    found = find_moments(frames.pts_s, scores[0], k=k, scenes=scenes or None, scene_ids=None if scenes else frames.scene_index, end_s=end_s)
    path = (where or {}).get(video_id) or (video.paths[0] if video.paths else video.fingerprint)
    return [(video_id, dataclasses.replace(m, video=path)) for m in found]


def best_video(target, question: str, *, config: PipelineConfig | None = None, store: Any = None, encoder: Any = None):
    """The video of the archive that matches ``question`` best (archive search on its phrases).

    Returns (path, ArchiveSearchResult); the path is the best moment's video that still exists."""
    from ..search.decouple import decouple_question

    phrases = [p for p in decouple_question(question).phrases if p.strip()] or [question]
    found = search_archive(target, question, k=10, config=config, store=store, encoder=encoder, texts=phrases)
    for moment in found.moments:
        if moment.video and os.path.isfile(moment.video):
            return moment.video, found
    raise NotIndexedError(
        f"no indexed video that still exists matches {question!r}" if found.moments else "the archive holds no indexed video",
        "index the folder first (`longvid index DIR`)",
    )
