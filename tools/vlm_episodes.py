"""Training episodes for the tiny video LLM: a question, the frames longvid would show, the answer.

An episode is built the way ``longvid ask`` builds its input, except for one shortcut: frame
relevance comes from the ground truth instead of the tiny CLIP (which would cost ~10 ms a frame
on a CPU). Per question:

1. the question's phrases (``longvid.search.decouple``), as ``ask`` embeds them;
2. a relevance score per phrase for the frames of a 1 fps index: 1 where an object with every
   colour and shape the phrase names is on screen, 0.5 where one shares some of them, 0 else,
   plus Gaussian noise; per-phrase z-scores combined by the ``tiny-llm`` preset's rule (max).
   (The pipeline combines raw cosines, not z-scores: a simulation of which frames rank high,
   not of the numbers.)
3. frames chosen by the ``dense`` strategy (``longvid.select``) under a budget of 8, 16 or 32,
   with its options jittered a little so the model does not depend on one exact spread;
4. those frames rendered (``longvid.synth.render.FrameRenderer``) at the video's 320 x 180 and
   put through the model's own video processor (resize to the model's input, normalise).

Shards on disk (no pickle): ``shard-K.frames.npy`` uint8 (frames, 3, H, W) — the processor's
resized pixels before normalisation, which it computes in uint8, so they restore exactly —
``shard-K.jsonl`` one episode per line (question, answer, kind, times_s, first frame, frame count).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from longvid.config import PipelineConfig
from longvid.search.decouple import decouple_question
from longvid.search.scoring import combine_columns, normalize_columns
from longvid.select import select_frames
from longvid.synth.questions import word_questions, plan_qa_video
from longvid.synth.render import FrameRenderer
from longvid.synth.vocab import COLOURS, SHAPES

COLOUR_IDS = {name: i for i, name in enumerate(COLOURS)}
INDEX_FPS = 1.0
BUDGETS = (8, 16, 32)
BUDGET_WEIGHTS = (0.3, 0.6, 0.1)
QUESTIONS_PER_VIDEO = 8


def phrase_match(phrase: str, objects) -> float:
    """1 when an object shows every colour and shape the phrase names, 0.5 when one shows some."""
    words = set(phrase.split())
    colours, shapes = words & set(COLOURS), words & set(SHAPES)
    if not colours and not shapes:
        return 0.0
    best = 0.0
    for obj in objects:
        hits = (obj.colour in colours) + (obj.shape in shapes)
        named = bool(colours) + bool(shapes)
        best = max(best, 1.0 if hits == named else 0.5 if hits else 0.0)
    return best


# How the preset the tiny LLM answers under combines a question's phrases (its search.combine).
COMBINE = PipelineConfig.from_preset("tiny-llm").search.combine


def simulated_scores(spec, question: str, times_s: np.ndarray, rng: np.random.Generator, noise: float = 0.08) -> np.ndarray:
    phrases = decouple_question(question).phrases
    fps = float(spec.rate)
    columns = np.zeros((len(times_s), len(phrases)))
    for i, t in enumerate(times_s):
        f = int(np.floor(t * fps + 1e-9))
        visible = [o for o in spec.objects if o.start_frame <= f < o.end_frame]
        for j, phrase in enumerate(phrases):
            columns[i, j] = phrase_match(phrase, visible)
    columns += rng.normal(0.0, noise, columns.shape)
    return combine_columns(normalize_columns(columns, "zscore"), COMBINE)


def episode_frames(spec, question: str, rng: np.random.Generator, budget: int) -> np.ndarray:
    """The times ``dense`` picks for this question on a 1 fps index of ``spec``."""
    times = np.arange(0.0, spec.duration_s, 1.0 / INDEX_FPS)
    scores = simulated_scores(spec, question, times, rng)
    options = dict(ratio=float(rng.uniform(0.35, 0.65)), sharpness=float(rng.choice([1.0, 2.0, 3.0])))
    return np.asarray(select_frames(times, scores, budget, strategy="dense", **options).timestamps_s)


def video_episodes(seed: int, processor, rng: np.random.Generator) -> list[tuple[dict, np.ndarray]]:
    """Episodes from one random QA video: (record, uint8 frames (n, 3, H, W))."""
    spec = plan_qa_video(
        seed, float(rng.uniform(40, 240)), distractors_per_minute=float(rng.uniform(1.0, 8.0)),
        max_same_shape=int(rng.integers(0, 3)),
    )
    questions = word_questions(spec, rng)
    by_kind: dict[str, list] = {}
    for q in questions:
        by_kind.setdefault(q.kind, []).append(q)
    renderer = FrameRenderer(spec)
    fps = float(spec.rate)
    out = []
    kinds = list(by_kind)
    for k in range(min(QUESTIONS_PER_VIDEO, len(questions))):
        pool = by_kind[kinds[k % len(kinds)]]
        q = pool[int(rng.integers(len(pool)))]
        budget = int(rng.choice(BUDGETS, p=BUDGET_WEIGHTS))
        times = episode_frames(spec, q.question, rng, budget)
        index = np.clip(np.floor(times * fps + 1e-9).astype(int), 0, spec.frame_count - 1)
        frames = np.stack([renderer.frame(int(i)) for i in index])
        pixels = processor_pixels(processor, frames)
        out.append(({"question": q.question, "answer": q.answer, "kind": q.kind, "times_s": [round(float(t), 3) for t in times],
                     "seed": seed, "combine": COMBINE, "objects": [frame_objects(spec, int(i)) for i in index]}, pixels))
    return out


def frame_objects(spec, frame_index: int) -> list[list[float]]:
    """What is on a frame, for the training's auxiliary loss: [colour, shape, centre x, centre y,
    width, height] per object, the numbers relative to the frame (0..1)."""
    found = []
    for obj in spec.objects:
        if obj.start_frame <= frame_index < obj.end_frame:
            x0, y0, x1, y1 = (float(v) for v in obj.boxes()[frame_index - obj.start_frame])
            found.append([float(COLOUR_IDS[obj.colour]), float(SHAPES.index(obj.shape)), round((x0 + x1) / 2 / spec.width, 4),
                          round((y0 + y1) / 2 / spec.height, 4), round((x1 - x0) / spec.width, 4), round((y1 - y0) / spec.height, 4)])
    return found


def processor_pixels(processor, frames: np.ndarray) -> np.ndarray:
    """The video processor's resized frames as uint8 (n, 3, H, W) (its output before normalising)."""
    vp = processor.video_processor
    values = vp(videos=[frames], return_tensors="np")["pixel_values_videos"][0]  # (n, 3, H, W) normalised
    mean = np.asarray(vp.image_mean, dtype=np.float64)[None, :, None, None]
    std = np.asarray(vp.image_std, dtype=np.float64)[None, :, None, None]
    raw = (values.astype(np.float64) * std + mean) / vp.rescale_factor
    pixels = np.rint(raw)
    if np.abs(raw - pixels).max() > 0.02:
        raise RuntimeError("the video processor's resized pixels are not whole numbers: cannot store them as uint8")
    return np.clip(pixels, 0, 255).astype(np.uint8)


