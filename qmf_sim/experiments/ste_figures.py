"""Paper 2 (STE learning dynamics, spec ``ste_dynamics.md``): Figures 1-5 as functions a notebook can call.

Each ``figN(out_dir, quick=False, seed=0)`` runs the solvers of :mod:`qmf_sim.ste`, plots, and writes the
PNG and a CSV of every curve through :mod:`qmf_sim.io`; it returns the paths.  ``qmf ste figure N``,
``qmf reproduce --only ste_figN`` and ``scripts/ste_fig*.py`` call these.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from qmf_sim.io import plt, save_figure, write_csv


def _log(msg):
    print(f"[ste] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ eps_g(tau) figures
def _eps_panel(ax, plist, labels, d, runs, tau, seed, theory="pde", title=""):
    """Simulate all parameter sets (common inputs), compute the theory curves; plot; return CSV columns."""
    from qmf_sim import ste as S

    t0 = time.perf_counter()
    res = S.simulate_many(plist, d, tau=tau, runs=runs, seed=seed)
    _log(f"{title}: simulation of {len(plist)} sets x {runs} runs at d={d} in {time.perf_counter() - t0:.1f} s")
    tt = np.linspace(0.0, float(np.max(tau)), 321)
    cols = {}
    colors = plt().rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (p, lab, r) in enumerate(zip(plist, labels, res)):
        t1 = time.perf_counter()
        th = S.theory_curve(p, tt, "closed" if p.input_only else theory)
        _log(f"  theory ({'closed' if p.input_only else theory}) {lab}: {time.perf_counter() - t1:.1f} s")
        c = colors[k % len(colors)]
        ax.plot(tt, th, "-", color=c, lw=1.5)
        m, sd = r.mean(), r.std()
        ok = np.isfinite(m)
        # distinct hollow markers: sets whose curves coincide (e.g. b = 4, 5 in Fig. 2, b_x in Fig. 4) stay visible
        mk = "os^Dv<>"[k % 7]
        ax.errorbar(r.tau[ok], m[ok], yerr=sd[ok], fmt=mk, ms=5 - 0.4 * k, mfc="none", mew=1.0, color=c, capsize=2,
                    label=f"{lab} (sim)" if k == 0 else lab)
        cols[lab] = dict(tau=r.tau, mean=m, std=sd, theory_tau=tt, theory=th, diverged=r.diverged)
    ax.set_xlabel(r"$\tau$")
    ax.set_ylabel(r"$\varepsilon_g$")
    ax.plot([], [], "-", color="gray", lw=1.5, label="theory (PDE / closed ODE)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return cols


def _save_eps_csv(out_dir, name, cols, meta=None):
    """``<name>_sim.csv`` (mean and std over runs at each tau) and ``<name>_theory.csv``; ``meta`` (d, runs,
    the parameters of the curves) goes to both sidecars, so that the report can quote the sizes."""
    paths = []
    labels = list(cols)
    t = cols[labels[0]]["tau"]
    rows = [[t[i]] + sum([[cols[lab]["mean"][i], cols[lab]["std"][i]] for lab in labels], []) for i in range(t.size)]
    head = ["tau"] + sum([[f"sim_mean[{lab}]", f"sim_std[{lab}]"] for lab in labels], [])
    paths.append(write_csv(out_dir / f"{name}_sim.csv", head, rows, meta=meta))
    tt = cols[labels[0]]["theory_tau"]
    rows = [[tt[i]] + [cols[lab]["theory"][i] for lab in labels] for i in range(tt.size)]
    paths.append(write_csv(out_dir / f"{name}_theory.csv", ["tau"] + [f"theory[{lab}]" for lab in labels], rows,
                           meta=meta))
    return paths


def _finish(fig, out_dir, name):
    fig.tight_layout()
    return save_figure(fig, out_dir, name)[0]  # PNG + PDF; the PNG path is reported


def fig2(out_dir: Path, quick: bool = False, seed: int = 0):
    """Fig. 2: eps_g(tau) for b in {2,3,4,5}, eta = 0.04, lam = 1, omega = 1, d = 900, 5 runs."""
    from qmf_sim.ste import STEParams

    d, runs, tmax = (300, 3, 80.0) if quick else (900, 5, 160.0)
    bits = (2, 3, 4, 5)
    plist = [STEParams(b=b, omega=1.0, eta=0.04, lam=1.0) for b in bits]
    fig, ax = plt().subplots(figsize=(5.5, 4))
    cols = _eps_panel(ax, plist, [f"b={b}" for b in bits], d, runs, np.linspace(0, tmax, 41), seed,
                      title=f"Fig. 2: d={d}, {runs} runs, eta=0.04, lam=1, omega=1")
    meta = dict(d=d, runs=runs, eta=0.04, lam=1.0, omega=1.0, b=list(bits), tau_max=tmax, std="over runs, ddof=1")
    return [_finish(fig, out_dir, "ste_fig2")] + _save_eps_csv(out_dir, "ste_fig2", cols, meta)


def fig3(out_dir: Path, quick: bool = False, seed: int = 0):
    """Fig. 3: eps_g(tau) at b = 3 for omega in {0.25, 0.5, 1.0, 1.25, 1.5}."""
    from qmf_sim.ste import STEParams

    d, runs, tmax = (300, 3, 80.0) if quick else (900, 5, 160.0)
    oms = (0.25, 0.5, 1.0, 1.25, 1.5)
    plist = [STEParams(b=3, omega=w, eta=0.04, lam=1.0) for w in oms]
    fig, ax = plt().subplots(figsize=(5.5, 4))
    cols = _eps_panel(ax, plist, [f"omega={w}" for w in oms], d, runs, np.linspace(0, tmax, 41), seed,
                      title=f"Fig. 3: b=3, d={d}, {runs} runs, eta=0.04, lam=1")
    meta = dict(d=d, runs=runs, eta=0.04, lam=1.0, b=3, omega=list(oms), tau_max=tmax, std="over runs, ddof=1")
    return [_finish(fig, out_dir, "ste_fig3")] + _save_eps_csv(out_dir, "ste_fig3", cols, meta)


def fig4(out_dir: Path, quick: bool = False, seed: int = 0):
    """Fig. 4: joint quantization, omega = omega_x = 1, d = 500, eta = 0.05, lam = 1, b in {3,4},
    b_x in {3,4,5} and unquantized inputs."""
    from qmf_sim.ste import STEParams

    d, runs, tmax = (250, 3, 60.0) if quick else (500, 5, 100.0)
    fig, axes = plt().subplots(2, 1, figsize=(5.5, 7))
    paths = []
    for ax, b in zip(axes, (3, 4)):
        bxs = (3, 4, 5, None)
        plist = [STEParams(b=b, omega=1.0, b_x=bx, omega_x=1.0, eta=0.05, lam=1.0) for bx in bxs]
        labels = [f"b_x={bx}" if bx else "no quant." for bx in bxs]
        cols = _eps_panel(ax, plist, labels, d, runs, np.linspace(0, tmax, 31), seed,
                          title=f"Fig. 4: b={b}, omega=omega_x=1, d={d}, eta=0.05, lam=1, T=0")
        paths += _save_eps_csv(out_dir, f"ste_fig4_b{b}", cols,
                               dict(d=d, runs=runs, eta=0.05, lam=1.0, b=b, omega=1.0, omega_x=1.0, b_x=[3, 4, 5, None],
                                    T=0.0, tau_max=tmax, std="over runs, ddof=1"))
    return [_finish(fig, out_dir, "ste_fig4")] + paths


def fig1(out_dir: Path, quick: bool = False, seed: int = 0):
    """Fig. 1: density of w_hat | w* = 1 at tau in {10, 25, 50, 100}: d = 3000 simulation histogram vs PDE.
    b = 2, omega = 2, inputs b_x = 2, omega_x = 2, eta = 0.04, lam = 1 (spec §6, switch 9)."""
    from qmf_sim import ste as S

    d, runs = (1000, 1) if quick else (3000, 1)
    taus = (10.0, 25.0, 50.0, 100.0)
    p = S.STEParams(b=2, omega=2.0, b_x=2, omega_x=2.0, eta=0.04, lam=1.0)
    t0 = time.perf_counter()
    r = S.simulate(p, d=d, tau=np.array(taus), runs=runs, seed=seed, snapshot_tau=taus)
    _log(f"Fig. 1 simulation d={d}: {time.perf_counter() - t0:.1f} s")
    pde = S.solve_pde(p, tau=np.array(taus), snapshot_tau=taus)
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 4, figsize=(13, 3.2), sharey=False)
    bins = np.linspace(-2.6, 2.6, 105)
    centers = 0.5 * (bins[1:] + bins[:-1])
    hist_rows, pde_cols = [], []
    for k, (ax, t) in enumerate(zip(axes, taus)):
        w = r.snapshots[:, k, :].reshape(-1)
        hist, _ = np.histogram(w, bins=bins, density=True)
        dens = pde.density_given(1.0)[k]
        ax.bar(centers, hist, width=bins[1] - bins[0], color="tab:red", alpha=0.5, label=f"STE sim (d={d})")
        ax.plot(pde.x, dens, color="tab:blue", lw=1.2, label="PDE")
        ax.set_xlim(bins[0], bins[-1])
        ax.set_title(rf"$\tau$={t:g}", fontsize=9)
        ax.set_xlabel(r"$\hat w$")
        hist_rows.append(hist)
        pde_cols.append(dens)
    axes[0].set_ylabel(r"$\mu_\tau(\hat w\,|\,w^*=1)$")
    axes[0].legend(fontsize=7)
    paths = [_finish(fig, out_dir, "ste_fig1")]
    meta = dict(d=d, runs=runs, b=2, omega=2.0, b_x=2, omega_x=2.0, eta=0.04, lam=1.0, w_star=1.0, tau=list(taus))
    paths.append(write_csv(out_dir / "ste_fig1_hist.csv", ["w_center"] + [f"sim_density[tau={t:g}]" for t in taus],
                            [[centers[i]] + [h[i] for h in hist_rows] for i in range(centers.size)], meta=meta))
    paths.append(write_csv(out_dir / "ste_fig1_pde.csv", ["w"] + [f"pde_density[tau={t:g}]" for t in taus],
                            [[pde.x[i]] + [c[i] for c in pde_cols] for i in range(pde.x.size)]))
    return paths


def fig5(out_dir: Path, quick: bool = False, seed: int = 0):
    """Fig. 5: input-only quantization, lam = 0, sigma^2 = 0.  Left: eta_c = 2/sigma_phi^2 against b_x for
    several omega_x (dashed: unquantized, 2), with simulations at 0.85 eta_c (expected to converge) and
    1.15 eta_c (expected to diverge).  Right: eps_g*(eta) from the closed form, with long-time simulation
    averages (mean of eps_g over tau in [tau_max/2, tau_max])."""
    from qmf_sim import ste as S
    from qmf_sym import ste

    d, runs, tmax = (200, 2, 40.0) if quick else (500, 3, 80.0)
    cur = ste.fig5_curves(b_x=tuple(range(1, 9)), omegas=(0.5, 1.0, 2.0, 3.0), b_right=(1, 2, 3, 4))
    pyplot = plt()
    fig, (axl, axr) = pyplot.subplots(1, 2, figsize=(11, 4))
    om_sim = 1.0  # the simulations sit on this omega_x line and take its colour
    sim_color = None
    for k, w in enumerate(cur["omega"]):
        line, = axl.plot(cur["b_x"], cur["eta_c"][k], "-", lw=1.2, label=rf"$\omega_x$={w:g}")
        if w == om_sim:
            sim_color = line.get_color()
    axl.axhline(cur["eta_c_unquantized"], ls="--", color="k", lw=1, label="unquantized")
    # simulation points: omega_x = 1, b_x = 1..4, just below / above the boundary
    sim_rows = []
    plist, meta = [], []
    for bx in (1, 2, 3, 4):
        ec = float(ste.stability_boundary(bx, om_sim))
        for f in (0.85, 1.15):
            plist.append(S.STEParams(b=None, b_x=bx, omega_x=om_sim, eta=f * ec, lam=0.0, sigma2=0.0))
            meta.append((bx, f, ec))
    t0 = time.perf_counter()
    res = S.simulate_many(plist, d, tau=np.linspace(0, tmax, 41), runs=runs, seed=seed)
    _log(f"Fig. 5 left: {len(plist)} sets x {runs} runs, d={d}: {time.perf_counter() - t0:.1f} s")
    for (bx, f, ec), r in zip(meta, res):
        div = bool(r.diverged.all())
        conv = not r.diverged.any()
        mk = "x" if div else ("o" if conv else "s")
        axl.plot([bx], [f * ec], mk, color=sim_color, ms=7, mew=1.5, mfc="none")
        sim_rows.append([bx, om_sim, f * ec, ec, int(r.diverged.sum()), runs,
                         float(np.mean(r.tau_diverged[r.diverged])) if r.diverged.any() else np.inf])
    axl.set_xlabel("input bit width $b_x$")
    axl.set_ylabel(r"$\eta_c = 2/\sigma_\psi^2$")
    axl.plot([], [], "o", color=sim_color, mfc="none", mew=1.5, label=rf"sim. at 0.85 $\eta_c$, $\omega_x$={om_sim:g}: "
             "all runs converged")
    axl.plot([], [], "x", color=sim_color, mew=1.5, label=r"sim. at 1.15 $\eta_c$: all runs diverged")
    if any(0 < r[4] < runs for r in sim_rows):
        axl.plot([], [], "s", color=sim_color, mfc="none", mew=1.5, label="sim.: some runs diverged")
    axl.set_title(rf"stability boundary; simulations (d={d}, {runs} runs) on the $\omega_x$={om_sim:g} line", fontsize=9)
    axl.legend(fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.9))  # between the omega_x = 0.5 and 1 lines
    # right panel
    right_color = {}
    for k, b in enumerate(cur["b_right"]):
        e = cur["eps_g"][k]
        ok = np.isfinite(e)
        line, = axr.plot(cur["eta"][ok], e[ok], "-", lw=1.2, label=f"b_x={b}")
        right_color[int(b)] = line.get_color()
    axr.plot(cur["eta"], cur["eps_g_unquantized"], "--", color="k", lw=1.5,
             label=r"unquantized ($\varepsilon_g^*=0$ at $\sigma^2=0$, $\eta<2$)")
    plist, meta = [], []
    for b in cur["b_right"]:
        ec = float(ste.stability_boundary(int(b), 1.0))
        for f in (0.2, 0.5, 0.8):
            plist.append(S.STEParams(b=None, b_x=int(b), omega_x=1.0, eta=f * ec, lam=0.0, sigma2=0.0))
            meta.append((int(b), f * ec))
    res = S.simulate_many(plist, d, tau=np.linspace(0, tmax, 41), runs=runs, seed=seed + 1)
    right_rows = []
    for (b, eta), r in zip(meta, res):
        late = r.tau >= tmax / 2
        v = r.eps[:, late][r.valid[:, late]]
        m, se = float(v.mean()), float(v.std() / np.sqrt(max(v.size, 1)))
        th = float(ste.steady_state_error(eta, b, 1.0))
        axr.errorbar([eta], [m], yerr=[se], fmt="o", color=right_color[b], mfc="none", mew=1.2, ms=5, capsize=2)
        right_rows.append([b, eta, m, th, d, se, runs])
    axr.errorbar([], [], yerr=[], fmt="o", color="gray", mfc="none", mew=1.2, ms=5, capsize=2,
                 label=rf"sim. (d={d}, {runs} runs), mean over $\tau\in[{tmax / 2:g}, {tmax:g}]$ $\pm$ s.e.")
    axr.set_ylim(-0.015, 0.6)  # the unquantized baseline is 0: keep it off the frame
    axr.set_xlabel(r"$\eta$")
    axr.set_ylabel(r"$\varepsilon_g^*$")
    axr.set_title(r"steady state ($\omega_x$=1, $\lambda$=0, $\sigma^2$=0): closed form (lines), simulation (o)",
                  fontsize=9)
    axr.legend(fontsize=7)
    paths = [_finish(fig, out_dir, "ste_fig5")]
    paths.append(write_csv(out_dir / "ste_fig5_boundary.csv", ["b_x"] + [f"eta_c[omega_x={w:g}]" for w in cur["omega"]]
                            + ["eta_c_unquantized"],
                            [[b] + list(cur["eta_c"][:, i]) + [cur["eta_c_unquantized"]] for i, b in enumerate(cur["b_x"])]))
    paths.append(write_csv(out_dir / "ste_fig5_steady.csv", ["eta"] + [f"eps_g*[b_x={b}]" for b in cur["b_right"]]
                            + ["eps_g*_unquantized"],
                            [[cur["eta"][i]] + list(cur["eps_g"][:, i]) + [cur["eps_g_unquantized"][i]]
                             for i in range(cur["eta"].size)]))
    paths.append(write_csv(out_dir / "ste_fig5_sim_boundary.csv",
                            ["b_x", "omega_x", "eta", "eta_c", "n_diverged", "runs", "mean_tau_diverged"], sim_rows,
                            meta=dict(d=d, runs=runs, tau_max=tmax, lam=0.0, sigma2=0.0)))
    paths.append(write_csv(out_dir / "ste_fig5_sim_steady.csv", ["b_x", "eta", "sim_eps_g*", "theory_eps_g*", "d",
                                                                 "sim_se", "runs"], right_rows,
                            meta=dict(omega_x=1.0, lam=0.0, sigma2=0.0, tau_max=tmax,
                                      sim_se="standard error of the late-time mean over runs and records")))
    return paths


def closure_settings():
    """The parameter sets of Figs. 2-4 (label, STEParams, tau_max) on which the closures are measured."""
    from qmf_sim.ste import STEParams

    out = [(f"fig2 b={b}", STEParams(b=b, omega=1.0, eta=0.04, lam=1.0), 160.0) for b in (2, 3, 4, 5)]
    out += [(f"fig3 omega={w}", STEParams(b=3, omega=w, eta=0.04, lam=1.0), 160.0) for w in (0.25, 0.5, 1.0, 1.25, 1.5)]
    out += [(f"fig4 b={b} b_x={bx}", STEParams(b=b, omega=1.0, b_x=bx, omega_x=1.0, eta=0.05, lam=1.0), 100.0)
            for b in (3, 4) for bx in (3, 4, 5, None)]
    return out


def run_closure_errors(quick=False, closures=("gaussian", "split"), n_tau=161):
    """Error of each order-parameter closure (qmf_sim.ste.closure_curve) against the PDE (the exact
    moment equations, spec §4.4 ii) over the settings of Figs. 2-4: rows (setting, closure, max ``|error|``,
    tau at the max, mean ``|error|``, ``|error|`` at tau_max, eps_pde(tau_max), seconds of closure, of PDE)."""
    from qmf_sim import ste as S

    rows = []
    sets = closure_settings()
    if quick:
        sets = [sets[0], sets[4], sets[9]]
    for label, p, tmax in sets:
        tt = np.linspace(0.0, tmax / (4 if quick else 1), n_tau)
        t0 = time.perf_counter()
        pde = S.theory_curve(p, tt, "pde")
        t_pde = time.perf_counter() - t0
        for cl in closures:
            t0 = time.perf_counter()
            e = S.theory_curve(p, tt, cl)
            t_cl = time.perf_counter() - t0
            err = np.abs(e - pde)
            k = int(np.nanargmax(err))
            rows.append([label, cl, float(err[k]), float(tt[k]), float(np.nanmean(err)), float(err[-1]),
                         float(pde[-1]), t_cl, t_pde])
            _log(f"closure {cl} {label}: max err {err[k]:.4f} at tau={tt[k]:.1f}, final {err[-1]:.2e}")
    return rows


CLOSURE_HEAD = ["setting", "closure", "max_abs_err", "tau_at_max", "mean_abs_err", "final_abs_err", "eps_pde_final",
                "seconds_closure", "seconds_pde"]


def closure_errors(out_dir: Path, quick: bool = False, seed: int = 0):
    """CSV ste_closure_errors.csv of :func:`run_closure_errors`."""
    rows = run_closure_errors(quick)
    return [write_csv(Path(out_dir) / "ste_closure_errors.csv", CLOSURE_HEAD, rows)]


FIGURES = {1: fig1, 2: fig2, 3: fig3, 4: fig4, 5: fig5}


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption); the closure part writes
#: a CSV only
FIGURE_STEMS = {**{f"ste_fig{k}": (f"ste_fig{k}",) for k in FIGURES}, "ste_closures": ()}
