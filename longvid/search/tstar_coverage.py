"""``tstar-coverage``: longvid's coverage-first coarse-to-fine search (T*-inspired, not T*'s update).

The published T* update (spline-fit distribution, neighbour spreading, top-25 % sampling, target
verification) is :mod:`longvid.search.tstar`; this searcher keeps its own name because it
measures differently (``benchmarks/haystack.py``): score a few frames, zoom in where scores are high.

For a video that is not (fully) indexed, embedding every frame costs minutes on a CPU. Instead:

1. **coarse**: score a sparse set of times (the keyframes the caller passes as
   ``initial_times_s``, thinned evenly to ``coarse_count`` when there are more; or an even grid
   of ``coarse_count`` times);
2. **distribution**: interpolate the visited scores over a fine time grid (linear between
   visited times), keep only what lies above the ``top_quantile`` of the visited scores, spread
   it to neighbours with a Gaussian whose width halves every round (coarse to fine), and mix in
   ``explore`` of uniform mass so no region is ever ruled out;
3. **sample** ``round_size`` new grid times: the unscored grid times within ``zoom_steps`` of
   the best peaks first, nearest first (zooming in), the rest drawn from the distribution
   (seeded, without replacement; visited times have zero mass, so nothing is scored twice);
   score them, repeat;
4. **stop** when ``max_evaluations`` are spent, the grid is exhausted, or the best
   ``confirm_peaks`` peaks are *confirmed*: unchanged for ``patience`` rounds, both grid
   neighbours of each peak visited (a true local maximum at full resolution), and each peak at
   least ``confirm_z`` robust spreads (1.4826 × MAD) above the median visited score — the best
   of a few hundred noise samples sits about 3 spreads up, so a noise bump is not "confirmed".

The final ``budget`` frames are selected from the visited (time, score) pairs with a selection
strategy (``topk`` by default, after optional temporal smoothing ``smooth_s``, ``smooth``). The caller's
``score_at(times_s) -> scores`` does the decoding, embedding (and storing) of the new times, so
every frame scored here warms the store.

Wiring (the pipeline's decoder, encoder and store; raw cosine so rounds are comparable):

    scorer = incremental_scorer(encoder.encode_text(phrases))
    def score_at(times_s):
        frames = decoder.frames_at(times_s)                  # decode only these times
        vectors = encoder.encode_images(frames)              # embed them
        store_frames(frames, vectors)                        # e.g. the store's add_run: warmer next time
        return scorer(vectors)
    result = coverage_search(info.duration_s, score_at, budget=32, start_s=info.start_s,
                          initial_times_s=keyframe_times, grid_s=1 / decode_fps)

Limits: the coarse pass must land near the answer. An event whose frames are the only ones that
score above the noise, and shorter than the coarse spacing, can be missed; real scores usually
rise around an event (its objects are on screen before and after it), which is what the
refinement rounds climb. Where they do not, the search finds the moment about as often as a coarse
sample lands on it (about needle length / coarse spacing). Hence the defaults: a cold search
may spend 25 % of a 1 fps index, and all of it goes to coverage except what the refinement needs
to fill the selection (three budgets, at least half to coverage). Measured on generated needle
videos (2-5 s needles seen only during the event; ``benchmarks/haystack.py``'s 20 videos and,
held out, ``benchmarks/quality_tiny.py``'s 20), F1@8 of a cold search:

    70 % coarse, zoom to the peaks' two neighbours (before)   0.62   held out 0.54
    all but 3 budgets coarse, zoom 3 steps each side (now)     0.85   held out 0.73
    (full-index topk: 0.93)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..select import select_frames
from ..select._common import check_budget, even_targets
from ..types import Selection, _ToDict

ScoreFn = Callable[[np.ndarray], Sequence[float] | np.ndarray]

# Coverage first: refinement can only climb where coarse scores already rise, so a moment visible
# only during its own few seconds (a short needle event) is found only if a coarse sample lands on
# it. The refinement keeps REFINE_BUDGETS x budget evaluations, enough to zoom into the best peaks
# and fill the selection with frames around them; the coarse pass gets the rest, and never less
# than MIN_COARSE_SHARE of the evaluations (short videos). See the module docstring's figures.
REFINE_BUDGETS = 3
MIN_COARSE_SHARE = 0.5
# How far the refinement looks around the best peaks each round, in grid steps either side.
ZOOM_STEPS = 3
# Evaluations a cold search may spend by default, as a share of a 1 fps index's frames.
MAX_EVALUATION_SHARE = 0.25


@dataclass
class CoverageResult(_ToDict):
    visited_times_s: np.ndarray  # sorted
    visited_scores: np.ndarray
    selection: Selection
    evaluations: int  # frames scored by score_at (each one decoded and embedded)
    rounds: int  # refinement rounds after the coarse pass
    stop_reason: str  # "confirmed" | "max_evaluations" | "exhausted"
    round_sizes: list[int] = field(default_factory=list)  # evaluations per pass, coarse first
    from_store: int = 0  # grid times whose scores were given (known_times_s), not evaluated


def _positive(name: str, value: Any, integer: bool = False) -> None:
    ok = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok or not np.isfinite(value) or value <= 0:
        kind = "a positive integer" if integer else "a positive number"
        raise InvalidArgumentError(f"{name} = {value!r} is invalid", f"expected {kind}")


def _gaussian_smooth(values: np.ndarray, sigma_steps: float) -> np.ndarray:
    if sigma_steps < 0.5:
        return values
    half = int(math.ceil(4 * sigma_steps))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma_steps) ** 2)
    padded = np.pad(values, half, mode="edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def _peaks(times: np.ndarray, scores: np.ndarray, count: int, gap_s: float) -> list[float]:
    """Times of the ``count`` best visited scores at least ``gap_s`` apart (best first)."""
    picked: list[float] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(abs(times[i] - p) >= gap_s for p in picked):
            picked.append(float(times[i]))
            if len(picked) == count:
                break
    return picked


def _standout(visited_scores: np.ndarray, peak_scores: np.ndarray) -> float:
    """How far the weakest confirmed peak lies above the typical visited score, in robust spreads."""
    centre = float(np.median(visited_scores))
    spread = 1.4826 * float(np.median(np.abs(visited_scores - centre)))
    if spread <= 0:
        spread = float(np.std(visited_scores))
    if spread <= 0:
        return 0.0  # all visited scores equal: nothing stands out
    return (float(np.min(peak_scores)) - centre) / spread


def nearest_times(sorted_times: np.ndarray, times: np.ndarray) -> np.ndarray:
    """For each of ``times``, the nearest of ``sorted_times`` (non-empty; ties: the earlier)."""
    right = np.minimum(np.searchsorted(sorted_times, times), sorted_times.size - 1)
    left = np.maximum(right - 1, 0)
    closer_left = np.abs(sorted_times[left] - times) <= np.abs(sorted_times[right] - times)
    return np.where(closer_left, sorted_times[left], sorted_times[right])


def _distance_to(sorted_times: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Distance from each of ``times`` to the nearest of ``sorted_times`` (non-empty)."""
    return np.abs(nearest_times(sorted_times, times) - times)


