"""T*: the published temporal search, with image–text scores in place of the object detector.

Ye et al., "Re-thinking Temporal Search for Long-Form Video Understanding", CVPR 2025. The update
below is the one of the authors' ``TStarSearcher`` (github.com/mll-lab-nu/TStar,
``TStar/interface_searcher.py`` at commit 6b3a2e1), step for step, on a grid of
``total = int(duration_s * fps)`` seconds (``fps`` = 1, as in their code):

1. **sample** ``grid_rows * grid_cols`` seconds: the first iteration every ``total // n``-th
   second; later ones at random without replacement from ``(P + n / total)`` over the unvisited
   seconds, kept only where it reaches its 75th percentile (the top 25 %); when that leaves fewer
   than n seconds with mass, from ``P + n / total`` over all seconds (visited ones too);
2. **score** them: a frame's score is the highest weighted confidence among the objects detected
   in it (targets weigh 1.0, cues 0.5; an object is detected above ``score_threshold``), 0 if none;
3. **spread**: every frame of this iteration at or above the iteration's 75th percentile lifts
   each second within ``window_size`` (5) to at least its own score / (distance + 1);
4. **distribution**: ``P = sigmoid(max(1 / total, spline(t)))``, normalised, ``spline`` being
   SciPy's smoothing spline (``UnivariateSpline``, s = 0.5) through the visited seconds' scores;
5. **verify**: a sampled frame in which a remaining target is detected is scored again; the target
   is found when that score exceeds ``confidence_threshold``;
6. repeat while a target remains and the budget ``min(1000, total * search_budget)``, less
   ``grid_rows * grid_cols`` per iteration, is positive. Then draw ``search_nframes`` seconds at
   random without replacement in proportion to every second's score (1e-6 where never scored or
   lifted; 0 where scored with nothing detected), sorted: that is the selection.

Defaults are those of the authors' LV-Haystack run (``eval_LV_Haystack.sh`` ->
``run_TStar_onDataset.py``: 8 frames, a 4 x 4 grid, confidence threshold 0.7, search budget 1.0,
YOLO-World, whose detector keeps boxes above 0.12).

What maps to what (longvid has image–text encoders, not a detector):

* target / cue objects (named by the grounding VLM) -> the columns of ``score_at``'s result, one
  per text (``cues`` lists the cue columns). The pipeline scores the question's phrases combined,
  so its search has one target.
* detector confidence of an object in a grid cell -> ``sigmoid(z - confidence_z)`` of the frame's
  image–text score (``calibrate=True``): ``z`` counts robust spreads (1.4826 x MAD) above the
  median score of the first iteration, T*'s even look over the whole video, frozen from then on
  (a detector's confidence does not change as the search goes on). A frame typical of the video
  maps to 0.02, detection (> 0.12) starts 2 spreads up, verification (> 0.7) near 4.85 spreads
  up, the bar ``tstar-coverage`` uses to confirm a peak. ``calibrate=False``: ``score_at``
  already returns confidences in [0, 1] (e.g. SigLIP's own match probabilities).
* the 4 x 4 image grid detected at once -> each frame embedded on its own; the grid's size stays
  the number of frames per iteration.
* single-frame re-detection at a higher resolution (verify) -> the same score: the frame was
  embedded at the encoder's full resolution already, so verifying costs no embedding.

Randomness: a ``numpy.random.RandomState(seed)``, called exactly where the authors call the global
``np.random`` (after ``np.random.seed(seed)`` their code draws the same seconds). Where their code
fails (fewer than 4 or at most ``search_nframes`` seconds: their spline needs 4 points and their
final draw more seconds than it takes; a final draw with fewer seconds holding mass than it takes)
every second with mass is taken first and the rest drawn evenly, and tiny videos are scored whole.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..types import Selection, _ToDict

ScoreFn = Callable[[np.ndarray], Sequence[float] | np.ndarray]

BUDGET_CAP = 1000  # the authors' search never scores more than 1000 frames
WINDOW_SIZE = 5  # neighbour spreading reach, in seconds
CUE_WEIGHT = 0.5
FLOOR = 1e-6  # score of a second never scored
ROBUST_SPREAD = 1.4826  # MAD -> standard deviation for normal noise


@dataclass
class TStarResult(_ToDict):
    visited_times_s: np.ndarray  # sorted: the seconds T* scored
    visited_scores: np.ndarray  # their frame scores (confidences, as measured)
    selection: Selection  # the final draw, strategy "tstar"
    evaluations: int  # frames scored by score_at (each decoded and embedded once)
    iterations: int
    stop_reason: str  # "verified" | "budget" | "whole" (a video too short to search)
    sampled_s: list[list[float]] = field(default_factory=list)  # per iteration, in draw order
    from_store: int = 0  # seconds whose scores were given (known_times_s), not evaluated


def _check(name: str, ok: bool, value: Any, expected: str) -> None:
    if not ok:
        raise InvalidArgumentError(f"{name} = {value!r} is invalid", f"expected {expected}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class _Frames:
    """Scores per grid second: fetched from ``score_at`` once, then kept (store frames included)."""

    def __init__(self, score_at: ScoreFn, start_s: float, fps: float, cues: Sequence[int], calibrate: bool,
                 confidence_z: float, score_threshold: float):
        self.score_at, self.start_s, self.fps = score_at, start_s, fps
        self.cues, self.calibrate, self.confidence_z, self.score_threshold = tuple(cues), calibrate, confidence_z, score_threshold
        self.raw: dict[int, np.ndarray] = {}
        self.evaluated = 0
        self.centre = self.spread = self.weights = None

    def seed_known(self, times_s: Any, scores: Any, total: int) -> None:
        t = np.asarray(times_s, dtype=np.float64).ravel()
        s = np.asarray(scores, dtype=np.float64)
        s = s.reshape(len(s), -1) if s.ndim else s.reshape(1, 1)
        if s.shape[0] != t.size:
            raise InvalidArgumentError(f"{t.size} known_times_s but {s.shape[0]} known_scores", "pass one score per time")
        bad = np.flatnonzero(~(np.isfinite(t) & np.isfinite(s).all(axis=1)))
        if bad.size:
            raise InvalidArgumentError(f"known time/score #{bad[0]} is not finite: {float(t[bad[0]])!r}")
        offset = (t - self.start_s) * self.fps
        sec = np.clip(np.rint(offset), 0, total - 1).astype(np.int64)
        for i in np.argsort(-np.abs(offset - sec), kind="stable"):  # nearest frame last: it wins
            self.raw[int(sec[i])] = s[i]

    def _fetch(self, secs: np.ndarray) -> None:
        missing = np.unique([s for s in secs.tolist() if s not in self.raw])
        if missing.size == 0:
            return
        got = np.asarray(self.score_at(self.start_s + missing / self.fps), dtype=np.float64)
        if got.ndim == 1:
            got = got[:, None]
        if got.ndim != 2 or got.shape[0] != missing.size:
            raise InvalidArgumentError(f"score_at returned shape {got.shape} for {missing.size} times",
                                       "return one score per time (or one row of scores per time)")
        bad = np.argwhere(~np.isfinite(got))
        if bad.size:
            raise InvalidArgumentError(f"score_at returned {float(got[tuple(bad[0])])!r} for "
                                       f"{self.start_s + missing[bad[0][0]] / self.fps:.3f} s", "scores must be finite")
        for s, row in zip(missing.tolist(), got):
            self.raw[s] = row
        self.evaluated += missing.size

    def confidences(self, secs: np.ndarray) -> np.ndarray:
        """(n, texts) detector-like confidences of the frames at ``secs``."""
        self._fetch(secs)
        rows = np.stack([self.raw[s] for s in secs.tolist()])
        if self.weights is None:  # the first iteration: fix columns, weights and calibration
            m = rows.shape[1]
            if any(not _is_int(c) or not 0 <= c < m for c in self.cues) or len(set(self.cues)) >= m:
                raise InvalidArgumentError(f"cues = {list(self.cues)!r} is invalid for {m} score columns",
                                           "list cue columns by index and leave at least one target column")
            self.weights = np.where(np.isin(np.arange(m), self.cues), CUE_WEIGHT, 1.0)
            self.centre = np.median(rows, axis=0)
            mad = ROBUST_SPREAD * np.median(np.abs(rows - self.centre), axis=0)
            floor = np.maximum(np.abs(self.centre) * 1e-6, 1e-12)  # a flat first look: any rise counts
            self.spread = np.where(mad > 0, mad, np.maximum(rows.std(axis=0), floor))
        if rows.shape[1] != self.weights.size:
            raise InvalidArgumentError(f"score_at returned {rows.shape[1]} scores per time, earlier {self.weights.size}",
                                       "return the same columns every time")
        if not self.calibrate:
            return rows
        z = (rows - self.centre) / self.spread
        return 1.0 / (1.0 + np.exp(-(z - self.confidence_z)))

    def measure(self, secs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame: its score (best weighted detected confidence, 0 if none) and what is detected."""
        conf = self.confidences(secs)
        detected = conf > self.score_threshold
        score = np.where(detected, conf * self.weights, 0.0).max(axis=1, initial=0.0)
        return score, detected


