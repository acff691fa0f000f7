"""One index worker process of the local engine (``python -m longvid.archive.worker``).

Protocol, JSON lines. In (stdin): first ``{"config": {...}, "threads": N}``, then one
``{"path": ..., "clear_failure": bool}`` per video; end of input means stop. Out (stdout):
``{"kind": "ready", "identity": {...}}`` once the encoder is loaded, one ``{"kind": "done",
"item": {...}}`` per video, or ``{"kind": "fatal", "error": "<one line>", "exit_code": N}`` when
nothing else can work either (model or store errors). Anything a library prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the batch process that started us dies, however it died."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, name="longvid-parent-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # it died before the signal was armed
        os._exit(1)


def main() -> None:
    parent = os.environ.get("LONGVID_WORKER_PARENT")
    if parent:
        _die_with_parent(int(parent))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol's channel
    os.dup2(2, 1)  # whatever else writes to stdout lands on stderr

    def send(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    from ..errors import InvalidArgumentError, LongvidError, VideoInputError
    from ..filenames import printable
    from ..indexing import _encoder_for, decode_size, index_settings, index_video
    from ..store import Store, settings_key
    from .runner import config_from_dict

    debug = os.environ.get("LONGVID_DEBUG", "") not in ("", "0")
    lines = iter(sys.stdin.readline, "")
    try:
        setup = json.loads(next(lines))
    except StopIteration:
        return
    try:
        config = config_from_dict(setup["config"], threads=int(setup["threads"]))
        encoder = _encoder_for(config, None)
        size = decode_size(config, encoder)
        settings = index_settings(config, size)
        key = settings_key(settings)
        store = Store.open(config.store.path)
    except LongvidError as exc:
        send({"kind": "fatal", "error": exc.one_line(), "exit_code": exc.exit_code})
        return
    send({"kind": "ready", "identity": {"model_id": encoder.model_id, "dim": encoder.dim, "size": size,
                                         "settings": settings, "settings_key": key, "pid": os.getpid()}})
    with store:
        for line in lines:
            task = json.loads(line)
            path = task["path"]
            started = time.perf_counter()
            item = {"path": path}
            try:
                result = index_video(path, config, store=store, encoder=encoder)
                if task.get("clear_failure"):
                    store.clear_failures([path], encoder.model_id, key)
                item.update(status="skipped" if result.noop else "indexed", video_id=result.video_id, frames=result.frames_added)
            except (VideoInputError, InvalidArgumentError) as exc:  # this file's problem: record it, go on
                item.update(status="failed", error=type(exc).__name__, reason=exc.one_line())
            except LongvidError as exc:  # the model or the store: nothing else will work either
                send({"kind": "fatal", "error": exc.one_line(), "exit_code": exc.exit_code})
                return
            except Exception as exc:  # noqa: BLE001 - a decoder or encoder bug on one file must not stop the batch
                if debug:
                    raise
                reason = printable(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
                item.update(status="failed", error=type(exc).__name__, reason=reason)
            if item["status"] == "failed":
                store.record_failure(path, encoder.model_id, key, item["error"], item["reason"])
            item["seconds"] = time.perf_counter() - started
            send({"kind": "done", "item": item})


if __name__ == "__main__":
    main()
