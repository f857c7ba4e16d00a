"""``qmf ste`` commands (argparse only): ``qmf ste simulate`` and ``qmf ste figure N``.

The figures are :mod:`qmf_sim.experiments.ste_figures` (also the ``REPRODUCE`` parts ste_fig1 ..
ste_fig5); the solvers :mod:`qmf_sim.ste`; every file is written through :mod:`qmf_sim.io`.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

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
        raise ValueError(f"argument {flag}: must be an integer number of bits or 'none', got {s!r}") from None


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


def _duration(seconds):
    for unit, n in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= n:
            return f"{seconds / n:.1f} {unit}"
    return f"{seconds:.0f} s"


def _check_sizes(a, n_rec):
    """Every size flag against the memory it would allocate (qmf_sym._validate.memory_budget), before any computing; a run
    estimated to take more than a minute says so on stderr (how long, at the measured kernel speed)."""
    import os

    if a.method == "micro":
        from qmf_sim.ste.micro import UPDATES_PER_SECOND, check_memory, work

        # the torch path keeps ~3 more (runs, d) temporaries (qmf_sim.ste.torch_micro)
        check_memory(a.d, a.runs * (3 if a.device is not None else 1), n_rec, flags=("--d", "--runs"))
        n, what = work(a.d, a.runs, round(a.tau_max * a.d)), "coordinate updates (--runs x --d x --tau-max x --d)"
        flags = f"--d {a.d}, --runs {a.runs}"
        threads = 1 if a.device is not None else min(a.runs, os.cpu_count() or 1)
    elif a.method == "particles":
        from qmf_sim.ste.micro import UPDATES_PER_SECOND
        from qmf_sim.ste.particles import check_memory

        check_memory(a.particles, flag="--particles")
        n, what, threads = a.particles * a.tau_max / 0.02, "particle steps (--particles x --tau-max / dt)", 1
        flags = f"--particles {a.particles}"
    else:
        return
    from qmf_sim.ste.trajectory import check_work

    check_work(f"argument --tau-max: --tau-max {a.tau_max:g} (with {flags})", n, what)  # before the time note
    seconds = n / UPDATES_PER_SECOND / threads
    if seconds > 60:
        _vocab.warn(f"qmf ste simulate: note: about {n:.2g} {what}, roughly {_duration(seconds)} on this CPU "
                    f"(~{UPDATES_PER_SECOND:.0e}/s per thread)")


def _solve(a, p, tau):
    """The run of --method: the d-dimensional SGD (numba, or torch with --device) or a theory curve."""
    from qmf_sim import ste as S

    if a.method == "micro":
        if a.device is None:
            return S.simulate(p, d=a.d, tau=tau, runs=a.runs, seed=a.seed)
        from qmf_sim.ste.torch_micro import simulate_torch  # no CUDA: a ValueError naming the device (exit 2)

        return simulate_torch(p, d=a.d, tau=tau, runs=a.runs, seed=a.seed, device=a.device)
    kw = {"particles": dict(n_particles=a.particles, seed=a.seed)}.get(a.method, {})
    try:
        return S.theory_result(p, tau, a.method, **kw)  # the one divergence rule, whatever the method
    except ValueError as exc:  # the solver's work bound names its tau grid: here that is --tau-max
        if str(exc).startswith(("tau ", "dt = ")):
            raise ValueError(f"argument --tau-max: {exc}") from None
        raise


def _cmd_simulate(a):
    from qmf_sim import io
    from qmf_sim import ste as S
    from qmf_sim.ste.interrupt import Interrupted
    from qmf_sim.ste.trajectory import divergence_note

    path = None
    if a.out:  # the output path first: a bad one is reported before any computing
        path = _vocab.out_file(a.out)
        if path.suffix not in (".csv", ".json"):
            raise ValueError(f"argument --out: must end in .csv or .json, got {a.out!r}")
    if a.device is not None and a.method != "micro":
        raise ValueError(f"argument --device: applies to --method micro only, got --method {a.method}")
    p = _params_from_args(a)
    tau = S.tau_grid(a.tau_max, a.n_tau)
    _check_sizes(a, tau.size)
    t0 = time.perf_counter()
    out = {"params": p.as_dict(), "method": a.method, "seed": a.seed}
    try:
        r = _solve(a, p, tau)
    except Interrupted as exc:  # Ctrl-C: what was recorded up to the stop is written, then exit 130
        if path is None or exc.partial is None:
            raise
        r, interrupted = exc.partial, True
    else:
        interrupted = False
    if a.method == "micro":
        # NaN/inf (no replica left, std of fewer than 2) are written as null by qmf_sim.io
        out.update(tau=r.tau, eps_mean=r.mean(), eps_std=r.std(), eps_se=r.stderr(), runs_valid=r.valid.sum(0),
                   diverged=r.diverged, tau_diverged=r.tau_diverged, d=a.d, runs=a.runs)
        cols = {"tau": r.tau, "eps_g_mean": r.mean(), "eps_g_se": r.stderr(), "eps_g_std": r.std(),
                "runs": r.valid.sum(0)}
    else:
        eps_out = np.interp(tau, r.tau, r.eps[0])
        out.update(tau=tau, eps=eps_out, diverged=r.diverged, tau_diverged=r.tau_diverged)
        cols = {"tau": tau, f"eps_g[{a.method}]": eps_out}
    note = divergence_note(r)
    if interrupted:
        last = np.asarray(r.tau)[np.isfinite(np.asarray(r.eps)).any(axis=0)]
        stop = f"interrupted by Ctrl-C after tau = {last.max():g}" if last.size else "interrupted by Ctrl-C"
        note = f"{stop}: the records after it are empty" + (f"; {note}" if note else "")
        out["interrupted"] = True
    out["seconds"] = time.perf_counter() - t0
    rows = list(zip(*cols.values()))
    if path is not None:
        if path.suffix == ".csv":  # the parameters and the meaning of the columns go into the sidecar
            io.write_csv(path, list(cols), rows, meta={
                "params": p.as_dict(), "method": a.method, "d": a.d, "runs": a.runs if a.method == "micro" else 1,
                "diverged": r.diverged, "tau_diverged": r.tau_diverged, "divergence": note,
                "columns": "eps_g_std: sample std (ddof 1) over the runs not diverged; eps_g_se = std / sqrt(runs); "
                           "tau_diverged: null for a run that did not diverge; eps_g empty from the divergence on"})
        else:
            io.write_json(path, {**out, "divergence": note})
        print(f"wrote {path}" + (f" ({note})" if note else ""))
        if interrupted:
            return 130
    else:  # a labelled table
        print(" ".join(f"{c:>12}" for c in cols))
        for row in rows:
            print(" ".join(f"{int(v):>12d}" if isinstance(v, (int, np.integer)) else f"{v:>12.6g}" for v in row))
        if note:
            print(f"# {note}")
    return 0


def _cmd_figure(a):
    bad = [n for n in a.which if n not in FIGURES]
    if bad:
        raise ValueError(f"argument which: figure must be among {sorted(FIGURES)}, got {bad[0]}")
    out = _vocab.out_dir(a.out)  # before computing: an unwritable --out is reported at once
    for n in a.which:
        t0 = time.perf_counter()
        for p in FIGURES[n](out, a.quick, seed=a.seed):
            print(f"wrote {p}")
        print(f"[ste] figure {n} in {time.perf_counter() - t0:.1f} s")
    return 0


def add_commands(subparsers):
    sp = subparsers.add_parser("ste", help="paper 2: STE learning dynamics (simulate, figures)",
                               description="STE learning dynamics of quantized linear models (spec ste_dynamics.md).")
    sub = sp.add_subparsers(dest="ste_command", metavar="SUBCOMMAND")
    s = sub.add_parser("simulate", help="eps_g(tau) from the d-dim SGD, the particles, the PDE or the closed ODE",
                       description="Generalisation error eps_g(tau) of a linear student trained with the STE on a "
                       "linear teacher (paper 2). --method micro runs --runs independent d-dimensional SGD "
                       "simulations and prints per tau the mean of eps_g, its standard error and the number of runs "
                       "not diverged (the standard deviations go into --out); the other methods print the theory "
                       "curve.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("--method", default="micro", choices=["micro", "particles", "pde", "closed", "gaussian", "split"],
                   help="gaussian / split: the order-parameter closures (approximate ODEs)")
    s.add_argument("--b", default="2", help="weight bits (or 'none': unquantized weights)")
    s.add_argument("--omega", type=_vocab.number(0, lo_open=True), default=1.0, help="weight quantization range")
    s.add_argument("--b-x", default="none", help="input bits (or 'none')")
    s.add_argument("--omega-x", type=_vocab.number(0, lo_open=True), default=1.0, help="input quantization range")
    s.add_argument("--kind", default="endpoints", choices=["endpoints", "cells", "midtread"],
                   help="weight quantizer grid")
    s.add_argument("--kind-x", default="endpoints", choices=["endpoints", "cells", "midtread"],
                   help="input quantizer grid")
    s.add_argument("--ste", default="clipped", choices=["clipped", "identity"], help="straight-through surrogate")
    s.add_argument("--eta", type=_vocab.number(0, lo_open=True), default=0.04, help="learning rate eta")
    s.add_argument("--lam", type=_vocab.number(0), default=1.0, help="ridge lambda")
    s.add_argument("--sigma2", type=_vocab.number(0), default=0.0, help="label noise variance sigma^2")
    s.add_argument("--T", type=_vocab.number(0), default=0.0, help="temperature T (Langevin noise)")
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
    s.add_argument("--teacher", default="ones", choices=["ones", "gaussian", "rademacher"], help="teacher weights w*")
    s.add_argument("--init", default="gaussian", choices=["gaussian", "uniform", "rademacher", "zeros"],
                   help="initial student weights")
    s.add_argument("--init-scale", type=_vocab.number(0), default=1.0, help="scale of the initial weights")
    s.add_argument("--d", type=_vocab.integer(1), default=900,
                   help="dimension d (micro; runs x d is bounded by the memory it needs: qmf_sym._validate.memory_budget)")
    s.add_argument("--runs", type=_vocab.integer(1), default=5, help="independent runs averaged (micro)")
    s.add_argument("--particles", type=_vocab.integer(1), default=100_000, help="particles (--method particles)")
    s.add_argument("--tau-max", type=_vocab.number(0, lo_open=True), default=100.0, help="last time tau")
    s.add_argument("--n-tau", type=_vocab.integer(2, 10 ** 6), default=40, help="number of recorded times (2..10^6)")
    s.add_argument("--seed", type=_vocab.integer(0), default=0, help="random seed")
    s.add_argument("--device", default=None, metavar="DEVICE",
                   help="--method micro on the torch solver on DEVICE (cpu, cuda, cuda:N: many replicas, large d); "
                        "default: the numba kernel on the CPU")
    s.add_argument("--out", default="", help="CSV (+ <name>.csv.meta.json sidecar) or JSON path, by extension; "
                   "default: print the table")
    s.set_defaults(func=_cmd_simulate)
    f = sub.add_parser("figure", help="write paper-2 figure(s) 1-5 (PNG + CSV)")
    f.add_argument("which", nargs="+", type=int, help="figure numbers (1-5)")
    f.add_argument("--out", default="results", help="output directory (default: results/)")
    f.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    f.add_argument("--seed", type=_vocab.integer(0), default=0, help="random seed (default 0)")
    f.set_defaults(func=_cmd_figure)
    _add_stationary_commands(sub)
    sp.set_defaults(func=lambda a: (sp.print_help(), 0)[1] if not getattr(a, "ste_command", None) else None)
    return sp


# ------------------------------------------------------------------ qmf ste stationary / plateau (helper H7)
def _cmd_stationary(a):
    """Self-consistent stationary state of weight quantization with the edge masses (spec §5.2 + erratum)."""
    from qmf_sim import io
    from qmf_sym.ste.stationary import stationary_branches, stationary_state

    st = stationary_state(a.eta, a.lam, a.b, a.omega, kind=a.kind, ste=a.ste, sigma2=a.sigma2, T=a.T)
    out = dict(b=a.b, omega=a.omega, eta=a.eta, lam=a.lam, kind=a.kind, ste=a.ste, sigma2=a.sigma2, T=a.T,
               **st.as_dict())
    if a.branches:
        out["branches"] = [dict(eps_g=e, stable=s) for e, s in stationary_branches(
            a.eta, a.lam, a.b, a.omega, kind=a.kind, ste=a.ste, sigma2=a.sigma2, T=a.T)]
    if a.json:
        print(io.dumps(io.with_provenance(out)))  # provenance as in every file
    else:
        for k, v in out.items():
            print(f"{k:>14} {v}")
    return 0


def _cmd_plateau(a):
    """The model's plateau prediction (qmf_sym.ste.plateau): saturated start +-a (clipped STE) or zero cell."""
    from qmf_sim import io
    from qmf_sym.ste import plateau as PL

    if a.start == "zero-cell":
        pr = PL.zero_cell_plateau(a.b, a.omega, a.eta, a.lam, kind="midtread", ste=a.ste, w0=0.0, v0=a.init_scale**2)
    else:
        if a.ste != "clipped":
            raise ValueError("argument --ste: the saturated plateau needs the clipped STE (identity: no frozen phase)")
        pr = PL.saturated_plateau(a.init_scale, a.omega, a.eta, a.lam, b=a.b, kind=a.kind)
    out = dict(start=a.start, b=a.b, omega=a.omega, eta=a.eta, lam=a.lam, init_scale=a.init_scale, **pr.as_dict())
    if a.json:
        print(io.dumps(io.with_provenance(out)))  # provenance as in every file
    else:
        for k, v in out.items():
            print(f"{k:>12} {v}")
    return 0


