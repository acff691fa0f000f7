"""Video LLMs fed a budgeted set of visual tokens (transformers backends).

    from longvid.llm import load_llm
    llm = load_llm("llava-hf/llava-onevision-qwen2-0.5b-ov-hf")      # or a local model folder
    result = llm.answer(frames, timestamps_s, "when does the dog jump?", token_budget=2048)
    result.text, result.tokens_before, result.tokens_after, result.frame_tokens, result.prompt

``load_llm`` reads only ``config.json`` to pick the backend from the model's ``model_type`` (an
unknown or missing model fails here, before any weights are read), then loads the processor.
Weights load on the first ``answer()`` (after its arguments are checked) or on ``load_weights()``;
pass ``lazy=False`` to load them at once.

Backends live one per module and register here by ``model_type`` as ``"module:Class"`` strings, so
listing them imports neither torch nor transformers. Register your own class (a ``VideoLLM``
subclass) with ``LLM_BACKENDS.register("my_type", MyLLM)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import Registry
from .result import LLMResult
from .resolve import ModelSpec, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    from .base import VideoLLM

LLM_BACKENDS: Registry[Any] = Registry("LLM backend")
LLM_BACKENDS.register("llava_onevision", "longvid.llm.llava_onevision:LlavaOnevisionLLM")
LLM_BACKENDS.register("qwen2_5_vl", "longvid.llm.qwen_vl:Qwen25VLLLM")
LLM_BACKENDS.register("qwen3_vl", "longvid.llm.qwen_vl:Qwen3VLLLM")
LLM_BACKENDS.register("smolvlm", "longvid.llm.smolvlm:SmolVLMLLM")


def backend_for(spec: ModelSpec) -> type:
    """The backend class registered for the model's ``model_type`` (clear error when none is)."""
    from ..errors import InvalidArgumentError

    if spec.model_type not in LLM_BACKENDS:
        raise InvalidArgumentError(
            f"model {spec.name!r} is a {spec.model_type!r} model, which no LLM backend supports",
            f"use a model of type {', '.join(LLM_BACKENDS.names())}",
        )
    return LLM_BACKENDS.get(spec.model_type)


def load_llm(model: str, device: str = "auto", dtype: str = "auto", *, lazy: bool = True) -> "VideoLLM":
    """A ready backend for ``model`` (a hub id or a local folder holding ``config.json``).

    ``device``: "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:N" or "mps".
    ``dtype``: "auto" (bfloat16 on CUDA, float32 elsewhere), "float32", "bfloat16" or "float16".
    Arguments and the model's config are checked before any weights are read.
    """
    from .device import check_device, check_dtype

    check_device(device)
    check_dtype(dtype)
    spec = resolve_model(model)
    cls = backend_for(spec)
    llm = cls(spec, device=device, dtype=dtype)
    if not lazy:
        llm.load_weights()
    return llm


__all__ = ["LLM_BACKENDS", "LLMResult", "ModelSpec", "backend_for", "load_llm", "resolve_model"]
