"""Nothing read from the store's SQLite file makes longvid read or delete outside the store: rows
crafted to name a segment or archive index file outside it ('../x', an absolute path), a video
path that is not absolute and normalised ('../../etc/passwd', DIR/../x) or a fingerprint that is
not one (it names a video that has no remembered path) are refused with a
one-line error, `store check` reports them and `store check --repair` drops the rows, never the
files they name. Real archive (two generated videos), real store, longvid's tiny CLIP, the CLI
run in-process."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from cli_run import run_cli

from longvid.embed.resolve import TINY_MODEL_DIR

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("cli_env")]

QUESTION = "when does the red star appear?"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """Two 10 s videos (a red star, a green circle), indexed with the tiny CLIP."""
    if not (TINY_MODEL_DIR / "open_clip_model.safetensors").is_file():
        pytest.skip("the shipped tiny model is not there")
    from longvid.synth import Combo, generate_video, plan_needle_video

    base = tmp_path_factory.mktemp("confinement")
    root = base / "archive"
    root.mkdir()
    for i, (colour, shape) in enumerate([("red", "star"), ("green", "circle")]):
        spec = plan_needle_video(200 + i, 10.0, needles=[(Combo(colour, shape), "appear")], width=160, height=90,
                                 distractors_per_minute=0.0, needle_s=(3.0, 4.0), fade_probability=0.0)
        generate_video(root / f"{colour}-{shape}.mp4", spec, write_truth=False)
    store = base / "store"
    code, _, err = run_cli("index", root, "--model", "tiny", "--store", store, "-w", "1", "--no-progress")
    assert code == 0, err
    return root, store


def _craft(store, root, tmp_path, row):
    """Write one crafted row into the store's SQLite file; returns the value it names."""
    outside = tmp_path / "outside.txt"  # a file beside the store that nothing may touch
    conn = sqlite3.connect(store / "store.sqlite3")
    red = conn.execute("SELECT video_id FROM video_paths WHERE path = ?", (str(root / "red-star.mp4"),)).fetchone()[0]
    if row.startswith("segment"):
        name = "../outside.txt" if row == "segment ../x" else str(outside)
        conn.execute("UPDATE segments SET file = ? WHERE video_id = ?", (name, red))
    elif row.startswith("archive"):
        name = "../outside.txt" if row == "archive ../x" else str(outside)
        count, top, segments = conn.execute("SELECT SUM(count), MAX(id), COUNT(*) FROM segments").fetchone()
        conn.execute(
            "INSERT INTO archive_indexes(model, recipe, params_json, file, count, dim, max_segment_id, segments, "
            "size_bytes, sha256, created_at) VALUES (1, 'hnsw', '{\"kind\": \"hnsw\"}', ?, ?, 64, ?, ?, 8, ?, 0)",
            (name, count, top, segments, "0" * 64),
        )
    elif row.startswith("fingerprint"):  # used as the video's name where no path is remembered
        name = "../../etc/passwd"
        conn.execute("UPDATE videos SET fingerprint = ? WHERE id = ?", (name, red))
        conn.execute("DELETE FROM video_paths WHERE video_id = ?", (red,))
    else:  # one more remembered path of the red star's video, the most recently seen
        name = "../../etc/passwd" if row == "video ../../etc/passwd" else f"{root}/../outside.mp4"
        conn.execute(
            "INSERT INTO video_paths(path, video_id, size_bytes, mtime_ns, ctime_ns, inode, seen_at) "
            "SELECT ?, video_id, size_bytes, mtime_ns, ctime_ns, inode, (SELECT MAX(seen_at) + 1 FROM video_paths) "
            "FROM video_paths WHERE path = ?",
            (name, str(root / "red-star.mp4")),
        )
    conn.commit()
    conn.close()
    return name


def _outside_files(root, tmp_path, monkeypatch):
    """The file a crafted segment or archive row names, and real videos where the crafted video
    paths lead (a store that follows them answers from them)."""
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    shutil.copy(root / "red-star.mp4", root.parent / "outside.mp4")
    (tmp_path / "etc").mkdir()
    shutil.copy(root / "red-star.mp4", tmp_path / "etc" / "passwd")
    (tmp_path / "cwd" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "cwd" / "deep")  # '../../etc/passwd' is tmp_path/etc/passwd from here
    return outside


def _run(args, store, outside, want, refused_row=None):
    code, out, err = run_cli(*args, "--store", store)
    assert outside.read_text() == "precious", (args, out, err)
    assert code == want, (args, code, out, err)
    if code:
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
    if refused_row is not None:
        assert repr(refused_row) in err and "longvid store check --repair" in err, (args, err)
    return out


ROWS = ["segment ../x", "segment /abs", "archive ../x", "archive /abs", "video ../../etc/passwd", "video DIR/../x",
        "fingerprint ../../etc/passwd"]


@pytest.mark.parametrize("row", ROWS)
def test_crafted_store_rows_are_refused_and_nothing_outside_is_read_or_deleted(indexed, tmp_path, monkeypatch, row):
    root, original = indexed
    store = tmp_path / "store"
    shutil.copytree(original, store)
    outside = _outside_files(root, tmp_path, monkeypatch)
    name = _craft(store, root, tmp_path, row)
    archive_row = row.startswith("archive")
    ask_target = store if name == "../../etc/passwd" else root  # a relative path is only seen store-wide
    _run(["ask", ask_target, QUESTION, "--preset", "tiny"], store, outside, 1, name)
    _run(["store", "build-index"], store, outside, 1 if archive_row else 0, name if archive_row else None)
    out = _run(["store", "check"], store, outside, 1)
    assert any(repr(name) in line for line in out.splitlines() if line.startswith("problem:")), out
    _run(["store", "check", "--repair"], store, outside, 0)
    _run(["store", "check"], store, outside, 0)
    out = _run(["search", root, "a green circle", "--model", "tiny", "--json"], store, outside, 0)  # repaired: it answers
    assert json.loads(out)["moments"][0]["video"] == str(root / "green-circle.mp4")
    assert (root.parent / "outside.mp4").is_file() and (tmp_path / "etc" / "passwd").is_file()


def test_index_on_a_store_with_crafted_rows_deletes_nothing_outside(indexed, tmp_path, monkeypatch):
    """`longvid index DIR` (which also builds or drops the archive index) with every kind of row
    at once; after `store check --repair` it restores what was dropped."""
    root, original = indexed
    store = tmp_path / "store"
    shutil.copytree(original, store)
    outside = _outside_files(root, tmp_path, monkeypatch)
    for row in ("segment ../x", "archive /abs", "video ../../etc/passwd", "video DIR/../x"):
        _craft(store, root, tmp_path, row)
    index = ["index", root, "--model", "tiny", "-w", "1", "--no-progress"]
    _run(index, store, outside, 1, str(outside))  # the archive index row is refused
    _run(["store", "check", "--repair"], store, outside, 0)
    _run(index, store, outside, 0)  # the red star's dropped run is indexed again
    out = _run(["ask", root, QUESTION, "--preset", "tiny", "--json"], store, outside, 0)
    assert json.loads(out)["archive"]["chosen_video"] == str(root / "red-star.mp4")
