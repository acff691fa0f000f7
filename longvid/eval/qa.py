"""Scoring answers: short answers by normalised exact match, multiple choice by the option the
model finds most likely (or the letter / option text it wrote).

    short_answer_correct("The red star.", "the red star")          -> True
    choice_from_text("B. moves left", {"A": "jumps", "B": "moves left"})   -> "B"
    choice_from_scores({"A": -3.2, "B": -0.4})                      -> "B"
    lettered_options(["A) Red", "B) Blue"])  -> {"A": "Red", "B": "Blue"}      (["red", "blue"]: A, B given)

Normalisation: lower case, punctuation and surrounding white space dropped, runs of spaces folded,
a leading article ("the", "a", "an") and a leading "it" dropped ("It jumps." == "jumps"). Numbers
written as digits match their words ("2" == "two") up to twenty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty"
).split()
_LEADING = ("the ", "a ", "an ", "it ")
# A letter naming an option: "B", "B.", "B)", "B:", "(b) ...". Not a letter followed by a plain space:
# "a red star" is an article, not option A.
_LETTER = re.compile(r"^(?:\(([a-z])\)|([a-z])(?:[.):]|$))")
_PREFIX = re.compile(r"^\s*(?:\(([A-Za-z])\)|([A-Za-z])[.):])\s*(.*)$", re.S)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalize_answer(text: str) -> str:
    """The comparable form of an answer (see the module docstring)."""
    words = re.sub(r"[^\w\s]", " ", str(text).lower()).split()
    words = [_NUMBER_WORDS[int(w)] if w.isdigit() and int(w) < len(_NUMBER_WORDS) else w for w in words]
    out = " ".join(words)
    changed = True
    while changed:
        changed = False
        for lead in _LEADING:
            if out.startswith(lead):
                out, changed = out[len(lead) :], True
    return out


def short_answer_correct(predicted: str, gold: str) -> bool:
    return bool(normalize_answer(gold)) and normalize_answer(predicted) == normalize_answer(gold)


def choice_from_text(text: str, options: Mapping[str, str]) -> str | None:
    """The option letter a generated answer names: a leading letter ("B", "(b)", "B. ..."), else the
    option whose text it equals after normalisation; None when it names none or several."""
    letters = {k.lower(): k for k in options}
    found = _LETTER.match(str(text).strip().lower())
    letter = found and (found.group(1) or found.group(2))
    if letter and letter in letters:
        return letters[letter]
    said = normalize_answer(text)
    hits = [k for k, v in options.items() if normalize_answer(v) == said]
    return hits[0] if len(hits) == 1 else None


def choice_from_scores(scores: Mapping[str, float]) -> str:
    """The option with the highest score (ties: the first in order)."""
    if not scores:
        raise ValueError("no options to choose from")
    return max(scores, key=lambda k: (scores[k], -list(scores).index(k)))


def lettered_options(options: Sequence[str]) -> dict[str, str]:
    """Letter -> option text. Options marked "A) Red", "B. Blue", "(C) x" (A, B, C, ... in order, as
    T* and LV-Haystack write them) keep their letters and lose the mark; others get A, B, C, ..."""
    options = [str(o) for o in options]
    if len(options) > len(LETTERS):
        raise ValueError(f"{len(options)} options, more than {len(LETTERS)} letters")
    marked = [_PREFIX.match(o) for o in options]
    if options and all(marked):
        letters = [(m.group(1) or m.group(2)).upper() for m in marked]
        if "".join(letters) == LETTERS[: len(letters)]:
            return {k: m.group(3).strip() for k, m in zip(letters, marked)}
    return {LETTERS[i]: o.strip() for i, o in enumerate(options)}


__all__ = [
    "LETTERS", "normalize_answer", "short_answer_correct", "choice_from_text", "choice_from_scores",
    "lettered_options",
]
