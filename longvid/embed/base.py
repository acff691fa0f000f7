"""The encoder protocol and the plumbing every torch-based encoder shares.

An encoder turns RGB frames and text into L2-normalised float32 vectors of one fixed dimension.
``model_id`` names the exact weights (it includes a content digest), because the store keys
vectors by it: two encoders with the same ``model_id`` must give the same vectors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import torch


@runtime_checkable
class Encoder(Protocol):
    """What the index pipeline and the search need from an image-text model.

    ``encode_images`` takes RGB uint8 arrays (H, W, 3), ``longvid.types.Frame`` objects, or one
    (N, H, W, 3) array; ``encode_text`` takes strings. Both return (n, dim) float32 arrays whose
    rows have unit L2 norm, so a dot product is the cosine similarity.
    """

    model_id: str
    dim: int

    def encode_images(self, images: Any) -> np.ndarray: ...

    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...


def as_rgb_list(images: Any) -> list[np.ndarray]:
    """Frames, arrays or a stacked batch -> a list of (H, W, 3) uint8 arrays (no copies)."""
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            images = [images]
        elif images.ndim == 4:
            images = list(images)
        else:
            raise InvalidArgumentError(
                f"images array has shape {images.shape}", "pass (H, W, 3) or (N, H, W, 3) RGB uint8"
            )
    out = []
    for position, item in enumerate(images):
        array = getattr(item, "image", item)  # longvid.types.Frame carries its pixels in .image
        if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[2] != 3:
            shape = getattr(array, "shape", type(array).__name__)
            raise InvalidArgumentError(f"image #{position} has shape {shape}", "expected (H, W, 3) RGB")
        if array.dtype != np.uint8:
            raise InvalidArgumentError(f"image #{position} has dtype {array.dtype}", "expected uint8 RGB")
        out.append(array)
    return out


def as_text_list(texts: Any) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    out = list(texts)
    for position, text in enumerate(out):
        if not isinstance(text, str):
            raise InvalidArgumentError(f"text #{position} is a {type(text).__name__}", "pass strings")
    return out


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def same_shape_runs(images: Sequence[np.ndarray]) -> Iterable[tuple[int, int]]:
    """(start, stop) ranges of consecutive images with one shape, so each can become one tensor."""
    start = 0
    for i in range(1, len(images) + 1):
        if i == len(images) or images[i].shape != images[start].shape:
            yield start, i
            start = i


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is usable, else 'cpu'; anything else is checked and returned."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidArgumentError(f"device {device!r} requested but CUDA is not available", "use --device cpu or auto")
        return device
    if device == "mps" and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return device
    raise InvalidArgumentError(f"unknown device {device!r}", "use 'auto', 'cpu', 'cuda' or 'cuda:N'")


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Use ``threads`` intra-op threads inside the block, then restore the previous count.

    0 leaves torch's setting alone: other torch users in the process (an LLM, a second encoder)
    keep what they chose, and a decoder thread can be given its share by the caller.
    """
    import torch

    if threads <= 0 or torch.get_num_threads() == threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# A question is a handful of tokens: its matrix products are too small to split across threads,
# and when another process holds a core the threads wait on each other at every layer (measured
# on a busy 2-core machine, ViT-B-32's text tower: 1 thread 150 ms, 2 threads 1,500 ms at p50).
# With threads=0 ("automatic"), small text batches therefore run on one thread.
SMALL_TEXT_BATCH = 4


def normalized_numpy(features: "torch.Tensor") -> np.ndarray:
    """(n, d) tensor -> float32 NumPy rows of unit length (zero rows stay zero)."""
    import torch

    features = features.float()
    features = features / features.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return np.ascontiguousarray(features.detach().to("cpu", torch.float32).numpy())


class TorchEncoder:
    """Shared batching, threading and output handling; backends implement the two ``_forward``s."""

    model_id: str
    dim: int
    name: str  # what people typed (or a readable form of it); model_id is the exact one

    def __init__(self, *, device: str = "auto", batch_size: int = 32, threads: int = 0):
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size = {batch_size} is invalid", "expected at least 1")
        if threads < 0:
            raise InvalidArgumentError(f"threads = {threads} is invalid", "expected 0 (automatic) or more")
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.threads = threads

    # --- backends fill these in ---------------------------------------------------------------

    def _forward_images(self, pixels: "torch.Tensor") -> "torch.Tensor":  # pragma: no cover
        raise NotImplementedError

    def _preprocess(self, images: Sequence[np.ndarray]) -> "torch.Tensor":  # pragma: no cover
        raise NotImplementedError

    def _forward_texts(self, texts: list[str]) -> "torch.Tensor":  # pragma: no cover
        raise NotImplementedError

    # --- protocol -------------------------------------------------------------------------------

    def encode_images(self, images: Any) -> np.ndarray:
        import torch

        arrays = as_rgb_list(images)
        if not arrays:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        with torch.inference_mode(), torch_threads(self.threads):
            for batch in batches(arrays, self.batch_size):
                pixels = torch.cat(
                    [self._preprocess(batch[a:b]) for a, b in same_shape_runs(batch)]
                ).to(self.device)
                parts.append(normalized_numpy(self._forward_images(pixels)))
        return np.concatenate(parts)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        items = as_text_list(texts)
        if not items:
            return np.zeros((0, self.dim), np.float32)
        parts = []
        with torch.inference_mode(), torch_threads(self.threads or (1 if len(items) <= SMALL_TEXT_BATCH else 0)):
            for batch in batches(items, self.batch_size):
                parts.append(normalized_numpy(self._forward_texts(list(batch))))
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, dim={self.dim}, device={self.device!r})"
