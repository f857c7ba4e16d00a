"""Paper 2's plateau and sharp drop: when the reconstructed STE model has a plateau, how
long it is, theory against simulation, and a phase map of where it exists.

Functions a notebook can call (no argparse; files only through :mod:`qmf_sim.io`):

* :func:`run_curves` -- example eps_g(tau) curves (particles of the McKean--Vlasov SDE = the model, and the
  d-dimensional SGD) for the starts of :mod:`qmf_sym.ste.plateau`;
* :func:`run_lengths` -- plateau length / drop time / width against omega for several initial laws,
  both STEs and two ridges lam: the model curve (particles) analysed by :func:`qmf_sym.ste.plateau.plateau_analysis`,
  the closed-form prediction, and (clipped STE, lam = 1) the SGD, each run analysed separately
  (mean +- standard error over runs);
* :func:`run_phase` -- sharpness (plateau length / drop width) of the model curve over (omega, ``|w_0|``) for
  the Rademacher start +-a: a plateau exists where sharpness >= 1;
* :func:`reproduce` -- the ``qmf reproduce`` part ``ste_plateau``: CSVs and figures.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from qmf_sim.io import plt, save_figure, write_csv
from qmf_sym.ste.plateau import plateau_analysis, saturated_plateau, zero_cell_plateau

ETA = 0.04

#: initial laws of the length figure: name -> (STEParams switches, kind of the weight grid)
INIT_LAWS = {
    "rademacher(1)": dict(init="rademacher", init_scale=1.0),
    "rademacher(2)": dict(init="rademacher", init_scale=2.0),
    "gaussian(1)": dict(init="gaussian", init_scale=1.0),
    "zero-cell": dict(init="uniform", init_scale=0.02, kind="midtread"),
}


def _log(msg):
    print(f"[ste_plateau] {msg}", file=sys.stderr, flush=True)


def _params(law, omega, ste="clipped", lam=1.0, b=3):
    from qmf_sim.ste import STEParams
    from qmf_sym import _validate as V

    V.choice("law", law, INIT_LAWS)
    kw = dict(INIT_LAWS[law])
    kind = kw.pop("kind", "endpoints")
    if kind == "midtread":
        b = 2
    return STEParams(b=b, omega=omega, kind=kind, ste=ste, eta=ETA, lam=lam, **kw)


def prediction(law, omega, ste="clipped", lam=1.0, b=3):
    """The closed-form prediction of :mod:`qmf_sym.ste.plateau` for one setting, or None where the model
    predicts no such plateau (identity STE, Gaussian start, or ``|w_0| <= omega``).  ``b``: the weight
    quantizer's bits, b=None for unquantized weights (psi = id, as in :class:`qmf_sim.ste.STEParams`)."""
    p = _params(law, omega, ste, lam, b)
    if law == "zero-cell":
        return zero_cell_plateau(p.b, omega, ETA, lam, kind="midtread", ste=ste, v0=p.init_scale**2)
    if law.startswith("rademacher") and ste == "clipped" and p.init_scale > omega and lam > 0:
        return saturated_plateau(p.init_scale, omega, ETA, lam, b=p.b)
    return None


def _tau_max(law, omega, lam):
    pr = prediction(law, omega, "clipped", lam)
    base = 100.0 / lam
    if pr is not None and math.isfinite(pr.end):
        base = max(base, 2.5 * pr.end + 20.0 / lam)
    return float(min(base, 600.0))


def _model_curve(p, tau_max, n_particles=20_000, dt=0.05, seed=11):
    """The model's eps_g(tau) (the McKean--Vlasov SDE of spec §4.3 by particles: a concentrated start stays
    a point mass until re-entry, which the PDE's upwind scheme would smear by numerical diffusion)."""
    from qmf_sim.ste import solve_particles

    tau = np.linspace(0.0, tau_max, int(round(tau_max / 0.25)) + 1)
    r = solve_particles(p, tau=tau, n_particles=n_particles, dt=dt, seed=seed)
    return tau, r.eps[0]


