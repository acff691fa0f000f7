"""Tiny random-weight video LLMs of every family longvid supports, built locally for tests.

Each builder writes a complete model folder (config.json, safetensors weights, processor and
tokenizer files) with ``save_pretrained`` so that tests load it back through the real
``from_pretrained`` path, exactly as a downloaded model would be. No network, no pickle.

The tokenizer is a small byte-level BPE trained here on a few sentences, with the special tokens
each family's processor expects; chat templates are short Jinja templates in each family's shape.
Sizes are chosen so that one forward pass takes milliseconds: hidden size 64, 2 layers, frames
of 56 x 56 pixels giving 16 visual tokens per frame (per temporal patch for Qwen).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))  # the LLaVA-OneVision builder

FAMILIES = ("llava_onevision", "qwen2_5_vl", "qwen3_vl", "smolvlm")

FRAME_PX = 56  # frames are resized to this square (LLaVA-OneVision, SmolVLM) or this pixel area (Qwen)
HIDDEN = 64
VOCAB_SIZE = 512
CONTEXT = 2048

_CORPUS = [
    "Frame 1 at 00:00:01.5: what happens in the video? The dog jumps into the lake.",
    "Frames 3-4 at 00:01:23.5 and 00:01:24.0. When does the cat sleep on the red sofa?",
    "You are provided the following series of four frames from a 0:00:10 [H:MM:SS] video.",
    "Frame from 00:05: a person walks, a car drives, the scene changes, nothing moves.",
    "<0.5 seconds> <12.0 seconds> user assistant system question answer yes no 0123456789",
    "User: Assistant: How many people are there? Where is the ball? Describe the scene.",
]

_QWEN_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% elif part['type'] == 'video' %}<video>{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_QWEN_VL_TEMPLATE = _QWEN_TEMPLATE.replace("<video>", "<|vision_start|><|video_pad|><|vision_end|>")
_SMOL_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ ' ' + message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ ' ' + part['text'] }}"
    "{% elif part['type'] == 'video' %}<video>{% endif %}{% endfor %}{% endif %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}"
)

_SPECIAL = {
    "llava_onevision": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>"],
    "qwen2_5_vl": [
        "<|endoftext|>", "<|im_start|>", "<|im_end|>",
        "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    ],
    "smolvlm": [
        "<|endoftext|>", "<|im_start|>", "<end_of_utterance>",
        "<fake_token_around_image>", "<global-img>", "<image>", "<video>",
    ],
}
_SPECIAL["qwen3_vl"] = _SPECIAL["qwen2_5_vl"]


def build_tokenizer(family: str):
    """A byte-level BPE tokenizer trained on a few sentences, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = _SPECIAL[family]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - 8,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    eos = "<end_of_utterance>" if family == "smolvlm" else "<|im_end|>"
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=eos,
        pad_token="<|endoftext|>",
        extra_special_tokens={},
    )


