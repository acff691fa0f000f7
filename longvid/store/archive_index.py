"""Archive indexes: one approximate FAISS index per model over its segments, chosen by size from
the recipes (``recipes.py``), persisted in the store folder and searched together with the
segments added since it was built, so archive search is always complete.

    store.update_archive_index(model_id)          # after a batch: build, extend or leave it
    found = store.search_archive(model_id, query_vectors, k=10)
    found.hits[0]          # [Hit(video_id, frame_id, pts_s, score), ...] best first
    found.recipe, found.indexed, found.exact   # what answered: "hnsw" over 250,000 + 1,200 exact

Lifecycle. An index covers the model's segments with ids up to ``max_segment_id`` (segment ids
only grow; ``repair`` drops the index of a model whose runs it drops). Newer segments (the
"tail") are searched exactly beside it. When the tail passes the recipe's ``max_tail_vectors``
the index is extended (a copy with the tail added: files are never modified in place); when the
archive outgrows the recipe's size range, or an IVF index's training no longer fits its size, it
is built again from scratch (IVF trained on a seeded sample). A build writes a temporary file,
then - holding the write lock - renames it into place and registers it in one transaction, so a
killed build leaves at most a temporary file (``gc`` removes it once it is old). Loading maps
the file read-only where FAISS supports it (``IO_FLAG_MMAP_IFC`` for flat codes: HNSW storage,
refinement codes; ``IO_FLAG_MMAP`` for IVF lists).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import InvalidArgumentError, ModelMismatchError, NotIndexedError
from . import integrity
from .integrity import ArchiveFileMissing, identity, store_file
from .records import Hit
from .recipes import Recipe, apply_search_params, choose_recipe, load_recipes
from .segments import TMP_PREFIX, _fsync_dir

ARCHIVE_DIR = "archive"
SUFFIX = ".faiss"
EXACT_RESTRICTED_MAX = 200_000  # a folder's videos holding fewer vectors are searched exactly
TRAIN_SEED = 0


@dataclass(frozen=True)
class ArchiveIndexRecord:
    id: int
    model: int  # models row id
    recipe: str
    kind: str
    params: dict
    file: str
    count: int
    dim: int
    max_segment_id: int
    segments: int
    size_bytes: int
    sha256: str
    seconds: float | None
    created_at: float
    verified_stat: str | None = None  # the file's identity when its checksum last matched


@dataclass
class ArchiveHits:
    """What ``search_archive`` found and how: ``recipe`` is the index's recipe or "exact"."""

    hits: list[list[Hit]]
    recipe: str
    indexed: int  # vectors answered by the recipe index
    exact: int  # vectors searched exactly (the tail, or everything without an index)
    restricted_to: int | None = None  # number of videos the search was limited to
    seconds: float = 0.0


@dataclass
class ArchiveUpdate:
    """What ``update_archive_index`` did: "none", "built", "extended" or "dropped"."""

    model_id: str
    action: str
    recipe: str
    vectors: int
    tail: int = 0
    seconds: float = 0.0
    record: ArchiveIndexRecord | None = field(default=None, repr=False)
    exact: bool = False  # the recipe searches exactly from the segments (no index file)


