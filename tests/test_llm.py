"""Video-LLM backends end to end on tiny random-weight models of every family.

Checks: frames -> answer text; the inputs_embeds path gives the same first-token logits as the
model's own processor + forward path; with a token budget, the decoder receives exactly the
budgeted visual tokens at their unpruned positions; decoding continues positions correctly; the
prompt text is exactly the checked-in one.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from tiny_vlms import FAMILIES, tiny_frames, tiny_vlm_folder

from longvid.llm import load_llm

TIMES = [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory):
    return lambda family: tiny_vlm_folder(tmp_path_factory.getbasetemp() / "tiny_vlms", family)


@pytest.fixture(scope="session")
def tiny_llm(tiny_vlm_dir):
    loaded = {}

    def get(family: str):
        if family not in loaded:
            loaded[family] = load_llm(str(tiny_vlm_dir(family)), device="cpu", dtype="float32", lazy=False)
        return loaded[family]

    return get


def uniform_reducer(grids, relevance, budget, *, query=None, method="hybrid", merge_threshold=0.95, alpha=1.0):
    """A plain token stage for the assembly tests: ``budget`` tokens evenly spread over all frames'
    grids in (frame, row, col) order, features unchanged (the ``reduce_tokens`` output contract)."""
    from types import SimpleNamespace

    pos = torch.cat(
        [
            torch.stack(torch.meshgrid(torch.tensor([f]), torch.arange(g.shape[0]), torch.arange(g.shape[1]), indexing="ij"), -1).reshape(-1, 3)
            for f, g in enumerate(grids)
        ]
    )
    pick = torch.from_numpy(np.unique(np.linspace(0, pos.shape[0] - 1, budget).round().astype(np.int64)))
    pos = pos[pick]
    feats = torch.stack([grids[f][r, c] for f, r, c in pos.tolist()])
    counts = torch.bincount(pos[:, 0], minlength=len(grids))
    return SimpleNamespace(features=feats, positions=pos, frame_counts=counts, account=None)


def _reducers():
    params = [pytest.param(uniform_reducer, id="uniform")]
    try:
        from longvid.tokens import reduce_tokens

        params.append(pytest.param(reduce_tokens, id="longvid.tokens"))
    except ImportError:
        params.append(pytest.param(None, id="longvid.tokens", marks=pytest.mark.skip(reason="longvid.tokens not built yet")))
    return params


def reference_inputs(llm, prompt: str, frames, times):
    """What the model's OWN processor makes of the same prompt and frames."""
    from transformers.video_utils import VideoMetadata

    proc, n = llm.processor, len(frames)
    indices = [int(round(t)) for t in times]  # TIMES are whole seconds: fps 1 metadata reproduces them
    meta = [VideoMetadata(total_num_frames=indices[-1] + 1, fps=1.0, frames_indices=indices)]
    if llm.family == "llava_onevision":  # one single-frame video per frame
        return proc(text=prompt, videos=[f[None] for f in frames], return_tensors="pt")
    if llm.family == "qwen2_5_vl":  # one two-frame video per temporal patch
        videos = [np.stack(frames[i : i + 2]) for i in range(0, n, 2)]
        return proc(text=prompt, videos=videos, return_tensors="pt", do_sample_frames=False)
    if llm.family == "qwen3_vl":  # the processor writes the per-patch timestamps itself
        text = re.sub(r"(<[0-9.]+ seconds><\|vision_start\|><\|video_pad\|><\|vision_end\|>)+", "<|video_pad|>", prompt)
        return proc(text=text, videos=[np.stack(frames)], video_metadata=meta, return_tensors="pt", do_sample_frames=False)
    text = re.sub(r"You are provided.*\n\n", "<video>", prompt, flags=re.S)  # SmolVLM2 writes the frame list
    return proc(text=text, videos=[np.stack(frames)], video_metadata=meta, return_tensors="pt", do_sample_frames=False)


def reference_positions(llm, ref) -> torch.Tensor:
    """Position ids of the reference (unreduced) sequence as the model itself computes them."""
    n = ref["input_ids"].shape[1]
    if llm.family.startswith("qwen"):
        extra = {"second_per_grid_ts": ref["second_per_grid_ts"]} if "second_per_grid_ts" in ref else {}
        pos, _ = llm.model.model.get_rope_index(
            ref["input_ids"], ref["mm_token_type_ids"], video_grid_thw=ref["video_grid_thw"], **extra
        )
        return pos
    return torch.arange(n).unsqueeze(0)


