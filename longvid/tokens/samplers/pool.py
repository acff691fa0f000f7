"""``pool``: average pooling of each frame's grid to a smaller grid with exactly the frame's count.

Grid size: the native grid scaled by sqrt(count / tokens) (aspect kept, rounded up), shrunk by a
row or column while it still has at least ``count`` cells (the dimension that is relatively larger
first), and grown again while fewer than ``count`` cells hold a token (merging can leave holes).
Cells partition the grid: row band i is rows [floor(i*h/gh), floor((i+1)*h/gh)) and likewise for
columns, which equals ``torch.nn.functional.adaptive_avg_pool2d`` whenever gh divides h and gw
divides w (its bins overlap otherwise; ours do not, so every cell owns distinct tokens).

A cell's feature is the mean of the tokens it holds. Its position is the centre-most token it
holds (smallest distance to the cell's geometric centre, ties to the lower row-major index), so on
a full grid every pooled token sits at the centre row of its band and the centre column of its
band: the kept positions form a gh x gw grid.

When the grid has more non-empty cells than the count, the least useful cells are dropped one at a
time: the cell most similar (cosine of pooled features) to a remaining 4-neighbour goes first;
ties: the cell with fewer tokens, then the later cell.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..merge import MergedFrame, unit_rows
from .base import Picked, SampleOptions, nothing


def pool_shape(height: int, width: int, count: int, nonempty: Callable[[int, int], int]) -> tuple[int, int]:
    """(rows, cols) of the pooled grid for ``count`` tokens; ``nonempty(gh, gw)`` counts the
    cells that would hold at least one token."""
    scale = math.sqrt(count / (height * width))
    gh = min(height, max(1, math.ceil(scale * height)))
    gw = min(width, max(1, math.ceil(scale * width)))

    def grow() -> None:
        nonlocal gh, gw
        # Add to the dimension that is relatively smaller (gh/h vs gw/w, compared exactly).
        if gh < height and (gw == width or gh * width <= gw * height):
            gh += 1
        else:
            gw += 1

    while gh * gw < count:
        grow()
    while True:
        rows_first = gh * width > gw * height
        for dim in ("rows", "cols") if rows_first else ("cols", "rows"):
            if dim == "rows" and gh > 1 and (gh - 1) * gw >= count:
                gh -= 1
                break
            if dim == "cols" and gw > 1 and gh * (gw - 1) >= count:
                gw -= 1
                break
        else:
            break
    while nonempty(gh, gw) < count:
        grow()
    return gh, gw


def band_of(index: np.ndarray, size: int, bands: int) -> np.ndarray:
    """Band of each row (or column) index when ``size`` rows are cut into ``bands`` bands whose
    starts are floor(i * size / bands)."""
    return ((index + 1) * bands + size - 1) // size - 1


def band_starts(size: int, bands: int) -> np.ndarray:
    return (np.arange(bands + 1) * size) // bands


def pool_frame(frame: MergedFrame, count: int, where: str = "tokens") -> Picked:
    """Pooled features and representative grid indices (ascending) of one frame."""
    h, w = frame.height, frame.width
    flat = frame.flat_index.cpu().numpy()
    rows, cols = flat // w, flat % w

    def cells_of(gh: int, gw: int) -> np.ndarray:
        return band_of(rows, h, gh) * gw + band_of(cols, w, gw)

    gh, gw = pool_shape(h, w, count, lambda gh, gw: np.unique(cells_of(gh, gw)).shape[0])
    cell = cells_of(gh, gw)
    members = np.bincount(cell, minlength=gh * gw)

    # Representative: centre-most member (doubled coordinates keep the centre an integer).
    row_starts, col_starts = band_starts(h, gh), band_starts(w, gw)
    band_r, band_c = cell // gw, cell % gw
    centre_r2 = row_starts[band_r] + row_starts[band_r + 1] - 1
    centre_c2 = col_starts[band_c] + col_starts[band_c + 1] - 1
    dist2 = (2 * rows - centre_r2) ** 2 + (2 * cols - centre_c2) ** 2
    order = np.lexsort((flat, dist2, cell))
    cells_sorted = cell[order]
    first = np.flatnonzero(np.r_[True, cells_sorted[1:] != cells_sorted[:-1]])
    occupied = cells_sorted[first]  # ascending cell ids that hold tokens
    representative = flat[order[first]]

    device = frame.features.device
    cell_t = torch.from_numpy(cell).to(device)
    sums = torch.zeros(gh * gw, frame.features.shape[1], device=device)
    sums.index_add_(0, cell_t, frame.features.float())
    pooled = sums / torch.from_numpy(np.maximum(members, 1)).to(device=device, dtype=sums.dtype)[:, None]

    unit = unit_rows(pooled, where)  # also refuses NaN/inf tokens
    keep = np.ones(occupied.shape[0], dtype=bool)
    if occupied.shape[0] > count:
        keep = _drop_redundant(unit.view(gh, gw, -1), members, occupied, occupied.shape[0] - count)
    chosen_cells = occupied[keep]
    positions = representative[keep]
    by_position = np.argsort(positions, kind="stable")
    features = pooled[torch.from_numpy(chosen_cells[by_position]).to(device)].to(frame.features.dtype)
    return torch.from_numpy(positions[by_position]).to(device), features


def _drop_redundant(unit: torch.Tensor, members: np.ndarray, occupied: np.ndarray, drops: int) -> np.ndarray:
    """Mask over ``occupied`` cells with ``drops`` of them removed, most redundant first."""
    gh, gw = unit.shape[:2]
    right = (unit[:, :-1] * unit[:, 1:]).sum(-1).double().cpu().numpy()  # (gh, gw-1)
    down = (unit[:-1] * unit[1:]).sum(-1).double().cpu().numpy()  # (gh-1, gw)
    alive = (members > 0).reshape(gh, gw)
    order_index = np.arange(gh * gw).reshape(gh, gw)
    for _ in range(drops):
        redundancy = np.full((gh, gw), -np.inf)
        r = np.where(alive[:, 1:], right, -np.inf)
        redundancy[:, :-1] = np.maximum(redundancy[:, :-1], r)
        r = np.where(alive[:, :-1], right, -np.inf)
        redundancy[:, 1:] = np.maximum(redundancy[:, 1:], r)
        r = np.where(alive[1:], down, -np.inf)
        redundancy[:-1] = np.maximum(redundancy[:-1], r)
        r = np.where(alive[:-1], down, -np.inf)
        redundancy[1:] = np.maximum(redundancy[1:], r)
        candidates = np.flatnonzero(alive.reshape(-1))
        # Most redundant, then fewest tokens, then latest cell.
        pick = np.lexsort((-order_index.reshape(-1)[candidates], members[candidates], -redundancy.reshape(-1)[candidates]))
        alive.reshape(-1)[candidates[pick[0]]] = False
    return alive.reshape(-1)[occupied]


def sample_pool(frames: Sequence[MergedFrame], counts: Sequence[int], options: SampleOptions) -> list[Picked]:
    return [pool_frame(f, counts[t], f"grids[{t}]") if counts[t] else nothing(f) for t, f in enumerate(frames)]
