"""Values that travel between stages. Small frozen dataclasses; times are always seconds (``_s``)
on the video's own presentation timeline (start offsets included), frame positions are indices.

This module imports only NumPy so that every stage (and the CLI) can use it cheaply.
Stage-private types live in their stage package.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

FrameSource = Literal["uniform", "keyframe", "refined", "at"]


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses to dicts, NumPy scalars/arrays to Python numbers/lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        return _plain(self)


# --- decode -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamInfo(_ToDict):
    """One stream of a container, as probed (no decoding)."""

    index: int
    kind: str  # "video" | "audio" | "subtitle" | "data" | "attachment"
    codec: str | None
    language: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class VideoInfo(_ToDict):
    """What ``longvid info`` shows. ``width``/``height`` are the display size (rotation applied)."""

    path: str
    container: str
    stream_index: int  # the video stream that is decoded
    codec: str
    width: int
    height: int
    rotation: int  # degrees the coded picture is turned to display it (0, 90, 180, 270)
    fps: float  # average frame rate
    start_s: float  # presentation time of the first frame
    duration_s: float
    frame_count: int  # exact when the container says so, else estimated (see frame_count_exact)
    frame_count_exact: bool
    is_vfr: bool
    keyframe_interval_s: float | None  # median spacing of keyframes, None when unknown
    pix_fmt: str | None = None
    bit_rate: int | None = None
    streams: tuple[StreamInfo, ...] = ()

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded picture in display orientation with its exact presentation time."""

    pts_s: float
    index: int  # presentation-order index in the stream, 0-based
    image: np.ndarray  # (H, W, 3) uint8 RGB
    is_keyframe: bool = False
    source: FrameSource = "uniform"

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


# --- scenes -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scene(_ToDict):
    """A shot: frames ``start_frame`` (inclusive) to ``end_frame`` (exclusive)."""

    index: int
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


# --- search -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment(_ToDict):
    """A time span that supports an answer, around the best-scoring frame ``peak_s``."""

    start_s: float
    end_s: float
    score: float
    peak_s: float
    scene_index: int | None = None
    video: str | None = None  # set by archive-wide search: the video's path

    def overlaps(self, start_s: float, end_s: float) -> bool:
        return self.start_s <= end_s and start_s <= self.end_s


@dataclass(frozen=True, slots=True)
class Match(_ToDict):
    """How clearly the best moment matches the question (``longvid.search.scoring.judge_match``)."""

    verdict: str  # "clear" | "weak" (nothing stands out: the video may not show it)
    z: float  # the best moment's best frame: its score above unrelated captions, in robust spreads
    threshold: float  # search.match_z: a z at or above it is a clear match
    pts_s: float  # that frame's time


@dataclass(frozen=True, slots=True)
class Selection(_ToDict):
    """Frames chosen for the video LLM, sorted by time, with the relevance each was chosen for."""

    timestamps_s: tuple[float, ...]
    scores: tuple[float, ...]
    strategy: str


# --- answer -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Cost(_ToDict):
    """Accounting of one request; ``seconds`` maps stage name to wall seconds."""

    frames_decoded: int = 0
    frames_embedded: int = 0
    frames_from_store: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvidenceFrame(_ToDict):
    pts_s: float
    score: float
    tokens: int  # visual tokens this frame kept (0 for the grounding answerer)


@dataclass(slots=True, eq=False)
class Timeline(_ToDict):
    """Query relevance over the whole video: what was scored, what the report plots."""

    start_s: float
    duration_s: float
    timestamps_s: np.ndarray  # (n,) sorted
    scores: np.ndarray  # (n,) relevance of each scored frame to the question
    scenes: list[Scene] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Answer(_ToDict):
    """The result of ``longvid ask``; ``to_dict()`` is the documented ``--json`` schema.

    ``frames`` holds the selected frames' pictures (for the HTML report); it is not part of
    ``to_dict()``. Asked with multiple-choice ``options`` (LLM answerer), ``option_scores[i]`` is
    the mean log-probability per token of option ``i`` as the answer and ``choice`` the letter
    (A for the first option, B, ...) of the highest.
    """

    video: str
    question: str
    text: str
    answerer: str
    moments: list[Moment]
    evidence: list[EvidenceFrame]
    cost: Cost
    config: dict[str, Any] = field(default_factory=dict)
    timeline: Timeline | None = None
    token_account: dict[str, Any] | None = None  # the token stage's steps, per frame (LLM answers)
    options: list[str] | None = None
    option_scores: list[float] | None = None
    choice: str | None = None
    frames: list[Frame] = field(default_factory=list)
    match: Match | None = None  # how clearly the best moment matches (None: no moment)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "frames"}

    def to_html(self) -> str:
        """A self-contained HTML report (see ``longvid.report``)."""
        from .report import render_html

        return render_html(self)
