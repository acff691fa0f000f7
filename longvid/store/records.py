"""Rows the store hands out: plain frozen dataclasses and column arrays (stage-private types)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class VideoRecord:
    id: int
    fingerprint: str
    size_bytes: int
    duration_s: float | None = None
    start_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    video_id: int
    model_id: str
    kind: str  # "index" | "refine"
    settings: dict
    frames_added: int
    frames_decoded: int | None
    seconds: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """What ``Store.add_run`` did. ``noop``: an identical run was already stored, nothing written."""

    run_id: int
    video_id: int
    frames_added: int
    frames_skipped: int  # already stored for this video and model (same frame index)
    noop: bool = False


@dataclass(frozen=True)
class StoredFrames:
    """Frames of one video for one model as columns, sorted by time.

    ``scene_index`` is -1 where no scene is known. ``ids`` are the FAISS ids of the vectors.
    """

    ids: np.ndarray  # int64
    pts_s: np.ndarray  # float64
    frame_index: np.ndarray  # int64
    scene_index: np.ndarray  # int64
    source: np.ndarray  # str (object)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, order: np.ndarray) -> "StoredFrames":
        return StoredFrames(*(getattr(self, f)[order] for f in ("ids", "pts_s", "frame_index", "scene_index", "source")))


@dataclass(frozen=True, slots=True)
class Hit:
    """One result of an archive-wide search."""

    video_id: int
    frame_id: int
    pts_s: float
    score: float


@dataclass
class CheckReport:
    """Result of ``Store.check()``; ``ok`` when ``problems`` is empty (orphans are not problems)."""

    db_file: str
    problems: list[str] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    videos: int = 0
    runs: int = 0
    frames: int = 0
    vectors: int = 0
    segments: int = 0
    damaged_runs: list[int] = field(default_factory=list)
    archive_indexes: int = 0
    damaged_archive_indexes: list[int] = field(default_factory=list)  # archive_indexes row ids
    bad_video_paths: list[str] = field(default_factory=list)  # remembered paths not absolute and normalised
    bad_videos: list[int] = field(default_factory=list)  # videos whose fingerprint the store never writes

    @property
    def ok(self) -> bool:
        return not self.problems
