"""Query scoring and temporal search.

* :mod:`.scoring` — query–frame relevance from embeddings (``frame_scores``, ``score_question``)
* :mod:`.decouple` — question -> visible object/action phrases (rules, or an LLM callable)
* :mod:`.tstar` — the published T* search (spline distribution, top-25 % sampling, verification)
* :mod:`.tstar_coverage` — longvid's coverage-first coarse-to-fine search (``tstar-coverage``)
* :mod:`.cold` — which of the two runs on a video that is not indexed
* :mod:`.moments` — frame scores -> time spans (moments) around the best frames

Names are imported on first use so that ``import longvid.search`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "frame_scores": "longvid.search.scoring",
    "score_question": "longvid.search.scoring",
    "smooth_scores": "longvid.search.scoring",
    "incremental_scorer": "longvid.search.scoring",
    "QueryScores": "longvid.search.scoring",
    "decouple_question": "longvid.search.decouple",
    "Decoupling": "longvid.search.decouple",
    "tstar_search": "longvid.search.tstar",
    "TStarResult": "longvid.search.tstar",
    "coverage_search": "longvid.search.tstar_coverage",
    "CoverageResult": "longvid.search.tstar_coverage",
    "cold_search": "longvid.search.cold",
    "find_moments": "longvid.search.moments",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'longvid.search' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
