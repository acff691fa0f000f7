"""Prefill cost of a full-size video LLM at native visual tokens versus longvid's token budget.

The model is the LLaVA-OneVision-0.5B architecture (SigLIP so400m tower, 384 px / patch 14 =
729 patch tokens per frame, pooled 2x2 to 196 per frame for video; Qwen2-0.5B language model),
written by hand from the published architecture and filled with random weights: no download
(``--arch 7b``: the same with the Qwen2-7B language model of LLaVA-OneVision-7B).
Prefill cost does not depend on the weights' values, nor on the tokenizer, so a small word-level
tokenizer built here stands in for the real one.

For each condition the frames go through longvid's LLaVA-OneVision backend (vision tower +
projector, token stage, prompt with per-frame timestamps, inputs_embeds at the kept positions),
then one prefill forward pass (``use_cache=True``, logits of the last position only) is timed
(CUDA events on a GPU):

    native          every visual token (what the model's own processor would send)
    budget          longvid's default budget, TokenConfig.budget (2048 for 32 frames; scaled to
                    the same tokens per frame when --frames is not 32)
    budget 1/6      one sixth of the native visual tokens (the point the target is stated at)

and printed side by side with the ratios to native. Target: >= 5x less prefill time at <= 1/6
of the tokens.

    python benchmarks/prefill.py --device cuda --json bench_out/prefill_cuda.json   # 32 frames, bf16
    python benchmarks/prefill.py                                                    # CPU, quick

On CPU the default is 4 frames, one repeat and random features in place of the vision tower
(whose cost is the same in every condition; --vision runs it). bfloat16 is used on CPU only
when this CPU multiplies bfloat16 matrices at least half as fast as float32 (many x86 CPUs
without AVX512-BF16/AMX run them ~50x slower); otherwise float32, and the table says so.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

QUESTION = "What happens in this video, and when?"


# Qwen2 language models of the published LLaVA-OneVision checkpoints.
LANGUAGE_MODELS = {
    "0.5b": dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, tie_word_embeddings=True),
    "7b": dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
               num_attention_heads=28, num_key_value_heads=4, tie_word_embeddings=False),
}


def llava_onevision_config(image_token_id: int, video_token_id: int, arch: str = "0.5b"):
    """The llava-onevision-qwen2-{0.5b,7b} architecture (SigLIP so400m-patch14-384 without its
    last layer and head; Qwen2-0.5B or Qwen2-7B)."""
    from transformers import LlavaOnevisionConfig

    lm = LANGUAGE_MODELS[arch]
    return LlavaOnevisionConfig(
        vision_config=dict(
            model_type="siglip_vision_model", hidden_size=1152, intermediate_size=4304, num_hidden_layers=26,
            num_attention_heads=16, image_size=384, patch_size=14, hidden_act="gelu_pytorch_tanh",
            layer_norm_eps=1e-6, vision_use_head=False,
        ),
        text_config=dict(
            model_type="qwen2", max_position_embeddings=32768, rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **lm,
        ),
        image_token_id=image_token_id,
        video_token_id=video_token_id,
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        projector_hidden_act="gelu",
        multimodal_projector_bias=True,
        tie_word_embeddings=lm["tie_word_embeddings"],
    )


def word_tokenizer():
    """A word-level tokenizer with the special tokens LLaVA-OneVision's processor needs."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>", "[UNK]"]
    words = sorted(set("frame at user assistant what happens in this video and when ? : , . \n".split(" ")) | set("0123456789"))
    vocab = {tok: i for i, tok in enumerate(special + [w for w in words if w])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)])
    tok.add_special_tokens(special)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")


CHAT = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% for p in m['content'] %}{{ p['text'] }}{% endfor %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def write_model_folder(folder: Path, arch: str):
    """config.json + processor files (no weights: they are random and built in memory)."""
    from transformers import LlavaOnevisionImageProcessor, LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor

    tokenizer = word_tokenizer()
    config = llava_onevision_config(
        tokenizer.convert_tokens_to_ids("<image>"), tokenizer.convert_tokens_to_ids("<video>"), arch
    )
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(),
        video_processor=LlavaOnevisionVideoProcessor(),
        tokenizer=tokenizer,
        num_image_tokens=729,
        vision_feature_select_strategy="full",
        chat_template=CHAT,
    )
    config.save_pretrained(folder)
    processor.save_pretrained(folder)
    return config


