"""Spatial samplers: pooling geometry, greedy k-center against the naive O(k^2 N) greedy, the
planted-needle tests (relevance and hybrid keep it at a 10% budget) and the per-frame max-min
comparison (kcenter-frame >= pool and random). The joint ``kcenter`` (DivPrune):
test_tokens_divprune.py."""

from __future__ import annotations

import pytest
import torch

from longvid.errors import InvalidArgumentError
from longvid.tokens import kcenter_select, reduce_tokens
from longvid.tokens.merge import unmerged
from longvid.tokens.samplers.kcenter import greedy_kcenter, unit_points
from longvid.tokens.samplers.pool import pool_frame, pool_shape

NEEDLE_FRAME, NEEDLE_CELLS = 5, [(3, 7), (3, 8), (4, 7), (4, 8)]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny tensors: a second intra-op thread only adds synchronisation (and the build machine's
    # two cores are shared).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def needle_video(seed: int = 0, frames: int = 8, h: int = 12, w: int = 12, d: int = 256, labels: bool = False):
    """Frames of clustered background tokens (6 "objects" per frame laid out in 3x3 blocks) and a
    2x2 needle patch in one frame whose direction the query points at."""
    g = torch.Generator().manual_seed(seed)
    grids, regions = [], []
    for _ in range(frames):
        centres = torch.randn(6, d, generator=g)
        region = torch.randint(0, 6, (h // 3, w // 3), generator=g).repeat_interleave(3, 0).repeat_interleave(3, 1)
        grids.append(centres[region] + 0.3 * torch.randn(h, w, d, generator=g))
        regions.append(region)
    needle = torch.randn(d, generator=g)
    for r, c in NEEDLE_CELLS:
        grids[NEEDLE_FRAME][r, c] = 3 * needle + 0.3 * torch.randn(d, generator=g)
        regions[NEEDLE_FRAME][r, c] = 6
    query = needle + 0.5 * torch.randn(d, generator=g)
    return (grids, query, regions) if labels else (grids, query)


def kept_needle(ts) -> int:
    pos = {tuple(p) for p in ts.positions.tolist()}
    return sum((NEEDLE_FRAME, r, c) in pos for r, c in NEEDLE_CELLS)


def min_pairwise_distance(x: torch.Tensor) -> float:
    """The max-min objective of a selected set: its smallest pairwise cosine distance."""
    unit = torch.nn.functional.normalize(x.float(), dim=1)
    sims = unit @ unit.T
    sims.fill_diagonal_(-2)
    return float(1 - sims.max())


# --- needle ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["relevance", "hybrid"])
@pytest.mark.parametrize("sketch_dim", [None, 32])
@pytest.mark.parametrize("equal_relevance", [True, False])
def test_needle_survives_a_ten_percent_budget(method, sketch_dim, equal_relevance):
    grids, query = needle_video()
    budget = sum(g.shape[0] * g.shape[1] for g in grids) // 10  # 115 of 1152
    relevance = [1.0] * len(grids) if equal_relevance else [1.0] * NEEDLE_FRAME + [0.5, 1.0, 1.0]
    ts = reduce_tokens(grids, relevance, budget, method=method, query=query, sketch_dim=sketch_dim)
    assert len(ts) == budget
    assert kept_needle(ts) == 4


def test_without_query_the_needle_is_luck_for_kcenter_and_pool():
    # The control: diversity alone is not asked to find the needle (it may or may not).
    grids, _ = needle_video()
    for method in ("kcenter", "kcenter-frame", "pool"):
        ts = reduce_tokens(grids, [1.0] * 8, 115, method=method)
        assert 0 <= kept_needle(ts) <= 4


# --- max-min diversity -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_kcenter_frame_max_min_distance_beats_pool_and_random(seed):
    grids, _ = needle_video(seed=seed)
    budget = 115
    kc = reduce_tokens(grids, [1.0] * 8, budget, method="kcenter-frame", merge_threshold=None)
    pool = reduce_tokens(grids, [1.0] * 8, budget, method="pool", merge_threshold=None)
    g = torch.Generator().manual_seed(11)
    for t, ((kc_feats, _), (pool_feats, _)) in enumerate(zip(kc.split_by_frame(), pool.split_by_frame())):
        k = kc_feats.shape[0]
        flat = grids[t].reshape(-1, grids[t].shape[2])
        kc_score = min_pairwise_distance(kc_feats)
        assert kc_score >= min_pairwise_distance(pool_feats), t
        randoms = [min_pairwise_distance(flat[torch.randperm(flat.shape[0], generator=g)[:k]]) for _ in range(20)]
        assert kc_score >= max(randoms), t


def test_sketched_kcenter_frame_still_covers_every_object():
    # The sign sketch blurs fine distances (within an object it is no better than chance, see
    # benchmarks/tokens.py) but keeps coarse ones: every object of every frame gets a token.
    grids, _, regions = needle_video(seed=5, labels=True)
    ts = reduce_tokens(grids, [1.0] * 8, 8 * 8, method="kcenter-frame", merge_threshold=None, sketch_dim=32)
    for t, (_, positions) in enumerate(ts.split_by_frame()):
        covered = {int(regions[t][r, c]) for _, r, c in positions.tolist()}
        assert covered == set(regions[t].unique().tolist()), t


def naive_greedy(points: torch.Tensor, count: int) -> list[int]:
    """Reference O(k^2 N): each step recomputes every point's distance to every chosen point."""
    mean = points.mean(0)
    chosen = [int(torch.argmin(points @ mean))]
    while len(chosen) < count:
        nearest = (1 - points @ points[chosen].T).min(1).values
        nearest[chosen] = -1
        chosen.append(int(torch.argmax(nearest)))
    return sorted(chosen)


@pytest.mark.parametrize("seed", range(4))
def test_running_minimum_greedy_equals_the_naive_greedy(seed):
    g = torch.Generator().manual_seed(seed)
    sets = [torch.randn(n, 12, generator=g) for n in (40, 7, 33, 60)]
    counts = [9, 3, 33, 25]
    got = greedy_kcenter(sets, counts)  # batched: the sets share one padded tensor
    for x, k, idx in zip(sets, counts, got):
        expected = naive_greedy(unit_points(x, None), k)
        assert idx.tolist() == expected
        assert greedy_kcenter([x], [k])[0].tolist() == expected  # one set alone: the 2-D path
    # seeded, batched and alone
    seeds = [torch.tensor([0, 5]), None, torch.tensor([1]), torch.tensor([2, 3, 4])]
    batched = greedy_kcenter(sets, counts, seeds)
    for x, k, seed, idx in zip(sets, counts, seeds, batched):
        assert torch.equal(idx, greedy_kcenter([x], [k], [seed])[0])
        assert seed is None or set(seed.tolist()) <= set(idx.tolist())


def test_seeds_are_kept_and_steer_the_rest():
    x = torch.nn.functional.normalize(torch.randn(50, 8, generator=torch.Generator().manual_seed(1)), dim=1)
    seeds = torch.tensor([4, 17])
    idx = greedy_kcenter([x], [6], [seeds])[0]
    assert {4, 17} <= set(idx.tolist()) and idx.shape[0] == 6
    # the first free pick is the point farthest from the seeds
    farthest = int(torch.argmin((x @ x[seeds].T).max(1).values))
    assert farthest in idx.tolist()


def test_kcenter_select_on_one_large_set():
    x = torch.randn(5000, 48, generator=torch.Generator().manual_seed(2))
    idx = kcenter_select(x, 40, sketch_dim=None)
    assert idx.shape == (40,) and torch.equal(idx, torch.sort(idx).values)
    assert torch.equal(idx, kcenter_select(x, 40, sketch_dim=None))
    assert kcenter_select(x, 5000).shape == (5000,)
    with pytest.raises(InvalidArgumentError, match="sketch_dim = 0"):
        kcenter_select(x, 4, sketch_dim=0)


def test_sign_sketch_approximates_cosines_deterministically():
    x = torch.randn(200, 1152, generator=torch.Generator().manual_seed(4))
    x[:100] += 2 * torch.randn(1152, generator=torch.Generator().manual_seed(5))  # some structure
    exact = unit_points(x, None)
    sketch = unit_points(x, 64)
    assert sketch.shape == (200, 64)
    assert torch.equal(sketch, unit_points(x, 64))
    error = (sketch @ sketch.T - exact @ exact.T).abs()
    assert float(error.mean()) < 0.12
    # below 4 * sketch_dim the exact cosines are used
    assert unit_points(x[:, :200], 64).shape == (200, 200)


# --- pool --------------------------------------------------------------------------------------


def test_pool_equals_adaptive_avg_pool_when_it_divides():
    grid = torch.randn(6, 8, 5, generator=torch.Generator().manual_seed(0))
    frame = unmerged([grid])[0]
    flat, features = pool_frame(frame, 12)
    expected = torch.nn.functional.adaptive_avg_pool2d(grid.permute(2, 0, 1), (3, 4)).permute(1, 2, 0)
    torch.testing.assert_close(features, expected.reshape(12, 5))
    # each pooled token sits at the centre-most position of its 2x2 cell (ties: lower index)
    rows, cols = (flat // 8).tolist(), (flat % 8).tolist()
    assert sorted(set(rows)) == [0, 2, 4] and sorted(set(cols)) == [0, 2, 4, 6]
    assert len(set(zip(rows, cols))) == 12


def test_pool_keeps_a_grid_with_centre_positions():
    grid = torch.randn(27, 27, 4, generator=torch.Generator().manual_seed(0))
    flat, _ = pool_frame(unmerged([grid])[0], 81)
    rows, cols = sorted(set((flat // 27).tolist())), sorted(set((flat % 27).tolist()))
    assert rows == cols == [1, 4, 7, 10, 13, 16, 19, 22, 25]  # centres of 3-row bands
    assert flat.shape[0] == 81


@pytest.mark.parametrize(("h", "w", "k", "shape"), [(27, 27, 81, (9, 9)), (27, 27, 73, (9, 9)), (4, 5, 3, (2, 2)), (1, 9, 4, (1, 4))])
def test_pool_shape(h, w, k, shape):
    assert pool_shape(h, w, k, lambda gh, gw: gh * gw) == shape


def test_pool_shape_prefers_exact_grids_near_the_aspect():
    gh, gw = pool_shape(27, 27, 72, lambda gh, gw: gh * gw)
    assert gh * gw == 72 and abs(gh - gw) == 1
    gh, gw = pool_shape(12, 24, 18, lambda gh, gw: gh * gw)
    assert (gh, gw) == (3, 6)


def test_pool_gives_every_count_exactly_and_drops_redundant_cells():
    grid = torch.randn(7, 9, 6, generator=torch.Generator().manual_seed(0))
    frame = unmerged([grid])[0]
    for k in range(1, 64):
        flat, features = pool_frame(frame, k)
        assert flat.shape[0] == features.shape[0] == k
        assert flat.unique().shape[0] == k and torch.equal(flat, torch.sort(flat).values)
    # Two identical halves: with one cell too many, a cell of a duplicated pair is dropped.
    twin = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(1))
    twin[:, 1] = twin[:, 0]
    flat, _ = pool_frame(unmerged([twin])[0], 7)
    assert flat.shape[0] == 7


def test_pool_on_a_frame_with_holes():
    grid = torch.randn(4, 4, 8, generator=torch.Generator().manual_seed(0))
    ts = reduce_tokens([grid, torch.cat([grid[:2], torch.randn(2, 4, 8)])], [0.0, 1.0], 6, method="pool")
    # frame 1 keeps only its two changed rows (8 tokens); the 6 tokens come from there
    assert ts.frame_counts.tolist() == [0, 6]
    assert set(ts.positions[:, 1].tolist()) <= {2, 3}
