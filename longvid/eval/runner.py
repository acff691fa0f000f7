"""Run a frame selector over annotated items and score it.

The runner knows nothing about videos or models: the caller passes a *selector*, any callable
``selector(item, frames) -> result`` where ``result`` is a :class:`~longvid.types.Selection`, a
sequence of timestamps in seconds, a pair ``(that, Cost)`` when the selector accounts for its
work, or anything with ``selection`` and ``cost`` attributes (the pipeline's ``Located``, whose
``searched`` is kept too). The pipeline plugs in as
``lambda item, n: pipeline.locate(item.video, item.question)`` (its config sets the budget).

    items = read_annotations("haystack.jsonl")
    report = run_eval(items, selector, frames=8, strategy="tstar")
    print(report.table()); json.dumps(report.to_dict())

The macro average is the mean over items of per-item P, R and F1. An item whose selector returned
no frame counts as 0 (``empty="zero"``, the default); ``empty="skip"`` leaves such items out of
the mean, as T*'s ``calculate_prf`` does. A failed item (its selector raised) always counts as 0:
a failure never raises the average. :func:`score_predictions` scores predictions stored in the
annotation file itself (``read_annotations(path, predicted="keyframe_timestamps")``).

An item without gold keyframes (read with ``need_gold=False``, for ``longvid eval --qa``) is run but
not scored in time: its P/R/F1 are None and it is left out of the averages (None when no item has gold).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, LongvidError
from ..select._common import check_budget
from ..types import Cost, Selection, _ToDict
from .annotations import HaystackItem
from .metrics import DEFAULT_TOLERANCE_S, CostTotals, TemporalScore, macro_average, temporal_prf

Selector = Callable[[HaystackItem, int], Any]
EMPTY = ("zero", "skip")


@dataclass
class ItemResult(_ToDict):
    id: str
    video: str
    question: str
    predicted_s: list[float]
    gold_s: list[float]
    precision: float | None  # None: the item has no gold keyframes (see the module docstring)
    recall: float | None
    f1: float | None
    seconds: float  # wall time of the selector call
    cost: Cost | None = None
    error: str | None = None  # one-line error when the selector failed (counted as F1 0)
    searched: str | None = None  # how the frames were found ("store", "tstar") when the selector says


@dataclass
class EvalReport(_ToDict):
    strategy: str
    frames: int
    tolerance_s: float
    precision: float | None  # None when no item has gold keyframes
    recall: float | None
    f1: float | None
    failed: int
    cost: CostTotals
    items: list[ItemResult] = field(default_factory=list)
    empty: str = "zero"  # how items with no predicted frame count in the macro average
    empty_items: int = 0  # such items (failures not included)
    scored: int = 0  # items with gold keyframes (the others are not scored in time)

    def empty_note(self) -> str:
        if not self.empty_items:
            return "no empty predictions"
        one = self.empty_items == 1
        if self.empty == "zero":
            how = "counts as 0" if one else "count as 0"
        else:
            how = ("is" if one else "are") + " left out of the average (as T*'s calculate_prf)"
        return f"{self.empty_items} empty prediction{'' if one else 's'} {how}"

    def table(self) -> str:
        """A plain-text summary, one line per item then the macro average."""
        lines = [f"{'id':<12} {'P':>5} {'R':>5} {'F1':>5} {'secs':>7}  question"]
        for r in self.items:
            mark = f"  [error: {r.error}]" if r.error else ""
            lines.append(f"{r.id[:12]:<12} {score(r.precision)} {score(r.recall)} {score(r.f1)} {r.seconds:7.2f}  "
                         f"{r.question[:60]}{mark}")
        lines.append(
            f"{'macro':<12} {score(self.precision)} {score(self.recall)} {score(self.f1)} {self.cost.wall_seconds:7.2f}  "
            f"{len(self.items)} items, {self.frames} frames, strategy {self.strategy}, "
            f"{self.cost.frames_embedded} frames embedded, {self.failed} failed, {self.empty_note()}"
        )
        return "\n".join(lines)


def score(value: float | None, width: int = 5, digits: int = 2) -> str:
    """A P/R/F1 value for a table; "-" when there is none (no gold)."""
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def _unpack(result: Any) -> tuple[list[float], Cost | None, str | None]:
    cost = searched = None
    if isinstance(getattr(result, "selection", None), Selection):  # the pipeline's Located
        result, cost, searched = result.selection, getattr(result, "cost", None), getattr(result, "searched", None)
    elif isinstance(result, tuple) and len(result) == 2 and (result[1] is None or isinstance(result[1], Cost)):
        result, cost = result
    if isinstance(result, Selection):
        times = list(result.timestamps_s)
    elif isinstance(result, (Sequence, np.ndarray)) and not isinstance(result, (str, bytes)):
        times = [float(x) for x in np.asarray(result, dtype=np.float64).ravel()]
    else:
        raise InvalidArgumentError(
            f"selector returned {type(result).__name__}",
            "return a Selection, a list of timestamps in seconds, or (one of those, Cost)",
        )
    return times, cost, searched


def run_eval(
    items: Sequence[HaystackItem],
    selector: Selector,
    frames: int = 8,
    *,
    strategy: str = "custom",
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    on_error: str = "raise",
    progress: Callable[[ItemResult], None] | None = None,
    empty: str = "zero",
) -> EvalReport:
    """Call ``selector`` on every item and score its timestamps against the gold ones.

    ``on_error="record"`` keeps going when the selector raises a :class:`LongvidError` (a bad
    video, say): the item is reported with its error and scores 0, so a failure never looks like
    a success. ``"raise"`` (default) stops at the first error. ``progress(result)`` is called
    after each item (a progress bar, a log line). ``empty``: see the module docstring.
    """
    frames = check_budget(frames)
    if on_error not in ("raise", "record"):
        raise InvalidArgumentError(f"on_error = {on_error!r} is invalid", "choose 'raise' or 'record'")
    if empty not in EMPTY:
        raise InvalidArgumentError(f"empty = {empty!r} is invalid", "choose 'zero' (count as 0) or 'skip' (leave out)")
    if not np.isfinite(tolerance_s) or tolerance_s < 0:
        raise InvalidArgumentError(f"tolerance_s = {tolerance_s!r} is invalid", "expected 0 or more seconds")
    if not items:
        raise InvalidArgumentError("no items to evaluate", "read them with read_annotations(path)")
    results: list[ItemResult] = []
    totals = CostTotals()
    for item in items:
        start = time.perf_counter()
        error = searched = None
        try:
            predicted, cost, searched = _unpack(selector(item, frames))
        except LongvidError as exc:
            if on_error == "raise":
                raise
            predicted, cost, error = [], None, exc.one_line()
        seconds = time.perf_counter() - start
        if predicted and item.has_gold and not item.gold_s:
            raise InvalidArgumentError(f"{item.where or item.id}: its gold frame numbers are not in seconds yet",
                                       "call longvid.eval.resolve_gold(items) first")
        temporal: TemporalScore | None = None  # no gold: not scored in time
        if item.has_gold:
            temporal = temporal_prf(predicted, item.gold_s, tolerance_s) if predicted else TemporalScore(0.0, 0.0, 0.0)
        results.append(
            ItemResult(
                id=item.id,
                video=item.video,
                question=item.question,
                predicted_s=sorted(predicted),
                gold_s=list(item.gold_s),
                precision=None if temporal is None else temporal.precision,
                recall=None if temporal is None else temporal.recall,
                f1=None if temporal is None else temporal.f1,
                seconds=seconds,
                cost=cost,
                error=error,
                searched=searched,
            )
        )
        totals.add(cost, seconds)
        if progress is not None:
            progress(results[-1])
    scored = [r for r in results if r.f1 is not None]
    empties = [r for r in scored if not r.predicted_s and r.error is None]
    counted = [r for r in scored if empty == "zero" or r.predicted_s or r.error is not None]
    mean = macro_average(TemporalScore(r.precision, r.recall, r.f1) for r in counted)
    return EvalReport(
        strategy=strategy,
        frames=frames,
        tolerance_s=float(tolerance_s),
        precision=mean.precision if scored else None,
        recall=mean.recall if scored else None,
        f1=mean.f1 if scored else None,
        failed=sum(r.error is not None for r in results),
        cost=totals,
        items=results,
        empty=empty,
        empty_items=len(empties),
        scored=len(scored),
    )


def score_predictions(items: Sequence[HaystackItem], *, tolerance_s: float = DEFAULT_TOLERANCE_S, empty: str = "zero",
                      failures: dict[str, LongvidError] | None = None) -> EvalReport:
    """Score the predictions the items carry (``predicted_s``), no search; see the module docstring.

    ``failures`` maps a video to the error that kept its gold from being resolved (see
    :func:`~longvid.eval.annotations.resolve_gold`): its items are recorded as failed.
    """
    missing = [item for item in items if item.predicted_s is None]
    if missing:
        raise InvalidArgumentError(f"{missing[0].where or missing[0].id}: no predictions to score",
                                   "read the file with predicted=FIELD (--predicted FIELD)")
    failures = failures or {}

    def given(item: HaystackItem, _frames: int) -> Any:
        if item.video in failures:
            raise failures[item.video]
        times = tuple(item.predicted_s)
        return SimpleNamespace(selection=Selection(times, (0.0,) * len(times), "given"), cost=None, searched="given")

    frames = max([1, *(len(item.predicted_s) for item in items)])
    return run_eval(items, given, frames, strategy="given", tolerance_s=tolerance_s, on_error="record", empty=empty)
