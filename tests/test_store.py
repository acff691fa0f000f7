"""The embedding store on real SQLite files and real FAISS segments (vectors from a seeded RNG;
the encoders and the index pipeline have their own tests)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from longvid.errors import (
    InvalidArgumentError,
    ModelMismatchError,
    NotIndexedError,
    StoreCorruptError,
    StoreError,
    VideoNotFoundError,
)
from longvid.store import Store, fingerprint_file
from longvid.store.fingerprint import FULL_HASH_LIMIT
from longvid.store.schema import SCHEMA_VERSION
from longvid.types import Scene

RNG = np.random.default_rng(11)


def unit(n, d=16, rng=RNG):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_file(path, size=4096, seed=0):
    path.write_bytes(np.random.default_rng(seed).bytes(size))
    return path


def add(store, path, model="m:a@1", n=10, d=16, settings=None, kind="index", start_index=0, scenes=None, vectors=None):
    vectors = unit(n, d) if vectors is None else vectors
    return store.add_run(
        fingerprint=fingerprint_file(path),
        path=path,
        model_id=model,
        vectors=vectors,
        pts_s=np.arange(start_index, start_index + n, dtype=float),
        frame_index=np.arange(start_index, start_index + n) * 30,
        source="uniform" if kind == "index" else "refined",
        settings=settings or {"fps": 1.0},
        kind=kind,
        scenes=scenes,
    ), vectors


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "store") as s:
        yield s


def test_faiss_scores_equal_numpy_brute_force(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    add(store, video, n=40)
    add(store, video, n=7, kind="refine", settings={"refine": 1}, start_index=100)
    rec, _ = store.video_for_path(video)
    frames, vectors = store.vectors(rec.id, "m:a@1")
    assert len(frames) == 47 and (np.diff(frames.pts_s) > 0).all()
    query = unit(3)
    frames2, scores = store.scores(rec.id, "m:a@1", query)
    np.testing.assert_array_equal(frames2.ids, frames.ids)
    np.testing.assert_allclose(scores, query @ vectors.T, atol=1e-6)


def test_archive_search_equals_numpy_top_k(store, tmp_path):
    all_vectors, all_ids = [], []
    for i in range(4):
        video = make_file(tmp_path / f"v{i}.mp4", seed=i)
        add(store, video, n=25 + i)
        rec, _ = store.video_for_path(video)
        frames, vectors = store.vectors(rec.id, "m:a@1")
        all_vectors.append(vectors)
        all_ids.append(frames.ids)
    vectors, ids = np.concatenate(all_vectors), np.concatenate(all_ids)
    query = unit(2)
    hits = store.search_all("m:a@1", query, k=7)
    for q, row in enumerate(hits):
        brute = query[q] @ vectors.T
        best = np.argsort(-brute)[:7]
        assert [h.frame_id for h in row] == ids[best].tolist()
        np.testing.assert_allclose([h.score for h in row], brute[best], atol=1e-6)
    # a video added later is searched too (the cached archive index follows the runs)
    late = make_file(tmp_path / "late.mp4", seed=99)
    _, late_vectors = add(store, late, n=5, vectors=np.repeat(query[:1], 5, axis=0))
    top = store.search_all("m:a@1", query[:1], k=5)[0]
    assert {h.video_id for h in top} == {store.video_for_path(late)[0].id}
    assert sorted(h.pts_s for h in top) == [0.0, 1.0, 2.0, 3.0, 4.0] and top[0].score == pytest.approx(1.0)


def test_same_run_twice_is_a_noop(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    first, _ = add(store, video)
    files = sorted(p.name for p in (store.root / "segments").rglob("*.faiss"))
    again, _ = add(store, video)
    assert again.noop and again.run_id == first.run_id and again.frames_added == 0
    assert sorted(p.name for p in (store.root / "segments").rglob("*.faiss")) == files
    other, _ = add(store, video, settings={"fps": 2.0}, n=20)  # other settings: a new run
    assert not other.noop and other.frames_added == 10 and other.frames_skipped == 10


def test_refinement_adds_frames_without_rewriting(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    scenes = [Scene(0, 0.0, 4.5, 0, 135), Scene(1, 4.5, 10.0, 135, 300)]
    add(store, video, scenes=scenes)
    (first,) = list((store.root / "segments").rglob("*.faiss"))
    before = (first.stat().st_mtime_ns, first.read_bytes())
    result = store.add_run(
        fingerprint=fingerprint_file(video), path=video, model_id="m:a@1", vectors=unit(3),
        pts_s=[4.2, 4.6, 5.0], frame_index=[126, 138, 150], source="refined", settings={"around": 4.5}, kind="refine",
    )
    assert (result.frames_added, result.frames_skipped) == (2, 1)  # frame 150 (5.0 s) was stored already
    assert (first.stat().st_mtime_ns, first.read_bytes()) == before
    rec, _ = store.video_for_path(video)
    frames = store.frames(rec.id, "m:a@1")
    refined = frames.source == "refined"
    assert frames.pts_s[refined].tolist() == [4.2, 4.6]
    assert frames.scene_index[refined].tolist() == [0, 1]  # scenes come from the index run
    assert store.check().ok


def test_renamed_copy_is_found_changed_bytes_are_not(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    add(store, video)
    rec, _ = store.video_for_path(video)
    moved = tmp_path / "elsewhere" / "renamed.mkv"
    moved.parent.mkdir()
    shutil.copy(video, moved)
    found, fp = store.video_for_path(moved)
    assert found.id == rec.id and fp.digest == rec.fingerprint
    changed = tmp_path / "changed.mp4"
    data = bytearray(video.read_bytes())
    data[2000] ^= 1
    changed.write_bytes(bytes(data))
    assert store.video_for_path(changed)[0] is None


def test_unchanged_path_is_found_without_reading_and_edits_are_noticed(store, tmp_path, monkeypatch):
    import longvid.store.store as store_module

    video = make_file(tmp_path / "a.mp4")
    add(store, video)
    rec, _ = store.video_for_path(video)
    real = store_module.fingerprint_file
    reads = []
    monkeypatch.setattr(store_module, "fingerprint_file", lambda p: reads.append(p) or real(p))
    assert store.video_for_path(video)[0].id == rec.id and reads == []  # same stat: no read
    st = video.stat()
    data = bytearray(video.read_bytes())
    data[100] ^= 1
    video.write_bytes(bytes(data))
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime: ctime still moves
    assert store.video_for_path(video)[0] is None and reads == [video]
    copy = tmp_path / "copy.mp4"
    shutil.copy(tmp_path / "a.mp4", copy)
    data[100] ^= 1
    copy.write_bytes(bytes(data))  # the original bytes under a new name
    assert store.video_for_path(copy)[0].id == rec.id  # found by content, and remembered:
    assert store.video_for_path(copy)[0].id == rec.id and reads == [video, copy]


def test_big_files_fingerprint_by_samples(tmp_path):
    big = make_file(tmp_path / "big.bin", size=FULL_HASH_LIMIT + 5_000_000)
    fp = fingerprint_file(big)
    with open(big, "r+b") as f:  # a change at the start is seen
        f.write(b"x")
    assert fingerprint_file(big).digest != fp.digest
    with open(big, "ab") as f:  # so is a change of length
        f.write(b"y")
    assert fingerprint_file(big).size_bytes == fp.size_bytes + 1


def test_unreadable_file_is_found_by_its_remembered_path(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    add(store, video)
    rec, _ = store.video_for_path(video)
    video.unlink()
    found, fp = store.video_for_path(video)
    assert found.id == rec.id and fp is None
    with pytest.raises(VideoNotFoundError, match="never-seen.mp4"):
        store.video_for_path(tmp_path / "never-seen.mp4")


def test_models_never_mix(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    add(store, video, model="m:a@1", d=16)
    rec, _ = store.video_for_path(video)
    with pytest.raises(ModelMismatchError, match="stored with 16-dimensional vectors, got 24"):
        add(store, video, model="m:a@1", d=24, settings={"fps": 3.0})
    with pytest.raises(ModelMismatchError, match="dimension 24 but model 'm:a@1' stores 16"):
        store.scores(rec.id, "m:a@1", unit(1, 24))
    with pytest.raises(NotIndexedError, match=r"no embeddings for model 'm:b@2' \(it is indexed with m:a@1\)"):
        store.scores(rec.id, "m:b@2", unit(1, 16))
    add(store, video, model="m:b@2", d=24)  # another model: its own vectors, its own segments
    assert store.indexed_models(rec.id) == ["m:a@1", "m:b@2"]
    assert store.vectors(rec.id, "m:b@2")[1].shape == (10, 24)
    assert store.vectors(rec.id, "m:a@1")[1].shape == (10, 16)
    assert {p.parent.name for p in (store.root / "segments").rglob("*.faiss")} == {"m1", "m2"}


def test_bad_run_input_is_refused_before_writing(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    bad = unit(10)
    bad[3, 2] = np.nan
    with pytest.raises(InvalidArgumentError, match="NaN"):
        add(store, video, vectors=bad)
    with pytest.raises(InvalidArgumentError, match="10 vectors, 9 timestamps"):
        store.add_run(fingerprint=fingerprint_file(video), path=video, model_id="m", vectors=unit(10),
                      pts_s=np.arange(9.0), frame_index=np.arange(10), source="uniform", settings={})
    assert store.info()["videos"] == 0


def test_failure_inside_the_transaction_leaves_no_trace(store, tmp_path, monkeypatch):
    import longvid.store.writing as writing

    video = make_file(tmp_path / "a.mp4")
    add(store, video)
    info = store.info()

    def disk_full(root, name, ids, vectors):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing, "write_segment", disk_full)
    other = make_file(tmp_path / "b.mp4", seed=1)
    with pytest.raises(OSError, match="No space"):
        add(store, other)
    assert store.info() == info  # same counts, same bytes on disk: the partial file is gone
    assert store.video_for_path(other)[0] is None
    assert store.check().ok


def test_integrity_check_finds_damage_and_repair_keeps_the_rest(store, tmp_path):
    videos = [make_file(tmp_path / f"{i}.mp4", seed=i) for i in range(3)]
    for v in videos:
        add(store, v)
    report = store.check()
    assert report.ok and (report.videos, report.runs, report.frames, report.vectors, report.segments) == (3, 3, 30, 30, 3)
    segs = dict(store.conn.execute("SELECT video_id, file FROM segments").fetchall())
    flipped = store.root / segs[1]
    data = bytearray(flipped.read_bytes())
    data[-5] ^= 0xFF  # a bit flip inside the vectors: FAISS would read it without noticing
    flipped.write_bytes(bytes(data))
    (store.root / segs[2]).unlink()
    orphan = store.root / "segments" / "m1" / "deadbeef.faiss"
    orphan.write_bytes(b"left by a killed run")
    report = store.check()
    assert not report.ok and sorted(report.damaged_runs) == [1, 2]
    assert any("checksum" in p for p in report.problems) and any("missing" in p for p in report.problems)
    assert report.orphan_files == ["segments/m1/deadbeef.faiss"]
    _, dropped = store.repair()
    assert dropped == [1, 2]
    after = store.check()
    assert after.ok and after.orphan_files == [] and (after.runs, after.vectors) == (1, 10)
    rec, _ = store.video_for_path(videos[2])
    assert store.vectors(rec.id, "m:a@1")[1].shape == (10, 16)  # the undamaged video is intact


def test_missing_segment_gives_a_clear_error_on_search(store, tmp_path):
    video = make_file(tmp_path / "a.mp4")
    add(store, video)
    rec, _ = store.video_for_path(video)
    (seg,) = list((store.root / "segments").rglob("*.faiss"))
    seg.unlink()
    with pytest.raises(StoreCorruptError, match=rf"{seg.name} is missing.*longvid store check --repair"):
        store.scores(rec.id, "m:a@1", unit(1))


def test_corrupted_database_file_is_named_and_nothing_else_is_touched(tmp_path):
    root = tmp_path / "store"
    video = make_file(tmp_path / "a.mp4")
    with Store.open(root) as s:
        add(s, video)
    seg = next(root.rglob("*.faiss"))
    seg_bytes = seg.read_bytes()
    db = root / "store.sqlite3"
    with open(db, "r+b") as f:
        f.write(b"this is not an SQLite header!!!!")
    with pytest.raises(StoreCorruptError) as info:
        Store.open(root)
    message = str(info.value)
    assert str(db) in message and "longvid store check" in message and "\n" not in message
    assert seg.read_bytes() == seg_bytes and video.is_file()


def test_store_in_an_impossible_place_is_refused(tmp_path):
    blocker = make_file(tmp_path / "a-file")
    with pytest.raises(StoreError, match=r"cannot be created: a file is in the way; pass --store PATH or set LONGVID_STORE"):
        Store.open(blocker / "store")


def test_newer_schema_is_refused(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    conn = sqlite3.connect(root / "store.sqlite3")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=f"schema version 99; this longvid knows up to {SCHEMA_VERSION}"):
        Store.open(root)


def test_default_location_follows_env_and_platform(tmp_path, monkeypatch):
    from platformdirs import user_cache_dir

    from longvid.config import StoreConfig

    monkeypatch.delenv("LONGVID_STORE", raising=False)
    assert StoreConfig().resolved_path() == __import__("pathlib").Path(user_cache_dir("longvid")) / "store"
    monkeypatch.setenv("LONGVID_STORE", str(tmp_path / "env-store"))
    with Store.open() as s:
        assert s.root == tmp_path / "env-store" and (tmp_path / "env-store" / "store.sqlite3").is_file()


class CountingEncoder:
    model_id = "count:x@1"
    dim = 16

    def __init__(self):
        self.calls = []

    def encode_images(self, images):
        raise AssertionError("not used")

    def encode_text(self, texts):
        self.calls.append(list(texts))
        return unit(len(texts), rng=np.random.default_rng(len(self.calls)))


def test_text_cache_encodes_each_text_once(store):
    enc = CountingEncoder()
    a = store.text_vectors(enc, ["a dog", "a cat"])
    b = store.text_vectors(enc, ["a cat", "a bird", "a dog"])
    assert enc.calls == [["a cat", "a dog"], ["a bird"]]
    np.testing.assert_array_equal(b[[0, 2]], a[[1, 0]])
    enc.dim = 8
    with pytest.raises(ModelMismatchError):
        store.text_vectors(enc, ["a dog"])


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from pathlib import Path
    from longvid.store import Store, fingerprint_file
    root, folder, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    store = Store.open(root)
    rng = np.random.default_rng(int(tag))
    for i in range(int(sys.argv[4])):
        video = folder / f"{tag}-{i}.bin"
        video.write_bytes(rng.bytes(2048))
        n = 200
        v = rng.normal(size=(n, 32)).astype(np.float32)
        store.add_run(fingerprint=fingerprint_file(video), path=video, model_id="m:w@1", vectors=v,
                      pts_s=np.arange(n) / 2.0, frame_index=np.arange(n) * 15, source="uniform", settings={"fps": 2})
        print(i, flush=True)
    """
)


