"""Qwen2.5-VL (``qwen2_5_vl``) and Qwen3-VL (``qwen3_vl``): 3-D M-RoPE positions.

Qwen's vision tower turns every 2 consecutive frames into one temporal patch and merges 2x2
patches, so here a "unit" is one temporal patch: an (H/2, W/2) grid of tokens covering two
frames. An odd frame count repeats the last frame (as Qwen's own processor does).

Positions are computed on the FULL sequence with the model's own ``get_rope_index`` and then
index-selected for the kept tokens, so a kept token has exactly the (t, h, w) position it would
have had without reduction.

Prompts:
- Qwen2.5-VL: each patch is its own one-patch video, labelled with both frames' times
  ("Frames 1-2 at 00:00:00.0 and 00:00:01.0: <|vision_start|><|video_pad|><|vision_end|>").
  Selected frames are not evenly spaced, so time is given as text rather than through the
  temporal rotary index (which assumes a fixed frame rate).
- Qwen3-VL: the model's own layout, one ``<t seconds>`` label per patch (t = mean of its frames'
  times on the video's timeline) before ``<|vision_start|><|video_pad|><|vision_end|>``.
  DeepStack features are pruned with the same mask as the tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .assemble import Layout, Unit, prune_side
from .base import Prepared, VideoLLM
from .prompt import clock


class _QwenVL(VideoLLM):
    placeholder = "<|video_pad|>"

    @property
    def _merge(self) -> int:
        return int(self.spec.config["vision_config"].get("spatial_merge_size", 2))

    def _video_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"do_sample_frames": False}
        if getattr(self.processor.video_processor, "cap_pixels_per_frame", False) is None:
            options["cap_pixels_per_frame"] = True  # qwen-vl-utils' behaviour, transformers' future default
        return options

    def native_tokens(self, n_frames: int, height: int, width: int) -> int:
        vp = self.processor.video_processor
        n_frames += n_frames % 2  # padded to whole temporal patches
        patches = vp.get_num_of_video_patches(n_frames, height, width, self._video_options())
        return int(patches) // self._merge**2

    def native_tokens_per_frame(self, height: int, width: int) -> int:
        """Half a temporal patch's tokens (two frames share one patch), rounded up."""
        return -(-self.native_tokens(2, height, width) // 2)

    def _pixels(self, frames: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.processor.video_processor(videos=[np.stack(frames)], return_tensors="pt", **self._video_options())
        return out["pixel_values_videos"].to(self.device, self.dtype), out["video_grid_thw"].to(self.device)

    def encode_frames(self, frames: list[np.ndarray], timestamps_s: list[float]) -> list[Unit]:
        n = len(frames)
        if n % 2:
            frames, timestamps_s = frames + frames[-1:], timestamps_s + timestamps_s[-1:]
        pixels, grid_thw = self._pixels(frames)
        out = self.model.model.get_video_features(pixels, grid_thw, return_dict=True)
        t, h, w = (int(x) for x in grid_thw[0])
        h, w = h // self._merge, w // self._merge
        tokens = out.pooler_output[0].reshape(t, h, w, -1)
        deepstack = getattr(out, "deepstack_features", None)
        if deepstack:  # Qwen3-VL: one (t*h*w, D) tensor per DeepStack layer
            deepstack = torch.stack([layer[0] for layer in deepstack]).reshape(len(deepstack), t, h, w, -1)
        units = []
        for k in range(t):
            idx = (2 * k, min(2 * k + 1, n - 1))
            side = {"deepstack": deepstack[:, k]} if deepstack is not None else {}
            units.append(Unit(tokens[k], frames=idx, timestamps_s=(timestamps_s[2 * k], timestamps_s[2 * k + 1]), side=side))
        return units

    def _marks(self) -> tuple[str, str]:
        return (
            getattr(self.processor, "vision_start_token", None) or "<|vision_start|>",
            getattr(self.processor, "vision_end_token", None) or "<|vision_end|>",
        )

    def _token_types(self, layout: Layout) -> torch.Tensor:
        return (layout.input_ids == self.placeholder_id).long().mul(2).unsqueeze(0).to(self.device)  # 2 = video

    def _grid_rows(self, units: list[Unit]) -> torch.Tensor:
        return torch.tensor([[1, u.shape[0] * self._merge, u.shape[1] * self._merge] for u in units], device=self.device)


class Qwen25VLLLM(_QwenVL):
    family = "qwen2_5_vl"
    model_class = "Qwen2_5_VLForConditionalGeneration"

    def prompt_body(self, units: list[Unit], question: str, duration_s: float | None) -> str:
        start, end = self._marks()
        lines = []
        for u in units:
            first, second = u.frames
            if first == second:
                label = f"Frame {first + 1} at {clock(u.timestamps_s[0])}"
            else:
                label = f"Frames {first + 1}-{second + 1} at {clock(u.timestamps_s[0])} and {clock(u.timestamps_s[1])}"
            lines.append(f"{label}: {start}{self.placeholder}{end}")
        return "\n".join(lines) + "\n" + question

    def full_positions(self, layout: Layout, units: list[Unit]) -> torch.Tensor:
        # One single-patch video per unit: the temporal index is 0 inside each, so the seconds per
        # patch only matter for the record; text labels carry the time.
        spacing = torch.tensor([u.timestamps_s[1] - u.timestamps_s[0] for u in units], device=self.device)
        positions, _ = self.model.model.get_rope_index(
            layout.input_ids.unsqueeze(0).to(self.device),
            self._token_types(layout),
            video_grid_thw=self._grid_rows(units),
            second_per_grid_ts=spacing,
        )
        return positions  # (3, 1, L)


class Qwen3VLLLM(_QwenVL):
    family = "qwen3_vl"
    model_class = "Qwen3VLForConditionalGeneration"

    def prompt_body(self, units: list[Unit], question: str, duration_s: float | None) -> str:
        start, end = self._marks()
        return "".join(f"<{u.time_s:.1f} seconds>{start}{self.placeholder}{end}" for u in units) + question

    def full_positions(self, layout: Layout, units: list[Unit]) -> torch.Tensor:
        positions, _ = self.model.model.get_rope_index(
            layout.input_ids.unsqueeze(0).to(self.device),
            self._token_types(layout),
            video_grid_thw=self._grid_rows(units),
        )
        return positions  # (3, 1, L)

    def generate_inputs(self, prep: Prepared) -> dict[str, Any]:
        # DeepStack adds visual features inside the first decoder layers at the visual positions;
        # only the model's own forward can do that, so it gets the kept ids + kept features and
        # scatters them itself (the same embeddings as prep.inputs_embeds).
        from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures

        dtype = self.model.dtype
        deepstack = prune_side(prep.units, prep.kept, "deepstack")  # (layers, N, D)
        video = BaseModelOutputWithDeepstackFeatures(
            pooler_output=(prep.kept.features.to(self.device, dtype),),
            deepstack_features=[(layer.to(self.device, dtype),) for layer in deepstack],
        )
        return {
            "input_ids": prep.input_ids.to(self.device),
            "attention_mask": prep.attention_mask,
            "position_ids": prep.position_ids,
            "mm_encoder_outputs": {"video": video},
        }
