"""Damaged store files fail loudly, naming the file and the fix, instead of answering wrongly: a
vector segment or an archive index overwritten with same-size random bytes or zeros, a cut or
absurd FAISS header, NaN vectors; each file's SHA-256 is checked once per file identity and the
check is remembered in SQLite. Real SQLite, real FAISS, vectors from a seeded RNG (small recipe ranges as in
test_archive_index.py, so the HNSW archive index is built in milliseconds)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct

import numpy as np
import pytest
from test_archive_index import CENTERS, HNSW, add_video, clustered, small_recipes, unit

from longvid.errors import StoreCorruptError
from longvid.store import Store

MODEL = "m:test@1"
SEGMENT_FIX = "longvid store check --repair"


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "store") as s:
        yield s


def fill(store, videos=6, per_video=200, seed=1):
    rng = np.random.default_rng(seed)
    return [add_video(store, i, clustered(per_video, rng)) for i in range(videos)]


def row_file(store, table, where="1"):
    (name,) = store.conn.execute(f"SELECT file FROM {table} WHERE {where} ORDER BY id LIMIT 1").fetchone()
    return store.root / name


def vectors_at(data: bytes, first_vector: np.ndarray) -> int:
    """Where a FAISS file keeps its raw vectors: the offset of the first one's bytes."""
    at = data.find(np.asarray(first_vector, np.float32).tobytes())
    assert at > 0
    return at


def re_register(store, table, path, row_id):
    """Record the file's current size and SHA-256 in its row and forget any verification: a file
    that is damaged yet consistent with SQLite (written damaged, or by an older longvid)."""
    data = path.read_bytes()
    store.conn.execute(
        f"UPDATE {table} SET size_bytes = ?, sha256 = ?, verified_stat = NULL WHERE id = ?",
        (len(data), hashlib.sha256(data).hexdigest(), row_id),
    )


