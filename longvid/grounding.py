"""The grounding answerer: answers "when/where" questions with the best moments, no LLM.

The same moments are attached to every LLM answer as evidence; this answerer only words them.
A best moment that does not clearly match the question (``Match.verdict == "weak"``) is worded
as a weak match, not as the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from .timecode import format_time_s
from .types import Match, Moment


def describe_moment(moment: Moment) -> str:
    span = f"{format_time_s(moment.start_s, 1)}–{format_time_s(moment.end_s, 1)}"
    scene = f", scene {moment.scene_index}" if moment.scene_index is not None and moment.scene_index >= 0 else ""
    return f"{span} (score {moment.score:.2f}{scene})"


def weak_match_note(match: Match) -> str:
    """Why a match is called weak, in one clause."""
    clear = f"a clear match: {match.threshold:g} or more"
    if match.z < 1:
        return f"its best frame matches the question no better than unrelated captions do ({match.z:.1f} spreads; {clear})"
    return f"its best frame scores only {match.z:.1f} spreads above unrelated captions ({clear})"


def grounding_text(moments: Sequence[Moment], also: int = 2, match: Match | None = None) -> str:
    """One or two sentences naming the best moment and up to ``also`` runners-up."""
    if not moments:
        return "No moment of the video matches the question."
    best, rest = moments[0], list(moments[1 : 1 + also])
    if match is not None and match.verdict == "weak":
        return (
            f"No clear match. The closest moment is {describe_moment(best)}, peak at {format_time_s(best.peak_s, 1)}, "
            f"but {weak_match_note(match)}: the video may not show this."
        )
    text = f"Best match: {describe_moment(best)}, peak at {format_time_s(best.peak_s, 1)}."
    if rest:
        text += " Also: " + "; ".join(describe_moment(m) for m in rest) + "."
    return text
