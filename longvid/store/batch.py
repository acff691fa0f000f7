"""What a batch over a folder asks the store: which files are indexed already (by the identity the
store remembers for each path, no reading), and which failed before, with the reason.

    done = store.indexed_by_stat(paths, model_id, key)        # {path: video id}, no file read
    store.record_failure(path, model_id, key, error)          # one transaction
    store.failures()                                           # for `longvid store info`

A failure is remembered with the file's size, mtime, ctime and inode when it failed: a later batch
retries it only once one of them changed (the file was replaced or repaired) or when asked to.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Iterable

from ..filenames import from_sql, printable, to_sql
from .fingerprint import stat_key

_CHUNK = 900  # SQLite's parameter limit is 999


@dataclass(frozen=True, slots=True)
class FailureRecord:
    path: str
    model_id: str
    settings_key: str
    error: str  # exception class, e.g. "DecodeError"
    reason: str  # its one-line message
    attempts: int
    failed_at: float
    stat: tuple[int, int, int, int]  # (size, mtime_ns, ctime_ns, inode) when it failed


def current_stat(path: str) -> tuple[int, int, int, int] | None:
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


class BatchMixin:
    def indexed_by_stat(self, paths: Iterable[str], model_id: str, settings_key: str) -> dict[str, int]:
        """Paths (as ``path_key`` gives them) remembered with the same size, mtime, ctime and inode
        as now whose video has an index run with this model and settings -> video id."""
        from .store import path_key

        keys = {path_key(p): p for p in paths}
        found: dict[str, int] = {}
        names = list(keys)
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            rows = self._query(
                "SELECT p.path, p.video_id, p.size_bytes, p.mtime_ns, p.ctime_ns, p.inode FROM video_paths p "
                "WHERE p.path IN (" + ",".join("?" * len(chunk)) + ") AND EXISTS (SELECT 1 FROM runs r JOIN models m "
                "ON m.id = r.model WHERE r.video_id = p.video_id AND r.kind = 'index' AND m.model_id = ? "
                "AND r.settings_key = ?)",
                (*map(to_sql, chunk), model_id, settings_key),
            )
            for path, video_id, *remembered in rows:
                path = from_sql(path)
                if current_stat(path) == tuple(remembered):
                    found[keys[path]] = video_id
        return found

    def failures_by_path(self, paths: Iterable[str], model_id: str, settings_key: str) -> dict[str, FailureRecord]:
        """Recorded failures of these paths with this model and settings (whatever the file's state)."""
        from .store import path_key

        keys = {path_key(p): p for p in paths}
        names = list(keys)
        out: dict[str, FailureRecord] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            for record in self._failure_rows(
                "path IN (" + ",".join("?" * len(chunk)) + ") AND model_id = ? AND settings_key = ?",
                (*map(to_sql, chunk), model_id, settings_key),
            ):
                out[keys[record.path]] = record
        return out

    def failures(self, model_id: str | None = None) -> list[FailureRecord]:
        """Every recorded failure (optionally of one model), newest first."""
        if model_id is None:
            return self._failure_rows("1", ())
        return self._failure_rows("model_id = ?", (model_id,))

    def _failure_rows(self, where: str, params: tuple) -> list[FailureRecord]:
        rows = self._query(
            "SELECT path, model_id, settings_key, error, reason, attempts, failed_at, size_bytes, mtime_ns, ctime_ns, inode "
            f"FROM failures WHERE {where} ORDER BY failed_at DESC, path",
            params,
        )
        return [FailureRecord(from_sql(r[0]), *r[1:7], stat=tuple(r[7:])) for r in rows]

    def record_failure(self, path: str, model_id: str, settings_key: str, error: str, reason: str) -> None:
        """Remember that ``path`` could not be indexed (one transaction; counts attempts)."""
        from .store import path_key

        stat = current_stat(path) or (0, 0, 0, 0)
        with self.transaction() as c:
            c.execute(
                "INSERT INTO failures(path, model_id, settings_key, size_bytes, mtime_ns, ctime_ns, inode, error, reason, "
                "attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT(path, model_id, settings_key) "
                "DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, "
                "inode = excluded.inode, error = excluded.error, reason = excluded.reason, attempts = attempts + 1, "
                "failed_at = excluded.failed_at",
                (to_sql(path_key(path)), model_id, settings_key, *stat, error, printable(reason), time.time()),
            )

    def clear_failures(self, paths: Iterable[str], model_id: str, settings_key: str) -> int:
        """Forget failures of these paths (they were indexed after all). Returns how many went."""
        from .store import path_key

        names = [path_key(p) for p in paths]
        removed = 0
        if not names:
            return 0
        with self.transaction() as c:
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                removed += c.execute(
                    "DELETE FROM failures WHERE path IN (" + ",".join("?" * len(chunk)) + ") AND model_id = ? AND settings_key = ?",
                    (*map(to_sql, chunk), model_id, settings_key),
                ).rowcount
        return removed
