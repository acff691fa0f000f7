"""Evaluate the pipeline's locate step on annotated items (what ``longvid eval`` runs).

    from longvid.eval import read_annotations
    from longvid.eval.pipeline_eval import evaluate_pipeline
    report = evaluate_pipeline(read_annotations("items.jsonl"), config, strategy="topk", frames=8)
    report.f1, report.groups["indexed"].f1, report.index.frames_embedded

Two modes, because "how good is the selection" and "what does a first question cost" are
different questions:

* **indexed** (any strategy but the cold searches): every video is indexed into the store first (a no-op
  when it is indexed already; that cost is reported apart, under ``index``), then each question
  is answered from the stored embeddings with the chosen strategy (``searched == "store"``).
* **cold** (``cold=True``, implied by the cold searches ``tstar`` and ``tstar-coverage``): each
  video gets a fresh temporary store, so nothing is reused between videos. The first question
  about a video starts cold (the search decodes and embeds what it needs, and stores it); later
  questions about the same video start from what the earlier ones stored, as they would for a
  user. Items are reported per start (``cold`` / ``warm``) so both costs are visible. ``tstar``
  picks its frames by its own final draw; after ``tstar-coverage`` (and for any other strategy,
  run cold) the chosen strategy selects among the frames it scored (``topk`` for the names).
* **given** (:func:`evaluate_predictions`): no search, the predictions stored in the annotation
  file are scored (T*'s ``keyframe_timestamps``), as T*'s own ``val_tstar_results.py`` does.

With ``qa="likelihood"`` or ``"generate"`` (indexed or cold) every item is asked in full
(``Pipeline.ask`` with the video LLM) instead of only located: its answer is scored (see
:mod:`longvid.eval.qa_eval`) and the frames the LLM saw are scored in time where the item has gold
(items read with ``need_gold=False`` may have none). Per-item seconds are then those of the whole ask.

Gold given as native frame numbers (``gt_frame_index``) is turned into seconds with each video's
own frame rate first (:func:`~longvid.eval.annotations.resolve_gold`).

A video that cannot be used (missing, unreadable) is a recorded failure: its items score 0 and
carry the one-line error; the other items still run. Bad arguments fail before any work.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..config import PipelineConfig
from ..errors import InvalidArgumentError, LongvidError
from ..select._common import check_budget
from ..types import Selection, _ToDict
from .annotations import HaystackItem, resolve_gold
from .metrics import DEFAULT_TOLERANCE_S, TemporalScore, macro_average
from .qa_eval import QAReport, ask_options, check_mc, qa_golds, qa_report, score_answer
from .runner import EvalReport, ItemResult, run_eval, score_predictions

SCHEMA = "longvid.eval/1"


def strategy_names() -> list[str]:
    """Every selection strategy (over stored scores) and the cold searches."""
    from ..search.cold import COLD_SEARCHES
    from ..select import STRATEGIES

    return [*STRATEGIES.names(), *COLD_SEARCHES]


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
    """Macro P/R/F1 (of the items with gold; None when none has) and mean cost of the items that
    started the same way."""

    items: int
    precision: float | None
    recall: float | None
    f1: float | None
    frames_decoded: float  # means per item
    frames_embedded: float
    frames_from_store: float
    seconds: float


@dataclass
class PipelineEval(_ToDict):
    """``EvalReport`` of the run plus what the pipeline mode adds (see the module docstring)."""

    schema: str
    annotations: str
    mode: str  # "indexed" | "cold" | "given"
    report: EvalReport
    groups: dict[str, GroupSummary]  # by item start: "indexed", "cold", "warm", "failed"
    index: IndexTotals | None
    config: dict[str, Any] = field(default_factory=dict)
    qa: QAReport | None = None  # answer accuracy (qa mode)

    @property
    def f1(self) -> float | None:
        return self.report.f1

    @property
    def items(self) -> list[ItemResult]:
        return self.report.items

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        answers = self.qa.results if self.qa is not None else [None] * len(r.items)
        return {
            "schema": self.schema,
            "annotations": self.annotations,
            "mode": self.mode,
            "strategy": r.strategy,
            "frames": r.frames,
            "tolerance_s": r.tolerance_s,
            "items_total": len(r.items),
            "items_with_gold": r.scored,
            "failed": r.failed,
            "precision": r.precision,
            "recall": r.recall,
            "f1": r.f1,
            "empty": r.empty,
            "empty_items": r.empty_items,
            "cost": r.cost.to_dict(),
            "index": None if self.index is None else self.index.to_dict(),
            "groups": {k: g.to_dict() for k, g in self.groups.items()},
            "qa": None if self.qa is None else self.qa.summary(),
            "items": [{**i.to_dict(), "start": item_start(i), **({} if a is None else {"qa": a.to_dict()})}
                      for i, a in zip(r.items, answers)],
            "config": self.config,
        }


def item_start(result: ItemResult) -> str:
    """How an item's search started: from a full index, cold, warm (frames stored earlier), given
    (predictions read from the file), or failed."""
    if result.error is not None:
        return "failed"
    if result.searched == "store":
        return "indexed"
    if result.searched == "given":
        return "given"
    if result.cost is not None and result.cost.frames_from_store > 0:
        return "warm"
    return "cold"


def summarize(results: Sequence[ItemResult]) -> GroupSummary:
    n = max(1, len(results))
    scored = [r for r in results if r.f1 is not None]
    mean = macro_average(TemporalScore(r.precision, r.recall, r.f1) for r in scored)

    def per_item(name: str) -> float:
        return sum(getattr(r.cost, name) for r in results if r.cost is not None) / n

    return GroupSummary(
        items=len(results), precision=mean.precision if scored else None, recall=mean.recall if scored else None,
        f1=mean.f1 if scored else None,
        frames_decoded=per_item("frames_decoded"), frames_embedded=per_item("frames_embedded"),
        frames_from_store=per_item("frames_from_store"), seconds=sum(r.seconds for r in results) / n,
    )


def check_strategy(strategy: str) -> str:
    names = strategy_names()
    if strategy not in names:
        raise InvalidArgumentError(f"strategy = {strategy!r} is unknown", f"choose one of: {', '.join(names)}")
    return strategy


def _pipeline_eval(report: EvalReport, annotations: str, mode: str, index: Any, config: dict[str, Any],
                   qa: QAReport | None = None) -> PipelineEval:
    groups: dict[str, list[ItemResult]] = {}
    for r in report.items:
        groups.setdefault(item_start(r), []).append(r)
    return PipelineEval(schema=SCHEMA, annotations=annotations, mode=mode, report=report,
                        groups={k: summarize(v) for k, v in groups.items()}, index=index, config=config, qa=qa)


def evaluate_predictions(items: Sequence[HaystackItem], *, tolerance_s: float = DEFAULT_TOLERANCE_S, empty: str = "zero",
                         annotations: str = "") -> PipelineEval:
    """Score the predictions stored in the items (``read_annotations(path, predicted=FIELD)``); no model."""
    if not items:
        raise InvalidArgumentError("no items to evaluate", "read them with read_annotations(path)")
    items, failures = resolve_gold(items, from_first_frame=True)  # T* counts its seconds from the first frame
    report = score_predictions(items, tolerance_s=tolerance_s, empty=empty, failures=failures)
    return _pipeline_eval(report, annotations, "given", None, {})


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
    empty: str = "zero",
    qa: str | None = None,
    llm: Any = None,
) -> PipelineEval:
    """Run ``Pipeline.locate`` on every item and score its selection (see the module docstring).

    ``strategy`` and ``frames`` default to ``config.search``'s; ``cold`` is forced on by the
    cold searches and refuses a configured store path (cold runs use fresh temporary stores).
    ``on_index(video)`` is called before each video is indexed, ``on_item(result)`` after each item.
    ``empty``: how items with no predicted frame count (see :mod:`longvid.eval.runner`).
    ``qa`` ("likelihood" | "generate": how multiple-choice answers are read): ask every item with
    the video LLM (``llm``, default ``config.llm``'s, loaded once) and score its answer too.
    """
    from ..pipeline import Pipeline
    from ..search.cold import COLD_SEARCHES

    config = config or PipelineConfig()
    strategy = check_strategy(strategy or config.search.strategy)
    frames = check_budget(config.search.frames if frames is None else frames)
    cold = bool(cold) or strategy in COLD_SEARCHES
    if cold and config.store.path:
        raise InvalidArgumentError(
            f"store path {config.store.path} cannot be used for a cold run",
            "cold runs (--cold, --strategy tstar / tstar-coverage) search every video in a fresh temporary store; drop --store",
        )
    if not items:
        raise InvalidArgumentError("no items to evaluate", "read them with read_annotations(path)")
    if qa is not None:
        check_mc(qa)
    golds = None if qa is None else qa_golds(items)  # an item without a usable answer fails before any model loads
    items, failures = resolve_gold(items)  # before any model loads: a stated frame rate that disagrees fails here
    config = config.with_overrides({"search": {"strategy": strategy, "frames": frames}})
    if encoder is None:  # loaded once, up front: a missing model fails before any item
        from ..embed import load_encoder

        e = config.embed
        encoder = load_encoder(e.model, device=e.device, batch_size=e.batch_size, threads=e.threads)
    stages: dict[str, Any] = {"encoder": encoder}
    find = _locate
    if golds is not None:
        if llm is None:  # config and processor read once, up front (weights load on the first answer)
            from ..llm import load_llm

            c = config.llm
            llm = load_llm(c.model, device=c.device, dtype=c.dtype)
            llm.check_budget(config.tokens.budget)
        stages["llm"] = llm
        answers: dict[int, Any] = {}
        find = _asker(dict(zip(map(id, items), golds)), qa, answers)

    run = dict(frames=frames, tolerance_s=tolerance_s, on_error="record", progress=on_item, empty=empty,
               strategy=config.search.strategy)
    if cold:
        report, index = _run_cold(items, config, stages, failures, run, Pipeline, find)
    else:
        report, index = _run_indexed(items, config, stages, failures, run, on_index, Pipeline, find)
    qa_result = None
    if golds is not None:
        qa_result = qa_report([score_answer(gold, answers.get(id(item)), r.error, qa)
                               for item, gold, r in zip(items, golds, report.items)], qa)
    return _pipeline_eval(report, annotations, "cold" if cold else "indexed", index,
                          {**config.to_dict(), "embed": {**dataclasses.asdict(config.embed), "model_id": encoder.model_id}},
                          qa_result)


def _locate(pipe, item: HaystackItem):
    return pipe.locate(item.video, item.question)


def _asker(gold_of: dict[int, Any], mc: str, answers: dict[int, Any]):
    """A per-item step that asks in full (QA mode); it keeps each Answer and hands the runner the
    frames the LLM saw."""

    def ask(pipe, item: HaystackItem):
        answer = pipe.ask(item.video, item.question, answerer="llm", options=ask_options(gold_of[id(item)], mc))
        answers[id(item)] = answer
        times = tuple(e.pts_s for e in answer.evidence)
        selection = Selection(times, tuple(e.score for e in answer.evidence), answer.config["search"]["strategy"])
        return SimpleNamespace(selection=selection, cost=answer.cost, searched=answer.config["searched"])

    return ask


def _run_indexed(items, config, stages, failures, run, on_index, Pipeline, find):
    totals = IndexTotals()
    failures = dict(failures)  # videos whose gold could not be resolved fail like unreadable ones
    with Pipeline(config, **stages) as pipe:
        for video in dict.fromkeys(item.video for item in items):
            totals.videos += 1
            if video in failures:
                totals.failed += 1
                continue
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
            return find(pipe, item)

        report = run_eval(items, selector, **run)
    return report, totals


def _run_cold(items, config, stages, failures, run, Pipeline, find):
    last_question = {item.video: k for k, item in enumerate(items)}
    pipes: dict[str, Any] = {}
    position = 0
    with tempfile.TemporaryDirectory(prefix="longvid-eval-") as root:

        def selector(item: HaystackItem, _frames: int):
            nonlocal position
            k, position = position, position + 1
            if item.video in failures:
                raise failures[item.video]
            pipe = pipes.get(item.video)
            if pipe is None:  # the video's first question: an empty store of its own
                store = Path(root) / f"store-{k}"
                pipe = pipes[item.video] = Pipeline(config.with_overrides({"store": {"path": str(store)}}), **stages)
            try:
                return find(pipe, item)
            finally:
                if last_question[item.video] == k:  # no later question about this video
                    pipes.pop(item.video).close()

        try:
            report = run_eval(items, selector, **run)
        finally:
            for pipe in pipes.values():
                pipe.close()
    return report, None
