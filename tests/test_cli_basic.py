"""`longvid info` / `longvid scenes` on real clips, and the bad-input matrix: every bad input is
one line on stderr naming the file and the problem, a non-zero exit, and no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from longvid.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"


@pytest.fixture
def cli(capfd, monkeypatch):
    """Run the CLI in-process; (exit code, stdout, stderr) at the file-descriptor level, so that
    anything FFmpeg prints by itself would show up too."""
    monkeypatch.delenv("LONGVID_DEBUG", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capfd.readouterr()
        return code, out, err

    return run


# --- bad inputs ---------------------------------------------------------------------------------


def _audio_only(path):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=16000, layout="mono")
        t = np.arange(16000, dtype=np.float32) / 16000
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _undecodable(path):
    """A real AVI whose video stream FFmpeg demuxes but cannot decode: the a64 encoder (Commodore
    64 charsets) exists in Debian's ffmpeg, a decoder for it exists nowhere."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("the ffmpeg command is needed to make a stream without a decoder")
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=320x200:r=10:d=0.3", "-c:v", "a64multi", str(path)],
        check=True,
    )
    return path


@pytest.fixture
def bad_inputs(tmp_path, shared_videos):
    """name -> (path, expected exit code, words the message must contain)."""
    empty = tmp_path / "empty.mp4"
    empty.touch()
    text = tmp_path / "notes.mp4"
    text.write_text("these are meeting notes, not a video\n" * 20)
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    return {
        "missing": (tmp_path / "nope.mp4", 2, "no such file"),
        "directory": (folder, 2, "is a directory"),
        "zero-byte": (empty, 2, "is empty (0 bytes)"),
        "text renamed .mp4": (text, 2, "is not a video file FFmpeg can read"),
        "audio only": (_audio_only(tmp_path / "tone.mp4"), 2, "has no video stream (audio (aac))"),
    }


def _assert_one_line_error(code, out, err, path, words, expected_code):
    assert code == expected_code, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # nothing else on stderr (no traceback, no FFmpeg chatter)
    assert lines[0].startswith("error: ") and str(path) in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["info", "scenes"])
@pytest.mark.parametrize("case", ["missing", "directory", "zero-byte", "text renamed .mp4", "audio only"])
def test_bad_input_is_one_clear_line(cli, bad_inputs, command, case):
    path, expected_code, words = bad_inputs[case]
    code, out, err = cli(command, str(path))
    _assert_one_line_error(code, out, err, path, words, expected_code)
    assert out == ""


@pytest.mark.parametrize("command", ["info", "scenes"])
def test_unsupported_codec(cli, tmp_path, command):
    path = _undecodable(tmp_path / "c64.avi")
    code, out, err = cli(command, str(path))
    _assert_one_line_error(code, out, err, path, "uses a codec this FFmpeg build cannot decode", 2)


def test_codec_the_chosen_backend_cannot_decode(cli, shared_video):
    pytest.importorskip("decord", reason="decord not installed")
    path = shared_video("torchcodec/av1_video.mkv")
    code, out, err = cli("info", str(path), "--backend", "decord")
    _assert_one_line_error(code, out, err, path, "decord cannot decode its av1 video stream", 2)
    assert "use the pyav backend" in err
    assert cli("info", str(path), "--json")[0] == 0  # the default backend decodes it


def test_damaged_file_reports_where_it_stopped(cli, shared_video):
    path = shared_video("decord/corrupted.mp4")
    code, out, err = cli("scenes", str(path), "--json")
    _assert_one_line_error(code, out, err, path, "decoding stopped after 2.700 s (28 frames decoded", 1)
    partial = json.loads(out)  # the part that decoded is still printed, marked incomplete
    assert partial["complete"] is False and partial["stopped_at_s"] == pytest.approx(2.7)
    assert partial["frames_decoded"] == 28 and partial["scenes"][-1]["end_frame"] == 28


def test_debug_env_shows_the_traceback(cli, monkeypatch, tmp_path):
    from longvid.errors import VideoNotFoundError

    monkeypatch.setenv("LONGVID_DEBUG", "1")
    with pytest.raises(VideoNotFoundError):
        main(["info", str(tmp_path / "nope.mp4")])


def test_bad_option_values(cli, shared_video):
    path = str(shared_video("pyscenedetect/counter.mp4"))
    code, _, err = cli("scenes", path, "--detector", "histogram")
    assert code == 2 and "unknown scene detector 'histogram'" in err and "adaptive, content, threshold" in err
    code, _, err = cli("scenes", path, "--threshold", "-3")
    assert code == 2 and "threshold = -3.0 is invalid" in err
    code, _, err = cli("scenes", path, "--json", "--csv")
    assert code == 2 and "--json and --csv" in err
    code, _, err = cli("info", path, "--backend", "gstreamer")
    assert code == 2 and "unknown decode backend 'gstreamer'" in err


