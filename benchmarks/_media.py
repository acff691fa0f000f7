"""Benchmark media: a long 1280x720 30 fps H.264 file with hard cuts, generated once with the
system's ffmpeg (Debian's package) and cached.

    from _media import bench_video
    path = bench_video(quick=False)   # 10 minutes; quick=True: 1 minute

The file concatenates segments of different synthetic sources (moving test patterns, fractals,
gradients) so that a scene detector has real cuts to find and the decoder real
motion to decode. Light temporal noise keeps the bitrate near that of camera footage. Keyframes
are exactly every 2 s (``-g 60 -sc_threshold 0``), the "GOP 2 s" of DESIGN.md.

The cache folder is ``$LONGVID_BENCH_CACHE`` or ``bench_out/media`` in the repository (ignored by
git). The file name carries a hash of the recipe, so a changed recipe makes a new file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, FPS, GOP = 1280, 720, 30, 60

# Source filters, each drawing a visibly different picture; cycled through the segments.
_SOURCES = [
    "testsrc2=s={s}:r={r}",
    "sierpinski=s={s}:r={r}:seed=3:jump=50",
    "gradients=s={s}:r={r}:seed=11:speed=0.02",
    "sierpinski=s={s}:r={r}:seed=9:jump=120:type=triangle",
    "testsrc2=s=640x360:r={r},scale={s},rotate=a=0.15*t:fillcolor=#204060",
    "testsrc=s={s}:r={r}",
    "smptehdbars=s={s}:r={r}",
    "colorspectrum=s={s}:r={r}:type=all",
]
# Segment lengths in seconds (cycled); irregular so that cuts do not fall on keyframes.
_SEGMENT_S = [23.3, 37.1, 31.7, 19.9, 41.3, 28.6, 34.2, 26.5, 44.8, 21.7, 30.4, 36.9]


def _recipe(duration_s: float) -> tuple[str, list[float]]:
    scale = 1.0 if duration_s >= 300 else 0.1  # a short file gets short segments, same variety
    lengths: list[float] = []
    total = 0.0
    i = 0
    while total < duration_s - 1e-6:
        seg = min(round(_SEGMENT_S[i % len(_SEGMENT_S)] * scale, 3), round(duration_s - total, 3))
        lengths.append(seg)
        total += seg
        i += 1
    parts = []
    labels = []
    for i, seg in enumerate(lengths):
        src = _SOURCES[i % len(_SOURCES)].format(s=f"{WIDTH}x{HEIGHT}", r=FPS)
        # Hue turns slowly inside a segment (gradual change, no cut); noise adds texture.
        parts.append(
            f"{src},trim=duration={seg},setpts=PTS-STARTPTS,format=yuv420p,setsar=1,"
            f"hue=H=0.6*t+{i}:s=1.2,noise=alls=3:allf=t[v{i}]"
        )
        labels.append(f"[v{i}]")
    graph = ";".join(parts) + ";" + "".join(labels) + f"concat=n={len(lengths)}:v=1:a=0"
    return graph, lengths


def bench_video(quick: bool = False, cache_dir: Path | None = None, verbose: bool = True) -> Path:
    """Path of the cached benchmark file, generating it first when missing."""
    duration_s = 60.0 if quick else 600.0
    graph, _ = _recipe(duration_s)
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
              "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-movflags", "+faststart"]
    key = hashlib.sha1((graph + " ".join(encode)).encode()).hexdigest()[:10]
    folder = Path(cache_dir or os.environ.get("LONGVID_BENCH_CACHE") or REPO / "bench_out" / "media")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench_{int(duration_s)}s_{WIDTH}x{HEIGHT}_{FPS}fps_{key}.mp4"
    if path.is_file():
        return path
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg not found: install it (Debian: apt-get install ffmpeg)")
    tmp = path.with_suffix(".tmp.mp4")
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", graph, *encode, str(tmp)]
    if verbose:
        print(f"generating {path.name} ({duration_s:.0f} s) with ffmpeg, once ...", file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    tmp.replace(path)
    return path


def segment_starts_s(quick: bool = False) -> list[float]:
    """Where the generated file's segments start (the hard cuts), for reading benchmark output."""
    _, lengths = _recipe(60.0 if quick else 600.0)
    starts, t = [], 0.0
    for seg in lengths[:-1]:
        t += seg
        starts.append(round(t, 3))
    return starts


def run_timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds of one process, start to exit (imports included, as for any CLI peer), the
    CPU seconds it used (user + system, all threads), and its stdout. CPU seconds stay
    meaningful on a busy machine where wall time does not."""
    import resource
    import time

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, done.stdout


def machine_note() -> str:
    """CPU count and load, printed with every result: timings mean little without them."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def warm(path: Path) -> None:
    """Read the file once so that every contender starts from the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def tiny_search_config(overrides: dict | None = None):
    """The ``tiny`` preset's encoder with the pipeline's DEFAULT search settings (smoothing, how
    phrases combine, strategy, frames). The tiny preset tunes search for its video LLM (``dense``
    frames, no smoothing); benchmarks of search and selection measure the defaults a user gets
    with a real encoder."""
    import dataclasses

    from longvid.config import PipelineConfig

    config = dataclasses.replace(PipelineConfig.from_preset("tiny"), search=PipelineConfig().search)
    return config.with_overrides(overrides or {})


def needle_videos(folder: Path, count: int, lo_min: float, hi_min: float, first_seed: int, planner=None,
                  prefix: str = "needle", first: int | None = None) -> list:
    """``count`` known-answer needle videos (seeds ``first_seed`` + i) made once and cached in
    ``folder``: [(path, GroundTruth)]. Durations are spread evenly over [lo_min, hi_min] minutes
    and shuffled (seeded), so that a partial run still mixes short and long videos. ``planner``
    (``seed, duration_s -> VideoSpec``; default ``plan_needle_video``) plans each video. ``first``:
    make and return only the first that many of the ``count`` planned (their durations still
    spread over the whole range)."""
    import time

    import numpy as np

    from longvid.synth import GroundTruth, generate_video, plan_needle_video, truth_path

    planner = planner or plan_needle_video
    spread = np.linspace(lo_min, hi_min, count) if count > 1 else np.array([lo_min])
    minutes_each = np.random.default_rng(first_seed).permutation(spread)
    folder.mkdir(parents=True, exist_ok=True)
    videos = []
    for i, minutes in enumerate(round(float(m), 2) for m in minutes_each[:first]):
        seed = first_seed + i
        path = folder / f"{prefix}_{seed}_{minutes:g}min.mp4"
        if path.is_file() and truth_path(path).is_file():
            truth = GroundTruth.load(truth_path(path))
        else:
            started = time.perf_counter()
            truth = generate_video(path, planner(seed, minutes * 60.0))
            print(f"  generated {path.name}: {truth.video['frame_count']} frames in {time.perf_counter() - started:.0f} s",
                  flush=True)
        videos.append((path, truth))
    return videos


if __name__ == "__main__":
    quick = "--quick" in sys.argv[1:]
    print(bench_video(quick=quick))
