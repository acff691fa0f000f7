"""The numbers the timeline plot is drawn from, computed from an ``Answer`` with NumPy only.

Tests (and people debugging a report) assert on these instead of on pixels: the relevance curve,
the scene cuts, the moment spans, where each selected frame sits on the curve, and the highest
peak.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Answer


@dataclass(frozen=True, eq=False)
class TimelinePlotData:
    """What the timeline plot shows. Times are seconds on the video's timeline.

    ``peak_index`` indexes ``timestamps_s``/``scores`` (None when nothing was scored);
    ``selected_y`` is the height of each selected frame's marker: the curve's value at its time
    (the evidence score when the answer has no curve).
    """

    start_s: float
    end_s: float
    timestamps_s: np.ndarray  # (n,) float64, sorted
    scores: np.ndarray  # (n,) float64
    scene_cuts_s: np.ndarray  # (c,) start times of every scene but the first, inside the range
    moment_spans_s: np.ndarray  # (m, 2) start, end of each moment, answer order (best first)
    moment_scores: np.ndarray  # (m,)
    selected_s: np.ndarray  # (k,) evidence times, answer order
    selected_y: np.ndarray  # (k,)
    selected_tokens: np.ndarray  # (k,) int64
    peak_index: int | None
    peak_s: float | None
    peak_score: float | None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def timeline_plot_data(answer: Answer) -> TimelinePlotData:
    """The arrays behind the report's timeline plot, and the index/time of the highest peak."""
    times, scores, scenes = _curve(answer)
    moments = answer.moments
    spans = np.array([[m.start_s, m.end_s] for m in moments], dtype=np.float64).reshape(-1, 2)
    moment_scores = np.array([m.score for m in moments], dtype=np.float64)
    selected = np.array([e.pts_s for e in answer.evidence], dtype=np.float64)
    evidence_scores = np.array([e.score for e in answer.evidence], dtype=np.float64)
    tokens = np.array([e.tokens for e in answer.evidence], dtype=np.int64)

    start_s, end_s = _range(answer, times, spans, selected)
    cuts = np.array(sorted({float(s.start_s) for s in scenes if start_s < s.start_s < end_s}), dtype=np.float64)

    finite = np.isfinite(scores)
    if finite.any():
        peak_index = int(np.argmax(np.where(finite, scores, -np.inf)))  # first of equal maxima
        peak_s, peak_score = float(times[peak_index]), float(scores[peak_index])
        # markers sit on the curve so they read as "this point of the curve was picked"
        selected_y = np.interp(selected, times[finite], scores[finite]) if len(selected) else selected.copy()
    else:
        peak_index = peak_s = peak_score = None
        selected_y = evidence_scores

    return TimelinePlotData(
        start_s=start_s,
        end_s=end_s,
        timestamps_s=times,
        scores=scores,
        scene_cuts_s=cuts,
        moment_spans_s=spans,
        moment_scores=moment_scores,
        selected_s=selected,
        selected_y=np.asarray(selected_y, dtype=np.float64),
        selected_tokens=tokens,
        peak_index=peak_index,
        peak_s=peak_s,
        peak_score=peak_score,
    )


def _curve(answer: Answer) -> tuple[np.ndarray, np.ndarray, list]:
    timeline = answer.timeline
    if timeline is None:
        return np.zeros(0), np.zeros(0), []
    times = np.asarray(timeline.timestamps_s, dtype=np.float64).reshape(-1)
    scores = np.asarray(timeline.scores, dtype=np.float64).reshape(-1)
    if times.shape != scores.shape:
        raise InvalidArgumentError(
            f"answer.timeline has {times.size} timestamps but {scores.size} scores",
            "give one relevance score per scored frame",
        )
    if times.size and not np.isfinite(times).all():
        raise InvalidArgumentError("answer.timeline.timestamps_s holds a non-finite time", "give times in seconds")
    if times.size > 1 and (np.diff(times) < 0).any():
        order = np.argsort(times, kind="stable")  # documented as sorted; tolerate an unsorted caller
        times, scores = times[order], scores[order]
    return times, scores, list(timeline.scenes)


def _range(answer: Answer, times: np.ndarray, spans: np.ndarray, selected: np.ndarray) -> tuple[float, float]:
    timeline = answer.timeline
    if timeline is not None and np.isfinite(timeline.duration_s) and timeline.duration_s > 0:
        start_s = float(timeline.start_s)
        end_s = start_s + float(timeline.duration_s)
    else:
        known = np.concatenate([times, spans.reshape(-1), selected])
        known = known[np.isfinite(known)]
        start_s = float(min(0.0, known.min())) if known.size else 0.0
        end_s = float(known.max()) if known.size else 1.0
    # the range must hold every point drawn, whatever the declared duration says
    for values in (times, spans.reshape(-1), selected):
        values = values[np.isfinite(values)]
        if values.size:
            start_s, end_s = min(start_s, float(values.min())), max(end_s, float(values.max()))
    if end_s <= start_s:
        end_s = start_s + 1.0
    return start_s, end_s
