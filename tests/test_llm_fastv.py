"""FastV (in-decoder visual token dropping) on a tiny random-weight LLaVA-OneVision.

The hooks are checked against a hand-written forward: the decoder's own layers run on the full
sequence up to layer k, the last token's attention row of layer k-1 is computed with eager
softmax attention, the lowest-attended share r of the visual tokens is removed, and the remaining
layers run on what is left. Same first-token logits, same kept set; r = 0 changes nothing.
"""

from __future__ import annotations

import pytest
import torch
from tiny_vlms import tiny_frames, tiny_vlm_folder

from longvid.errors import InvalidArgumentError
from longvid.llm import load_llm
from longvid.llm.fastv import FastV

TIMES = [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.fixture(scope="module")
def llava(tmp_path_factory):
    folder = tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", "llava_onevision")
    return load_llm(str(folder), device="cpu", dtype="float32", lazy=False)


def reference_logits(llm, prep, k: int, r: float) -> tuple[torch.Tensor, torch.Tensor]:
    """First-token logits and kept positions, computed by hand (no hooks)."""
    lm = llm.model.model.language_model
    hidden = prep.inputs_embeds
    pos = prep.position_ids
    cos_sin = lm.rotary_emb(hidden, pos)
    for layer in lm.layers[:k]:
        before = hidden
        hidden = layer(hidden, attention_mask=None, position_embeddings=cos_sin, position_ids=pos)
    attn = lm.layers[k - 1].self_attn
    x = lm.layers[k - 1].input_layernorm(before)
    n = x.shape[1]
    q = attn.q_proj(x).view(1, n, -1, attn.head_dim).transpose(1, 2)
    key = attn.k_proj(x).view(1, n, -1, attn.head_dim).transpose(1, 2)
    from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

    q, key = apply_rotary_pos_emb(q, key, *cos_sin)
    key = key.repeat_interleave(q.shape[1] // key.shape[1], dim=1)
    scores = (q @ key.transpose(-1, -2)) * attn.scaling
    scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    row = torch.softmax(scores.float(), dim=-1)[0, :, -1].mean(0)
    visual = llm.visual_mask(prep)
    candidates = visual.nonzero().squeeze(1)
    keep_n = max(1, candidates.numel() - int(round(r * candidates.numel())))
    chosen = candidates[torch.topk(row[candidates], keep_n).indices]
    keep = ~visual
    keep[chosen] = True
    kept = keep.nonzero().squeeze(1)
    hidden, pos = hidden[:, kept], pos[..., kept]
    cos_sin = (cos_sin[0][:, kept], cos_sin[1][:, kept])
    for layer in lm.layers[k:]:
        hidden = layer(hidden, attention_mask=None, position_embeddings=cos_sin, position_ids=pos)
    logits = llm.model.lm_head(lm.norm(hidden))[0, -1]
    return logits, kept


@torch.inference_mode()
@pytest.mark.parametrize("r", [0.5, 0.9])
def test_fastv_hooks_match_a_hand_written_forward(llava, r):
    frames = tiny_frames(len(TIMES))
    prep = llava.prepare(frames, TIMES, "what happens?")
    ids, logits = llava.generate(prep, max_new_tokens=3, fastv=FastV(k=1, r=r))
    expected, kept = reference_logits(llava, prep, 1, r)
    assert torch.equal(llava.last_fastv["kept"], kept)
    visual = int(llava.visual_mask(prep).sum())
    assert llava.last_fastv["visual_kept"] == visual - round(r * visual)
    torch.testing.assert_close(logits, expected.float(), atol=1e-4, rtol=1e-4)
    plain_ids, plain_logits = llava.generate(prep, max_new_tokens=3)
    assert not torch.allclose(plain_logits, logits, atol=1e-4)  # dropping tokens changes the answer's logits


@torch.inference_mode()
def test_fastv_with_nothing_dropped_is_the_plain_model(llava):
    frames = tiny_frames(len(TIMES))
    prep = llava.prepare(frames, TIMES, "what happens?")
    plain_ids, plain_logits = llava.generate(prep, max_new_tokens=4)
    ids, logits = llava.generate(prep, max_new_tokens=4, fastv=FastV(k=1, r=0.0))
    assert ids == plain_ids
    torch.testing.assert_close(logits, plain_logits, atol=1e-5, rtol=1e-5)


def test_fastv_answer_reports_tokens_left_in_the_decoder(llava):
    frames = tiny_frames(len(TIMES))
    result = llava.answer(frames, TIMES, "what happens?", max_new_tokens=2, fastv=FastV(k=1, r=0.75))
    assert result.tokens_after == 80  # the token stage kept everything (5 frames x 16)
    assert result.decoder_tokens_after == 20
    assert llava.answer(frames, TIMES, "what happens?", max_new_tokens=2).decoder_tokens_after is None


@pytest.mark.parametrize("k, r", [(0, 0.5), (2, 0.5), (1, 1.0), (1, -0.1)])
def test_fastv_refuses_bad_parameters(llava, k, r):
    with pytest.raises(InvalidArgumentError):
        fastv = FastV(k=k, r=r)
        llava.answer(tiny_frames(2), TIMES[:2], "what happens?", max_new_tokens=1, fastv=fastv)
