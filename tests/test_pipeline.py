"""`Pipeline.ask` / `longvid ask` end to end: store path, cold T* path, LLM answerer, checks first.

Encoders are tiny open_clip models with random weights (mechanics, not quality: the shipped tiny
model's quality is tested in test_tiny_clip*.py); video LLMs are tiny random-weight models of every
family (tests/tiny_vlms.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from tiny_clip import tiny_clip_dir  # noqa: F401  (session fixture)
from tiny_vlms import FAMILIES, tiny_vlm_folder

from longvid.config import PipelineConfig
from longvid.errors import InvalidArgumentError, LongvidError, ModelNotFoundError, NoVideoStreamError
from longvid.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory):
    return lambda family: tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", family)


def make_config(tmp_path: Path, encoder: Path, **sections) -> PipelineConfig:
    base = {"embed": {"model": str(encoder)}, "store": {"path": str(tmp_path / "store")}, "answer": {"answerer": "grounding"}}
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return PipelineConfig().with_overrides(base)


# --- store path and cold (T*) path -----------------------------------------------------------------


def test_indexed_video_is_answered_from_the_store_without_decoding(tmp_path, tiny_clip_dir):
    config = make_config(tmp_path, tiny_clip_dir, search={"frames": 6, "strategy": "topk"})
    with Pipeline(config) as pipe:
        indexed = pipe.index(DEMO)
        answer = pipe.ask(DEMO, "when does the red star jump?")
    assert answer.config["searched"] == "store"
    assert answer.cost.frames_decoded == 0 and answer.cost.frames_embedded == 0
    assert answer.cost.frames_from_store == indexed.frames_total == 90  # 90 s at 1 fps
    times = [e.pts_s for e in answer.evidence]
    assert len(times) == 6 and times == sorted(set(times))
    assert answer.timeline is not None and len(answer.timeline.timestamps_s) == 90
    stored = set(np.round(answer.timeline.timestamps_s, 6))
    assert set(np.round(times, 6)) <= stored  # selected frames are stored frames
    assert answer.moments and answer.moments[0].score == max(m.score for m in answer.moments)
    # random weights: whatever the verdict, the text names the best moment and says how it matches
    from longvid.grounding import describe_moment

    opening = "Best match: " if answer.match.verdict == "clear" else "No clear match. The closest moment is "
    assert answer.text.startswith(opening + describe_moment(answer.moments[0]))
    best = answer.moments[0]
    assert best.start_s <= best.peak_s <= best.end_s


def test_cold_video_uses_tstar_and_warms_the_store(tmp_path, tiny_clip_dir):
    config = make_config(tmp_path, tiny_clip_dir, search={"frames": 4})
    with Pipeline(config) as pipe:
        first = pipe.ask(DEMO, "a red star")
        store = pipe.store
        record, _ = store.video_for_path(DEMO)
        stored = store.frames(record.id, pipe.encoder.model_id)
        second = pipe.ask(DEMO, "a blue circle")
    assert first.config["searched"] == "tstar"
    # T* embeds only part of what a 1 fps index would (90 frames), and stores every frame it embedded
    assert 0 < first.cost.frames_embedded < 90
    assert len(stored) == first.cost.frames_embedded
    assert set(stored.source) == {"refined"}
    assert first.cost.frames_decoded >= first.cost.frames_embedded
    # the next question starts from those frames: fewer new embeddings, the rest from the store
    assert second.config["searched"] == "tstar"
    assert second.cost.frames_from_store == len(stored)
    assert second.cost.frames_embedded < first.cost.frames_embedded
    assert len(second.evidence) == 4


def test_keep_frames_gives_pictures_for_the_report(tmp_path, tiny_clip_dir):
    config = make_config(tmp_path, tiny_clip_dir, search={"frames": 3})
    with Pipeline(config) as pipe:
        pipe.index(DEMO)
        answer = pipe.ask(DEMO, "a green square", keep_frames=True)
    assert [f.pts_s for f in answer.frames] == pytest.approx([e.pts_s for e in answer.evidence], abs=0.051)
    assert all(min(f.image.shape[:2]) <= 180 for f in answer.frames)
    assert "frames" not in answer.to_dict()
    html = answer.to_html()
    assert html.count('<figure class="thumb') == 3


# --- LLM answerer, every family, through the CLI --------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_ask_cli_with_each_llm_family_on_a_real_clip(family, tmp_path, tiny_clip_dir, tiny_vlm_dir, shared_video):
    clip = shared_video("decord/flipping_a_pancake.mkv")
    model = tiny_vlm_dir(family)
    code, out, err = run_cli(
        "ask", str(clip), "what is being flipped?", "--encoder", str(tiny_clip_dir), "--model", str(model),
        "--store", str(tmp_path / "store"), "--frames", "4", "--tokens", "24", "--answerer", "llm", "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["answerer"] == "llm"
    assert isinstance(data["text"], str)
    assert len(data["evidence"]) == 4
    cost = data["cost"]
    account = data["token_account"]
    assert account["budget"] == 24 and account["tokens_native"] == cost["tokens_before"] > 24
    # exactly the budget, unless merging near-duplicate frames left fewer tokens than that
    assert cost["tokens_after"] == min(24, account["tokens_after_merge"]) == account["tokens_kept"]
    assert sum(e["tokens"] for e in data["evidence"]) == cost["tokens_after"]
    assert cost["frames_decoded"] > 0 and cost["seconds"]["total"] > 0
    assert data["config"]["llm"]["model"] == str(model)
    assert data["moments"] and {"start_s", "end_s", "score", "peak_s", "scene_index"} <= set(data["moments"][0])


def test_ask_cli_human_output_has_answer_moments_and_account(tmp_path, tiny_clip_dir):
    code, out, err = run_cli(
        "ask", str(DEMO), "when does the red star jump?", "--preset", "tiny", "--encoder", str(tiny_clip_dir),
        "--store", str(tmp_path / "store"), "--frames", "5", "--answerer", "grounding",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(("Best match: ", "No clear match. The closest moment is "))
    assert "moments" in out
    account = lines[-1]
    assert account.startswith("frames: ") and "5 selected (tstar)" in account and "total" in account


def test_report_flag_writes_the_html_report(tmp_path, tiny_clip_dir):
    report = tmp_path / "r.html"
    code, out, err = run_cli(
        "ask", str(DEMO), "a red star", "--preset", "tiny", "--encoder", str(tiny_clip_dir),
        "--store", str(tmp_path / "store"), "--frames", "3", "--report", str(report),
    )
    assert code == 0, err
    page = report.read_text()
    assert page.count('<figure class="thumb') == 3 and 'id="timeline"' in page


# --- every check comes before any model is loaded --------------------------------------------------


def _weightless_copy(folder: Path, tmp_path: Path) -> Path:
    """A model folder without its weights: anything that reached loading would fail differently."""
    target = tmp_path / "no-weights"
    shutil.copytree(folder, target)
    (target / "model.safetensors").unlink()
    return target


@pytest.mark.parametrize(
    "args, expected",
    [
        (["   "], "the query is empty"),
        (["x" * 10_001], "10,001 characters"),
        (["where?", "--tokens", "0"], "tokens.budget = 0 is invalid"),
        (["where?", "--frames", "0"], "search.frames = 0 is invalid"),
        (["where?", "--tokens", "100000"], "does not fit model"),
        (["where?", "--answerer", "oracle"], "answer.answerer = 'oracle' is invalid"),
        (["where?", "--preset", "nope"], "unknown preset 'nope'"),
    ],
)
def test_bad_ask_input_is_one_line_before_any_model_loads(args, expected, tmp_path, tiny_vlm_dir):
    model = _weightless_copy(tiny_vlm_dir("llava_onevision"), tmp_path)
    question, *flags = args
    code, out, err = run_cli(
        "ask", str(DEMO), question, "--model", str(model), "--encoder", "open_clip:not-a-model/none",
        "--store", str(tmp_path / "store"), "--answerer", "llm", *flags,
    )
    assert code == 2, err
    assert err.startswith("error: ") and expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_unknown_llm_and_video_without_video_stream_fail_before_loading(tmp_path):
    config = PipelineConfig().with_overrides(
        {"llm": {"model": str(tmp_path / "missing-model")}, "embed": {"model": "open_clip:not-a-model/none"},
         "store": {"path": str(tmp_path / "store")}}
    )
    pipe = Pipeline(config)
    with pytest.raises(ModelNotFoundError, match="missing-model"):
        pipe.ask(DEMO, "what happens?")
    audio = tmp_path / "audio.m4a"
    _write_audio_only(audio)
    with pytest.raises(NoVideoStreamError, match="audio.m4a"):
        pipe.ask(audio, "what happens?")
    assert pipe._encoder is None and pipe._llm is None  # nothing was loaded


def _write_audio_only(path: Path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 1024), np.float32)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_caller_supplied_stages_replace_the_defaults(tmp_path, tiny_clip_dir):
    from longvid.types import Selection

    calls = {}

    def first_frames(times, scores, budget, scenes):
        calls["n"] = len(times)
        return Selection(tuple(float(t) for t in times[:budget]), tuple(float(s) for s in scores[:budget]), "first")

    config = make_config(tmp_path, tiny_clip_dir, search={"frames": 2})
    with Pipeline(config, selector=first_frames, decoupler=lambda q: ["red", "star"]) as pipe:
        pipe.index(DEMO)
        answer = pipe.ask(DEMO, "when does the red star jump?")
    assert calls["n"] == 90
    assert [e.pts_s for e in answer.evidence] == [0.0, 1.0]
    assert answer.config["texts"] == ["red", "star"]


def test_pipeline_from_preset_and_overrides():
    pipe = Pipeline.from_preset("tiny", {"search": {"frames": 7}})
    assert pipe.config.preset == "tiny" and pipe.config.embed.model == "tiny" and pipe.config.search.frames == 7
    with pytest.raises(InvalidArgumentError, match="unknown setting search.nope"):
        Pipeline.from_preset("tiny", {"search": {"nope": 1}})
    assert issubclass(InvalidArgumentError, LongvidError)


def test_one_call_api(tmp_path, tiny_clip_dir):
    import longvid

    overrides = {"embed": {"model": str(tiny_clip_dir)}, "store": {"path": str(tmp_path / "store")}, "search": {"frames": 3}}
    indexed = longvid.index_video(DEMO, preset="tiny", overrides=overrides)
    answer = longvid.ask(DEMO, "a red star", preset="tiny", overrides=overrides)
    found = longvid.search_video(DEMO, "a red star", k=2, preset="tiny", overrides=overrides)
    assert indexed.frames_total == 90 and answer.config["searched"] == "store" and len(answer.evidence) == 3
    best = found.moments[0]
    assert len(found.moments) == 2 and answer.moments[0].overlaps(best.start_s, best.end_s)


def test_import_longvid_stays_light():
    import subprocess
    import sys

    code = "import sys, longvid; longvid.Pipeline; longvid.PipelineConfig(); print(sorted(m for m in ('torch', 'transformers', 'av', 'open_clip') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