def peaks_scores(times: np.ndarray, scores: np.ndarray, peaks: list[float]) -> np.ndarray:
    return scores[np.searchsorted(times, peaks)]


def coverage_search(
    duration_s: float,
    score_at: ScoreFn,
    budget: int = 8,
    *,
    start_s: float = 0.0,
    initial_times_s: Sequence[float] | np.ndarray | None = None,
    known_times_s: Sequence[float] | np.ndarray | None = None,
    known_scores: Sequence[float] | np.ndarray | None = None,
    grid_s: float = 0.5,
    max_evaluations: int | None = None,
    coarse_count: int | None = None,
    round_size: int | None = None,
    top_quantile: float = 0.9,
    explore: float = 0.1,
    confirm_peaks: int = 1,
    confirm_z: float = 4.0,
    patience: int = 2,
    seed: int = 0,
    strategy: str = "topk",
    smooth_s: float = 0.0,
    strategy_options: dict[str, Any] | None = None,
    smooth: str = "mean",
    zoom_steps: int = ZOOM_STEPS,
) -> CoverageResult:
    """Adaptive search over [start_s, start_s + duration_s); see the module docstring.

    Defaults: ``max_evaluations`` = 25 % of a 1 fps index (``floor(0.25 * duration_s)``, at least
    ``4 * budget``, at most the grid); ``coarse_count`` = all of that but
    ``REFINE_BUDGETS * budget``, at least half of it and at least ``budget``;
    ``round_size`` = a fifth of the rest (at least ``budget``); ``zoom_steps`` = 3. Same inputs and
    ``seed``, same result.

    ``known_times_s``/``known_scores``: frames already embedded (in the store), scored for this
    question at no embedding cost. They count as visited but not as evaluations; when they are at
    least ``coarse_count``, they replace the coarse pass, and coarse times near one are skipped.
    """
    _positive("duration_s", duration_s)
    _positive("grid_s", grid_s)
    budget = check_budget(budget)
    if not callable(score_at):
        raise InvalidArgumentError(f"score_at = {score_at!r} is not callable", "pass a function times_s -> scores")
    if not 0.0 <= top_quantile < 1.0:
        raise InvalidArgumentError(f"top_quantile = {top_quantile!r} is invalid", "expected a share in [0, 1)")
    if not 0.0 <= explore <= 1.0:
        raise InvalidArgumentError(f"explore = {explore!r} is invalid", "expected a share in [0, 1]")
    _positive("confirm_peaks", confirm_peaks, integer=True)
    _positive("patience", patience, integer=True)
    _positive("confirm_z", confirm_z)
    _positive("zoom_steps", zoom_steps, integer=True)

    grid = start_s + grid_s * np.arange(max(1, math.ceil(duration_s / grid_s - 1e-9)))
    size = grid.size
    if max_evaluations is None:
        max_evaluations = min(size, max(4 * budget, math.floor(MAX_EVALUATION_SHARE * duration_s)))
    _positive("max_evaluations", max_evaluations, integer=True)
    max_evaluations = min(int(max_evaluations), size)
    if coarse_count is None:
        coarse_count = max(budget, round(MIN_COARSE_SHARE * max_evaluations), max_evaluations - REFINE_BUDGETS * budget)
    _positive("coarse_count", coarse_count, integer=True)
    if round_size is None:
        round_size = max(budget, math.ceil((max_evaluations - min(int(coarse_count), max_evaluations)) / 5))
    _positive("round_size", round_size, integer=True)

    visited = np.zeros(size, dtype=bool)
    scores = np.full(size, np.nan)
    round_sizes: list[int] = []

    def grid_index(times_s: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((times_s - start_s) / grid_s), 0, size - 1).astype(np.int64)

    def snap(times_s: np.ndarray) -> np.ndarray:
        return np.unique(grid_index(times_s))

    if (known_times_s is None) != (known_scores is None):
        raise InvalidArgumentError("known_times_s and known_scores go together", "pass both or neither")
    if known_times_s is not None:
        kt = np.asarray(known_times_s, dtype=np.float64).ravel()
        ks = np.asarray(known_scores, dtype=np.float64).ravel()
        if kt.shape != ks.shape:
            raise InvalidArgumentError(f"{kt.size} known_times_s but {ks.size} known_scores", "pass one score per time")
        bad = np.flatnonzero(~(np.isfinite(kt) & np.isfinite(ks)))
        if bad.size:
            raise InvalidArgumentError(f"known time/score #{bad[0]} is not finite: {float(kt[bad[0]])!r}, {float(ks[bad[0]])!r}")
        best = np.full(size, -np.inf)
        np.maximum.at(best, grid_index(kt), ks)  # two stored frames on one grid time: the better
        visited[:] = np.isfinite(best)
        scores[visited] = best[visited]
    from_store = int(visited.sum())

    def spent() -> int:
        return sum(round_sizes)

    def evaluate(idx: np.ndarray) -> None:
        idx = idx[~visited[idx]][: max_evaluations - spent()]
        if idx.size == 0:
            return
        got = np.asarray(score_at(grid[idx].copy()), dtype=np.float64)
        if got.shape != (idx.size,):
            raise InvalidArgumentError(f"score_at returned shape {got.shape} for {idx.size} times", "return one score per time")
        bad = np.flatnonzero(~np.isfinite(got))
        if bad.size:
            raise InvalidArgumentError(f"score_at returned {float(got[bad[0]])!r} for {grid[idx[bad[0]]]:.3f} s", "scores must be finite")
        visited[idx] = True
        scores[idx] = got
        round_sizes.append(int(idx.size))

    # Coarse pass (skipped when the store already holds as many frames).
    if initial_times_s is not None:
        first = snap(np.asarray(initial_times_s, dtype=np.float64))
        if first.size == 0:
            raise InvalidArgumentError("initial_times_s is empty", "pass None for an even coarse grid")
        keep = min(int(coarse_count), max_evaluations)
        if first.size > keep:  # more keyframes than the coarse pass may score: an even subset
            first = first[np.linspace(0, first.size - 1, keep).round().astype(np.int64)]
    else:
        count = min(int(coarse_count), max_evaluations)
        first = snap(even_targets(float(start_s), float(start_s + duration_s), count))
    if from_store:  # a coarse time next to a stored frame adds nothing
        first = first[_distance_to(grid[visited], grid[first]) > duration_s / max(1, first.size) / 2]
    if from_store < coarse_count:
        evaluate(first)
    else:  # the store did the coarse pass: only the refinement share is new work
        max_evaluations = max(min(int(round_size), size), max_evaluations - int(coarse_count))
    coarse_spacing_s = max(grid_s, duration_s / max(1, int(visited.sum())))
    peak_gap_s = max(2 * grid_s, coarse_spacing_s)

    rng = np.random.default_rng(seed)
    rounds, stable, last_peaks, stop_reason = 0, 0, None, "max_evaluations"
    while True:
        done = spent()
        if visited.all():
            stop_reason = "exhausted"
            break
        if done >= max_evaluations:
            stop_reason = "max_evaluations"
            break
        vt, vs = grid[visited], scores[visited]
        peaks = _peaks(vt, vs, confirm_peaks, peak_gap_s)
        if last_peaks is not None and len(peaks) == len(last_peaks) and all(
            abs(a - b) < grid_s / 2 for a, b in zip(peaks, last_peaks)
        ):
            stable += 1
        else:
            stable = 0
        last_peaks = peaks
        peak_idx = np.rint((np.asarray(peaks) - start_s) / grid_s).astype(np.int64)
        near = np.unique(np.clip(np.concatenate([peak_idx - 1, peak_idx + 1]), 0, size - 1))
        neighbours_done = bool(visited[near].all())
        # unscored grid times around the best peaks, nearest first
        offsets = np.array([o for d in range(1, zoom_steps + 1) for o in (-d, d)])
        around = np.clip((peak_idx[None, :] + offsets[:, None]).ravel(), 0, size - 1)
        _, first_seen = np.unique(around, return_index=True)
        beside = around[np.sort(first_seen)]
        beside = beside[~visited[beside]]
        if stable >= patience and neighbours_done and _standout(vs, peaks_scores(vt, vs, peaks)) >= confirm_z:
            stop_reason = "confirmed"
            break

        # Distribution over the grid from the visited scores.
        curve = np.interp(grid, vt, vs)
        cut = float(np.quantile(vs, top_quantile))
        focus = np.clip(curve - cut, 0.0, None)
        sigma_steps = max(1.0, coarse_spacing_s / grid_s / 2 ** (rounds + 1))
        focus = _gaussian_smooth(focus, sigma_steps)
        focus[visited] = 0.0
        free = (~visited).astype(np.float64)
        p = explore * free / free.sum()
        if focus.sum() > 0:
            p += (1.0 - explore) * focus / focus.sum()
        else:
            p = free / free.sum()
        # The best peaks' unscored neighbours first (zoom in: confirms a peak, or moves it), the
        # rest of the round drawn from the distribution.
        k = min(int(round_size), max_evaluations - done)
        first = beside[:k]
        p[first] = 0.0
        k_rest = min(k - first.size, int(np.count_nonzero(p)))
        drawn = rng.choice(size, size=k_rest, replace=False, p=p / p.sum()) if k_rest > 0 else first[:0]
        evaluate(np.concatenate([first, drawn]))
        rounds += 1

    vt, vs = grid[visited], scores[visited]
    selection = select_frames(vt, vs, budget, strategy=strategy, smooth_s=smooth_s, smooth=smooth, **(strategy_options or {}))
    return CoverageResult(
        visited_times_s=vt,
        visited_scores=vs,
        selection=selection,
        evaluations=spent(),
        rounds=rounds,
        stop_reason=stop_reason,
        round_sizes=round_sizes,
        from_store=from_store,
    )
