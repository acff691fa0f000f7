"""`longvid index VIDEO` and `longvid store info|check|gc`: fill and look after the embedding store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, fmt_time, print_json, stderr_console, stdout_console

STORE_HELP = "Store folder (default: $LONGVID_STORE, else the platform's cache folder)."
PRESET_HELP = "Pipeline preset name (pipelines/NAME.toml) or a .toml path."
DEFAULT_PRESET_HELP = (
    "Pipeline preset name (pipelines/NAME.toml) or a .toml path (default: default; without a preset and without a "
    "model option, the encoder is the one the videos were indexed with)."
)


def pipeline_config(preset: str | None, **flags):
    """The preset (or the defaults) with command-line flags on top."""
    from ..config import PipelineConfig
    from ..indexing import with_overrides

    config = PipelineConfig.from_preset(preset) if preset else PipelineConfig()
    return with_overrides(config, **flags)


def indexed_encoder(config, *, target=None, videos=None):
    """``config`` with the encoder the videos in scope were indexed with (a folder or store
    ``target``, or ``videos``), when the store has them; for commands given no --model/--encoder
    and no --preset. A choice among several models is said on stderr."""
    from ..archive.models import indexed_model
    from ..indexing import with_overrides

    choice = indexed_model(config, target=target, videos=videos)
    if choice is None:
        return config
    note = choice.note()
    if note:
        stderr_console().print(note, highlight=False, markup=False, soft_wrap=True)
    return with_overrides(config, model=choice.spec)


@app.command()
def index(
    paths: list[Path] = typer.Argument(
        ..., help="Video files and/or folders (a folder: the videos in it; with -r also in its subfolders).",
        show_default=False, readable=False,
    ),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also index the videos in subfolders."),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-w", help="Worker processes (local) or encoder actors (ray); default: one per core, at most 4."
    ),
    engine: str = typer.Option("local", "--engine", help="local: worker processes on this machine; ray: Ray Data (the ray extra of longvid)."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Address of a running Ray cluster (with --engine ray)."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Try again files that failed before, even if unchanged."),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frames embedded per second of video [default: 1]."),
    mode: Optional[str] = typer.Option(None, "--mode", help="exact: frames at a steady rate; keyframes: keyframes only (fast)."),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder: tiny, open_clip:NAME/TAG, hf:REPO, or a model folder."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N [default: auto]."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Embed videos' frames into the store, once: unchanged files already indexed are skipped.

    One file is indexed in this process. Folders (or several paths) are a batch: videos are found by probing, indexed by parallel workers, and failures recorded with their reason (`longvid store info`); an interrupted batch is finished by running it again.
    """
    config = pipeline_config(preset, fps=fps, mode=mode, model=model, store=str(store) if store else None, device=device)
    batch = len(paths) > 1 or paths[0].is_dir() or recursive or workers is not None or engine != "local" or ray_address or retry_failed
    if batch:
        _index_batch(paths, config, recursive=recursive, workers=workers, engine=engine, ray_address=ray_address,
                     retry_failed=retry_failed, progress=progress, as_json=as_json)
        return
    from ..filenames import printable
    from ..indexing import index_video

    video = paths[0]
    result = index_video(video, config, progress=False if as_json else progress)
    if as_json:
        print_json({**result.to_dict(), "config": config.to_dict()})
        return
    out = stdout_console()
    s = result.settings
    name = printable(str(video))
    if result.noop:
        out.print(f"already indexed: {name} ({result.frames_total} frames with {result.model_id}); nothing to do",
                  soft_wrap=True, markup=False)
    else:
        out.print(
            f"indexed {name}: {result.frames_added} frames ({s['fps']:g} fps, {s['mode']}), {result.scenes} scenes, "
            f"{result.frames_decoded} frames decoded in {result.seconds:.1f} s",
            soft_wrap=True, markup=False,
        )
    out.print(f"model {result.model_id}  store {printable(str(result.store))}", style="dim", soft_wrap=True, markup=False)


def _index_batch(paths, config, *, recursive, workers, engine, ray_address, retry_failed, progress, as_json) -> None:
    from ..archive.runner import BatchInterrupted, index_archive
    from ..archive.summary import print_summary

    err = stderr_console()
    try:
        summary = index_archive(
            paths, config, recursive=recursive, workers=workers, engine=engine, retry_failed=retry_failed,
            ray_address=ray_address, progress=False if as_json else progress,
            notify=lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True),
        )
    except BatchInterrupted as stop:
        if as_json:
            print_json({**stop.summary.to_dict(), "config": config.to_dict()})
        else:
            print_summary(stop.summary, stdout_console())
        raise typer.Exit(130) from None
    except KeyboardInterrupt:  # before any video was handed out
        if as_json:
            print_json({"interrupted": True})
        else:
            err.print("interrupted before indexing started")
        raise typer.Exit(130) from None
    if as_json:
        print_json({**summary.to_dict(), "config": config.to_dict()})
    else:
        print_summary(summary, stdout_console())
    check_complete(summary)


