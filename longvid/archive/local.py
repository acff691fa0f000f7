"""The local engine: N worker processes on this machine, each with its own decoder, encoder and
store connection (``worker.py``).

Each worker loads the encoder once, then takes one video at a time from the parent and indexes
it with ``longvid.indexing.index_video``: one decode pass, one SQLite transaction. Workers write
to the store themselves. Why not funnel the writes through the parent: a video's write is small
(a few hundred rows and one segment file) next to its decoding and encoding (seconds), so
writers rarely wait on SQLite's lock (``BEGIN IMMEDIATE`` queues them, WAL keeps readers going);
vectors never travel between processes; and a worker killed mid-write loses only its own
uncommitted video. The parent only hands out paths and collects one small message per video.

CPU budget: every worker gets cores // workers torch threads and as many decoder threads, so
workers x threads is about the number of cores (each worker also overlaps decoding with
encoding, as ``index_video`` does).

Workers are plain ``python -m longvid.archive.worker`` processes talking JSON lines over their
stdin/stdout (nothing pickled, the caller's ``__main__`` is never re-imported). They die with the
parent: on Linux through ``PR_SET_PDEATHSIG`` (a SIGKILLed batch leaves no orphan that keeps
writing), elsewhere when their stdin closes. A terminal's Ctrl-C reaches only the parent (the
workers run in their own session), which stops them (open transactions roll back) and reports.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import LongvidError
from .summary import WORKER_KILLED, ItemResult

START_TIMEOUT_S = 600.0  # loading a big model on a busy machine can take minutes
# Signals that come from another process (the kernel's OOM killer sends SIGKILL; a user's kill, a
# shutdown): the video is not at fault and is tried again by the next batch. A crash (SIGSEGV,
# SIGABRT, ...) while decoding one file is that file's failure, like an exception would be.
KILL_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)


class WorkerError(LongvidError):
    """An error a worker process hit that stops the whole batch (model, store), as one line."""


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """One worker per core, at most 4 (each holds a copy of the model)."""
    return max(1, min(cpu_count(), 4))


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen
    ready: bool = False
    busy: tuple | None = None  # (path, started)
    buffer: bytes = b""
    messages: deque = field(default_factory=deque)


class LocalPool:
    """Worker processes that index the paths they are given; use as a context manager."""

    def __init__(self, config_data: dict, workers: int):
        self.config_data = config_data
        self.size = workers
        # threads per worker: what the configuration asks for, else a share of the cores
        self.threads = int(config_data.get("embed", {}).get("threads") or 0) or max(1, cpu_count() // workers)
        self.identity: dict | None = None
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()
        self._spawned = 0
        for _ in range(workers):
            self._spawn()

    def _spawn(self) -> None:
        env = {**os.environ, "LONGVID_WORKER_PARENT": str(os.getpid())}
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(self.threads)  # read when torch loads, before any code of ours runs there
        process = subprocess.Popen(
            [sys.executable, "-m", "longvid.archive.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the parent only; it stops the workers
        )
        os.set_blocking(process.stdout.fileno(), False)
        worker = _Worker(self._spawned, process)
        self._selector.register(process.stdout, selectors.EVENT_READ, worker)
        self._workers.append(worker)
        self._spawned += 1
        self._send(worker, {"config": self.config_data, "threads": self.threads})

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(graceful=exc[0] is None)

    def close(self, graceful: bool = True) -> None:
        for w in self._workers:
            try:
                w.process.stdin.close()  # end of work: the worker finishes its loop and exits
            except OSError:
                pass
        deadline = time.monotonic() + (10.0 if graceful else 0.0)
        for w in self._workers:
            try:
                w.process.wait(max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.process.terminate()  # its uncommitted video rolls back
                w.process.wait()
            self._selector.unregister(w.process.stdout)
            w.process.stdout.close()
        self._workers = []
        self._selector.close()

    # --- protocol -------------------------------------------------------------------------------

    def _send(self, w: _Worker, message: Any) -> bool:
        try:
            w.process.stdin.write((json.dumps(message) + "\n").encode())
            w.process.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False  # it died; the read side notices

    def wait_identity(self) -> dict:
        """What the workers index with: model id, dimension, decode size, settings (from the first
        worker that has loaded the encoder). Raises the workers' error when none can start."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.identity is None:
            if time.monotonic() > deadline:
                raise WorkerError(f"no index worker loaded the model within {START_TIMEOUT_S:.0f} s")
            self._poll(None, timeout=1.0)
        return self.identity

    def run(self, todo: list[tuple[str, bool]], on_result: Callable[[ItemResult], None], record_failure: Callable) -> None:
        """Index ``todo`` ([(path, clear_failure)]); ``on_result`` gets one ItemResult per path."""
        pending = deque(todo)
        while pending or any(w.busy for w in self._workers):
            for w in self._workers:
                if w.ready and w.busy is None and pending:
                    path, clear = pending.popleft()
                    w.busy = (path, time.perf_counter())
                    self._send(w, {"path": path, "clear_failure": clear})
            self._poll(on_result, timeout=1.0, record_failure=record_failure, respawn=bool(pending))

    def _poll(self, on_result, *, timeout: float, record_failure=None, respawn: bool = False) -> None:
        if not self._workers:
            raise WorkerError("every index worker has exited", "run with LONGVID_DEBUG=1 to see why")
        for key, _ in self._selector.select(timeout):
            w = key.data
            try:
                data = os.read(key.fileobj.fileno(), 1 << 16)
            except BlockingIOError:
                continue
            if not data:  # EOF: the process is gone
                for line in w.buffer.splitlines():
                    self._handle(w, json.loads(line), on_result)
                self._lost(w, on_result, record_failure, respawn)
                continue
            w.buffer += data
            *lines, w.buffer = w.buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    self._handle(w, json.loads(line), on_result)

    def _handle(self, w: _Worker, message: dict, on_result) -> None:
        kind = message["kind"]
        if kind == "ready":
            w.ready = True
            if self.identity is None:
                self.identity = message["identity"]
        elif kind == "done":
            w.busy = None
            if on_result is not None:
                on_result(ItemResult(**message["item"]))
        elif kind == "fatal":
            error = WorkerError(message["error"])
            error.exit_code = int(message["exit_code"])
            raise error

    def _lost(self, w: _Worker, on_result, record_failure, respawn: bool) -> None:
        """A worker process ended unasked: its video (if any) failed; start another in its place."""
        code = w.process.wait()
        self._selector.unregister(w.process.stdout)
        w.process.stdout.close()
        self._workers.remove(w)
        how = _signal_name(-code) if code < 0 else f"exit code {code}"
        if w.busy is not None:
            path = w.busy[0]
            if code < 0 and -code in KILL_SIGNALS:
                error = WORKER_KILLED
                reason = f"the index worker was killed by {how} while indexing it (out of memory?); the next batch tries it again"
            else:
                error, reason = "WorkerDied", f"the index worker process died ({how}) while indexing it"
            if record_failure is not None:
                record_failure(path, error, reason)
            if on_result is not None:
                on_result(ItemResult(path, "failed", error=error, reason=reason, seconds=time.perf_counter() - w.busy[1]))
        if self.identity is None and not self._workers:
            raise WorkerError(f"the index worker could not start ({how})", "run with LONGVID_DEBUG=1 to see its error")
        if respawn and self._spawned < 4 * self.size:  # bounded: a crash loop must not go on forever
            self._spawn()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
