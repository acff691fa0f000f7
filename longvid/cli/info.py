"""`longvid info VIDEO`: what is in a video file (no decoding beyond a quick probe);
`longvid info --backends`: which decode backends work here."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app, fmt_time, print_json, stdout_console


@app.command()
def info(
    video: Path | None = typer.Argument(None, help="Video file to describe.", show_default=False),
    backend: str = typer.Option("pyav", help="Decode backend (pyav, decord)."),
    stream: int | None = typer.Option(None, "--stream", help="Video stream number (default: the best one).", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for programs."),
    backends: bool = typer.Option(False, "--backends", help="List the decode backends and whether they work here."),
) -> None:
    """Show duration, frame rate, frame count, streams, rotation and keyframe spacing."""
    from ..decode import BACKENDS, probe
    from ..errors import InvalidArgumentError

    if backends:
        available = BACKENDS.available()
        if as_json:
            print_json(available)
        else:
            for name, ok in available.items():
                stdout_console().print(f"{name:8s} {'available' if ok else 'not installed'}")
        return
    if video is None:
        raise InvalidArgumentError("no VIDEO given", "usage: longvid info VIDEO (or longvid info --backends)")
    vi = probe(video, backend=backend, stream_index=stream)
    if as_json:
        print_json(vi.to_dict())
        return
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
