"""longvid.search.moments on hand-made score curves (the moments `longvid search` prints)."""

from __future__ import annotations

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.search.moments import find_moments
from longvid.types import Scene


def curve(n=60, base=0.2, bumps=()):
    """1 fps timeline with flat ``base`` and triangular bumps (centre, half_width, height)."""
    t = np.arange(n, dtype=float)
    s = np.full(n, base)
    for centre, half, height in bumps:
        s = np.maximum(s, base + (height - base) * np.clip(1 - np.abs(t - centre) / half, 0, None))
    return t, s


def test_one_bump_gives_one_span_around_its_peak():
    t, s = curve(bumps=[(22, 4, 0.5)])  # scores above half-height at 20..24
    (m,) = find_moments(t, s, k=1)
    assert (m.start_s, m.end_s, m.peak_s) == (20.0, 25.0, 22.0)
    assert m.score == pytest.approx(0.5) and m.scene_index is None


def test_two_bumps_best_first_and_no_shoulder_moments():
    t, s = curve(bumps=[(10, 3, 0.4), (40, 5, 0.6)])
    moments = find_moments(t, s, k=5)
    # the slopes of each bump and the flat baseline are not moments
    assert [(m.start_s, m.peak_s, m.end_s) for m in moments] == [(38.0, 40.0, 43.0), (9.0, 10.0, 12.0)]


def test_noisy_curve_gives_k_disjoint_moments_at_local_maxima():
    rng = np.random.default_rng(3)
    t, s = curve(n=300, bumps=[(100, 4, 0.5), (200, 4, 0.45)])
    s = s + rng.normal(0, 0.01, len(s))
    moments = find_moments(t, s, k=6)
    assert len(moments) == 6
    assert [m.peak_s for m in moments[:2]] == [100.0, 200.0]
    assert [m.score for m in moments] == sorted((m.score for m in moments), reverse=True)
    spans = sorted((m.start_s, m.end_s) for m in moments)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # disjoint
    for m in moments:
        i = int(m.peak_s)
        assert s[i] >= s[max(i - 1, 0)] and s[i] >= s[min(i + 1, 299)]


def test_spans_stop_at_scene_boundaries_and_are_clipped_to_the_scene():
    t, s = curve(bumps=[(22, 6, 0.5)])  # wide bump 19..25 crossing a cut at 23.5 s
    scenes = [Scene(0, 0.0, 23.5, 0, 705), Scene(1, 23.5, 60.0, 705, 1800)]
    (m,) = find_moments(t, s, k=1, scenes=scenes)
    assert m.scene_index == 0 and m.peak_s == 22.0
    assert m.start_s == 19.0 and m.end_s == 23.5  # frame 23 shows until the cut, not until 24
    ids = np.where(t < 23.5, 0, 1)
    (m2,) = find_moments(t, s, k=1, scene_ids=ids)
    assert (m2.start_s, m2.end_s, m2.scene_index) == (19.0, 24.0, 0)


def test_second_peak_in_the_other_scene_is_its_own_moment():
    t, s = curve(bumps=[(22, 6, 0.5)])
    ids = np.where(t < 23.5, 0, 1)
    moments = find_moments(t, s, k=3, scene_ids=ids)
    # frame 24 is the best frame of scene 1: the part of the bump after the cut is scene 1's moment
    assert [(m.peak_s, m.scene_index) for m in moments] == [(22.0, 0), (24.0, 1)]
    assert (moments[1].start_s, moments[1].end_s) == (24.0, 27.0)  # 24, 25, 26 reach half its height


def test_end_of_video_and_max_span():
    t, s = curve(n=10, bumps=[(9, 3, 0.9)])
    (m,) = find_moments(t, s, k=1, end_s=9.4)
    assert (m.start_s, m.end_s) == (8.0, 9.4)
    (m,) = find_moments(t, s, k=1)  # last frame lasts one sampling interval
    assert m.end_s == 10.0
    t, s = curve(bumps=[(30, 10, 0.9)])
    (m,) = find_moments(t, s, k=1, max_span_s=4)
    assert m.end_s - m.start_s <= 4 and m.start_s <= 30 < m.end_s


def test_min_gap_suppresses_nearby_peaks():
    t, s = curve(bumps=[(20, 2, 0.6), (25, 2, 0.5)])
    assert [m.peak_s for m in find_moments(t, s, k=2)] == [20.0, 25.0]
    peaks = [m.peak_s for m in find_moments(t, s, k=2, min_gap_s=5)]
    assert peaks[0] == 20.0 and 25.0 not in peaks


def test_flat_scores_give_one_moment_covering_the_scene():
    t = np.arange(10.0)
    (m,) = find_moments(t, np.full(10, 0.3), k=3)
    assert (m.start_s, m.end_s) == (0.0, 10.0)


def test_irregular_sampling_uses_real_times():
    t = np.array([0.0, 0.5, 3.0, 3.2, 3.4, 9.0])
    s = np.array([0.1, 0.1, 0.8, 0.9, 0.7, 0.1])
    (m,) = find_moments(t, s, k=1)
    assert (m.start_s, m.peak_s, m.end_s) == (3.0, 3.2, 9.0)


def test_empty_input_gives_no_moments():
    assert find_moments([], [], k=3) == []


@pytest.mark.parametrize(
    "times, scores, kwargs, match",
    [
        ([0, 1, 2], [0.1, float("nan"), 0.2], {}, r"scores\[1\] = nan"),
        ([0, 2, 1], [0.1, 0.2, 0.3], {}, r"times_s\[1\] = 2.0 then times_s\[2\] = 1.0"),
        ([0, 1, 1], [0.1, 0.2, 0.3], {}, "increase strictly"),
        ([0, 1], [0.1], {}, "2 timestamps but 1 scores"),
        ([0, 1], [0.1, 0.2], {"k": 0}, "k = 0"),
        ([0, 1], [0.1, 0.2], {"fraction": 1.5}, "fraction = 1.5"),
        ([0, 1], [0.1, 0.2], {"scene_ids": [0]}, "1 scene ids for 2 frames"),
    ],
)
def test_bad_input_is_refused_with_the_value(times, scores, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        find_moments(times, scores, **kwargs)
