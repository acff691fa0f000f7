"""Times as people read them: ``H:MM:SS.mmm``. One formatter for the CLI, the report, the grounding
answers and the LLM prompts (each picks its precision)."""

from __future__ import annotations

import math


def format_time_s(seconds: float | None, digits: int = 3, pad_hours: bool = False) -> str:
    """``seconds`` as H:MM:SS with ``digits`` decimals (``-`` for None or a non-finite value).

    ``pad_hours`` gives two-digit hours (``00:01:23.5``), the form the LLM prompts use.
    """
    if seconds is None or not math.isfinite(seconds):
        return "-"
    sign = "-" if seconds < 0 else ""
    scale = 10**digits
    h, rem = divmod(round(abs(seconds) * scale), 3600 * scale)
    m, rem = divmod(rem, 60 * scale)
    s, frac = divmod(rem, scale)
    hours = f"{h:02d}" if pad_hours else str(h)
    return f"{sign}{hours}:{m:02d}:{s:02d}" + (f".{frac:0{digits}d}" if digits else "")