def synthetic_frames(n: int, height: int, width: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        img = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        y, x = (37 * i) % (height - 64), (53 * i) % (width - 64)
        img[y : y + 64, x : x + 64] = (255, 200, 40)
        frames.append(img)
    return frames


def video_frames(path: str, n: int) -> tuple[list[np.ndarray], list[float]]:
    """``n`` frames at uniformly spaced times of a video (PyAV, one sequential pass)."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else float(container.duration) / 1e6
        targets = [(i + 0.5) * duration / n for i in range(n)]
        frames, times = [], []
        for frame in container.decode(stream):
            while len(frames) < n and frame.time is not None and frame.time >= targets[len(frames)]:
                frames.append(frame.to_ndarray(format="rgb24"))
                times.append(float(frame.time))
            if len(frames) == n:
                break
    if not frames:
        raise SystemExit(f"{path}: no frames decoded")
    return frames, times


class PeakRSS:
    """Peak resident memory above the level at start, sampled every few milliseconds (CPU runs)."""

    def __enter__(self):
        try:  # hand freed heap memory back to the OS so this run's growth shows in RSS (glibc only)
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.page = 4096
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.wait(0.003):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def cpu_bf16_is_fast() -> tuple[bool, str]:
    def gflops(dtype):
        a, b = torch.randn(512, 512, dtype=dtype), torch.randn(512, 512, dtype=dtype)
        a @ b
        start = time.perf_counter()
        for _ in range(3):
            a @ b
        return 3 * 2 * 512**3 / (time.perf_counter() - start) / 1e9

    fp32, bf16 = gflops(torch.float32), gflops(torch.bfloat16)
    return bf16 >= 0.5 * fp32, f"CPU matmul: float32 {fp32:.1f} GFLOP/s, bfloat16 {bf16:.2f} GFLOP/s"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_condition(llm, frames, times, budget, repeats: int, warmup: int) -> dict:
    device = llm.device
    rows = []
    for attempt in range(warmup + repeats):
        start = time.perf_counter()
        prep = llm.prepare(frames, times, QUESTION, token_budget=budget)
        sync(device)
        prepare_s = time.perf_counter() - start
        inputs = llm.generate_inputs(prep)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        with torch.inference_mode(), PeakRSS() as rss:
            if device.type == "cuda":  # device time of the forward pass, read from CUDA events
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                out = llm.model(**inputs, use_cache=True, logits_to_keep=1)
                end.record()
                sync(device)
                prefill_s = begin.elapsed_time(end) / 1000
            else:
                start = time.perf_counter()
                out = llm.model(**inputs, use_cache=True, logits_to_keep=1)
                prefill_s = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if device.type == "cuda" else rss.mib
        del out, inputs
        if attempt >= warmup:
            rows.append(
                dict(
                    prepare_s=prepare_s, vision_s=prep.seconds["vision"], reduce_s=prep.seconds["reduce"],
                    prefill_s=prefill_s, peak_mib=peak,
                )
            )
    text = llm.model.config.text_config
    kv_bytes = 2 * text.num_hidden_layers * text.num_key_value_heads * (text.hidden_size // text.num_attention_heads)
    kv_bytes *= torch.finfo(llm.dtype).bits // 8
    visual = int(prep.kept.positions.shape[0])
    summary = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    summary["assemble_s"] = summary["prepare_s"] - summary["vision_s"] - summary["reduce_s"]  # prompt + embeds
    summary["prefill_all_s"] = [round(r["prefill_s"], 6) for r in rows]
    summary.update(
        budget=budget, visual_tokens=visual, sequence_tokens=int(prep.index.numel()),
        kv_cache_mib=kv_bytes * int(prep.index.numel()) / 2**20, repeats=repeats,
    )
    summary["ttft_s"] = summary["prepare_s"] + summary["prefill_s"]  # time to first token (no decode)
    return summary


def main(argv: list[str] | None = None) -> dict:
    from longvid.config import TokenConfig
    from longvid.llm import load_llm

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    ap.add_argument("--arch", default="0.5b", choices=sorted(LANGUAGE_MODELS), help="LLaVA-OneVision size")
    ap.add_argument("--dtype", default="auto", help="auto (bf16 on CUDA; see above on CPU) | bfloat16 | float32")
    ap.add_argument("--frames", type=int, default=None, help="frames (default 32 on CUDA, 4 on CPU)")
    ap.add_argument("--budget", type=int, default=None, help="token budget (default TokenConfig.budget per 32 frames)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats, median reported (default 5 CUDA, 1 CPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 1 CUDA, 0 CPU)")
    ap.add_argument("--vision", action=argparse.BooleanOptionalAction, default=None,
                    help="run the real vision tower (default on CUDA, off on CPU)")
    ap.add_argument("--video", help="take uniformly spaced frames from this video instead of synthetic ones")
    ap.add_argument("--size", default="480x640", help="synthetic frame size HxW")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    on_cuda = device.type == "cuda"
    frames_n = args.frames or (32 if on_cuda else 4)
    repeats = args.repeats or (10 if on_cuda else 1)
    warmup = args.warmup if args.warmup is not None else (2 if on_cuda else 0)
    vision = args.vision if args.vision is not None else on_cuda
    notes = []
    dtype = args.dtype
    if dtype == "auto":
        if on_cuda:
            dtype = "bfloat16"
        else:
            fast, probe = cpu_bf16_is_fast()
            dtype = "bfloat16" if fast else "float32"
            notes.append(f"{probe}: using {dtype} on CPU")
    if not on_cuda:
        notes.append("CPU timings on a shared machine are disturbed by other work; compare ratios, not seconds")

    if args.video:
        frames, times = video_frames(args.video, frames_n)
    else:
        h, w = (int(v) for v in args.size.lower().split("x"))
        frames, times = synthetic_frames(frames_n, h, w), [2.0 * i + 1.0 for i in range(frames_n)]

    with tempfile.TemporaryDirectory() as tmp:
        config = write_model_folder(Path(tmp), args.arch)
        llm = load_llm(tmp, device=str(device), dtype=dtype)  # config + processor; weights set below
        from transformers import LlavaOnevisionForConditionalGeneration

        start = time.perf_counter()
        torch.manual_seed(0)
        with torch.device(device):
            model = LlavaOnevisionForConditionalGeneration._from_config(config, dtype=llm.dtype)
        llm.model = model.eval()
        build_s = time.perf_counter() - start

    if not vision:  # identical cost in every condition: random features of the projector's shape
        side, dim = 14, config.text_config.hidden_size
        gen = torch.Generator(device="cpu").manual_seed(1)
        fake = torch.randn(len(frames), side, side, dim, generator=gen).to(device, llm.dtype) * 0.02
        from longvid.llm.assemble import Unit

        newline = llm.model.model.image_newline.detach()[None]
        llm.encode_frames = lambda imgs, ts: [
            Unit(fake[i], frames=(i,), timestamps_s=(t,), tail=newline) for i, t in enumerate(ts)
        ]
        notes.append("vision tower skipped (--no-vision): random features stand in; its cost is equal in all rows")

    native = llm.native_tokens(len(frames), frames[0].shape[0], frames[0].shape[1])
    budget = args.budget or round(TokenConfig().budget * len(frames) / 32)
    conditions = [("native", None), (f"budget {budget}", budget), (f"budget 1/6 ({native // 6})", native // 6)]
    rows = []
    for name, b in conditions:
        row = run_condition(llm, frames, times, b, repeats, warmup)
        row["condition"] = name
        rows.append(row)
        print(f"  measured {name}: prefill {row['prefill_s']:.3f} s", flush=True)
    base = rows[0]
    for row in rows:
        row["prefill_speedup"] = base["prefill_s"] / row["prefill_s"]
        row["ttft_speedup"] = base["ttft_s"] / row["ttft_s"]
        row["token_fraction"] = row["visual_tokens"] / base["visual_tokens"]
        row["memory_fraction"] = row["peak_mib"] / base["peak_mib"] if base["peak_mib"] > 0 else None

    target = rows[2]
    device_name = torch.cuda.get_device_name(device) if on_cuda else platform.processor() or platform.machine()
    report = dict(
        model=f"LLaVA-OneVision-{args.arch.upper()} architecture, random weights (SigLIP so400m 384/14 + Qwen2-{args.arch.upper()})",
        device=device_name, dtype=dtype, frames=len(frames), frame_size=list(frames[0].shape[:2]),
        source=args.video or "synthetic", vision_tower=vision, native_tokens=native, model_build_s=build_s,
        torch=torch.__version__, transformers=__import__("transformers").__version__, rows=rows, notes=notes,
        target=dict(
            statement=">= 5x less prefill time at <= 1/6 of the tokens",
            token_fraction=target["token_fraction"], prefill_speedup=target["prefill_speedup"],
            met=target["token_fraction"] <= 1 / 6 + 1e-9 and target["prefill_speedup"] >= 5.0,
        ),
    )
    print(f"\n{report['model']}\n{len(frames)} frames {frames[0].shape[0]}x{frames[0].shape[1]}, {dtype} on {device_name}"
          f", vision tower {'on' if vision else 'off'}, median of {repeats}")
    header = f"{'condition':<20}{'visual':>8}{'sequence':>10}{'vision s':>10}{'reduce s':>10}{'build s':>9}{'prefill s':>11}{'peak MiB':>10}{'KV MiB':>8}{'prefill x':>11}{'TTFT x':>8}{'tokens':>8}"
    print(header)
    for r in rows:
        print(f"{r['condition']:<20}{r['visual_tokens']:>8}{r['sequence_tokens']:>10}{r['vision_s']:>10.3f}{r['reduce_s']:>10.3f}{r['assemble_s']:>9.3f}"
              f"{r['prefill_s']:>11.4f}{r['peak_mib']:>10.1f}{r['kv_cache_mib']:>8.1f}{r['prefill_speedup']:>10.2f}x"
              f"{r['ttft_speedup']:>7.2f}x{r['token_fraction']:>8.3f}")
    t = report["target"]
    print(f"target {t['statement']}: {t['prefill_speedup']:.2f}x at {t['token_fraction']:.3f} of the tokens -> "
          f"{'met' if t['met'] else 'NOT met'}")
    for note in notes:
        print(f"note: {note}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
