"""What each strategy does on hand-made score curves (beyond the shared contract)."""

from __future__ import annotations

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.select import STRATEGIES, select_frames, strategy_options
from longvid.select.aks import select_aks_z
from longvid.select.bolt import select_bolt
from longvid.select.scene import allocate, select_scene
from longvid.select.topk import select_topk
from longvid.select.uniform import select_uniform
from longvid.types import Scene, Selection


def noise(n: int, seed: int = 0, level: float = 0.01) -> np.ndarray:
    return 0.2 + level * np.random.default_rng(seed).standard_normal(n)


# --- uniform ------------------------------------------------------------------------------------


def test_uniform_takes_frames_nearest_to_bin_centres():
    t = np.arange(100.0)
    sel = select_uniform(t, np.zeros(100), 4)
    # Bin centres 12.375, 37.125, 61.875, 86.625.
    assert sel.timestamps_s == (12.0, 37.0, 62.0, 87.0)


def test_uniform_ignores_scores():
    t = np.arange(100.0)
    assert select_uniform(t, noise(100), 5).timestamps_s == select_uniform(t, np.zeros(100), 5).timestamps_s


def test_uniform_on_sparse_frames_moves_collisions_to_free_neighbours():
    t = np.array([0.0, 1.0, 2.0, 50.0, 100.0])
    # Centres 12.5, 37.5, 62.5, 87.5 -> 2, 50, then 50 is taken: 100, then 100 is taken: 1.
    sel = select_uniform(t, np.zeros(5), 4)
    assert sel.timestamps_s == (1.0, 2.0, 50.0, 100.0)


# --- topk ---------------------------------------------------------------------------------------


def test_topk_picks_the_planted_peaks():
    t = np.arange(600.0)
    s = noise(600)
    for p, h in [(40, 0.9), (333, 0.8), (517, 0.85)]:
        s[p] = h
    assert select_topk(t, s, 3).timestamps_s == (40.0, 333.0, 517.0)
    assert select_topk(t, s, 3).scores == (0.9, 0.8, 0.85)


def test_topk_nms_suppresses_neighbours_of_a_long_plateau():
    t = np.arange(200.0)
    s = noise(200)
    s[100:110] = 1.0  # one long relevant moment
    s[30] = 0.8  # a second, weaker one
    assert select_topk(t, s, 2, min_gap_s=0).timestamps_s == (100.0, 101.0)
    assert select_topk(t, s, 2, min_gap_s=20).timestamps_s == (30.0, 100.0)


def test_topk_default_gap_is_one_second_on_long_videos():
    t = np.arange(0.0, 600.0, 0.25)  # 4 fps
    s = noise(t.size)
    s[(t >= 300) & (t < 305)] = 1.0  # a 5 s event
    times = np.asarray(select_topk(t, s, 5).timestamps_s)
    assert np.all((times >= 300) & (times < 305))
    assert np.all(np.diff(times) >= 1.0)


def test_topk_default_gap_spreads_short_clips():
    t = np.arange(0.0, 4.0, 0.1)
    s = np.linspace(0, 1, t.size)  # rising: without a gap all picks would sit at the end
    times = np.asarray(select_topk(t, s, 4).timestamps_s)
    gap = (t[-1] - t[0]) / 8  # half a fair share, below the 1 s cap
    assert np.allclose(np.diff(times), 0.5) and gap < 0.5
    assert times[-1] == t[-1]


def test_topk_refills_when_suppression_leaves_too_few():
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    s = np.array([0.1, 0.5, 0.9, 0.4, 0.2])
    sel = select_topk(t, s, 3, min_gap_s=1000)
    # The gap halves until the budget fits, so the refill stays as spread as it can.
    assert sel.timestamps_s == (0.0, 2.0, 4.0)
    assert select_topk(t, s, 3, min_gap_s=1.0).timestamps_s == (1.0, 2.0, 3.0)


def test_topk_refuses_bad_gap():
    with pytest.raises(InvalidArgumentError, match="min_gap_s = -1"):
        select_topk([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], 2, min_gap_s=-1)


# --- bolt (exact selections against BOLT's code: test_select_published.py) ---------------------


def bump_curve() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(1000.0)
    s = noise(1000, level=0.02)
    return t, s + 0.5 * np.exp(-0.5 * ((t - 700) / 20) ** 2)  # a relevant stretch of about a minute


