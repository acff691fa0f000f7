"""What every spatial sampler receives and returns.

A sampler takes the frames left after temporal merging and one count per frame, and returns for
each frame the row-major grid indices it keeps (ascending) and the features that go with them.
Selecting samplers return original (or run-averaged) tokens; ``pool`` returns cell averages placed
at a real token position of their cell. A sampler marked :func:`joint` selects over all frames at
once: it keeps ``sum(counts)`` tokens in total and splits them across frames itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..merge import MergedFrame, unit_rows


@dataclass(frozen=True, slots=True, eq=False)
class SampleOptions:
    query: torch.Tensor | None = None  # (D,) float32 unit vector on the tokens' device
    relevance_share: float = 0.5  # hybrid: part of each frame's count taken by query relevance
    sketch_dim: int | None = None  # kcenter/hybrid: distances on a ~d-dim sign sketch (None: exact)


Picked = tuple[torch.Tensor, torch.Tensor]  # (flat_index (k,) int64 ascending, features (k, D))
Sampler = Callable[[Sequence[MergedFrame], Sequence[int], SampleOptions], list[Picked]]


def joint(sampler: Sampler) -> Sampler:
    """Mark ``sampler`` as choosing the per-frame split itself (``reduce_tokens`` then checks only
    the total and that no frame gives more tokens than it has)."""
    sampler.joint = True  # type: ignore[attr-defined]
    return sampler


def is_joint(sampler: Sampler) -> bool:
    return bool(getattr(sampler, "joint", False))


def take(frame: MergedFrame, local: torch.Tensor) -> Picked:
    """The frame's tokens at ``local`` (indices into its rows), in ascending grid order."""
    local = torch.sort(local).values
    return frame.flat_index.index_select(0, local), frame.features.index_select(0, local)


def nothing(frame: MergedFrame) -> Picked:
    return take(frame, torch.zeros(0, dtype=torch.long, device=frame.flat_index.device))


def query_similarity(frame: MergedFrame, query: torch.Tensor, where: str) -> torch.Tensor:
    """Cosine similarity (float32, (n,)) of the frame's tokens to the unit ``query``."""
    return unit_rows(frame.features, where) @ query


def top_by_score(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` highest scores; equal scores go to the lower index (stable sort)."""
    return torch.sort(scores, descending=True, stable=True).indices[:k]
