"""Run longvid's command line in-process, the way a test wants it.

    code, out, err = run_cli("search", video, "a red star", "--json")

Arguments are turned into strings (paths, numbers); a ``SystemExit`` becomes the exit code.
stdout and stderr are text streams over bytes with the encodings a real process has (UTF-8;
stdout strict, stderr backslashreplace), so text a terminal or pipe could not take fails here too.
"""

from __future__ import annotations

import contextlib
import io


def run_cli(*args) -> tuple[int, str, str]:
    from longvid.cli import main

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", newline="\n")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, _text(out), _text(err)


def _text(stream: io.TextIOWrapper) -> str:
    """What was written, as a str (bytes that are not UTF-8 would not get here: stdout is strict)."""
    stream.flush()
    return stream.buffer.getvalue().decode("utf-8")
