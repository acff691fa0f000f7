"""PyAV backend (default): FFmpeg through PyAV's bundled libraries.

Exact timestamps come from each decoded frame's pts in the stream's time base (never from
index / fps), rotation from the frame's display matrix, threading from the codec (frame + slice,
``thread_type="AUTO"``). Scaling and RGB conversion use one long-lived swscale context per output
size, which matters on the hot path (a new context per frame costs more than the scaling).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import DecodeError
from ..types import VideoInfo
from . import _pyav_probe
from .base import PTS_EPS_S, Decoded, Size, VideoReader, coded_size, display_size, rotate

_FFmpegError = av.error.FFmpegError
# Keyframe-only reads: demuxing through up to this many keyframes beats a seek (which also
# restarts the decoder's frame-threading pipeline).
_KEYFRAME_SEEK_GAP = 8


class PyAVReader(VideoReader):
    name = "pyav"

    def __init__(self, path, *, stream_index: int | None = None, threads: int = 0):
        super().__init__(path, stream_index=stream_index, threads=threads)
        self._meta: _pyav_probe.StreamMeta | None = None
        self._scan: _pyav_probe.PacketScan | None = None
        # one long-lived swscale context per kind of conversion (sizes stay fixed within a pass)
        self._out_fmt, self._out_rgb = VideoReformatter(), VideoReformatter()  # sampled frames
        self._small_fmt, self._small_rgb = VideoReformatter(), VideoReformatter()  # analysis pictures
        self._ref_fmt = VideoReformatter()  # full-size reference pictures (re-checks)
        self._cursor: _Cursor | None = None  # frames_at decode position, kept between calls
        self._containers: list[Any] = []

    # --- probing --------------------------------------------------------------------------------

    def _probe(self) -> VideoInfo:
        info, self._meta = _pyav_probe.probe_file(self.path, self.stream_index)
        return info

    @property
    def meta(self) -> _pyav_probe.StreamMeta:
        if self._meta is None:
            self.info  # noqa: B018 (probing fills it)
        assert self._meta is not None
        return self._meta

    def packet_scan(self) -> _pyav_probe.PacketScan:
        """Every packet's pts and the keyframes (demux only, cached): pts -> frame index."""
        if self._scan is None:
            self._scan = _pyav_probe.scan_packets(self.path, self.meta.index)
        return self._scan

    # --- decoding -------------------------------------------------------------------------------

    def _open(self) -> tuple[Any, Any]:
        container = _pyav_probe.open_container(self.path)
        self._containers.append(container)
        stream = container.streams[self.meta.index]
        ctx = stream.codec_context
        ctx.thread_type = "AUTO"
        ctx.thread_count = self.threads or _usable_cpus()
        return container, stream

    def _release(self, container: Any) -> None:
        if container in self._containers:
            self._containers.remove(container)
        container.close()

    def _seek(self, container: Any, stream: Any, t_s: float, back: int = 0) -> int:
        """Position the demuxer on the keyframe shown at or before ``t_s`` (``back`` more);
        returns that keyframe's frame index."""
        scan = self.packet_scan()
        if self.meta.pts_reliable:
            i = bisect.bisect_right(scan.key_pts_s, t_s + PTS_EPS_S) - 1 - back
        else:  # keyframe positions by index: times are index / fps
            t_index = (t_s - self.meta.start_s) * self.meta.fps + PTS_EPS_S
            i = bisect.bisect_right(scan.key_index, t_index) - 1 - back
        if i < 0:
            container.seek(scan.first_ts, stream=stream, backward=True)
            return 0
        container.seek(scan.key_seek_ts[i], stream=stream, backward=True)
        return scan.key_index[i]

    def _frames_from(self, container: Any, stream: Any, t_s: float, keyframes_only: bool) -> Iterator[Decoded]:
        """Decoded pictures from the keyframe before ``t_s`` on, verified: demuxers differ in
        whether they seek by pts or dts, so when the first picture comes after ``t_s`` the seek
        is repeated one keyframe further back."""
        for back in range(4):
            key_index = self._seek(container, stream, t_s, back)
            frames = self._frames(container, stream, keyframes_only, counted=False, base_index=key_index)
            first = next(frames, None)
            if first is None:
                return
            if first.pts_s <= t_s + PTS_EPS_S or first.index == 0 or back == 3:
                break
            self.frames_decoded += 1  # the wasted picture still cost a decode
            frames.close()
        yield first
        yield from frames

    def _frames(
        self, container: Any, stream: Any, keyframes_only: bool, counted: bool, base_index: int = 0
    ) -> Iterator[Decoded]:
        """Decoded pictures in presentation order; DecodeError after the last good one.

        Index: counted from ``base_index`` when decoding every frame from a known position,
        else looked up by pts in the packet scan. Unreliable container pts (see StreamMeta) give
        way to start_s + index / fps.
        """
        meta = self.meta
        num, den = meta.time_base.numerator, meta.time_base.denominator
        default_dur = 1.0 / meta.fps if meta.fps > 0 else 0.0
        synthetic = not meta.pts_reliable
        if synthetic and keyframes_only:
            raise DecodeError(
                self.path,
                "keyframe mode needs real presentation timestamps, which this container lacks",
                hint="use mode='exact' for this file, or remux it to mp4/mkv",
            )
        scan_pts = None if (counted or synthetic) else self.packet_scan().pts
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        count = 0
        last_pts_s: float | None = None

        def make(frame: Any) -> Decoded:
            nonlocal count, last_pts_s
            if synthetic:
                pts_s = meta.start_s + (base_index + count) / meta.fps
            elif frame.pts is None:  # no timestamp at all: continue from the previous one
                pts_s = (last_pts_s + default_dur) if last_pts_s is not None else meta.start_s
            else:
                pts_s = frame.pts * num / den
            if scan_pts is None:
                index = base_index + count
            else:
                index = bisect.bisect_left(scan_pts, frame.pts) if frame.pts is not None else count
            count += 1
            last_pts_s = pts_s
            dur = frame.duration * num / den if frame.duration else None
            return Decoded(pts_s, index, bool(frame.key_frame), frame, dur)

        def damaged(exc: Exception) -> DecodeError:
            where = "before the first frame" if last_pts_s is None else f"after {last_pts_s:.3f} s"
            return DecodeError(
                self.path,
                f"damaged video data: decoding stopped {where} ({count} frames decoded; "
                f"FFmpeg: {getattr(exc, 'strerror', None) or exc})",
                frames_decoded=count,
                stopped_at_s=last_pts_s,
                hint="frames before that point are usable; re-encode or repair the file to get the rest",
            )

        try:
            for packet in container.demux(stream):
                if keyframes_only and packet.size and not packet.is_keyframe:
                    continue  # the decoder would discard it anyway
                for frame in packet.decode():
                    yield make(frame)
        except _FFmpegError as exc:
            # Stop here. Pictures still inside the decoder are not drained: with frame threading
            # the error surfaces a packet late, so they may already reference the damaged data.
            raise damaged(exc) from None

    def _decode(self, start_s: float | None, keyframes_only: bool) -> Iterator[Decoded]:
        container, stream = self._open()
        try:
            if start_s is not None and start_s > self.info.start_s + PTS_EPS_S:
                yield from self._frames_from(container, stream, start_s, keyframes_only)
            else:
                yield from self._frames(container, stream, keyframes_only, counted=not keyframes_only)
        finally:
            self._release(container)

    # --- pixels -----------------------------------------------------------------------------------

    def _to_rgb(self, decoded: Decoded, size: Size) -> np.ndarray:
        frame = decoded.handle
        info = self.info
        if size is None:
            cw, ch = frame.width, frame.height
        else:
            cw, ch = coded_size(info, *display_size(info, size, self.meta.sar))
        if (cw, ch) == (frame.width, frame.height):
            # native size: the same conversion as VideoFrame.to_ndarray(format="rgb24")
            out = self._out_fmt.reformat(frame, format="rgb24", threads=1)
        else:
            out = self._scale_then_rgb(self._out_fmt, self._out_rgb, frame, cw, ch, "AREA")
        return rotate(out.to_ndarray(), _rotation_cw(frame, info.rotation))

    @staticmethod
    def _scale_then_rgb(scaler: VideoReformatter, converter: VideoReformatter, frame: Any, w: int, h: int, how: str) -> Any:
        """Scale in YUV, then convert the small picture to RGB: swscale asked for RGB at a new
        size upsamples chroma at full size first, measured 3-7x slower. The second step is the
        same unscaled converter as a full-size RGB conversion, so colours match it."""
        mid = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        small = scaler.reformat(frame, w, h, mid, interpolation=how, threads=1)
        return converter.reformat(small, format="rgb24", threads=1)

    def _to_rgb_coded(self, decoded: Decoded) -> np.ndarray:
        return self._ref_fmt.reformat(decoded.handle, format="rgb24", threads=1).to_ndarray()

    def _to_small(self, decoded: Decoded, width: int, height: int) -> np.ndarray:
        # Point sampling picks the pixels OpenCV's bilinear resize reads at integer factors
        # (PySceneDetect's reference): scores come out within ~1 of the reference ones.
        return self._scale_then_rgb(self._small_fmt, self._small_rgb, decoded.handle, width, height, "POINT").to_ndarray()

    # --- random access ----------------------------------------------------------------------------

    def _locate(self, sorted_times_s: list[float]) -> list[Decoded]:
        scan = self.packet_scan()
        out: list[Decoded | None] = [None] * len(sorted_times_s)
        on_keyframe = self._keyframe_targets(sorted_times_s, scan)
        if on_keyframe:
            self._decode_keyframes(on_keyframe, out, scan)
        for i, t in enumerate(sorted_times_s):
            if out[i] is not None:
                continue
            cur = self._cursor
            if cur is None or not cur.can_reach(t, scan):
                if cur is not None:
                    cur.close()
                cur = self._cursor = _Cursor(self, t)
            out[i] = cur.advance_to(t)
        return out  # type: ignore[return-value]

    def _keyframe_targets(self, sorted_times_s: list[float], scan: _pyav_probe.PacketScan) -> dict[int, int]:
        """{position in the request: keyframe index} for the times whose on-screen frame is a
        keyframe (from the packet scan, no decoding). Those need no decoding of the pictures
        between keyframes, which makes a coarse pass over keyframe times cheap."""
        if not self.meta.pts_reliable or not scan.pts:
            return {}
        tb = self.meta.time_base
        keys = set(scan.key_index)
        found = {}
        for i, t in enumerate(sorted_times_s):
            j = max(0, bisect.bisect_right(scan.pts, (t + PTS_EPS_S) / tb) - 1)  # frame on screen at t
            if j in keys:
                found[i] = j
        return found

    def _decode_keyframes(self, targets: dict[int, int], out: list, scan: _pyav_probe.PacketScan) -> None:
        """Decode only keyframes (the decoder skips every other picture) to fill ``out`` at
        ``targets``; one sequential pass, seeking ahead over long gaps."""
        wanted = sorted(set(targets.values()))
        got: dict[int, Decoded] = {}
        key_pos = {index: k for k, index in enumerate(scan.key_index)}
        container, stream = self._open()
        try:
            frames = None
            last_key = -10**9
            for index in wanted:
                if index in got:
                    continue
                k = key_pos[index]
                if frames is None or k - last_key > _KEYFRAME_SEEK_GAP:
                    if frames is not None:
                        frames.close()
                    container.seek(scan.key_seek_ts[k], stream=stream, backward=True)
                    frames = self._frames(container, stream, True, counted=False)
                for d in frames:
                    self.frames_decoded += 1
                    got[d.index] = d
                    if d.index >= index:
                        break
                last_key = k
            if frames is not None:
                frames.close()
        finally:
            self._release(container)
        for position, index in targets.items():
            out[position] = got.get(index)  # None (e.g. a keyframe the decoder dropped): the cursor decodes it

    def _close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        for container in list(self._containers):
            self._release(container)


