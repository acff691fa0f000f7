"""Small text helpers for the report: times people can read, numbers with their unit."""

from __future__ import annotations

import math

from ..timecode import format_time_s  # noqa: F401  (re-exported for the report modules)


def format_tick_s(seconds: float, step_s: float, long_video: bool) -> str:
    """Axis label: M:SS under an hour, H:MM:SS beyond; tenths only when ticks are that close."""
    decimals = 0 if step_s >= 1 else (1 if step_s >= 0.1 else 2)
    sign = "-" if seconds < 0 else ""
    scale = 10**decimals
    total = round(abs(seconds) * scale)
    whole, frac = divmod(total, scale)
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    tail = f".{frac:0{decimals}d}" if decimals else ""
    if long_video:
        return f"{sign}{h}:{m:02d}:{s:02d}{tail}"
    return f"{sign}{h * 60 + m}:{s:02d}{tail}"


_TICK_STEPS_S = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200)


def tick_step_s(span_s: float, max_ticks: int = 10) -> float:
    """The smallest clock-friendly step that puts at most ``max_ticks`` ticks on ``span_s``."""
    for step in _TICK_STEPS_S:
        if span_s / step <= max_ticks:
            return float(step)
    return float(math.ceil(span_s / max_ticks / 86400) * 86400)


def attr_float(value: float) -> str:
    """A float for a data- attribute: shortest text that reads back as the same float."""
    return repr(float(value))
