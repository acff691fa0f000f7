"""Decode benchmark: longvid's 1 fps exact sampling and keyframe mode against a full decode by
the ffmpeg command, with decord for comparison.

    python benchmarks/decode.py            # 10-minute 1280x720 30 fps H.264 (GOP 2 s), generated once
    python benchmarks/decode.py --quick    # 1-minute file, for a fast look

Every contender runs as its own process, timed from launch to exit (imports included, as for
the ffmpeg command), on a file already in the page cache; each repeat runs all contenders in
turn and the best time is reported (the least disturbed by other work on the machine).

Targets (issue 2): exact 1 fps sampling <= 1.15 x `ffmpeg -threads 2 -i f -f null -`;
keyframe mode >= 8 x faster than exact sampling.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import bench_video, machine_note, run_timed, warm  # noqa: E402

SIZE = 256  # DecodeConfig.size: the shorter side of frames handed to the encoder


def worker(kind: str, path: str, threads: int) -> dict:
    """One measured job, run in a child process; prints what it did."""
    t0 = time.perf_counter()
    if kind in ("exact", "keyframes", "decord-backend"):
        from longvid.decode import open_video

        backend = "decord" if kind == "decord-backend" else "pyav"
        mode = "keyframes" if kind == "keyframes" else "exact"
        with open_video(path, backend, threads=threads) as r:
            n = sum(1 for _ in r.iter_frames(fps=None if mode == "keyframes" else 1.0, size=SIZE, mode=mode))
            decoded = r.frames_decoded
    elif kind == "pyav-raw":  # the decoder alone, every frame, no conversion: PyAV's floor
        import av

        with av.open(path) as c:
            s = c.streams.video[0]
            s.thread_type = "AUTO"
            s.thread_count = threads
            n = decoded = sum(1 for _ in c.decode(s))
    elif kind == "decord-get_batch":  # decord as its users call it: 1 frame per second by index
        import decord

        vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=threads)
        fps = vr.get_avg_fps()
        indices = [round(i * fps) for i in range(int(len(vr) / fps) + 1) if round(i * fps) < len(vr)]
        for i in range(0, len(indices), 16):
            vr.get_batch(indices[i : i + 16]).asnumpy()
        n, decoded = len(indices), None
    else:
        raise SystemExit(f"unknown worker {kind!r}")
    return {"frames": n, "decoded": decoded, "inner_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1-minute file instead of 10 minutes")
    ap.add_argument("--repeat", type=int, default=None, help="runs per contender (default 3 quick, 2 full)")
    ap.add_argument("--threads", type=int, default=0, help="longvid/PyAV decoder threads (0 = automatic)")
    ap.add_argument("--no-decord", action="store_true", help="skip the decord rows")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file, args.threads)))
        return

    path = bench_video(quick=args.quick)
    repeat = args.repeat or (3 if args.quick else 2)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg command not found (Debian: apt-get install ffmpeg)")
    me = [sys.executable, str(Path(__file__).resolve()), "--file", str(path), "--threads", str(args.threads), "--worker"]
    contenders = {
        "ffmpeg -threads 2 full decode": [ffmpeg, "-v", "error", "-threads", "2", "-i", str(path), "-f", "null", "-"],
        "ffmpeg -threads 2 keyframes only": [ffmpeg, "-v", "error", "-threads", "2", "-skip_frame", "nokey", "-i", str(path), "-f", "null", "-"],
        "longvid pyav exact 1 fps": [*me, "exact"],
        "longvid pyav keyframes": [*me, "keyframes"],
        "PyAV decode loop, no conversion": [*me, "pyav-raw"],
    }
    if not args.no_decord:
        contenders["decord get_batch 1 fps"] = [*me, "decord-get_batch"]
        contenders["longvid decord exact 1 fps"] = [*me, "decord-backend"]

    print(f"file: {path.name} ({path.stat().st_size / 1e6:.0f} MB)   machine: {machine_note()}")
    warm(path)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    details: dict[str, dict] = {}
    for r in range(repeat):
        for name, cmd in contenders.items():
            seconds, cpu, out = run_timed(cmd)
            times[name].append(seconds)
            cpus[name].append(cpu)
            if out.strip():
                details[name] = json.loads(out.strip().splitlines()[-1])
            print(f"  run {r + 1}/{repeat}  {name:34s} {seconds:7.2f} s wall {cpu:7.2f} s CPU", flush=True)

    best = {name: min(ts) for name, ts in times.items()}
    cpu = {name: min(cs) for name, cs in cpus.items()}
    ref, ref_cpu = best["ffmpeg -threads 2 full decode"], cpu["ffmpeg -threads 2 full decode"]
    print(f"\n{'contender':34s} {'best s':>8s} {'median s':>9s} {'x ffmpeg':>9s} {'CPU s':>8s} {'x ffmpeg':>9s}  frames out / decoded")
    for name, ts in times.items():
        d = details.get(name, {})
        extra = f"{d.get('frames', '')} / {d.get('decoded', '?')}" if d else ""
        print(f"{name:34s} {best[name]:8.2f} {statistics.median(ts):9.2f} {best[name] / ref:9.3f} "
              f"{cpu[name]:8.2f} {cpu[name] / ref_cpu:9.3f}  {extra}")
    exact, keys = best["longvid pyav exact 1 fps"], best["longvid pyav keyframes"]
    checks = [
        ("exact 1 fps <= 1.15 x ffmpeg full decode", exact / ref, exact / ref <= 1.15),
        ("keyframe mode >= 8 x faster than exact", exact / keys, exact / keys >= 8.0),
    ]
    print()
    for label, value, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {value:.3f}")
    print(f"machine after: {machine_note()}  (timings on a shared machine are disturbed by other work)")
    if args.json:
        args.json.write_text(json.dumps({"file": str(path), "times_s": times, "best_s": best, "cpu_s": cpus, "details": details,
                                         "checks": {label: [value, ok] for label, value, ok in checks}}, indent=2))


if __name__ == "__main__":
    main()
