"""Query decoupling: the rule table, verb forms, and the LLM hook."""

from __future__ import annotations

import pytest

from longvid.errors import InvalidArgumentError
from longvid.search.decouple import LLM_PROMPT, decouple_question, ing_form, parse_llm_phrases, rule_phrases

TABLE = [
    ("When does the red star jump?", ("red star", "red star jumping")),
    ("when does the yellow triangle spin", ("yellow triangle", "yellow triangle spinning")),
    ("When does the dog jump into the lake?", ("dog", "lake", "dog jumping into lake")),
    ("Is there a blue circle in the video?", ("blue circle",)),
    ("What color is the car?", ("car",)),
    ("Where is the cat sleeping?", ("cat", "cat sleeping")),
    ("How many times does the man open the door?", ("man", "door", "man opening door")),
    ("When do the red square and the green triangle appear together?", ("red square", "green triangle")),
    ("What happens after the ball falls off the table?", ("ball", "table", "ball falling off table")),
    ("a dog jumping into a lake", ("dog", "lake", "dog jumping into lake")),
    ("Find the moment when the car turns left", ("car", "car turning left")),
    ("When does the race car crash into the wall?", ("race car", "wall", "race car crashing into wall")),
    ("Who is holding the red umbrella?", ("red umbrella", "holding red umbrella")),
    (
        "At what point does the woman who is wearing a hat sit down?",
        ("woman", "hat", "woman wearing hat", "woman sitting down"),
    ),
    ("Did the girl drop the cup of tea?", ("girl", "cup of tea", "girl dropping cup of tea")),
    ("When does the blue square disappear?", ("blue square", "blue square disappearing")),
    ("when does the man walk past the swing?", ("man", "swing", "man walking past swing")),
    ("When does the green blob wobble?", ("green blob", "green blob wobbling")),  # unknown verb: do-support
    ("When did the red star ran into the blue star?", ("red star", "blue star", "red star running into blue star")),
    ("The bird flew over the house, then landed on the roof", ("bird", "house", "bird flying over house", "roof")),
    ("red star", ("red star",)),
    ("what does the magenta star do?", ("magenta star",)),  # "do" stands for the action: nothing to name
    ("What did the dog do after the ball fell?", ("dog", "ball", "ball falling")),
    ("when does the green cross appear?", ("green cross",)),  # "cross" is a noun here: "appear" is the verb
    ("when does the red cross jump?", ("red cross", "red cross jumping")),
    ("what does the red cross do?", ("red cross",)),
]


@pytest.mark.parametrize("question, expected", TABLE, ids=[q for q, _ in TABLE])
def test_rule_table(question, expected):
    assert rule_phrases(question) == expected


def test_rules_are_deterministic_and_capped():
    q = "The bird flew over the house, then landed on the roof"
    assert rule_phrases(q) == rule_phrases(q)
    assert rule_phrases(q, max_phrases=2) == ("bird", "house")


def test_nothing_visible_falls_back_to_the_question():
    assert rule_phrases("What is happening?") == ("what is happening",)


@pytest.mark.parametrize(
    "verb, ing",
    [("run", "running"), ("dance", "dancing"), ("lie", "lying"), ("see", "seeing"), ("open", "opening"),
     ("swim", "swimming"), ("visit", "visiting"), ("fly", "flying"), ("stop", "stopping"), ("jumping", "jumping")],
)
def test_ing_form(verb, ing):
    assert ing_form(verb) == ing


def test_llm_hook_gets_the_prompt_and_its_lines_are_parsed():
    prompts = []

    def llm(prompt: str) -> str:
        prompts.append(prompt)
        return "Here are the phrases:\n1. Red star\n2) red star jumping.\n- \"blue box\"\n* red star\n"

    result = decouple_question("When does the red star jump over the box?", llm=llm, max_phrases=4)
    assert prompts == [LLM_PROMPT.format(question="When does the red star jump over the box?", max_phrases=4)]
    assert result.method == "llm"
    assert result.phrases == ("red star", "red star jumping", "blue box")
    assert result.llm_output.startswith("Here are")


def test_llm_answer_without_phrases_falls_back_to_rules_and_says_so():
    result = decouple_question("When does the red star jump?", llm=lambda prompt: "Sure:\n\n")
    assert result.method == "rules"
    assert result.phrases == ("red star", "red star jumping")
    assert result.llm_output == "Sure:\n\n"


def test_parse_llm_phrases_drops_long_lines_and_duplicates():
    text = "a b c d e f g h i j k\nred star\nRed Star\nanswer: yes\n"
    assert parse_llm_phrases(text) == ("red star",)


def test_without_llm_rules_are_used():
    result = decouple_question("Where is the cat sleeping?")
    assert result.method == "rules" and result.llm_output is None
    assert result.to_dict()["phrases"] == ["cat", "cat sleeping"]


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_empty_question_refused(bad):
    with pytest.raises(InvalidArgumentError, match="question"):
        decouple_question(bad)


def test_bad_max_phrases_refused():
    with pytest.raises(InvalidArgumentError, match="max_phrases = 0"):
        decouple_question("red star", max_phrases=0)


def test_every_generated_question_names_its_object_first():
    """The synthetic videos' questions (longvid.synth): shape words such as "cross" are nouns there."""
    from longvid.synth.vocab import ACTIONS, ALL_COMBOS, what_question, when_question

    for combo in ALL_COMBOS:
        assert rule_phrases(what_question(combo)) == (f"{combo.colour} {combo.shape}",)
        for action in ACTIONS:
            assert rule_phrases(when_question(combo, action))[0] == f"{combo.colour} {combo.shape}"
