"""The timeline plot: query relevance over the whole video, drawn with matplotlib as inline SVG.

matplotlib is imported inside the functions (``longvid --help`` stays instant) and only through
its object-oriented API (``Figure``), so no pyplot state, GUI backend or global figure list is
touched. Artists carry SVG ids (``gid``) so the page can be checked structurally.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError
from ._format import format_tick_s, format_time_s, tick_step_s
from .plotdata import TimelinePlotData

# Colours shared with the page's CSS (html.py) so plot and thumbnails read as one design.
CURVE = "#2563eb"
MOMENT = "#f59e0b"
SELECTED = "#dc2626"
SCENE_CUT = "#94a3b8"
INK = "#1f2937"
MUTED = "#6b7280"

MAX_FRAME_LABELS = 40  # beyond this the numbers over the markers overlap into noise
LABEL_GAP_SHARE = 0.015  # frame numbers closer than this share of the width are stacked
MIN_SPAN_SHARE = 0.008  # narrowest moment shading, as a share of the width
DENSE_CUTS = 40  # above this many scene cuts the lines get fainter
_LABEL_PLACES = (((0, 6), "center", "bottom"), ((6, 0), "left", "center"), ((-6, 0), "right", "center"), ((0, -7), "center", "top"))


def import_matplotlib() -> Any:
    """matplotlib's ``Figure`` class, or a BackendUnavailableError saying how to install it."""
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the HTML report needs matplotlib, which cannot be imported ({exc})",
            "longvid depends on it: reinstall longvid, or pip install matplotlib",
        ) from None
    del matplotlib
    return Figure


def timeline_svg(data: TimelinePlotData, *, width_in: float = 12.0, height_in: float = 3.6) -> str:
    """The plot as an ``<svg>`` element (no XML prolog) that scales to its container's width."""
    Figure = import_matplotlib()
    from matplotlib import rc_context
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    style = {
        "svg.fonttype": "none",  # real text: small, selectable, drawn in the page's font
        "svg.hashsalt": "longvid-report",  # stable ids: the same answer gives the same file
        "font.size": 10,
        "axes.edgecolor": "#cbd5e1",
        "axes.labelcolor": INK,
        "xtick.color": MUTED,
        "ytick.color": MUTED,
    }
    with rc_context(style):
        fig = Figure(figsize=(width_in, height_in))
        ax = fig.add_axes((0.06, 0.2, 0.92, 0.7))
        _draw(ax, data)

        span = data.duration_s
        step = tick_step_s(span)
        long_video = data.end_s >= 3600
        ax.xaxis.set_major_locator(MultipleLocator(step))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_tick_s(x, step, long_video)))
        ax.set_xlim(data.start_s, data.end_s)

        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return _inline(buffer.getvalue())


def _draw(ax: Any, data: TimelinePlotData) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_ylabel("relevance to the question")
    handles = [
        *_draw_curve(ax, data),
        *_draw_moments(ax, data),
        *_draw_cuts(ax, data),
        *_draw_selected(ax, data),
    ]
    _draw_peak(ax, data)
    _pad_y(ax, data)
    if handles:
        legend = ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=len(handles),
                           frameon=False, fontsize=8.5, handlelength=1.6, borderaxespad=0)
        legend.set_gid("legend")


def _draw_curve(ax: Any, data: TimelinePlotData) -> list[Any]:
    times, scores = data.timestamps_s, data.scores
    if not times.size:
        ax.text(0.5, 0.5, "no relevance curve recorded for this answer", transform=ax.transAxes, ha="center",
                va="center", color=MUTED)
        return []
    width = 1.4 if times.size <= 600 else 0.9  # thousands of samples: a thinner line keeps detail
    (curve,) = ax.plot(times, scores, color=CURVE, linewidth=width, zorder=3, label="query relevance")
    curve.set_gid("relevance-curve")
    finite = np.isfinite(scores)
    floor = float(scores[finite].min()) if finite.any() else 0.0
    fill = ax.fill_between(times, scores, floor, where=finite, color=CURVE, alpha=0.10, linewidth=0, zorder=2)
    fill.set_gid("relevance-fill")
    return [curve]


