"""``dense`` selection: the budget spread over the best moments, in proportion to their height."""

from __future__ import annotations

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.select import select_frames
from longvid.types import Scene


def timeline(bumps: dict[tuple[int, int], float], n: int = 600, seed: int = 0):
    t = np.arange(n, dtype=np.float64)
    s = np.random.default_rng(seed).normal(0.0, 0.05, n)
    for (a, b), height in bumps.items():
        s[a:b] += height
    return t, s


def test_one_strong_moment_takes_the_whole_budget_evenly_across_its_span():
    t, s = timeline({(100, 104): 4.0})
    sel = select_frames(t, s, 16, strategy="dense")
    times = np.array(sel.timestamps_s)
    assert len(times) == 16 and sel.strategy == "dense"
    # the moment covers samples 100..103, i.e. 100 s to 104 s, padded by half a step
    assert times.min() >= 99.5 and times.max() <= 104.5
    np.testing.assert_allclose(np.diff(times), 5.0 / 16, atol=1e-6)
    assert np.all(np.diff(times) > 0)


def test_two_equal_moments_share_the_budget_and_weak_ones_are_left_out():
    t, s = timeline({(100, 104): 3.0, (400, 404): 3.0, (250, 253): 0.9})
    times = np.array(select_frames(t, s, 16, strategy="dense").timestamps_s)
    assert ((times > 99) & (times < 105)).sum() == 8
    assert ((times > 399) & (times < 405)).sum() == 8
    assert not ((times > 240) & (times < 260)).any()  # 0.9 is below half of 3.0


def test_budget_shares_follow_height_to_the_sharpness():
    t, s = timeline({(100, 104): 4.0, (400, 404): 2.0})
    times = np.array(select_frames(t, s, 20, strategy="dense", sharpness=2.0).timestamps_s)
    # heights ~4 and ~2 above the median: shares 16 : 4
    assert ((times > 99) & (times < 105)).sum() == 16
    assert ((times > 399) & (times < 405)).sum() == 4
    times = np.array(select_frames(t, s, 20, strategy="dense", sharpness=0.0).timestamps_s)
    assert ((times > 99) & (times < 105)).sum() == 10


def test_a_short_moment_holds_at_most_one_frame_per_min_step_and_the_rest_goes_elsewhere():
    t, s = timeline({(100, 101): 4.0})
    sel = select_frames(t, s, 32, strategy="dense", min_step_s=0.1)
    times = np.array(sel.timestamps_s)
    inside = (times >= 99.5) & (times <= 101.5)
    assert inside.sum() == 20  # a 2 s padded span at one frame per 0.1 s
    assert len(times) == 32 and len(np.unique(times)) == 32
    outside = times[~inside]
    assert set(outside) <= set(t)  # sampled frames, the best remaining ones
    assert sel.scores == tuple(np.interp(times, t, s))


def test_moments_stay_inside_their_scene():
    t, s = timeline({(100, 106): 4.0})
    scenes = [Scene(0, 0.0, 103.0, 0, 103), Scene(1, 103.0, 600.0, 103, 600)]
    times = np.array(select_frames(t, s, 8, strategy="dense", scenes=scenes, moments=1).timestamps_s)
    assert times.max() < 103.6 and times.min() >= 99.5  # the best peak's shot only


def test_flat_scores_give_the_uniform_spread():
    t = np.arange(100.0)
    sel = select_frames(t, np.zeros(100), 10, strategy="dense")
    assert sel.timestamps_s == select_frames(t, np.zeros(100), 10, strategy="uniform").timestamps_s


@pytest.mark.parametrize("option, value", [("moments", 0), ("ratio", 1.5), ("sharpness", -1.0), ("min_step_s", float("nan"))])
def test_bad_options_are_refused_with_the_value(option, value):
    t, s = timeline({(10, 12): 2.0}, n=50)
    with pytest.raises(InvalidArgumentError, match=option):
        select_frames(t, s, 4, strategy="dense", **{option: value})
