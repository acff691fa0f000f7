"""T* adaptive temporal search on synthetic score functions (needles in long timelines)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.search.tstar_coverage import coverage_search

THIRTY_MIN_S = 1800.0


class Needle:
    """Scores of a 30-minute video for one question, as a function of time.

    Noise is a fixed function of the time (same time, same score); a 3 s needle scores high and
    its surroundings rise a little (a Gaussian of ``context_s``), as when the answer's objects are
    on screen before and after the moment. Records every time asked for.
    """

    def __init__(self, start_s: float, context_s: float = 8.0, needle_s: float = 3.0, seed: int = 1):
        self.start_s, self.context_s, self.needle_s, self.seed = start_s, context_s, needle_s, seed
        self.calls: list[np.ndarray] = []

    def __call__(self, times_s: np.ndarray) -> np.ndarray:
        times_s = np.asarray(times_s, dtype=np.float64)
        self.calls.append(times_s.copy())
        noise = np.array([np.random.default_rng([self.seed, int(round(x * 2))]).standard_normal() for x in times_s])
        centre = self.start_s + self.needle_s / 2
        s = 0.2 + 0.02 * noise + 0.1 * np.exp(-0.5 * ((times_s - centre) / self.context_s) ** 2)
        inside = (times_s >= self.start_s) & (times_s < self.start_s + self.needle_s)
        return s + np.where(inside, 0.3, 0.0)

    def asked(self) -> np.ndarray:
        return np.concatenate(self.calls)


@pytest.mark.parametrize("start_s", [4.0, 611.0, 1234.5, 1795.0])
def test_finds_a_3s_needle_in_30_minutes_with_a_quarter_of_a_1fps_index(start_s):
    fn = Needle(start_s)
    result = coverage_search(THIRTY_MIN_S, fn, budget=8, seed=0)
    assert result.evaluations <= 0.25 * THIRTY_MIN_S  # a 1 fps index embeds 1800 frames
    best = result.visited_times_s[np.argmax(result.visited_scores)]
    assert start_s <= best < start_s + 3.0
    picks = np.asarray(result.selection.timestamps_s)
    assert len(picks) == 8
    assert np.any((picks >= start_s) & (picks < start_s + 3.0))
    near = (picks >= start_s - 5.0) & (picks < start_s + 3.0 + 5.0)  # within the 5 s tolerance
    assert near.sum() >= 6
    assert result.evaluations == sum(result.round_sizes) == fn.asked().size


def test_a_confirmed_peak_stops_the_search_early():
    fn = Needle(611.0)
    result = coverage_search(THIRTY_MIN_S, fn, budget=8, coarse_count=200, seed=0)  # 250 left to refine
    assert result.stop_reason == "confirmed"
    assert 200 < result.evaluations < 0.25 * THIRTY_MIN_S
    best = result.visited_times_s[np.argmax(result.visited_scores)]
    assert 611.0 <= best < 614.0


def test_refinement_keeps_three_budgets_and_zooms_around_the_peak():
    fn = Needle(1234.5, context_s=0.5)  # nothing rises around the needle: only a coarse hit finds it
    result = coverage_search(THIRTY_MIN_S, fn, budget=8, seed=0)
    assert result.round_sizes[0] == 450 - 3 * 8  # the coarse pass: everything but three budgets
    refined = np.concatenate(fn.calls[1:])
    assert 8 <= refined.size <= 24  # it may stop once the peak is confirmed
    assert np.mean(np.abs(refined - 1236.0) <= 4.0) >= 0.5  # most of it right around the needle


def test_deterministic_given_a_seed():
    a = coverage_search(THIRTY_MIN_S, Needle(900.0), budget=8, seed=7)
    b = coverage_search(THIRTY_MIN_S, Needle(900.0), budget=8, seed=7)
    assert np.array_equal(a.visited_times_s, b.visited_times_s)
    assert a.selection == b.selection and a.rounds == b.rounds and a.round_sizes == b.round_sizes
    c = coverage_search(THIRTY_MIN_S, Needle(900.0), budget=8, seed=8)
    assert not np.array_equal(a.visited_times_s, c.visited_times_s)


def test_never_revisits_and_stays_on_the_grid():
    fn = Needle(300.0)
    result = coverage_search(600.0, fn, budget=4, grid_s=0.5, start_s=10.0, seed=3)
    asked = fn.asked()
    assert asked.size == np.unique(asked).size
    assert np.allclose((asked - 10.0) / 0.5, np.round((asked - 10.0) / 0.5))
    assert asked.min() >= 10.0 and asked.max() < 610.0
    assert np.array_equal(np.sort(asked), result.visited_times_s)


def test_coarse_pass_uses_the_given_keyframes_first():
    fn = Needle(300.0)
    keyframes = np.arange(0.0, 600.0, 2.002)  # a 2 s GOP at 29.97 fps
    coverage_search(600.0, fn, budget=4, initial_times_s=keyframes, max_evaluations=400, coarse_count=300, seed=0)
    first = fn.calls[0]
    assert np.array_equal(first, np.unique(np.round(keyframes / 0.5) * 0.5))


def test_keyframes_beyond_the_coarse_share_are_thinned_evenly():
    fn = Needle(300.0)
    result = coverage_search(600.0, fn, budget=4, initial_times_s=np.arange(0.0, 600.0, 1.0), max_evaluations=100, seed=0)
    first = fn.calls[0]
    assert first.size == 88  # the coarse pass gets all but three budgets (3 x 4) of the 100
    assert np.all(np.diff(first) >= 6.0)
    assert result.rounds >= 1 and fn.asked().size == result.evaluations <= 100


def test_stops_at_max_evaluations_when_nothing_stands_out():
    calls = []

    def flat(times_s):
        calls.append(len(times_s))
        return np.full(len(times_s), 0.25)

    result = coverage_search(THIRTY_MIN_S, flat, budget=8, max_evaluations=200, seed=0)
    assert result.stop_reason == "max_evaluations"
    assert result.evaluations == sum(calls) == 200
    assert len(result.selection.timestamps_s) == 8


def test_exhausts_a_short_video():
    result = coverage_search(5.0, lambda t: np.sin(np.asarray(t)), budget=3, max_evaluations=50)
    assert result.evaluations == 10  # 5 s on a 0.5 s grid
    assert result.stop_reason == "exhausted"
    assert len(result.selection.timestamps_s) == 3


def test_result_is_json_ready():
    result = coverage_search(120.0, Needle(60.0), budget=4, seed=0)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["evaluations"] == result.evaluations
    assert data["selection"]["strategy"] == "topk"


def test_other_final_strategy_and_smoothing():
    result = coverage_search(600.0, Needle(300.0), budget=6, strategy="bolt", smooth_s=2.0, seed=0)
    assert result.selection.strategy == "bolt" and len(result.selection.timestamps_s) == 6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration_s": 0}, "duration_s = 0"),
        ({"grid_s": -1}, "grid_s = -1"),
        ({"budget": 0}, "frame budget"),
        ({"max_evaluations": 0}, "max_evaluations = 0"),
        ({"top_quantile": 1.0}, "top_quantile"),
        ({"explore": 2}, "explore"),
        ({"score_at": "nope"}, "not callable"),
        ({"initial_times_s": []}, "initial_times_s is empty"),
    ],
)
def test_bad_arguments_refused(kwargs, message):
    args = {"duration_s": 60.0, "score_at": Needle(30.0), "budget": 4} | kwargs
    with pytest.raises(InvalidArgumentError, match=message):
        coverage_search(**args)


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda t: np.zeros(len(t) + 1), "returned shape"),
        (lambda t: np.full(len(t), np.nan), "returned nan"),
    ],
)
def test_bad_score_function_output_refused(fn, message):
    with pytest.raises(InvalidArgumentError, match=message):
        coverage_search(60.0, fn, budget=4)


def test_a_fully_indexed_video_needs_no_evaluation():
    fn = Needle(300.0)
    grid = np.arange(0.0, 600.0, 0.5)
    result = coverage_search(600.0, fn, budget=4, known_times_s=grid, known_scores=Needle(300.0)(grid))
    assert fn.calls == [] and result.evaluations == 0
    assert result.from_store == grid.size and result.stop_reason == "exhausted"
    assert all(300.0 <= x < 303.0 or abs(x - 301.5) <= 6.5 for x in result.selection.timestamps_s)


def test_stored_frames_make_the_next_question_cheaper():
    first = Needle(400.0, seed=1)
    cold_a = coverage_search(THIRTY_MIN_S, first, budget=8, seed=0)
    # Second question, same video: the frames the first search embedded are in the store.
    second = Needle(1500.0, seed=2)
    cold_b = coverage_search(THIRTY_MIN_S, Needle(1500.0, seed=2), budget=8, seed=0)
    warm_b = coverage_search(
        THIRTY_MIN_S, second, budget=8, seed=0,
        known_times_s=cold_a.visited_times_s, known_scores=Needle(1500.0, seed=2)(cold_a.visited_times_s),
    )
    assert warm_b.from_store == cold_a.evaluations
    assert warm_b.evaluations < cold_b.evaluations
    best = warm_b.visited_times_s[np.argmax(warm_b.visited_scores)]
    assert 1500.0 <= best < 1503.0
    assert not np.isin(second.asked(), cold_a.visited_times_s).any()  # stored frames are not re-embedded


def test_known_scores_validated():
    with pytest.raises(InvalidArgumentError, match="go together"):
        coverage_search(60.0, Needle(30.0), known_times_s=[1.0])
    with pytest.raises(InvalidArgumentError, match="2 known_times_s but 1 known_scores"):
        coverage_search(60.0, Needle(30.0), known_times_s=[1.0, 2.0], known_scores=[0.3])
    with pytest.raises(InvalidArgumentError, match="not finite"):
        coverage_search(60.0, Needle(30.0), known_times_s=[1.0], known_scores=[float("nan")])


def test_grid_times_move_onto_keyframes_within_half_a_step():
    from longvid.pipeline import _onto_keyframes

    keyframes = np.array([0.0, 2.0, 4.0, 5.9, 7.9, 10.5])
    times = np.array([0.0, 1.0, 2.0, 6.0, 8.0, 9.0, 10.0, 11.0, 12.0])
    moved = _onto_keyframes(times, keyframes, 0.5)
    assert moved.tolist() == [0.0, 1.0, 2.0, 5.9, 7.9, 9.0, 10.5, 10.5, 12.0]
    assert _onto_keyframes(times, None, 0.5) is not None and _onto_keyframes(times, None, 0.5).tolist() == times.tolist()
    assert _onto_keyframes(times, np.array([6.2]), 0.5).tolist() == [0.0, 1.0, 2.0, 6.2, 8.0, 9.0, 10.0, 11.0, 12.0]
