"""Turn a prompt with one placeholder per frame plus the kept visual tokens into model inputs.

The full (unreduced) sequence is built first, so positions are exactly those the model's own
processor path would give; then only text tokens and kept visual tokens are selected. Positions
therefore keep their gaps (1-D) or their 3-D M-RoPE values (Qwen) for the tokens that remain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Unit:
    """What one placeholder in the prompt stands for: a frame, or a Qwen temporal patch (2 frames).

    ``grid`` (h, w, D): the visual tokens handed to the token stage. ``tail`` (k, D): embeddings
    always sent right after the grid (LLaVA-OneVision's newline). ``side``: per-token extras pruned
    with the same mask, each shaped (..., h, w, E) (Qwen3-VL's DeepStack features).
    """

    grid: torch.Tensor
    frames: tuple[int, ...]
    timestamps_s: tuple[float, ...]
    tail: torch.Tensor | None = None
    side: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.grid.shape[0]), int(self.grid.shape[1])

    @property
    def n_grid(self) -> int:
        h, w = self.shape
        return h * w

    @property
    def n_tail(self) -> int:
        return 0 if self.tail is None else int(self.tail.shape[0])

    @property
    def time_s(self) -> float:
        return sum(self.timestamps_s) / len(self.timestamps_s)


@dataclass
class Kept:
    """Visual tokens chosen by the token stage: features (N, D) at original [unit, row, col]."""

    features: torch.Tensor
    positions: torch.Tensor  # (N, 3) int64
    account: dict[str, Any] | None = None

    @classmethod
    def everything(cls, units: list[Unit]) -> "Kept":
        feats, pos = [], []
        for u_index, unit in enumerate(units):
            h, w = unit.shape
            rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
            pos.append(torch.stack([torch.full((h * w,), u_index), rows.reshape(-1), cols.reshape(-1)], dim=1))
            feats.append(unit.grid.reshape(h * w, -1))
        return cls(torch.cat(feats), torch.cat(pos).long())

    def per_unit(self, n_units: int) -> list[int]:
        return torch.bincount(self.positions[:, 0].cpu(), minlength=n_units).tolist()


@dataclass
class Layout:
    """The full token sequence and where each unit's visual tokens sit in it."""

    input_ids: torch.Tensor  # (L,) with each placeholder expanded to the unit's native token count
    grid_start: list[int]  # index of each unit's first grid token
    tail_start: list[int]  # index of each unit's first tail token


def expand_placeholders(ids: list[int], placeholder_id: int, units: list[Unit]) -> Layout:
    """Replace the i-th ``placeholder_id`` in ``ids`` by unit i's grid + tail token slots."""
    where = [i for i, t in enumerate(ids) if t == placeholder_id]
    if len(where) != len(units):
        raise RuntimeError(f"prompt has {len(where)} visual placeholders for {len(units)} frames")
    out: list[int] = []
    grid_start, tail_start = [], []
    prev = 0
    for at, unit in zip(where, units):
        out.extend(ids[prev:at])
        grid_start.append(len(out))
        tail_start.append(len(out) + unit.n_grid)
        out.extend([placeholder_id] * (unit.n_grid + unit.n_tail))
        prev = at + 1
    out.extend(ids[prev:])
    return Layout(torch.tensor(out, dtype=torch.long), grid_start, tail_start)


def keep_index(layout: Layout, units: list[Unit], kept: Kept) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequence indices to keep (sorted) and, for each kept visual token, its sequence index."""
    n = int(layout.input_ids.shape[0])
    keep = torch.ones(n, dtype=torch.bool)
    for u, unit in enumerate(units):
        keep[layout.grid_start[u] : layout.grid_start[u] + unit.n_grid] = False
    starts = torch.tensor(layout.grid_start, dtype=torch.long)
    widths = torch.tensor([unit.shape[1] for unit in units], dtype=torch.long)
    pos = kept.positions.cpu().long()
    visual_at = starts[pos[:, 0]] + pos[:, 1] * widths[pos[:, 0]] + pos[:, 2]
    if visual_at.unique().numel() != visual_at.numel():
        raise RuntimeError("the token stage returned the same position twice")
    keep[visual_at] = True
    return keep.nonzero().squeeze(1), visual_at


def build_embeds(
    embed_tokens: torch.nn.Module,
    layout: Layout,
    units: list[Unit],
    kept: Kept,
    index: torch.Tensor,
    visual_at: torch.Tensor,
) -> torch.Tensor:
    """(N, D) input embeddings of the kept sequence: text from the embedding table, visual tokens
    from ``kept.features``, tails (newlines) from the units."""
    weight = embed_tokens.weight
    embeds = embed_tokens(layout.input_ids.to(weight.device)).clone()  # (L, D)
    embeds[visual_at.to(weight.device)] = kept.features.to(weight.device, weight.dtype)
    for u, unit in enumerate(units):
        if unit.tail is not None:
            start = layout.tail_start[u]
            embeds[start : start + unit.n_tail] = unit.tail.to(weight.device, weight.dtype)
    return embeds[index.to(weight.device)]


def prune_side(units: list[Unit], kept: Kept, key: str) -> torch.Tensor:
    """Per-token extras ``unit.side[key]`` (..., h, w, E) at the kept positions, in sequence order:
    shape (..., N, E). Kept positions are in sequence order (unit, row, col)."""
    parts = []
    pos = kept.positions.cpu().long()
    for u, unit in enumerate(units):
        mine = pos[pos[:, 0] == u]
        side = unit.side[key]
        parts.append(side[..., mine[:, 1].to(side.device), mine[:, 2].to(side.device), :])
    return torch.cat(parts, dim=-2)
