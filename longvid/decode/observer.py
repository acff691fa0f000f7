"""Observers: code that wants to see EVERY decoded picture of a pass (scene detection) while the
pass itself yields only sampled frames.

An observer is any object with

    analysis_size: int | None        # longer side of the analysis picture in pixels (None: native)
    def observe(self, pts_s: float, index: int, image: np.ndarray) -> None
    def finish(self, last_pts_s: float | None) -> None        # optional, called once at the end

``image`` is a small (h, w, 3) uint8 RGB picture in the CODED orientation (rotation is not applied:
shot-change metrics do not care, and skipping it keeps the hot path cheap). The reader makes it
with one scaling + colour conversion call per picture and shares it between observers that ask
for the same size. Observers must not keep a reference to ``image`` beyond the call unless they
copy it (a backend may reuse the buffer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np

    from ..types import VideoInfo


@runtime_checkable
class FrameObserver(Protocol):
    analysis_size: int | None

    def observe(self, pts_s: float, index: int, image: np.ndarray) -> None: ...


def analysis_shape(info: VideoInfo, analysis_size: int | None) -> tuple[int, int]:
    """(width, height) in coded orientation whose longer side is ``analysis_size``.

    Same rule as PySceneDetect's default downscaling: the longer side becomes ``analysis_size``
    (never upscaled), the other keeps the aspect ratio.
    """
    w, h = (info.height, info.width) if info.rotation in (90, 270) else (info.width, info.height)
    if not analysis_size or max(w, h) <= analysis_size:
        return w, h
    factor = max(w, h) / float(analysis_size)
    return max(1, round(w / factor)), max(1, round(h / factor))


class ObserverSet:
    """Several observers fed from one decode; analysis pictures made once per distinct size."""

    def __init__(self, observers: Sequence[Any]):
        self._observers = list(observers)

    @classmethod
    def of(cls, observer: Any) -> ObserverSet:
        if observer is None:
            items: list[Any] = []
        elif isinstance(observer, (list, tuple)):
            items = list(observer)
        else:
            items = [observer]
        for o in items:
            if not callable(getattr(o, "observe", None)) or not hasattr(o, "analysis_size"):
                raise InvalidArgumentError(
                    f"observer = {o!r} is invalid",
                    "pass an object with `analysis_size` and `observe(pts_s, index, image)`",
                )
        return cls(items)

    def __bool__(self) -> bool:
        return bool(self._observers)

    def __iter__(self):
        return iter(self._observers)

    def observe(self, decoded: Any, to_small: Callable[[Any, int, int], Any], sizes: dict[int, tuple[int, int]]) -> None:
        made: dict[tuple[int, int], Any] = {}
        for o in self._observers:
            wh = sizes[id(o)]
            image = made.get(wh)
            if image is None:
                image = made[wh] = to_small(decoded, wh[0], wh[1])
            o.observe(decoded.pts_s, decoded.index, image)

    def finish(self, last_pts_s: float | None) -> None:
        for o in self._observers:
            finish = getattr(o, "finish", None)
            if callable(finish):
                finish(last_pts_s)
