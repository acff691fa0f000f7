"""Argument checks for ``VideoLLM.answer``, run before any model work (and before weights load).

Each raises ``InvalidArgumentError`` with the bad value and what to do instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError


def check_question(question: str, reserved: Iterable[str] = ()) -> str:
    """The stripped question; refuses empty ones and ones holding the model's special tokens."""
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgumentError("the question is empty", "ask something about the video, e.g. 'what happens first?'")
    found = sorted(t for t in reserved if t and t in question)
    if found:
        raise InvalidArgumentError(
            f"the question contains the model's reserved token {found[0]!r}", "remove it from the question"
        )
    return question.strip()


def check_options(options: Sequence[str] | None, fastv: bool = False) -> list[str] | None:
    """Multiple-choice options as a list of 2 to 26 distinct, non-empty texts (None: no options).

    Not with FastV (``fastv``): the scoring forwards run the whole decoder, so their choice would
    not be the one of the model FastV answers with.
    """
    if options is None:
        return None
    if fastv:
        raise InvalidArgumentError("options cannot be scored with FastV (in-decoder token dropping)",
                                   "turn FastV off ([llm] fastv_r = 0) to score options")
    if isinstance(options, (str, bytes)) or not all(isinstance(o, str) for o in options):
        raise InvalidArgumentError(f"options = {options!r} are invalid", "give a list of option texts")
    out = [" ".join(o.split()) for o in options]
    if not 2 <= len(out) <= 26:
        raise InvalidArgumentError(f"{len(out)} options were given", "give 2 to 26 options to choose from")
    if not all(out):
        raise InvalidArgumentError(f"option {out.index('') + 1} is empty", "give every option some text")
    if len(set(out)) < len(out):
        twice = next(o for o in out if out.count(o) > 1)
        raise InvalidArgumentError(f"option {twice!r} is given twice", "give each option once")
    return out


def check_budget(token_budget: int | None, context_length: int, model: str) -> None:
    if token_budget is None:
        return
    if isinstance(token_budget, bool) or not isinstance(token_budget, (int, np.integer)) or token_budget < 1:
        raise InvalidArgumentError(f"token budget {token_budget!r} is invalid", "use a whole number of at least 1")
    if token_budget > context_length:
        raise InvalidArgumentError(
            f"token budget {token_budget} is larger than the context of {model} ({context_length} tokens)",
            f"use at most {context_length} (fewer leaves room for the question and answer)",
        )


def check_max_new_tokens(max_new_tokens: int) -> None:
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise InvalidArgumentError(f"max_new_tokens = {max_new_tokens!r} is invalid", "use at least 1")


def check_token_options(token_method: str, merge_threshold: float | None, alpha: float) -> None:
    """The token stage's own checks, run early."""
    from ..tokens.assign import check_alpha
    from ..tokens.merge import check_merge_threshold
    from ..tokens.samplers import SAMPLERS

    if not isinstance(token_method, str) or token_method not in SAMPLERS:
        raise InvalidArgumentError(f"unknown token method {token_method!r}", f"choose one of: {', '.join(SAMPLERS.names())}")
    check_merge_threshold(merge_threshold)
    check_alpha(alpha)


def check_frames(frames: Sequence[Any], timestamps_s: Sequence[float] | None) -> tuple[list[np.ndarray], list[float]]:
    """Frames as (H, W, 3) uint8 arrays of one size, with finite non-decreasing times in seconds.

    ``frames`` may be arrays or ``longvid.types.Frame`` objects (whose ``pts_s`` serve as times
    when ``timestamps_s`` is None).
    """
    if frames is None or len(frames) == 0:
        raise InvalidArgumentError("no frames were given", "pass at least one RGB frame")
    images = [np.asarray(getattr(f, "image", f)) for f in frames]
    if timestamps_s is None:
        if not all(hasattr(f, "pts_s") for f in frames):
            raise InvalidArgumentError("timestamps_s is missing", "pass one timestamp per frame, in seconds")
        timestamps_s = [f.pts_s for f in frames]
    times = [float(t) for t in timestamps_s]
    if len(times) != len(images):
        raise InvalidArgumentError(f"{len(images)} frames but {len(times)} timestamps", "pass one timestamp per frame")
    if not all(math.isfinite(t) for t in times) or any(b < a for a, b in zip(times, times[1:])):
        raise InvalidArgumentError(f"timestamps_s {times[:8]} are not finite and increasing", "sort frames by time")
    first = images[0]
    for i, img in enumerate(images):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InvalidArgumentError(f"frame {i} is {img.dtype} {img.shape}", "frames must be RGB uint8 arrays shaped (H, W, 3)")
        if img.shape != first.shape:
            raise InvalidArgumentError(
                f"frame {i} is {img.shape[1]}x{img.shape[0]} but frame 0 is {first.shape[1]}x{first.shape[0]}",
                "all frames must have the same size",
            )
    return [np.ascontiguousarray(i) for i in images], times