def run_curves(quick=False, seed=0):
    """Example curves: {label: dict(tau, model, sgd_mean, sgd_se, prediction)} at omega = 0.25 (b = 3)
    for the Rademacher, Gaussian starts and both STEs, and the zero-cell start at omega = 1."""
    from qmf_sim.ste import simulate

    d, runs = (200, 2) if quick else (1000, 5)
    cases = [("rademacher(1)", 0.25, "clipped"), ("rademacher(1)", 0.25, "identity"), ("gaussian(1)", 0.25, "clipped"),
             ("zero-cell", 1.0, "clipped")]
    out = {}
    for law, om, ste in cases:
        p = _params(law, om, ste)
        tmax = 60.0 if quick else 100.0
        tau, e = _model_curve(p, tmax, n_particles=20_000 if quick else 100_000)
        r = simulate(p, d, tau=tau[::8], runs=runs, seed=seed)
        pr = prediction(law, om, ste)
        out[f"{law}, {ste}, omega={om:g}"] = dict(tau=tau, model=e, sgd_tau=r.tau, sgd_mean=r.mean(),
                                                  sgd_se=r.stderr(), prediction=pr, d=d, runs=runs)
    return out


def _analyse_runs(tau, eps_runs):
    """plateau_analysis of each run; mean and standard error of length, tau_50, width over the runs."""
    res = [plateau_analysis(tau, e) for e in eps_runs if np.all(np.isfinite(e))]
    out = {}
    for key in ("length", "tau_50", "width", "level"):
        v = np.array([getattr(a, key) for a in res], dtype=float)
        v = v[np.isfinite(v)]
        out[key] = float(v.mean()) if v.size else math.nan
        out[key + "_se"] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    out["has_plateau_frac"] = float(np.mean([a.has_plateau for a in res])) if res else math.nan
    return out


def run_lengths(quick=False, seed=0, omegas=None):
    """Rows (dicts) over initial law x STE x lam x omega: model analysis, closed-form prediction and, for
    the clipped STE at lam = 1 and the Rademacher(1) / zero-cell starts, the SGD (d, runs below)."""
    from qmf_sim.ste import simulate

    if omegas is None:
        omegas = [0.25, 0.5] if quick else [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.5]
    laws = ["rademacher(1)", "zero-cell"] if quick else list(INIT_LAWS)
    stes = ["clipped"] if quick else ["clipped", "identity"]
    lams = [1.0] if quick else [1.0, 0.5]
    d, runs = (200, 2) if quick else (500, 4)
    rows = []
    t0 = time.perf_counter()
    for law in laws:
        for ste in stes:
            for lam in lams:
                for om in omegas:
                    p = _params(law, om, ste, lam)
                    tmax = _tau_max(law, om, lam)
                    tau, e = _model_curve(p, tmax)
                    a = plateau_analysis(tau, e)
                    pr = prediction(law, om, ste, lam)
                    row = dict(init=law, ste=ste, lam=lam, omega=om, b=p.b, kind=p.kind, tau_max=tmax,
                               model_level=a.level, model_length=a.length, model_tau_50=a.tau_50, model_width=a.width,
                               model_sharpness=a.sharpness, model_has_plateau=a.has_plateau,
                               pred_level=pr.level if pr else None, pred_end=pr.end if pr else None,
                               pred_tau_10=pr.tau_10 if pr else None)
                    if ste == "clipped" and lam == 1.0 and law in ("rademacher(1)", "zero-cell"):
                        r = simulate(p, d, tau=tau[::4], runs=runs, seed=seed)
                        s = _analyse_runs(r.tau, r.eps)
                        row.update({f"sgd_{k}": v for k, v in s.items()}, sgd_d=d, sgd_runs=runs)
                    rows.append(row)
        _log(f"{law}: {time.perf_counter() - t0:.1f} s")
    return rows


