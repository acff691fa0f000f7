"""Decode contract tests on the real clips (../shared/videos), parametrized over every backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from longvid.decode import BACKENDS, open_video, probe
from longvid.errors import BackendUnavailableError, DecodeError, InvalidArgumentError
from longvid.types import Frame

pytestmark = pytest.mark.shared


@pytest.fixture(params=BACKENDS.names())
def backend(request) -> str:
    try:
        BACKENDS.get(request.param)
    except BackendUnavailableError as exc:
        pytest.skip(f"backend {request.param!r} not importable here: {exc}")
    return request.param


def packet_pts_s(path, stream_index=None) -> list[float]:
    """Oracle independent of decoding: sorted packet pts from the demuxer."""
    import av

    with av.open(str(path)) as c:
        s = c.streams[stream_index] if stream_index is not None else c.streams.video[0]
        tb = s.time_base
        return sorted(float(p.pts * tb) for p in c.demux(s) if p.size and p.pts is not None)


def test_counter_1fps_gives_frames_at_0_1_2(shared_video, backend):
    with open_video(shared_video("pyscenedetect/counter.mp4"), backend) as r:
        frames = list(r.iter_frames(fps=1.0))
        assert [f.pts_s for f in frames] == pytest.approx([0.0, 1.0, 2.0], abs=1e-6)
        # "Frame = 1, 11, 21" on screen: 0-based indices 0, 10, 20
        assert [f.index for f in frames] == [0, 10, 20]
        assert all(isinstance(f, Frame) and f.source == "uniform" for f in frames)
        assert 21 <= r.frames_decoded <= 30  # one forward pass (single GOP), never a re-decode
        img = frames[0].image
        assert img.dtype == np.uint8 and img.shape == (1080, 1920, 3) and img.flags["C_CONTIGUOUS"]


def test_every_frame_and_target_dedup(shared_video, backend):
    path = shared_video("pyscenedetect/counter.mp4")
    with open_video(path, backend) as r:
        every = list(r.iter_frames(fps=None, size=64))
        assert [f.index for f in every] == list(range(30))
        # 25 fps on a 10 fps clip: several targets share a frame; each frame comes once
        dense = list(r.iter_frames(fps=25.0, size=64))
        assert [f.index for f in dense] == list(range(30))
        # 4 fps: targets 0, .25, .5, .75 ... -> frames on screen 0, 2, 5, 7, 10, ...
        four = [f.index for f in r.iter_frames(fps=4.0, size=64)]
        assert four == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27]


def test_nasa_stream3_pts_and_reference_pixels(shared_video, backend):
    from PIL import Image

    path = shared_video("torchcodec/nasa_13013.mp4")
    ref = json.loads((path.parent / "nasa_13013.mp4.stream3.all_frames_info.json").read_text())
    with open_video(path, backend, stream_index=3) as r:
        assert (r.info.width, r.info.height, r.info.stream_index) == (480, 270, 3)
        frames = list(r.iter_frames(fps=None))
    assert len(frames) == len(ref) == 390
    assert [f.pts_s for f in frames] == pytest.approx([float(x["pts_time"]) for x in ref], abs=2e-6)
    refs = {
        0: "nasa_13013.mp4.stream3.frame000000.png",
        180: "nasa_13013.mp4.time6.000000.png",  # frame 180 (MANIFEST: compare by index)
        389: "nasa_13013.mp4.stream3.frame000389.png",
    }
    for index, name in refs.items():
        expected = np.asarray(Image.open(path.parent / "ref_frames" / name).convert("RGB"))
        got = frames[index].image
        assert got.shape == expected.shape
        if backend == "pyav":
            assert np.array_equal(got, expected), f"frame {index} differs from {name}"
        else:
            # decord converts YUV->RGB with its own FFmpeg build/flags: same picture, not bit-exact
            assert np.abs(got.astype(int) - expected).mean() < 2.0


def test_default_stream_is_best_video_and_stream_choice(shared_video, backend):
    path = shared_video("torchcodec/nasa_13013.mp4")
    assert probe(path, backend).stream_index == 3
    if backend == "decord":
        # capability decord lacks: it reads only the default stream, and says so
        with pytest.raises(InvalidArgumentError, match="decord reads only the default video stream #3"):
            probe(path, backend, stream_index=0)
        return
    info0 = probe(path, backend, stream_index=0)
    assert (info0.width, info0.height, info0.fps) == (320, 180, 25.0)
    with pytest.raises(InvalidArgumentError, match="stream #1 is audio"):
        probe(path, backend, stream_index=1)


def test_vfr_timestamps_follow_the_stream(shared_video, backend):
    path = shared_video("pyscenedetect/goldeneye-vfr-drop3.mp4")
    info = probe(path, backend)
    assert info.is_vfr and info.frame_count == 160
    with open_video(path, backend) as r:
        pts = [f.pts_s for f in r.iter_frames(fps=None, size=32)]
    assert pts == pytest.approx(packet_pts_s(path), abs=2e-6)
    gaps = np.round(np.diff(pts) * 24000 / 1001).astype(int)  # in frame periods of 23.976 fps
    assert set(gaps.tolist()) >= {1, 2}  # dropped frames show as double gaps: not index / fps


def test_start_offset_is_kept(shared_video, backend):
    path = shared_video("pyscenedetect/delayed_start.mp4")
    info = probe(path, backend)
    assert info.start_s == pytest.approx(1.075, abs=1e-6)
    with open_video(path, backend) as r:
        frames = list(r.iter_frames(fps=None, size=32))
        assert frames[0].pts_s == pytest.approx(1.075, abs=1e-6)
        assert [f.pts_s for f in frames] == pytest.approx(packet_pts_s(path), abs=2e-6)
        sampled = [f.pts_s for f in r.iter_frames(fps=5.0, size=32)]
    assert sampled == pytest.approx([1.075 + 0.2 * k for k in range(5)], abs=1e-6)


def test_out_of_order_pts_come_out_in_presentation_order(shared_video, backend):
    with open_video(shared_video("decord/unordered.mov"), backend) as r:
        frames = list(r.iter_frames(fps=None))
    assert [f.pts_s for f in frames] == pytest.approx([0.0, 0.03125, 0.0625, 0.09375])
    assert [f.index for f in frames] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "name, display", [("decord/video_90.mov", (320, 568)), ("pyscenedetect/issue-134-rotate.mp4", (544, 1280))]
)
def test_rotation_gives_display_orientation(shared_video, backend, name, display):
    path = shared_video(name)
    info = probe(path, backend)
    assert (info.width, info.height) == display and info.rotation == 90
    with open_video(path, backend) as r:
        frame = next(iter(r.iter_frames(fps=1.0)))
        assert frame.image.shape == (display[1], display[0], 3)
        small = next(iter(r.iter_frames(fps=1.0, size=100)))
        assert small.image.shape[1] == 100  # shorter side is the display width


def test_rotation_matches_ffmpeg_autorotate(shared_video, backend, tmp_path):
    import shutil
    import subprocess

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg command not installed (it is the independent rotation oracle)")
    path = shared_video("decord/video_90.mov")
    out = tmp_path / "f0.rgb"
    subprocess.run([ffmpeg, "-v", "error", "-i", str(path), "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "rawvideo", str(out)], check=True)
    expected = np.fromfile(out, np.uint8).reshape(568, 320, 3)
    with open_video(path, backend) as r:
        got = next(iter(r.iter_frames(fps=None))).image
    assert np.abs(got.astype(int) - expected).mean() < 2.0


def test_corrupted_file_yields_good_frames_then_raises(shared_video, backend):
    got = []
    with open_video(shared_video("decord/corrupted.mp4"), backend) as r:
        with pytest.raises(DecodeError) as err:
            for f in r.iter_frames(fps=None, size=32):
                got.append(f)
    e = err.value
    assert len(got) == e.frames_decoded >= 20
    assert e.stopped_at_s == pytest.approx(got[-1].pts_s)
    assert "corrupted.mp4" in str(e) and "\n" not in str(e)


def test_frames_at_matches_sequential_decode(shared_video, backend):
    path = shared_video("torchcodec/nasa_13013.mp4")
    with open_video(path, backend) as r:
        every = {f.index: f for f in r.iter_frames(fps=None, size=96)}
        times = [12.5, 6.0, 0.0, 6.0, 3.337, 9.99, 100.0, -1.0]
        got = r.frames_at(times, size=96)
    by_pts = sorted(every.values(), key=lambda f: f.pts_s)
    for t, f in zip(times, got):
        on_screen = [x for x in by_pts if x.pts_s <= t + 1e-5] or by_pts[:1]
        want = on_screen[-1]
        assert f.index == want.index and f.pts_s == pytest.approx(want.pts_s) and f.source == "at"
        assert np.array_equal(f.image, want.image)
    assert got[1].index == 179  # MANIFEST: the frame on screen at 6.0 s is 179


def test_frames_at_keyframe_times_decode_only_keyframes():
    """Times whose on-screen frame is a keyframe (a coarse search pass) skip the pictures between
    keyframes: same frames as a full decode, a small fraction of the decoding."""
    path = Path(__file__).resolve().parents[1] / "sample_videos" / "demo.mp4"  # 2 s GOPs, 10 fps
    with open_video(path, "pyav") as r:
        every = sorted(r.iter_frames(fps=None, size=64), key=lambda f: f.pts_s)
        full = r.frames_decoded
    with open_video(path, "pyav") as r:
        keys = r.packet_scan().key_pts_s
        times = keys[::3] + [keys[5] + 0.05]  # keyframe times, and one still showing keyframe 5
        got = r.frames_at(times, size=64)
        cost = r.frames_decoded
    pts = np.array([f.pts_s for f in every])
    for t, f in zip(times, got):
        want = every[max(0, int(np.searchsorted(pts, t + 1e-6, side="right")) - 1)]
        assert f.index == want.index and f.is_keyframe and np.array_equal(f.image, want.image)
    assert full == 900 and cost <= len(keys) + 4  # ~one decode per keyframe, not ~10 per time


def test_frames_at_nearby_times_decode_forward_without_reseek(shared_video, backend):
    path = shared_video("torchcodec/nasa_13013.mp4")
    with open_video(path, backend) as r:
        before = r.frames_decoded
        r.frames_at([9.0, 9.1, 9.2, 9.3], size=32)
        cost = r.frames_decoded - before
    # keyframe at 8.008 s: 9.3 s is ~39 frames later; a re-seek per time would cost ~4x that
    assert cost <= 45


def test_keyframe_mode(shared_video, backend):
    path = shared_video("torchcodec/nasa_13013.mp4")
    import av

    with av.open(str(path)) as c:
        s = c.streams[3]
        key_pts = sorted(float(p.pts * s.time_base) for p in c.demux(s) if p.size and p.is_keyframe)
    with open_video(path, backend) as r:
        frames = list(r.iter_frames(fps=None, mode="keyframes", size=64))
        assert r.frames_decoded == len(key_pts)
        every = {f.pts_s: f.index for f in r.iter_frames(fps=None, size=16)}
    assert [f.pts_s for f in frames] == pytest.approx(key_pts)
    assert all(f.is_keyframe and f.source == "keyframe" for f in frames)
    assert [f.index for f in frames] == [every[min(every, key=lambda p: abs(p - f.pts_s))] for f in frames]


def test_sizes(shared_video, backend):
    with open_video(shared_video("pyscenedetect/counter.mp4"), backend) as r:
        assert next(iter(r.iter_frames(size=224))).image.shape == (224, 398, 3)
        for size, shape in [((100, 50), (50, 100, 3)), (57, (57, 101, 3)), ((101, 51), (51, 101, 3))]:
            image = next(iter(r.iter_frames(size=size))).image
            assert image.shape == shape and image.flags["C_CONTIGUOUS"]  # no row padding
            assert image.mean() > 5  # a real picture, not an empty buffer


def test_start_end_window_uses_the_same_grid(shared_video, backend):
    with open_video(shared_video("pyscenedetect/counter.mp4"), backend) as r:
        frames = list(r.iter_frames(fps=1.0, start_s=0.5, end_s=2.5, size=32))
        assert [(f.index, f.pts_s) for f in frames] == [(10, pytest.approx(1.0)), (20, pytest.approx(2.0))]
        window = list(r.iter_frames(fps=None, start_s=1.05, end_s=1.35, size=32))
        assert [f.index for f in window] == [11, 12, 13]


class _Recorder:
    analysis_size = 64

    def __init__(self):
        self.seen, self.finished = [], None

    def observe(self, pts_s, index, image):
        self.seen.append((pts_s, index, image.shape))

    def finish(self, last_pts_s):
        self.finished = last_pts_s


def test_observer_sees_every_decoded_frame(shared_video, backend):
    rec = _Recorder()
    with open_video(shared_video("pyscenedetect/counter.mp4"), backend) as r:
        sampled = list(r.iter_frames(fps=1.0, size=32, observer=rec))
    assert len(sampled) == 3
    assert [i for _, i, _ in rec.seen] == list(range(30))
    assert all(shape == (36, 64, 3) for _, _, shape in rec.seen)
    assert rec.finished == pytest.approx(2.9)


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        ({"fps": 0}, "fps = 0"),
        ({"fps": -1.0}, "fps = -1.0"),
        ({"fps": float("nan")}, "fps = nan"),
        ({"size": 1}, "size = 1"),
        ({"size": "big"}, "size = 'big'"),
        ({"mode": "fast"}, "mode = 'fast'"),
        ({"start_s": 2.0, "end_s": 1.0}, "end_s = 1.0"),
        ({"observer": object()}, "observer = "),
    ],
)
def test_bad_arguments_fail_up_front(shared_video, backend, kwargs, bad):
    with open_video(shared_video("pyscenedetect/counter.mp4"), backend) as r:
        with pytest.raises(InvalidArgumentError, match=bad.replace("(", r"\(").replace("[", r"\[")):
            r.iter_frames(**kwargs)
        assert r.frames_decoded == 0


def test_avi_with_bframes_gets_regular_times_in_output_order(shared_video, backend):
    """AVI stores no presentation times: its pts number packets in decode order, so with B-frames
    they come out scrambled; frames then get start + index / fps in display order."""
    path = shared_video("opencv/vtest_SDA.avi")
    with open_video(path, backend) as r:
        every = list(r.iter_frames(fps=None, size=32))
        assert len(every) == 795
        assert [f.pts_s for f in every[:4]] == pytest.approx([0.0, 0.1, 0.2, 0.3])
        assert all(b.pts_s > a.pts_s for a, b in zip(every, every[1:]))
        got = r.frames_at([30.05, 55.55], size=32)
    assert [f.index for f in got] == [300, 555]
    assert all(np.array_equal(f.image, every[f.index].image) for f in got)


@pytest.mark.parametrize("name", ["torchcodec/av1_video.mkv", "torchcodec/h265_video.mp4", "torchcodec/h264_10bits.mp4"])
def test_codec_variety_decodes_or_fails_clearly(shared_video, backend, name):
    from longvid.errors import UnsupportedCodecError

    path = shared_video(name)
    if backend == "decord" and name.endswith("av1_video.mkv"):
        # decord's FFmpeg build has no AV1 decoder: a typed error that points to pyav
        with pytest.raises(UnsupportedCodecError, match="decord cannot decode its av1 video stream"):
            open_video(path, backend)
        return
    with open_video(path, backend) as r:
        frames = list(r.iter_frames(fps=None, size=32))
    assert [f.pts_s for f in frames] == pytest.approx(packet_pts_s(path), abs=2e-6)
    assert all(f.image.dtype == np.uint8 and f.image.shape[0] == 32 for f in frames)


class _Exploding(_Recorder):
    def observe(self, pts_s, index, image):
        if index == 5:
            raise RuntimeError("observer bug at frame 5")
        super().observe(pts_s, index, image)


def test_observer_errors_and_early_stop(shared_video, backend):
    import threading

    path = shared_video("pyscenedetect/counter.mp4")
    with open_video(path, backend) as r:
        with pytest.raises(RuntimeError, match="observer bug at frame 5"):
            for _ in r.iter_frames(fps=None, size=16, observer=_Exploding()):
                pass
        rec = _Recorder()
        frames = r.iter_frames(fps=1.0, size=16, observer=rec)
        next(frames)
        frames.close()  # the consumer stops early: the pass ends cleanly
        assert rec.finished is not None and 1 <= len(rec.seen) < 30
        assert [i for _, i, _ in rec.seen] == list(range(len(rec.seen)))  # in order, none skipped
        assert len(list(r.iter_frames(fps=1.0, size=16))) == 3  # the reader is still usable
    assert not [t for t in threading.enumerate() if t.name == "longvid-observers"]
