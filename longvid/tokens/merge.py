"""Temporal merge of static tokens (in the spirit of B-VLLM / HoliTom).

Along each grid position, consecutive frames of the same grid size form runs: token (t, r, c) joins
the run of (t-1, r, c) when its cosine similarity to the run's first token (the anchor) is at least
the threshold. Comparing with the anchor, not with the previous frame, bounds drift: every token
of a run is close to the one whose position the run keeps. A run keeps one token at its first
frame's position whose features are the average over the run (computed in float32, returned in
the input dtype); the later members are removed. A frame whose every token joined earlier runs
is left with nothing, which the assignment then treats as a frame with no capacity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import InvalidArgumentError

# Threshold 1.0 means "identical up to float rounding": cosine of equal vectors in float32 can
# land a few ulps below 1.
_ROUNDING = 1e-5


@dataclass(frozen=True, slots=True, eq=False)
class MergedFrame:
    """A frame's tokens left after merging: ``features`` (n, D) (input dtype, averaged where a run
    started here) at row-major grid indices ``flat_index`` (n,) int64, ascending, of an
    ``height`` x ``width`` grid."""

    features: torch.Tensor
    flat_index: torch.Tensor
    height: int
    width: int

    @property
    def native(self) -> int:
        return self.height * self.width

    @property
    def count(self) -> int:
        return int(self.flat_index.shape[0])

    @property
    def is_full_grid(self) -> bool:
        return self.count == self.native


def check_merge_threshold(threshold: float | None) -> float | None:
    """None when merging is off (None or > 1), else the threshold; refuses values <= 0 or NaN."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold == threshold:
        raise InvalidArgumentError(
            f"merge_threshold = {threshold!r} is invalid", "expected a cosine in (0, 1], or None / > 1 to disable"
        )
    if threshold <= 0:
        raise InvalidArgumentError(
            f"merge_threshold = {threshold!r} would merge unrelated tokens",
            "expected a cosine in (0, 1] (0.95 is typical), or None / > 1 to disable",
        )
    return None if threshold > 1 else float(threshold)


def unit_rows(x: torch.Tensor, where: str) -> torch.Tensor:
    """float32 rows scaled to unit length (zero rows stay zero); refuses NaN/inf tokens."""
    x = x.float()
    norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    if not bool(torch.isfinite(norms).all()):
        raise InvalidArgumentError(f"{where} contains NaN or infinite values", "check the vision tower's output")
    return x / norms.clamp_min(1e-12)


def unmerged(grids: list[torch.Tensor]) -> list[MergedFrame]:
    """Every token of every frame, as views (no copy)."""
    frames = []
    for grid in grids:
        h, w, d = grid.shape
        frames.append(MergedFrame(grid.reshape(h * w, d), torch.arange(h * w, device=grid.device), h, w))
    return frames


def merge_temporal(grids: list[torch.Tensor], threshold: float | None) -> list[MergedFrame]:
    """Merge near-duplicate tokens of consecutive same-size frames; ``threshold`` None: no merge."""
    threshold = check_merge_threshold(threshold)
    if threshold is None or len(grids) < 2:
        return unmerged(grids)
    cutoff = min(threshold, 1.0 - _ROUNDING)
    device = grids[0].device
    # Per frame: which tokens are kept (start a run) and, for frames where runs of length > 1
    # start, float32 sums of the run members (created only when needed).
    kept: list[torch.Tensor] = []
    sums: dict[int, torch.Tensor] = {}
    counts: dict[int, torch.Tensor] = {}
    anchor = start = None
    for t, grid in enumerate(grids):
        h, w, d = grid.shape
        x = grid.reshape(h * w, d)
        unit = unit_rows(x, f"grids[{t}]")
        same_shape = t > 0 and grids[t - 1].shape[:2] == grid.shape[:2]
        if not same_shape:
            kept.append(torch.ones(h * w, dtype=torch.bool, device=device))
            anchor, start = unit, torch.full((h * w,), t, dtype=torch.long, device=device)
            continue
        joins = (unit * anchor).sum(-1) >= cutoff
        kept.append(~joins)
        if bool(joins.any()):
            where = torch.nonzero(joins).squeeze(1)
            run_start = start[where]
            for s in torch.unique(run_start).tolist():  # usually one or two run-start frames
                members = where[run_start == s]
                if s not in sums:
                    sums[s] = grids[s].reshape(-1, d).to(torch.float32, copy=True)
                    counts[s] = torch.ones(sums[s].shape[0], device=device)
                sums[s].index_add_(0, members, x[members].float())
                counts[s].index_add_(0, members, torch.ones(members.shape[0], device=device))
            anchor = torch.where(joins[:, None], anchor, unit)
            start = torch.where(joins, start, torch.full_like(start, t))
        else:  # every run ends here: no copy needed
            anchor, start = unit, torch.full_like(start, t)
    frames = []
    for t, grid in enumerate(grids):
        h, w, d = grid.shape
        x = grid.reshape(h * w, d)
        if t in sums:
            x = (sums[t] / counts[t][:, None]).to(grid.dtype)
        flat = torch.nonzero(kept[t]).squeeze(1)
        features = x if flat.shape[0] == h * w else x.index_select(0, flat)
        frames.append(MergedFrame(features, flat, h, w))
    return frames
