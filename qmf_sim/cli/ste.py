"""``qmf ste`` commands (argparse only): ``qmf ste simulate`` and ``qmf ste figure N``.

The figures are :mod:`qmf_sim.experiments.ste_figures` (also the ``REPRODUCE`` parts ste_fig1 ..
ste_fig5); the solvers :mod:`qmf_sim.ste`; every file is written through :mod:`qmf_sim.io`.
"""
from __future__ import annotations

import time
from pathlib import Path

from qmf_sim.cli import _vocab
from qmf_sim.experiments.ste_figures import FIGURES

REPRODUCE = {f"ste_fig{k}": fn for k, fn in FIGURES.items()}


# ------------------------------------------------------------------------------------ commands
def _bits(flag, s):
    if s in (None, "none", "None", ""):
        return None
    try:
        return int(s)
    except ValueError:
        raise ValueError(f"{flag} must be an integer number of bits or 'none', got {s!r}") from None


def _params_from_args(a):
    from qmf_sim.ste import STEParams

    b, b_x = _bits("--b", a.b), _bits("--b-x", a.b_x)
    maps = {}
    for flag, key, kw in (("--psi", "psi", dict(b=b, omega=a.omega, kind=a.kind, ste=a.ste)),
                          ("--phi", "phi", dict(b=b_x, omega=a.omega_x, kind=a.kind_x))):
        spec = getattr(a, key)
        if spec not in (None, "", "quant"):
            from qmf_sym.ste.maps import named_map

            maps[key] = named_map(spec, name=f"argument {flag}", **kw)
    return STEParams(b=b, omega=a.omega, b_x=b_x, omega_x=a.omega_x, kind=a.kind,
                     kind_x=a.kind_x, ste=a.ste, eta=a.eta, lam=a.lam, sigma2=a.sigma2, T=a.T,
                     teacher=a.teacher, init=a.init, init_scale=a.init_scale, ridge=a.ridge, onset=a.onset, **maps)


def _cmd_simulate(a):
    from qmf_sim import io
    from qmf_sim import ste as S

    path = Path(a.out) if a.out else None
    if path is not None and path.suffix not in (".csv", ".json"):
        raise ValueError(f"--out must end in .csv or .json, got {a.out!r}")
    p = _params_from_args(a)
    tau = S.tau_grid(a.tau_max, a.n_tau)
    t0 = time.perf_counter()
    out = {"params": p.as_dict(), "method": a.method}
    if a.method == "micro":
        r = S.simulate(p, d=a.d, tau=tau, runs=a.runs, seed=a.seed)
        # NaN/inf (no replica left, std of fewer than 2) are written as null by qmf_sim.io
        out.update(tau=r.tau, eps_mean=r.mean(), eps_std=r.std(), diverged=r.diverged,
                   tau_diverged=r.tau_diverged, d=a.d, runs=a.runs)
        tau_out, eps_out = r.tau, r.mean()
    else:
        kw = {"particles": dict(n_particles=a.particles, seed=a.seed)}.get(a.method, {})
        eps_out = S.theory_curve(p, tau, a.method, **kw)
        tau_out = tau
        out.update(tau=tau, eps=eps_out)
    out["seconds"] = time.perf_counter() - t0
    if path is not None:
        if path.suffix == ".csv":
            io.write_csv(path, ["tau", "eps_g"], zip(tau_out, eps_out))
        else:
            io.write_json(path, out)
        print(f"wrote {path}")
    else:
        for t, e in zip(tau_out, eps_out):
            print(f"{t:10.4f}  {e:.6f}")
    return 0


def _cmd_figure(a):
    out = Path(a.out)
    for n in a.which:
        if n not in FIGURES:
            raise ValueError(f"figure must be among {sorted(FIGURES)}, got {n}")
        t0 = time.perf_counter()
        for p in FIGURES[n](out, a.quick, seed=a.seed):
            print(f"wrote {p}")
        print(f"[ste] figure {n} in {time.perf_counter() - t0:.1f} s")
    return 0


def add_commands(subparsers):
    sp = subparsers.add_parser("ste", help="paper 2: STE learning dynamics (simulate, figures)",
                               description="STE learning dynamics of quantized linear models (spec ste_dynamics.md).")
    sub = sp.add_subparsers(dest="ste_command", metavar="SUBCOMMAND")
    s = sub.add_parser("simulate", help="eps_g(tau) from the d-dim SGD, the particles, the PDE or the closed ODE")
    s.add_argument("--method", default="micro", choices=["micro", "particles", "pde", "closed", "gaussian", "split"],
                   help="gaussian / split: the order-parameter closures (approximate ODEs, issue 10 §4)")
    s.add_argument("--b", default="2", help="weight bits (or 'none': unquantized weights)")
    s.add_argument("--omega", type=float, default=1.0)
    s.add_argument("--b-x", default="none", help="input bits (or 'none')")
    s.add_argument("--omega-x", type=float, default=1.0)
    s.add_argument("--kind", default="endpoints", choices=["endpoints", "cells", "midtread"])
    s.add_argument("--kind-x", default="endpoints", choices=["endpoints", "cells", "midtread"])
    s.add_argument("--ste", default="clipped", choices=["clipped", "identity"])
    s.add_argument("--eta", type=float, default=0.04)
    s.add_argument("--lam", type=float, default=1.0)
    s.add_argument("--sigma2", type=float, default=0.0)
    s.add_argument("--T", type=float, default=0.0)
    s.add_argument("--psi", default="quant", metavar="NAME",
                   help="weight map: quant (the quantizer of --b/--omega/--kind/--ste), identity, tanh[:A[,W]], "
                        "sign[:S], uniform:N[,D]")
    s.add_argument("--phi", default="quant", metavar="NAME",
                   help="input map: quant (the quantizer of --b-x/--omega-x/--kind-x), identity, tanh[:A[,W]], "
                        "sign[:S], uniform:N[,D]")
    s.add_argument("--ridge", default="latent", choices=["latent", "psi"],
                   help="ridge on the latent weights or on psi(w) (spec §8 item 3)")
    s.add_argument("--onset", type=_vocab.number(lo=0.0), default=0.0,
                   help="quantization onset time tau_0 (spec §8 item 6; 0: quantized from the start)")
    s.add_argument("--teacher", default="ones", choices=["ones", "gaussian", "rademacher"])
    s.add_argument("--init", default="gaussian", choices=["gaussian", "uniform", "rademacher", "zeros"])
    s.add_argument("--init-scale", type=float, default=1.0)
    s.add_argument("--d", type=int, default=900)
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--particles", type=int, default=100_000)
    s.add_argument("--tau-max", type=float, default=100.0)
    s.add_argument("--n-tau", type=int, default=40)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="", help="CSV or JSON path (by extension); default: print")
    s.set_defaults(func=_cmd_simulate)
    f = sub.add_parser("figure", help="write paper-2 figure(s) 1-5 (PNG + CSV)")
    f.add_argument("which", nargs="+", type=int, help="figure numbers (1-5)")
    f.add_argument("--out", default="results")
    f.add_argument("--quick", action="store_true")
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_cmd_figure)
    sp.set_defaults(func=lambda a: (sp.print_help(), 0)[1] if not getattr(a, "ste_command", None) else None)
    return sp
