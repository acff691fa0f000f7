"""Scene detection: PySceneDetect goldens on the real clips (one decode pass per clip for all
detectors), single-pass sharing with sampling, the building blocks, and embedding splits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longvid.decode import open_video
from longvid.errors import InvalidArgumentError
from longvid.scenes import DETECTORS, Cut, detect_scenes, make_detector, scenes_from_cuts, similarity_cuts
from longvid.scenes.base import MinLengthMerge
from longvid.scenes.content import SCORE_ERROR, HSVScores
from longvid.scenes.similarity import scenes_from_embeddings

DETECTOR_CLASS = {"content": "ContentDetector", "adaptive": "AdaptiveDetector", "threshold": "ThresholdDetector"}


def run_all(path):
    """All three detectors fed by ONE decode pass; returns ({name: detector}, frames decoded)."""
    dets = {name: make_detector(name) for name in DETECTOR_CLASS}
    with open_video(path) as r:
        decoded = r.observe(list(dets.values()))
        assert decoded == r.info.frame_count  # every frame once
    for d in dets.values():
        d.finish()
    return dets


@pytest.fixture(scope="session")
def testvideo(shared_videos):
    return run_all(shared_videos / "pyscenedetect/testvideo.mp4")


@pytest.fixture(scope="session")
def fades(shared_videos):
    return run_all(shared_videos / "pyscenedetect/fades.mp4")


def golden(shared_videos, clip, name):
    path = shared_videos / "pyscenedetect/goldens" / f"{clip}.{DETECTOR_CLASS[name]}.default.json"
    return json.loads(path.read_text())["cuts"]


def assert_cuts(got: list[Cut], want: list[int]):
    got_idx = [c.index for c in got]
    assert len(got_idx) == len(want), (got_idx, want)
    assert all(abs(g - w) <= 1 for g, w in zip(got_idx, want)), (got_idx, want)


@pytest.mark.parametrize("name", ["content", "adaptive", "threshold"])
def test_testvideo_goldens(testvideo, shared_videos, name):
    want = golden(shared_videos, "testvideo.mp4", name)
    assert want == {"content": [30, 180, 394], "adaptive": [30, 180, 394, 691], "threshold": [15, 198, 377]}[name]
    assert_cuts(testvideo[name].cuts, want)


@pytest.mark.parametrize("name", ["content", "adaptive", "threshold"])
def test_fades_goldens(fades, shared_videos, name):
    want = golden(shared_videos, "fades.mp4", name)
    assert want == ([84, 167] if name == "threshold" else [])
    assert_cuts(fades[name].cuts, want)


def test_vfr_content_cuts_at_golden_times(shared_video):
    scenes = detect_scenes(shared_video("pyscenedetect/goldeneye-vfr-drop3.mp4"), "content")
    frame = 1001 / 24000
    assert [s.start_s for s in scenes[1:]] == pytest.approx([3.754, 8.759], abs=frame)
    assert scenes[0].start_s == 0.0 and scenes[0].end_s == scenes[1].start_s
    assert scenes[-1].end_s == pytest.approx(9.968, abs=0.05) and scenes[-1].end_frame == 160


@pytest.mark.parametrize(
    "clip", ["intel/one-by-one-person-detection.mp4", "intel/car-detection.mp4", "opencv/vtest_SDA.avi"]
)
def test_single_shot_clips_have_no_cuts(shared_video, clip):
    dets = {name: make_detector(name) for name in ("content", "adaptive")}
    with open_video(shared_video(clip)) as r:
        r.observe(list(dets.values()))
        end_s = r.info.end_s
    for name, d in dets.items():
        assert d.cuts == [], (name, d.cuts)
        scenes = d.scenes()
        assert len(scenes) == 1 and scenes[0].end_s == pytest.approx(end_s, abs=0.2)


def test_scenes_ride_along_with_1fps_sampling_in_one_pass(shared_video):
    path = shared_video("pyscenedetect/testvideo.mp4")
    det = make_detector("adaptive")
    with open_video(path) as r:
        frames = list(r.iter_frames(fps=1.0, size=64, observer=det))
        assert r.frames_decoded == 720  # the same single pass
        assert len(frames) == 25 and frames[0].image.shape[0] == 64
        scenes = det.scenes(end_s=r.info.end_s)
    assert [s.start_frame for s in scenes] == [0, 30, 180, 394, 691]
    assert scenes[-1].end_frame == 720 and scenes[-1].end_s == pytest.approx(24.024, abs=1e-3)


def test_reference_scores_equal_pyscenedetect(testvideo, shared_videos):
    """Re-checked scores are PySceneDetect's exactly; cheap ones stay within the safety margin."""
    scenedetect = pytest.importorskip("scenedetect", reason="PySceneDetect (dev extra) is the oracle here")
    from scenedetect.detectors import ContentDetector as PySDContent

    video = scenedetect.open_video(str(shared_videos / "pyscenedetect/testvideo.mp4"), backend="pyav")
    manager = scenedetect.SceneManager(scenedetect.StatsManager())
    manager.add_detector(PySDContent())
    manager.detect_scenes(video)
    ref = []
    for i in range(1, 720):
        tc = scenedetect.FrameTimecode(i, fps=video.frame_rate)
        ref.append(manager.stats_manager.get_metrics(tc, ["content_val"])[0])
    ref = np.array(ref)
    ours = np.frombuffer(testvideo["content"].scores, dtype=np.float64)[1:]
    refined = np.abs(ours - ref) < 1e-9
    near = np.abs(ref - 27.0) <= 2.0
    assert near.any() and refined[near].all()  # every close call was decided on PySceneDetect's numbers
    assert testvideo["content"].refined >= near.sum()
    assert np.abs(ours - ref).max() < SCORE_ERROR  # cheap scores stay inside the assumed error


