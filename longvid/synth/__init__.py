"""Synthetic videos with known answers: scenes, objects, events and their exact ground truth.

    from longvid.synth import generate_video, plan_needle_video
    truth = generate_video("clip.mp4", 7, duration_s=90)            # random events, seed 7
    truth = generate_video("hay.mp4", plan_needle_video(8, 600))    # one needle in 10 minutes
    truth.needles[0].start_s, truth.qa[0].question

Modules: ``vocab`` (colours, shapes, actions, captions), ``backgrounds`` (scene textures and
camera pans), ``shapes`` (object masks), ``plan`` (timelines), ``render`` (frames), ``truth``
(ground truth and its JSON schema, timing convention included), ``encode`` (H.264 via PyAV).
Importing this package needs only NumPy; PyAV is imported when a video is written.

Seeds: any seed below ``TRAINING_SEED_BASE`` may be used for videos and evaluation. Training the
tiny CLIP (tools/train_tiny_clip.py) draws its images from seeds at or above it, so no evaluation
frame is ever a training frame.
"""

from __future__ import annotations

from .encode import generate_video, truth_path
from .plan import ObjectSpec, SceneSpec, VideoSpec, plan_needle_video, plan_video
from .render import iter_frames, render_frame, render_still
from .truth import SCHEMA, Event, GroundTruth, QAItem
from .vocab import ACTIONS, ALL_COMBOS, COLOURS, SHAPES, Combo, caption

TRAINING_SEED_BASE = 1_000_000_000

__all__ = [
    "ACTIONS", "ALL_COMBOS", "COLOURS", "SHAPES", "Combo", "caption",
    "SceneSpec", "ObjectSpec", "VideoSpec", "plan_video", "plan_needle_video",
    "iter_frames", "render_frame", "render_still",
    "SCHEMA", "Event", "GroundTruth", "QAItem",
    "generate_video", "truth_path", "TRAINING_SEED_BASE",
]
