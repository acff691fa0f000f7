"""Archive benchmark: the recipe index against brute force, and batch indexing with 1 and 2 workers.

    python benchmarks/archive.py                        # 10^4, 10^5, 10^6 vectors + 16 clips
    python benchmarks/archive.py --sizes 10000,100000   # smaller
    python benchmarks/archive.py --skip-index-throughput
    nohup python benchmarks/archive.py > bench_out/archive/run.log 2>&1 &

Part 1, search. One synthetic store grows to each size through the store's own API
(``Store.add_run`` with 10,000-frame runs, as a long video would be stored), so the archive
index is chosen and rebuilt by size exactly as after a batch: flat below 100k vectors, HNSW up
to 1M, IVF-PQ (+SQ8 re-ranking) beyond. Vectors are 512-d unit vectors clustered like frame
embeddings: 2,000 topics; videos are scenes of ~50 near-duplicate frames (cosine ~0.96 to
their scene, ~0.7 from scene to topic); queries lie near a topic but near no frame (like a
text query). Per size it prints the recipe, build time, index size, recall@10 of the recipe
index against exact search (target >= 0.95), and single-query latency p50/p95 (target p50
<= 10 ms at 10^6 on 2 cores) of: the index alone, ``Store.search_archive`` end to end (index +
exact tail + SQLite lookups), and the peer, brute force (``IndexFlatIP`` over all vectors).

Part 2, indexing throughput: N distinct generated clips (default 16 x 60 s, 640x360, 30 fps;
long enough that starting the workers and loading the model are a small part) indexed by
``index_archive`` with the shipped tiny CLIP (``--model`` for another), fresh store each time:
1 worker pinned to 1 core, 1 worker on 2 cores, 2 workers on 2 cores. 2 workers on 2 cores over
1 worker on 1 core is the parallel scaling (2.0 = linear); over 1 worker on 2 cores it is what
the workers buy on this machine (one worker already overlaps decoding with encoding). CPU time
of the batch / wall time ("cores busy") is printed beside each.

Everything is written under bench_out/archive (the 10^6 store holds ~2.3 GB). Results also go
to bench_out/archive/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]
OUT = REPO / "bench_out" / "archive"
DIM = 512
RUN = 10_000  # frames per stored run ("video")
MODEL = "bench:synthetic@1"


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def directions(rng, n: int) -> np.ndarray:
    return unit(rng.standard_normal((n, DIM), dtype=np.float32))


class Synthetic:
    """Deterministic clustered vectors like frame embeddings. All share a mean direction (image
    embeddings sit in a cone: topics have cosine ~0.5 with each other); 2,000 topics; a video is
    scenes of ~50 frames, a scene at cosine ~0.82 from its topic, its frames ~0.96 from the scene
    (near-duplicates, as frames of one shot sampled once a second are); queries near a topic."""

    def __init__(self, seed: int = 0, topics: int = 2000):
        self.rng = np.random.default_rng(seed)
        mean = directions(self.rng, 1)
        self.topics = unit(mean + directions(self.rng, topics))

    def video(self, n: int) -> np.ndarray:
        rng = self.rng
        scenes = max(1, n // 50)
        topic = self.topics[rng.integers(len(self.topics), size=scenes)]
        scene = unit(topic + 0.7 * directions(rng, scenes))
        owner = np.sort(rng.integers(scenes, size=n))
        return unit(scene[owner] + 0.3 * directions(rng, n))

    def queries(self, n: int, seed: int = 99) -> np.ndarray:
        rng = np.random.default_rng(seed)
        return unit(self.topics[rng.integers(len(self.topics), size=n)] + 1.2 * directions(rng, n))


def grow(store, data: Synthetic, target: int, have: int) -> int:
    from longvid.store import Fingerprint

    started = time.perf_counter()
    while have < target:
        n = min(RUN, target - have)
        number = have // RUN
        store.add_run(
            fingerprint=Fingerprint(f"v1-{number:032x}", RUN * 2048, 0), path=None, model_id=MODEL,
            vectors=data.video(n), pts_s=np.arange(n, dtype=np.float64), frame_index=np.arange(n),
            source="uniform", settings={"bench": True},
        )
        have += n
    print(f"  store filled to {have:,} vectors in {time.perf_counter() - started:.1f} s", flush=True)
    return have


def exact_index(store):
    """Brute force, the peer: one IndexFlatIP over every segment (what the flat recipe does)."""
    import faiss

    pk, _ = store._model_row(MODEL)
    index, ids = faiss.IndexFlatIP(DIM), []
    for seg in store._segments("model = ?", (pk,)):
        index.add(np.ascontiguousarray(seg.vectors))
        ids.append(seg.ids)
    return index, np.concatenate(ids)


def latencies_ms(fn, queries: np.ndarray) -> list[float]:
    fn(queries[:1])  # warm: mapping, caches
    out = []
    for q in queries:
        t = time.perf_counter()
        fn(q[None, :])
        out.append((time.perf_counter() - t) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_size(store, data: Synthetic, size: int, have: int, queries: np.ndarray, k: int = 10) -> tuple[dict, int]:
    print(f"\n== {size:,} vectors ==", flush=True)
    have = grow(store, data, size, have)
    started = time.perf_counter()
    update = store.update_archive_index(MODEL, notify=lambda line: print("  " + line, flush=True))
    build_s = time.perf_counter() - started
    record = store.archive_index(MODEL)
    flat, flat_ids = exact_index(store)
    truth = flat_ids[flat.search(queries, k)[1]]
    brute = latencies_ms(lambda q: flat.search(q, k), queries)
    found = store.search_archive(MODEL, queries, k)
    approx = np.array([[h.frame_id for h in row] + [-1] * (k - len(row)) for row in found.hits])
    recall = float(np.mean([len(set(a) & set(t)) / k for a, t in zip(approx, truth)]))
    end_to_end = latencies_ms(lambda q: store.search_archive(MODEL, q, k), queries)
    if record is not None:
        ann = store._load_archive_index(record)
        index_only = latencies_ms(lambda q: ann.search(q, k), queries)
    else:
        index_only = brute
    del flat
    row = {
        "vectors": have, "recipe": update.recipe, "action": update.action, "build_s": round(build_s, 2),
        "index_bytes": record.size_bytes if record else 0, "params": record.params if record else {},
        "recall_at_10": round(recall, 4), "queries": len(queries),
        "index_p50_ms": round(p(index_only, 50), 3), "index_p95_ms": round(p(index_only, 95), 3),
        "store_p50_ms": round(p(end_to_end, 50), 3), "store_p95_ms": round(p(end_to_end, 95), 3),
        "brute_p50_ms": round(p(brute, 50), 3), "brute_p95_ms": round(p(brute, 95), 3),
    }
    row["speedup_vs_brute_p50"] = round(row["brute_p50_ms"] / max(row["store_p50_ms"], 1e-9), 1)
    print(f"  recipe {row['recipe']} ({row['action']} in {build_s:.1f} s, {row['index_bytes'] / 1e6:.0f} MB)  "
          f"recall@10 {recall:.3f}  p50 index {row['index_p50_ms']:.2f} ms / store {row['store_p50_ms']:.2f} ms "
          f"/ brute force {row['brute_p50_ms']:.2f} ms (x{row['speedup_vs_brute_p50']})", flush=True)
    return row, have


def bench_search(sizes: list[int], n_queries: int, fresh: bool) -> list[dict]:
    from longvid.store import Store

    folder = OUT / "store"
    if fresh and folder.exists():
        shutil.rmtree(folder)
    data = Synthetic()
    queries = data.queries(n_queries)
    rows = []
    with Store.open(folder) as store:
        have = int(store._query("SELECT COALESCE(SUM(count), 0) FROM segments")[0][0])
        if have:
            print(f"reusing {folder} ({have:,} vectors); pass --fresh to start again", flush=True)
            data = Synthetic()
            for _ in range(have // RUN):
                data.video(RUN)  # advance the generator past what is stored
        for size in sizes:
            if size < have:
                print(f"skipping {size:,}: the store holds {have:,} already", flush=True)
                continue
            row, have = bench_size(store, data, size, have, queries)
            rows.append(row)
    return rows


def make_clips(folder: Path, n: int, seconds: float) -> list[Path]:
    """Distinct known-answer videos from longvid's generator (640x360, 30 fps), made once."""
    from longvid.synth import generate_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"clip{i:02d}-{int(seconds)}s.mp4"
        if not path.exists():
            generate_video(path, 500 + i, duration_s=seconds, width=640, height=360, fps=30, write_truth=False)
        paths.append(path)
    return paths