def _usable_cpus() -> int:
    """Decoder threads for ``threads=0``: one per usable core. FFmpeg's own automatic choice is
    cores + 1, which on a 2-core machine measured ~10% slower than 2 (more frames in flight
    compete with the thread that consumes them)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 16))


def _rotation_cw(frame: Any, fallback: int) -> int:
    try:
        ccw = frame.rotation  # PyAV: counter-clockwise degrees of the display matrix
    except AttributeError:  # pragma: no cover - older PyAV
        return fallback
    return int(round(-ccw / 90.0)) % 4 * 90


class _Cursor:
    """A decode position for ``frames_at``: seek once, then decode forward through sorted times."""

    def __init__(self, reader: PyAVReader, t_s: float):
        self.reader = reader
        self.container, self.stream = reader._open()
        self.held: Decoded | None = None  # last frame with pts <= the current time
        self.ahead: Decoded | None = None  # first frame after it (one-frame look-ahead)
        self.done = False
        self._start(t_s)

    def _start(self, t_s: float) -> None:
        self.frames = self.reader._frames_from(self.container, self.stream, t_s, False)
        self.held = self.ahead = None
        self.done = False

    def can_reach(self, t_s: float, scan: _pyav_probe.PacketScan) -> bool:
        """True when decoding forward is no more work than seeking (same or earlier keyframe)."""
        pos = self.ahead or self.held
        if pos is None or self.held is None:
            return False
        if t_s + PTS_EPS_S < self.held.pts_s:
            return False  # behind us
        key_i = bisect.bisect_right(scan.key_pts_s, t_s + PTS_EPS_S) - 1
        return key_i < 0 or scan.key_pts_s[key_i] <= pos.pts_s + PTS_EPS_S

    def _next(self) -> Decoded | None:
        if self.done:
            return None
        try:
            d = next(self.frames)
        except StopIteration:
            self.done = True
            return None
        self.reader.frames_decoded += 1
        return d

    def advance_to(self, t_s: float) -> Decoded:
        while True:
            nxt = self.ahead if self.ahead is not None else self._next()
            self.ahead = None
            if nxt is None:
                break
            if nxt.pts_s <= t_s + PTS_EPS_S:
                self.held = nxt
                continue
            self.ahead = nxt
            break
        if self.held is None:  # t before the first frame: the first frame is shown
            if self.ahead is None:
                raise DecodeError(self.reader.path, f"no frame could be decoded near {t_s:.3f} s")
            self.held, self.ahead = self.ahead, None
        return self.held

    def close(self) -> None:
        self.frames.close()
        self.reader._release(self.container)


__all__ = ["PyAVReader"]
