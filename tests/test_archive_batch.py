"""Batch indexing of a folder of ~30 files (generated clips, real clips from ../shared/videos,
broken files, non-videos) with real worker processes, a real store and a tiny open_clip model:
expected counts and reasons, resuming after SIGKILL at random points, two batches at once on
one store with a reader searching meanwhile, and the Ray engine giving the same contents.

Every run uses 1 torch thread per worker (the configuration says so), so vectors are
bit-identical however the videos are spread over processes and runs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_clip import make_video, tiny_clip_dir  # noqa: F401

from longvid.archive import contents_differences, index_archive, store_contents
from longvid.config import PipelineConfig
from longvid.store import Store

pytestmark = pytest.mark.slow

SHARED = [  # (file in ../shared/videos, folder in the archive)
    ("pyscenedetect/counter.mp4", "."),
    ("pyscenedetect/fades.mp4", "."),
    ("pyscenedetect/goldeneye-vfr-drop3.mp4", "."),
    ("decord/video_0.mov", "."),
    ("decord/unordered.mov", "."),
    ("decord/corrupted.mp4", "."),  # decoding fails after 28 frames
    ("decord/flipping_a_pancake.mkv", "b"),
]
BROKEN = {"a/a-truncated.mp4", "b/b-text.mp4", "zero.mp4", "fast-start-truncated.mp4", "corrupted.mp4"}
CLI = "import sys; from longvid.cli import main; main(sys.argv[1:])"


def faststart_copy(source: Path, target: Path) -> Path:
    """Remux with the index (moov) first, as web videos are: truncating it keeps it openable."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w", format="mp4", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return target


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """root/ with a/ (12 files: 10 clips, a copy named .bin, a truncated mp4), b/ (clips, one
    whose name is not UTF-8, text named .mp4, a real clip) and files at the top; 31 candidates
    and 3 non-videos when the shared clips are there, 24 without them."""
    from conftest import SHARED_VIDEOS

    root = tmp_path_factory.mktemp("archive") / "root"
    for sub in ("a", "b"):
        (root / sub).mkdir(parents=True)
    for i in range(10):  # 900 frames each (every one feeds the shot detector): a kill lands mid-batch
        make_video(root / "a" / f"a{i:02d}.mp4", seconds=30, fps=30, size=(96, 64), shots=2 + i % 3, gop=30, seed=i)
    shutil.copy(root / "a" / "a00.mp4", root / "a" / "a-copy.bin")  # an mp4 by content only: found by probing
    data = (root / "a" / "a01.mp4").read_bytes()
    (root / "a" / "a-truncated.mp4").write_bytes(data[: len(data) // 2])  # index (moov) lost
    for i in range(3):
        make_video(root / "b" / f"b{i}.mp4", seconds=6, fps=10, size=(64, 48), shots=2, seed=20 + i)
    make_video(root / "b" / os.fsdecode(b"b-\xff.mp4"), seconds=5, fps=10, size=(64, 48), shots=2, seed=23)  # not UTF-8
    (root / "b" / "b-text.mp4").write_text("this is a text file renamed .mp4\n")
    for i in range(6):
        make_video(root / f"t{i}.mp4", seconds=4 + i, fps=10, size=(80, 48), shots=1 + i % 3, seed=40 + i)
    (root / "zero.mp4").write_bytes(b"")
    whole = faststart_copy(root / "t5.mp4", root / "fs.mp4")
    data = whole.read_bytes()
    whole.unlink()
    (root / "fast-start-truncated.mp4").write_bytes(data[: int(len(data) * 0.6)])  # opens, decoding stops
    (root / "notes.txt").write_text("not a video")
    (root / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "garbage.bin").write_bytes(np.random.default_rng(0).bytes(20_000))
    shared = []
    for name, folder in SHARED:
        if (SHARED_VIDEOS / name).is_file():
            shutil.copy(SHARED_VIDEOS / name, root / folder / Path(name).name)
            shared.append(name)
    return root, shared


@pytest.fixture(scope="module")
def preset(tmp_path_factory, tiny_clip_dir):
    path = tmp_path_factory.mktemp("preset") / "batch.toml"
    path.write_text(
        f'[embed]\nmodel = "{tiny_clip_dir}"\nthreads = 1\nbatch_size = 4\n'
        '[decode]\nfps = 0.5\n[scenes]\ndetector = "content"\n'
    )
    return path


def expected_counts(shared: list[str]) -> dict[str, int]:
    """What a first batch over the archive does: 20 generated clips (a00 and its .bin copy are one
    video) and the shared clips that are there are indexed, every broken file fails."""
    corrupted = "decord/corrupted.mp4" in shared  # a shared clip whose decoding fails
    return {"indexed": 20 + len(shared) - corrupted, "skipped": 1, "failed": 4 + corrupted, "failed_before": 0, "ignored": 3}


def batch_config(preset, store) -> PipelineConfig:
    return PipelineConfig.from_preset(str(preset)).with_overrides({"store": {"path": str(store)}})


@pytest.fixture(scope="module")
def reference(archive, preset, tmp_path_factory):
    """The whole archive indexed once, uninterrupted, with 2 workers: (summary, contents, root)."""
    root, _ = archive
    store = tmp_path_factory.mktemp("reference") / "store"
    summary = index_archive([root], batch_config(preset, store), recursive=True, workers=2)
    with Store.open(store) as s:
        assert s.check().ok
        return summary, store_contents(s), store


def under(contents: dict, folder: Path) -> dict:
    """The part of a store's contents whose files lie in ``folder``."""
    prefix = str(folder) + os.sep
    videos = {d: v for d, v in contents["videos"].items() if v["paths"] and all(p.startswith(prefix) for p in v["paths"])}
    return {"videos": videos, "failures": [f for f in contents["failures"] if f[0].startswith(prefix)]}


def test_a_folder_of_30_files_indexes_with_the_expected_counts(archive, reference, shared_videos):
    root, shared = archive
    assert len(shared) == len(SHARED), "all the shared clips are in the folder"
    summary, contents, store = reference
    counts = summary.counts()
    assert counts == expected_counts(shared) == {"indexed": 26, "skipped": 1, "failed": 5, "failed_before": 0, "ignored": 3}
    assert sum(counts[k] for k in ("indexed", "skipped", "failed")) == 32
    failed = {os.path.relpath(i.path, root): i for i in summary.by_status("failed")}
    assert set(failed) == BROKEN
    assert failed["zero.mp4"].error == "NotAVideoError" and "is empty (0 bytes)" in failed["zero.mp4"].reason
    assert "is not a video file FFmpeg can read" in failed["b/b-text.mp4"].reason
    assert "is not a video file FFmpeg can read" in failed["a/a-truncated.mp4"].reason
    assert failed["corrupted.mp4"].error == "DecodeError" and "28 frames decoded" in failed["corrupted.mp4"].reason
    assert failed["fast-start-truncated.mp4"].error == "DecodeError"
    (skipped,) = summary.by_status("skipped")  # the .bin copy or its original, whichever came second
    assert os.path.basename(skipped.path) in ("a00.mp4", "a-copy.bin")
    assert {os.path.basename(i["path"]) for i in summary.ignored} == {"notes.txt", "cover.png", "garbage.bin"}
    # the store: 26 videos (the copy is one video under two paths), each with one run; failures with reasons
    assert len(contents["videos"]) == 26
    assert all(len(v["runs"]) == 1 and v["runs"][0][1] == "index" for v in contents["videos"].values())
    copy = next(v for v in contents["videos"].values() if any(p.endswith("a-copy.bin") for p in v["paths"]))
    assert [os.path.basename(p) for p in copy["paths"]] == ["a-copy.bin", "a00.mp4"]
    assert {os.path.relpath(f[0], root) for f in contents["failures"]} == BROKEN
    counter = next(v for v in contents["videos"].values() if any(p.endswith("counter.mp4") for p in v["paths"]))
    assert [f[:2] for f in next(iter(counter["frames"].values()))] == [(0, 0.0), (20, 2.0)]  # 0.5 fps over 3 s
    with Store.open(store) as s:
        info = s.info()
        assert info["failures"] == 5 and info["videos"] == 26
    odd = os.path.join(str(root), "b", os.fsdecode(b"b-\xff.mp4"))  # a name that is not UTF-8, stored as it is
    assert any(p == odd for v in contents["videos"].values() for p in v["paths"])


def test_a_second_run_skips_everything_and_retries_only_changed_failures(archive, reference, preset, tmp_path):
    root, shared = archive  # with or without the shared clips (a user's clone has none)
    summary, contents, store = reference
    first = summary.counts()
    assert first == expected_counts(shared)
    config = batch_config(preset, store)
    again = index_archive([root], config, recursive=True, workers=1)
    done = first["indexed"] + first["skipped"]
    assert again.counts() == {"indexed": 0, "skipped": done, "failed": 0, "failed_before": first["failed"], "ignored": 3}
    reasons = {i.path: i.reason for i in again.by_status("failed_before")}
    assert reasons == {f[0]: f[4] for f in contents["failures"]}
    # a failed file that changes is retried; --retry-failed retries the unchanged ones too
    zero = root / "zero.mp4"
    try:
        shutil.copy(root / "b" / "b0.mp4", zero)
        fixed = index_archive([root], config, recursive=True, workers=1)
        assert fixed.counts()["failed_before"] == first["failed"] - 1
        assert [(os.path.basename(i.path), i.status) for i in fixed.items if i.path == str(zero)] == [("zero.mp4", "skipped")]
        retried = index_archive([root / "b"], config, workers=1, retry_failed=True)
        in_b = [i for i in summary.items if os.path.dirname(i.path) == str(root / "b") and i.status != "failed"]
        assert len(in_b) == 4 + ("decord/flipping_a_pancake.mkv" in shared)
        assert retried.counts() == {"indexed": 0, "skipped": len(in_b), "failed": 1, "failed_before": 0, "ignored": 0}
        with Store.open(store) as s:
            assert {os.path.basename(f.path): f.attempts for f in s.failures()}["b-text.mp4"] == 2
            assert "zero.mp4" not in {os.path.basename(f.path) for f in s.failures()}  # indexed after all
    finally:
        zero.write_bytes(b"")


def wait_for(predicate, timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def done_count(store: Path) -> int:
    """Videos stored or recorded as failed, read straight from SQLite (a reader, like any other)."""
    if not (store / "store.sqlite3").exists():
        return 0
    conn = sqlite3.connect(f"file:{store / 'store.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT (SELECT COUNT(*) FROM video_paths) + (SELECT COUNT(*) FROM failures)").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    finally:
        conn.close()


def workers_of(pid: int) -> list[int]:
    """Live index worker processes started by ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"LONGVID_WORKER_PARENT={pid}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    status = (entry / "status").read_text()
                    if "State:\tZ" not in status:
                        found.append(int(entry.name))
            except OSError:
                continue
    return found


def start_batch(folder: Path, preset: Path, store: Path, *extra: str, new_session: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-c", CLI, "index", str(folder), "--preset", str(preset), "--store", str(store), "--json", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, start_new_session=new_session,
                            preexec_fn=_sigint_default if new_session else None)


def _sigint_default() -> None:
    # As in a terminal: a test run started in the background (`cmd &` in a script) ignores SIGINT,
    # and an ignored signal stays ignored across exec, so Ctrl-C would never reach the batch.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to check that no worker outlives its batch")
def test_killed_five_times_at_random_points_then_finished_equals_one_uninterrupted_run(archive, reference, preset, tmp_path):
    root, _ = archive
    folder = root / "a"
    store = tmp_path / "store"
    rng = random.Random(8)
    total = 12  # 10 clips + the copy + the truncated file: each ends as a path or a failure row
    log = []
    for attempt in range(6):
        before = done_count(store)
        proc = start_batch(folder, preset, store, "--workers", "1", new_session=True)
        # kill at a random moment soon after this run has stored its first video: mid-batch even on a
        # fast, idle machine, where a later kill let the batch store the last videos first (12 of 12
        # before the fifth kill: the test then failed for speed, not for a bug)
        target = before + 1
        progressed = wait_for(lambda: done_count(store) >= target or proc.poll() is not None, 240, step_s=0.01)
        time.sleep(rng.uniform(0.0, 0.05))
        finished = proc.poll() is not None
        # the first interruption is a terminal's Ctrl-C (while most of the batch is still to do, so
        # it cannot race the batch's end), the other five SIGKILL
        how = "SIGINT" if attempt == 0 else "SIGKILL"
        if not finished and how == "SIGKILL":
            proc.kill()
        elif not finished:  # Ctrl-C: SIGINT to the process group
            done_at_signal = done_count(store)
            os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert wait_for(lambda: not workers_of(proc.pid), 10), f"workers outlived their batch: {workers_of(proc.pid)}"
        log.append((how, before, done_count(store), finished, proc.returncode))
        assert progressed
        if how == "SIGINT" and not finished:
            assert proc.returncode == 130 and json.loads(out)["interrupted"], (done_at_signal, err)
        with Store.open(store) as s:
            report = s.check()
            assert report.ok, report.problems  # consistent after every interruption
            assert all(f.startswith("segments/") for f in report.orphan_files)  # at most unregistered files
    interrupted_midway = [entry for entry in log if not entry[3] and entry[2] < total]
    assert len(interrupted_midway) >= 5, log
    proc = start_batch(folder, preset, store, "--workers", "2")
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 3, err  # the truncated file is not indexed
    counts = json.loads(out)["counts"]
    assert counts["indexed"] + counts["skipped"] + counts["failed"] + counts["failed_before"] == total
    with Store.open(store) as s:
        assert s.check().ok
        s.gc()
        assert s.check().orphan_files == []
        resumed = store_contents(s)
    expected = under(reference[1], folder)
    assert len(expected["videos"]) == 10 and len(expected["failures"]) == 1
    assert contents_differences(resumed, expected) == []  # vectors bit for bit too


def open_by(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open now (read from /proc: longvid has no test hook)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker and the files it has open in /proc")
def test_a_worker_killed_by_a_signal_fails_its_video_for_this_run_only(preset, tmp_path):
    """SIGKILL from outside (what the OOM killer sends) is not the file's fault: the batch exits 3
    with the video failed, and the next run indexes it without --retry-failed."""
    folder = tmp_path / "videos"
    folder.mkdir()
    video = make_video(folder / "long.mp4", seconds=60, fps=30, size=(96, 64), shots=3, gop=30, seed=5)
    store = tmp_path / "store"
    proc = start_batch(folder, preset, store, "--workers", "1")
    assert wait_for(lambda: workers_of(proc.pid) or proc.poll() is not None, 240)
    (worker,) = workers_of(proc.pid)
    assert wait_for(lambda: open_by(worker, video) or proc.poll() is not None, 240, step_s=0.002)
    os.kill(worker, signal.SIGKILL)  # mid-video: the worker has the file open
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err
    (item,) = json.loads(out)["items"]
    assert (item["status"], item["error"]) == ("failed", "WorkerKilled") and "killed by SIGKILL" in item["reason"]
    assert "run the same command again for those whose worker was killed" in err
    with Store.open(store) as s:
        assert s.videos() == [] and s.check().ok  # nothing half-written
    again = start_batch(folder, preset, store, "--workers", "1")  # no --retry-failed
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert json.loads(out)["counts"] == {"indexed": 1, "skipped": 0, "failed": 0, "failed_before": 0, "ignored": 0}
    with Store.open(store) as s:
        assert s.failures() == [] and len(s.videos()) == 1


def test_two_batches_at_once_on_one_store_with_a_reader_searching(archive, reference, preset, tmp_path, tiny_clip_dir):
    root, _ = archive
    folder = root / "a"
    store = tmp_path / "store"
    procs = [start_batch(folder, preset, store, "--workers", "1") for _ in range(2)]
    reads, errors = [], []
    query = np.ones((1, 16), np.float32) / 4.0

    def reader() -> None:
        while any(p.poll() is None for p in procs):
            try:
                if not (store / "store.sqlite3").exists():
                    continue
                with Store.open(store) as s:
                    model = s._query("SELECT model_id FROM models")
                    if not model:
                        continue
                    found = s.search_archive(model[0][0], query, 5)
                    for hit in found.hits[0]:  # a hit's video is complete: every frame has its vector
                        frames, vectors = s.vectors(hit.video_id, model[0][0])
                        assert len(frames) == len(vectors) == 15
                    reads.append(len(found.hits[0]))
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc))
            time.sleep(0.05)

    thread = threading.Thread(target=reader)
    thread.start()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 3, err  # the truncated file is not indexed
        results.append(json.loads(out)["counts"])
    thread.join()
    assert errors == [] and reads and max(reads) == 5
    # every video was stored by exactly one of the two batches; the other found it done
    assert sum(r["indexed"] for r in results) == 10, results
    with Store.open(store) as s:
        assert s.check().ok
        both = store_contents(s)
        (failure,) = s.failures()
    # the truncated file is recorded once; each batch either tried it (and counts an attempt) or
    # found it already recorded and unchanged (failed_before) - which of the two depends on timing
    assert [r["failed"] + r["failed_before"] for r in results] == [1, 1], results
    assert failure.attempts == sum(r["failed"] for r in results) >= 1
    assert contents_differences(both, under(reference[1], folder)) == []


def test_ray_engine_gives_the_same_store_as_the_local_engine(archive, reference, preset, tmp_path):
    ray = pytest.importorskip("ray")
    root, _ = archive
    folder = root / "b"
    store = tmp_path / "store"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        summary = index_archive([folder], batch_config(preset, store), engine="ray", workers=1)
    finally:
        ray.shutdown()
    assert not ray.is_initialized()
    expected = under(reference[1], folder)
    counts = summary.counts()
    assert counts["failed"] == 1 and counts["indexed"] == len(expected["videos"]) and summary.engine == "ray"
    with Store.open(store) as s:
        assert s.check().ok
        got = store_contents(s)
    assert contents_differences(got, expected) == []