def _sample(score_p: np.ndarray | None, unvisited: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    total = unvisited.size
    n = min(n, total)
    if score_p is None:  # first iteration: evenly spaced
        picked = np.arange(0, total, total // n)[:n]
        return picked if picked.size == n else np.append(picked, total - 1)
    p = (score_p + n / total) * unvisited
    p = p * (p >= np.percentile(p, 75))
    if p.sum() == 0 or np.count_nonzero(p) < n:
        p = score_p + n / total
    p /= p.sum()
    return rng.choice(total, size=n, replace=False, p=p)


def _spread(score: np.ndarray, frame_scores: np.ndarray, secs: np.ndarray, window: int = WINDOW_SIZE) -> None:
    """Neighbour spreading, in the authors' order (a lifted second may lift the next one's reach)."""
    cut = np.percentile(frame_scores, 75)
    for sec in (int(s) for s, c in zip(secs, frame_scores) if c >= cut):
        for offset in range(-window, window + 1):
            j = sec + offset
            if 0 <= j < score.size:
                score[j] = max(score[j], score[sec] / (abs(offset) + 1))


def _distribution(score: np.ndarray, unvisited: np.ndarray) -> np.ndarray:
    from scipy.interpolate import UnivariateSpline

    total = score.size
    visited = np.flatnonzero(unvisited == 0)
    with warnings.catch_warnings():  # FITPACK warns when it cannot meet s exactly; the fit is used anyway
        warnings.simplefilter("ignore")
        fitted = UnivariateSpline(visited, score[visited], s=0.5)(np.arange(total))
    p = 1 / (1 + np.exp(-np.maximum(1 / total, fitted)))
    return p / p.sum()


def _draw(score: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    p = score / score.sum()
    held = np.count_nonzero(p)
    if held >= n:
        return np.sort(rng.choice(score.size, size=n, replace=False, p=p))
    rest = np.flatnonzero(p == 0)  # the authors' draw fails here: take all with mass, the rest evenly
    extra = rest[np.linspace(0, rest.size - 1, n - held).round().astype(np.int64)] if n > held else rest[:0]
    return np.sort(np.concatenate([np.flatnonzero(p > 0), extra]))


def tstar_search(
    duration_s: float,
    score_at: ScoreFn,
    search_nframes: int = 8,
    *,
    start_s: float = 0.0,
    fps: float = 1.0,
    image_grid_shape: tuple[int, int] = (4, 4),
    search_budget: float = 1.0,
    confidence_threshold: float = 0.7,
    score_threshold: float = 0.12,
    cues: Sequence[int] = (),
    calibrate: bool = True,
    confidence_z: float = 4.0,
    known_times_s: Sequence[float] | np.ndarray | None = None,
    known_scores: Sequence[float] | np.ndarray | None = None,
    seed: int = 0,
) -> TStarResult:
    """The published T* over [start_s, start_s + duration_s); see the module docstring.

    ``score_at(times_s)`` returns one image–text score per time (or a row per time, one column per
    text). ``known_times_s``/``known_scores``: frames already embedded (the store); T* behaves the
    same, they only spare the embedding. Same inputs and ``seed``, same result.
    """
    for name, value in (("duration_s", duration_s), ("fps", fps), ("search_budget", search_budget)):
        _check(name, not isinstance(value, bool) and isinstance(value, (int, float, np.number)) and np.isfinite(value)
               and value > 0, value, "a positive number")
    _check("search_nframes", _is_int(search_nframes) and search_nframes >= 1, search_nframes, "an integer of at least 1")
    rows_cols = tuple(image_grid_shape) if isinstance(image_grid_shape, (tuple, list)) else ()
    _check("image_grid_shape", len(rows_cols) == 2 and all(_is_int(v) and v >= 1 for v in rows_cols)
           and rows_cols[0] * rows_cols[1] >= 4, image_grid_shape, "(rows, cols) of at least 4 frames (T*'s spline needs 4)")
    for name, value in (("confidence_threshold", confidence_threshold), ("score_threshold", score_threshold),
                        ("confidence_z", confidence_z)):
        _check(name, isinstance(value, (int, float, np.number)) and np.isfinite(value), value, "a finite number")
    if not callable(score_at):
        raise InvalidArgumentError(f"score_at = {score_at!r} is not callable", "pass a function times_s -> scores")
    if (known_times_s is None) != (known_scores is None):
        raise InvalidArgumentError("known_times_s and known_scores go together", "pass both or neither")

    total = max(1, int(duration_s * fps))
    frames = _Frames(score_at, float(start_s), float(fps), cues, calibrate, confidence_z, score_threshold)
    if known_times_s is not None:
        frames.seed_known(known_times_s, known_scores, total)
    from_store = len(frames.raw)
    rng = np.random.RandomState(seed)
    score = np.zeros(total) + FLOOR
    unvisited = np.ones(total)
    score_p: np.ndarray | None = None  # T*'s P, once the first iteration has updated it
    sampled: list[np.ndarray] = []
    stop = "budget"

    if total < 4 or total <= search_nframes:  # too short to search: score every second
        secs = np.arange(total)
        score[:], _ = frames.measure(secs)
        unvisited[:] = 0
        picked, stop = np.sort(np.argsort(-score, kind="stable")[:search_nframes]), "whole"
    else:
        n_grid = rows_cols[0] * rows_cols[1]
        targets = None
        budget_left = min(BUDGET_CAP, total * search_budget)
        while (targets is None or targets) and budget_left > 0:
            secs = _sample(score_p, unvisited, n_grid, rng)
            budget_left -= n_grid
            frame_scores, detected = frames.measure(secs)
            if targets is None:
                targets = [j for j in range(frames.weights.size) if j not in frames.cues]
            sampled.append(secs)
            unvisited[secs] = 0
            score[secs] = frame_scores
            _spread(score, frame_scores, secs)
            score_p = _distribution(score, unvisited)
            for k, sec in enumerate(secs.tolist()):  # verification, frame by frame
                for target in list(targets):
                    if detected[k, target]:
                        score[sec] = frame_scores[k]  # re-detection: the same score here
                        if frame_scores[k] > confidence_threshold:
                            targets.remove(target)
                            break
            if not targets:
                stop = "verified"
        picked = _draw(score, search_nframes, rng)

    visited = np.flatnonzero(unvisited == 0)
    visited_scores, _ = frames.measure(visited)
    times = start_s + picked / fps
    return TStarResult(
        visited_times_s=start_s + visited / fps,
        visited_scores=visited_scores,
        selection=Selection(tuple(float(t) for t in times), tuple(float(score[s]) for s in picked), "tstar"),
        evaluations=frames.evaluated,
        iterations=len(sampled),
        stop_reason=stop,
        sampled_s=[[float(start_s + s / fps) for s in secs] for secs in sampled],
        from_store=from_store,
    )
