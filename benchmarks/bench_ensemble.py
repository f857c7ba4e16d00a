#!/usr/bin/env python
"""Ensemble training against its physical ceiling: the batched products of its own shapes, same run.

    python benchmarks/bench_ensemble.py [--width 128] [--depth 8] [--preset smoke] [--steps N]
                                        [--repeats 3] [--threads 1] [--vs-one-by-one]

Takes the runs of one depth of a preset's plan (both panels of Fig. 3, deduplicated by key: at the
smoke preset 5 sigma_w + 5 N - 1 shared = 9 runs) and trains them as one ensemble
(:func:`qmf_sim.ensemble.train_ensemble`).  Its training FLOP rate counts the products of a step,
per member and layer 2 B n_in n_out for the forward product, the same for the weight gradient and
for the input gradient (every layer but the first, whose input needs none): 6 B n_in n_out per
member-layer but 4 for the first.  The CEILING is the rate of exactly those batched products alone
(``torch.baddbmm`` forward with the bias, ``torch.bmm`` for both gradients, on tensors of the
ensemble's shapes, dtype and thread count, into preallocated outputs), measured in the same process,
interleaved with the ensemble runs (``--repeats`` pairs; the machine may be shared, so each pair is
one ratio and the MEDIAN is reported, with the load average).  The training time is the ensemble's
own ``steps_per_s`` (training steps only: evaluations excluded).  The last line is

    fraction <median training FLOP rate / ceiling rate> (...)

``--vs-one-by-one`` also trains the runs one at a time and prints that speed-up (the old yardstick,
which on a CPU mostly measures the per-operation overhead of small products).  At width 2048 use a
few steps (default 4): one step is ~5.7 GFLOP of products per member at depth 8.

CPU time is the measure quoted first: on the shared 2-core machine the wall time of both sides swings
by 2x with the other processes' time slices, the CPU time by ~15 %.  Measured 2026-12-07, 1 thread, load
average 9-11 on 2 cores (other jobs), the tree before (4a086f2: autograd backward, fresh gradient tensors,
the ~15 torch passes of the staircase and gain per layer) and after (hand-written backward, reused
gradient buffer, one fused numba pass for phi and gain):

    width 128,  --repeats 3 before / 5 after: fraction 0.43 -> 0.65 CPU time (pairs 0.41 0.43 0.44 ->
        0.67 0.65 0.65 0.65 0.66), wall 0.38 -> 0.59; ceiling ~44 GFLOP/s CPU time, ensemble 18.8 -> 28.5
    width 2048, 4 steps, --repeats 3: fraction 0.50 -> 0.87 CPU time (pairs 0.82 0.45 0.50 -> 0.58 0.90
        0.87: three steps per pair, use --steps 8 for a steadier number), wall 0.63 -> 0.97; ceiling
        ~58 GFLOP/s CPU time

The same benchmark on a QUIET machine (2026-12-07, load average 0.3-0.9, 1 thread): the ceiling is
~120 GFLOP/s at width 128 (not ~44: the loaded machine slowed the products more than the rest), so the
fraction there was 0.48 (0.508 at 7ac334d, the same session); the two-loop numba pass (index and gain
vectorised, then the table reads: 2.24 -> 1.25 ns per element, tables' numpy views made once) brought it
to 0.55 (ensemble 65.6 GFLOP/s, ceiling 120.2).  What then remained per step at width 128 (cProfile, 300
steps, 9 members): products ~42 %, the numba pass ~10 %, the SGD updates ~4 %, the loss and its autograd
~6 %, Python and small torch calls the rest.  Width 2048, 4 steps: fraction 1.00 CPU time (ensemble 83.1,
ceiling 82.9 GFLOP/s; wall 0.76; load average 3.1 from other jobs).

The step without autograd (2026-12-07, later; 1 thread; the machine shared with other agents, load
average 1.9-2.5 on 2 cores during these runs, so each number is a median of interleaved runs of the tree
before, 2da295b, and after, 7b38b3c, and the ceiling moved between 115 and 125 GFLOP/s):

    width 128, --repeats 5, three runs each: fraction 0.563 -> 0.786 CPU time (0.563 0.565 0.562 ->
        0.786 0.814 0.778; ensemble ~67 -> ~92 GFLOP/s, ceiling ~119 GFLOP/s)
    width 2048, 4 steps, --repeats 3, two runs each: 0.82 0.78 -> 1.13 0.94 (ceiling ~85 GFLOP/s; three
        steps per pair, so noisy; above 1 because the ceiling writes each weight gradient into a buffer of
        its own while the fused step accumulates into W, without the separate 150 MB update pass)

What each change gave at width 128 (interleaved runs with and without it, medians of runs of 3 pairs):
the numba pass's select chain over the sorted offsets (40 -> 12 us per layer; 0.558 -> 0.608), the loss
and its gradient in one numba pass instead of F.cross_entropy and autograd (0.69 -> 0.79, the rest in
place), plain SGD fused into the weight-gradient product, ``W.baddbmm_(h^T, g, alpha=-lr)`` (0.70 ->
0.81; it removes the update pass, so a flat parameter buffer or ``torch._foreach_*`` had nothing left to
fuse), reused buffers and the pass's arguments made once (0.733 -> 0.764), the per-layer views made
once (0.762 -> 0.797).  Measured and not kept: the chain with four offsets per loop or in register
blocks of 64 (13.4 and 60 us against 12 per layer).

What remains per step at width 128 (cProfile of one 300-step run of the 9 members, set-up included,
load 1.1): products ~67 % (bmm 25 %, the forward baddbmm 22 %, the fused update baddbmm_ 20 %), the
numba staircase pass ~7 %, the STE gain's mul_ ~2.5 %, the loss ~2 %, the batch samplers and gathers
~2.5 %, Python of the step (forward, backward, buffers, views) ~8 %, set-up (initial draws, tables) ~5 %.
At width 4 the same step costs ~0.26 ms CPU (Python and ~45 torch / numba calls of a few us each, the
forward baddbmm's ~9 us with its bias copy the largest), against ~2.0 ms at width 128: that per-call
floor and the elementwise passes are what bounds the rest.
"""
import argparse
import os
import statistics
import sys
import time
from dataclasses import replace


