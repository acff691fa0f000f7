"""Token reduction at video-LLM scale: per-frame greedy k-center (``kcenter-frame``) versus the
naive greedy and one pass over the tokens, and DivPrune's joint selection (``kcenter``).

Input: 64 frames x 27x27 = 729 tokens x 1152 dims (SigLIP so400m's grid at 384 px), float32,
215 MiB, structured like real patch tokens (each frame: a few "objects" covering 3x3 blocks,
plus noise), seeded. Budget: 10% (4665 tokens, 72-73 per frame with equal relevance).

Rows (best of --repeats, CPU threads = --threads, default 2):

    one pass: norms       torch.linalg.vector_norm over every token: reads each element once
    one pass: x @ v       one matrix-vector product over all tokens (BLAS gemv): the fastest
                          full read torch offers here; the reference the target is stated on
    kcenter-frame (reduce_tokens)   ``reduce_tokens(method="kcenter-frame", merge_threshold=None)``:
                          exact cosines, greedy with a running-max-similarity vector, per frame
                          (the assignment gives each frame its count)
    kcenter-frame sketch 64   the same with ``sketch_dim=64`` (cosines on a 64-dim sign sketch)
    naive greedy          per frame, each step recomputes the distance of every token to every
                          chosen token (O(k^2 N) similarity evaluations); same start, same picks
    kcenter (DivPrune)    ``method="kcenter"``: one selection over all 46656 tokens. Timed in
                          its two parts: the first pick (the most isolated token: every pair's
                          similarity, O(N^2 D)) on --joint-rows rows and the greedy on
                          --global-steps steps, each extrapolated linearly (every row and every
                          step costs the same); --joint-full runs it whole instead
    kcenter sketch 64     the joint selection on the 64-dim sketch, complete
    pool / hybrid / merge for reference: the other methods and the temporal merge (0.95)

Peak memory: torch's CPU allocator is invisible to tracemalloc, so each row resets the kernel's
peak-RSS counter (``echo 5 > /proc/self/clear_refs``) and reports VmHWM minus the RSS before the
call: the extra resident memory the call needed at its peak. glibc is told (mallopt) to serve
every allocation above 64 KiB with its own mmap and to return it on free, so temporaries show up
instead of being carved silently out of memory an earlier row left behind. On CUDA:
torch.cuda.max_memory_allocated minus the allocation before the call.

Quality: the max-min objective (smallest pairwise cosine distance among kept tokens) per frame
(averaged over frames) and over the whole kept set, for kcenter-frame, the sketch, pool, random
and (when run whole) the joint kcenter. --diversity instead compares joint and per-frame on the
max-min of the whole kept set at 256 of 3136 tokens (16 frames x 14x14), iid and clustered
tokens, which takes seconds.

    python benchmarks/tokens.py                     # CPU, 2 threads
    python benchmarks/tokens.py --device cuda --joint-full
    python benchmarks/tokens.py --diversity
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from longvid.tokens import reduce_tokens
from longvid.tokens.samplers.divprune import greedy_from, isolation
from longvid.tokens.samplers.kcenter import unit_points


def make_tokens(frames: int, side: int, dim: int, seed: int, device: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(frames, side, side, dim)
    blocks = -(-side // 3)
    for t in range(frames):
        centres = torch.randn(8, dim, generator=g)
        region = torch.randint(0, 8, (blocks, blocks), generator=g).repeat_interleave(3, 0).repeat_interleave(3, 1)
        out[t] = centres[region[:side, :side]] + 0.5 * torch.randn(side, side, dim, generator=g)
    return out.to(device)


def fixed_mmap_threshold() -> bool:
    """Make glibc mmap (and unmap on free) every block over 64 KiB, so RSS tracks live memory."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 64 * 1024)) and bool(libc.mallopt(m_trim_threshold, 64 * 1024))
    except (OSError, AttributeError):
        return False


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure(fn, device: str, repeats: int) -> tuple[float, float, object]:
    """(best seconds, peak extra MiB, last result)."""
    best, peak, result = float("inf"), 0.0, None
    for _ in range(repeats):
        result = None
        if device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            try:
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                pass
            base = rss_kib("VmRSS")
        start = time.perf_counter()
        result = fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
        if device.startswith("cuda"):
            peak = max(peak, (torch.cuda.max_memory_allocated() - base) / 2**20)
        else:
            peak = max(peak, (rss_kib("VmHWM") - base) / 1024)
    return best, peak, result


