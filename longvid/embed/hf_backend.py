"""transformers image-text models (CLIP, SigLIP, SigLIP2 and others with ``get_image_features`` /
``get_text_features``): ``hf:openai/clip-vit-base-patch32`` or ``hf:/path/to/saved/folder``.

Repos are resolved to a local folder first (Hugging Face cache, then download when allowed), then
loaded with ``AutoModel`` / ``AutoProcessor.from_pretrained`` from that folder, so the content
digest in ``model_id`` covers exactly the files that were loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError
from . import resolve
from .base import TorchEncoder

# Files that shape the outputs; other formats in a repo (TF, Flax, ONNX) are never fetched.
_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken"]
_WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
_TOKENIZER_FILES = ("vocab.json", "merges.txt", "tokenizer.json", "spiece.model", "tokenizer.model", "sentencepiece.bpe.model")


def load(rest: str, *, device: str = "auto", batch_size: int = 32, threads: int = 0) -> "TransformersEncoder":
    spec = f"hf:{rest}"
    folder = Path(rest).expanduser()
    if not folder.is_dir():
        if rest.count("/") > 1 or rest.startswith((".", "/", "~")):
            raise ModelNotFoundError(f"model {spec!r}: folder {folder} does not exist", "check the path")
        folder = resolve.hub_snapshot(rest, _PATTERNS + ["pytorch_model*.bin"], spec=spec)
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(f"model {spec!r}: {folder} has no config.json", "save the model with save_pretrained()")
    weights = sorted({p for pattern in _WEIGHTS for p in folder.glob(pattern)})
    if not weights:
        raise ModelNotFoundError(
            f"model {spec!r}: {folder} has no weights (model.safetensors or pytorch_model.bin)",
            "save the model with save_pretrained()",
        )
    from transformers import AutoModel, AutoProcessor

    from ..progress import transformers_bars_follow_the_terminal

    transformers_bars_follow_the_terminal()
    try:
        model = AutoModel.from_pretrained(folder, dtype="float32")
        processor = AutoProcessor.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(f"model {spec!r} could not be loaded from {folder}: {' '.join(str(exc).split())[:200]}") from None
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise ModelNotFoundError(
            f"model {spec!r} ({type(model).__name__}) is not an image-text embedding model",
            "use a CLIP- or SigLIP-style model",
        )
    files = weights + [folder / n for n in ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json", *_TOKENIZER_FILES) if (folder / n).is_file()]
    name = rest if not Path(rest).expanduser().is_dir() else folder.name
    return TransformersEncoder(model, processor, name=name, files=files, device=device, batch_size=batch_size, threads=threads)


def _features(output: Any):
    """transformers 5 returns an output object (projected features in ``pooler_output``); 4.x a tensor."""
    return getattr(output, "pooler_output", output)


class TransformersEncoder(TorchEncoder):
    def __init__(self, model, processor, *, name: str, files: list[Path], **options: Any):
        super().__init__(**options)
        self.model = model.eval().to(self.device)
        self.processor = processor
        self.name = name
        config = model.config
        # SigLIP was trained on text padded to the full length; CLIP on text padded to the batch.
        self._text_padding = "max_length" if "siglip" in config.model_type else True
        settings = {"model_type": config.model_type, "padding": str(self._text_padding), "precision": "fp32"}
        self.model_id = f"hf:{name}@{resolve.weights_digest(files, settings)}"
        # Families name the projection size differently in their configs; one forward is certain.
        self.dim = 0
        self.dim = int(self.encode_text(["a"]).shape[1])

    def _preprocess(self, images: Sequence[np.ndarray]):
        return self.processor.image_processor(images=list(images), return_tensors="pt")["pixel_values"]

    def _forward_images(self, pixels):
        return _features(self.model.get_image_features(pixel_values=pixels))

    def _forward_texts(self, texts: list[str]):
        tokenizer = self.processor.tokenizer
        inputs = tokenizer(texts, padding=self._text_padding, truncation=True, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        return _features(self.model.get_text_features(**inputs))
