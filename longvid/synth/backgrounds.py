"""Scene backgrounds: muted textures on a canvas larger than the frame, seen through a panning camera.

A scene's background is rendered once (a few milliseconds) into ``GRAIN_FIELDS`` canvases that
differ only by film grain; each frame is then a crop of one of them (the camera position moves
back and forth across the canvas margin, so a scene can last any length of time) and, for
brightness drift and fades, a 256-entry look-up table. That keeps rendering at well over a
thousand frames per second at 320 x 180.

Every background colour has HSV saturation at most ``vocab.BACKGROUND_MAX_SATURATION`` and grain is
luminance-only, so saturated pixels only ever come from objects.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from .vocab import BACKGROUND_MAX_SATURATION

BACKGROUND_KINDS: tuple[str, ...] = ("gradient", "stripes", "blocks", "noise", "plasma")
GRAIN_FIELDS = 1


def muted_colour(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour with low saturation and mid value (float32, 0..255)."""
    hue = rng.random()
    sat = rng.uniform(0.0, BACKGROUND_MAX_SATURATION * 0.9)
    val = rng.uniform(0.22, 0.82)
    return np.array(colorsys.hsv_to_rgb(hue, sat, val), dtype=np.float32) * 255.0


def _upsample(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling of a small (h, w[, c]) grid to (height, width[, c])."""
    gh, gw = grid.shape[:2]
    ys = np.linspace(0, gh - 1, height)
    xs = np.linspace(0, gw - 1, width)
    y0 = np.clip(np.floor(ys).astype(int), 0, gh - 2)
    x0 = np.clip(np.floor(xs).astype(int), 0, gw - 2)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    if grid.ndim == 3:
        fy, fx = fy[..., None], fx[..., None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _blend(weight: np.ndarray, colour_a: np.ndarray, colour_b: np.ndarray) -> np.ndarray:
    """Per-pixel mix of two colours, ``weight`` in [0, 1] of shape (H, W)."""
    w = np.clip(weight, 0.0, 1.0)[..., None].astype(np.float32)
    return colour_a + w * (colour_b - colour_a)


def render_texture(kind: str, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A (height, width, 3) float32 muted texture of the given kind."""
    a, b = muted_colour(rng), muted_colour(rng)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        return _blend((proj - proj.min()) / max(float(np.ptp(proj)), 1.0), a, b)
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(12, 60)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        return _blend(0.5 + 0.5 * np.sin(2 * np.pi * proj / period), a, b)
    if kind == "blocks":
        cell = int(rng.integers(16, 48))
        gh, gw = height // cell + 2, width // cell + 2
        cells = np.stack([muted_colour(rng) for _ in range(gh * gw)]).reshape(gh, gw, 3)
        big = np.repeat(np.repeat(cells, cell, axis=0), cell, axis=1)
        return big[:height, :width].astype(np.float32)
    if kind == "noise":
        gh, gw = int(rng.integers(4, 10)), int(rng.integers(6, 16))
        smooth = _upsample(rng.random((gh, gw)).astype(np.float32), height, width)
        fine = _upsample(rng.random((gh * 4, gw * 4)).astype(np.float32), height, width)
        return _blend(0.7 * smooth + 0.3 * fine, a, b)
    if kind == "plasma":
        f1, f2, f3 = rng.uniform(0.01, 0.06, size=3)
        p1, p2, p3 = rng.uniform(0, 2 * np.pi, size=3)
        field = np.sin(xx * f1 + p1) + np.sin(yy * f2 + p2) + np.sin((xx + yy) * f3 + p3)
        return _blend((field + 3.0) / 6.0, a, b)
    raise ValueError(f"unknown background kind {kind!r}; choose one of {', '.join(BACKGROUND_KINDS)}")


def still_background(width: int, height: int, rng: np.random.Generator, kind: str | None = None,
                     grain: float = 1.5) -> np.ndarray:
    """One frame-sized uint8 background of a random (or given) kind, for single frames."""
    kind = kind or BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    texture = render_texture(kind, height, width, rng)
    texture += rng.normal(0.0, grain, size=(height, width, 1)).astype(np.float32)
    return np.clip(texture, 0, 255).astype(np.uint8)


@dataclass
class Background:
    """A scene's background, ready to be cropped frame by frame.

    ``canvases`` are GRAIN_FIELDS uint8 canvases (height + 2 * margin_y, width + 2 * margin_x, 3).
    The camera travels at ``pan_px_per_frame`` (x, y) and bounces off the canvas edges;
    ``drift`` is the amplitude of a slow brightness oscillation (0 = none).
    """

    canvases: np.ndarray
    width: int
    height: int
    pan_px_per_frame: tuple[float, float]
    start_xy: tuple[float, float]
    drift: float
    drift_period_frames: float

    @classmethod
    def random(
        cls, kind: str, width: int, height: int, rng: np.random.Generator, grain: float = 1.5
    ) -> "Background":
        margin_x, margin_y = max(8, width // 4), max(8, height // 4)
        canvas_h, canvas_w = height + 2 * margin_y, width + 2 * margin_x
        texture = render_texture(kind, canvas_h, canvas_w, rng)
        noise = rng.normal(0.0, grain, size=(GRAIN_FIELDS, canvas_h, canvas_w, 1)).astype(np.float32)
        canvases = np.clip(texture[None] + noise, 0, 255).astype(np.uint8)
        still = rng.random() < 0.2
        speed = 0.0 if still else rng.uniform(0.2, 1.5) * width / 320.0
        angle = rng.uniform(0, 2 * np.pi)
        drift = float(rng.uniform(0.0, 0.12)) if rng.random() < 0.5 else 0.0
        return cls(
            canvases=canvases,
            width=width,
            height=height,
            pan_px_per_frame=(speed * float(np.cos(angle)), speed * float(np.sin(angle))),
            start_xy=(float(rng.uniform(0, 2 * margin_x)), float(rng.uniform(0, 2 * margin_y))),
            drift=drift,
            drift_period_frames=float(rng.uniform(40, 200)),
        )

    def _camera(self, frame_in_scene: int) -> tuple[int, int]:
        span_x = self.canvases.shape[2] - self.width
        span_y = self.canvases.shape[1] - self.height
        pos = []
        for start, speed, span in zip(self.start_xy, self.pan_px_per_frame, (span_x, span_y)):
            p = (start + speed * frame_in_scene) % (2 * span) if span > 0 else 0.0
            pos.append(int(round(2 * span - p if p > span else p)))  # bounce between 0 and span
        return pos[0], pos[1]

    def brightness(self, frame_in_scene: int) -> float:
        if not self.drift:
            return 1.0
        return 1.0 + self.drift * float(np.sin(2 * np.pi * frame_in_scene / self.drift_period_frames))

    def frame(self, frame_in_scene: int, out: np.ndarray | None = None) -> np.ndarray:
        """The background of one frame (uint8 H x W x 3), before fades and objects."""
        x, y = self._camera(frame_in_scene)
        canvas = self.canvases[frame_in_scene % GRAIN_FIELDS]
        crop = canvas[y : y + self.height, x : x + self.width]
        if out is None:
            return crop.copy()
        np.copyto(out, crop)
        return out


def apply_gain(frame: np.ndarray, gain: float) -> np.ndarray:
    """Multiply brightness by ``gain`` (fades, drift) through a look-up table, in place."""
    if gain == 1.0:
        return frame
    lut = np.clip(np.arange(256, dtype=np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
    np.take(lut, frame, out=frame)
    return frame
