"""Answer accuracy of longvid's tiny video LLM against the frame and visual-token budget.

    python benchmarks/answer_quality.py                      # 40 videos of 2-30 min, 200 questions
    python benchmarks/answer_quality.py --first 20 --per-kind 2   # 20 of those 40 videos, 2 of each kind: ~200
    python benchmarks/answer_quality.py --videos 4 --max-minutes 4    # a quick look
    python benchmarks/answer_quality.py --first 28 --per-kind 2 --model bench_out/vlm-run --work bench_out/aq-run  # a candidate

Videos: ``plan_qa_video`` haystacks (seeds 600000 + i, below the training seed range, so never
seen in training), durations spread over 2-30 minutes, made once and cached in --work. Five
questions per video, one of each kind (colour of the object that jumps, what an object does,
which of two appears first, how many times it jumps, is there a ... with "yes" and "no" in
turn), each about the video's planned objects, with its short answer in words.

Each video is indexed once with the ``tiny-llm`` preset (tiny CLIP, 1 fps); per question the
pipeline's ``locate`` scores every stored frame, then:

* frames: ``dense`` (query-aware) and ``uniform`` (question-blind) at 8 / 16 / 32 frames, all
  visual tokens (16 per frame);
* tokens, at 16 query-aware frames: all of them, and 50 / 25 / 10 / 5 % of them for every token
  method (pool, kcenter, relevance, hybrid and whatever else ``longvid.tokens.SAMPLERS`` holds),
  with temporal merging on (0.95) and off; FastV (in-decoder dropping after layer k = 2) at the
  same shares of the visual tokens left after layer 2;
* the same architecture with random weights (16 query-aware frames, all tokens): chance level.

A question counts as right when the generated answer equals the gold one after normalisation
(``longvid.eval.qa``). "prefill ms" is one forward pass over the prompt as sent (vision tower and
token stage excluded), the mean over questions. Prints the tables, writes ``results.json`` and
``accuracy_vs_tokens.png`` to --work.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _media import machine_note, needle_videos  # noqa: E402

FIRST_SEED = 600_000
SHARES = (0.5, 0.25, 0.10, 0.05)
FRAME_BUDGETS = (8, 16, 32)
KINDS = ("colour", "action", "order", "count", "presence")


def random_weights_folder(folder: Path) -> Path:
    """The shipped tiny VLM's config, processor and tokenizer with seeded random weights."""
    import shutil

    import torch
    from transformers import AutoConfig, LlavaOnevisionForConditionalGeneration

    from longvid.llm.resolve import TINY_VLM_DIR

    if not (folder / "model.safetensors").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(TINY_VLM_DIR, folder, ignore=shutil.ignore_patterns("model.safetensors", "training.json"))
        torch.manual_seed(0)
        LlavaOnevisionForConditionalGeneration(AutoConfig.from_pretrained(folder)).save_pretrained(folder)
    return folder


def questions_for(videos, seed: int, per_kind: int = 1):
    """``per_kind`` rounds of one question of each kind per video (a question asked twice counts once)."""
    from longvid.synth.questions import pick_questions, plan_qa_video, word_questions

    items = []
    for path, truth in videos:
        spec = plan_qa_video(int(truth.video["seed"]), float(truth.video["duration_s"]))  # the same plan, re-made
        rng = np.random.default_rng([seed, int(truth.video["seed"])])
        pool = word_questions(spec, rng, roles=("needle",))
        asked: set[str] = set()
        for _ in range(per_kind):
            for q in pick_questions(pool, rng):
                if q.question not in asked:
                    asked.add(q.question)
                    items.append((path, truth, q))
    return items


def run(llm, frames, times, question, relevance, budget=None, method="hybrid", merge=0.95, fastv=None):
    """(answer text, prefill seconds, visual tokens sent) for one configuration."""
    import torch

    prep = llm.prepare(frames, times, question, budget, relevance, method, merge, 1.0, None, 8)
    inputs = llm.generate_inputs(prep)
    with torch.inference_mode():
        if fastv is not None:
            from longvid.llm.fastv import attach

            with attach(llm.model, fastv, llm.visual_mask(prep)):
                started = time.perf_counter()
                llm.model(**inputs)
        else:
            started = time.perf_counter()
            llm.model(**inputs)
        prefill = time.perf_counter() - started
    ids, _ = llm.generate(prep, 8, fastv=fastv)
    text = llm.tokenizer.decode(ids, skip_special_tokens=True).strip()
    sent = int(prep.kept.positions.shape[0]) if fastv is None else llm.last_fastv["visual_kept"]
    return text, prefill, sent