# --- good inputs ----------------------------------------------------------------------------------


def test_info_json(cli, shared_video):
    code, out, err = cli("info", str(shared_video("torchcodec/nasa_13013.mp4")), "--json")
    assert code == 0 and err == ""
    info = json.loads(out)
    assert info["stream_index"] == 3 and (info["width"], info["height"]) == (480, 270)
    assert info["frame_count"] == 390 and info["frame_count_exact"] is True
    assert info["keyframe_interval_s"] == pytest.approx(8.008)
    assert [s["kind"] for s in info["streams"]] == ["video", "audio", "subtitle", "video", "audio", "subtitle"]
    code, out, _ = cli("info", str(shared_video("torchcodec/nasa_13013.mp4")), "--json", "--stream", "0")
    assert json.loads(out)["width"] == 320


def test_info_backends_and_missing_video(cli):
    code, out, _ = cli("info", "--backends", "--json")
    assert code == 0 and json.loads(out)["pyav"] is True and "decord" in json.loads(out)
    code, _, err = cli("info")
    assert code == 2 and err.startswith("error: no VIDEO given")


def test_info_table_for_people(cli, shared_video):
    code, out, _ = cli("info", str(shared_video("pyscenedetect/issue-134-rotate.mp4")))
    assert code == 0
    assert "544x1280" in out and "90° clockwise" in out and "0:00:10.010" in out


def test_scenes_json_csv_and_table(cli, shared_video):
    path = str(shared_video("pyscenedetect/goldeneye-vfr-drop3.mp4"))
    code, out, err = cli("scenes", path, "--detector", "content", "--json")
    assert code == 0 and err == ""  # no progress bar when printing JSON
    doc = json.loads(out)
    assert doc["complete"] is True and doc["detector"] == "content" and doc["threshold"] == 27.0
    starts = [s["start_s"] for s in doc["scenes"]]
    assert starts == pytest.approx([0.0, 3.754, 8.759], abs=0.042)
    code, out, _ = cli("scenes", path, "-d", "content", "--csv")
    rows = out.strip().splitlines()
    assert rows[0] == "scene,start_s,end_s,start_frame,end_frame,duration_s" and len(rows) == 4
    assert rows[2].startswith("1,3.75")  # numbered from 0, as in --json, moments and answers
    code, out, _ = cli("scenes", path, "-d", "content", "--min-scene-len", "200")
    assert code == 0 and "1 scene " in out  # the second cut is closer than 200 frames


def test_info_takes_several_files(cli, tmp_path):
    demo, needle = SAMPLES / "demo.mp4", SAMPLES / "needle.mp4"
    code, out, err = cli("info", str(demo), str(needle))
    assert code == 0 and err == ""
    assert out.count("file ") == 2 and str(demo) in out and str(needle) in out
    assert "0:01:30.000" in out and "0:02:00.000" in out
    code, out, _ = cli("info", str(demo), str(needle), "--json")
    assert code == 0 and [(v["path"], v["frame_count"]) for v in json.loads(out)] == [(str(demo), 900), (str(needle), 1200)]
    # a bad file among good ones: the good ones are described, each bad one is one line, exit 2
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    code, out, err = cli("info", str(demo), str(tmp_path / "nope.mp4"), str(text))
    assert code == 2 and "0:01:30.000" in out
    lines = err.splitlines()
    assert len(lines) == 2 and "nope.mp4: no such file" in lines[0] and f"{text}: is not a video file" in lines[1]


def test_scenes_are_numbered_from_0_everywhere(cli):
    """`longvid scenes` (table, CSV, JSON) numbers scenes as moments and answers do: from 0."""
    path = str(SAMPLES / "scenes.mp4")
    code, out, _ = cli("scenes", path, "--json")
    indexes = [s["index"] for s in json.loads(out)["scenes"]]
    assert code == 0 and indexes[0] == 0 and len(indexes) > 3
    code, out, _ = cli("scenes", path, "--csv")
    assert [int(row.split(",")[0]) for row in out.strip().splitlines()[1:]] == indexes
    code, out, _ = cli("scenes", path)
    table = [line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2 and line.split("│")[1].strip().isdigit()]
    assert [int(n) for n in table] == indexes


def test_help_is_light():
    """`longvid --help` must not import the decoders (or torch)."""
    code = (
        "import sys; from longvid.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('av', 'cv2', 'decord', 'torch', 'longvid.decode', 'longvid.scenes') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
