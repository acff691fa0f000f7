"""Vector segments: immutable FAISS files, one per index run, ``IndexIDMap2`` over ``IndexFlatIP``
whose ids are the SQLite row ids of the frames they embed.

A segment is written to a temporary name, flushed to disk and renamed into place while the run's
SQLite transaction is still open; the transaction then registers it (name, count, dimension,
SHA-256, and the file's identity as verified: see integrity.py). A run killed before the commit
leaves at most an unregistered file, which readers never look at and ``gc`` removes. Files are
never modified after the rename.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StoreCorruptError
from . import integrity
from .integrity import all_finite, identity, store_file

SEGMENT_DIR = "segments"
SUFFIX = ".faiss"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True, slots=True)
class Segment:
    """A loaded segment: frame ids, their vectors (rows in the same order) and the FAISS index."""

    file: str
    ids: np.ndarray  # (n,) int64
    vectors: np.ndarray  # (n, d) float32
    index: object  # faiss.IndexIDMap2
    verified: str | None = None  # the file's identity, when it was verified by this read


def new_segment_name(model_pk: int) -> str:
    """A store-relative file name no other run can pick."""
    return f"{SEGMENT_DIR}/m{model_pk}/{uuid.uuid4().hex}{SUFFIX}"


def build_index(ids: np.ndarray, vectors: np.ndarray):
    import faiss

    index = faiss.IndexIDMap2(faiss.IndexFlatIP(int(vectors.shape[1])))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.ascontiguousarray(ids, np.int64))
    return index


def write_segment(root: Path, name: str, ids: np.ndarray, vectors: np.ndarray) -> tuple[int, str, str]:
    """Write a segment durably under its final name; returns (size in bytes, SHA-256, identity)."""
    import faiss

    data = faiss.serialize_index(build_index(ids, vectors)).tobytes()
    final = root / name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(TMP_PREFIX + final.name)
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return len(data), integrity.sha256_hex(data), identity(final.stat())


SEGMENT_FIX = "run `longvid store check --repair` to drop the damaged run, then index its video again (`longvid index`)"


def read_segment(
    root: Path, name: str, *, count: int, dim: int, size_bytes: int, sha256: str, trusted: str | None = None
) -> Segment:
    """Load a registered segment, checking it is the file that was registered.

    The name, size, count and dimension are always checked (cheap). The SHA-256, and that no
    vector is NaN or infinite, unless the file still has the identity ``trusted`` it had when it
    was last verified; ``Segment.verified`` then holds its identity now, for the store to remember.
    """
    import faiss

    path = store_file(root, name, "vector segment")

    def damaged(problem: str) -> StoreCorruptError:
        return StoreCorruptError(f"vector segment {path} {problem}", SEGMENT_FIX)

    try:
        with open(path, "rb") as handle:
            seen = identity(os.fstat(handle.fileno()))
            data = handle.read()
    except FileNotFoundError:
        raise damaged("is missing") from None
    except OSError as exc:
        raise damaged(f"cannot be read ({exc.strerror})") from None
    if len(data) != size_bytes:
        raise damaged(f"has {len(data)} bytes, {size_bytes} were written")
    fresh = seen != trusted
    if fresh and integrity.sha256_hex(data) != sha256:
        raise damaged("does not match its checksum")
    try:
        index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        vectors = _flat_view(index)
    except (RuntimeError, AttributeError, MemoryError) as exc:
        raise damaged(f"is not a readable FAISS index ({integrity.faiss_reason(exc)})") from None
    if index.ntotal != count or index.d != dim:
        raise damaged(f"holds {index.ntotal} vectors of dimension {index.d}, the store expects {count} of dimension {dim}")
    if fresh and not all_finite([vectors]):
        raise damaged("holds NaN or infinite values")
    return Segment(name, ids, vectors, index, seen if fresh else None)


def _flat_view(index) -> np.ndarray:
    """The vectors inside an IndexIDMap2(IndexFlatIP) as a read-only NumPy view (no copy; the
    Segment keeps the index alive)."""
    import faiss

    flat = faiss.downcast_index(index.index)
    n, d = index.ntotal, index.d
    if n == 0:
        return np.zeros((0, d), np.float32)
    view = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
    view.flags.writeable = False
    return view


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
