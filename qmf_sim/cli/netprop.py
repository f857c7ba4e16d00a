"""``qmf`` plugin for finite networks against the theory (issue 3; paper 1, sec. 5 and Fig. 1).

Commands: ``qmf fig1`` (correlation propagation), ``qmf finite-width`` (error vs width).
``REPRODUCE = {"fig1": ..., "finite_width": ...}`` for ``qmf reproduce``.
Torch and matplotlib are imported inside the functions so that ``qmf --help`` stays fast.
"""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

from qmf_sim.results import save_figure, write_json

import numpy as np

FIG1_LAYERS = (0, 25, 50, 75, 100)
FIG1_FACTORS = (0.7, 0.85, 1.0, 1.2, 1.5)  # sigma_w / sigma_w_opt


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_fig1(out_dir, N=16, depth=100, width=1000, r=500, factors=FIG1_FACTORS, sigma_b=0.0, n_draws=1,
             dtheta_decay=math.pi / 3, dtype="float32", device=None, seed=0, progress=True, tag="fig1"):
    """Run the sec. 5 experiment and write ``<tag>.png/.pdf`` (covariance vs Delta theta with the
    mean field), ``<tag>_heatmap.png`` (layer x Delta theta per sigma_w) and ``<tag>_decay.csv``
    (1/e decay layer of C - C* at ``dtheta_decay``: empirical, mean-field, xi), ``<tag>.json``."""
    import torch

    from qmf_sym.activations import Staircase

    from qmf_sim import networks as NW

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    act = Staircase.uniform(N)
    t0 = time.perf_counter()
    s_opt = NW.sigma_w_optimal(act, sigma_b)
    sws = [f * s_opt for f in factors]
    res = NW.correlation_propagation(act, sws, sigma_b, depth, width, r, n_draws=n_draws, dtheta_decay=dtheta_decay,
                                     dtype=getattr(torch, dtype), device=device, seed=seed, progress=progress)
    wall = time.perf_counter() - t0
    runs = res["runs"]
    theta = res["theta"]
    half = theta <= np.pi + 1e-12
    layers = [l for l in FIG1_LAYERS if l <= depth] or [0, depth]
    plt = _plt()
    # --- covariance vs Delta theta, mean field over it
    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.2), sharey=False, squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, run, f in zip(axes[0], runs, factors):
        for i, l in enumerate(layers):
            c = cmap(i / max(len(layers) - 1, 1))
            ax.plot(theta[half], run["cov"][l][half], ".", ms=2, color=c, label=f"l={l}")
            ax.plot(run["theta_theory"], run["cov_theory"][l], "-", lw=1, color=c)
        ax.set_title(f"$\\sigma_w$={run['sigma_w']:.3f} ({f:g}x opt)\n$\\xi$={run['xi']:.1f}", fontsize=9)
        ax.set_xlabel("$\\Delta\\theta$")
    axes[0][0].set_ylabel("covariance $q^{(l)}(\\Delta\\theta)$")
    axes[0][-1].legend(fontsize=7, markerscale=3)
    fig.suptitle(f"N={N}, L={depth}, n={width}, r={r}, $\\sigma_b$={sigma_b:g}: dots = network, lines = mean field",
                 fontsize=9)
    fig.tight_layout()
    paths = save_figure(fig, out_dir, tag)
    # --- heat maps
    fig, axes = plt.subplots(1, len(runs), figsize=(3.0 * len(runs) + 1.2, 3.4), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, run in zip(axes[0], runs):
        im = ax.imshow(run["corr"][:, half], aspect="auto", origin="lower", cmap="RdBu_r", vmin=-1, vmax=1,
                       extent=[0, np.pi, -0.5, depth + 0.5])
        ax.set_title(f"$\\sigma_w$={run['sigma_w']:.3f}", fontsize=9)
        ax.set_xlabel("$\\Delta\\theta$")
    axes[0][0].set_ylabel("layer l")
    fig.suptitle("empirical correlation per layer and input angle", fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), label="empirical correlation $C^{(l)}$")
    paths += save_figure(fig, out_dir, f"{tag}_heatmap", formats=("png",))
    # --- decay table
    cp = out_dir / f"{tag}_decay.csv"
    with open(cp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sigma_w", "sigma_w_over_opt", "sigma_b", "Q_star", "C_star", "chi", "xi", "dtheta",
                    "C1", "decay_layer_empirical", "decay_layer_meanfield", "network_seconds"])
        for run, f in zip(runs, factors):
            w.writerow([f"{run['sigma_w']:.6g}", f"{f:g}", run["sigma_b"], f"{run['Q_star']:.6g}",
                        f"{run['C_star']:.6g}", f"{run['chi']:.6g}", f"{run['xi']:.4g}",
                        f"{run['dtheta_decay']:.6g}", f"{run['corr'][1, run['k_decay']]:.4f}",
                        f"{run['decay_emp']:.4g}", f"{run['decay_mf']:.4g}", f"{run['seconds_network']:.2f}"])
    paths.append(cp)
    jp = out_dir / f"{tag}.json"
    layer_samples = depth * r * n_draws * len(runs)  # one input through one layer of `width` units
    net_s = sum(run["seconds_network"] for run in runs)
    write_json(jp, {
        "N": N, "depth": depth, "width": width, "r": r, "sigma_b": sigma_b, "n_draws": n_draws, "dtype": dtype,
        "device": str(device or "cpu"), "sigma_w_opt": s_opt, "wall_seconds": wall, "network_seconds": net_s,
        "layer_samples_per_second": layer_samples / net_s,
        "neuron_samples_per_second": layer_samples * width / net_s,
        "input_scaling": "x = s (u0 cos t + u1 sin t), s^2 = n0 (Q* - sigma_b^2) / sigma_w^2, so Q^(1) = Q*",
        "decay_definition": "first layer where (C(l) - C*) / (C(1) - C*) <= 1/e at dtheta, linear interpolation "
                            "in log; layer 1 = first hidden layer",
        "runs": [{k: run[k] for k in ("sigma_w", "Q_star", "C_star", "chi", "xi", "dtheta_decay", "decay_emp",
                                      "decay_mf", "input_scale", "seconds_network")} for run in runs],
    })
    paths.append(jp)
    return paths


