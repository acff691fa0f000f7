"""Train longvid's tiny CLIP: an open_clip model learning colour + shape from synthetic frames.

    python tools/train_tiny_clip.py                          # the shipped model (seed 0, fixed steps)
    python tools/train_tiny_clip.py --steps 100 --out /tmp/tc   # a quick try

What it is: an ``open_clip.model.CLIP`` built from a custom model config (a small ModifiedResNet
image tower, which learns colour and shape far faster on a CPU than a small ViT, and a 2-layer
text transformer) with open_clip's own BPE tokenizer. It is trained contrastively on frames drawn
by ``longvid.synth`` exactly as generated videos draw them (320 x 180, muted scene backgrounds,
0-3 objects) with captions such as "a red star and a blue circle", "a red star", or questions
("when does the red star jump?"). Frames are preprocessed with the transform open_clip builds
from the shipped ``preprocess_cfg`` (``resize_mode: squash``, so objects near the 16:9 edges are
never cropped away). The loss is CLIP's, except that a caption counts as a match for every image
that contains all of its objects (several images in a batch share a caption). Half the frames
are first shrunk (shorter side between the model's input size and 180), as longvid's decoder
delivers frames already resized towards the encoder's input.

Output (``--out``, default ``longvid/models/tiny-clip``; written to a temporary folder and swapped
in at the end): ``open_clip_config.json`` ({"model_cfg", "preprocess_cfg"}, the open_clip hub
layout), ``open_clip_model.safetensors`` (fp16) and ``training.json`` (seed, steps, wall time,
machine, metrics). Load it with ``open_clip.create_model_and_transforms("local-dir:<out>")`` or
``longvid.embed.load_encoder("tiny")``.

Seeds: training frames come from NumPy ``SeedSequence([TRAINING_SEED_BASE + seed, stream, i])``
(TRAINING_SEED_BASE = 1,000,000,000, see longvid.synth); videos, tests and benchmarks use integer
seeds below TRAINING_SEED_BASE, so no evaluation frame was ever seen in training. The held-out
check below uses seed 4242. Same seed, steps, batch size and thread count: the same weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from longvid.synth import TRAINING_SEED_BASE  # noqa: E402
from longvid.synth.backgrounds import still_background  # noqa: E402
from longvid.synth.render import render_still  # noqa: E402
from longvid.synth.vocab import ACTIONS, ALL_COMBOS, action_verb, caption, classification_prompts, when_question  # noqa: E402

MODEL_CFG = {
    "embed_dim": 128,
    "vision_cfg": {"layers": [1, 1, 1, 1], "width": 16, "head_width": 32, "image_size": 96},
    "text_cfg": {"context_length": 24, "vocab_size": 49408, "width": 96, "heads": 4, "layers": 2, "mlp_ratio": 2.0},
}
PREPROCESS_CFG = {
    "size": 96,
    "mode": "RGB",
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "squash",
    "fill_color": 0,
}
FRAME_W, FRAME_H = 320, 180
HELD_OUT_SEED = 4242


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "longvid" / "models" / "tiny-clip")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1200)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2, help="torch threads for the model")
    p.add_argument("--image-size", type=int, default=MODEL_CFG["vision_cfg"]["image_size"], help="model input side (multiple of 32)")
    p.add_argument("--vision-width", type=int, default=MODEL_CFG["vision_cfg"]["width"], help="ModifiedResNet base width")
    p.add_argument("--workers", type=int, default=1, help="processes rendering frames ahead (0: in the training process)")
    p.add_argument("--bank", type=int, default=1024, help="scene backgrounds rendered once and reused with flips and shifts")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--held-out", type=int, default=300, help="held-out single-object frames for zero-shot accuracy")
    p.add_argument("--max-minutes", type=float, default=30.0, help="safety stop; the run is then marked incomplete")
    p.add_argument("--note", default="", help="free text stored in training.json (e.g. machine load)")
    args = p.parse_args(argv)
    if args.image_size % 32 or args.image_size < 32:
        p.error(f"--image-size = {args.image_size} must be a multiple of 32")
    for name in ("steps", "batch", "threads", "bank", "eval_every", "held_out", "vision_width"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} = {getattr(args, name)} must be at least 1")
    if not 0 <= args.seed < 1_000_000:
        p.error(f"--seed = {args.seed} must be 0 to 999999")
    return args


# --- data -------------------------------------------------------------------------------------


def describe(rng: np.random.Generator, objects) -> tuple[str, frozenset]:
    """A caption for a frame and the set of combos it names (a subset of what is in the frame)."""
    combos = [o.combo for o in objects]
    if not combos:
        return caption([]), frozenset()
    mode = rng.random()
    if mode < 0.5 or len(combos) == 1 and mode < 0.6:  # all objects, in random order
        order = [combos[i] for i in rng.permutation(len(combos))]
        actions = [ACTIONS[int(rng.integers(len(ACTIONS)))] for _ in order] if rng.random() < 0.2 else None
        return caption(order, actions), frozenset(order)
    one = combos[int(rng.integers(len(combos)))]
    if mode < 0.85:
        return caption([one]), frozenset([one])
    action = ACTIONS[int(rng.integers(len(ACTIONS)))]
    form = int(rng.integers(3))
    text = when_question(one, action) if form == 0 else f"the {one.name} {action_verb(action)}" if form == 1 else one.name
    return text, frozenset([one])


class FrameStream(torch.utils.data.IterableDataset):
    """Batch ``k`` is a pure function of (seed, k): the data order never depends on timing or workers."""

    def __init__(self, seed: int, batch: int, steps: int, bank: int, preprocess, tokenizer, start: int = 0):
        super().__init__()
        self.seed, self.batch, self.steps, self.bank_size = seed, batch, steps, bank
        self.preprocess, self.tokenizer = preprocess, tokenizer
        self.start = start
        self.min_side = preprocess.transforms[0].size[0]  # the squash target (model input side)
        self._bank: dict[int, np.ndarray] = {}

    def background(self, rng: np.random.Generator) -> np.ndarray:
        i = int(rng.integers(self.bank_size))
        if i not in self._bank:
            self._bank[i] = still_background(FRAME_W, FRAME_H, np.random.default_rng([TRAINING_SEED_BASE + self.seed, 1, i]))
        image = self._bank[i]
        if rng.random() < 0.5:
            image = image[:, ::-1]
        if rng.random() < 0.5:
            image = image[::-1]
        return np.roll(image, int(rng.integers(FRAME_W)), axis=1)

    def make_batch(self, k: int):
        from PIL import Image

        rng = np.random.default_rng([TRAINING_SEED_BASE + self.seed, 0, k])
        images, texts, image_sets, text_sets = [], [], [], []
        for _ in range(self.batch):
            frame, objects = render_still(rng, FRAME_W, FRAME_H, background=self.background(rng), empty_probability=0.08)
            text, named = describe(rng, objects)
            picture = Image.fromarray(frame)
            if rng.random() < 0.5:  # as longvid's decoder hands frames over: shrunk to the model's size first
                short = int(rng.integers(self.min_side, FRAME_H + 1))
                picture = picture.resize((round(FRAME_W * short / FRAME_H), short), Image.BILINEAR)
            images.append(self.preprocess(picture))
            texts.append(text)
            image_sets.append(frozenset(o.combo for o in objects))
            text_sets.append(named)
        # targets[i, j]: caption j is true of image i (it names only objects image i shows).
        targets = torch.tensor(
            [[float(t <= s and (bool(t) or not s)) for t in text_sets] for s in image_sets], dtype=torch.float32
        )
        return torch.stack(images), self.tokenizer(texts), targets

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        shard, shards = (info.id, info.num_workers) if info else (0, 1)
        for k in range(self.start + shard, self.steps, shards):
            yield self.make_batch(k)


def held_out_frames(n: int, preprocess):
    """Single-object frames with fresh backgrounds from an evaluation seed, balanced over classes."""
    from PIL import Image

    images, labels = [], []
    for i in range(n):
        label = i % len(ALL_COMBOS)
        frame, _ = render_still(np.random.default_rng([HELD_OUT_SEED, i]), FRAME_W, FRAME_H, combos=[ALL_COMBOS[label]])
        images.append(preprocess(Image.fromarray(frame)))
        labels.append(label)
    return torch.stack(images), torch.tensor(labels)


def zero_shot_accuracy(model, tokenizer, images, labels) -> float:
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        text = model.encode_text(tokenizer(classification_prompts()), normalize=True)
        feats = torch.cat([model.encode_image(chunk, normalize=True) for chunk in images.split(256)])
        accuracy = float((feats @ text.T).argmax(dim=1).eq(labels).float().mean())
    model.train(was_training)
    return accuracy


# --- training ---------------------------------------------------------------------------------


def write_config(folder: Path, image_size: int, vision_width: int) -> None:
    model_cfg = json.loads(json.dumps(MODEL_CFG))
    model_cfg["vision_cfg"].update(image_size=image_size, width=vision_width)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {**PREPROCESS_CFG, "size": image_size}}, indent=2) + "\n",
        encoding="utf-8",
    )


def soft_cross_entropy(logits, targets):
    weights = targets / targets.sum(dim=1, keepdim=True)
    return -(weights * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import open_clip
    from safetensors.torch import save_file

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = args.out.resolve()
    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    write_config(work, args.image_size, args.vision_width)
    # Built from the config file, the way every loader will build it: same architecture, same transform.
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{work}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{work}")
    held_images, held_labels = held_out_frames(args.held_out, preprocess)
    random_accuracy = zero_shot_accuracy(model, tokenizer, held_images, held_labels)
    print(f"random weights: zero-shot accuracy {random_accuracy:.3f} on {args.held_out} held-out frames", flush=True)

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    warmup = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        return args.lr * 0.5 * (1 + np.cos(np.pi * (step - warmup) / max(1, args.steps - warmup)))

    stream = FrameStream(args.seed, args.batch, args.steps, args.bank, preprocess, tokenizer)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=args.workers,
                                         prefetch_factor=4 if args.workers else None)
    history, losses = [], []
    started = time.perf_counter()
    step = 0
    complete = True
    model.train()
    for step, (images, tokens, targets) in enumerate(loader):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        image_feats = model.encode_image(images, normalize=True)
        text_feats = model.encode_text(tokens, normalize=True)
        logits = model.logit_scale.exp() * image_feats @ text_feats.T
        loss = 0.5 * (soft_cross_entropy(logits, targets) + soft_cross_entropy(logits.T, targets.T))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, np.log(100))
        losses.append(loss.item())
        done = step + 1
        elapsed = time.perf_counter() - started
        if done % args.eval_every == 0 or done == args.steps:
            accuracy = zero_shot_accuracy(model, tokenizer, held_images, held_labels)
            history.append({"step": done, "seconds": round(elapsed, 1), "loss": round(float(np.mean(losses[-50:])), 4),
                            "held_out_accuracy": round(accuracy, 4)})
            print(f"step {done}/{args.steps}  {elapsed / 60:.1f} min  loss {history[-1]['loss']:.3f}  "
                  f"held-out accuracy {accuracy:.3f}", flush=True)
        if elapsed > args.max_minutes * 60 and done < args.steps:
            complete = False
            print(f"stopping at step {done}: over --max-minutes {args.max_minutes}", flush=True)
            break
    wall_s = time.perf_counter() - started
    final_accuracy = zero_shot_accuracy(model, tokenizer, held_images, held_labels)

    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(work / "open_clip_model.safetensors"), metadata={"format": "pt"})
    record = {
        "seed": args.seed, "steps": step + 1, "steps_planned": args.steps, "complete": complete,
        "batch": args.batch, "lr": args.lr, "threads": args.threads, "workers": args.workers, "bank": args.bank,
        "wall_seconds": round(wall_s, 1), "wall_minutes": round(wall_s / 60, 2),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpu_count": os.cpu_count(), "load_average_at_end": list(os.getloadavg()),
                    "torch": torch.__version__, "open_clip": open_clip.__version__},
        "note": args.note,
        "training_seed_stream": f"SeedSequence([{TRAINING_SEED_BASE} + seed, stream, index])",
        "held_out": {"frames": args.held_out, "seed": HELD_OUT_SEED, "classes": len(ALL_COMBOS),
                     "chance": round(1 / len(ALL_COMBOS), 4), "random_weights_accuracy": round(random_accuracy, 4),
                     "final_accuracy": round(final_accuracy, 4)},
        "history": history,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (work / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    work.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    print(f"wrote {out} ({sum(f.stat().st_size for f in out.iterdir()) / 1e6:.1f} MB) in {wall_s / 60:.1f} min; "
          f"held-out accuracy {final_accuracy:.3f} (random weights {random_accuracy:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
