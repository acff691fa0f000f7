"""Configuration: one frozen dataclass per stage, composed into ``PipelineConfig``.

The dataclass defaults below are the single source of truth. A preset (``pipelines/NAME.toml``,
found by name, or a path to a TOML file) overrides fields; CLI flags override the preset:

    cfg = PipelineConfig.from_preset("fast").with_overrides({"search": {"frames": 16}})

Each stage validates its own values in ``__post_init__`` so a bad value fails before any work.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidArgumentError


def data_dir(name: str) -> Path:
    """A data folder shipped with longvid (``pipelines``, ``indexes``).

    A wheel carries it inside the package; a source checkout (editable install) has it at the
    repository root.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"longvid data folder {name!r} not found next to {here}")


def _check(cond: bool, what: str, value: Any, expected: str) -> None:
    if not cond:
        raise InvalidArgumentError(f"{what} = {value!r} is invalid", f"expected {expected}")


@dataclass(frozen=True)
class DecodeConfig:
    backend: str = "pyav"
    fps: float = 1.0  # frames sampled per second of video for embedding
    mode: str = "exact"  # "exact": frame on screen at each sample time; "keyframes": keyframes only
    size: int = 256  # shorter side of frames handed to the encoder (aspect kept)
    threads: int = 0  # decoder threads, 0 = automatic

    def __post_init__(self) -> None:
        _check(self.fps > 0, "decode.fps", self.fps, "a positive number of frames per second")
        _check(self.mode in ("exact", "keyframes"), "decode.mode", self.mode, "'exact' or 'keyframes'")
        _check(self.size >= 16, "decode.size", self.size, "at least 16 pixels")
        _check(self.threads >= 0, "decode.threads", self.threads, "0 (automatic) or more")


@dataclass(frozen=True)
class SceneConfig:
    detector: str = "adaptive"  # "content" | "adaptive" | "threshold" | "none"
    threshold: float | None = None  # None: the detector's own default
    min_scene_len: int = 15  # frames

    def __post_init__(self) -> None:
        _check(self.min_scene_len >= 1, "scenes.min_scene_len", self.min_scene_len, "at least 1 frame")


@dataclass(frozen=True)
class EmbedConfig:
    model: str = "open_clip:ViT-B-32-SigLIP2-256/webli"
    batch_size: int = 32
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:N"
    threads: int = 0  # torch intra-op threads on CPU, 0 = automatic

    def __post_init__(self) -> None:
        _check(bool(self.model), "embed.model", self.model, "a model id, e.g. 'tiny'")
        _check(self.batch_size >= 1, "embed.batch_size", self.batch_size, "at least 1")


@dataclass(frozen=True)
class StoreConfig:
    path: str | None = None  # None: $LONGVID_STORE, else the platform's cache folder

    def resolved_path(self) -> Path:
        if self.path:
            return Path(self.path).expanduser()
        env = os.environ.get("LONGVID_STORE")
        if env:
            return Path(env).expanduser()
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("longvid")) / "store"


@dataclass(frozen=True)
class SearchConfig:
    strategy: str = "topk"  # uniform | topk | bolt | aks | aks-z | scene (topk: best in benchmarks/haystack.py)
    frames: int = 32  # frame budget handed to the video LLM
    decouple: bool = True  # score the question's object/action phrases separately (QuoTA)
    moments: int = 5  # moments returned
    smooth_s: float = 5.0  # Gaussian spread of frame scores over time before selection (0: off)
    smooth: str = "max"  # "max": peaks keep their height (short needles stay first); "mean": average
    combine: str = "mean"  # the question's phrases: "mean" (all should show), "max" (any one will do), "min"
    # A best moment none of whose frames scores this many robust spreads above unrelated captions
    # (longvid.search.scoring.caption_z) is worded as a weak match, not as the answer. Chosen with
    # the shipped tiny CLIP, the only model that runs offline here (benchmarks/match_calibration.py:
    # best cut 7.54 on 3 samples + 6 needle videos; held out, 6 more: 53/59 questions about shown
    # objects clear, 5/118 about an unshown colour + shape clear, 0/33 about unknown things). The
    # rule has no unit, but re-measure the cut for a real encoder before relying on it.
    match_z: float = 7.5

    def __post_init__(self) -> None:
        from .search.cold import COLD_SEARCHES  # light: names only
        from .select import STRATEGIES  # light: NumPy and the registry

        names = [*STRATEGIES.names(), *COLD_SEARCHES]  # cold searches: topk over stored frames
        _check(self.strategy in names, "search.strategy", self.strategy, f"one of {', '.join(names)}")
        _check(self.frames >= 1, "search.frames", self.frames, "at least 1 frame")
        _check(self.moments >= 1, "search.moments", self.moments, "at least 1")
        _check(self.smooth_s >= 0, "search.smooth_s", self.smooth_s, "0 (off) or more seconds")
        _check(self.smooth in ("max", "mean"), "search.smooth", self.smooth, "'max' or 'mean'")
        _check(self.combine in ("mean", "max", "min"), "search.combine", self.combine, "'mean', 'max' or 'min'")
        _check(math.isfinite(self.match_z), "search.match_z", self.match_z, "a finite number of spreads, e.g. 7.5")


