"""decord backend: the same reader protocol on decord's random-access decoder.

What decord gives and what we add (limits stated, not hidden):

- Timestamps: ``get_frame_timestamp`` (float32 seconds from the stream start). We add the start
  offset and snap each to the nearest exact packet pts of the stream (float32 carries only ~7
  digits: 0.1 ms at 10 minutes). Containers without real presentation times (AVI with B-frames)
  get start + index / fps, as in the PyAV backend.
- Streams: decord reads only the default video stream; asking for another is an error that says
  to use the pyav backend. Stream list, rotation and keyframe spacing come from a PyAV probe.
- Rotation: this decord build applies the display matrix itself for some files and not others;
  each picture's shape is checked against the display size and turned when needed, and a
  malformed picture (seen with small rotated files) raises instead of passing garbage on.
- Colours: decord's FFmpeg converts YUV to RGB with other rounding than PyAV's swscale; pictures
  agree to about one grey level on average, not bit for bit.
- Cost accounting: decord decodes internally; ``frames_decoded`` counts what ``get_batch`` must
  have decoded (from the previous position or the keyframe before each index), an estimate.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator

import cv2
import decord
import numpy as np

from ..errors import DecodeError, InvalidArgumentError, UnsupportedCodecError
from ..types import Frame, VideoInfo
from . import _pyav_probe
from .base import PTS_EPS_S, Decoded, Size, VideoReader, display_size, on_screen_indices, rotate

_DecordError = decord._ffi.base.DECORDError
BATCH = 16


class _Stop(Exception):
    def __init__(self, index: int, exc: Exception):
        super().__init__(index)
        self.index, self.exc = index, exc


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[-160:] if len(text) > 160 else text


def _shrink(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """Area-average down by the whole factor (OpenCV's fast path), then bilinear to the exact
    size: OpenCV's area resize by a fractional factor is several times slower."""
    k = min(image.shape[1] // w, image.shape[0] // h)
    if k >= 2:
        image = cv2.resize(image, (image.shape[1] // k, image.shape[0] // k), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == (w, h):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)


class DecordReader(VideoReader):
    name = "decord"

    def __init__(self, path, *, stream_index: int | None = None, threads: int = 0):
        super().__init__(path, stream_index=stream_index, threads=threads)
        self._vr = None
        self._pts: np.ndarray | None = None
        self._end_s = 0.0
        self._keys: list[int] = []
        self._pos = -1  # index of the last frame decord decoded (cost estimate)

    # --- probing --------------------------------------------------------------------------------

    def _probe(self) -> VideoInfo:
        info, meta = _pyav_probe.probe_file(self.path, self.stream_index)
        default = _pyav_probe.probe_file(self.path, None)[0].stream_index if self.stream_index is not None else info.stream_index
        if info.stream_index != default:
            raise InvalidArgumentError(
                f"stream_index = {self.stream_index} is not available with the decord backend",
                f"decord reads only the default video stream #{default}; use --backend pyav for other streams",
            )
        try:
            self._vr = decord.VideoReader(self.path, ctx=decord.cpu(0), num_threads=self.threads)
        except _DecordError as exc:
            raise UnsupportedCodecError(
                self.path, f"decord cannot decode its {info.codec} video stream ({_short(exc)})", "use the pyav backend"
            ) from None
        n = len(self._vr)
        if meta.pts_reliable:
            raw = self._vr.get_frame_timestamp(range(n)).astype(np.float64)
            starts = raw[:, 0] + meta.start_s
            exact = np.asarray(_pyav_probe.scan_packets(self.path, meta.index).pts, dtype=np.float64)
            exact = exact * meta.time_base.numerator / meta.time_base.denominator
            if len(exact):
                j = np.clip(np.searchsorted(exact, starts), 1, len(exact) - 1)
                near = np.where(np.abs(exact[j - 1] - starts) <= np.abs(exact[j] - starts), exact[j - 1], exact[j])
                close = np.abs(near - starts) <= 0.5 / max(meta.fps, 1.0)
                starts = np.where(close, near, starts)
            self._pts = starts
            self._end_s = float(raw[-1, 1] + meta.start_s) if n else meta.start_s
        else:
            self._pts = meta.start_s + np.arange(n) / meta.fps
            self._end_s = meta.start_s + n / meta.fps
        self._keys = sorted(int(k) for k in self._vr.get_key_indices())
        self._pts_reliable = meta.pts_reliable
        self._fps = meta.fps
        return info

    # --- decoding -------------------------------------------------------------------------------

    def _fetch(self, indices: list[int], account: bool = True) -> Iterator[tuple[int, np.ndarray]]:
        """(index, picture) for sorted indices, in batches. A batch that fails is retried one
        frame at a time so every good frame still comes out; then ``_Stop`` names the bad one."""
        for i in range(0, len(indices), BATCH):
            chunk = indices[i : i + BATCH]
            try:
                arrays = list(self._vr.get_batch(chunk).asnumpy())
            except _DecordError:
                # decord's decoder can stay broken after a failure: retry on a fresh one
                self._vr = decord.VideoReader(self.path, ctx=decord.cpu(0), num_threads=self.threads)
                arrays = []
                for idx in chunk:
                    try:
                        arrays.append(self._vr.get_batch([idx]).asnumpy()[0])
                    except _DecordError as exc:
                        yield from self._counted(chunk, arrays, account)
                        raise _Stop(idx, exc) from None
            yield from self._counted(chunk, arrays, account)

    def _counted(self, chunk: list[int], arrays: list[np.ndarray], account: bool) -> Iterator[tuple[int, np.ndarray]]:
        for idx, image in zip(chunk, arrays):
            if account:
                self._account(idx)
            self._pos = idx
            yield idx, image

    def _account(self, index: int) -> None:
        k = bisect.bisect_right(self._keys, index) - 1
        key = self._keys[k] if k >= 0 else 0
        if index <= self._pos or key > self._pos:  # decord seeks to the keyframe before it
            self.frames_decoded += index - key + 1
        else:
            self.frames_decoded += index - self._pos
        self._pos = index

    def _damaged(self, exc: Exception, index: int, good: int) -> DecodeError:
        last = float(self._pts[index - 1]) if index > 0 else None
        where = "before the first frame" if last is None else f"after {last:.3f} s"
        return DecodeError(
            self.path,
            f"damaged video data: decoding stopped {where} ({good} frames decoded; decord: {_short(exc)})",
            frames_decoded=good,
            stopped_at_s=last,
            hint="frames before that point are usable; re-encode or repair the file to get the rest",
        )

    def _decode(self, start_s: float | None, keyframes_only: bool) -> Iterator[Decoded]:
        pts = self._pts
        first = 0 if start_s is None else max(0, int(np.searchsorted(pts, start_s + PTS_EPS_S, side="right")) - 1)
        if keyframes_only:  # the caller counts each picture: no estimate here
            count = 0
            try:
                for k, image in self._fetch([k for k in self._keys if k >= first], account=False):
                    count += 1
                    yield self._decoded(k, image, True)
            except _Stop as stop:
                raise self._damaged(stop.exc, stop.index, count) from None
            return
        skip = 0
        if first and self._pts_reliable:
            self._vr.seek_accurate(first)
        else:
            self._vr.seek(0)
            first, skip = 0, first  # read forward from the start (see _seekable)
        self._pos = first - 1
        count = 0
        for index in range(first, len(pts)):
            try:
                image = self._vr.next().asnumpy()
            except _DecordError as exc:
                raise self._damaged(exc, index, count) from None
            except StopIteration:
                return
            self._pos = index
            if index < skip:
                self.frames_decoded += 1
                continue
            count += 1
            yield self._decoded(index, image, index in self._key_set)

    @property
    def _key_set(self) -> set[int]:
        keys = getattr(self, "_key_set_cache", None)
        if keys is None:
            keys = self._key_set_cache = set(self._keys)
        return keys

    def _decoded(self, index: int, image: np.ndarray, is_key: bool) -> Decoded:
        nxt = float(self._pts[index + 1]) if index + 1 < len(self._pts) else self._end_s
        return Decoded(float(self._pts[index]), index, is_key, self._orient(image), nxt - float(self._pts[index]))

    def _orient(self, image: np.ndarray) -> np.ndarray:
        """decord's picture in display orientation, or an error if it is malformed."""
        info = self.info
        if image.ndim != 3 or image.shape[2] != 3:
            raise DecodeError(
                self.path,
                f"decord returned a malformed picture (shape {image.shape}) for this rotated video",
                hint="use the pyav backend",
            )
        if image.shape[:2] == (info.height, info.width):
            return image
        if info.rotation in (90, 270) and image.shape[:2] == (info.width, info.height):
            return rotate(image, info.rotation)
        raise DecodeError(
            self.path,
            f"decord returned a {image.shape[1]}x{image.shape[0]} picture for a {info.width}x{info.height} video",
            hint="use the pyav backend",
        )

    # --- sampling fast path (no observer: decode only what is needed) -----------------------------

    def _iter(self, fps, size, mode, start_s, end_s, observers, sample=True) -> Iterator[Frame]:
        if observers or not sample or mode != "exact" or not self._seekable:
            yield from super()._iter(fps, size, mode, start_s, end_s, observers, sample)
            return
        info = self.info
        lo = info.start_s if start_s is None else max(info.start_s, float(start_s))
        hi = math.inf if end_s is None else float(end_s)
        step = None if fps is None else 1.0 / fps
        indices = on_screen_indices(self._pts, self._end_s, info.start_s, step, lo, hi)
        count = 0
        try:
            for index, image in self._fetch(indices):
                d = self._decoded(index, image, index in self._key_set)
                count += 1
                yield Frame(d.pts_s, index, self._to_rgb(d, size), d.is_keyframe, "uniform")
        except _Stop as stop:
            raise self._damaged(stop.exc, stop.index, count) from None

    def _locate(self, sorted_times_s: list[float]) -> list[Decoded]:
        pts = self._pts
        idx = [max(0, int(np.searchsorted(pts, t + PTS_EPS_S, side="right")) - 1) for t in sorted_times_s]
        unique = sorted(set(idx))
        images: dict[int, np.ndarray] = {}
        try:
            if self._seekable:
                images.update(self._fetch(unique))
            else:  # no trustworthy random access: decode forward from the start
                wanted = set(unique)
                for d in self._decode(None, False):
                    self.frames_decoded += 1
                    if d.index in wanted:
                        images[d.index] = d.handle
                    if d.index >= unique[-1]:
                        break
        except _Stop as stop:
            raise self._damaged(stop.exc, stop.index, len(images)) from None
        return [self._decoded(i, images[i], i in self._key_set) for i in idx]

    @property
    def _seekable(self) -> bool:
        """decord's seeking follows the container's pts; where those are decode-order labels (AVI
        with B-frames) it lands on the wrong pictures, so such files are only read forward."""
        self.info  # noqa: B018
        return self._pts_reliable

    # --- pixels -----------------------------------------------------------------------------------

    def _to_rgb(self, decoded: Decoded, size: Size) -> np.ndarray:
        image = decoded.handle
        if size is None:
            return np.ascontiguousarray(image)
        w, h = display_size(self.info, size)
        if (image.shape[1], image.shape[0]) == (w, h):
            return np.ascontiguousarray(image)
        return _shrink(image, w, h)

    def _to_rgb_coded(self, decoded: Decoded) -> np.ndarray:
        return rotate(decoded.handle, (360 - self.info.rotation) % 360)

    def _to_small(self, decoded: Decoded, width: int, height: int) -> np.ndarray:
        return cv2.resize(self._to_rgb_coded(decoded), (width, height), interpolation=cv2.INTER_LINEAR)

    def _close(self) -> None:
        self._vr = None
