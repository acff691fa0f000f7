"""From what a user typed (``tiny``, ``open_clip:NAME/TAG``, ``hf:REPO``, a folder) to local files.

Nothing here loads a model. Hub files are looked up in the local Hugging Face cache first and
downloaded only when that is allowed (``HF_HUB_OFFLINE`` unset); a model that is neither cached nor
downloadable raises ``ModelNotFoundError`` saying what was looked for, where, and how to provide
it. There is no fallback to another model or to random weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import ModelNotFoundError

TINY_MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "tiny-clip"
OPEN_CLIP_CONFIG = "open_clip_config.json"
# Preferred order, as open_clip's own local-folder loader picks them.
OPEN_CLIP_WEIGHTS = (
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.safetensors",
    "open_clip_pytorch_model.bin",
    "open_clip_pytorch_model.pth",
    "model.safetensors",
)

_HOW_TO_PROVIDE = (
    "try the offline demo model (--preset tiny), pass a local model folder, or download it once where the "
    "Hugging Face hub is reachable (it is cached in {cache})"
)
# Exception classes (by name, so any huggingface_hub / httpx / requests version matches) that mean
# no answer came from the hub at all: the network, DNS, a proxy, a timeout.
_NETWORK_ERRORS = frozenset({
    "ConnectionError", "TransportError", "NetworkError", "ConnectError", "TimeoutException", "Timeout",
    "ConnectTimeout", "ReadTimeout", "ProxyError", "RemoteProtocolError", "SSLError", "TimeoutError",
})
_unreachable: dict[str, tuple[float, str]] = {}  # endpoint -> (when, why) it could not be reached
_ASK_AGAIN_S = 60.0  # a network that came back is used again after this long


def split_spec(spec: str) -> tuple[str, str]:
    """``"open_clip:ViT-B-32/openai"`` -> ``("open_clip", "ViT-B-32/openai")``.

    ``tiny`` and bare folder paths get their scheme from what the folder holds.
    """
    spec = spec.strip()
    if spec == "tiny":
        return "open_clip", str(TINY_MODEL_DIR)
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / OPEN_CLIP_CONFIG).is_file():
            return "open_clip", str(path)
        if (path / "config.json").is_file():
            return "hf", str(path)
    scheme, sep, rest = spec.partition(":")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9_.+-]*", scheme) and rest:
        return scheme, rest
    raise ModelNotFoundError(
        f"unknown model {spec!r}",
        "use 'tiny', 'open_clip:NAME/TAG' (e.g. open_clip:ViT-B-32-SigLIP2-256/webli), "
        "'hf:REPO_OR_FOLDER', or a local model folder",
    )


def hub_offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set now, or when huggingface_hub was imported."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in ("1", "true", "yes", "on") or bool(constants.HF_HUB_OFFLINE)


def hub_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def hub_unavailable(spec: str, repo_id: str, filename: str, *, how: str = _HOW_TO_PROVIDE) -> None:
    """Raise a one-line ``ModelNotFoundError`` unless the hub would serve ``filename`` of ``repo_id``.

    Call it for a model that is not in the cache, before downloading. It asks once (a HEAD request,
    no retries, huggingface_hub's HF_HUB_ETAG_TIMEOUT): a download's own retries would spend a
    minute and twenty log lines on a hub that cannot be reached. An unreachable hub is not asked
    again for a minute (a model with several candidate files fails at once)."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url

    where = f"is not in the Hugging Face cache {hub_cache_dir()}"
    if hub_offline():
        raise ModelNotFoundError(f"model {spec!r} {where} and HF_HUB_OFFLINE is set", how.format(cache=hub_cache_dir()))
    endpoint = constants.ENDPOINT
    when, reason = _unreachable.get(endpoint, (-_ASK_AGAIN_S, ""))
    if time.monotonic() - when >= _ASK_AGAIN_S:
        try:
            get_hf_file_metadata(hf_hub_url(repo_id, filename), timeout=constants.HF_HUB_ETAG_TIMEOUT)
            _unreachable.pop(endpoint, None)
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line below
            reason, network = hub_error_reason(exc, repo_id, filename)
            if not network:
                raise ModelNotFoundError(f"model {spec!r}: {reason}", how.format(cache=hub_cache_dir())) from None
            _unreachable[endpoint] = (time.monotonic(), reason)
    raise ModelNotFoundError(
        f"model {spec!r} {where} and the hub at {endpoint} cannot be reached ({reason})",
        how.format(cache=hub_cache_dir()) + "; HF_HUB_OFFLINE=1 skips the network",
    )


def hub_error_reason(exc: BaseException, repo_id: str, filename: str | None = None) -> tuple[str, bool]:
    """(what went wrong, in words, whole; True when no answer came from the hub at all)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "LocalEntryNotFoundError" in names and exc.__cause__ is not None:  # "not cached" wrapping the real cause
        return hub_error_reason(exc.__cause__, repo_id, filename)
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    if names & _NETWORK_ERRORS and "HfHubHTTPError" not in names:
        return detail, True
    if "GatedRepoError" in names:
        return f"{repo_id} is gated: accept its terms on the hub and log in (`hf auth login`)", False
    if "RepositoryNotFoundError" in names:
        return f"the hub has no repository {repo_id} (or it is private: log in with `hf auth login`)", False
    if "EntryNotFoundError" in names and filename:
        return f"{repo_id} on the hub has no file {filename}", False
    return f"cannot get {filename or 'the files'} of {repo_id} ({detail})", False


def hub_file(repo_id: str, filename: str, *, spec: str) -> Path:
    """A file of a hub repo from the local cache, downloaded first when allowed."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id, filename, local_files_only=True))
    except Exception:
        pass
    hub_unavailable(spec, repo_id, filename)
    try:
        return Path(hf_hub_download(repo_id, filename))
    except Exception as exc:
        reason, _ = hub_error_reason(exc, repo_id, filename)
        raise ModelNotFoundError(f"model {spec!r}: {reason}", _HOW_TO_PROVIDE.format(cache=hub_cache_dir())) from None


def hub_first_file(repo_id: str, filenames: tuple[str, ...], *, spec: str) -> Path:
    """The first of ``filenames`` the repo has (cache first)."""
    from huggingface_hub import constants

    errors = []
    for name in filenames:
        try:
            return hub_file(repo_id, name, spec=spec)
        except ModelNotFoundError as exc:
            if hub_offline() or constants.ENDPOINT in _unreachable:
                raise  # the next name cannot fare better
            errors.append(exc)
    raise errors[0]


def hub_snapshot(repo_id: str, patterns: list[str], *, spec: str) -> Path:
    """A local folder with the repo's files matching ``patterns`` (cache first)."""
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
        if (folder / "config.json").is_file():
            return folder
    except Exception:
        pass
    hub_unavailable(spec, repo_id, "config.json")
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except Exception as exc:
        reason, _ = hub_error_reason(exc, repo_id)
        raise ModelNotFoundError(f"model {spec!r}: {reason}", _HOW_TO_PROVIDE.format(cache=hub_cache_dir())) from None


# --- digests: the part of model_id that names the exact weights ----------------------------------

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) for the life of the process.

    Hugging Face cache blobs of LFS files are named by their SHA-256 already; that name is used
    instead of reading hundreds of megabytes again.
    """
    real = Path(os.path.realpath(path))
    stat = real.stat()
    key = (str(real), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        if real.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}", real.name):
            _DIGESTS[key] = real.name
        else:
            with open(real, "rb") as handle:
                _DIGESTS[key] = hashlib.file_digest(handle, "sha256").hexdigest()
    return _DIGESTS[key]


def weights_digest(files: list[Path], settings: dict[str, Any]) -> str:
    """16 hex digits over the weight/tokenizer files' contents and the settings that shape outputs."""
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        h.update(path.name.encode() + b"\0" + file_sha256(path).encode() + b"\0")
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def tiny_missing_error() -> ModelNotFoundError:
    return ModelNotFoundError(
        f"model 'tiny': the shipped model folder {TINY_MODEL_DIR} does not exist (or lacks "
        f"{OPEN_CLIP_CONFIG} and open_clip_model.safetensors)",
        "train it with tools/train_tiny_clip.py, reinstall longvid, or pass another --model",
    )
