"""`longvid index DIR`, `longvid search DIR|STORE`, `longvid ask DIR`, `longvid store info` on a
small archive of synthetic videos with known needles, indexed with longvid's own tiny CLIP
(real weights), so "which video shows a red star?" has a right answer."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from cli_run import run_cli
from tiny_clip import tiny_clip_dir  # noqa: F401

from longvid.cli import main
from longvid.embed.resolve import TINY_MODEL_DIR

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("cli_env")]

NEEDLES = [("red", "star"), ("green", "circle"), ("blue", "triangle")]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Three 20 s videos, each with one needle (its own colour + shape, nothing else on screen
    but the background), in two folders; a broken file; a note."""
    if not (TINY_MODEL_DIR / "open_clip_model.safetensors").is_file():
        pytest.skip("the shipped tiny model is not there")
    from longvid.synth import Combo, generate_video, plan_needle_video

    root = tmp_path_factory.mktemp("cli-archive") / "archive"
    (root / "more").mkdir(parents=True)
    truths = {}
    for i, (colour, shape) in enumerate(NEEDLES):
        spec = plan_needle_video(100 + i, 20.0, needles=[(Combo(colour, shape), "appear")], width=160, height=90,
                                 distractors_per_minute=0.0, needle_s=(5.0, 6.0), fade_probability=0.0)
        path = (root / "more" if i == 2 else root) / f"{colour}-{shape}.mp4"
        truths[(colour, shape)] = (path, generate_video(path, spec, write_truth=False).needles[0])
    (root / "broken.mp4").write_text("not a video")
    (root / "notes.txt").write_text("hello")
    return root, truths


@pytest.fixture(scope="module")
def indexed(archive, tmp_path_factory):
    root, truths = archive
    store = tmp_path_factory.mktemp("cli-store") / "store"
    code = None
    try:
        main(["index", str(root), "-r", "--model", "tiny", "--store", str(store), "--workers", "2", "--json", "--no-progress"])
    except SystemExit as exc:
        code = exc.code
    assert code == 3  # broken.mp4 is not indexed
    return root, truths, store


def test_index_dir_reports_counts_and_failures_and_store_info_lists_them(archive, tmp_path):
    root, _ = archive
    store = tmp_path / "store"
    code, out, err = run_cli("index", root, "--model", "tiny", "--store", store, "-w", "1", "--json")
    assert code == 3, err  # a batch with a file it could not index (the whole JSON is still there)
    assert err.startswith("error: 1 of 3 videos are not indexed (1 failed now, 0 failed before") and err.count("\n") == 1
    result = json.loads(out)
    assert result["counts"] == {"indexed": 2, "skipped": 0, "failed": 1, "failed_before": 0, "ignored": 1}  # not recursive
    (failed,) = [i for i in result["items"] if i["status"] == "failed"]
    assert failed["path"] == str(root / "broken.mp4") and "is not a video file FFmpeg can read" in failed["reason"]
    assert result["model_id"].startswith("open_clip:tiny-clip@") and result["config"]["embed"]["model"] == "tiny"
    assert result["archive_index"]["exact"] and result["archive_index"]["recipe"] == "flat"
    code, out, _ = run_cli("index", root, "-r", "--model", "tiny", "--store", store, "-w", "1")
    assert code == 3  # failed before and unchanged: still not indexed
    assert "indexed now" in out and "already indexed (skipped)" in out and "failed before, unchanged" in out
    assert "broken.mp4" in out and "is not a video file FFmpeg can read" in out
    code, out, _ = run_cli("store", "info", "--store", store)
    assert code == 0 and "1 files could not be indexed" in out and f"{root / 'broken.mp4'}: is not a video file" in out
    code, out, _ = run_cli("store", "info", "--store", store, "--json")
    info = json.loads(out)
    assert info["failures"] == 1 and info["failure_list"][0]["error"] == "NotAVideoError" and info["videos"] == 3


def test_search_across_the_archive_finds_the_right_video_and_span(indexed):
    root, truths, store = indexed
    for (colour, shape), (path, needle) in truths.items():
        code, out, err = run_cli("search", root, f"a {colour} {shape}", "--model", "tiny", "--store", store, "-k", 3, "--json")
        assert code == 0, err
        found = json.loads(out)
        best = found["moments"][0]
        assert best["video"] == str(path), (colour, shape, found["moments"])
        assert best["start_s"] < needle.end_s and needle.start_s < best["end_s"]  # the span covers the needle
        assert found["videos_in_scope"] == 3 and found["index"] == "exact"
        scores = [m["score"] for m in found["moments"]]
        assert scores == sorted(scores, reverse=True)


