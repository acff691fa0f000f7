"""`longvid scenes VIDEO`: shot boundaries in one decode pass (table, --json or --csv)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import app, fmt_time, print_json, stdout_console

DETECTOR_HELP = "content (hard cuts), adaptive (cuts that stand out from their neighbours), threshold (fades to black)."


@app.command()
def scenes(
    video: Path = typer.Argument(..., help="Video file to split into scenes.", show_default=False),
    detector: str = typer.Option("adaptive", "--detector", "-d", help=DETECTOR_HELP),
    threshold: float | None = typer.Option(
        None, "--threshold", "-t", help="Detector threshold (default: content 27, adaptive 3.0, threshold 12).", show_default=False
    ),
    min_scene_len: int = typer.Option(15, "--min-scene-len", "-m", help="Shortest scene in frames."),
    backend: str = typer.Option("pyav", help="Decode backend (pyav, decord)."),
    stream: int | None = typer.Option(None, "--stream", help="Video stream number (default: the best one).", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV (one row per scene)."),
) -> None:
    """Detect scenes (shots): number, start/end time and frame, duration."""
    from ..decode import open_video
    from ..errors import DecodeError, InvalidArgumentError
    from ..progress import progress_bar
    from ..scenes import detect_scenes, make_detector

    if as_json and as_csv:
        raise InvalidArgumentError("--json and --csv were both given", "choose one output format")
    det = make_detector(detector, threshold, min_scene_len)  # validates before any decoding
    machine = as_json or as_csv
    with open_video(video, backend, stream_index=stream) as reader:
        info = reader.info
        error: DecodeError | None = None
        # Bar only for people, only on a terminal, only when the file takes a while.
        with progress_bar(f"scenes {Path(video).name}", info.duration_s, unit="s", enabled=None if not machine and info.duration_s > 20 else False) as bar:
            try:
                found = detect_scenes(reader, det, progress=lambda t: bar.update(completed=t - info.start_s))
            except DecodeError as exc:
                error, found = exc, getattr(exc, "partial_scenes", [])
        decoded = reader.frames_decoded

    settings = {"detector": det.name, "threshold": det.threshold, "min_scene_len": det.min_scene_len}
    if as_json:
        print_json(
            {
                "video": str(video),
                **settings,
                "complete": error is None,
                "stopped_at_s": None if error is None else error.stopped_at_s,
                "frames_decoded": decoded,
                "scenes": [{**s.to_dict(), "duration_s": s.duration_s} for s in found],
            }
        )
    elif as_csv:
        sys.stdout.write("scene,start_s,end_s,start_frame,end_frame,duration_s\n")
        for s in found:
            sys.stdout.write(f"{s.index},{s.start_s:.6f},{s.end_s:.6f},{s.start_frame},{s.end_frame},{s.duration_s:.6f}\n")
    else:
        _table(video, found, settings, decoded, error is None)
    if error is not None:
        raise error  # one line on stderr, non-zero exit (the partial result is above)


def _table(video: Path, found, settings: dict, decoded: int, complete: bool) -> None:
    from rich.table import Table

    title = f"{video} — {len(found)} scene{'s' if len(found) != 1 else ''} ({settings['detector']}, threshold {settings['threshold']:g})"
    if not complete:
        title += " — INCOMPLETE: decoding stopped early"
    table = Table()
    for name in ("#", "start", "end", "start frame", "end frame", "duration"):
        table.add_column(name, justify="right")
    for s in found:
        table.add_row(
            str(s.index),
            fmt_time(s.start_s),
            fmt_time(s.end_s),
            str(s.start_frame),
            str(s.end_frame),
            f"{s.duration_s:.3f} s",
        )
    out = stdout_console()
    out.print(title, soft_wrap=True, markup=False, highlight=False)  # never wrapped: paths are long
    out.print(table)
