"""Per-frame token assignment (QuoTA-style) and temporal merging of static tokens."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longvid.errors import InvalidArgumentError
from longvid.tokens import assign_counts
from longvid.tokens.merge import check_merge_threshold, merge_temporal


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors; the build machine's two cores are shared
    yield
    torch.set_num_threads(threads)


# --- assignment --------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.integers(0, 60), st.sampled_from([0.0, 0.5, 1.0, 1.0, 3.0]) | st.floats(0, 50)),
        min_size=1,
        max_size=12,
    ),
    budget=st.integers(1, 600),
    alpha=st.sampled_from([0.0, 0.5, 1.0, 2.0, 8.0]),
)
def test_assignment_sums_exactly_within_caps(data, budget, alpha):
    capacity = np.array([c for c, _ in data])
    relevance = np.array([r for _, r in data])
    counts = assign_counts(capacity, relevance, budget, alpha)
    assert counts.dtype == np.int64
    assert counts.sum() == min(budget, capacity.sum())
    assert (counts >= 0).all() and (counts <= capacity).all()
    # Identical inputs, identical outputs.
    assert np.array_equal(counts, assign_counts(capacity, relevance, budget, alpha))
    # Monotone in relevance up to rounding, unless the more relevant frame is full.
    for i in range(len(data)):
        for j in range(len(data)):
            if (alpha == 0 or relevance[i] >= relevance[j]) and counts[i] < capacity[i]:
                assert counts[i] >= counts[j] - 1, (i, j, counts)
    # Frames with weight 0 only get tokens once every weighted frame is full.
    if alpha > 0 and (relevance > 0).any():
        weighted_open = (relevance > 0) & (counts < capacity)
        if weighted_open.any():
            assert (counts[relevance == 0] == 0).all()


def test_assignment_is_proportional_to_relevance():
    assert assign_counts([100] * 4, [1, 1, 2, 4], 80).tolist() == [10, 10, 20, 40]
    # alpha sharpens: 2 ** 2 : 1 ** 2
    assert assign_counts([100, 100], [2, 1], 50, alpha=2.0).tolist() == [40, 10]
    # alpha 0: an even split whatever the scores
    assert assign_counts([100, 100], [5, 1], 50, alpha=0.0).tolist() == [25, 25]


def test_capped_frames_hand_their_share_on():
    # Frame 0 wants 41.7 but holds 5; the other 45 split evenly, the odd one to the earlier frame.
    assert assign_counts([5, 100, 100], [10, 1, 1], 50).tolist() == [5, 23, 22]


def test_remainder_ties_go_to_relevance_then_order():
    assert assign_counts([10, 10, 10], [1, 1, 1], 4).tolist() == [2, 1, 1]
    assert assign_counts([10, 10, 10], [1, 2, 2], 2).tolist() == [0, 1, 1]
    # equal remainders (1/3 each of 1 token): the most relevant frame wins
    assert assign_counts([10, 10, 10], [1, 1, 1.0000001], 1).tolist() == [0, 0, 1]


def test_zero_relevance_frames_are_dropped_until_needed():
    assert assign_counts([10, 10, 10], [0, 1, 0], 8).tolist() == [0, 8, 0]
    # the relevant frame is full: the rest goes evenly to the others
    assert assign_counts([10, 10, 10], [0, 1, 0], 16).tolist() == [3, 10, 3]
    # all zero or all equal: even
    assert assign_counts([10, 10], [0, 0], 6).tolist() == [3, 3]
    assert assign_counts([10, 10], [0.3, 0.3], 6).tolist() == [3, 3]


def test_budget_above_capacity_keeps_everything():
    assert assign_counts([3, 0, 7], [1, 5, 2], 1000).tolist() == [3, 0, 7]


def test_huge_alpha_does_not_overflow():
    counts = assign_counts([100, 100, 100], [1e300, 5e299, 1], 90, alpha=50.0)
    assert counts.sum() == 90 and counts[0] == 90


@pytest.mark.parametrize(
    ("relevance", "budget", "alpha", "needle"),
    [
        ([1.0, math.nan], 5, 1.0, "relevance[1] = nan"),
        ([1.0, math.inf], 5, 1.0, "relevance[1] = inf"),
        ([1.0, -0.5], 5, 1.0, "relevance[1] = -0.5 is negative"),
        ([1.0], 5, 1.0, "1 scores for 2 frames"),
        ([1.0, 1.0], 0, 1.0, "budget = 0"),
        ([1.0, 1.0], 2.5, 1.0, "budget = 2.5"),
        ([1.0, 1.0], 5, -1.0, "alpha = -1.0"),
        ([1.0, 1.0], 5, math.nan, "alpha = nan"),
        ("ab", 5, 1.0, "'ab' is not a sequence of numbers"),
    ],
)
def test_assignment_refuses_bad_values(relevance, budget, alpha, needle):
    with pytest.raises(InvalidArgumentError) as info:
        assign_counts([4, 4], relevance, budget, alpha)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


# --- temporal merge ----------------------------------------------------------------------------


def _grid(seed: int, h=3, w=4, d=16, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(h, w, d, generator=torch.Generator().manual_seed(seed)).to(dtype)


def test_identical_frames_merge_into_the_first():
    a, b = _grid(0), _grid(1)
    frames = merge_temporal([a, a.clone(), a.clone(), b], 0.95)
    assert [f.count for f in frames] == [12, 0, 0, 12]
    assert torch.equal(frames[0].flat_index, torch.arange(12))
    torch.testing.assert_close(frames[0].features, a.reshape(12, 16))
    assert torch.equal(frames[3].features, b.reshape(12, 16))


def test_merged_tokens_are_averaged_over_the_run():
    a = _grid(0)
    noise = 0.05 * _grid(7)
    frames = merge_temporal([a, a + noise, a - noise], 0.95)
    assert [f.count for f in frames] == [12, 0, 0]
    torch.testing.assert_close(frames[0].features, (3 * a).reshape(12, 16) / 3, atol=1e-6, rtol=1e-6)


def test_partial_merge_keeps_only_changed_tokens():
    a = _grid(0)
    b = a.clone()
    b[1, 2] = _grid(5)[0, 0]  # one token changes
    b[0, 0] = -a[0, 0]
    frames = merge_temporal([a, b], 0.95)
    assert frames[1].flat_index.tolist() == [0, 6]  # row-major (0,0) and (1,2)
    assert torch.equal(frames[1].features, b.reshape(12, 16)[[0, 6]])
    # the static tokens of frame 0 are averages of two equal tokens: unchanged
    torch.testing.assert_close(frames[0].features[1], a[0, 1])


def test_runs_compare_with_their_first_token_so_drift_is_bounded():
    # A token rotating by 15 degrees per frame: cos 15 deg = 0.966, cos 30 deg = 0.866.
    angle = math.radians(15)
    grids = [torch.tensor([[[math.cos(t * angle), math.sin(t * angle)]]]) for t in range(5)]
    frames = merge_temporal(grids, 0.95)
    assert [f.count for f in frames] == [1, 0, 1, 0, 1]
    expected = (grids[0] + grids[1]).reshape(1, 2) / 2
    torch.testing.assert_close(frames[0].features, expected)


def test_no_merge_across_grid_sizes_or_when_disabled():
    a = _grid(0)
    assert [f.count for f in merge_temporal([a, a[:2]], 0.5)] == [12, 8]
    assert [f.count for f in merge_temporal([a, a], None)] == [12, 12]
    assert [f.count for f in merge_temporal([a, a], 1.5)] == [12, 12]
    # 1.0 merges what is equal up to rounding, nothing else
    assert [f.count for f in merge_temporal([a, a.clone(), a + 0.02], 1.0)] == [12, 0, 12]


def test_merge_keeps_dtype_and_averages_in_float32():
    a = _grid(0, dtype=torch.bfloat16)
    frames = merge_temporal([a, a], 0.9)
    assert frames[0].features.dtype == torch.bfloat16
    assert torch.equal(frames[0].features, a.reshape(12, 16))


@pytest.mark.parametrize("value", [0, -0.5, math.nan, "0.9", True])
def test_merge_threshold_refuses_bad_values(value):
    with pytest.raises(InvalidArgumentError, match="merge_threshold"):
        check_merge_threshold(value)


def test_merge_refuses_nan_tokens():
    a = _grid(0)
    b = a.clone()
    b[0, 0, 0] = math.nan
    with pytest.raises(InvalidArgumentError, match=r"grids\[1\] contains NaN"):
        merge_temporal([a, b], 0.9)
