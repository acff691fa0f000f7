"""Thumbnails of the selected frames as ``data:`` URIs (JPEG via Pillow), so the page needs no files."""

from __future__ import annotations

import base64
import io

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Answer, Frame

THUMB_MAX_W = 360
THUMB_MAX_H = 270
JPEG_QUALITY = 85


def check_image(image: object, where: str) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, or an InvalidArgumentError naming ``where``."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InvalidArgumentError(
            f"{where} is not an RGB picture (shape {shape}, dtype {dtype})", "expected an (H, W, 3) uint8 array"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidArgumentError(f"{where} is an empty picture (shape {image.shape})")
    return image


def thumbnail_data_uri(image: np.ndarray, *, max_w: int = THUMB_MAX_W, max_h: int = THUMB_MAX_H) -> str:
    """A JPEG ``data:`` URI of ``image`` (RGB uint8) shrunk to fit ``max_w`` x ``max_h``."""
    from PIL import Image

    image = check_image(image, "thumbnail image")
    picture = Image.fromarray(np.ascontiguousarray(image), mode="RGB")
    picture.thumbnail((max_w, max_h), Image.Resampling.LANCZOS)  # keeps the aspect ratio, never enlarges
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def evidence_frames(answer: Answer) -> list[Frame | None]:
    """The picture of each evidence frame (same order), or None everywhere when none were kept."""
    frames, evidence = answer.frames, answer.evidence
    if not frames:
        return [None] * len(evidence)
    if len(frames) != len(evidence):
        raise InvalidArgumentError(
            f"answer has {len(evidence)} evidence frames but {len(frames)} pictures in answer.frames",
            "give one frame per evidence entry, in the same order (or none at all)",
        )
    for number, frame in enumerate(frames):
        check_image(frame.image, f"answer.frames[{number}].image")
    return list(frames)
