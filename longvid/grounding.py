"""The grounding answerer: answers "when/where" questions with the best moments, no LLM.

The same moments are attached to every LLM answer as evidence; this answerer only words them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .timecode import format_time_s
from .types import Moment


def describe_moment(moment: Moment) -> str:
    span = f"{format_time_s(moment.start_s, 1)}–{format_time_s(moment.end_s, 1)}"
    scene = f", scene {moment.scene_index}" if moment.scene_index is not None and moment.scene_index >= 0 else ""
    return f"{span} (score {moment.score:.2f}{scene})"


def grounding_text(moments: Sequence[Moment], also: int = 2) -> str:
    """One or two sentences naming the best moment and up to ``also`` runners-up."""
    if not moments:
        return "No moment of the video matches the question."
    best, rest = moments[0], list(moments[1 : 1 + also])
    text = f"Best match: {describe_moment(best)}, peak at {format_time_s(best.peak_s, 1)}."
    if rest:
        text += " Also: " + "; ".join(describe_moment(m) for m in rest) + "."
    return text