def _add_stationary_commands(sub):
    s = sub.add_parser("stationary", help="stationary eps_g* of weight quantization (with the edge masses)",
                       description="Self-consistent stationary state of the weight-quantized STE dynamics (spec "
                       "§5.2 with the edge-mass erratum, derivations/ste_stationary_edge_mass.md): eps_g*, m_psi, "
                       "q_psi and the point masses at +-omega (clipped STE, T = 0).",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("--b", type=_vocab.integer(1, 16), required=True, help="weight bits")
    s.add_argument("--omega", type=_vocab.number(0, lo_open=True), required=True, help="weight quantization range")
    s.add_argument("--eta", type=_vocab.number(0, lo_open=True), default=0.04, help="learning rate eta")
    s.add_argument("--lam", type=_vocab.number(0), default=1.0, help="ridge lambda")
    s.add_argument("--kind", default="endpoints", choices=["endpoints", "cells", "midtread"], help="weight grid")
    s.add_argument("--ste", default="clipped", choices=["clipped", "identity"], help="straight-through surrogate")
    s.add_argument("--sigma2", type=_vocab.number(0), default=0.0, help="label noise variance sigma^2")
    s.add_argument("--T", type=_vocab.number(0), default=0.0, help="temperature T")
    s.add_argument("--branches", action="store_true", help="also list every self-consistent root (large eta)")
    s.add_argument("--json", action="store_true", help="print strict JSON")
    s.set_defaults(func=_cmd_stationary)
    p = sub.add_parser("plateau", help="predicted plateau level and end",
                       description="The model's plateau: 'saturated' (clipped STE, start +-init-scale > omega: flat at "
                       "the frozen level until ln(a/omega)/(eta lam)) or 'zero-cell' (midtread grid, start near 0).",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--start", default="saturated", choices=["saturated", "zero-cell"], help="initial law")
    p.add_argument("--b", type=_vocab.integer(1, 16), default=3, help="weight bits")
    p.add_argument("--omega", type=_vocab.number(0, lo_open=True), default=0.25, help="weight quantization range")
    p.add_argument("--eta", type=_vocab.number(0, lo_open=True), default=0.04, help="learning rate eta")
    p.add_argument("--lam", type=_vocab.number(0), default=1.0, help="ridge lambda")
    p.add_argument("--kind", default="endpoints", choices=["endpoints", "cells", "midtread"],
                   help="weight grid (saturated start)")
    p.add_argument("--ste", default="clipped", choices=["clipped", "identity"], help="straight-through surrogate")
    p.add_argument("--init-scale", type=_vocab.number(0), default=1.0,
                   help="|w_0| (saturated) or the s.d. of the start (zero-cell)")
    p.add_argument("--json", action="store_true", help="print strict JSON")
    p.set_defaults(func=_cmd_plateau)
