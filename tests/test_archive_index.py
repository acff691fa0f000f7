"""Archive indexes on real SQLite + FAISS files (clustered random unit vectors, small recipe
ranges so every recipe kind is built in milliseconds): recipe choice by size, recall against
exact search, completeness for vectors added after the build, extension and rebuild, the file
mapped on load, integrity check, repair and gc."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError, NotIndexedError
from longvid.store import Fingerprint, Store
from longvid.store.recipes import check_recipes, choose_recipe, load_recipes, recipe_from_dict

D = 32
RNG = np.random.default_rng(5)
CENTERS = RNG.normal(size=(40, D))


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n, rng, spread=0.35):
    return unit(CENTERS[rng.integers(len(CENTERS), size=n)] + spread * rng.normal(size=(n, D)))


def add_video(store, number, vectors, model="m:test@1"):
    fp = Fingerprint(f"v1-{number:032x}", 1000 + number, 0)
    n = len(vectors)
    return store.add_run(fingerprint=fp, path=None, model_id=model, vectors=vectors, pts_s=np.arange(n, dtype=float),
                         frame_index=np.arange(n), source="uniform", settings={"fps": 1.0})


def small_recipes(kind, params, low=1_000, high=None):
    """flat below ``low`` vectors, ``kind`` from there (up to ``high``, then ivfpq)."""
    recipes = [recipe_from_dict("flat", {"kind": "flat", "max_vectors": low}),
               recipe_from_dict(kind, {"kind": kind, "min_vectors": low, **({"max_vectors": high} if high else {}), "params": params})]
    if high:
        recipes.append(recipe_from_dict("ivfpq", {"kind": "ivfpq", "min_vectors": high, "params": IVF}))
    return check_recipes(recipes, "test")


HNSW = {"M": 16, "ef_construction": 40, "ef_search": 48, "max_tail_vectors": 500}
IVF = {"nlist": 16, "pq_m": 16, "nprobe": 8, "k_factor": 8, "max_tail_vectors": 500, "train_per_list": 60}


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "store") as s:
        yield s


def fill(store, videos=12, per_video=250, seed=1, first=0):
    rng = np.random.default_rng(seed)
    for i in range(videos):
        add_video(store, first + i, clustered(per_video, rng))


def recall(store, queries, k=10):
    approx = store.search_archive("m:test@1", queries, k)
    exact = store.search_all("m:test@1", queries, k)
    return approx, float(np.mean([len({h.frame_id for h in a} & {h.frame_id for h in e}) / k for a, e in zip(approx.hits, exact)]))


def test_shipped_recipes_tile_every_size():
    recipes = load_recipes()
    assert [(r.name, r.kind) for r in recipes] == [("flat", "flat"), ("hnsw", "hnsw"), ("ivfpq", "ivfpq")]
    assert [choose_recipe(n, recipes).name for n in (0, 99_999, 100_000, 999_999, 1_000_000, 10**9)] == [
        "flat", "flat", "hnsw", "hnsw", "ivfpq", "ivfpq"]
    ivf = recipes[2].build_params(1_000_000, 512)
    assert ivf["nlist"] == 2048 and 512 % ivf["pq_m"] == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"kind": "annoy"}, "kind = 'annoy' is invalid"),
        ({"kind": "hnsw", "min_vectors": 10, "max_vectors": 5}, "is not a size range"),
        ({"kind": "hnsw", "nlist": 4}, "unknown key 'nlist'"),
    ],
)
def test_bad_recipes_are_refused_with_the_file_named(tmp_path, bad, message):
    with pytest.raises(InvalidArgumentError, match=message):
        recipe_from_dict("x", bad, source=str(tmp_path / "x.toml"))


def test_recipe_ranges_must_not_leave_gaps(tmp_path):
    (tmp_path / "a.toml").write_text('kind = "flat"\nmax_vectors = 100\n')
    (tmp_path / "b.toml").write_text('kind = "hnsw"\nmin_vectors = 200\n')
    with pytest.raises(InvalidArgumentError, match=r"b.toml: min_vectors = 200 leaves a gap or overlap; the previous recipe ends at 100"):
        load_recipes(tmp_path)


@pytest.mark.parametrize("kind, params", [("hnsw", HNSW), ("ivfpq", IVF)])
def test_recipe_index_is_built_persisted_mapped_and_accurate(store, kind, params):
    fill(store)
    recipes = small_recipes(kind, params)
    update = store.update_archive_index("m:test@1", recipes)
    assert (update.action, update.recipe, update.vectors) == ("built", kind, 3000)
    record = store.archive_index("m:test@1")
    path = store.root / record.file
    assert path.is_file() and path.stat().st_size == record.size_bytes and record.max_segment_id == 12
    queries = unit(CENTERS[:20] + 0.6 * RNG.normal(size=(20, D)))
    found, r = recall(store, queries)
    assert found.recipe == kind and found.indexed == 3000 and found.exact == 0
    assert r >= 0.9
    if os.path.exists("/proc/self/maps"):
        maps = open("/proc/self/maps").read()
        assert str(path) in maps  # read through a memory map, not copied into memory
    # a second batch with nothing new leaves it alone
    assert store.update_archive_index("m:test@1", recipes).action == "none"
    assert store.check().ok and store.check().archive_indexes == 1


def test_vectors_added_after_the_build_are_found_exactly_then_folded_in(store):
    fill(store)
    recipes = small_recipes("hnsw", HNSW)
    store.update_archive_index("m:test@1", recipes)
    target = unit(RNG.normal(size=(1, D)))
    late = unit(np.repeat(target, 5, axis=0) + 0.01 * RNG.normal(size=(5, D)))
    result = add_video(store, 99, late)
    found = store.search_archive("m:test@1", target, 5)
    assert found.recipe == "hnsw" and found.exact == 5
    assert {h.video_id for h in found.hits[0]} == {result.video_id}  # complete: the newest video is found
    # past max_tail_vectors the index is extended with a copy (the old file is replaced)
    old = store.archive_index("m:test@1")
    for i in range(3):
        add_video(store, 100 + i, clustered(200, RNG))
    update = store.update_archive_index("m:test@1", recipes)
    new = store.archive_index("m:test@1")
    assert update.action == "extended" and new.count == 3000 + 5 + 600 and not (store.root / old.file).exists()
    found = store.search_archive("m:test@1", target, 5)
    assert found.exact == 0 and {h.video_id for h in found.hits[0]} == {result.video_id}


def test_outgrowing_a_recipe_builds_the_next_one(store):
    recipes = small_recipes("hnsw", HNSW, low=1_000, high=3_500)
    fill(store, videos=3)
    assert store.update_archive_index("m:test@1", recipes).action == "none"  # 750 vectors: exact, no file
    assert store.archive_index("m:test@1") is None
    assert store.search_archive("m:test@1", unit(CENTERS[:1]), 3).recipe == "exact"
    fill(store, videos=8, seed=2, first=10)  # 2,750 vectors
    assert store.update_archive_index("m:test@1", recipes).recipe == "hnsw"
    for i in range(4):
        add_video(store, 200 + i, clustered(250, RNG))
    update = store.update_archive_index("m:test@1", recipes)
    assert (update.action, update.recipe) == ("built", "ivfpq")
    assert store.search_archive("m:test@1", unit(CENTERS[:1]), 3).recipe == "ivfpq"
    assert len(list((store.root / "archive").rglob("*.faiss"))) == 1  # the HNSW file is gone


def test_restricting_to_some_videos(store, monkeypatch):
    fill(store, videos=6)
    store.update_archive_index("m:test@1", small_recipes("hnsw", HNSW))
    query = unit(CENTERS[:3])
    exact = store.search_all("m:test@1", query, 1500)
    best = [[h.frame_id for h in row if h.video_id in (2, 5)][:7] for row in exact]
    found = store.search_archive("m:test@1", query, 7, video_ids=[2, 5])  # few vectors: exact over those videos
    assert found.recipe == "exact" and found.restricted_to == 2
    assert [[h.frame_id for h in row] for row in found.hits] == best
    import longvid.store.archive_index as archive_index

    monkeypatch.setattr(archive_index, "EXACT_RESTRICTED_MAX", 0)  # as for a big folder: the index, filtered
    found = store.search_archive("m:test@1", query, 7, video_ids=[2, 5])
    assert found.recipe == "hnsw" and all(len(row) == 7 and {h.video_id for h in row} <= {2, 5} for row in found.hits)
    overlap = np.mean([len({h.frame_id for h in row} & set(b)) / 7 for row, b in zip(found.hits, best)])
    assert overlap >= 0.9


def test_damaged_index_is_reported_repaired_and_rebuilt(store):
    fill(store)
    recipes = small_recipes("hnsw", HNSW)
    store.update_archive_index("m:test@1", recipes)
    record = store.archive_index("m:test@1")
    data = bytearray((store.root / record.file).read_bytes())
    data[-100:] = b"\0" * 100
    (store.root / record.file).write_bytes(bytes(data))
    report = store.check()
    assert not report.ok and any("does not match its checksum" in p for p in report.problems)
    store.repair()
    assert store.archive_index("m:test@1") is None and store.check().ok
    assert store.search_archive("m:test@1", unit(CENTERS[:1]), 3).recipe == "exact"  # complete meanwhile
    assert store.update_archive_index("m:test@1", recipes).action == "built"


def test_repair_that_drops_a_run_drops_the_index_that_holds_it(store):
    fill(store)
    store.update_archive_index("m:test@1", small_recipes("hnsw", HNSW))
    segment = store._query("SELECT file FROM segments WHERE video_id = 3")[0][0]
    (store.root / segment).unlink()
    _, dropped = store.repair()
    assert len(dropped) == 1 and store.archive_index("m:test@1") is None
    hits = store.search_archive("m:test@1", unit(CENTERS[:2]), 20).hits
    assert all(h.video_id != 3 for row in hits for h in row)


def test_gc_spares_a_build_in_progress_and_removes_old_leftovers(store):
    fill(store, videos=2)
    folder = store.root / "archive" / "m1"
    folder.mkdir(parents=True)
    fresh, stale = folder / ".tmp-fresh.faiss", folder / "stale.faiss"
    fresh.write_bytes(b"being written")
    stale.write_bytes(b"left by a killed build")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    assert set(store.check().orphan_files) == {"archive/m1/.tmp-fresh.faiss", "archive/m1/stale.faiss"}
    assert store.gc() == ["archive/m1/stale.faiss"] and fresh.exists()


def test_unknown_model_and_bad_k(store):
    fill(store, videos=1)
    with pytest.raises(NotIndexedError, match="no video is indexed with model 'other'"):
        store.search_archive("other", unit(CENTERS[:1]), 3)
    with pytest.raises(InvalidArgumentError, match="k = 0 is invalid"):
        store.search_archive("m:test@1", unit(CENTERS[:1]), 0)