class _BothPictures:
    """Records the cheap analysis picture and the reference picture of every frame."""

    analysis_size = 256
    reference_size = 256
    wants_source = True

    def __init__(self):
        self.cheap, self.ref = HSVScores(), HSVScores()
        self.cheap_scores, self.ref_scores = [], []

    def observe(self, pts_s, index, image, source):
        self.cheap_scores.append(self.cheap.cheap(index, image, None))
        self.ref_scores.append(self.ref.cheap(index, source(), None))


@pytest.mark.parametrize(
    "clip",
    ["pyscenedetect/counter.mp4", "pyscenedetect/fades.mp4", "pyscenedetect/goldeneye-vfr-drop3.mp4", "torchcodec/nasa_13013.mp4"],
)
def test_cheap_scores_stay_within_the_assumed_error(shared_video, clip):
    """Detectors trust cheap scores farther than SCORE_ERROR from a threshold (1080p, 480x320,
    1280x544, 480x270: integer and fractional downscale factors)."""
    rec = _BothPictures()
    with open_video(shared_video(clip)) as r:
        r.observe(rec)
    err = np.abs(np.array(rec.cheap_scores) - np.array(rec.ref_scores))
    assert err.max() < SCORE_ERROR, err.max()


def test_min_length_merge_filter():
    f = MinLengthMerge(3)
    above = [False, True, False, False, False, True, True, True, True, True, False, False, False, True]
    out = [f.filter(i, a) for i, a in enumerate(above)]
    # 1: too close to the start, dropped; 5: a cut; 6..9: a flashing run too close to 5, merged
    # and emitted at its last above-threshold frame (9) once it lasted 3 frames and 3 calm
    # frames followed; 13: only 4 frames after 9 but the merge is over -> a cut
    assert {i: o for i, o in enumerate(out) if o} == {5: [5], 12: [9], 13: [13]}
    g = MinLengthMerge(3)
    single = [g.filter(i, a) for i, a in enumerate([False, False, False, True, True, False, False, False, False])]
    assert [o for o in single if o] == [[3]]  # a lone flash right after a cut is suppressed
    assert MinLengthMerge(0).filter(5, True) == [5]


def test_scenes_from_cuts_tiles_the_video():
    scenes = scenes_from_cuts([Cut(30, 1.0), (90, 3.0), (500, 20.0)], end_frame=120, end_s=4.0)
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, 30), (30, 90), (90, 120)]
    assert [(s.start_s, s.end_s) for s in scenes] == [(0.0, 1.0), (1.0, 3.0), (3.0, 4.0)]
    assert [s.index for s in scenes] == [0, 1, 2] and scenes[1].duration_s == 2.0
    assert scenes_from_cuts([], end_frame=10, end_s=1.0)[0].end_frame == 10


def test_similarity_cuts():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 16))
    emb = np.concatenate([c + 0.05 * rng.normal(size=(n, 16)) for c, n in zip(centers, (5, 7, 4))])
    times = np.arange(len(emb), dtype=float)
    assert similarity_cuts(emb, times, threshold=0.8) == [5, 12]
    assert similarity_cuts(emb, times, method="adaptive") == [5, 12]
    assert similarity_cuts(emb, times, threshold=0.8, min_scene_s=10) == [12]
    # a slow drift never drops enough between neighbours: no cut
    drift = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 1.5, 40)])
    assert similarity_cuts(drift, method="adaptive") == []
    scenes = scenes_from_embeddings(emb, times, list(range(0, 160, 10)), end_s=16.0, end_frame=160, threshold=0.8)
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, 50), (50, 120), (120, 160)]
    with pytest.raises(InvalidArgumentError, match="method = 'x'"):
        similarity_cuts(emb, method="x")
    with pytest.raises(InvalidArgumentError, match="times_s has 2 values"):
        similarity_cuts(emb, [0.0, 1.0])


def test_detector_registry_and_bad_arguments():
    assert DETECTORS.names() == ["adaptive", "content", "threshold"]
    with pytest.raises(InvalidArgumentError, match="unknown scene detector 'hist'.*adaptive, content, threshold"):
        make_detector("hist")
    with pytest.raises(InvalidArgumentError, match="threshold = -1"):
        make_detector("content", threshold=-1)
    with pytest.raises(InvalidArgumentError, match="min_scene_len = 2.5"):
        make_detector("adaptive", min_scene_len=2.5)
    with pytest.raises(InvalidArgumentError, match="window_width = 0"):
        make_detector("adaptive", window_width=0)
    with pytest.raises(InvalidArgumentError, match="fade_bias = 2"):
        make_detector("threshold", fade_bias=2)
    assert make_detector("content").threshold == 27.0
    assert make_detector("adaptive").threshold == 3.0 and make_detector("threshold").threshold == 12.0


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_detect_scenes_on_either_backend(shared_video, backend):
    from longvid.decode import BACKENDS
    from longvid.errors import BackendUnavailableError

    try:
        BACKENDS.get(backend)
    except BackendUnavailableError as exc:
        pytest.skip(f"backend {backend!r} not importable here: {exc}")
    scenes = detect_scenes(shared_video("pyscenedetect/goldeneye-vfr-drop3.mp4"), "content", backend=backend)
    assert [s.start_s for s in scenes[1:]] == pytest.approx([3.754, 8.759], abs=1001 / 24000)
