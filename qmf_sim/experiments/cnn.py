"""Paper 1, sec. 4.2 (after Xiao et al. 2018): the Fourier modes of the correlations of circular CNNs
with a quantized activation, their depth scales xi_mode = -1/log|chi_c lambda_s| and the bound
xi_mode <= xi_fc, mode by mode, in the mean field (:mod:`qmf_sym.cnn`) and in finite random CNNs
(:func:`qmf_sim.architectures.cnn_mode_decay`); the same check for one continuous activation (erf).

Notebook use::

    from qmf_sim.experiments import cnn as E
    rows = E.compute(quick=True)      # one dict per (activation, dimension, initialisation, mode)
    fig = E.plot(rows)
    paths = E.run("out/", quick=True) # cnn_modes.csv, cnn_modes.{png,pdf} (the ``cnn`` part)

Setting: kernel 3 (3 x 3 in 2-D), spatial size 16 (8 x 8); Gaussian (uniform filter variance) and
delta-orthogonal initialisation; sigma_b = 0; two activations (:func:`activations`, the ``activation``
column):

* the uniform N = 4 staircase at its optimal sigma_w (:func:`qmf_sym.init.init_for`: C* = 0,
  chi_c = chi_max(4), xi_fc = 7.90), the paper's case;
* erf at sigma_w = :data:`ERF_SIGMA_W` = 2: its chaotic phase at sigma_b = 0 (above the end of erf's
  order-to-chaos line, sigma_w = sqrt(pi)/2, :func:`qmf_sym.maps.edge_of_chaos`), where the odd erf has
  C* = 0 and chi_c = 0.846 (xi_fc = 5.96).  This is the meaningful continuous check: the bound is about a
  finite xi_fc, and the +-eps design needs C* < 1 with room on both sides.  At the edge of chaos with
  sigma_b > 0 the fixed point is C* = 1 with chi_1 = 1 (xi_fc = inf: the bound says nothing, and a
  correlation can only be perturbed downwards; :func:`~qmf_sim.architectures.cnn_mode_decay` refuses
  C* = 1), and at sigma_b = 0 the edge is the degenerate Q* = 0.  Erf rather than tanh because its
  Gaussian kernel is closed form (the arcsin kernel), so the exact nonlinear mean-field slope at eps
  (``chi_meanfield_eps``) costs milliseconds where tanh's certified quadrature costs seconds per 2-D layer;
  tests/test_cnn.py checks tanh's finite CNNs against chi_c lambda_s.

Each mode s is excited at the first hidden layer with amplitude eps = 0.2 on band d (d = 1, or 2 where the
mode vanishes on band 1); its per-layer slope is measured over the first n = clip(ceil(2 xi_mode), 2, cap)
layers (where the mode is still well above the finite-width noise) and compared with chi_c lambda_s (the
linearisation) and with the slope of the exact (nonlinear) mean-field map at the same eps.  Both
activations see the same seeds, hence the same weights and input noise (common random numbers).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io

__all__ = ["LEVELS", "EPS", "CAPTIONS", "COLUMNS", "activations", "settings", "compute", "plot", "run", "reproduce"]
# ERF_SIGMA_W is public too; it joins __all__ with its docs/api reference page (a #: comment)

LEVELS = 4
EPS = 0.2
ERF_SIGMA_W = 2.0
COLUMNS = ("activation", "sigma_w", "dim", "init", "spatial", "kernel", "mode", "band", "lambda", "chi_c", "chi_mode",
           "xi_mode", "xi_fc", "chi_meanfield_eps", "chi_network", "chi_network_se", "z_chi", "z_chi_meanfield_eps",
           "xi_network", "xi_network_se", "xi_excess_over_fc_se", "xi_fc_eps", "xi_excess_over_fc_eps_se",
           "layers_fitted", "seeds", "channels")
"""The columns of cnn_modes.csv.  ``z_chi`` = (chi_network - chi_mode) / chi_network_se (against the
linearisation), ``z_chi_meanfield_eps`` the same against the exact mean-field slope at eps (what a finite
network at eps should reproduce: it includes the O(eps^2) nonlinearity).  ``xi_excess_over_fc_se`` =
(xi_network - xi_fc) / xi_network_se (the linear bound); ``xi_fc_eps`` is the fully connected depth scale
at the same amplitude eps, fitted over the same layers (:func:`_fc_slope`), and ``xi_excess_over_fc_eps_se``
= (xi_network - xi_fc_eps) / xi_network_se (the bound at finite amplitude: a convex odd correlation map,
erf's or tanh's at C* = 0, decays slower than chi_c at finite C, for the fully connected network too)."""

CAPTIONS = {
    "cnn_modes": ("Paper 1, sec. 4.2: depth scales of the CNN correlation modes",
                  "Top: uniform N = 4 staircase at its optimal sigma_w (C* = 0); bottom: erf at sigma_w = 2 (its "
                  "chaotic phase at sigma_b = 0, C* = 0). Left: 1-D circular CNN (n = 16, kernel 3): "
                  "xi_mode = -1/log|chi_c lambda_s| of the mean field (line) and the slope measured in finite random "
                  "CNNs (points, +-1 SE over seeds), Gaussian and delta-orthogonal initialisation, against the fully "
                  "connected xi (dashed) and the fully connected network's depth scale at the same amplitude eps = 0.2 over the "
                  "same layers (dash-dotted: the bound at the run's amplitude; erf's convex map decays slower at finite "
                  "eps). Right: 2-D (8 x 8, 3 x 3 kernel), measured xi against xi_mode; for both activations no mode "
                  "exceeds the fully connected one at the same amplitude by 3 SE (the delta-orthogonal modes share "
                  "their networks: their excesses are one fluctuation, not independent ones).",
                  "Paper: each Fourier mode has slope chi_c lambda_i with lambda_i <= 1, so no mode's depth scale "
                  "exceeds the fully connected one and L_max holds for CNNs."),
}


def activations() -> list[tuple]:
    """The activations of :func:`compute` (paper 1, sec. 4.2): a list of (label, activation, sigma_w), the
    uniform N = :data:`LEVELS` staircase at its optimal sigma_w (eq. 16-17, :func:`qmf_sym.init.init_for`)
    and erf at ``ERF_SIGMA_W`` = 2 (its chaotic phase: module docstring), both at sigma_b = 0."""
    from qmf_sym.activations import Erf, Staircase
    from qmf_sym.init import init_for

    return [(f"staircase_N{LEVELS}", Staircase.uniform(LEVELS), float(init_for(LEVELS).sigma_w)),
            ("erf", Erf(), ERF_SIGMA_W)]


def settings(quick: bool) -> dict:
    """The runs of :func:`compute` (the same for every activation): channels, seeds, the layer cap and the
    modes of each configuration."""
    from qmf_sym import _validate as V

    quick = V.flag("quick", quick)
    n1, n2 = 16, (8, 8)
    g1 = list(range(0, n1 // 2 + 1))
    if quick:
        g2 = [(0, 0), (1, 0), (1, 1), (2, 2), (4, 4)]
        return dict(channels=256, seeds=4, batch=4, cap=16, configs=[
            ("gaussian", n1, g1), ("delta_orthogonal", n1, [0, 4, 8]),
            ("gaussian", n2, g2), ("delta_orthogonal", n2, [(1, 1), (4, 4)])])
    g2 = [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (3, 1), (4, 0), (4, 4)]
    return dict(channels=512, seeds=8, batch=4, cap=24, configs=[
        ("gaussian", n1, g1), ("delta_orthogonal", n1, g1),
        ("gaussian", n2, g2), ("delta_orthogonal", n2, [(0, 0), (1, 1), (2, 1), (4, 4)])])


def _band_for(spatial, mode):
    """Band 1 ((1, 1) in 2-D), else the first of a few others on which the mode does not vanish."""
    from qmf_sym import cnn

    cands = [1, 2] if len(spatial) == 1 else [(1, 1), (1, 0), (0, 1), (2, 0), (0, 2), (2, 2)]
    for d in cands:
        try:
            cnn.mode_perturbation(spatial, mode, d)
            return d
        except ValueError:
            continue
    raise ValueError(f"no band carries mode {mode!r}")  # pragma: no cover - (2, 0)/(0, 2)/... always do


def _meanfield_slope(act, fp, sw, profile, spatial, P, n_fit):
    """The slope of the exact mean-field map at amplitude EPS, measured as in the network."""
    from qmf_sim.architectures import fit_mode_slope
    from qmf_sym import cnn

    R0 = cnn.fixed_point_correlation(spatial, fp.C)
    amps = []
    for sgn in (1, -1):
        _, Rs = cnn.iterate_correlation(act, fp.Q, R0 + sgn * EPS * P, sw, 0.0, profile, n_fit)
        amps.append(cnn.mode_amplitude(Rs, P, R0))
    a = (amps[0] - amps[1]) / 2
    return fit_mode_slope(a[None, :], n_fit).chi


def _fc_slope(act, fp, sw, n_fit):
    """The fully connected network's slope at amplitude EPS (eq. 5 iterated from C* +- EPS at Q*, by
    :func:`qmf_sym.maps.iterate`), measured as in the network over ``n_fit`` layers: the CNN's mode s = 0
    in the mean field (A maps a constant band to itself)."""
    from qmf_sim.architectures import fit_mode_slope
    from qmf_sym import maps

    _, C = maps.iterate(act, fp.Q, np.array([fp.C + EPS, fp.C - EPS]), sw, 0.0, n_fit)
    return fit_mode_slope(((C[:, 0] - C[:, 1]) / 2)[None, :], n_fit).chi


def compute(quick: bool = False, progress: bool = False) -> list[dict]:
    """One row per (activation, dimension, initialisation, mode): the columns of :data:`COLUMNS`."""
    import torch

    from qmf_sim.architectures import cnn_mode_decay, fit_mode_slope
    from qmf_sym import cnn

    st = settings(quick)
    rows = []
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # seeded: the same thread count gives the same numbers
    try:
        for label, act, sw in activations():
            for init, spatial, modes in st["configs"]:
                sp = (spatial,) if isinstance(spatial, int) else tuple(spatial)
                profile = cnn.filter_variance(3, len(sp), init)
                ms = cnn.mode_slopes(act, sw, 0.0, profile, sp, modes)
                for k, mode in enumerate(ms.modes):
                    band = _band_for(sp, mode)
                    xi_m = float(ms.xi_mode[k])
                    n_fit = int(min(st["cap"], max(2, math.ceil(2 * xi_m))))
                    amps = cnn_mode_decay(act, sw, 0.0, sp, 3, init, mode, band, EPS, st["channels"], n_fit,
                                          seeds=range(st["seeds"]), batch=st["batch"])
                    fit = fit_mode_slope(amps, n_fit)
                    P = cnn.mode_perturbation(sp, mode, band)
                    chi_eps = _meanfield_slope(act, ms.fixed_point, sw, profile, sp, P, n_fit)
                    xi_fc_eps = -1.0 / math.log(abs(_fc_slope(act, ms.fixed_point, sw, n_fit)))
                    lab = lambda t: ";".join(str(int(x)) for x in np.atleast_1d(t))  # noqa: E731
                    rows.append({
                        "activation": label, "sigma_w": sw,
                        "dim": len(sp), "init": init, "spatial": "x".join(map(str, sp)),
                        "kernel": "x".join(["3"] * len(sp)),
                        "mode": lab(mode), "band": lab(band), "lambda": float(ms.lam[k]), "chi_c": ms.chi_c,
                        "chi_mode": float(ms.chi_mode[k]), "xi_mode": xi_m, "xi_fc": ms.xi_fc,
                        "chi_meanfield_eps": chi_eps, "chi_network": fit.chi, "chi_network_se": fit.chi_se,
                        "z_chi": (fit.chi - float(ms.chi_mode[k])) / fit.chi_se,
                        "z_chi_meanfield_eps": (fit.chi - chi_eps) / fit.chi_se,
                        "xi_network": fit.xi, "xi_network_se": fit.xi_se,
                        "xi_excess_over_fc_se": (fit.xi - ms.xi_fc) / fit.xi_se,
                        "xi_fc_eps": xi_fc_eps, "xi_excess_over_fc_eps_se": (fit.xi - xi_fc_eps) / fit.xi_se,
                        "layers_fitted": n_fit, "seeds": fit.seeds, "channels": st["channels"]})
                    if progress:
                        r = rows[-1]
                        print(f"cnn {label} {init} {r['spatial']} mode {r['mode']}: chi_mode {r['chi_mode']:.4f} "
                              f"network {fit.chi:.4f} +- {fit.chi_se:.4f}")
    finally:
        torch.set_num_threads(before)
    return rows


def _act_title(label, sw):
    name = f"N = {label.split('_N')[1]} staircase" if label.startswith("staircase_N") else label
    return f"{name}, $\\sigma_w = {sw:.4g}$"


def plot(rows: list[dict]):
    """One row of panels per activation.  Left: 1-D xi against the frequency s/n (mean field lines, network
    points +-1 SE); right: 2-D measured xi against xi_mode; the activation's fully connected xi dashed in
    both."""
    plt = io.plt()
    labels = list(dict.fromkeys(r["activation"] for r in rows))
    fig, axes = plt.subplots(len(labels), 2, figsize=(11, 4.4 * len(labels)), squeeze=False)
    colors = {"gaussian": "C0", "delta_orthogonal": "C3"}
    for (a1, a2), label in zip(axes, labels):
        ra = [r for r in rows if r["activation"] == label]
        xi_fc = ra[0]["xi_fc"]
        for init in ("gaussian", "delta_orthogonal"):
            r1 = [r for r in ra if r["dim"] == 1 and r["init"] == init]
            if r1:
                n = int(r1[0]["spatial"])
                f = np.array([int(r["mode"]) / n for r in r1])
                a1.plot(f, [r["xi_mode"] for r in r1], "-", color=colors[init], lw=1,
                        label=f"{init}: mean field $-1/\\log|\\chi_c\\lambda_s|$")
                a1.errorbar(f, [r["xi_network"] for r in r1], yerr=[r["xi_network_se"] for r in r1], fmt="o",
                            color=colors[init], ms=4, capsize=2, label=f"{init}: finite CNN")
            r2 = [r for r in ra if r["dim"] == 2 and r["init"] == init]
            if r2:
                a2.errorbar([r["xi_mode"] for r in r2], [r["xi_network"] for r in r2],
                            yerr=[r["xi_network_se"] for r in r2], fmt="o", color=colors[init], ms=4, capsize=2,
                            label=f"{init}")
                for r in r2:
                    a2.annotate(f"({r['mode']})", (r["xi_mode"], r["xi_network"]), fontsize=7,
                                textcoords="offset points", xytext=(4, -8))
        top = max(ra, key=lambda r: (r["layers_fitted"], r["lambda"]))  # the slowest mode, fitted longest
        for ax in (a1, a2):
            ax.axhline(xi_fc, color="k", ls="--", lw=1, label=rf"fully connected $\xi = {xi_fc:.2f}$")
            ax.axhline(top["xi_fc_eps"], color="0.4", ls="-.", lw=0.8,
                       label=rf"fully connected at $\epsilon = {EPS:g}$ ({top['layers_fitted']} layers): "
                             rf"{top['xi_fc_eps']:.2f}")
        lim = [0, xi_fc * 1.15]
        a2.plot(lim, lim, color="gray", ls=":", lw=1, label="measured = mean field")
        title = _act_title(label, ra[0]["sigma_w"])
        a1.set_xlabel("frequency $s/n$")
        a1.set_ylabel(r"depth scale of the mode $\xi$")
        a1.set_title(f"{title}: 1-D circular CNN, n = 16, kernel 3", fontsize=10)
        a2.set_xlabel(r"mean field $\xi_{mode}$")
        a2.set_ylabel(r"finite CNN $\xi$ (measured)")
        a2.set_title(f"{title}: 2-D circular CNN, 8 x 8, kernel 3 x 3", fontsize=10)
        a1.legend(fontsize=7)
        a2.legend(fontsize=7, loc="upper left")
    ch = rows[0]["channels"]
    fig.suptitle(f"CNN correlation modes, $\\sigma_b = 0$, C* = 0 ({ch} channels)")
    fig.tight_layout()
    return fig


def run(out_dir, quick: bool = False, progress: bool = False) -> list[Path]:
    """Compute, then write cnn_modes.csv and cnn_modes.{png,pdf} into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = compute(quick, progress)
    meta = {"levels": LEVELS, "eps": EPS, "quick": bool(quick), "sigma_b": 0.0,
            "activations": {label: sw for label, _, sw in activations()},
            "note": "xi_network from the per-seed AR(1) slope over layers_fitted layers; SE over seeds"}
    seeds = list(range(settings(quick)["seeds"]))
    paths = [io.write_csv(out_dir / "cnn_modes.csv", list(COLUMNS), rows, meta=meta, seeds=seeds)]
    return paths + io.save_figure(plot(rows), out_dir, "cnn_modes")


def reproduce(out_dir, quick: bool = False) -> list[Path]:
    """The ``cnn`` part of ``qmf reproduce``."""
    return run(out_dir, quick)
