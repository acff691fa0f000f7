"""The Ray engine: the same batch on Ray Data, for more than one machine (or a GPU box).

    index_archive(["/shared/archive"], config, engine="ray", ray_address="auto")

Pipeline (streaming; videos flow through while others are still decoding):

1. the driver plans as the local engine does (skips what the store has), fingerprints the rest
   and drops copies of videos already indexed;
2. ``flat_map`` CPU tasks (1 CPU each) decode one video each, emitting its frames in chunks of
   the encoder's batch size, then one trailer row with the scenes the shot detector found, the
   video's metadata and the decoded-frame count (or the error that stopped the decode);
3. ``map_batches`` with an actor class: a pool of encoder actors, each loading the model once
   (``num_gpus=1`` each when the cluster has GPUs), turns chunks into vectors;
4. the driver - the ONE writer - gathers each video's chunks and trailer and stores the video in
   one transaction, exactly as ``index_video`` would (same frames, same scenes, same run).

Frames travel between tasks as raw bytes with their shape (no pickled arrays). Files must be
readable at the same paths on every node (a shared filesystem). Without ``ray_address`` a local
Ray instance with one CPU per core is started (and shut down afterwards); an instance the caller
started already is used as it is.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, LongvidError, ModelMismatchError, VideoInputError
from ..filenames import printable
from ..types import Scene
from .summary import BatchProgress, ItemResult


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailableError(
            f"--engine ray needs Ray Data, which is not installed ({exc.name or exc})",
            "pip install 'longvid[ray]', or use --engine local",
        ) from None
    return ray


def run_ray(videos, config, store, workers, retry_failed, progress, summary, address: str | None) -> None:
    from ..indexing import _encoder_for, decode_size, index_settings
    from ..store import fingerprint_file, settings_key
    from .local import cpu_count
    from .runner import config_from_dict, plan

    ray = import_ray()
    encoder = _encoder_for(config_from_dict(config.to_dict(), threads=1), None)  # identity only, never used to encode
    size = decode_size(config, encoder)
    settings = index_settings(config, size)
    identity = {"model_id": encoder.model_id, "dim": encoder.dim, "size": size, "settings": settings, "settings_key": settings_key(settings)}
    todo = plan(store, videos, identity, retry_failed, summary)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else cpu_count(), include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        before = summary.counts()
        with BatchProgress(len(todo), skipped=before["skipped"], failed_before=before["failed_before"], enabled=progress) as bar:

            def finish(item: ItemResult) -> None:
                summary.items.append(item)
                bar.done(item)

            jobs: dict[str, _Job] = {}
            by_digest: dict[str, _Job] = {}
            for path, clear in todo:
                try:
                    fp = fingerprint_file(path)
                except VideoInputError as exc:
                    finish(_failed(store, identity, path, type(exc).__name__, exc.one_line(), time.perf_counter()))
                    continue
                video = store.find_video(fp)
                if video is not None and store.find_run(video.id, encoder.model_id, identity["settings_key"]):
                    store.remember_path(video.id, path, fp)  # a copy of a video indexed under another name
                    finish(ItemResult(path, "skipped", video_id=video.id))
                elif fp.digest in by_digest:  # the same bytes twice in this batch: decode them once
                    by_digest[fp.digest].copies.append((path, fp, clear))
                else:
                    jobs[path] = by_digest[fp.digest] = _Job(path, fp, clear, time.perf_counter())
            if jobs:
                for row in _dataset(ray, list(jobs), config, size, workers).iter_rows():
                    path = os.fsdecode(row["path"])
                    job = jobs.get(path)
                    if job is not None and job.add(row, identity["model_id"]):
                        del jobs[path]
                        first = _store_job(store, job, config, identity)
                        finish(first)
                        for copy in job.copies:
                            finish(_store_copy(store, first, copy, identity))
    finally:
        if started_here:
            ray.shutdown()


def _dataset(ray, paths: list[str], config, size: int, workers: int | None):
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours is the one progress bar
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if config.embed.device != "cpu" else 0
    actors = workers or (gpus if gpus else max(1, int(resources.get("CPU", 2)) // 2))
    data = config.to_dict()
    batch = int(config.embed.batch_size)
    # paths travel as bytes: Arrow strings must be UTF-8, a file name need not be (longvid.filenames)
    ds = ray.data.from_items([{"path": os.fsencode(p)} for p in paths], override_num_blocks=len(paths))
    ds = ds.flat_map(decode_rows, fn_kwargs={"config_data": data, "size": size, "chunk": batch}, num_cpus=1)
    return ds.map_batches(
        EncodeActor, fn_constructor_kwargs={"config_data": data}, batch_size=1, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors), num_cpus=1, num_gpus=1 if gpus else 0,
    )


# --- remote side ------------------------------------------------------------------------------------


def _row(path: str, chunk: int, **values: Any) -> dict[str, Any]:
    row = {"path": os.fsencode(path), "chunk": chunk, "chunks": 0, "images": b"", "shape": "[]", "pts_s": b"", "index": b"",
           "source": "[]", "trailer": "", "error": "", "reason": ""}
    row.update(values)
    return row


def decode_rows(item: dict, config_data: dict, size: int, chunk: int) -> Iterator[dict]:
    """Decode one video (a Ray task): frame chunks, then a trailer row (chunk = -1)."""
    from ..decode import open_video
    from ..indexing import no_frames_error, scene_detector
    from .runner import config_from_dict

    path = os.fsdecode(item["path"])
    try:
        config = config_from_dict(config_data, threads=1)
        d = config.decode
        n = 0
        with open_video(path, backend=d.backend, threads=d.threads) as reader:
            info = reader.info
            detector = scene_detector(config)
            frames: list = []
            for frame in reader.iter_frames(fps=d.fps, size=size, mode=d.mode, observer=detector):
                frames.append(frame)
                if len(frames) == chunk:
                    yield _chunk_row(path, n, frames)
                    n, frames = n + 1, []
            if frames:
                yield _chunk_row(path, n, frames)
                n += 1
            decoded = reader.frames_decoded
        if n == 0:
            raise no_frames_error(path)
        from ..indexing import _scenes_from_detector

        scenes = None if detector is None else [list(_scene_tuple(s)) for s in _scenes_from_detector(detector, info)]
        meta = {k: getattr(info, k) for k in ("duration_s", "start_s", "fps", "width", "height", "end_s", "frame_count")}
        yield _row(path, -1, chunks=n, trailer=json.dumps({"scenes": scenes, "info": meta, "decoded": decoded}))
    except LongvidError as exc:
        yield _row(path, -1, error=type(exc).__name__, reason=exc.one_line())
    except Exception as exc:  # noqa: BLE001 - one broken file must not stop the batch
        reason = printable(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        yield _row(path, -1, error=type(exc).__name__, reason=reason)


def _chunk_row(path: str, n: int, frames: list) -> dict:
    images = np.stack([f.image for f in frames])
    return _row(
        path, n, images=images.tobytes(), shape=json.dumps(images.shape),
        pts_s=np.array([f.pts_s for f in frames], np.float64).tobytes(),
        index=np.array([f.index for f in frames], np.int64).tobytes(),
        source=json.dumps([f.source for f in frames]),
    )


def _scene_tuple(s: Scene) -> tuple:
    return (s.index, s.start_s, s.end_s, s.start_frame, s.end_frame)


class EncodeActor:
    """Holds the encoder (one per actor); turns a chunk of frames into vectors."""

    def __init__(self, config_data: dict):
        from ..indexing import _encoder_for
        from .runner import config_from_dict

        self.encoder = _encoder_for(config_from_dict(config_data, threads=1), None)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = []
        for images, shape, chunk in zip(batch["images"], batch["shape"], batch["chunk"]):
            if int(chunk) < 0:
                vectors.append(b"")
                continue
            pixels = np.frombuffer(images, np.uint8).reshape(json.loads(shape))
            vectors.append(np.asarray(self.encoder.encode_images(list(pixels)), np.float32).tobytes())
        out = {k: v for k, v in batch.items() if k != "images"}
        out["vectors"] = np.array(vectors, dtype=object)
        out["model_id"] = np.array([self.encoder.model_id] * len(vectors), dtype=object)
        return out


# --- driver side: gather and store ------------------------------------------------------------------


class _Job:
    def __init__(self, path: str, fp, clear_failure: bool, started: float):
        self.path, self.fp, self.clear_failure, self.started = path, fp, clear_failure, started
        self.chunks: dict[int, dict] = {}
        self.trailer: dict | None = None
        self.copies: list[tuple] = []  # (path, fingerprint, clear_failure) of identical files

    def add(self, row: dict, model_id: str) -> bool:
        """Take one row; True when the video is complete (all chunks and the trailer, or an error)."""
        if row["model_id"] != model_id and int(row["chunk"]) >= 0:
            raise ModelMismatchError(
                f"a Ray worker encodes with {row['model_id']}, the driver planned with {model_id}",
                "install the same model files on every node",
            )
        if int(row["chunk"]) >= 0:
            self.chunks[int(row["chunk"])] = row
        else:
            self.trailer = row
        if self.trailer is None:
            return False
        return bool(self.trailer["error"]) or len(self.chunks) == int(self.trailer["chunks"])


def _store_job(store, job: _Job, config, identity: dict) -> ItemResult:
    from ..indexing import pass_scenes, store_pass

    t = job.trailer
    if t["error"]:
        return _failed(store, identity, job.path, t["error"], t["reason"], job.started)
    trailer = json.loads(t["trailer"])
    rows, parts = [], []
    for n in range(int(t["chunks"])):
        c = job.chunks[n]
        dim = identity["dim"]
        parts.append(np.frombuffer(c["vectors"], np.float32).reshape(-1, dim))
        pts, index = np.frombuffer(c["pts_s"], np.float64), np.frombuffer(c["index"], np.int64)
        rows += [(float(a), int(b), s) for a, b, s in zip(pts, index, json.loads(c["source"]))]
    vectors = np.concatenate(parts)
    info = SimpleNamespace(**trailer["info"])
    if trailer["scenes"] is not None:
        scenes = [Scene(*s) for s in trailer["scenes"]]
    else:
        scenes = pass_scenes(config, None, info, rows, vectors)
    model_id, key = identity["model_id"], identity["settings_key"]
    run = store_pass(store, job.path, job.fp, model_id, config, identity["settings"], rows, vectors, scenes,
                     trailer["info"], trailer["decoded"], job.started)
    if job.clear_failure:
        store.clear_failures([job.path], model_id, key)
    status = "skipped" if run.noop else "indexed"
    return ItemResult(job.path, status, video_id=run.video_id, frames=run.frames_added, seconds=time.perf_counter() - job.started)


def _store_copy(store, first: ItemResult, copy: tuple, identity: dict) -> ItemResult:
    """A file with the same bytes as ``first``: remembered under its own path, or failed alike."""
    path, fp, clear = copy
    if first.status == "failed":
        reason = first.reason.replace(printable(first.path), printable(path))
        return _failed(store, identity, path, first.error, reason, time.perf_counter())
    store.remember_path(first.video_id, path, fp)
    if clear:
        store.clear_failures([path], identity["model_id"], identity["settings_key"])
    return ItemResult(path, "skipped", video_id=first.video_id)


def _failed(store, identity: dict, path: str, error: str, reason: str, started: float) -> ItemResult:
    store.record_failure(path, identity["model_id"], identity["settings_key"], error, reason)
    return ItemResult(path, "failed", error=error, reason=reason, seconds=time.perf_counter() - started)
