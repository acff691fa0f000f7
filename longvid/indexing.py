"""The index pipeline: one decode pass feeds scene detection and the encoder; vectors go to the store.

    result = index_video("talk.mp4", PipelineConfig.from_preset("tiny"))
    found = search_video("talk.mp4", "a whiteboard full of equations", k=5)

Decoding runs in a background thread that fills a bounded queue; the calling thread encodes
batches from it. Whichever is slower sets the pace and the other waits on the queue, so a pass
costs about max(decode, encode), not their sum. Nothing is written until the pass has finished:
the run is stored in one transaction, so a failed or killed run leaves the store as it was.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import PipelineConfig
from .errors import InvalidArgumentError, NotIndexedError
from .types import Match, Moment, Scene, _ToDict

MAX_QUERY_CHARS = 10_000
_DONE = object()


@dataclass
class IndexResult(_ToDict):
    video: str
    video_id: int
    fingerprint: str
    model_id: str
    noop: bool  # an identical run was stored already: nothing decoded or written
    frames_added: int
    frames_total: int  # stored for this video and model after the run
    frames_decoded: int
    scenes: int
    seconds: float
    settings: dict[str, Any] = field(default_factory=dict)
    store: str = ""


@dataclass
class SearchResult(_ToDict):
    video: str
    query: str
    model_id: str
    moments: list[Moment]
    frames_searched: int
    indexed_now: bool  # the video had to be indexed first (or its missing frames added)
    by_remembered_path: bool  # the file could not be read; found by the path it was indexed under
    seconds: float  # everything, model loading and any indexing included
    query_s: float  # text embedding + scoring + moments (what a repeated question costs)
    index: IndexResult | None = None
    index_state: str = "indexed"  # what was searched: "indexed", or "partial" (longvid.coverage.index_state)
    match: Match | None = None  # how clearly the best moment matches the query


def index_settings(config: PipelineConfig, size: int) -> dict[str, Any]:
    """What decides which frames a run stores; equal settings = same run (re-indexing is a no-op)."""
    d, s = config.decode, config.scenes
    return {
        "fps": d.fps,
        "mode": d.mode,
        "size": size,
        "scenes": None if d.mode == "keyframes" else {"detector": s.detector, "threshold": s.threshold, "min_scene_len": s.min_scene_len},
    }


def decode_size(config: PipelineConfig, encoder: Any) -> int:
    """Decode no larger than the encoder's input: its own resize then has (almost) nothing to do."""
    wanted = getattr(encoder, "image_size", None)
    if wanted:
        return max(16, min(config.decode.size, max(wanted)))
    return config.decode.size


def _encoder_for(config: PipelineConfig, encoder: Any):
    if encoder is not None:
        from .embed import check_encoder

        return check_encoder(encoder)
    from .embed import load_encoder

    e = config.embed
    return load_encoder(e.model, device=e.device, batch_size=e.batch_size, threads=e.threads)


def index_video(
    path: str | Path,
    config: PipelineConfig | None = None,
    *,
    store: Any = None,
    encoder: Any = None,
    progress: bool | None = False,
) -> IndexResult:
    """Index one video (no-op when this file, model and settings are stored already)."""
    from .store import Store, fingerprint_file, settings_key

    config = config or PipelineConfig()
    started = time.perf_counter()
    own_store = store is None
    store = store or Store.open(config.store.path)
    try:
        fp = fingerprint_file(path)  # typed error for a missing/unreadable file, before any loading
        encoder = _encoder_for(config, encoder)
        size = decode_size(config, encoder)
        settings = index_settings(config, size)
        video = store.find_video(fp)
        if video is not None and store.find_run(video.id, encoder.model_id, settings_key(settings)):
            store.remember_path(video.id, path, fp)  # a renamed copy: remember its new name
            return _result(store, path, video.id, fp, encoder, settings, noop=True, added=0, decoded=0, started=started)
        frames, vectors, scenes, info, decoded = _decode_and_encode(path, config, encoder, size, progress)
        run = store_pass(store, path, fp, encoder.model_id, config, settings, frames, vectors, scenes, info, decoded, started)
        return _result(store, path, run.video_id, fp, encoder, settings, noop=run.noop, added=run.frames_added,
                       decoded=decoded, started=started, scenes=len(scenes))
    finally:
        if own_store:
            store.close()


