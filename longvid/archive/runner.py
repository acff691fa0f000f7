"""``index_archive``: find the videos, skip what is done, index the rest with an engine, report.

    summary = index_archive(["~/archive"], config, recursive=True, workers=2)
    summary.counts()    # {"indexed": 12, "skipped": 30, "failed": 1, "failed_before": 0, "ignored": 4}

Resumable by construction: every video is stored in its own transaction and the plan is made
from the store each time, so a batch interrupted at any moment (Ctrl-C, SIGKILL, power loss)
is finished by running it again; nothing stored is redone and nothing half-written is kept.
Skipping costs no reading: a path the store remembers with the same size, mtime, ctime and
inode, whose video has a run with this model and settings, is done. A renamed or copied file
is read once (fingerprinted) and then found by content. Two batches may run on one store at
once: each video's run is written once (the second writer finds it and does nothing).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

from ..config import PipelineConfig
from ..errors import InvalidArgumentError
from .discover import discover
from .summary import WORKER_KILLED, BatchProgress, BatchSummary, ItemResult

ENGINES = ("local", "ray")


def config_from_dict(data: dict[str, Any], *, threads: int | None = None) -> PipelineConfig:
    """A ``PipelineConfig`` from ``to_dict()`` output (how it travels to worker processes);
    ``threads`` sets the encoder's and the decoder's thread counts."""
    sections = {k: v for k, v in data.items() if isinstance(v, dict)}
    if threads is not None:
        sections = {**sections, "embed": {**sections.get("embed", {}), "threads": threads},
                    "decode": {**sections.get("decode", {}), "threads": threads}}
    config = PipelineConfig().with_overrides(sections, source="batch worker")
    return dataclasses.replace(config, preset=data.get("preset", config.preset))


def index_archive(
    paths,
    config: PipelineConfig | None = None,
    *,
    recursive: bool = False,
    workers: int | None = None,
    engine: str = "local",
    retry_failed: bool = False,
    ray_address: str | None = None,
    progress: bool | None = False,
    notify: Callable[[str], None] | None = None,
    update_index: bool = True,
) -> BatchSummary:
    """Index every video under ``paths`` into the store of ``config`` (see the module docstring).

    ``workers``: worker processes (local engine) or encoder actors (Ray); None = one per core,
    at most 4. ``progress``: the live bar on stderr (None: when stderr is a terminal).
    ``update_index``: build or extend the archive index afterwards when its recipe says so.
    """
    from ..store import Store
    from .local import default_workers

    config = config or PipelineConfig()
    if engine not in ENGINES:
        raise InvalidArgumentError(f"engine = {engine!r} is invalid", f"use one of: {', '.join(ENGINES)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidArgumentError(f"workers = {workers!r} is invalid", "expected 1 or more")
    if ray_address is not None and engine != "ray":
        raise InvalidArgumentError("--ray-address needs --engine ray")
    workers = workers or default_workers()
    started = time.perf_counter()
    store_root = config.store.resolved_path()
    found = discover(paths, recursive=recursive, exclude=[store_root])
    summary = BatchSummary(store=str(store_root), engine=engine, workers=workers, probed=found.probed,
                           ignored=[{"path": p, "why": w} for p, w in found.ignored])
    if not found.videos:
        summary.seconds = time.perf_counter() - started
        return summary
    with Store.open(store_root) as store:
        try:
            if engine == "local":
                _run_local(found.videos, config, store, workers, retry_failed, progress, summary)
            else:
                from .ray_engine import run_ray

                run_ray(found.videos, config, store, workers, retry_failed, progress, summary, ray_address)
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.seconds = time.perf_counter() - started
            raise BatchInterrupted(summary) from None
        if update_index and summary.model_id and store.model_dim(summary.model_id) is not None:
            update = store.update_archive_index(summary.model_id, notify=notify)
            summary.archive_index = {"recipe": update.recipe, "action": update.action, "vectors": update.vectors,
                                     "exact": update.exact, "seconds": update.seconds}
    summary.seconds = time.perf_counter() - started
    return summary


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch; ``summary`` says what was done before it."""

    def __init__(self, summary: BatchSummary):
        super().__init__("interrupted")
        self.summary = summary


def plan(store, videos: list[str], identity: dict, retry_failed: bool, summary: BatchSummary) -> list[tuple[str, bool]]:
    """Sort ``videos`` into done (skipped), failed before and unchanged, and to do (a video whose
    worker was killed by another process is to do again: it did not fail by itself).

    Returns the to-do list as (path, has a failure record to clear once indexed)."""
    model_id, key = identity["model_id"], identity["settings_key"]
    summary.model_id, summary.settings = model_id, identity["settings"]
    done = store.indexed_by_stat(videos, model_id, key)
    failed = store.failures_by_path(videos, model_id, key)
    todo, stale = [], []
    for path in videos:
        if path in done:
            summary.items.append(ItemResult(path, "skipped", video_id=done[path]))
            if path in failed:
                stale.append(path)  # indexed after all (a batch killed between the two writes)
        elif path in failed and not retry_failed and _unchanged_failure(failed[path], path):
            record = failed[path]
            summary.items.append(ItemResult(path, "failed_before", error=record.error, reason=record.reason))
        else:
            todo.append((path, path in failed))
    if stale:
        store.clear_failures(stale, model_id, key)
    return todo


def _unchanged_failure(record, path: str) -> bool:
    """A failure of the file itself (not a killed worker's) and the file is as it was then."""
    from ..store.batch import current_stat

    return record.error != WORKER_KILLED and record.stat == current_stat(path)


def _run_local(videos, config, store, workers, retry_failed, progress, summary) -> None:
    from .local import LocalPool

    summary.workers = min(workers, len(videos))
    with LocalPool(config.to_dict(), summary.workers) as pool:
        identity = pool.wait_identity()
        todo = plan(store, videos, identity, retry_failed, summary)
        before = summary.counts()
        with BatchProgress(len(todo), skipped=before["skipped"], failed_before=before["failed_before"], enabled=progress) as bar:

            def record_failure(path: str, error: str, reason: str) -> None:
                store.record_failure(path, identity["model_id"], identity["settings_key"], error, reason)

            def on_result(item: ItemResult) -> None:
                summary.items.append(item)
                bar.done(item)

            pool.run(todo, on_result, record_failure)
