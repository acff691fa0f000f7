"""Timeline planning: which scenes and which objects appear in a synthetic video, and when.

A ``VideoSpec`` is the complete, deterministic description of a video (everything else is
rendered from it). Planners turn a seed into a spec:

- ``plan_video``: scenes plus objects of any colour + shape doing any action (repeats allowed);
- ``plan_needle_video``: a long "haystack" with one or more short needle events whose colour + shape
  appears nowhere else in the video, among distractor objects of other combinations (half of
  them share the needle's colour or its shape, so that only the combination identifies it).

Objects never overlap each other, never leave the frame, and never appear during a fade, so an
object is fully visible on every frame of its event. Times are frame indices here; the ground
truth converts them to seconds (frame ``i`` is shown at ``i / fps``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import InvalidArgumentError
from .backgrounds import BACKGROUND_KINDS
from .vocab import ACTIONS, ALL_COMBOS, Combo

_MAX_PLACEMENT_TRIES = 30


def as_fps(fps: float | int | str | Fraction) -> Fraction:
    """A frame rate as an exact fraction (``"30000/1001"`` for NTSC rates)."""
    try:
        rate = Fraction(str(fps)) if not isinstance(fps, Fraction) else fps
    except (ValueError, ZeroDivisionError):
        raise InvalidArgumentError(f"fps = {fps!r} is invalid", "give a number such as 10 or '30000/1001'") from None
    if not 1 <= rate <= 240:
        raise InvalidArgumentError(f"fps = {fps!r} is invalid", "expected 1 to 240 frames per second")
    return rate


@dataclass(frozen=True)
class SceneSpec:
    """Frames ``start_frame`` (inclusive) to ``end_frame`` (exclusive) over one background.

    ``transition_in`` is how the scene begins: ``"start"`` (first scene), ``"cut"`` or ``"fade"``
    (the previous scene fades to black over its last ``fade_out_frames``, this one fades in over
    its first ``fade_in_frames``).
    """

    index: int
    start_frame: int
    end_frame: int
    background: str
    texture_seed: int
    transition_in: str = "start"
    fade_in_frames: int = 0
    fade_out_frames: int = 0

    @property
    def steady(self) -> tuple[int, int]:
        """The frames with no fade: where objects may appear."""
        return self.start_frame + self.fade_in_frames, self.end_frame - self.fade_out_frames


@dataclass(frozen=True)
class ObjectSpec:
    """One object's whole life on screen: an event.

    ``size`` is the starting box side in pixels and (``x``, ``y``) the starting box centre.
    ``amount`` is the distance travelled (``move_left``/``move_right``), the hop height
    (``jump``, with ``hops`` hops) or the final box side (``grow``); unused for ``appear``.
    """

    id: str
    colour: str
    shape: str
    action: str
    start_frame: int
    end_frame: int  # exclusive
    size: int
    x: float
    y: float
    amount: float = 0.0
    hops: int = 1
    role: str = "event"  # "event" | "needle" | "distractor"
    scene_index: int = 0

    @property
    def combo(self) -> Combo:
        return Combo(self.colour, self.shape)

    def boxes(self) -> np.ndarray:
        """(frames, 4) int boxes ``x0, y0, x1, y1`` (exclusive ends) for each frame of the event."""
        n = self.end_frame - self.start_frame
        t = np.arange(n, dtype=np.float64) / max(n - 1, 1)
        size = np.full(n, float(self.size))
        cx = np.full(n, self.x)
        cy = np.full(n, self.y)
        if self.action == "move_left":
            cx = self.x - self.amount * t
        elif self.action == "move_right":
            cx = self.x + self.amount * t
        elif self.action == "jump":
            cy = self.y - self.amount * np.abs(np.sin(np.pi * self.hops * t))
        elif self.action == "grow":
            size = self.size + (self.amount - self.size) * t
        side = np.round(size).astype(np.int64)
        x0 = np.round(cx - side / 2).astype(np.int64)
        y0 = np.round(cy - side / 2).astype(np.int64)
        return np.stack([x0, y0, x0 + side, y0 + side], axis=1)


@dataclass(frozen=True)
class VideoSpec:
    """Everything needed to render a video; ``fps`` is an exact fraction as text ("10", "30000/1001")."""

    seed: int
    width: int
    height: int
    fps: str
    frame_count: int
    scenes: tuple[SceneSpec, ...]
    objects: tuple[ObjectSpec, ...]
    kind: str = "random"  # "random" | "needle"

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps)

    def time_s(self, frame_index: int) -> float:
        """Presentation time of a frame: exactly ``frame_index / fps``."""
        return float(Fraction(int(frame_index)) / self.rate)

    @property
    def duration_s(self) -> float:
        return self.time_s(self.frame_count)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "VideoSpec":
        data = dict(data)
        data["scenes"] = tuple(SceneSpec(**s) for s in data["scenes"])
        data["objects"] = tuple(ObjectSpec(**o) for o in data["objects"])
        return cls(**data)


def _validate(duration_s: float, width: int, height: int) -> None:
    if not duration_s > 0:
        raise InvalidArgumentError(f"duration_s = {duration_s!r} is invalid", "expected a positive number of seconds")
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or value < 64 or value % 2:
            raise InvalidArgumentError(f"{name} = {value!r} is invalid", "expected an even number of pixels, at least 64")


def plan_scenes(
    rng: np.random.Generator,
    frame_count: int,
    rate: Fraction,
    scene_s: tuple[float, float] = (4.0, 40.0),
    fade_probability: float = 0.3,
) -> tuple[SceneSpec, ...]:
    """Split ``frame_count`` frames into scenes joined by hard cuts or fades through black."""
    fps = float(rate)
    lo, hi = max(1, round(scene_s[0] * fps)), max(1, round(scene_s[1] * fps))
    bounds = [0]
    while bounds[-1] < frame_count:
        bounds.append(min(frame_count, bounds[-1] + int(rng.integers(lo, hi + 1))))
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < lo:
        bounds.pop(-2)  # a too-short last scene joins the one before
    scenes: list[SceneSpec] = []
    for i in range(len(bounds) - 1):
        kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
        transition = "start" if i == 0 else ("fade" if rng.random() < fade_probability else "cut")
        scenes.append(
            SceneSpec(i, bounds[i], bounds[i + 1], kind, int(rng.integers(2**31)), transition)
        )
    # Fades take frames from both sides of the boundary, never more than a quarter of a scene.
    for i in range(1, len(scenes)):
        if scenes[i].transition_in != "fade":
            continue
        prev, cur = scenes[i - 1], scenes[i]
        want = max(1, round(rng.uniform(0.4, 1.0) * fps))
        out_frames = min(want, (prev.end_frame - prev.start_frame) // 4)
        in_frames = min(want, (cur.end_frame - cur.start_frame) // 4)
        if out_frames < 1 or in_frames < 1:
            scenes[i] = dataclasses.replace(cur, transition_in="cut")
            continue
        scenes[i - 1] = dataclasses.replace(prev, fade_out_frames=out_frames)
        scenes[i] = dataclasses.replace(cur, fade_in_frames=in_frames)
    return tuple(scenes)


class _Placer:
    """Places objects in time and space so that no two visible at once overlap."""

    def __init__(self, rng: np.random.Generator, scenes: tuple[SceneSpec, ...], width: int, height: int, fps: float):
        self.rng, self.scenes, self.width, self.height, self.fps = rng, scenes, width, height, fps
        self.placed: list[ObjectSpec] = []
        self._boxes: list[np.ndarray] = []
        steady = np.array([max(0, s.steady[1] - s.steady[0]) for s in scenes], dtype=np.float64)
        self._scene_weights = steady / steady.sum() if steady.sum() > 0 else None

    def _geometry(self, action: str, frames: int) -> tuple[int, float, float, float, int]:
        rng, w, h = self.rng, self.width, self.height
        pad = 2
        size = int(round(rng.uniform(0.2, 0.33) * h))
        amount, hops = 0.0, 1
        if action in ("move_left", "move_right"):
            amount = min(rng.uniform(0.25, 0.6) * w, w - size - 2 * pad)
            # At most about a frame width per second, so the motion stays visible at 1 fps.
            amount = min(amount, 1.0 * w * frames / self.fps)
            span_lo, span_hi = pad + size / 2, w - pad - size / 2 - amount
            x = rng.uniform(span_lo, span_hi)
            if action == "move_left":
                x += amount
            y = rng.uniform(pad + size / 2, h - pad - size / 2)
        elif action == "jump":
            size = int(round(rng.uniform(0.18, 0.28) * h))
            amount = rng.uniform(0.15, 0.3) * h
            hops = int(rng.integers(1, 4))
            x = rng.uniform(pad + size / 2, w - pad - size / 2)
            y = rng.uniform(pad + size / 2 + amount, h - pad - size / 2)
        elif action == "grow":
            size = int(round(rng.uniform(0.14, 0.2) * h))
            amount = float(round(rng.uniform(0.3, 0.42) * h))
            half = amount / 2
            x = rng.uniform(pad + half, w - pad - half)
            y = rng.uniform(pad + half, h - pad - half)
        else:
            x = rng.uniform(pad + size / 2, w - pad - size / 2)
            y = rng.uniform(pad + size / 2, h - pad - size / 2)
        return size, float(x), float(y), float(amount), hops

    def _fits(self, boxes: np.ndarray, start: int, end: int) -> bool:
        if boxes[:, :2].min() < 0 or boxes[:, 2].max() > self.width or boxes[:, 3].max() > self.height:
            return False
        gap = 4  # pixels kept between objects, so colours never bleed into another's box
        for other, other_boxes in zip(self.placed, self._boxes):
            lo, hi = max(start, other.start_frame), min(end, other.end_frame)
            if lo >= hi:
                continue
            a = boxes[lo - start : hi - start]
            b = other_boxes[lo - other.start_frame : hi - other.start_frame]
            apart = (
                (a[:, 2] + gap <= b[:, 0]) | (b[:, 2] + gap <= a[:, 0])
                | (a[:, 3] + gap <= b[:, 1]) | (b[:, 3] + gap <= a[:, 1])
            )
            if not apart.all():
                return False
        return True

    def place(
        self,
        combo: Combo,
        duration_s: tuple[float, float],
        role: str,
        action: str | None = None,
        scene_index: int | None = None,
    ) -> ObjectSpec | None:
        """Try to place one object; None when no free time and place was found."""
        if self._scene_weights is None:
            return None
        rng = self.rng
        for _ in range(_MAX_PLACEMENT_TRIES):
            si = scene_index if scene_index is not None else int(rng.choice(len(self.scenes), p=self._scene_weights))
            lo, hi = self.scenes[si].steady
            frames = max(2, round(rng.uniform(*duration_s) * self.fps))
            if hi - lo < frames:
                continue
            start = int(rng.integers(lo, hi - frames + 1))
            act = action or ACTIONS[int(rng.integers(len(ACTIONS)))]
            size, x, y, amount, hops = self._geometry(act, frames)
            spec = ObjectSpec(
                id=f"o{len(self.placed)}", colour=combo.colour, shape=combo.shape, action=act,
                start_frame=start, end_frame=start + frames, size=size, x=x, y=y,
                amount=amount, hops=hops, role=role, scene_index=si,
            )
            boxes = spec.boxes()
            if self._fits(boxes, spec.start_frame, spec.end_frame):
                self.placed.append(spec)
                self._boxes.append(boxes)
                return spec
        return None

    def result(self) -> tuple[ObjectSpec, ...]:
        """Objects sorted by start time and renumbered ``o0, o1, ...`` in that order."""
        ordered = sorted(self.placed, key=lambda o: (o.start_frame, o.id))
        return tuple(dataclasses.replace(o, id=f"o{i}") for i, o in enumerate(ordered))


def _frames(duration_s: float, rate: Fraction) -> int:
    return max(1, round(Fraction(str(duration_s)) * rate))


def plan_video(
    seed: int,
    duration_s: float = 60.0,
    *,
    width: int = 320,
    height: int = 180,
    fps: float | str = 10,
    events_per_minute: float = 6.0,
    event_s: tuple[float, float] = (2.0, 6.0),
    scene_s: tuple[float, float] = (4.0, 40.0),
    fade_probability: float = 0.3,
) -> VideoSpec:
    """A video of scenes with objects of any colour + shape doing any action (combos may repeat)."""
    _validate(duration_s, width, height)
    rate = as_fps(fps)
    rng = np.random.default_rng(seed)
    frame_count = _frames(duration_s, rate)
    scenes = plan_scenes(rng, frame_count, rate, scene_s, fade_probability)
    placer = _Placer(rng, scenes, width, height, float(rate))
    count = int(rng.poisson(events_per_minute * duration_s / 60.0))
    for _ in range(count):
        placer.place(ALL_COMBOS[int(rng.integers(len(ALL_COMBOS)))], event_s, role="event")
    return VideoSpec(seed, width, height, str(rate), frame_count, scenes, placer.result(), kind="random")


def plan_needle_video(
    seed: int,
    duration_s: float = 600.0,
    *,
    needles: int | list[tuple[Combo, str]] = 1,
    width: int = 320,
    height: int = 180,
    fps: float | str = 10,
    needle_s: tuple[float, float] = (2.0, 5.0),
    distractors_per_minute: float = 4.0,
    distractor_s: tuple[float, float] = (2.0, 8.0),
    hard_fraction: float = 0.5,
    scene_s: tuple[float, float] = (4.0, 40.0),
    fade_probability: float = 0.3,
) -> VideoSpec:
    """A haystack video with needle events whose colour + shape appears nowhere else.

    ``needles`` is a count (random distinct combos and actions) or a list of (combo, action).
    Distractors never use a needle's combination; ``hard_fraction`` of them share the colour or
    the shape of a needle.
    """
    _validate(duration_s, width, height)
    rate = as_fps(fps)
    rng = np.random.default_rng(seed)
    frame_count = _frames(duration_s, rate)
    scenes = plan_scenes(rng, frame_count, rate, scene_s, fade_probability)
    if isinstance(needles, int):
        if needles < 1 or needles > 10:
            raise InvalidArgumentError(f"needles = {needles} is invalid", "expected 1 to 10 needle events")
        picks = rng.choice(len(ALL_COMBOS), size=needles, replace=False)
        wanted = [(ALL_COMBOS[int(i)], ACTIONS[int(rng.integers(len(ACTIONS)))]) for i in picks]
    else:
        wanted = list(needles)
        if len({c for c, _ in wanted}) != len(wanted):
            raise InvalidArgumentError("needles repeat a colour + shape", "give each needle its own combination")
    placer = _Placer(rng, scenes, width, height, float(rate))
    for combo, action in wanted:
        if placer.place(combo, needle_s, role="needle", action=action) is None:
            raise InvalidArgumentError(
                f"duration_s = {duration_s} leaves no room for a {needle_s[0]}-{needle_s[1]} s needle",
                "make the video longer or the needles shorter",
            )
    needle_combos = {c for c, _ in wanted}
    others = [c for c in ALL_COMBOS if c not in needle_combos]
    hard = [c for c in others if any(c.colour == n.colour or c.shape == n.shape for n in needle_combos)]
    count = int(rng.poisson(distractors_per_minute * duration_s / 60.0))
    for _ in range(count):
        pool = hard if (hard and rng.random() < hard_fraction) else others
        combo = pool[int(rng.integers(len(pool)))]
        placer.place(combo, distractor_s, role="distractor")
    objects = placer.result()
    assert not any(o.role == "distractor" and o.combo in needle_combos for o in objects)
    return VideoSpec(seed, width, height, str(rate), frame_count, scenes, objects, kind="needle")


__all__ = ["SceneSpec", "ObjectSpec", "VideoSpec", "plan_video", "plan_needle_video", "plan_scenes", "as_fps"]