def run_phase(quick=False, b=3, lam=1.0):
    """Sharpness of the model curve over omega x a (Rademacher start +-a, clipped STE): rows of
    (omega, a, length, width, sharpness, has_plateau, pred_end)."""
    from qmf_sim.ste import STEParams

    omegas = [0.2, 0.5, 1.0] if quick else [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5]
    scales = [0.5, 1.0, 2.0] if quick else [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
    rows = []
    for om in omegas:
        for a in scales:
            p = STEParams(b=b, omega=om, eta=ETA, lam=lam, init="rademacher", init_scale=a)
            t_in = math.log(a / om) / (ETA * lam) if a > om else 0.0
            tau, e = _model_curve(p, float(min(max(100.0, 2.5 * t_in + 40.0), 600.0)))
            an = plateau_analysis(tau, e)
            rows.append(dict(omega=om, a=a, level=an.level, length=an.length, tau_50=an.tau_50, width=an.width,
                             sharpness=an.sharpness, has_plateau=an.has_plateau, pred_end=t_in,
                             pred_level=(1 + om**2) / 2 if a > om else None))
    return rows


# ------------------------------------------------------------------------------------------ figures
def plot_curves(curves, out_dir):
    """``ste_plateau_curves.png`` / ``.pdf`` in ``out_dir``: paper 2's plateau and sharp drop of eps_g(tau)
    (abstract; the mechanism of spec §5.4), one panel per start; returns both paths.

    ``curves``: the dict of :func:`run_curves`.  Each panel: the model's eps_g(tau) (line: particles of
    the McKean--Vlasov SDE, spec §4.3), the d-dimensional SGD (hollow circles, mean +- standard error over
    runs), and where :func:`prediction` has a closed form the predicted plateau level (dotted) and its
    predicted end tau_10 (dashed).  Saved through :func:`qmf_sim.io.save_figure`.
    """
    P = plt()
    fig, axes = P.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.4))
    for ax, (lab, c) in zip(np.atleast_1d(axes), curves.items()):
        ax.plot(c["tau"], c["model"], "-", lw=1.5, label="model (particles)")
        ok = np.isfinite(c["sgd_mean"])
        ax.errorbar(c["sgd_tau"][ok], c["sgd_mean"][ok], yerr=c["sgd_se"][ok], fmt="o", ms=3, mfc="none",
                    capsize=2, label=f"SGD d={c['d']} ({c['runs']} runs, ±s.e.)")
        pr = c["prediction"]
        if pr is not None:
            ax.axhline(pr.level, ls=":", color="gray", lw=1, label=f"plateau level {pr.level:.4f}")
            if math.isfinite(pr.tau_10):
                ax.axvline(pr.tau_10, ls="--", color="gray", lw=1, label=rf"predicted end {pr.tau_10:.1f}")
        ax.set_title(lab, fontsize=8)
        ax.set_xlabel(r"$\tau$")
        ax.set_ylabel(r"$\varepsilon_g$")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, out_dir, "ste_plateau_curves")


