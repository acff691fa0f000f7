"""Answer accuracy: `longvid ask --option`, `longvid eval --qa` (multiple choice and short answer).

The video LLM is the tiny random-weight LLaVA-OneVision of tests/tiny_vlms.py, so the accuracy
numbers mean nothing; the plumbing is checked exactly: option scores are the model's own
``option_logprobs`` on the inputs the pipeline prepares, the choice is their argmax, accuracy is
the share of items whose choice (or short answer) matches. A copy of the model that can only say
"yes" or "no" (its generation config suppresses every other token) makes short answers words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from tiny_vlms import tiny_frames, tiny_vlm_folder, word_restricted_copy

from longvid.config import PipelineConfig
from longvid.decode import probe
from longvid.errors import InvalidArgumentError
from longvid.eval import read_annotations, temporal_prf
from longvid.eval.from_truth import main as from_truth_main
from longvid.eval.pipeline_eval import evaluate_pipeline, item_start
from longvid.eval.qa import LETTERS, short_answer_correct
from longvid.eval.qa_eval import qa_golds
from longvid.llm import load_llm
from longvid.pipeline import Pipeline, _positive_relevance
from longvid.synth import GroundTruth
from longvid.synth.questions import KINDS, truth_questions
from longvid.synth.truth import gold_keyframes
from longvid.types import Cost

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"  # a red star jumps from 14.0 s to 18.3 s; 10 fps, 90 s
PRESET = """description = "tests: tiny CLIP, a short answer from a tiny LLM"
[embed]
model = "tiny"
[search]
frames = 4
[llm]
max_new_tokens = 1
[tokens]
budget = 48
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(preset file, model folder, store folder with demo.mp4 indexed)."""
    root = tmp_path_factory.mktemp("qa")
    base = tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", "llava_onevision")
    model = word_restricted_copy(base, root / "yes-no-vlm", ("yes", "no"))
    preset = root / "qa.toml"
    preset.write_text(PRESET)
    store = root / "store"
    config = PipelineConfig.from_preset(str(preset)).with_overrides({"store": {"path": str(store)}})
    with Pipeline(config) as pipe:
        pipe.index(DEMO)
    return preset, model, store


def config_for(setup, **sections) -> PipelineConfig:
    preset, model, store = setup
    return PipelineConfig.from_preset(str(preset)).with_overrides(
        {"store": {"path": str(store)}, "llm": {"model": str(model), "device": "cpu"}, **sections})


def write_items(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# --- the LLM and the pipeline ---------------------------------------------------------------------


def test_answer_scores_options_exactly_as_option_logprobs_on_the_same_inputs(setup):
    llm = load_llm(str(setup[1]), device="cpu", dtype="float32", lazy=False)
    frames, times = tiny_frames(3, 56, 56), [0.0, 1.0, 2.0]
    options = ["jumps", "moves left", "grows"]
    result = llm.answer(frames, times, "what does the red square do?", token_budget=24, max_new_tokens=1, options=options)
    prep = llm.prepare(frames, times, "what does the red square do?", token_budget=24, max_new_tokens=1)
    assert result.option_scores == llm.option_logprobs(prep, options)
    assert len(set(result.option_scores)) == 3 and all(s < 0 for s in result.option_scores)
    assert "options" in result.seconds
    assert llm.answer(frames, times, "what does it do?", token_budget=24, max_new_tokens=1).option_scores is None


def test_pipeline_choice_is_the_argmax_of_the_models_own_option_scores(setup):
    options = ["jumps", "moves left", "stays still", "grows"]
    question = "what does the red star do?"
    config = config_for(setup)
    with Pipeline(config) as pipe:
        answer = pipe.ask(DEMO, question, answerer="llm", options=options)
        # the same inputs, built by hand from what the answer reports: frames, relevance, budget
        times = [e.pts_s for e in answer.evidence]
        frames = pipe._frames(DEMO, times, None, Cost())
        t = config.tokens
        prep = pipe.llm.prepare(
            [f.image for f in frames], times, question, t.budget, _positive_relevance([e.score for e in answer.evidence]),
            t.method, t.merge_threshold, t.alpha, probe(DEMO).duration_s, config.llm.max_new_tokens)
        direct = pipe.llm.option_logprobs(prep, options)
    assert answer.options == options and answer.option_scores == direct
    assert answer.choice == LETTERS[int(np.argmax(direct))]
    data = answer.to_dict()
    assert (data["options"], data["option_scores"], data["choice"]) == (options, direct, answer.choice)
    assert answer.text in ("yes", "no")  # the restricted model's words


def test_options_are_checked_before_any_model_work(setup):
    with Pipeline(config_for(setup)) as pipe:
        for options, message in [(["one"], "1 options were given"), (["a", "a"], "option 'a' is given twice"),
                                 (["a", " "], "option 2 is empty"), ("ab", "are invalid")]:
            with pytest.raises(InvalidArgumentError, match=message):
                pipe.ask(DEMO, "what does the red star do?", answerer="llm", options=options)
        with pytest.raises(InvalidArgumentError, match="grounding answerer .* cannot choose"):
            pipe.ask(DEMO, "what does the red star do?", answerer="grounding", options=["a", "b"])
        assert pipe._llm is None and pipe._encoder is None  # nothing was loaded
    with Pipeline(config_for(setup, llm={"model": str(setup[1]), "fastv_r": 0.5})) as pipe:
        with pytest.raises(InvalidArgumentError, match="cannot be scored with FastV"):
            pipe.ask(DEMO, "what does the red star do?", answerer="llm", options=["a", "b"])


def test_ask_cli_prints_the_chosen_option_and_refuses_options_for_grounding(setup, cli_env):
    preset, model, store = setup
    base = ["ask", DEMO, "what does the red star do?", "--preset", preset, "--store", store, "--model", model]
    code, out, err = run_cli(*base, "--option", "jumps", "--option", "grows", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["options"] == ["jumps", "grows"] and data["choice"] == "AB"[int(np.argmax(data["option_scores"]))]
    code, out, err = run_cli(*base, "--option", "jumps", "--option", "grows")
    assert code == 0, err
    chosen = data["options"][LETTERS.index(data["choice"])]
    assert f"choice: {data['choice']}. {chosen}" in out and "option log-prob per token: A " in out
    code, out, err = run_cli(*base, "--option", "jumps", "--option", "grows", "--answerer", "grounding")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("error: the grounding answerer reports moments and cannot choose between options")


# --- longvid eval --qa ---------------------------------------------------------------------------------


def test_eval_qa_accuracy_is_the_share_of_items_whose_answer_matches(setup, tmp_path, cli_env):
    preset, model, store = setup
    video = str(DEMO)
    items = write_items(tmp_path / "qa.jsonl", [
        {"id": "mc-1", "video": video, "question": "what does the red star do?", "answer": "jumps",
         "options": ["moves left", "jumps", "grows"], "gold_s": [14.0, 16.1, 18.2]},
        {"id": "mc-2", "video": video, "question": "what colour is the star that jumps?", "answer": "C",
         "options": {"A": "blue", "B": "green", "C": "red"}},
        {"id": "yes", "video": video, "question": "is there a red star?", "answer": "yes", "gold_s": [14.0, 18.2]},
        {"id": "no", "video": video, "question": "is there a green cross?", "answer": "no"},
    ])
    code, out, err = run_cli("eval", items, "--qa", "--preset", preset, "--store", store, "--model", model, "--json")
    assert code == 0, err
    r = json.loads(out)
    qa = r["qa"]
    got = {i["id"]: i for i in r["items"]}
    mc = [got["mc-1"]["qa"], got["mc-2"]["qa"]]
    assert [a["gold"] for a in mc] == ["B", "C"] and all(a["type"] == "multiple_choice" for a in mc)
    for a in mc:
        assert a["choice"] == LETTERS[int(np.argmax(a["option_scores"]))]
        assert a["correct"] == (a["choice"] == a["gold"])
    short = [got["yes"]["qa"], got["no"]["qa"]]
    said = {a["said"] for a in short}
    assert said <= {"yes", "no"}  # the restricted model's words: one of the two golds is right when it says the same
    for a in short:
        assert a["type"] == "short_answer" and a["choice"] is None
        assert a["correct"] == short_answer_correct(a["said"], a["gold"])
    results = mc + short
    assert qa["items"] == 4 and qa["correct"] == sum(a["correct"] for a in results)
    assert qa["accuracy"] == qa["correct"] / 4 and qa["mc"] == "likelihood" and qa["failed"] == 0
    assert qa["by_type"]["multiple_choice"] == {"items": 2, "correct": sum(a["correct"] for a in mc),
                                                "accuracy": sum(a["correct"] for a in mc) / 2}
    assert qa["by_type"]["short_answer"]["correct"] == sum(a["correct"] for a in short)
    # frames scored in time only where there is gold; the macro F1 is over those items
    assert r["items_with_gold"] == 2 and got["mc-2"]["f1"] is None and got["no"]["f1"] is None
    for k in ("mc-1", "yes"):
        assert got[k]["f1"] == temporal_prf(got[k]["predicted_s"], got[k]["gold_s"]).f1
    assert r["f1"] == pytest.approx((got["mc-1"]["f1"] + got["yes"]["f1"]) / 2)
    # the eval's numbers are the pipeline's own answer to the same question on the same store
    with Pipeline(config_for(setup)) as pipe:
        answer = pipe.ask(DEMO, "what does the red star do?", answerer="llm", options=["moves left", "jumps", "grows"])
    assert answer.option_scores == got["mc-1"]["qa"]["option_scores"]
    assert [e.pts_s for e in answer.evidence] == got["mc-1"]["predicted_s"]


def test_eval_qa_generate_mode_reads_the_written_answer(setup, tmp_path, cli_env):
    preset, model, store = setup
    items = write_items(tmp_path / "qa.jsonl", [
        {"id": "yes-no", "video": str(DEMO), "question": "is there a red star?", "answer": "A", "options": ["yes", "no"]},
        {"id": "colours", "video": str(DEMO), "question": "what colour is the star?", "answer": "red", "options": ["red", "blue"]},
    ])
    code, out, err = run_cli("eval", items, "--qa", "--mc", "generate", "--preset", preset, "--store", store,
                             "--model", model, "--items")
    assert code == 0, err
    code, js, err = run_cli("eval", items, "--qa", "--mc", "generate", "--preset", preset, "--store", store,
                            "--model", model, "--json")
    yes_no, colours = (i["qa"] for i in json.loads(js)["items"])
    assert yes_no["said"] in ("yes", "no") and yes_no["choice"] == {"yes": "A", "no": "B"}[yes_no["said"]]
    assert yes_no["option_scores"] is None and yes_no["correct"] == (yes_no["said"] == "yes")
    assert colours["choice"] is None and colours["correct"] is False  # "yes"/"no" names no option: wrong
    qa = json.loads(js)["qa"]
    assert qa["mc"] == "generate" and qa["unparsed"] == 1 and qa["correct"] == int(yes_no["correct"])
    assert "no item has gold keyframes: frames not scored in time" in out
    assert f"accuracy {qa['accuracy']:.3f} ({qa['correct']} of 2 items): multiple choice" in out
    assert "1 named no option (count as wrong)" in out


def test_tstar_format_file_with_an_options_string_is_scored(setup, tmp_path, cli_env):
    preset, model, store = setup
    path = tmp_path / "tstar.json"
    path.write_text(json.dumps([{
        "video_path": str(DEMO), "question": "What does the red star do?", "options": "A) grows\nB) jumps\nC) moves left",
        "gt_answer": "B", "gt_frame_index": [140, 160, 182], "keyframe_timestamps": [15.0, 60.0],
    }]))
    assert read_annotations(path)[0].options == ("A) grows", "B) jumps", "C) moves left")
    code, out, err = run_cli("eval", path, "--qa", "--preset", preset, "--store", store, "--model", model, "--json")
    assert code == 0, err
    (item,) = json.loads(out)["items"]
    assert item["gold_s"] == [14.0, 16.0, 18.2] and item["f1"] is not None
    assert item["qa"]["gold"] == "B" and item["qa"]["correct"] == (item["qa"]["choice"] == "B")
    with Pipeline(config_for(setup)) as pipe:  # scored as the option texts, without their letters
        answer = pipe.ask(DEMO, "What does the red star do?", answerer="llm", options=["grows", "jumps", "moves left"])
    assert item["qa"]["option_scores"] == answer.option_scores


def test_qa_items_need_answers_and_failures_count_as_wrong(setup, tmp_path, cli_env):
    preset, model, store = setup
    items = write_items(tmp_path / "qa.jsonl", [
        {"video": str(DEMO), "question": "is there a red star?", "answer": "yes"},
        {"video": str(DEMO), "question": "is there a blue star?"},
    ])
    code, out, err = run_cli("eval", items, "--qa", "--preset", preset, "--store", store, "--model", model)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {items}:2: no 'answer' to score")
    write_items(items, [{"video": str(DEMO), "question": "what colour?", "answer": "purple", "options": ["red", "blue"]}])
    code, out, err = run_cli("eval", items, "--qa", "--preset", preset, "--store", store, "--model", model)
    assert code == 2 and f"error: {items}:1: answer 'purple' names none of the options (A, B)" in err
    write_items(items, [{"video": str(DEMO), "question": "is there a red star?", "answer": "yes"}])
    code, out, err = run_cli("eval", items, "--preset", preset, "--store", store)
    assert code == 2 and err.startswith(f"error: {items}:1: no gold timestamps")  # gold is optional only with --qa
    code, out, err = run_cli("eval", items, "--mc", "generate", "--preset", preset)
    assert code == 2 and "--mc is for answers; without --qa it has nothing to do" in err
    write_items(items, [
        {"id": "ok", "video": str(DEMO), "question": "is there a red star?", "answer": "yes"},
        {"id": "gone", "video": "gone.mp4", "question": "is there a red star?", "answer": "yes"},
    ])
    code, out, err = run_cli("eval", items, "--qa", "--preset", preset, "--store", store, "--model", model, "--json")
    last = err.strip().splitlines()[-1]  # (transformers' own weight-loading bar may come before it)
    assert code == 1 and last.startswith("error: 1 of 2 items failed and count as wrong (and F1 0 where they have gold)")
    assert "gone.mp4" in last
    ok, gone = json.loads(out)["items"]
    assert gone["qa"]["correct"] is False and "gone.mp4" in gone["qa"]["error"] and gone["qa"]["said"] is None
    assert json.loads(out)["qa"]["failed"] == 1 and json.loads(out)["qa"]["items"] == 2


def test_cold_qa_run_asks_each_video_from_a_fresh_store(setup, tmp_path):
    items = read_annotations(write_items(tmp_path / "qa.jsonl", [
        {"id": "a", "video": str(DEMO), "question": "what does the red star do?", "answer": "jumps",
         "options": ["jumps", "grows"], "gold_s": [14.0, 16.1, 18.2]},
        {"id": "b", "video": str(DEMO), "question": "is there a red star?", "answer": "yes"},
    ]), need_gold=False)
    config = PipelineConfig.from_preset(str(setup[0])).with_overrides({"llm": {"model": str(setup[1]), "device": "cpu"}})
    report = evaluate_pipeline(items, config, strategy="tstar-coverage", qa="likelihood")
    assert report.mode == "cold" and [item_start(r) for r in report.items] == ["cold", "warm"]
    a, b = report.qa.results
    assert len(a.option_scores) == 2 and a.choice == "AB"[int(np.argmax(a.option_scores))] and b.said in ("yes", "no")
    assert report.qa.correct == int(a.correct) + int(b.correct) and report.report.scored == 1


# --- worded questions from ground truth -----------------------------------------------------------------


def test_from_truth_writes_the_worded_questions_of_the_ground_truth(tmp_path, capsys):
    truth_json = REPO / "sample_videos" / "demo.json"
    shipped = truth_json.read_bytes()
    truth = GroundTruth.load(truth_json)
    questions = truth_questions(truth)
    events = {e.id: e for e in truth.events}
    out = tmp_path / "worded.jsonl"
    assert from_truth_main([str(truth_json), "-o", str(out), "--worded"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(questions) > 10
    for r, q in zip(records, questions):
        assert (r["question"], r["answer"], r["options"], r["kind"]) == (q.question, q.answer, list(q.options), q.kind)
        gold = sorted({t for i in q.event_ids for t in gold_keyframes(events[i])[0]})
        assert r.get("gold_s", []) == gold and r.get("gold_spans_s", []) == [list(s) for s in q.spans_s]
    assert any("gold_s" not in r for r in records)  # "is there a ...?" about something absent: no moment to find
    items = read_annotations(out, need_gold=False)
    golds = qa_golds(items)
    assert [g.answer for g in golds] == [LETTERS[q.options.index(q.answer)] for q in questions]
    with pytest.raises(InvalidArgumentError, match="no gold timestamps"):
        read_annotations(out)

    assert from_truth_main([str(truth_json), "-o", str(out), "--worded", "--short", "--one-per-kind"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["kind"] for r in records) == sorted(KINDS) and all("options" not in r for r in records)
    assert {g.type for g in qa_golds(read_annotations(out, need_gold=False))} == {"short_answer"}
    assert from_truth_main([str(truth_json), "-o", str(out), "--short"]) == 2
    assert "--short and --one-per-kind shape worded questions; add --worded" in capsys.readouterr().err
    assert truth_json.read_bytes() == shipped