def product_flops(M, B, sizes):
    """FLOPs of the products of one training step of M members (see the module docstring)."""
    f = 0
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        f += (4 if l == 0 else 6) * B * a * b
    return M * f


def ceiling_seconds(M, B, sizes, dtype, reps):
    """(wall, CPU) seconds per step of the products alone: wall the median of ``reps`` timed steps,
    CPU the process time of all of them / reps (after one warm-up step)."""
    import torch

    g = torch.Generator().manual_seed(0)
    L = len(sizes) - 1
    hs = [torch.randn((M, B, a), generator=g, dtype=dtype) for a in sizes[:-1]]
    Ws = [torch.randn((M, a, b), generator=g, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [torch.randn((M, 1, b), generator=g, dtype=dtype) for b in sizes[1:]]
    gs = [torch.randn((M, B, b), generator=g, dtype=dtype) for b in sizes[1:]]
    outs_a = [torch.empty((M, B, b), dtype=dtype) for b in sizes[1:]]
    outs_w = [torch.empty_like(W) for W in Ws]
    outs_h = [torch.empty_like(h) for h in hs]

    def step():
        for l in range(L):
            torch.baddbmm(bs[l], hs[l], Ws[l], out=outs_a[l])
        for l in reversed(range(L)):
            torch.bmm(hs[l].transpose(1, 2), gs[l], out=outs_w[l])
            if l > 0:
                torch.bmm(gs[l], Ws[l].transpose(1, 2), out=outs_h[l])

    step()
    ts = []
    c = time.process_time()
    for _ in range(reps):
        t = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), (time.process_time() - c) / reps


def ensemble_seconds(cfgs, data, threads, s1, s2):
    """(wall, CPU) seconds per training step of the ensemble: wall from its own ``steps_per_s`` (training
    steps only) at ``s2`` steps; CPU as the process-time difference of runs of ``s2`` and ``s1`` steps
    (set-up and the one final evaluation cancel)."""
    from dataclasses import replace

    from qmf_sim.ensemble import train_ensemble

    cpu = []
    for s in (s1, s2):
        run = [replace(c, steps=s, eval_steps=(s,)) for c in cfgs]  # evaluated once, at the end
        t = time.process_time()
        ens = train_ensemble(run, dataset=data, threads=threads)
        cpu.append(time.process_time() - t)
    per = (cpu[1] - cpu[0]) / (s2 - s1)
    if not per > 0:  # the set-up's jitter exceeded the s2 - s1 steps' time (tiny runs on a loaded machine)
        per = cpu[1] / s2  # the whole run's CPU time per step: an upper bound (set-up included)
        print(f"note: the CPU-time difference of the {s1}- and {s2}-step runs was within noise "
              f"({cpu[1] - cpu[0]:+.4f} s); using the {s2}-step run's CPU time per step (an upper bound, "
              "so the fraction is a lower bound)", file=sys.stderr, flush=True)
    return 1.0 / ens[0]["run"]["steps_per_s"], per


def main(argv=None):
    import torch

    from qmf_sim.data import load_dataset
    from qmf_sim.ensemble import train_ensemble
    from qmf_sim.experiments.trainable_depth import build_plan
    from qmf_sim.training import run_training

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--steps", type=int, default=None, help="default: the preset's at width <= 512, else 4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vs-one-by-one", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    kw = dict(depths=[a.depth], device="cpu", width=a.width)
    if a.steps is not None or a.width > 512:
        kw["steps"] = a.steps if a.steps is not None else 4
    plan = build_plan(a.preset, **kw)
    seen, cfgs = set(), []
    for c in plan["sigma"] + plan["levels"]:
        if c.key() not in seen:
            seen.add(c.key())
            cfgs.append(c)
    data = load_dataset(cfgs[0].data)
    c0 = cfgs[0]
    M, B = len(cfgs), c0.batch_size
    sizes = [data.n_features] + [c0.width] * c0.depth + [data.n_classes]
    dtype = getattr(torch, c0.dtype)
    flops = product_flops(M, B, sizes)
    print(f"{M} runs: preset {a.preset}, depth {c0.depth}, width {c0.width}, {c0.steps} steps, batch {B}, "
          f"data {data.name}, {c0.dtype}, cpu, threads {a.threads}; {flops / 1e9:.3f} GFLOP of products per step",
          flush=True)
    # evaluations are not part of the training rate: cut the evaluation sets to 32 examples (no effect
    # on the training steps) so that a width-2048 run does not spend minutes on them
    fast = replace(data, x_test=data.x_test[:32], y_test=data.y_test[:32])
    cut = [replace(c, train_eval_size=32) for c in cfgs]
    s2 = c0.steps
    s1 = max(1, s2 // 4)
    train_ensemble([replace(cut[0], steps=2)], dataset=fast, threads=a.threads)  # warm-up (allocator, kernels)
    reps = max(3, min(100, s2 - s1))
    res = {"wall": [], "cpu": []}
    loads = []
    for i in range(a.repeats):
        cw, cc = ceiling_seconds(M, B, sizes, dtype, reps)
        ew, ec = ensemble_seconds(cut, fast, a.threads, s1, s2)
        load = os.getloadavg()
        loads.append(load[0])
        for k, tc, te in (("wall", cw, ew), ("cpu", cc, ec)):
            res[k].append((tc / te, flops / te, flops / tc))
        print(f"pair {i + 1}: ceiling {flops / cw / 1e9:.2f} GFLOP/s wall, {flops / cc / 1e9:.2f} CPU; ensemble "
              f"{flops / ew / 1e9:.2f} wall, {flops / ec / 1e9:.2f} CPU: fraction {cw / ew:.3f} wall, "
              f"{cc / ec:.3f} CPU time; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    med = {k: [statistics.median(r[j] for r in v) for j in range(3)] for k, v in res.items()}
    if a.vs_one_by_one:
        t = time.perf_counter()
        ens = train_ensemble(cfgs, dataset=data, threads=a.threads)
        t_ens = time.perf_counter() - t
        t = time.perf_counter()
        one = [run_training(c, dataset=data, threads=a.threads) for c in cfgs]
        t_one = time.perf_counter() - t
        differ = sum(e["final_test_acc"] != s["final_test_acc"] or e["status"] != s["status"]
                     for e, s in zip(ens, one))
        print(f"one by one {t_one:.2f} s vs ensemble {t_ens:.2f} s (whole runs): speed-up {t_one / t_ens:.2f}x; "
              f"runs whose final test accuracy or status differ (float rounding): {differ} of {M}; "
              f"load average {os.getloadavg()[0]:.2f}")
    print(f"wall-clock fraction {med['wall'][0]:.3f} (median of {a.repeats}; ensemble {med['wall'][1] / 1e9:.2f} "
          f"GFLOP/s, ceiling {med['wall'][2] / 1e9:.2f} GFLOP/s)")
    print(f"fraction {med['cpu'][0]:.3f} (CPU time, median of {a.repeats} interleaved pairs; ensemble "
          f"{med['cpu'][1] / 1e9:.2f} GFLOP/s, ceiling {med['cpu'][2] / 1e9:.2f} GFLOP/s; {M} runs, depth "
          f"{c0.depth}, width {c0.width}, steps {s1}..{s2}, {a.threads} thread(s); load average "
          f"{statistics.median(loads):.2f})")


if __name__ == "__main__":
    main()
