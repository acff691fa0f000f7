"""What checking the store's files costs: opening a store and answering a first query when every
file is trusted (its identity unchanged since it was written or last verified) against when
every file must be verified once (a store copied or upgraded from before verification: SHA-256
of each file and a NaN/inf scan of its vectors, then remembered in SQLite).

    python benchmarks/store_verify.py                      # 100k 512-d vectors, HNSW archive index
    python benchmarks/store_verify.py --vectors 20000      # smaller
    python benchmarks/store_verify.py --reuse --repeat 5   # time again, same store

One synthetic store (``Store.add_run``, runs of 1,000 vectors) gets an HNSW archive index from the
shipped recipe; ``--ef-construction`` lowers the build beam only to make the build quicker (the
file, whose bytes are what verification reads, has the same size). Timed, each in a fresh
``Store`` as a new process would be:

- archive search (``search_archive``: maps the HNSW file) - trusted / first after upgrade / again;
- exact search over every segment (``search_all``: reads all segments) - trusted / first / again;
- ``store check`` (always hashes everything, by design).

"first after upgrade" clears ``verified_stat`` in SQLite, as a store from before schema 3 has it.
Each case runs with the files in the page cache and with them evicted (``posix_fadvise``
DONTNEED), since verification reads whole files; each figure is the median of ``--repeat`` runs
("again": one run, right after "first"). Results go to bench_out/store_verify/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench_out" / "store_verify"
MODEL = "bench:verify@1"
RUN = 1_000


def fill(root: Path, vectors: int, dim: int, ef_construction: int) -> None:
    from longvid.store import Fingerprint, Store
    from longvid.store.recipes import check_recipes, load_recipes, recipe_from_dict

    rng = np.random.default_rng(0)
    with Store.open(root) as store:
        for number in range(vectors // RUN):
            x = rng.standard_normal((RUN, dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            store.add_run(fingerprint=Fingerprint(f"v1-{number:032x}", RUN * 4, 0), path=None, model_id=MODEL, vectors=x,
                          pts_s=np.arange(RUN, dtype=np.float64), frame_index=np.arange(RUN), source="uniform", settings={})
        shipped = {r.kind: r for r in load_recipes()}
        recipes = check_recipes([  # the shipped HNSW recipe from half this size on
            recipe_from_dict("flat", {"kind": "flat", "max_vectors": vectors // 2}),
            recipe_from_dict("hnsw", {"kind": "hnsw", "min_vectors": vectors // 2,
                                      "params": {**shipped["hnsw"].params, "ef_construction": ef_construction}}),
        ], "benchmark")
        started = time.perf_counter()
        update = store.update_archive_index(MODEL, recipes)
        print(f"  {vectors:,} vectors of dim {dim}: {update.recipe} index built in {time.perf_counter() - started:.1f} s", flush=True)


def evict(root: Path) -> None:
    for path in root.rglob("*.faiss"):
        with open(path, "rb") as handle:
            os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def forget_verification(root: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(root / "store.sqlite3")
    conn.execute("UPDATE segments SET verified_stat = NULL")
    conn.execute("UPDATE archive_indexes SET verified_stat = NULL")
    conn.commit()
    conn.close()


def timed(root: Path, action: str, dim: int) -> float:
    """Seconds for a fresh Store to open and do ``action`` once."""
    from longvid.store import Store

    query = np.ones((1, dim), np.float32) / np.sqrt(dim)
    started = time.perf_counter()
    with Store.open(root) as store:
        if action == "archive search":
            store.search_archive(MODEL, query, 10)
        elif action == "exact search":
            store.search_all(MODEL, query, 10)
        else:
            assert store.check().ok
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--ef-construction", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many timings per cell")
    parser.add_argument("--reuse", action="store_true", help="time the store a previous run left (no rebuild)")
    args = parser.parse_args()
    root = OUT / f"store-{args.vectors}"
    if not (args.reuse and (root / "store.sqlite3").is_file()):
        shutil.rmtree(root, ignore_errors=True)
        root.parent.mkdir(parents=True, exist_ok=True)
        fill(root, args.vectors, args.dim, args.ef_construction)
    sizes = {folder: sum(p.stat().st_size for p in (root / folder).rglob("*.faiss")) for folder in ("segments", "archive")}
    print(f"  segments {sizes['segments'] / 1e6:.0f} MB, archive index {sizes['archive'] / 1e6:.0f} MB", flush=True)
    results = {"vectors": args.vectors, "dim": args.dim, "bytes": sizes, "seconds": {}}
    print(f"{'action':<16} {'page cache':<10} {'trusted':>9} {'first after upgrade':>20} {'again':>9}")
    for action in ("archive search", "exact search", "store check"):
        for cache in ("warm", "evicted"):
            row = []
            for step in ("trusted", "first", "again"):
                times = []
                for _ in range(args.repeat if step != "again" else 1):
                    if cache == "warm":
                        timed(root, action, args.dim)  # brings the files into the page cache
                    else:
                        evict(root)
                    if step == "first":
                        forget_verification(root)
                    times.append(timed(root, action, args.dim))
                row.append(float(np.median(times)))
            results["seconds"][f"{action}, {cache}"] = dict(zip(("trusted", "first after upgrade", "again"), row))
            print(f"{action:<16} {cache:<10} {row[0]:>8.3f}s {row[1]:>19.3f}s {row[2]:>8.3f}s", flush=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
