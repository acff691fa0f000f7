"""The published T* (longvid.search.tstar): reference visits from the authors' code, the CLIP/SigLIP
mapping, budget and stopping, the store, and the pipeline's cold-search names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.search.cold import cold_search, final_strategy
from longvid.search.tstar import tstar_search

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"


# --- reference outputs ---------------------------------------------------------------------------
# Where the expected arrays come from: the authors' TStarSearcher (github.com/mll-lab-nu/TStar,
# TStar/interface_searcher.py at commit 6b3a2e1), run once outside this repository with
# np.random.seed(seed) and its own methods unchanged (sample_frames, update_frame_distribution,
# update_top_25_with_window, spline_keyframe_distribution, verify_and_remove_target, search,
# pop_frames). Only the I/O was replaced: no video (a timeline of `total` seconds at raw_fps = fps
# = 1), and instead of YOLO-World a fixed oracle answering each grid cell and each single-frame
# re-detection with the confidences below, keeping detections above 0.12 (YOLO-World's
# score_threshold) of the objects in the vocabulary. Recorded: the seconds sample_frames returned
# per iteration and the timestamps search() returned.


def detector_oracle(height: float, centre: int):
    """Confidences per second: target "star" falls 0.08 per second from its peak; cue "table"
    (weight 0.5) is seen at 0.4 from 100 s to 129 s."""

    def score_at(times_s: np.ndarray) -> np.ndarray:
        sec = np.rint(np.asarray(times_s)).astype(int)
        star = np.maximum(0.0, height - 0.08 * np.abs(sec - centre))
        table = np.where((sec >= 100) & (sec < 130), 0.4, 0.0)
        return np.stack([star, table], axis=1)

    return score_at


VERIFIED = dict(
    total=300, height=0.95, centre=207, seed=7, options=dict(search_budget=0.5), stop="verified",
    iterations=[[0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180, 198, 216, 234, 252, 270],
                [143, 200, 172, 195, 215, 181, 177, 159, 191, 202, 168, 142, 160, 210, 154, 173]],
    selected=[106.0, 125.0, 196.0, 203.0, 206.0, 208.0, 215.0, 216.0],
)
BUDGET = dict(
    total=300, height=0.6, centre=207, seed=7, options=dict(search_budget=0.5), stop="budget",
    iterations=[[0, 18, 36, 54, 72, 90, 108, 126, 144, 162, 180, 198, 216, 234, 252, 270],
                [69, 125, 98, 121, 141, 106, 103, 85, 117, 128, 94, 68, 86, 136, 80, 99],
                [170, 84, 145, 172, 109, 139, 169, 96, 137, 156, 150, 132, 105, 133, 120, 118],
                [146, 135, 78, 111, 75, 93, 82, 122, 83, 95, 129, 89, 152, 65, 131, 91],
                [116, 154, 140, 58, 64, 161, 160, 184, 159, 61, 102, 149, 87, 185, 182, 175],
                [112, 174, 53, 76, 110, 163, 113, 55, 79, 77, 74, 57, 101, 107, 166, 167],
                [158, 148, 283, 291, 183, 285, 295, 50, 290, 100, 151, 284, 278, 66, 181, 52],
                [127, 256, 171, 213, 239, 258, 245, 2, 165, 187, 11, 202, 215, 259, 286, 26],
                [45, 225, 27, 44, 207, 34, 249, 266, 7, 199, 253, 294, 60, 269, 276, 40],
                [192, 219, 230, 81, 212, 227, 203, 15, 124, 16, 13, 147, 17, 25, 19, 204]],
    selected=[105.0, 110.0, 115.0, 121.0, 129.0, 203.0, 211.0, 216.0],
)
# a 3 x 3 grid over 60 s with the whole video as budget: the top-25 % pool runs dry and T* draws
# from all seconds again, revisiting some (26, 3, 1, 18, 42, 44, 55 in the last iteration)
REVISITS = dict(
    total=60, height=0.6, centre=30, seed=11, stop="budget",
    options=dict(search_budget=1.0, image_grid_shape=(3, 3), search_nframes=5),
    iterations=[[0, 6, 12, 18, 24, 30, 36, 42, 48], [26, 23, 31, 35, 32, 40, 38, 37, 25],
                [39, 34, 16, 28, 14, 15, 19, 33, 29], [17, 13, 4, 3, 50, 45, 2, 27, 21],
                [56, 53, 49, 47, 58, 59, 22, 10, 55], [1, 11, 5, 9, 51, 54, 44, 41, 8],
                [26, 43, 3, 1, 46, 18, 42, 44, 55]],
    selected=[29.0, 31.0, 32.0, 33.0, 34.0],
)


@pytest.mark.parametrize("case", [VERIFIED, BUDGET, REVISITS], ids=["verified", "budget", "revisits"])
def test_visits_and_selection_equal_the_authors_code(case):
    options = dict(case["options"])
    nframes = options.pop("search_nframes", 8)
    result = tstar_search(float(case["total"]), detector_oracle(case["height"], case["centre"]), nframes,
                          cues=[1], calibrate=False, seed=case["seed"], **options)
    assert [[round(t) for t in it] for it in result.sampled_s] == case["iterations"]
    assert list(result.selection.timestamps_s) == case["selected"]
    assert result.stop_reason == case["stop"] and result.selection.strategy == "tstar"
    visited = sorted({s for it in case["iterations"] for s in it})
    assert result.visited_times_s.tolist() == visited and result.evaluations == len(visited)  # revisits cost nothing


# --- longvid's mapping of image-text scores ------------------------------------------------------


def test_scores_map_to_confidences_from_the_first_look():
    first = np.array([0.20, 0.21, 0.19, 0.22, 0.18, 0.20, 0.23, 0.17, 0.20, 0.21, 0.19, 0.20, 0.25, 0.20, 0.30, 0.50])

    def score_at(times_s):
        return first[np.rint(np.asarray(times_s) / 10).astype(int)]  # 16 seconds, 10 s apart

    result = tstar_search(160.0, score_at, 4, search_budget=0.01, seed=0)  # one iteration
    assert result.iterations == 1 and result.visited_times_s.tolist() == list(range(0, 160, 10))
    centre = np.median(first)
    spread = 1.4826 * np.median(np.abs(first - centre))
    confidence = 1 / (1 + np.exp(-((first - centre) / spread - 4.0)))
    expected = np.where(confidence > 0.12, confidence, 0.0)  # below 0.12: not detected, frame score 0
    assert np.allclose(result.visited_scores, expected)
    # spread 0.0148: 0.23 (2.0 spreads up) is just detected, 0.30 (6.7 up) is verified (> 0.7)
    assert np.flatnonzero(expected).tolist() == [6, 12, 14, 15]
    assert expected[14] > 0.7 and result.stop_reason == "verified"


def test_spends_its_budget_when_nothing_stands_out():
    calls = []

    def noise(times_s):
        calls.append(len(times_s))
        return 0.2 + 0.01 * np.sin(np.asarray(times_s) * 12.9898)  # a fixed function of time

    result = tstar_search(3600.0, noise, 8, seed=0)
    assert result.stop_reason == "budget"
    assert result.iterations == 63  # min(1000, 3600 x 1.0) less 16 per iteration: 62 leave 8 > 0
    assert result.evaluations == sum(calls) <= 63 * 16
    assert len(result.selection.timestamps_s) == 8


def test_stored_frames_spare_embedding_and_change_nothing():
    fn = detector_oracle(0.95, 207)
    cold = tstar_search(300.0, fn, 8, cues=[1], calibrate=False, search_budget=0.5, seed=7)
    every = np.arange(300.0)
    warm = tstar_search(300.0, fn, 8, cues=[1], calibrate=False, search_budget=0.5, seed=7,
                        known_times_s=every + 0.2, known_scores=fn(every))  # within half a second: stands for it
    assert warm.evaluations == 0 and warm.from_store == 300
    assert warm.selection == cold.selection and warm.sampled_s == cold.sampled_s


def test_seed_start_offset_and_json():
    fn = detector_oracle(0.6, 207)
    a = tstar_search(300.0, fn, 8, cues=[1], calibrate=False, search_budget=0.5, seed=1, start_s=12.5)
    b = tstar_search(300.0, fn, 8, cues=[1], calibrate=False, search_budget=0.5, seed=1, start_s=12.5)
    c = tstar_search(300.0, fn, 8, cues=[1], calibrate=False, search_budget=0.5, seed=2, start_s=12.5)
    assert a.selection == b.selection and a.sampled_s != c.sampled_s
    assert a.sampled_s[0][:3] == [12.5, 30.5, 48.5]  # seconds 0, 18, 36 of the video's own timeline
    data = json.loads(json.dumps(a.to_dict()))
    assert data["selection"]["strategy"] == "tstar" and data["iterations"] == a.iterations


def test_videos_too_short_to_search_are_scored_whole():
    result = tstar_search(6.5, lambda t: np.asarray(t, dtype=float), 8, calibrate=False)
    assert result.stop_reason == "whole" and result.evaluations == 6
    assert list(result.selection.timestamps_s) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration_s": 0}, "duration_s = 0"),
        ({"search_nframes": 0}, "search_nframes = 0"),
        ({"image_grid_shape": (1, 3)}, "image_grid_shape"),
        ({"search_budget": -1}, "search_budget = -1"),
        ({"score_at": "nope"}, "not callable"),
        ({"cues": [0, 1]}, "leave at least one target"),
        ({"known_times_s": [1.0]}, "go together"),
    ],
)
def test_bad_arguments_refused(kwargs, message):
    args = {"duration_s": 60.0, "score_at": detector_oracle(0.9, 30), "search_nframes": 4, "calibrate": False} | kwargs
    with pytest.raises(InvalidArgumentError, match=message):
        tstar_search(**args)


@pytest.mark.parametrize(
    "fn, message",
    [(lambda t: np.zeros(len(t) + 1), "returned shape"), (lambda t: np.full(len(t), np.nan), "returned nan")],
)
def test_bad_score_function_output_refused(fn, message):
    with pytest.raises(InvalidArgumentError, match=message):
        tstar_search(60.0, fn, 4)


# --- the names the pipeline runs -----------------------------------------------------------------


def test_cold_search_names():
    fn = detector_oracle(0.95, 207)
    published = cold_search(300.0, fn, 8, strategy="tstar")
    coverage = cold_search(300.0, lambda t: fn(t)[:, 0], 8, strategy="tstar-coverage")
    other = cold_search(300.0, lambda t: fn(t)[:, 0], 8, strategy="bolt")
    assert published.selection.strategy == "tstar" and hasattr(published, "iterations")
    assert coverage.selection.strategy == "topk" and other.selection.strategy == "bolt"
    assert [final_strategy(n) for n in ("tstar", "tstar-coverage", "aks")] == ["topk", "topk", "aks"]


def test_pipeline_runs_the_published_search_by_name(tmp_path):
    from longvid.config import PipelineConfig
    from longvid.pipeline import Pipeline

    base = PipelineConfig.from_preset("tiny").with_overrides({"store": {"path": str(tmp_path / "store")}})
    with Pipeline(base.with_overrides({"search": {"strategy": "tstar", "frames": 4}})) as pipe:
        located = pipe.locate(DEMO, "when does the red star jump?")
        record, _ = pipe.store.video_for_path(DEMO)
        stored = len(pipe.store.frames(record.id, pipe.encoder.model_id))
    assert located.searched == "tstar" and located.selection.strategy == "tstar"
    assert len(located.selection.timestamps_s) == 4
    assert 16 <= located.cost.frames_embedded == stored <= 90  # at least T*'s first look, at most the 90 s
