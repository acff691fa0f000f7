"""longvid: answer questions about long videos with a video LLM that sees only what the question needs.

Importing this package is cheap (no torch); heavy parts load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names, imported on first attribute access so `import longvid` stays light.
_LAZY = {
    "Pipeline": "longvid.pipeline",
    "ask": "longvid.api",
    "index_video": "longvid.api",
    "search_video": "longvid.api",
    "PipelineConfig": "longvid.config",
    "LongvidError": "longvid.errors",
    "VideoInfo": "longvid.types",
    "Frame": "longvid.types",
    "Scene": "longvid.types",
    "Moment": "longvid.types",
    "Answer": "longvid.types",
    "open_video": "longvid.decode",
    "probe": "longvid.decode",
    "detect_scenes": "longvid.scenes",
}

if TYPE_CHECKING:  # pragma: no cover
    from .api import ask, index_video, search_video
    from .config import PipelineConfig
    from .pipeline import Pipeline
    from .errors import LongvidError
    from .types import Answer, Frame, Moment, Scene, VideoInfo


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'longvid' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