def capture_decoder_calls(llm):
    """Record the kwargs of every decoder call (the first one is the prefill)."""
    calls = []
    handle = llm.model.get_decoder().register_forward_pre_hook(
        lambda module, args, kwargs: calls.append(dict(kwargs)), with_kwargs=True
    )
    return calls, handle


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n_frames", [3, 4])
def test_inputs_embeds_path_matches_the_models_own_forward(tiny_llm, family, n_frames):
    llm = tiny_llm(family)
    frames, times = tiny_frames(n_frames), TIMES[:n_frames]
    result = llm.answer(frames, times, "What happens in the video?", max_new_tokens=1)
    ref = reference_inputs(llm, result.prompt, frames, times)
    # the processor expanded the same prompt to the same token sequence
    prep = llm.prepare(frames, times, "What happens in the video?")
    assert torch.equal(prep.layout.input_ids, ref["input_ids"][0])
    assert torch.equal(prep.full_position_ids.cpu(), reference_positions(llm, ref))
    with torch.no_grad():
        expected = llm.model(**ref).logits[0, -1].float()
    assert result.first_token_logits.shape == expected.shape
    assert torch.allclose(result.first_token_logits, expected, atol=1e-4, rtol=0)
    assert result.tokens_before == result.tokens_after == llm.native_tokens(n_frames, 48, 64)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reducer", _reducers())
def test_budget_sends_exactly_the_kept_tokens_at_their_unpruned_positions(tiny_llm, family, reducer):
    llm = tiny_llm(family)
    frames, times, budget = tiny_frames(4), TIMES[:4], 13
    question = "When does the square move?"
    llm.reducer = reducer
    try:
        prep = llm.prepare(frames, times, question, token_budget=budget, relevance=[0.1, 0.9, 0.5, 0.2])
        calls, handle = capture_decoder_calls(llm)
        try:
            result = llm.answer(frames, times, question, token_budget=budget, relevance=[0.1, 0.9, 0.5, 0.2], max_new_tokens=2)
        finally:
            handle.remove()
    finally:
        llm.reducer = None
    full = llm.prepare(frames, times, question)
    ref = reference_inputs(llm, full.prompt, frames, times)
    ref_ids, ref_pos = ref["input_ids"][0], reference_positions(llm, ref)

    # Map each kept token's original (unit, row, col) to its index in the reference sequence.
    runs = [m.start() for m in re.finditer(r"(?<!V)V+", "".join("V" if t == llm.placeholder_id else "." for t in ref_ids.tolist()))]
    kept = prep.kept.positions
    widths = [u.shape[1] for u in prep.units]
    visual = torch.tensor([runs[u] + r * widths[u] + c for u, r, c in kept.tolist()])
    is_grid = torch.zeros(len(ref_ids), dtype=torch.bool)
    for u, unit in enumerate(prep.units):
        is_grid[runs[u] : runs[u] + unit.n_grid] = True
    keep = ~is_grid
    keep[visual] = True
    index = keep.nonzero().squeeze(1)

    assert result.tokens_after == budget == kept.shape[0]
    assert sum(result.frame_tokens) == budget and sum(result.unit_tokens) == budget
    prefill = calls[0]
    assert prefill["inputs_embeds"].shape[1] == index.numel() == result.input_tokens
    n_text = int((~is_grid).sum())
    assert prefill["inputs_embeds"].shape[1] - n_text == budget  # exactly the budgeted visual tokens
    sent_pos = prefill["position_ids"].cpu()
    assert torch.equal(sent_pos, ref_pos[..., index])  # kept tokens keep their unpruned positions
    assert torch.allclose(prefill["inputs_embeds"][0].float(), prep.inputs_embeds[0].float(), atol=1e-6)
    if family == "qwen3_vl":  # DeepStack features pruned with the same mask
        assert int(prefill["visual_pos_masks"].sum()) == budget
        assert len(prefill["deepstack_visual_embeds"]) == 2
        assert all(d.shape[0] == budget for d in prefill["deepstack_visual_embeds"])
    # the next decoding step continues after the last position of the full sequence
    step = calls[1]["position_ids"].cpu()
    assert torch.equal(step[..., -1], ref_pos[..., -1] + 1)


