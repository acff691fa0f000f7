"""Two checks that locate what the tiny video LLM fails to learn (README: The tiny video LLM).

    python tools/probe_tiny_vlm.py shapes longvid/models/tiny-vlm       # can its visual tokens tell shapes apart?
    python tools/probe_tiny_vlm.py text-presence --steps 3000            # can its decoder match words at all?
    python tools/probe_tiny_vlm.py symbolic --steps 2000                 # the episodes with perfect perception

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

``symbolic``: the whole episode task with perception taken out: a fresh model of the training
script's architecture whose visual tokens are built from each frame's ground-truth objects
(``SymbolicCells``: the cell an object is centred in holds the decoder's own embeddings of its
colour and shape words plus its position and size; empty cells and the newline a learned vector),
assembled into the prompt by the training script's own code and trained like its episode stage
(same batch, learning rate, token dropping and "what is there?" turn). ``--frames N`` cuts each
episode to N evidence frames (a 4-frame step costs a quarter of a full one); ``--kind`` trains
and scores one question kind. Prints exact-match per kind over the last 100 training episodes
and on the held-out episodes (cut the same way) every ``--eval-every`` steps;
``--extra-questions N`` asks N more questions per episode as the training script can;
``--absolute-geometry`` states each object's place in the frame, not in its cell.

All three read the episode cache ``tools/train_tiny_vlm.py`` writes (``--data``).
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


class SymbolicCells(torch.nn.Module):
    """Perfect perception in the visual tokens' layout: per frame a side x side grid of tokens from
    its ground-truth objects (``AuxiliaryHead.targets``: the cell each object's centre is in) and
    a newline token. An object's cell is the decoder's embedding of its colour word plus that of
    its shape word plus a learned projection of [x, y within the cell, w, h]; empty cells share
    one learned vector. ``absolute``: [x, y in the frame, w, h] x 10 instead (where the object is
    stated outright, at a scale near a word embedding's)."""

    def __init__(self, llm, side: int = 4, absolute: bool = False):
        super().__init__()
        self.side, self.absolute = side, absolute
        self.embed = llm.model.get_input_embeddings().forward  # not a submodule: the decoder owns its weights
        ids = llm.tokenizer.convert_tokens_to_ids
        self.register_buffer("colour_ids", torch.tensor([ids(c) for c in COLOURS]))
        self.register_buffer("shape_ids", torch.tensor([ids(s) for s in SHAPES]))
        dim, std = llm.model.config.text_config.hidden_size, llm.model.config.text_config.initializer_range
        self.geometry = torch.nn.Linear(4, dim)
        torch.nn.init.normal_(self.geometry.weight, std=std)
        self.empty = torch.nn.Parameter(torch.randn(dim) * std)
        self.newline = torch.nn.Parameter(torch.randn(1, 1, dim) * std)

    def forward(self, objects: list[list[list[float]]]) -> tuple[torch.Tensor, torch.Tensor]:
        from train_tiny_vlm import AuxiliaryHead

        colour, shape, geometry = AuxiliaryHead.targets(self.side, objects, in_cell=not self.absolute)
        if self.absolute:
            geometry = geometry * 10.0
        has = colour < len(COLOURS)
        named = (self.embed(self.colour_ids[colour.clamp(max=len(COLOURS) - 1)])
                 + self.embed(self.shape_ids[shape.clamp(max=len(SHAPES) - 1)]) + self.geometry(geometry))
        cells = torch.where(has[:, None], named, self.empty)
        n = len(objects)
        return cells.reshape(n, self.side, self.side, -1), self.newline.expand(n, 1, -1)


def symbolic(data: Path, steps: int, batch: int, lr: float, frames: int | None, kind: str | None, seed: int,
             eval_every: int, extra_questions: int = 0, absolute: bool = False) -> dict[str, float]:
    """Trains a fresh decoder on the episodes with ``SymbolicCells`` for eyes; returns the last
    held-out exact-match per kind."""
    import tempfile

    import train_tiny_vlm as T
    from vlm_episodes import Shards

    from longvid.llm import load_llm

    with tempfile.TemporaryDirectory() as folder:
        T.build_model_folder(Path(folder), seed)
        llm = load_llm(folder, device="cpu", dtype="float32")
        llm.load_weights()
    cells = SymbolicCells(llm, absolute=absolute)
    rng = np.random.default_rng(seed)
    train, held = Shards(data / "train"), Shards(data / "held-out")
    batcher = T.Batcher(llm, train, rng, extra_questions=extra_questions)
    held_batcher = T.Batcher(llm, held, np.random.default_rng(0))

    def episodes(shards) -> list[np.ndarray]:
        return [g[[shards.records[i]["kind"] == kind for i in g]] if kind else g for g in T.buckets(shards).values()]

    def step_inputs(b, idx: list[int], drop: bool):
        records = [T.cut_to_evidence(b.shards.records[i], frames, b.rng)[0] for i in idx]
        grids, newlines = cells([o for r in records for o in r["objects"]])
        return b.assemble(records, grids, newlines, drop, b.describe)[:4]

    def held_out() -> dict[str, float]:
        hits: dict[str, list[float]] = {}
        with torch.no_grad():
            for group in episodes(held):
                for start in range(0, len(group), 16):
                    idx = group[start : start + 16].tolist()
                    _, right = T.answer_loss(llm, *step_inputs(held_batcher, idx, False), held_batcher.answer_spans)
                    for i, ok in zip(idx, right.tolist()):
                        hits.setdefault(held.records[i]["kind"], []).append(float(ok))
        return {k: round(float(np.mean(v)), 3) for k, v in sorted(hits.items())} | {
            "all": round(float(np.mean([x for v in hits.values() for x in v])), 4)}

    groups = [g for g in episodes(train) if len(g)]
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    optimizer = T.optimizer_for([llm.model.model.language_model, cells], lr)  # lm_head is tied to the embeddings
    trained: dict[str, list[float]] = {}
    result: dict[str, float] = {}
    started = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = T.cosine_lr(step, steps, lr)
        pool = groups[int(rng.choice(len(groups), p=sizes / sizes.sum()))]
        idx = rng.choice(pool, size=min(batch, len(pool)), replace=False).tolist()
        loss, right = T.answer_loss(llm, *step_inputs(batcher, idx, True), batcher.answer_spans)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(llm.model.parameters(), 1.0)
        optimizer.step()
        for i, ok in zip(idx, right.tolist()):
            trained.setdefault(train.records[i]["kind"], []).append(float(ok))
        if (step + 1) % eval_every == 0 or step + 1 == steps:
            result = held_out()
            recent = {k: round(float(np.mean(v[-100:])), 3) for k, v in sorted(trained.items())}
            print(f"step {step + 1}/{steps}  {time.perf_counter() - started:.0f} s  loss {loss.item():.3f}  "
                  f"training (last 100 per kind) {recent}  held-out {result}", flush=True)
    return result


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
    y = sub.add_parser("symbolic", help="a fresh decoder on the episodes, its visual tokens built from the ground truth")
    y.add_argument("--steps", type=int, default=2000)
    y.add_argument("--batch", type=int, default=8)
    y.add_argument("--lr", type=float, default=1.5e-3)
    y.add_argument("--frames", type=int, default=None, help="cut each episode to this many evidence frames")
    y.add_argument("--kind", choices=("action", "colour", "count", "order", "presence"), default=None)
    y.add_argument("--eval-every", type=int, default=500)
    y.add_argument("--extra-questions", type=int, default=0, help="as tools/train_tiny_vlm.py --extra-questions")
    y.add_argument("--absolute-geometry", action="store_true",
                   help="cells hold [x, y in the frame, w, h] x 10 instead of [x, y within the cell, w, h]")
    for q in (s, t, y):
        q.add_argument("--data", type=Path, default=REPO / "bench_out" / "tiny-vlm-data")
        q.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.check == "shapes":
        print(probe_shapes(args.model, args.data, args.frames, args.seed))
    elif args.check == "symbolic":
        print({"held_out": symbolic(args.data, args.steps, args.batch, args.lr, args.frames, args.kind, args.seed,
                                    args.eval_every, args.extra_questions, args.absolute_geometry)})
    else:
        print({"task": args.task, "exact_last_100_steps": text_presence(
            args.model, args.data, args.steps, args.batch, args.lr, args.task, args.seed, args.initializer_range)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
