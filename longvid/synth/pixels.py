"""Finding vocabulary colours in decoded frames: the check that ground truth is exact.

H.264 with 4:2:0 chroma blurs colour at object edges, so the test is tolerant but meaningful:
a pixel "is red" when it is clearly saturated (backgrounds never are) and its hue is within
``hue_tolerance`` degrees of red. Object interiors (saturation ~0.85, value ~0.92) pass easily;
background pixels (saturation <= 0.25) never do. What remains are a few codec ghosts: a moving
object can leave a dim 2 x 2 chroma block behind for a frame, so checks allow a handful of
stray pixels (an object covers hundreds).
"""

from __future__ import annotations

import numpy as np

from .vocab import COLOURS, hue_degrees


def hsv(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1] of an (H, W, 3) uint8 RGB image."""
    rgb = image.astype(np.float32) / 255.0
    mx = rgb.max(axis=-1)
    mn = rgb.min(axis=-1)
    delta = mx - mn
    sat = np.where(mx > 0, delta / np.maximum(mx, 1e-6), 0.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(delta, 1e-6)
    hue = np.where(mx == r, ((g - b) / safe) % 6.0, np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    return hue * 60.0, sat, mx


def colour_mask(image: np.ndarray, colour: str, hue_tolerance: float = 25.0, min_saturation: float = 0.55,
                min_value: float = 0.55) -> np.ndarray:
    """Boolean (H, W) mask of the pixels that show vocabulary colour ``colour``."""
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; choose one of {', '.join(COLOURS)}")
    hue, sat, val = hsv(image)
    diff = np.abs((hue - hue_degrees(colour) + 180.0) % 360.0 - 180.0)
    return (diff <= hue_tolerance) & (sat >= min_saturation) & (val >= min_value)


def colour_labels(image: np.ndarray, hue_tolerance: float = 25.0, min_saturation: float = 0.55,
                  min_value: float = 0.55) -> np.ndarray:
    """(H, W) int8 map: index into ``COLOURS`` of the colour each pixel shows, -1 for none.

    The same test as ``colour_mask`` for every colour at once (one HSV conversion per frame).
    """
    hue, sat, val = hsv(image)
    names = list(COLOURS)
    centres = np.array([hue_degrees(c) for c in names], dtype=np.float32)
    diff = np.abs((hue[..., None] - centres + 180.0) % 360.0 - 180.0)
    nearest = diff.argmin(axis=-1)
    ok = (np.take_along_axis(diff, nearest[..., None], axis=-1)[..., 0] <= hue_tolerance)
    ok &= (sat >= min_saturation) & (val >= min_value)
    return np.where(ok, nearest, -1).astype(np.int8)


def find_problems(truth, frames: dict[int, np.ndarray], stray_pixels: int = 8, min_coverage: float = 0.7) -> list[str]:
    """Check a ground truth against decoded frames; returns what disagrees (empty: exact).

    ``frames`` maps frame index to the decoded RGB image (any subset of the video's frames).
    Checks: on every listed visible frame the object's colour fills at least ``min_coverage``
    of its shape inside its box; where no object is listed, no vocabulary colour shows (beyond
    ``stray_pixels`` codec ghosts); on the frame just before an event and the frame at its
    exclusive end, its box does not show its colour (unless another object of that colour is
    listed there).
    """
    from .shapes import shape_mask

    colour_ids = {name: i for i, name in enumerate(COLOURS)}
    labels = {index: colour_labels(image) for index, image in frames.items()}
    problems: list[str] = []
    for event in truth.events:
        cid = colour_ids[event.colour]
        for vis in event.visible:
            if vis.frame not in labels:
                continue
            x0, y0, x1, y1 = vis.box
            found = int((labels[vis.frame][y0:y1, x0:x1] == cid).sum())
            area = float(shape_mask(event.shape, x1 - x0).sum())
            if found < min_coverage * area:
                problems.append(f"{event.id} ({event.colour} {event.shape}) not at {vis.box} on frame {vis.frame}: "
                                f"{found} of {area:.0f} pixels")
        for index, box in ((event.start_frame - 1, event.visible[0].box), (event.end_frame, event.visible[-1].box)):
            if index not in labels or any(e.colour == event.colour for e, _ in truth.visible_at(index)):
                continue
            x0, y0, x1, y1 = box
            found = int((labels[index][y0:y1, x0:x1] == cid).sum())
            if found > stray_pixels:
                problems.append(f"{event.id} ({event.colour} {event.shape}) seen outside its event on frame {index}")
    for index, label in labels.items():
        on_screen = truth.visible_at(index)
        anywhere = np.zeros(label.shape, dtype=bool)
        for _, (x0, y0, x1, y1) in on_screen:
            anywhere[max(y0 - 3, 0) : y1 + 3, max(x0 - 3, 0) : x1 + 3] = True  # chroma blur at edges
        stray = int(((label >= 0) & ~anywhere).sum())
        if stray > stray_pixels:
            problems.append(f"frame {index}: {stray} object-coloured pixels where no object is listed")
        for event, (x0, y0, x1, y1) in on_screen:
            inside = label[y0:y1, x0:x1]
            foreign = int(((inside >= 0) & (inside != colour_ids[event.colour])).sum())
            if foreign > 0.1 * (x1 - x0) * (y1 - y0):
                problems.append(f"frame {index}: {foreign} pixels of another colour inside {event.id}'s box")
    return problems
