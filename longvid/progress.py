"""A progress bar with ETA on stderr for long-running work (indexing, batch jobs).

    with progress_bar("indexing talk.mp4", total=duration_s, unit="s") as bar:
        for frame in frames:
            ...
            bar.update(completed=frame.pts_s - start_s, frames=count)

Shown only when stderr is a terminal (or ``enabled=True``); otherwise every call is a cheap no-op,
so library code can always report progress and ``--json`` output stays clean.
"""

from __future__ import annotations

import sys
import time
from typing import Any


class _Off:
    """The disabled bar: same interface, does nothing."""

    def __enter__(self) -> "_Off":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def update(self, completed: float | None = None, advance: float | None = None, **fields: Any) -> None:
        pass

    def log(self, message: str) -> None:
        pass


class ProgressBar(_Off):
    """One rich task: bar, percentage, done/total in ``unit``, rate, elapsed and time remaining."""

    def __init__(self, description: str, total: float | None, *, unit: str = "", console: Any = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.unit = unit
        self._start = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
            refresh_per_second=4,
        )
        self._task = self._progress.add_task(description, total=total, detail="")

    def __enter__(self) -> "ProgressBar":
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def update(self, completed: float | None = None, advance: float | None = None, **fields: Any) -> None:
        """Move the bar; extra ``fields`` (e.g. ``frames=120``) are shown as 'frames 120 (9.1/s)'."""
        detail = []
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        for name, value in fields.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                detail.append(f"{name} {value:g} ({value / elapsed:.1f}/s)")
            else:
                detail.append(f"{name} {value}")
        kwargs: dict[str, Any] = {"detail": "  ".join(detail)}
        if completed is not None:
            kwargs["completed"] = completed
        if advance is not None:
            kwargs["advance"] = advance
        self._progress.update(self._task, **kwargs)

    def log(self, message: str) -> None:
        """A line above the bar (the bar keeps its place)."""
        self._progress.console.print(message, highlight=False)


def progress_bar(description: str, total: float | None, *, unit: str = "", enabled: bool | None = None) -> _Off:
    """A ``ProgressBar`` when ``enabled`` (default: stderr is a terminal), else a silent stand-in."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _Off()
    return ProgressBar(description, total, unit=unit)


def transformers_bars_follow_the_terminal() -> None:
    """transformers draws its own "Loading weights" bar on stderr; keep it to a terminal, as every
    longvid bar is (call just before ``from_pretrained``; transformers is imported by then)."""
    if not sys.stderr.isatty():
        from transformers.utils import logging

        logging.disable_progress_bar()
