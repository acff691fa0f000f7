"""Image and text encoders behind one protocol (``Encoder``), chosen by a model string.

    enc = load_encoder("tiny")                                  # longvid's own small CLIP
    enc = load_encoder("open_clip:ViT-B-32-SigLIP2-256/webli")  # any open_clip name + tag
    enc = load_encoder("hf:openai/clip-vit-base-patch32")       # transformers CLIP / SigLIP
    vectors = enc.encode_images(frames)     # (n, enc.dim) float32, unit rows
    query = enc.encode_text(["a dog jumping into a lake"])

The part before the first ``:`` picks an entry of ``ENCODERS``. Your own encoder plugs in the
same way; anything with ``model_id``, ``dim``, ``encode_images`` and ``encode_text`` works:

    from longvid.embed import register_encoder

    class MyEncoder:
        def __init__(self, name, **options):
            self.model_id = f"mine:{name}@v1"   # must change whenever the weights change
            self.dim = 512
        def encode_images(self, images): ...   # -> (n, 512) float32, L2-normalised
        def encode_text(self, texts): ...

    register_encoder("mine", lambda rest, **options: MyEncoder(rest, **options))
    load_encoder("mine:big")   # also: longvid index video.mp4 --model mine:big (after the import)

Factories receive ``device``, ``batch_size`` and ``threads`` keyword arguments.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from ..registry import Registry
from .base import Encoder
from .resolve import TINY_MODEL_DIR, split_spec

__all__ = ["ENCODERS", "Encoder", "TINY_MODEL_DIR", "load_encoder", "register_encoder", "check_encoder"]

ENCODERS: Registry[Callable[..., Encoder]] = Registry("encoder")
ENCODERS.register("open_clip", "longvid.embed.open_clip_backend:load")
ENCODERS.register("hf", "longvid.embed.hf_backend:load")

_LOADED: dict[tuple, Encoder] = {}
_LOCK = threading.Lock()


def register_encoder(scheme: str, factory: Callable[..., Encoder] | str, *, replace: bool = False) -> None:
    """Make ``load_encoder("SCHEME:...")`` call ``factory("...", device=, batch_size=, threads=)``."""
    ENCODERS.register(scheme, factory, replace=replace)


def load_encoder(
    model: str, *, device: str = "auto", batch_size: int = 32, threads: int = 0, cache: bool = True
) -> Encoder:
    """The encoder for a model string; loaded once per process and reused (``cache=False`` reloads)."""
    from ..errors import ModelNotFoundError

    scheme, rest = split_spec(model)
    if scheme not in ENCODERS:
        raise ModelNotFoundError(
            f"unknown model {model!r}: no encoder is registered for {scheme!r}",
            f"use one of: {', '.join(ENCODERS.names())}, 'tiny', or a local model folder",
        )
    key = (scheme, rest, device, batch_size, threads)
    with _LOCK:
        if cache and key in _LOADED:
            return _LOADED[key]
        encoder = ENCODERS.get(scheme)(rest, device=device, batch_size=batch_size, threads=threads)
        check_encoder(encoder)
        if cache:
            _LOADED[key] = encoder
        return encoder


def check_encoder(encoder: Any) -> Encoder:
    """Refuse an object that does not honour the protocol (a user's encoder, most likely)."""
    from ..errors import InvalidArgumentError

    if not isinstance(encoder, Encoder):
        raise InvalidArgumentError(
            f"{type(encoder).__name__} is not an encoder",
            "it needs model_id, dim, encode_images(images) and encode_text(texts)",
        )
    if not isinstance(encoder.model_id, str) or not encoder.model_id:
        raise InvalidArgumentError(f"{type(encoder).__name__}.model_id must be a non-empty string")
    if not isinstance(encoder.dim, int) or encoder.dim < 1:
        raise InvalidArgumentError(f"{type(encoder).__name__}.dim = {encoder.dim!r} is invalid", "expected a positive int")
    return encoder
