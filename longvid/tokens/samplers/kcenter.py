"""``kcenter-frame``: longvid's per-frame max-min diversity, greedy farthest-point selection within
each frame to that frame's count (``kcenter`` is DivPrune as published: one selection over all
frames, first pick the most isolated token; see ``divprune``). This module is also the greedy and
sketch engine ``hybrid`` and ``divprune`` build on.

Each step picks the token whose cosine distance to the nearest already chosen token is largest.
A running vector of each token's highest similarity to the chosen set is updated with one
similarity pass per pick, so a frame costs O(k * n) similarity evaluations and O(n) extra memory;
no n x n matrix is ever formed. Ties go to the lower index.

Start: the token least similar to the frame's mean token (the one farthest from the centroid);
seeded runs (``hybrid``) start from their seeds instead.

Distances: with ``sketch_dim`` set and D >= 4 * sketch_dim, similarities are taken on a sign
sketch of ~sketch_dim dims: the D coordinates are cut into consecutive blocks of
b = ceil(D / sketch_dim), each block collapses to its dot product with one fixed random +-1 vector
(seeded, so results are deterministic), and the sketched rows are scaled to unit length. This is
an unbiased random projection (E <Sx, Sy> = <x, y>) computed in one read of the tokens, after
which every greedy step reads D / sketch_dim times fewer bytes. Cosines are then approximate
(error ~ 1/sqrt(sketch_dim)): coarse structure (which object a token shows) survives, fine
distances within an object do not, and there the picks are no better than random (measured in
benchmarks/tokens.py). ``sketch_dim=None`` (the default) uses exact cosines.

Frames run batched (padded to one tensor per chunk of a few MiB, so a chunk stays in cache),
frames with the most picks first so that finished frames fall off the end of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...errors import InvalidArgumentError
from ..merge import MergedFrame, unit_rows
from .base import Picked, SampleOptions, nothing, take

_SIGN_SEED = 20261124  # fixed: the sketch is part of the method's definition
_CHUNK_BYTES = {"cpu": 4 << 20, "cuda": 1 << 30}


def check_sketch_dim(sketch_dim: int | None) -> int | None:
    if sketch_dim is None:
        return None
    if isinstance(sketch_dim, bool) or not isinstance(sketch_dim, int) or sketch_dim < 1:
        raise InvalidArgumentError(
            f"sketch_dim = {sketch_dim!r} is invalid", "expected an integer >= 1 (64 is typical) or None for exact"
        )
    return sketch_dim


def sketch_block(dim: int, sketch_dim: int | None) -> int:
    """Coordinates per sketch block; 1 means exact (no sketch)."""
    if sketch_dim is None or dim < 4 * sketch_dim:
        return 1
    return -(-dim // sketch_dim)


def _signs(block: int, device: torch.device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(_SIGN_SEED)
    return (torch.randint(0, 2, (block,), generator=generator) * 2 - 1).float().to(device)


def unit_points(x: torch.Tensor, sketch_dim: int | None, where: str = "tokens") -> torch.Tensor:
    """(n, d) float32 unit rows whose dot products are the (sketched) cosines of ``x``'s rows."""
    block = sketch_block(int(x.shape[-1]), sketch_dim)
    if block == 1:
        return unit_rows(x, where)
    x = x.float()
    pad = (-x.shape[-1]) % block
    if pad:
        x = torch.nn.functional.pad(x, (0, pad))
    y = (x.reshape(-1, block) @ _signs(block, x.device)).reshape(x.shape[0], -1)
    return unit_rows(y, where)


