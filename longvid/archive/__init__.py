"""Video archives: index whole folders in parallel, search across every indexed video.

    from longvid.archive import index_archive, search_archive

    summary = index_archive(["~/archive"], config, recursive=True, workers=2)   # or engine="ray"
    summary.counts()   # indexed / skipped / failed / failed_before / ignored
    found = search_archive("~/archive", "a dog jumping into a lake", k=5, config=config)
    [(m.video, m.start_s, m.end_s, m.score) for m in found.moments]

Modules: ``discover`` (which files are videos), ``runner`` (plan + engines + archive index
update), ``local`` (worker processes), ``ray_engine`` (Ray Data), ``summary`` (results, progress
bar, table), ``search`` (archive-wide moments), ``contents`` (canonical store contents for
comparing stores). The vector index itself lives in ``longvid.store`` (archive_index.py,
recipes.py). Nothing heavy is imported until a function needs it.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "discover": "discover",
    "Discovery": "discover",
    "index_archive": "runner",
    "BatchInterrupted": "runner",
    "BatchSummary": "summary",
    "ItemResult": "summary",
    "search_archive": "search",
    "best_video": "search",
    "ArchiveSearchResult": "search",
    "store_contents": "contents",
    "contents_differences": "contents",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'longvid.archive' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