def check_complete(summary) -> None:
    """Exit 3 when some videos of the batch are not indexed (the summary above lists why)."""
    from ..archive.summary import WORKER_KILLED
    from ..errors import BatchIncompleteError

    counts = summary.counts()
    missing = counts["failed"] + counts["failed_before"]
    if not missing:
        return
    videos = missing + counts["indexed"] + counts["skipped"]
    hint = "fix or remove those files (a changed file is tried again) or rerun with --retry-failed"
    if any(i.error == WORKER_KILLED for i in summary.items):
        hint = "run the same command again for those whose worker was killed; " + hint + " for the others"
    raise BatchIncompleteError(
        f"{missing} of {videos} videos are not indexed ({counts['failed']} failed now, "
        f"{counts['failed_before']} failed before and unchanged; reasons in the summary and `longvid store info`)",
        hint,
    )


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
    from ..filenames import printable
    from ..coverage import index_summary

    with _open(store) as s:
        info = s.info()
        videos = [
            {"id": v.id, "paths": list(v.paths), "duration_s": v.duration_s, "models": s.indexed_models(v.id),
             "index": index_summary(s, v.id)}
            for v in s.videos()
        ]
        failures = [
            {"path": f.path, "model_id": f.model_id, "error": f.error, "reason": f.reason, "attempts": f.attempts, "failed_at": f.failed_at}
            for f in s.failures()
        ]
    if as_json:
        print_json({**info, "video_list": videos, "failure_list": failures})
        return
    out = stdout_console()
    out.print(f"store {info['path']}  ({info['size_bytes'] / 1e6:.1f} MB)")
    out.print(f"{info['videos']} videos, {info['runs']} runs, {info['frames']} frames, {info['text_cache']} cached queries")
    for m in info["models"]:
        out.print(f"  {m['model_id']}  dim {m['dim']}  {m['videos']} videos  {m['vectors']} vectors")
        index = m.get("archive_index")
        if index:
            state = f"{index['tail']} newer vectors searched exactly" if index["current"] else "stale: rebuilt by the next batch"
            out.print(f"    archive index: {index['recipe']} over {index['vectors']} vectors ({state})", style="dim")
    for v in videos:
        name = printable(v["paths"][0]) if v["paths"] else "?"
        out.print(f"  #{v['id']} {name}  {fmt_time(v['duration_s'])}", style="dim", markup=False)
        for m in v["index"]:
            how = f"indexed ({', '.join(m['passes'])})" if m["state"] == "indexed" else "partly indexed (frames of earlier questions only)"
            out.print(f"    {m['model_id']}: {how}, {m['frames']} frames", style="dim", soft_wrap=True)
    if failures:
        out.print(f"{len(failures)} files could not be indexed (retried once they change, or with --retry-failed):")
        for f in failures:
            name = printable(f["path"])
            reason = f["reason"].removeprefix(f"{name}: ")
            out.print(f"  {name}: {reason}", soft_wrap=True, highlight=False, markup=False)


@store_app.command("check")
def store_check(
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    repair: bool = typer.Option(False, "--repair", help="Drop damaged rows and runs (index their videos again afterwards) and orphaned files; never touches a file outside the store."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Verify the store: SQLite integrity, every file name inside the store, every vector file present, unchanged and finite, counts."""
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
        for problem in report.problems:  # one line each, as written: names may hold anything
            out.print(f"problem: {problem}", soft_wrap=True, highlight=False, markup=False)
        if report.orphan_files:
            out.print(f"{len(report.orphan_files)} orphaned segment files (from interrupted runs; `longvid store gc` removes them)")
        if dropped:
            out.print(f"dropped {len(dropped)} damaged runs: {', '.join(map(str, dropped))}")
        forgotten = len(report.bad_video_paths) + len(report.bad_videos) if repair else 0
        if forgotten:
            out.print(f"dropped {forgotten} damaged video rows (remembered paths or fingerprints; nothing outside the store was touched)")
        out.print(("ok" if final.ok else "DAMAGED") + f": {final.videos} videos, {final.frames} frames, {final.vectors} vectors")
    if not final.ok:
        from ..errors import StoreCorruptError

        raise StoreCorruptError(
            f"store {final.db_file} has {len(final.problems)} problem(s)",
            "run `longvid store check --repair` to drop the damaged rows and runs, then `longvid index` their videos again",
        )


@store_app.command("gc")
def store_gc(store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False)) -> None:
    """Delete segment files that no run owns (left behind by killed runs)."""
    with _open(store) as s:
        removed = s.gc()
    stdout_console().print(f"removed {len(removed)} orphaned files")


@store_app.command("build-index")
def store_build_index(
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    force: bool = typer.Option(False, "--force", help="Build from scratch even when the index is current."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
) -> None:
    """Build or extend each model's archive index as its recipe (indexes/*.toml) says.

    `longvid index DIR` does this after every batch; run it after `store check --repair`, or with --force to apply changed recipe parameters.
    """
    err = stderr_console()
    with _open(store) as s:
        updates = [
            s.update_archive_index(m["model_id"], force=force, notify=lambda line: err.print(line, highlight=False, markup=False))
            for m in s.info()["models"] if m["vectors"]
        ]
    rows = [{"model_id": u.model_id, "recipe": u.recipe, "action": u.action, "vectors": u.vectors, "seconds": u.seconds} for u in updates]
    if as_json:
        print_json(rows)
        return
    out = stdout_console()
    for r in rows:
        out.print(f"{r['model_id']}: {r['recipe']} over {r['vectors']} vectors ({r['action']}, {r['seconds']:.1f} s)", soft_wrap=True)
