"""The index pipeline on small real videos with tiny open_clip models: what is stored, no-op
re-indexing, renamed copies, model mismatch, keyframe mode, added frames, SIGKILL midway."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from tiny_clip import make_video, tiny_clip_dir, tiny_clip_dir_b  # noqa: F401

from longvid.config import PipelineConfig
from longvid.decode import open_video
from longvid.embed import load_encoder
from longvid.errors import DecodeError, ModelMismatchError
from longvid.indexing import add_frames, index_video, search_video, with_overrides
from longvid.store import Store


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("videos") / "three-shots.mp4", seconds=12, fps=10, shots=3)


def config(store, model, **flags):
    return with_overrides(PipelineConfig(), model=str(model), store=str(store), detector="content", **flags)


def segment_files(root):
    return sorted((p.name, p.stat().st_mtime_ns) for p in root.rglob("*.faiss"))


def test_one_pass_stores_the_right_vectors_scenes_and_times(tmp_path, video, tiny_clip_dir):
    cfg = config(tmp_path / "store", tiny_clip_dir)
    result = index_video(video, cfg)
    assert not result.noop and result.frames_added == 12 and result.frames_total == 12
    assert result.frames_decoded == 120 and result.scenes == 3  # every frame fed the shot detector
    encoder = load_encoder(str(tiny_clip_dir))
    with open_video(video) as reader:  # the same frames, decoded and encoded separately
        frames = list(reader.iter_frames(fps=1.0, size=result.settings["size"]))
    expected = encoder.encode_images(frames)
    with Store.open(tmp_path / "store") as store:
        stored, vectors = store.vectors(result.video_id, encoder.model_id)
        np.testing.assert_allclose(stored.pts_s, [f.pts_s for f in frames])
        assert stored.frame_index.tolist() == [f.index for f in frames] == list(range(0, 120, 10))
        np.testing.assert_allclose(vectors, expected, atol=1e-5)
        assert stored.scene_index.tolist() == [0] * 4 + [1] * 4 + [2] * 4
        assert [(s.start_s, s.end_s) for s in store.scenes(result.video_id, encoder.model_id)] == [(0, 4), (4, 8), (8, 12)]
        assert store.check().ok


def test_reindexing_an_unchanged_file_is_a_noop(tmp_path, video, tiny_clip_dir):
    cfg = config(tmp_path / "store", tiny_clip_dir)
    first = index_video(video, cfg)
    files = segment_files(tmp_path / "store")
    again = index_video(video, cfg)
    assert again.noop and again.frames_added == 0 and again.frames_decoded == 0
    assert again.video_id == first.video_id and again.frames_total == 12
    assert segment_files(tmp_path / "store") == files
    with Store.open(tmp_path / "store") as store:
        assert len(store.runs(first.video_id)) == 1


def test_renamed_copy_is_recognised_and_changed_bytes_are_not(tmp_path, video, tiny_clip_dir):
    cfg = config(tmp_path / "store", tiny_clip_dir)
    first = index_video(video, cfg)
    copy = tmp_path / "moved" / "holiday.mp4"
    copy.parent.mkdir()
    shutil.copy(video, copy)
    again = index_video(copy, cfg)
    assert again.noop and again.video_id == first.video_id
    with Store.open(tmp_path / "store") as store:
        assert set(store.get_video(first.video_id).paths) == {str(video), str(copy)}
    edited = make_video(tmp_path / "edited.mp4", seconds=12, fps=10, shots=3, seed=1)
    other = index_video(edited, cfg)
    assert not other.noop and other.video_id != first.video_id


def test_model_mismatch_is_refused_and_changes_nothing(tmp_path, video, tiny_clip_dir, tiny_clip_dir_b):
    cfg = config(tmp_path / "store", tiny_clip_dir)
    first = index_video(video, cfg)
    a, b = load_encoder(str(tiny_clip_dir)), load_encoder(str(tiny_clip_dir_b))
    assert (a.dim, b.dim) == (16, 24)

    class Impostor:  # B's 24-d vectors under A's model id (a user encoder with a stale id)
        model_id, dim = a.model_id, b.dim
        encode_images, encode_text = b.encode_images, b.encode_text

    before = segment_files(tmp_path / "store")
    with pytest.raises(ModelMismatchError, match="stored with 16-dimensional vectors, got 24"):
        index_video(video, with_overrides(cfg, fps=2.0), encoder=Impostor())
    with pytest.raises(ModelMismatchError):
        search_video(video, "a red square", config=cfg, encoder=Impostor())
    assert segment_files(tmp_path / "store") == before
    # model B under its own id: its own vectors next to A's
    second = index_video(video, config(tmp_path / "store", tiny_clip_dir_b))
    assert not second.noop and second.video_id == first.video_id
    with Store.open(tmp_path / "store") as store:
        assert store.indexed_models(first.video_id) == sorted([a.model_id, b.model_id])
        assert store.vectors(first.video_id, b.model_id)[1].shape == (12, 24)
        assert store.check().ok


def test_keyframe_mode_decodes_keyframes_only(tmp_path, video, tiny_clip_dir):
    result = index_video(video, config(tmp_path / "store", tiny_clip_dir, mode="keyframes"))
    assert result.frames_decoded == 12 and result.frames_added == 12  # GOP of 10 frames at 10 fps
    with Store.open(tmp_path / "store") as store:
        frames = store.frames(result.video_id, result.model_id)
        assert set(frames.source) == {"keyframe"}
        assert frames.frame_index.tolist() == list(range(0, 120, 10))
        assert store.runs(result.video_id)[0].settings["mode"] == "keyframes"


def test_added_frames_extend_an_index_without_rewriting_it(tmp_path, video, tiny_clip_dir):
    cfg = config(tmp_path / "store", tiny_clip_dir)
    first = index_video(video, cfg)
    before = segment_files(tmp_path / "store")
    more = add_frames(video, [3.25, 3.5, 4.15, 5.05], cfg)
    assert more.frames_added == 3 and more.frames_total == 15  # the frame at 5.05 s (pts 5.0) was stored already
    after = segment_files(tmp_path / "store")
    assert set(before) < set(after) and len(after) == len(before) + 1
    with Store.open(tmp_path / "store") as store:
        frames = store.frames(first.video_id, first.model_id)
        refined = frames.source == "refined"
        assert frames.frame_index[refined].tolist() == [32, 35, 41]
        assert frames.scene_index[refined].tolist() == [0, 0, 1]
        assert store.check().ok


def test_damaged_video_stores_nothing(tmp_path, shared_video, tiny_clip_dir):
    broken = shared_video("decord/corrupted.mp4")
    with pytest.raises(DecodeError) as info:
        index_video(broken, config(tmp_path / "store", tiny_clip_dir))
    assert info.value.frames_decoded > 0  # it says where it stopped
    with Store.open(tmp_path / "store") as store:
        assert store.info()["videos"] == 0 and store.check().ok


KILLED_RUN = textwrap.dedent(
    """
    import sys
    from longvid.config import PipelineConfig
    from longvid.embed import load_encoder
    from longvid.indexing import index_video, with_overrides

    video, model, store = sys.argv[1:4]
    inner = load_encoder(model, batch_size=4)

    class Reporting:  # the real encoder, announcing each batch so the test knows the run is midway
        model_id, dim, batch_size = inner.model_id, inner.dim, 4
        def encode_images(self, images):
            out = inner.encode_images(images)
            print("batch", flush=True)
            return out
        def encode_text(self, texts):
            return inner.encode_text(texts)

    cfg = with_overrides(PipelineConfig(), model=model, store=store, fps=5.0, detector="content")
    index_video(video, cfg, encoder=Reporting())
    print("finished", flush=True)
    """
)


def test_sigkill_midway_leaves_the_store_as_it_was(tmp_path, tiny_clip_dir):
    long_video = make_video(tmp_path / "long.mp4", seconds=60, fps=10, shots=4)
    root = tmp_path / "store"
    index_video(make_video(tmp_path / "other.mp4", seconds=4, shots=2, seed=3), config(root, tiny_clip_dir))
    with Store.open(root) as store:
        before = store.info()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(long_video), str(tiny_clip_dir), str(root)],
        stdout=subprocess.PIPE, text=True, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    lines = [proc.stdout.readline() for _ in range(5)]
    assert lines == ["batch\n"] * 5  # decoding and encoding are under way (75 batches in all)
    proc.kill()
    assert proc.wait() == -9
    with Store.open(root) as store:
        report = store.check()
        assert report.ok and report.orphan_files == []
        assert store.info() == before  # no partial video, not a byte more
        assert store.video_for_path(long_video)[0] is None
    done = index_video(long_video, config(root, tiny_clip_dir, fps=5.0))
    assert done.frames_added == 300


def test_progress_bar_with_eta(tmp_path, video, tiny_clip_dir, capsys):
    import io

    from rich.console import Console

    from longvid.progress import ProgressBar, progress_bar

    assert type(progress_bar("quiet", 10.0, enabled=False)).__name__ == "_Off"
    buf = io.StringIO()
    with ProgressBar("indexing a.mp4", 100.0, unit="s", console=Console(file=buf, force_terminal=True, width=140)) as bar:
        bar.update(completed=50.0, frames=25)
    out = buf.getvalue()
    assert "indexing a.mp4" in out and "50%" in out and "ETA" in out and "frames 25" in out
    index_video(video, config(tmp_path / "store", tiny_clip_dir), progress=True)
    err = capsys.readouterr().err
    assert f"indexing {video.name}" in err and "100%" in err and "frames 12" in err
