"""What paper 2 says quantization is for, theory against simulation:

* :func:`run_degradation` -- Delta eps_g* of weight quantization against unquantized ridge SGD over
  (b, omega) (theory: :func:`qmf_sym.ste.degradation.weight_degradation`; SGD long-time averages);
* :func:`run_schedules` -- QAT from the start, a switch at tau_0 (``STEParams.onset``) and PTQ, eps_g at a
  fixed budget (model: PDE; SGD for a subset; PTQ of the converged model in closed form);
* :func:`run_eta` -- the stable learning-rate range: inputs (closed form eta_c = 2 (s2 + lam)/s2^2 vs
  2 (1 + lam)), weights (no divergence: the self-consistent branches of
  :func:`qmf_sym.ste.stationary.stationary_branches`, and the particles);
* :func:`run_input_range` -- the paper-1 thread: the best input range omega_x for b bits against Max's
  optimal uniform quantizer and paper 1's 1 - chi;
* :func:`run_monotonicity` -- spec §8 item 10: the largest rise of eps_g(tau) above its running minimum;
* :func:`reproduce` -- the ``qmf reproduce`` part ``ste_uses`` (CSVs and figures).
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from qmf_sim.io import plt, save_figure, write_csv
from qmf_sym.ste import degradation as D

ETA = 0.04


def _log(msg):
    print(f"[ste_uses] {msg}", file=sys.stderr, flush=True)


def _sgd_tail(p, d, runs, tau_end, seed, frac=0.5):
    """Long-time SGD average: mean over the last ``frac`` of 41 records and runs; standard error over runs."""
    from qmf_sim.ste import simulate

    r = simulate(p, d, tau=np.linspace(0, tau_end, 41), runs=runs, seed=seed)
    k = int(round(41 * (1 - frac)))
    per_run = np.nanmean(r.eps[:, k:], axis=1)
    se = float(per_run.std(ddof=1) / math.sqrt(runs)) if runs > 1 else math.nan
    return float(per_run.mean()), se, bool(r.diverged.any())


def run_degradation(quick=False, seed=0):
    """Rows over lam x b x omega: eps_g* quantized, baseline, Delta; SGD (lam = 1 subset)."""
    from qmf_sim.ste import STEParams

    bs = [1, 2, 3, 4] if quick else [1, 2, 3, 4, 5, 6, 8]
    oms = [0.5, 1.0] if quick else [0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
    lams = [1.0] if quick else [1.0, 0.1]
    sim = {(2, 1.0), (3, 0.5)} if quick else {(b, o) for b in (1, 2, 3, 4) for o in (0.5, 1.0)}
    d, runs, tau_end = (200, 2, 150.0) if quick else (500, 3, 250.0)
    rows = []
    for lam in lams:
        base = D.unquantized_ridge_eps(ETA, lam)
        for b in bs:
            for om in oms:
                q = D.weight_degradation(ETA, lam, b, om) + base
                row = dict(lam=lam, b=b, omega=om, eps_quant=q, eps_base=base, delta=q - base,
                           ptq=D.ptq_eps(ETA, lam, b, om))
                if lam == 1.0 and (b, om) in sim:
                    m, se, dv = _sgd_tail(STEParams(b=b, omega=om, eta=ETA, lam=lam), d, runs, tau_end, seed)
                    row.update(sgd_eps=m, sgd_se=se, sgd_d=d, sgd_runs=runs, sgd_delta=m - base)
                rows.append(row)
    return rows


def run_schedules(quick=False, seed=0, tau_total=60.0):
    """eps_g at tau_total for a quantization switch at tau_0 (0 = QAT from the start, tau_total = PTQ of the
    model trained to tau_total); the model by PDE, the SGD for a subset; PTQ of the converged model."""
    from qmf_sim.ste import STEParams, simulate, solve_pde

    settings = [(3, 1.0)] if quick else [(2, 0.5), (2, 1.0), (3, 0.5), (3, 1.0), (4, 1.0)]
    t0s = [0.0, 30.0, tau_total] if quick else [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 55.0, tau_total]
    sim_t0 = [0.0, tau_total] if quick else [0.0, 30.0, tau_total]
    d, runs = (200, 2) if quick else (500, 3)
    rows = []
    for b, om in settings:
        for t0 in t0s:
            p = STEParams(b=b, omega=om, eta=ETA, lam=1.0, onset=t0)
            r = solve_pde(p, tau=[0.0, tau_total], h=0.01 if quick else 0.005)
            row = dict(b=b, omega=om, tau_0=t0, tau_total=tau_total, model_eps=float(r.eps[0][-1]),
                       ptq_converged=D.ptq_eps(ETA, 1.0, b, om),
                       qat_stationary=D.weight_degradation(ETA, 1.0, b, om) + D.unquantized_ridge_eps(ETA, 1.0))
            if (b, om) == settings[-1] and t0 in sim_t0:
                s = simulate(p, d, tau=[0.0, tau_total], runs=runs, seed=seed)
                row.update(sgd_eps=float(s.eps[:, -1].mean()), sgd_se=float(s.eps[:, -1].std(ddof=1) / math.sqrt(runs)),
                           sgd_d=d, sgd_runs=runs)
            rows.append(row)
    return rows


def run_eta(quick=False, seed=0):
    """Two tables: inputs (closed form) and weights (stationary branches + particles)."""
    from qmf_sim.ste import STEParams, solve_particles
    from qmf_sym.ste import input_moments
    from qmf_sym.ste.stationary import stationary_branches

    lam_in = 0.0
    inputs = []
    for b in ([2, 3] if quick else [1, 2, 3, 4, 5, 6]):
        for om in (1.0, D.max_input_range(b)[1]):
            k, s2 = input_moments(b, om)
            inputs.append(dict(b_x=b, omega_x=om, kappa=k, s2=s2, eta_c=2 * (s2 + lam_in) / s2**2,
                               eta_c_unquantized=2 * (1 + lam_in)))
    lam = 0.1
    etas = [1.0, 4.0] if quick else [0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 6.0]
    weights = []
    for eta in etas:
        br = stationary_branches(eta, lam, 3, 1.0)
        row = dict(eta=eta, lam=lam, b=3, omega=1.0, n_branches=len(br),
                   branches=";".join(f"{e:.6g}{'' if s else '(unstable)'}" for e, s in br),
                   eta_c_unquantized=2 * (1 + lam), eps_base=D.unquantized_ridge_eps(eta, lam))
        for name, b in (("quant", 3), ("unquant", None)):
            p = STEParams(b=b, omega=1.0, eta=eta, lam=lam)
            r = solve_particles(p, tau=np.linspace(0, 40, 41), n_particles=10_000 if quick else 40_000,
                                dt=min(0.02, 0.02 / eta), seed=seed)
            row[f"particles_{name}_eps40"] = float(r.eps[0][-1])
            row[f"particles_{name}_diverged"] = bool(r.diverged[0])
        weights.append(row)
    return inputs, weights


def run_input_range(quick=False):
    """Best omega_x for b bits (input-only eps_g*) vs Max's optimal uniform quantizer and paper 1's chi."""
    from qmf_sym.quantization import chi_of_quantizer, optimal_uniform_quantizer
    from qmf_sym.ste import input_moments, quantizer_grid

    rows = []
    for b in ([1, 2, 3] if quick else [1, 2, 3, 4, 5, 6, 7, 8]):
        s, om_max = D.max_input_range(b)
        om0, f0 = D.best_input_range(b)
        k, s2 = input_moments(b, om_max)
        lv, th = quantizer_grid(b, om_max)
        row = dict(b=b, N=2**b, s_max=s, omega_max=om_max, omega_best_eta0=om0, one_minus_corr2_at_best=f0,
                   one_minus_corr2_at_max=1 - k * k / s2, mse_max=optimal_uniform_quantizer(2**b)[1],
                   one_minus_chi_paper1=1 - float(chi_of_quantizer(th, lv)))
        for eta in (0.5, 1.0, 1.5):
            om, e = D.best_input_range(b, eta=eta)
            row[f"omega_best_eta{eta:g}"] = om
            row[f"eps_best_eta{eta:g}"] = e
        rows.append(row)
    return rows


def overshoot(eps):
    """Largest rise of a curve above its running minimum: max_t [eps(t) - min_{t' <= t} eps(t')] (0 for a
    non-increasing curve)."""
    from qmf_sym import _validate as V

    eps = V.array("eps", eps, ndim=1)
    return float(np.max(eps - np.minimum.accumulate(eps)))


def run_monotonicity(quick=False, seed=0):
    """Model (PDE) eps_g(tau) on [0, 150] from N(0, 1): overshoot over b x omega x lam x STE; SGD check of the
    largest case."""
    from qmf_sim.ste import STEParams, simulate, solve_particles, solve_pde

    bs = [1, 2] if quick else [1, 2, 3]
    oms = [0.5, 1.0] if quick else [0.5, 1.0, 1.5, 2.0]
    lams = [0.0, 1.0] if quick else [0.0, 0.1, 1.0]
    stes = ["clipped"] if quick else ["clipped", "identity"]
    tau = np.linspace(0, 150, 601)
    rows = []
    for ste in stes:
        for lam in lams:
            for b in bs:
                for om in oms:
                    if ste == "identity" and lam == 0 and om <= 1.0:
                        continue  # no stationary law (s2 l_max <= kappa w*): the latent weight drifts off
                    p = STEParams(b=b, omega=om, eta=ETA, lam=lam, ste=ste)
                    r = solve_pde(p, tau=tau, h=0.01)
                    e = r.eps[0]
                    ok = np.isfinite(e)
                    i = int(np.argmax(e[ok] - np.minimum.accumulate(e[ok])))
                    row = dict(ste=ste, lam=lam, b=b, omega=om, overshoot=overshoot(e[ok]), tau_at=float(tau[ok][i]),
                               eps_min=float(np.min(e[ok])), eps_end=float(e[ok][-1]))
                    if row["overshoot"] > 1e-4:  # confirm with the particles (no numerical diffusion)
                        rp = solve_particles(p, tau=tau[::5], n_particles=20_000 if quick else 100_000, dt=0.02, seed=seed)
                        ep = rp.eps[0]
                        noise = float(np.std(ep[-20:]))
                        row.update(particles_overshoot=overshoot(ep), particles_noise=noise,
                                   particles_eps_min=float(np.min(ep)), particles_eps_end=float(ep[-1]))
                    rows.append(row)
    # the largest rise the particles confirm (above 5x their noise), else the largest PDE rise
    conf = [r for r in rows if r.get("particles_overshoot", 0) > 5 * r.get("particles_noise", 0) + 1e-12]
    big = max(conf or rows, key=lambda r: r.get("particles_overshoot", r["overshoot"]))
    p = STEParams(b=big["b"], omega=big["omega"], eta=ETA, lam=big["lam"], ste=big["ste"])
    s = simulate(p, 200 if quick else 1000, tau=tau[::10], runs=2 if quick else 5, seed=seed)
    m = s.mean()
    big_sim = dict(case=big, sgd_overshoot=overshoot(m[np.isfinite(m)]), sgd_min=float(np.nanmin(m)), sgd_end=float(m[-1]),
                   sgd_runs=s.runs, sgd_d=200 if quick else 1000)
    return rows, big_sim


# ------------------------------------------------------------------------------------------ figures
def _csv(out_dir, name, rows, meta):
    header = []
    for r in rows:
        for k in r:
            if k not in header:
                header.append(k)
    return write_csv(Path(out_dir) / name, header, rows, meta=meta)


def plot_all(deg, sch, eta_in, eta_w, rng, mono, out_dir):
    """The six panels of ``ste_uses.png`` / ``.pdf`` in ``out_dir`` (what paper 2's abstract says quantization
    costs and buys, spec §5); returns both paths.

    The arguments are the rows of the run_* functions, in this order: :func:`run_degradation`,
    :func:`run_schedules`, the two tables of :func:`run_eta` (inputs, weights), :func:`run_input_range`
    and the rows of :func:`run_monotonicity` (or the same rows read back from their CSVs,
    :func:`rows_from_csv`).  Top: Delta eps_g* of weight quantization against the weight bits b (theory
    lines, SGD circles; spec §5.2), eps_g at a fixed budget against the switch time tau_0 of
    quantization (QAT to PTQ), and the largest stable rate eta_c = 2 (sigma_phi^2 + lam) / sigma_phi^4
    of input quantization (spec §5.1, paper 2's Fig. 5 left).  Bottom: the stationary branches and
    particles over eta for quantized weights, the best input range against Max's optimal uniform
    quantizer, and the largest rise of eps_g above its running minimum (spec §8 item 10).  Saved
    through :func:`qmf_sim.io.save_figure`."""
    P = plt()
    fig, ax = P.subplots(2, 3, figsize=(14, 8.6))
    a = ax[0, 0]
    lams = sorted({r["lam"] for r in deg}, reverse=True)
    oms = sorted({r["omega"] for r in deg})
    styles = ["-", "--", ":", "-."]
    for i, lam in enumerate(lams):  # colour: omega; line style: lam
        for j, om in enumerate(oms):
            sel = [r for r in deg if r["lam"] == lam and r["omega"] == om]
            c = f"C{j % 10}"
            a.plot([r["b"] for r in sel], [r["delta"] for r in sel], styles[i % 4], color=c, lw=1)
            sim = [r for r in sel if r.get("sgd_eps") is not None]
            if sim:
                a.errorbar([r["b"] for r in sim], [r["sgd_delta"] for r in sim], yerr=[r["sgd_se"] for r in sim], fmt="o",
                           mfc="none", color=c, capsize=2)
    for j, om in enumerate(oms):
        a.plot([], [], "-", color=f"C{j % 10}", lw=1, label=f"ω={om:g}")
    for i, lam in enumerate(lams):
        a.plot([], [], styles[i % 4], color="k", lw=1, label=f"λ={lam:g} (theory)")
    a.errorbar([], [], yerr=[], fmt="o", mfc="none", color="gray", capsize=2, label="SGD (± s.e.), colour of its ω")
    lo, hi = min(r["delta"] for r in deg), max(r["delta"] for r in deg)
    a.set_ylim(top=hi + 0.5 * (hi - min(lo, 0.0)))  # room for the legend above the data
    a.axhline(0, color="k", lw=0.5)
    a.set_xlabel("weight bits b")
    a.set_ylabel(r"$\Delta\varepsilon_g^*$ (vs unquantized ridge)")
    a.set_title("weight quantization: degradation (lines theory, o SGD)", fontsize=9)
    a.legend(fontsize=6, ncol=3, loc="upper right")
    a = ax[0, 1]
    for key in sorted({(r["b"], r["omega"]) for r in sch}):
        sel = [r for r in sch if (r["b"], r["omega"]) == key]
        line, = a.plot([r["tau_0"] for r in sel], [r["model_eps"] for r in sel], "-", label=f"b={key[0]}, ω={key[1]:g} (PDE)")
        a.axhline(sel[0]["ptq_converged"], ls=":", color=line.get_color(), lw=0.8)
        sim = [r for r in sel if r.get("sgd_eps") is not None]
        if sim:
            a.errorbar([r["tau_0"] for r in sim], [r["sgd_eps"] for r in sim], yerr=[r["sgd_se"] for r in sim], fmt="o",
                       mfc="none", color=line.get_color(), capsize=2)
    a.plot([], [], ":", color="gray", lw=0.8, label="PTQ of the converged model")
    a.errorbar([], [], yerr=[], fmt="o", mfc="none", color="gray", capsize=2, label="SGD (± s.e.)")
    a.set_xlabel(r"switch time $\tau_0$ (0: QAT, $\tau_{tot}$: PTQ)")
    a.set_ylabel(rf"$\varepsilon_g(\tau_{{tot}}={sch[0]['tau_total']:g})$")
    a.set_title("schedules: quantize from τ_0 on", fontsize=9)
    a.legend(fontsize=6)
    a = ax[0, 2]
    for om_kind, mk in (("1", "o"), ("max", "s")):
        sel = eta_in[0::2] if om_kind == "1" else eta_in[1::2]
        lab = "inputs quantized, ω_x=1" if om_kind == "1" else "inputs quantized, ω_x = Max's range"
        a.plot([r["b_x"] for r in sel], [r["eta_c"] for r in sel], mk + "-", label=lab)
    a.axhline(2.0, ls="--", color="k", label="unquantized 2(1+λ), λ=0")
    a.set_xlabel(r"input bits $b_x$")
    a.set_ylabel(r"largest stable rate $\eta_c$")
    a.set_title("input quantization raises η_c = 2(σφ²+λ)/σφ⁴", fontsize=9)
    a.legend(fontsize=7)
    a = ax[1, 0]
    for r in eta_w:
        for tok in str(r["branches"]).split(";"):
            st = "(unstable)" not in tok
            a.plot(r["eta"], float(tok.replace("(unstable)", "")), "o" if st else "x", color="C0", mfc="C0" if st else "none")
    a.plot([], [], "o", color="C0", label="stationary branch, stable")
    a.plot([], [], "x", color="C0", label="stationary branch, unstable")
    a.plot([r["eta"] for r in eta_w], [r["particles_quant_eps40"] for r in eta_w], "s", mfc="none", color="C1",
           label="particles b=3, τ=40")
    conv = [r for r in eta_w if not r["particles_unquant_diverged"]]
    a.plot([r["eta"] for r in conv], [r["particles_unquant_eps40"] for r in conv], "^", color="C2",
           label="particles unquantized, τ=40 (diverged: not drawn)")
    a.axvline(eta_w[0]["eta_c_unquantized"], ls="--", color="C2",
              label=rf"unquantized $\eta_c$ = 2(1+λ) = {eta_w[0]['eta_c_unquantized']:g}")
    a.set_yscale("log")
    a.set_xlabel(r"learning rate $\eta$")
    a.set_ylabel(r"$\varepsilon_g$")
    a.set_title(f"weights (b=3, ω=1, λ={eta_w[0]['lam']:g}): no divergence with quantized weights", fontsize=8)
    a.legend(fontsize=6)
    a = ax[1, 1]
    bb = [r["b"] for r in rng]
    a.semilogy(bb, [r["one_minus_corr2_at_best"] for r in rng], "o-", label=r"$1-\kappa^2/\sigma_\phi^2$ at the best ω_x (left)")
    a.semilogy(bb, [r["mse_max"] for r in rng], "x--", label="MSE of Max's optimal uniform quantizer (left)")
    a.set_ylabel("error (log)")
    a2 = a.twinx()
    a2.plot(bb, [r["omega_best_eta0"] for r in rng], "s:", color="C3", label="best ω_x, η→0 (right)")
    a2.plot(bb, [r["omega_max"] for r in rng], "+", color="k", ms=10, label="Max's range (2^b−1) s_Max/2 (right)")
    a2.plot(bb, [r["omega_best_eta1"] for r in rng], "d:", color="C4", label="best ω_x, η=1 (right)")
    a2.set_ylabel(r"input range $\omega_x$")
    a.set_xlabel("input bits b")
    a.set_xticks(bb)
    h1, l1 = a.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()  # one legend for both axes, below the panel
    a.legend(h1 + h2, l1 + l2, fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    a.set_title("input range: best ω_x = Max's optimal uniform quantizer", fontsize=9)
    a = ax[1, 2]
    settings = sorted({(r["b"], r["omega"]) for r in mono})
    for ste in sorted({r["ste"] for r in mono}):
        for lam in sorted({r["lam"] for r in mono}):
            sel = sorted([r for r in mono if r["ste"] == ste and r["lam"] == lam], key=lambda r: (r["b"], r["omega"]))
            if sel:
                a.plot([settings.index((r["b"], r["omega"])) for r in sel], [r["overshoot"] for r in sel], "o-", ms=3,
                       label=f"{ste} STE, λ={lam:g}")
    a.set_xticks(range(len(settings)), [f"b={b:g}\nω={o:g}" for b, o in settings], fontsize=6)
    a.set_yscale("symlog", linthresh=1e-5)
    # a rise is >= 0; margins keep the zero markers and the largest one in view
    a.set_ylim(-3e-6, max(3 * max(r["overshoot"] for r in mono), 1e-4))
    a.set_xlabel("setting: weight bits b and range ω")
    a.set_ylabel("max rise of ε_g above its running min")
    a.set_title("non-monotonicity (PDE, N(0,1) start)", fontsize=9)
    a.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, out_dir, "ste_uses")


#: the CSVs of :func:`reproduce`, in the order of :func:`plot_all`'s row arguments
CSV_NAMES = ("ste_degradation.csv", "ste_schedules.csv", "ste_eta_inputs.csv", "ste_eta_weights.csv",
             "ste_input_range.csv", "ste_monotonicity.csv")


def _typed(v):
    if v is None or v in ("True", "False"):
        return None if v is None else v == "True"
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def rows_from_csv(folder) -> list[list[dict]]:
    """The row lists of :func:`plot_all` read back from the CSVs of a ``ste_uses`` run in ``folder``
    (numbers and booleans typed again; an empty cell is ``None``), for ``qmf plot``."""
    from qmf_sim.io import read_csv

    return [[{k: _typed(v) for k, v in r.items()} for r in read_csv(Path(folder) / name)] for name in CSV_NAMES]


def reproduce(out_dir: Path, quick: bool = False, seed: int = 0):
    """``qmf reproduce --only ste_uses``: the §5 tables (CSV) and one figure of six panels."""
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    paths = []
    deg = run_degradation(quick, seed)
    paths.append(_csv(out_dir, "ste_degradation.csv", deg, dict(eta=ETA, seed=seed, baseline="unquantized ridge SGD")))
    _log(f"degradation {time.perf_counter() - t0:.1f} s")
    sch = run_schedules(quick, seed)
    paths.append(_csv(out_dir, "ste_schedules.csv", sch, dict(eta=ETA, lam=1.0, seed=seed)))
    _log(f"schedules {time.perf_counter() - t0:.1f} s")
    eta_in, eta_w = run_eta(quick, seed)
    paths.append(_csv(out_dir, "ste_eta_inputs.csv", eta_in, dict(lam=0.0)))
    paths.append(_csv(out_dir, "ste_eta_weights.csv", eta_w, dict(seed=seed)))
    _log(f"eta {time.perf_counter() - t0:.1f} s")
    rng = run_input_range(quick)
    paths.append(_csv(out_dir, "ste_input_range.csv", rng, dict(kind="endpoints", lam=0.0)))
    mono, big = run_monotonicity(quick, seed)
    paths.append(_csv(out_dir, "ste_monotonicity.csv", mono, dict(eta=ETA, init="gaussian(1)", largest=big)))
    _log(f"monotonicity {time.perf_counter() - t0:.1f} s")
    paths += plot_all(deg, sch, eta_in, eta_w, rng, mono, out_dir)
    return paths


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"ste_uses": ("ste_uses",)}

#: stem -> (title, what qmf drew, the paper's caption in short), merged by qmf_sim.report.captions
CAPTIONS = {
    "ste_uses": (
        "Paper 2: what quantization costs and buys (degradation, schedules, stable rates, input range)",
        "Top left: Delta eps_g* of weight quantization against unquantized ridge SGD over the weight bits b, lines "
        "the fixed-point theory (qmf_sym.ste.degradation), hollow circles long-time SGD averages (+- s.e.), one "
        "colour per (lam, omega). Top middle: eps_g at tau_tot = 60 when quantization is switched on at tau_0 (0: "
        "QAT from the start, tau_tot: PTQ), lines the PDE, circles SGD, dotted the PTQ of the converged model. Top "
        "right: the largest stable rate eta_c = 2 (sigma_phi^2 + lam) / sigma_phi^4 of input quantization at "
        "omega_x = 1 and at Max's range, dashed the unquantized 2. Bottom left: weights (b = 3, omega = 1, lam = "
        "0.1): the stationary branches (o stable, x unstable) and particles at tau = 40, quantized and not, dashed "
        "the unquantized eta_c. Bottom middle: the best input range omega_x (right axis) against Max's optimal "
        "uniform quantizer, and 1 - kappa^2 / sigma_phi^2 against Max's MSE (left axis, log). Bottom right: the "
        "largest rise of the model's eps_g above its running minimum for each (b, omega), per STE and lam. eta = "
        "0.04 unless stated.",
        "Paper: a fixed-point analysis quantifies the asymptotic deviation from the unquantized linear model; "
        "quantization can act as an implicit regularizer and influences training stability; implications for "
        "layer-wise post-training quantization and quantization schedules (abstract, TL;DR)."),
}
