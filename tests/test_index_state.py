"""One definition of "indexed" (``longvid.indexing.index_state``), shared by ask, search, store info
and their JSON: a cold question (T*) stores a sparse set of frames, which makes the video "partial",
and `search` then indexes the missing frames instead of silently searching the sparse ones.

The shipped tiny CLIP on sample_videos/demo.mp4 (90 s, 10 fps: a 1 fps index is 90 frames).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from cli_run import run_cli

from longvid.config import PipelineConfig
from longvid.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"
QUESTION = "when does the red star jump?"


def tiny_config(store: Path) -> PipelineConfig:
    return PipelineConfig.from_preset("tiny").with_overrides({"store": {"path": str(store)}})


def store_info(store: Path) -> dict:
    code, out, err = run_cli("store", "info", "--store", store, "--json")
    assert code == 0, err
    return json.loads(out)


def test_search_after_a_cold_ask_indexes_the_missing_frames(tmp_path, cli_env):
    from longvid.coverage import index_state
    from longvid.indexing import decode_size, index_settings

    store = tmp_path / "store"
    config = tiny_config(store)
    lines: list[str] = []
    with Pipeline(config) as pipe:
        model = pipe.encoder.model_id
        settings = index_settings(config, decode_size(config, pipe.encoder))
        cold = pipe.ask(DEMO, QUESTION)
        record, _ = pipe.store.video_for_path(DEMO)
        sparse = pipe.store.frames(record.id, model)
        assert cold.config["searched"] == "tstar" and cold.config["index_state"] == "none"
        assert index_state(pipe.store, record.id, model, settings) == index_state(pipe.store, record.id, model) == "partial"
        assert index_state(pipe.store, record.id, "another-model", settings) == "none"
        (video,) = store_info(store)["video_list"]
        assert [(m["state"], m["frames"]) for m in video["index"]] == [("partial", len(sparse))]

        found = pipe.search(DEMO, "a red star", notify=lines.append)
        warm = pipe.ask(DEMO, QUESTION)
        assert index_state(pipe.store, record.id, model, settings) == "indexed"
        other = index_settings(config.with_overrides({"decode": {"fps": 2.0}}), decode_size(config, pipe.encoder))
        assert index_state(pipe.store, record.id, model, other) == "partial"  # a 2 fps question needs more frames
    # every 1 fps sample of the 90 s is searched, not only the frames the cold question embedded
    assert found.indexed_now and found.index_state == "indexed"
    assert found.index.frames_added == found.frames_searched - len(sparse) > 0
    assert found.frames_searched >= 90
    assert lines == [
        f"{DEMO} is only partly indexed with {found.model_id} ({len(sparse)} frames stored, not every frame at 1 fps exact): "
        "indexing the rest first"
    ]
    # the next question reads the full index from the store, and every report agrees on "indexed"
    assert warm.config["searched"] == "store" and warm.config["index_state"] == "indexed"
    assert warm.cost.frames_from_store == found.frames_searched and warm.cost.frames_embedded == 0
    (video,) = store_info(store)["video_list"]
    assert [(m["state"], m["frames"], m["passes"]) for m in video["index"]] == [("indexed", found.frames_searched, ["1 fps exact"])]
    code, out, _ = run_cli("store", "info", "--store", store)
    assert code == 0 and f"{found.model_id}: indexed (1 fps exact), {found.frames_searched} frames" in out


def test_a_partly_indexed_file_that_cannot_be_read_is_searched_with_a_plain_warning(tmp_path, cli_env):
    video = tmp_path / "demo copy.mp4"
    shutil.copyfile(DEMO, video)
    store = tmp_path / "store"
    code, out, err = run_cli("ask", video, QUESTION, "--preset", "tiny", "--store", store, "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["index_state"] == "none"
    stored = store_info(store)["video_list"][0]["index"][0]["frames"]
    video.unlink()  # nothing left to index the rest from

    code, out, err = run_cli("search", video, "a red star", "--model", "tiny", "--store", store, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["index_state"] == "partial" and not found["indexed_now"] and found["frames_searched"] == stored
    assert "only partly indexed" in err and "the moments may miss parts of the video" in err
    code, out, err = run_cli("search", video, "a red star", "--model", "tiny", "--store", store)
    assert code == 0 and f"{stored} frames searched (partly indexed)" in out


def test_ask_takes_an_index_with_other_settings_as_partial(tmp_path):
    store = tmp_path / "store"
    with Pipeline(tiny_config(store).with_overrides({"decode": {"fps": 0.5}})) as pipe:
        pipe.index(DEMO)  # 45 frames at 0.5 fps: not every frame a 1 fps question needs
    with Pipeline(tiny_config(store)) as pipe:
        answer = pipe.ask(DEMO, QUESTION)
    assert answer.config["index_state"] == "partial" and answer.config["searched"] == "tstar"
    assert answer.cost.frames_from_store == 45  # the stored frames start the search warm
    times = np.asarray(answer.timeline.timestamps_s)
    assert np.all(np.diff(times) > 0) and times.size > 45