def bench_throughput(n_clips: int, seconds: float, model: str) -> list[dict]:
    from longvid.archive import index_archive
    from longvid.config import PipelineConfig
    from longvid.indexing import with_overrides

    clips = OUT / "clips"
    paths = make_clips(clips, n_clips, seconds)
    rows = []
    all_cores = sorted(os.sched_getaffinity(0))
    # (workers, threads per worker, cores the batch may use). One worker is a pipeline (decoding
    # overlaps encoding) and keeps more than one core busy by itself, so "1 worker on 2 cores"
    # says little about parallel scaling; 1 worker pinned to 1 core vs 2 workers on 2 cores does.
    plans = [(1, 1, all_cores[:1]), (1, 2, all_cores), (2, 1, all_cores)]
    try:
        for workers, threads, cores in plans:
            store = OUT / f"throughput-store-w{workers}-t{threads}-c{len(cores)}"
            shutil.rmtree(store, ignore_errors=True)
            config = with_overrides(PipelineConfig(), model=model, store=str(store), fps=1.0, threads=threads)
            os.sched_setaffinity(0, cores)  # worker processes inherit it
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            summary = index_archive(paths, config, workers=workers)
            seconds = time.perf_counter() - started
            busy = (_cpu_seconds() - cpu_before) / seconds
            counts = summary.counts()
            frames = sum(i.frames for i in summary.items)
            if counts["indexed"] != n_clips:
                raise SystemExit(f"expected {n_clips} clips indexed, got {counts}")
            row = {"workers": workers, "threads": threads, "cores": len(cores), "clips": counts["indexed"], "frames": frames,
                   "seconds": round(seconds, 2), "cores_busy": round(busy, 2),
                   "clips_per_s": round(counts["indexed"] / seconds, 3), "frames_per_s": round(frames / seconds, 2)}
            print(f"  {workers} worker(s) x {threads} thread(s) on {len(cores)} core(s): {counts['indexed']} clips, {frames} frames "
                  f"in {seconds:.1f} s ({row['clips_per_s']:.2f} clips/s, {row['frames_per_s']:.1f} frames/s, "
                  f"{busy:.2f} cores busy)", flush=True)
            rows.append(row)
    finally:
        os.sched_setaffinity(0, all_cores)
    one_core, one_worker, two = (r["seconds"] for r in rows)
    print(f"  scaling: 2 workers on 2 cores x{one_core / two:.2f} over 1 worker on 1 core (2.0 = linear); "
          f"x{one_worker / two:.2f} over 1 worker on 2 cores (which overlaps decoding and encoding already)", flush=True)
    return rows


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="archive sizes in vectors, ascending")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--fresh", action="store_true", help="delete the benchmark store first")
    parser.add_argument("--clips", type=int, default=16, help="clips for the throughput part")
    parser.add_argument("--clip-seconds", type=float, default=60.0, help="length of each clip")
    parser.add_argument("--model", default="tiny", help="encoder for the throughput part")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-index-throughput", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"cores: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.1f} (other work on the machine skews timings)")
    results: dict = {"cores": len(os.sched_getaffinity(0)), "load_average_at_start": os.getloadavg()[0]}
    earlier = OUT / "results.json"
    if (args.skip_search or args.skip_index_throughput) and earlier.exists():  # keep the part not rerun
        old = json.loads(earlier.read_text())
        results.update({k: old[k] for k in ("search", "throughput") if k in old})
    if not args.skip_search:
        sizes = sorted(int(float(s)) for s in args.sizes.split(","))
        results["search"] = bench_search(sizes, args.queries, args.fresh)
    if not args.skip_index_throughput:
        print(f"\n== indexing throughput: {args.clips} clips ({args.clip_seconds:g} s, 640x360, 30 fps; 1 frame/s embedded) ==", flush=True)
        results["throughput"] = bench_throughput(args.clips, args.clip_seconds, args.model)
    if results.get("search"):
        print("\nsize       recipe  recall@10  index p50  store p50  brute p50   build")
        for r in results["search"]:
            print(f"{r['vectors']:>9,}  {r['recipe']:<6}  {r['recall_at_10']:>9.3f}  {r['index_p50_ms']:>7.2f}ms  "
                  f"{r['store_p50_ms']:>7.2f}ms  {r['brute_p50_ms']:>7.2f}ms  {r['build_s']:>6.1f}s")
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
