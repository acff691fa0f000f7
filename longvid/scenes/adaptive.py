"""Adaptive detector: a content score that stands out from its neighbours (the published
PySceneDetect ``detect-adaptive`` algorithm, re-implemented on our observer protocol).

For each frame, the ratio of its content score (see ``content.py``) to the mean score of the
``window_width`` frames on each side; a cut where the ratio reaches ``threshold`` (default 3.0) and
the score itself reaches ``min_content_val`` (default 15). Fast camera motion raises the
neighbours too, so it does not cut. Decisions lag ``window_width`` frames behind the decoder.
Close calls are re-decided on reference pictures (all scores of the window).
"""

from __future__ import annotations

from array import array
from collections import deque

from ..errors import InvalidArgumentError
from .base import SceneDetector
from .content import SCORE_ERROR, HSVScores

MAX_RATIO = 255.0


class AdaptiveDetector(SceneDetector):
    name = "adaptive"
    default_threshold = 3.0

    def __init__(
        self,
        threshold: float | None = None,
        min_scene_len: int = 15,
        window_width: int = 2,
        min_content_val: float = 15.0,
        luma_only: bool = False,
    ):
        super().__init__(threshold, min_scene_len)
        if not isinstance(window_width, int) or isinstance(window_width, bool) or window_width < 1:
            raise InvalidArgumentError(f"window_width = {window_width!r} is invalid", "give a whole number >= 1")
        if not min_content_val >= 0:
            raise InvalidArgumentError(f"min_content_val = {min_content_val!r} is invalid", "give a number >= 0")
        self.window_width = window_width
        self.min_content_val = float(min_content_val)
        self._hsv = HSVScores(keep=2 * window_width + 1, luma_only=luma_only)
        self._window: deque[tuple[int, float]] = deque(maxlen=2 * window_width + 1)
        self._last_cut: int | None = None
        self.scores = array("d")

    @property
    def refined(self) -> int:
        return self._hsv.refined

    def _ratio(self, window: list[tuple[int, float]]) -> tuple[int, float, float]:
        w = self.window_width
        target_pos, target = window[w]
        others = sum(s for i, (_, s) in enumerate(window) if i != w) / (2.0 * w)
        if abs(others) < 1e-5:
            ratio = MAX_RATIO if target >= self.min_content_val else 0.0
        else:
            ratio = min(target / others, MAX_RATIO)
        return target_pos, target, ratio

    def _uncertain(self, window: list[tuple[int, float]]) -> bool:
        """Could reference scores change the decision? Interval arithmetic with every cheap
        score off by up to SCORE_ERROR."""
        e = SCORE_ERROR
        w = self.window_width
        target = window[w][1]
        others = sum(s for i, (_, s) in enumerate(window) if i != w) / (2.0 * w)
        if target + e < self.min_content_val:
            return False  # fails the content test whatever the error
        hi = MAX_RATIO if others - e < 1e-5 else (target + e) / (others - e)
        lo = 0.0 if others + e < 1e-5 else (target - e) / (others + e)
        can_pass = hi >= self.threshold
        must_pass = lo >= self.threshold and target - e >= self.min_content_val
        return can_pass and not must_pass

    def _process(self, pos, image, source) -> list[int]:
        score = self._hsv.cheap(pos, image, source)
        self.scores.append(score)
        if self._last_cut is None:
            self._last_cut = pos
        self._window.append((pos, score))
        if len(self._window) < 2 * self.window_width + 1:
            return []
        window = list(self._window)
        if self._uncertain(window) and all(self._hsv.can_refine(p) for p, _ in window):
            window = [(p, self._hsv.reference(p)) for p, _ in window]
            for p, s in window:
                self.scores[p] = s
            self._window = deque(window, maxlen=self._window.maxlen)
        target_pos, target, ratio = self._ratio(window)
        if ratio >= self.threshold and target >= self.min_content_val and target_pos - self._last_cut >= self.min_scene_len:
            self._last_cut = target_pos
            return [target_pos]
        return []
