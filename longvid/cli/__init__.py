"""Command-line interface: a thin Typer layer over the library.

Every library error is a ``LongvidError`` and becomes one line on stderr and a non-zero exit code;
set ``LONGVID_DEBUG=1`` to see the traceback instead. Command modules import heavy libraries only
inside their functions so that ``longvid --help`` stays instant.
"""

from __future__ import annotations

import os
import sys

from ._app import app

# Importing a command module registers its commands on `app`.
from . import info  # noqa: E402,F401
from . import scenes  # noqa: E402,F401
from . import index  # noqa: E402,F401
from . import search  # noqa: E402,F401
from . import ask  # noqa: E402,F401
from . import evaluate  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Typer reports usage errors itself (exit 2); every ``LongvidError`` becomes
    ``error: <one line>`` with its exit code; anything unexpected is one line too, unless
    ``LONGVID_DEBUG=1`` asks for the traceback."""
    from ..errors import LongvidError

    debug = os.environ.get("LONGVID_DEBUG", "") not in ("", "0")
    try:
        app(args=argv, prog_name="longvid")  # standalone: exits through SystemExit
    except LongvidError as exc:
        if debug:
            raise
        sys.stderr.write(f"error: {exc.one_line()}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(run with LONGVID_DEBUG=1 for the traceback and please report it)\n"
        )
        sys.exit(1)
