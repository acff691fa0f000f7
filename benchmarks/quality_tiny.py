"""Quality of the shipped tiny CLIP on freshly generated known-answer videos, next to random weights.

    python benchmarks/quality_tiny.py                       # 20 needle videos of 5-30 minutes
    python benchmarks/quality_tiny.py --videos 3 --max-minutes 6   # a quick look

For each of N needle videos (seeds 500000 + i, below the training seed range, so never seen in
training; durations spread over 5-30 minutes; one needle event of 2-5 s whose colour + shape
appears nowhere else, among about 4 distractors a minute, half of which share the needle's
colour or its shape), and for two encoders of the same architecture — the shipped ``tiny`` model
and the same config with random weights — it measures:

1. needle search: ``longvid.indexing.search_video`` (what ``longvid search`` runs: index at 1 fps,
   then moments from stored embeddings) with the query "a red star" (the needle's colour and
   shape) and with the generated question ("when does the red star jump?"); a hit is a top-1
   moment that overlaps the needle's gold span.
2. zero-shot classification: frames decoded from these videos at times when exactly one object
   is on screen (up to 12 per video, needle included), classified among the 30 prompts
   "a {colour} {shape}".

Targets (issue 4): needle hit rate >= 90% and zero-shot accuracy >= 95% for the shipped model;
random weights stay near chance (zero-shot 1/30; a top-1 hit by luck about the needle's share of
the timeline), which shows the measurement can fail. Videos are cached in --work and reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from longvid.synth import GroundTruth  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from _media import needle_videos, tiny_search_config  # noqa: E402
from longvid.synth.vocab import ALL_COMBOS, classification_prompts  # noqa: E402

FIRST_SEED = 500_000


def random_weights_folder(folder: Path) -> Path:
    """The shipped config with seeded random weights, saved the same way (open_clip hub layout)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from longvid.embed import TINY_MODEL_DIR

    folder.mkdir(parents=True, exist_ok=True)
    config = json.loads((TINY_MODEL_DIR / "open_clip_config.json").read_text())
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**config["model_cfg"])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    return folder


def single_object_times(truth: GroundTruth, per_video: int) -> list[tuple[float, int]]:
    """(time, class index) of middle frames of events where that object is alone on screen."""
    classes = {(c.colour, c.shape): i for i, c in enumerate(ALL_COMBOS)}
    picks = []
    for event in sorted(truth.events, key=lambda e: (e.role != "needle", e.start_frame)):
        for vis in event.visible[len(event.visible) // 2 :]:
            if len(truth.visible_at(vis.frame)) == 1:
                picks.append((vis.t_s, classes[(event.colour, event.shape)]))
                break
        if len(picks) == per_video:
            break
    return picks


def zero_shot(encoder, videos, size: int, per_video: int) -> tuple[int, int]:
    from longvid.decode import open_video

    text = encoder.encode_text(classification_prompts())
    right = total = 0
    for path, truth in videos:
        picks = single_object_times(truth, per_video)
        with open_video(path) as reader:
            frames = reader.frames_at([t for t, _ in picks], size=size)
        predicted = (encoder.encode_images([f.image for f in frames]) @ text.T).argmax(axis=1)
        right += int((predicted == np.array([label for _, label in picks])).sum())
        total += len(picks)
    return right, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--min-minutes", type=float, default=5.0)
    parser.add_argument("--max-minutes", type=float, default=30.0)
    parser.add_argument("--per-video", type=int, default=12, help="single-object frames per video for zero-shot")
    parser.add_argument("--work", type=Path, default=REPO / "bench_out" / "quality_tiny", help="videos are cached here")
    args = parser.parse_args(argv)
    if args.videos < 1 or not 0 < args.min_minutes <= args.max_minutes:
        parser.error("need --videos >= 1 and 0 < --min-minutes <= --max-minutes")

    from longvid.embed import load_encoder
    from longvid.indexing import decode_size, search_video

    print(f"generating/reusing {args.videos} needle videos in {args.work} ...", flush=True)
    videos = needle_videos(args.work / "videos", args.videos, args.min_minutes, args.max_minutes, FIRST_SEED)
    random_dir = random_weights_folder(args.work / "random-weights")
    results = {}
    with tempfile.TemporaryDirectory() as store_dir:
        for label, model in (("tiny", "tiny"), ("random weights", str(random_dir))):
            config = tiny_search_config({"embed": {"model": model}, "store": {"path": store_dir}})
            encoder = load_encoder(model)
            started = time.perf_counter()
            hits = {"phrase": 0, "question": 0}
            rows = []
            for path, truth in videos:
                needle = truth.needles[0]
                question = next(q.question for q in truth.qa if q.needle and q.question.startswith("when"))
                row = {"video": path.name, "minutes": truth.video["duration_s"] / 60, "needle": needle,
                       "question": question}
                for kind, query in (("phrase", f"a {needle.colour} {needle.shape}"), ("question", question)):
                    found = search_video(path, query, k=1, config=config, encoder=encoder)
                    top = found.moments[0]
                    hit = top.overlaps(needle.start_s, needle.end_s)
                    hits[kind] += hit
                    row[kind] = (top, hit)
                rows.append(row)
                print(f"  {label:>14} {path.name:<30} gold {needle.start_s:7.1f}-{needle.end_s:7.1f} s  "
                      f"'{needle.colour} {needle.shape}': top-1 {row['phrase'][0].start_s:7.1f}-{row['phrase'][0].end_s:7.1f} "
                      f"{'hit ' if row['phrase'][1] else 'MISS'}  question: {'hit' if row['question'][1] else 'MISS'}",
                      flush=True)
            right, total = zero_shot(encoder, videos, decode_size(config, encoder), args.per_video)
            results[label] = {"hits": hits, "zero_shot": (right, total), "seconds": time.perf_counter() - started}

    n = len(videos)
    tiny, rand = results["tiny"], results["random weights"]
    chance = 1 / len(ALL_COMBOS)
    print()
    print(f"{n} needle videos, {args.min_minutes:g}-{args.max_minutes:g} min, seeds {FIRST_SEED}-{FIRST_SEED + n - 1}")
    print(f"{'':52} {'tiny':>10} {'random weights':>16}   target")
    for kind, text in (("phrase", "needle search, query 'a red star'"), ("question", "needle search, query = question")):
        print(f"{text + ': top-1 overlaps gold':52} {tiny['hits'][kind] / n:>10.0%} {rand['hits'][kind] / n:>16.0%}   "
              + (">= 90%" if kind == "phrase" else ""))
    zs_t, zs_r = tiny["zero_shot"], rand["zero_shot"]
    print(f"{'zero-shot colour+shape (' + str(zs_t[1]) + ' held-out frames)':52} {zs_t[0] / zs_t[1]:>10.1%} "
          f"{zs_r[0] / zs_r[1]:>16.1%}   >= 95% (chance {chance:.1%})")
    print(f"{'seconds (index + search + zero-shot)':52} {tiny['seconds']:>10.0f} {rand['seconds']:>16.0f}")
    ok = tiny["hits"]["phrase"] / n >= 0.9 and zs_t[0] / zs_t[1] >= 0.95
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