class ArchiveIndexMixin:
    # --- records ----------------------------------------------------------------------------------

    def archive_index(self, model_id: str) -> ArchiveIndexRecord | None:
        row = self._model_row(model_id)
        return None if row is None else self._archive_record(row[0])

    def _archive_record(self, pk: int) -> ArchiveIndexRecord | None:
        """The model's archive index; refused when its row names a file outside the store."""
        records = self._archive_records("model = ?", (pk,))
        if not records:
            return None
        store_file(self.root, records[0].file, "archive index")
        return records[0]

    def _archive_records(self, where: str, params: tuple) -> list[ArchiveIndexRecord]:
        """Rows as records, names unchecked (`store check` reports what is wrong with them)."""
        rows = self._query(
            "SELECT id, model, recipe, params_json, file, count, dim, max_segment_id, segments, size_bytes, sha256, "
            f"seconds, created_at, verified_stat FROM archive_indexes WHERE {where} ORDER BY id",
            params,
        )
        out = []
        for r in rows:
            params = json.loads(r[3])
            out.append(ArchiveIndexRecord(r[0], r[1], r[2], params.get("kind", "?"), params, *r[4:]))
        return out

    def _covers(self, record: ArchiveIndexRecord) -> bool:
        """True while every segment the index was built from is still registered."""
        count, total = self._query(
            "SELECT COUNT(*), COALESCE(SUM(count), 0) FROM segments WHERE model = ? AND id <= ?",
            (record.model, record.max_segment_id),
        )[0]
        return (count, total) == (record.segments, record.count)

    def _segment_rows(self, pk: int, above: int = 0) -> list[tuple]:
        """Segment rows (reading.SEGMENT_COLUMNS: id, file, count, dim, ...) of a model, by id."""
        from .reading import SEGMENT_COLUMNS

        return self._query(f"SELECT {SEGMENT_COLUMNS} FROM segments WHERE model = ? AND id > ? ORDER BY id", (pk, above))

    # --- building -----------------------------------------------------------------------------------

    def update_archive_index(
        self,
        model_id: str,
        recipes: list[Recipe] | None = None,
        *,
        force: bool = False,
        notify: Callable[[str], None] | None = None,
    ) -> ArchiveUpdate:
        """Bring the model's archive index in line with its size (see the module docstring).

        ``force`` builds from scratch even when the index is current.
        """
        started = time.perf_counter()
        row = self._model_row(model_id)
        if row is None:
            raise NotIndexedError(f"no video is indexed with model {model_id!r}", "index some videos with it first")
        pk, dim = row
        recipes = recipes if recipes is not None else load_recipes()
        segments = self._segment_rows(pk)
        total = sum(r[2] for r in segments)
        recipe = choose_recipe(total, recipes)
        current = self._archive_record(pk)
        if not recipe.persisted:
            if current is not None:
                self._drop_archive_record(pk, current)
                return ArchiveUpdate(model_id, "dropped", recipe.name, total, seconds=time.perf_counter() - started, exact=True)
            return ArchiveUpdate(model_id, "none", recipe.name, total, exact=True)
        valid = current is not None and current.recipe == recipe.name and self._covers(current)
        tail = total - current.count if valid else total
        grown = valid and recipe.kind == "ivfpq" and total > float(recipe.params.get("retrain_growth", 4.0)) * current.params.get("trained_n", total)
        if valid and not force and not grown and tail <= recipe.max_tail_vectors:
            return ArchiveUpdate(model_id, "none", recipe.name, total, tail, record=current)
        base = current if valid and not force and not grown else None
        if notify:
            verb = "extending" if base else "building"
            notify(f"{verb} the {recipe.name} archive index for {model_id} ({total:,} vectors)")
        record = self._build_archive_index(pk, dim, recipe, segments, base)
        action = "none" if record is None else ("extended" if base else "built")
        return ArchiveUpdate(model_id, action, recipe.name, total, 0, time.perf_counter() - started, record or current)

    def _build_archive_index(self, pk: int, dim: int, recipe: Recipe, segments: list[tuple], base: ArchiveIndexRecord | None):
        import faiss

        started = time.perf_counter()
        n = sum(r[2] for r in segments)
        if base is None:
            params = {"kind": recipe.kind, **recipe.build_params(n, dim)}
            index = recipe.new_index(n, dim, params)
            if not index.is_trained:
                index.train(self._training_sample(segments, params))
            todo = segments
        else:
            params = dict(base.params)
            index = self._read_archive_index(base, mmap=False)  # a writable copy; the file stays as it is
            todo = [r for r in segments if r[0] > base.max_segment_id]
        # A graph built in one add is better than one grown segment by segment: FAISS inserts
        # each add's vectors level by level, and 10k-vector steps cost recall@10 0.967 -> 0.934
        # on benchmarks/archive.py's 100k store. IVF lists do not care, and at IVF sizes a
        # second copy of every vector would not fit in memory, so those stay per segment.
        batches = self._segment_batches(todo, whole=recipe.kind == "hnsw" and base is None)
        for vectors, ids in batches:
            index.add_with_ids(vectors, ids)
        name = f"{ARCHIVE_DIR}/m{pk}/{uuid.uuid4().hex}{SUFFIX}"
        final = self.root / name
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(TMP_PREFIX + final.name)
        faiss.write_index(index, str(tmp))
        del index
        digest, size_bytes = _sha256_file(tmp)
        record = ArchiveIndexRecord(
            0, pk, recipe.name, recipe.kind, params, name, n, dim, segments[-1][0] if segments else 0, len(segments),
            size_bytes, digest, time.perf_counter() - started, time.time(),
        )
        return self._register_archive_index(record, tmp)

    def _segment_batches(self, segments: list[tuple], *, whole: bool):
        """(vectors, ids) per segment, or all of them as one batch when ``whole``. A segment's
        vectors are a view into its FAISS index, valid while the segment object lives: each is
        used (added, or copied into the batch) before the next is read."""
        rows = [r for r in segments if r[2]]
        if whole and rows:
            vectors = np.empty((sum(r[2] for r in rows), rows[0][3]), dtype=np.float32)
            ids = np.empty(vectors.shape[0], dtype=np.int64)
            at = 0
            for row in rows:
                seg, count = self._load_segment(row), row[2]
                vectors[at : at + count], ids[at : at + count] = seg.vectors, seg.ids
                at += count
            yield vectors, ids
            return
        for row in rows:
            seg = self._load_segment(row)
            yield np.ascontiguousarray(seg.vectors), np.ascontiguousarray(seg.ids)

    def _training_sample(self, segments: list[tuple], params: dict) -> np.ndarray:
        """A seeded random sample of the vectors (IVF/PQ training needs tens of points per list, not all)."""
        n = sum(r[2] for r in segments)
        want = min(n, int(params.get("train_per_list", 50)) * int(params.get("nlist", 1)), int(params.get("train_max", 250_000)))
        rng = np.random.default_rng(TRAIN_SEED)
        parts = []
        for row in segments:
            count = row[2]
            if count == 0:
                continue
            keep = rng.random(count) < want / n
            if keep.any():
                seg = self._load_segment(row)  # its vectors view lives as long as seg
                parts.append(seg.vectors[keep])
                del seg
        return np.ascontiguousarray(np.concatenate(parts), np.float32)

    def _register_archive_index(self, record: ArchiveIndexRecord, tmp) -> ArchiveIndexRecord | None:
        """Rename the finished file into place and register it, holding the write lock. Returns
        None (and removes the file) when the store moved on meanwhile: a segment it covers was
        dropped, or another process registered an index at least as new."""
        final = self.root / record.file
        old = None
        try:
            with self.transaction() as c:
                if not self._covers(record):
                    raise _Superseded
                old = self._archive_record(record.model)
                if old is not None and old.max_segment_id > record.max_segment_id and self._covers(old):
                    raise _Superseded  # another process registered a newer one while we built
                os.replace(tmp, final)
                _fsync_dir(final.parent)
                record = dataclasses.replace(record, verified_stat=identity(final.stat()))  # hashed as written
                c.execute("DELETE FROM archive_indexes WHERE model = ?", (record.model,))
                new_id = c.execute(
                    "INSERT INTO archive_indexes(model, recipe, params_json, file, count, dim, max_segment_id, segments, "
                    "size_bytes, sha256, seconds, created_at, verified_stat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.model, record.recipe, json.dumps(record.params, sort_keys=True), record.file, record.count,
                     record.dim, record.max_segment_id, record.segments, record.size_bytes, record.sha256,
                     record.seconds, record.created_at, record.verified_stat),
                ).lastrowid
        except _Superseded:
            tmp.unlink(missing_ok=True)
            return None
        except BaseException:
            tmp.unlink(missing_ok=True)
            final.unlink(missing_ok=True)
            raise
        if old is not None:
            (self.root / old.file).unlink(missing_ok=True)  # readers that mapped it keep their mapping
        self._recipe_indexes.pop(record.model, None)
        return dataclasses.replace(record, id=new_id)

    def _drop_archive_record(self, pk: int, old: ArchiveIndexRecord) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM archive_indexes WHERE id = ?", (old.id,))
        (self.root / old.file).unlink(missing_ok=True)
        self._recipe_indexes.pop(pk, None)

    # --- searching ----------------------------------------------------------------------------------

    def _load_archive_index(self, record: ArchiveIndexRecord):
        """The FAISS index of a record, mapped read-only and verified (integrity.py), with its
        search parameters applied; kept while the record stays the model's index."""
        cached = self._recipe_indexes.get(record.model)
        if cached is not None and cached[0] == record.id:
            return cached[1]
        index = self._read_archive_index(record)
        apply_search_params(index, record.kind, record.params)
        self._recipe_indexes[record.model] = (record.id, index)
        return index

    def _tail_view(self, pk: int, dim: int, above: int) -> tuple[np.ndarray, Any, int]:
        """(frame ids, flat index, vectors) over the model's segments newer than ``above``."""
        import faiss

        version = (above, *self._query("SELECT COUNT(*), MAX(id), SUM(count) FROM segments WHERE model = ? AND id > ?", (pk, above))[0])
        cached = self._tail_indexes.get(pk)
        if cached is not None and cached[0] == version:
            return cached[1]
        index, ids = faiss.IndexFlatIP(dim), []
        for row in self._segment_rows(pk, above):
            seg = self._load_segment(row)
            index.add(np.ascontiguousarray(seg.vectors))
            ids.append(seg.ids)
        view = (np.concatenate(ids) if ids else np.zeros(0, np.int64), index, int(index.ntotal))
        self._tail_indexes[pk] = (version, view)
        return view

    def search_archive(self, model_id: str, query: np.ndarray, k: int = 10, *, video_ids=None) -> ArchiveHits:
        """The ``k`` best frames per query vector over every video indexed with ``model_id``
        (or only ``video_ids``): the recipe index plus an exact search of what it does not cover."""
        from .reading import _as_query

        started = time.perf_counter()
        query = _as_query(query)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidArgumentError(f"k = {k!r} is invalid", "expected at least 1")
        row = self._model_row(model_id)
        if row is None:
            raise NotIndexedError(f"no video is indexed with model {model_id!r}", "index some videos with it first")
        pk, dim = row
        if query.shape[1] != dim:
            raise ModelMismatchError(f"query vectors have dimension {query.shape[1]} but model {model_id!r} stores {dim}")
        allowed = None if video_ids is None else {int(v) for v in video_ids}
        record = self._archive_record(pk)
        if record is not None and not self._covers(record):
            record = None  # stale (a covered run was dropped): exact search until it is rebuilt
        if allowed is not None:
            n_allowed = self._allowed_vectors(pk, allowed)
            if record is None or n_allowed <= EXACT_RESTRICTED_MAX:
                hits = self._exact_for_videos(pk, dim, allowed, query, int(k))
                return ArchiveHits(hits, "exact", 0, n_allowed, len(allowed), time.perf_counter() - started)
        if record is None:
            ids, index = self._archive_view(pk, dim)  # ReadMixin: one flat index over every segment
            hits = [[] for _ in range(len(query))]
            if index.ntotal:
                hits = self._hits(ids, *index.search(query, min(int(k), index.ntotal)), int(k))
            return ArchiveHits(hits, "exact", 0, int(index.ntotal), None, time.perf_counter() - started)
        try:
            ann = self._load_archive_index(record)
        except ArchiveFileMissing:
            newer = self._archive_record(pk)
            if newer is None or newer.id == record.id:
                raise
            return self.search_archive(model_id, query, k, video_ids=video_ids)  # replaced by a newer build meanwhile
        tail_ids, tail, n_tail = self._tail_view(pk, dim, record.max_segment_id)
        fetch = int(k) if allowed is None else min(record.count, int(k) * 8)
        while True:
            scores, ids = ann.search(query, min(fetch, record.count))
            if n_tail:
                t_scores, t_pos = tail.search(query, min(fetch, n_tail))
                scores = np.concatenate([scores, t_scores], axis=1)
                ids = np.concatenate([ids, np.where(t_pos >= 0, tail_ids[np.clip(t_pos, 0, None)], -1)], axis=1)
            hits = self._merge(scores, ids, int(k), allowed)
            if allowed is None or min(len(h) for h in hits) >= k or fetch >= record.count:
                break
            fetch *= 4
        return ArchiveHits(hits, record.recipe, record.count, n_tail, None if allowed is None else len(allowed), time.perf_counter() - started)

    def _allowed_vectors(self, pk: int, videos: set[int]) -> int:
        total, ordered = 0, sorted(videos)
        for start in range(0, len(ordered), 900):
            chunk = ordered[start : start + 900]
            total += self._query(
                f"SELECT COALESCE(SUM(count), 0) FROM segments WHERE model = ? AND video_id IN ({','.join('?' * len(chunk))})",
                (pk, *chunk),
            )[0][0]
        return total

    def _exact_for_videos(self, pk: int, dim: int, videos: set[int], query: np.ndarray, k: int) -> list[list[Hit]]:
        import faiss

        index, ids = faiss.IndexFlatIP(dim), []
        ordered = sorted(videos)
        for start in range(0, len(ordered), 900):
            chunk = ordered[start : start + 900]
            for seg in self._segments(f"model = ? AND video_id IN ({','.join('?' * len(chunk))})", (pk, *chunk)):
                index.add(np.ascontiguousarray(seg.vectors))
                ids.append(seg.ids)
        if not index.ntotal:
            return [[] for _ in range(len(query))]
        scores, positions = index.search(query, min(k, index.ntotal))
        return self._hits(np.concatenate(ids), scores, positions, k)

    def _hits(self, ids: np.ndarray, scores, positions, k: int) -> list[list[Hit]]:
        frame_ids = np.where(positions >= 0, ids[np.clip(positions, 0, None)], -1)
        return self._merge(scores, frame_ids, k, None)

    def _merge(self, scores: np.ndarray, frame_ids: np.ndarray, k: int, allowed: set[int] | None) -> list[list[Hit]]:
        """Best ``k`` per row of (score, frame id) candidates, as Hits (unknown ids dropped)."""
        wanted = sorted({int(f) for f in frame_ids.ravel() if f >= 0})
        where = {r[0]: r[1:] for r in self._frame_rows(wanted)}
        out = []
        for row_scores, row_ids in zip(scores, frame_ids):
            order = np.argsort(-row_scores, kind="stable")
            hits, seen = [], set()
            for j in order:
                f = int(row_ids[j])
                if f < 0 or f in seen or f not in where:
                    continue
                video_id, pts_s = where[f]
                if allowed is not None and video_id not in allowed:
                    continue
                seen.add(f)
                hits.append(Hit(video_id, f, pts_s, float(row_scores[j])))
                if len(hits) == k:
                    break
            out.append(hits)
        return out


class _Superseded(Exception):
    pass


def _sha256_file(path) -> tuple[str, int]:
    """(SHA-256, size) of a file just written, flushed to disk."""
    with open(path, "rb") as handle:
        digest = integrity.sha256_hex(handle)
        os.fsync(handle.fileno())
        return digest, os.fstat(handle.fileno()).st_size
