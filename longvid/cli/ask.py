"""`longvid ask VIDEO|DIR "question"`: the answer, the moments that support it, and what it cost."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._app import app, fmt_time, print_json, stderr_console, stdout_console
from .index import DEFAULT_PRESET_HELP, STORE_HELP, indexed_encoder


@app.command()
def ask(
    video: Path = typer.Argument(
        ..., help="Video file to ask about; or an indexed folder or store: the video that matches best is asked.",
        show_default=False, readable=False,
    ),
    question: str = typer.Argument(..., help="The question, in words.", show_default=False),
    preset: Optional[str] = typer.Option(None, "--preset", help=DEFAULT_PRESET_HELP),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frame budget: frames the video LLM sees (default: the preset's)."),
    tokens: Optional[int] = typer.Option(None, "--tokens", help="Token budget: visual tokens the video LLM gets in total (default: the preset's)."),
    model: Optional[str] = typer.Option(None, "--model", help="Video LLM: a Hugging Face id or a local model folder (default: the preset's)."),
    answerer: Optional[str] = typer.Option(None, "--answerer", help="llm: the video LLM answers; grounding: the best moments, no LLM (default: the preset's)."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="Frame selection: uniform, topk, bolt, aks, aks-z, scene (default: the preset's)."),
    encoder: Optional[str] = typer.Option(
        None, "--encoder",
        help="Frame/text encoder: tiny, open_clip:NAME/TAG, hf:REPO or a folder (default: the one the video was indexed with, else the preset's).",
    ),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP, readable=False),
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu, cuda or cuda:N for the encoder and the LLM (default: auto)."),
    option: Optional[List[str]] = typer.Option(
        None, "--option", metavar="TEXT", help="A multiple-choice option (repeat it: --option jumps --option grows); the "
        "video LLM scores each as the answer and the most likely is chosen (letters A, B, ... in the order given).",
        show_default=False,
    ),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write a self-contained HTML report to this file.", readable=False),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (schema in the README)."),
) -> None:
    """Answer a question about a video, with the moments that support the answer."""
    from ..config import PipelineConfig
    from ..pipeline import Pipeline

    config = PipelineConfig.from_preset(preset or "default").with_overrides(
        {
            "search": {"frames": frames, "strategy": strategy},
            "tokens": {"budget": tokens},
            "llm": {"model": model, "device": device},
            "embed": {"model": encoder, "device": device},
            "store": {"path": str(store) if store else None},
            "answer": {"answerer": answerer},
        },
        source="command line",
    )
    if report is not None:
        from ..report import check_report_path

        check_report_path(report)  # before any work
    if encoder is None and preset is None:  # the encoder the video (or folder) was indexed with
        config = indexed_encoder(config, target=video) if video.is_dir() else indexed_encoder(config, videos=[str(video)])
    chosen = None
    with Pipeline(config) as pipe:
        if video.is_dir():
            video, chosen = choose_video(video, question, pipe, as_json)
        answer = pipe.ask(video, question, keep_frames=report is not None, progress=None if not as_json else False,
                          options=option or None)
    if report is not None:
        from ..report import write_html

        write_html(answer, report)
    if as_json:
        print_json({**answer.to_dict(), **({"archive": chosen} if chosen else {})})
        return
    print_answer(answer, report)


def choose_video(folder: Path, question: str, pipe, as_json: bool) -> tuple[Path, dict]:
    """The archive's best-matching video for the question (said on stderr unless --json)."""
    from ..archive.search import best_video
    from ..filenames import printable
    from ..indexing import check_query

    path, found = best_video(folder, check_query(question), config=pipe.config, encoder=pipe.encoder)
    best = next(m for m in found.moments if m.video == path)
    if not as_json:
        stderr_console().print(
            f"chose {printable(path)} (best match {best.score:.3f} at {fmt_time(best.peak_s)} among {found.videos_in_scope} indexed videos)",
            highlight=False, markup=False, soft_wrap=True,
        )
    return Path(path), {"chosen_video": path, "search": found.to_dict()}


def print_answer(answer, report: Path | None = None) -> None:
    from rich.table import Table

    out = stdout_console()
    out.print(answer.text, soft_wrap=True, highlight=False, markup=False)
    if answer.answerer == "llm" and answer.match is not None and answer.match.verdict == "weak":
        from ..grounding import weak_match_note

        out.print(f"Weak evidence: the best moment's {weak_match_note(answer.match).removeprefix('its ')}.", soft_wrap=True,
                  highlight=False, markup=False)
    if answer.choice is not None:
        from ..eval.qa import LETTERS

        chosen = LETTERS.index(answer.choice)
        out.print(f"choice: {answer.choice}. {answer.options[chosen]}", soft_wrap=True, highlight=False, markup=False)
        scores = ", ".join(f"{k} {s:.3f}" for k, s in zip(LETTERS, answer.option_scores))
        out.print(f"option log-prob per token: {scores}", style="dim", soft_wrap=True, highlight=False, markup=False)
    if answer.moments:
        table = Table(box=None, pad_edge=False, title="moments", title_justify="left", title_style="dim")
        for name in ("#", "start", "end", "peak", "score", "scene"):
            table.add_column(name, justify="right" if name in ("#", "score", "scene") else "left")
        for rank, m in enumerate(answer.moments, 1):
            table.add_row(
                str(rank), fmt_time(m.start_s), fmt_time(m.end_s), fmt_time(m.peak_s), f"{m.score:.3f}",
                "-" if m.scene_index is None or m.scene_index < 0 else str(m.scene_index),
            )
        out.print(table)
    out.print(account_line(answer), style="dim", soft_wrap=True, highlight=False, markup=False)
    if report is not None:
        out.print(f"report: {report}", style="dim", soft_wrap=True, highlight=False, markup=False)


def account_line(answer) -> str:
    """One line: frames decoded/embedded/from the store, tokens before -> after, seconds per stage."""
    c = answer.cost
    parts = [f"frames: {c.frames_decoded} decoded, {c.frames_embedded} embedded, {c.frames_from_store} from store"]
    parts.append(f"{len(answer.evidence)} selected ({answer.config.get('searched', '?')})")
    if c.tokens_before:
        parts.append(f"tokens: {c.tokens_before} → {c.tokens_after}")
    stages = ", ".join(f"{k} {v:.2f}" for k, v in c.seconds.items() if k != "total" and "." not in k)
    parts.append(f"seconds: {stages}; total {c.seconds.get('total', 0.0):.2f}")
    return " · ".join(parts)
