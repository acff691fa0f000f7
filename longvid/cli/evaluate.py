"""`longvid eval ANNOTATIONS.jsonl`: temporal precision/recall/F1 of the frames the pipeline picks."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, print_json, stdout_console
from .index import DEFAULT_PRESET_HELP, STORE_HELP, indexed_encoder


@app.command("eval")
def eval_command(
    annotations: Path = typer.Argument(
        ..., help="JSON Lines file: one {video, question, gold_s} item per line (video relative to the file).",
        show_default=False, readable=False,
    ),
    strategy: Optional[str] = typer.Option(
        None, "--strategy", help="uniform, topk, bolt, aks, scene (over a full index), or tstar (cold search) (default: the preset's).",
    ),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frame budget: frames selected per question (default: the preset's)."),
    preset: Optional[str] = typer.Option(None, "--preset", help=DEFAULT_PRESET_HELP),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Frame/text encoder: tiny, open_clip:NAME/TAG, hf:REPO or a folder (default: the one the videos were indexed with, else the preset's)."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP + " Not with --cold.", readable=False),
    cold: bool = typer.Option(
        False, "--cold", help="Search each video in a fresh temporary store (T*), no full index; implied by --strategy tstar.",
    ),
    tolerance_s: float = typer.Option(5.0, "--tolerance-s", help="A prediction counts when within this many seconds of a gold frame."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N for the encoder [auto]."),
    items: bool = typer.Option(False, "--items", help="Also print one row per item."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (every item included)."),
) -> None:
    """Score frame selection against gold keyframes (LV-Haystack style, macro-averaged per item).

    Indexed mode (default): each video is indexed into the store first (reported apart), then every question is answered from its stored embeddings with the strategy.

    Cold mode (--cold, --strategy tstar): each video starts in an empty temporary store; its first question is cold, later ones reuse what earlier ones stored (both reported).

    A missing or unreadable video is a recorded failure: its items count as F1 0 and the exit status is 1.
    """
    from ..config import PipelineConfig
    from ..eval import read_annotations
    from ..eval.pipeline_eval import check_strategy, evaluate_pipeline
    from ..select._common import check_budget

    if strategy is not None:
        check_strategy(strategy)
    if frames is not None:
        check_budget(frames)
    if not tolerance_s >= 0:
        from ..errors import InvalidArgumentError

        raise InvalidArgumentError(f"--tolerance-s {tolerance_s} is invalid", "expected 0 or more seconds")
    config = PipelineConfig.from_preset(preset or "default").with_overrides(
        {"embed": {"model": encoder, "device": device}, "store": {"path": str(store) if store else None}},
        source="command line",
    )
    parsed = read_annotations(annotations)  # a bad line fails here, before any model loads
    if encoder is None and preset is None and not cold and strategy != "tstar":  # the model the videos were indexed with
        config = indexed_encoder(config, videos=sorted({item.video for item in parsed}))
    from ..progress import progress_bar

    with progress_bar("evaluating", total=len(parsed), unit="items") as bar:
        report = evaluate_pipeline(
            parsed, config, strategy=strategy, frames=frames, cold=cold, tolerance_s=tolerance_s,
            annotations=str(annotations),
            on_index=lambda video: bar.log(f"indexing {video}"),
            on_item=lambda result: bar.update(advance=1, f1=f"{result.f1:.2f}"),
        )
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report, items)
    failed = [r for r in report.items if r.error is not None]
    if failed:  # the report above is complete; the exit status says that something is missing
        from ..errors import LongvidError

        raise LongvidError(
            f"{len(failed)} of {len(report.items)} items failed and count as F1 0 (first: item {failed[0].id}: {failed[0].error})",
            "fix or remove those videos",
        )


def print_report(report, items: bool = False) -> None:
    from rich.table import Table

    from ..eval.pipeline_eval import item_start

    r = report.report
    out = stdout_console()
    out.print(
        f"{report.annotations}: {len(r.items)} items, strategy {r.strategy}, {r.frames} frames, "
        f"{report.mode} mode, tolerance {r.tolerance_s:g} s",
        soft_wrap=True, highlight=False, markup=False,
    )
    if items:
        table = Table(box=None, pad_edge=False, title="items", title_justify="left", title_style="dim")
        for name in ("id", "start", "P", "R", "F1", "embedded", "stored", "secs", "question"):
            table.add_column(name, justify="left" if name in ("id", "start", "question") else "right")
        for i in r.items:
            c = i.cost
            table.add_row(
                i.id, item_start(i), f"{i.precision:.2f}", f"{i.recall:.2f}", f"{i.f1:.2f}",
                str(c.frames_embedded) if c else "-", str(c.frames_from_store) if c else "-", f"{i.seconds:.2f}",
                i.question if i.error is None else f"{i.question}  [error: {i.error}]",
            )
        out.print(table)
    table = Table(box=None, pad_edge=False, caption="frames and seconds: means per item", caption_justify="left")
    for name in ("items", "P", "R", "F1", "decoded", "embedded", "from store", "secs"):
        table.add_column(name, justify="right")
    table.add_column("start", justify="left")
    for name, g in report.groups.items():
        table.add_row(
            str(g.items), f"{g.precision:.3f}", f"{g.recall:.3f}", f"{g.f1:.3f}", f"{g.frames_decoded:.0f}",
            f"{g.frames_embedded:.0f}", f"{g.frames_from_store:.0f}", f"{g.seconds:.2f}", name,
        )
    if len(report.groups) > 1:
        n = max(1, len(r.items))
        table.add_row(
            str(len(r.items)), f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", f"{r.cost.frames_decoded / n:.0f}",
            f"{r.cost.frames_embedded / n:.0f}", f"{r.cost.frames_from_store / n:.0f}", f"{r.cost.wall_seconds / n:.2f}",
            "all", style="bold",
        )
    out.print(table)
    x = report.index
    if x is not None:
        out.print(
            f"index first: {x.videos} videos ({x.indexed_now} indexed now, {x.failed} failed): {x.frames_decoded} frames "
            f"decoded, {x.frames_embedded} embedded, {x.seconds:.1f} s",
            style="dim", soft_wrap=True, highlight=False, markup=False,
        )
    out.print(
        f"macro F1 {r.f1:.3f} (P {r.precision:.3f}, R {r.recall:.3f}); {r.cost.frames_embedded} frames embedded while "
        f"searching, {r.cost.frames_from_store} read from the store, {r.cost.wall_seconds:.1f} s",
        soft_wrap=True, highlight=False, markup=False,
    )
