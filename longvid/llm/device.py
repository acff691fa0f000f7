"""Device and dtype choice: CUDA with bfloat16 when available, else CPU with float32."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import torch

_DTYPES = {
    "float32": "float32", "fp32": "float32",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float16": "float16", "fp16": "float16",
}
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(device: str) -> None:
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise InvalidArgumentError(f"device {device!r} is invalid", "use auto, cpu, cuda, cuda:N or mps")


def check_dtype(dtype: str) -> None:
    if dtype != "auto" and dtype not in _DTYPES:
        raise InvalidArgumentError(f"dtype {dtype!r} is invalid", "use auto, float32, bfloat16 or float16")


def pick_device(device: str = "auto") -> "torch.device":
    import torch

    check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InvalidArgumentError(f"device {device!r} was asked for but CUDA is not available", "use --device cpu")
    return torch.device(device)


def pick_dtype(dtype: str, device: "torch.device") -> "torch.dtype":
    """``auto``: bfloat16 on CUDA (float16 on GPUs without bfloat16), float32 elsewhere."""
    import torch

    check_dtype(dtype)
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, _DTYPES[dtype])
