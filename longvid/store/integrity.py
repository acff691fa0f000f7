"""What the store trusts about what it reads back: names stay inside the store, files are the ones
that were written.

Names. The store writes vector files only as ``segments/m<model>/<32 hex>.faiss`` and
``archive/m<model>/<32 hex>.faiss``, and remembers videos by absolute, normalised paths and
``v<n>-<32 hex>`` fingerprints. A row holding anything else ('../x', an absolute path, 'DIR/../x')
was damaged or crafted: it is refused before any file is opened or deleted, `store check`
reports it and `store check --repair` drops the row (never the file it names).

Contents. Each vector file's size and SHA-256 are recorded when it is written, with its identity
(size, mtime, ctime, inode) in ``verified_stat``. A read whose file still shows that identity
trusts it (a write, truncation, copy or replacement changes the ctime, which tools cannot set
back as they can the mtime); any other file is hashed and its vectors checked for NaN/inf once, and the new identity
remembered. So a 1 GB archive index is hashed once after a store is copied or upgraded, not on
every search, and damage never turns into a silently wrong result.
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import StoreCorruptError, StoreError
from ..filenames import from_sql
from .fingerprint import stat_key

STORE_FILE = re.compile(r"(?:segments|archive)/m[0-9]{1,18}/[0-9a-f]{32}\.faiss")
FINGERPRINT = re.compile(r"v[0-9]{1,4}-[0-9a-f]{32}")
DROP_ROW = "run `longvid store check --repair` to drop that row (nothing outside the store is touched)"
ARCHIVE_FIX = "run `longvid store check --repair`, then `longvid store build-index` (searches stay complete meanwhile)"


class ArchiveFileMissing(StoreCorruptError):
    """A registered archive index file is gone (or was replaced by a newer build meanwhile)."""


def is_store_file(name: object) -> bool:
    return isinstance(name, str) and STORE_FILE.fullmatch(name) is not None


def store_file(root: Path, name: object, what: str) -> Path:
    """``root / name`` for a file name read from SQLite; refused unless it is one the store writes."""
    if not is_store_file(name):
        raise StoreCorruptError(f"store {root}: {what} row names {name!r}, which is not a file inside the store", DROP_ROW)
    return root / name


def is_video_path(path: object) -> bool:
    """How the store remembers video paths (``path_key``): absolute and normalised."""
    return isinstance(path, str) and "\0" not in path and os.path.isabs(path) and os.path.normpath(path) == path


def is_fingerprint(digest: object) -> bool:
    return isinstance(digest, str) and FINGERPRINT.fullmatch(digest) is not None


def bad_path(video_id: int, path: object) -> str:
    return f"video #{video_id} is remembered at {path!r}, not an absolute normalised path"


def bad_fingerprint(video_id: int, digest: object) -> str:
    return f"video #{video_id} has the fingerprint {digest!r}, not one the store writes"


def check_video_row(root: Path, video_id: int, fingerprint: object, paths: tuple) -> None:
    """Refuse a video row whose fingerprint or remembered paths the store would never write (callers
    open those paths, and fall back to the fingerprint where no path is known)."""
    if not is_fingerprint(fingerprint):
        raise StoreCorruptError(f"store {root}: {bad_fingerprint(video_id, fingerprint)}", DROP_ROW)
    for path in paths:
        check_video_path(root, video_id, path)


def check_video_path(root: Path, video_id: int, path: object) -> None:
    if not is_video_path(path):
        raise StoreCorruptError(f"store {root}: {bad_path(video_id, path)}", DROP_ROW)


def identity(st: os.stat_result) -> str:
    """A file's identity as ``verified_stat`` keeps it: size, mtime, ctime, inode."""
    return ":".join(map(str, stat_key(st)))


def sha256_hex(source: bytes | BinaryIO) -> str:
    """SHA-256 of bytes in memory or of an open file (read in blocks)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest()
    return hashlib.file_digest(source, "sha256").hexdigest()


def faiss_reason(exc: BaseException) -> str:
    """FAISS's complaint about a file, short and whole (no C++ signature, not cut mid-word)."""
    if isinstance(exc, MemoryError):
        return "a size in its header is impossibly large"
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    reason = re.sub(r"^Error in .*? at \S+:\d+: ", "", lines[0])
    return textwrap.shorten(reason, 100, placeholder=" ...")


def all_finite(arrays: list[np.ndarray], block: int = 1 << 22) -> bool:
    """True when no value is NaN or infinite (checked in blocks: a mapped index stays mapped)."""
    for array in arrays:
        flat = array.reshape(-1)
        for start in range(0, len(flat), block):
            if not np.isfinite(flat[start : start + block]).all():
                return False
    return True


