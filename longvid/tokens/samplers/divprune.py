"""``kcenter``: DivPrune (Alvar et al., CVPR 2025) as published, one max-min diversity selection over
the tokens of all frames together.

The authors' code (``DivPrune`` in vbdi/divprune ``LLaVA/llava/model/llava_arch.py``) takes the
cosine distance ``1 - cos`` between every pair of visual tokens, then

* first picks the token whose nearest other token is farthest away (the largest second-smallest
  entry of its column of the distance matrix: the smallest is its distance to itself);
* then, ``count - 1`` times, the token whose distance to the nearest chosen token is largest;

ties go to the lower index. Because the selection is joint, the budget is split across frames by
diversity alone: a frame much like the others can keep few tokens or none, a frame unlike the
rest keeps many (``kcenter-frame`` is longvid's variant that gives every frame its own count).

The n x n matrix is never formed: the first pick takes one pass of similarities in row blocks of a
few MiB (O(n^2 D) work, O(n) memory besides one block), and the greedy keeps a running minimum
distance per token (O(count n D) work). Chosen tokens are never picked again, which differs from
the authors' loop only when every unchosen token duplicates a chosen one (theirs then repeats a
token). ``sketch_dim`` takes the distances on longvid's sign sketch (see ``kcenter``) instead of
exact cosines; the published method is ``sketch_dim=None``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..merge import MergedFrame
from .base import Picked, SampleOptions, joint, nothing, take
from .kcenter import check_sketch_dim, sketched_dim, unit_points

_BLOCK_BYTES = {"cpu": 16 << 20, "cuda": 1 << 30}


def isolation(points: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """For rows ``start:stop`` of unit ``points``: the second-smallest distance to all rows (the
    smallest being the row's own, ~0), DivPrune's distance to the nearest other token.

    Taken as ``1 -`` the second-largest similarity, which is the same number: ``1 - x`` rounds
    monotonically, so distances sort as similarities do.
    """
    return 1 - torch.topk(points[start:stop] @ points.T, 2, dim=1).values[:, 1]


def most_isolated(points: torch.Tensor) -> int:
    """Index of the unit row whose nearest other row is farthest (DivPrune's first pick)."""
    n = int(points.shape[0])
    rows = max(1, _BLOCK_BYTES.get(points.device.type, 1 << 30) // (4 * n))
    return int(torch.argmax(torch.cat([isolation(points, a, min(a + rows, n)) for a in range(0, n, rows)])))


def greedy_from(points: torch.Tensor, first: int, count: int) -> torch.Tensor:
    """``count`` rows of unit ``points`` in max-min order, starting from row ``first``."""
    nearest = 1 - points @ points[first]  # each row's distance to the nearest chosen row
    nearest[first] = float("-inf")  # chosen: never again
    picks = [first]
    for _ in range(count - 1):
        idx = int(torch.argmax(nearest))
        picks.append(idx)
        torch.minimum(nearest, 1 - points @ points[idx], out=nearest)
        nearest[idx] = float("-inf")
    return torch.tensor(picks, dtype=torch.long, device=points.device)


def divprune_unit(points: torch.Tensor, count: int) -> torch.Tensor:
    """Indices of ``count`` rows of unit ``points`` (n, d) in DivPrune's pick order."""
    n = int(points.shape[0])
    if count >= n:
        return torch.arange(n, device=points.device)
    if count <= 0:
        return torch.zeros(0, dtype=torch.long, device=points.device)
    return greedy_from(points, most_isolated(points), count)


def divprune_order(features: torch.Tensor, count: int, sketch_dim: int | None = None) -> torch.Tensor:
    """Indices of ``count`` rows of ``features`` (n, D) in DivPrune's pick order (all rows, in
    order, when ``count >= n``)."""
    return divprune_unit(unit_points(features, check_sketch_dim(sketch_dim), "features"), int(count))


def divprune_select(features: torch.Tensor, count: int, sketch_dim: int | None = None) -> torch.Tensor:
    """Ascending indices of the ``count`` rows of ``features`` (n, D) DivPrune keeps."""
    return torch.sort(divprune_order(features, count, sketch_dim)).values


@joint
def sample_kcenter(frames: Sequence[MergedFrame], counts: Sequence[int], options: SampleOptions) -> list[Picked]:
    """DivPrune over every token of every frame, ``sum(counts)`` of them; the per-frame split is
    DivPrune's own."""
    sizes = [f.count for f in frames]
    total = sum(sizes)
    device = frames[0].features.device
    # One unit copy of all tokens, filled frame by frame (no concatenated copy of the inputs).
    points = torch.empty(total, sketched_dim(int(frames[0].features.shape[1]), options.sketch_dim), device=device)
    start = 0
    for t, (frame, size) in enumerate(zip(frames, sizes)):
        if size:  # a frame merged away entirely has nothing to add
            points[start : start + size] = unit_points(frame.features, options.sketch_dim, f"grids[{t}]")
        start += size
    chosen = torch.sort(divprune_unit(points, sum(counts))).values
    bounds = torch.tensor([0, *sizes], device=device).cumsum(0)
    picked = []
    for t, frame in enumerate(frames):
        lo, hi = torch.searchsorted(chosen, bounds[t : t + 2]).tolist()
        picked.append(take(frame, chosen[lo:hi] - bounds[t]) if hi > lo else nothing(frame))
    return picked
