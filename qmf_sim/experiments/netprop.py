"""Paper 1, sec. 5: finite random networks against the mean field (Fig. 1 and the finite-width scaling).

Notebook use::

    from qmf_sim.experiments import netprop as E
    res = E.run_fig1(depth=40, width=300, r=120)      # numbers only (dicts of arrays)
    E.write_fig1(res, "out/")                          # fig1.png/.pdf, heat map, decay CSV, JSON

``reproduce_fig1`` / ``reproduce_finite_width`` are the ``qmf reproduce`` parts.  The experiments
themselves live in :mod:`qmf_sim.netprop`; here they are run with the papers' sizes, tabulated
and plotted.  Files are written only through :mod:`qmf_sim.io`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from qmf_sim import io

FIG1_LAYERS = (0, 25, 50, 75, 100)
FIG1_FACTORS = (0.7, 0.85, 1.0, 1.2, 1.5)  # sigma_w / sigma_w_opt
FW_WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)


def _fmt(v, spec):
    """A number formatted for a CSV cell; non-finite -> None (an empty cell, the io convention)."""
    v = float(v)
    return format(v, spec) if math.isfinite(v) else None


def activation_of(activation="staircase", levels=None):
    """The activation of a finite-network experiment and its label:
    :func:`qmf_sim.experiments.activations.make_activation` with N = 16 for a staircase without ``levels``
    (label ``N=16``; a continuous one by its name)."""
    from qmf_sim.experiments.activations import make_activation

    if activation == "staircase" and levels is None:
        levels = 16
    act = make_activation(activation, levels)
    return act, (f"N={act.N}" if activation == "staircase" else act.name)


def _unit_sigma_w(act, factors, sigma_b):
    """sigma_w_opt (:func:`qmf_sim.netprop.sigma_w_optimal`: the optimum of a staircase, the edge of chaos
    of a continuous activation), after checking that every factor x sigma_w_opt has a fixed point Q* > 0,
    so that no sweep fails after its first factors (ValueError naming ``sigma_b`` or ``factors``)."""
    from qmf_sim import netprop as NP
    from qmf_sym import maps

    s0 = NP.sigma_w_optimal(act, sigma_b)
    for f in factors:
        try:
            maps.fixed_point(act, f * s0, sigma_b)
        except ValueError as exc:
            raise ValueError(f"factors: factor {f:g} (sigma_w = {f * s0:.6g}, {act.name}, sigma_b = {sigma_b:g}): "
                             f"{exc}") from None
    return s0


def _opt_label(act):
    """What sigma_w is measured against: the optimum (staircases) or the edge of chaos (continuous)."""
    from qmf_sym.activations import Staircase

    return "opt" if isinstance(act, Staircase) else "crit"


# ----------------------------------------------------------------------------- Fig. 1
def run_fig1(levels=None, depth=100, width=1000, r=500, factors=FIG1_FACTORS, sigma_b=0.0, runs=1,
             dtheta_decay=math.pi / 3, dtype="float32", device=None, seed=0, progress=False,
             activation="staircase") -> dict:
    """The correlation-propagation experiment (:func:`qmf_sim.netprop.correlation_propagation`) for
    sigma_w = factor x sigma_w_opt of ``Staircase.uniform(levels)`` (N = 16 by default), or of another
    ``activation`` (:func:`activation_of`; sigma_w then in units of its edge of chaos at ``sigma_b``,
    :func:`qmf_sim.netprop.sigma_w_optimal`; tanh, erf and hard tanh need sigma_b > 0, their line ending at
    Q* = 0 for sigma_b = 0); ``runs`` independent networks.  Returns its result dict plus ``levels`` (None
    for a continuous activation), ``activation`` (the label), ``factors``, ``sigma_w_opt``, ``dtype``,
    ``device``, ``wall_seconds``."""
    import torch

    from qmf_sim import netprop as NP
    from qmf_sim.progress import bar, enabled

    act, label = activation_of(activation, levels)
    t0 = time.perf_counter()
    s_opt = _unit_sigma_w(act, factors, sigma_b)
    # one sigma_w at a time (a progress step each); correlation_propagation seeds its j-th sigma_w
    # with seed + 1000 j, so passing that seed for a single sigma_w gives the same numbers
    res = None
    for j, f in enumerate(bar(factors, desc="fig1 sigma_w", unit="sigma_w", requested=progress)):
        one = NP.correlation_propagation(act, [f * s_opt], sigma_b, depth, width, r, n_draws=runs,
                                         dtheta_decay=dtheta_decay, dtype=getattr(torch, dtype), device=device,
                                         seed=seed + 1000 * j, progress=enabled(progress))
        if res is None:
            res = one
        else:
            res["runs"].extend(one["runs"])
    res.update(levels=act.N if activation == "staircase" else None, activation=label,
               sigma_w_unit=_opt_label(act), factors=tuple(factors), sigma_w_opt=s_opt, sigma_b=sigma_b,
               dtype=dtype, device=str(device or "cpu"), wall_seconds=time.perf_counter() - t0)
    return res


def fig1_summary(res) -> dict:
    """The JSON summary of :func:`run_fig1` (what ``fig1.json`` holds); non-finite values stay NaN
    here and become null in the file."""
    runs = res["runs"]
    layer_samples = res["depth"] * res["r"] * res["n_draws"] * len(runs)  # one input through one layer
    net_s = sum(run["seconds_network"] for run in runs)
    return {
        "N": res["levels"], "activation": res["activation"], "depth": res["depth"], "width": res["width"],
        "r": res["r"], "sigma_b": res["sigma_b"],
        "n_draws": res["n_draws"], "dtype": res["dtype"], "device": res["device"], "sigma_w_opt": res["sigma_w_opt"],
        "wall_seconds": res["wall_seconds"], "network_seconds": net_s,
        "layer_samples_per_second": layer_samples / net_s if net_s > 0 else math.nan,
        "neuron_samples_per_second": layer_samples * res["width"] / net_s if net_s > 0 else math.nan,
        "input_scaling": "x = s (u0 cos t + u1 sin t), s^2 = n0 (Q* - sigma_b^2) / sigma_w^2, so Q^(1) = Q*",
        "decay_definition": "first layer where (C(l) - C*) / (C(1) - C*) <= 1/e at dtheta, linear interpolation "
                            "in log; layer 1 = first hidden layer; null when it does not decay that far within "
                            "the depth",
        "runs": [{k: run[k] for k in ("sigma_w", "Q_star", "C_star", "chi", "xi", "dtheta_decay", "decay_emp",
                                      "decay_mf", "input_scale", "seconds_network")} for run in runs],
    }


def plot_fig1(res, out_dir, tag="fig1") -> list[Path]:
    """``<tag>.png/.pdf`` (covariance vs Delta theta, mean field over it) and ``<tag>_heatmap.png/.pdf``."""
    plt = io.plt()
    runs, theta, depth = res["runs"], res["theta"], res["depth"]
    factors, unit = res["factors"], res["sigma_w_unit"]
    half = theta <= np.pi + 1e-12
    layers = [l for l in FIG1_LAYERS if l <= depth] or [0, depth]
    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 3.2), sharey=False, squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, run, f in zip(axes[0], runs, factors):
        for i, l in enumerate(layers):
            c = cmap(0.85 * i / max(len(layers) - 1, 1))  # viridis' last 15 % (pale yellow) is unreadable on white
            ax.plot(theta[half], run["cov"][l][half], ".", ms=2, color=c, label=f"$l$={l}")
            ax.plot(run["theta_theory"], run["cov_theory"][l], "-", lw=1, color=c)
        ax.set_title(f"$\\sigma_w$={run['sigma_w']:.3f} = {f:g}$\\,\\sigma_w^{{{unit}}}$, $\\xi$={run['xi']:.1f}", fontsize=9)
        ax.set_xlabel("$\\Delta\\theta$")
    axes[0][0].set_ylabel("covariance $q^{(l)}(\\Delta\\theta)$")
    axes[0][-1].legend(fontsize=7, markerscale=3, title="layer", loc="upper left", bbox_to_anchor=(1.02, 1))  # off the data
    fig.suptitle(f"{res['activation']}, L={depth}, n={res['width']}, r={res['r']}, $\\sigma_b$={res['sigma_b']:g}: "
                 "dots = network, lines = mean field", fontsize=9)
    fig.tight_layout()
    paths = io.save_figure(fig, out_dir, tag)
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
    paths += io.save_figure(fig, out_dir, f"{tag}_heatmap")
    return paths


def write_fig1(res, out_dir, tag="fig1") -> list[Path]:
    """Figures, ``<tag>_decay.csv`` (1/e decay layer of C - C* at the decay angle: empirical,
    mean-field, xi; an empty cell where C - C* never decays to 1/e within the depth) and ``<tag>.json``."""
    out_dir = Path(out_dir)
    paths = plot_fig1(res, out_dir, tag)
    header = ["sigma_w", "sigma_w_over_opt", "sigma_b", "Q_star", "C_star", "chi", "xi", "dtheta", "C1",
              "decay_layer_empirical", "decay_layer_meanfield", "network_seconds"]
    rows = [[_fmt(run["sigma_w"], ".6g"), f"{f:g}", run["sigma_b"], _fmt(run["Q_star"], ".6g"),
             _fmt(run["C_star"], ".6g"), _fmt(run["chi"], ".6g"), _fmt(run["xi"], ".4g"),
             _fmt(run["dtheta_decay"], ".6g"), _fmt(run["corr"][1, run["k_decay"]], ".4f"),
             _fmt(run["decay_emp"], ".4g"), _fmt(run["decay_mf"], ".4g"), _fmt(run["seconds_network"], ".2f")]
            for run, f in zip(res["runs"], res["factors"])]
    paths.append(io.write_csv(out_dir / f"{tag}_decay.csv", header, rows))
    paths.append(io.write_json(out_dir / f"{tag}.json", fig1_summary(res)))
    return paths


def reproduce_fig1(out_dir: Path, quick: bool = False) -> list[Path]:
    """The ``fig1`` part of ``qmf reproduce``: paper 1's Fig. 1 (the experiment of sec. 5) into
    ``out_dir``; returns the files written.

    Full size is the paper's setting: a uniform staircase with N = 16 states, L = 100 layers of width
    n = 1000, r = 500 inputs on a circle scaled so that Q^(1) = Q*, sigma_b = 0, and one network for
    each sigma_w = factor x sigma_w_opt with the factors ``FIG1_FACTORS`` (0.7 to 1.5).  ``quick``:
    L = 40, n = 300, r = 120 and the factors 0.85, 1 and 1.2.  Runs :func:`run_fig1` and writes with
    :func:`write_fig1`: ``fig1.png`` / ``.pdf`` (the empirical covariance of the hidden states against
    the input angle Delta theta at the layers of ``FIG1_LAYERS`` (0, 25, 50, 75, 100) within the depth,
    with the mean-field prediction of eqs. 2-4 over it), ``fig1_heatmap.png`` / ``.pdf`` (the empirical
    correlation per layer and angle), ``fig1_decay.csv`` (the layer where C - C* has decayed by 1/e,
    empirical and mean-field, against xi of eq. 7) and ``fig1.json`` (:func:`fig1_summary`).
    """
    if quick:
        return write_fig1(run_fig1(depth=40, width=300, r=120, factors=(0.85, 1.0, 1.2), progress=True), out_dir)
    return write_fig1(run_fig1(progress=True), out_dir)


# ----------------------------------------------------------------------------- finite width
def run_finite_width(levels=None, widths=FW_WIDTHS, depth=30, factors=(1.0, 1.5), runs=128, seed=0,
                     progress=False, activation="staircase", sigma_b=0.0) -> dict:
    """:func:`qmf_sim.netprop.finite_width_errors` at sigma_w = factor x sigma_w_opt (the uniform
    staircase, N = 16 by default) or x the edge of chaos of a continuous ``activation``
    (:func:`activation_of`) at ``sigma_b``, ``runs`` independent networks per width.  Returns
    ``{"levels", "activation", "sigma_b", "widths", "depth", "factors", "runs", "results": [per factor]}``."""
    from qmf_sim import netprop as NP
    from qmf_sim.progress import bar

    act, label = activation_of(activation, levels)
    s_opt = _unit_sigma_w(act, factors, sigma_b)
    results = [NP.finite_width_errors(act, f * s_opt, sigma_b, widths, depth, n_draws=runs, seed=seed + i)
               for i, f in enumerate(bar(factors, desc="finite_width sigma_w", unit="sigma_w", requested=progress))]
    return {"levels": act.N if activation == "staircase" else None, "activation": label,
            "sigma_w_unit": _opt_label(act), "sigma_b": float(sigma_b), "widths": tuple(widths), "depth": depth,
            "factors": tuple(factors), "runs": runs, "results": results}


def finite_width_summary(res) -> dict:
    """The JSON summary of :func:`run_finite_width` (what ``finite_width.json`` holds).

    Keys: ``N``, ``depth``, ``widths``, ``n_draws`` (networks per width), ``method`` (how the layers were
    sampled, :func:`qmf_sim.netprop.finite_width_errors`) and ``fits``, one entry per sigma_w with its
    ``sigma_w``, ``xi`` (eq. 7), ``exponents`` (the fitted p of error ~ n^p, the error averaged over
    layers: ``Q_rel_rms`` and ``C_rms`` from two widths on; ``Q_bias`` and ``C_bias`` over the widths
    where the bias exceeds 3 standard errors, NaN below two such widths) and ``bias_fit_points`` (how
    many widths each bias fit used).  Non-finite values stay NaN here and become null in the file.
    """
    rs = res["results"]
    return {"N": res["levels"], "activation": res["activation"],
            "sigma_b": res["sigma_b"], "depth": res["depth"], "widths": list(res["widths"]),
            "n_draws": res["runs"],
            "method": rs[0]["method"],
            "fits": [{"sigma_w": r["sigma_w"], "xi": r["xi"], "exponents": {k: v[0] for k, v in r["fit"].items()},
                      "bias_fit_points": {k: r["fit"][k][1] for k in ("Q_bias", "C_bias")}} for r in rs]}


def plot_finite_width(res, out_dir, tag="finite_width") -> list[Path]:
    """``<tag>.png`` / ``.pdf``: the error of finite networks against the mean field (paper 1, eqs. 2-4)
    as the width n grows; returns both paths.

    ``res``: a :func:`run_finite_width` result with two or more widths (the panels draw the fits).
    Left: RMS of (Q_emp - Q_MF) / Q_MF, averaged over layers, against n (log-log), one marker colour per
    sigma_w with its fitted power law n^p as a line (slope p in the legend).  Middle: the same for
    C_emp - C_MF, averaged over layers and input pairs.  Right: sqrt(n) x RMS (C_emp - C_MF) per layer
    at the first sigma_w, one curve per width (curves that coincide show the n^(-1/2) rate of the
    central limit theorem).  Saved through :func:`qmf_sim.io.save_figure`.
    """
    plt = io.plt()
    widths, factors, unit = res["widths"], res["factors"], res["sigma_w_unit"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    nn = np.array(widths, dtype=float)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r, f, mk, col in zip(res["results"], factors, "os^v", colors):  # one colour per curve: markers + fit
        for name, ax in (("Q_rel_rms", axes[0]), ("C_rms", axes[1])):
            y = r[name].mean(axis=1)
            p, a = r["fit"][name]
            ax.loglog(nn, y, mk, color=col, label=f"$\\sigma_w$={f:g}$\\,\\sigma_w^{{{unit}}}$: slope {p:.3f}")
            ax.loglog(nn, np.exp(a) * nn ** p, "-", lw=0.8, color=col)
        cmap = plt.get_cmap("plasma")
        if f == factors[0]:
            for i, n in enumerate(widths):
                axes[2].semilogy(r["layers"], r["C_rms"][i] * math.sqrt(n), color=cmap(i / len(widths)),
                                 label=f"n={n}")
    axes[0].set_ylabel(r"RMS $|Q_{emp} - Q_{MF}|\,/\,Q_{MF}$")
    axes[1].set_ylabel(r"RMS $|C_{emp} - C_{MF}|$")
    axes[0].set_title("mean over layers", fontsize=9)
    axes[1].set_title("mean over layers and input pairs", fontsize=9)
    axes[2].set_ylabel(r"$\sqrt{n}\,\times$ RMS $|C_{emp} - C_{MF}|$")
    axes[2].set_title(f"per layer, $\\sigma_w$={factors[0]:g}$\\,\\sigma_w^{{{unit}}}$", fontsize=9)
    for ax in axes[:2]:
        ax.set_xlabel("width $n$")
        ax.legend(fontsize=7, loc="upper right")
    axes[2].set_xlabel("layer $l$")
    axes[2].legend(fontsize=6, ncol=2, loc="lower right")
    fig.suptitle(f"{res['activation']}, $\\sigma_b$={res['sigma_b']:g}, "
                 f"L={res['depth']}, {res['runs']} networks per width: lines are fits "
                 r"error $\propto n^{p}$", fontsize=9)
    fig.tight_layout()
    return io.save_figure(fig, out_dir, tag)


def write_finite_width(res, out_dir, tag="finite_width") -> list[Path]:
    """``<tag>.png/.pdf``, ``<tag>.csv`` (per sigma_w, width, layer) and ``<tag>.json`` (fitted exponents)."""
    out_dir = Path(out_dir)
    paths = plot_finite_width(res, out_dir, tag)
    keys = ("Q_rms", "Q_bias", "Q_bias_se", "C_rms", "C_bias", "C_bias_se")
    rows = [[_fmt(r["sigma_w"], ".6g"), n, l, _fmt(r["Q_mf"][j], ".6g")] + [_fmt(r[k][i, j], ".4g") for k in keys]
            for r in res["results"] for i, n in enumerate(res["widths"]) for j, l in enumerate(r["layers"])]
    paths.append(io.write_csv(out_dir / f"{tag}.csv", ["sigma_w", "width", "layer", "Q_mf", *keys], rows))
    paths.append(io.write_json(out_dir / f"{tag}.json", finite_width_summary(res)))
    return paths


def reproduce_finite_width(out_dir: Path, quick: bool = False) -> list[Path]:
    """The ``finite_width`` part of ``qmf reproduce``: how fast random networks of width n approach the
    mean field of paper 1 (eqs. 2-4); returns the files written into ``out_dir``.

    The recursion of eqs. 2-4 is exact in the infinite-width limit (sec. 3.1); the paper relies on it
    at widths "of the order of hundreds of neurons" (sec. 2; n = 1000 in Fig. 1, 2048 in Fig. 3).  This
    part measures the error per layer against n; the paper has no such figure.  Full size: a uniform
    N = 16 staircase, the widths ``FW_WIDTHS`` (64 to 4096), depth 30, sigma_w = 1 and 1.5 x sigma_w_opt,
    128 networks per width.  ``quick``: widths 64, 256 and 1024, depth 10, sigma_w_opt only, 32
    networks.  Runs :func:`run_finite_width` and writes with :func:`write_finite_width`:
    ``finite_width.png`` / ``.pdf`` (:func:`plot_finite_width`), ``finite_width.csv`` (per sigma_w,
    width and layer) and ``finite_width.json`` (:func:`finite_width_summary`: the fitted exponents, near
    -1/2 for the RMS errors).
    """
    if quick:
        return write_finite_width(run_finite_width(widths=(64, 256, 1024), depth=10, factors=(1.0,), runs=32,
                                                   progress=True), out_dir)
    return write_finite_width(run_finite_width(progress=True), out_dir)


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"fig1": ("fig1", "fig1_heatmap"), "finite_width": ("finite_width",)}
