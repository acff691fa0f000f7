"""Rendering: a ``VideoSpec`` to a stream of RGB frames, and random single frames for training.

Frames are produced one at a time (never the whole video in memory), so a video of any length
renders in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .backgrounds import Background, apply_gain, still_background
from .plan import SceneSpec, VideoSpec
from .shapes import draw_shape
from .vocab import ALL_COMBOS, COLOURS, Combo

_RGB = {name: np.array(rgb, dtype=np.uint8) for name, rgb in COLOURS.items()}


def fade_gain(scene: SceneSpec, frame_index: int) -> float:
    """Brightness factor of a frame from fades through black (1.0 outside fades)."""
    k = frame_index - scene.start_frame
    gain = 1.0
    if scene.fade_in_frames and k < scene.fade_in_frames:
        gain = (k + 1) / (scene.fade_in_frames + 1)
    from_end = scene.end_frame - 1 - frame_index
    if scene.fade_out_frames and from_end < scene.fade_out_frames:
        gain = min(gain, (from_end + 1) / (scene.fade_out_frames + 1))
    return gain


def iter_frames(spec: VideoSpec, start_frame: int = 0, end_frame: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(frame_index, image)`` for frames ``start_frame`` to ``end_frame - 1``.

    ``image`` is an (height, width, 3) uint8 RGB buffer that is reused: copy it to keep it.
    """
    end_frame = spec.frame_count if end_frame is None else min(end_frame, spec.frame_count)
    buffer = np.empty((spec.height, spec.width, 3), dtype=np.uint8)
    objects = sorted(spec.objects, key=lambda o: o.start_frame)
    boxes = {o.id: o.boxes() for o in objects}
    for scene in spec.scenes:
        if scene.end_frame <= start_frame or scene.start_frame >= end_frame:
            continue
        background = Background.random(
            scene.background, spec.width, spec.height, np.random.default_rng(scene.texture_seed)
        )
        in_scene = [o for o in objects if o.start_frame < scene.end_frame and o.end_frame > scene.start_frame]
        for f in range(max(scene.start_frame, start_frame), min(scene.end_frame, end_frame)):
            k = f - scene.start_frame
            background.frame(k, out=buffer)
            apply_gain(buffer, background.brightness(k) * fade_gain(scene, f))
            for obj in in_scene:
                if obj.start_frame <= f < obj.end_frame:
                    box = boxes[obj.id][f - obj.start_frame]
                    draw_shape(buffer, obj.shape, tuple(int(v) for v in box), _RGB[obj.colour])
            yield f, buffer


def render_frame(spec: VideoSpec, frame_index: int) -> np.ndarray:
    """One frame, rendered on its own (a copy)."""
    for _, image in iter_frames(spec, frame_index, frame_index + 1):
        return image.copy()
    raise IndexError(f"frame {frame_index} is outside 0..{spec.frame_count - 1}")


class FrameRenderer:
    """Frames of one spec in any order, each scene's background built once (most of the cost).

    ``renderer.frame(i)`` equals ``render_frame(spec, i)``; use it when many scattered frames
    of one video are needed (training data, evaluation), instead of a pass over the whole video.
    """

    def __init__(self, spec: VideoSpec):
        self.spec = spec
        self._starts = np.array([s.start_frame for s in spec.scenes])
        self._backgrounds: dict[int, Background] = {}
        self._boxes = {o.id: o.boxes() for o in spec.objects}

    def frame(self, frame_index: int) -> np.ndarray:
        spec = self.spec
        if not 0 <= frame_index < spec.frame_count:
            raise IndexError(f"frame {frame_index} is outside 0..{spec.frame_count - 1}")
        scene = spec.scenes[int(np.searchsorted(self._starts, frame_index, side="right")) - 1]
        background = self._backgrounds.get(scene.index)
        if background is None:
            background = Background.random(scene.background, spec.width, spec.height, np.random.default_rng(scene.texture_seed))
            self._backgrounds[scene.index] = background
        image = np.empty((spec.height, spec.width, 3), dtype=np.uint8)
        k = frame_index - scene.start_frame
        background.frame(k, out=image)
        apply_gain(image, background.brightness(k) * fade_gain(scene, frame_index))
        for obj in spec.objects:  # drawn in start order, as iter_frames does
            if obj.start_frame <= frame_index < obj.end_frame:
                box = self._boxes[obj.id][frame_index - obj.start_frame]
                draw_shape(image, obj.shape, tuple(int(v) for v in box), _RGB[obj.colour])
        return image


@dataclass(frozen=True)
class StillObject:
    combo: Combo
    box: tuple[int, int, int, int]


def render_still(
    rng: np.random.Generator,
    width: int = 320,
    height: int = 180,
    max_objects: int = 3,
    empty_probability: float = 0.1,
    background: np.ndarray | None = None,
    min_objects: int = 1,
    combos: list[Combo] | None = None,
) -> tuple[np.ndarray, list[StillObject]]:
    """A random frame like those of generated videos: a background and 0..max_objects objects.

    Used to train and test image-text models. Objects have distinct colour + shape combinations,
    never overlap and lie fully inside the frame, with box sides from 14% to 42% of the height.
    ``background`` (an (height, width, 3) uint8 image, copied) skips rendering a new scene
    background, which is most of the cost. ``combos`` draws exactly these objects instead of a
    random choice (an object that finds no free place is left out).
    """
    if background is None:
        image = still_background(width, height, rng)
    else:
        if background.shape != (height, width, 3):
            raise ValueError(f"background shape {background.shape} is not {(height, width, 3)}")
        image = background.copy()
    apply_gain(image, float(rng.uniform(0.75, 1.15)))
    if combos is None:
        count = 0 if rng.random() < empty_probability else int(rng.integers(min_objects, max_objects + 1))
        combos = [ALL_COMBOS[int(i)] for i in rng.choice(len(ALL_COMBOS), size=count, replace=False)]
    placed: list[StillObject] = []
    for combo in combos:
        for _ in range(20):
            side = int(round(rng.uniform(0.14, 0.42) * height))
            x0 = int(rng.integers(1, width - side))
            y0 = int(rng.integers(1, height - side))
            box = (x0, y0, x0 + side, y0 + side)
            if all(box[2] + 3 <= o.box[0] or o.box[2] + 3 <= box[0] or box[3] + 3 <= o.box[1] or o.box[3] + 3 <= box[1]
                   for o in placed):
                placed.append(StillObject(combo, box))
                draw_shape(image, combo.shape, box, _RGB[combo.colour])
                break
    return image, placed


__all__ = ["iter_frames", "render_frame", "FrameRenderer", "render_still", "StillObject", "fade_gain"]