def store_pass(store, path, fp, model_id: str, config: PipelineConfig, settings, rows, vectors, scenes, info, decoded: int, started: float):
    """Store one index pass (rows of (pts_s, index, source) with their vectors) in one transaction.

    Shared by ``index_video`` and engines that decode and encode elsewhere (``longvid.archive``)."""
    return store.add_run(
        fingerprint=fp,
        path=path,
        model_id=model_id,
        vectors=vectors,
        pts_s=[r[0] for r in rows],
        frame_index=[r[1] for r in rows],
        source=[r[2] for r in rows],
        settings=settings,
        scenes=scenes,
        scene_source="detector" if config.decode.mode == "exact" else "embeddings",
        video_info=info,
        frames_decoded=decoded,
        seconds=time.perf_counter() - started,
    )


def add_frames(
    path: str | Path,
    times_s: Any,
    config: PipelineConfig | None = None,
    *,
    store: Any = None,
    encoder: Any = None,
) -> IndexResult:
    """Embed the frames on screen at ``times_s`` and add them to the video's stored frames
    (finer sampling around interesting moments). Stored frames are left as they are; frames
    already stored for this model are skipped."""
    from .decode import open_video
    from .store import Store, fingerprint_file

    times = sorted({float(t) for t in np.asarray(times_s, dtype=np.float64).reshape(-1)})
    if not times or not np.isfinite(times).all():
        raise InvalidArgumentError(f"times_s = {times_s!r} is invalid", "give one or more finite times in seconds")
    config = config or PipelineConfig()
    started = time.perf_counter()
    own_store = store is None
    store = store or Store.open(config.store.path)
    try:
        fp = fingerprint_file(path)
        encoder = _encoder_for(config, encoder)
        size = decode_size(config, encoder)
        with open_video(path, backend=config.decode.backend, threads=config.decode.threads) as reader:
            frames = {f.index: f for f in reader.frames_at(times, size=size)}  # one per picture
            info, decoded = reader.info, reader.frames_decoded
        picked = sorted(frames.values(), key=lambda f: f.pts_s)
        vectors = encoder.encode_images([f.image for f in picked])
        settings = {"refine": times, "size": size}
        run = store.add_run(
            fingerprint=fp, path=path, model_id=encoder.model_id, vectors=vectors,
            pts_s=[f.pts_s for f in picked], frame_index=[f.index for f in picked], source="refined",
            settings=settings, kind="refine", video_info=info, frames_decoded=decoded,
            seconds=time.perf_counter() - started,
        )
        return _result(store, path, run.video_id, fp, encoder, settings, noop=False, added=run.frames_added,
                       decoded=decoded, started=started)
    finally:
        if own_store:
            store.close()


def _result(store, path, video_id, fp, encoder, settings, *, noop, added, decoded, started, scenes=None) -> IndexResult:
    total = len(store.frames(video_id, encoder.model_id))
    if scenes is None:
        scenes = len(store.scenes(video_id, encoder.model_id))
    return IndexResult(
        video=str(path), video_id=video_id, fingerprint=fp.digest, model_id=encoder.model_id, noop=noop,
        frames_added=added, frames_total=total, frames_decoded=decoded, scenes=scenes,
        seconds=time.perf_counter() - started, settings=settings, store=str(store.root),
    )


