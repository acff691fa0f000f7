"""``reduce_tokens``: temporal merge -> query-aware per-frame counts -> spatial sampling, to an
exact total, keeping every token's original (frame, row, col) position."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..errors import InvalidArgumentError
from .account import TokenAccount, TokenSet
from .assign import assign_counts, check_alpha, check_relevance
from .merge import check_merge_threshold, merge_temporal
from .samplers import SAMPLERS
from .samplers.base import SampleOptions, is_joint
from .samplers.kcenter import check_sketch_dim


def reduce_tokens(
    grids: Sequence[torch.Tensor] | torch.Tensor,
    relevance: object,
    budget: int,
    method: str = "hybrid",
    merge_threshold: float | None = 0.95,
    alpha: float = 1.0,
    query: torch.Tensor | None = None,
    relevance_share: float = 0.5,
    sketch_dim: int | None = None,
) -> TokenSet:
    """Cut per-frame visual-token grids to ``min(budget, tokens left after merging)`` tokens.

    grids: T tensors (h_t, w_t, D) (or one (T, h, w, D) tensor), any float dtype, one device.
    relevance: (T,) finite scores >= 0, one per frame (all equal: an even split).
    budget: total tokens to keep (>= 1).
    method: "pool" | "kcenter" | "kcenter-frame" | "relevance" | "hybrid" (or a name registered
        in SAMPLERS). "kcenter" is DivPrune's joint selection: it splits the budget across frames
        itself, so ``relevance`` and ``alpha`` do not steer it.
    merge_threshold: cosine at or above which a token joins the run of the same position in the
        previous frame (see ``merge``); None or > 1 disables merging.
    alpha: per-frame share proportional to relevance ** alpha (0: even split).
    query: (D,) embedding in the tokens' space for "relevance" (required) and "hybrid".
    relevance_share: "hybrid": part of each frame's count taken by query relevance.
    sketch_dim: "kcenter"/"kcenter-frame"/"hybrid": take diversity distances on a ~sketch_dim
        sign sketch when D >= 4 * sketch_dim (see ``samplers.kcenter``); None: exact cosines.
    """
    grids = _check_grids(grids)
    dim, device = int(grids[0].shape[2]), grids[0].device
    scores = check_relevance(relevance, len(grids))
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise InvalidArgumentError(f"budget = {budget!r} is invalid", "expected an integer number of tokens >= 1")
    if not isinstance(method, str) or method not in SAMPLERS:
        raise InvalidArgumentError(f"unknown method {method!r}", f"choose one of: {', '.join(SAMPLERS.names())}")
    threshold = check_merge_threshold(merge_threshold)
    alpha = check_alpha(alpha)
    if isinstance(relevance_share, bool) or not isinstance(relevance_share, (int, float)) or not 0 <= relevance_share <= 1:
        raise InvalidArgumentError(f"relevance_share = {relevance_share!r} is invalid", "expected a number in [0, 1]")
    options = SampleOptions(_check_query(query, dim, device), float(relevance_share), check_sketch_dim(sketch_dim))
    sampler = SAMPLERS.get(method)

    frames = merge_temporal(grids, threshold)
    capacity = [f.count for f in frames]
    counts = [int(c) for c in assign_counts(capacity, scores, budget, alpha)]
    picked = sampler(frames, counts, options)

    kept = [int(flat.shape[0]) for flat, _ in picked]
    if is_joint(sampler):  # its own split: the total is fixed, each frame within what it has
        fits = sum(kept) == sum(counts) and all(k <= c for k, c in zip(kept, capacity))
        expected = f"{sum(counts)} in all, none above {capacity}"
        counts = kept
    else:
        fits, expected = kept == counts, str(counts)
    if len(picked) != len(frames) or not fits:
        raise RuntimeError(f"token sampler {method!r} returned {kept} tokens per frame, expected {expected}")
    positions = []
    for t, ((flat, _), frame) in enumerate(zip(picked, frames)):
        rows = torch.div(flat, frame.width, rounding_mode="floor")
        positions.append(torch.stack([torch.full_like(flat, t), rows, flat - rows * frame.width], dim=1))
    account = TokenAccount(
        method=method,
        budget=budget,
        merge_threshold=threshold,
        alpha=alpha,
        native=tuple(f.native for f in frames),
        after_merge=tuple(capacity),
        assigned=tuple(counts),
        kept=tuple(kept),
    )
    return TokenSet(
        features=torch.cat([features for _, features in picked]).to(grids[0].dtype),
        positions=torch.cat(positions).to(torch.int64),
        frame_counts=torch.tensor(kept, dtype=torch.int64),
        account=account,
    )


def _check_grids(grids: Sequence[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    if isinstance(grids, torch.Tensor):
        if grids.dim() != 4:
            raise InvalidArgumentError(
                f"grids tensor has shape {tuple(grids.shape)}", "expected (T, h, w, D) or a list of (h, w, D) tensors"
            )
        grids = list(grids.unbind(0))
    if not isinstance(grids, (list, tuple)) or not grids:
        raise InvalidArgumentError("grids is empty or not a list", "pass a list of (h, w, D) token grids, one per frame")
    first = grids[0]
    for t, grid in enumerate(grids):
        if not isinstance(grid, torch.Tensor):
            raise InvalidArgumentError(f"grids[{t}] is a {type(grid).__name__}", "expected a torch tensor (h, w, D)")
        if grid.dim() != 3 or min(grid.shape) < 1:
            raise InvalidArgumentError(
                f"grids[{t}] has shape {tuple(grid.shape)}", "expected (h, w, D) with h, w, D >= 1"
            )
        if not grid.is_floating_point():
            raise InvalidArgumentError(f"grids[{t}] has dtype {grid.dtype}", "expected a float dtype")
        if grid.shape[2] != first.shape[2] or grid.dtype != first.dtype or grid.device != first.device:
            raise InvalidArgumentError(
                f"grids[{t}] is {tuple(grid.shape)} {grid.dtype} on {grid.device} but grids[0] is "
                f"{tuple(first.shape)} {first.dtype} on {first.device}",
                "all grids need the same feature size D, dtype and device",
            )
    return list(grids)


def _check_query(query: torch.Tensor | None, dim: int, device: torch.device) -> torch.Tensor | None:
    if query is None:
        return None
    if not isinstance(query, torch.Tensor) or query.dim() != 1 or query.shape[0] != dim:
        shape = tuple(query.shape) if isinstance(query, torch.Tensor) else type(query).__name__
        raise InvalidArgumentError(f"query has shape {shape}", f"expected a ({dim},) tensor in the tokens' space")
    query = query.detach().to(device=device, dtype=torch.float32)
    norm = torch.linalg.vector_norm(query)
    if not bool(torch.isfinite(norm)) or float(norm) == 0:
        raise InvalidArgumentError("query is zero or contains NaN/inf", "pass the question's embedding")
    return query / norm