def run_finite_width(out_dir, N=16, widths=(64, 128, 256, 512, 1024, 2048, 4096), depth=30, factors=(1.0, 1.5),
                     n_draws=128, seed=0, tag="finite_width"):
    """Error between empirical and mean-field Q^(l), C^(l) vs width; ``<tag>.png``, ``<tag>.csv``,
    ``<tag>.json`` (fitted exponents)."""
    from qmf_sym.activations import Staircase

    from qmf_sim import networks as NW

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    act = Staircase.uniform(N)
    s_opt = NW.sigma_w_optimal(act)
    results = [NW.finite_width_errors(act, f * s_opt, 0.0, widths, depth, n_draws=n_draws, seed=seed + i)
               for i, f in enumerate(factors)]
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    nn = np.array(widths, dtype=float)
    for res, f, mk in zip(results, factors, "os^v"):
        for name, ax in (("Q_rel_rms", axes[0]), ("C_rms", axes[1])):
            y = res[name].mean(axis=1)
            p, a = res["fit"][name]
            ax.loglog(nn, y, mk, label=f"$\\sigma_w$={f:g}x opt: slope {p:.3f}")
            ax.loglog(nn, np.exp(a) * nn ** p, "-", lw=0.8)
        cmap = plt.get_cmap("plasma")
        if f == factors[0]:
            for i, n in enumerate(widths):
                axes[2].semilogy(res["layers"], res["C_rms"][i] * math.sqrt(n), color=cmap(i / len(widths)),
                                 label=f"n={n}")
    axes[0].set_title("RMS |Q_emp - Q_mf| / Q_mf (mean over layers)", fontsize=9)
    axes[1].set_title("RMS |C_emp - C_mf| (mean over layers, pairs)", fontsize=9)
    axes[2].set_title(f"$\\sqrt{{n}}$ x RMS C error per layer ($\\sigma_w$={factors[0]:g}x opt)", fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("width n")
        ax.legend(fontsize=7)
    axes[2].set_xlabel("layer l")
    axes[2].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    paths = save_figure(fig, out_dir, tag, formats=("png",))
    cp = out_dir / f"{tag}.csv"
    with open(cp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sigma_w", "width", "layer", "Q_mf", "Q_rms", "Q_bias", "Q_bias_se", "C_rms", "C_bias",
                    "C_bias_se"])
        for res in results:
            for i, n in enumerate(widths):
                for j, l in enumerate(res["layers"]):
                    w.writerow([f"{res['sigma_w']:.6g}", n, l, f"{res['Q_mf'][j]:.6g}"] +
                               [f"{res[k][i, j]:.4g}" for k in ("Q_rms", "Q_bias", "Q_bias_se", "C_rms", "C_bias",
                                                                "C_bias_se")])
    paths.append(cp)
    jp = out_dir / f"{tag}.json"
    write_json(jp, {"N": N, "depth": depth, "widths": list(widths), "n_draws": n_draws,
                              "method": results[0]["method"],
                              "fits": [{"sigma_w": res["sigma_w"], "xi": res["xi"],
                                        "exponents": {k: v[0] for k, v in res["fit"].items()},
                                        "bias_fit_points": {k: res["fit"][k][1] for k in ("Q_bias", "C_bias")}}
                                       for res in results]})
    paths.append(jp)
    return paths


