"""Threshold (fade) detector: scenes separated by fades to black (the published PySceneDetect
``detect-threshold`` algorithm, re-implemented on our observer protocol).

A frame whose mean pixel value (all channels) drops below ``threshold`` (default 12) starts a
fade-out; the first frame back at or above it ends the fade-in. The cut goes between the two,
placed by ``fade_bias`` (-1: at the fade-out, 0: in the middle, +1: at the fade-in), provided the
scene since the last cut is at least ``min_scene_len`` frames long.
"""

from __future__ import annotations

from array import array

import cv2
import numpy as np

from ..errors import InvalidArgumentError
from .base import SceneDetector


REFINE_MARGIN = 2.0  # levels this close to the threshold are re-measured on reference pictures


def _level(image: np.ndarray) -> float:
    means = cv2.mean(image)  # mean over all channels = mean of the channel means
    return (means[0] + means[1] + means[2]) / 3.0


class ThresholdDetector(SceneDetector):
    name = "threshold"
    default_threshold = 12.0

    def __init__(
        self,
        threshold: float | None = None,
        min_scene_len: int = 15,
        fade_bias: float = 0.0,
        add_final_scene: bool = False,
    ):
        super().__init__(threshold, min_scene_len)
        if not -1.0 <= fade_bias <= 1.0:
            raise InvalidArgumentError(f"fade_bias = {fade_bias!r} is invalid", "give a number from -1.0 to 1.0")
        # PySceneDetect compares against the integer threshold
        self.threshold = float(int(self.threshold))
        self.fade_bias = float(fade_bias)
        self.add_final_scene = add_final_scene
        self._last_cut: int | None = None
        self._faded_out: bool | None = None
        self._fade_pos = 0  # where the last threshold crossing happened
        self.levels = array("d")  # mean pixel value per frame
        self.refined = 0

    def _process(self, pos, image, source) -> list[int]:
        level = _level(image)
        if source is not None and abs(level - self.threshold) <= REFINE_MARGIN:
            level = _level(source())  # close call: decide on the reference picture
            self.refined += 1
        self.levels.append(level)
        dark = level < self.threshold
        if self._faded_out is None:  # first frame
            self._last_cut = pos
            self._faded_out, self._fade_pos = dark, pos
            return []
        cuts = []
        if not self._faded_out and dark:
            self._faded_out, self._fade_pos = True, pos
        elif self._faded_out and not dark:
            if pos - self._last_cut >= self.min_scene_len:
                span = pos - self._fade_pos
                cuts.append(self._fade_pos + round(span * (1.0 + self.fade_bias) / 2.0))
                self._last_cut = pos
            self._faded_out, self._fade_pos = False, pos
        return cuts

    def _flush(self) -> list[int]:
        # Ending on a fade-out closes one more scene when asked to (no bias: no fade-in).
        if self.add_final_scene and self._faded_out and self._last_cut is not None:
            if self.frames_seen - 1 - self._last_cut >= self.min_scene_len:
                return [self._fade_pos]
        return []
