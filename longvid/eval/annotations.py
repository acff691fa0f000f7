"""Reading LV-Haystack-style annotations: longvid's JSON Lines, and T* / LV-Haystack files as published.

    {"video": "clips/a.mp4", "question": "When does the red star jump?", "gold_s": [754.0, 756.5],
     "answer": "B", "options": ["A. never", "B. at 12:34"], "id": "a-1"}
    [{"video_path": "v.mp4", "question": "...", "options": "A) Red\\nB) Blue", "gt_frame_index": [2937, 2949],
      "keyframe_timestamps": [97.0, 98.1]}]                          (T*'s files: a JSON array)

The file is a JSON array (T*'s ``run_TStar_onDataset.py`` output and input) or JSON Lines (one
object per line, blank lines skipped). Fields:

* ``video`` or ``video_path``: a path, relative to the annotation file's folder unless absolute;
  or ``video_id`` with a ``video_root`` folder (``VIDEO_ROOT/<video_id>.mp4``, as T*'s runner
  builds it from LV-Haystack rows);
* ``question``;
* gold, exactly one of: ``gold_s`` (seconds); ``gt_frame_index`` (T*) or ``frame_indexes_video``
  (LV-Haystack): frame numbers at the video's native frame rate, read from the video file
  (:func:`resolve_gold`), frame i at ``start_s + i / fps`` (at ``i / fps`` when the file's own
  predictions are scored: T*'s timeline); ``gold_frames`` with ``fps``;
* refused as gold, with a one-line error saying what to do, because they are not gold or not of
  this video: ``keyframe_timestamps`` (T*'s *predictions*), ``keyframe_timestamps_s``,
  ``frame_indexes`` (clip-relative in LV-Haystack's first release, frames to sample in T*'s input
  format) and ``frame_indexes_vclip`` (relative to the clip). Beside a gold field they are data
  and left alone (a T* result file holds ``keyframe_timestamps`` next to ``gt_frame_index``);
* optional ``answer`` [``gt_answer``], ``options`` (list, dict letter -> text, or T*'s string
  "A) Red\\nB) Blue": one option per line), ``id`` [``question_id``] (default: line or item number);
* ``predicted``: the name of a field holding predicted seconds (``keyframe_timestamps``) to score
  instead of running a search; an item without it is refused.

Read with ``need_gold=False`` (``longvid eval --qa``: answers are scored, frames only where there is
gold), an item may have no gold field; the fields refused as gold are then left alone too.

Bad items are refused with ``FILE:LINE: problem`` (``FILE: item K`` in an array); nothing is
silently skipped except blank lines.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, LongvidError
from ..types import _ToDict

GOLD_FRAMES_NATIVE = ("gt_frame_index", "frame_indexes_video")
NOT_GOLD = {
    "keyframe_timestamps": "is T*'s predicted frames (its search result), not gold",
    "keyframe_timestamps_s": "could be T*'s predictions (keyframe_timestamps) or gold",
    "frame_indexes": "is ambiguous (clip-relative frames in LV-Haystack's first release, frames to sample in T*'s input)",
    "frame_indexes_vclip": "counts frames from the start of the clip (video_metadata.vclip_interval_in_video), not the video",
}
FPS_RTOL = 1e-3  # a stated frame rate this close to the file's is the same rate


@dataclass(frozen=True)
class HaystackItem(_ToDict):
    id: str
    video: str  # resolved path
    question: str
    gold_s: tuple[float, ...]  # empty until resolve_gold() when the gold is native frame numbers
    answer: str | None = None
    options: tuple[str, ...] | None = None
    line: int = 0
    where: str = ""  # "FILE:LINE" or "FILE: item K", for errors
    gold_frames: tuple[int, ...] = ()  # native frame numbers (gt_frame_index / frame_indexes_video)
    stated_fps: float | None = None  # the frame rate the file states beside them, checked against the video
    predicted_s: tuple[float, ...] | None = None  # from the field named by ``predicted``

    @property
    def has_gold(self) -> bool:
        """Whether the item has gold keyframes (only items read with ``need_gold=False`` may lack them)."""
        return bool(self.gold_s or self.gold_frames)


def _numbers(where: str, key: str, value: Any, allow_empty: bool = False) -> list[float]:
    if not isinstance(value, list) or (not value and not allow_empty):
        expected = "a list of numbers" if allow_empty else "a non-empty list of numbers"
        raise InvalidArgumentError(f"{where}: {key} = {value!r} is invalid", f"expected {expected}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise InvalidArgumentError(f"{where}: {key} holds {v!r}", "expected numbers of 0 or more")
        out.append(float(v))
    return out


def _video(record: dict[str, Any], where: str, base: Path, video_root: Path | None) -> str:
    given = {k: record[k] for k in ("video", "video_path") if k in record}
    if len(set(map(str, given.values()))) > 1:
        raise InvalidArgumentError(f"{where}: 'video' and 'video_path' name different files", "keep one of them")
    value = next(iter(given.values()), None)
    if value is None and video_root is not None and isinstance(record.get("video_id"), str) and record["video_id"].strip():
        return str(video_root / f"{record['video_id'].strip()}.mp4")
    if not isinstance(value, str) or not value.strip():
        fix = "give 'video_path' (relative to this file or absolute)"
        if "video_id" in record:
            fix += ", or --video-root DIR to find VIDEO_ID.mp4 there"
        raise InvalidArgumentError(f"{where}: missing 'video'", fix)
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _gold(record: dict[str, Any], where: str, need_gold: bool = True) -> tuple[list[float], tuple[int, ...], float | None]:
    """(seconds, native frame numbers, stated fps): one gold field, or a one-line refusal."""
    present = [k for k in ("gold_s", "gold_frames", *GOLD_FRAMES_NATIVE) if k in record]
    if len(present) > 1:
        raise InvalidArgumentError(f"{where}: gold is given twice ({', '.join(present)})", "keep one gold field")
    if not present and not need_gold:
        return [], (), None
    if not present:
        for key, why in NOT_GOLD.items():
            if key in record:
                raise InvalidArgumentError(
                    f"{where}: '{key}' {why}",
                    "give gold as 'gt_frame_index' (frame numbers of the video) or 'gold_s' (seconds)",
                )
        raise InvalidArgumentError(f"{where}: no gold timestamps",
                                   "add 'gold_s' (seconds) or 'gt_frame_index' (frame numbers of the video)")
    key = present[0]
    if key == "gold_s":
        return _numbers(where, key, record[key]), (), None
    fps = record.get("fps")
    if key == "gold_frames":
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise InvalidArgumentError(f"{where}: gold_frames needs 'fps', got fps = {fps!r}", "add the video's frame rate")
        return [i / float(fps) for i in _numbers(where, key, record[key])], (), None
    frames = _numbers(where, key, record[key])
    if any(f != int(f) for f in frames):
        raise InvalidArgumentError(f"{where}: {key} holds {next(f for f in frames if f != int(f))!r}", "expected frame numbers")
    metadata = record.get("video_metadata")
    stated = metadata.get("frame_rate") if isinstance(metadata, dict) and fps is None else fps
    if stated is not None and (isinstance(stated, bool) or not isinstance(stated, (int, float)) or not stated > 0):
        raise InvalidArgumentError(f"{where}: the stated frame rate {stated!r} is invalid", "drop it or give frames per second")
    return [], tuple(int(f) for f in frames), None if stated is None else float(stated)


def _options(record: dict[str, Any], where: str) -> tuple[str, ...] | None:
    options = record.get("options")
    if isinstance(options, dict):
        options = [f"{k}. {v}" for k, v in options.items()]
    elif isinstance(options, str):  # T*: "A) Red\nB) Blue"
        options = [line.strip() for line in options.split("\n") if line.strip()]
    if options is not None and (not isinstance(options, list) or not all(isinstance(o, str) for o in options)):
        raise InvalidArgumentError(f"{where}: options = {options!r} is invalid", "expected a list, a dict or a string")
    return None if options is None else tuple(options)


def parse_item(record: Any, where: str, base: Path, line: int = 0, *, predicted: str | None = None,
               video_root: Path | None = None, need_gold: bool = True) -> HaystackItem:
    """One item from a decoded JSON object; ``where`` names it in errors (``file:line``)."""
    if not isinstance(record, dict):
        raise InvalidArgumentError(f"{where}: expected a JSON object, got {type(record).__name__}")
    video = _video(record, where, base, video_root)
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError(f"{where}: missing 'question'", "give the question as text")
    gold, gold_frames, stated_fps = _gold(record, where, need_gold)
    predicted_s = None
    if predicted is not None:
        if predicted not in record:
            raise InvalidArgumentError(f"{where}: no '{predicted}' to score", "add it to every item or drop --predicted")
        predicted_s = tuple(_numbers(where, predicted, record[predicted], allow_empty=True))
    answer = record.get("answer", record.get("gt_answer"))
    return HaystackItem(
        id=str(record.get("id", record.get("question_id", line))),
        video=video,
        question=question.strip(),
        gold_s=tuple(sorted(gold)),
        answer=None if answer is None else str(answer),
        options=_options(record, where),
        line=line,
        where=where,
        gold_frames=gold_frames,
        stated_fps=stated_fps,
        predicted_s=predicted_s,
    )


def _records(path: Path, text: str) -> list[tuple[int, str, Any]]:
    """(line or item number, where, decoded object) for a JSON array or JSON Lines."""
    if text.lstrip("\ufeff \t\r\n").startswith("["):
        try:
            data = json.loads(text.lstrip("\ufeff"))
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})",
                                       "a JSON array of objects, or one object per line") from None
        return [(k, f"{path}: item {k}", record) for k, record in enumerate(data, start=1)]
    out = []
    for line_no, line in enumerate(text.split("\n"), start=1):  # not splitlines: JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            out.append((line_no, f"{path}:{line_no}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"{path}:{line_no}: not valid JSON ({exc.msg})",
                                       "write one JSON object per line, or one JSON array") from None
    return out


def read_annotations(path: str | Path, *, predicted: str | None = None, video_root: str | Path | None = None,
                     need_gold: bool = True) -> list[HaystackItem]:
    """All items of an annotation file (JSON array or JSON Lines), in file order.

    Gold given as native frame numbers stays unresolved (``gold_s`` empty) until :func:`resolve_gold`.
    ``need_gold=False``: items without gold are read too (see the module docstring).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InvalidArgumentError(f"{path}: annotation file not found", "pass a .json or .jsonl file of items")
    root = None if video_root is None else Path(video_root).expanduser()
    if root is not None and not root.is_dir():
        raise InvalidArgumentError(f"video root {root} is not a folder", "pass the folder that holds VIDEO_ID.mp4 files")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{path}: not UTF-8 text", "annotations are JSON (an array, or one object per line)") from None
    items = [parse_item(record, where, path.parent, number, predicted=predicted, video_root=root, need_gold=need_gold)
             for number, where, record in _records(path, text)]
    if not items:
        raise InvalidArgumentError(f"{path}: no items", "write one JSON object per line, or a JSON array of them")
    return items