def _reproduce_fig1(out_dir: Path, quick: bool):
    if quick:
        return run_fig1(out_dir, depth=40, width=300, r=120, factors=(0.85, 1.0, 1.2), progress=False)
    return run_fig1(out_dir, progress=False)


def _reproduce_finite_width(out_dir: Path, quick: bool):
    if quick:
        return run_finite_width(out_dir, widths=(64, 256, 1024), depth=10, factors=(1.0,), n_draws=32)
    return run_finite_width(out_dir)


REPRODUCE = {"fig1": _reproduce_fig1, "finite_width": _reproduce_finite_width}


def _cmd_fig1(args):
    factors = tuple(float(x) for x in args.factors.split(","))
    paths = run_fig1(args.out, N=args.N, depth=args.depth, width=args.width, r=args.r, factors=factors,
                     sigma_b=args.sigma_b, n_draws=args.draws, dtheta_decay=args.dtheta, dtype=args.dtype,
                     device=args.device, seed=args.seed)
    for p in paths:
        print(f"wrote {p}")
    meta = json.loads(Path(paths[-1]).read_text())
    print(f"wall {meta['wall_seconds']:.1f} s, network {meta['network_seconds']:.1f} s, "
          f"{meta['layer_samples_per_second']:.3g} layer-samples/s")
    for run in meta["runs"]:
        print(f"sigma_w={run['sigma_w']:.4f} xi={run['xi']:.2f} 1/e-layer empirical={run['decay_emp']:.2f} "
              f"mean-field={run['decay_mf']:.2f}")
    return 0


def _cmd_finite_width(args):
    widths = tuple(int(x) for x in args.widths.split(","))
    factors = tuple(float(x) for x in args.factors.split(","))
    paths = run_finite_width(args.out, N=args.N, widths=widths, depth=args.depth, factors=factors,
                             n_draws=args.draws, seed=args.seed)
    for p in paths:
        print(f"wrote {p}")
    print(Path(paths[-1]).read_text())
    return 0


def add_commands(sub):
    p = sub.add_parser("fig1", help="paper 1 Fig. 1: correlation propagation in random quantized networks",
                       description="Propagate r inputs on a great circle (scaled so Q^(1) = Q*) through random "
                       "networks with the N-state uniform staircase, for sigma_w = factor x sigma_w_opt; "
                       "plot covariance vs angle with the mean field, heat maps, and a 1/e decay table vs xi.")
    p.add_argument("--out", default="results", help="output directory")
    p.add_argument("--N", type=int, default=16, help="number of activation states (default 16)")
    p.add_argument("--depth", type=int, default=100, help="hidden layers L (default 100)")
    p.add_argument("--width", type=int, default=1000, help="width n (default 1000)")
    p.add_argument("--r", type=int, default=500, help="inputs on the circle (>= 2, default 500)")
    p.add_argument("--factors", default=",".join(map(str, FIG1_FACTORS)), help="sigma_w / sigma_w_opt list")
    p.add_argument("--sigma-b", type=float, default=0.0, dest="sigma_b")
    p.add_argument("--draws", type=int, default=1, help="independent networks averaged (default 1)")
    p.add_argument("--dtheta", type=float, default=math.pi / 3, help="angle of the 1/e decay table (rad)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--device", default=None, help="torch device (default cpu)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_fig1)
    q = sub.add_parser("finite-width", help="error of the mean-field Q, C at finite width n, and its scaling",
                       description="Empirical minus mean-field Q^(l), C^(l) over independent draws for several "
                       "widths; fits error ~ n^p.")
    q.add_argument("--out", default="results")
    q.add_argument("--N", type=int, default=16)
    q.add_argument("--widths", default="64,128,256,512,1024,2048,4096")
    q.add_argument("--depth", type=int, default=30)
    q.add_argument("--factors", default="1.0,1.5", help="sigma_w / sigma_w_opt list")
    q.add_argument("--draws", type=int, default=128)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_cmd_finite_width)
