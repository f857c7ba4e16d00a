"""``qmf fig1`` and ``qmf finite-width``: argument parsing only (paper 1, sec. 5 and Fig. 1).

The experiments, tables and figures are in :mod:`qmf_sim.experiments.netprop`; the ``qmf reproduce``
parts ``fig1`` and ``finite_width`` are registered in :mod:`qmf_sim.experiments`.
Torch and matplotlib are imported inside the functions so that ``qmf --help`` stays fast.  Every size
flag (--width, --depth, --r, --runs, --widths) is checked against the memory the run would need
(:func:`qmf_sym._validate.memory_budget`: half the physical RAM) before computing.
"""
from __future__ import annotations

import math

from qmf_sim.cli import _vocab as A

FIG1_FACTORS = "0.7,0.85,1.0,1.2,1.5"


def _num(v, spec):
    """A number for the terminal; ``n/a`` for a missing or non-finite value."""
    return "n/a" if v is None or not math.isfinite(v) else format(v, spec)


def fig1_bytes(width, depth, r, runs, item=4, n_theory=61):
    """Bytes the Fig. 1 experiment (:func:`qmf_sim.netprop.correlation_propagation`, real weights) plans:
    per chunk of draws (at least one) the weights W (width x width), the activations (3 x r x width) and the
    covariances (2 r^2); the r inputs (float64, r x width) and their covariance; the recorded profiles
    (runs x depth x 2 r, and the per-layer tables) and the mean-field curves over the layers."""
    w, d, r, n = float(width), float(depth), float(r), float(runs)
    per = max(w * w, r * w) * item
    chunk = max(1.0, min(n, float(2 ** 28 // max(int(per), 1))))
    return (chunk * item * (w * w + 3 * r * w + 2 * r * r) + 8 * (2 * r * w + 2 * r * r)
            + 8 * d * (4 * n * r + 8 * r + 8 * (n_theory + 10)) + 40 * d)


def finite_width_bytes(widths, depth, runs, r=4, n0=4096):
    """Bytes of :func:`qmf_sim.netprop.finite_width_errors` (exact-law 'gram' sampling, float64) at the
    largest width: per chunk of draws the activations (4 x r x width), the kept covariances
    (runs x depth x r^2, twice), the inputs (r x n0)."""
    w, d, n = float(max(widths)), float(depth), float(runs)
    per = max(w * max(w, n0), r * w) * 8
    chunk = max(1.0, min(n, float(2 ** 28 // max(int(per), 1))))
    return 8 * (4 * chunk * r * w + 2 * n * d * r * r + r * n0) + 40 * d


def _check_size(flags_values, nbytes, what):
    """One line naming the size flag that makes the run large (the largest multiple of its default)."""
    from qmf_sym._validate import check_bytes

    flag, value, _ = max(flags_values, key=lambda fv: float(fv[1]) / fv[2])
    others = ", ".join(f"{f} {v}" for f, v, _ in flags_values if f != flag)
    check_bytes(f"argument {flag}: {flag} {value} (with {others})", nbytes, what)


def _cmd_fig1(args):
    from qmf_sim.experiments import netprop as E

    out = A.out_dir(args.out)
    _check_size([("--width", args.width, 1000), ("--depth", args.depth, 100), ("--r", args.r, 500),
                 ("--runs", args.runs, 1)],
                fig1_bytes(args.width, args.depth, args.r, args.runs, 8 if args.dtype == "float64" else 4),
                "weights, activations, inputs and recorded profiles")
    res = E.run_fig1(levels=args.levels, depth=args.depth, width=args.width, r=args.r, factors=args.factors,
                     sigma_b=args.sigma_b, runs=args.runs, dtheta_decay=args.dtheta, dtype=args.dtype,
                     device=args.device, seed=args.seed, progress=not args.no_progress, activation=args.activation)
    for p in E.write_fig1(res, out):
        print(f"wrote {p}")
    meta = E.fig1_summary(res)
    print(f"wall {meta['wall_seconds']:.1f} s, network {meta['network_seconds']:.1f} s, "
          f"{_num(meta['layer_samples_per_second'], '.3g')} layer-samples/s")
    for run in meta["runs"]:
        print(f"sigma_w={run['sigma_w']:.4f} xi={_num(run['xi'], '.2f')} 1/e-layer "
              f"empirical={_num(run['decay_emp'], '.2f')} mean-field={_num(run['decay_mf'], '.2f')}"
              + ("" if math.isfinite(run["decay_emp"]) and math.isfinite(run["decay_mf"])
                 else f" (n/a: C - C* does not decay to 1/e within --depth {args.depth})"))
    return 0


def _cmd_finite_width(args):
    from qmf_sim import io
    from qmf_sim.experiments import netprop as E

    out = A.out_dir(args.out)
    _check_size([("--widths", max(args.widths), 4096), ("--depth", args.depth, 30), ("--runs", args.runs, 128)],
                finite_width_bytes(args.widths, args.depth, args.runs), "activations and kept covariances")
    res = E.run_finite_width(levels=args.levels, widths=args.widths, depth=args.depth, factors=args.factors,
                             runs=args.runs, seed=args.seed, activation=args.activation, sigma_b=args.sigma_b)
    for p in E.write_finite_width(res, out):
        print(f"wrote {p}")
    print(io.dumps(io.with_provenance(E.finite_width_summary(res))))  # provenance as in every file
    return 0


def _common(p, runs_default, runs_lo, runs_help):
    from qmf_sim.cli.activation import NAMES, activation_name

    p.add_argument("--out", default="results", help="output directory (default: results/)")
    p.add_argument("--activation", type=activation_name, default="staircase",
                   help=f"one of {', '.join(NAMES)} (default staircase); a continuous one takes sigma_w in units "
                   "of its edge of chaos at --sigma-b (tanh, erf, hardtanh: give --sigma-b > 0)")
    p.add_argument("--levels", type=A.integer(2), default=None,
                   help="number of states N of the uniform staircase (default 16; --activation staircase only)")
    p.add_argument("--runs", type=A.integer(runs_lo), default=runs_default, help=runs_help)
    p.add_argument("--seed", type=A.integer(0), default=0, help="random seed (default 0)")


def add_commands(sub):
    p = sub.add_parser("fig1", help="paper 1 Fig. 1: correlation propagation in random quantized networks",
                       description="Propagate r inputs on a great circle (scaled so Q^(1) = Q*) through random "
                       "networks with the N-state uniform staircase, for sigma_w = factor x sigma_w_opt; "
                       "plot covariance vs angle with the mean field, heat maps, and a 1/e decay table vs xi. "
                       "Lists: ITEM[,ITEM...], ITEM = VALUE or START-STOP[:STEP].")
    _common(p, 1, 1, "independent networks averaged (default 1)")
    p.add_argument("--depth", type=A.integer(1), default=100, help="hidden layers L (default 100)")
    p.add_argument("--width", type=A.integer(1), default=1000, help="width n (default 1000)")
    p.add_argument("--r", type=A.integer(2), default=500, help="inputs on the circle (>= 2, default 500)")
    p.add_argument("--factors", type=A.float_list(0, lo_open=True), default=FIG1_FACTORS,
                   help=f"sigma_w / sigma_w_opt list (default {FIG1_FACTORS})")
    p.add_argument("--sigma-b", type=A.number(0), default=0.0, dest="sigma_b", help="bias std (default 0)")
    p.add_argument("--dtheta", type=A.number(0, 2 * math.pi), default=math.pi / 3,
                   help="angle of the 1/e decay table in rad, in [0, 2 pi] (default pi/3)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                   help="torch dtype of the networks (default float32)")
    p.add_argument("--device", type=A.device, default=None, help="torch device (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_fig1)
    q = sub.add_parser("finite-width", help="error of the mean-field Q, C at finite width n, and its scaling",
                       description="Empirical minus mean-field Q^(l), C^(l) over independent draws for several "
                       "widths; fits error ~ n^p. Lists: ITEM[,ITEM...], ITEM = VALUE or START-STOP[:STEP].")
    _common(q, 128, 2, "independent networks per width (>= 2, default 128)")
    q.add_argument("--widths", type=A.int_list(1), default="64,128,256,512,1024,2048,4096",
                   help="list of widths (default 64,128,256,512,1024,2048,4096)")
    q.add_argument("--depth", type=A.integer(1), default=30, help="hidden layers (default 30)")
    q.add_argument("--factors", type=A.float_list(0, lo_open=True), default="1.0,1.5",
                   help="sigma_w / sigma_w_opt list (default 1.0,1.5)")
    q.add_argument("--sigma-b", type=A.number(0), default=0.0, dest="sigma_b", help="bias std (default 0)")
    q.set_defaults(func=_cmd_finite_width)
