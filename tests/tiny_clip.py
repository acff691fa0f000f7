"""Tiny image-text models with random weights, saved the way real ones ship, for tests and benchmarks.

    folder = make_open_clip_folder(tmp_path / "a")                 # open_clip hub layout, dim 16
    folder = make_open_clip_folder(tmp_path / "b", embed_dim=24)   # a second, incompatible model
    folder = make_open_clip_folder(tmp, model_cfg=open_clip.get_model_config("ViT-B-32"))  # real size
    folder = make_hf_clip_folder(tmp_path / "hf")                   # transformers CLIPModel + processor

They are loaded back through the real loaders (``longvid.embed.load_encoder(str(folder))``).
Session fixtures at the bottom: import them into a test module (``from tiny_clip import tiny_clip_dir``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def tiny_model_cfg(embed_dim: int = 16, image_size: int = 32, context_length: int = 16) -> dict:
    """A ViT (width 32, 2 layers, patch 16) and a causal text transformer (width 32, 2 layers)."""
    return {
        "embed_dim": embed_dim,
        "vision_cfg": {"image_size": image_size, "layers": 2, "width": 32, "head_width": 16, "patch_size": 16, "mlp_ratio": 2.0},
        "text_cfg": {"context_length": context_length, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2, "mlp_ratio": 2.0},
    }


def make_open_clip_folder(
    folder: Path,
    *,
    embed_dim: int = 16,
    model_cfg: dict | None = None,
    resize_mode: str = "shortest",
    interpolation: str = "bicubic",
    seed: int = 0,
) -> Path:
    """Build an open_clip CLIP from ``model_cfg`` with seeded random weights and save it in the
    hub layout: open_clip_config.json ({"model_cfg", "preprocess_cfg"}) + open_clip_model.safetensors."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    cfg = model_cfg if model_cfg is not None else tiny_model_cfg(embed_dim=embed_dim)
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**cfg)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    preprocess = {
        "mean": list(open_clip.OPENAI_DATASET_MEAN),
        "std": list(open_clip.OPENAI_DATASET_STD),
        "interpolation": interpolation,
        "resize_mode": resize_mode,
    }
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess}, indent=2))
    return folder


def make_hf_clip_folder(folder: Path, *, projection_dim: int = 16, seed: int = 0) -> Path:
    """A transformers CLIPModel (random weights) with a CLIP BPE tokenizer built locally from a
    byte-level vocabulary (no merges beyond single characters) and a CLIP image processor."""
    import torch
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    eos = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=32, bos_token_id=eos - 1,
                         eos_token_id=eos, pad_token_id=eos),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
        projection_dim=projection_dim,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def make_hf_siglip_folder(folder: Path, *, seed: int = 0) -> Path:
    """A transformers SiglipModel (random weights, hidden size 32 = its embedding size) with the
    same locally built byte-level BPE tokenizer (SigLIP's own is sentencepiece, not installed
    here; the model only sees token ids) padded to a fixed 16 tokens, as SigLIP was trained."""
    import torch
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer, SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    eos = vocab["<|endoftext|>"]
    config = SiglipConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=16, pad_token_id=eos, eos_token_id=eos),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
    )
    torch.manual_seed(seed)
    model = SiglipModel(config)
    processor = SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def make_video(
    path: Path,
    *,
    seconds: float = 12.0,
    fps: int = 10,
    size: tuple[int, int] = (96, 64),
    shots: int = 3,
    gop: int = 10,
    seed: int = 0,
) -> Path:
    """A small H.264 file of ``shots`` equal-length shots with hard cuts between them: each shot a
    plain background of its own colour with a slowly moving square, written with PyAV."""
    import av
    import numpy as np

    palette = np.array([(210, 40, 40), (40, 190, 70), (40, 60, 210), (230, 220, 60), (150, 40, 170), (20, 20, 20)])
    rng = np.random.default_rng(seed)
    palette = palette[rng.permutation(len(palette))]
    width, height = size
    n = int(round(seconds * fps))
    side = max(4, height // 4)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "preset": "ultrafast"}
        for i in range(n):
            shot = min(i * shots // n, shots - 1)
            image = np.empty((height, width, 3), np.uint8)
            image[:] = palette[shot % len(palette)]
            x = (i * 2) % (width - side)
            y = (height - side) // 2
            image[y : y + side, x : x + side] = 255 - palette[shot % len(palette)]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# --- session fixtures (import them into a test module to use them) -------------------------------


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> Path:
    """Tiny open_clip model A: embed dim 16."""
    return make_open_clip_folder(tmp_path_factory.mktemp("tiny-clip-a") / "tiny-a", embed_dim=16, seed=0)


@pytest.fixture(scope="session")
def tiny_clip_dir_b(tmp_path_factory) -> Path:
    """Tiny open_clip model B: embed dim 24 (for model-mismatch tests)."""
    return make_open_clip_folder(tmp_path_factory.mktemp("tiny-clip-b") / "tiny-b", embed_dim=24, seed=1)


@pytest.fixture(scope="session")
def tiny_hf_clip_dir(tmp_path_factory) -> Path:
    return make_hf_clip_folder(tmp_path_factory.mktemp("tiny-hf") / "tiny-hf-clip")


@pytest.fixture(scope="session")
def tiny_hf_siglip_dir(tmp_path_factory) -> Path:
    return make_hf_siglip_folder(tmp_path_factory.mktemp("tiny-hf-siglip") / "tiny-hf-siglip")
