"""Answer accuracy for ``longvid eval --qa``: each item is asked in full (frames found, the video LLM
answers) and its answer is scored against the item's ``answer``.

    golds = qa_golds(items)                          # before any model loads; one-line refusals
    result = score_answer(golds[k], answer, error, mc="likelihood")
    report = qa_report(results, mc="likelihood")     # accuracy overall and per answer type

Two answer types, by the item:

* **multiple choice** (the item has ``options``): the gold is an option letter (``answer`` gives the
  letter, "B", or the option's text). ``mc="likelihood"`` (default): the LLM scores every option's
  text as the answer (mean log-probability per token, ``VideoLLM.option_logprobs``) and the most
  likely is the choice. ``mc="generate"``: the choice is read from the generated text
  (:func:`~longvid.eval.qa.choice_from_text`: a leading letter or an option's text); a text that
  names no option, or several, is wrong and counted as ``unparsed``. Options marked "A) ...",
  "B. ..." keep their letters and are scored without the mark; others are lettered A, B, ...
* **short answer** (no options): right when the generated text equals the answer after
  normalisation (:func:`~longvid.eval.qa.short_answer_correct`).

The question is sent as written in the file in both cases (the options are not added to it: to
have the model read them, write them into the question). A failed item (missing video) is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgumentError
from ..types import _ToDict
from .annotations import HaystackItem
from .qa import choice_from_text, lettered_options, normalize_answer, short_answer_correct

MC_MODES = ("likelihood", "generate")
MULTIPLE_CHOICE = "multiple_choice"
SHORT_ANSWER = "short_answer"


@dataclass(frozen=True)
class QAGold:
    type: str  # MULTIPLE_CHOICE | SHORT_ANSWER
    answer: str  # the gold option letter, or the short answer
    options: dict[str, str] = field(default_factory=dict)  # letter -> option text (multiple choice)


@dataclass
class QAItemResult(_ToDict):
    type: str
    gold: str  # option letter (multiple choice) or the short answer
    said: str | None  # the generated answer; None when the item failed
    choice: str | None  # the option letter chosen (multiple choice); None: failed, or unparsed text
    option_scores: list[float] | None  # per option, in letter order (likelihood mode)
    correct: bool
    error: str | None = None


@dataclass
class Accuracy(_ToDict):
    items: int
    correct: int
    accuracy: float | None  # None when there are no items


@dataclass
class QAReport(_ToDict):
    mc: str  # how multiple-choice answers were read: "likelihood" | "generate"
    accuracy: float
    correct: int
    items: int
    failed: int  # items whose ask failed (counted as wrong)
    unparsed: int  # generate mode: multiple-choice answers naming no option (counted as wrong)
    by_type: dict[str, Accuracy]
    results: list[QAItemResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-item results (which go with each item in ``longvid eval``'s JSON)."""
        return {k: v for k, v in self.to_dict().items() if k != "results"}


def check_mc(mc: str) -> str:
    if mc not in MC_MODES:
        raise InvalidArgumentError(f"mc = {mc!r} is invalid", "choose likelihood (score each option) or generate (read the answer)")
    return mc


def qa_golds(items: Sequence[HaystackItem]) -> list[QAGold]:
    """The gold answer of every item, or a one-line refusal naming the first item that has none usable."""
    from ..llm.checks import check_options

    golds = []
    for item in items:
        where = item.where or f"item {item.id}"
        if item.answer is None or not item.answer.strip():
            raise InvalidArgumentError(f"{where}: no 'answer' to score",
                                       "add 'answer' (the option letter, or the short answer) to every item, or drop --qa")
        if not item.options:
            if not normalize_answer(item.answer):
                raise InvalidArgumentError(f"{where}: answer {item.answer!r} has no words to compare", "give the answer in words")
            golds.append(QAGold(SHORT_ANSWER, item.answer))
            continue
        try:
            options = lettered_options(item.options)
            check_options(list(options.values()))
        except (ValueError, InvalidArgumentError) as exc:
            raise InvalidArgumentError(f"{where}: {exc}", "give 2 to 26 distinct options") from None
        gold = choice_from_text(item.answer, options)
        if gold is None:
            raise InvalidArgumentError(f"{where}: answer {item.answer!r} names none of the options ({', '.join(options)})",
                                       "give the option's letter or its text")
        golds.append(QAGold(MULTIPLE_CHOICE, gold, options))
    return golds


def ask_options(gold: QAGold, mc: str) -> list[str] | None:
    """The option texts the LLM scores for this item (likelihood mode, multiple choice), else None."""
    return list(gold.options.values()) if gold.type == MULTIPLE_CHOICE and mc == "likelihood" else None


def score_answer(gold: QAGold, answer: Any, error: str | None, mc: str) -> QAItemResult:
    """One item's result from the pipeline's ``Answer`` (None with ``error`` when the ask failed)."""
    if error is not None or answer is None:
        return QAItemResult(gold.type, gold.answer, None, None, None, False, error or "no answer")
    if gold.type == SHORT_ANSWER:
        return QAItemResult(gold.type, gold.answer, answer.text, None, None, short_answer_correct(answer.text, gold.answer))
    if mc == "likelihood":
        choice, scores = answer.choice, list(answer.option_scores)
    else:
        choice, scores = choice_from_text(answer.text, gold.options), None
    return QAItemResult(gold.type, gold.answer, answer.text, choice, scores, choice == gold.answer)


def qa_report(results: Sequence[QAItemResult], mc: str) -> QAReport:
    def accuracy(rs: Sequence[QAItemResult]) -> Accuracy:
        right = sum(r.correct for r in rs)
        return Accuracy(len(rs), right, right / len(rs) if rs else None)

    total = accuracy(results)
    return QAReport(
        mc=mc,
        accuracy=total.accuracy or 0.0,
        correct=total.correct,
        items=total.items,
        failed=sum(r.error is not None for r in results),
        unparsed=sum(r.type == MULTIPLE_CHOICE and r.error is None and r.choice is None for r in results),
        by_type={t: accuracy([r for r in results if r.type == t]) for t in (MULTIPLE_CHOICE, SHORT_ANSWER)},
        results=list(results),
    )