@dataclass(frozen=True)
class TokenConfig:
    budget: int = 2048  # visual tokens handed to the LLM in total
    method: str = "hybrid"  # "pool" | "kcenter" (DivPrune, joint) | "kcenter-frame" | "relevance" | "hybrid"
    merge_threshold: float = 0.95  # cosine above which consecutive frames' tokens are merged
    alpha: float = 1.0  # per-frame share grows with relevance ** alpha

    def __post_init__(self) -> None:
        _check(self.budget >= 1, "tokens.budget", self.budget, "at least 1 token")


@dataclass(frozen=True)
class LLMConfig:
    model: str = "llava-hf/llava-onevision-qwen2-0.5b-ov-hf"
    device: str = "auto"  # "auto": CUDA when available, else CPU
    dtype: str = "auto"  # "auto": bfloat16 on CUDA, float32 on CPU
    max_new_tokens: int = 128
    fastv_r: float = 0.0  # FastV: share of visual tokens dropped inside the decoder after layer fastv_k (0: off)
    fastv_k: int = 2

    def __post_init__(self) -> None:
        _check(self.max_new_tokens >= 1, "llm.max_new_tokens", self.max_new_tokens, "at least 1")
        _check(0.0 <= self.fastv_r < 1.0, "llm.fastv_r", self.fastv_r, "a share from 0 (off) to below 1")
        _check(self.fastv_k >= 1, "llm.fastv_k", self.fastv_k, "a decoder layer index of at least 1")


@dataclass(frozen=True)
class AnswerConfig:
    answerer: str = "llm"  # "llm" | "grounding"

    def __post_init__(self) -> None:
        _check(self.answerer in ("llm", "grounding"), "answer.answerer", self.answerer, "'llm' or 'grounding'")


_SECTIONS = {
    "decode": DecodeConfig,
    "scenes": SceneConfig,
    "embed": EmbedConfig,
    "store": StoreConfig,
    "search": SearchConfig,
    "tokens": TokenConfig,
    "llm": LLMConfig,
    "answer": AnswerConfig,
}


@dataclass(frozen=True)
class PipelineConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    scenes: SceneConfig = field(default_factory=SceneConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    tokens: TokenConfig = field(default_factory=TokenConfig)
    llm: LLMConfig = field(default_factory=LLMConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    preset: str = "defaults"

    def with_overrides(self, overrides: dict[str, dict[str, Any]], source: str = "overrides") -> "PipelineConfig":
        """A copy with ``{"section": {"field": value}}`` applied; ``None`` values are ignored."""
        changes: dict[str, Any] = {}
        for section, values in overrides.items():
            if section == "description":
                continue
            if section not in _SECTIONS:
                raise InvalidArgumentError(
                    f"{source}: unknown section [{section}]", f"use one of: {', '.join(_SECTIONS)}"
                )
            if not isinstance(values, dict):
                raise InvalidArgumentError(f"{source}: [{section}] must be a table of settings")
            current = getattr(self, section)
            known = {f.name for f in dataclasses.fields(current)}
            unknown = sorted(set(values) - known)
            if unknown:
                raise InvalidArgumentError(
                    f"{source}: unknown setting {section}.{unknown[0]}",
                    f"[{section}] takes: {', '.join(sorted(known))}",
                )
            given = {k: v for k, v in values.items() if v is not None}
            if given:
                changes[section] = dataclasses.replace(current, **given)
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_preset(cls, name_or_path: str = "default") -> "PipelineConfig":
        path = find_preset(name_or_path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgumentError(f"{path}: not valid TOML ({exc})") from None
        return dataclasses.replace(cls().with_overrides(data, source=str(path)), preset=path.stem)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def preset_names() -> list[str]:
    return sorted(p.stem for p in data_dir("pipelines").glob("*.toml"))


def find_preset(name_or_path: str) -> Path:
    """``pipelines/NAME.toml`` for a bare name, else the given TOML path."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        raise InvalidArgumentError(f"preset file {name_or_path} does not exist")
    path = data_dir("pipelines") / f"{name_or_path}.toml"
    if not path.is_file():
        raise InvalidArgumentError(
            f"unknown preset {name_or_path!r}", f"choose one of: {', '.join(preset_names())}, or a .toml path"
        )
    return path