def resolve_gold(items: Sequence[HaystackItem], info_of: Callable[[str], Any] | None = None, *,
                 from_first_frame: bool = False) -> tuple[list[HaystackItem], dict[str, LongvidError]]:
    """Native frame numbers -> seconds, with each video's own frame rate (probed once per video).

    Frame i is at ``start_s + i / fps``, on the video's own timeline as longvid's searches report
    times; ``from_first_frame=True``: at ``i / fps``, the timeline T* writes its
    ``keyframe_timestamps`` on (they differ for a video whose first frame is not at 0).
    Returns the items (gold in seconds where it could be resolved) and, per video that could not
    be probed, its error (its items then fail as a missing video does). A frame rate the file
    states (``fps``, ``video_metadata.frame_rate``) that differs from the video's is refused: the
    frame numbers would point at other moments.
    """
    if info_of is None:
        from ..decode import probe as info_of
    infos: dict[str, Any] = {}
    failures: dict[str, LongvidError] = {}
    out = []
    for item in items:
        if not item.gold_frames:
            out.append(item)
            continue
        if item.video not in infos and item.video not in failures:
            try:
                infos[item.video] = info_of(item.video)
            except LongvidError as exc:
                failures[item.video] = exc
        info = infos.get(item.video)
        if info is None:
            out.append(item)
            continue
        if item.stated_fps is not None and abs(item.stated_fps - info.fps) > FPS_RTOL * info.fps:
            raise InvalidArgumentError(
                f"{item.where}: frame numbers at {item.stated_fps:g} fps (as the item states) but {item.video} plays at "
                f"{info.fps:g} fps", "use the video the frames were counted in, or convert them to 'gold_s'")
        start = 0.0 if from_first_frame else info.start_s
        out.append(replace(item, gold_s=tuple(sorted(start + f / info.fps for f in item.gold_frames))))
    return out, failures