def configurations(methods):
    """(row label, group, share of tokens, run keyword arguments) at 16 query-aware frames."""
    from longvid.llm.fastv import FastV

    yield "all tokens", "all", 1.0, {}
    for share in SHARES:
        for method in methods:
            for merge, tag in ((0.95, "merge"), (None, "no merge")):
                yield f"{method}, {tag}, {share:.0%}", f"{method} ({tag})", share, {"method": method, "merge": merge, "share": share}
        yield f"fastv k=2, {share:.0%}", "fastv (k=2)", share, {"fastv": FastV(k=2, r=1.0 - share)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=40, help="videos planned (durations spread over the range)")
    parser.add_argument("--first", type=int, default=None, help="make and ask only the first N planned videos")
    parser.add_argument("--per-kind", type=int, default=1, help="questions of each kind per video")
    parser.add_argument("--min-minutes", type=float, default=2.0)
    parser.add_argument("--max-minutes", type=float, default=30.0)
    parser.add_argument("--work", type=Path, default=REPO / "bench_out" / "answer_quality", help="videos and results")
    parser.add_argument("--seed", type=int, default=0, help="question choice")
    parser.add_argument("--model", default="tiny",
                        help="the video LLM to ask: the shipped tiny one, or a folder tools/train_tiny_vlm.py wrote (a candidate)")
    args = parser.parse_args(argv)
    if args.videos < 1 or not 0 < args.min_minutes <= args.max_minutes:
        parser.error("need --videos >= 1 and 0 < --min-minutes <= --max-minutes")

    from longvid.config import PipelineConfig
    from longvid.eval.qa import short_answer_correct
    from longvid.llm import load_llm
    from longvid.pipeline import Pipeline, _positive_relevance
    from longvid.select import select_frames
    from longvid.synth.questions import plan_qa_video
    from longvid.tokens import SAMPLERS

    print(f"generating/reusing {args.videos} videos in {args.work} ...", flush=True)
    videos = needle_videos(args.work / "videos", args.videos, args.min_minutes, args.max_minutes, FIRST_SEED,
                           planner=plan_qa_video, prefix="qa", first=args.first)
    items = questions_for(videos, args.seed, args.per_kind)
    methods = [m for m in ("pool", "kcenter", "relevance", "hybrid") if m in SAMPLERS]
    methods += [m for m in SAMPLERS.names() if m not in methods]
    config = PipelineConfig.from_preset("tiny-llm").with_overrides(
        {"store": {"path": str(args.work / "store")}, "llm": {"model": args.model}})
    results: dict[str, dict] = {}

    def record(label, group, share, kind, ok, prefill, sent):
        row = results.setdefault(label, {"group": group, "share": share, "right": {}, "prefill": [], "tokens": []})
        row["right"].setdefault(kind, []).append(bool(ok))
        row["prefill"].append(prefill)
        row["tokens"].append(sent)

    with Pipeline(config) as pipe:
        started = time.perf_counter()
        for path, _ in videos:
            pipe.index(path)
        index_seconds = time.perf_counter() - started
        llm = pipe.llm
        llm.load_weights()
        random_llm = load_llm(str(random_weights_folder(args.work / "random-weights")), device="cpu", dtype="float32")
        started = time.perf_counter()
        for n, (path, truth, q) in enumerate(items, 1):
            located = pipe.locate(path, q.question)
            t, s = located.timeline.timestamps_s, located.timeline.scores
            scenes = located.timeline.scenes or None
            for strategy in ("dense", "uniform"):
                for budget in FRAME_BUDGETS:
                    sel = select_frames(t, s, budget, strategy=strategy, scenes=scenes)
                    frames = pipe._frames(path, sel.timestamps_s, None, located.cost)
                    times = list(sel.timestamps_s)
                    relevance = _positive_relevance(sel.scores)
                    text, prefill, sent = run(llm, frames, times, q.question, relevance)
                    record(f"{strategy} frames, {budget}", f"{strategy} frames", budget, q.kind,
                           short_answer_correct(text, q.answer), prefill, sent)
                    if (strategy, budget) != ("dense", 16):
                        continue
                    total = sent
                    for label, group, share, options in configurations(methods):
                        if label == "all tokens":
                            ok, p, k = short_answer_correct(text, q.answer), prefill, sent
                        else:
                            share_budget = options.pop("share", None)
                            budget_tokens = None if share_budget is None else max(1, round(share_budget * total))
                            answer, p, k = run(llm, frames, times, q.question, relevance, budget_tokens, **options)
                            ok = short_answer_correct(answer, q.answer)
                        record(label, group, share, q.kind, ok, p, k)
                    answer, p, k = run(random_llm, frames, times, q.question, relevance)
                    record("random weights", "random weights", 1.0, q.kind, short_answer_correct(answer, q.answer), p, k)
            if n % 10 == 0 or n == len(items):
                done = results["dense frames, 16"]["right"]
                acc = np.mean([x for v in done.values() for x in v])
                print(f"  {n}/{len(items)} questions, {(time.perf_counter() - started) / 60:.1f} min, "
                      f"accuracy at 16 dense frames so far {acc:.3f}", flush=True)

    summary = summarise(results)
    report(summary, items, videos, index_seconds, args)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "results.json").write_text(json.dumps({"summary": summary, "model": args.model, "machine": machine_note(),
                                                         "questions": len(items)}, indent=2) + "\n")
    plot(summary, args.work / "accuracy_vs_tokens.png")
    return 0


