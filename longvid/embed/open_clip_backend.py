"""open_clip encoders: built-in names with a pretrained tag or checkpoint file, ``hf-hub:`` repos,
and local folders in the open_clip hub layout (open_clip_config.json + open_clip_model.safetensors).

    open_clip:ViT-B-32-SigLIP2-256/webli        built-in architecture + pretrained tag
    open_clip:ViT-B-32//data/ckpt.safetensors   built-in architecture + local checkpoint file
    open_clip:hf-hub:timm/ViT-B-16-SigLIP2      an open_clip repo on the Hugging Face hub
    open_clip:/models/my-clip  (or just the folder path)   a local folder in hub layout
    tiny                                        longvid's own small model (longvid/models/tiny-clip)

Loading goes through ``open_clip.create_model_from_pretrained`` (which refuses to return random
weights); files are resolved first so a missing model is a ``ModelNotFoundError``, not a download
attempt buried in a stack trace.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..errors import ModelNotFoundError
from . import resolve
from .base import TorchEncoder

_PREPROCESS_KEYS = ("size", "mean", "std", "interpolation", "resize_mode", "fill_color")


def load(rest: str, *, device: str = "auto", batch_size: int = 32, threads: int = 0) -> "OpenClipEncoder":
    spec = "tiny" if Path(rest) == resolve.TINY_MODEL_DIR else f"open_clip:{rest}"
    if rest.startswith("local-dir:"):
        rest = rest[len("local-dir:") :]
    folder = Path(rest).expanduser()
    if spec == "tiny" or folder.is_dir():
        return _load_folder(folder, spec, device=device, batch_size=batch_size, threads=threads)
    if rest.startswith("hf-hub:"):
        repo = rest[len("hf-hub:") :]
        config = resolve.hub_file(repo, resolve.OPEN_CLIP_CONFIG, spec=spec)
        resolve.hub_first_file(repo, resolve.OPEN_CLIP_WEIGHTS, spec=spec)
        # Both files now sit in the same cache snapshot folder: load it like a local folder.
        return _load_folder(config.parent, spec, device=device, batch_size=batch_size, threads=threads)
    return _load_named(rest, spec, device=device, batch_size=batch_size, threads=threads)


def _load_folder(folder: Path, spec: str, **options: Any) -> "OpenClipEncoder":
    config_path = folder / resolve.OPEN_CLIP_CONFIG
    weights = next((folder / n for n in resolve.OPEN_CLIP_WEIGHTS if (folder / n).is_file()), None)
    if weights is None or not config_path.is_file():
        if spec == "tiny":
            raise resolve.tiny_missing_error()
        missing = resolve.OPEN_CLIP_CONFIG if not config_path.is_file() else " or ".join(resolve.OPEN_CLIP_WEIGHTS[:2])
        raise ModelNotFoundError(
            f"model {spec!r}: folder {folder} has no {missing}",
            "an open_clip model folder holds open_clip_config.json and open_clip_model.safetensors",
        )
    try:
        model_cfg = json.loads(config_path.read_text(encoding="utf-8"))["model_cfg"]
    except (ValueError, KeyError) as exc:
        raise ModelNotFoundError(f"model {spec!r}: {config_path} is not an open_clip config ({exc})") from None
    import open_clip

    model = open_clip.create_model_from_pretrained(
        f"local-dir:{folder}", device=_torch_device(options["device"]), return_transform=False
    )
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    name = "tiny-clip" if spec == "tiny" else folder.name
    return OpenClipEncoder(model, tokenizer, name=name, files=[weights], model_cfg=model_cfg, **options)


def _load_named(rest: str, spec: str, **options: Any) -> "OpenClipEncoder":
    import open_clip

    arch, _, tag = rest.partition("/")
    arch = arch.strip()
    if arch not in open_clip.list_models():
        raise ModelNotFoundError(
            f"model {spec!r}: {arch!r} is not an open_clip architecture and not a folder",
            "see open_clip.list_models() for names, or pass a local model folder",
        )
    tags = open_clip.list_pretrained_tags_by_model(arch)
    if not tag:
        raise ModelNotFoundError(
            f"model {spec!r} names no weights",
            f"add a pretrained tag ({', '.join(tags) or 'none known'}) or a checkpoint file: open_clip:{arch}/TAG",
        )
    force_preprocess: dict[str, Any] = {}
    quick_gelu = False
    tag_cfg = open_clip.get_pretrained_cfg(arch, tag)
    checkpoint_file = Path(tag).expanduser()
    if tag_cfg:
        checkpoint = _fetch_tag(tag_cfg, spec)
        force_preprocess = {k: tag_cfg[k] for k in _PREPROCESS_KEYS if k in tag_cfg}
        quick_gelu = bool(tag_cfg.get("quick_gelu", False))
    elif checkpoint_file.is_file():
        checkpoint = checkpoint_file
    else:
        raise ModelNotFoundError(
            f"model {spec!r}: {tag!r} is neither a pretrained tag of {arch} nor a checkpoint file",
            f"known tags: {', '.join(tags) or 'none'}",
        )
    try:
        model = open_clip.create_model_from_pretrained(
            arch,
            pretrained=str(checkpoint),
            device=_torch_device(options["device"]),
            return_transform=False,
            force_quick_gelu=quick_gelu,
            image_mean=force_preprocess.get("mean"),
            image_std=force_preprocess.get("std"),
            image_interpolation=force_preprocess.get("interpolation"),
            image_resize_mode=force_preprocess.get("resize_mode"),
        )
        tokenizer = open_clip.get_tokenizer(arch)
    except (OSError, RuntimeError) as exc:  # a tokenizer or tower config that needs the hub
        raise ModelNotFoundError(f"model {spec!r} could not be loaded: {' '.join(str(exc).split())[:200]}") from None
    model_cfg = open_clip.get_model_config(arch)
    # the id names weights by content, so a checkpoint file is named without its folder
    name = f"{arch}/{tag}" if tag_cfg else f"{arch}/{checkpoint_file.name}"
    return OpenClipEncoder(model, tokenizer, name=name, files=[checkpoint], model_cfg=model_cfg, **options)


def _fetch_tag(tag_cfg: dict, spec: str) -> Path:
    if tag_cfg.get("hf_hub"):
        # "org/repo/file.bin", or "org/repo/" for the repo's default weights file
        repo, filename = os.path.split(tag_cfg["hf_hub"])
        filename = filename or "open_clip_pytorch_model.bin"
        names = [filename]
        if filename == "open_clip_pytorch_model.bin":
            names.insert(0, "open_clip_model.safetensors")  # open_clip prefers the safetensors twin
        elif filename.endswith((".bin", ".pth")):
            names.insert(0, filename[:-4] + ".safetensors")
        return resolve.hub_first_file(repo, tuple(names), spec=spec)
    url = tag_cfg.get("url", "")
    cached = Path("~/.cache/clip").expanduser() / os.path.basename(url)
    if cached.is_file():
        return cached
    raise ModelNotFoundError(
        f"model {spec!r}: weights {url} are not in {cached.parent}",
        "download that file there, or pass a local checkpoint: open_clip:ARCH//path/to/file",
    )


def _torch_device(device: str) -> str:
    from .base import resolve_device

    return resolve_device(device)


class OpenClipEncoder(TorchEncoder):
    def __init__(self, model, tokenizer, *, name: str, files: list[Path], model_cfg: dict, **options: Any):
        super().__init__(**options)
        from open_clip.transform import PreprocessCfg

        self.model = model.eval().to(self.device)
        self.tokenizer = tokenizer
        self.name = name
        pp = dict(getattr(model.visual, "preprocess_cfg", {}))
        self.preprocess_cfg = PreprocessCfg(**{k: v for k, v in pp.items() if k in _PREPROCESS_KEYS or k == "mode"})
        self.dim = int(model_cfg["embed_dim"])
        settings = {"model_cfg": model_cfg, "preprocess": pp, "precision": "fp32"}
        self.model_id = f"open_clip:{name}@{resolve.weights_digest(list(files), settings)}"
        self._text_parts = _causal_text_parts(self.model)
        size = self.preprocess_cfg.size
        self.image_size = (size, size) if isinstance(size, int) else tuple(size)  # (height, width)

    # Frames arrive as uint8 arrays of one size: resize the whole batch as a tensor instead of
    # going through PIL one image at a time. Same geometry and filters as open_clip's transform
    # (tests compare against it).
    def _preprocess(self, images: Sequence[np.ndarray]) -> "torch.Tensor":
        import torch
        from open_clip.transform import ResizeKeepRatio, center_crop_or_pad
        from torchvision.transforms.v2 import functional as F

        cfg = self.preprocess_cfg
        target_h, target_w = self.image_size
        mode = F.InterpolationMode.BILINEAR if cfg.interpolation == "bilinear" else F.InterpolationMode.BICUBIC
        x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)  # (B, 3, H, W) uint8
        h, w = x.shape[-2:]
        if cfg.resize_mode == "squash":
            x = F.resize(x, [target_h, target_w], interpolation=mode, antialias=True)
        elif cfg.resize_mode == "longest":
            size = ResizeKeepRatio.get_params(SimpleNamespace(size=(w, h)), (target_h, target_w), 1.0)
            x = F.resize(x, size, interpolation=mode, antialias=True)
            x = center_crop_or_pad(x, [target_h, target_w], fill=cfg.fill_color)
        else:  # "shortest"
            if target_h == target_w:
                x = F.resize(x, target_h, interpolation=mode, antialias=True)
            else:
                size = ResizeKeepRatio.get_params(SimpleNamespace(size=(w, h)), (target_h, target_w), 0.0)
                x = F.resize(x, size, interpolation=F.InterpolationMode.BICUBIC, antialias=True)
            x = F.center_crop(x, [target_h, target_w])
        x = x.float().div_(255.0)
        return F.normalize(x, mean=list(cfg.mean), std=list(cfg.std))

    def _forward_images(self, pixels):
        return self.model.encode_image(pixels)

    def _forward_texts(self, texts: list[str]):
        tokens = self.tokenizer(texts).to(self.device)
        if self._text_parts is None:
            return self.model.encode_text(tokens)
        return _encode_text_trimmed(self._text_parts, tokens)


def _causal_text_parts(model) -> SimpleNamespace | None:
    """The text tower's pieces when it is causal and pools at the end-of-text token.

    Then positions after the end-of-text token cannot influence the pooled feature, and the
    padded tail of the context (most of it for a short query) can be skipped: same numbers,
    a fraction of the work.
    """
    text = getattr(model, "text", None)
    owner = model if text is None else text
    if text is not None and (getattr(text, "cls_emb", None) is not None or getattr(text, "use_pad_mask", False)):
        return None
    pool = getattr(model, "text_pool_type", None) if text is None else getattr(text, "pool_type", None)
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final", "attn_mask")
    if pool not in ("argmax", "eos") or any(getattr(owner, n, None) is None for n in needed):
        return None
    eos = getattr(model, "text_eos_id", None) if text is None else getattr(text, "eos_id", None)
    return SimpleNamespace(
        owner=owner, pool=pool, eos_id=eos, projection=getattr(owner, "text_projection", None)
    )


def _encode_text_trimmed(parts: SimpleNamespace, tokens):
    import torch

    if parts.pool == "argmax":
        pool_at = tokens.argmax(dim=-1)
    else:
        pool_at = (tokens == parts.eos_id).int().argmax(dim=-1)
    length = int(pool_at.max()) + 1
    tokens = tokens[:, :length]
    o = parts.owner
    cast_dtype = o.transformer.get_cast_dtype()
    x = o.token_embedding(tokens).to(cast_dtype) + o.positional_embedding[:length].to(cast_dtype)
    x = o.transformer(x, attn_mask=o.attn_mask[:length, :length])
    x = o.ln_final(x)
    pooled = x[torch.arange(x.shape[0], device=x.device), pool_at]
    if parts.projection is None:
        return pooled
    if isinstance(parts.projection, torch.nn.Linear):
        return parts.projection(pooled)
    return pooled @ parts.projection
