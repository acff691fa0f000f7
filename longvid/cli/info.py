"""`longvid info VIDEO...`: what is in video files (no decoding beyond a quick probe);
`longvid info --backends`: which decode backends work here."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from ._app import app, fmt_time, print_json, stdout_console


@app.command()
def info(
    videos: list[Path] | None = typer.Argument(None, help="Video files to describe.", show_default=False, metavar="VIDEO"),
    backend: str = typer.Option("pyav", help="Decode backend (pyav, decord)."),
    stream: int | None = typer.Option(None, "--stream", help="Video stream number (default: the best one).", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
    backends: bool = typer.Option(False, "--backends", help="List the decode backends and whether they work here."),
) -> None:
    """Show duration, frame rate, frame count, streams, rotation and keyframe spacing."""
    from ..decode import BACKENDS, probe
    from ..errors import InvalidArgumentError, LongvidError

    if backends:
        available = BACKENDS.available()
        if as_json:
            print_json(available)
        else:
            for name, ok in available.items():
                stdout_console().print(f"{name:8s} {'available' if ok else 'not installed'}")
        return
    if not videos:
        raise InvalidArgumentError("no VIDEO given", "usage: longvid info VIDEO... (or longvid info --backends)")
    infos, failed = [], []
    for video in videos:
        try:
            infos.append(probe(video, backend=backend, stream_index=stream))
        except LongvidError as exc:  # the others are still described; each bad file gets its line
            failed.append(exc)
    if as_json and infos:
        print_json(infos[0].to_dict() if len(videos) == 1 else [vi.to_dict() for vi in infos])
    elif infos:
        for number, vi in enumerate(infos):
            if number:
                stdout_console().print()
            _describe(vi)
    for exc in failed[:-1]:
        sys.stderr.write(f"error: {exc.one_line()}\n")
    if failed:
        raise failed[-1]  # one line too, and the exit code of a bad file


def _describe(vi) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("file", vi.path)
    table.add_row("container", vi.container)
    table.add_row("video stream", f"#{vi.stream_index} {vi.codec} {vi.width}x{vi.height}" + (f" {vi.pix_fmt}" if vi.pix_fmt else ""))
    table.add_row("rotation", f"{vi.rotation}° clockwise" if vi.rotation else "0°")
    table.add_row("frame rate", f"{vi.fps:.3f} fps" + (" (variable)" if vi.is_vfr else ""))
    table.add_row("frames", f"{vi.frame_count}" + ("" if vi.frame_count_exact else " (estimated)"))
    table.add_row("start", fmt_time(vi.start_s))
    table.add_row("duration", fmt_time(vi.duration_s))
    table.add_row(
        "keyframe spacing",
        "-" if vi.keyframe_interval_s is None else f"{vi.keyframe_interval_s:.3f} s (median)",
    )
    for s in vi.streams:
        detail = ", ".join(
            x
            for x in (
                s.codec or "?",
                f"{s.width}x{s.height}" if s.width else "",
                f"{s.fps:.3f} fps" if s.fps else "",
                s.language or "",
            )
            if x
        )
        table.add_row(f"stream #{s.index}", f"{s.kind}: {detail}")
    stdout_console().print(table)
