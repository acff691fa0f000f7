"""Contract every selection strategy keeps, parametrized over every registered strategy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from longvid.errors import InvalidArgumentError
from longvid.select import STRATEGIES, select_frames
from longvid.types import Scene, Selection

ALL = STRATEGIES.names()
# The published methods return what the authors' code returns: at most the budget (BOLT hands a
# frame two quantiles land on to the LLM twice, AKS rounds segment shares down).
AT_MOST = ("aks", "bolt")
# longvid's ``dense`` places frames inside moments between sampled times (the pipeline decodes
# exactly those); each carries the score interpolated from its sampled neighbours.
OFF_GRID = ("dense",)


def test_every_builtin_is_registered():
    assert ALL == ["aks", "aks-z", "bolt", "dense", "scene", "topk", "uniform"]


def curve(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 10-minute 1 fps score curve: noise, two bumps and a sharp needle."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    s = 0.2 + 0.02 * rng.standard_normal(n)
    s += 0.1 * np.exp(-0.5 * ((t - 150) / 8) ** 2) + 0.15 * np.exp(-0.5 * ((t - 420) / 3) ** 2)
    s[300:303] += 0.4
    return t, s


def check_selection(sel: Selection, t: np.ndarray, s: np.ndarray, budget: int, name: str) -> None:
    times = np.asarray(sel.timestamps_s)
    assert sel.strategy == name
    if name in AT_MOST:
        assert len(times) <= min(budget, t.size)
    else:
        assert len(times) == min(budget, t.size)
    assert np.all(np.diff(times) > 0), "sorted and unique"
    if name in OFF_GRID:
        step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
        assert t[0] <= times[0] and times[-1] <= t[-1] + step, "on the timeline"
        assert np.allclose(sel.scores, np.interp(times, t, s)), "each time carries its interpolated score"
        return
    idx = np.searchsorted(t, times)
    assert np.array_equal(t[idx], times), "only given timestamps"
    assert np.allclose(sel.scores, s[idx]), "each time carries its own score"


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("budget", [1, 2, 7, 8, 16, 33])
def test_budget_met_exactly_sorted_unique(name, budget):
    t, s = curve()
    check_selection(select_frames(t, s, budget, name), t, s, budget, name)


@pytest.mark.parametrize("name", ALL)
def test_deterministic(name):
    t, s = curve()
    a = select_frames(t, s, 12, name)
    b = select_frames(t.copy(), s.copy(), 12, name)
    assert a == b


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("budget", [10, 11, 50])
def test_budget_at_least_frames_gives_all(name, budget):
    t = np.array([0.0, 0.5, 2.0, 7.5, 8.0, 9.0, 11.0, 12.5, 13.0, 20.0])
    s = np.linspace(1, 0, 10)
    sel = select_frames(t, s, budget, name)
    assert sel.timestamps_s == tuple(t)


@pytest.mark.parametrize("name", ALL)
def test_flat_scores_spread_evenly(name):
    t = np.arange(0.0, 1000.0, 0.5)
    s = np.full(t.size, 0.3)
    sel = select_frames(t, s, 10, name)
    times = np.asarray(sel.timestamps_s)
    # One pick in each tenth of the timeline.
    assert np.array_equal(np.floor(times / 100), np.arange(10))


@pytest.mark.parametrize("name", ALL)
def test_one_frame(name):
    sel = select_frames([3.25], [0.7], 4, name)
    assert sel.timestamps_s == (3.25,) and sel.scores == (0.7,)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_scores_refused_naming_value(name, bad):
    t, s = curve(50)
    s[17] = bad
    with pytest.raises(InvalidArgumentError) as err:
        select_frames(t, s, 5, name)
    assert f"scores[17] = {bad!r}" in str(err.value)
    assert "17.000 s" in str(err.value)


@pytest.mark.parametrize("name", ALL)
def test_empty_refused(name):
    with pytest.raises(InvalidArgumentError, match="empty"):
        select_frames([], [], 5, name)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("times", [[0.0, 2.0, 1.0, 3.0], [0.0, 1.0, 1.0, 3.0]])
def test_unsorted_or_duplicate_timestamps_refused(name, times):
    with pytest.raises(InvalidArgumentError, match=r"strictly increasing.*timestamps_s\[2\]"):
        select_frames(times, [0.1, 0.2, 0.3, 0.4], 2, name)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("budget", [0, -3, 2.5, True, "8", None])
def test_bad_budget_refused(name, budget):
    with pytest.raises(InvalidArgumentError, match="frame budget"):
        select_frames([0.0, 1.0, 2.0], [0.1, 0.2, 0.3], budget, name)


@pytest.mark.parametrize("name", ALL)
def test_length_mismatch_and_bad_timestamps_refused(name):
    with pytest.raises(InvalidArgumentError, match="3 timestamps but 2 scores"):
        select_frames([0.0, 1.0, 2.0], [0.1, 0.2], 2, name)
    with pytest.raises(InvalidArgumentError, match=r"timestamps_s\[1\] = nan"):
        select_frames([0.0, float("nan"), 2.0], [0.1, 0.2, 0.3], 2, name)
    with pytest.raises(InvalidArgumentError, match="1-D"):
        select_frames(np.zeros((2, 2)), np.zeros((2, 2)), 2, name)


@pytest.mark.parametrize("name", ALL)
def test_irregular_keyframe_times_and_negative_scores(name):
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.5, 6.0, 200)) + 1.075  # keyframes with a start offset
    s = rng.normal(-1.0, 0.5, 200)  # z-scores are negative for most frames
    check_selection(select_frames(t, s, 9, name), t, s, 9, name)


@pytest.mark.parametrize("name", ALL)
def test_accepts_scenes_as_objects_or_per_frame_ids(name):
    t, s = curve(120)
    scenes = [Scene(0, 0.0, 40.0, 0, 40), Scene(1, 40.0, 90.0, 40, 90), Scene(2, 90.0, 120.0, 90, 120)]
    ids = np.repeat([0, 1, 2], [40, 50, 30])
    a = select_frames(t, s, 6, name, scenes=scenes)
    b = select_frames(t, s, 6, name, scenes=ids)
    check_selection(a, t, s, 6, name)
    assert a == b


@pytest.mark.parametrize("name", ALL)
def test_smoothing_option_keeps_contract(name):
    t, s = curve()
    sel = select_frames(t, s, 8, name, smooth_s=2.0)
    assert len(sel.timestamps_s) == 8 or (name in AT_MOST and len(sel.timestamps_s) <= 8)
    assert np.all(np.diff(sel.timestamps_s) > 0)


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 80),
    budget=st.integers(1, 40),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_property_any_input(name, n, budget, seed, ties):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.01, 5.0, n))
    s = rng.integers(0, 3, n).astype(float) if ties else rng.normal(size=n)
    check_selection(select_frames(t, s, budget, name), t, s, budget, name)
