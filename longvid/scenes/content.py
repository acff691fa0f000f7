"""Content detector: hard cuts from the change in hue, saturation and value between consecutive
frames (the published PySceneDetect ``detect-content`` algorithm, re-implemented on our observer
protocol).

score(frame) = (mean|dH| + mean|dS| + mean|dV|) / 3 over the downscaled picture (OpenCV 8-bit
HSV, hue 0..179); a frame whose score reaches ``threshold`` (default 27) starts a new scene,
subject to the minimum scene length (``MinLengthMerge``). Scores near the threshold are
recomputed on reference pictures so that decisions match PySceneDetect's.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable

import cv2
import numpy as np

from .base import MinLengthMerge, SceneDetector


def hsv_delta(hsv: np.ndarray, prev: np.ndarray, luma_only: bool = False) -> float:
    if luma_only:
        return cv2.mean(cv2.absdiff(hsv, prev))[2]
    # (mean|dH| + mean|dS| + mean|dV|) / 3 = the L1 distance over all channels / (3 * pixels);
    # one fused OpenCV call, about 4x cheaper than absdiff + mean
    return cv2.norm(hsv, prev, cv2.NORM_L1) / hsv.size


# Largest error of a cheap score against the reference score, with margin: measured at most
# 1.9 over nine real clips and the benchmark file (tests/test_scenes.py keeps checking it).
SCORE_ERROR = 2.5


def refine_margin(threshold: float) -> float:
    """How close to a threshold a cheap score must be to get re-checked on reference pictures."""
    return max(SCORE_ERROR, 0.1 * threshold)


class HSVScores:
    """Per-frame content scores: cheap ones from analysis pictures, and reference ones on demand
    for the last ``keep`` frames (each needs the frame and the one before it)."""

    def __init__(self, keep: int = 2, luma_only: bool = False):
        self.luma_only = luma_only
        self._prev: np.ndarray | None = None
        self._spare: np.ndarray | None = None
        self._sources: deque[tuple[int, Callable[[], np.ndarray] | None]] = deque(maxlen=keep + 1)
        self._ref_hsv: dict[int, np.ndarray] = {}
        self.refined = 0  # reference scores computed (cost accounting)

    def cheap(self, pos: int, image: np.ndarray, source: Callable[[], np.ndarray] | None) -> float:
        # two HSV buffers used in turn: no allocation per frame
        hsv = self._spare if self._spare is not None and self._spare.shape == image.shape else None
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV, dst=hsv)
        prev, self._prev = self._prev, hsv
        self._spare = prev
        self._sources.append((pos, source))
        if self._ref_hsv:
            oldest = self._sources[0][0]
            for p in [p for p in self._ref_hsv if p < oldest]:
                del self._ref_hsv[p]
        return 0.0 if prev is None else hsv_delta(hsv, prev, self.luma_only)

    def can_refine(self, pos: int) -> bool:
        have = {p: s for p, s in self._sources}
        return pos in have and have[pos] is not None and (pos == 0 or have.get(pos - 1) is not None)

    def reference(self, pos: int) -> float:
        """The score of frame ``pos`` on reference pictures (needs ``can_refine(pos)``)."""
        if pos == 0:
            return 0.0
        self.refined += 1
        return hsv_delta(self._hsv(pos), self._hsv(pos - 1), self.luma_only)

    def _hsv(self, pos: int) -> np.ndarray:
        hsv = self._ref_hsv.get(pos)
        if hsv is None:
            source = dict(self._sources)[pos]
            hsv = self._ref_hsv[pos] = cv2.cvtColor(source(), cv2.COLOR_RGB2HSV)
        return hsv


class ContentDetector(SceneDetector):
    name = "content"
    default_threshold = 27.0

    def __init__(self, threshold: float | None = None, min_scene_len: int = 15, luma_only: bool = False):
        super().__init__(threshold, min_scene_len)
        self._hsv = HSVScores(keep=1, luma_only=luma_only)
        self._filter = MinLengthMerge(self.min_scene_len)
        self._margin = refine_margin(self.threshold)
        self.scores = array("d")  # per frame, for inspection and threshold tuning

    @property
    def refined(self) -> int:
        return self._hsv.refined

    def _process(self, pos, image, source) -> list[int]:
        score = self._hsv.cheap(pos, image, source)
        if abs(score - self.threshold) <= self._margin and self._hsv.can_refine(pos):
            score = self._hsv.reference(pos)
        self.scores.append(score)
        return self._filter.filter(pos, score >= self.threshold)