def damage(path, how, first_vector, count):
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(3)
    if how == "random bytes":
        data[:] = rng.bytes(len(data))
    elif how == "zeros":
        data[:] = bytes(len(data))
    elif how in ("random vectors", "zero vectors", "NaN vectors"):
        at, n = vectors_at(bytes(data), first_vector), count * len(first_vector) * 4
        data[at : at + n] = {
            "random vectors": lambda: rng.bytes(n),
            "zero vectors": lambda: bytes(n),
            "NaN vectors": lambda: np.full(n // 4, np.nan, np.float32).tobytes(),
        }[how]()
    elif how == "cut header":
        del data[20:]
    path.write_bytes(bytes(data))


def assert_names_file_and_fix(exc_info, path, fix):
    message = str(exc_info.value)
    assert str(path) in message and fix in message and "\n" not in message, message


# --- vector segments --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["random bytes", "zeros", "random vectors", "zero vectors", "cut header"])
def test_damaged_segment_fails_naming_it_on_every_read(store, how):
    results = fill(store)
    video = results[2].video_id
    seg_id, name, count = store.conn.execute("SELECT id, file, count FROM segments WHERE video_id = ?", (video,)).fetchone()
    path = store.root / name
    frames, vectors = store.vectors(video, MODEL)
    first = vectors[np.argsort(frames.ids)[0]]
    store.close()
    damage(path, how, first, count)
    with Store.open(store.root) as s:  # a new process: nothing verified in memory
        query = unit(CENTERS[:1])
        with pytest.raises(StoreCorruptError) as info:
            s.scores(video, MODEL, query)
        assert_names_file_and_fix(info, path, SEGMENT_FIX)
        with pytest.raises(StoreCorruptError) as info:
            s.search_archive(MODEL, query, 5)  # exact search over every segment
        assert_names_file_and_fix(info, path, SEGMENT_FIX)
        report = s.check()
        run = s.conn.execute("SELECT run_id FROM segments WHERE id = ?", (seg_id,)).fetchone()[0]
        assert report.damaged_runs == [run] and str(path) in report.problems[0]


def test_nan_vectors_in_a_segment_are_an_error_not_skipped(store):
    results = fill(store, videos=3)
    video = results[1].video_id
    seg_id, name, count = store.conn.execute("SELECT id, file, count FROM segments WHERE video_id = ?", (video,)).fetchone()
    frames, vectors = store.vectors(video, MODEL)
    path = store.root / name
    damage(path, "NaN vectors", vectors[np.argsort(frames.ids)[0]], 1)  # one frame's vector
    re_register(store, "segments", path, seg_id)
    with Store.open(store.root) as s:
        with pytest.raises(StoreCorruptError, match="NaN or infinite") as info:
            s.search_archive(MODEL, unit(CENTERS[:1]), 5)
        assert_names_file_and_fix(info, path, SEGMENT_FIX)


def test_absurd_segment_header_is_one_line_naming_the_file(store):
    (result,) = fill(store, videos=1)
    seg_id, name = store.conn.execute("SELECT id, file FROM segments").fetchone()
    path = store.root / name
    data = bytearray(path.read_bytes())
    data[:4] = b"IxZZ"  # not a FAISS index type, and the checksum in SQLite agrees with the file
    path.write_bytes(bytes(data))
    re_register(store, "segments", path, seg_id)
    with Store.open(store.root) as s:
        with pytest.raises(StoreCorruptError, match="not a readable FAISS index") as info:
            s.vectors(result.video_id, MODEL)
        assert_names_file_and_fix(info, path, SEGMENT_FIX)


# --- archive indexes --------------------------------------------------------------------------


def built(store, videos=5):
    fill(store, videos=videos, per_video=250)
    store.update_archive_index(MODEL, small_recipes("hnsw", HNSW))
    record = store.archive_index(MODEL)
    assert record.recipe == "hnsw"
    return record, store.root / record.file


ARCHIVE_FIX = "longvid store build-index"


def archive_search_fails(root, path, match=None):
    """Archive search in a new Store (nothing verified in memory) fails naming the file and the
    fix; returns what `store check` says then."""
    with Store.open(root) as s:
        with pytest.raises(StoreCorruptError, match=match) as info:
            s.search_archive(MODEL, unit(CENTERS[:2]), 10)
        assert_names_file_and_fix(info, path, ARCHIVE_FIX)
        return s.check()


@pytest.mark.parametrize("how", ["random bytes", "zeros", "random vectors", "zero vectors", "cut header"])
def test_damaged_archive_index_fails_naming_it(store, how):
    record, path = built(store)
    first = store.vectors(1, MODEL)[1][0]  # the first vector added to the index
    store.close()
    damage(path, how, first, record.count)
    report = archive_search_fails(store.root, path)
    assert report.damaged_archive_indexes == [record.id] and str(path) in report.problems[0]


def test_nan_vectors_in_an_archive_index_are_an_error(store):
    record, path = built(store)
    damage(path, "NaN vectors", store.vectors(1, MODEL)[1][0], 3)
    re_register(store, "archive_indexes", path, record.id)
    archive_search_fails(store.root, path, "NaN or infinite")


def test_malformed_archive_header_is_one_line_naming_the_file_not_bad_alloc(store):
    import faiss

    record, path = built(store)
    data = bytearray(path.read_bytes())
    data[73:81] = struct.pack("<Q", 2**40)  # a vector length in the HNSW header, made absurd
    path.write_bytes(bytes(data))
    with pytest.raises(MemoryError):  # what FAISS itself makes of it
        faiss.read_index(str(path), faiss.IO_FLAG_READ_ONLY | faiss.IO_FLAG_MMAP)
    re_register(store, "archive_indexes", path, record.id)  # even when SQLite agrees with the file
    archive_search_fails(store.root, path, "not a readable FAISS index")


def test_missing_archive_index_is_an_error_not_endless_retries(store):
    _, path = built(store)
    path.unlink()
    archive_search_fails(store.root, path, "is missing")


# --- verified once per file identity, remembered ------------------------------------------------


def verified_stats(store):
    c = store.conn
    return (dict(c.execute("SELECT file, verified_stat FROM segments").fetchall()),
            dict(c.execute("SELECT file, verified_stat FROM archive_indexes").fetchall()))


def test_checksums_are_verified_once_per_file_and_remembered(store, monkeypatch):
    import longvid.store.integrity as integrity

    record, path = built(store)
    segments, archive = verified_stats(store)
    assert all(segments.values()) and all(archive.values())  # written by this store: known good
    hashed = []
    real = integrity.sha256_hex
    monkeypatch.setattr(integrity, "sha256_hex", lambda source: hashed.append(getattr(source, "name", "segment")) or real(source))
    with Store.open(store.root) as s:
        s.search_archive(MODEL, unit(CENTERS[:2]), 10)
        s.vectors(3, MODEL)
    assert hashed == []  # nothing changed since it was written: no checksum computed
    # a copy of the store (new inodes and ctimes) is verified once, then trusted again
    import shutil

    copy = store.root.parent / "copy"
    shutil.copytree(store.root, copy)
    for _ in range(2):
        with Store.open(copy) as s:
            s.search_archive(MODEL, unit(CENTERS[:2]), 10)
            s.vectors(3, MODEL)
    assert hashed == [str(copy / record.file), "segment"]
    # an in-place change with the old size and mtime put back is still seen (ctime moves)
    st = path.stat()
    data = bytearray(path.read_bytes())
    at = vectors_at(bytes(data), store.vectors(1, MODEL)[1][0])
    data[at : at + 4] = np.float32(7.0).tobytes()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with Store.open(store.root) as s:
        with pytest.raises(StoreCorruptError, match="does not match its checksum"):
            s.search_archive(MODEL, unit(CENTERS[:2]), 10)


def test_damage_under_an_unchanged_identity_is_found_by_check_and_then_fails_every_read(store):
    """A bit flipped on disk changes no timestamp: reads trust the file until `store check`, which
    hashes every file, finds it and stops trusting it."""
    from longvid.store.integrity import identity

    fill(store, videos=2)
    seg_id, name = store.conn.execute("SELECT id, file FROM segments WHERE video_id = 2").fetchone()
    path = store.root / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    store.conn.execute("UPDATE segments SET verified_stat = ? WHERE id = ?", (identity(path.stat()), seg_id))
    with Store.open(store.root) as s:
        s.vectors(2, MODEL)  # the limit of trusting an unchanged identity
        assert not s.check().ok
    with Store.open(store.root) as s:
        with pytest.raises(StoreCorruptError, match="does not match its checksum"):
            s.vectors(2, MODEL)


def test_a_store_from_before_verification_is_migrated_and_verified_on_first_use(tmp_path):
    root = tmp_path / "store"
    with Store.open(root) as s:
        fill(s, videos=3)
        name = s.conn.execute("SELECT file FROM segments WHERE video_id = 2").fetchone()[0]
    conn = sqlite3.connect(root / "store.sqlite3")  # as longvid wrote it before schema 3
    conn.execute("ALTER TABLE segments DROP COLUMN verified_stat")
    conn.execute("ALTER TABLE archive_indexes DROP COLUMN verified_stat")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    path = root / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2  # inside the vectors
    data[middle : middle + 100] = bytes(100)  # damaged while the old version had it: same size
    path.write_bytes(bytes(data))
    with Store.open(root) as s:
        from longvid.store.schema import SCHEMA_VERSION, schema_version

        assert schema_version(s.conn) == SCHEMA_VERSION
        assert set(verified_stats(s)[0].values()) == {None}  # nothing trusted yet
        s.vectors(1, MODEL)
        with pytest.raises(StoreCorruptError, match=f"{name}.*does not match its checksum"):
            s.vectors(2, MODEL)
        stats = verified_stats(s)[0]
    assert stats[name] is None and sum(v is not None for v in stats.values()) == 1


def test_damaged_text_cache_entries_are_encoded_again_not_searched_with(store):
    from test_store import CountingEncoder

    encoder = CountingEncoder()
    good = store.text_vectors(encoder, ["a dog", "a cat", "a bird"])
    store.conn.execute("UPDATE text_cache SET vector = ? WHERE text = 'a dog'", (np.full(encoder.dim, np.nan, np.float32).tobytes(),))
    store.conn.execute("UPDATE text_cache SET vector = ? WHERE text = 'a cat'", (b"\0" * 7,))
    again = store.text_vectors(encoder, ["a dog", "a cat", "a bird"])
    assert encoder.calls[-1] == ["a cat", "a dog"] and np.isfinite(again).all()
    np.testing.assert_array_equal(again[2], good[2])  # the intact entry is still used
    assert np.isfinite(store.text_vectors(encoder, ["a dog"])).all() and len(encoder.calls) == 2  # replaced in the cache
