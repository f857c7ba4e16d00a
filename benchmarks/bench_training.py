#!/usr/bin/env python
"""Training throughput of the trainable-depth runs (steps per second), on this machine.

    python benchmarks/bench_training.py [--device cpu] [--threads 1] [--width 128] [--depths 8,32]

Reports the SGD steps/s of run_training (batch 32, clipped STE, N = 10) for each depth, and, as a
ratio against a baseline measured in the same process, the cost relative to a plain float (tanh)
MLP of the same shape trained by the same loop (so the number says what the staircase + STE cost).
"""
import argparse
import time

import torch


def plain_steps_per_s(n_in, width, depth, steps, device):
    layers = []
    sizes = [n_in] + [width] * depth
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, 10)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(32, n_in, device=device)
    y = torch.randint(10, (32,), device=device)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def main():
    from qmf_sim.training import TrainConfig, run_training

    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depths", default="8,32")
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for d in (int(v) for v in a.depths.split(",")):
        r = run_training(TrainConfig(depth=d, width=a.width, steps=a.steps, eval_steps=(), sigma_w=1.0, lr=1e-2,
                                     device=a.device), threads=a.threads)
        sps = r["run"]["steps_per_s"]
        base = plain_steps_per_s(64, a.width, d, a.steps, r["run"]["device"])
        print(f"device {r['run']['device']} threads {a.threads} width {a.width} depth {d}: "
              f"{sps:.1f} steps/s (quantized+STE), {base:.1f} steps/s (tanh baseline), ratio {sps / base:.2f}")


if __name__ == "__main__":
    main()
