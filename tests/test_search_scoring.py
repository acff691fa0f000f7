"""Query–frame scoring: cosine, per-text normalisation, combination, smoothing, question path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.search.scoring import (
    cosine_matrix,
    frame_scores,
    normalize_columns,
    score_question,
    smooth_scores,
)

VOCAB = ["red", "blue", "star", "circle", "jumping", "spinning", "when", "does", "the", "jump"]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A real (if simple) text encoder: word counts over VOCAB, with jump/jumping as one word."""
    out = np.zeros((len(texts), len(VOCAB)))
    for i, text in enumerate(texts):
        for word in text.lower().replace("?", "").split():
            word = "jumping" if word == "jump" else word
            if word in VOCAB:
                out[i, VOCAB.index(word)] += 1
    return out


def frames_showing(*contents: str) -> np.ndarray:
    """Frame vectors: each frame 'shows' the words given (plus a faint constant background)."""
    return bag_of_words(list(contents)) + 0.05


def test_cosine_matrix_hand_values():
    frames = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    sim = cosine_matrix(frames, np.array([[5.0, 0.0]]))
    assert sim.shape == (3, 1)
    assert np.allclose(sim[:, 0], [1.0, 0.0, np.sqrt(0.5)])


def test_zscore_makes_offset_and_scale_of_a_text_irrelevant():
    base = np.array([0.21, 0.25, 0.22, 0.31, 0.20])
    sim = np.stack([base, 2.0 * base + 0.3], axis=1)
    z = normalize_columns(sim, "zscore")
    assert np.allclose(z[:, 0], z[:, 1])
    assert np.allclose(z.mean(axis=0), 0) and np.allclose(z.std(axis=0), 1)


def test_zscore_of_a_text_equal_for_all_frames_is_zero():
    sim = np.array([[0.3, 0.1], [0.3, 0.2], [0.3, 0.4]])
    z = normalize_columns(sim, "zscore")
    assert np.array_equal(z[:, 0], np.zeros(3))


def test_softmax_is_a_density_with_mean_one():
    sim = np.array([[0.30], [0.31], [0.25], [0.33]])
    p = normalize_columns(sim, "softmax", temperature=0.01)
    assert np.isclose(p.mean(), 1.0)
    e = np.exp((sim[:, 0] - sim.max()) / 0.01)
    assert np.allclose(p[:, 0], 4 * e / e.sum())
    assert np.argmax(p) == 3


def test_combine_modes_exact():
    frames = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    texts = np.array([[1.0, 0.0], [0.0, 1.0]])
    r = np.sqrt(0.5)
    assert np.allclose(frame_scores(frames, texts, "mean", "none"), [0.5, 0.5, r])
    assert np.allclose(frame_scores(frames, texts, "max", "none"), [1.0, 1.0, r])
    assert np.allclose(frame_scores(frames, texts, "min", "none"), [0.0, 0.0, r])
    assert np.allclose(frame_scores(frames, texts, normalize="none", weights=[3, 1]), [0.75, 0.25, r])


def test_frame_scores_accepts_one_text_vector_and_returns_float64():
    frames = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    s = frame_scores(frames, frames[2])
    assert s.shape == (6,) and s.dtype == np.float64
    assert np.argmax(s) == 2


@pytest.mark.parametrize(
    "frames, texts, message",
    [
        (np.zeros((3, 4)) + 1, np.ones((1, 5)), "dimension 4 but text vectors 5"),
        (np.array([[1.0, np.nan]]), np.ones((1, 2)), r"frame_vectors\[0, 1\] = nan"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones((1, 2)), r"frame_vectors\[1\] is an all-zero vector"),
        (np.zeros((0, 3)), np.ones((1, 3)), "non-empty"),
    ],
)
def test_bad_vectors_refused(frames, texts, message):
    with pytest.raises(InvalidArgumentError, match=message):
        frame_scores(frames, texts)


def test_bad_modes_refused():
    f = np.eye(3)
    with pytest.raises(InvalidArgumentError, match="combine = 'sum'.*mean, max, min"):
        frame_scores(f, f, combine="sum")
    with pytest.raises(InvalidArgumentError, match="normalize = 'l2'"):
        frame_scores(f, f, normalize="l2")
    with pytest.raises(InvalidArgumentError, match="temperature"):
        frame_scores(f, f, normalize="softmax", temperature=0)
    with pytest.raises(InvalidArgumentError, match="weights"):
        frame_scores(f, f, weights=[1, -1, 0])


def test_smooth_scores_hand_values():
    t = np.array([0.0, 1.0, 3.0])
    s = np.array([1.0, 0.0, 0.0])
    out = smooth_scores(t, s, 1.0)
    w0 = np.exp(-0.5 * np.array([0.0, 1.0, 9.0]))
    w1 = np.exp(-0.5 * np.array([1.0, 0.0, 4.0]))
    assert np.isclose(out[0], w0[0] / w0.sum())
    assert np.isclose(out[1], w1[0] / w1.sum())
    assert np.array_equal(smooth_scores(t, s, 0.0), s)
    assert np.allclose(smooth_scores(np.arange(10.0), np.full(10, 0.7), 2.0), 0.7)


