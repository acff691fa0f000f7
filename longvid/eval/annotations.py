"""Reading LV-Haystack-style annotations: one JSON object per line.

    {"video": "clips/a.mp4", "question": "When does the red star jump?", "gold_s": [754.0, 756.5],
     "answer": "B", "options": ["A. never", "B. at 12:34"], "id": "a-1"}

Fields (aliases in brackets):

* ``video`` [``video_path``]: a path, relative to the annotation file's folder unless absolute;
* ``question``;
* gold keyframes: ``gold_s`` [``gold_timestamps_s``, ``keyframe_timestamps``,
  ``keyframe_timestamps_s``] in seconds, or ``gold_frames`` [``keyframe_indices``,
  ``frame_indexes``] together with ``fps`` (seconds = index / fps);
* optional ``answer`` (text or option letter), ``options`` (list, or dict letter -> text), ``id``
  [``question_id``] (default: the line number).

Bad lines are refused with ``FILE:LINE: problem``; nothing is silently skipped except blank lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..types import _ToDict

GOLD_SECONDS = ("gold_s", "gold_timestamps_s", "keyframe_timestamps", "keyframe_timestamps_s")
GOLD_FRAMES = ("gold_frames", "keyframe_indices", "frame_indexes")


@dataclass(frozen=True)
class HaystackItem(_ToDict):
    id: str
    video: str  # resolved path
    question: str
    gold_s: tuple[float, ...]
    answer: str | None = None
    options: tuple[str, ...] | None = None
    line: int = 0


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any] | None:
    for key in keys:
        if key in record:
            return key, record[key]
    return None


def _numbers(where: str, key: str, value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise InvalidArgumentError(f"{where}: {key} = {value!r} is invalid", "expected a non-empty list of numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise InvalidArgumentError(f"{where}: {key} holds {v!r}", "expected numbers of 0 or more")
        out.append(float(v))
    return out


def parse_item(record: Any, where: str, base: Path, line: int = 0) -> HaystackItem:
    """One item from a decoded JSON object; ``where`` names it in errors (``file:line``)."""
    if not isinstance(record, dict):
        raise InvalidArgumentError(f"{where}: expected a JSON object, got {type(record).__name__}")
    video = _first(record, ("video", "video_path"))
    if video is None or not isinstance(video[1], str) or not video[1].strip():
        raise InvalidArgumentError(f"{where}: missing 'video'", "give the video's path (relative to this file or absolute)")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError(f"{where}: missing 'question'", "give the question as text")
    seconds = _first(record, GOLD_SECONDS)
    if seconds is not None:
        gold = _numbers(where, *seconds)
    else:
        frames = _first(record, GOLD_FRAMES)
        if frames is None:
            raise InvalidArgumentError(
                f"{where}: no gold timestamps", "add 'gold_s' (seconds) or 'gold_frames' with 'fps'"
            )
        fps = record.get("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise InvalidArgumentError(f"{where}: {frames[0]} needs 'fps', got fps = {fps!r}", "add the video's frame rate")
        gold = [i / float(fps) for i in _numbers(where, *frames)]
    options = record.get("options")
    if isinstance(options, dict):
        options = [f"{k}. {v}" for k, v in options.items()]
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise InvalidArgumentError(f"{where}: options = {options!r} is invalid", "expected a list of strings")
    answer = record.get("answer")
    path = Path(video[1]).expanduser()
    if not path.is_absolute():
        path = base / path
    item_id = record.get("id", record.get("question_id", line))
    return HaystackItem(
        id=str(item_id),
        video=str(path),
        question=question.strip(),
        gold_s=tuple(sorted(gold)),
        answer=None if answer is None else str(answer),
        options=None if options is None else tuple(options),
        line=line,
    )


def read_annotations(path: str | Path) -> list[HaystackItem]:
    """All items of a JSONL annotation file, in file order."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidArgumentError(f"{path}: annotation file not found", "pass a .jsonl file with one item per line")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: JSON strings may hold U+2028
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{path}: not UTF-8 text", "annotations are JSON Lines (one object per line)") from None
    items = []
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        where = f"{path}:{line_no}"
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{where}: not valid JSON ({exc.msg})", "write one JSON object per line") from None
        items.append(parse_item(record, where, path.parent, line_no))
    if not items:
        raise InvalidArgumentError(f"{path}: no items", "write one JSON object per line")
    return items