def _decode_and_encode(path, config: PipelineConfig, encoder, size: int, progress: bool | None):
    """The one pass. Returns ([(pts_s, index, source)], vectors, scenes, VideoInfo, frames decoded)."""
    from .decode import open_video
    from .progress import progress_bar

    d = config.decode
    batch_size = getattr(encoder, "batch_size", config.embed.batch_size)
    with open_video(path, backend=d.backend, threads=d.threads) as reader:
        info = reader.info
        detector = _detector_for(config.scenes) if d.mode == "exact" else None
        frames_iter = reader.iter_frames(fps=d.fps, size=size, mode=d.mode, observer=detector)
        pending: queue.Queue = queue.Queue(maxsize=2 * batch_size)
        stop = threading.Event()

        def produce() -> None:
            try:
                for frame in frames_iter:
                    while not stop.is_set():
                        try:
                            pending.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                pending.put(_DONE)
            except BaseException as exc:  # handed to the encoding thread, raised there
                pending.put(exc)
            finally:
                frames_iter.close()

        producer = threading.Thread(target=produce, name="longvid-decode", daemon=True)
        rows: list[tuple[float, int, str]] = []
        parts: list[np.ndarray] = []
        name = Path(path).name
        with progress_bar(f"indexing {name}", total=info.duration_s or None, unit="s", enabled=progress) as bar:
            producer.start()
            try:
                batch: list = []
                while True:
                    item = pending.get()
                    if isinstance(item, BaseException):
                        raise item
                    if item is not _DONE:
                        batch.append(item)
                    if batch and (len(batch) >= batch_size or item is _DONE):
                        parts.append(np.asarray(encoder.encode_images([f.image for f in batch]), np.float32))
                        rows += [(f.pts_s, f.index, f.source) for f in batch]
                        bar.update(completed=batch[-1].pts_s - info.start_s, frames=len(rows))
                        batch = []
                    if item is _DONE:
                        break
            finally:
                stop.set()
                producer.join()
            bar.update(completed=info.duration_s or 0, frames=len(rows))
        decoded = reader.frames_decoded
    if not rows:
        raise no_frames_error(path)
    vectors = np.concatenate(parts)
    return rows, vectors, pass_scenes(config, detector, info, rows, vectors), info, decoded


def no_frames_error(path) -> InvalidArgumentError:
    return InvalidArgumentError(f"{path}: no frames were decoded", "check the file with `longvid info`")


def pass_scenes(config: PipelineConfig, detector: Any, info: Any, rows, vectors: np.ndarray) -> list[Scene]:
    """The scenes of a finished pass: from the shot detector that watched it (exact mode), else
    from where the sampled frames' embeddings change (keyframe mode)."""
    if detector is not None:
        return _scenes_from_detector(detector, info)
    times = np.array([r[0] for r in rows])
    return _scenes_from_vectors(times, np.array([r[1] for r in rows]), vectors, info, config.scenes)


def scene_detector(config: PipelineConfig) -> Any:
    """The shot detector an exact-mode pass feeds every decoded frame to (None in keyframe mode)."""
    return _detector_for(config.scenes) if config.decode.mode == "exact" else None


# --- scenes (longvid.scenes does the detecting; these adapt its API to the pass above) ----------


def _detector_for(scene_config) -> Any:
    if scene_config.detector == "none":
        return None
    from .scenes import make_detector

    return make_detector(scene_config.detector, scene_config.threshold, scene_config.min_scene_len)


def _scenes_from_detector(detector: Any, info: Any) -> list[Scene]:
    # The last frame is shown until the end of the video; a container's frame count may be short.
    return detector.scenes(end_s=max(info.end_s, detector.end_s() or 0.0), end_frame=max(info.frame_count, detector.frames_seen))


def _scenes_from_vectors(times, indices, vectors, info, scene_config) -> list[Scene]:
    """Keyframe mode decodes too little for a shot detector: cut where embeddings change."""
    if scene_config.detector == "none":
        return []
    from .scenes import scenes_from_embeddings

    end_frame = max(info.frame_count, int(indices[-1]) + 1)
    return scenes_from_embeddings(vectors, times, indices, end_s=max(info.end_s, float(times[-1])), end_frame=end_frame)


# --- search from the store ----------------------------------------------------------------------


def check_query(query: Any) -> str:
    """The query with whitespace tidied; refuses empty and over-long (> 10,000 characters) text."""
    if not isinstance(query, str):
        raise InvalidArgumentError(f"query must be text, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidArgumentError(
            f"the query is {len(query):,} characters long (limit {MAX_QUERY_CHARS:,})", "shorten it to a sentence or two"
        )
    text = " ".join(query.split())
    if not text:
        raise InvalidArgumentError("the query is empty", 'say what to look for, e.g. "a dog jumping into a lake"')
    return text