def index_float_tables(index) -> list[np.ndarray]:
    """The float arrays a FAISS index scores with, as views: raw vectors (flat, HNSW storage),
    coarse centroids and PQ codebooks (IVF-PQ), scalar-quantiser ranges (re-ranking)."""
    import faiss

    tables = []

    def flat_vectors(flat) -> None:
        flat = faiss.downcast_index(flat)
        if isinstance(flat, faiss.IndexFlat) and flat.ntotal:
            tables.append(faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d))

    inner = faiss.downcast_index(index.index if hasattr(index, "id_map") else index)
    if isinstance(inner, faiss.IndexRefine):
        refine = faiss.downcast_index(inner.refine_index)
        if isinstance(refine, faiss.IndexScalarQuantizer):
            tables.append(faiss.vector_to_array(refine.sq.trained))
        flat_vectors(refine)
        inner = faiss.downcast_index(inner.base_index)
    if isinstance(inner, faiss.IndexHNSW):
        flat_vectors(inner.storage)
    elif isinstance(inner, faiss.IndexFlat):
        flat_vectors(inner)
    elif isinstance(inner, faiss.IndexIVF):
        flat_vectors(inner.quantizer)
        pq = getattr(inner, "pq", None)
        if pq is not None:
            tables.append(faiss.vector_to_array(pq.centroids))
    return tables


class IntegrityMixin:
    def _read_archive_index(self, record, *, mmap: bool = True, verify: bool = False):
        """The FAISS index of an archive index record, from the file that was registered: size
        always checked; SHA-256 and finite tables once per file identity (or always, ``verify``).
        ``mmap``: mapped read-only where FAISS can, as searches want it; else a writable copy."""
        import faiss

        path = store_file(self.root, record.file, "archive index")

        def damaged(problem: str, kind=StoreCorruptError) -> StoreCorruptError:
            return kind(f"archive index {path} {problem}", ARCHIVE_FIX)

        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                seen = identity(st)
                if st.st_size != record.size_bytes:
                    raise damaged(f"has {st.st_size} bytes, {record.size_bytes} were written")
                fresh = verify or seen != record.verified_stat
                if fresh and sha256_hex(handle) != record.sha256:
                    raise damaged("does not match its checksum")
        except FileNotFoundError:
            raise damaged("is missing", ArchiveFileMissing) from None
        except OSError as exc:
            raise damaged(f"cannot be read ({exc.strerror})") from None
        flags = faiss.IO_FLAG_READ_ONLY | faiss.IO_FLAG_MMAP if mmap else 0
        try:
            try:
                index = faiss.read_index(str(path), flags | faiss.IO_FLAG_MMAP_IFC if mmap else flags)
            except RuntimeError:
                if not mmap:
                    raise
                index = faiss.read_index(str(path), flags)  # plain IVF lists map only through IO_FLAG_MMAP
        except (RuntimeError, MemoryError) as exc:
            raise damaged(f"is not a readable FAISS index ({faiss_reason(exc)})") from None
        if index.ntotal != record.count or index.d != record.dim:
            raise damaged(f"holds {index.ntotal} vectors of dimension {index.d}, the store expects {record.count} of dimension {record.dim}")
        if fresh:
            if not all_finite(index_float_tables(index)):
                raise damaged("holds NaN or infinite values")
            try:
                unchanged = identity(path.stat()) == seen
            except OSError:
                unchanged = False
            if not unchanged:
                raise damaged("changed while it was being read")
            if seen != record.verified_stat:
                self._remember_verified("archive_indexes", record.id, record.sha256, seen)
        return index

    def _remember_verified(self, table: str, row_id: int, sha256: str, verified: str | None) -> None:
        """Remember that a file with this identity matched its row, or (None) that none is known
        to (best effort: a store that is locked or read-only verifies it again next time)."""
        try:
            with self.transaction() as c:
                c.execute(f"UPDATE {table} SET verified_stat = ? WHERE id = ? AND sha256 = ?", (verified, row_id, sha256))
        except StoreCorruptError:
            raise
        except StoreError:
            pass

    def _video_row_problems(self) -> tuple[list[str], list[str], list[int]]:
        """(problems, remembered paths to forget, videos to drop) for `store check`."""
        problems, paths, videos = [], [], []
        for stored, video_id in self._query("SELECT path, video_id FROM video_paths ORDER BY video_id, path"):
            path = from_sql(stored) if isinstance(stored, bytes) else stored  # a name that is not UTF-8 is a BLOB
            if not is_video_path(path):
                problems.append(bad_path(video_id, path))
                paths.append(path)
        for video_id, digest in self._query("SELECT id, fingerprint FROM videos ORDER BY id"):
            if not is_fingerprint(digest):
                problems.append(bad_fingerprint(video_id, digest))
                videos.append(video_id)
        return problems, paths, videos
