"""Writes: one index (or refinement) run = one transaction = one new segment file.

Nothing already stored is rewritten: frames already present for a video and model (same frame
index) are skipped, new ones go into the run's own segment.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene
from .fingerprint import Fingerprint
from .records import RunResult
from .segments import new_segment_name, write_segment

SOURCES = ("uniform", "keyframe", "refined", "at")


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable key for run settings (what makes two runs 'the same')."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def scene_of(pts_s: np.ndarray, scenes: list[Scene]) -> np.ndarray:
    """Scene index of each timestamp (-1 before the first scene)."""
    if not scenes:
        return np.full(len(pts_s), -1, np.int64)
    starts = np.array([s.start_s for s in scenes])
    pos = np.searchsorted(starts, np.asarray(pts_s) + 1e-9, side="right") - 1
    indices = np.array([s.index for s in scenes])
    return np.where(pos >= 0, indices[np.clip(pos, 0, None)], -1).astype(np.int64)


class WriteMixin:
    def add_run(
        self,
        *,
        fingerprint: Fingerprint,
        path: str | os.PathLike | None,
        model_id: str,
        vectors: np.ndarray,
        pts_s: Any,
        frame_index: Any,
        source: Any,
        settings: dict[str, Any],
        kind: str = "index",
        scenes: list[Scene] | None = None,
        scene_source: str = "detector",
        video_info: Any = None,
        frames_decoded: int | None = None,
        seconds: float | None = None,
    ) -> RunResult:
        """Store one run's frames and vectors atomically (all or nothing).

        ``kind="index"``: a full pass with ``settings``; a second run with the same video, model and
        settings is a no-op. ``kind="refine"``: extra frames (e.g. around interesting moments) added
        to an indexed video; their scenes come from the stored ones.
        ``scene_source``: "detector" (shot detection over every frame) or "embeddings" (cuts where
        sampled frames' embeddings change); a video's scenes come from its latest detector run,
        else its latest embeddings run.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        pts = np.asarray(pts_s, dtype=np.float64).reshape(-1)
        index = np.asarray(frame_index, dtype=np.int64).reshape(-1)
        sources = np.asarray(source, dtype=object).reshape(-1)
        if sources.size == 1 and len(pts) > 1:
            sources = np.full(len(pts), sources[0], dtype=object)
        self._check_run_input(vectors, pts, index, sources, kind)
        if scene_source not in ("detector", "embeddings"):
            raise InvalidArgumentError(f"scene_source = {scene_source!r} is invalid", "use 'detector' or 'embeddings'")
        key = settings_key(settings)
        seg_name = None
        try:
            with self.transaction() as c:
                video_id = self._upsert_video(c, fingerprint, video_info)
                if path is not None:
                    self._remember(c, video_id, path, fingerprint)
                model_pk = self._model_pk(model_id, int(vectors.shape[1]), create=True)
                if kind == "index":
                    same = c.execute(
                        "SELECT id FROM runs WHERE video_id = ? AND model = ? AND settings_key = ? AND kind = 'index'",
                        (video_id, model_pk, key),
                    ).fetchone()
                    if same:
                        return RunResult(same[0], video_id, 0, 0, noop=True)
                run_id = c.execute(
                    "INSERT INTO runs(video_id, model, kind, settings_key, settings_json, frames_added, scene_source, "
                    "frames_decoded, seconds, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    (video_id, model_pk, kind, key, json.dumps(settings, sort_keys=True, default=str),
                     scene_source if scenes else None, frames_decoded, seconds, time.time()),
                ).lastrowid
                if scenes:
                    c.executemany(
                        "INSERT INTO scenes(run_id, scene_index, start_s, end_s, start_frame, end_frame) VALUES (?, ?, ?, ?, ?, ?)",
                        [(run_id, s.index, s.start_s, s.end_s, s.start_frame, s.end_frame) for s in scenes],
                    )
                else:
                    scenes = self._current_scenes(c, video_id, model_pk)
                scene_index = scene_of(pts, scenes)
                c.executemany(
                    "INSERT OR IGNORE INTO frames(video_id, model, run_id, pts_s, frame_index, scene_index, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (video_id, model_pk, run_id, float(t), int(i), None if s < 0 else int(s), str(src))
                        for t, i, s, src in zip(pts, index, scene_index, sources)
                    ],
                )
                rows = c.execute("SELECT id, frame_index FROM frames WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
                added = len(rows)
                c.execute("UPDATE runs SET frames_added = ? WHERE id = ?", (added, run_id))
                if added:
                    ids = np.array([r[0] for r in rows], np.int64)
                    position = {int(i): p for p, i in enumerate(index)}
                    rows_of_vectors = np.array([position[r[1]] for r in rows], np.int64)
                    seg_name = new_segment_name(model_pk)
                    size, sha, written = write_segment(self.root, seg_name, ids, vectors[rows_of_vectors])
                    c.execute(
                        "INSERT INTO segments(run_id, video_id, model, file, count, dim, size_bytes, sha256, verified_stat) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, video_id, model_pk, seg_name, added, int(vectors.shape[1]), size, sha, written),
                    )
                return RunResult(run_id, video_id, added, len(pts) - added)
        except BaseException:
            if seg_name is not None:  # rolled back: the file is not registered, drop it now
                try:
                    (self.root / seg_name).unlink()
                except OSError:
                    pass
            raise

    @staticmethod
    def _check_run_input(vectors, pts, index, sources, kind) -> None:
        if kind not in ("index", "refine"):
            raise InvalidArgumentError(f"run kind {kind!r} is invalid", "use 'index' or 'refine'")
        if vectors.ndim != 2 or vectors.shape[1] < 1:
            raise InvalidArgumentError(f"vectors have shape {vectors.shape}", "expected (frames, dim)")
        n = vectors.shape[0]
        if not (len(pts) == len(index) == len(sources) == n):
            raise InvalidArgumentError(
                f"run has {n} vectors, {len(pts)} timestamps, {len(index)} frame indices and {len(sources)} sources",
                "pass one of each per frame",
            )
        if not np.isfinite(vectors).all():
            raise InvalidArgumentError("vectors contain NaN or infinite values", "check the encoder")
        if not np.isfinite(pts).all():
            raise InvalidArgumentError("timestamps contain NaN or infinite values")
        if len(np.unique(index)) != n:
            raise InvalidArgumentError("frame indices repeat within one run", "pass each frame once")
        bad = sorted({str(s) for s in sources} - set(SOURCES))
        if bad:
            raise InvalidArgumentError(f"frame source {bad[0]!r} is invalid", f"use one of: {', '.join(SOURCES)}")

    def _upsert_video(self, c, fp: Fingerprint, info: Any) -> int:
        c.execute(
            "INSERT OR IGNORE INTO videos(fingerprint, size_bytes, added_at) VALUES (?, ?, ?)",
            (fp.digest, fp.size_bytes, time.time()),
        )
        video_id = c.execute("SELECT id FROM videos WHERE fingerprint = ?", (fp.digest,)).fetchone()[0]
        if info is not None:
            get = info.get if isinstance(info, dict) else lambda k: getattr(info, k, None)
            c.execute(
                "UPDATE videos SET duration_s = ?, start_s = ?, fps = ?, width = ?, height = ? WHERE id = ?",
                (get("duration_s"), get("start_s"), get("fps"), get("width"), get("height"), video_id),
            )
        return video_id

    def _remember(self, c, video_id: int, path, fp: Fingerprint) -> None:
        from ..filenames import to_sql
        from .store import path_key

        c.execute(
            "INSERT INTO video_paths(path, video_id, size_bytes, mtime_ns, ctime_ns, inode, seen_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET video_id = excluded.video_id, "
            "size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, "
            "inode = excluded.inode, seen_at = excluded.seen_at",
            (to_sql(path_key(path)), video_id, fp.size_bytes, fp.mtime_ns, fp.ctime_ns, fp.inode, time.time()),
        )

    def remember_path(self, video_id: int, path: str | os.PathLike, fingerprint: Fingerprint) -> None:
        """Record that ``path`` holds ``video_id`` now (a renamed or copied file found by content)."""
        with self.transaction() as c:
            self._remember(c, video_id, path, fingerprint)

    def _current_scenes(self, c, video_id: int, model_pk: int) -> list[Scene]:
        """Scenes of the latest run of this video and model that found any, shot detection first."""
        row = c.execute(
            "SELECT r.id FROM runs r WHERE r.video_id = ? AND r.model = ? AND EXISTS "
            "(SELECT 1 FROM scenes s WHERE s.run_id = r.id) "
            "ORDER BY r.scene_source = 'detector' DESC, r.id DESC LIMIT 1",
            (video_id, model_pk),
        ).fetchone()
        if not row:
            return []
        rows = c.execute(
            "SELECT scene_index, start_s, end_s, start_frame, end_frame FROM scenes WHERE run_id = ? ORDER BY scene_index",
            (row[0],),
        ).fetchall()
        return [Scene(*r) for r in rows]

    def put_text_vectors(self, model_id: str, texts: list[str], vectors: np.ndarray) -> None:
        """Cache text embeddings (raw float32 bytes, never pickled)."""
        vectors = np.asarray(vectors, np.float32)
        with self.transaction() as c:
            model_pk = self._model_pk(model_id, int(vectors.shape[1]), create=True)
            now = time.time()
            c.executemany(
                "INSERT OR REPLACE INTO text_cache(model, text, vector, used_at) VALUES (?, ?, ?, ?)",
                [(model_pk, t, v.tobytes(), now) for t, v in zip(texts, vectors)],
            )
