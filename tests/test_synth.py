"""The synthetic video generator: exact ground truth, determinism, planner guarantees, bad input."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.synth import (
    SCHEMA,
    GroundTruth,
    generate_video,
    plan_needle_video,
    plan_video,
    render_frame,
    truth_path,
)
from longvid.synth.pixels import colour_mask, find_problems
from longvid.synth.shapes import shape_mask



def decode_all(path) -> list[tuple[float, np.ndarray]]:
    """Every frame with its time, straight from PyAV (an independent check of the timestamps)."""
    import av

    with av.open(str(path)) as container:
        return [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 30 s clip dense with events (cuts, fades, every action), decoded once."""
    spec = plan_video(11, 30, events_per_minute=24, scene_s=(5, 12), fade_probability=0.6)
    path = tmp_path_factory.mktemp("synth") / "clip.mp4"
    truth = generate_video(path, spec)
    return spec, path, truth, decode_all(path)


def test_clip_has_what_the_test_needs(clip):
    spec, path, truth, frames = clip
    assert len(frames) == spec.frame_count == 300
    assert {c["kind"] for c in truth.cuts} == {"cut", "fade"}
    assert len(truth.events) >= 8
    assert len({e.action for e in truth.events}) >= 4
    assert truth_path(path).is_file()


def test_frames_sit_at_exact_times(clip):
    _, _, truth, frames = clip
    assert [t for t, _ in frames] == [v / 10 for v in range(300)]
    event = truth.events[0]
    assert event.start_s == event.start_frame / 10 and event.end_s == event.end_frame / 10
    assert [v.t_s for v in event.visible] == [i / 10 for i in range(event.start_frame, event.end_frame)]


def test_objects_are_where_the_ground_truth_says(clip):
    """Frames decoded (longvid.decode) at the listed times show each object in its listed box; no
    frame shows an object colour where nothing is listed, nor an object just before or at the end
    of its event."""
    from longvid.decode import open_video

    _, path, truth, _ = clip
    wanted = sorted({v.frame for e in truth.events for v in e.visible}
                    | {i for e in truth.events for i in (e.start_frame - 1, e.end_frame) if 0 <= i < truth.video["frame_count"]})
    times = [i / truth.fps for i in wanted]
    with open_video(path) as reader:
        frames = reader.frames_at(times)
    assert [f.index for f in frames] == wanted
    assert [f.pts_s for f in frames] == pytest.approx(times, abs=1e-6)
    assert find_problems(truth, {f.index: f.image for f in frames}) == []


def test_the_pixel_check_catches_wrong_truth(clip):
    """The same check fails when an event is one frame late or its boxes are 20 px off."""
    _, _, truth, frames = clip
    event = next(e for e in truth.events if e.start_frame > 0)
    decoded = {i: frames[i][1] for i in range(event.start_frame - 1, min(event.end_frame + 1, len(frames)))}
    late = dataclasses.replace(
        event, start_frame=event.start_frame + 1, end_frame=event.end_frame + 1,
        visible=tuple(dataclasses.replace(v, frame=v.frame + 1) for v in event.visible),
    )
    moved = dataclasses.replace(
        event, visible=tuple(dataclasses.replace(v, box=(v.box[0] + 20, v.box[1], v.box[2] + 20, v.box[3])) for v in event.visible)
    )
    for wrong in (late, moved):
        bad = dataclasses.replace(truth, events=[wrong if e is event else e for e in truth.events])
        assert any(event.id in p for p in find_problems(bad, decoded))
    dropped = dataclasses.replace(truth, events=[e for e in truth.events if e is not event])
    assert any("where no object is listed" in p for p in find_problems(dropped, decoded))


