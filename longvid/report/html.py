"""The report page: one self-contained HTML document built from an ``Answer``.

Everything is inlined (stylesheet, SVG plot, JPEG thumbnails as ``data:`` URIs, the answer's JSON)
and the page runs no script, so it opens offline and is safe to pass around. Every piece of user
text (question, answer, path, config) goes through ``html.escape``; the embedded JSON is made
unable to close its ``<script>`` element.

Stable hooks for tests and tools: ``#question``, ``#answer``, ``#timeline`` (``data-peak-s``,
``data-start-s``, ``data-end-s``), ``tr.moment`` (``data-start-s``, ``data-end-s``, ``data-peak-s``),
one ``figure.thumb`` per selected frame (``data-pts-s``, ``data-tokens``, ``data-score``),
``table#cost`` rows ``tr.stage`` (``data-stage``, ``data-seconds``; parts of a stage, such as
``llm.vision``, also ``sub``), ``tr.other`` (time outside the stages), one ``tr.total``,
``script#answer-data``.

A grounding answer involves no model reading frames: the page calls its frames "selected" and
shows no token counts.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from ..types import Answer, Frame
from ._format import attr_float, format_time_s
from ._style import CSS
from .plot import timeline_svg
from .plotdata import TimelinePlotData, timeline_plot_data
from .thumbs import evidence_frames, thumbnail_data_uri


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(answer: Answer) -> str:
    """The report as one HTML string (see the module docstring for its DOM hooks)."""
    frames = evidence_frames(answer)  # validate before the (slower) plot
    data = timeline_plot_data(answer)
    svg = timeline_svg(data)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="longvid">',
        f"<title>longvid · {esc(_shorten(answer.question, 80))}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        _header(answer, data),
        _question_answer(answer),
        _timeline(data, svg, len(answer.evidence)),
        _moments(answer),
        _thumbnails(answer, frames, data),
        _cost(answer),
        _config(answer),
        _footer(),
        "</main>",
        f'<script type="application/json" id="answer-data">{script_json(answer.to_dict())}</script>',
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _header(answer: Answer, data: TimelinePlotData) -> str:
    name = Path(answer.video).name or answer.video
    return (
        '<header class="top">'
        '<span class="brand">longvid report</span>'
        f'<span class="video" id="video" title="{esc(answer.video)}">{esc(name)}</span>'
        f'<span class="meta">{esc(format_time_s(data.start_s))} – {esc(format_time_s(data.end_s))}'
        f" · answered by {esc(answer.answerer)}</span>"
        "</header>"
    )


def _question_answer(answer: Answer) -> str:
    chips = []
    if answer.moments:
        best = answer.moments[0]
        chips.append(f'<span class="chip">best moment <b>{esc(_span(best.start_s, best.end_s))}</b></span>')
    if answer.match is not None and answer.match.verdict == "weak":
        chips.append(f'<span class="chip weak" id="weak-match">weak match: <b>{answer.match.z:.1f}</b> spreads above unrelated captions</span>')
    shown = "shown to the model" if _model_read_frames(answer) else "selected"
    chips.append(f'<span class="chip"><b>{len(answer.evidence)}</b> frames {shown}</span>')
    cost = answer.cost
    if _model_read_frames(answer) and (cost.tokens_before or cost.tokens_after):
        chips.append(f'<span class="chip"><b>{cost.tokens_after:,}</b> of {cost.tokens_before:,} visual tokens kept</span>')
    total_s = _total_s(cost)
    if total_s:
        chips.append(f'<span class="chip"><b>{total_s:.2f} s</b> in all</span>')
    return (
        '<section class="card qa">'
        '<p class="label">Question</p>'
        f'<h1 id="question">{esc(answer.question)}</h1>'
        '<p class="label">Answer</p>'
        f'<p id="answer">{esc(answer.text) if answer.text.strip() else "<i>(no answer text)</i>"}</p>'
        f'<div class="chips">{"".join(chips)}</div>'
        "</section>"
    )


def _timeline(data: TimelinePlotData, svg: str, frames: int) -> str:
    peak = "" if data.peak_s is None else f' data-peak-s="{attr_float(data.peak_s)}" data-peak-index="{data.peak_index}"'
    where = (
        f"the highest relevance is at {format_time_s(data.peak_s)}."
        if data.peak_s is not None
        else "this answer carries no relevance curve."
    )
    return (
        '<section class="card">'
        "<h2>Why these frames</h2>"
        f'<p class="sub">How well each scored frame matches the question, over the whole video '
        f"({data.timestamps_s.size:,} frames scored; {frames} selected, numbered as in the pictures below); "
        f"{esc(where)}</p>"
        f'<figure id="timeline" data-start-s="{attr_float(data.start_s)}" data-end-s="{attr_float(data.end_s)}"'
        f' data-points="{data.timestamps_s.size}"{peak}>{svg}</figure>'
        "</section>"
    )


def _moments(answer: Answer) -> str:
    if not answer.moments:
        body = '<p class="empty">No moments were found.</p>'
    else:
        rows = []
        for number, m in enumerate(answer.moments, 1):
            scene = "-" if m.scene_index is None else str(m.scene_index)
            rows.append(
                f'<tr class="moment" data-start-s="{attr_float(m.start_s)}" data-end-s="{attr_float(m.end_s)}"'
                f' data-peak-s="{attr_float(m.peak_s)}" data-score="{attr_float(m.score)}">'
                f'<td><span class="tag moment">M{number}</span></td>'
                f"<td>{esc(_span(m.start_s, m.end_s))}</td>"
                f'<td class="num">{m.end_s - m.start_s:.1f} s</td>'
                f"<td>{esc(format_time_s(m.peak_s))}</td>"
                f'<td class="num">{esc(_score(m.score))}</td>'
                f'<td class="num">{esc(scene)}</td></tr>'
            )
        body = (
            '<table id="moments"><thead><tr><th></th><th>span</th><th class="num">length</th><th>peak</th>'
            '<th class="num">score</th><th class="num">scene</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    return f'<section class="card"><h2>Moments</h2><p class="sub">Time spans that support the answer, best first.</p>{body}</section>'


def _thumbnails(answer: Answer, frames: list[Frame | None], data: TimelinePlotData) -> str:
    items = []
    with_tokens = _model_read_frames(answer)
    # the relevance printed under a picture is the height of its marker on the plot
    for number, (evidence, frame, relevance) in enumerate(zip(answer.evidence, frames, data.selected_y), 1):
        moment = next((i for i, m in enumerate(answer.moments, 1) if m.start_s <= evidence.pts_s <= m.end_s), None)
        classes = "thumb in-moment" if moment else "thumb"
        when = format_time_s(evidence.pts_s)
        if frame is None:
            picture = '<div class="nopic">picture not kept</div>'
        else:
            picture = f'<img src="{thumbnail_data_uri(frame.image)}" alt="frame at {esc(when)}" width="{frame.width}" height="{frame.height}">'
        badge = f'<span class="tag moment">M{moment}</span>' if moment else ""
        tokens = f'<span class="tokens">{int(evidence.tokens):,} tokens</span> · ' if with_tokens else ""
        items.append(
            f'<figure class="{classes}" data-number="{number}" data-pts-s="{attr_float(evidence.pts_s)}"'
            f' data-tokens="{int(evidence.tokens)}" data-score="{attr_float(relevance)}">'
            f'{picture}<span class="tag frame">{number}</span>{badge}'
            f'<figcaption><time class="ts" datetime="PT{evidence.pts_s:.3f}S">{esc(when)}</time>'
            f'<span class="facts">{tokens}relevance <span class="relevance">{esc(_score(relevance))}</span></span>'
            "</figcaption></figure>"
        )
    body = f'<div class="thumbs" id="thumbs">{"".join(items)}</div>' if items else '<p class="empty">No frames were selected.</p>'
    sub = (
        "What the model saw, with the time of each frame and the visual tokens it kept."
        if with_tokens else "The frames chosen for the question, with the time and relevance of each (no model reads them)."
    )
    return f'<section class="card"><h2>Selected frames</h2><p class="sub">{sub}</p>{body}</section>'


def _model_read_frames(answer: Answer) -> bool:
    """Whether a video LLM read the selected frames (not so for the grounding answerer)."""
    return answer.answerer != "grounding"


def _total_s(cost) -> float:
    """The request's wall time: its recorded total, else the sum of the top-level stages (a stage
    such as ``llm.vision`` is part of ``llm`` and counts once)."""
    if "total" in cost.seconds:
        return float(cost.seconds["total"])
    return float(sum(v for k, v in cost.seconds.items() if "." not in k))


def _cost(answer: Answer) -> str:
    cost = answer.cost
    total_s = _total_s(cost)
    rows = []
    stages = {k: v for k, v in cost.seconds.items() if k != "total"}
    for stage, seconds in stages.items():
        part = "." in stage  # part of the stage before the dot: indented, not counted again
        share = seconds / total_s if total_s > 0 else 0.0
        name = f"&nbsp;&nbsp;└ {esc(stage.split('.', 1)[1])}" if part else esc(stage)
        rows.append(
            f'<tr class="stage{" sub" if part else ""}" data-stage="{esc(stage)}" data-seconds="{attr_float(seconds)}">'
            f"<td>{name}</td><td class=\"num\">{seconds:.3f} s</td><td class=\"num\">{share:.0%}</td>"
            f'<td style="width:40%"><div class="bar" style="width:{share * 100:.1f}%"></div></td></tr>'
        )
    other_s = total_s - sum(v for k, v in stages.items() if "." not in k)
    if stages and other_s >= 0.0005:  # checks, probing and bookkeeping between the stages
        rows.append(
            f'<tr class="other" data-seconds="{attr_float(other_s)}"><td>other</td><td class="num">{other_s:.3f} s</td>'
            f'<td class="num">{other_s / total_s:.0%}</td><td style="width:40%"><div class="bar" style="width:{other_s / total_s * 100:.1f}%"></div></td></tr>'
        )
    if stages:
        rows.append(
            f'<tr class="total" data-seconds="{attr_float(total_s)}"><td>total</td><td class="num">{total_s:.3f} s</td>'
            '<td class="num">100%</td><td></td></tr>'
        )
    else:
        rows.append('<tr><td colspan="4" class="empty">no stage timings recorded</td></tr>')
    table = (
        '<table id="cost"><thead><tr><th>stage</th><th class="num">time</th><th class="num">share</th><th></th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    kept = f" ({cost.tokens_after / cost.tokens_before:.1%} kept)" if cost.tokens_before else ""
    tokens = (
        f"<dt>visual tokens before reduction</dt><dd>{cost.tokens_before:,}</dd>"
        f"<dt>visual tokens given to the model{esc(kept)}</dt><dd>{cost.tokens_after:,}</dd>"
    ) if _model_read_frames(answer) else ""
    counts = (
        '<dl class="counts" id="counts">'
        f"<dt>frames decoded</dt><dd>{cost.frames_decoded:,}</dd>"
        f"<dt>frames embedded</dt><dd>{cost.frames_embedded:,}</dd>"
        f"<dt>frames from the store</dt><dd>{cost.frames_from_store:,}</dd>"
        f"{tokens}</dl>"
    )
    return f'<section class="card"><h2>Cost</h2><p class="sub">Wall time per stage and work done.</p><div class="cost">{table}{counts}</div></section>'


def _config(answer: Answer) -> str:
    if not answer.config:
        return ""
    text = json.dumps(_finite(answer.config), indent=2, ensure_ascii=False, default=str)
    return f'<section class="card"><details id="config"><summary>Configuration used</summary><pre>{esc(text)}</pre></details></section>'


def _footer() -> str:
    from .. import __version__

    return f"<footer>made by longvid {esc(__version__)} · self-contained: no network, no scripts</footer>"


def script_json(data: Any) -> str:
    """JSON that can sit inside ``<script type="application/json">``: it cannot end the element."""
    text = json.dumps(_finite(data), ensure_ascii=False, default=str)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _finite(value: Any) -> Any:
    """NaN/inf become null so the embedded JSON stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _span(start_s: float, end_s: float) -> str:
    return f"{format_time_s(start_s)} – {format_time_s(end_s)}"


def _score(score: float) -> str:
    return f"{score:.3f}" if math.isfinite(score) else "-"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
