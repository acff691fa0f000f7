"""Annotation files from the synthetic generator's ground truth (``clip.json`` beside ``clip.mp4``).

    python -m longvid.eval.from_truth sample_videos/*.json -o items.jsonl [--needles-only]
    longvid eval items.jsonl --preset tiny --strategy topk --frames 8

Each ``qa`` item of a ground truth (see ``longvid.synth.truth``) becomes one JSONL line that
:func:`longvid.eval.read_annotations` reads: ``video`` (relative to the JSONL file's folder),
``question``, ``gold_s`` (the gold keyframes: the event's first, middle and last frame times),
plus ``id``, ``answer``, ``options``, ``gold_span_s`` and ``needle`` for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError, LongvidError


def items_from_truth(truth_json: str | Path, base: str | Path, *, needles_only: bool = False) -> list[dict[str, Any]]:
    """The annotation records of one ground-truth file; video paths relative to ``base``."""
    from ..synth import GroundTruth

    truth_json = Path(truth_json)
    truth = GroundTruth.load(truth_json)
    video = truth_json.with_name(str(truth.video["file"]))
    if not video.is_file():
        raise InvalidArgumentError(f"{truth_json}: its video {video} does not exist", "keep the .json beside its video")
    relative = os.path.relpath(video.resolve(), Path(base).resolve())
    records = []
    for k, qa in enumerate(truth.qa):
        if needles_only and not qa.needle:
            continue
        records.append({
            "id": f"{video.stem}-{k}",
            "video": relative,
            "question": qa.question,
            "gold_s": list(qa.keyframe_timestamps_s),
            "gold_span_s": list(qa.gold_span_s),
            "answer": qa.answer,
            "options": qa.options,
            "needle": qa.needle,
        })
    return records


def write_annotations(truth_jsons: Iterable[str | Path], out: str | Path, *, needles_only: bool = False) -> int:
    """Write the items of every ground truth to ``out`` (JSON Lines); returns how many."""
    out = Path(out)
    if not out.parent.is_dir():
        raise InvalidArgumentError(f"{out}: folder {out.parent} does not exist", "create it first")
    records = [r for path in truth_jsons for r in items_from_truth(path, out.parent, needles_only=needles_only)]
    if not records:
        raise InvalidArgumentError("no questions found in those ground truths", "drop --needles-only or add videos")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m longvid.eval.from_truth", description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", nargs="+", type=Path, help="ground-truth JSON files (clip.json beside clip.mp4)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--needles-only", action="store_true", help="only the questions about needle events")
    args = parser.parse_args(argv)
    try:
        count = write_annotations(args.truth, args.out, needles_only=args.needles_only)
    except LongvidError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(f"{args.out}: {count} items")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
