"""`longvid eval` on T* / LV-Haystack files as published: a JSON array, T*'s options string,
`gt_frame_index` at the video's own frame rate, and T*'s predictions scored as T* scores them."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from longvid.errors import InvalidArgumentError
from longvid.eval import evaluate_predictions, read_annotations, resolve_gold

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_videos"  # 10 fps each: demo 90 s, needle 120 s, scenes 60 s


def tstar_results(folder: Path) -> Path:
    """A file as T*'s run_TStar_onDataset.py writes it: the LV-Haystack item plus its search result."""
    def item(video, question, gt, predicted, **extra):
        return {"video_id": video, "video_path": str(SAMPLES / f"{video}.mp4"), "question": question,
                "options": "A) x\nB) y", "gt_answer": "A", "gt_frame_index": gt, "keyframe_timestamps": predicted, **extra}

    items = [
        item("demo", "When does the red star jump?", [140, 160, 183], [13.0, 15.5, 40.0, 70.2]),
        item("needle", "When does the magenta star grow?", [715, 731, 747], [60.0, 71.0, 74.9, 80.0, 110.0],
             video_metadata={"frame_rate": 10.0}),
        item("scenes", "What is shown at half time?", [300], []),  # T* found nothing
        item("demo", "What is on screen at 50 s?", [500], [55.0]),  # exactly 5 s off: counts
        item("demo", "What is on screen at 50 s, again?", [500], [44.9, 56.0]),
    ]
    path = folder / "tstar_results.json"
    path.write_text(json.dumps(items, indent=1))
    return path


# The same file scored by T*'s own code, run once outside this repository: LVHaystackBench/
# val_tstar_results.py of github.com/mll-lab-nu/TStar at commit 6b3a2e1, unmodified (skimage
# stubbed, it is only needed for SSIM): load_json_file, the required-fields filter,
# extract_metrics_data (native fps from cv2, gt seconds = gt_frame_index / fps) and
# calculate_prf(threshold=5). It prints P 0.475, R 0.75, F1 0.5595238095238095; calculate_prf
# leaves the item with no prediction out of the mean (4 items).
TSTAR_PRF = (0.475, 0.75, 0.5595238095238095)


def test_longvid_eval_gives_tstars_calculate_prf(tmp_path, cli_env):
    path = tstar_results(tmp_path)
    code, out, err = run_cli("eval", str(path), "--predicted", "keyframe_timestamps", "--empty", "skip", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["precision"], report["recall"], report["f1"]) == pytest.approx(TSTAR_PRF, abs=1e-12)
    assert report["mode"] == "given" and report["empty"] == "skip" and report["empty_items"] == 1
    assert [i["gold_s"] for i in report["items"][:2]] == [[14.0, 16.0, 18.3], [71.5, 73.1, 74.7]]  # frames / 10 fps
    # longvid's default counts the empty prediction as 0: the same sums over 5 items
    code, out, _ = run_cli("eval", str(path), "--predicted", "keyframe_timestamps", "--json")
    zero = json.loads(out)
    assert (zero["precision"], zero["recall"], zero["f1"]) == pytest.approx(np.array(TSTAR_PRF) * 4 / 5, abs=1e-12)
    code, out, _ = run_cli("eval", str(path), "--predicted", "keyframe_timestamps")
    assert code == 0 and "macro F1 0.448 (P 0.380, R 0.600) over 5 items, 0 failed (count as 0), 1 empty prediction counts as 0" in out


def test_a_missing_video_fails_its_items_instead_of_dropping_them(tmp_path):
    path = tstar_results(tmp_path)
    items = json.loads(path.read_text())
    items[0]["video_path"] = str(tmp_path / "gone.mp4")
    path.write_text(json.dumps(items))
    report = evaluate_predictions(read_annotations(path, predicted="keyframe_timestamps"), empty="skip")
    assert report.report.failed == 1 and report.items[0].error and "gone.mp4" in report.items[0].error
    assert report.f1 == pytest.approx((0 + 4 / 7 + 1 + 0) / 4)  # T*'s code would drop that item: here it counts 0


def test_a_search_result_file_reads_its_gold_and_ignores_the_prediction_field(tmp_path):
    items = read_annotations(tstar_results(tmp_path))  # gt_frame_index is gold; keyframe_timestamps is data
    assert items[0].gold_frames == (140, 160, 183) and items[0].gold_s == () and items[0].predicted_s is None
    assert items[0].options == ("A) x", "B) y") and items[0].answer == "A" and items[0].where.endswith(": item 1")
    resolved, failures = resolve_gold(items)
    assert failures == {} and resolved[1].gold_s == (71.5, 73.1, 74.7)


def _clip(path: Path, fps: int, seconds: float, first_frame: int = 0) -> Path:
    """A small clip at ``fps``; its first frame at ``first_frame / fps`` seconds (mkv keeps it)."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(fps * seconds)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 255, np.uint8), format="rgb24")
            frame.pts, frame.time_base = first_frame + i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_frame_numbers_use_the_videos_own_frame_rate(tmp_path):
    _clip(tmp_path / "clip25.mp4", 25, 4.0)
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"video_path": "clip25.mp4", "question": "q", "frame_indexes_video": [25, 60]}) + "\n")
    (item,), failures = resolve_gold(read_annotations(path))
    assert failures == {} and item.gold_s == pytest.approx((1.0, 2.4))  # 25 fps, not 1 fps or 30
    path.write_text(json.dumps({"video_path": "clip25.mp4", "question": "q", "gt_frame_index": [25],
                                "video_metadata": {"frame_rate": 30.0}}) + "\n")
    with pytest.raises(InvalidArgumentError, match=r"items.jsonl:1: frame numbers at 30 fps \(as the item states\) but "
                                                   r".*clip25.mp4 plays at 25 fps; use the video the frames were counted in"):
        resolve_gold(read_annotations(path))


def test_a_video_that_starts_late_keeps_frames_and_predictions_on_one_timeline(tmp_path):
    _clip(tmp_path / "late.mkv", 25, 2.0, first_frame=50)  # first frame at 2.0 s
    path = tmp_path / "items.json"
    path.write_text(json.dumps([{"video_path": "late.mkv", "question": "q", "gt_frame_index": [25],
                                 "keyframe_timestamps": [1.0]}]))
    (searched,), _ = resolve_gold(read_annotations(path))
    assert searched.gold_s == (3.0,)  # longvid's searches report the video's own times
    report = evaluate_predictions(read_annotations(path, predicted="keyframe_timestamps"))
    assert report.items[0].gold_s == [1.0] and report.f1 == 1.0  # T*'s seconds count from the first frame


def test_lv_haystack_rows_with_a_video_root(tmp_path):
    _clip(tmp_path / "abc.mp4", 25, 2.0)
    path = tmp_path / "rows.jsonl"
    row = {"video_id": "abc", "question": "q", "options": {"A": "x", "B": "y"}, "answer": "A",
           "frame_indexes_video": [25], "frame_indexes_vclip": [5], "video_metadata": {"frame_rate": 25.0}}
    path.write_text(json.dumps(row) + "\n")
    (item,) = read_annotations(path, video_root=tmp_path)
    assert item.video == str(tmp_path / "abc.mp4") and item.gold_frames == (25,) and item.options == ("A. x", "B. y")
    code, _, err = run_cli("eval", str(path), "--predicted", "keyframe_timestamps", "--video-root", str(tmp_path))
    assert code == 2 and err.startswith(f"error: {path}:1: no 'keyframe_timestamps' to score")
