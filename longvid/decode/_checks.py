"""Checks on a video path that every backend runs before opening it (cheap, no decoding)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidArgumentError, NotAVideoError, VideoNotFoundError


def check_video_path(path: str | os.PathLike) -> str:
    """The path as a string if it names a non-empty regular file; a typed error otherwise."""
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise InvalidArgumentError(f"video path = {path!r} is invalid", "give the path of a video file")
    p = Path(path)
    if not p.exists():
        raise VideoNotFoundError(str(p), "no such file", "check the path (and the current directory)")
    if p.is_dir():
        raise NotAVideoError(str(p), "is a directory, not a video file", "give one video file")
    if not p.is_file():
        raise NotAVideoError(str(p), "is not a regular file", "give a video file")
    if p.stat().st_size == 0:
        raise NotAVideoError(str(p), "is empty (0 bytes)", "the file was not written completely; get it again")
    if not os.access(p, os.R_OK):
        raise NotAVideoError(str(p), "cannot be read (permission denied)", "fix the file's permissions")
    return str(p)


def describe_streams(kinds: list[tuple[str, str | None]]) -> str:
    """'audio (aac), subtitle (ass)' for a no-video-stream message."""
    if not kinds:
        return "no streams at all"
    return ", ".join(f"{kind} ({codec})" if codec else kind for kind, codec in kinds)
