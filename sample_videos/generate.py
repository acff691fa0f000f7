"""Make synthetic videos with known answers (see README.md here for the vocabulary and the JSON).

    python sample_videos/generate.py                  # rewrite the shipped samples in this folder
    python sample_videos/generate.py --check          # regenerate them elsewhere, compare bytes
    python sample_videos/generate.py video out.mp4 --seed 7 --duration-s 600 --needles 1
    python sample_videos/generate.py video out.mp4 --seed 8 --duration-s 3600 --width 384 --height 216

Every video is written with its ground truth beside it (``out.mp4`` -> ``out.json``). The same
seed and options give the same bytes (x264 runs single-threaded).
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from longvid.errors import LongvidError  # noqa: E402
from longvid.synth import Combo, generate_video, plan_needle_video, plan_video, truth_path  # noqa: E402


def sample_specs() -> dict:
    """The shipped samples: name -> plan. Seeds 1-3 (below the training seed range)."""
    return {
        # The README's first command asks "when does the red star jump?": one red star, jumping.
        "demo": plan_needle_video(1, 90, needles=[(Combo("red", "star"), "jump")], distractors_per_minute=10),
        # A needle of a random colour + shape among distractors that share its colour or shape.
        "needle": plan_needle_video(2, 120, needles=1, distractors_per_minute=8),
        # Many short scenes, hard cuts and fades, objects of any kind (some repeat).
        "scenes": plan_video(3, 60, events_per_minute=10, scene_s=(3, 9), fade_probability=0.5),
    }


def write_samples(folder: Path) -> list[Path]:
    written = []
    for name, spec in sample_specs().items():
        path = folder / f"{name}.mp4"
        started = time.perf_counter()
        truth = generate_video(path, spec)
        print(f"{path}: {spec.duration_s:.0f} s, {len(truth.events)} events, {len(truth.cuts)} cuts, "
              f"{path.stat().st_size / 1e3:.0f} kB, {time.perf_counter() - started:.1f} s")
        written += [path, truth_path(path)]
    return written


def check_samples() -> int:
    """Regenerate into a temporary folder and compare with the shipped files byte for byte."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = write_samples(Path(tmp))
        differ = [p.name for p in fresh if not (HERE / p.name).is_file() or not filecmp.cmp(p, HERE / p.name, shallow=False)]
    if differ:
        print(f"differ from the shipped samples: {', '.join(differ)}")
        return 1
    print("the shipped samples regenerate byte for byte")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="regenerate the samples elsewhere and compare bytes")
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("video", help="generate one video (and its .json ground truth)")
    one.add_argument("out", type=Path)
    one.add_argument("--seed", type=int, required=True, help="any seed below 1,000,000,000 (higher ones train the tiny CLIP)")
    one.add_argument("--duration-s", type=float, default=60.0)
    one.add_argument("--needles", type=int, default=0, help="plan a haystack with this many needle events (0: random events)")
    one.add_argument("--width", type=int, default=320)
    one.add_argument("--height", type=int, default=180)
    one.add_argument("--fps", default="10", help="frames per second, e.g. 10 or 30000/1001")
    one.add_argument("--crf", type=int, default=26, help="x264 quality: lower is better and bigger")
    args = parser.parse_args(argv)
    try:
        if args.command == "video":
            options = dict(width=args.width, height=args.height, fps=args.fps)
            if args.needles:
                spec = plan_needle_video(args.seed, args.duration_s, needles=args.needles, **options)
            else:
                spec = plan_video(args.seed, args.duration_s, **options)
            started = time.perf_counter()
            truth = generate_video(args.out, spec, crf=args.crf)
            seconds = time.perf_counter() - started
            print(f"{args.out}: {len(truth.events)} events, {len(truth.cuts)} cuts, {len(truth.qa)} questions; "
                  f"{spec.frame_count / seconds:.0f} frames/s; ground truth in {truth_path(args.out)}")
            return 0
        if args.check:
            return check_samples()
        write_samples(HERE)
        return 0
    except LongvidError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
