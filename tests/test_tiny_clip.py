"""The shipped tiny CLIP: files, loading through open_clip and longvid.embed, real quality on
held-out frames (which random weights of the same architecture fail), and the training script."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from longvid.synth import ALL_COMBOS, TRAINING_SEED_BASE, plan_needle_video, generate_video, render_still
from longvid.synth.vocab import classification_prompts

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "longvid" / "models" / "tiny-clip"


def held_out_frames(count: int = 60, seed: int = 31) -> tuple[list[np.ndarray], np.ndarray]:
    """One object per frame, each class twice, fresh backgrounds from an evaluation seed."""
    assert seed < TRAINING_SEED_BASE
    frames, labels = [], []
    for i in range(count):
        frame, objects = render_still(np.random.default_rng([seed, i]), combos=[ALL_COMBOS[i % len(ALL_COMBOS)]])
        assert len(objects) == 1
        frames.append(frame)
        labels.append(i % len(ALL_COMBOS))
    return frames, np.array(labels)


def accuracy(encoder, frames, labels) -> float:
    text = encoder.encode_text(classification_prompts())
    return float(((encoder.encode_images(frames) @ text.T).argmax(axis=1) == labels).mean())


@pytest.fixture(scope="session")
def held_out():
    return held_out_frames(60)


@pytest.fixture(scope="session")
def tiny():
    from longvid.embed import load_encoder

    return load_encoder("tiny")


@pytest.fixture(scope="session")
def random_tiny(tmp_path_factory):
    """The shipped config with random weights, saved and loaded the same way."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from longvid.embed import load_encoder

    folder = tmp_path_factory.mktemp("random-tiny")
    config = json.loads((TINY / "open_clip_config.json").read_text())
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**config["model_cfg"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return load_encoder(str(folder))


def test_shipped_files():
    files = {p.name: p for p in TINY.iterdir()}
    assert {"open_clip_config.json", "open_clip_model.safetensors", "training.json"} <= set(files)
    assert sum(p.stat().st_size for p in files.values()) <= 20_000_000
    config = json.loads(files["open_clip_config.json"].read_text())
    assert config["preprocess_cfg"]["resize_mode"] == "squash"  # 16:9 frames: never crop objects away
    assert isinstance(config["model_cfg"]["vision_cfg"]["layers"], list)  # open_clip's ModifiedResNet tower
    record = json.loads(files["training.json"].read_text())
    assert record["complete"] and record["steps"] == record["steps_planned"]
    assert record["held_out"]["final_accuracy"] >= 0.95 > 0.1 >= record["held_out"]["random_weights_accuracy"]
    assert record["two_core_timing"]["projected_minutes_for_planned_steps"] <= 30


def test_loads_with_plain_open_clip(held_out):
    import open_clip
    import torch

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{TINY}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{TINY}")
    assert type(model.visual).__name__ == "ModifiedResNet"
    assert preprocess.transforms[0].size == (96, 96)  # squash: the whole 16:9 frame, no crop
    from PIL import Image

    frames, labels = held_out
    with torch.inference_mode():
        images = model.encode_image(torch.stack([preprocess(Image.fromarray(f)) for f in frames]), normalize=True)
        texts = model.encode_text(tokenizer(classification_prompts()), normalize=True)
    assert float(((images @ texts.T).argmax(dim=1).numpy() == labels).mean()) >= 0.9


def test_classifies_held_out_frames_where_random_weights_fail(tiny, random_tiny, held_out):
    frames, labels = held_out
    assert tiny.model_id.startswith("open_clip:tiny-clip@")
    assert accuracy(tiny, frames, labels) >= 0.95
    assert accuracy(random_tiny, frames, labels) <= 0.2  # chance is 1/30


def test_finds_a_needle_in_a_generated_video(tmp_path, tiny, random_tiny):
    """End to end through indexing and search: the top moment for "a <colour> <shape>" is the needle."""
    from longvid.config import PipelineConfig
    from longvid.indexing import search_video

    truth = generate_video(tmp_path / "hay.mp4", plan_needle_video(41, 60, distractors_per_minute=8))
    needle = truth.needles[0]
    config = PipelineConfig.from_preset("tiny").with_overrides({"store": {"path": str(tmp_path / "store")}})
    query = f"a {needle.colour} {needle.shape}"
    found = search_video(tmp_path / "hay.mp4", query, k=1, config=config, encoder=tiny)
    assert found.moments[0].overlaps(needle.start_s, needle.end_s)
    assert found.frames_searched == 60


def test_training_script_is_reproducible(tmp_path):
    """Two short runs with one seed write identical weights, loadable as an open_clip folder."""
    sys.path.insert(0, str(REPO / "tools"))
    import train_tiny_clip

    args = ["--steps", "2", "--batch", "6", "--held-out", "6", "--workers", "0", "--bank", "4", "--threads", "1"]
    for name in ("a", "b"):
        assert train_tiny_clip.main(args + ["--out", str(tmp_path / name)]) == 0
    digest = [hashlib.sha256((tmp_path / n / "open_clip_model.safetensors").read_bytes()).hexdigest() for n in "ab"]
    assert digest[0] == digest[1]
    record = json.loads((tmp_path / "a" / "training.json").read_text())
    assert record["seed"] == 0 and record["steps"] == 2 and record["complete"]
    assert not (tmp_path / "a.partial").exists()

    from longvid.embed import load_encoder

    encoder = load_encoder(str(tmp_path / "a"), cache=False)
    assert encoder.encode_text(["a red star"]).shape == (1, 128)
