"""Two checks that locate what the tiny video LLM fails to learn (README: The tiny video LLM).

    python tools/probe_tiny_vlm.py shapes longvid/models/tiny-vlm       # can its visual tokens tell shapes apart?
    python tools/probe_tiny_vlm.py text-presence --steps 3000            # can its decoder match words at all?

``shapes``: a linear probe (logistic regression, fitted on 80 % of the objects, scored on the
rest) on a model folder's visual tokens, the 16 pooled and projected tokens per frame the
decoder reads: for each object on a held-out frame, the token of the cell its centre is in,
and whether its colour and shape can be read from that token.

``text-presence``: the decoder alone, with perception taken out of the question. A freshly
initialised decoder of the shipped architecture learns "is there a blue square?" from a frame
described in words ("frame 1 at 00:00:01.0: blue square red circle is there a blue square?"
-> "yes"), the frame being one an episode would show (the named object's first frame for
"yes", a random one for "no"). ``--task copy`` asks for the first word of the description
instead: a control that needs no matching; ``--task colours`` lists three colours and asks for
one ("red blue cyan is there a green?"), present half the time: matching one word, not a colour
and a shape. Prints the exact-match rate over the last 100 steps. ``--initializer-range``
sets the std of the fresh decoder's weights: at the 0.02 of the models trained before it was
raised, both matching tasks sit at chance for thousands of steps; at 0.15 they learn.

Both read the episode cache ``tools/train_tiny_vlm.py`` writes (``--data``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from longvid.synth.vocab import COLOURS, SHAPES  # noqa: E402


def probe_shapes(model_folder: Path, data: Path, frames: int, seed: int) -> dict[str, float]:
    """Held-out accuracy of linear probes for colour and shape on the visual tokens."""
    from train_tiny_vlm import AuxiliaryHead, frame_tokens, frames_with_objects
    from vlm_episodes import Shards, normalise

    from longvid.llm import load_llm

    llm = load_llm(str(model_folder), device="cpu", dtype="float32")
    llm.load_weights()
    shards = Shards(data / "held-out")
    rng = np.random.default_rng(seed)
    tokens, colours, shapes = [], [], []
    with torch.no_grad():
        for start in range(0, frames, 64):
            pixels, objects = frames_with_objects(shards, min(64, frames - start), rng, normalise, llm.processor)
            grids = frame_tokens(llm, pixels)[0]
            colour, shape, _ = AuxiliaryHead.targets(grids.shape[1], objects)
            has = colour != len(COLOURS)
            tokens.append(grids.reshape(colour.numel(), -1)[has])
            colours.append(colour[has])
            shapes.append(shape[has])
    x = torch.cat(tokens)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    split = int(0.8 * len(x))
    result = {"objects": len(x)}
    for name, y, classes in (("colour", torch.cat(colours), len(COLOURS)), ("shape", torch.cat(shapes), len(SHAPES))):
        torch.manual_seed(seed)
        probe = torch.nn.Linear(x.shape[1], classes)
        optimizer = torch.optim.Adam(probe.parameters(), lr=1e-2)
        for _ in range(500):
            loss = torch.nn.functional.cross_entropy(probe(x[:split]), y[:split])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            result[name] = round(float((probe(x[split:]).argmax(1) == y[split:]).float().mean()), 4)
    return result


def words(objects) -> str:
    return " ".join(f"{list(COLOURS)[int(c)]} {SHAPES[int(s)]}" for c, s, *_ in objects) or "no"


def text_presence(model_folder: Path, data: Path, steps: int, batch: int, lr: float, task: str, seed: int,
                  initializer_range: float | None = None) -> float:
    """Exact-match rate of a fresh decoder over its last 100 steps on the worded presence task."""
    from train_tiny_vlm import evidence_frames
    from transformers import AutoConfig, LlavaOnevisionForConditionalGeneration
    from vlm_episodes import Shards

    from longvid.llm import load_llm

    tokenizer = load_llm(str(model_folder), device="cpu").tokenizer
    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(model_folder)
    if initializer_range is not None:
        config.text_config.initializer_range = initializer_range
    model = LlavaOnevisionForConditionalGeneration(config)
    decoder = model.model.language_model
    records = [r for r in Shards(data / "train").records if r["kind"] == "presence"]
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=lr, weight_decay=0.0)
    right: list[float] = []
    started = time.perf_counter()
    for step in range(steps):
        sequences, targets = [], []
        for r in (records[int(i)] for i in rng.integers(len(records), size=batch)):
            shown, question = words(r["objects"][evidence_frames(r, 1, rng)[0]]), r["question"]
            answer = r["answer"] if task == "presence" else shown.split()[0]
            if task == "colours":  # three colours listed, one asked: present half the time
                listed = [str(c) for c in rng.choice(list(COLOURS), size=3, replace=False)]
                present = bool(rng.random() < 0.5)
                asked = listed[int(rng.integers(3))] if present else str(rng.choice([c for c in COLOURS if c not in listed]))
                shown, question, answer = " ".join(listed), f"is there a {asked}?", "yes" if present else "no"
            prompt = f"<|im_start|>user frame 1 at 00:00:01.0: {shown} {question}<|im_end|><|im_start|>assistant"
            ids = tokenizer(prompt)["input_ids"]
            reply = tokenizer(answer)["input_ids"] + [tokenizer.eos_token_id]
            sequences.append(ids + reply)
            targets.append([-100] * (len(ids) - 1) + reply + [-100])
        length = max(map(len, sequences))
        ids = torch.zeros(batch, length, dtype=torch.long)
        labels = torch.full((batch, length), -100)
        mask = torch.zeros(batch, length, dtype=torch.long)
        for b, (x, y) in enumerate(zip(sequences, targets)):
            ids[b, : len(x)], labels[b, : len(y)], mask[b, : len(x)] = torch.tensor(x), torch.tensor(y), 1
        hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state
        where = labels != -100
        logits = model.lm_head(hidden[where])
        loss = torch.nn.functional.cross_entropy(logits, labels[where])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        hits = (logits.argmax(-1) == labels[where]).view(batch, -1).all(1)  # one answer word + end of turn
        right.append(float(hits.float().mean()))
        if (step + 1) % 250 == 0:
            print(f"step {step + 1}/{steps}  {time.perf_counter() - started:.0f} s  exact {np.mean(right[-100:]):.3f}", flush=True)
    return round(float(np.mean(right[-100:])), 4)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="check", required=True)
    s = sub.add_parser("shapes", help="linear probes for colour and shape on a model's visual tokens")
    s.add_argument("model", type=Path)
    s.add_argument("--frames", type=int, default=1024)
    t = sub.add_parser("text-presence", help="a fresh decoder on the presence question asked of a worded frame")
    t.add_argument("--model", type=Path, default=REPO / "longvid" / "models" / "tiny-vlm", help="architecture and tokenizer")
    t.add_argument("--task", choices=("presence", "copy", "colours"), default="presence")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--initializer-range", type=float, default=None,
                   help="std of the decoder's initial weights (default: the model folder's, 0.02 in models trained before it was 0.15)")
    for q in (s, t):
        q.add_argument("--data", type=Path, default=REPO / "bench_out" / "tiny-vlm-data")
        q.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.check == "shapes":
        print(probe_shapes(args.model, args.data, args.frames, args.seed))
    else:
        print({"task": args.task, "exact_last_100_steps": text_presence(
            args.model, args.data, args.steps, args.batch, args.lr, args.task, args.seed, args.initializer_range)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
