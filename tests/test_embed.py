"""Encoders: real open_clip / transformers loading of tiny fixture models, preprocessing equal to
the libraries' own transforms, exact trimmed text encoding, model ids, errors, user encoders."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from tiny_clip import make_open_clip_folder, tiny_clip_dir, tiny_hf_clip_dir, tiny_hf_siglip_dir  # noqa: F401

from longvid.embed import ENCODERS, load_encoder, register_encoder
from longvid.embed.resolve import TINY_MODEL_DIR
from longvid.errors import InvalidArgumentError, ModelNotFoundError
from longvid.types import Frame


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(7)
    # smooth-ish pictures (resampling filters differ most on pure noise), 16:9 like video frames
    base = rng.integers(0, 256, (6, 9, 16, 3)).astype(np.float32)
    big = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)  # 72 x 128
    return (big + rng.normal(0, 6, big.shape)).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_open_clip_folder_loads_and_outputs_unit_vectors(tiny_clip_dir, images):
    enc = load_encoder(str(tiny_clip_dir), cache=False)
    assert enc.dim == 16
    assert enc.model_id.startswith("open_clip:tiny-a@") and len(enc.model_id.split("@")[1]) == 16
    v = enc.encode_images(images)
    t = enc.encode_text(["a red star", "a blue circle jumping over a fence"])
    assert v.shape == (6, 16) and t.shape == (2, 16)
    assert v.dtype == np.float32 and t.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(v[0], v[1])  # different pictures, different vectors


def test_batching_and_input_forms_give_the_same_vectors(tiny_clip_dir, images):
    whole = load_encoder(str(tiny_clip_dir), batch_size=32, cache=False)
    small = load_encoder(str(tiny_clip_dir), batch_size=2, cache=False)
    a = whole.encode_images(images)
    np.testing.assert_allclose(small.encode_images(list(images)), a, atol=1e-5)
    frames = [Frame(pts_s=float(i), index=i, image=im) for i, im in enumerate(images)]
    np.testing.assert_allclose(whole.encode_images(frames), a, atol=1e-6)
    # mixed sizes in one call are fine (grouped into tensors of one shape)
    mixed = [images[0], images[1][:40, :60].copy(), images[2]]
    np.testing.assert_allclose(whole.encode_images(mixed)[[0, 2]], a[[0, 2]], atol=1e-5)
    assert whole.encode_images([]).shape == (0, 16)


@pytest.mark.parametrize("resize_mode", ["shortest", "squash", "longest"])
def test_tensor_preprocessing_matches_open_clip_reference_transform(tmp_path, images, resize_mode):
    import open_clip
    import torch
    from PIL import Image

    folder = make_open_clip_folder(tmp_path / resize_mode, resize_mode=resize_mode)
    enc = load_encoder(str(folder), cache=False)
    _, reference = open_clip.create_model_from_pretrained(f"local-dir:{folder}")
    ours = enc._preprocess(list(images))
    ref = torch.stack([reference(Image.fromarray(im)) for im in images])
    assert ours.shape == ref.shape
    # uint8 bicubic antialiased resize in torchvision vs PIL: at most a couple of grey levels
    assert (ours - ref).abs().max().item() < 3.5 / 255 / 0.26
    with torch.inference_mode():
        ref_vec = torch.nn.functional.normalize(enc.model.encode_image(ref.to(enc.device)), dim=-1).cpu().numpy()
    cos = (enc.encode_images(images) * ref_vec).sum(1)
    assert cos.min() > 0.999


def test_trimmed_text_encoding_equals_full_context(tiny_clip_dir):
    import torch

    enc = load_encoder(str(tiny_clip_dir), cache=False)
    assert enc._text_parts is not None  # causal CLIP text tower: trimming applies
    texts = ["a", "a red star and a blue circle", "when does the dog jump into the lake?"]
    tokens = enc.tokenizer(texts).to(enc.device)
    with torch.inference_mode():
        full = torch.nn.functional.normalize(enc.model.encode_text(tokens), dim=-1).cpu().numpy()
    np.testing.assert_allclose(enc.encode_text(texts), full, atol=2e-6)


def test_model_id_follows_content_not_location(tmp_path, tiny_clip_dir):
    a = load_encoder(str(tiny_clip_dir), cache=False)
    copy = shutil.copytree(tiny_clip_dir, tmp_path / "tiny-a")
    assert load_encoder(str(copy), cache=False).model_id == a.model_id
    other_weights = make_open_clip_folder(tmp_path / "x" / "tiny-a", seed=5)
    assert load_encoder(str(other_weights), cache=False).model_id != a.model_id
    other_preprocess = make_open_clip_folder(tmp_path / "y" / "tiny-a", resize_mode="squash")
    assert load_encoder(str(other_preprocess), cache=False).model_id != a.model_id


def test_open_clip_prefix_and_encoder_cache(tiny_clip_dir):
    a = load_encoder(f"open_clip:{tiny_clip_dir}")
    assert load_encoder(f"open_clip:{tiny_clip_dir}") is a
    assert load_encoder(f"open_clip:local-dir:{tiny_clip_dir}", cache=False).model_id == a.model_id


def test_architecture_name_with_a_checkpoint_file(tmp_path, tiny_clip_dir, images):
    """``open_clip:NAME//path/to/checkpoint``: a registered architecture plus a weights file."""
    import json

    import open_clip

    config = json.loads((tiny_clip_dir / "open_clip_config.json").read_text())["model_cfg"]
    (tmp_path / "longvid-tiny-arch.json").write_text(json.dumps(config))
    open_clip.add_model_config(tmp_path / "longvid-tiny-arch.json")
    checkpoint = tiny_clip_dir / "open_clip_model.safetensors"
    enc = load_encoder(f"open_clip:longvid-tiny-arch/{checkpoint}", cache=False)
    folder = load_encoder(str(tiny_clip_dir), cache=False)
    assert enc.dim == 16 and enc.model_id.startswith("open_clip:longvid-tiny-arch/open_clip_model.safetensors@")
    # same weights, same preprocessing (shortest side, bicubic) -> same vectors as the folder form
    np.testing.assert_allclose(enc.encode_images(images), folder.encode_images(images), atol=1e-5)
    np.testing.assert_allclose(enc.encode_text(["a red star"]), folder.encode_text(["a red star"]), atol=1e-5)


