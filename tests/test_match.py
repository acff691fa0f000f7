"""A question that matches nothing well says so, and scores are one scale cold or from the store.

The rule (``longvid.search.scoring.caption_z``, threshold ``search.match_z``, measured by
benchmarks/match_calibration.py) on the shipped tiny CLIP and sample_videos/demo.mp4, where a red
star jumps at 14.0-18.3 s and nothing is yellow (a magenta cross is the only cross).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli

from longvid.config import PipelineConfig
from longvid.errors import InvalidArgumentError
from longvid.pipeline import Pipeline
from longvid.search.scoring import incremental_scorer

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"
PRESENT = "when does the red star jump?"
ABSENT = "when does the yellow cross grow?"


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """The same questions cold (T*, a fresh store) and from a full 1 fps index."""
    store = tmp_path_factory.mktemp("match") / "store"
    config = PipelineConfig.from_preset("tiny").with_overrides({"store": {"path": str(store)}, "answer": {"answerer": "grounding"}})
    with Pipeline(config) as pipe:
        cold = {q: pipe.ask(DEMO, q) for q in (PRESENT, ABSENT)}
        record, _ = pipe.store.video_for_path(DEMO)
        cold_frames = pipe.store.frames(record.id, pipe.encoder.model_id).pts_s
        pipe.index(DEMO)
        warm = {q: pipe.ask(DEMO, q) for q in (PRESENT, ABSENT)}
    return cold, warm, store, cold_frames


def test_a_question_about_something_not_shown_is_a_weak_match(answers):
    cold, warm, _, _ = answers
    for answer in (cold[ABSENT], warm[ABSENT]):
        assert answer.match.verdict == "weak" and answer.match.z < answer.match.threshold == 7.5
        assert answer.text.startswith("No clear match. The closest moment is ") and "Best match" not in answer.text
        assert "the video may not show this" in answer.text
    for answer in (cold[PRESENT], warm[PRESENT]):
        assert answer.match.verdict == "clear" and answer.match.z >= 7.5
        assert answer.text.startswith("Best match: 0:00:14.0–0:00:19.0")
        best = answer.moments[0]
        assert best.start_s <= answer.match.pts_s < best.end_s  # the frame judged is in the best moment
    assert warm[PRESENT].to_dict()["match"] == {
        "verdict": "clear", "z": warm[PRESENT].match.z, "threshold": 7.5, "pts_s": warm[PRESENT].match.pts_s,
    }


def test_cold_and_stored_scores_of_the_same_frame_are_equal(answers):
    cold, warm, _, cold_frames = answers
    # T* scores a 1 s grid time with the frame on screen then, or with a keyframe up to half a step
    # away; where that frame is the only one stored near the grid time and lies on it, the cold
    # score is that frame's, and the index's frame at that time is the same frame
    gaps = np.abs(cold_frames[:, None] - cold_frames[None, :]) + np.eye(cold_frames.size)
    alone = cold_frames[(gaps.min(axis=1) >= 0.5) & (np.abs(cold_frames - np.round(cold_frames)) < 1e-6)]
    for question in (PRESENT, ABSENT):
        c, w = cold[question].timeline, warm[question].timeline
        same, ci, wi = np.intersect1d(np.round(c.timestamps_s, 6), np.round(w.timestamps_s, 6), return_indices=True)
        keep = np.isin(same, np.round(alone, 6))
        assert keep.sum() >= 30
        np.testing.assert_array_equal(np.asarray(c.scores)[ci[keep]], np.asarray(w.scores)[wi[keep]])
    # the red star's moment, found both ways, has one score, and the verdict one z
    assert cold[PRESENT].moments[0].peak_s == warm[PRESENT].moments[0].peak_s == 14.0
    assert cold[PRESENT].moments[0].score == warm[PRESENT].moments[0].score
    assert cold[PRESENT].match.pts_s == warm[PRESENT].match.pts_s
    assert cold[PRESENT].match.z == pytest.approx(warm[PRESENT].match.z, abs=1e-9)


def test_the_published_tstar_reports_relevance_on_the_same_scale(answers, tmp_path):
    """T* as published ranks by calibrated confidences; the answer's timeline and moments still
    carry the frame-local relevance, so its numbers match the indexed answer's."""
    _, warm, _, _ = answers
    config = PipelineConfig.from_preset("tiny").with_overrides({"store": {"path": str(tmp_path / "s")}, "search": {"strategy": "tstar"}, "answer": {"answerer": "grounding"}})
    with Pipeline(config) as pipe:
        cold = pipe.ask(DEMO, PRESENT)
        record, _ = pipe.store.video_for_path(DEMO)
        stored = pipe.store.frames(record.id, pipe.encoder.model_id).pts_s
    assert cold.config["searched"] == "tstar"
    c, w = cold.timeline, warm[PRESENT].timeline
    on_grid = np.round(stored[np.abs(stored - np.round(stored)) < 1e-6], 6)  # frames decoded at the second T* asked
    same, ci, wi = np.intersect1d(np.round(c.timestamps_s, 6), np.round(w.timestamps_s, 6), return_indices=True)
    keep = np.isin(same, on_grid)
    assert keep.sum() >= 10
    np.testing.assert_array_equal(np.asarray(c.scores)[ci[keep]], np.asarray(w.scores)[wi[keep]])
    assert cold.moments[0].score == max(cold.timeline.scores)  # a relevance, not a confidence in (0, 1)