def _text_kwargs(tokenizer) -> dict:
    return dict(
        vocab_size=VOCAB_SIZE,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def _llava_onevision(tokenizer):
    from train_tiny_vlm import llava_onevision

    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    # 56 / 7 = 8 x 8 patches, pooled to 4 x 4 = 16 tokens per frame
    return llava_onevision(tokenizer, FRAME_PX, 7, vision, _text_kwargs(tokenizer), _QWEN_TEMPLATE)


def _qwen_text(tokenizer, head_dim: int) -> dict:
    return dict(
        **_text_kwargs(tokenizer),
        head_dim=head_dim,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
    )


def _qwen2_5_vl(tokenizer):
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    patch = 7  # 56 x 56 -> 8 x 8 patches -> 2 x 2 merge -> 16 tokens per temporal patch
    config = Qwen2_5_VLConfig(
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=HIDDEN,
            patch_size=patch, spatial_merge_size=2, temporal_patch_size=2, window_size=28,
            fullatt_block_indexes=[1], tokens_per_second=2,
        ),
        text_config=dict(model_type="qwen2_5_vl_text", **_qwen_text(tokenizer, HIDDEN // 4)),
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    pixels = {"shortest_edge": 14 * 14, "longest_edge": FRAME_PX * FRAME_PX}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=patch, merge_size=2, size=pixels),
        video_processor=Qwen2VLVideoProcessor(
            patch_size=patch, merge_size=2, temporal_patch_size=2, size=pixels, cap_pixels_per_frame=True
        ),
        tokenizer=tokenizer,
        chat_template=_QWEN_VL_TEMPLATE,
    )
    return Qwen2_5_VLForConditionalGeneration(config), processor


def _qwen3_vl(tokenizer):
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    patch = 7
    config = Qwen3VLConfig(
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=HIDDEN,
            patch_size=patch, spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=64,
            deepstack_visual_indexes=[0, 1],
        ),
        text_config=dict(
            **_qwen_text(tokenizer, HIDDEN // 4),
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        video_token_id=tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        vision_start_token_id=tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        vision_end_token_id=tokenizer.convert_tokens_to_ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    config.text_config.rope_parameters["mrope_interleaved"] = True
    # Qwen3-VL's video pixel budget covers the whole clip (t * h * w): 56 x 56 per frame for 64 frames.
    video_pixels = {"shortest_edge": 14 * 14, "longest_edge": FRAME_PX * FRAME_PX * 64}
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            patch_size=patch, merge_size=2, size={"shortest_edge": 14 * 14, "longest_edge": FRAME_PX * FRAME_PX}
        ),
        video_processor=Qwen3VLVideoProcessor(
            patch_size=patch, merge_size=2, temporal_patch_size=2, size=video_pixels, do_sample_frames=False,
            cap_pixels_per_frame=False,
        ),
        tokenizer=tokenizer,
        chat_template=_QWEN_VL_TEMPLATE,
    )
    return Qwen3VLForConditionalGeneration(config), processor


def _smolvlm(tokenizer):
    from transformers import (
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    patch = 7  # 56 / 7 = 8 x 8 patches, pixel shuffle by 2 -> 16 tokens per frame
    config = SmolVLMConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            image_size=FRAME_PX, patch_size=patch,
        ),
        text_config=dict(model_type="llama", head_dim=HIDDEN // 4, **_text_kwargs(tokenizer)),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        scale_factor=2,
        tie_word_embeddings=True,
    )
    edge = {"longest_edge": FRAME_PX}
    processor = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(size=edge, max_image_size=edge, do_image_splitting=False),
        video_processor=SmolVLMVideoProcessor(
            size=edge, max_image_size=edge,
            video_sampling={"max_frames": 64, "fps": 1, "video_size": edge},
        ),
        tokenizer=tokenizer,
        image_seq_len=16,
        chat_template=_SMOL_TEMPLATE,
    )
    return SmolVLMForConditionalGeneration(config), processor


_BUILDERS = {
    "llava_onevision": _llava_onevision,
    "qwen2_5_vl": _qwen2_5_vl,
    "qwen3_vl": _qwen3_vl,
    "smolvlm": _smolvlm,
}


def build_tiny_vlm(family: str, folder: Path, seed: int = 0) -> Path:
    """Write a tiny random-weight model of ``family`` to ``folder``; returns the folder."""
    import torch

    torch.manual_seed(seed)
    tokenizer = build_tokenizer(family)
    model, processor = _BUILDERS[family](tokenizer)
    model.eval()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_vlm_folder(root: Path, family: str) -> Path:
    """``root/family``, built on first use (tests share it through pytest's session temp folder)."""
    folder = Path(root) / family
    if not (folder / "model.safetensors").is_file():
        build_tiny_vlm(family, folder)
    return folder


def tiny_frames(n: int, height: int = 48, width: int = 64, seed: int = 0):
    """``n`` random RGB uint8 frames with some structure (a moving bright square)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        img = rng.integers(0, 80, size=(height, width, 3), dtype=np.uint8)
        y, x = (4 + 5 * i) % (height - 12), (6 + 9 * i) % (width - 12)
        img[y : y + 12, x : x + 12] = (230, 200 - 30 * (i % 4), 40)
        frames.append(img)
    return frames


def word_restricted_copy(folder: Path, target: Path, words: tuple[str, ...]) -> Path:
    """A copy of a tiny model folder whose generation can only emit ``words`` (one token each, with the
    byte-level leading space): its ``generation_config.json`` suppresses every other token. The
    weights are untouched, so forward passes (option scores) are the original model's; greedy
    answers are whichever of the words the random weights prefer, so short answers are words."""
    import json
    import shutil

    from transformers import AutoTokenizer

    target = Path(target)
    if not (target / "model.safetensors").is_file():
        shutil.copytree(folder, target, dirs_exist_ok=True)
        tokenizer = AutoTokenizer.from_pretrained(target)
        allowed = {tokenizer.convert_tokens_to_ids("Ġ" + w) for w in words}
        assert tokenizer.unk_token_id not in allowed and None not in allowed, words
        config = json.loads((target / "generation_config.json").read_text())
        config["suppress_tokens"] = [i for i in range(VOCAB_SIZE) if i not in allowed]
        (target / "generation_config.json").write_text(json.dumps(config))
    return target
