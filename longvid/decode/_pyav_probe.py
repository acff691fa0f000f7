"""Opening and probing with PyAV: container errors mapped to typed errors, ``VideoInfo`` from
container metadata plus one decoded frame (rotation, true first pts), keyframe spacing and
frame-rate regularity from the demuxer's index or packet flags (demux only, no decoding).

Shared by both backends: decord has no API for rotation, streams or keyframes.
"""

from __future__ import annotations

import bisect
import os
import statistics
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from ..errors import (
    DecodeError,
    InvalidArgumentError,
    NotAVideoError,
    NoVideoStreamError,
    UnsupportedCodecError,
    VideoNotFoundError,
)
from ..types import StreamInfo, VideoInfo
from ._checks import describe_streams

PROBE_PACKETS = 3000  # packets read to measure keyframe spacing when the index does not cover the stream


@dataclass(frozen=True)
class StreamMeta:
    """What the backends need beyond ``VideoInfo``."""

    index: int
    time_base: Fraction
    sar: float
    fps: float
    start_s: float
    # False when the container's pts only number packets in decode order (AVI with B-frames):
    # frames then get start_s + index / fps in the decoder's (presentation) output order.
    pts_reliable: bool = True


@dataclass(frozen=True)
class PacketScan:
    """Result of demuxing every packet of the video stream once (no decoding)."""

    pts: list[int]  # sorted presentation timestamps (stream time base): position = frame index
    key_pts_s: list[float]  # keyframes, sorted by pts, in seconds
    key_seek_ts: list[int]  # the timestamp to seek to for each keyframe (its pts)
    key_index: list[int]  # each keyframe's frame index
    first_ts: int


def quiet_ffmpeg() -> None:
    """Stop FFmpeg printing its own log lines on stderr (its errors reach the user as typed,
    one-line exceptions). Left alone when the user configured PyAV logging or LONGVID_DEBUG=1."""
    global _quieted
    if _quieted:
        return
    _quieted = True
    if av.logging.get_level() is None and os.environ.get("LONGVID_DEBUG", "") in ("", "0"):
        av.logging.set_libav_level(av.logging.FATAL)


_quieted = False


def open_container(path: str) -> Any:
    quiet_ffmpeg()
    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.FileNotFoundError:
        raise VideoNotFoundError(path, "no such file", "check the path") from None
    except av.error.PermissionError:
        raise NotAVideoError(path, "cannot be read (permission denied)", "fix the file's permissions") from None
    except (av.error.InvalidDataError, av.error.EOFError) as exc:
        raise NotAVideoError(
            path,
            f"is not a video file FFmpeg can read ({_reason(exc)})",
            "check that it is a complete video file, not text or a partial download",
        ) from None
    except av.error.FFmpegError as exc:
        raise NotAVideoError(path, f"cannot be opened as a video ({_reason(exc)})", "check the file") from None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())


def _codec_label(stream: Any) -> str | None:
    ctx = stream.codec_context
    if ctx is not None:
        # the codec ("av1"), not the decoder that implements it ("libdav1d")
        return getattr(ctx.codec, "canonical_name", None) or ctx.name
    tag = getattr(stream, "codec_tag", None)
    return f"unknown ({tag})" if tag else "unknown"


def select_video_stream(container: Any, path: str, stream_index: int | None) -> Any:
    streams = list(container.streams)
    if stream_index is not None:
        if stream_index >= len(streams):
            raise InvalidArgumentError(
                f"stream_index = {stream_index} is invalid for {path}",
                f"it has {len(streams)} streams (0..{len(streams) - 1}); see `longvid info`",
            )
        stream = streams[stream_index]
        if stream.type != "video":
            raise InvalidArgumentError(
                f"stream_index = {stream_index} is invalid for {path}",
                f"stream #{stream_index} is {stream.type}, not video; see `longvid info`",
            )
        return stream
    video = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not video:
        kinds = [(s.type, _codec_label(s)) for s in streams]
        raise NoVideoStreamError(
            path, f"has no video stream ({describe_streams(kinds)})", "give a file that contains video"
        )
    best = container.streams.best("video")
    return best if best in video else video[0]


def check_decodable(stream: Any, path: str) -> None:
    if stream.codec_context is None:
        raise UnsupportedCodecError(
            path,
            f"video stream #{stream.index} uses a codec this FFmpeg build cannot decode "
            f"(codec id unknown to libavcodec {av.library_versions.get('libavcodec')})",
            "convert it to a common codec, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`",
        )


def _first_frame(container: Any, stream: Any, path: str) -> Any:
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise DecodeError(
            path,
            f"the video stream cannot be decoded ({_reason(exc)}); no frame decoded",
            hint="the file is damaged or uses an unsupported codec feature; try re-encoding it",
        ) from None
    raise DecodeError(path, "the video stream holds no decodable frame", hint="the file is empty or damaged")


def _timestamps(stream: Any, container: Any) -> tuple[list[tuple[int, bool]], bool]:
    """(timestamp, is_keyframe) per packet and whether they cover the whole stream.

    The demuxer's index (mp4/mov: every sample) is free; otherwise demux the first packets.
    """
    try:
        entries = stream.index_entries
        n = len(entries)
    except Exception:  # noqa: BLE001 - older PyAV or a demuxer without an index
        entries, n = None, 0
    if entries is not None and n >= 2 and stream.frames and n >= stream.frames:
        # mp4/mov: a full sample table (dts; its presentation offsets are trustworthy)
        return [(e.timestamp, bool(e.is_keyframe)) for e in entries if not e.is_discard], True
    out = []
    try:
        for packet in container.demux(stream):
            ts = packet.pts if packet.pts is not None else packet.dts
            if ts is None:
                continue
            out.append((ts, bool(packet.is_keyframe)))
            if len(out) >= PROBE_PACKETS:
                return out, False
    except av.error.FFmpegError:
        return out, False
    return out, True


