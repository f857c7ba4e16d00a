#!/usr/bin/env python
"""One device check: run it once on a CUDA machine; prints one summary table.

    python benchmarks/device_check.py                 # on a CUDA machine, about 5 minutes
    python benchmarks/device_check.py --cpu-dry-run   # the same steps at small sizes on the CPU (tested)
    python benchmarks/device_check.py --out check.json

(a) the CUDA-marked tests (``pytest -m cuda`` on tests/test_ensemble.py and tests/test_ste_torch.py:
    ensemble training and the torch STE solver on CUDA against the CPU / the numba kernel);
(b) ensemble training throughput at width 2048 (paper protocol: batch 32, N = 10, clipped STE; the
    runs of one depth of ``--preset paper``: 11 sigma_w + 9 N - 1 shared = 19 members) in member-steps/s
    and in FLOP/s (6 x batch x weights per member-step), against the device's own matmul rate measured
    here (one 8192^2 float32 product, and the batched product of the ensemble's shape);
(c) the torch STE solver at d = 1e6 (32 replicas, float64 and float32) in coordinate-updates/s, against
    the device's normal-draw rate measured here (each coordinate update draws one normal);
(d) the wall time of ``qmf train-depth --preset paper`` estimated from (b): the per-step time of an
    ensemble is fitted as t = alpha M L + beta L + gamma (M members, depth L) from three measured points,
    summed over the plan's ensembles (cut by the memory budget of :func:`qmf_sim.ensemble.split_ensembles`)
    x 1600 steps, times the evaluation overhead (5 evaluations on 10 000 + 1000 MNIST images, forward
    only ~ 1/3 of a training step per 32 images).

The data of (b) is the digits set (64 inputs) unless $QMF_MNIST_DIR is set; at width 2048 the first
layer is < 5 % of the work either way.  Each part has a time cap; the whole check stays under 8 minutes.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sync(dev):
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, dev, reps=1):
    fn()  # warm-up (kernels, allocator)
    sync(dev)
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync(dev)
    return (time.perf_counter() - t) / reps


def part_a(dry, timeout):
    files = ["tests/test_ensemble.py", "tests/test_ste_torch.py"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda", *files]
    t = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        tail = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        ok = r.returncode in (0, 5)  # 5: nothing collected/selected
    except subprocess.TimeoutExpired:
        tail, ok = f"timed out after {timeout} s", False
    return {"tests": tail, "tests_ok": ok, "tests_s": time.perf_counter() - t}


def matmul_rate(dev, n):
    import torch

    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    s = timed(lambda: a @ b, dev, reps=5 if dev.type == "cuda" else 2)
    return 2 * n**3 / s


def bmm_rate(dev, M, B, W):
    import torch

    h = torch.randn(M, B, W, device=dev)
    w = torch.randn(M, W, W, device=dev)
    s = timed(lambda: torch.bmm(h, w), dev, reps=20 if dev.type == "cuda" else 3)
    return 2 * M * B * W * W / s


def ensemble_step_time(cfgs, dev, steps):
    """Seconds per training step of the ensemble ``cfgs`` (``steps`` timed steps, evaluation excluded)."""
    from dataclasses import replace

    from qmf_sim.ensemble import train_ensemble

    cfgs = [replace(c, steps=steps, eval_steps=()) for c in cfgs]
    recs = train_ensemble(cfgs, device=str(dev))
    sps = recs[0]["run"]["steps_per_s"]  # steps of the whole ensemble per second of training
    return 1.0 / sps, recs


def plan_configs(depth, width, dev, n_members=None):
    from qmf_sim.experiments.trainable_depth import build_plan

    plan = build_plan("paper", depths=[depth], width=width, device=str(dev))
    seen, out = set(), []
    for c in plan["sigma"] + plan["levels"]:
        if c.key() not in seen:
            seen.add(c.key())
            out.append(c)
    return out if n_members is None else out[:n_members]


def part_b(dev, dry):
    width = 64 if dry else 2048
    steps = 3 if dry else 20
    points = [(2, 4), (3, 4), (2, 2)] if dry else [(10, 19), (30, 19), (10, 4)]
    out = {"width": width, "timed_steps": steps}
    out["matmul_flops"] = matmul_rate(dev, 512 if dry else 8192)
    M0 = points[0][1]
    out["bmm_flops"] = bmm_rate(dev, M0, 32, width)
    fits = []
    ensemble_step_time(plan_configs(points[0][0], width, dev, 2), dev, 2)  # warm-up (kernels, allocator)
    for L, M in points:
        cfgs = plan_configs(L, width, dev, M)
        t, recs = ensemble_step_time(cfgs, dev, steps)
        c = cfgs[0]
        weights = recs[0]["data"]["n_features"] * width + (L - 1) * width * width + width * recs[0]["data"]["n_classes"]
        flops = 6 * c.batch_size * weights * len(cfgs) / t
        fits.append({"depth": L, "members": len(cfgs), "s_per_step": t, "member_steps_per_s": len(cfgs) / t,
                     "flops": flops})
    out["points"] = fits
    best = fits[0]
    out["member_steps_per_s"] = best["member_steps_per_s"]
    out["flops"] = best["flops"]
    out["frac_of_matmul"] = best["flops"] / out["matmul_flops"]
    out["frac_of_bmm"] = best["flops"] / out["bmm_flops"]
    return out


def part_c(dev, dry):
    import torch

    from qmf_sim.ste.torch_micro import simulate_torch

    d = 1000 if dry else 1_000_000
    runs = 4 if dry else 32
    steps = 300 if dry else 200
    x = torch.empty((runs, d), device=dev, dtype=torch.float64)
    gen = torch.Generator(device=dev).manual_seed(0)
    s = timed(lambda: x.normal_(generator=gen), dev, reps=10)
    out = {"d": d, "runs": runs, "steps": steps, "normals_per_s_f64": runs * d / s}
    x32 = torch.empty((runs, d), device=dev, dtype=torch.float32)
    out["normals_per_s_f32"] = runs * d / timed(lambda: x32.normal_(generator=gen), dev, reps=10)
    for name, dt in (("f64", torch.float64), ("f32", torch.float32)):
        # two lengths, the rate from the difference: the initial draws (numpy, on the CPU) cancel
        els = []
        for n in (2, steps + 2):
            sync(dev)
            t = time.perf_counter()
            r = simulate_torch(d=d, tau=[0, n / d], runs=runs, seed=0, device=str(dev), dtype=dt, b=2)
            sync(dev)
            els.append(time.perf_counter() - t)
        diff = els[1] - els[0]
        out[f"updates_per_s_{name}"] = runs * d * steps / (diff if diff > 0.05 * els[1] else els[1])
        out[f"frac_of_normals_{name}"] = out[f"updates_per_s_{name}"] / out[f"normals_per_s_{name}"]
        out[f"eps_final_{name}"] = float(r.mean()[-1])
    return out


def part_d(dev, b):
    """Wall time of the paper sweep from the fitted step time t = alpha M L + beta L + gamma."""
    import numpy as np

    from qmf_sim.ensemble import default_budget, split_ensembles
    from qmf_sim.experiments.trainable_depth import build_plan

    P = b["points"]
    A = np.array([[p["members"] * p["depth"], p["depth"], 1.0] for p in P])
    y = np.array([p["s_per_step"] for p in P])
    alpha, beta, gamma = np.linalg.lstsq(A, y, rcond=None)[0]
    plan = build_plan("paper", width=b["width"], device=str(dev))
    seen, cfgs = set(), []
    for c in plan["sigma"] + plan["levels"]:
        if c.key() not in seen:
            seen.add(c.key())
            cfgs.append(c)
    units = split_ensembles(cfgs, budget_bytes=default_budget(dev))
    steps = cfgs[0].steps
    train = sum(steps * max(alpha * len(u) * u[0].depth + beta * u[0].depth + gamma, 0.0) for u in units)
    eval_factor = 1 + 5 * (10000 + 1000) / 32 / 3 / steps
    return {"runs": len(cfgs), "ensembles": len(units), "alpha": alpha, "beta": beta, "gamma": gamma,
            "train_s": train, "eval_factor": eval_factor, "wall_s": train * eval_factor}


def fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-dry-run", action="store_true", help="small sizes on the CPU (no CUDA needed)")
    ap.add_argument("--skip-tests", action="store_true", help="skip part (a)")
    ap.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    a = ap.parse_args(argv)
    import torch

    if a.cpu_dry_run:
        dev = torch.device("cpu")
    elif not torch.cuda.is_available():
        print("device_check: no CUDA device (use --cpu-dry-run to check the script on the CPU)", file=sys.stderr)
        return 2
    else:
        dev = torch.device("cuda")
    t0 = time.perf_counter()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu (dry run)"
    res = {"device": name, "torch": torch.__version__}
    res["a"] = {"tests": "skipped"} if a.skip_tests else part_a(a.cpu_dry_run, 240)
    res["b"] = part_b(dev, a.cpu_dry_run)
    res["c"] = part_c(dev, a.cpu_dry_run)
    res["d"] = part_d(dev, res["b"])
    res["seconds"] = time.perf_counter() - t0
    b, c, d = res["b"], res["c"], res["d"]
    rows = [
        ("device", name),
        ("(a) CUDA-marked tests", res["a"]["tests"]),
        (f"(b) matmul rate (float32 {'512' if a.cpu_dry_run else '8192'}^2), FLOP/s", fmt(b["matmul_flops"])),
        ("(b) bmm rate (ensemble shape), FLOP/s", fmt(b["bmm_flops"])),
        *[(f"(b) ensemble depth {p['depth']} x {p['members']} members, width {b['width']}",
           f"{p['member_steps_per_s']:.3g} member-steps/s, {p['flops']:.3g} FLOP/s") for p in b["points"]],
        ("(b) training / matmul rate", f"{b['frac_of_matmul']:.1%} (of bmm: {b['frac_of_bmm']:.1%})"),
        ("(c) normal draws/s (float64 / float32)", f"{fmt(c['normals_per_s_f64'])} / {fmt(c['normals_per_s_f32'])}"),
        (f"(c) STE d={c['d']:.0e} x {c['runs']} replicas, updates/s (f64 / f32)",
         f"{fmt(c['updates_per_s_f64'])} / {fmt(c['updates_per_s_f32'])}"),
        ("(c) updates / normal draws", f"{c['frac_of_normals_f64']:.1%} / {c['frac_of_normals_f32']:.1%}"),
        (f"(d) train-depth --preset paper ({d['runs']} runs, {d['ensembles']} ensembles)",
         f"{d['wall_s'] / 3600:.3g} h (training {d['train_s'] / 3600:.3g} h x eval factor {d['eval_factor']:.2f}; "
         f"step time {d['alpha']:.2e} M L + {d['beta']:.2e} L + {d['gamma']:.2e} s)"),
        ("check wall time", f"{res['seconds']:.0f} s"),
    ]
    w = max(len(r[0]) for r in rows)
    print("\n".join(f"{k:<{w}}  {v}" for k, v in rows))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float, allow_nan=True))
    return 0 if res["a"].get("tests_ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