def test_transformers_clip_matches_its_own_processor_and_forward(tiny_hf_clip_dir, images):
    import torch
    from transformers import AutoModel, AutoProcessor

    enc = load_encoder(f"hf:{tiny_hf_clip_dir}", device="cpu", cache=False)  # compared with a CPU reference
    assert enc.dim == 16 and enc.model_id.startswith("hf:tiny-hf-clip@")
    model = AutoModel.from_pretrained(tiny_hf_clip_dir).eval()
    processor = AutoProcessor.from_pretrained(tiny_hf_clip_dir)
    texts = ["a red star", "a dog"]
    with torch.inference_mode():
        inputs = processor(text=texts, images=list(images), return_tensors="pt", padding=True)
        out = model(**inputs)
    np.testing.assert_allclose(enc.encode_images(images), torch.nn.functional.normalize(out.image_embeds, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(enc.encode_text(texts), torch.nn.functional.normalize(out.text_embeds, dim=-1).numpy(), atol=1e-5)
    # a folder path alone is recognised as a transformers model
    assert load_encoder(str(tiny_hf_clip_dir), cache=False).model_id == enc.model_id


def test_transformers_siglip_pads_text_to_full_length_like_its_training(tiny_hf_siglip_dir, images):
    import torch
    from transformers import AutoModel, AutoProcessor

    enc = load_encoder(f"hf:{tiny_hf_siglip_dir}", device="cpu", cache=False)
    assert enc.dim == 32 and enc.model_id.startswith("hf:tiny-hf-siglip@")
    model = AutoModel.from_pretrained(tiny_hf_siglip_dir).eval()
    processor = AutoProcessor.from_pretrained(tiny_hf_siglip_dir)
    texts = ["a red star", "a dog"]
    with torch.inference_mode():
        inputs = processor(text=texts, images=list(images), return_tensors="pt", padding="max_length")
        assert inputs["input_ids"].shape == (2, 16)
        out = model(**inputs)
    np.testing.assert_allclose(enc.encode_images(images), torch.nn.functional.normalize(out.image_embeds, dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(enc.encode_text(texts), torch.nn.functional.normalize(out.text_embeds, dim=-1).numpy(), atol=1e-5)
    # one text alone gives the same vector as in a batch: padding is fixed, not per batch
    np.testing.assert_allclose(enc.encode_text(["a dog"])[0], enc.encode_text(texts)[1], atol=1e-6)


@pytest.mark.parametrize(
    "spec, words",
    [
        ("nonsense-model", ["unknown model", "nonsense-model"]),
        ("zzz:whatever", ["unknown model", "zzz"]),
        ("open_clip:NoSuchArch/openai", ["NoSuchArch", "not an open_clip architecture"]),
        ("open_clip:ViT-B-32", ["names no weights", "open_clip:ViT-B-32/TAG"]),
        ("open_clip:ViT-B-32/no-such-tag", ["no-such-tag", "neither a pretrained tag"]),
        ("open_clip:ViT-B-32/openai", ["open_clip:ViT-B-32/openai", "Hugging Face cache", "HF_HUB_OFFLINE"]),
        ("open_clip:hf-hub:timm/ViT-B-16-SigLIP2", ["timm/ViT-B-16-SigLIP2", "Hugging Face cache"]),
        ("hf:openai/clip-vit-base-patch32", ["openai/clip-vit-base-patch32", "Hugging Face cache"]),
        ("hf:/no/such/folder/here", ["does not exist"]),
    ],
)
def test_unavailable_models_fail_clearly(spec, words):
    with pytest.raises(ModelNotFoundError) as info:
        load_encoder(spec, cache=False)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_folder_without_weights_is_refused(tmp_path, tiny_clip_dir):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    shutil.copy(tiny_clip_dir / "open_clip_config.json", folder)
    with pytest.raises(ModelNotFoundError, match="no open_clip_model.safetensors"):
        load_encoder(f"open_clip:{folder}", cache=False)


def test_tiny_is_the_shipped_folder():
    complete = (TINY_MODEL_DIR / "open_clip_config.json").is_file() and (TINY_MODEL_DIR / "open_clip_model.safetensors").is_file()
    if complete:
        enc = load_encoder("tiny")
        assert enc.model_id.startswith("open_clip:tiny-clip@")
        assert enc.encode_text(["a red star"]).shape == (1, enc.dim)
    else:
        with pytest.raises(ModelNotFoundError, match="tiny"):
            load_encoder("tiny", cache=False)


def test_user_registered_encoder():
    class Constant:
        def __init__(self, rest, **options):
            self.model_id = f"const:{rest}@v1"
            self.dim = 3
            self.options = options

        def encode_images(self, images):
            return np.tile(np.array([[1, 0, 0]], np.float32), (len(images), 1))

        def encode_text(self, texts):
            return np.tile(np.array([[0, 1, 0]], np.float32), (len(texts), 1))

    register_encoder("const-test", Constant, replace=True)
    enc = load_encoder("const-test:abc", batch_size=4, cache=False)
    assert enc.model_id == "const:abc@v1" and enc.options["batch_size"] == 4
    assert "const-test" in ENCODERS.names()

    register_encoder("broken-test", lambda rest, **o: object(), replace=True)
    with pytest.raises(InvalidArgumentError, match="not an encoder"):
        load_encoder("broken-test:x", cache=False)


def test_bad_images_are_refused_with_the_position(tiny_clip_dir):
    enc = load_encoder(str(tiny_clip_dir))
    with pytest.raises(InvalidArgumentError, match="image #1 has dtype float32"):
        enc.encode_images([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(InvalidArgumentError, match="image #0 has shape"):
        enc.encode_images([np.zeros((8, 8), np.uint8)])
    with pytest.raises(InvalidArgumentError, match="text #1"):
        enc.encode_text(["ok", 3])


def test_threads_setting_is_restored(tiny_clip_dir, images):
    import torch

    before = torch.get_num_threads()
    enc = load_encoder(str(tiny_clip_dir), threads=1, cache=False)
    enc.encode_images(images[:2])
    assert torch.get_num_threads() == before
    with pytest.raises(InvalidArgumentError, match="threads"):
        load_encoder(str(tiny_clip_dir), threads=-1, cache=False)
