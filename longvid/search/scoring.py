"""Query–frame relevance from embeddings.

``frame_scores(frame_vectors, text_vectors)`` turns an (n, d) block of frame embeddings and an
(m, d) block of text embeddings (the question, or its decoupled phrases) into one relevance score
per frame:

1. cosine similarity of every frame with every text (inputs are L2-normalised here, so stored
   vectors of any scale work) -> (n, m);
2. per text, a normalisation across the frames, so texts and queries are comparable:

   * ``"zscore"`` (default): subtract the text's mean over the frames and divide by its standard
     deviation. CLIP-style similarities sit in a narrow band whose offset depends on the text
     ("a red star" and "red star jumping" differ by a constant); z-scores remove the offset and
     scale, so phrases combine fairly and a score of 3 means "3 spreads above this video's
     typical frame" for any question. A text equally similar to all frames scores 0 everywhere.
   * ``"softmax"``: ``n * softmax(cos / temperature)`` over the frames: a relevance density with
     mean 1 (temperature 0.01 matches CLIP's learned logit scale of 100). Sharper; emphasises the
     few best frames.
   * ``"none"``: raw cosine.
3. combine the m columns: ``"mean"`` (all phrases count), ``"max"`` (any phrase suffices),
   ``"min"`` (every phrase must be visible: a strict AND), or ``weights`` for a weighted mean.

:func:`score_question` runs the whole path from a question string with any text encoder callable,
decoupled into phrases (see :mod:`longvid.search.decouple`) or raw. :func:`incremental_scorer`
scores each frame on its own (raw cosine, combined), so frames scored in different batches (T*)
or read from the store get the same number for the same frame: the pipeline's relevance scale.
:func:`judge_match` says whether the best moment matches the question clearly or only weakly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..types import _ToDict

COMBINE = ("mean", "max", "min")
NORMALIZE = ("zscore", "softmax", "none")


def _as_matrix(values: object, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise InvalidArgumentError(f"{what} must be a non-empty (rows, dim) array, got shape {x.shape}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        r, c = bad[0]
        raise InvalidArgumentError(f"{what}[{r}, {c}] = {float(x[r, c])!r} is not a finite number", "re-embed that row")
    norms = np.linalg.norm(x, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise InvalidArgumentError(f"{what}[{zero[0]}] is an all-zero vector", "it has no direction to compare")
    return x / norms[:, None]


def cosine_matrix(frame_vectors: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
    """(n, m) cosine similarities; refuses mismatched dimensions, NaN and zero vectors."""
    f = _as_matrix(frame_vectors, "frame_vectors")
    q = _as_matrix(text_vectors, "text_vectors")
    if f.shape[1] != q.shape[1]:
        raise InvalidArgumentError(
            f"frame vectors have dimension {f.shape[1]} but text vectors {q.shape[1]}",
            "embed frames and text with the same model",
        )
    return f @ q.T


def normalize_columns(sim: np.ndarray, method: str = "zscore", temperature: float = 0.01) -> np.ndarray:
    """Per-text normalisation across frames (see the module docstring)."""
    if method == "none":
        return sim
    if method == "zscore":
        centred = sim - sim.mean(axis=0, keepdims=True)
        std = sim.std(axis=0, keepdims=True)
        # A text that matches every frame equally carries no information about *where*: 0.
        return np.divide(centred, std, out=np.zeros_like(centred), where=std > 1e-12)
    if method == "softmax":
        if not temperature > 0:
            raise InvalidArgumentError(f"temperature = {temperature!r} is invalid", "expected a positive number, e.g. 0.01")
        logits = sim / temperature
        logits -= logits.max(axis=0, keepdims=True)
        e = np.exp(logits)
        return sim.shape[0] * e / e.sum(axis=0, keepdims=True)
    raise InvalidArgumentError(f"normalize = {method!r} is unknown", f"choose one of: {', '.join(NORMALIZE)}")


def combine_columns(per_text: np.ndarray, combine: str = "mean", weights: Sequence[float] | None = None) -> np.ndarray:
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (per_text.shape[1],) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise InvalidArgumentError(
                f"weights = {np.ravel(w).tolist()!r} are invalid",
                f"expected {per_text.shape[1]} non-negative numbers with a positive sum",
            )
        return per_text @ (w / w.sum())
    if combine == "mean":
        return per_text.mean(axis=1)
    if combine == "max":
        return per_text.max(axis=1)
    if combine == "min":
        return per_text.min(axis=1)
    raise InvalidArgumentError(f"combine = {combine!r} is unknown", f"choose one of: {', '.join(COMBINE)}")


def frame_scores(
    frame_vectors: np.ndarray,
    text_vectors: np.ndarray,
    combine: str = "mean",
    normalize: str = "zscore",
    temperature: float = 0.01,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """One relevance score per frame, shape (n,), float64 (see the module docstring)."""
    if combine not in COMBINE:
        raise InvalidArgumentError(f"combine = {combine!r} is unknown", f"choose one of: {', '.join(COMBINE)}")
    sim = cosine_matrix(frame_vectors, text_vectors)
    return combine_columns(normalize_columns(sim, normalize, temperature), combine, weights)


def incremental_scorer(
    text_vectors: np.ndarray, combine: str = "mean", weights: Sequence[float] | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A ``frame_vectors -> scores`` function whose score of a frame depends on that frame alone.

    Raw cosine per text, combined: a frame gets the same score whichever batch it comes in (T*
    rounds) and whether it is read from the store or embedded now, so cold and indexed answers
    share one scale. (Z-scores and softmax are relative to the frames scored together, so they
    must not be used when scores from different batches are compared.) Ranking frames of one
    video by it or by per-text z-scores picked the same frames: F1 equal to 3 decimals for
    topk/bolt/aks/scene at 8/16/32 frames on 10 needle videos (one topk@32 cell 0.527 vs 0.524).
    """
    if combine not in COMBINE:
        raise InvalidArgumentError(f"combine = {combine!r} is unknown", f"choose one of: {', '.join(COMBINE)}")
    texts = _as_matrix(text_vectors, "text_vectors")

    def score(frame_vectors: np.ndarray) -> np.ndarray:
        return combine_columns(cosine_matrix(frame_vectors, texts), combine, weights)

    return score


