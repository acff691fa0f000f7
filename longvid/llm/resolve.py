"""Find a model's ``config.json`` (local folder or Hugging Face hub cache) without loading weights.

Reading the config first lets every later error (unknown model, unsupported family, budget beyond
the context window) surface before gigabytes of weights are read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelNotFoundError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# longvid's own small video LLM (tools/train_tiny_vlm.py), loaded like any local model folder.
TINY_VLM_DIR = Path(__file__).resolve().parents[1] / "models" / "tiny-vlm"


@dataclass(frozen=True)
class ModelSpec:
    """Where a model lives and what its ``config.json`` says."""

    name: str  # as given by the user
    source: str  # what ``from_pretrained`` gets: a local folder or a hub id
    folder: Path  # folder holding config.json (the hub cache snapshot for hub ids)
    config: dict[str, Any] = field(repr=False)

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type", ""))

    @property
    def text_config(self) -> dict[str, Any]:
        return self.config.get("text_config") or {}

    @property
    def context_length(self) -> int:
        return int(self.text_config.get("max_position_embeddings") or self.config.get("max_position_embeddings") or 0)


def _read_config(name: str, source: str, config_path: Path) -> ModelSpec:
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(
            f"model {name!r}: cannot read {config_path} ({exc})", "the model folder looks damaged: download it again"
        ) from None
    if not isinstance(config, dict) or not config.get("model_type"):
        raise ModelNotFoundError(
            f"model {name!r}: {config_path} has no model_type", "pass a transformers model folder or hub id"
        )
    return ModelSpec(name=name, source=source, folder=config_path.parent, config=config)


def resolve_model(model: str) -> ModelSpec:
    """The ``ModelSpec`` for a local folder or a hub id; ``ModelNotFoundError`` when neither works."""
    if not isinstance(model, str) or not model.strip():
        raise ModelNotFoundError(f"model id {model!r} is empty", "pass a hub id or a local model folder")
    if model == "tiny":
        if not (TINY_VLM_DIR / "config.json").is_file():
            raise ModelNotFoundError(
                f"model 'tiny': the shipped model folder {TINY_VLM_DIR} is missing or incomplete",
                "train it with tools/train_tiny_vlm.py, reinstall longvid, or pass another --model",
            )
        return _read_config(model, str(TINY_VLM_DIR), TINY_VLM_DIR / "config.json")
    local = Path(model).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ModelNotFoundError(f"model {model!r} is a file, not a model folder", "pass the folder holding config.json")
        if not (local / "config.json").is_file():
            raise ModelNotFoundError(
                f"model folder {local} has no config.json", "pass a folder written by save_pretrained or a hub id"
            )
        return _read_config(model, str(local), local / "config.json")
    if not _HUB_ID.match(model):
        raise ModelNotFoundError(
            f"model {model!r}: no such folder", "pass an existing model folder or a hub id like 'org/name'"
        )
    return _from_hub(model)


def _from_hub(model: str) -> ModelSpec:
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    from ..embed.resolve import hub_error_reason, hub_unavailable

    cached = try_to_load_from_cache(model, "config.json")
    if isinstance(cached, str):
        return _read_config(model, model, Path(cached))
    how = ("pass a local model folder, answer without an LLM (--answerer grounding, or --preset tiny), or download "
           "it once where the Hugging Face hub is reachable (it is cached in {cache})")
    hub_unavailable(model, model, "config.json", how=how)  # one line, fast, when the hub cannot serve it
    try:
        path = hf_hub_download(model, "config.json")
    except Exception as exc:  # repository missing, gated, or the network went away meanwhile
        reason, _ = hub_error_reason(exc, model, "config.json")
        raise ModelNotFoundError(f"model {model!r}: {reason}", "check the id and your network, or pass a local model folder") from None
    return _read_config(model, model, Path(path))
