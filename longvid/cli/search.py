"""`longvid search VIDEO "text"`: the moments that match, from stored embeddings (no decoding)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, fmt_time, print_json, stderr_console, stdout_console
from .index import PRESET_HELP, STORE_HELP, pipeline_config


@app.command()
def search(
    video: Path = typer.Argument(..., help="Video file (indexed first if it is not yet).", show_default=False, readable=False),
    query: str = typer.Argument(..., help="What to look for, in words.", show_default=False),
    k: Optional[int] = typer.Option(None, "-k", "--top", help="Moments to return [default: 5]."),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder: tiny, open_clip:NAME/TAG, hf:REPO, or a model folder."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    fps: Optional[float] = typer.Option(None, "--fps", help="Sampling rate if the video must be indexed first."),
    mode: Optional[str] = typer.Option(None, "--mode", help="exact or keyframes, if the video must be indexed first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Find the moments of a video that match a text query (time spans, scores, scene numbers)."""
    from ..indexing import check_query, search_video

    check_query(query)  # before loading anything
    config = pipeline_config(preset, fps=fps, mode=mode, model=model, store=str(store) if store else None)
    err = stderr_console()
    result = search_video(
        video,
        query,
        k=k if k is not None else config.search.moments,
        config=config,
        progress=None if not as_json else False,
        notify=lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True),
    )
    if as_json:
        print_json({**result.to_dict(), "config": config.to_dict()})
        return
    from rich.table import Table

    out = stdout_console()
    out.print(f"{video}: {result.query!r}", soft_wrap=True, highlight=False, markup=False)
    table = Table(box=None, pad_edge=False)
    for name in ("#", "start", "end", "best frame", "score", "scene"):
        table.add_column(name, justify="right" if name in ("#", "score", "scene") else "left")
    for rank, m in enumerate(result.moments, 1):
        table.add_row(
            str(rank), fmt_time(m.start_s), fmt_time(m.end_s), fmt_time(m.peak_s), f"{m.score:.4f}",
            "-" if m.scene_index is None else str(m.scene_index),
        )
    out.print(table)
    out.print(
        f"{result.frames_searched} frames searched in {result.query_s * 1000:.0f} ms "
        f"({result.seconds:.1f} s with model loading)  model {result.model_id}",
        style="dim", soft_wrap=True,
    )
