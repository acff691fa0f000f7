"""The ``reduce_tokens`` contract, checked with hypothesis over random frame counts, grid sizes,
budgets, scores and every method; plus argument validation, dtypes, devices and accounting."""

from __future__ import annotations

import json
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from longvid.errors import InvalidArgumentError
from longvid.tokens import SAMPLERS, TokenSet, merge_temporal, reduce_tokens

METHODS = ["pool", "kcenter", "kcenter-frame", "relevance", "hybrid"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors; the build machine's two cores are shared
    yield
    torch.set_num_threads(threads)


@st.composite
def problems(draw):
    """Random grids where later frames are often copies, near-copies or half-copies of the
    previous one (so that merging happens) and some frames repeat a few token values (ties)."""
    frames = draw(st.integers(1, 5))
    dim = draw(st.sampled_from([3, 8, 40]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**20)))
    grids: list[torch.Tensor] = []
    for t in range(frames):
        kind = draw(st.sampled_from(["new", "same", "noisy", "half", "ties"]))
        if t and kind in ("same", "noisy", "half") and draw(st.booleans()):
            prev = grids[-1]
            if kind == "same":
                grid = prev.clone()
            elif kind == "noisy":
                grid = prev + 0.01 * torch.randn(prev.shape, generator=g)
            else:
                grid = torch.where(torch.rand(prev.shape[:2] + (1,), generator=g) < 0.5, prev, torch.randn(prev.shape, generator=g))
        else:
            h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
            if kind == "ties":
                grid = torch.randn(3, dim, generator=g)[torch.randint(0, 3, (h, w), generator=g)]
            else:
                grid = torch.randn(h, w, dim, generator=g)
        grids.append(grid)
    method = draw(st.sampled_from(METHODS))
    return dict(
        grids=grids,
        relevance=draw(st.lists(st.sampled_from([0.0, 1.0]) | st.floats(0, 10), min_size=frames, max_size=frames)),
        budget=draw(st.integers(1, 120)),
        method=method,
        merge_threshold=draw(st.sampled_from([None, 0.9, 0.99, 1.0, 2.0])),
        alpha=draw(st.sampled_from([0.0, 1.0, 2.0])),
        query=torch.randn(dim, generator=g) if method == "relevance" or draw(st.booleans()) else None,
        relevance_share=draw(st.sampled_from([0.0, 0.5, 1.0])),
        sketch_dim=draw(st.sampled_from([None, None, 2])),
    )