def _writer(tmp_path, root, tag, count):
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(tmp_path), tag, str(count)],
        stdout=subprocess.PIPE, text=True,
    )


def test_concurrent_writers_serialise(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    procs = [_writer(tmp_path, root, str(t), 6) for t in (1, 2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    with Store.open(root) as s:
        report = s.check()
        assert report.ok and report.videos == 12 and report.vectors == 12 * 200


def test_a_new_store_opened_while_another_connection_is_about_to_write_it_waits_instead_of_failing(tmp_path):
    # Two batches started together on a new store: the switch to WAL needs the file to itself, and
    # SQLite refuses it at once (no busy wait) while another connection is about to write to it.
    root = tmp_path / "store"
    root.mkdir()
    other = sqlite3.connect(root / "store.sqlite3", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # as the other batch's first write would
    threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    with Store.open(root) as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert time.monotonic() - started >= 0.4  # it waited for the other connection's write
    other.close()


def test_sigkill_during_writes_leaves_a_consistent_store(tmp_path):
    root = tmp_path / "store"
    Store.open(root).close()
    proc = _writer(tmp_path, root, "7", 10_000)
    for _ in range(3):  # let a few runs commit, then kill it mid-stream
        proc.stdout.readline()
    proc.kill()
    proc.wait()
    with Store.open(root) as s:
        report = s.check()
        assert report.ok, report.problems
        assert report.videos >= 3 and report.vectors == report.videos * 200  # no partial video
        s.gc()
        assert s.check().orphan_files == []
    assert not [p for p in root.rglob("*") if p.name.startswith(".tmp-")]
