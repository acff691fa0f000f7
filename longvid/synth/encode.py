"""Writing synthetic videos: render a spec frame by frame and encode it to H.264 with PyAV.

The file is written to a temporary name beside the target and renamed when complete, so an
interrupted run never leaves a half-written video under the real name. With the default
``threads=1`` the same seed gives the same bytes on one machine; across machines the frames are
the same but x264's bitstream depends on the CPU's instruction set too (its AVX-512 code paths
encode differently from its AVX2 ones), so compare decoded frames there.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidArgumentError
from .plan import VideoSpec, plan_video
from .render import iter_frames
from .truth import GroundTruth, build_ground_truth

_FORMATS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}


def truth_path(video_path: str | Path) -> Path:
    """Where a video's ground truth lives: ``clip.mp4`` -> ``clip.json``."""
    return Path(video_path).with_suffix(".json")


def generate_video(
    path: str | Path,
    spec_or_seed: VideoSpec | int,
    *,
    duration_s: float = 60.0,
    width: int = 320,
    height: int = 180,
    fps: float | str = 10,
    crf: int = 26,
    preset: str = "veryfast",
    keyframe_interval_s: float = 2.0,
    threads: int = 1,
    write_truth: bool = True,
) -> GroundTruth:
    """Render and encode a synthetic video; returns its ground truth (also saved as ``<path>.json``).

    ``spec_or_seed`` is a plan (``plan_video`` / ``plan_needle_video``) or a seed, which plans a
    ``plan_video(seed, duration_s, width=..., height=..., fps=...)``; the size and rate arguments
    are ignored when a spec is given.
    """
    import av

    path = Path(path)
    container_format = _FORMATS.get(path.suffix.lower())
    if container_format is None:
        raise InvalidArgumentError(f"{path}: unsupported video file extension", f"use one of {', '.join(_FORMATS)}")
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"{path}: folder {path.parent} does not exist", "create it first")
    if not 0 <= crf <= 51:
        raise InvalidArgumentError(f"crf = {crf} is invalid", "expected 0 (lossless) to 51")
    if threads < 1:
        raise InvalidArgumentError(f"threads = {threads} is invalid", "expected 1 or more encoder threads")
    if isinstance(spec_or_seed, VideoSpec):
        spec = spec_or_seed
    elif isinstance(spec_or_seed, int):
        spec = plan_video(spec_or_seed, duration_s, width=width, height=height, fps=fps)
    else:
        raise InvalidArgumentError(f"spec_or_seed = {spec_or_seed!r} is invalid", "give a VideoSpec or an int seed")

    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    try:
        with av.open(str(tmp), "w", format=container_format) as container:
            stream = container.add_stream("libx264", rate=spec.rate)
            stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
            gop = max(1, round(keyframe_interval_s * float(spec.rate)))
            stream.codec_context.gop_size = gop
            stream.codec_context.options = {"preset": preset, "crf": str(crf), "threads": str(threads)}
            time_base = 1 / spec.rate  # frame i at pts i: exactly i / fps seconds
            for index, image in iter_frames(spec):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                frame.time_base = time_base
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    truth = build_ground_truth(spec, path.name)
    # Same seed -> same bytes holds for one encoder build on one kind of CPU; record the build.
    truth.video["encoder"] = (
        f"PyAV {av.__version__}, libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}, "
        f"libx264 preset={preset} crf={crf} threads={threads} keyint={gop}"
    )
    if write_truth:
        truth.save(truth_path(path))
    return truth
