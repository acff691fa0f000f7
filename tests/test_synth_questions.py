"""Worded questions about synthetic videos: every answer follows from the plan and is unique."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.eval.qa import choice_from_scores, choice_from_text, lettered_options, normalize_answer, short_answer_correct
from longvid.search.decouple import decouple_question
from longvid.synth import GroundTruth, plan_needle_video, plan_video
from longvid.synth.questions import (
    ACTION_ANSWERS,
    COUNT_WORDS,
    KINDS,
    answer_vocabulary,
    hops_seen,
    pick_questions,
    plan_qa_video,
    truth_questions,
    word_questions,
)
from longvid.synth.truth import build_ground_truth


@pytest.fixture(scope="module", params=[11, 12, 13])
def spec(request):
    return plan_qa_video(request.param, 300.0)


def test_a_qa_video_can_be_asked_every_kind_about_its_needles(spec):
    questions = word_questions(spec, roles=("needle",))
    assert {q.kind for q in questions} == set(KINDS)
    picked = pick_questions(questions, np.random.default_rng(0))
    assert [q.kind for q in picked] == list(KINDS)


def test_answers_follow_from_the_plan(spec):
    objects = {o.id: o for o in spec.objects}
    for q in word_questions(spec):
        about = [objects[i] for i in q.event_ids]
        assert q.answer in q.options
        assert set(q.answer.split()) <= set(answer_vocabulary())
        if q.kind == "colour":
            (obj,) = about
            same = [o for o in spec.objects if o.shape == obj.shape and o.action == obj.action]
            assert same == [obj] and q.answer == obj.colour and obj.shape in q.question
        elif q.kind == "action":
            assert q.answer == ACTION_ANSWERS[about[0].action]
            assert sum(o.combo == about[0].combo for o in spec.objects) == 1
        elif q.kind == "count":
            assert about[0].action == "jump" and q.answer == COUNT_WORDS[about[0].hops]
        elif q.kind == "order":
            first, second = about
            assert first.end_frame <= second.start_frame
            assert q.answer == f"the {first.combo.name}"
        elif q.answer == "yes":
            assert about and about[0].combo.name in q.question
        else:
            named = q.question.removeprefix("is there a ").rstrip("?")
            assert all(o.combo.name != named for o in spec.objects)


def test_the_jumper_is_the_only_object_of_its_shape_that_jumps(spec):
    jumper = next(o for o in spec.objects if o.role == "needle" and o.action == "jump")
    same_shape = [o for o in spec.objects if o.shape == jumper.shape and o is not jumper]
    assert all(o.action != "jump" for o in same_shape)
    assert len([o for o in same_shape if o.role == "distractor"]) <= 2


def test_questions_are_deterministic_per_spec(spec):
    assert [q.to_dict() for q in word_questions(spec)] == [q.to_dict() for q in word_questions(spec)]
    assert plan_qa_video(11, 300.0) == plan_qa_video(11, 300.0)


def test_question_phrases_name_what_the_frames_must_show():
    assert decouple_question("is there a green cross?").phrases == ("green cross",)
    assert decouple_question("is there a dog jumping?").phrases == ("dog", "dog jumping")
    assert decouple_question("what colour is the star that jumps?").phrases == ("star", "star jumping")
    assert decouple_question("which appears first, the red star or the blue circle?").phrases == ("red star", "blue circle")
    assert decouple_question("how many times does the blue circle jump?").phrases == ("blue circle", "blue circle jumping")


@pytest.mark.parametrize(
    "said, gold, right",
    [("The red star.", "the red star", True), ("red star", "the red star", True), ("It jumps.", "jumps", True),
     ("2", "two", True), ("moves left", "moves right", False), ("", "yes", False), ("yes", "", False)],
)
def test_short_answers_match_after_normalising(said, gold, right):
    assert short_answer_correct(said, gold) is right


def test_multiple_choice_from_text_and_from_scores():
    options = {"A": "jumps", "B": "moves left", "C": "grows"}
    assert choice_from_text("B", options) == "B"
    assert choice_from_text("(c) it grows", options) == "C"
    assert choice_from_text("It moves left.", options) == "B"
    assert choice_from_text("it spins", options) is None
    assert choice_from_scores({"A": -2.0, "B": -0.5, "C": -0.5}) == "B"
    assert normalize_answer("  The  Blue, circle! ") == "blue circle"


def test_a_leading_article_is_not_an_option_letter():
    options = {"A": "blue star", "B": "red star"}
    assert choice_from_text("a red star", options) == "B"  # "a" is an article here, not option A
    assert choice_from_text("A red star.", options) == "B"
    assert [choice_from_text(t, options) for t in ("a", "A.", "(a) blue", "A) blue star", "b:")] == ["A", "A", "A", "A", "B"]


def test_options_keep_their_letters_or_get_them_in_order():
    assert lettered_options(["A) Red", "B) Blue"]) == {"A": "Red", "B": "Blue"}
    assert lettered_options(["(A) red star", "(B) the blue circle"]) == {"A": "red star", "B": "the blue circle"}
    assert lettered_options(["A. never", "B. at 12:34"]) == {"A": "never", "B": "at 12:34"}
    assert lettered_options(["jumps", "moves left"]) == {"A": "jumps", "B": "moves left"}
    assert lettered_options(["B) Blue", "A) Red"]) == {"A": "B) Blue", "B": "A) Red"}  # marks out of order: plain text


def _round_trip(spec) -> GroundTruth:
    """The ground truth as a reader gets it: through its JSON."""
    return GroundTruth.from_dict(json.loads(json.dumps(build_ground_truth(spec, "clip.mp4").to_dict())))


@pytest.mark.parametrize("plan", [
    lambda seed: plan_qa_video(seed, 240.0),
    lambda seed: plan_video(seed, 90.0, events_per_minute=12),
    lambda seed: plan_needle_video(seed, 200.0, needles=2, fps="30000/1001"),
])
def test_the_ground_truth_asks_the_same_questions_as_its_plan(plan):
    for seed in (3, 4, 5):
        spec = plan(seed)
        truth = _round_trip(spec)
        for roles in (("needle",), ("needle", "distractor", "event")):
            assert [q.to_dict() for q in truth_questions(truth, roles=roles)] == [q.to_dict() for q in word_questions(spec, roles=roles)]
        hops = {o.id: o.hops for o in spec.objects if o.action == "jump"}
        assert hops and {e.id: hops_seen(e) for e in truth.events if e.action == "jump"} == hops


def test_a_hop_count_that_the_boxes_cannot_tell_is_refused_where_it_is_asked():
    spec = plan_video(2, 120.0, fps=1, events_per_minute=12)  # 2-6 frames per event: too few to count hops
    truth = _round_trip(spec)
    unreadable = [e for e in truth.events if e.action == "jump" and hops_seen(e) is None]
    assert unreadable
    with pytest.raises(InvalidArgumentError, match="how many times it jumps cannot be read from its boxes"):
        truth_questions(truth)
