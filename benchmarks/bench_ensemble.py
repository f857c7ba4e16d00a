#!/usr/bin/env python
"""Ensemble training vs one run at a time (issue 12 §1), in one process, on this machine.

    python benchmarks/bench_ensemble.py [--preset smoke] [--depth 16] [--steps N] [--width W]
                                        [--threads 1] [--device cpu]

Takes the runs of one depth of a preset's plan (both panels of Fig. 3, deduplicated by key: at the
smoke preset 5 sigma_w + 5 N - 1 shared = 9 runs), trains them one by one with
:func:`qmf_sim.training.run_training`, then all together with :func:`qmf_sim.ensemble.train_ensemble`,
checks that the two give the same accuracies (float32: counts the runs whose final test accuracy
differs; rounding can move a staircase jump late in a run), and prints the wall times.  The last line
is ``speed-up <ratio>x`` with the sizes.  ``--steps`` shortens the runs (e.g. a few steps at width 2048).

Measured on the project's 2-core CPU (threads 1; 9 runs of 300 steps, width 128; the ratio depends
strongly on the load from other processes, which slows the many small operations of the one-by-one runs
far more than the few large ones of the ensemble):

    depth 8,  load ~3.5:  one by one 15.9 s, ensemble 4.8 s   speed-up 3.28x (training steps only 3.10x)
    depth 16, load ~3.5:  one by one 17.8 s, ensemble 10.5 s  speed-up 1.69x (training steps only 1.66x)
    depth 16, load ~10:   one by one 184 s,  ensemble 25.1 s  speed-up 7.36x
    width 2048, depth 4, 3 steps: one by one 30.0 s, ensemble 32.7 s  speed-up 0.92x (training 0.63x):
    at width 2048 the CPU is bound by the products themselves; the ensemble is for the GPU there.

Where the ensemble's time goes (profile, depth 16): the batched staircase lookup and STE gain
(~15 elementwise passes per layer, :func:`qmf_sim.nn.stacked_staircase_forward`) and the evaluations
(the same work as one by one); the batched products are ~150 GFLOP/s and not the limit.
All accuracies equal to the one-by-one runs in these measurements.
"""
import argparse
import time


def main(argv=None):
    import torch

    from qmf_sim.data import load_dataset
    from qmf_sim.ensemble import train_ensemble
    from qmf_sim.experiments.trainable_depth import build_plan
    from qmf_sim.training import run_training

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="smoke")
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    kw = dict(depths=[a.depth], device=a.device)
    if a.steps is not None:
        kw["steps"] = a.steps
    if a.width is not None:
        kw["width"] = a.width
    plan = build_plan(a.preset, **kw)
    seen, cfgs = set(), []
    for c in plan["sigma"] + plan["levels"]:
        if c.key() not in seen:
            seen.add(c.key())
            cfgs.append(c)
    data = load_dataset(cfgs[0].data)
    c0 = cfgs[0]
    print(f"{len(cfgs)} runs: preset {a.preset}, depth {c0.depth}, width {c0.width}, {c0.steps} steps, batch "
          f"{c0.batch_size}, data {data.name}, device {a.device}, threads {a.threads}", flush=True)
    t = time.perf_counter()
    ens = train_ensemble(cfgs, dataset=data, threads=a.threads, device=a.device)
    t_ens = time.perf_counter() - t
    print(f"ensemble of {len(cfgs)}: {t_ens:.2f} s", flush=True)
    t = time.perf_counter()
    one = [run_training(c, dataset=data, threads=a.threads, device=a.device) for c in cfgs]
    t_one = time.perf_counter() - t
    print(f"one by one: {t_one:.2f} s", flush=True)
    t_ens_train = ens[0]["run"]["train_steps_done"] / ens[0]["run"]["steps_per_s"]
    t_one_train = sum(r["run"]["train_steps_done"] / r["run"]["steps_per_s"] for r in one)
    print(f"training steps only (evaluations excluded): ensemble {t_ens_train:.2f} s, one by one {t_one_train:.2f} s, "
          f"ratio {t_one_train / t_ens_train:.2f}x")
    differ = sum(e["final_test_acc"] != s["final_test_acc"] or e["status"] != s["status"] for e, s in zip(ens, one))
    print(f"runs whose final test accuracy or status differ (float rounding): {differ} of {len(cfgs)}")
    print(f"speed-up {t_one / t_ens:.2f}x ({len(cfgs)} runs, depth {c0.depth}, width {c0.width}, {c0.steps} steps, "
          f"{a.device}, {a.threads} thread(s))")


if __name__ == "__main__":
    main()