def test_ground_truth_json_round_trip(clip):
    _, path, truth, _ = clip
    data = json.loads(truth_path(path).read_text())
    assert data["schema"] == SCHEMA and data["video"]["file"] == "clip.mp4"
    again = GroundTruth.load(truth_path(path))
    assert again.to_dict() == truth.to_dict()
    assert len(data["vocabulary"]["colours"]) >= 6 and len(data["vocabulary"]["shapes"]) >= 5


def test_questions_are_answerable(clip):
    _, _, truth, _ = clip
    assert truth.qa
    by_id = {e.id: e for e in truth.events}
    for item in truth.qa:
        event = by_id[item.event_id]
        assert item.gold_span_s == (event.start_s, event.end_s)
        assert item.answer in item.options and item.options[item.answer] == item.answer_text
        assert all(event.contains(t) for t in item.keyframe_timestamps_s)
        assert item.frame_indexes_video == tuple(truth.frame_at(t) for t in item.keyframe_timestamps_s)
        assert f"{event.colour} {event.shape}" in item.question
        if item.question.startswith("when"):
            # Unambiguous: no other event of this combination does this action.
            assert sum(e.combo == event.combo and e.action == event.action for e in truth.events) == 1


def test_same_seed_same_bytes(tmp_path):
    a = generate_video(tmp_path / "a.mp4", 5, duration_s=4)
    b = generate_video(tmp_path / "b.mp4", 5, duration_s=4)
    c = generate_video(tmp_path / "c.mp4", 6, duration_s=4)
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()
    assert (tmp_path / "a.mp4").read_bytes() != (tmp_path / "c.mp4").read_bytes()
    assert a.events == b.events
    assert not list(tmp_path.glob(".*partial*"))


def test_fractional_frame_rate_and_size(tmp_path):
    spec = plan_video(3, 2, width=160, height=90, fps="30000/1001")
    generate_video(tmp_path / "ntsc.mkv", spec)
    frames = decode_all(tmp_path / "ntsc.mkv")
    assert len(frames) == spec.frame_count == 60
    assert frames[0][1].shape == (90, 160, 3)
    for i, (t, _) in enumerate(frames):
        assert abs(t - float(Fraction(i * 1001, 30000))) < 1e-3  # matroska stores milliseconds
        assert spec.time_s(i) == float(Fraction(i * 1001, 30000))


@pytest.mark.parametrize("seed", range(8))
def test_needle_planner_guarantees(seed):
    spec = plan_needle_video(seed, 600, needles=1 + seed % 3)
    needles = [o for o in spec.objects if o.role == "needle"]
    others = [o for o in spec.objects if o.role != "needle"]
    assert len(needles) == 1 + seed % 3
    assert len(others) >= 20
    needle_combos = {o.combo for o in needles}
    assert len(needle_combos) == len(needles)
    assert not any(o.combo in needle_combos for o in others)
    for n in needles:
        assert 2.0 <= (n.end_frame - n.start_frame) / 10 <= 5.0
    hard = [o for o in others if any(o.colour == n.colour or o.shape == n.shape for n in needles)]
    if len(needles) == 1:  # half drawn from the 9 hard combos, half from all 29: about 0.66 expected
        assert 0.45 <= len(hard) / len(others) <= 0.85
    scenes = spec.scenes
    for obj in spec.objects:
        lo, hi = scenes[obj.scene_index].steady
        assert lo <= obj.start_frame and obj.end_frame <= hi  # never in a fade or across a cut
        boxes = obj.boxes()
        assert boxes[:, :2].min() >= 0 and boxes[:, 2].max() <= spec.width and boxes[:, 3].max() <= spec.height
    # No two objects on screen at once overlap.
    for i, a in enumerate(spec.objects):
        for b in spec.objects[i + 1 :]:
            lo, hi = max(a.start_frame, b.start_frame), min(a.end_frame, b.end_frame)
            if lo < hi:
                ba = a.boxes()[lo - a.start_frame : hi - a.start_frame]
                bb = b.boxes()[lo - b.start_frame : hi - b.start_frame]
                apart = (ba[:, 2] <= bb[:, 0]) | (bb[:, 2] <= ba[:, 0]) | (ba[:, 3] <= bb[:, 1]) | (bb[:, 3] <= ba[:, 1])
                assert apart.all()


