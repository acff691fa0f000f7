"""`longvid index`, `longvid search`, `longvid store ...`: output, searching without decoding,
and the bad-input matrix (each a one-line error, nothing lost)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_run import run_cli
from tiny_clip import make_video, tiny_clip_dir  # noqa: F401

pytestmark = pytest.mark.usefixtures("cli_env")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("cli-videos") / "clip.mp4", seconds=8, fps=10, shots=2)


def search_json(video, model, store, query="a red square", k=3):
    code, out, err = run_cli("search", video, query, "--model", model, "--store", store, "-k", k, "--json")
    assert code == 0, err
    return json.loads(out), err


def test_index_then_search(tmp_path, clip, tiny_clip_dir):
    store = tmp_path / "store"
    code, out, _ = run_cli("index", clip, "--model", tiny_clip_dir, "--store", store, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["frames_added"] == 8 and result["scenes"] == 2 and not result["noop"]
    assert result["config"]["embed"]["model"] == str(tiny_clip_dir)
    code, out, _ = run_cli("index", clip, "--model", tiny_clip_dir, "--store", store)
    assert code == 0 and out.startswith(f"already indexed: {clip}")
    found, err = search_json(clip, tiny_clip_dir, store, k=2)
    assert err == "" and not found["indexed_now"] and found["frames_searched"] == 8
    assert 1 <= len(found["moments"]) <= 2
    for m in found["moments"]:
        assert 0 <= m["start_s"] <= m["peak_s"] < m["end_s"] <= 8.0 and m["scene_index"] in (0, 1)
    code, out, _ = run_cli("search", clip, "a red square", "--model", tiny_clip_dir, "--store", store)
    assert code == 0 and "best frame" in out and "frames searched in" in out


def test_search_indexes_an_unindexed_video_first_and_says_so(tmp_path, clip, tiny_clip_dir):
    found, err = search_json(clip, tiny_clip_dir, tmp_path / "store")
    assert found["indexed_now"] and found["index"]["frames_added"] == 8
    assert "is not indexed with open_clip:tiny-a@" in err and "indexing it first" in err


def test_search_works_after_the_file_is_gone(tmp_path, clip, tiny_clip_dir):
    video = tmp_path / "gone.mp4"
    shutil.copy(clip, video)
    store = tmp_path / "store"
    before, _ = search_json(video, tiny_clip_dir, store)
    video.unlink()  # nothing left to decode
    after, err = search_json(video, tiny_clip_dir, store)
    assert after["moments"] == before["moments"] and after["by_remembered_path"] and not after["indexed_now"]
    assert "cannot be read; using the index stored for that path" in err


def _unprivileged() -> list[str]:
    """A command prefix that runs without the power to read or write other people's files.

    Root reads everything; root without the DAC capabilities is held to file permissions like
    anyone else (and can still run the venv's python, which lives under /root)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux setpriv is not installed to drop the DAC capabilities")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def _longvid(args, prefix, env=None):
    code = "import sys; from longvid.cli import main; main(sys.argv[1:])"
    return subprocess.run([*prefix, sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize(
    "args, words",
    [
        (["search", "{clip}", "a red star", "--preset", "default"],
         ["error: model 'open_clip:ViT-B-32-SigLIP2-256/webli' is not in the Hugging Face cache", "--preset tiny", "local model folder"]),
        (["ask", "{clip}", "what happens?", "--preset", "tiny", "--answerer", "llm", "--model", "longvid-test/no-such-llm"],
         ["error: model 'longvid-test/no-such-llm' is not in the Hugging Face cache", "--answerer grounding", "local model folder"]),
    ],
)
def test_a_hub_model_with_the_hub_unreachable_is_one_whole_line(tmp_path, clip, args, words):
    """HF_HUB_OFFLINE unset, the hub unreachable (nothing listens at the endpoint), an empty cache:
    one line that names the model, why, and what to do - not a minute of download retries."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LONGVID_DEBUG")}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path / "hub-cache"),
               HF_HUB_ETAG_TIMEOUT="5", HF_HUB_DOWNLOAD_TIMEOUT="5")  # bounds each request should one hang
    proc = _longvid([a.format(clip=clip) for a in args] + ["--store", tmp_path / "store"], [], env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr  # no retry log lines either
    line = proc.stderr.strip()
    assert "the hub at http://127.0.0.1:9 cannot be reached (" in line and "Retry" not in line
    assert line.endswith("; HF_HUB_OFFLINE=1 skips the network")  # whole, not cut
    for word in words:
        assert word in line


def test_search_works_when_the_file_cannot_be_read(tmp_path, clip, tiny_clip_dir):
    prefix = _unprivileged()
    video = Path(shutil.copy(clip, tmp_path / "private.mp4"))
    store = tmp_path / "store"
    before, _ = search_json(video, tiny_clip_dir, store)
    video.chmod(0)
    probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(video)!r}, 'rb')"], capture_output=True, text=True)
    assert probe.returncode != 0 and "Permission denied" in probe.stderr  # really unreadable for the search
    proc = _longvid(["search", video, "a red square", "--model", tiny_clip_dir, "--store", store, "-k", 3, "--json"], prefix)
    assert proc.returncode == 0, proc.stderr
    after = json.loads(proc.stdout)
    assert after["moments"] == before["moments"] and after["by_remembered_path"]
    assert "cannot be read; using the index stored for that path" in proc.stderr


def test_unwritable_store_folder_is_refused(tmp_path, clip, tiny_clip_dir):
    prefix = _unprivileged()
    locked = tmp_path / "locked-store"
    locked.mkdir()
    locked.chmod(0o555)
    proc = _longvid(["index", clip, "--model", tiny_clip_dir, "--store", locked], prefix)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == f"error: store folder {locked} is not writable; pass --store PATH or set LONGVID_STORE to a writable folder\n"
    assert list(locked.iterdir()) == []


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["search", "{clip}", ""], 2, "error: the query is empty"),
        (["search", "{clip}", " \n\t "], 2, "error: the query is empty"),
        (["search", "{clip}", "x" * 10_001], 2, "error: the query is 10,001 characters long (limit 10,000)"),
        (["search", "{clip}", "a dog", "--model", "no-such-model"], 2, "error: unknown model 'no-such-model'"),
        (["index", "{clip}", "--model", "open_clip:ViT-B-32/openai"], 2, "error: model 'open_clip:ViT-B-32/openai'"),
        (["index", "{missing}", "--model", "{model}"], 2, "error: {missing}: no such file"),
        (["search", "{clip}", "a dog", "-k", "0", "--model", "{model}"], 2, "error: k = 0 is invalid"),
        (["index", "{clip}", "--mode", "fast", "--model", "{model}"], 2, "error: decode.mode = 'fast' is invalid"),
        (["index", "{clip}", "--model", "{model}", "--store", "{blocked}"], 1, "error: store folder {blocked} cannot be created"),
    ],
)
def test_bad_input_gives_one_line_errors(tmp_path, clip, tiny_clip_dir, args, code, message):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    names = {"clip": clip, "missing": tmp_path / "missing.mp4", "model": tiny_clip_dir, "blocked": blocker / "store"}
    args = [a.format(**names) for a in args]
    if "--store" not in args:
        args += ["--store", str(tmp_path / "store")]
    clip_bytes = clip.read_bytes()
    got, out, err = run_cli(*args)
    assert got == code and out == ""
    assert err.startswith(message.format(**names)) and err.count("\n") == 1
    assert clip.read_bytes() == clip_bytes and blocker.read_text() == "not a folder"


def test_corrupted_store_file_is_named_and_nothing_is_lost(tmp_path, clip, tiny_clip_dir):
    store = tmp_path / "store"
    search_json(clip, tiny_clip_dir, store)
    segments = {p: p.read_bytes() for p in store.rglob("*.faiss")}
    db = store / "store.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00" * 100  # header gone
    db.write_bytes(bytes(data))
    for args in (["search", clip, "a dog", "--model", tiny_clip_dir, "--store", store], ["store", "check", "--store", store]):
        code, out, err = run_cli(*args)
        assert code == 1 and out == "" and err.count("\n") == 1
        assert err.startswith(f"error: store database {db} is damaged") and "longvid store check" in err
    assert {p: p.read_bytes() for p in store.rglob("*.faiss")} == segments
    assert db.read_bytes() == bytes(data)  # left for the user to inspect, not deleted or rewritten


def test_store_info_check_repair_gc(tmp_path, clip, tiny_clip_dir):
    store = tmp_path / "store"
    run_cli("index", clip, "--model", tiny_clip_dir, "--store", store)
    code, out, _ = run_cli("store", "info", "--store", store, "--json")
    info = json.loads(out)
    assert code == 0 and info["videos"] == 1 and info["models"][0]["vectors"] == 8
    assert info["video_list"][0]["paths"] == [str(clip)]
    code, out, _ = run_cli("store", "check", "--store", store)
    assert code == 0 and out.strip() == "ok: 1 videos, 8 frames, 8 vectors"
    (segment,) = list(store.rglob("*.faiss"))
    segment.unlink()
    (store / "segments" / "m1" / "0123abcd.faiss").write_bytes(b"orphan")
    code, out, err = run_cli("store", "check", "--store", store)
    assert code == 1 and "is missing" in out and "1 orphaned segment files" in out
    assert err.startswith("error: store ") and "--repair" in err
    code, out, _ = run_cli("store", "check", "--repair", "--store", store)
    assert code == 0 and "dropped 1 damaged runs" in out and out.strip().endswith("ok: 1 videos, 0 frames, 0 vectors")
    code, out, _ = run_cli("store", "gc", "--store", store)
    assert code == 0 and out.strip() == "removed 0 orphaned files"  # repair already collected it
    found, err = search_json(clip, tiny_clip_dir, store)  # indexed again on demand
    assert found["indexed_now"] and found["frames_searched"] == 8


def test_shipped_model_finds_the_needle_in_the_sample_video(tmp_path):
    """End to end with real weights: longvid's own tiny CLIP on its own sample video."""
    from longvid.embed.resolve import TINY_MODEL_DIR

    repo = Path(__file__).resolve().parents[1]
    video, truth = repo / "sample_videos" / "demo.mp4", repo / "sample_videos" / "demo.json"
    if not (TINY_MODEL_DIR / "open_clip_model.safetensors").is_file() or not truth.is_file():
        pytest.skip("the shipped tiny model or sample video is not there yet")
    needle = next(e for e in json.loads(truth.read_text())["events"] if e["role"] == "needle")
    query = f"a {needle['colour']} {needle['shape']}"
    found, _ = search_json(video, "tiny", tmp_path / "store", query=query, k=3)
    best = found["moments"][0]
    assert best["start_s"] < needle["end_s"] and needle["start_s"] < best["end_s"], (query, best, needle)


def test_help_imports_no_heavy_libraries():
    code = (
        "import sys\n"
        "from longvid.cli import main\n"
        "for args in (['--help'], ['search', '--help'], ['index', '--help'], ['store', 'check', '--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'av', 'open_clip', 'faiss', 'transformers', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    assert "--top" in proc.stdout and "--mode" in proc.stdout and "--repair" in proc.stdout
