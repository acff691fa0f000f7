"""LV-Haystack-style benchmark: which frames does each strategy pick for a needle question?

    python benchmarks/haystack.py                                    # 20 needle videos of 10-60 min, 8/16/32 frames
    python benchmarks/haystack.py --videos 6 --max-minutes 15        # a subset: 6 videos of 10-15 min
    python benchmarks/haystack.py --quick                            # 4 videos of 10 minutes
    python benchmarks/haystack.py --threads 1                        # encoder threads (1 is faster on a busy 2-core box)

Videos: generated known-answer haystacks (``plan_needle_video``: one 2-5 s needle event whose
colour + shape appears nowhere else, ~4 distractors a minute, half of them sharing the needle's
colour or shape), seeds 600000 + i (quick: 600100 + i), durations spread evenly over
[--min-minutes, --max-minutes], below the tiny CLIP's training range (>= 1,000,000,000) and apart
from ``quality_tiny.py``'s 500000-500019. They are cached in ``--work``/videos. The question is
the generated needle question ("when does the magenta star grow?"); gold = its LV-Haystack
keyframes (the event's first, middle and last frame), 5 s tolerance, macro F1 over videos.
Model: the shipped ``tiny`` CLIP (preset ``tiny``).

Per video, through the library's own paths:

* full index: ``Pipeline.index`` at 1 fps into a store of its own (in ``--work``/stores, rebuilt
  each run so that index and cold searches are timed under the same load; ``--reuse-index`` keeps
  an earlier run's stores and index times, for quick reruns of the selection); then
  ``Pipeline.locate`` once per strategy and budget over the stored scores, for every strategy the
  selection registry offers (``longvid.select.STRATEGIES``: published methods and longvid's
  variants side by side): frames embedded = the index's frames, seconds = the locate call;
* cold searches (``longvid.search.cold.COLD_SEARCHES``): the published ``tstar`` and longvid's
  ``tstar-coverage``, each ``Pipeline.locate`` on the video in a fresh temporary store, once per
  budget (they decode and embed only what they visit; seconds = the whole locate call);
* speed, same question: (index wall time + one ``topk`` locate) vs each cold search at the same
  budget, end to end (model loaded in both).

Targets (issue 5, for longvid's default cold search ``tstar-coverage``): the best query-aware
strategy reaches F1 >= 0.8 at 8 frames where uniform stays <= 0.3; the cold search reaches >= 0.9
of full-index ``topk``'s F1 while embedding <= 25 % of the frames a 1 fps index embeds, and is
>= 3x faster end to end than indexing first. Prints the table and writes ``--work``/results.json
(per video and per strategy).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from longvid.synth import GroundTruth  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from _media import machine_note, needle_videos, tiny_search_config  # noqa: E402

FIRST_SEED = 600_000
QUICK_SEED = 600_100
DEFAULT_COLD = "tstar-coverage"  # the cold search the issue-5 targets are about


def full_index_strategies() -> list[str]:
    from longvid.select import STRATEGIES

    return list(STRATEGIES.names())


def cold_searches() -> list[str]:
    from longvid.search.cold import COLD_SEARCHES

    return list(COLD_SEARCHES)


def needle_question(truth: GroundTruth):
    return next(q for q in truth.qa if q.needle and q.question.startswith("when"))


def f1_of(selection, gold_s) -> dict:
    from longvid.eval import temporal_prf

    score = temporal_prf(selection.timestamps_s, gold_s)
    return {"precision": score.precision, "recall": score.recall, "f1": score.f1}


def run_video(path: Path, truth: GroundTruth, args, encoder) -> dict:
    from longvid.pipeline import Pipeline

    qa = needle_question(truth)
    gold = list(qa.keyframe_timestamps_s)
    base = tiny_search_config({"embed": {"threads": args.threads}})
    row: dict = {"video": path.name, "minutes": truth.video["duration_s"] / 60, "question": qa.question, "gold_s": gold,
                 "gold_span_s": list(qa.gold_span_s), "full": {}, "cold": {}}

    # Full index once (kept between runs), then every strategy and budget over the stored scores.
    store_dir = args.work / "stores" / path.stem
    timing = store_dir / "index_timing.json"  # wall time of the run that built the store
    with Pipeline(base.with_overrides({"store": {"path": str(store_dir)}}), encoder=encoder) as pipe:
        started = time.perf_counter()
        indexed = pipe.index(path)
        if not indexed.noop or not timing.is_file():
            if indexed.noop:  # a store without its timing: rebuild it to measure
                pipe.close()
                shutil.rmtree(store_dir)
                started = time.perf_counter()
                indexed = pipe.index(path)
            timing.write_text(json.dumps({"seconds": time.perf_counter() - started, "frames_decoded": indexed.frames_decoded}))
    measured = json.loads(timing.read_text())
    row["index"] = {"frames_embedded": indexed.frames_total, "frames_decoded": measured["frames_decoded"],
                    "seconds": measured["seconds"], "reused": indexed.noop}
    for strategy in args.strategies:
        for budget in args.frames:
            cfg = base.with_overrides({"store": {"path": str(store_dir)}, "search": {"strategy": strategy, "frames": budget}})
            with Pipeline(cfg, encoder=encoder) as pipe:
                started = time.perf_counter()
                located = pipe.locate(path, qa.question)
                seconds = time.perf_counter() - started
            assert located.searched == "store"
            row["full"][f"{strategy}@{budget}"] = {
                **f1_of(located.selection, gold), "seconds": seconds, "frames_embedded": indexed.frames_total,
                "picked_s": list(located.selection.timestamps_s),
            }
    # Cold searches: a fresh store per search and budget.
    for search in args.cold:
        for budget in args.frames:
            with tempfile.TemporaryDirectory(prefix="haystack-cold-") as tmp:
                cfg = base.with_overrides({"store": {"path": tmp}, "search": {"strategy": search, "frames": budget}})
                with Pipeline(cfg, encoder=encoder) as pipe:
                    started = time.perf_counter()
                    located = pipe.locate(path, qa.question)
                    seconds = time.perf_counter() - started
            assert located.searched == "tstar" and located.cost.frames_from_store == 0  # "tstar": the pipeline's cold path
            row["cold"][f"{search}@{budget}"] = {
                **f1_of(located.selection, gold), "seconds": seconds, "frames_embedded": located.cost.frames_embedded,
                "frames_decoded": located.cost.frames_decoded, "picked_s": list(located.selection.timestamps_s),
            }
    return row


def stored_scores(path: Path, truth: GroundTruth, args, encoder):
    """The question's score of every frame of the full index (as the pipeline computes it), for
    simulating searches without decoding: a ``longvid.eval.haystack.ScoredVideo``."""
    from longvid.eval.haystack import ScoredVideo
    from longvid.pipeline import Pipeline
    from longvid.search.decouple import decouple_question
    from longvid.search.scoring import incremental_scorer

    qa = needle_question(truth)
    cfg = tiny_search_config({"store": {"path": str(args.work / "stores" / path.stem)}})
    with Pipeline(cfg, encoder=encoder) as pipe:
        record, _ = pipe.store.video_for_path(path)
        stored, vectors = pipe.store.vectors(record.id, encoder.model_id)
    texts = encoder.encode_text(list(decouple_question(qa.question).phrases))
    return ScoredVideo(path.name, stored.pts_s, incremental_scorer(texts)(vectors), tuple(qa.keyframe_timestamps_s))


# The published T* under other mappings of the image-text score to a detector confidence (see
# longvid/search/tstar.py): the pipeline's (z 4), stricter bars, and the raw cosine itself.
TSTAR_MAPPINGS = {
    "tstar z 4 (pipeline)": {},
    "tstar z 8": {"confidence_z": 8.0},
    "tstar z 12": {"confidence_z": 12.0},
    "tstar raw cosine": {"calibrate": False},
}


def mapping_sensitivity(scored: list, budgets: list[int]) -> dict:
    from longvid.eval.haystack import strategy_table

    print("\nthe published T* under other score -> confidence mappings (simulated on the stored 1 fps scores, no decoding)")
    print(f"{'mapping':<22}" + "".join(f"{'F1@' + str(b):>8}{'emb@' + str(b):>8}" for b in budgets))
    out = {}
    for label, options in TSTAR_MAPPINGS.items():
        rows = strategy_table(scored, strategies=("tstar",), frames=budgets, options={"tstar": options})
        out[label] = {r.frames: {"f1": r.f1, "frames_embedded": r.frames_embedded} for r in rows}
        print(f"{label:<22}" + "".join(f"{r.f1:>8.3f}{r.frames_embedded:>8.0f}" for r in rows))
    return out


def cell(row: dict, name: str, budget: int) -> dict:
    return row["full" if f"{name}@{budget}" in row["full"] else "cold"][f"{name}@{budget}"]


def summarize(rows: list[dict], names: list[str], budgets: list[int]) -> dict:
    table: dict = {}
    for name in names:
        for b in budgets:
            cells = [cell(r, name, b) for r in rows]
            table[f"{name}@{b}"] = {key: float(np.mean([c[key] for c in cells]))
                                    for key in ("f1", "precision", "recall", "frames_embedded", "seconds")}
    return table


def print_table(table: dict, rows: list[dict], names: list[str], cold: list[str], budgets: list[int]) -> dict:
    index_frames = float(np.mean([r["index"]["frames_embedded"] for r in rows]))
    index_s = float(np.mean([r["index"]["seconds"] for r in rows]))
    print()
    print(f"{len(rows)} videos, {min(r['minutes'] for r in rows):.0f}-{max(r['minutes'] for r in rows):.0f} min; "
          f"mean 1 fps index: {index_frames:.0f} frames in {index_s:.1f} s (not in the full-index rows' seconds)")
    print("means per video: F1, frames embedded, seconds of the locate call (cold: decode + embed + search)")
    head = f"{'strategy':<22}" + "".join(f"{'F1@' + str(b):>8}{'emb@' + str(b):>8}{'s@' + str(b):>8}" for b in budgets)
    print(head)
    for name in names:
        line = f"{name + (' (cold)' if name in cold else ''):<22}"
        for b in budgets:
            c = table[f"{name}@{b}"]
            line += f"{c['f1']:>8.3f}{c['frames_embedded']:>8.0f}{c['seconds']:>8.2f}"
        print(line)

    # Speed: index + one topk question vs each cold search, same video, same budget.
    speed: dict = {}
    print()
    print(f"{'search':<16}{'frames':>7} {'index+query s':>14} {'cold s':>8} {'speed-up':>9} {'worst video':>12}   (sums over videos)")
    for search in cold:
        for b in budgets:
            index_path = np.array([r["index"]["seconds"] + r["full"][f"topk@{b}"]["seconds"] for r in rows])
            searched = np.array([r["cold"][f"{search}@{b}"]["seconds"] for r in rows])
            s = speed[f"{search}@{b}"] = {"index_then_query_s": float(index_path.sum()), "cold_s": float(searched.sum()),
                                          "speedup": float(index_path.sum() / searched.sum()),
                                          "speedup_min": float(np.min(index_path / searched))}
            print(f"{search:<16}{b:>7} {s['index_then_query_s']:>14.1f} {s['cold_s']:>8.1f} {s['speedup']:>8.1f}x "
                  f"{s['speedup_min']:>11.1f}x")

    b0 = budgets[0]
    aware = [n for n in names if n != "uniform"]
    best = max(aware, key=lambda n: table[f"{n}@{b0}"]["f1"])
    checks = {
        f"best query-aware F1@{b0} >= 0.8 ({best})": table[f"{best}@{b0}"]["f1"] >= 0.8,
        f"uniform F1@{b0} <= 0.3": table[f"uniform@{b0}"]["f1"] <= 0.3,
        f"{DEFAULT_COLD} F1@{b0} >= 0.9 x full-index topk F1@{b0}":
            table[f"{DEFAULT_COLD}@{b0}"]["f1"] >= 0.9 * table[f"topk@{b0}"]["f1"],
        f"{DEFAULT_COLD} embeds <= 25% of a 1 fps index (every budget)": all(
            table[f"{DEFAULT_COLD}@{b}"]["frames_embedded"] <= 0.25 * index_frames for b in budgets),
        f"{DEFAULT_COLD} >= 3x faster than index + query (F1 budget {b0})": speed[f"{DEFAULT_COLD}@{b0}"]["speedup"] >= 3.0,
    }
    print()
    for text, ok in checks.items():
        print(f"  {'ok  ' if ok else 'MISS'} {text}")
    return {"speed": speed, "checks": checks, "index_frames_mean": index_frames, "index_seconds_mean": index_s,
            "best_at_first_budget": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 videos of 10 minutes")
    parser.add_argument("--videos", type=int, default=20, help="how many needle videos (default 20)")
    parser.add_argument("--min-minutes", type=float, default=10.0)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--threads", type=int, default=0, help="encoder threads (0: automatic)")
    parser.add_argument("--work", type=Path, default=REPO / "bench_out" / "haystack")
    parser.add_argument("--reuse-index", action="store_true",
                        help="reuse the full-index stores of an earlier run (faster; index times are then that run's)")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        plan = (4, 10, 10, QUICK_SEED)
    else:
        if args.videos < 1 or not 0 < args.min_minutes <= args.max_minutes:
            parser.error("need --videos >= 1 and 0 < --min-minutes <= --max-minutes")
        plan = (args.videos, args.min_minutes, args.max_minutes, FIRST_SEED)
    if any(b < 1 for b in args.frames):
        parser.error("--frames must be positive")
    args.strategies, args.cold = full_index_strategies(), cold_searches()
    if "uniform" not in args.strategies or "topk" not in args.strategies or DEFAULT_COLD not in args.cold:
        parser.error("the selection registry lacks uniform/topk or the cold searches lack " + DEFAULT_COLD)

    print(f"generating/reusing {plan[0]} videos in {args.work / 'videos'} ...", flush=True)
    videos = needle_videos(args.work / "videos", *plan)
    if args.generate_only:
        return 0
    if not args.reuse_index and (args.work / "stores").exists():
        shutil.rmtree(args.work / "stores")  # index and cold searches timed in the same run, under the same load

    from longvid.embed import load_encoder

    encoder = load_encoder("tiny", threads=args.threads)
    names = [*args.strategies, *args.cold]
    rows = []
    for path, truth in videos:
        started = time.perf_counter()
        row = run_video(path, truth, args, encoder)
        rows.append(row)
        b = args.frames[0]
        print(f"  {path.name:<32} {row['minutes']:5.1f} min  F1@{b}: "
              + "  ".join(f"{n} {cell(row, n, b)['f1']:.2f}" for n in names)
              + f"  index {row['index']['seconds']:.0f} s{' (reused)' if row['index']['reused'] else ''}, "
              + ", ".join(f"{n} {row['cold'][f'{n}@{b}']['seconds']:.0f} s" for n in args.cold)
              + f", {time.perf_counter() - started:.0f} s", flush=True)
    table = summarize(rows, names, args.frames)
    verdict = print_table(table, rows, names, args.cold, args.frames)
    verdict["tstar_mappings"] = mapping_sensitivity([stored_scores(p, t, args, encoder) for p, t in videos], args.frames)

    print(f"\n{machine_note()}")
    out = args.work / ("results_quick.json" if args.quick else "results.json")
    out.write_text(json.dumps({"table": table, **verdict, "threads": args.threads, "argv": sys.argv[1:],
                               "machine": machine_note(), "videos": rows}, indent=1))
    print(f"written: {out}")
    return 0 if all(verdict["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
