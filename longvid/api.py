"""One-call functions over ``Pipeline`` for scripts and notebooks.

    import longvid
    answer = longvid.ask("video.mp4", "when does the dog jump?", preset="grounding")
    longvid.index_video("video.mp4")
    hits = longvid.search_video("video.mp4", "a dog jumping into a lake", k=3)

``overrides`` take the preset's sections: ``{"search": {"frames": 16}, "tokens": {"budget": 1024}}``.
Each call builds its own pipeline (models load per call); keep a ``Pipeline`` for repeated work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .pipeline import Pipeline


def ask(video: str | Path, question: str, preset: str = "default", overrides: dict[str, dict[str, Any]] | None = None, **options: Any):
    """``Pipeline.ask`` with a preset; ``options`` go to ``ask`` (``answerer``, ``keep_frames``)."""
    with Pipeline.from_preset(preset, overrides) as pipe:
        return pipe.ask(video, question, **options)


def index_video(video: str | Path, preset: str = "default", overrides: dict[str, dict[str, Any]] | None = None):
    """``Pipeline.index`` with a preset: the ``IndexResult``."""
    with Pipeline.from_preset(preset, overrides) as pipe:
        return pipe.index(video)


def search_video(video: str | Path, query: str, k: int = 5, preset: str = "default", overrides: dict[str, dict[str, Any]] | None = None):
    """``Pipeline.search`` with a preset: the ``SearchResult`` (moments in ``.moments``)."""
    with Pipeline.from_preset(preset, overrides) as pipe:
        return pipe.search(video, query, k=k)