def search_video(
    path: str | Path,
    query: str,
    *,
    k: int = 5,
    config: PipelineConfig | None = None,
    store: Any = None,
    encoder: Any = None,
    progress: bool | None = False,
    notify: Callable[[str], None] | None = None,
) -> SearchResult:
    """Moments of a video that match ``query``, from stored embeddings (the video is not decoded).

    A video not indexed yet with this model is indexed first (``notify`` gets a line saying so).
    A file that cannot be read any more is found by the path it was indexed under.
    """
    from .search.moments import find_moments
    from .store import Store

    text = check_query(query)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise InvalidArgumentError(f"k = {k!r} is invalid", "ask for at least 1 moment")
    config = config or PipelineConfig()
    started = time.perf_counter()
    own_store = store is None
    store = store or Store.open(config.store.path)
    try:
        encoder = _encoder_for(config, encoder)
        video, fp = store.video_for_path(path)
        from .coverage import best_match, index_state

        settings = index_settings(config, decode_size(config, encoder))
        state = index_state(store, None if video is None else video.id, encoder.model_id, settings)
        indexed = None
        if state == "none" and fp is None:
            others = [] if video is None else store.indexed_models(video.id)
            raise NotIndexedError(
                f"{path} cannot be read and has no embeddings for model {encoder.model_id!r}"
                + (f" (it is indexed with {', '.join(others)})" if others else ""),
                "search with the model it was indexed with, or make the file readable to index it",
            )
        if state != "indexed" and fp is not None:
            if notify:
                stored = len(store.frames(video.id, encoder.model_id)) if state == "partial" else 0
                notify(
                    f"{path} is only partly indexed with {encoder.model_id} ({stored} frames stored, not every frame at "
                    f"{config.decode.fps:g} fps {config.decode.mode}): indexing the rest first"
                    if stored else f"{path} is not indexed with {encoder.model_id} yet: indexing it first"
                )
            indexed = index_video(path, config, store=store, encoder=encoder, progress=progress)
            video, state = store.get_video(indexed.video_id), "indexed"
        elif fp is None and notify:
            if state == "indexed":
                notify(f"{path} cannot be read; using the index stored for that path (fingerprint {video.fingerprint})")
            else:
                notify(
                    f"{path} cannot be read; using the {len(store.frames(video.id, encoder.model_id))} frames stored for that "
                    f"path (fingerprint {video.fingerprint}), only partly indexed (not every frame at {config.decode.fps:g} fps "
                    f"{config.decode.mode}): the moments may miss parts of the video"
                )
        query_started = time.perf_counter()
        query_vectors = store.text_vectors(encoder, [text])
        frames, scores = store.scores(video.id, encoder.model_id, query_vectors)
        scenes = store.scenes(video.id, encoder.model_id)
        end_s = None if video.duration_s is None else (video.start_s or 0.0) + video.duration_s
        moments = find_moments(
            frames.pts_s, scores[0], k=k, scenes=scenes or None, scene_ids=None if scenes else frames.scene_index, end_s=end_s
        )
        match = best_match(store, encoder, video.id, moments, query_vectors, config.search.match_z)
        return SearchResult(
            video=str(path), query=text, model_id=encoder.model_id, moments=moments, frames_searched=len(frames),
            indexed_now=indexed is not None, by_remembered_path=fp is None,
            seconds=time.perf_counter() - started, query_s=time.perf_counter() - query_started, index=indexed,
            index_state=state, match=match,
        )
    finally:
        if own_store:
            store.close()


_FLAG_SECTIONS = {
    "fps": ("decode", "fps"),
    "mode": ("decode", "mode"),
    "size": ("decode", "size"),
    "backend": ("decode", "backend"),
    "model": ("embed", "model"),
    "device": ("embed", "device"),
    "batch_size": ("embed", "batch_size"),
    "threads": ("embed", "threads"),
    "store": ("store", "path"),
    "detector": ("scenes", "detector"),
}


def with_overrides(config: PipelineConfig, **values: Any) -> PipelineConfig:
    """Apply flat command-line style overrides (``fps=2, model="tiny", store=...``); None = unset."""
    sections: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if value is not None:
            section, name = _FLAG_SECTIONS[key]
            sections.setdefault(section, {})[name] = value
    return config.with_overrides(sections, source="command line")
