"""Bad input to the LLM layer: every mistake is a one-line error raised before weights are read.

Most checks run against a model folder whose weights file was removed: any attempt to read the
weights would raise ``ModelNotFoundError``, so an ``InvalidArgumentError`` proves the argument was
refused first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from tiny_vlms import tiny_frames, tiny_vlm_folder

from longvid.errors import InvalidArgumentError, LongvidError, ModelNotFoundError
from longvid.llm import LLM_BACKENDS, load_llm, resolve_model
from longvid.types import Frame

CONTEXT = 2048  # tiny models' max_position_embeddings


@pytest.fixture(scope="module")
def weightless(tmp_path_factory):
    """A LLaVA-OneVision folder with config, tokenizer and processor but no weights."""
    source = tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", "llava_onevision")
    folder = tmp_path_factory.mktemp("weightless")
    for item in source.iterdir():
        if item.suffix != ".safetensors":
            shutil.copy(item, folder / item.name)
    return folder


@pytest.fixture()
def llm(weightless):
    model = load_llm(str(weightless), device="cpu")
    yield model
    assert not model.weights_loaded  # nothing in these tests may reach the weights


def _one_line(exc: LongvidError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_unknown_model_path(tmp_path):
    with pytest.raises(ModelNotFoundError) as err:
        load_llm(str(tmp_path / "no-such-model"))
    assert "no-such-model" in _one_line(err.value)


def test_folder_without_config(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        load_llm(str(tmp_path))


def test_unsupported_model_type_is_refused_from_config_alone(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))  # nothing else in the folder
    with pytest.raises(InvalidArgumentError) as err:
        load_llm(str(tmp_path))
    text = _one_line(err.value)
    assert "'bert'" in text and all(name in text for name in LLM_BACKENDS.names())


def test_hub_id_not_cached_while_offline_fails_fast(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model("longvid-test/not-a-real-model")
    assert "longvid-test/not-a-real-model" in _one_line(err.value) and "HF_HUB_OFFLINE" in str(err.value)


def test_hub_id_found_in_cache(tmp_path, monkeypatch, weightless):
    from huggingface_hub import constants

    snapshot = tmp_path / "models--org--tiny-vlm" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    shutil.copy(weightless / "config.json", snapshot / "config.json")
    (tmp_path / "models--org--tiny-vlm" / "refs").mkdir()
    (tmp_path / "models--org--tiny-vlm" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    spec = resolve_model("org/tiny-vlm")
    assert spec.model_type == "llava_onevision" and spec.source == "org/tiny-vlm"
    assert spec.folder == snapshot and spec.context_length == CONTEXT


@pytest.mark.parametrize("question", ["", "   \n"])
def test_empty_question(llm, question):
    with pytest.raises(InvalidArgumentError, match="question is empty"):
        llm.answer(tiny_frames(2), [0.0, 1.0], question)


def test_question_with_the_models_placeholder(llm):
    with pytest.raises(InvalidArgumentError, match="reserved token '<video>'"):
        llm.answer(tiny_frames(2), [0.0, 1.0], "what is <video>?")


@pytest.mark.parametrize("budget", [0, -5, True, 2.5, CONTEXT + 1])
def test_bad_budget(llm, budget):
    with pytest.raises(InvalidArgumentError) as err:
        llm.answer(tiny_frames(2), [0.0, 1.0], "what happens?", token_budget=budget)
    assert repr(budget) in _one_line(err.value) or str(budget) in str(err.value)
    if budget == CONTEXT + 1:
        assert f"context of {llm.spec.name} ({CONTEXT} tokens)" in str(err.value)


def test_all_native_tokens_beyond_the_context(llm):
    frames = tiny_frames(1) * 200  # 200 frames x 16 tokens > 2048
    with pytest.raises(InvalidArgumentError, match="more than the context.*--tokens"):
        llm.answer(frames, [float(i) for i in range(200)], "what happens?")


@pytest.mark.parametrize(
    "frames, times, message",
    [
        ([], [], "no frames"),
        (tiny_frames(2), [0.0], "2 frames but 1 timestamps"),
        (tiny_frames(2), [2.0, 1.0], "not finite and increasing"),
        (tiny_frames(2), [0.0, float("nan")], "not finite and increasing"),
        ([tiny_frames(1)[0].astype("float32")], [0.0], "RGB uint8"),
        ([tiny_frames(1)[0][..., :2]], [0.0], "RGB uint8"),
        ([tiny_frames(1)[0], tiny_frames(1, height=32)[0]], [0.0, 1.0], "same size"),
    ],
)
def test_bad_frames(llm, frames, times, message):
    with pytest.raises(InvalidArgumentError, match=message):
        llm.answer(frames, times, "what happens?")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"relevance": [1.0]}, "1 scores for 2 frames"),
        ({"relevance": [1.0, -0.5]}, "negative"),
        ({"token_budget": 8, "token_method": "magic"}, "unknown token method 'magic'"),
        ({"token_budget": 8, "merge_threshold": -1.0}, "merge_threshold"),
        ({"max_new_tokens": 0}, "max_new_tokens"),
    ],
)
def test_bad_options(llm, options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        llm.answer(tiny_frames(2), [0.0, 1.0], "what happens?", **options)


@pytest.mark.parametrize("device, dtype", [("gpu", "auto"), ("cuda:x", "auto"), ("cpu", "int8")])
def test_bad_device_or_dtype(weightless, device, dtype):
    with pytest.raises(InvalidArgumentError):
        load_llm(str(weightless), device=device, dtype=dtype)


def test_cuda_asked_without_cuda(weightless):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidArgumentError, match="CUDA is not available"):
        load_llm(str(weightless), device="cuda")


def test_missing_weights_surface_when_needed(llm):
    with pytest.raises(ModelNotFoundError, match="safetensors"):
        llm.load_weights()
    assert not llm.weights_loaded


def test_damaged_weights_file(weightless, tmp_path):
    from longvid.errors import ModelError

    folder = tmp_path / "damaged"
    shutil.copytree(weightless, folder)
    (folder / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a safetensors header")
    llm = load_llm(str(folder), device="cpu")
    with pytest.raises(ModelError) as err:
        llm.answer(tiny_frames(2), [0.0, 1.0], "what happens?")
    assert type(err.value) is ModelError and "weights did not load" in _one_line(err.value)
    assert not llm.weights_loaded


def test_frames_with_timestamps_and_auto_dtype(tmp_path_factory):
    folder = tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", "llava_onevision")
    llm = load_llm(str(folder), device="cpu")
    assert not llm.weights_loaded and str(llm.dtype) == "torch.float32"
    frames = [Frame(pts_s=1.5 + i, index=i, image=img) for i, img in enumerate(tiny_frames(2))]
    result = llm.answer(frames, None, "what happens?", max_new_tokens=1)
    assert llm.weights_loaded and "Frame 2 at 00:00:02.5:" in result.prompt
    assert llm.native_tokens_per_frame(480, 640) == 16 and llm.context_length == CONTEXT


def test_importing_the_llm_layer_is_light():
    code = "import sys, longvid.llm as m; m.LLM_BACKENDS.names(); print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
