"""A self-contained HTML report of why longvid chose its frames.

    from longvid.report import render_html, write_html, timeline_plot_data
    page = render_html(answer)                   # str: question, answer, timeline plot, thumbnails, cost
    write_html(answer, "report.html")            # same, written atomically
    data = timeline_plot_data(answer)            # the arrays the plot is drawn from
    data.peak_s, data.scores[data.peak_index]    # where relevance is highest

The page inlines everything (CSS, the matplotlib SVG plot, JPEG thumbnails as ``data:`` URIs, the
answer's JSON) and runs no script. ``Answer.to_html()`` calls :func:`render_html`. matplotlib (a
dependency of longvid) is imported only when a report is drawn or its path checked.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..errors import InvalidArgumentError
from ..types import Answer
from ._format import format_time_s
from .html import render_html
from .plot import timeline_svg
from .plotdata import TimelinePlotData, timeline_plot_data
from .thumbs import thumbnail_data_uri


def check_report_path(path: str | Path) -> Path:
    """Refuse, before any work, a report path that cannot be written (a folder, a missing folder)
    and a report that cannot be drawn (matplotlib missing from a broken install)."""
    from .plot import import_matplotlib

    import_matplotlib()
    path = Path(path)
    if path.is_dir():
        raise InvalidArgumentError(f"{path}: is a folder", "give a file name for the report, e.g. report.html")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidArgumentError(f"{path}: folder {folder} does not exist", "create it first")
    return path


def write_html(answer: Answer, path: str | Path) -> Path:
    """Render the report and write it to ``path`` (UTF-8). An existing file is replaced only once
    the new page is complete, so a failure leaves it as it was."""
    path = check_report_path(path)
    folder = path.parent if str(path.parent) else Path(".")
    page = render_html(answer)
    # a sibling temp file (normal permissions, same file system) renamed over the target
    temp = folder / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(temp, "x", encoding="utf-8") as out:
            out.write(page)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


__all__ = [
    "TimelinePlotData",
    "check_report_path",
    "format_time_s",
    "render_html",
    "thumbnail_data_uri",
    "timeline_plot_data",
    "timeline_svg",
    "write_html",
]