def test_search_scope_folder_store_or_whole_store(indexed):
    root, truths, store = indexed
    path, _ = truths[("blue", "triangle")]  # the one in more/
    code, out, _ = run_cli("search", root / "more", "a red star", "--model", "tiny", "--store", store, "--json")
    only_more = json.loads(out)
    assert code == 0 and only_more["videos_in_scope"] == 1 and {m["video"] for m in only_more["moments"]} == {str(path)}
    code, out, _ = run_cli("search", store, "a red star", "--model", "tiny", "--json")  # the store folder itself
    whole = json.loads(out)
    assert code == 0 and whole["scope"] == "store" and whole["videos_in_scope"] == 3
    code, out, _ = run_cli("search", "a red star", "--model", "tiny", "--store", store, "-k", 2)  # only the query
    assert code == 0 and "the whole store" in out and f"videos under {root}" in out
    assert out.splitlines()[3].split()[-1] == "red-star.mp4"  # the best moment's video, relative to that folder


def test_ask_dir_picks_the_best_matching_video_and_says_which(indexed):
    root, truths, store = indexed
    path, needle = truths[("green", "circle")]
    code, out, err = run_cli("ask", root, "when does the green circle appear?", "--preset", "tiny", "--store", store)
    assert code == 0, err
    assert f"chose {path}" in err
    code, out, err = run_cli("ask", root, "when does the green circle appear?", "--preset", "tiny", "--store", store, "--json")
    answer = json.loads(out)
    assert answer["archive"]["chosen_video"] == str(path) and answer["video"] == str(path)
    best = answer["moments"][0]
    assert best["start_s"] < needle.end_s and needle.start_s < best["end_s"]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["index", "{root}", "--engine", "spark"], 2, "error: engine = 'spark' is invalid; use one of: local, ray"),
        (["index", "{root}", "--workers", "0"], 2, "error: workers = 0 is invalid; expected 1 or more"),
        (["index", "{root}", "--ray-address", "auto"], 2, "error: --ray-address needs --engine ray"),
        (["index", "{root}", "{missing}"], 2, "error: {missing}: no such file or folder"),
        (["search", "{empty}", "a dog"], 2, "error: no video under {empty} is indexed"),
        (["search", "{root}", ""], 2, "error: the query is empty"),
    ],
)
def test_bad_input_is_one_line_and_touches_nothing(indexed, tmp_path, args, code, message):
    root, _, store = indexed
    (tmp_path / "empty").mkdir()
    names = {"root": root, "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    before = sorted((p.name, p.stat().st_size) for p in store.rglob("*") if p.is_file() and not p.name.startswith("store.sqlite3"))
    got, out, err = run_cli(*[a.format(**names) for a in args], "--model", "tiny", "--store", store)
    assert got == code and out == "" and err.startswith(message.format(**names)) and err.count("\n") == 1, err
    after = sorted((p.name, p.stat().st_size) for p in store.rglob("*") if p.is_file() and not p.name.startswith("store.sqlite3"))
    assert after == before


def test_progress_bar_counts_and_eta(archive, tmp_path):
    root, _ = archive
    single = tmp_path / "one"
    single.mkdir()
    shutil.copy(root / "red-star.mp4", single / "a.mp4")
    (single / "b.mp4").write_bytes(b"")
    code, _, err = run_cli("index", single, "--model", "tiny", "--store", tmp_path / "store", "-w", "1", "--progress")
    assert code == 3
    assert "indexing videos" in err and "ETA" in err and "indexed 1" in err and "failed 1" in err
    assert f"failed: {single / 'b.mp4'}: is empty (0 bytes)" in " ".join(err.split())
    assert not os.path.exists(tmp_path / "store" / "archive")  # a small archive needs no index file


def test_file_names_that_are_not_utf8_are_indexed_searched_and_printed(archive, tmp_path, monkeypatch):
    """b"red-star-\\xff.mp4" is a fine file name on Linux: it is indexed, stored, found, printed
    as \\xff for people and escaped in JSON (which reads back to the same bytes)."""
    root, truths = archive
    folder = tmp_path / "odd"
    folder.mkdir()
    red, broken = folder / os.fsdecode(b"red-star-\xff.mp4"), folder / os.fsdecode(b"broken-\xfe.mp4")
    try:
        shutil.copy(truths[("red", "star")][0], red)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    shutil.copy(truths[("green", "circle")][0], folder / "green-circle.mp4")
    broken.write_text("not a video")
    store = tmp_path / "store"
    code, out, err = run_cli("index", folder, "--model", "tiny", "--store", store, "-w", "1", "--json")
    assert code == 3, err  # the broken file
    result = json.loads(out)
    assert result["counts"] == {"indexed": 2, "skipped": 0, "failed": 1, "failed_before": 0, "ignored": 0}
    status = {os.fsencode(i["path"]): i["status"] for i in result["items"]}
    assert status == {bytes(red): "indexed", bytes(folder / "green-circle.mp4"): "indexed", bytes(broken): "failed"}
    monkeypatch.setenv("COLUMNS", "400")  # tables with whole lines
    code, out, _ = run_cli("index", folder, "--model", "tiny", "--store", store, "-w", "1")  # found again by name
    assert code == 3 and "already indexed (skipped) 2" in " ".join(out.split())
    assert f"{folder}/broken-\\xfe.mp4  is not a video file" in out  # the failures table
    code, out, _ = run_cli("store", "check", "--store", store)
    assert code == 0 and out.startswith("ok: 2 videos")  # a stored name that is not UTF-8 is no damage
    code, out, _ = run_cli("store", "info", "--store", store)
    assert code == 0 and f"{folder}/red-star-\\xff.mp4" in out and f"{folder}/broken-\\xfe.mp4: is not a video file" in out
    code, out, err = run_cli("search", folder, "a red star", "--model", "tiny", "--store", store, "-k", 2, "--json")
    assert code == 0, err
    assert os.fsencode(json.loads(out)["moments"][0]["video"]) == bytes(red)
    code, out, _ = run_cli("search", folder, "a red star", "--model", "tiny", "--store", store, "-k", 2)
    assert code == 0 and out.splitlines()[3].split()[-1] == "red-star-\\xff.mp4"
    code, out, err = run_cli("ask", folder, "when does the red star appear?", "--preset", "tiny", "--store", store)
    assert code == 0 and f"chose {folder}/red-star-\\xff.mp4" in err


def test_search_ask_and_eval_use_the_model_the_videos_were_indexed_with(indexed, tmp_path):
    """No --model/--encoder/--preset: the store's model (the tiny one here), not the default
    preset's, which is not there (the tests run with HF_HUB_OFFLINE=1)."""
    root, truths, store = indexed
    red, needle = truths[("red", "star")]
    for scope in ([root], [store], [], [red]):  # a folder, a store folder, the whole --store, one video
        code, out, err = run_cli("search", *scope, "a red star", "--store", store, "--json")
        assert code == 0 and err == "", (scope, err)
        found = json.loads(out)
        assert found["model_id"].startswith("open_clip:tiny-clip@") and found["config"]["embed"]["model"] == "tiny"
        assert found["moments"][0]["start_s"] < needle.end_s and needle.start_s < found["moments"][0]["end_s"]
    green, _ = truths[("green", "circle")]
    code, out, err = run_cli("ask", root, "when does the green circle appear?", "--answerer", "grounding", "--store", store, "--json")
    assert code == 0, err
    assert json.loads(out)["archive"]["chosen_video"] == str(green)
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"video": str(red), "question": "when does the red star appear?", "gold_s": [needle.start_s + 0.5]}) + "\n")
    code, out, err = run_cli("eval", items, "--strategy", "topk", "--frames", 4, "--store", store, "--json")
    assert code == 0, err
    assert json.loads(out)["items"][0]["f1"] > 0
    (tmp_path / "empty").mkdir()  # nothing indexed there: said as such, not as a model missing from the hub cache
    code, out, err = run_cli("search", tmp_path / "empty", "a red star", "--store", store)
    assert code == 2 and err == f"error: no video under {tmp_path / 'empty'} is indexed in {store}; run `longvid index {tmp_path / 'empty'}` first\n"


