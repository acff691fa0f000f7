"""Object rendering: anti-aliased shape masks and drawing them onto frames.

Every shape is drawn inside a square box of ``size`` pixels; the mask's coverage is computed on a
4 x 4 supersampled grid, so edges are smooth and nothing is drawn outside the box (the ground
truth's bounding boxes are exact). Masks are cached per (shape, size).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .vocab import SHAPES

_SUPERSAMPLE = 4


def _inside_polygon(x: np.ndarray, y: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Even-odd rule for points (x, y) against a closed polygon (vectorised over the points)."""
    inside = np.zeros(x.shape, dtype=bool)
    xs, ys = vertices[:, 0], vertices[:, 1]
    for i in range(len(vertices)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_at)
    return inside


def _star_vertices(points: int = 5, outer: float = 1.0, inner: float = 0.45) -> np.ndarray:
    angles = -np.pi / 2 + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, outer, inner)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _coverage(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether points in the unit box [-1, 1]^2 (y down) lie inside ``shape``."""
    if shape == "circle":
        return x * x + y * y <= 0.95**2
    if shape == "square":
        return (np.abs(x) <= 0.82) & (np.abs(y) <= 0.82)
    if shape == "triangle":  # apex up, base at the bottom
        return (y <= 0.9) & (y >= -0.95 + 2 * 0.925 * np.abs(x))
    if shape == "star":
        return _inside_polygon(x, y, _star_vertices() * 1.0 + np.array([0.0, 0.08]))
    if shape == "cross":
        arm = 0.3
        return ((np.abs(x) <= arm) & (np.abs(y) <= 0.95)) | ((np.abs(y) <= arm) & (np.abs(x) <= 0.95))
    raise ValueError(f"unknown shape {shape!r}; choose one of {', '.join(SHAPES)}")


@lru_cache(maxsize=1024)
def shape_mask(shape: str, size: int) -> np.ndarray:
    """(size, size) float32 coverage in [0, 1] of ``shape`` drawn in a ``size``-pixel box."""
    if size < 2:
        raise ValueError(f"shape size must be at least 2 pixels, got {size}")
    n = size * _SUPERSAMPLE
    centres = (np.arange(n, dtype=np.float64) + 0.5) / n * 2.0 - 1.0
    x, y = np.meshgrid(centres, centres)
    inside = _coverage(shape, x, y).astype(np.float32)
    mask = inside.reshape(size, _SUPERSAMPLE, size, _SUPERSAMPLE).mean(axis=(1, 3))
    mask.setflags(write=False)
    return mask


def draw_shape(frame: np.ndarray, shape: str, box: tuple[int, int, int, int], rgb: np.ndarray) -> None:
    """Blend ``shape`` in colour ``rgb`` into ``frame`` (H, W, 3 uint8, in place) at ``box``.

    ``box`` is (x0, y0, x1, y1) in pixels, exclusive ends, square (x1 - x0 == y1 - y0); parts
    outside the frame are clipped.
    """
    x0, y0, x1, y1 = box
    size = x1 - x0
    mask = shape_mask(shape, size)
    h, w = frame.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    alpha = mask[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
    region = frame[cy0:cy1, cx0:cx1].astype(np.float32)
    region += alpha * (rgb.astype(np.float32) - region)
    frame[cy0:cy1, cx0:cx1] = (region + 0.5).astype(np.uint8)
