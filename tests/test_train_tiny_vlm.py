"""tools/train_tiny_vlm.py: the pieces that decide what the tiny video LLM learns from, and one
whole (very short) run of the script that must leave a model ``load_llm`` loads and answers with."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import train_tiny_vlm as T  # noqa: E402
from vlm_episodes import Shards  # noqa: E402

from longvid.synth.vocab import COLOURS, SHAPES  # noqa: E402

RED, BLUE = list(COLOURS).index("red"), list(COLOURS).index("blue")
STAR, CIRCLE = SHAPES.index("star"), SHAPES.index("circle")


def episode(question: str, shown_on: list[int], frames: int = 12, shape: int = STAR) -> dict:
    """An episode whose red <shape> is on ``shown_on`` and a blue circle on every other frame."""
    objects = [[[RED, shape, 0.5, 0.5, 0.1, 0.2]] if k in shown_on else [[BLUE, CIRCLE, 0.2, 0.2, 0.1, 0.2]]
               for k in range(frames)]
    return {"question": question, "count": frames, "objects": objects, "times_s": [float(k) for k in range(frames)]}


def test_evidence_frames_spread_over_the_named_object_when_it_has_more_than_asked():
    record = episode("what does the red star do?", [2, 4, 5, 6, 9])
    assert T.evidence_frames(record, 3, np.random.default_rng(0)) == [2, 5, 9]


def test_evidence_frames_keep_every_named_frame_and_fill_with_others_in_time_order():
    record = episode("is there a red star?", [3, 7])
    picked = T.evidence_frames(record, 5, np.random.default_rng(0))
    assert len(picked) == 5 and picked == sorted(picked) and {3, 7} <= set(picked)


def test_a_colour_question_names_a_shape_only_and_its_frames_are_the_evidence():
    record = episode("what colour is the star that jumps?", [1, 8, 10])
    assert T.evidence_frames(record, 3, np.random.default_rng(0)) == [1, 8, 10]


def jumping_then_still() -> dict:
    """A red star jumping (its centre bobs) on frames 0-3, a blue circle standing still on 6-9."""
    objects = [[[RED, STAR, 0.5, 0.5 - 0.08 * (k % 2), 0.1, 0.2]] if k < 4 else
               [[BLUE, CIRCLE, 0.2, 0.2, 0.1, 0.2]] if 6 <= k < 10 else [] for k in range(12)]
    return {"question": "is there a red star?", "answer": "yes", "count": 12, "objects": objects,
            "times_s": [float(k) for k in range(12)]}


def test_frame_questions_are_answered_from_what_the_frames_show():
    record = jumping_then_still()
    asked = T.frame_questions(record, 100, np.random.default_rng(0))
    assert len(asked) == len(set(asked)) and record["question"] not in {q for q, _ in asked}
    answers = dict(asked)
    assert answers["is there a blue circle?"] == "yes"
    assert answers["what does the red star do?"] == "jumps" and answers["what does the blue circle do?"] == "stays still"
    assert answers["what colour is the star that jumps?"] == "red"
    order = [q for q in answers if q.startswith("which appears first")]
    assert len(order) == 1 and answers[order[0]] == "the red star"
    absent = {q for q, a in asked if a == "no"}
    assert absent and all(q.startswith("is there a ") for q in absent)
    for q in absent:  # never an object that is there; always one sharing its colour or its shape
        colour, shape = q.removeprefix("is there a ").rstrip("?").split()
        assert f"{colour} {shape}" not in ("red star", "blue circle")
        assert colour in ("red", "blue") or shape in ("star", "circle")
    assert "what colour is the circle that stays still?" not in answers  # standing still is not asked by colour
    picked = T.frame_questions(record, 3, np.random.default_rng(1))
    assert len(picked) == 3 and set(picked) <= set(asked)
    assert T.frame_questions({**record, "objects": [[] for _ in range(12)]}, 3, np.random.default_rng(0)) == []


def test_extra_questions_are_further_turns_with_the_loss_on_their_replies_only(tmp_path):
    """The first turn is the episode's own question (what ``ask`` sends); each further turn's
    reply, then the description, is supervised; the answer span scores the first answer alone."""
    from longvid.llm import load_llm

    T.build_model_folder(tmp_path, seed=0)
    llm = load_llm(str(tmp_path), device="cpu", dtype="float32")
    llm.load_weights()
    record = jumping_then_still()
    dim = llm.model.config.text_config.hidden_size
    grids, newlines = torch.zeros(12, 4, 4, dim), torch.zeros(12, 1, dim)
    plain = T.Batcher(llm, None, np.random.default_rng(0)).assemble([record], grids, newlines, False, True)
    batcher = T.Batcher(llm, None, np.random.default_rng(0), extra_questions=3)
    with_extra = batcher.assemble([record], grids, newlines, False, True)
    turns = T.frame_questions(record, 3, np.random.default_rng(0))
    tok = llm.tokenizer
    supervised = with_extra[3][0][with_extra[3][0] != -100]
    expected = [tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
                for text in ["yes", *(a for _, a in turns), T.describe(record)]]
    assert supervised.tolist() == [t for part in expected for t in part]
    start, end = batcher.answer_spans[0]
    assert with_extra[3][0][start:end].tolist() == expected[0]
    # the prompt up to the first answer is the same with or without the further turns
    assert torch.equal(with_extra[0][0, : end + 1], plain[0][0, : end + 1])
    assert with_extra[0].shape[1] > plain[0].shape[1]


def test_auxiliary_targets_put_each_object_in_the_cell_its_centre_is_in():
    colour, shape, geometry = T.AuxiliaryHead.targets(4, [[[RED, STAR, 0.6, 0.3, 0.1, 0.2]], []])
    cell = 1 * 4 + 2  # row int(0.3 * 4) = 1, column int(0.6 * 4) = 2
    assert colour.shape == (32,) and int(colour[cell]) == RED and int(shape[cell]) == STAR
    assert torch.allclose(geometry[cell], torch.tensor([0.4, 0.2, 0.1, 0.2]), atol=1e-6)
    empty = torch.ones(32, dtype=torch.bool)
    empty[cell] = False
    assert (colour[empty] == len(COLOURS)).all() and (shape[empty] == len(SHAPES)).all()


def test_the_auxiliary_loss_is_dominated_by_the_cells_that_hold_an_object():
    """A head right about every empty cell but wrong about the one object pays most of the
    wrong-answer loss; unweighted, the 31 right empty cells would hide it."""
    head = T.AuxiliaryHead(4)
    with torch.no_grad():
        for layer in (head.colour, head.shape, head.geometry):
            layer.weight.zero_()
            layer.bias.zero_()
        head.colour.bias[len(COLOURS)] = 10.0  # says "none" everywhere
        head.shape.bias[len(SHAPES)] = 10.0
    objects = [[[RED, STAR, 0.6, 0.3, 0.1, 0.2]], []]
    loss = head.loss(torch.zeros(2, 4, 4, 4), objects)
    occupied_share = 1 / (1 + 31 * T.EMPTY_CELL_WEIGHT)
    assert loss.item() > 0.95 * 2 * 10.0 * occupied_share  # two cross-entropies of ~10 on the object's cell (unweighted: ~0.6)
    colour_right, shape_right = head.accuracy(torch.zeros(2, 4, 4, 4), objects)
    assert colour_right == 0.0 and shape_right == 0.0


@pytest.mark.slow
def test_a_short_run_writes_a_model_that_loads_and_answers(tmp_path, capsys):
    """Two videos, a few steps of every stage: the folder has safetensors weights, a training record,
    and loads through ``load_llm`` like a downloaded model."""
    from longvid.llm import load_llm

    out = tmp_path / "vlm"
    code = T.main(["--out", str(out), "--data", str(tmp_path / "data"), "--videos", "2", "--held-out-videos", "1",
                   "--vision-steps", "2", "--vision-batch", "4", "--frame-steps", "2", "--frame-batch", "2",
                   "--steps", "3", "--batch", "2", "--curriculum-steps", "2", "--eval-every", "3"])
    assert code == 0
    files = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "training.json"} <= files
    assert not (tmp_path / "vlm.partial").exists()
    record = json.loads((out / "training.json").read_text())
    assert record["complete"] and record["steps_done"] == 3 and len(record["history"]) == 1
    assert set(record["vision_held_out_objects_read"]) == {"colour", "shape"}
    llm = load_llm(str(out), device="cpu")
    assert llm.family == "llava_onevision"
    frames = [np.zeros((180, 320, 3), np.uint8)] * 2
    answer = llm.answer(frames, [0.0, 1.0], "is there a red star?", max_new_tokens=3)
    assert isinstance(answer.text, str)

    # the diagnostics of tools/probe_tiny_vlm.py run on the same cache
    import probe_tiny_vlm

    read = probe_tiny_vlm.probe_shapes(out, tmp_path / "data", frames=32, seed=0)
    assert read["objects"] >= 10 and 0.0 <= read["colour"] <= 1.0 and 0.0 <= read["shape"] <= 1.0
    rate = probe_tiny_vlm.text_presence(out, tmp_path / "data", steps=2, batch=2, lr=1e-3, task="copy", seed=0)
    assert 0.0 <= rate <= 1.0
    held = probe_tiny_vlm.symbolic(tmp_path / "data", steps=2, batch=2, lr=1e-3, frames=4, kind=None, seed=0, eval_every=2)
    assert 0.0 <= held["all"] <= 1.0 and set(held) - {"all"} <= {"action", "colour", "count", "order", "presence"}

    # --init without the vision stage continues the projector as trained: it is not centred again
    bias = llm.model.model.multi_modal_projector.linear_2.bias.detach().clone()
    offset = T.center_projector(llm, T.Batcher(llm, Shards(tmp_path / "data" / "train"), np.random.default_rng(0)),
                                np.random.default_rng(0))
    assert offset > 0.1  # what re-centring would have moved it by
    capsys.readouterr()
    assert T.main(["--out", str(tmp_path / "more"), "--data", str(tmp_path / "data"), "--videos", "2",
                   "--held-out-videos", "1", "--init", str(out), "--vision-steps", "0", "--frame-steps", "0",
                   "--steps", "1", "--batch", "2"]) == 0
    assert "centred" not in capsys.readouterr().out
    continued = load_llm(str(tmp_path / "more"), device="cpu")
    continued.load_weights()
    moved = (continued.model.model.multi_modal_projector.linear_2.bias - bias).abs().max().item()
    assert moved < 0.01  # one optimiser step at most, not the offset


def test_symbolic_cells_put_an_objects_words_in_the_cell_its_centre_is_in(tmp_path):
    """The perfect-perception probe's visual tokens: red + star (+ its place) in row 0, column 2 of a
    4 x 4 grid for an object centred at (0.6, 0.1); the shared empty vector everywhere else."""
    import probe_tiny_vlm

    from longvid.llm import load_llm

    T.build_model_folder(tmp_path, seed=0)
    llm = load_llm(str(tmp_path), device="cpu", dtype="float32")
    llm.load_weights()
    cells = probe_tiny_vlm.SymbolicCells(llm)
    with torch.no_grad():
        grids, newlines = cells([[[RED, STAR, 0.6, 0.1, 0.1, 0.2]], []])
        embed = llm.model.get_input_embeddings()
        ids = llm.tokenizer.convert_tokens_to_ids(["red", "star"])
        expected = embed(torch.tensor(ids)).sum(0) + cells.geometry(torch.tensor([0.4, 0.4, 0.1, 0.2]))
    dim = llm.model.config.text_config.hidden_size
    assert grids.shape == (2, 4, 4, dim) and newlines.shape == (2, 1, dim)
    torch.testing.assert_close(grids[0, 0, 2], expected)
    others = torch.ones(2, 4, 4, dtype=torch.bool)
    others[0, 0, 2] = False
    assert torch.equal(grids[others], cells.empty.detach().expand(31, dim))
    # --absolute-geometry: the same cell, holding the place in the frame (x 10) instead of in the cell
    absolute = probe_tiny_vlm.SymbolicCells(llm, absolute=True)
    with torch.no_grad():
        grids, _ = absolute([[[RED, STAR, 0.6, 0.1, 0.1, 0.2]], []])
        expected = embed(torch.tensor(ids)).sum(0) + absolute.geometry(torch.tensor([6.0, 1.0, 1.0, 2.0]))
    torch.testing.assert_close(grids[0, 0, 2], expected)
    assert torch.equal(grids[others], absolute.empty.detach().expand(31, dim))


@pytest.mark.slow
def test_the_decoder_initialisation_lets_it_learn_to_match_a_word(tmp_path):
    """The plateau the tiny video LLM sat on: with Qwen2's default weight scale (0.02) a 128-wide
    decoder cannot tell in 300 steps whether an asked colour is among three listed; with the scale
    the training script now builds it with, it can."""
    import probe_tiny_vlm
    from vlm_episodes import generate

    from longvid.llm import load_llm

    folder = tmp_path / "model"
    T.build_model_folder(folder, seed=0)
    assert json.loads((folder / "config.json").read_text())["text_config"]["initializer_range"] == 0.15
    data = tmp_path / "data"
    processor = load_llm(str(folder), device="cpu").processor
    generate(data / "train", range(T.TRAIN_SEEDS, T.TRAIN_SEEDS + 1), processor, 1, progress=False)
    rates = {scale: probe_tiny_vlm.text_presence(folder, data, steps=300, batch=16, lr=1e-3, task="colours", seed=0,
                                                 initializer_range=scale) for scale in (0.02, None)}
    assert rates[None] >= 0.8 and rates[0.02] <= 0.65, rates
