"""`longvid eval ANNOTATIONS`: temporal precision/recall/F1 of the frames the pipeline picks, or of the
predictions stored in the file (`--predicted keyframe_timestamps` for T*'s own results); with `--qa`,
also the accuracy of the video LLM's answers (multiple choice and short answer)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._app import app, print_json, stdout_console
from .index import DEFAULT_PRESET_HELP, STORE_HELP, indexed_encoder


@app.command("eval")
def eval_command(
    annotations: Path = typer.Argument(
        ..., help="Items as JSON Lines ({video, question, gold_s} per line) or a JSON array as T* and LV-Haystack "
        "publish them ({video_path, question, options, gt_frame_index}); videos relative to the file.",
        show_default=False, readable=False,
    ),
    strategy: Optional[str] = typer.Option(
        None, "--strategy", help="A selection strategy over a full index (uniform, topk, bolt, aks, scene, ...) or a cold "
        "search: tstar (the published T*) or tstar-coverage (longvid's) (default: the preset's).",
    ),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frame budget: frames selected per question (default: the preset's)."),
    preset: Optional[str] = typer.Option(None, "--preset", help=DEFAULT_PRESET_HELP),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Frame/text encoder: tiny, open_clip:NAME/TAG, hf:REPO or a folder (default: the one the videos were indexed with, else the preset's)."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP + " Not with --cold.", readable=False),
    cold: bool = typer.Option(
        False, "--cold", help="Search each video in a fresh temporary store (a cold search), no full index; implied by "
        "--strategy tstar and tstar-coverage.",
    ),
    tolerance_s: float = typer.Option(5.0, "--tolerance-s", help="A prediction counts when within this many seconds of a gold frame."),
    predicted: Optional[str] = typer.Option(
        None, "--predicted", metavar="FIELD", help="Score the seconds stored in FIELD of every item (keyframe_timestamps: "
        "T*'s results) instead of searching; no model is loaded.",
    ),
    empty: str = typer.Option(
        "zero", "--empty", help="Items with no predicted frame: zero (count as 0) or skip (leave out of the average, "
        "as T*'s calculate_prf).",
    ),
    video_root: Optional[Path] = typer.Option(
        None, "--video-root", help="Folder of VIDEO_ID.mp4 files, for items that name a video_id but no path (LV-Haystack rows).",
        readable=False,
    ),
    qa: bool = typer.Option(
        False, "--qa", help="Also ask every item with the video LLM and score its answer against the item's answer "
        "(multiple choice when it has options, else short answer); items without gold keyframes are allowed.",
    ),
    mc: Optional[str] = typer.Option(
        None, "--mc", help="With --qa, how a multiple-choice answer is read: likelihood (the option the LLM finds most "
        "likely) or generate (the letter or option text it writes; other text is wrong) [likelihood].",
    ),
    model: Optional[str] = typer.Option(None, "--model", help="With --qa: the video LLM, a Hugging Face id or a local model folder (default: the preset's)."),
    tokens: Optional[int] = typer.Option(None, "--tokens", help="With --qa: visual tokens the video LLM gets in total (default: the preset's)."),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N for the encoder (and the LLM) [auto]."),
    items: bool = typer.Option(False, "--items", help="Also print one row per item."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (every item included)."),
) -> None:
    """Score frame selection against gold keyframes (LV-Haystack style, macro-averaged per item).

    Indexed mode (default): each video is indexed into the store first (reported apart), then every question is answered from its stored embeddings with the strategy.

    Cold mode (--cold, --strategy tstar or tstar-coverage): each video starts in an empty temporary store; its first question is cold, later ones reuse what earlier ones stored (both reported).

    Given mode (--predicted FIELD): the file's own predictions are scored, as T*'s val_tstar_results.py does.

    Gold: gold_s (seconds), or gt_frame_index / frame_indexes_video (frame numbers at the video's own frame rate, read from the video). Fields that are not gold of this video (keyframe_timestamps: T*'s predictions; frame_indexes, frame_indexes_vclip) are refused when no gold field is given.

    QA (--qa): every item is asked in full; accuracy overall and per answer type (multiple choice, short answer) is reported beside the temporal scores (of the items that have gold). Every item needs an 'answer'.

    A missing or unreadable video is a recorded failure: its items count as F1 0 (and wrong) and the exit status is 1.
    """
    from ..errors import InvalidArgumentError
    from ..eval import read_annotations
    from ..eval.pipeline_eval import check_strategy, evaluate_pipeline, evaluate_predictions
    from ..eval.qa_eval import check_mc
    from ..eval.runner import EMPTY
    from ..select._common import check_budget

    if strategy is not None:
        check_strategy(strategy)
    if frames is not None:
        check_budget(frames)
    if not tolerance_s >= 0:
        raise InvalidArgumentError(f"--tolerance-s {tolerance_s} is invalid", "expected 0 or more seconds")
    if empty not in EMPTY:
        raise InvalidArgumentError(f"--empty {empty} is invalid", "choose zero (count as 0) or skip (leave out)")
    answering = {"--mc": mc, "--model": model, "--tokens": tokens}
    extra = [flag for flag, value in answering.items() if value is not None]
    if extra and not qa:
        raise InvalidArgumentError(f"{extra[0]} is for answers; without --qa it has nothing to do", f"add --qa or drop {extra[0]}")
    mc = check_mc(mc or "likelihood")
    searching = {"--strategy": strategy, "--frames": frames, "--encoder": encoder, "--store": store, "--cold": cold or None,
                 "--qa": qa or None}
    given = [flag for flag, value in searching.items() if value is not None]
    if predicted is not None and given:
        raise InvalidArgumentError(f"--predicted scores the file's own predictions; {given[0]} has nothing to do",
                                   f"drop {given[0]}")
    # bad items fail before any model loads
    parsed = read_annotations(annotations, predicted=predicted, video_root=video_root, need_gold=not qa)
    if predicted is not None:
        report = evaluate_predictions(parsed, tolerance_s=tolerance_s, empty=empty, annotations=str(annotations))
    else:
        from ..config import PipelineConfig
        from ..progress import progress_bar
        from ..search.cold import COLD_SEARCHES

        overrides = {"embed": {"model": encoder, "device": device}, "store": {"path": str(store) if store else None}}
        if qa:
            overrides.update({"llm": {"model": model, "device": device}, "tokens": {"budget": tokens}})
        config = PipelineConfig.from_preset(preset or "default").with_overrides(overrides, source="command line")
        if encoder is None and preset is None and not cold and strategy not in COLD_SEARCHES:
            config = indexed_encoder(config, videos=sorted({item.video for item in parsed}))  # the model they were indexed with
        with progress_bar("evaluating", total=len(parsed), unit="items") as bar:
            report = evaluate_pipeline(
                parsed, config, strategy=strategy, frames=frames, cold=cold, tolerance_s=tolerance_s,
                annotations=str(annotations), empty=empty, qa=mc if qa else None,
                on_index=lambda video: bar.log(f"indexing {video}"),
                on_item=lambda result: bar.update(advance=1, **({} if result.f1 is None else {"f1": f"{result.f1:.2f}"})),
            )
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report, items)
    failed = [r for r in report.items if r.error is not None]
    if failed:  # the report above is complete; the exit status says that something is missing
        from ..errors import LongvidError

        raise LongvidError(
            f"{len(failed)} of {len(report.items)} items failed and count as "
            f"{'wrong (and F1 0 where they have gold)' if report.qa else 'F1 0'} (first: item {failed[0].id}: {failed[0].error})",
            "fix or remove those videos",
        )


def print_report(report, items: bool = False) -> None:
    from rich.table import Table

    from ..eval.pipeline_eval import item_start
    from ..eval.runner import score

    r = report.report
    out = stdout_console()
    how = "predictions from the file" if report.mode == "given" else f"strategy {r.strategy}, {r.frames} frames, {report.mode} mode"
    out.print(
        f"{report.annotations}: {len(r.items)} items, {how}, tolerance {r.tolerance_s:g} s",
        soft_wrap=True, highlight=False, markup=False,
    )
    answers = report.qa.results if report.qa is not None else None
    if items:
        table = Table(box=None, pad_edge=False, title="items", title_justify="left", title_style="dim")
        names = ["id", "start", "P", "R", "F1", "embedded", "stored", "secs", *(("gold", "answer", "right") if answers else ()), "question"]
        for name in names:
            table.add_column(name, justify="left" if name in ("id", "start", "question", "gold", "answer") else "right")
        for k, i in enumerate(r.items):
            c = i.cost
            said = () if answers is None else answer_cells(answers[k])
            table.add_row(
                i.id, item_start(i), score(i.precision, 0), score(i.recall, 0), score(i.f1, 0),
                str(c.frames_embedded) if c else "-", str(c.frames_from_store) if c else "-", f"{i.seconds:.2f}", *said,
                i.question if i.error is None else f"{i.question}  [error: {i.error}]",
            )
        out.print(table)
    table = Table(box=None, pad_edge=False, caption="frames and seconds: means per item", caption_justify="left")
    for name in ("items", "P", "R", "F1", "decoded", "embedded", "from store", "secs"):
        table.add_column(name, justify="right")
    table.add_column("start", justify="left")
    for name, g in report.groups.items():
        table.add_row(
            str(g.items), score(g.precision, 0, 3), score(g.recall, 0, 3), score(g.f1, 0, 3), f"{g.frames_decoded:.0f}",
            f"{g.frames_embedded:.0f}", f"{g.frames_from_store:.0f}", f"{g.seconds:.2f}", name,
        )
    if len(report.groups) > 1:
        n = max(1, len(r.items))
        table.add_row(
            str(len(r.items)), score(r.precision, 0, 3), score(r.recall, 0, 3), score(r.f1, 0, 3),
            f"{r.cost.frames_decoded / n:.0f}", f"{r.cost.frames_embedded / n:.0f}", f"{r.cost.frames_from_store / n:.0f}",
            f"{r.cost.wall_seconds / n:.2f}", "all", style="bold",
        )
    out.print(table)
    x = report.index
    if x is not None:
        out.print(
            f"index first: {x.videos} videos ({x.indexed_now} indexed now, {x.failed} failed): {x.frames_decoded} frames "
            f"decoded, {x.frames_embedded} embedded, {x.seconds:.1f} s",
            style="dim", soft_wrap=True, highlight=False, markup=False,
        )
    searched = "" if report.mode == "given" else (
        f"; {r.cost.frames_embedded} frames embedded while searching, {r.cost.frames_from_store} read from the store, "
        f"{r.cost.wall_seconds:.1f} s")
    if r.f1 is None:
        line = f"no item has gold keyframes: frames not scored in time{searched}"
    else:
        over = f"{len(r.items)} items" if r.scored == len(r.items) else f"the {r.scored} of {len(r.items)} items with gold keyframes"
        line = (f"macro F1 {r.f1:.3f} (P {r.precision:.3f}, R {r.recall:.3f}) over {over}, {r.failed} failed "
                f"(count as 0), {r.empty_note()}{searched}")
    out.print(line, soft_wrap=True, highlight=False, markup=False)
    if report.qa is not None:
        out.print(accuracy_line(report.qa), soft_wrap=True, highlight=False, markup=False)


def answer_cells(result) -> tuple[str, str, str]:
    """gold, answer, right: the letter and the chosen letter (multiple choice) or the texts (short answer)."""
    if result.error is not None:
        return result.gold, "-", "no"
    said = (result.choice or "?") if result.type == "multiple_choice" else result.said
    return result.gold, said, "yes" if result.correct else "no"


def accuracy_line(qa) -> str:
    """One line: accuracy overall and per answer type, failures and unparsed answers."""
    parts = []
    for name, label in (("multiple_choice", "multiple choice"), ("short_answer", "short answer")):
        g = qa.by_type[name]
        if g.items:
            how = f", by {qa.mc}" if name == "multiple_choice" else ""
            parts.append(f"{label} {g.accuracy:.3f} ({g.correct} of {g.items}{how})")
    unparsed = f", {qa.unparsed} named no option (count as wrong)" if qa.mc == "generate" else ""
    return (f"accuracy {qa.accuracy:.3f} ({qa.correct} of {qa.items} items): {', '.join(parts)}; "
            f"{qa.failed} failed (count as wrong){unparsed}")