def test_with_several_models_the_one_most_videos_have_is_chosen_and_said(indexed, tmp_path, tiny_clip_dir):
    root, truths, store = indexed
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    blue, _ = truths[("blue", "triangle")]  # the one in more/
    code, _, err = run_cli("index", blue, "--model", tiny_clip_dir, "--store", copy)  # a second model, one video
    assert code == 0, err
    code, out, err = run_cli("search", root, "a red star", "--store", copy, "--json")
    assert code == 0 and json.loads(out)["model_id"].startswith("open_clip:tiny-clip@")
    assert err.count("\n") == 1 and "most of these videos are indexed with (3)" in err
    assert "also indexed with: open_clip:tiny-a@" in err and "(1 videos); choose one with --model" in err
    # in more/ both models have the one video: the tie goes to the model its id can load
    code, out, err = run_cli("search", root / "more", "a blue triangle", "--store", copy, "--json")
    assert code == 0 and json.loads(out)["model_id"].startswith("open_clip:tiny-clip@")
    code, out, err = run_cli("search", root / "more", "a blue triangle", "--model", tiny_clip_dir, "--store", copy, "--json")
    assert code == 0 and json.loads(out)["model_id"].startswith("open_clip:tiny-a@") and err == ""  # named: it wins
    only_local = tmp_path / "local-only"
    assert run_cli("index", blue, "--model", tiny_clip_dir, "--store", only_local)[0] == 0
    code, out, err = run_cli("search", blue, "a blue triangle", "--store", only_local)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("error: 1 videos here are indexed with open_clip:tiny-a@") and "pass that folder with --model" in err