def test_search_says_when_nothing_matches_well(answers, cli_env):
    _, _, store, _ = answers
    code, out, err = run_cli("search", DEMO, "a yellow cross", "--model", "tiny", "--store", store)
    assert code == 0, err
    assert out.splitlines()[1].startswith("No clear match: its best frame matches the question no better than unrelated captions")
    code, out, err = run_cli("search", DEMO, "a red star", "--model", "tiny", "--store", store, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["match"]["verdict"] == "clear" and found["moments"][0]["peak_s"] == pytest.approx(14.0)
    code, out, _ = run_cli("search", DEMO, "a red star", "--model", "tiny", "--store", store)
    assert "No clear match" not in out


# --- the rule itself ----------------------------------------------------------------------------


def unit(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_caption_z_depends_on_the_frame_alone_and_on_no_cosine_scale():
    from longvid.search.scoring import caption_z, judge_match

    rng = np.random.default_rng(5)
    nulls = unit(rng.normal(size=(30, 8)))
    text = unit(rng.normal(size=(1, 8)))
    frames = unit(np.vstack([text + 0.1 * rng.normal(size=(1, 8)), rng.normal(size=(5, 8))]))
    z = caption_z(frames, text, nulls)
    assert z[0] > 3 and np.all(z[1:] < z[0])  # the frame that looks like the text stands out
    # other frames change nothing (to the last bits: BLAS may round a 3-row product differently from a 6-row one)
    np.testing.assert_allclose(caption_z(frames[3:], text, nulls), z[3:], rtol=1e-12, atol=0)
    # by hand: (cosine - median of the null cosines) / (1.4826 x their median absolute deviation)
    cos_null = frames[0] @ nulls.T
    centre = np.median(cos_null)
    expected = (frames[0] @ text[0] - centre) / (1.4826 * np.median(np.abs(cos_null - centre)))
    assert z[0] == pytest.approx(expected)
    # the verdict: the frame with the highest z, against the threshold
    match = judge_match(frames, np.arange(6.0), text, nulls, threshold=float(z[0]))
    assert (match.verdict, match.pts_s, match.z) == ("clear", 0.0, pytest.approx(z[0]))
    assert judge_match(frames[1:], np.arange(1.0, 6.0), text, nulls, threshold=float(z[0])).verdict == "weak"
    # the ranking score is the same number whichever batch a frame is scored in
    score = incremental_scorer(text)
    np.testing.assert_array_equal(score(frames)[3:], score(frames[3:]))


def test_match_threshold_must_be_a_number():
    with pytest.raises(InvalidArgumentError, match=r"search\.match_z = nan is invalid"):
        PipelineConfig().with_overrides({"search": {"match_z": float("nan")}})