def plot_lengths(rows, out_dir):
    """``ste_plateau_lengths.png`` / ``.pdf`` in ``out_dir``: the plateau length against the quantization
    range omega (paper 2, abstract: the plateau length depends on the range), one panel per STE; returns
    both paths.

    ``rows``: the rows of :func:`run_lengths`.  One colour per initial law (``INIT_LAWS``) and ridge
    lam: the line is tau_10 of the model curve (:func:`qmf_sym.ste.plateau.plateau_analysis`), the crosses
    the closed form (tau_in = ln(a / omega) / (eta lam) for a start at +-a outside the range, spec §5.4; the
    OU estimate for the zero-cell start), the hollow circles the SGD where it was run (mean +- standard
    error over runs).  Saved through :func:`qmf_sim.io.save_figure`.
    """
    P = plt()
    stes = sorted({r["ste"] for r in rows})
    fig, axes = P.subplots(1, len(stes), figsize=(5.2 * len(stes), 4.6), squeeze=False)
    colors = P.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, ste in zip(axes[0], stes):
        k = 0
        for law in INIT_LAWS:
            for lam in sorted({r["lam"] for r in rows}, reverse=True):
                sel = [r for r in rows if r["init"] == law and r["ste"] == ste and r["lam"] == lam]
                if not sel:
                    continue
                c = colors[k % len(colors)]
                k += 1
                om = np.array([r["omega"] for r in sel])
                ax.plot(om, [r["model_length"] for r in sel], "-", color=c, lw=1.2, label=f"{law}, λ={lam:g} (model)")
                pt = [r["pred_tau_10"] if r["pred_tau_10"] is not None else np.nan for r in sel]
                ax.plot(om, pt, "x", color=c, ms=6)
                if "sgd_length" in sel[0]:
                    ax.errorbar(om, [r["sgd_length"] for r in sel], yerr=[r["sgd_length_se"] for r in sel], fmt="o",
                                ms=4, mfc="none", color=c, capsize=2)
        ax.plot([], [], "x", color="gray", label="closed form (τ_in; zero cell: OU)")
        ax.plot([], [], "o", mfc="none", color="gray", label="SGD (±s.e.)")
        ax.set_xlabel(r"$\omega$")
        ax.set_ylabel(r"plateau length $\tau_{10}$")
        ax.set_title(f"{ste} STE, η={ETA}", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()  # one legend for both panels, below the data
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    return save_figure(fig, out_dir, "ste_plateau_lengths")


def plot_phase(rows, out_dir):
    """``ste_plateau_phase.png`` / ``.pdf`` in ``out_dir``: where the plateau of paper 2 exists; returns both
    paths.

    ``rows``: the rows of :func:`run_phase` (clipped STE, Rademacher start +-a).  A map over the range
    omega (columns) and a (rows) of log10 of the sharpness, the plateau length divided by the width of
    the drop (:func:`qmf_sym.ste.plateau.plateau_analysis`); a cell whose sharpness is not finite (a
    curve that does not drop) is drawn at the floor of the colour scale, and ``P`` marks the cells with
    sharpness >= 1 (a plateau).  Under spec §5.4 a flat plateau needs a start outside the range,
    a > omega.  Saved through :func:`qmf_sim.io.save_figure`.
    """
    P = plt()
    om = sorted({r["omega"] for r in rows})
    aa = sorted({r["a"] for r in rows})
    S = np.full((len(aa), len(om)), np.nan)
    for r in rows:
        s = r["sharpness"]
        S[aa.index(r["a"]), om.index(r["omega"])] = s if s is not None and np.isfinite(s) else 0.0
    fig, ax = P.subplots(figsize=(5.2, 4.0))
    im = ax.pcolormesh(np.arange(len(om) + 1), np.arange(len(aa) + 1), np.log10(np.maximum(S, 1e-2)), cmap="viridis",
                       vmin=-2, vmax=2)
    for i in range(len(aa)):
        for j in range(len(om)):
            ax.text(j + 0.5, i + 0.5, "P" if S[i, j] >= 1 else "", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(np.arange(len(om)) + 0.5, [f"{x:g}" for x in om], fontsize=7)
    ax.set_yticks(np.arange(len(aa)) + 0.5, [f"{x:g}" for x in aa], fontsize=7)
    ax.set_xlabel(r"$\omega$")
    ax.set_ylabel(r"$|\hat w_0| = a$ (Rademacher start)")
    ax.set_title("log10 sharpness (plateau length / drop width); P: plateau", fontsize=8)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return save_figure(fig, out_dir, "ste_plateau_phase")


def _rows_csv(out_dir, name, rows, meta):
    header = list(rows[0].keys())
    for r in rows:
        for k in r:
            if k not in header:
                header.append(k)
    return write_csv(Path(out_dir) / name, header, rows, meta=meta)


def reproduce(out_dir: Path, quick: bool = False, seed: int = 0):
    """``qmf reproduce --only ste_plateau``: curves, plateau lengths and phase map (CSV + figures)."""
    out_dir = Path(out_dir)
    paths = []
    t0 = time.perf_counter()
    curves = run_curves(quick, seed)
    crow = []
    for lab, c in curves.items():
        for t, e in zip(c["tau"], c["model"]):
            crow.append(dict(case=lab, source="model", tau=t, eps=e, se=None))
        for t, e, s in zip(c["sgd_tau"], c["sgd_mean"], c["sgd_se"]):
            crow.append(dict(case=lab, source="sgd", tau=t, eps=e, se=s))
    paths.append(_rows_csv(out_dir, "ste_plateau_curves.csv", crow, dict(eta=ETA, lam=1.0, seed=seed)))
    paths += plot_curves(curves, out_dir)
    _log(f"curves: {time.perf_counter() - t0:.1f} s")
    rows = run_lengths(quick, seed)
    meta = dict(eta=ETA, seed=seed, definitions="plateau length = tau_10 - 0, drop time tau_50, width tau_90 - tau_10 "
                "(qmf_sym.ste.plateau.plateau_analysis); pred_end = tau_in = ln(a/omega)/(eta lam) (saturated) or the "
                "noise-free zero-cell exit; pred_tau_10 = tau_in or the OU estimate")
    paths.append(_rows_csv(out_dir, "ste_plateau_lengths.csv", rows, meta))
    paths += plot_lengths(rows, out_dir)
    _log(f"lengths: {time.perf_counter() - t0:.1f} s")
    ph = run_phase(quick)
    paths.append(_rows_csv(out_dir, "ste_plateau_phase.csv", ph, dict(eta=ETA, lam=1.0, b=3, ste="clipped",
                                                                      criterion="sharpness >= 1")))
    paths += plot_phase(ph, out_dir)
    _log(f"phase: {time.perf_counter() - t0:.1f} s")
    return paths


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"ste_plateau": ("ste_plateau_curves", "ste_plateau_lengths", "ste_plateau_phase")}

#: stem -> (title, what qmf drew, the paper's caption in short), merged by qmf_sim.report.captions
CAPTIONS = {
    "ste_plateau_curves": (
        "Paper 2: plateau and sharp drop, example curves",
        "eps_g(tau) of the model (line: particles of the McKean-Vlasov SDE) and of the d-dimensional SGD (hollow "
        "circles: mean +- s.e. over runs; d = 1000, 5 runs; quick: 200, 2) for four starts: Rademacher +-1 with "
        "the clipped and the identity STE and a N(0, 1) start at omega = 0.25, b = 3, and a start in the zero cell "
        "at omega = 1; dotted: the predicted plateau level, dashed: its predicted end (qmf_sym.ste.plateau). "
        "eta = 0.04, lam = 1.",
        "Paper (abstract): STE training shows a plateau followed by a sharp drop of the generalization error, with "
        "a plateau length that depends on the quantization range. The paper has no figure of it that we have seen."),
    "ste_plateau_lengths": (
        "Paper 2: plateau length against the range omega",
        "Plateau length tau_10 (the first time 10% of the drop from the plateau level is done) against omega, one "
        "colour per start and ridge lam: lines, the model curve analysed by qmf_sym.ste.plateau.plateau_analysis; "
        "x, the closed form (tau_in = ln(|w_0| / omega) / (eta lam) for a saturated start, the OU estimate for the "
        "zero cell); hollow circles, the d-dimensional SGD (mean +- s.e. over runs). Left: clipped STE, right: "
        "identity STE (full run only).",
        "Paper (abstract): the plateau length depends on the quantization range."),
    "ste_plateau_phase": (
        "Paper 2: where a plateau exists",
        "log10 of the sharpness (plateau length / drop width) of the model curve over the range omega and the "
        "start +-a (Rademacher), b = 3, clipped STE, lam = 1; P marks the cells with sharpness >= 1 (a plateau).",
        "Paper (abstract): a plateau followed by a sharp drop; spec sec. 5.4: from a N(0, 1) start it is a "
        "shoulder, a flat plateau needs a start outside the range (a > omega)."),
}
