"""The reader protocol every decode backend implements, and the logic they share.

A backend subclasses ``VideoReader`` and provides four primitives:

- ``_probe()`` -> ``VideoInfo`` (no full decode),
- ``_decode(start_s, keyframes_only)`` -> ``Iterator[Decoded]``: pictures in presentation order,
  raising ``DecodeError`` after the last good one when the data is damaged,
- ``_to_rgb(decoded, size)`` -> (H, W, 3) uint8 RGB in display orientation at ``size``,
- ``_to_small(decoded, width, height)`` -> a small RGB analysis picture (coded orientation).

``iter_frames`` (one sequential pass, exact "frame on screen at t" sampling, observers fed every
decoded picture) and ``frames_at`` are written once here on top of them.

Times are seconds on the stream's own timeline (start offsets included). "The frame on screen at
t" is the last frame whose pts is <= t (within ``PTS_EPS_S`` for float rounding).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Frame, VideoInfo
from ._checks import check_video_path
from .observer import FrameObserver, ObserverSet, ObserverThread, analysis_shape

PTS_EPS_S = 1e-5  # far below any frame duration (240 fps = 4.2 ms), above float rounding
MODES = ("exact", "keyframes")
Size = int | tuple[int, int] | None


@dataclass(slots=True)
class Decoded:
    """A decoded picture as a backend hands it to the shared logic."""

    pts_s: float
    index: int
    is_keyframe: bool
    handle: Any  # backend-specific (av.VideoFrame, decord NDArray, ...)
    duration_s: float | None = None


def validate_size(size: Size) -> Size:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if size < 2:
            raise InvalidArgumentError(f"size = {size!r} is invalid", "give the shorter side in pixels (>= 2) or None")
        return int(size)
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 2 for v in size)
    ):
        return (int(size[0]), int(size[1]))
    raise InvalidArgumentError(
        f"size = {size!r} is invalid", "give the shorter side in pixels (int), (width, height), or None"
    )


def display_size(info: VideoInfo, size: Size, sar: float = 1.0) -> tuple[int, int]:
    """(width, height) of output frames in display orientation for a requested ``size``.

    ``size=None`` keeps the decoded pixels (no resampling); an int sets the shorter side and keeps
    the display aspect ratio (sample aspect ratio ``sar`` applied); a tuple is exact.
    """
    if size is None:
        return info.width, info.height
    if isinstance(size, tuple):
        return size
    width = info.width * (sar if info.rotation in (0, 180) else 1.0)
    height = info.height * (sar if info.rotation in (90, 270) else 1.0)
    if width <= height:
        return size, max(2, round(height * size / width))
    return max(2, round(width * size / height)), size


def coded_size(info: VideoInfo, out_w: int, out_h: int) -> tuple[int, int]:
    """The size to scale the coded picture to so that it is (out_w, out_h) once rotated."""
    return (out_h, out_w) if info.rotation in (90, 270) else (out_w, out_h)


def rotate(image: np.ndarray, rotation_cw: int) -> np.ndarray:
    """Turn a coded picture ``rotation_cw`` degrees clockwise; the result is C-contiguous."""
    k = (-(rotation_cw // 90)) % 4  # np.rot90 turns counter-clockwise
    # also drops row padding: PyAV's to_ndarray returns a view of the padded picture
    return np.ascontiguousarray(np.rot90(image, k) if k else image)


def on_screen_indices(
    pts_s: np.ndarray,
    end_of_last_s: float,
    origin_s: float,
    step_s: float | None,
    lo_s: float,
    hi_s: float,
) -> list[int]:
    """The exact-mode selection over a known timeline (backends that index the whole stream up
    front): for each sample time t_k = origin + k * step in [lo, hi) before the end of the last
    frame, the last frame with pts <= t_k; each frame once, in order. ``step=None``: every frame
    whose pts lies in [lo, hi)."""
    pts = np.asarray(pts_s, dtype=np.float64)
    if len(pts) == 0:
        return []
    if step_s is None:
        keep = (pts >= lo_s - PTS_EPS_S) & (pts < hi_s - PTS_EPS_S)
        return np.flatnonzero(keep).tolist()
    k0 = max(0, math.ceil((lo_s - origin_s) / step_s - 1e-9))
    stop = min(hi_s, end_of_last_s)
    count = max(0, math.ceil((stop - origin_s) / step_s - 1e-9) - k0)
    targets = origin_s + (k0 + np.arange(count)) * step_s
    targets = targets[(targets < hi_s) & (targets + PTS_EPS_S < end_of_last_s)]
    idx = np.searchsorted(pts, targets + PTS_EPS_S, side="right") - 1
    idx = np.clip(idx, 0, len(pts) - 1)
    return np.unique(idx).tolist()


def _validate_times(start_s: float | None, end_s: float | None) -> None:
    for name, value in (("start_s", start_s), ("end_s", end_s)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise InvalidArgumentError(f"{name} = {value!r} is invalid", "give seconds as a finite number or None")
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise InvalidArgumentError(f"end_s = {end_s!r} is invalid", f"it must be after start_s = {start_s!r}")


class VideoReader(ABC):
    """One video file opened for decoding. Use as a context manager or call ``close()``."""

    name = "base"

    def __init__(self, path: str | Path, *, stream_index: int | None = None, threads: int = 0):
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
            raise InvalidArgumentError(f"threads = {threads!r} is invalid", "give 0 (automatic) or a positive count")
        if stream_index is not None and (not isinstance(stream_index, int) or stream_index < 0):
            raise InvalidArgumentError(
                f"stream_index = {stream_index!r} is invalid", "give a stream number as shown by `longvid info`"
            )
        self.path = check_video_path(path)
        self.stream_index = stream_index
        self.threads = threads
        self.frames_decoded = 0  # running count of decoded pictures (cost accounting)
        self._info: VideoInfo | None = None
        self._closed = False

    # --- backend primitives ---------------------------------------------------------------------

    @abstractmethod
    def _probe(self) -> VideoInfo: ...

    @abstractmethod
    def _decode(self, start_s: float | None, keyframes_only: bool) -> Iterator[Decoded]: ...

    @abstractmethod
    def _to_rgb(self, decoded: Decoded, size: Size) -> np.ndarray: ...

    @abstractmethod
    def _to_small(self, decoded: Decoded, width: int, height: int) -> np.ndarray: ...

    def _to_reference_small(self, decoded: Decoded, width: int, height: int) -> np.ndarray:
        """The analysis picture made the reference way (full-size RGB, OpenCV bilinear resize)."""
        import cv2

        full = self._to_rgb_coded(decoded)
        if (full.shape[1], full.shape[0]) == (width, height):
            return full
        return cv2.resize(full, (width, height), interpolation=cv2.INTER_LINEAR)

    def _to_rgb_coded(self, decoded: Decoded) -> np.ndarray:
        """Full-size RGB in coded orientation (no rotation)."""
        raise NotImplementedError

    def _close(self) -> None:  # release backend resources
        pass

    # --- public API -------------------------------------------------------------------------------

    @property
    def info(self) -> VideoInfo:
        if self._info is None:
            self._info = self._probe()
        return self._info

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidArgumentError(f"{self.path}: this reader is closed", "open the video again")

    def iter_frames(
        self,
        fps: float | None = 1.0,
        size: Size = None,
        mode: str = "exact",
        start_s: float | None = None,
        end_s: float | None = None,
        observer: FrameObserver | Sequence[FrameObserver] | None = None,
    ) -> Iterator[Frame]:
        """Frames sampled in ONE sequential decode pass.

        ``mode="exact"``: for each sample time t_k = first_pts + k / fps inside [start_s, end_s)
        the frame on screen at t_k, each frame at most once; ``fps=None`` yields every frame.
        ``mode="keyframes"``: only keyframes are decoded (much faster), filtered by ``fps`` to at
        most one per 1/fps interval of the same grid.
        ``observer`` (one or several) is fed every picture this pass decodes, as a small RGB
        analysis picture, so scene detection shares the pass.
        """
        self._check_open()
        if fps is not None and not (isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps) and fps > 0):
            raise InvalidArgumentError(f"fps = {fps!r} is invalid", "give a positive number of frames per second, or None for every frame")
        if mode == "keyframe":
            mode = "keyframes"
        if mode not in MODES:
            raise InvalidArgumentError(f"mode = {mode!r} is invalid", "choose 'exact' or 'keyframes'")
        size = validate_size(size)
        _validate_times(start_s, end_s)
        observers = ObserverSet.of(observer)
        return self._iter(fps, size, mode, start_s, end_s, observers)

    def observe(
        self,
        observer: FrameObserver | Sequence[FrameObserver],
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> int:
        """Decode every frame in [start_s, end_s) once, feeding ``observer`` (one or several),
        without producing sampled frames (e.g. scene detection alone). Returns frames decoded."""
        self._check_open()
        _validate_times(start_s, end_s)
        observers = ObserverSet.of(observer)
        if not observers:
            raise InvalidArgumentError("observer = None is invalid", "give at least one observer")
        before = self.frames_decoded
        for _ in self._iter(None, None, "exact", start_s, end_s, observers, sample=False):
            pass
        return self.frames_decoded - before

    def _iter(self, fps, size, mode, start_s, end_s, observers: ObserverSet, sample: bool = True) -> Iterator[Frame]:
        info = self.info
        keyframes = mode == "keyframes"
        source = "keyframe" if keyframes else "uniform"
        step = None if fps is None else 1.0 / fps
        origin = info.start_s
        lo = origin if start_s is None else max(origin, float(start_s))
        hi = math.inf if end_s is None else float(end_s)
        # k: the next sample time t_k = origin + k * step, starting at the first one >= lo
        k = 0 if step is None else max(0, math.ceil((lo - origin) / step - 1e-9))
        small_sizes = {id(o): analysis_shape(info, o.analysis_size) for o in observers}
        small_sizes.update({-id(o): analysis_shape(info, getattr(o, "reference_size", o.analysis_size)) for o in observers})
        prev: Decoded | None = None  # exact mode: the frame on screen until the next one arrives

        def emit(d: Decoded) -> Frame:
            return Frame(d.pts_s, d.index, self._to_rgb(d, size), d.is_keyframe, source)

        frames = self._decode(None if start_s is None else lo, keyframes)
        last_pts: float | None = None
        worker = None
        if observers:
            worker = ObserverThread(
                observers, lambda d: observers.observe(d, self._to_small, small_sizes, self._to_reference_small)
            )
        try:
            for d in frames:
                self.frames_decoded += 1
                in_range = lo - PTS_EPS_S <= d.pts_s < hi - PTS_EPS_S
                if worker is not None and in_range:
                    last_pts = d.pts_s
                    worker.submit(d)
                if not sample:
                    if d.pts_s >= hi - PTS_EPS_S:
                        break
                    continue
                if step is not None and not keyframes:
                    # Every sample time before this frame's pts shows `prev`.
                    used = False
                    while prev is not None and origin + k * step < hi and origin + k * step + PTS_EPS_S < d.pts_s:
                        used = True
                        k += 1
                    if used:
                        yield emit(prev)
                    if d.pts_s >= hi - PTS_EPS_S:
                        prev = None
                        break
                    prev = d
                    continue
                if d.pts_s >= hi - PTS_EPS_S:
                    break
                if not in_range:
                    continue
                if step is None:
                    yield emit(d)
                elif d.pts_s + PTS_EPS_S >= origin + k * step:
                    # keyframes thinned to the first one at or after each sample time
                    yield emit(d)
                    k = math.floor((d.pts_s + PTS_EPS_S - origin) / step) + 1
            if prev is not None:
                # End of stream: the last frame stays on screen for its duration.
                dur = prev.duration_s or (1.0 / info.fps if info.fps > 0 else 0.0)
                if origin + k * step + PTS_EPS_S < min(prev.pts_s + dur, hi):
                    yield emit(prev)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
            if worker is not None:
                worker.close()  # every picture observed (or the observer's error raised)
                observers.finish(last_pts)

    def frames_at(self, times_s: Iterable[float], size: Size = None) -> list[Frame]:
        """The frames on screen at each of ``times_s`` (same order, duplicates allowed).

        Times are served in sorted order, each by decoding forward from the keyframe before it;
        a time close after the previous one continues the same decode instead of seeking again.
        Times before the first frame give the first frame; times after the end give the last.
        """
        self._check_open()
        times = list(times_s)
        for t in times:
            if not (isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)):
                raise InvalidArgumentError(f"time {t!r} is invalid", "give times in seconds as finite numbers")
        size = validate_size(size)
        if not times:
            return []
        order = sorted(range(len(times)), key=lambda i: times[i])
        found = self._locate([float(times[i]) for i in order])
        out: list[Frame | None] = [None] * len(times)
        cache: dict[int, Frame] = {}
        for i, d in zip(order, found):
            frame = cache.get(d.index)
            if frame is None:
                frame = Frame(d.pts_s, d.index, self._to_rgb(d, size), d.is_keyframe, "at")
                cache[d.index] = frame
            out[i] = frame
        return out  # type: ignore[return-value]

    @abstractmethod
    def _locate(self, sorted_times_s: list[float]) -> list[Decoded]:
        """The decoded picture on screen at each (sorted) time."""
