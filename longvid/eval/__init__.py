"""LV-Haystack-style evaluation of frame selection: annotations, temporal metrics, a runner.

    from longvid.eval import read_annotations, run_eval
    report = run_eval(read_annotations("items.jsonl"), selector, frames=8, strategy="bolt")
    report.f1, report.cost.frames_embedded, report.to_dict()

* :mod:`.annotations` — JSONL items (video, question, gold keyframe timestamps, answer/options)
* :mod:`.metrics` — temporal precision/recall/F1 with a 5 s tolerance, macro averages, cost totals
* :mod:`.runner` — ``run_eval(items, selector, frames)``: any callable picks the frames
* :mod:`.haystack` — strategy × frame-budget F1 tables on scored videos, a synthetic self-check
* :mod:`.pipeline_eval` — ``evaluate_pipeline(items, config)``: the pipeline's locate step per
  item, indexed or cold (what ``longvid eval`` runs)
* :mod:`.from_truth` — annotation JSONL from the synthetic generator's ground truth
"""

from __future__ import annotations

from .annotations import HaystackItem, parse_item, read_annotations
from .metrics import DEFAULT_TOLERANCE_S, CostTotals, TemporalScore, macro_average, temporal_prf, total_cost
from .pipeline_eval import PipelineEval, evaluate_pipeline
from .runner import EvalReport, ItemResult, run_eval

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "CostTotals",
    "EvalReport",
    "HaystackItem",
    "ItemResult",
    "PipelineEval",
    "TemporalScore",
    "evaluate_pipeline",
    "macro_average",
    "parse_item",
    "read_annotations",
    "run_eval",
    "temporal_prf",
    "total_cost",
]
