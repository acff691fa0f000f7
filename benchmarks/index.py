"""Indexing benchmark: does decoding overlap encoding?

    python benchmarks/index.py            # 10-minute 1280x720 30 fps H.264, 1 fps, ViT-B-32 random weights
    python benchmarks/index.py --quick    # the 1-minute version of the same file
    python benchmarks/index.py --device cuda

Three timings on the same frames, side by side:

* decode only: ONE pass sampling 1 fps at the encoder's input size with the scene detector fed
  every decoded picture (exactly the decode side of an index run);
* encode only: the open_clip ViT-B-32 image tower (random weights, built from open_clip's own
  config and loaded through longvid's loader) on those frames, batch 32;
* index: ``longvid.indexing.index_video`` (decode thread -> bounded queue -> encoder, then the
  store transaction).

Target: index <= 1.1 x max(decode only, encode only). With the encoder on a GPU the two sides
use different hardware and overlap fully. On a CPU both sides are CPU-bound: when each alone
already keeps every core busy, running them together cannot beat (decode + encode) by more than
the cores each side leaves idle, so the script also prints the sum and the CPU time each side
used, which says how much overlap the machine allows at all.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]


def random_vit_b_32() -> Path:
    """ViT-B-32 with seeded random weights in the open_clip hub layout (built once, cached)."""
    import open_clip
    from tiny_clip import make_open_clip_folder

    folder = REPO / "bench_out" / "models" / "ViT-B-32-random"
    if not (folder / "open_clip_model.safetensors").is_file():
        print("building ViT-B-32 with random weights (once) ...", file=sys.stderr, flush=True)
        make_open_clip_folder(folder, model_cfg=open_clip.get_model_config("ViT-B-32"), seed=0)
    return folder


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-minute video instead of 10 minutes")
    parser.add_argument("--video", type=Path, help="another video file")
    parser.add_argument("--model", help="encoder (default: ViT-B-32 architecture, random weights)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads for the encoder (0: torch's default)")
    parser.add_argument("--decode-threads", type=int, default=0, help="decoder threads (0: FFmpeg's choice)")
    args = parser.parse_args()

    import torch

    from _media import bench_video
    from longvid.config import PipelineConfig
    from longvid.decode import open_video
    from longvid.embed import load_encoder
    from longvid.indexing import decode_size, index_video, with_overrides
    from longvid.scenes import make_detector
    from longvid.store import Store, fingerprint_file

    video = args.video or bench_video(quick=args.quick)
    model = args.model or str(random_vit_b_32())
    cfg = with_overrides(PipelineConfig(), model=model, fps=args.fps, device=args.device,
                         batch_size=args.batch_size, threads=args.threads)
    cfg = cfg.with_overrides({"decode": {"threads": args.decode_threads}})
    encoder = load_encoder(model, device=args.device, batch_size=args.batch_size, threads=args.threads)
    size = decode_size(cfg, encoder)
    fingerprint_file(video)  # read the file once so every measurement starts from the page cache

    with open_video(video) as reader:
        info = reader.info
    print(f"video   {video.name}: {info.duration_s:.0f} s, {info.width}x{info.height} {info.fps:g} fps, {info.codec}")
    print(f"encoder {encoder.model_id} dim {encoder.dim} on {encoder.device}; torch threads "
          f"{args.threads or torch.get_num_threads()}, decoder threads {args.decode_threads or 'auto'}, "
          f"{os.cpu_count()} CPUs; frames at {size} px shorter side, {args.fps:g} fps")

    # warm-up: one batch (allocator, MKL/cuDNN initialisation) outside every measurement
    import numpy as np

    encoder.encode_images(np.zeros((args.batch_size, size, size, 3), np.uint8))

    # 1. decode only (with scene detection, as in an index run)
    detector = make_detector(cfg.scenes.detector, cfg.scenes.threshold, cfg.scenes.min_scene_len)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    with open_video(video, threads=args.decode_threads) as reader:
        frames = [f.image for f in reader.iter_frames(fps=args.fps, size=size, mode="exact", observer=detector)]
        decoded = reader.frames_decoded
    t_decode, c_decode = time.perf_counter() - t0, cpu_seconds() - cpu0
    n = len(frames)

    # 2. encode only (same frames, same batches)
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    for start in range(0, n, args.batch_size):
        encoder.encode_images(frames[start : start + args.batch_size])
    if encoder.device.startswith("cuda"):
        torch.cuda.synchronize()
    t_encode, c_encode = time.perf_counter() - t0, cpu_seconds() - cpu0
    del frames

    # 3. the pipeline
    with tempfile.TemporaryDirectory(prefix="longvid-bench-store-") as tmp, Store.open(tmp) as store:
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        result = index_video(video, cfg, store=store, encoder=encoder)
        t_index, c_index = time.perf_counter() - t0, cpu_seconds() - cpu0
    assert result.frames_added == n, (result.frames_added, n)

    rows = [
        ("decode only (1 pass + scene detection)", t_decode, c_decode, f"{decoded} pictures decoded"),
        (f"encode only (batch {args.batch_size})", t_encode, c_encode, ""),
        ("index (decode || encode, + store)", t_index, c_index, f"{result.scenes} scenes, {info.duration_s / t_index:.1f} x real time"),
    ]
    print(f"\n{'':42} {'wall s':>8} {'CPU s':>8} {'frames/s':>9}")
    for name, wall, cpu, note in rows:
        print(f"{name:42} {wall:8.1f} {cpu:8.1f} {n / wall:9.1f}  {note}")
    slowest = max(t_decode, t_encode)
    print(f"\nindex / max(decode, encode) = {t_index / slowest:.2f}   (target <= 1.10)")
    print(f"index / (decode + encode)   = {t_index / (t_decode + t_encode):.2f}   (1.00 = no overlap at all)")
    if not encoder.device.startswith("cuda"):
        cores = os.cpu_count() or 1
        floor = max(slowest, (c_decode + c_encode) / cores)
        print(f"CPU-bound floor on {cores} cores: max(slowest side, CPU seconds of both / cores) = {floor:.1f} s "
              f"-> best possible ratio here {floor / slowest:.2f}")
    print("(timings on a shared machine are disturbed by other work; rerun on a quiet one)")


if __name__ == "__main__":
    main()
