"""Scene (shot) segmentation computed from the same decode pass that samples frames.

    from longvid.scenes import detect_scenes, make_detector

    scenes = detect_scenes("video.mp4", detector="adaptive")      # one decode pass -> [Scene]

    # or ride along while sampling 1 fps frames for embedding (still one pass):
    det = make_detector("adaptive")
    with open_video("video.mp4") as reader:
        frames = list(reader.iter_frames(fps=1.0, size=224, observer=det))
    scenes = det.scenes(end_s=reader.info.end_s, end_frame=reader.info.frame_count)

Detectors (one module each, registered in ``DETECTORS``): ``content`` (HSV change, threshold
27), ``adaptive`` (content change relative to its neighbours, 3.0), ``threshold`` (fades to
black, 12). ``similarity`` splits sampled frames by embedding similarity when no full decode
exists (keyframe mode).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..registry import Registry
from ..types import Scene
from .base import Cut, SceneDetector, scenes_from_cuts
from .similarity import scenes_from_embeddings, similarity_cuts

DETECTORS: Registry[type[SceneDetector]] = Registry("scene detector")
DETECTORS.register("content", "longvid.scenes.content:ContentDetector")
DETECTORS.register("adaptive", "longvid.scenes.adaptive:AdaptiveDetector")
DETECTORS.register("threshold", "longvid.scenes.threshold:ThresholdDetector")


def make_detector(name: str = "adaptive", threshold: float | None = None, min_scene_len: int = 15, **options: Any) -> SceneDetector:
    """A fresh detector by registry name (``threshold=None``: the detector's own default)."""
    return DETECTORS.get(name)(threshold=threshold, min_scene_len=min_scene_len, **options)


class _Progress:
    """Observer that only reports the pts reached (no analysis picture)."""

    analysis_size = 0

    def __init__(self, callback: Callable[[float], None]):
        self.callback = callback

    def observe(self, pts_s: float, index: int, image: Any) -> None:
        if index % 16 == 0:
            self.callback(pts_s)


def detect_scenes(
    video: str | Path | Any,
    detector: str | SceneDetector = "adaptive",
    threshold: float | None = None,
    min_scene_len: int = 15,
    *,
    backend: str = "pyav",
    stream_index: int | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    progress: Callable[[float], None] | None = None,
    **options: Any,
) -> list[Scene]:
    """Scenes of a video in ONE decode pass (every frame, analysed downscaled).

    ``video`` is a path or an open ``VideoReader`` (left open). ``progress(pts_s)`` is called now
    and then with the time reached. On damaged data the scenes found so far are attached to the
    raised ``DecodeError`` as ``.partial_scenes``.
    """
    from ..decode import open_video
    from ..decode.base import VideoReader
    from ..errors import DecodeError

    det = detector if isinstance(detector, SceneDetector) else make_detector(detector, threshold, min_scene_len, **options)
    own = not isinstance(video, VideoReader)
    reader = open_video(video, backend, stream_index=stream_index) if own else video
    try:
        observers: list[Any] = [det] if progress is None else [det, _Progress(progress)]
        try:
            reader.observe(observers, start_s=start_s, end_s=end_s)
        except DecodeError as exc:
            exc.partial_scenes = det.scenes()  # type: ignore[attr-defined]
            raise
        info = reader.info
        reached_end = end_s is None or end_s >= info.end_s
        # the last scene ends where the video ends (the last frame's display time included)
        return det.scenes(end_s=max(info.end_s, det.end_s() or 0.0) if reached_end else end_s)
    finally:
        if own:
            reader.close()


__all__ = [
    "DETECTORS",
    "Cut",
    "SceneDetector",
    "detect_scenes",
    "make_detector",
    "scenes_from_cuts",
    "scenes_from_embeddings",
    "similarity_cuts",
]
