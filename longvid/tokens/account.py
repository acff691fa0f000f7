"""What ``reduce_tokens`` returns: the kept tokens with their original positions, and the record of
how many tokens each step kept (``TokenAccount``, the ``--json`` view of this stage).

Torch is only named in annotations here, so this module imports without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """Tokens before and after each step, in total and per original frame.

    ``native``: the frames' grid sizes (h*w); ``after_merge``: tokens left once near-duplicates of the
    previous frame were merged away; ``assigned``: the per-frame counts from the query-aware
    assignment; ``kept``: what spatial sampling returned (equal to ``assigned``, recorded separately
    so that a consumer can check it). A joint sampler (``kcenter``) splits the budget across frames
    itself; its ``assigned`` is that split.
    """

    method: str
    budget: int
    merge_threshold: float | None
    alpha: float
    native: tuple[int, ...]
    after_merge: tuple[int, ...]
    assigned: tuple[int, ...]
    kept: tuple[int, ...]

    @property
    def frames(self) -> int:
        return len(self.native)

    @property
    def tokens_native(self) -> int:
        return sum(self.native)

    @property
    def tokens_after_merge(self) -> int:
        return sum(self.after_merge)

    @property
    def tokens_kept(self) -> int:
        return sum(self.kept)

    @property
    def frames_kept(self) -> int:
        return sum(1 for k in self.kept if k > 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: totals first, then the per-frame lists."""
        return {
            "method": self.method,
            "budget": self.budget,
            "merge_threshold": self.merge_threshold,
            "alpha": self.alpha,
            "frames": self.frames,
            "frames_kept": self.frames_kept,
            "tokens_native": self.tokens_native,
            "tokens_after_merge": self.tokens_after_merge,
            "tokens_kept": self.tokens_kept,
            "per_frame": {
                "native": list(self.native),
                "after_merge": list(self.after_merge),
                "assigned": list(self.assigned),
                "kept": list(self.kept),
            },
        }


@dataclass(frozen=True, slots=True, eq=False)
class TokenSet:
    """A budgeted set of visual tokens.

    ``features`` (N, D) in the input's dtype and device; ``positions`` (N, 3) int64
    ``[frame, row, col]`` of original grid positions, unique and in original order (frame-major,
    then row-major), on the same device; ``frame_counts`` (T,) int64 CPU tensor of tokens kept per
    original frame (0: the frame was dropped). Row ``i`` of ``features`` belongs to ``positions[i]``.
    """

    features: "torch.Tensor"
    positions: "torch.Tensor"
    frame_counts: "torch.Tensor"
    account: TokenAccount

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def frame_offsets(self) -> list[int]:
        """T + 1 row offsets: frame t's tokens are rows ``offsets[t]:offsets[t + 1]``."""
        offsets = [0]
        for count in self.frame_counts.tolist():
            offsets.append(offsets[-1] + int(count))
        return offsets

    def split_by_frame(self) -> list[tuple["torch.Tensor", "torch.Tensor"]]:
        """Per original frame: (features (k_t, D), positions (k_t, 3)); empty for dropped frames."""
        offsets = self.frame_offsets
        return [
            (self.features[offsets[t] : offsets[t + 1]], self.positions[offsets[t] : offsets[t + 1]])
            for t in range(len(self.frame_counts))
        ]

    def to(self, device: Any) -> "TokenSet":
        return TokenSet(self.features.to(device), self.positions.to(device), self.frame_counts, self.account)
