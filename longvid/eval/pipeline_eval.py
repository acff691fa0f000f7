"""Evaluate the pipeline's locate step on annotated items (what ``longvid eval`` runs).

    from longvid.eval import read_annotations
    from longvid.eval.pipeline_eval import evaluate_pipeline
    report = evaluate_pipeline(read_annotations("items.jsonl"), config, strategy="topk", frames=8)
    report.f1, report.groups["indexed"].f1, report.index.frames_embedded

Two modes, because "how good is the selection" and "what does a first question cost" are
different questions:

* **indexed** (any strategy but ``tstar``): every video is indexed into the store first (a no-op
  when it is indexed already; that cost is reported apart, under ``index``), then each question
  is answered from the stored embeddings with the chosen strategy (``searched == "store"``).
* **cold** (``cold=True``, implied by ``strategy="tstar"``): each video gets a fresh temporary
  store, so nothing is reused between videos. The first question about a video starts cold (the
  T* coarse-to-fine search decodes and embeds what it needs, and stores it); later questions
  about the same video start from what the earlier ones stored, as they would for a user. Items
  are reported per start (``cold`` / ``warm``) so both costs are visible. The final selection over
  the frames T* scored uses the chosen strategy (``topk`` for ``tstar``).

A video that cannot be used (missing, unreadable) is a recorded failure: its items score 0 and
carry the one-line error; the other items still run. Bad arguments fail before any work.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PipelineConfig
from ..errors import InvalidArgumentError, LongvidError
from ..select._common import check_budget
from ..types import _ToDict
from .annotations import HaystackItem
from .metrics import DEFAULT_TOLERANCE_S, TemporalScore, macro_average
from .runner import EvalReport, ItemResult, run_eval

SCHEMA = "longvid.eval/1"
STRATEGY_NAMES = ("uniform", "topk", "bolt", "aks", "scene", "tstar")


@dataclass
class IndexTotals(_ToDict):
    """The full-index step of the indexed mode, summed over the distinct videos."""

    videos: int = 0
    indexed_now: int = 0  # videos that were not indexed yet (the others were no-ops)
    frames_decoded: int = 0
    frames_embedded: int = 0
    seconds: float = 0.0
    failed: int = 0


@dataclass
class GroupSummary(_ToDict):
    """Macro P/R/F1 and mean cost of the items that started the same way."""

    items: int
    precision: float
    recall: float
    f1: float
    frames_decoded: float  # means per item
    frames_embedded: float
    frames_from_store: float
    seconds: float


@dataclass
class PipelineEval(_ToDict):
    """``EvalReport`` of the run plus what the pipeline mode adds (see the module docstring)."""

    schema: str
    annotations: str
    mode: str  # "indexed" | "cold"
    report: EvalReport
    groups: dict[str, GroupSummary]  # by item start: "indexed", "cold", "warm", "failed"
    index: IndexTotals | None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def f1(self) -> float:
        return self.report.f1

    @property
    def items(self) -> list[ItemResult]:
        return self.report.items

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "schema": self.schema,
            "annotations": self.annotations,
            "mode": self.mode,
            "strategy": r.strategy,
            "frames": r.frames,
            "tolerance_s": r.tolerance_s,
            "items_total": len(r.items),
            "failed": r.failed,
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "cost": r.cost.to_dict(),
            "index": None if self.index is None else self.index.to_dict(),
            "groups": {k: g.to_dict() for k, g in self.groups.items()},
            "items": [{**i.to_dict(), "start": item_start(i)} for i in r.items],
            "config": self.config,
        }


def item_start(result: ItemResult) -> str:
    """How an item's search started: from a full index, cold, warm (frames stored earlier), or failed."""
    if result.error is not None:
        return "failed"
    if result.searched == "store":
        return "indexed"
    if result.cost is not None and result.cost.frames_from_store > 0:
        return "warm"
    return "cold"


def summarize(results: Sequence[ItemResult]) -> GroupSummary:
    n = max(1, len(results))
    mean = macro_average(TemporalScore(r.precision, r.recall, r.f1) for r in results)

    def per_item(name: str) -> float:
        return sum(getattr(r.cost, name) for r in results if r.cost is not None) / n

    return GroupSummary(
        items=len(results), precision=mean.precision, recall=mean.recall, f1=mean.f1,
        frames_decoded=per_item("frames_decoded"), frames_embedded=per_item("frames_embedded"),
        frames_from_store=per_item("frames_from_store"), seconds=sum(r.seconds for r in results) / n,
    )


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGY_NAMES:
        raise InvalidArgumentError(f"strategy = {strategy!r} is unknown", f"choose one of: {', '.join(STRATEGY_NAMES)}")
    return strategy


