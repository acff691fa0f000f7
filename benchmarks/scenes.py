"""Scenes benchmark: adaptive scene detection PLUS 1 fps frame sampling in one decode pass,
against `scenedetect -b pyav detect-adaptive` (scenes only) on the same file; the cuts must be
the same.

    python benchmarks/scenes.py            # 10-minute 1280x720 30 fps H.264 (GOP 2 s), generated once
    python benchmarks/scenes.py --quick    # 1-minute file

Each contender is its own process timed from launch to exit (imports included); the file is in
the page cache first; each repeat runs all contenders in turn and the best time is reported.
PySceneDetect's run adds `list-scenes` to get its cuts (a CSV of a few lines); longvid's detector
gets the command's default minimum scene length (0.6 s) so that both apply the same rules.

Target (issue 2): scenes + 1 fps sampling <= 0.5 x the PySceneDetect time, with the same cuts.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _media import bench_video, machine_note, run_timed, segment_starts_s, warm  # noqa: E402

SIZE = 256  # DecodeConfig.size


def worker(kind: str, path: str) -> dict:
    from longvid.decode import open_video
    from longvid.scenes import make_detector

    t0 = time.perf_counter()
    backend = "decord" if kind.startswith("decord") else "pyav"
    with open_video(path, backend) as r:
        # the scenedetect command's default minimum scene length is 0.6 s (API default: 15 frames)
        det = make_detector("adaptive", min_scene_len=round(0.6 * r.info.fps))
        if kind.endswith("scenes+1fps"):
            frames = sum(1 for _ in r.iter_frames(fps=1.0, size=SIZE, observer=det))
        else:
            r.observe(det)
            frames = 0
        decoded = r.frames_decoded
    det.finish()
    return {
        "cuts": [c.index for c in det.cuts],
        "cut_times_s": [round(c.pts_s, 3) for c in det.cuts],
        "frames": frames,
        "decoded": decoded,
        "refined_scores": det.refined,
        "inner_s": time.perf_counter() - t0,
    }


def pyscenedetect_cuts(csv_path: Path) -> list[int]:
    """Scene start frames (0-based) from PySceneDetect's list-scenes CSV, first scene excluded."""
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "Scene Number")
    col = rows[header].index("Start Frame")
    starts = [int(row[col]) - 1 for row in rows[header + 1 :] if row]  # CSV frames are 1-based
    return starts[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1-minute file instead of 10 minutes")
    ap.add_argument("--repeat", type=int, default=None, help="runs per contender (default 3 quick, 2 full)")
    ap.add_argument("--decord", action="store_true", help="also run the one-pass job on the decord backend (slow)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.file)))
        return

    path = bench_video(quick=args.quick)
    repeat = args.repeat or (3 if args.quick else 2)
    scenedetect = shutil.which("scenedetect") or str(Path(sys.executable).with_name("scenedetect"))
    if not Path(scenedetect).exists():
        raise SystemExit("the scenedetect command is needed (pip install scenedetect, the dev extra)")
    out_dir = Path(tempfile.mkdtemp(prefix="longvid-scenes-bench-"))
    me = [sys.executable, str(Path(__file__).resolve()), "--file", str(path), "--worker"]
    contenders = {
        "scenedetect -b pyav detect-adaptive": [scenedetect, "-q", "-b", "pyav", "-i", str(path), "-o", str(out_dir),
                                                "detect-adaptive", "list-scenes", "-f", "cuts.csv"],
        "longvid scenes + 1 fps, one pass": [*me, "pyav scenes+1fps"],
        "longvid scenes only": [*me, "pyav scenes"],
    }
    if args.decord:
        contenders["longvid decord scenes + 1 fps"] = [*me, "decord scenes+1fps"]

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
            if name.startswith("longvid"):
                details[name] = json.loads(out.strip().splitlines()[-1])
            print(f"  run {r + 1}/{repeat}  {name:38s} {seconds:7.2f} s wall {cpu:7.2f} s CPU", flush=True)
    theirs = pyscenedetect_cuts(out_dir / "cuts.csv")
    shutil.rmtree(out_dir, ignore_errors=True)

    best = {name: min(ts) for name, ts in times.items()}
    cpu = {name: min(cs) for name, cs in cpus.items()}
    ref, ref_cpu = best["scenedetect -b pyav detect-adaptive"], cpu["scenedetect -b pyav detect-adaptive"]
    print(f"\n{'contender':38s} {'best s':>8s} {'median s':>9s} {'x scenedetect':>14s} {'CPU s':>8s} {'x scenedetect':>14s}  cuts")
    for name, ts in times.items():
        d = details.get(name)
        cuts = len(theirs) if d is None else len(d["cuts"])
        print(f"{name:38s} {best[name]:8.2f} {statistics.median(ts):9.2f} {best[name] / ref:14.3f} "
              f"{cpu[name]:8.2f} {cpu[name] / ref_cpu:14.3f}  {cuts}")
    ours = details["longvid scenes + 1 fps, one pass"]
    same = ours["cuts"] == theirs
    ratio = best["longvid scenes + 1 fps, one pass"] / ref
    print(f"\nPySceneDetect cuts (frames): {theirs}")
    print(f"longvid cuts (frames):       {ours['cuts']}")
    print(f"generated hard cuts (s):     {segment_starts_s(args.quick)}")
    print(f"longvid: {ours['frames']} frames sampled, {ours['decoded']} decoded once, "
          f"{ours['refined_scores']} scores re-checked on reference pictures")
    print()
    print(f"{'PASS' if same else 'MISS'}  same cuts as PySceneDetect: {same}")
    print(f"{'PASS' if ratio <= 0.5 and same else 'MISS'}  scenes + 1 fps <= 0.5 x scenedetect: {ratio:.3f}")
    print(f"machine after: {machine_note()}  (timings on a shared machine are disturbed by other work)")
    if args.json:
        args.json.write_text(json.dumps({"file": str(path), "times_s": times, "best_s": best, "cpu_s": cpus, "details": details,
                                         "pyscenedetect_cuts": theirs, "same_cuts": same, "ratio": ratio}, indent=2))


if __name__ == "__main__":
    main()