def sketched_dim(dim: int, sketch_dim: int | None) -> int:
    return -(-dim // sketch_block(dim, sketch_dim))


def greedy_kcenter(
    sets: Sequence[torch.Tensor],
    counts: Sequence[int],
    seeds: Sequence[torch.Tensor | None] | None = None,
    sketch_dim: int | None = None,
    names: Sequence[str] | None = None,
) -> list[torch.Tensor]:
    """Per set: ascending indices of ``counts[i]`` rows of ``sets[i]`` ((n_i, D) tokens) chosen by
    greedy max-min cosine distance, ``seeds[i]`` (indices already chosen) included.

    Unit (or sketched) copies are made one chunk at a time, so the extra memory is the running
    vectors plus one chunk, never a normalised copy of every set at once.
    """
    seeds = list(seeds) if seeds is not None else [None] * len(sets)
    names = list(names) if names is not None else [f"set {i}" for i in range(len(sets))]
    results: list[torch.Tensor | None] = [None] * len(sets)
    todo = []
    for i, (x, count) in enumerate(zip(sets, counts)):
        n, device = int(x.shape[0]), x.device
        seed = torch.unique(seeds[i]) if seeds[i] is not None else torch.zeros(0, dtype=torch.long, device=device)
        if seed.shape[0] and not 0 <= int(seed[0]) <= int(seed[-1]) < n:
            raise InvalidArgumentError(f"seeds of {names[i]} reach outside its {n} rows", "pass row indices")
        seeds[i] = seed
        if count >= n:
            results[i] = torch.arange(n, device=device)
        elif count <= seed.shape[0]:
            results[i] = torch.sort(seed).values
        else:
            todo.append(i)
    if todo:
        todo.sort(key=lambda i: (-(counts[i] - seeds[i].shape[0]), i))
        cap = _CHUNK_BYTES.get(sets[todo[0]].device.type, 1 << 30)
        d = sketched_dim(int(sets[todo[0]].shape[1]), sketch_dim)
        chunk: list[int] = []
        widest = 0
        for i in todo:
            rows = int(sets[i].shape[0])
            if chunk and (len(chunk) + 1) * max(widest, rows) * d * 4 > cap:
                _greedy_chunk(sets, counts, seeds, chunk, results, sketch_dim, names)
                chunk, widest = [], 0
            chunk.append(i)
            widest = max(widest, rows)
        _greedy_chunk(sets, counts, seeds, chunk, results, sketch_dim, names)
    return results  # type: ignore[return-value]


def _greedy_one(points: torch.Tensor, count: int, seed: torch.Tensor) -> torch.Tensor:
    """One set in (point, dim) layout: matrix x vector passes over contiguous rows, which is the
    faster layout once a set alone fills the cache (large D)."""
    best = torch.full((points.shape[0],), float("-inf"), device=points.device)
    if seed.shape[0]:
        best = (points @ points[seed].T).amax(1)
        best[seed] = float("inf")
        idx = best.argmin()
    else:
        idx = (points @ points.mean(0)).argmin()
    picked = [idx]
    for _ in range(count - seed.shape[0] - 1):
        best[idx] = float("inf")
        torch.maximum(best, points @ points[idx], out=best)
        idx = best.argmin()
        picked.append(idx)
    return torch.sort(torch.cat([seed, torch.stack(picked)])).values


def _greedy_chunk(sets, counts, seeds, chunk, results, sketch_dim, names) -> None:
    """Batched greedy over the sets in ``chunk`` (sorted by picks to make, most first)."""
    if len(chunk) == 1:
        i = chunk[0]
        results[i] = _greedy_one(unit_points(sets[i], sketch_dim, names[i]), counts[i], seeds[i])
        return
    device = sets[chunk[0]].device
    sizes = [int(sets[i].shape[0]) for i in chunk]
    picks = [counts[i] - int(seeds[i].shape[0]) for i in chunk]
    a, width = len(chunk), max(sizes)
    d = sketched_dim(int(sets[chunk[0]].shape[1]), sketch_dim)
    # (set, dim, point) layout: a similarity pass is then a batch of row-vector x matrix
    # products, which CPU BLAS runs several times faster than matrix x column-vector.
    # Filled one set at a time so that only one unit copy exists besides this tensor.
    pts = torch.zeros(a, d, width, device=device)
    valid = torch.zeros(a, width, dtype=torch.bool, device=device)
    for j, i in enumerate(chunk):
        pts[j, :, : sizes[j]] = unit_points(sets[i], sketch_dim, names[i]).T
        valid[j, : sizes[j]] = True
    # best[j, p]: highest similarity of point p to the chosen set (-inf: none chosen yet);
    # chosen and padding points are +inf so that argmin never returns them.
    best = torch.full((a, width), float("-inf"), device=device).masked_fill_(~valid, float("inf"))
    chosen = torch.zeros(a, width, dtype=torch.bool, device=device)
    seeded = torch.tensor([seeds[i].shape[0] > 0 for i in chunk], device=device)
    for j, i in enumerate(chunk):
        if seeds[i].shape[0]:
            best[j, : sizes[j]] = (pts[j, :, seeds[i]].T @ pts[j, :, : sizes[j]]).amax(0)
            best[j, seeds[i]] = float("inf")
            chosen[j, seeds[i]] = True
    mean = pts.sum(2) / torch.tensor(sizes, device=device, dtype=pts.dtype)[:, None]
    to_mean = torch.bmm(mean[:, None, :], pts).squeeze(1).masked_fill_(~valid, float("inf"))
    idx = torch.where(seeded, best.argmin(1), to_mean.argmin(1))
    rows = torch.arange(a, device=device)
    active = [0] * (picks[0] + 1)  # active[step]: sets still picking at that step (a prefix)
    for p in picks:
        for step in range(p):
            active[step] += 1
    for step in range(picks[0]):
        live, following = active[step], active[step + 1]
        if step:
            idx = best[:live].argmin(1)
        chosen[rows[:live], idx] = True
        if following == 0:
            break
        idx = idx[:following]
        best[rows[:following], idx] = float("inf")
        centres = pts[rows[:following], :, idx]
        sims = torch.bmm(centres[:, None, :], pts[:following]).squeeze(1)
        torch.maximum(best[:following], sims, out=best[:following])
    for j, i in enumerate(chunk):
        results[i] = torch.nonzero(chosen[j, : sizes[j]]).squeeze(1)


def kcenter_select(
    features: torch.Tensor, count: int, sketch_dim: int | None = None, seeds: torch.Tensor | None = None
) -> torch.Tensor:
    """Ascending indices of ``count`` diverse rows of ``features`` (N, D) (one set, any N)."""
    return greedy_kcenter([features], [int(count)], [seeds], check_sketch_dim(sketch_dim), ["features"])[0]


def sample_kcenter_frame(frames: Sequence[MergedFrame], counts: Sequence[int], options: SampleOptions) -> list[Picked]:
    wanted = [t for t, count in enumerate(counts) if count > 0]
    local = greedy_kcenter(
        [frames[t].features for t in wanted], [counts[t] for t in wanted], None, options.sketch_dim,
        [f"grids[{t}]" for t in wanted],
    )
    picked = [nothing(f) for f in frames]
    for t, idx in zip(wanted, local):
        picked[t] = take(frames[t], idx)
    return picked
