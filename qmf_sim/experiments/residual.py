"""Paper 1, Discussion: residual connections and signal propagation beyond L_max, for quantized networks.

Two experiments (the ``residual`` part of ``qmf reproduce``):

1. **Propagation** (:func:`propagation`): the correlation C^l of two inputs through random residual
   networks x^(l+1) = x^l + alpha (W phi(x^l) + b) (:mod:`qmf_sym.residual`), finite (width 512/1024,
   several seeds, :func:`qmf_sim.architectures.residual_correlations`) against the exact mean-field map and
   its power law ``|C^l - C_inf| ~ tau_l^(-gamma)``, gamma = 1 - chi_inf; the fully connected network's
   exponential approach (xi, eq. 7) beside it.  Writes ``residual_propagation.csv``,
   ``residual_exponents.csv`` and the figure ``residual_propagation``.
2. **Trainable depth** (:func:`trainable_depth`): plain (:class:`qmf_sim.nn.QuantizedMLP`) against residual
   (:class:`qmf_sim.architectures.QuantizedResMLP`, the same weights, alpha = 1) networks trained with the
   STE on the digits set (smoke size), N = 2 and N = 4, over depths beyond paper 1's L_max = 6 xi
   (13.3 for N = 2, 47.4 for N = 4; up to 100 layers at quick size, 128 at full size), through
   :func:`qmf_sim.training.run_training`.  Writes ``residual_runs.jsonl`` (resumable),
   ``residual_trainable_depth.csv`` and the figure ``residual_trainable_depth``.

Notebook use::

    from qmf_sim.experiments import residual as E
    prop = E.propagation(quick=True)
    paths = E.run("out/", quick=True)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io

__all__ = ["CAPTIONS", "LEVELS", "propagation", "fit_exponents", "trainable_depth_plan", "trainable_depth",
           "analyse_depth", "plot_propagation", "plot_depth", "run", "reproduce"]

LEVELS = 4
C1 = 0.8
CAPTIONS = {
    "residual_propagation": (
        "Paper 1, Discussion: correlation propagation in quantized residual networks",
        "Uniform N = 4 staircase at its optimal sigma_w, sigma_b = 0, inputs at C^1 = 0.8. |C^l - C_inf| against depth "
        "(log-log) in residual networks x^(l+1) = x^l + alpha (W phi(x^l) + b): finite networks (points, +-1 SE over "
        "seeds), the exact mean-field map (lines), the asymptotic power law tau^-(1 - 2/pi) (dotted); the fully "
        "connected network's exponential approach (grey).",
        "Paper: residual connections can maintain signal propagation beyond the fully connected limit."),
    "residual_trainable_depth": (
        "Trainable depth: plain against residual quantized networks",
        "Uniform N = 2 (left) and N = 4 (right) staircases at their optimal sigma_w. Test accuracy (filled, solid) and "
        "train accuracy (open, dashed) after training (digits, smoke size) against depth, plain fully connected (eq. 1) "
        "and residual networks with the same initial weights (alpha = 1), mean +-1 SE over seeds; dashed vertical: "
        "paper 1's L_max = 6 xi.",
        "Paper: fully connected networks deeper than ~6 xi are untrainable; residual connections can help."),
}


# ============================================================================ 1. propagation
def _settings(quick):
    if quick:
        return dict(width=512, depth=256, seeds=6, pairs=4, alphas=(1.0, 0.5))
    return dict(width=1024, depth=512, seeds=8, pairs=4, alphas=(1.0, 0.5))


def propagation(quick: bool = False) -> dict:
    """Finite and mean-field C^l for each alpha of the settings; the fully connected mean field beside."""
    import torch

    from qmf_sim.architectures import residual_correlations
    from qmf_sym import maps, residual
    from qmf_sym.activations import Staircase
    from qmf_sym.init import init_for

    st = _settings(quick)
    act = Staircase.uniform(LEVELS)
    sw = float(init_for(LEVELS).sigma_w)
    fp = maps.fixed_point(act, sw)
    lim = residual.limit(act, sw)
    out = {"settings": st, "sigma_w": sw, "limit": lim, "fc": maps.iterate(act, fp.Q, C1, sw, 0.0, st["depth"])[1],
           "alphas": {}}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for a in st["alphas"]:
            C, Q = residual_correlations(act, fp.Q, C1, a, sw, 0.0, st["width"], st["depth"], seeds=range(st["seeds"]),
                                         pairs=st["pairs"])
            Qm, Cm = residual.iterate(act, fp.Q, C1, a, sw, 0.0, st["depth"])
            out["alphas"][a] = {"C": C, "Q": Q, "C_mf": Cm, "Q_mf": Qm, "tau": residual.depth_clock(Qm, a, lim.V_inf)}
    finally:
        torch.set_num_threads(before)
    return out


def _slope(x, y):
    A = np.vstack([x, np.ones_like(x)]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    rss = float(((A @ coef - y) ** 2).sum())
    return float(coef[0]), rss


def fit_exponents(prop: dict) -> list[dict]:
    """Per alpha, over the window l in [L/8, L]: the effective exponent d log|C - C_inf| / d log tau of the
    mean-field map and of each finite network (mean +- SE over seeds), the asymptotic gamma, and the
    residual sums of squares of a power law (log-log line) and of an exponential (log-linear in l)
    fitted to the mean field's log|C - C_inf| on the window (the smaller one is the better description)."""
    lim = prop["limit"]
    rows = []
    for a, d in prop["alphas"].items():
        L = len(d["C_mf"])
        lo = max(2, L // 8)
        l = np.arange(1, L + 1)
        win = slice(lo - 1, L)
        lt = np.log(d["tau"][win])
        g_mf, rss_pow = _slope(lt, np.log(np.abs(d["C_mf"][win] - lim.C_inf)))
        _, rss_exp = _slope(l[win].astype(float), np.log(np.abs(d["C_mf"][win] - lim.C_inf)))
        per_seed = [_slope(lt, np.log(np.abs(c[win] - lim.C_inf)))[0] for c in d["C"]]
        g_net = float(np.mean(per_seed))
        se = float(np.std(per_seed, ddof=1) / math.sqrt(len(per_seed)))
        rows.append({"alpha": a, "C1": C1, "window_lo": lo, "window_hi": L, "gamma_asymptotic": lim.gamma,
                     "chi_inf": lim.chi_inf, "C_inf": lim.C_inf, "exponent_meanfield_window": -g_mf,
                     "exponent_network": -g_net, "exponent_network_se": se,
                     "z_network_vs_meanfield": (-g_net + g_mf) / se, "rss_power_law": rss_pow,
                     "rss_exponential": rss_exp, "xi_fc": lim.xi_fc, "width": prop["settings"]["width"],
                     "seeds": prop["settings"]["seeds"]})
    return rows


def plot_propagation(prop: dict):
    """The figure ``residual_propagation`` (paper 1, sec. 6: residual connections keep signals propagating
    beyond the fully connected depth scale); returns the matplotlib figure, unsaved (:func:`run` saves it).

    ``prop``: the result of :func:`propagation`.  Log-log ``|C^l - C_inf|`` against the layer l: for each
    alpha the finite residual networks (points, mean +- standard error over seeds, at about 30 layers
    spread geometrically), the exact mean-field map (line) and the asymptotic power law tau^(-gamma),
    gamma = 1 - chi_inf (1 - 2/pi for this odd staircase at sigma_b = 0), matched to the map at its last
    layer (dotted); in grey the fully connected network's mean-field correlation, whose approach to
    C* = 0 is exponential with the depth scale xi of eq. 7.
    """
    plt = io.plt()
    lim = prop["limit"]
    fig, ax = plt.subplots(figsize=(6.6, 4.6))
    for k, (a, d) in enumerate(prop["alphas"].items()):
        L = len(d["C_mf"])
        l = np.arange(1, L + 1)
        dev = np.abs(d["C"] - lim.C_inf)
        m, se = dev.mean(0), dev.std(0, ddof=1) / math.sqrt(dev.shape[0])
        sel = np.unique(np.geomspace(1, L, 30).astype(int)) - 1
        ax.errorbar(l[sel], m[sel], yerr=se[sel], fmt="o", ms=3, color=f"C{k}", capsize=2,
                    label=rf"finite residual, $\alpha = {a:g}$")
        ax.plot(l, np.abs(d["C_mf"] - lim.C_inf), "-", color=f"C{k}", lw=1, label=rf"mean field, $\alpha = {a:g}$")
        tail = np.abs(d["C_mf"][-1] - lim.C_inf) * (d["tau"] / d["tau"][-1]) ** (-lim.gamma)
        ax.plot(l, tail, ":", color=f"C{k}", lw=1.2)
    fc = np.abs(prop["fc"] - 0.0)
    ok = fc > 1e-8
    ax.plot(np.arange(1, len(fc) + 1)[ok], fc[ok], color="0.5", lw=1.5,
            label=rf"fully connected (mean field), $\xi = {lim.xi_fc:.2f}$")
    ax.plot([], [], "k:", label=rf"power law $\tau^{{-\gamma}}$, $\gamma = 1 - 2/\pi = {lim.gamma:.3f}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 1.2)
    ax.set_xlabel("layer $l$")
    ax.set_ylabel(r"$|C^l - C_\infty|$")
    st = prop["settings"]
    ax.set_title(f"N = {LEVELS}, width {st['width']}, {st['seeds']} seeds, $C^1 = {C1}$", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


# ============================================================================ 2. trainable depth
def _depth_settings(quick):
    """N = 2 (L_max = 6 xi = 13.3) and N = 4 (L_max = 47.4): the deepest runs are ~2-7.5 L_max (quick: 100
    layers, ~20 s on one core; full: 128 layers)."""
    if quick:
        return dict(levels=[2, 4], depths=[4, 16, 40, 100], seeds=[0], width=64, steps=200, lr=2e-2, alpha=1.0)
    return dict(levels=[2, 4], depths=[4, 8, 16, 32, 64, 128], seeds=[0, 1], width=128, steps=300, lr=1e-2,
                alpha=1.0)


def trainable_depth_plan(quick: bool = False, **over) -> list[tuple]:
    """The runs: (architecture, TrainConfig) for architecture in ("plain", "residual") over the settings
    (``over`` replaces any of them: levels, depths, seeds, width, steps, lr, alpha)."""
    from qmf_sim.training import TrainConfig

    st = {**_depth_settings(quick), **over}
    plan = []
    for arch in ("plain", "residual"):
        for n in st["levels"]:
            for d in st["depths"]:
                for s in st["seeds"]:
                    cfg = TrainConfig(depth=int(d), levels=int(n), width=int(st["width"]), steps=int(st["steps"]),
                                      lr=float(st["lr"]), seed=int(s), device="cpu")
                    plan.append((arch, cfg.resolved()))
    return plan, st


def _key(arch, cfg, alpha):
    return cfg.key() if arch == "plain" else f"res{alpha:g}_{cfg.key()}"


def trainable_depth(out_dir, quick: bool = False, progress: bool = False, **over) -> dict:
    """Train every run of :func:`trainable_depth_plan` not yet in ``out_dir/residual_runs.jsonl`` (one
    record per line, appended as each finishes: resumable); returns ``{key: record}``."""
    from qmf_sim.architectures import residual_factory
    from qmf_sim.sweep import append_record, load_results_locked
    from qmf_sim.training import run_training

    plan, st = trainable_depth_plan(quick, **over)
    path = Path(out_dir) / "residual_runs.jsonl"
    done = load_results_locked(path)  # damaged lines moved aside once
    out = {}
    for arch, cfg in plan:
        key = _key(arch, cfg, st["alpha"])
        if key not in done:
            fac = residual_factory(st["alpha"]) if arch == "residual" else None
            rec = run_training(cfg, threads=1, model_factory=fac)
            rec["key"] = key
            rec["architecture"] = {"kind": arch, "alpha": st["alpha"] if arch == "residual" else None}
            append_record(path, rec)
            done[key] = rec
            if progress:
                print(f"residual sweep {arch} N={cfg.levels} L={cfg.depth} seed={cfg.seed}: "
                      f"test {rec['final_test_acc']}")
        out[key] = done[key]
    return {"records": out, "plan": plan, "settings": st, "path": path}


def analyse_depth(res: dict) -> list[dict]:
    """Per (architecture, N, depth): mean and SE over seeds of the final test and train accuracy (a
    diverged run counts at chance), with xi, L_max = 6 xi of paper 1 and depth / L_max; and per (architecture, N) the
    trainability boundary (:func:`qmf_sim.sweep.boundary_depths` on the seed means, midpoint between
    chance and the best mean) in the column ``boundary``."""
    from qmf_sim.sweep import boundary_depths
    from qmf_sim.training import accuracy_for_plot
    from qmf_sym.spacing import optimal_spacing

    st = res["settings"]
    rows = []
    for arch in ("plain", "residual"):
        for n in st["levels"]:
            xi = float(optimal_spacing(int(n)).xi)
            accs, trs = [], []
            for d in st["depths"]:
                recs = [res["records"][_key(a, c, st["alpha"])] for a, c in res["plan"]
                        if a == arch and c.levels == n and c.depth == d]
                te = np.array([accuracy_for_plot(r) for r in recs])
                tr = np.array([r["final_train_acc"] if r["final_train_acc"] is not None else r["chance"] for r in recs])
                accs.append(te.mean())
                trs.append(tr)
                se = lambda v: v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else None  # noqa: E731
                rows.append({"architecture": arch, "levels": n, "depth": d, "xi": xi, "L_max_6xi": 6 * xi,
                             "depth_over_L_max": d / (6 * xi),
                             "test_acc": te.mean(), "test_acc_se": se(te),
                             "train_acc": tr.mean(), "train_acc_se": se(tr),
                             "seeds": len(te), "chance": recs[0]["chance"]})
            chance = rows[-1]["chance"]
            L_b, flag = boundary_depths(st["depths"], accs, chance)
            for r in rows[-len(st["depths"]):]:
                r["boundary"], r["boundary_flag"] = L_b, flag
    return rows


def plot_depth(rows: list[dict], settings: dict):
    """The figure ``residual_trainable_depth``: plain against residual quantized networks trained beyond
    paper 1's L_max = 6 xi (sec. 5, Fig. 3; residual connections, sec. 6); returns the matplotlib figure,
    unsaved (:func:`run` saves it).

    ``rows``: the rows of :func:`analyse_depth`; ``settings``: those of the sweep (``res["settings"]`` of
    :func:`trainable_depth`: ``alpha``, ``steps``, ``width``).  One panel per N: final test accuracy
    (filled markers, solid) and train accuracy (hollow, dashed) against depth on a log axis, plain and
    residual, mean +- standard error over seeds; the dashed vertical line is L_max = 6 xi and the
    dotted horizontal one chance.
    """
    plt = io.plt()
    levels = sorted({r["levels"] for r in rows})
    fig, axes = plt.subplots(1, len(levels), figsize=(5.2 * len(levels), 4.2), squeeze=False)
    for ax, n in zip(axes[0], levels):
        for k, arch in enumerate(("plain", "residual")):
            rr = [r for r in rows if r["levels"] == n and r["architecture"] == arch]
            se = [r["test_acc_se"] or 0.0 for r in rr]
            ax.errorbar([r["depth"] for r in rr], [r["test_acc"] for r in rr], yerr=se, fmt="o-", color=f"C{k}",
                        capsize=2,
                        label=f"{arch}" + (rf" ($\alpha$ = {settings['alpha']:g})" if arch == "residual" else "")
                        + ": test")
            ax.errorbar([r["depth"] for r in rr], [r["train_acc"] for r in rr],
                        yerr=[r["train_acc_se"] or 0.0 for r in rr], fmt="o--", mfc="none", color=f"C{k}", capsize=2,
                        lw=0.8, label=f"{arch}: train")
        ax.axvline(rr[0]["L_max_6xi"], color="k", ls="--", lw=1,
                   label=rf"$L_{{max}} = 6\xi = {rr[0]['L_max_6xi']:.1f}$")
        ax.axhline(rr[0]["chance"], color="0.6", ls=":", lw=1, label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("depth L (hidden layers)")
        ax.set_ylabel(f"accuracy (step {settings['steps']})")
        ax.set_title(f"N = {n}, width {settings['width']}, digits", fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ============================================================================ the part
def run(out_dir, quick: bool = False, progress: bool = False, sweep: bool = True) -> list[Path]:
    """Both experiments; writes the CSVs, the JSONL and the figures into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prop = propagation(quick)
    st = prop["settings"]
    rows = []
    for a, d in prop["alphas"].items():
        C, Q = d["C"], d["Q"]
        for l in range(len(d["C_mf"])):
            rows.append({"alpha": a, "layer": l + 1, "tau": d["tau"][l], "C_network": C[:, l].mean(),
                         "C_network_se": C[:, l].std(ddof=1) / math.sqrt(C.shape[0]), "C_meanfield": d["C_mf"][l],
                         "Q_network": Q[:, l].mean(), "Q_meanfield": d["Q_mf"][l], "C_fc_meanfield": prop["fc"][l]})
    seeds = list(range(st["seeds"]))
    paths = [io.write_csv(out_dir / "residual_propagation.csv", list(rows[0]), rows, seeds=seeds)]
    ex = fit_exponents(prop)
    paths.append(io.write_csv(out_dir / "residual_exponents.csv", list(ex[0]), ex, seeds=seeds))
    paths += io.save_figure(plot_propagation(prop), out_dir, "residual_propagation")
    if sweep:
        res = trainable_depth(out_dir, quick, progress)
        an = analyse_depth(res)
        paths.append(res["path"])
        paths.append(io.write_csv(out_dir / "residual_trainable_depth.csv", list(an[0]), an,
                                  seeds=res["settings"]["seeds"]))
        paths += io.save_figure(plot_depth(an, res["settings"]), out_dir, "residual_trainable_depth")
    return paths


def reproduce(out_dir, quick: bool = False) -> list[Path]:
    """The ``residual`` part of ``qmf reproduce``."""
    return run(out_dir, quick)
