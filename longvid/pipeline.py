"""The pipeline: the only module that knows the order of the stages.

    pipe = Pipeline.from_preset("default")               # or Pipeline(PipelineConfig(...))
    answer = pipe.ask("video.mp4", "when does the dog jump?")
    answer.text, answer.moments, answer.cost
    pipe.index("video.mp4")                               # embed once; later questions read the store
    pipe.search("video.mp4", "a dog jumping into a lake")

``ask`` = check everything cheap first (question, video, LLM config and budgets) -> relevance of
frames to the question (from the store when the video is indexed, else a coarse-to-fine T*
search that decodes and embeds only what it needs and stores it) -> frame selection under the
frame budget -> moments -> answer (the video LLM on the selected frames under the token budget,
or the grounding answerer that reports the moments).

Stages are replaceable by the caller's own objects: ``encoder`` (``longvid.embed.Encoder``
protocol), ``store`` (``longvid.store.Store``), ``llm`` (anything with ``answer(...)`` like
``longvid.llm.VideoLLM``), ``selector`` (``(timestamps_s, scores, budget, scenes) -> Selection``)
and ``decoupler`` (``question -> phrases``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import PipelineConfig
from .errors import InvalidArgumentError
from .types import Answer, Cost, EvidenceFrame, Frame, Match, Moment, Scene, Selection, Timeline, VideoInfo

THUMBNAIL_SIZE = 180  # shorter side of the pictures kept for the HTML report
LLM_FRAME_SIZE = 768  # shorter side decoded for the video LLM (its processor resizes further)


@dataclass
class Located:
    """Where the answer to a question lies: relevance over the video, the chosen frames, moments."""

    video: str
    info: VideoInfo
    texts: tuple[str, ...]  # what was embedded for the question (decoupled phrases or the question)
    timeline: Timeline
    selection: Selection
    moments: list[Moment]
    searched: str  # "store": scores of stored frames; "tstar": coarse-to-fine search on a cold video
    cost: Cost = field(default_factory=Cost)
    index_state: str = "none"  # before the question: "indexed" | "partial" | "none" (coverage.index_state)
    match: Match | None = None  # how clearly the best moment matches the question


@contextlib.contextmanager
def _timed(cost: Cost, stage: str) -> Iterator[None]:
    """Add the block's wall time to ``cost.seconds[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        cost.seconds[stage] = cost.seconds.get(stage, 0.0) + time.perf_counter() - start


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        store: Any = None,
        encoder: Any = None,
        llm: Any = None,
        selector: Callable[..., Selection] | None = None,
        decoupler: Callable[[str], Sequence[str]] | None = None,
    ):
        self.config = config or PipelineConfig()
        self._store = store
        self._owns_store = store is None
        self._encoder = encoder
        self._llm = llm
        self.selector = selector
        self.decoupler = decoupler

    @classmethod
    def from_preset(cls, name: str = "default", overrides: dict[str, dict[str, Any]] | None = None, **stages: Any) -> "Pipeline":
        """A pipeline configured by ``pipelines/NAME.toml`` (or a .toml path), then ``overrides``."""
        config = PipelineConfig.from_preset(name)
        if overrides:
            config = config.with_overrides(overrides)
        return cls(config, **stages)

    # --- stages, built on first use ------------------------------------------------------------

    @property
    def store(self):
        if self._store is None:
            from .store import Store

            self._store = Store.open(self.config.store.path)
        return self._store

    @property
    def encoder(self):
        if self._encoder is None:
            from .embed import load_encoder

            e = self.config.embed
            self._encoder = load_encoder(e.model, device=e.device, batch_size=e.batch_size, threads=e.threads)
        else:
            from .embed import check_encoder

            check_encoder(self._encoder)
        return self._encoder

    @property
    def llm(self):
        """The video LLM (config and processor read; weights load on its first answer)."""
        if self._llm is None:
            from .llm import load_llm

            c = self.config.llm
            self._llm = load_llm(c.model, device=c.device, dtype=c.dtype)
        return self._llm

    def close(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- index and search ------------------------------------------------------------------------

    def index(self, video: str | Path, *, progress: bool | None = False):
        """Embed the video's frames into the store (no-op when done already); ``IndexResult``."""
        from .indexing import index_video

        return index_video(video, self.config, store=self.store, encoder=self.encoder, progress=progress)

    def search(self, video: str | Path, query: str, *, k: int | None = None, progress: bool | None = False, notify=None):
        """Moments matching ``query`` from stored embeddings (indexes first if needed); ``SearchResult``."""
        from .indexing import search_video

        return search_video(
            video, query, k=k or self.config.search.moments, config=self.config, store=self.store,
            encoder=self.encoder, progress=progress, notify=notify,
        )

    # --- ask ------------------------------------------------------------------------------------------

    def check_ask(self, video: str | Path, question: str, answerer: str | None = None) -> tuple[str, VideoInfo, str]:
        """Every check that needs no model: question, video, answerer, LLM id and token budget.

        Returns (tidied question, VideoInfo, answerer). Called by ``ask`` before loading anything.
        """
        from .decode import probe
        from .indexing import check_query

        question = check_query(question)
        answerer = answerer or self.config.answer.answerer
        if answerer not in ("llm", "grounding"):
            raise InvalidArgumentError(f"answerer = {answerer!r} is invalid", "use 'llm' or 'grounding'")
        info = probe(video, backend=self.config.decode.backend)
        if answerer == "llm" and self._llm is None:
            from .llm import backend_for, resolve_model

            spec = resolve_model(self.config.llm.model)  # reads config.json only
            backend_for(spec)  # a model family no backend supports fails here
            context = spec.context_length
            budget = self.config.tokens.budget
            if context and budget >= context:
                raise InvalidArgumentError(
                    f"tokens.budget = {budget} does not fit model {spec.name!r}, whose context is {context} tokens",
                    f"use --tokens below {context} (the prompt and the answer need room too)",
                )
        return question, info, answerer

    def ask(
        self,
        video: str | Path,
        question: str,
        *,
        answerer: str | None = None,
        keep_frames: bool = False,
        progress: bool | None = False,
        options: Sequence[str] | None = None,
    ) -> Answer:
        """Answer ``question`` about ``video``; ``keep_frames`` keeps the selected pictures (report).

        ``options`` (multiple-choice option texts, LLM answerer): the LLM also scores each as the
        answer; ``Answer.choice`` is the letter of the most likely (see ``VideoLLM.answer``).
        """
        started = time.perf_counter()
        question, info, answerer = self.check_ask(video, question, answerer)
        if options is not None:
            from .llm.checks import check_options

            options = check_options(options, fastv=bool(self.config.llm.fastv_r))
            if answerer != "llm":
                raise InvalidArgumentError(
                    "the grounding answerer reports moments and cannot choose between options", "use --answerer llm")
        located = self.locate(video, question, info=info, progress=progress)
        cost = located.cost
        selection = located.selection
        evidence_tokens = [0] * len(selection.timestamps_s)
        frames: list[Frame] = []
        token_account = option_scores = None
        if answerer == "llm":
            if not selection.timestamps_s:  # published AKS can choose nothing at small budgets
                raise InvalidArgumentError(
                    f"strategy {selection.strategy!r} selected no frames for this question at --frames {self.config.search.frames}",
                    "use another --strategy (e.g. topk) or a larger --frames",
                )
            llm = self.llm
            with _timed(cost, "decode"):
                # the LLM's processor resizes to its own input: never upscale on the way there
                size = LLM_FRAME_SIZE if min(info.width, info.height) > LLM_FRAME_SIZE else None
                frames = self._frames(video, selection.timestamps_s, size, cost)
            t = self.config.tokens
            with _timed(cost, "llm"):
                result = llm.answer(
                    [f.image for f in frames],
                    list(selection.timestamps_s),
                    question,
                    token_budget=t.budget,
                    relevance=_positive_relevance(selection.scores),
                    token_method=t.method,
                    max_new_tokens=self.config.llm.max_new_tokens,
                    merge_threshold=t.merge_threshold,
                    alpha=t.alpha,
                    duration_s=info.duration_s,
                    fastv=self._fastv(),
                    **({"options": options} if options is not None else {}),
                )
            text = result.text
            option_scores = result.option_scores if options is not None else None
            cost.tokens_before, cost.tokens_after = result.tokens_before, result.tokens_after
            account = result.token_account
            token_account = account.to_dict() if hasattr(account, "to_dict") else account
            evidence_tokens = list(result.frame_tokens[: len(frames)])
            for stage, seconds in result.seconds.items():
                cost.seconds[f"llm.{stage}"] = seconds
            if keep_frames:
                frames = [_thumbnail(f) for f in frames]
        else:
            from .grounding import grounding_text

            text = grounding_text(located.moments, match=located.match)
            if keep_frames:
                with _timed(cost, "decode"):
                    frames = self._frames(video, selection.timestamps_s, THUMBNAIL_SIZE, cost)
        cost.seconds["total"] = time.perf_counter() - started
        return Answer(
            video=str(video),
            question=question,
            text=text,
            answerer=answerer,
            moments=located.moments,
            evidence=[
                EvidenceFrame(float(ts), float(s), int(n))
                for ts, s, n in zip(selection.timestamps_s, _relevance_at(located.timeline, selection), evidence_tokens)
            ],
            cost=cost,
            config={
                **self.config.to_dict(), "searched": located.searched, "index_state": located.index_state,
                "texts": list(located.texts),
            },
            timeline=located.timeline,
            token_account=token_account,
            options=options,
            option_scores=option_scores,
            choice=None if option_scores is None else _best_option(option_scores),
            frames=frames if keep_frames else [],
            match=located.match,
        )

    def locate(self, video: str | Path, question: str, *, info: VideoInfo | None = None, progress: bool | None = False) -> Located:
        """Relevance of the video's frames to ``question``, the frames selected, and the moments."""
        from .decode import probe

        cfg = self.config.search
        cost = Cost()
        info = info or probe(video, backend=self.config.decode.backend)
        with _timed(cost, "load"):
            encoder = self.encoder
        with _timed(cost, "embed"):
            texts = self._texts(question)
            text_vectors = self.store.text_vectors(encoder, list(texts))
        from .coverage import best_match, index_state
        from .indexing import decode_size, index_settings

        record, fingerprint = self.store.video_for_path(video)
        settings = index_settings(self.config, decode_size(self.config, encoder))
        state = index_state(self.store, None if record is None else record.id, encoder.model_id, settings)
        if state == "indexed":
            from .search.scoring import incremental_scorer

            with _timed(cost, "search"):
                stored, vectors = self.store.vectors(record.id, encoder.model_id)
                times = stored.pts_s
                scores = incremental_scorer(text_vectors, combine=cfg.combine)(vectors)  # the T* path's scale: same frame, same score
                scenes = self.store.scenes(record.id, encoder.model_id)
                selection = self._select(times, scores, scenes)
            cost.frames_from_store = len(times)
            searched = "store"
        else:
            times, scores, selection, scenes = self._tstar(video, info, fingerprint, text_vectors, cost, record)
            searched = "tstar"
        from .search.moments import find_moments

        with _timed(cost, "search"):
            moments = find_moments(times, scores, k=cfg.moments, scenes=scenes or None, end_s=info.end_s)
        match = None
        if moments:
            with _timed(cost, "embed"):  # the unrelated captions are embedded once per model, then cached
                found = record or self.store.find_video(fingerprint)  # T* stored a cold video's frames
                # a cold search scores a grid time with a frame up to half a step away (T*: 1 s steps)
                step_s = 1.0 if cfg.strategy == "tstar" else 1.0 / self.config.decode.fps
                within_s = 0.0 if searched == "store" else 0.5 * step_s
                match = best_match(self.store, encoder, found.id, moments, text_vectors, cfg.match_z, within_s)
        timeline = Timeline(info.start_s, info.duration_s, np.asarray(times), np.asarray(scores), list(scenes))
        return Located(str(video), info, tuple(texts), timeline, selection, moments, searched, cost, state, match)

    # --- pieces --------------------------------------------------------------------------------------

    def _fastv(self):
        c = self.config.llm
        if not c.fastv_r:
            return None
        from .llm.fastv import FastV

        return FastV(k=c.fastv_k, r=c.fastv_r)

    def _texts(self, question: str) -> tuple[str, ...]:
        if not self.config.search.decouple:
            return (question,)
        if self.decoupler is not None:
            phrases = tuple(str(p) for p in self.decoupler(question) if str(p).strip())
            return phrases or (question,)
        from .search.decouple import decouple_question

        return tuple(decouple_question(question).phrases) or (question,)

    def _select(self, times: np.ndarray, scores: np.ndarray, scenes: list[Scene]) -> Selection:
        cfg = self.config.search
        if self.selector is not None:
            return self.selector(times, scores, cfg.frames, scenes)
        from .search.cold import final_strategy
        from .select import select_frames

        strategy = final_strategy(cfg.strategy)
        return select_frames(
            times, scores, cfg.frames, strategy=strategy, scenes=scenes or None, smooth_s=cfg.smooth_s, smooth=cfg.smooth
        )

    def _tstar(self, video, info: VideoInfo, fingerprint, text_vectors: np.ndarray, cost: Cost, record):
        """Coarse-to-fine search on a video that is not indexed; every embedded frame is stored."""
        from .decode import open_video
        from .indexing import decode_size
        from .search.scoring import incremental_scorer
        from .search.cold import cold_search

        if fingerprint is None:  # the file is unreadable: nothing can be decoded
            from .errors import NotIndexedError

            raise NotIndexedError(f"{video} cannot be read and is not indexed", "make the file readable or index it first")
        encoder, store, cfg = self.encoder, self.store, self.config
        scorer = incremental_scorer(text_vectors, combine=cfg.search.combine)
        size = decode_size(cfg, encoder)
        known_t = known_s = None
        scenes: list[Scene] = []
        if record is not None and encoder.model_id in store.indexed_models(record.id):
            stored, vectors = store.vectors(record.id, encoder.model_id)  # earlier searches' frames
            known_t, known_s = stored.pts_s, scorer(vectors)
            scenes = store.scenes(record.id, encoder.model_id)
            cost.frames_from_store = len(known_t)
        with open_video(video, backend=cfg.decode.backend, threads=cfg.decode.threads) as reader:
            scan = getattr(reader, "packet_scan", None)  # keyframe times from a demux-only pass (PyAV)
            keyframes = np.asarray(scan().key_pts_s, dtype=np.float64) if scan is not None else None

            def score_at(times_s: np.ndarray) -> np.ndarray:
                with _timed(cost, "decode"):
                    before = reader.frames_decoded
                    frames = reader.frames_at(_onto_keyframes(times_s, keyframes, 0.5 / cfg.decode.fps), size=size)
                    cost.frames_decoded += reader.frames_decoded - before
                with _timed(cost, "embed"):
                    unique = {f.index: f for f in frames}
                    picked = sorted(unique.values(), key=lambda f: f.pts_s)
                    vectors = encoder.encode_images([f.image for f in picked])
                    cost.frames_embedded += len(picked)
                with _timed(cost, "store"):
                    store.add_run(
                        fingerprint=fingerprint, path=video, model_id=encoder.model_id, vectors=vectors,
                        pts_s=[f.pts_s for f in picked], frame_index=[f.index for f in picked], source="refined",
                        settings={"tstar": [float(f.pts_s) for f in picked], "size": size}, kind="refine",
                        video_info=info,
                    )
                by_index = dict(zip((f.index for f in picked), scorer(vectors)))
                scores = np.array([by_index[f.index] for f in frames])
                asked.update(zip(np.round(times_s, 6).tolist(), scores.tolist()))
                return scores

            asked: dict[float, float] = {}  # what score_at answered, per time asked

            inner = sum(cost.seconds.get(k, 0.0) for k in ("decode", "embed", "store"))
            started = time.perf_counter()
            result = cold_search(
                info.duration_s, score_at, cfg.search.frames, start_s=info.start_s,
                initial_times_s=keyframes, known_times_s=known_t, known_scores=known_s,
                grid_s=1.0 / cfg.decode.fps, strategy=cfg.search.strategy,
                smooth_s=cfg.search.smooth_s, smooth=cfg.search.smooth,
            )
            # search time proper: the T* loop minus the decoding, embedding and storing it asked for
            inside = sum(cost.seconds.get(k, 0.0) for k in ("decode", "embed", "store")) - inner
            cost.seconds["search"] = cost.seconds.get("search", 0.0) + time.perf_counter() - started - inside
        scores = result.visited_scores
        if cfg.search.strategy == "tstar":  # the published T* reports its calibrated confidences
            scores = _asked_scores(result.visited_times_s, asked, known_t, known_s)
        return result.visited_times_s, scores, result.selection, scenes

    def _frames(self, video, timestamps_s: Sequence[float], size: int, cost: Cost) -> list[Frame]:
        from .decode import open_video

        with open_video(video, backend=self.config.decode.backend, threads=self.config.decode.threads) as reader:
            frames = reader.frames_at(list(timestamps_s), size=size)
            cost.frames_decoded += reader.frames_decoded
        return frames


def _onto_keyframes(times_s: np.ndarray, keyframes_s: np.ndarray | None, within_s: float) -> np.ndarray:
    """Each time moved onto a keyframe that lies within ``within_s`` (half a grid step) of it.

    T* asks for times on its grid; a keyframe a few frames off the grid (GOPs restart at scene
    cuts) would otherwise cost a decode from that keyframe up to the grid time, and a chain of
    such times turns the cheap keyframe-only coarse pass into a full decode (measured on a
    34-minute needle video: 5,139 frames decoded for 480 coarse times; on keyframes: 480).
    The frame stands for its grid slot either way; it is stored with its own timestamp.
    """
    from .search.tstar_coverage import nearest_times

    times_s = np.asarray(times_s, dtype=np.float64)
    if keyframes_s is None or keyframes_s.size == 0 or times_s.size == 0:
        return times_s
    nearest = nearest_times(keyframes_s, times_s)
    return np.where(np.abs(nearest - times_s) <= within_s, nearest, times_s)


def _asked_scores(times_s: np.ndarray, asked: dict[float, float], known_t, known_s) -> np.ndarray:
    """The relevance (the pipeline's frame-local scale) behind each time a cold search visited:
    what ``score_at`` answered for it, else the stored frame nearest to it (how T* seeds a
    second from the store)."""
    out = np.empty(len(times_s))
    for i, t in enumerate(np.round(np.asarray(times_s, dtype=np.float64), 6).tolist()):
        out[i] = asked[t] if t in asked else known_s[int(np.argmin(np.abs(known_t - t)))]
    return out


def _relevance_at(timeline: Timeline, selection: Selection) -> np.ndarray:
    """Each selected frame's relevance as the timeline (and the report's plot) has it: exactly a
    scored frame's score for a scored frame (the selection's own scores may be smoothed)."""
    if not len(timeline.timestamps_s):
        return np.asarray(selection.scores, dtype=np.float64)
    return np.interp(np.asarray(selection.timestamps_s, dtype=np.float64), timeline.timestamps_s, timeline.scores)


def _best_option(scores: Sequence[float]) -> str:
    from .eval.qa import LETTERS, choice_from_scores

    return choice_from_scores(dict(zip(LETTERS, scores)))


def _positive_relevance(scores: Sequence[float]) -> np.ndarray:
    """Selection scores (z-scores or cosines, may be negative) as shares in [0.1, 1] for token assignment.

    Every selected frame keeps a floor share: it was chosen, so it gets some tokens.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s
    lo, hi = float(s.min()), float(s.max())
    if hi - lo < 1e-12:
        return np.ones_like(s)
    return 0.1 + 0.9 * (s - lo) / (hi - lo)


def _thumbnail(frame: Frame) -> Frame:
    """A copy of the frame with a picture small enough to inline in a report."""
    h, w = frame.image.shape[:2]
    scale = THUMBNAIL_SIZE / min(h, w)
    if scale >= 1:
        return frame
    from PIL import Image

    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(frame.image).resize(size, Image.BILINEAR))
    return Frame(frame.pts_s, frame.index, small, frame.is_keyframe, frame.source)