def test_bolt_power_trades_coverage_for_relevance():
    t, s = bump_curve()
    # no floor: at the authors' power 3 the stretch that stands out takes every pick
    sharp = np.asarray(select_bolt(t, s, 16).timestamps_s)
    assert len(sharp) == 16 and np.all(np.abs(sharp - 700) <= 40)
    # power 1: half the picks still spread over the rest of the timeline
    soft = np.asarray(select_bolt(t, s, 16, power=1.0).timestamps_s)
    assert 4 <= np.sum(np.abs(soft - 700) <= 40) <= 8
    # power 0: equal mass, frames at the quantiles linspace(1/16, 15/16, 16): evenly spaced
    even = np.asarray(select_bolt(t, s, 16, power=0).timestamps_s)
    assert np.allclose(np.diff(even), 1000 * 14 / 15 / 16, atol=1.0)


def test_bolt_quantiles_on_one_frame_give_it_once():
    t, s = bump_curve()
    assert len(select_bolt(t, s, 16, power=40).timestamps_s) == 9  # 16 quantiles, 9 distinct frames
    spike = np.zeros(100)
    spike[50] = 1.0
    assert select_bolt(np.arange(100.0), spike, 8).timestamps_s == (50.0,)  # all mass on one frame


def test_bolt_refuses_bad_power():
    with pytest.raises(InvalidArgumentError, match="power"):
        select_bolt([0.0, 1.0], [0.0, 1.0], 1, power=-1)


# --- aks-z (longvid's AKS; the published aks is in test_select_published.py) --------------------


def test_aks_z_goes_for_relevance_when_a_moment_stands_out():
    t = np.arange(1200.0)
    s = noise(1200)
    s[800:808] = 0.6
    times = np.asarray(select_aks_z(t, s, 8).timestamps_s)
    assert np.array_equal(times, np.arange(800.0, 808.0))


def test_aks_z_covers_when_nothing_stands_out():
    t = np.arange(1024.0)
    s = noise(1024, seed=5)
    times = np.asarray(select_aks_z(t, s, 8).timestamps_s)
    # Three levels of halving: one pick per eighth, the best frame of each eighth.
    assert np.array_equal(np.floor(times / 128), np.arange(8))
    for k, x in enumerate(times):
        seg = slice(128 * k, 128 * (k + 1))
        assert x == t[seg][np.argmax(s[seg])]


def test_aks_z_mixes_relevance_and_coverage():
    t = np.arange(1024.0)
    s = noise(1024, seed=2)
    s[100] = 0.4  # one frame: stands out only once a segment's budget is small enough
    times = np.asarray(select_aks_z(t, s, 64).timestamps_s)
    assert 100.0 in times
    near = times[(times >= 64) & (times < 128)]
    assert len(near) > 4  # relevance: the segment around the needle takes its top frames
    right = times[times >= 512]  # coverage: one pick per 1/64 of the timeline
    assert np.array_equal(np.floor(right / 16), np.arange(32, 64))


def test_aks_z_threshold_extremes():
    t = np.arange(512.0)
    s = noise(512, seed=9)
    assert select_aks_z(t, s, 8, threshold=0).timestamps_s == select_topk(t, s, 8).timestamps_s
    spread = np.asarray(select_aks_z(t, s, 8, threshold=1e9).timestamps_s)
    assert np.array_equal(np.floor(spread / 64), np.arange(8))


def test_aks_z_refuses_bad_options():
    with pytest.raises(InvalidArgumentError, match="threshold"):
        select_aks_z([0.0, 1.0], [0.0, 1.0], 1, threshold=float("nan"))
    with pytest.raises(InvalidArgumentError, match="max_depth"):
        select_aks_z([0.0, 1.0], [0.0, 1.0], 1, max_depth=-1)


# --- scene --------------------------------------------------------------------------------------