SMOOTH_METHODS = ("max", "mean")


def smooth_scores(timestamps_s: np.ndarray, scores: np.ndarray, sigma_s: float, method: str = "mean") -> np.ndarray:
    """Spread relevance over time so that frames next to a relevant moment inherit some of it.

    A short event then lifts the frames just before and after it, which a question about the
    event needs (its context; LV-Haystack-style scoring counts frames within a few seconds).
    Irregular spacing is fine; ``sigma_s = 0`` returns the scores unchanged.

    * ``"mean"``: Gaussian-weighted average over time. Dilutes short events: a 3 s needle
      averaged with its plain neighbours can end up below a longer, weaker moment elsewhere.
    * ``"max"``: Gaussian-weighted *max* above the median ``m``: each frame keeps the larger of
      its own score and ``m + w * (s_j - m)`` for every frame ``j`` above the median, ``w`` the
      Gaussian weight of their distance. Peaks keep their height, so the order of separate
      moments is the order of their best frames (a short needle stays first), and a frame at
      distance ``d`` from a peak gets ``exp(-d^2 / 2 sigma^2)`` of the peak's lead over the median.
    """
    if method not in SMOOTH_METHODS:
        raise InvalidArgumentError(f"smoothing method {method!r} is unknown", f"choose one of: {', '.join(SMOOTH_METHODS)}")
    t = np.asarray(timestamps_s, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if t.shape != s.shape or t.ndim != 1:
        raise InvalidArgumentError(f"timestamps_s {t.shape} and scores {s.shape} must be 1-D of one length")
    if not np.isfinite(sigma_s) or sigma_s < 0:
        raise InvalidArgumentError(f"sigma_s = {sigma_s!r} is invalid", "expected 0 or more seconds")
    if sigma_s == 0 or t.size < 2:
        return s.copy()
    reach = 4.0 * sigma_s  # beyond 4 sigma the weights are < 4e-4 of the centre's
    width = int(np.max(np.searchsorted(t, t + reach, side="right") - np.arange(t.size)))
    if method == "max":
        return _spread_max(t, s, sigma_s, reach, width)
    total = s.copy()  # the frame itself, weight 1
    weight = np.ones_like(s)
    # One vector step per neighbour offset: frame i and frame i + d weigh each other alike.
    for d in range(1, width):
        w = np.exp(-0.5 * ((t[d:] - t[:-d]) / sigma_s) ** 2)
        w[t[d:] - t[:-d] > reach] = 0.0
        total[:-d] += w * s[d:]
        weight[:-d] += w
        total[d:] += w * s[:-d]
        weight[d:] += w
    return total / weight


def _spread_max(t: np.ndarray, s: np.ndarray, sigma_s: float, reach: float, width: int) -> np.ndarray:
    """The ``"max"`` method of :func:`smooth_scores` (one vector step per neighbour offset)."""
    base = float(np.median(s))
    lead = np.clip(s - base, 0.0, None)
    best = lead.copy()  # the frame itself, weight 1
    for d in range(1, width):
        w = np.exp(-0.5 * ((t[d:] - t[:-d]) / sigma_s) ** 2)
        w[t[d:] - t[:-d] > reach] = 0.0
        np.maximum(best[:-d], w * lead[d:], out=best[:-d])
        np.maximum(best[d:], w * lead[:-d], out=best[d:])
    return np.maximum(s, base + best)


@dataclass(frozen=True)
class QueryScores(_ToDict):
    """Scores of one question: the texts that were embedded, per-text and combined scores."""

    question: str
    texts: tuple[str, ...]  # the phrases (decoupled) or the question itself (raw)
    method: str  # "raw", "rules" or "llm" (how the texts were obtained)
    per_text: np.ndarray  # (n, m) normalised per-text scores
    scores: np.ndarray  # (n,) combined


def score_question(
    frame_vectors: np.ndarray,
    question: str,
    encode_text: Callable[[list[str]], np.ndarray],
    *,
    decouple: bool = True,
    llm: Callable[[str], str] | None = None,
    combine: str = "mean",
    normalize: str = "zscore",
    temperature: float = 0.01,
) -> QueryScores:
    """Score frames for ``question``; ``encode_text(texts) -> (len(texts), d)`` is the text encoder.

    ``decouple=True`` scores the question's object/action phrases (rules, or ``llm`` when given)
    and combines them; ``decouple=False`` scores the raw question as one text.
    """
    from .decouple import decouple_question

    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError(f"question = {question!r} is empty", "ask something about the video")
    if decouple:
        parts = decouple_question(question, llm=llm)
        texts, method = parts.phrases, parts.method
    else:
        texts, method = (question.strip(),), "raw"
    text_vectors = np.asarray(encode_text(list(texts)))
    if text_vectors.ndim != 2 or text_vectors.shape[0] != len(texts):
        raise InvalidArgumentError(
            f"encode_text returned shape {text_vectors.shape} for {len(texts)} texts", "expected one row per text"
        )
    if combine not in COMBINE:
        raise InvalidArgumentError(f"combine = {combine!r} is unknown", f"choose one of: {', '.join(COMBINE)}")
    per_text = normalize_columns(cosine_matrix(frame_vectors, text_vectors), normalize, temperature)
    return QueryScores(question, tuple(texts), method, per_text, combine_columns(per_text, combine))


# --- how clearly the best moment matches the question --------------------------------------------

# Captions of everyday scenes that a question is almost never about: a population of unrelated
# texts. Their similarities to a frame show what "unrelated" scores on that frame with that model;
# a question that describes the frame stands far above them, a question about something absent
# does not. Median and MAD, not mean and std, so that one caption that happens to describe the
# video (a dog in a dog video) barely moves the yardstick. benchmarks/match_calibration.py
# measured this list, and the threshold in longvid.config.SearchConfig.match_z, with it.
NULL_CAPTIONS = (
    "a dog", "a man", "a car", "a tree", "a house", "a cat", "a person talking", "a city street", "a kitchen",
    "text on a screen", "a group of people", "a bird in the sky", "a plate of food", "a computer screen", "a beach",
    "a forest", "a room", "a football match", "a crowd", "a road", "water", "a building", "a child playing",
    "a phone", "hands", "a book", "a map", "a chart", "a face", "the sky",
)


def caption_z(frame_vectors: np.ndarray, text_vectors: np.ndarray, null_vectors: np.ndarray, combine: str = "mean") -> np.ndarray:
    """Per frame: its score for the texts (as :func:`incremental_scorer` gives it) minus the median of
    its similarities to the unrelated ``null_vectors``, in robust spreads of those (1.4826 x MAD).

    It depends on the frame alone (equal cold or from the store) and has no unit: a cosine scale
    that differs between encoders cancels out, so one rule serves every model.
    """
    scores = combine_columns(cosine_matrix(frame_vectors, text_vectors), combine)
    nulls = cosine_matrix(frame_vectors, null_vectors)
    centre = np.median(nulls, axis=1)
    spread = 1.4826 * np.median(np.abs(nulls - centre[:, None]), axis=1)
    return np.divide(scores - centre, spread, out=np.zeros_like(scores), where=spread > 1e-12)


def judge_match(
    frame_vectors: np.ndarray, times_s: np.ndarray, text_vectors: np.ndarray, null_vectors: np.ndarray, threshold: float
):
    """``Match`` of a moment from its frames: "clear" when one of them scores at least ``threshold``
    robust spreads above unrelated captions (:func:`caption_z`), else "weak" (the video may not
    show what was asked). The frame that scores highest is the one reported."""
    from ..types import Match

    z = caption_z(frame_vectors, text_vectors, null_vectors)
    best = int(np.argmax(z))
    return Match("clear" if z[best] >= threshold else "weak", float(z[best]), float(threshold), float(np.asarray(times_s)[best]))
