"""LV-Haystack-style evaluation of frame selection: annotations, temporal metrics, a runner.

    from longvid.eval import read_annotations, run_eval
    report = run_eval(read_annotations("items.jsonl"), selector, frames=8, strategy="bolt")
    report.f1, report.cost.frames_embedded, report.to_dict()

* :mod:`.annotations` — items from JSON Lines or T* / LV-Haystack JSON (video, question, gold
  keyframes in seconds or native frame numbers, answer/options); ambiguous gold fields refused
* :mod:`.metrics` — temporal precision/recall/F1 with a 5 s tolerance, macro averages, cost totals
* :mod:`.runner` — ``run_eval(items, selector, frames)``: any callable picks the frames;
  ``score_predictions(items)``: predictions stored in the file
* :mod:`.haystack` — strategy × frame-budget F1 tables on scored videos, a synthetic self-check
* :mod:`.pipeline_eval` — ``evaluate_pipeline(items, config)``: the pipeline's locate step per
  item, indexed or cold; ``evaluate_predictions(items)``: the file's own (what ``longvid eval`` runs)
* :mod:`.from_truth` — annotation JSONL from the synthetic generator's ground truth (``--worded``:
  questions answered in words, for QA)
* :mod:`.qa` / :mod:`.qa_eval` — answer scoring (short answers, multiple choice) and accuracy for
  ``evaluate_pipeline(items, config, qa="likelihood")`` (``longvid eval --qa``)
"""

from __future__ import annotations

from .annotations import HaystackItem, parse_item, read_annotations, resolve_gold
from .metrics import DEFAULT_TOLERANCE_S, CostTotals, TemporalScore, macro_average, temporal_prf, total_cost
from .pipeline_eval import PipelineEval, evaluate_pipeline, evaluate_predictions
from .runner import EvalReport, ItemResult, run_eval, score_predictions

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "CostTotals",
    "EvalReport",
    "HaystackItem",
    "ItemResult",
    "PipelineEval",
    "TemporalScore",
    "evaluate_pipeline",
    "evaluate_predictions",
    "macro_average",
    "parse_item",
    "read_annotations",
    "resolve_gold",
    "run_eval",
    "score_predictions",
    "temporal_prf",
    "total_cost",
]
