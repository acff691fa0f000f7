"""Decoding: exact frame timestamps, one-pass sampling, keyframe-only mode, frames at given times.

    from longvid.decode import probe, open_video, BACKENDS

    info = probe("video.mp4")                       # VideoInfo, no full decode
    with open_video("video.mp4") as reader:         # backend="pyav" (default) or "decord"
        for frame in reader.iter_frames(fps=1.0, size=224):
            frame.pts_s, frame.index, frame.image   # seconds, frame index, RGB uint8 HxWx3
        reader.frames_at([12.0, 30.5], size=224)     # the frames on screen at those times

Backends are classes registered by name in ``BACKENDS`` (imported on first use), each a
``VideoReader`` (see ``base.py``: the protocol and the sampling logic they share).
"""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry
from ..types import VideoInfo
from .base import VideoReader
from .observer import FrameObserver

BACKENDS: Registry[type[VideoReader]] = Registry("decode backend")
BACKENDS.register("pyav", "longvid.decode.pyav_backend:PyAVReader")
BACKENDS.register("decord", "longvid.decode.decord_backend:DecordReader")


def open_video(
    path: str | Path, backend: str = "pyav", *, stream_index: int | None = None, threads: int = 0
) -> VideoReader:
    """Open a video for decoding; checks the file and probes it up front (typed errors)."""
    reader_cls = BACKENDS.get(backend)
    reader = reader_cls(path, stream_index=stream_index, threads=threads)
    try:
        reader.info  # noqa: B018 - fail now on a bad file, not in the middle of a loop
    except BaseException:
        reader.close()
        raise
    return reader


def probe(path: str | Path, backend: str = "pyav", *, stream_index: int | None = None) -> VideoInfo:
    """Duration, frame rate, frame count, streams, rotation, keyframe spacing (no full decode)."""
    with open_video(path, backend, stream_index=stream_index) as reader:
        return reader.info


__all__ = ["BACKENDS", "FrameObserver", "VideoReader", "open_video", "probe"]
