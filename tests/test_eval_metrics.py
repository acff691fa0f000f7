"""Temporal P/R/F1, cost totals, annotation reading and the eval runner, on hand-made cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError, VideoNotFoundError
from longvid.eval import (
    CostTotals,
    TemporalScore,
    macro_average,
    read_annotations,
    run_eval,
    temporal_prf,
    total_cost,
)
from longvid.types import Cost, Selection

# --- metrics ------------------------------------------------------------------------------------


def test_prf_hand_case():
    # Predictions 10 (4 s from gold 14: hit), 100 (miss), 200 (5 s from 205: hit, tolerance inclusive),
    # 300 (miss). Gold 14 and 205 are found, 500 is not.
    s = temporal_prf([10, 100, 200, 300], [14, 205, 500])
    assert s.precision == 0.5
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_prf_perfect_none_and_custom_tolerance():
    assert temporal_prf([1.0, 2.0], [1.5]) == TemporalScore(1.0, 1.0, 1.0)
    assert temporal_prf([100.0], [1.5]) == TemporalScore(0.0, 0.0, 0.0)
    assert temporal_prf([], [1.5]) == TemporalScore(0.0, 0.0, 0.0)
    assert temporal_prf([10.0], [12.0], tolerance_s=1.0) == TemporalScore(0.0, 0.0, 0.0)
    assert temporal_prf([10.0], [12.0], tolerance_s=2.0) == TemporalScore(1.0, 1.0, 1.0)


def test_prf_many_predictions_near_one_gold():
    # 8 frames around one gold moment: every prediction counts, the single gold is found.
    s = temporal_prf(np.arange(96.0, 104.0), [100.0])
    assert s == TemporalScore(1.0, 1.0, 1.0)
    # Half of them too far away.
    s = temporal_prf([99.0, 100.0, 120.0, 130.0], [100.0])
    assert (s.precision, s.recall) == (0.5, 1.0) and s.f1 == pytest.approx(2 / 3)


def test_prf_refuses_bad_input():
    with pytest.raises(InvalidArgumentError, match="gold_s is empty"):
        temporal_prf([1.0], [])
    with pytest.raises(InvalidArgumentError, match=r"predicted_s\[1\] = nan"):
        temporal_prf([1.0, float("nan")], [1.0])
    with pytest.raises(InvalidArgumentError, match="tolerance_s = -1"):
        temporal_prf([1.0], [1.0], tolerance_s=-1)


def test_macro_average_is_the_mean_of_per_item_values():
    items = [TemporalScore(1.0, 1.0, 1.0), TemporalScore(0.5, 1.0, 2 / 3), TemporalScore(0.0, 0.0, 0.0)]
    m = macro_average(items)
    assert m.precision == 0.5
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx((1 + 2 / 3) / 3)  # not the F1 of the mean P and R
    assert macro_average([]) == TemporalScore(0.0, 0.0, 0.0)


def test_cost_totals():
    a = Cost(frames_decoded=100, frames_embedded=40, frames_from_store=60, seconds={"decode": 1.5, "embed": 2.0})
    b = Cost(frames_decoded=10, frames_embedded=10, seconds={"decode": 0.5, "select": 0.01})
    totals = total_cost([a, b, None], [4.0, 1.0, 0.5])
    assert totals == CostTotals(
        items=3, frames_decoded=110, frames_embedded=50, frames_from_store=60,
        seconds={"decode": 2.0, "embed": 2.0, "select": 0.01}, wall_seconds=5.5,
    )
    json.dumps(totals.to_dict())


# --- annotations --------------------------------------------------------------------------------


def write(path: Path, *lines: object) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


def test_read_annotations_fields_aliases_and_paths(tmp_path):
    path = write(
        tmp_path / "items.jsonl",
        {"video": "clips/a.mp4", "question": " When does the red star jump? ", "gold_s": [12.5, 3.0],
         "answer": "B", "options": ["A. never", "B. early"], "id": "a-1"},
        "",
        {"video_path": "/abs/b.mp4", "question": "q2", "gold_s": [1, 2], "gt_answer": "C", "options": "A) Red\nB) Blue\n"},
        {"video": "c.mp4", "question": "q3", "gold_frames": [30, 90], "fps": 30, "options": {"A": "x", "B": "y"}},
    )
    a, b, c = read_annotations(path)
    assert a.video == str(tmp_path / "clips" / "a.mp4")
    assert a.question == "When does the red star jump?"
    assert a.gold_s == (3.0, 12.5) and a.answer == "B" and a.options == ("A. never", "B. early")
    assert a.id == "a-1" and a.line == 1 and a.where == f"{path}:1"
    assert b.video == "/abs/b.mp4" and b.gold_s == (1.0, 2.0) and b.id == "3" and b.answer == "C"
    assert b.options == ("A) Red", "B) Blue")  # T*'s options string: one option per line
    assert c.gold_s == (1.0, 3.0) and c.options == ("A. x", "B. y")


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", r"items.jsonl:2: not valid JSON"),
        ("[1, 2]", r"items.jsonl:2: expected a JSON object, got list"),
        ({"question": "q", "gold_s": [1]}, r"items.jsonl:2: missing 'video'"),
        ({"video": "a.mp4", "gold_s": [1]}, r"items.jsonl:2: missing 'question'"),
        ({"video": "a.mp4", "question": "q"}, r"items.jsonl:2: no gold timestamps"),
        ({"video": "a.mp4", "question": "q", "gold_s": []}, r"gold_s = \[\] is invalid"),
        ({"video": "a.mp4", "question": "q", "gold_s": [1, "x"]}, r"gold_s holds 'x'"),
        ({"video": "a.mp4", "question": "q", "gold_s": [-1]}, r"gold_s holds -1"),
        ({"video": "a.mp4", "question": "q", "gold_frames": [3]}, r"gold_frames needs 'fps'"),
        ({"video": "a.mp4", "question": "q", "gold_s": [1], "options": 3}, r"options = 3 is invalid"),
        # not gold, or not of this video: refused by name instead of guessed
        ({"video": "a.mp4", "question": "q", "keyframe_timestamps": [1]},
         r"items.jsonl:2: 'keyframe_timestamps' is T\*'s predicted frames \(its search result\), not gold; give gold as "
         r"'gt_frame_index' \(frame numbers of the video\) or 'gold_s' \(seconds\)$"),
        ({"video": "a.mp4", "question": "q", "frame_indexes": [30]}, r"'frame_indexes' is ambiguous \(clip-relative"),
        ({"video": "a.mp4", "question": "q", "frame_indexes_vclip": [30]}, r"'frame_indexes_vclip' counts frames from the start of the clip"),
        ({"video": "a.mp4", "question": "q", "gold_s": [1], "gt_frame_index": [30]}, r"gold is given twice \(gold_s, gt_frame_index\)"),
        ({"video": "a.mp4", "video_path": "b.mp4", "question": "q", "gold_s": [1]}, r"'video' and 'video_path' name different files"),
        ({"video_id": "abc", "question": "q", "gold_s": [1]}, r"missing 'video'; .* or --video-root DIR"),
        ({"video": "a.mp4", "question": "q", "gt_frame_index": [3.5]}, r"gt_frame_index holds 3.5; expected frame numbers"),
    ],
)
def test_bad_lines_refused_with_file_and_line(tmp_path, line, message):
    good = {"video": "a.mp4", "question": "q", "gold_s": [1]}
    path = write(tmp_path / "items.jsonl", good, line)
    with pytest.raises(InvalidArgumentError, match=message):
        read_annotations(path)


def test_missing_empty_and_binary_files_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="annotation file not found"):
        read_annotations(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(InvalidArgumentError, match="no items"):
        read_annotations(tmp_path / "empty.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidArgumentError, match="not UTF-8"):
        read_annotations(tmp_path / "bin.jsonl")


# --- runner -------------------------------------------------------------------------------------


@pytest.fixture
def items(tmp_path):
    return read_annotations(
        write(
            tmp_path / "items.jsonl",
            {"video": "a.mp4", "question": "red star?", "gold_s": [100.0], "id": "a"},
            {"video": "b.mp4", "question": "blue circle?", "gold_s": [10.0, 50.0], "id": "b"},
        )
    )


def test_run_eval_scores_each_item_and_macro_averages(items):
    answers = {
        "a": Selection((98.0, 101.0, 300.0, 400.0), (0.9, 0.8, 0.1, 0.1), "topk"),  # P .5 R 1
        "b": ([12.0, 52.0], Cost(frames_decoded=30, frames_embedded=30)),  # P 1 R 1
    }
    seen = []

    def selector(item, frames):
        seen.append((item.id, frames))
        return answers[item.id]

    report = run_eval(items, selector, frames=4, strategy="topk")
    assert seen == [("a", 4), ("b", 4)]
    a, b = report.items
    assert (a.precision, a.recall, a.f1) == (0.5, 1.0, pytest.approx(2 / 3))
    assert (b.precision, b.recall, b.f1) == (1.0, 1.0, 1.0)
    assert report.f1 == pytest.approx((2 / 3 + 1) / 2)
    assert report.precision == 0.75 and report.recall == 1.0
    assert report.cost.frames_embedded == 30 and report.cost.items == 2
    assert report.failed == 0
    data = json.loads(json.dumps(report.to_dict()))
    assert data["items"][1]["cost"]["frames_decoded"] == 30
    assert "macro" in report.table() and "red star?" in report.table()


def test_run_eval_records_or_raises_errors(items):
    def selector(item, frames):
        if item.id == "a":
            raise VideoNotFoundError(item.video, "no such file", "check the path")
        return [10.0]

    with pytest.raises(VideoNotFoundError):
        run_eval(items, selector)
    report = run_eval(items, selector, on_error="record")
    assert report.failed == 1
    assert report.items[0].f1 == 0.0 and "no such file" in report.items[0].error
    assert report.items[1].recall == 0.5
    assert report.f1 == pytest.approx(report.items[1].f1 / 2)  # a failure counts as a miss


def test_run_eval_refuses_bad_arguments_and_outputs(items):
    with pytest.raises(InvalidArgumentError, match="frame budget"):
        run_eval(items, lambda item, n: [1.0], frames=0)
    with pytest.raises(InvalidArgumentError, match="on_error"):
        run_eval(items, lambda item, n: [1.0], on_error="ignore")
    with pytest.raises(InvalidArgumentError, match="no items"):
        run_eval([], lambda item, n: [1.0])
    with pytest.raises(InvalidArgumentError, match="selector returned dict"):
        run_eval(items, lambda item, n: {"t": 1})


def test_items_without_gold_are_run_but_not_scored_in_time(tmp_path):
    path = write(
        tmp_path / "qa.jsonl",
        {"video": "a.mp4", "question": "red star?", "gold_s": [100.0], "answer": "yes", "id": "a"},
        {"video": "b.mp4", "question": "is there a blue circle?", "answer": "no", "id": "b", "keyframe_timestamps": [3.0]},
    )
    with pytest.raises(InvalidArgumentError, match=r"qa.jsonl:2: 'keyframe_timestamps' is T\*'s predicted frames"):
        read_annotations(path)  # gold is required unless the answers are what is scored
    a, b = read_annotations(path, need_gold=False)
    assert a.has_gold and not b.has_gold and b.gold_s == () and b.answer == "no"
    ran = []
    report = run_eval([a, b], lambda item, n: ran.append(item.id) or [98.0, 300.0], frames=2)
    assert ran == ["a", "b"]
    ra, rb = report.items
    assert (ra.precision, ra.recall) == (0.5, 1.0) and (rb.precision, rb.recall, rb.f1) == (None, None, None)
    assert report.f1 == ra.f1 and report.scored == 1 and report.empty_items == 0
    assert "    -" in report.table() and json.loads(json.dumps(report.to_dict()))["items"][1]["f1"] is None
    alone = run_eval([b], lambda item, n: [], frames=2)
    assert (alone.precision, alone.recall, alone.f1, alone.scored, alone.empty_items) == (None, None, None, 0, 0)