def masked_full_inputs(llm, prep) -> dict:
    """The FULL sequence (every placeholder slot present, kept features at kept slots) with the
    dropped visual tokens masked out of attention: what pruning must be equivalent to."""
    from longvid.llm.assemble import build_embeds

    n = prep.layout.input_ids.shape[0]
    mask = torch.zeros(1, n, dtype=torch.long)
    mask[0, prep.index] = 1
    if llm.family != "qwen3_vl":
        embeds = build_embeds(llm.model.get_input_embeddings(), prep.layout, prep.units, prep.kept, torch.arange(n), prep.visual_at)
        return dict(inputs_embeds=embeds[None], attention_mask=mask, position_ids=prep.full_position_ids)
    from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures

    grids = torch.cat([u.grid.reshape(-1, u.grid.shape[-1]) for u in prep.units])
    slots = torch.cat([torch.arange(s, s + u.n_grid) for s, u in zip(prep.layout.grid_start, prep.units)])
    grids[torch.searchsorted(slots, prep.visual_at)] = prep.kept.features.to(grids.dtype)
    deepstack = torch.cat([u.side["deepstack"].reshape(2, -1, grids.shape[-1]) for u in prep.units], dim=1)
    video = BaseModelOutputWithDeepstackFeatures(pooler_output=(grids,), deepstack_features=[(d,) for d in deepstack])
    return dict(input_ids=prep.layout.input_ids[None], attention_mask=mask, position_ids=prep.full_position_ids,
                mm_encoder_outputs={"video": video})


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("reducer", _reducers())
def test_pruned_sequence_equals_the_full_sequence_with_dropped_tokens_masked(tiny_llm, family, reducer):
    llm = tiny_llm(family)
    llm.reducer = reducer
    try:
        prep = llm.prepare(tiny_frames(4, seed=3), TIMES[:4], "Where is the square?", token_budget=11)
    finally:
        llm.reducer = None
    assert prep.kept.positions.shape[0] == 11
    with torch.no_grad():
        pruned = llm.model(**llm.generate_inputs(prep)).logits[0, -1]
        masked = llm.model(**masked_full_inputs(llm, prep)).logits[0, -1]
        unreduced = llm.model(**llm.generate_inputs(llm.prepare(tiny_frames(4, seed=3), TIMES[:4], "Where is the square?"))).logits[0, -1]
    assert torch.allclose(pruned, masked, atol=1e-4, rtol=0)
    assert not torch.allclose(pruned, unreduced, atol=1e-4, rtol=0)  # dropping tokens does change the input


def manual_greedy(llm, prep, steps: int) -> list[int]:
    """Greedy decoding by full forward passes without a cache (positions extended by hand)."""
    inputs = llm.generate_inputs(prep)
    out = []
    with torch.no_grad():
        for _ in range(steps):
            token = int(llm.model(**inputs, use_cache=False).logits[0, -1].argmax())
            out.append(token)
            pos = inputs["position_ids"]
            inputs["position_ids"] = torch.cat([pos, pos[..., -1:] + 1], dim=-1)
            inputs["attention_mask"] = torch.cat([inputs["attention_mask"], inputs["attention_mask"][:, -1:]], dim=1)
            new = torch.tensor([[token]])
            if "inputs_embeds" in inputs:
                emb = llm.model.get_input_embeddings()(new)
                inputs["inputs_embeds"] = torch.cat([inputs["inputs_embeds"], emb], dim=1)
            else:
                inputs["input_ids"] = torch.cat([inputs["input_ids"], new], dim=1)
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_answer_end_to_end_with_a_budget_decodes_like_a_manual_greedy_loop(tiny_llm, family):
    llm = tiny_llm(family)
    frames, times = tiny_frames(3, seed=5), [10.0, 12.5, 20.0]
    llm.reducer = uniform_reducer
    try:
        result = llm.answer(frames, times, "What is the bright square doing?", token_budget=20, max_new_tokens=5)
        prep = llm.prepare(frames, times, "What is the bright square doing?", token_budget=20)
    finally:
        llm.reducer = None
    expected = manual_greedy(llm, prep, 5)[: result.new_tokens]
    assert result.new_tokens >= 1
    assert result.text == llm.tokenizer.decode(expected, skip_special_tokens=True).strip()
    assert set(result.seconds) == {"vision", "reduce", "generate"} and all(v >= 0 for v in result.seconds.values())
    assert result.tokens_after == 20 < result.tokens_before
    assert len(result.frame_tokens) == 3 and sum(result.frame_tokens) == 20
    assert result.model.endswith(family)
    assert result.to_dict()["tokens_after"] == 20