def test_smooth_scores_spreads_a_spike_symmetrically():
    t = np.arange(41.0)
    s = np.zeros(41)
    s[20] = 1.0
    out = smooth_scores(t, s, 2.0)
    assert np.argmax(out) == 20
    assert np.allclose(out[:20], out[21:][::-1])
    with pytest.raises(InvalidArgumentError, match="sigma_s = -1"):
        smooth_scores(t, s, -1)


def test_score_question_decoupled_ranks_the_right_frame_first():
    frames = frames_showing("blue circle", "blue star", "red star jumping", "blue star spinning", "red circle")
    result = score_question(frames, "When does the red star jump?", bag_of_words)
    assert result.texts == ("red star", "red star jumping")
    assert result.method == "rules"
    assert result.per_text.shape == (5, 2)
    assert np.argmax(result.scores) == 2
    assert np.allclose(result.scores, frame_scores(frames, bag_of_words(list(result.texts))))
    json.dumps(result.to_dict())  # JSON-ready


def test_score_question_raw_and_llm_paths():
    frames = frames_showing("red star", "blue circle")
    raw = score_question(frames, "When does the red star jump?", bag_of_words, decouple=False)
    assert raw.texts == ("When does the red star jump?",) and raw.method == "raw"
    seen = []

    def llm(prompt: str) -> str:
        seen.append(prompt)
        return "- blue circle\n- blue circle spinning\n"

    via_llm = score_question(frames, "what spins?", bag_of_words, llm=llm)
    assert via_llm.method == "llm" and via_llm.texts == ("blue circle", "blue circle spinning")
    assert "what spins?" in seen[0]
    assert np.argmax(via_llm.scores) == 1


def test_score_question_refuses_bad_encoder_output_and_empty_question():
    frames = frames_showing("red star")
    with pytest.raises(InvalidArgumentError, match="one row per text"):
        score_question(frames, "red star", lambda texts: np.ones(len(VOCAB)))
    with pytest.raises(InvalidArgumentError, match="empty"):
        score_question(frames, "   ", bag_of_words)


def test_smooth_scores_matches_the_direct_sum_on_irregular_times():
    rng = np.random.default_rng(4)
    t = np.cumsum(rng.uniform(0.1, 3.0, 300))
    s = rng.normal(size=300)
    sigma = 1.7
    direct = np.empty(300)
    for i in range(300):
        near = np.abs(t - t[i]) <= 4 * sigma
        w = np.exp(-0.5 * ((t[near] - t[i]) / sigma) ** 2)
        direct[i] = w @ s[near] / w.sum()
    assert np.allclose(smooth_scores(t, s, sigma), direct)


def test_incremental_scorer_gives_a_frame_the_same_score_in_any_batch():
    from longvid.search.scoring import incremental_scorer

    rng = np.random.default_rng(1)
    frames = rng.normal(size=(20, 8))
    texts = rng.normal(size=(2, 8))
    scorer = incremental_scorer(texts)
    whole = scorer(frames)
    assert np.allclose(np.concatenate([scorer(frames[:3]), scorer(frames[3:11]), scorer(frames[11:])]), whole)
    assert np.allclose(whole, frame_scores(frames, texts, normalize="none"))
    with pytest.raises(InvalidArgumentError, match="combine"):
        incremental_scorer(texts, combine="sum")


def test_smooth_scores_max_keeps_peaks_and_spreads_their_lead():
    t = np.arange(9.0)
    s = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0])  # median 0
    out = smooth_scores(t, s, 1.0, method="max")
    assert out[4] == 2.0  # the peak keeps its height
    assert np.allclose(out[[3, 5]], 2.0 * np.exp(-0.5)) and np.allclose(out[[2, 6]], 2.0 * np.exp(-2.0))
    assert np.allclose(out[:4], out[5:][::-1])
    assert np.array_equal(smooth_scores(t, s, 0.0, method="max"), s)
    with pytest.raises(InvalidArgumentError, match="smoothing method 'median' is unknown"):
        smooth_scores(t, s, 1.0, method="median")


def test_smooth_scores_max_keeps_a_short_needle_ahead_of_a_longer_weaker_moment():
    t = np.arange(200.0)
    s = np.zeros(200)
    s[50:53] = 1.0  # a 3 s needle
    s[120:128] = 0.8  # an 8 s look-alike, weaker
    mean, spread = smooth_scores(t, s, 3.0), smooth_scores(t, s, 3.0, method="max")
    assert mean[51] < mean[124]  # averaging lets the longer moment win
    assert spread[51] > spread[124] and np.argmax(spread) in (50, 51, 52)
    assert np.all(spread >= s)