def evaluate_pipeline(
    items: Sequence[HaystackItem],
    config: PipelineConfig | None = None,
    *,
    strategy: str | None = None,
    frames: int | None = None,
    cold: bool = False,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    encoder: Any = None,
    annotations: str = "",
    on_item: Callable[[ItemResult], None] | None = None,
    on_index: Callable[[str], None] | None = None,
) -> PipelineEval:
    """Run ``Pipeline.locate`` on every item and score its selection (see the module docstring).

    ``strategy`` and ``frames`` default to ``config.search``'s; ``cold`` is forced on by
    ``tstar`` and refuses a configured store path (cold runs use fresh temporary stores).
    ``on_index(video)`` is called before each video is indexed, ``on_item(result)`` after each item.
    """
    from ..pipeline import Pipeline

    config = config or PipelineConfig()
    strategy = check_strategy(strategy or config.search.strategy)
    frames = check_budget(config.search.frames if frames is None else frames)
    cold = bool(cold) or strategy == "tstar"
    if cold and config.store.path:
        raise InvalidArgumentError(
            f"store path {config.store.path} cannot be used for a cold run",
            "cold runs (--cold, --strategy tstar) search every video in a fresh temporary store; drop --store",
        )
    if not items:
        raise InvalidArgumentError("no items to evaluate", "read them with read_annotations(path)")
    config = config.with_overrides({"search": {"strategy": strategy, "frames": frames}})
    if encoder is None:  # loaded once, up front: a missing model fails before any item
        from ..embed import load_encoder

        e = config.embed
        encoder = load_encoder(e.model, device=e.device, batch_size=e.batch_size, threads=e.threads)

    if cold:
        report, index = _run_cold(items, config, encoder, frames, tolerance_s, on_item, Pipeline)
    else:
        report, index = _run_indexed(items, config, encoder, frames, tolerance_s, on_item, on_index, Pipeline)
    groups: dict[str, list[ItemResult]] = {}
    for r in report.items:
        groups.setdefault(item_start(r), []).append(r)
    return PipelineEval(
        schema=SCHEMA, annotations=annotations, mode="cold" if cold else "indexed", report=report,
        groups={k: summarize(v) for k, v in groups.items()}, index=index,
        config={**config.to_dict(), "embed": {**dataclasses.asdict(config.embed), "model_id": encoder.model_id}},
    )


def _run_indexed(items, config, encoder, frames, tolerance_s, on_item, on_index, Pipeline):
    totals = IndexTotals()
    failures: dict[str, LongvidError] = {}
    with Pipeline(config, encoder=encoder) as pipe:
        for video in dict.fromkeys(item.video for item in items):
            totals.videos += 1
            if on_index is not None:
                on_index(video)
            try:
                result = pipe.index(video)
            except LongvidError as exc:  # recorded on each of its items below
                failures[video] = exc
                totals.failed += 1
                continue
            if not result.noop:
                totals.indexed_now += 1
                totals.frames_decoded += result.frames_decoded
                totals.frames_embedded += result.frames_added
                totals.seconds += result.seconds

        def selector(item: HaystackItem, _frames: int):
            if item.video in failures:
                raise failures[item.video]
            return pipe.locate(item.video, item.question)

        report = run_eval(items, selector, frames, strategy=config.search.strategy, tolerance_s=tolerance_s,
                          on_error="record", progress=on_item)
    return report, totals


def _run_cold(items, config, encoder, frames, tolerance_s, on_item, Pipeline):
    last_question = {item.video: k for k, item in enumerate(items)}
    pipes: dict[str, Any] = {}
    position = 0
    with tempfile.TemporaryDirectory(prefix="longvid-eval-") as root:

        def selector(item: HaystackItem, _frames: int):
            nonlocal position
            k, position = position, position + 1
            pipe = pipes.get(item.video)
            if pipe is None:  # the video's first question: an empty store of its own
                store = Path(root) / f"store-{k}"
                pipe = pipes[item.video] = Pipeline(config.with_overrides({"store": {"path": str(store)}}), encoder=encoder)
            try:
                return pipe.locate(item.video, item.question)
            finally:
                if last_question[item.video] == k:  # no later question about this video
                    pipes.pop(item.video).close()

        try:
            report = run_eval(items, selector, frames, strategy=config.search.strategy, tolerance_s=tolerance_s,
                              on_error="record", progress=on_item)
        finally:
            for pipe in pipes.values():
                pipe.close()
    return report, None