EXPECTED_PROMPTS = {
    "llava_onevision": (
        "<|im_start|>user\n"
        "Frame 1 at 00:00:00.0: <video>\n"
        "Frame 2 at 00:01:23.5: <video>\n"
        "Frame 3 at 01:02:03.9: <video>\n"
        "When does the dog jump?<|im_end|>\n<|im_start|>assistant\n"
    ),
    "qwen2_5_vl": (
        "<|im_start|>user\n"
        "Frames 1-2 at 00:00:00.0 and 00:01:23.5: <|vision_start|><|video_pad|><|vision_end|>\n"
        "Frame 3 at 01:02:03.9: <|vision_start|><|video_pad|><|vision_end|>\n"
        "When does the dog jump?<|im_end|>\n<|im_start|>assistant\n"
    ),
    "qwen3_vl": (
        "<|im_start|>user\n"
        "<41.7 seconds><|vision_start|><|video_pad|><|vision_end|>"
        "<3723.9 seconds><|vision_start|><|video_pad|><|vision_end|>"
        "When does the dog jump?<|im_end|>\n<|im_start|>assistant\n"
    ),
    "smolvlm": (
        "<|im_start|>User: You are provided the following series of three frames from a 1:02:05 [H:MM:SS] video.\n"
        "\nFrame from 00:00:<fake_token_around_image><global-img><image><fake_token_around_image>"
        "\nFrame from 01:23:<fake_token_around_image><global-img><image><fake_token_around_image>"
        "\nFrame from 62:03:<fake_token_around_image><global-img><image><fake_token_around_image>"
        "\n\nWhen does the dog jump?<end_of_utterance>\nAssistant:"
    ),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_prompt_snapshot(tiny_llm, family):
    llm = tiny_llm(family)
    result = llm.answer(
        tiny_frames(3), [0.0, 83.46, 3723.94], "  When does the dog jump? ", duration_s=3725.2, max_new_tokens=1
    )
    assert result.prompt == EXPECTED_PROMPTS[family]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("family", FAMILIES)
def test_cuda_auto_dtype_and_fp32_equivalence(tiny_vlm_dir, family):
    frames, times = tiny_frames(3), TIMES[:3]
    auto = load_llm(str(tiny_vlm_dir(family)), device="auto")
    assert auto.device.type == "cuda" and auto.dtype in (torch.bfloat16, torch.float16)
    result = auto.answer(frames, times, "What happens?", token_budget=20, max_new_tokens=3)
    assert result.tokens_after == 20 and torch.isfinite(result.first_token_logits).all()
    fp32 = load_llm(str(tiny_vlm_dir(family)), device="cuda", dtype="float32")
    result = fp32.answer(frames, times, "What happens?", max_new_tokens=1)
    ref = reference_inputs(fp32, result.prompt, frames, times).to("cuda")
    with torch.no_grad():
        expected = fp32.model(**ref).logits[0, -1].float().cpu()
    assert torch.allclose(result.first_token_logits, expected, atol=1e-4, rtol=0)


@pytest.mark.shared
@pytest.mark.parametrize("family", FAMILIES)
def test_real_clip_frames_end_to_end(tiny_llm, shared_video, family):
    """Full-HD frames of a real clip go through each family's own processor and the whole path."""
    import av

    path = shared_video("pyscenedetect/counter.mp4")  # 3 s, 1080p, 10 fps
    frames, times = [], []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % 8 == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(float(frame.time))
    assert len(frames) == 4 and frames[0].shape == (1080, 1920, 3)
    llm = tiny_llm(family)
    result = llm.answer(frames, times, "Which frame number is shown?", token_budget=24, relevance=[0.2, 1.0, 0.4, 0.1], max_new_tokens=3)
    assert result.tokens_after == 24 and sum(result.frame_tokens) == 24
    assert result.tokens_before == llm.native_tokens(4, 1080, 1920) > 24
    assert result.new_tokens >= 1 and isinstance(result.text, str)