def _fake_pts(stamps: list[tuple[int, bool]], reorders: bool) -> bool:
    """True when a stream whose decoder reorders frames (B-frames) still has packet pts that only
    ever increase in decode order: then they are decode-order labels, not presentation times."""
    if not reorders or len(stamps) < 8 or all(key for _, key in stamps):
        return False
    return all(b > a for (a, _), (b, _) in zip(stamps, stamps[1:]))


def _spacing(stamps: list[tuple[int, bool]], tb: float) -> tuple[float | None, bool | None]:
    """Median keyframe spacing in seconds, and whether frame spacing varies (VFR)."""
    keys = sorted(ts for ts, key in stamps if key)
    key_gaps = [b - a for a, b in zip(keys, keys[1:]) if b > a]
    interval = statistics.median(key_gaps) * tb if key_gaps else None
    times = sorted(ts for ts, _ in stamps)
    gaps = [b - a for a, b in zip(times, times[1:])]
    if len(gaps) < 2:
        return interval, None
    median = statistics.median(gaps)
    # one tick of slack: 29.97 fps in a 1/1000 time base alternates 33 and 34
    vfr = any(abs(g - median) > max(1, 0.005 * median) for g in gaps[:-1])
    return interval, vfr


def probe_file(path: str, stream_index: int | None = None) -> tuple[VideoInfo, StreamMeta]:
    container = open_container(path)
    try:
        stream = select_video_stream(container, path, stream_index)
        check_decodable(stream, path)
        tb = stream.time_base or Fraction(1, 1)
        ctx = stream.codec_context
        fps_q = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(fps_q) if fps_q else 0.0
        first = _first_frame(container, stream, path)
        rotation = int(round(-getattr(first, "rotation", 0) / 90.0)) % 4 * 90
        start_s = float(first.pts * tb) if first.pts is not None else float((stream.start_time or 0) * tb)
        try:
            container.seek(0)  # back to the start for the packet pass (index-less containers)
        except av.error.FFmpegError:
            pass
        stamps, complete = _timestamps(stream, container)
        # mp4/mov store presentation offsets per sample; other containers are checked
        mov = "mov" in container.format.name or "mp4" in container.format.name
        pts_reliable = mov or not _fake_pts(stamps, bool(getattr(ctx, "has_b_frames", 0)))
        if not pts_reliable:
            start_s = float((stream.start_time or 0) * tb)
        key_interval, vfr = _spacing(stamps, float(tb))
        if not pts_reliable:
            vfr = False  # synthesised times are regular by construction
        if vfr is None:
            base = float(stream.base_rate) if stream.base_rate else fps
            vfr = bool(fps and base and abs(base - fps) / base > 0.01)
        if stream.duration:
            duration_s = float(stream.duration * tb)
        elif container.duration:
            duration_s = max(0.0, container.duration / av.time_base - (start_s - float((container.start_time or 0) / av.time_base)))
        else:
            duration_s = 0.0
        if stream.frames:
            frame_count, exact = int(stream.frames), True
        elif complete and stamps:
            frame_count, exact = len(stamps), True
        else:
            frame_count, exact = int(round(duration_s * fps)), False
        sar = float(stream.sample_aspect_ratio) if stream.sample_aspect_ratio else 1.0
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        streams = tuple(_stream_info(s) for s in container.streams)
        info = VideoInfo(
            path=path,
            container=container.format.name,
            stream_index=stream.index,
            codec=_codec_label(stream) or ctx.name,
            width=w,
            height=h,
            rotation=rotation,
            fps=fps,
            start_s=start_s,
            duration_s=duration_s,
            frame_count=frame_count,
            frame_count_exact=exact,
            is_vfr=bool(vfr),
            keyframe_interval_s=key_interval,
            pix_fmt=ctx.pix_fmt,
            bit_rate=stream.bit_rate or container.bit_rate or None,
            streams=streams,
        )
        return info, StreamMeta(stream.index, Fraction(tb), sar or 1.0, fps, start_s, pts_reliable)
    finally:
        container.close()


def _stream_info(s: Any) -> StreamInfo:
    tb = s.time_base
    dur = float(s.duration * tb) if (s.duration and tb) else None
    fps = None
    width = height = None
    if s.type == "video":
        rate = s.average_rate or s.guessed_rate
        fps = float(rate) if rate else None
        ctx = s.codec_context
        width, height = (ctx.width, ctx.height) if ctx is not None else (None, None)
    return StreamInfo(
        index=s.index,
        kind=s.type,
        codec=_codec_label(s),
        language=s.language,
        width=width,
        height=height,
        fps=fps,
        frame_count=int(s.frames) if s.frames else None,
        duration_s=dur,
    )


def scan_packets(path: str, stream_index: int) -> PacketScan:
    container = open_container(path)
    try:
        stream = container.streams[stream_index]
        pts: list[int] = []
        keys: list[tuple[int, int]] = []
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    continue
                pts.append(ts)
                if packet.is_keyframe:
                    keys.append((ts, ts))
        except av.error.FFmpegError:
            pass  # damaged tail: what was read still indexes the good part
        pts.sort()
        keys.sort()
        tb = stream.time_base
        return PacketScan(
            pts=pts,
            key_pts_s=[float(p * tb) for p, _ in keys],
            key_seek_ts=[d for _, d in keys],
            key_index=[bisect.bisect_left(pts, p) for p, _ in keys],
            first_ts=pts[0] if pts else 0,
        )
    finally:
        container.close()
