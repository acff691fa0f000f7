"""Reads: a video's frames, scenes and vectors for one model; FAISS scoring and archive-wide search;
the text-embedding cache.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelMismatchError, NotIndexedError, StoreCorruptError, StoreError, StoreLockedError
from ..types import Scene
from .records import Hit, StoredFrames
from .segments import Segment, read_segment

# What a segment read needs from its row (archive_index.py unpacks id, file, count, dim by position).
SEGMENT_COLUMNS = "id, file, count, dim, size_bytes, sha256, verified_stat"


class ReadMixin:
    # --- frames, scenes, vectors ----------------------------------------------------------------

    def frames(self, video_id: int, model_id: str) -> StoredFrames:
        """Every stored frame of a video for one model, sorted by time."""
        rows = self._query(
            "SELECT f.id, f.pts_s, f.frame_index, COALESCE(f.scene_index, -1), f.source FROM frames f "
            "JOIN models m ON m.id = f.model WHERE f.video_id = ? AND m.model_id = ? ORDER BY f.pts_s, f.frame_index",
            (video_id, model_id),
        )
        cols = list(zip(*rows)) if rows else [(), (), (), (), ()]
        return StoredFrames(
            np.array(cols[0], np.int64),
            np.array(cols[1], np.float64),
            np.array(cols[2], np.int64),
            np.array(cols[3], np.int64),
            np.array(cols[4], dtype=object),
        )

    def scenes(self, video_id: int, model_id: str) -> list[Scene]:
        with self.errors():
            pk = self._model_pk(model_id)
            return [] if pk is None else self._current_scenes(self.conn, video_id, pk)

    def has_embeddings(self, video_id: int, model_id: str) -> bool:
        model = self._model_row(model_id)
        return bool(model) and bool(
            self._query("SELECT 1 FROM frames WHERE video_id = ? AND model = ? LIMIT 1", (video_id, model[0]))
        )

    def _model_row(self, model_id: str) -> tuple[int, int] | None:
        """(row id, dim) of a model; remembered, since model rows never change or go away."""
        cache = self._model_rows
        if model_id not in cache:
            rows = self._query("SELECT id, dim FROM models WHERE model_id = ?", (model_id,))
            if not rows:
                return None
            cache[model_id] = rows[0]
        return cache[model_id]

    def _require(self, video_id: int, model_id: str, query_dim: int | None = None) -> tuple[int, int]:
        """(model row id, dim) for a video indexed with ``model_id``; clear errors otherwise."""
        if not self.has_embeddings(video_id, model_id):
            others = self.indexed_models(video_id)
            raise NotIndexedError(
                f"video #{video_id} has no embeddings for model {model_id!r}"
                + (f" (it is indexed with {', '.join(others)})" if others else ""),
                "index it with this model first (`longvid index VIDEO --model ...`)",
            )
        pk, dim = self._model_row(model_id)
        if query_dim is not None and query_dim != dim:
            raise ModelMismatchError(
                f"query vectors have dimension {query_dim} but model {model_id!r} stores {dim}",
                "encode the query with the same model the video was indexed with",
            )
        return pk, dim

    def _segments(self, where: str, params: tuple) -> list[Segment]:
        rows = self._query(f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE {where} ORDER BY id", params)
        return [self._load_segment(row) for row in rows]

    def _load_segment(self, row: tuple, *, verify: bool = False) -> Segment:
        """A segment from its row (``SEGMENT_COLUMNS``), its checksum verified once per file identity
        (always with ``verify``) and that verification remembered."""
        seg_id, file, count, dim, size, sha, trusted = row
        seg = read_segment(self.root, file, count=count, dim=dim, size_bytes=size, sha256=sha, trusted=None if verify else trusted)
        if seg.verified is not None and seg.verified != trusted:
            self._remember_verified("segments", seg_id, sha, seg.verified)
        return seg

    def _place(self, frames: StoredFrames, segments: list[Segment]) -> list[np.ndarray]:
        """For each segment, the positions of its vectors in ``frames`` (which is in time order)."""
        order = np.argsort(frames.ids, kind="stable")
        sorted_ids = frames.ids[order]
        placed, seen = [], np.zeros(len(frames), bool)
        for seg in segments:
            at = np.searchsorted(sorted_ids, seg.ids)
            if len(seg.ids) and (at.max() >= len(sorted_ids) or not np.array_equal(sorted_ids[at], seg.ids)):
                raise StoreCorruptError(f"vector segment {self.root / seg.file} holds ids unknown to the store", "run `longvid store check --repair`")
            placed.append(order[at])
            seen[order[at]] = True
        if not seen.all():
            raise StoreCorruptError(f"{int((~seen).sum())} stored frames have no vectors in {self.root}", "run `longvid store check --repair`")
        return placed

    def _view(self, video_id: int, model_id: str, query_dim: int | None = None) -> "_VideoView":
        """A video's frames and vectors (time order) with a FAISS index over them, kept while the
        video's runs for this model stay the same (a new or dropped run rebuilds it)."""
        pk, dim = self._require(video_id, model_id, query_dim)
        version = tuple(self._query(
            "SELECT COUNT(*), MAX(id), SUM(frames_added) FROM runs WHERE video_id = ? AND model = ?", (video_id, pk)
        )[0])
        views = self._views
        view = views.get((video_id, pk))
        if view is not None and view.version == version:
            return view
        import faiss

        frames = self.frames(video_id, model_id)
        segments = self._segments("video_id = ? AND model = ?", (video_id, pk))
        vectors = np.empty((len(frames), dim), np.float32)
        for seg, rows in zip(segments, self._place(frames, segments)):
            vectors[rows] = seg.vectors
        vectors.flags.writeable = False
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        view = _VideoView(version, frames, vectors, index)
        if len(views) >= 32:  # a handful of videos in use at a time; the oldest goes
            views.pop(next(iter(views)))
        views[(video_id, pk)] = view
        return view

    def vectors(self, video_id: int, model_id: str) -> tuple[StoredFrames, np.ndarray]:
        """Frames (time order) and their vectors, row for row (read-only)."""
        view = self._view(video_id, model_id)
        return view.frames, view.vectors

    # --- scoring --------------------------------------------------------------------------------

    def scores(self, video_id: int, model_id: str, query: np.ndarray) -> tuple[StoredFrames, np.ndarray]:
        """Inner product of each query vector with every stored frame of the video, by FAISS.

        Returns the frames (time order) and an (m, n) score matrix, one row per query vector.
        """
        query = _as_query(query)
        view = self._view(video_id, model_id, query.shape[1])
        n = len(view.frames)
        distances, positions = view.index.search(query, n)  # every frame, best first
        out = np.empty((len(query), n), np.float32)
        np.put_along_axis(out, positions, distances, axis=1)
        return view.frames, out

    def search_all(self, model_id: str, query: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """The ``k`` best frames over every video indexed with ``model_id``, per query vector.

        Exact search: one flat FAISS index over all of the model's segments, built on first use
        and kept until a run is added or dropped. (Approximate archive indexes for millions of
        vectors are built from the same segments.)
        """
        query = _as_query(query)
        if not isinstance(k, (int, np.integer)) or k < 1:
            from ..errors import InvalidArgumentError

            raise InvalidArgumentError(f"k = {k!r} is invalid", "expected at least 1")
        row = self._model_row(model_id)
        if row is None:
            raise NotIndexedError(f"no video is indexed with model {model_id!r}", "index some videos with it first")
        if query.shape[1] != row[1]:
            raise ModelMismatchError(f"query vectors have dimension {query.shape[1]} but model {model_id!r} stores {row[1]}")
        ids, index = self._archive_view(*row)
        if index.ntotal == 0:
            return [[] for _ in range(len(query))]
        distances, positions = index.search(query, min(int(k), index.ntotal))
        frame_ids = ids[positions]
        where = {r[0]: r[1:] for r in self._frame_rows(sorted({int(i) for i in frame_ids.ravel()}))}
        return [
            [Hit(where[int(f)][0], int(f), where[int(f)][1], float(d)) for f, d in zip(frame_ids[q], distances[q])]
            for q in range(len(query))
        ]

    def _archive_view(self, pk: int, dim: int) -> tuple[np.ndarray, Any]:
        """(frame ids, flat FAISS index) over every segment of one model, rebuilt when its runs change."""
        import faiss

        version = tuple(self._query("SELECT COUNT(*), MAX(id), SUM(count) FROM segments WHERE model = ?", (pk,))[0])
        cached = self._archive.get(pk)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        self._archive.pop(pk, None)  # free the old copy before building the new one
        index = faiss.IndexFlatIP(dim)
        ids = []
        for seg in self._segments("model = ?", (pk,)):
            index.add(seg.vectors)
            ids.append(seg.ids)
        ids_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        self._archive[pk] = (version, ids_all, index)
        return ids_all, index

    def _frame_rows(self, ids: list[int]) -> list[tuple]:
        out = []
        for start in range(0, len(ids), 900):  # SQLite's parameter limit
            chunk = ids[start : start + 900]
            out += self._query(f"SELECT id, video_id, pts_s FROM frames WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk))
        return out

    # --- text cache -----------------------------------------------------------------------------

    def text_vectors(self, encoder: Any, texts: list[str]) -> np.ndarray:
        """Text embeddings from the cache, encoding (and caching) only the texts never seen."""
        texts = list(texts)
        model = self._model_row(encoder.model_id)
        rows = [model] if model else []
        if rows and rows[0][1] != encoder.dim:
            raise ModelMismatchError(f"model {encoder.model_id!r} is stored with dimension {rows[0][1]}, the encoder gives {encoder.dim}")
        found: dict[str, np.ndarray] = {}
        if rows:
            unique = sorted(set(texts))
            for start in range(0, len(unique), 900):
                chunk = unique[start : start + 900]
                for text, blob in self._query(
                    f"SELECT text, vector FROM text_cache WHERE model = ? AND text IN ({','.join('?' * len(chunk))})",
                    (rows[0][0], *chunk),
                ):
                    vector = _cached_vector(blob, encoder.dim)
                    if vector is not None:
                        found[text] = vector
        missing = sorted({t for t in texts if t not in found})
        if missing:
            fresh = encoder.encode_text(missing)
            found.update(zip(missing, fresh))
            try:
                self.put_text_vectors(encoder.model_id, missing, fresh)
            except StoreLockedError:
                pass  # a cache: another writer holds the store, skip it this time
            except StoreCorruptError:
                raise
            except StoreError:
                pass  # e.g. a read-only store: answering matters more than caching
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=False)


class _VideoView:
    __slots__ = ("version", "frames", "vectors", "index")

    def __init__(self, version, frames, vectors, index):
        self.version, self.frames, self.vectors, self.index = version, frames, vectors, index


def _cached_vector(blob: object, dim: int) -> np.ndarray | None:
    """A cached text embedding; None when the entry is unusable (wrong size, NaN or inf): it is
    then encoded again and replaced, never searched with."""
    if not isinstance(blob, bytes) or len(blob) != 4 * dim:
        return None
    vector = np.frombuffer(blob, np.float32)
    return vector if np.isfinite(vector).all() else None


def _as_query(query: np.ndarray) -> np.ndarray:
    query = np.ascontiguousarray(np.asarray(query, dtype=np.float32))
    if query.ndim == 1:
        query = query[None, :]
    if query.ndim != 2 or query.shape[0] == 0:
        from ..errors import InvalidArgumentError

        raise InvalidArgumentError(f"query vectors have shape {query.shape}", "expected (dim,) or (queries, dim)")
    return query