def naive_greedy(x: torch.Tensor, count: int) -> list[int]:
    """O(k^2 N): every step recomputes each token's distance to every chosen token."""
    unit = torch.nn.functional.normalize(x.float(), dim=1)
    chosen = [int(torch.argmin(unit @ unit.mean(0)))]
    while len(chosen) < count:
        nearest = (1 - unit @ unit[chosen].T).min(1).values
        nearest[chosen] = -1
        chosen.append(int(torch.argmax(nearest)))
    return sorted(chosen)


def max_min(features: torch.Tensor) -> float:
    unit = torch.nn.functional.normalize(features.float(), dim=1)
    sims = unit @ unit.T
    sims.fill_diagonal_(-2)
    return float(1 - sims.max())


def diversity(dim: int, seed: int = 0) -> None:
    """Max-min distance of the whole kept set, joint (DivPrune) vs per frame: 256 of 3136 tokens."""
    g = torch.Generator().manual_seed(seed)
    cases = {
        "iid": torch.randn(16, 14, 14, dim, generator=g),
        # 8 objects seen in every frame, each token one of them plus noise (0.3 per coordinate)
        "clustered": torch.randn(8, dim, generator=g)[torch.randint(0, 8, (16, 14, 14), generator=g)]
        + 0.3 * torch.randn(16, 14, 14, dim, generator=g),
    }
    for name, x in cases.items():
        common = dict(relevance=[1.0] * 16, budget=256, merge_threshold=None)
        joint = reduce_tokens(x, method="kcenter", **common)
        per_frame = reduce_tokens(x, method="kcenter-frame", **common)
        counts = joint.frame_counts.tolist()
        print(f"  {name:9s} dim {dim:4d}: max-min joint {max_min(joint.features):.4f}, per frame "
              f"{max_min(per_frame.features):.4f}; joint keeps {min(counts)}-{max(counts)} tokens a frame")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--side", type=int, default=27)
    parser.add_argument("--dim", type=int, default=1152)
    parser.add_argument("--budget-share", type=float, default=0.10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--global-steps", type=int, default=200, help="joint greedy steps timed (then extrapolated)")
    parser.add_argument("--joint-rows", type=int, default=2000, help="rows of the joint first pick timed (then extrapolated)")
    parser.add_argument("--joint-full", action="store_true", help="run the exact joint kcenter whole")
    parser.add_argument("--diversity", action="store_true", help="only the joint vs per-frame max-min comparison")
    parser.add_argument("--skip-naive", action="store_true", help="skip the slow naive greedy")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.diversity:
        for dim in (64, 1152):
            diversity(dim)
        return
    device = args.device
    exact_rss = fixed_mmap_threshold()

    x = make_tokens(args.frames, args.side, args.dim, 0, device)
    grids = list(x)
    n_tokens = x.shape[0] * x.shape[1] * x.shape[2]
    budget = int(n_tokens * args.budget_share)
    flat = x.reshape(-1, args.dim)
    ones = [1.0] * args.frames
    v = torch.ones(args.dim, device=device)
    reps = args.repeats
    print(f"{args.frames} frames x {args.side}x{args.side} tokens x {args.dim} dims float32 "
          f"({x.numel() * 4 / 2**20:.0f} MiB) on {device} ({platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads), budget {budget} tokens ({args.budget_share:.0%})")
    if device == "cpu" and not exact_rss:
        print("note: could not fix glibc's mmap threshold; peak memory may read low")

    rows: dict[str, tuple[float, float]] = {}

    def run(name: str, fn, repeats: int = reps):
        seconds, mib, result = measure(fn, device, repeats)
        rows[name] = (seconds, mib)
        print(f"  {name:30s} {seconds * 1000:10.1f} ms   peak +{mib:7.1f} MiB", flush=True)
        return result

    run("one pass: norms", lambda: torch.linalg.vector_norm(flat, dim=-1))
    run("one pass: x @ v", lambda: flat @ v)
    kc = run("kcenter-frame (reduce_tokens)", lambda: reduce_tokens(grids, ones, budget, method="kcenter-frame", merge_threshold=None))
    sk = run("kcenter-frame sketch 64", lambda: reduce_tokens(grids, ones, budget, method="kcenter-frame", merge_threshold=None, sketch_dim=64))
    counts = kc.frame_counts.tolist()
    naive_sets = None
    if not args.skip_naive:
        naive_sets = run("naive greedy", lambda: [naive_greedy(g.reshape(-1, args.dim), k) for g, k in zip(grids, counts)], 1)
    pool = run("pool (reduce_tokens)", lambda: reduce_tokens(grids, ones, budget, method="pool", merge_threshold=None))
    query = x[0, 0, 0] + 0.0
    run("hybrid (reduce_tokens)", lambda: reduce_tokens(grids, ones, budget, method="hybrid", merge_threshold=None, query=query))
    run("kcenter-frame + merge 0.95", lambda: reduce_tokens(grids, ones, budget, method="kcenter-frame", merge_threshold=0.95))

    # Joint (DivPrune): one selection over every token.
    joint = None
    if args.joint_full:
        joint = run("kcenter (DivPrune)", lambda: reduce_tokens(grids, ones, budget, method="kcenter", merge_threshold=None), 1)
    else:
        points = unit_points(flat, None)
        rows_timed = min(args.joint_rows, n_tokens)
        first, _, _ = measure(lambda: isolation(points, 0, rows_timed), device, 1)
        steps = min(args.global_steps, budget)
        greedy, _, _ = measure(lambda: greedy_from(points, 0, steps), device, 1)
        first, greedy = first * n_tokens / rows_timed, greedy * budget / steps
        rows["kcenter (DivPrune, extrap.)"] = (first + greedy, float("nan"))
        print(f"  {'kcenter (DivPrune, extrap.)':30s} {(first + greedy) * 1000:10.1f} ms   first pick {first:.1f} s "
              f"({rows_timed} of {n_tokens} rows timed), greedy {greedy:.1f} s ({steps} of {budget} steps timed)")
        del points
    joint_sketch = run("kcenter sketch 64", lambda: reduce_tokens(grids, ones, budget, method="kcenter", merge_threshold=None, sketch_dim=64), 1)

    # Checks and ratios.
    picked = [((p[:, 1] * args.side + p[:, 2]).tolist()) for _, p in kc.split_by_frame()]
    if naive_sets is not None:
        same = sum(a == b for a, b in zip(picked, naive_sets))
        print(f"\nkcenter-frame picks the same tokens as the naive greedy in {same} of {args.frames} frames")
    g = torch.Generator().manual_seed(1)
    random_sets = [flat.reshape(args.frames, -1, args.dim)[t][torch.randperm(args.side**2, generator=g)[:k].to(device)] for t, k in enumerate(counts)]
    quality = {
        "kcenter-frame": sum(max_min(f) for f, _ in kc.split_by_frame()) / args.frames,
        "kcenter-frame sketch 64": sum(max_min(f) for f, _ in sk.split_by_frame()) / args.frames,
        "pool": sum(max_min(f) for f, _ in pool.split_by_frame()) / args.frames,
        "random": sum(max_min(f) for f in random_sets) / args.frames,
    }
    print("max-min cosine distance (mean over frames): " + ", ".join(f"{k} {v:.4f}" for k, v in quality.items()))
    whole = {"kcenter-frame": kc, "kcenter sketch 64": joint_sketch, "random": torch.cat(random_sets)}
    if joint is not None:
        whole["kcenter (DivPrune)"] = joint
    whole_set = {k: max_min(v if isinstance(v, torch.Tensor) else v.features) for k, v in whole.items()}
    quality |= {f"{k} (whole set)": v for k, v in whole_set.items()}
    print("max-min cosine distance (whole kept set): " + ", ".join(f"{k} {v:.4f}" for k, v in whole_set.items()))

    one_pass = rows["one pass: x @ v"][0]
    print()
    for name in ("kcenter-frame (reduce_tokens)", "kcenter-frame sketch 64"):
        seconds = rows[name][0]
        line = f"{name}: {seconds / one_pass:.1f}x one x @ v pass, {seconds / rows['one pass: norms'][0]:.1f}x the norms pass"
        if "naive greedy" in rows:
            line += f", 1/{rows['naive greedy'][0] / seconds:.0f} of the naive greedy"
        print(line)
    if "naive greedy" in rows:
        ok_naive = rows["kcenter-frame (reduce_tokens)"][0] <= rows["naive greedy"][0] / 5
        print(f"target kcenter-frame <= 1/5 naive greedy: {'met' if ok_naive else 'NOT met'}")
    ok_pass = rows["kcenter-frame (reduce_tokens)"][0] <= 2 * one_pass
    print(f"target kcenter-frame <= 2x one pass: {'met' if ok_pass else 'NOT met'}")
    joint_row = "kcenter (DivPrune)" if joint is not None else "kcenter (DivPrune, extrap.)"
    print(f"{joint_row}: {rows[joint_row][0] / rows['kcenter-frame (reduce_tokens)'][0]:.0f}x kcenter-frame")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "config": vars(args) | {"json": str(args.json)}, "budget": budget,
            "seconds": {k: v[0] for k, v in rows.items()}, "peak_mib": {k: v[1] for k, v in rows.items()},
            "max_min": quality,
        }, indent=2, default=str))


if __name__ == "__main__":
    main()
