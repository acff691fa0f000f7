"""The Typer app and the helpers every command shares. Commands live one group per module."""

from __future__ import annotations

import sys
from typing import Any

import typer

app = typer.Typer(
    name="longvid",
    help="Answer questions about long videos: find the moments that matter, index archives, ask a video LLM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def stdout_console():
    from rich.console import Console

    return Console(highlight=False)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine output: one JSON document on stdout, nothing else (a file name that is not UTF-8
    is written with \\udcXX escapes, which json.loads reads back to the name os functions take)."""
    from ..filenames import json_text

    sys.stdout.write(json_text(data, indent=2) + "\n")


def fmt_time(seconds: float | None) -> str:
    """Seconds as H:MM:SS.mmm (people read timestamps better than floats)."""
    from ..timecode import format_time_s

    return format_time_s(seconds)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"longvid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Answer questions about long videos. Set LONGVID_DEBUG=1 to see tracebacks."""
