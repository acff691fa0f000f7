"""`longvid index VIDEO` and `longvid store info|check|gc`: fill and look after the embedding store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, fmt_time, print_json, stdout_console

STORE_HELP = "Store folder (default: $LONGVID_STORE, else the platform's cache folder)."
PRESET_HELP = "Pipeline preset name (pipelines/NAME.toml) or a .toml path."


def pipeline_config(preset: str | None, **flags):
    """The preset (or the defaults) with command-line flags on top."""
    from ..config import PipelineConfig
    from ..indexing import with_overrides

    config = PipelineConfig.from_preset(preset) if preset else PipelineConfig()
    return with_overrides(config, **flags)


@app.command()
def index(
    video: Path = typer.Argument(..., help="Video file to index.", show_default=False, readable=False),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frames embedded per second of video [default: 1]."),
    mode: Optional[str] = typer.Option(None, "--mode", help="exact: frames at a steady rate; keyframes: keyframes only (fast)."),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder: tiny, open_clip:NAME/TAG, hf:REPO, or a model folder."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N [default: auto]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Embed a video's frames into the store (once: re-indexing an unchanged file does nothing)."""
    from ..indexing import index_video

    config = pipeline_config(preset, fps=fps, mode=mode, model=model, store=str(store) if store else None, device=device)
    result = index_video(video, config, progress=None if not as_json else False)
    if as_json:
        print_json({**result.to_dict(), "config": config.to_dict()})
        return
    out = stdout_console()
    s = result.settings
    if result.noop:
        out.print(f"already indexed: {video} ({result.frames_total} frames with {result.model_id}); nothing to do", soft_wrap=True)
    else:
        out.print(
            f"indexed {video}: {result.frames_added} frames ({s['fps']:g} fps, {s['mode']}), {result.scenes} scenes, "
            f"{result.frames_decoded} frames decoded in {result.seconds:.1f} s",
            soft_wrap=True,
        )
    out.print(f"model {result.model_id}  store {result.store}", style="dim", soft_wrap=True)


store_app = typer.Typer(help="Look after the embedding store: info, check, gc.", no_args_is_help=True)
app.add_typer(store_app, name="store")


def _open(store: Path | None):
    from ..store import Store

    return Store.open(store)


@store_app.command("info")
def store_info(
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Where the store is, how big, which models and videos it holds."""
    with _open(store) as s:
        info = s.info()
        videos = [
            {"id": v.id, "paths": list(v.paths), "duration_s": v.duration_s, "models": s.indexed_models(v.id)} for v in s.videos()
        ]
    if as_json:
        print_json({**info, "video_list": videos})
        return
    out = stdout_console()
    out.print(f"store {info['path']}  ({info['size_bytes'] / 1e6:.1f} MB)")
    out.print(f"{info['videos']} videos, {info['runs']} runs, {info['frames']} frames, {info['text_cache']} cached queries")
    for m in info["models"]:
        out.print(f"  {m['model_id']}  dim {m['dim']}  {m['videos']} videos  {m['vectors']} vectors")
    for v in videos:
        out.print(f"  #{v['id']} {v['paths'][0] if v['paths'] else '?'}  {fmt_time(v['duration_s'])}", style="dim")


@store_app.command("check")
def store_check(
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    repair: bool = typer.Option(False, "--repair", help="Drop damaged runs (their videos are re-indexed on next use) and orphaned files."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Verify the store: SQLite integrity, every vector segment present and unchanged, counts."""
    with _open(store) as s:
        if repair:
            report, dropped = s.repair()
            after = s.check()
        else:
            report, dropped, after = s.check(), [], None
    final = after or report
    if as_json:
        print_json({"ok": final.ok, "problems": report.problems, "orphan_files": report.orphan_files,
                    "dropped_runs": dropped, "videos": final.videos, "frames": final.frames, "vectors": final.vectors})
    else:
        out = stdout_console()
        for problem in report.problems:
            out.print(f"problem: {problem}")
        if report.orphan_files:
            out.print(f"{len(report.orphan_files)} orphaned segment files (from interrupted runs; `longvid store gc` removes them)")
        if dropped:
            out.print(f"dropped {len(dropped)} damaged runs: {', '.join(map(str, dropped))}")
        out.print(("ok" if final.ok else "DAMAGED") + f": {final.videos} videos, {final.frames} frames, {final.vectors} vectors")
    if not final.ok:
        from ..errors import StoreCorruptError

        raise StoreCorruptError(
            f"store {final.db_file} has {len(final.problems)} problem(s)",
            "run `longvid store check --repair` to drop the damaged runs (their videos are re-indexed on next use)",
        )


@store_app.command("gc")
def store_gc(store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False)) -> None:
    """Delete segment files that no run owns (left behind by killed runs)."""
    with _open(store) as s:
        removed = s.gc()
    stdout_console().print(f"removed {len(removed)} orphaned files")
