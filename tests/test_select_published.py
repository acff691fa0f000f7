"""``bolt`` and ``aks`` against the authors' own code: selections on fixed inputs, identical.

The expected arrays were computed once by running the authors' functions, unmodified, on these
inputs (float64, in a scratch folder outside this repository):

* BOLT: ``inverse_transform_sampling(score, n, power)`` from ``select_frames.py`` of sming256/BOLT
  at commit 8a9ba455e8c7668ae4443b3273bbf283b700cc7f (the function last changed in caa3349d).
  It returns one index per quantile, duplicates included; longvid's selection is their set.
* AKS: ``main(args)`` (which calls ``meanstd``) from ``frame_select.py`` of ncTimTang/AKS at commit
  46675011a0ad67ad65559ac98235f2ce82102a2e, with its defaults ``t1=0.8, t2=-100, all_depth=5,
  ratio=1`` and ``max_num_frames`` = the budget, the scores and frame numbers 0..n-1 written to
  its JSON inputs; the expected list is its ``selected_frames.json`` entry.

On these inputs every decision has a margin far above float rounding (quantiles at least 3e-5
from a cdf step, AKS's mean differences at least 0.004 from t1), so the comparison is exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.select import select_frames, strategy_options

# 48 CLIP-like scores: noise, a broad bump around frame 12, a sharp peak at 33-35.
BOLT_SCORES = [
    0.2079, 0.2073, 0.1936, 0.1933, 0.2139, 0.2125, 0.2155, 0.2167, 0.2227, 0.2289, 0.253, 0.2673,
    0.2394, 0.2466, 0.2426, 0.2405, 0.2276, 0.24, 0.2053, 0.1887, 0.1947, 0.1956, 0.207, 0.1729,
    0.2075, 0.1861, 0.2019, 0.2065, 0.1864, 0.2067, 0.1925, 0.2072, 0.1955, 0.2547, 0.2882, 0.2463,
    0.1875, 0.191, 0.1879, 0.2065, 0.2129, 0.192, 0.2018, 0.1984, 0.1912, 0.1916, 0.2092, 0.1853,
]  # fmt: skip

# (budget, power) -> inverse_transform_sampling's output; power 1 is their -1 (no sharpening).
BOLT_EXPECTED = {
    (8, 3.0): [10, 11, 12, 14, 17, 33, 34, 34],
    (16, 3.0): [8, 10, 11, 11, 11, 13, 14, 15, 17, 27, 33, 34, 34, 34, 34, 35],
    (8, 1.0): [6, 10, 13, 15, 21, 29, 34, 38],
    (16, 2.5): [7, 9, 10, 11, 11, 13, 14, 15, 16, 21, 33, 33, 34, 34, 34, 35],
}

# 60 scores: a broad bump around frame 14, a 4-frame needle at 44-47 (some values repeat: ties).
AKS_SCORES = [
    0.2018, 0.2, 0.2092, 0.2067, 0.2056, 0.2235, 0.2469, 0.2635, 0.2741, 0.3018, 0.3454, 0.3891,
    0.3974, 0.4401, 0.4375, 0.435, 0.4152, 0.3855, 0.3557, 0.3249, 0.2799, 0.2677, 0.2272, 0.2234,
    0.22, 0.2066, 0.1953, 0.1921, 0.196, 0.2024, 0.19, 0.1979, 0.1984, 0.2054, 0.2021, 0.2036,
    0.1935, 0.1987, 0.2078, 0.2149, 0.1874, 0.2151, 0.2135, 0.2078, 0.6026, 0.5969, 0.6146, 0.6196,
    0.218, 0.2132, 0.2036, 0.1879, 0.2, 0.2066, 0.1871, 0.204, 0.2043, 0.207, 0.1882, 0.1934,
]  # fmt: skip

AKS_EXPECTED = {
    2: [46, 47],  # the whole video stands out (depth 0): its top 2
    4: [46, 47],  # the second half stands out at depth 1 and gives int(4 / 2) = 2; the rest reaches
    #               depth 5, where int(4 / 32) = 0
    8: [],  # nothing stands out: every segment reaches depth 5 and int(8 / 32) = 0
    32: [0, 2, 3, 6, 8, 10, 12, 13, 15, 16, 18, 20, 22, 24, 26, 29, 30, 32, 33, 35, 38, 39, 41, 44,
         45, 47, 48, 50, 53, 55, 57, 59],  # 32 segments of 1-2 frames at depth 5, the best of each
}  # fmt: skip


def long_scores() -> np.ndarray:
    """480 scores (8 minutes at 1 fps) from exact arithmetic: a low ramp bump over the first half
    and a 32-frame event at 330-361, so that AKS keeps the second half at depth 1 and cuts the
    first half to depth 5."""
    i = np.arange(480)
    s = 0.2 + 0.01 * ((i * 7919) % 499) / 499 + 0.2 * np.maximum(0.0, 1 - np.abs(i - 120) / 100)
    s[330:362] += 0.35 + 0.0003 * ((i[330:362] * 37) % 97)
    return s


AKS_LONG_EXPECTED = {
    32: [8, 29, 44, 59, 74, 89, 104, 119, 123, 135, 150, 165, 180, 195, 210, 238,  # 16 x depth 5
         330, 332, 335, 338, 340, 343, 346, 348, 350, 351, 353, 355, 356, 358, 359, 361],  # depth 1
    64: [1, 8, 28, 29, 43, 44, 58, 59, 73, 74, 88, 89, 103, 104, 118, 119, 120, 123, 135, 139, 150,
         154, 165, 169, 180, 181, 195, 196, 210, 211, 231, 238, 246, 254, 262, 269, 270, 277, 285,
         292, 300, 308, 315, 323, 338, 343, 346, 359, 360, 361, 377, 384, 392, 400, 407, 415, 423,
         430, 438, 446, 453, 461, 469, 476],  # nothing stands out: 2 per depth-5 segment
}  # fmt: skip


def picked_frames(scores, budget: int, strategy: str, **options) -> list[int]:
    t = np.arange(len(scores), dtype=np.float64)  # 1 fps from 0 s: the frame index is the time
    return [int(x) for x in select_frames(t, scores, budget, strategy, **options).timestamps_s]


@pytest.mark.parametrize(("budget", "power"), list(BOLT_EXPECTED))
def test_bolt_selects_exactly_what_bolts_code_does(budget, power):
    expected = BOLT_EXPECTED[(budget, power)]
    assert picked_frames(BOLT_SCORES, budget, "bolt", power=power) == sorted(set(expected))


def test_bolt_keeps_a_frame_two_quantiles_land_on_once():
    # BOLT's code hands frame 34 to the LLM twice at 8 frames: 7 distinct frames.
    sel = select_frames(np.arange(48.0), BOLT_SCORES, 8, "bolt")
    assert len(sel.timestamps_s) == 7 and sel.strategy == "bolt"
    assert sel.scores == tuple(BOLT_SCORES[i] for i in sorted(set(BOLT_EXPECTED[(8, 3.0)])))
    # the lowest-scoring frame (23) has no mass: no quantile lands on it, however many there are
    assert 23 not in picked_frames(BOLT_SCORES, 40, "bolt", power=0.5)


def test_bolt_defaults_are_the_authors_scripts():
    assert strategy_options("bolt") == {"power": 3.0}


@pytest.mark.parametrize("budget", list(AKS_EXPECTED))
def test_aks_selects_exactly_what_aks_code_does(budget):
    assert picked_frames(AKS_SCORES, budget, "aks") == AKS_EXPECTED[budget]


@pytest.mark.parametrize("budget", list(AKS_LONG_EXPECTED))
def test_aks_mixes_depths_exactly_as_aks_code_does(budget):
    assert picked_frames(long_scores(), budget, "aks") == AKS_LONG_EXPECTED[budget]


def test_aks_defaults_are_the_authors_scripts():
    assert strategy_options("aks") == {"t1": 0.8, "t2": -100.0, "all_depth": 5}


def test_aks_options_change_the_rule():
    # depth 0 keeps the whole video whatever stands out: its top-8 frames
    top8 = sorted(np.argsort(-np.asarray(AKS_SCORES), kind="stable")[:8].tolist())
    assert picked_frames(AKS_SCORES, 8, "aks", all_depth=0) == top8
    # t1 above the largest possible difference: never stands out, 32 segments of depth 5
    assert picked_frames(AKS_SCORES, 32, "aks", t1=1.0) == AKS_EXPECTED[32]
    # t2 above every segment's spread: never stands out either
    assert picked_frames(AKS_SCORES, 2, "aks", t2=1.0) == []


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("bolt", {"power": -1.0}, "power = -1.0"),
        ("bolt", {"power": float("nan")}, "power = nan"),
        ("aks", {"t1": float("inf")}, "t1 = inf"),
        ("aks", {"all_depth": -1}, "all_depth = -1"),
        ("aks", {"all_depth": 2.5}, "all_depth = 2.5"),
    ],
)
def test_bad_options_refused(strategy, options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        select_frames(np.arange(48.0), BOLT_SCORES, 8, strategy, **options)
