"""The grounding answerer: answers "when/where" questions with the best moments, no LLM.

The same moments are attached to every LLM answer as evidence; this answerer only words them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .types import Moment


def format_timestamp(seconds: float) -> str:
    """H:MM:SS.s — short enough for sentences, exact to a tenth of a second."""
    tenths = round(max(0.0, seconds) * 10)
    h, rem = divmod(tenths, 36_000)
    m, rem = divmod(rem, 600)
    s, t = divmod(rem, 10)
    return f"{h}:{m:02d}:{s:02d}.{t}"


def describe_moment(moment: Moment) -> str:
    span = f"{format_timestamp(moment.start_s)}–{format_timestamp(moment.end_s)}"
    scene = f", scene {moment.scene_index}" if moment.scene_index is not None and moment.scene_index >= 0 else ""
    return f"{span} (score {moment.score:.2f}{scene})"


def grounding_text(moments: Sequence[Moment], also: int = 2) -> str:
    """One or two sentences naming the best moment and up to ``also`` runners-up."""
    if not moments:
        return "No moment of the video matches the question."
    best, rest = moments[0], list(moments[1 : 1 + also])
    text = f"Best match: {describe_moment(best)}, peak at {format_timestamp(best.peak_s)}."
    if rest:
        text += " Also: " + "; ".join(describe_moment(m) for m in rest) + "."
    return text