def shots(bounds: list[float]) -> list[Scene]:
    return [Scene(i, a, b, int(a), int(b)) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def test_scene_covers_every_shot_and_favours_the_relevant_one():
    t = np.arange(500.0)
    s = noise(500)
    s[210:220] = 0.9  # the answer is in shot 2
    scenes = shots([0, 60, 200, 260, 400, 500])
    times = np.asarray(select_scene(t, s, 10, scenes=scenes).timestamps_s)
    counts = np.histogram(times, bins=[0, 60, 200, 260, 400, 500])[0]
    assert np.all(counts >= 1)
    assert counts[2] == counts.max() and counts[2] >= 3
    assert any(210 <= x < 220 for x in times)  # the best frame of the relevant shot


def test_scene_with_fewer_picks_than_shots_takes_the_heaviest():
    t = np.arange(100.0)
    s = np.full(100, 0.1)
    s[5], s[55], s[95] = 0.9, 0.8, 0.2
    scenes = shots([0, 10, 20, 50, 60, 100])  # weights: 10*1.0, 10*.1, 30*.1, 10*.875, 40*.125
    sel = select_scene(t, s, 2, scenes=scenes)
    assert sel.timestamps_s == (5.0, 55.0)


def test_scene_without_scenes_takes_best_of_each_equal_segment():
    t = np.arange(400.0)
    s = noise(400, seed=4)
    times = np.asarray(select_scene(t, s, 4).timestamps_s)
    for k, x in enumerate(times):
        seg = (t >= 100 * k) & (t < 100 * (k + 1)) if k < 3 else t >= 300
        assert x == t[seg][np.argmax(s[seg])]


def test_scene_ids_and_frames_outside_scenes():
    t = np.arange(30.0)
    s = noise(30)
    # The scenes leave 25..29 uncovered: they join the nearest (last) scene.
    scenes = shots([0, 10, 25])
    sel = select_scene(t, s, 3, scenes=scenes)
    assert len(sel.timestamps_s) == 3
    with pytest.raises(InvalidArgumentError, match="one scene id per frame"):
        select_scene(t, s, 3, scenes=np.zeros(5, dtype=int))
    with pytest.raises(InvalidArgumentError, match="integers"):
        select_scene(t, s, 3, scenes=np.zeros(30))


def test_allocate_largest_remainder_with_capacity():
    assert allocate(np.array([1.0, 1.0, 2.0]), np.array([10, 10, 10]), 7).tolist() == [2, 2, 3]
    assert allocate(np.array([0.0, 5.0]), np.array([3, 1]), 4).tolist() == [3, 1]
    assert allocate(np.array([3.0, 1.0, 2.0]), np.array([5, 5, 5]), 2).tolist() == [1, 0, 1]


# --- dispatch -----------------------------------------------------------------------------------


def test_unknown_strategy_and_option_refused_with_choices():
    with pytest.raises(InvalidArgumentError, match="unknown selection strategy 'best'.*aks, aks-z, bolt, dense, scene, topk, uniform"):
        select_frames([0.0], [1.0], 1, "best")
    with pytest.raises(InvalidArgumentError, match="'topk' has no option 'power'.*min_gap_s"):
        select_frames([0.0], [1.0], 1, "topk", power=2)


def test_strategy_options_lists_documented_defaults():
    assert strategy_options("aks-z") == {"threshold": 3.0, "max_depth": None}
    assert strategy_options("topk") == {"min_gap_s": None}
    assert strategy_options("uniform") == {}


def test_custom_strategy_registers_and_dispatches():
    def select_first(timestamps_s, scores, budget, scenes=None):
        return Selection(tuple(timestamps_s[:budget]), tuple(scores[:budget]), "first")

    STRATEGIES.register("first-test", select_first)
    try:
        assert select_frames([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], 2, "first-test").timestamps_s == (1.0, 2.0)
    finally:
        STRATEGIES._entries.pop("first-test")


def test_smoothing_lifts_the_neighbours_of_a_short_needle():
    t = np.arange(600.0)
    s = noise(600, level=0.02)
    s[300:302] = 0.6
    s[100] = s[450] = 0.45  # lone distractor frames
    plain = np.asarray(select_frames(t, s, 6, "topk").timestamps_s)
    smooth = np.asarray(select_frames(t, s, 6, "topk", smooth_s=2.0).timestamps_s)
    assert {100.0, 450.0} <= set(plain)
    assert np.all(np.abs(smooth - 300.5) <= 5)


def test_scene_labels_assign_frames_in_gaps_to_the_nearer_scene():
    from longvid.select._common import scene_labels

    t = np.array([0.0, 4.0, 5.5, 8.9, 9.5, 14.0, 30.0])
    scenes = [Scene(0, 1.0, 5.0, 1, 5), Scene(1, 9.0, 12.0, 9, 12), Scene(2, 12.0, 20.0, 12, 20)]
    # 0 is before scene 0; 5.5 is 0.5 s past scene 0 and 3.5 s before scene 1; 8.9 is nearer scene 1;
    # 30 is past the last scene.
    assert scene_labels(t, scenes).tolist() == [0, 0, 0, 1, 1, 2, 2]
