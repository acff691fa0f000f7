"""Content fingerprints: the key a video is stored under, so renaming or moving a file finds its
index again and changing its bytes does not.

Files up to ``FULL_HASH_LIMIT`` bytes are hashed whole. Bigger ones hash their size, the first and
last 4 MiB (container headers, moov/cues, the end of the stream) and 32 chunks of 64 KiB spread
evenly in between: about 10 MiB read however large the file is (a 20 GB file costs as much as a
20 MB one). A re-encode, a trim or any edit that moves data changes many of those bytes; the one
change this cannot see is an in-place edit of equal size that touches no sampled chunk, which
video tools do not make.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import VideoInputError, VideoNotFoundError

FULL_HASH_LIMIT = 32 * 1024 * 1024
EDGE_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
CHUNKS = 32
VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    digest: str  # "v1-" + 32 hex digits
    size_bytes: int
    mtime_ns: int
    # The file's identity when it was hashed: while a path still shows the same size, mtime,
    # ctime and inode, its bytes are taken to be unchanged (the rule git and make use), so a
    # search does not read the file again. Any write, chmod, copy or replacement changes one.
    ctime_ns: int = 0
    inode: int = 0

    def stat_key(self) -> tuple[int, int, int, int]:
        return (self.size_bytes, self.mtime_ns, self.ctime_ns, self.inode)


def stat_key(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def fingerprint_file(path: str | os.PathLike) -> Fingerprint:
    """The content fingerprint of a file; raises a ``VideoInputError`` naming it when unreadable."""
    path = Path(path)
    try:
        if path.is_dir():
            raise VideoInputError(str(path), "is a directory", "pass a video file")
        if path.exists() and not path.is_file():  # a FIFO or device would block or never end
            raise VideoInputError(str(path), "is not a regular file", "pass a video file")
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            digest = _digest(handle, stat.st_size)
    except FileNotFoundError:
        raise VideoNotFoundError(str(path), "no such file", "check the path") from None
    except PermissionError:
        raise VideoInputError(str(path), "cannot be read (permission denied)", "check the file's permissions") from None
    return Fingerprint(f"{VERSION}-{digest}", stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _digest(handle, size: int) -> str:
    h = hashlib.sha256(f"{VERSION}:{size}:".encode())
    if size <= FULL_HASH_LIMIT:
        while block := handle.read(1024 * 1024):
            h.update(block)
        return h.hexdigest()[:32]
    h.update(_read_at(handle, 0, EDGE_BYTES))
    middle_start, middle_end = EDGE_BYTES, size - EDGE_BYTES - CHUNK_BYTES
    for k in range(CHUNKS):
        offset = middle_start + (middle_end - middle_start) * k // (CHUNKS - 1)
        h.update(_read_at(handle, offset, CHUNK_BYTES))
    h.update(_read_at(handle, size - EDGE_BYTES, EDGE_BYTES))
    return h.hexdigest()[:32]


def _read_at(handle, offset: int, length: int) -> bytes:
    handle.seek(offset)
    return handle.read(length)
