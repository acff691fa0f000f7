"""``kcenter`` (DivPrune, joint) against the authors' own code, and joint versus per-frame.

The expected picks were computed once by running the authors' ``DivPrune`` method, unmodified
(with its helper ``pairwise_cosine_similarity``), from ``LLaVA/llava/model/llava_arch.py`` of
vbdi/divprune at commit 799e2d950aa01ba7860907f5a6d86061f885dca6 (the file last changed in
689ab4d8), on CPU in float32: ``DivPrune(x, n, None, threshold_ratio=count / n)``, whose first
return value is the picks in the order chosen. On these inputs every step's winner leads the
runner-up by at least 8e-5 in cosine distance, far above float32 rounding.
"""

from __future__ import annotations

import pytest
import torch

from longvid.tokens import divprune_select, reduce_tokens
from longvid.tokens.samplers.divprune import divprune_order

# 30 tokens of 4 dims (iid normal, rounded).
TOKENS_A = [
    [0.0, 0.3, -0.27, -0.89], [-0.45, -0.99, 0.06, 1.34], [-0.49, -0.62, 0.49, 0.36], [0.11, -0.93, -0.03, 0.7],
    [-1.34, -0.46, -1.9, -1.29], [-1.84, -0.24, -1.27, 0.27], [0.16, -0.19, -2.52, -0.54], [-0.05, 0.11, -1.53, -0.48],
    [-0.98, -0.81, 1.06, -0.81], [-0.03, 0.88, -0.58, -0.11], [0.11, 0.06, -1.23, 0.08], [1.36, -1.55, 0.86, 0.12],
    [-0.64, 2.0, 0.76, -1.2], [0.07, 0.58, -0.19, 0.68], [-0.07, 0.67, 1.44, -0.68], [0.2, -0.46, 0.13, -1.19],
    [-0.58, -0.2, 0.9, 1.15], [-1.32, -0.79, 0.65, -1.99], [-0.46, -0.1, 1.26, 0.69], [-0.33, -0.37, -0.25, 1.52],
    [-0.43, -0.3, 0.35, -0.12], [-0.2, -1.11, -0.01, -0.44], [1.17, 0.65, -0.02, 0.67], [-0.34, 1.05, -0.01, 0.58],
    [-1.29, 0.35, -1.69, -2.04], [-0.3, -0.9, 0.16, 2.24], [-0.83, -0.62, 0.21, 0.49], [-0.18, -0.21, 0.7, 0.52],
    [-1.03, -0.08, 0.04, -1.05], [0.26, -0.86, 0.97, 0.19],
]  # fmt: skip
DIVPRUNE_A = {  # count -> DivPrune's picks, in its order
    1: [21],
    2: [21, 23],
    8: [21, 23, 0, 27, 5, 14, 22, 6],
    12: [21, 23, 0, 27, 5, 14, 22, 6, 3, 20, 11, 28],
}

# 27 tokens of 4 dims around 4 cluster centres: 3 frames of 3 x 3, row-major, frame after frame.
TOKENS_B = [
    [-0.01, -0.64, -0.2, -2.0], [-1.81, 0.72, -1.06, 0.66], [0.38, -1.64, 1.09, 1.49], [-1.54, 0.54, -0.88, 0.69],
    [-0.13, -1.43, 1.25, 1.45], [0.02, -1.47, 1.17, 1.42], [-0.04, -1.72, 1.45, 1.36], [-1.71, 0.75, -0.92, 0.7],
    [-1.66, 0.71, -0.87, 0.78], [-1.57, 0.86, -0.79, 0.7], [-0.08, -1.4, 1.39, 1.42], [-1.05, 0.48, -2.01, 0.99],
    [0.06, -1.31, 1.06, 1.57], [0.2, -1.41, 1.53, 1.66], [-1.3, 0.11, -2.01, 0.7], [-1.13, 0.49, -2.38, 0.53],
    [-1.71, 0.77, -0.89, 0.79], [0.0, -1.77, 1.23, 1.29], [-0.16, -0.51, -0.13, -1.94], [-0.06, -0.69, -0.27, -2.13],
    [0.12, -0.71, -0.07, -1.95], [-0.83, 0.15, -2.0, 0.84], [0.09, -0.81, -0.19, -1.89], [-1.76, 0.77, -0.89, 0.95],
    [-1.75, 0.43, -0.95, 0.48], [-0.36, -1.62, 1.45, 1.45], [-1.93, 0.62, -0.68, 0.8],
]  # fmt: skip
DIVPRUNE_B = {
    6: [15, 13, 20, 26, 25, 11],
    9: [15, 13, 20, 26, 25, 11, 24, 2, 14],
}


