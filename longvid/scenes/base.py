"""What every shot detector shares: the observer protocol (so detection rides on any decode
pass), per-frame bookkeeping, the minimum-scene-length filter, and cuts -> ``Scene`` objects.

A detector sees frames one at a time in presentation order. Positions are counted in frames seen
(0, 1, 2, ...) so that lengths are frame counts even on variable-frame-rate video; each position
keeps the frame's stream index and pts for the output.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Scene

REFERENCE_SIZE = 256  # longer side of reference pictures: PySceneDetect's default downscale target
ANALYSIS_SIZE = 256  # longer side of the cheap pictures every frame gets


@dataclass(frozen=True, slots=True)
class Cut:
    """A shot boundary: the first frame of a new scene."""

    index: int
    pts_s: float


class SceneDetector:
    """Base class. Subclasses implement ``_process(pos, image, source) -> list[int]`` (cut
    positions) and may implement ``_flush() -> list[int]`` for cuts known only at the end.

    ``image`` is the cheap analysis picture; ``source()`` (when the reader gives one) is the
    reference picture, which detectors use to re-decide frames whose cheap metric lies within a
    safety margin of the threshold. Far from the threshold the cheap metric decides alone: its
    error against the reference is a few percent, measured on real clips (tests/test_scenes.py).
    """

    name = "base"
    default_threshold = 0.0
    analysis_size: int | None = ANALYSIS_SIZE
    reference_size: int | None = REFERENCE_SIZE

    def __init__(self, threshold: float | None = None, min_scene_len: int = 15):
        if threshold is None:
            threshold = self.default_threshold
        if not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and math.isfinite(threshold) and threshold >= 0):
            raise InvalidArgumentError(f"threshold = {threshold!r} is invalid", "give a number >= 0")
        if not isinstance(min_scene_len, (int, np.integer)) or isinstance(min_scene_len, bool) or min_scene_len < 0:
            raise InvalidArgumentError(f"min_scene_len = {min_scene_len!r} is invalid", "give a whole number of frames >= 0")
        self.threshold = float(threshold)
        self.min_scene_len = int(min_scene_len)
        self.cuts: list[Cut] = []
        self._index = array("q")
        self._pts = array("d")
        self.finished = False

    # --- observer protocol ------------------------------------------------------------------------

    wants_source = True  # re-check close calls on reference pictures (see decode/observer.py)

    def observe(self, pts_s: float, index: int, image: np.ndarray, source: Callable[[], np.ndarray] | None = None) -> None:
        pos = len(self._pts)
        self._pts.append(pts_s)
        self._index.append(index)
        for cut_pos in self._process(pos, image, source):
            self._add(cut_pos)

    def finish(self, last_pts_s: float | None = None) -> None:
        if not self.finished:
            self.finished = True
            for cut_pos in self._flush():
                self._add(cut_pos)

    # --- for subclasses ---------------------------------------------------------------------------

    def _process(self, pos: int, image: np.ndarray, source: Callable[[], np.ndarray] | None) -> list[int]:
        raise NotImplementedError

    def _flush(self) -> list[int]:
        return []

    def _add(self, pos: int) -> None:
        if 0 < pos < len(self._pts):  # a cut at the very first frame is no cut
            self.cuts.append(Cut(self._index[pos], self._pts[pos]))

    # --- results ----------------------------------------------------------------------------------

    @property
    def frames_seen(self) -> int:
        return len(self._pts)

    def end_s(self) -> float | None:
        """Where the last seen frame stops being shown (its pts plus the typical frame gap)."""
        n = len(self._pts)
        if n == 0:
            return None
        if n == 1:
            return self._pts[0]
        tail = np.diff(np.frombuffer(self._pts, dtype=np.float64)[-9:])
        return self._pts[-1] + float(np.median(tail))

    def scenes(self, end_s: float | None = None, end_frame: int | None = None) -> list[Scene]:
        """The scenes between the first and last seen frame, split at the cuts."""
        if not self._pts:
            return []
        return scenes_from_cuts(
            sorted(self.cuts, key=lambda c: c.index),
            start_frame=self._index[0],
            start_s=self._pts[0],
            end_frame=self._index[-1] + 1 if end_frame is None else end_frame,
            end_s=self.end_s() if end_s is None else end_s,
        )


def scenes_from_cuts(
    cuts: Sequence[Cut | tuple[int, float]],
    *,
    start_frame: int = 0,
    start_s: float = 0.0,
    end_frame: int,
    end_s: float,
) -> list[Scene]:
    """Scenes [start, cut1), [cut1, cut2), ..., [cutN, end) from a detector's cuts.

    ``end_frame`` is exclusive (the frame count when starting at 0); ``end_s`` is the end of the
    last frame's display time (e.g. ``VideoInfo.end_s``). Cuts outside the range are ignored.
    """
    points = sorted({(int(c[0]), float(c[1])) for c in ((c.index, c.pts_s) if isinstance(c, Cut) else c for c in cuts)})
    points = [(i, t) for i, t in points if start_frame < i < end_frame]
    bounds = [(start_frame, start_s), *points, (end_frame, max(end_s, points[-1][1] if points else start_s))]
    return [
        Scene(index=n, start_s=a[1], end_s=b[1], start_frame=a[0], end_frame=b[0])
        for n, (a, b) in enumerate(zip(bounds, bounds[1:]))
    ]


class MinLengthMerge:
    """PySceneDetect's flash filter ("merge" mode): a cut closer than ``length`` frames to the last
    frame above threshold is held back and merged with the cuts that follow; the merged run is
    emitted at its last above-threshold frame once the picture has been calm for ``length``."""

    def __init__(self, length: int):
        self.length = length
        self._last_above: int | None = None
        self._enabled = False  # merging only starts after the first cut
        self._merging = False
        self._merge_start = 0

    def filter(self, pos: int, above: bool) -> list[int]:
        if self.length <= 0:
            return [pos] if above else []
        if self._last_above is None:
            self._last_above = pos
        long_enough = pos - self._last_above >= self.length
        if above:
            self._last_above = pos
        if self._merging:
            if long_enough and not above and self._last_above - self._merge_start >= self.length:
                self._merging = False
                return [self._last_above]
            return []
        if not above:
            return []
        if long_enough:
            self._enabled = True
            return [pos]
        if self._enabled:
            self._merging = True
            self._merge_start = pos
        return []
