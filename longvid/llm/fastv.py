"""FastV: attention-guided dropping of visual tokens inside the decoder (Chen et al., ECCV 2024,
"An Image is Worth 1/2 Tokens After Layer 2").

The first ``k`` decoder layers see every token. At layer ``k`` the visual tokens are ranked by the
attention the LAST token of the prompt pays them in layer ``k - 1`` (averaged over heads), and the
``r`` share with the least attention is dropped for layers ``k`` onwards: from then on those
layers neither compute nor cache them. Text tokens and each frame's newline token always stay.
Parameters are named as in the paper (K, R); its defaults are K = 2, R = 50 %.

It works through forward pre-hooks on the decoder layers of the model's language model (no fork
of transformers): the hook on layer ``k - 1`` recomputes that layer's attention row for the last
token from its own query/key projections and rotary embeddings (the same numbers the layer's
attention computes, without asking every layer for its full attention matrix); the hooks on
layers ``k`` and later cut the hidden states, rotary embeddings and attention mask down to the
kept tokens during the prefill, and the mask's key dimension during decoding (those layers' caches
hold only the kept tokens). It applies to decoders whose layers take ``position_embeddings=(cos,
sin)`` over the sequence and ``q_proj``/``k_proj`` attention (Qwen2, used by LLaVA-OneVision).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ..errors import InvalidArgumentError


@dataclass(frozen=True)
class FastV:
    k: int = 2  # the layer from which visual tokens are dropped (layers 0..k-1 see all of them)
    r: float = 0.5  # the share of visual tokens dropped at layer k

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise InvalidArgumentError(f"FastV k = {self.k!r} is invalid", "expected a decoder layer index of at least 1")
        if not 0.0 <= float(self.r) < 1.0:
            raise InvalidArgumentError(f"FastV r = {self.r!r} is invalid", "expected a share from 0 to below 1")

    def kept_count(self, visual: int) -> int:
        """Visual tokens kept from layer k on (at least one)."""
        return max(1, visual - int(round(self.r * visual)))


def decoder_layers(model) -> list[torch.nn.Module]:
    """The decoder layers of a transformers multimodal model's language model."""
    inner = getattr(model, "model", model)
    language = getattr(inner, "language_model", None)
    layers = getattr(language, "layers", None)
    if layers is None:
        raise InvalidArgumentError(
            f"FastV: {type(model).__name__} has no language_model.layers to attach to",
            "use FastV with LLaVA-OneVision (Qwen2 decoder) models",
        )
    return list(layers)


def last_token_attention(layer: torch.nn.Module, hidden: torch.Tensor, position_embeddings) -> torch.Tensor:
    """(L,) attention of the last position over all positions in ``layer``, mean over heads."""
    from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

    attn = layer.self_attn
    x = layer.input_layernorm(hidden)
    shape = (*x.shape[:-1], -1, attn.head_dim)
    q = attn.q_proj(x[:, -1:]).view(x.shape[0], 1, -1, attn.head_dim).transpose(1, 2)
    k = attn.k_proj(x).view(shape).transpose(1, 2)
    cos, sin = position_embeddings
    q, _ = apply_rotary_pos_emb(q, q, cos[:, -1:], sin[:, -1:])
    _, k = apply_rotary_pos_emb(k, k, cos, sin)
    k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
    weights = torch.softmax((q @ k.transpose(-1, -2)).float() * attn.scaling, dim=-1)  # the last row sees all
    return weights[0, :, 0].mean(0)


@contextlib.contextmanager
def attach(model, fastv: FastV, visual: torch.Tensor) -> Iterator[dict]:
    """Run ``model`` with FastV inside this block. ``visual`` (L,) bool marks the droppable visual
    tokens of the prefill sequence. Yields a record that ends up holding ``kept`` (the indices of
    the prefill positions kept from layer k on) and ``visual_kept``."""
    layers = decoder_layers(model)
    if fastv.k >= len(layers):
        raise InvalidArgumentError(
            f"FastV k = {fastv.k} is not below the model's {len(layers)} decoder layers", f"use k from 1 to {len(layers) - 1}"
        )
    visual = visual.bool().cpu()
    length = int(visual.numel())
    record: dict = {}

    def score(module, args, kwargs):
        hidden = args[0] if args else kwargs["hidden_states"]
        if hidden.shape[1] == length and "kept" not in record:
            with torch.no_grad():
                attention = last_token_attention(module, hidden, kwargs["position_embeddings"]).cpu()
            candidates = visual.nonzero().squeeze(1)
            chosen = candidates[torch.topk(attention[candidates], fastv.kept_count(candidates.numel())).indices]
            keep = ~visual
            keep[chosen] = True
            record["kept"] = keep.nonzero().squeeze(1)
            record["visual_kept"] = int(chosen.numel())

    def cut(module, args, kwargs):
        kept = record.get("kept")
        if kept is None:
            return None
        hidden = args[0] if args else kwargs["hidden_states"]
        kept = kept.to(hidden.device)
        mask = kwargs.get("attention_mask")
        cos, sin = kwargs["position_embeddings"]
        if cos.shape[-2] == length:  # the prefill: every layer from k on sees the kept positions only
            if hidden.shape[1] == length:  # layer k itself (later ones get its shortened output)
                hidden = hidden[:, kept]
            kwargs["position_embeddings"] = (cos[..., kept, :], sin[..., kept, :])
            if kwargs.get("position_ids") is not None:
                kwargs["position_ids"] = kwargs["position_ids"][..., kept]
            if isinstance(mask, torch.Tensor):
                kwargs["attention_mask"] = mask[..., kept, :][..., kept]
        elif isinstance(mask, torch.Tensor) and mask.shape[-1] > kept.numel():  # decoding: keys = kept + new
            new = torch.arange(length, mask.shape[-1], device=mask.device)
            kwargs["attention_mask"] = mask[..., torch.cat([kept, new])]
        if args:
            args = (hidden, *args[1:])
        else:
            kwargs["hidden_states"] = hidden
        return args, kwargs

    handles = [layers[fastv.k - 1].register_forward_pre_hook(score, with_kwargs=True)]
    handles += [layer.register_forward_pre_hook(cut, with_kwargs=True) for layer in layers[fastv.k :]]
    try:
        yield record
    finally:
        for h in handles:
            h.remove()