def normalise(processor, pixels: np.ndarray):
    """uint8 (n, 3, H, W) -> the processor's float tensor for them."""
    import torch

    vp = processor.video_processor
    x = torch.from_numpy(pixels).float() * vp.rescale_factor
    mean = torch.tensor(vp.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(vp.image_std).view(1, 3, 1, 1)
    return (x - mean) / std


def write_shard(folder: Path, name: str, episodes: list[tuple[dict, np.ndarray]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frames = np.concatenate([p for _, p in episodes])
    tmp = folder / f".{name}.frames.npy"
    np.save(tmp, frames)
    first = 0
    lines = []
    for record, pixels in episodes:
        lines.append(json.dumps({**record, "first": first, "count": int(len(pixels))}))
        first += len(pixels)
    (folder / f".{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / f".{name}.frames.npy").replace(folder / f"{name}.frames.npy")
    (folder / f".{name}.jsonl").replace(folder / f"{name}.jsonl")


class Shards:
    """Episodes of every complete shard in a folder; frames memory-mapped."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.records: list[dict] = []
        self.frames: list[np.ndarray] = []
        self._read: set[str] = set()
        self.refresh()

    def refresh(self) -> int:
        """Read shards completed since the last call; returns how many episodes were added."""
        before = len(self.records)
        for meta in sorted(self.folder.glob("shard-*.jsonl")):
            if meta.name in self._read:
                continue
            arrays = np.load(meta.with_name(meta.name.replace(".jsonl", ".frames.npy")), mmap_mode="r", allow_pickle=False)
            k = len(self.frames)
            self.frames.append(arrays)
            self._read.add(meta.name)
            for line in meta.read_text(encoding="utf-8").splitlines():
                self.records.append({**json.loads(line), "shard": k})
        return len(self.records) - before

    def __len__(self) -> int:
        return len(self.records)

    def pixels(self, i: int) -> np.ndarray:
        r = self.records[i]
        return np.array(self.frames[r["shard"]][r["first"] : r["first"] + r["count"]])  # a writable copy, for torch


def generate(folder: Path, seeds: range, processor, shard_videos: int = 50, progress: bool = True) -> None:
    """Shards of episodes from the videos of ``seeds`` (a shard already on disk is kept)."""
    import time

    started = time.perf_counter()
    seeds = list(seeds)
    for s in range(0, len(seeds), shard_videos):
        chunk = seeds[s : s + shard_videos]
        name = f"shard-{chunk[0]:010d}"
        if (folder / f"{name}.jsonl").exists():
            continue
        episodes = []
        for seed in chunk:
            episodes += video_episodes(seed, processor, np.random.default_rng([seed, 3]))
        write_shard(folder, name, episodes)
        if progress:
            done = s + len(chunk)
            print(f"{folder.name}: {done}/{len(seeds)} videos, {time.perf_counter() - started:.0f} s", flush=True)
