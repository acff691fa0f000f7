"""SmolVLM2 (``smolvlm``): SigLIP tower, pixel shuffle, frames fed as images, 1-D positions.

The prompt is SmolVLM2's own video layout (the one its processor writes), with longvid's
timestamps:

    You are provided the following series of three frames from a 0:01:30 [H:MM:SS] video.

    Frame from 00:12:<fake_token_around_image><global-img><image><fake_token_around_image>
    ...

    <question>

``<image>`` stands for the frame's kept tokens: a (n/s) x (n/s) grid (n patches per side, pixel
shuffle factor s), row-major. Frames are resized by the model's own video processor.
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from .assemble import Unit
from .base import VideoLLM


class SmolVLMLLM(VideoLLM):
    family = "smolvlm"
    model_class = "SmolVLMForConditionalGeneration"
    placeholder = "<image>"
    placeholder_attr = "image_token"

    def native_tokens_per_frame(self, height: int, width: int) -> int:
        return int(self.processor.image_seq_len)

    def encode_frames(self, frames: list[np.ndarray], timestamps_s: list[float]) -> list[Unit]:
        out = self.processor.video_processor(videos=[np.stack(frames)], return_tensors="pt", do_sample_frames=False)
        features = self.model.model.get_image_features(
            pixel_values=out["pixel_values"].to(self.device, self.dtype),
            pixel_attention_mask=out["pixel_attention_mask"].to(self.device),
            return_dict=True,
        ).pooler_output[0]  # (T * N, D)
        n = len(frames)
        side = math.isqrt(features.shape[0] // n)
        grids = features.reshape(n, side, side, -1)
        return [Unit(grids[i], frames=(i,), timestamps_s=(t,)) for i, t in enumerate(timestamps_s)]

    def prompt_body(self, units: list[Unit], question: str, duration_s: float | None) -> str:
        from num2words import num2words

        p = self.processor
        picture = f"{p.fake_image_token}{p.global_image_token}{self.placeholder}{p.fake_image_token}"
        duration = int(duration_s if duration_s is not None else units[-1].time_s)
        text = (
            f"You are provided the following series of {num2words(len(units))} frames "
            f"from a {timedelta(seconds=duration)} [H:MM:SS] video.\n"
        )
        for u in units:
            minutes, seconds = int(u.time_s // 60), int(u.time_s % 60)
            text += f"\nFrame from {minutes:02d}:{seconds:02d}:{picture}"
        return text + "\n\n" + question