def summarise(results: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for label, row in results.items():
        every = [x for v in row["right"].values() for x in v]
        out[label] = {
            "group": row["group"], "share": row["share"], "accuracy": float(np.mean(every)), "n": len(every),
            "by_kind": {k: float(np.mean(v)) for k, v in sorted(row["right"].items())},
            "prefill_ms": 1000 * float(np.mean(row["prefill"])), "visual_tokens": float(np.mean(row["tokens"])),
        }
    return out


def report(summary: dict[str, dict], items, videos, index_seconds: float, args) -> None:
    minutes = [truth.video["duration_s"] / 60 for _, truth in videos]
    print()
    print(f"{len(items)} questions on {len(videos)} videos of {min(minutes):.1f}-{max(minutes):.1f} min "
          f"(seeds {FIRST_SEED}-{FIRST_SEED + len(videos) - 1}); indexing took {index_seconds:.0f} s; {machine_note()}")
    full = summary["all tokens"]["accuracy"]
    header = f"{'configuration':34} {'accuracy':>8} {'of full':>8} {'tokens':>7} {'prefill ms':>10}  " + " ".join(f"{k:>8}" for k in KINDS)
    print(header)
    for label, row in summary.items():
        kinds = " ".join(f"{row['by_kind'].get(k, float('nan')):>8.2f}" for k in KINDS)
        print(f"{label:34} {row['accuracy']:>8.3f} {row['accuracy'] / full if full else 0:>8.1%} "
              f"{row['visual_tokens']:>7.1f} {row['prefill_ms']:>10.2f}  {kinds}")
    chance = np.mean([1 / 6, 1 / 5, 1 / 2, 1 / 3, 1 / 2])
    print(f"chance (one guess per question kind, averaged): {chance:.3f}")
    best = max((r for r in summary.values() if abs(r["share"] - 0.10) < 1e-9), key=lambda r: r["accuracy"], default=None)
    if best is not None and full:
        print(f"best at 10 % of the tokens: {best['group']} keeps {best['accuracy'] / full:.1%} of full-token accuracy")


def plot(summary: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    full = summary["all tokens"]
    groups: dict[str, list] = {}
    for row in summary.values():
        if row["group"] not in ("all", "dense frames", "uniform frames", "random weights"):
            groups.setdefault(row["group"], []).append((row["share"], row["accuracy"]))
    for group, points in sorted(groups.items()):
        points = sorted(points + [(1.0, full["accuracy"])])
        style = "--" if "no merge" in group else "-"
        ax.plot([100 * p for p, _ in points], [a for _, a in points], style, marker="o", label=group)
    for label, colour in (("uniform frames, 16", "grey"), ("random weights", "black")):
        if label in summary:
            ax.axhline(summary[label]["accuracy"], color=colour, linestyle=":", label=label)
    ax.set_xscale("log")
    ax.set_xticks([5, 10, 25, 50, 100], ["5", "10", "25", "50", "100"])
    ax.set_xlabel("visual tokens kept (% of 16 frames x 16 tokens)")
    ax.set_ylabel("answer accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("tiny video LLM, 16 query-aware frames")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


if __name__ == "__main__":
    raise SystemExit(main())
