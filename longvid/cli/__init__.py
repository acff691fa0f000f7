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
    from ..errors import LongvidError

    debug = os.environ.get("LONGVID_DEBUG", "") not in ("", "0")
    try:
        app(args=argv, standalone_mode=False)
    except LongvidError as exc:
        if debug:
            raise
        sys.stderr.write(f"error: {exc.one_line()}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        sys.stderr.write("error: interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.stderr.write("error: aborted\n")
            sys.exit(130)
        if debug:
            raise
        sys.stderr.write(
            f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())} "
            "(run with LONGVID_DEBUG=1 for the traceback and please report it)\n"
        )
        sys.exit(1)