def check_contract(ts: TokenSet, args: dict) -> None:
    grids, budget = args["grids"], args["budget"]
    frames = merge_temporal(grids, args.get("merge_threshold", 0.95))
    available = sum(f.count for f in frames)
    n = len(ts)
    assert n == min(budget, available) <= budget
    assert ts.features.shape == (n, grids[0].shape[2]) and ts.features.dtype == grids[0].dtype
    assert ts.positions.shape == (n, 3) and ts.positions.dtype == torch.int64
    pos = ts.positions.tolist()
    # valid, unique and in original order (strictly increasing frame, row, col)
    assert all(a < b for a, b in zip(pos, pos[1:]))
    for f, r, c in pos:
        assert 0 <= f < len(grids) and 0 <= r < grids[f].shape[0] and 0 <= c < grids[f].shape[1]
    # only tokens that survived merging, and no frame above its native or merged count
    survivors = {(t, int(i) // fr.width, int(i) % fr.width) for t, fr in enumerate(frames) for i in fr.flat_index}
    assert {tuple(p) for p in pos} <= survivors
    counts = ts.frame_counts.tolist()
    assert len(counts) == len(grids) and sum(counts) == n
    for t, (count, frame) in enumerate(zip(counts, frames)):
        assert count <= frame.count <= grids[t].shape[0] * grids[t].shape[1]
        assert count == sum(1 for p in pos if p[0] == t)
    assert list(ts.account.kept) == counts and ts.account.tokens_after_merge == available
    # selecting methods without merging return the very tokens at their positions
    if args["method"] != "pool" and args.get("merge_threshold", 0.95) is None:
        expected = torch.stack([grids[f][r, c] for f, r, c in pos]) if pos else ts.features
        assert torch.equal(ts.features, expected)


@settings(max_examples=100, deadline=None)
@given(args=problems())
def test_reduce_tokens_contract(args):
    ts = reduce_tokens(**args)
    check_contract(ts, args)
    # identical inputs (fresh copies) give identical outputs
    again = reduce_tokens(**{**args, "grids": [g.clone() for g in args["grids"]]})
    assert torch.equal(ts.features, again.features) and torch.equal(ts.positions, again.positions)
    assert torch.equal(ts.frame_counts, again.frame_counts) and ts.account == again.account


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("method", METHODS)
def test_any_float_dtype(dtype, method):
    g = torch.Generator().manual_seed(0)
    grids = [torch.randn(5, 6, 32, generator=g).to(dtype) for _ in range(3)]
    args = dict(grids=grids, relevance=[1.0, 2.0, 3.0], budget=20, method=method, merge_threshold=0.95,
                query=torch.randn(32, generator=g).to(dtype))
    ts = reduce_tokens(**args)
    check_contract(ts, args)
    if method == "kcenter":  # joint: DivPrune splits the 20 tokens itself
        assert ts.account.assigned == ts.account.kept and sum(ts.account.kept) == 20
    else:
        assert ts.account.assigned == (3, 7, 10)


def test_a_four_dimensional_tensor_is_a_list_of_frames():
    x = torch.randn(4, 3, 3, 8, generator=torch.Generator().manual_seed(0))
    a = reduce_tokens(x, [1, 1, 1, 1], 12, method="kcenter")
    b = reduce_tokens(list(x), [1, 1, 1, 1], 12, method="kcenter")
    assert torch.equal(a.positions, b.positions) and torch.equal(a.features, b.features)


def test_relevance_steers_the_budget_and_drops_frames():
    g = torch.Generator().manual_seed(0)
    grids = [torch.randn(4, 4, 16, generator=g) for _ in range(4)]
    ts = reduce_tokens(grids, [0.0, 1.0, 3.0, 0.0], 12, method="hybrid", query=torch.randn(16, generator=g))
    assert ts.frame_counts.tolist() == [0, 3, 9, 0]
    assert set(ts.positions[:, 0].tolist()) == {1, 2}
    assert [len(f) for f, _ in ts.split_by_frame()] == [0, 3, 9, 0]
    assert ts.frame_offsets == [0, 0, 3, 12, 12]


def test_hybrid_without_query_is_kcenter_frame_and_with_share_one_is_relevance():
    g = torch.Generator().manual_seed(1)
    grids = [torch.randn(6, 6, 24, generator=g) for _ in range(3)]
    query = torch.randn(24, generator=g)
    common = dict(relevance=[1, 2, 1], budget=30)
    hybrid, kcenter = (reduce_tokens(grids, method=m, **common) for m in ("hybrid", "kcenter-frame"))
    assert torch.equal(hybrid.positions, kcenter.positions)
    a = reduce_tokens(grids, method="hybrid", query=query, relevance_share=1.0, **common)
    b = reduce_tokens(grids, method="relevance", query=query, **common)
    assert torch.equal(a.positions, b.positions)


def test_account_is_json_ready():
    grids = [torch.ones(2, 3, 4), torch.ones(2, 3, 4), torch.randn(3, 3, 4)]
    ts = reduce_tokens(grids, [1, 1, 1], 8, method="pool")
    data = json.loads(json.dumps(ts.account.to_dict()))
    assert data["tokens_native"] == 21 and data["tokens_after_merge"] == 15 and data["tokens_kept"] == 8
    assert data["per_frame"]["after_merge"] == [6, 0, 9]
    assert data["frames_kept"] == 2 and data["method"] == "pool" and data["budget"] == 8


def test_a_registered_sampler_is_used_and_checked():
    def first_tokens(frames, counts, options):
        return [(f.flat_index[:k], f.features[:k]) for f, k in zip(frames, counts)]

    def one_short(frames, counts, options):
        return [(f.flat_index[: max(k - 1, 0)], f.features[: max(k - 1, 0)]) for f, k in zip(frames, counts)]

    SAMPLERS.register("test-first", first_tokens, replace=True)
    SAMPLERS.register("test-short", one_short, replace=True)
    grids = [torch.randn(3, 3, 4, generator=torch.Generator().manual_seed(0))]
    ts = reduce_tokens(grids, [1.0], 2, method="test-first")
    assert ts.positions.tolist() == [[0, 0, 0], [0, 0, 1]]
    with pytest.raises(RuntimeError, match="returned \\[1\\] tokens per frame, expected \\[2\\]"):
        reduce_tokens(grids, [1.0], 2, method="test-short")


GRIDS = [torch.randn(2, 2, 4), torch.randn(2, 2, 4)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"grids": []}, "grids is empty"),
        ({"grids": torch.randn(2, 2, 4)}, "grids tensor has shape (2, 2, 4)"),
        ({"grids": [torch.randn(2, 2, 4), torch.randn(2, 2, 5)]}, "grids[1] is (2, 2, 5)"),
        ({"grids": [torch.randn(2, 2, 4), torch.randn(2, 2, 4).double()]}, "torch.float64"),
        ({"grids": [torch.randn(2, 2, 4), torch.ones(2, 2, 4, dtype=torch.long)]}, "grids[1] has dtype torch.int64"),
        ({"grids": [torch.randn(2, 2, 4), torch.randn(2, 0, 4)]}, "grids[1] has shape (2, 0, 4)"),
        ({"grids": [torch.randn(2, 2, 4), [[1.0]]]}, "grids[1] is a list"),
        ({"relevance": [1.0, math.nan]}, "relevance[1] = nan"),
        ({"relevance": [1.0]}, "1 scores for 2 frames"),
        ({"budget": 0}, "budget = 0"),
        ({"budget": True}, "budget = True"),
        ({"method": "median"}, "unknown method 'median'"),
        ({"method": "relevance"}, "method 'relevance' needs a query"),
        ({"merge_threshold": -0.2}, "merge_threshold = -0.2"),
        ({"alpha": -1}, "alpha = -1"),
        ({"relevance_share": 1.5}, "relevance_share = 1.5"),
        ({"query": torch.randn(5)}, "query has shape (5,)"),
        ({"query": torch.zeros(4)}, "query is zero"),
        ({"sketch_dim": 0}, "sketch_dim = 0"),
        ({"grids": [torch.randn(2, 2, 4), torch.full((2, 2, 4), math.nan)], "merge_threshold": None}, "grids[1] contains NaN"),
    ],
)
def test_bad_arguments_fail_up_front_with_one_line(changes, message):
    args = dict(grids=GRIDS, relevance=[1.0, 1.0], budget=3, method="kcenter")
    args.update(changes)
    with pytest.raises(InvalidArgumentError) as info:
        reduce_tokens(**args)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", METHODS)
def test_cuda_matches_cpu(method):
    g = torch.Generator().manual_seed(0)
    grids = [torch.randn(9, 9, 64, generator=g) for _ in range(4)]
    grids.insert(2, grids[1] + 0.01 * torch.randn(9, 9, 64, generator=g))
    args = dict(relevance=[1, 2, 3, 1, 0.5], budget=60, method=method, query=torch.randn(64, generator=g))
    cpu = reduce_tokens(grids, **args)
    cuda = reduce_tokens([x.cuda() for x in grids], **{**args, "query": args["query"].cuda()})
    assert cuda.features.device.type == "cuda" and cuda.positions.device.type == "cuda"
    assert torch.equal(cpu.positions, cuda.positions.cpu())
    torch.testing.assert_close(cpu.features, cuda.features.cpu(), atol=1e-4, rtol=1e-4)
    half = reduce_tokens([x.cuda().bfloat16() for x in grids], **{**args, "query": args["query"].cuda()})
    check_contract(half, {**args, "grids": [x.cuda().bfloat16() for x in grids], "merge_threshold": 0.95})
