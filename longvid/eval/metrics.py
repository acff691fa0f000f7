"""LV-Haystack-style temporal metrics and cost totals.

Per item, with a tolerance of ``tolerance_s`` (5 s by default, inclusive):

* precision = share of predicted timestamps within the tolerance of some gold timestamp;
* recall = share of gold timestamps within the tolerance of some prediction;
* F1 = 2PR / (P + R), 0 when both are 0.

Nothing predicted scores 0 on all three. Over items the three are macro-averaged (the mean of
per-item values; the reported F1 is the mean of per-item F1, not the F1 of the mean P and R).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Cost, _ToDict

DEFAULT_TOLERANCE_S = 5.0


@dataclass(frozen=True)
class TemporalScore(_ToDict):
    precision: float
    recall: float
    f1: float


def _times(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise InvalidArgumentError(f"{what}[{bad[0]}] = {float(x[bad[0]])!r} is not a finite number of seconds")
    return x


def temporal_prf(
    predicted_s: Sequence[float] | np.ndarray, gold_s: Sequence[float] | np.ndarray, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> TemporalScore:
    """Precision, recall and F1 of predicted timestamps against gold timestamps (see module doc)."""
    if not np.isfinite(tolerance_s) or tolerance_s < 0:
        raise InvalidArgumentError(f"tolerance_s = {tolerance_s!r} is invalid", "expected 0 or more seconds")
    pred = _times(predicted_s, "predicted_s")
    gold = _times(gold_s, "gold_s")
    if gold.size == 0:
        raise InvalidArgumentError("gold_s is empty", "every item needs at least one gold timestamp")
    if pred.size == 0:
        return TemporalScore(0.0, 0.0, 0.0)
    close = np.abs(pred[:, None] - gold[None, :]) <= tolerance_s + 1e-9
    precision = float(close.any(axis=1).mean())
    recall = float(close.any(axis=0).mean())
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return TemporalScore(precision, recall, f1)


def macro_average(scores: Iterable[TemporalScore]) -> TemporalScore:
    items = list(scores)
    if not items:
        return TemporalScore(0.0, 0.0, 0.0)
    return TemporalScore(
        float(np.mean([s.precision for s in items])),
        float(np.mean([s.recall for s in items])),
        float(np.mean([s.f1 for s in items])),
    )


@dataclass
class CostTotals(_ToDict):
    """Sums of per-item :class:`~longvid.types.Cost` (``seconds`` per stage) plus wall time."""

    items: int = 0
    frames_decoded: int = 0
    frames_embedded: int = 0
    frames_from_store: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def add(self, cost: Cost | None, wall_seconds: float = 0.0) -> None:
        self.items += 1
        self.wall_seconds += float(wall_seconds)
        if cost is None:
            return
        self.frames_decoded += int(cost.frames_decoded)
        self.frames_embedded += int(cost.frames_embedded)
        self.frames_from_store += int(cost.frames_from_store)
        for stage, secs in cost.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + float(secs)


def total_cost(costs: Iterable[Cost | None], wall_seconds: Iterable[float] | None = None) -> CostTotals:
    totals = CostTotals()
    costs = list(costs)
    walls = list(wall_seconds) if wall_seconds is not None else [0.0] * len(costs)
    if len(walls) != len(costs):
        raise InvalidArgumentError(f"{len(costs)} costs but {len(walls)} wall times")
    for cost, wall in zip(costs, walls):
        totals.add(cost, wall)
    return totals
