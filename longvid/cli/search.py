"""`longvid search VIDEO|DIR|STORE "text"`: the moments that match, from stored embeddings (no decoding)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, fmt_time, print_json, stderr_console, stdout_console
from .index import DEFAULT_PRESET_HELP, STORE_HELP, indexed_encoder, pipeline_config


@app.command()
def search(
    target: str = typer.Argument(
        ..., help="A video file; a folder (its indexed videos); a store folder (all of it); or only the query (all of --store).",
        show_default=False,
    ),
    query: Optional[str] = typer.Argument(None, help="What to look for, in words.", show_default=False),
    k: Optional[int] = typer.Option(None, "-k", "--top", help="Moments to return [default: 5]."),
    model: Optional[str] = typer.Option(
        None, "--model", help="Encoder: tiny, open_clip:NAME/TAG, hf:REPO, or a model folder (default: the one the videos were indexed with).",
    ),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    preset: Optional[str] = typer.Option(None, "--preset", help=DEFAULT_PRESET_HELP),
    fps: Optional[float] = typer.Option(None, "--fps", help="Sampling rate if the video must be indexed first."),
    mode: Optional[str] = typer.Option(None, "--mode", help="exact or keyframes, if the video must be indexed first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Find the moments that match a text query: in one video, or across an indexed archive (each moment names its video; videos are not decoded)."""
    from ..indexing import check_query

    scope: str | None = target
    if query is None:  # `longvid search "query" --store S`: the whole store
        scope, query = None, target
    check_query(query)  # before loading anything
    config = pipeline_config(preset, fps=fps, mode=mode, model=model, store=str(store) if store else None)
    k = k if k is not None else config.search.moments
    archive = scope is None or Path(scope).is_dir()
    if model is None and preset is None:  # search with the model the videos were indexed with
        config = indexed_encoder(config, target=scope) if archive else indexed_encoder(config, videos=[scope])
    if archive:
        _search_archive(scope, query, k, config, as_json)
    else:
        _search_video(Path(scope), query, k, config, as_json)


def _search_archive(scope: str | None, query: str, k: int, config, as_json: bool) -> None:
    from ..archive.search import search_archive

    result = search_archive(scope, query, k=k, config=config)
    if as_json:
        print_json({**result.to_dict(), "config": config.to_dict()})
        return
    from rich.table import Table

    import os

    from ..filenames import printable

    out = stdout_console()
    where = "the whole store" if result.scope == "store" else printable(result.scope)
    out.print(f"{where}: {result.query!r}", soft_wrap=True, highlight=False, markup=False)
    paths = [m.video or "?" for m in result.moments]
    base = os.path.commonpath(paths) if paths and all(os.path.isabs(p) for p in paths) else ""
    if base in paths:  # one video: name it relative to its folder
        base = os.path.dirname(base)
    if base:
        out.print(f"videos under {printable(base)}", style="dim", soft_wrap=True, highlight=False, markup=False)
    table = Table(box=None, pad_edge=False)
    for name in ("#", "start", "end", "best frame", "score", "scene", "video"):
        table.add_column(name, justify="right" if name in ("#", "score", "scene") else "left", no_wrap=name == "video")
    for rank, (m, path) in enumerate(zip(result.moments, paths), 1):
        table.add_row(
            str(rank), fmt_time(m.start_s), fmt_time(m.end_s), fmt_time(m.peak_s), f"{m.score:.4f}",
            "-" if m.scene_index is None else str(m.scene_index), printable(os.path.relpath(path, base) if base else path),
        )
    out.print(table)
    index = "exact" if result.index == "exact" else f"{result.index} index over {result.vectors_indexed} vectors + {result.vectors_exact} exact"
    out.print(
        f"{result.videos_in_scope} videos in scope, {result.candidates} scored frame by frame ({index}) "
        f"in {result.query_s * 1000:.0f} ms ({result.seconds:.1f} s with model loading)  model {result.model_id}",
        style="dim", soft_wrap=True,
    )


def _search_video(video: Path, query: str, k: int, config, as_json: bool) -> None:
    from ..indexing import search_video

    err = stderr_console()
    result = search_video(
        video,
        query,
        k=k,
        config=config,
        progress=None if not as_json else False,
        notify=lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True),
    )
    if as_json:
        print_json({**result.to_dict(), "config": config.to_dict()})
        return
    from rich.table import Table

    from ..filenames import printable

    out = stdout_console()
    out.print(f"{printable(str(video))}: {result.query!r}", soft_wrap=True, highlight=False, markup=False)
    if result.match is not None and result.match.verdict == "weak":
        from ..grounding import weak_match_note

        out.print(f"No clear match: {weak_match_note(result.match)}.", soft_wrap=True, highlight=False, markup=False)
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
        f"{result.frames_searched} frames searched{' (partly indexed)' if result.index_state != 'indexed' else ''} "
        f"in {result.query_s * 1000:.0f} ms "
        f"({result.seconds:.1f} s with model loading)  model {result.model_id}",
        style="dim", soft_wrap=True,
    )
