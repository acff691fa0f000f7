"""Annotation files from the synthetic generator's ground truth (``clip.json`` beside ``clip.mp4``).

    python -m longvid.eval.from_truth sample_videos/*.json -o items.jsonl [--needles-only]
    longvid eval items.jsonl --preset tiny --strategy topk --frames 8
    python -m longvid.eval.from_truth hay.json -o qa.jsonl --worded [--short] [--one-per-kind]
    longvid eval qa.jsonl --qa --preset tiny --model tiny --frames 16

Each ``qa`` item of a ground truth (see ``longvid.synth.truth``) becomes one JSONL line that
:func:`longvid.eval.read_annotations` reads: ``video`` (relative to the JSONL file's folder),
``question``, ``gold_s`` (the gold keyframes: the event's first, middle and last frame times),
plus ``id``, ``answer``, ``options``, ``gold_span_s`` and ``needle`` for reference.

``--worded`` writes the worded questions of ``longvid.synth.questions`` instead ("what colour is the
star that jumps?", see ``truth_questions``), the ones ``longvid eval --qa`` scores: ``answer`` (the
answer in words), ``options`` (its multiple-choice form; ``--short`` leaves them out: short-answer
items), ``kind``, and where the question is about events, ``gold_s`` (each event's first, middle
and last frame) and ``gold_spans_s``; a "no" presence question has no gold. ``--one-per-kind``:
one question of each kind per video (``pick_questions``, drawn from the video's seed).
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


def items_from_truth(truth_json: str | Path, base: str | Path, *, needles_only: bool = False, worded: bool = False,
                     short: bool = False, one_per_kind: bool = False) -> list[dict[str, Any]]:
    """The annotation records of one ground-truth file; video paths relative to ``base``.

    ``worded``: the worded questions (see the module docstring), with ``short`` and ``one_per_kind``.
    """
    from ..synth import GroundTruth

    truth_json = Path(truth_json)
    truth = GroundTruth.load(truth_json)
    video = truth_json.with_name(str(truth.video["file"]))
    if not video.is_file():
        raise InvalidArgumentError(f"{truth_json}: its video {video} does not exist", "keep the .json beside its video")
    relative = os.path.relpath(video.resolve(), Path(base).resolve())
    if worded:
        try:
            return _worded_items(truth, video.stem, relative, needles_only, short, one_per_kind)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{truth_json}: {exc.message}", exc.hint) from None
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


def _worded_items(truth, stem: str, video: str, needles_only: bool, short: bool, one_per_kind: bool) -> list[dict[str, Any]]:
    import numpy as np

    from ..synth.questions import pick_questions, truth_questions
    from ..synth.truth import gold_keyframes

    roles = ("needle",) if needles_only else ("needle", "distractor", "event")
    questions = truth_questions(truth, roles=roles)
    if one_per_kind:
        questions = pick_questions(questions, np.random.default_rng([int(truth.video["seed"]), 13]))
    events = {e.id: e for e in truth.events}
    records = []
    for k, q in enumerate(questions):
        about = [events[i] for i in q.event_ids]
        record: dict[str, Any] = {"id": f"{stem}-{q.kind}-{k}", "video": video, "question": q.question, "answer": q.answer}
        if not short:
            record["options"] = list(q.options)
        record["kind"] = q.kind
        if about:
            record["gold_s"] = sorted({t for e in about for t in gold_keyframes(e)[0]})
            record["gold_spans_s"] = [list(span) for span in q.spans_s]
        record["needle"] = any(e.role == "needle" for e in about)
        records.append(record)
    return records


def write_annotations(truth_jsons: Iterable[str | Path], out: str | Path, *, needles_only: bool = False,
                      worded: bool = False, short: bool = False, one_per_kind: bool = False) -> int:
    """Write the items of every ground truth to ``out`` (JSON Lines); returns how many."""
    out = Path(out)
    if not out.parent.is_dir():
        raise InvalidArgumentError(f"{out}: folder {out.parent} does not exist", "create it first")
    if (short or one_per_kind) and not worded:
        raise InvalidArgumentError("--short and --one-per-kind shape worded questions", "add --worded")
    records = [r for path in truth_jsons for r in items_from_truth(path, out.parent, needles_only=needles_only,
                                                                      worded=worded, short=short, one_per_kind=one_per_kind)]
    if not records:
        raise InvalidArgumentError("no questions found in those ground truths", "drop --needles-only or add videos")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m longvid.eval.from_truth", description=__doc__.split("\n\n")[0])
    parser.add_argument("truth", nargs="+", type=Path, help="ground-truth JSON files (clip.json beside clip.mp4)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the JSONL file to write")
    parser.add_argument("--needles-only", action="store_true", help="only the questions about needle events")
    parser.add_argument("--worded", action="store_true",
                        help="the worded questions (colour, action, order, count, presence) with answers in words, for `longvid eval --qa`")
    parser.add_argument("--short", action="store_true", help="with --worded: no options (short-answer items)")
    parser.add_argument("--one-per-kind", action="store_true", help="with --worded: one question of each kind per video")
    args = parser.parse_args(argv)
    try:
        count = write_annotations(args.truth, args.out, needles_only=args.needles_only, worded=args.worded,
                                  short=args.short, one_per_kind=args.one_per_kind)
    except LongvidError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    print(f"{args.out}: {count} items")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
