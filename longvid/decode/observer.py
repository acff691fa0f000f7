"""Observers: code that wants to see EVERY decoded picture of a pass (scene detection) while the
pass itself yields only sampled frames.

An observer is any object with

    analysis_size: int | None        # longer side of the analysis picture in pixels
                                     # (None: native size; 0: no picture, image is None)
    def observe(self, pts_s: float, index: int, image: np.ndarray) -> None
    def finish(self, last_pts_s: float | None) -> None        # optional, called once at the end

``image`` is a small (h, w, 3) uint8 RGB picture in the CODED orientation (rotation is not applied:
shot-change metrics do not care, and skipping it keeps the hot path cheap). The reader makes it
with one point-sampling scale + colour conversion call per picture and shares it between
observers that ask for the same size.

An observer that sets ``wants_source = True`` is called as ``observe(pts_s, index, image, source)``
where ``source()`` returns the picture made the reference way: full-size RGB conversion, then
OpenCV bilinear resize to ``reference_size`` (longer side; default ``analysis_size``), which is
what PySceneDetect analyses. It costs about ten times more, so
detectors call it only to re-check decisions that are close to their threshold. ``source`` keeps
the decoded picture alive: hold only the last few.
"""

from __future__ import annotations

import queue
import threading
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
    if analysis_size == 0:
        return 0, 0  # the observer wants no picture
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

    def observe(
        self,
        decoded: Any,
        to_small: Callable[[Any, int, int], Any],
        sizes: dict[int, tuple[int, int]],
        to_reference: Callable[[Any, int, int], Any] | None = None,
    ) -> None:
        made: dict[tuple[int, int], Any] = {}
        for o in self._observers:
            wh = sizes[id(o)]
            image = made.get(wh)
            if image is None and wh[0]:
                image = made[wh] = to_small(decoded, wh[0], wh[1])
            if getattr(o, "wants_source", False):
                make = to_reference or to_small
                o.observe(decoded.pts_s, decoded.index, image, _Source(make, decoded, sizes[-id(o)]))
            else:
                o.observe(decoded.pts_s, decoded.index, image)

    def finish(self, last_pts_s: float | None) -> None:
        for o in self._observers:
            finish = getattr(o, "finish", None)
            if callable(finish):
                finish(last_pts_s)


class _Source:
    """Lazily computed reference analysis picture of one decoded frame (cached once made)."""

    __slots__ = ("_make", "_decoded", "_wh", "_image")

    def __init__(self, make: Callable[[Any, int, int], Any], decoded: Any, wh: tuple[int, int]):
        self._make, self._decoded, self._wh, self._image = make, decoded, wh, None

    def __call__(self) -> Any:
        if self._image is None:
            self._image = self._make(self._decoded, *self._wh)
            self._decoded = None  # the picture is made: let the decoded frame go
        return self._image


_STOP = object()


class ObserverThread:
    """Feeds an ``ObserverSet`` on its own thread, in decode order, so that analysis overlaps
    decoding: PyAV's decoder, swscale and OpenCV all release the GIL, and on a 2-core machine
    the decoder threads otherwise sit idle while the consuming thread analyses a picture.
    ``depth`` bounds how many decoded pictures wait (memory)."""

    def __init__(self, observers: ObserverSet, feed: Callable[[Any], None], depth: int = 8):
        self.observers = observers
        self._feed = feed
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="longvid-observers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None:
                try:
                    self._feed(item)
                except BaseException as exc:  # noqa: BLE001 - handed to the decoding thread
                    self._error = exc

    def submit(self, decoded: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(decoded)

    def close(self) -> None:
        """Wait until every submitted picture was observed; re-raise an observer's error."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
