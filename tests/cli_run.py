"""Run longvid's command line in-process, the way a test wants it.

    code, out, err = run_cli("search", video, "a red star", "--json")

Arguments are turned into strings (paths, numbers); a ``SystemExit`` becomes the exit code.
"""

from __future__ import annotations

import contextlib
import io


def run_cli(*args) -> tuple[int, str, str]:
    from longvid.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
    return code, out.getvalue(), err.getvalue()