def test_hours_long_plans_stream(tmp_path):
    """A 2-hour plan is instant and any frame renders on its own: nothing holds the whole video."""
    spec = plan_needle_video(1, 7200)
    assert spec.frame_count == 72000 and len(spec.scenes) > 100
    needle = next(o for o in spec.objects if o.role == "needle")
    middle = (needle.start_frame + needle.end_frame) // 2
    image = render_frame(spec, middle)
    x0, y0, x1, y1 = needle.boxes()[middle - needle.start_frame]
    assert colour_mask(image, needle.colour)[y0:y1, x0:x1].mean() > 0.3
    assert len(json.dumps(spec.to_dict())) < 2_000_000


def test_bad_input_is_refused_up_front(tmp_path):
    with pytest.raises(InvalidArgumentError, match="width = 321"):
        plan_video(1, 10, width=321)
    with pytest.raises(InvalidArgumentError, match="fps = 0"):
        plan_video(1, 10, fps=0)
    with pytest.raises(InvalidArgumentError, match="duration_s = -1"):
        plan_needle_video(1, -1)
    with pytest.raises(InvalidArgumentError, match="clip.avi"):
        generate_video(tmp_path / "clip.avi", 1, duration_s=1)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        generate_video(tmp_path / "missing" / "clip.mp4", 1, duration_s=1)
    with pytest.raises(InvalidArgumentError, match="leaves no room"):
        plan_needle_video(1, 1.5)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * float(np.log10(255.0**2 / mse))


def test_shipped_samples_regenerate_frame_for_frame(tmp_path):
    """sample_videos/demo.mp4 and its ground truth come back from the shipped seed.

    Decoded, not byte for byte: x264's bitstream depends on the CPU's instruction set (with the
    same libraries and threads=1, its AVX-512 code paths write demo.mp4 40 bytes shorter than its
    AVX/AVX2 ones, which wrote the shipped file), so bytes match only on a CPU like the one that
    encoded it. Everywhere: the same truth (bar the encoder versions it records), the same frame
    times, and every frame of both files within encoding noise of the frame the seed renders."""
    import importlib.util

    import av

    from longvid.synth.render import iter_frames

    repo = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("sample_generate", repo / "sample_videos" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plan = module.sample_specs()["demo"]
    truth = generate_video(tmp_path / "demo.mp4", plan)
    shipped, regenerated = (json.loads(p.read_text()) for p in (repo / "sample_videos" / "demo.json", tmp_path / "demo.json"))
    assert shipped["video"].pop("encoder").startswith("PyAV ") and regenerated["video"].pop("encoder").startswith("PyAV ")
    assert regenerated == shipped
    worst = {"shipped": float("inf"), "regenerated": float("inf")}
    with av.open(str(repo / "sample_videos" / "demo.mp4")) as a, av.open(str(tmp_path / "demo.mp4")) as b:
        rendered = iter_frames(plan)
        for n, (fa, fb) in enumerate(zip(a.decode(video=0), b.decode(video=0), strict=True)):
            index, image = next(rendered)
            assert index == n and fa.pts * fa.time_base == fb.pts * fb.time_base == Fraction(n) / plan.rate
            worst["shipped"] = min(worst["shipped"], psnr(fa.to_ndarray(format="rgb24"), image))
            worst["regenerated"] = min(worst["regenerated"], psnr(fb.to_ndarray(format="rgb24"), image))
    assert n + 1 == plan.frame_count and next(rendered, None) is None
    assert min(worst.values()) > 30.0, worst  # crf 26: 33.7 dB at worst; the frame one step off: 18.4 dB
    assert [(n.colour, n.shape, n.action) for n in truth.needles] == [("red", "star", "jump")]
