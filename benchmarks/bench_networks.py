"""Batched random-network propagation vs a straightforward loop, in the same run.

Batched: ``qmf_sim.netprop.propagate`` -- all r inputs of a draw go through each layer as one
(r x n) @ (n x n) matmul, several independent draws stacked in one bmm, the per-layer covariance
reduced on the fly.  Baseline: the obvious loop -- for every input, for every layer, a
matrix-vector product with the same weights (weights drawn once per layer, shared by the inputs,
as in a real network).  Both produce the same per-layer covariances; we print the ratio of wall
times and layer-samples per second (one layer-sample = one input through one layer of n units).

Usage: python benchmarks/bench_networks.py [--width 1000] [--depth 20] [--r 200] [--runs 2]
       [--device cpu|cuda] [--dtype float32]
"""
import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from qmf_sim import netprop as NP  # noqa: E402
from qmf_sim import nn as NN  # noqa: E402
from qmf_sym.activations import Staircase  # noqa: E402


def loop_baseline(act, X, sw, depth, width, n_draws, dtype, device, seed):
    g = torch.Generator(device=device).manual_seed(seed)
    Ks = []
    for _ in range(n_draws):
        Ws = [torch.randn(width, X.shape[1] if l == 0 else width, generator=g, dtype=dtype, device=device)
              * (sw / math.sqrt(X.shape[1] if l == 0 else width)) for l in range(depth)]
        per_layer = [[None] * X.shape[0] for _ in range(depth)]
        for i in range(X.shape[0]):
            h = X[i].to(dtype=dtype, device=device)
            for l in range(depth):
                a = Ws[l] @ h
                per_layer[l][i] = a
                h = NN.staircase_ste(a, act)
        for l in range(depth):
            A = torch.stack(per_layer[l])
            Ks.append(A @ A.T / width)
    return Ks


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--r", type=int, default=200)
    ap.add_argument("--runs", type=int, default=2, help="independent networks (draws) stacked in one bmm")
    ap.add_argument("--device", default=str(NN.default_device()))
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = ap.parse_args(argv)
    dtype = getattr(torch, a.dtype)
    act = Staircase.uniform(16)
    sw = NP.sigma_w_optimal(act)
    Qs = 0.158
    X, _ = NP.circle_inputs(a.r, a.width, Qs, sw, seed=0, dtype=dtype)
    samples = a.depth * a.r * a.runs

    def sync():
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    NP.propagate(act, X[:4], sw, 0.0, 2, a.width, n_draws=1, dtype=dtype, device=a.device, seed=0)  # warm-up
    sync()
    t0 = time.perf_counter()
    NP.propagate(act, X, sw, 0.0, a.depth, a.width, n_draws=a.runs, dtype=dtype, device=a.device, seed=1,
                 reduce=lambda K, l: NP.circulant_profile(K))
    sync()
    t_b = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop_baseline(act, X, sw, a.depth, a.width, a.runs, dtype, a.device, 1)
    sync()
    t_l = time.perf_counter() - t0
    print(f"device={a.device} dtype={a.dtype} width={a.width} depth={a.depth} r={a.r} runs={a.runs} "
          f"torch_threads={torch.get_num_threads()}")
    print(f"batched: {t_b:8.3f} s  {samples / t_b:12.4g} layer-samples/s  ({samples * a.width / t_b:.4g} neuron-samples/s)")
    print(f"loop:    {t_l:8.3f} s  {samples / t_l:12.4g} layer-samples/s")
    print(f"speed-up batched / loop: {t_l / t_b:.1f}x")


if __name__ == "__main__":
    main()
