"""Ground truth of a synthetic video, and its JSON form (``<video>.json`` beside the video).

Timing convention: frame ``i`` has presentation time ``i / fps`` exactly and stays on screen
until ``(i + 1) / fps``. An event covering frames ``start_frame`` to ``end_frame - 1`` has
``start_s = start_frame / fps`` (its first frame's time) and ``end_s = end_frame / fps`` (the
time its last frame leaves the screen, exclusive), so the object is on screen exactly for
``start_s <= t < end_s``. A scene cut's ``time_s`` is the first frame of the new scene.

JSON schema (``schema: "longvid.synth/1"``)::

    video:  {file, seed, kind, width, height, fps ("10" or "30000/1001"), fps_float,
             frame_count, duration_s, codec, encoder (library versions and x264 settings)}
    timing: the convention above, in words
    vocabulary: {colours: {name: [r, g, b]}, shapes: [...], actions: [...]}
    scenes: [{index, start_frame, end_frame, start_s, end_s, background, transition_in,
              fade_in_frames, fade_out_frames}]
    cuts:   [{frame, time_s, kind ("cut" | "fade")}]          # one per scene after the first
    events: [{id, colour, shape, action, role ("event" | "needle" | "distractor"), scene_index,
              start_frame, end_frame, start_s, end_s,
              visible: [{frame, t_s, box: [x0, y0, x1, y1]}]}]  # every frame, exclusive box ends
    qa:     [{video_id, question, options {A..E}, answer (letter), answer_text, event_id,
              needle, gold_span_s [start_s, end_s], keyframe_timestamps_s, frame_indexes_video}]

``qa`` items follow the LV-Haystack layout (question, options, answer letter, gold keyframes as
``frame_indexes_video``) plus the gold span in seconds. Questions are asked only when they are
unambiguous: "when does the red star jump?" when one red star jumps in the video, "what does
the red star do?" when one red star appears at all.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from .plan import VideoSpec
from .vocab import ACTIONS, COLOURS, SHAPES, Combo, action_verb, what_question, when_question

SCHEMA = "longvid.synth/1"
TIMING = (
    "frame i is shown from i/fps until (i+1)/fps; an event's start_s is its first frame's time and "
    "end_s the time of the first frame after it (exclusive); a cut's time_s is the new scene's first frame"
)
_LETTERS = "ABCDE"


@dataclass(frozen=True)
class VisibleFrame:
    frame: int
    t_s: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends)


@dataclass(frozen=True)
class Event:
    id: str
    colour: str
    shape: str
    action: str
    role: str
    scene_index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    visible: tuple[VisibleFrame, ...]

    @property
    def combo(self) -> Combo:
        return Combo(self.colour, self.shape)

    def contains(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True)
class QAItem:
    video_id: str
    question: str
    options: dict[str, str]
    answer: str
    answer_text: str
    event_id: str
    needle: bool
    gold_span_s: tuple[float, float]
    keyframe_timestamps_s: tuple[float, ...]
    frame_indexes_video: tuple[int, ...]


@dataclass
class GroundTruth:
    video: dict[str, Any]
    scenes: list[dict[str, Any]]
    cuts: list[dict[str, Any]]
    events: list[Event]
    qa: list[QAItem]
    vocabulary: dict[str, Any] = field(
        default_factory=lambda: {"colours": {k: list(v) for k, v in COLOURS.items()}, "shapes": list(SHAPES), "actions": list(ACTIONS)}
    )

    # --- queries ------------------------------------------------------------------------------

    @property
    def fps(self) -> float:
        return float(self.video["fps_float"])

    @property
    def needles(self) -> list[Event]:
        return [e for e in self.events if e.role == "needle"]

    def events_of(self, combo: Combo) -> list[Event]:
        return [e for e in self.events if e.combo == combo]

    def visible_at(self, frame_index: int) -> list[tuple[Event, tuple[int, int, int, int]]]:
        """The events on screen at a frame, with their boxes there."""
        found = []
        for event in self.events:
            if event.start_frame <= frame_index < event.end_frame:
                found.append((event, event.visible[frame_index - event.start_frame].box))
        return found

    def frame_at(self, t_s: float) -> int:
        """The index of the frame on screen at time ``t_s``."""
        return int(np.floor(t_s * self.fps + 1e-9))

    # --- JSON ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "video": self.video,
            "timing": TIMING,
            "vocabulary": self.vocabulary,
            "scenes": self.scenes,
            "cuts": self.cuts,
            "events": [dataclasses.asdict(e) for e in self.events],
            "qa": [dataclasses.asdict(q) for q in self.qa],
        }

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), separators=(",", ":")) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "GroundTruth":
        if data.get("schema") != SCHEMA:
            raise InvalidArgumentError(f"ground truth schema {data.get('schema')!r} is not {SCHEMA!r}")
        events = [
            Event(**{**e, "visible": tuple(VisibleFrame(v["frame"], v["t_s"], tuple(v["box"])) for v in e["visible"])})
            for e in data["events"]
        ]
        qa = [
            QAItem(**{**q, "gold_span_s": tuple(q["gold_span_s"]),
                      "keyframe_timestamps_s": tuple(q["keyframe_timestamps_s"]),
                      "frame_indexes_video": tuple(q["frame_indexes_video"])})
            for q in data["qa"]
        ]
        return cls(data["video"], data["scenes"], data["cuts"], events, qa, data["vocabulary"])

    @classmethod
    def load(cls, path: str | Path) -> "GroundTruth":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(f"{path}: cannot read ground truth ({exc})") from None
        return cls.from_dict(data)


def _span_text(start_s: float, end_s: float) -> str:
    return f"from {start_s:.1f} s to {end_s:.1f} s"


def build_ground_truth(spec: VideoSpec, video_file: str) -> GroundTruth:
    """The ground truth of ``spec`` rendered to ``video_file`` (its name is recorded, not read)."""
    t = spec.time_s
    video = {
        "file": video_file, "seed": spec.seed, "kind": spec.kind, "width": spec.width,
        "height": spec.height, "fps": spec.fps, "fps_float": float(spec.rate),
        "frame_count": spec.frame_count, "duration_s": spec.duration_s, "codec": "h264",
    }
    scenes = [
        {"index": s.index, "start_frame": s.start_frame, "end_frame": s.end_frame, "start_s": t(s.start_frame),
         "end_s": t(s.end_frame), "background": s.background, "transition_in": s.transition_in,
         "fade_in_frames": s.fade_in_frames, "fade_out_frames": s.fade_out_frames}
        for s in spec.scenes
    ]
    cuts = [{"frame": s.start_frame, "time_s": t(s.start_frame), "kind": s.transition_in} for s in spec.scenes[1:]]
    events = []
    for obj in spec.objects:
        boxes = obj.boxes()
        visible = tuple(
            VisibleFrame(obj.start_frame + i, t(obj.start_frame + i), tuple(int(v) for v in boxes[i]))
            for i in range(len(boxes))
        )
        events.append(Event(obj.id, obj.colour, obj.shape, obj.action, obj.role, obj.scene_index,
                            obj.start_frame, obj.end_frame, t(obj.start_frame), t(obj.end_frame), visible))
    qa = _questions(spec, video_file, events)
    return GroundTruth(video, scenes, cuts, events, qa)


def gold_keyframes(event: Event) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Up to three gold keyframes: first, middle and last frame of the event."""
    n = len(event.visible)
    picks = sorted({0, n // 2, n - 1})
    return tuple(event.visible[i].t_s for i in picks), tuple(event.visible[i].frame for i in picks)


def _questions(spec: VideoSpec, video_file: str, events: list[Event]) -> list[QAItem]:
    rng = np.random.default_rng([spec.seed, 7])  # option order only; independent of the plan's draws
    video_id = Path(video_file).stem
    per_combo = Counter(e.combo for e in events)
    per_combo_action = Counter((e.combo, e.action) for e in events)
    items: list[QAItem] = []
    for event in events:
        keys_s, keys_i = gold_keyframes(event)
        gold = (event.start_s, event.end_s)
        common = dict(video_id=video_id, event_id=event.id, needle=event.role == "needle",
                      gold_span_s=gold, keyframe_timestamps_s=keys_s, frame_indexes_video=keys_i)
        if per_combo_action[(event.combo, event.action)] == 1:
            others = [e for e in events if e is not event and (e.start_s, e.end_s) != gold]
            picked = [others[i] for i in rng.permutation(len(others))[:4]] if others else []
            spans = [gold] + [(e.start_s, e.end_s) for e in picked]
            while len(spans) < 5:  # short videos: fill with spans where nothing of this kind happens
                start = float(rng.uniform(0, max(spec.duration_s - 3.0, 0.0)))
                spans.append((round(start, 1), round(min(start + 3.0, spec.duration_s), 1)))
            order = rng.permutation(5)
            options = {_LETTERS[k]: _span_text(*spans[i]) for k, i in enumerate(order)}
            answer = _LETTERS[int(np.flatnonzero(order == 0)[0])]
            items.append(QAItem(question=when_question(event.combo, event.action), options=options,
                                answer=answer, answer_text=_span_text(*gold), **common))
        if per_combo[event.combo] == 1:
            options = {_LETTERS[k]: f"it {action_verb(a)}" for k, a in enumerate(ACTIONS)}
            answer = _LETTERS[ACTIONS.index(event.action)]
            items.append(QAItem(question=what_question(event.combo), options=options, answer=answer,
                                answer_text=options[answer], **common))
    return items
