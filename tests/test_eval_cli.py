"""`longvid eval` end to end on the shipped sample videos with the shipped tiny CLIP (preset tiny).

The annotation file comes from the samples' ground truth (longvid.eval.from_truth). One indexed
store is built once per session and shared; the cold (T*) runs use their own fresh stores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run_cli

from longvid.config import PipelineConfig
from longvid.eval import read_annotations, temporal_prf
from longvid.eval.from_truth import main as from_truth_main
from longvid.eval.from_truth import write_annotations
from longvid.pipeline import Pipeline
from longvid.synth import GroundTruth

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_videos"
NEEDLE_Q = "when does the magenta star grow?"  # needle.mp4's needle: 71.5-74.7 s of 120 s


@pytest.fixture(scope="session")
def items_file(tmp_path_factory) -> Path:
    """The needle questions of demo.mp4 and needle.mp4 (two per video), videos relative to the file."""
    out = tmp_path_factory.mktemp("eval") / "items.jsonl"
    assert write_annotations([SAMPLES / "needle.json", SAMPLES / "demo.json"], out, needles_only=True) == 4
    return out


@pytest.fixture(scope="session")
def indexed(tmp_path_factory, items_file):
    """(store path, {strategy: --json report}) for topk and uniform at 4 frames on one shared store."""
    store = tmp_path_factory.mktemp("eval-store") / "store"
    reports = {}
    for strategy in ("topk", "uniform"):
        code, out, err = run_cli("eval", str(items_file), "--preset", "tiny", "--strategy", strategy, "--frames", "4",
                                 "--store", str(store), "--json")
        assert code == 0, err
        reports[strategy] = json.loads(out)
    return store, reports


def test_converter_writes_what_read_annotations_reads(tmp_path, capsys):
    assert from_truth_main([str(SAMPLES / "demo.json"), "-o", str(tmp_path / "all.jsonl")]) == 0
    assert "all.jsonl: " in capsys.readouterr().out
    truth = GroundTruth.load(SAMPLES / "demo.json")
    items = read_annotations(tmp_path / "all.jsonl")
    assert len(items) == len(truth.qa) > 2
    for item, qa in zip(items, truth.qa):
        assert Path(item.video).resolve() == (SAMPLES / "demo.mp4").resolve()
        assert item.question == qa.question and item.gold_s == qa.keyframe_timestamps_s and item.answer == qa.answer
    assert from_truth_main([str(tmp_path / "nope.json"), "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "cannot read ground truth" in capsys.readouterr().err


def test_json_schema_and_index_accounting(indexed):
    _, reports = indexed
    r = reports["topk"]
    assert r["schema"] == "longvid.eval/1" and r["mode"] == "indexed"
    assert (r["strategy"], r["frames"], r["tolerance_s"], r["items_total"], r["failed"]) == ("topk", 4, 5.0, 4, 0)
    assert r["index"]["videos"] == 2 and r["index"]["indexed_now"] == 2
    assert r["index"]["frames_embedded"] == 120 + 90  # 1 fps full index of both samples
    assert reports["uniform"]["index"]["indexed_now"] == 0  # same store: indexing was a no-op
    assert list(r["groups"]) == ["indexed"] and r["groups"]["indexed"]["items"] == 4
    assert "tiny-clip" in r["config"]["embed"]["model_id"] and r["config"]["search"]["frames"] == 4
    assert r["cost"]["frames_embedded"] == 0 and r["cost"]["frames_decoded"] == 0
    assert r["cost"]["frames_from_store"] == 2 * 120 + 2 * 90
    for item in r["items"]:
        assert item["start"] == "indexed" and item["searched"] == "store" and item["error"] is None
        assert len(item["predicted_s"]) == 4 and item["predicted_s"] == sorted(set(item["predicted_s"]))
        assert set(item) >= {"id", "video", "question", "gold_s", "precision", "recall", "f1", "seconds", "cost"}
    assert r["f1"] == pytest.approx(sum(i["f1"] for i in r["items"]) / 4)  # macro average


def test_item_f1_equals_temporal_prf_of_the_pipeline_selection(indexed, items_file):
    store, reports = indexed
    for strategy, report in reports.items():
        config = PipelineConfig.from_preset("tiny").with_overrides(
            {"store": {"path": str(store)}, "search": {"strategy": strategy, "frames": 4}})
        with Pipeline(config) as pipe:
            for item, got in zip(read_annotations(items_file), report["items"]):
                located = pipe.locate(item.video, item.question)
                assert got["predicted_s"] == list(located.selection.timestamps_s)
                expected = temporal_prf(located.selection.timestamps_s, item.gold_s)
                assert (got["precision"], got["recall"], got["f1"]) == (expected.precision, expected.recall, expected.f1)


def test_needle_question_does_clearly_better_with_topk_than_uniform(indexed):
    _, reports = indexed
    by = {s: next(i for i in r["items"] if i["question"] == NEEDLE_Q) for s, r in reports.items()}
    # Question-blind: 4 even picks over 120 s land one frame near the 3 s needle at best.
    assert by["uniform"]["precision"] <= 0.25
    assert by["topk"]["recall"] == 1.0 and by["topk"]["precision"] >= 0.75
    assert by["topk"]["f1"] >= by["uniform"]["f1"] + 0.3


def test_human_table_with_items(indexed, items_file):
    store, _ = indexed
    code, out, err = run_cli("eval", str(items_file), "--preset", "tiny", "--strategy", "topk", "--frames", "4",
                             "--store", str(store), "--items")
    assert code == 0, err
    assert "4 items, strategy topk, 4 frames, indexed mode" in out
    assert "needle-18" in out and "demo-5" in out and "macro F1" in out
    assert "index first: 2 videos (0 indexed now" in out


def test_cold_tstar_first_question_cold_later_warm(tmp_path, items_file):
    demo = [json.loads(line) for line in items_file.read_text().splitlines() if "demo.mp4" in line]
    path = tmp_path / "demo.jsonl"
    path.write_text("".join(json.dumps({**d, "video": str(SAMPLES / "demo.mp4")}) + "\n" for d in demo))
    code, out, err = run_cli("eval", str(path), "--preset", "tiny", "--strategy", "tstar", "--frames", "4", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["mode"] == "cold" and r["index"] is None
    first, second = r["items"]
    assert (first["start"], second["start"]) == ("cold", "warm")
    assert first["searched"] == second["searched"] == "tstar"
    assert first["cost"]["frames_from_store"] == 0 and first["cost"]["frames_embedded"] > 0
    assert second["cost"]["frames_from_store"] == first["cost"]["frames_embedded"]  # what the first one stored
    assert first["cost"]["frames_embedded"] <= 0.4 * 90  # far from a full 1 fps index
    assert set(r["groups"]) == {"cold", "warm"} and r["groups"]["cold"]["items"] == 1
    # The cold item is exactly what the pipeline does on a cold video.
    item = read_annotations(path)[0]
    config = PipelineConfig.from_preset("tiny").with_overrides(
        {"store": {"path": str(tmp_path / "fresh")}, "search": {"strategy": "tstar", "frames": 4}})
    with Pipeline(config) as pipe:
        located = pipe.locate(item.video, item.question)
    assert located.searched == "tstar" and first["predicted_s"] == list(located.selection.timestamps_s)
    assert first["f1"] == temporal_prf(located.selection.timestamps_s, item.gold_s).f1


def test_missing_video_is_a_recorded_failure(indexed, tmp_path):
    store, _ = indexed
    path = tmp_path / "items.jsonl"
    path.write_text(
        json.dumps({"video": str(SAMPLES / "demo.mp4"), "question": "when does the red star jump?", "gold_s": [14.0], "id": "ok"})
        + "\n" + json.dumps({"video": "gone.mp4", "question": "a red star", "gold_s": [1.0], "id": "gone"}) + "\n"
    )
    code, out, err = run_cli("eval", str(path), "--preset", "tiny", "--frames", "4", "--store", str(store), "--json")
    assert code == 1
    r = json.loads(out)  # the report is complete
    ok, gone = r["items"]
    assert ok["error"] is None and ok["f1"] > 0
    assert gone["start"] == "failed" and str(tmp_path / "gone.mp4") in gone["error"] and gone["f1"] == 0.0
    assert r["failed"] == 1 and r["f1"] == pytest.approx(ok["f1"] / 2)
    assert err.startswith("error: 1 of 2 items failed") and "gone.mp4" in err and len(err.strip().splitlines()) == 1


def test_bad_line_is_one_line_error_with_file_and_line(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps({"video": "a.mp4", "question": "q", "gold_s": [1]}) + "\n{oops\n")
    code, out, err = run_cli("eval", str(path), "--preset", "tiny")
    assert code == 2 and out == ""
    assert err == f"error: {path}:2: not valid JSON (Expecting property name enclosed in double quotes); write one JSON object per line, or one JSON array\n"
    path.write_text(json.dumps({"video": "a.mp4", "question": "q"}) + "\n")
    code, _, err = run_cli("eval", str(path), "--preset", "tiny")
    assert code == 2 and err.startswith(f"error: {path}:1: no gold timestamps")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--strategy", "best"], "strategy = 'best' is unknown; choose one of: "),
        (["--strategy", "best"], "uniform, tstar, tstar-coverage"),
        (["--frames", "0"], "frame budget = 0 is invalid"),
        (["--cold", "--store", "somewhere"], "cannot be used for a cold run"),
        (["--strategy", "tstar", "--store", "somewhere"], "cannot be used for a cold run"),
        (["--strategy", "tstar-coverage", "--store", "somewhere"], "cannot be used for a cold run"),
        (["--predicted", "keyframe_timestamps", "--frames", "8"], "--predicted scores the file's own predictions; --frames"),
        (["--empty", "none"], "--empty none is invalid"),
        (["--tolerance-s", "-1"], "--tolerance-s -1.0 is invalid"),
    ],
)
def test_bad_arguments_refused_before_work(items_file, tmp_path, args, message):
    args = [str(tmp_path / a) if a == "somewhere" else a for a in args]
    code, out, err = run_cli("eval", str(items_file), "--preset", "tiny", *args)
    assert code == 2 and out == "" and message in err and err.startswith("error: ")
    assert not (tmp_path / "somewhere").exists()