def _draw_moments(ax: Any, data: TimelinePlotData) -> list[Any]:
    # a 3 s moment in an hour would be a hairline: shade at least MIN_SPAN_SHARE of the width
    min_width_s = MIN_SPAN_SHARE * data.duration_s
    handles = []
    for number, (start_s, end_s) in enumerate(data.moment_spans_s, 1):
        middle_s = (start_s + end_s) / 2
        if end_s - start_s < min_width_s:
            start_s, end_s = middle_s - min_width_s / 2, middle_s + min_width_s / 2
        span = ax.axvspan(start_s, end_s, color=MOMENT, alpha=0.25, linewidth=0, zorder=1)
        span.set_gid(f"moment-{number}")
        ax.text(middle_s, 1.0, f"M{number}", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=9, fontweight="bold", color="#b45309", clip_on=False)
        if number == 1:
            span.set_label("moment found")
            handles.append(span)
    return handles


def _draw_cuts(ax: Any, data: TimelinePlotData) -> list[Any]:
    dense = data.scene_cuts_s.size > DENSE_CUTS  # many shots: fainter solid lines instead of dashes
    style = {"linewidth": 0.6, "alpha": 0.6, "linestyle": "-"} if dense else {"linewidth": 0.9, "linestyle": (0, (3, 3))}
    handles = []
    for number, cut_s in enumerate(data.scene_cuts_s, 1):
        line = ax.axvline(cut_s, color=SCENE_CUT, zorder=2, **style)
        line.set_gid(f"scene-cut-{number}")
        if number == 1:
            line.set_label("scene cut")
            handles.append(line)
    return handles


def _draw_selected(ax: Any, data: TimelinePlotData) -> list[Any]:
    if not data.selected_s.size:
        return []
    marks = ax.scatter(data.selected_s, data.selected_y, s=34, color=SELECTED, edgecolors="white", linewidths=1.0,
                       zorder=5, label="selected frame")
    marks.set_gid("selected-frames")
    if data.selected_s.size <= MAX_FRAME_LABELS:
        # numbers of frames close in time go round their marker (above, right, left, below)
        close_s = LABEL_GAP_SHARE * data.duration_s
        place, last_x = 0, -np.inf
        for number in np.argsort(data.selected_s, kind="stable"):
            x, y = data.selected_s[number], data.selected_y[number]
            place = (place + 1) % len(_LABEL_PLACES) if x - last_x < close_s else 0
            last_x = x
            offset, ha, va = _LABEL_PLACES[place]
            ax.annotate(str(number + 1), (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                        fontsize=7.5, color=SELECTED, zorder=6)
    return [marks]


def _draw_peak(ax: Any, data: TimelinePlotData) -> None:
    if data.peak_s is None:
        return
    # label high in the plot with an arrow down to the point: clear of the frame numbers
    peak = ax.annotate(
        f"highest peak {format_time_s(data.peak_s)}", (data.peak_s, data.peak_score),
        xytext=(data.peak_s, 0.97), textcoords=ax.get_xaxis_transform(), ha=_peak_align(data), va="top",
        fontsize=8.5, color=INK, zorder=6,
        arrowprops={"arrowstyle": "-|>", "color": INK, "linewidth": 0.9, "shrinkA": 2, "shrinkB": 16},
    )
    peak.set_gid("peak")


def _pad_y(ax: Any, data: TimelinePlotData) -> None:
    """Room above the highest point for the peak and frame labels."""
    values = np.concatenate([data.scores, data.selected_y])
    values = values[np.isfinite(values)]
    if not values.size:
        return
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.06 or max(abs(high) * 0.05, 0.05)
    ax.set_ylim(low - pad, high + 6 * pad)  # the top band holds the peak label


def _peak_align(data: TimelinePlotData) -> str:
    """Keep the peak label inside the plot when the peak is near either end."""
    where = (data.peak_s - data.start_s) / data.duration_s
    return "left" if where < 0.08 else "right" if where > 0.92 else "center"


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_SIZE = re.compile(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def _inline(svg: str) -> str:
    """Drop the XML prolog, DOCTYPE and RDF metadata, and the fixed size (the viewBox keeps the
    aspect ratio)."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg, count=1)
    svg = _SIZE.sub(r"\1", svg, count=1)
    svg = _SIZE.sub(r"\1", svg, count=1)
    return svg.replace("<svg ", '<svg role="img" aria-label="query relevance over the video" ', 1)