@pytest.mark.parametrize("count", list(DIVPRUNE_A))
def test_pick_order_is_divprunes(count):
    assert divprune_order(torch.tensor(TOKENS_A), count).tolist() == DIVPRUNE_A[count]
    assert divprune_select(torch.tensor(TOKENS_A), count).tolist() == sorted(DIVPRUNE_A[count])


@pytest.mark.parametrize("count", list(DIVPRUNE_B))
def test_reduce_tokens_kcenter_is_divprune_over_all_frames(count):
    grids = torch.tensor(TOKENS_B).reshape(3, 3, 3, 4)
    ts = reduce_tokens(grids, [1.0, 1.0, 1.0], count, method="kcenter", merge_threshold=None)
    expected = [[i // 9, i % 9 // 3, i % 3] for i in sorted(DIVPRUNE_B[count])]
    assert ts.positions.tolist() == expected
    assert torch.equal(ts.features, torch.tensor(TOKENS_B)[sorted(DIVPRUNE_B[count])])
    # DivPrune's own split: the first frame, much like the other two, keeps 0 then 1 token
    split = [sum(1 for i in DIVPRUNE_B[count] if i // 9 == t) for t in range(3)]
    assert ts.frame_counts.tolist() == split == ([0, 3, 3] if count == 6 else [1, 4, 4])
    assert ts.account.assigned == ts.account.kept == tuple(split)
    # relevance does not steer a joint selection
    steered = reduce_tokens(grids, [5.0, 0.0, 1.0], count, method="kcenter", merge_threshold=None)
    assert torch.equal(steered.positions, ts.positions)
    # kcenter-frame: every frame its own (relevance-weighted, here even) count
    per_frame = reduce_tokens(grids, [1.0, 1.0, 1.0], count, method="kcenter-frame", merge_threshold=None)
    assert per_frame.frame_counts.tolist() == [count // 3] * 3


def min_pairwise_distance(x: torch.Tensor) -> float:
    unit = torch.nn.functional.normalize(x.float(), dim=1)
    sims = unit @ unit.T
    sims.fill_diagonal_(-2)
    return float(1 - sims.max())


@pytest.mark.parametrize("clustered", [False, True])
def test_joint_selection_is_more_diverse_than_per_frame(clustered):
    # 8 frames of 7 x 7 tokens; clustered: 5 objects shared by all frames, each token one of them.
    g = torch.Generator().manual_seed(3)
    if clustered:
        centres = torch.randn(5, 32, generator=g)
        grids = centres[torch.randint(0, 5, (8, 7, 7), generator=g)] + 0.1 * torch.randn(8, 7, 7, 32, generator=g)
    else:
        grids = torch.randn(8, 7, 7, 32, generator=g)
    common = dict(relevance=[1.0] * 8, budget=40, merge_threshold=None)
    joint = reduce_tokens(grids, method="kcenter", **common)
    per_frame = reduce_tokens(grids, method="kcenter-frame", **common)
    assert len(joint) == len(per_frame) == 40
    assert min_pairwise_distance(joint.features) > min_pairwise_distance(per_frame.features)


def test_all_tokens_when_the_count_reaches_them_and_sketch_is_deterministic():
    x = torch.tensor(TOKENS_A)
    assert divprune_order(x, 30).tolist() == list(range(30))
    assert divprune_order(x, 0).tolist() == []
    wide = torch.randn(50, 256, generator=torch.Generator().manual_seed(1))
    sketched = divprune_select(wide, 10, sketch_dim=16)
    assert sketched.unique().shape == (10,) and torch.equal(sketched, divprune_select(wide, 10, sketch_dim=16))


def test_a_frame_merged_away_entirely_keeps_nothing():
    g = torch.Generator().manual_seed(0)
    first = torch.randn(3, 3, 8, generator=g)
    grids = [first, first.clone(), torch.randn(3, 3, 8, generator=g)]  # frame 1 merges into frame 0
    ts = reduce_tokens(grids, [1.0, 1.0, 1.0], 10, method="kcenter", merge_threshold=0.95)
    assert ts.frame_counts[1] == 0 and int(ts.frame_counts.sum()) == 10
