"""Finding videos in folders: extensions where they settle it, a PyAV container probe where they
do not (a .bin that is really an mp4 is found; random bytes, text, audio are not)."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from tiny_clip import make_video

from longvid.archive.discover import discover
from longvid.errors import InvalidArgumentError, VideoNotFoundError


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("disc") / "clip.mp4", seconds=1, fps=5, size=(32, 32), shots=1)


def audio_only(path):
    """An AAC-in-MP4 file without video (written with PyAV)."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def folder(tmp_path, clip):
    root = tmp_path / "archive"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    shutil.copy(clip, root / "a.mp4")
    shutil.copy(clip, root / "really-an-mp4.bin")  # found by probing, not by name
    shutil.copy(clip, root / "NO_EXTENSION")
    shutil.copy(clip, root / "sub" / "b.MKV")  # any case; an mp4 named .mkv is still a candidate
    shutil.copy(clip, root / "sub" / "deeper" / "c.mov")
    shutil.copy(clip, root / ".hidden" / "d.mp4")
    shutil.copy(clip, root / ".dotfile.mp4")
    (root / "empty.mp4").write_bytes(b"")  # a video by name: indexing it says what is wrong
    (root / "text.mp4").write_text("not a video")
    (root / "notes.txt").write_text("notes")
    (root / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "random.bin").write_bytes(np.random.default_rng(0).bytes(4096))
    (root / "empty.dat").write_bytes(b"")
    audio_only(root / "voice.dat")
    os.mkfifo(root / "pipe")  # never opened: it would block
    return root


def test_extensions_decide_cheaply_and_the_probe_decides_the_rest(folder):
    found = discover([folder])
    names = [os.path.relpath(p, folder) for p in found.videos]
    assert names == ["NO_EXTENSION", "a.mp4", "empty.mp4", "really-an-mp4.bin", "text.mp4"]
    ignored = {os.path.relpath(p, folder): why for p, why in found.ignored}
    assert ignored == {
        "cover.png": "not a video (.png file)",
        "notes.txt": "not a video (.txt file)",
        "empty.dat": "empty file",
        "random.bin": "not a media file FFmpeg recognises",
        "voice.dat": "no video stream (audio)",
    }
    assert found.probed == 4  # NO_EXTENSION, really-an-mp4.bin, random.bin, voice.dat


def test_recursive_walks_subfolders_but_not_hidden_ones(folder):
    found = discover([folder], recursive=True)
    names = {os.path.relpath(p, folder) for p in found.videos}
    assert {"sub/b.MKV", "sub/deeper/c.mov"} <= names
    assert not any(n.startswith(".") or "/." in n for n in names)
    assert len(names) == 7


def test_named_files_are_always_candidates_and_duplicates_count_once(folder):
    found = discover([folder / "notes.txt", folder / "a.mp4", folder, folder / "a.mp4"])
    assert str(folder / "notes.txt") in found.videos  # named explicitly: indexing it will say why not
    assert found.videos.count(str(folder / "a.mp4")) == 1


def test_symlink_cycles_and_the_store_folder_are_not_walked(folder):
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "store").mkdir()
    shutil.copy(folder / "a.mp4", folder / "store" / "inside-store.mp4")
    found = discover([folder], recursive=True, exclude=[folder / "store"])
    names = [os.path.relpath(p, folder) for p in found.videos]
    assert len(names) == len(set(os.path.realpath(os.path.join(folder, n)) for n in names))  # every file once
    assert not any(n.startswith("store") for n in names)


def test_bad_arguments_fail_before_any_work(tmp_path, folder):
    with pytest.raises(VideoNotFoundError, match=f"{tmp_path / 'nope'}: no such file or folder"):
        discover([folder, tmp_path / "nope"])
    with pytest.raises(InvalidArgumentError, match="no files or folders given"):
        discover([])


def test_unreadable_folder_is_reported_not_fatal(folder):
    if os.geteuid() == 0:
        pytest.skip("root reads every folder")
    locked = folder / "sub"
    locked.chmod(0)
    try:
        found = discover([folder], recursive=True)
    finally:
        locked.chmod(0o755)
    assert any(p == str(locked) and "cannot be read" in why for p, why in found.ignored)


def test_ffprobe_agrees_on_the_probed_files(folder):
    """The probe's verdicts match FFmpeg's own tool (a peer check, not a re-implementation)."""
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe not installed")
    for name, has_video in [("really-an-mp4.bin", True), ("NO_EXTENSION", True), ("voice.dat", False), ("random.bin", False)]:
        out = subprocess.run([ffprobe, "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", str(folder / name)],
                             capture_output=True, text=True)
        assert ("video" in out.stdout.split()) == has_video, name
