"""LLaVA-OneVision (``llava_onevision``): SigLIP tower + projector, video frames pooled 2x2.

Each frame is its own one-frame video in the prompt, so its timestamp can sit right before it:

    Frame 1 at 00:00:01.0: <video>
    Frame 2 at 00:00:03.5: <video>
    <question>

``<video>`` stands for the frame's kept tokens (a ceil(n/2) x ceil(n/2) grid of pooled patch
tokens, row-major) followed by the model's learned newline embedding, which closes every video in
LLaVA-OneVision's own layout. Positions are 1-D; kept tokens keep their original position ids.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .assemble import Unit
from .base import VideoLLM
from .prompt import clock


class LlavaOnevisionLLM(VideoLLM):
    family = "llava_onevision"
    model_class = "LlavaOnevisionForConditionalGeneration"
    placeholder = "<video>"

    def native_tokens_per_frame(self, height: int, width: int) -> int:
        vision = self.spec.config["vision_config"]
        side = math.ceil((vision["image_size"] // vision["patch_size"]) / 2)
        return side * side

    def encode_frames(self, frames: list[np.ndarray], timestamps_s: list[float]) -> list[Unit]:
        pixels = self.processor.video_processor(videos=[np.stack(frames)], return_tensors="pt")["pixel_values_videos"]
        out = self.model.get_video_features(pixel_values_videos=pixels.to(self.device, self.dtype), return_dict=True)
        video = out.pooler_output[0]  # (T * h * w + 1, D): every frame's pooled grid, then one newline
        n = len(frames)
        side = math.isqrt((video.shape[0] - 1) // n)
        grids = video[:-1].reshape(n, side, side, -1)
        newline = video[-1:]
        return [
            Unit(grid=grids[i], frames=(i,), timestamps_s=(t,), tail=newline) for i, t in enumerate(timestamps_s)
        ]

    def prompt_body(self, units: list[Unit], question: str, duration_s: float | None) -> str:
        lines = [f"Frame {i + 1} at {clock(u.time_s)}: {self.placeholder}" for i, u in enumerate(units)]
        return "\n".join(lines) + "\n" + question
