"""Paper 1, App. H: training and test accuracy against training step for each depth, and the trainable-depth
sweep with the backward condition enforced and not, side by side.

The backward condition (App. J): the clipped STE of eq. 19 with slope s has a backward gain per layer
``sigma_w^2 s^2 P(|u| < 1)`` at the fixed point Q*; the paper trains with s = 1 and says enforcing gain 1
"has no significant effect".  Here every run is trained twice from the same initial weights: with
s = 1 and with s = :func:`qmf_sim.training.critical_ste_slope` (gain exactly 1; at sigma_w_opt it is the
``ste_slope`` that ``qmf init`` prints).  The runs are ordinary trainable-depth runs
(:func:`qmf_sim.sweep.levels_grid` / :func:`qmf_sim.sweep.sigma_grid`, trained as ensembles by
:func:`qmf_sim.sweep.run_sweep`, resumable in ``app_h_runs.jsonl``), with checkpoints every few steps.

Panels: the depth x N panel (sigma_w = sigma_w_opt(N), where the critical slope is close to 1 for N >= 3)
and, outside ``quick``, sign activations (N = 2) at sigma_w far from 1, where the forward pass is the same
for every sigma_w (sign is scale invariant) and only the backward gain changes: the cleanest isolation
of the backward pass.

What the comparison can and cannot separate: the slope multiplies every backward factor, so the critical
slope changes both the per-layer gain (to exactly 1) and the size of the gradients reaching the lower
layers (an effective per-layer learning rate).  Where the critical slope is close to 1 (N >= 3 at
sigma_w_opt: 1.0196 for N = 3, 1.0008 for N = 10) both effects are small; where it is far from 1 (N = 2) a
difference in trainable depth may come from either.

Written (the ``app_h`` part of ``qmf reproduce``): ``app_h_curves.csv`` (accuracy against step),
``app_h_depth.csv`` (final accuracy against depth, both slopes, and their paired difference),
``app_h_boundaries.csv`` (the trainable depth L_b per seed and rule, and the paired difference in
standard errors) and the figures ``app_h_curves`` and ``app_h_depth``.

Notebook use::

    from qmf_sim.experiments import app_h as E
    res = E.train(out, quick=True)          # {key: record}, plan
    tables = E.analyse(res)
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io

__all__ = ["CAPTIONS", "RULES", "settings", "plan", "train", "analyse", "plot_curves", "plot_depth", "run",
           "reproduce"]

RULES = ("1", "critical")
CAPTIONS = {
    "app_h_curves": (
        "Paper 1, App. H: accuracy against training step, by depth",
        "Train (left) and test (right) accuracy against SGD step on the digits set for each depth (colour), with the "
        "clipped-STE slope 1 (solid) and the slope with backward gain 1 (dashed); mean over seeds. One row per "
        "column of the sweep (N at sigma_w_opt; N = 2 at other sigma_w).",
        "Paper: accuracy in training time; networks deeper than ~6 xi do not train."),
    "app_h_depth": (
        "Paper 1, App. H: the backward condition and the trainable depth",
        "Final test accuracy against depth with STE slope 1 and with the backward gain set to 1, mean +-1 SE over "
        "seeds (the same initial weights for both); the titles give the trainable depth L_b (midpoint crossing) of "
        "each and their paired difference in standard errors.",
        "Paper: enforcing the backward condition has no significant effect."),
}


def settings(quick: bool) -> dict:
    """The sweep: depths, seeds, size, the N of the levels panel and the sigma_w of the N = 2 panel."""
    from qmf_sym import _validate as V

    if V.flag("quick", quick):
        return dict(depths=[2, 8, 24], seeds=[0, 1], width=48, steps=120, lr=2e-2, levels=[2, 4], sign_sigma_w=[],
                    eval_steps=(20, 40, 60, 80, 100, 120))
    return dict(depths=[4, 8, 12, 16, 24, 32], seeds=[0, 1, 2], width=64, steps=300, lr=2e-2, levels=[2, 3],
                sign_sigma_w=[0.5, 2.0], eval_steps=(25, 50, 100, 150, 200, 300))


def _column(cfg):
    return (int(cfg.levels), round(float(cfg.sigma_w), 6))


def plan(quick: bool = False, **over) -> tuple[list, dict]:
    """[(rule, TrainConfig)] for both rules (:data:`RULES`) and the settings (``over`` replaces any)."""
    from dataclasses import replace

    from qmf_sim.sweep import levels_grid, sigma_grid
    from qmf_sim.training import critical_ste_slope

    st = {**settings(quick), **over}
    base = dict(width=st["width"], steps=st["steps"], lr=st["lr"], eval_steps=tuple(st["eval_steps"]), device="cpu")
    cfgs = []
    for seed in st["seeds"]:
        cfgs += levels_grid(st["depths"], st["levels"], seed=seed, **base)
        if st["sign_sigma_w"]:
            cfgs += sigma_grid(st["depths"], st["sign_sigma_w"], levels=2, seed=seed, **base)
    out = []
    for c in cfgs:
        out.append(("1", replace(c, ste_slope=1.0).resolved()))
        out.append(("critical", replace(c, ste_slope=critical_ste_slope(c.levels, c.sigma_w, c.sigma_b)).resolved()))
    return out, st


def train(out_dir, quick: bool = False, progress: bool = False, **over) -> dict:
    """Train (resumably, as ensembles) every run of :func:`plan` into ``out_dir/app_h_runs.jsonl``."""
    from qmf_sim.sweep import run_sweep

    runs, st = plan(quick, **over)
    path = Path(out_dir) / "app_h_runs.jsonl"
    results = run_sweep([c for _, c in runs], path, progress=progress, threads=1)
    return {"records": results, "plan": runs, "settings": st, "path": path}


def _mean_se(v):
    v = np.asarray(v, float)
    return float(v.mean()), (float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None)


def analyse(res: dict) -> dict:
    """Three tables (lists of dicts): ``curves`` (accuracy against step per rule, column, depth: mean and SE
    over seeds), ``depth`` (final accuracy against depth per rule, and the paired critical - 1 difference)
    and ``boundaries`` (per column: L_b of each rule per seed by :func:`qmf_sim.sweep.boundary_depths` with
    one midpoint for both rules -- halfway between chance and the best mean final test accuracy of the
    column -- their means +- SE and the paired difference in SE)."""
    from qmf_sim.sweep import boundary_depths
    from qmf_sim.training import accuracy_for_plot

    st = res["settings"]
    by = {}
    for rule, c in res["plan"]:
        by.setdefault((_column(c), rule, c.depth), {})[c.seed] = res["records"][c.key()]
    cols = sorted({k[0] for k in by})
    curves, depth_rows, bounds = [], [], []
    for col in cols:
        finals = {}
        for rule in RULES:
            for d in st["depths"]:
                recs = by[(col, rule, d)]
                steps = sorted({cp["step"] for r in recs.values() for cp in r["checkpoints"]})
                for s in steps:
                    tr = [cp["train_acc"] for r in recs.values() for cp in r["checkpoints"] if cp["step"] == s]
                    te = [cp["test_acc"] for r in recs.values() for cp in r["checkpoints"] if cp["step"] == s]
                    (trm, trs), (tem, tes) = _mean_se(tr), _mean_se(te)
                    curves.append({"rule": rule, "levels": col[0], "sigma_w": col[1], "depth": d, "step": s,
                                   "train_acc": trm, "train_acc_se": trs, "test_acc": tem, "test_acc_se": tes,
                                   "seeds": len(te)})
                finals[(rule, d)] = {s: accuracy_for_plot(r) for s, r in recs.items()}
        chance = next(iter(by[(col, RULES[0], st["depths"][0])].values()))["chance"]
        best = max(np.mean(list(v.values())) for v in finals.values())
        seeds = sorted(finals[(RULES[0], st["depths"][0])])
        for d in st["depths"]:
            a1, a2 = finals[("1", d)], finals[("critical", d)]
            diff = [a2[s] - a1[s] for s in seeds if s in a1 and s in a2]
            (m1, s1), (m2, s2), (md, sd) = _mean_se(list(a1.values())), _mean_se(list(a2.values())), _mean_se(diff)
            slope = float(by[(col, "critical", d)][seeds[0]]["config"]["ste_slope"])
            depth_rows.append({"levels": col[0], "sigma_w": col[1], "depth": d, "slope_critical": slope,
                               "test_acc_slope1": m1, "test_acc_slope1_se": s1, "test_acc_critical": m2,
                               "test_acc_critical_se": s2, "diff": md, "diff_se": sd,
                               "diff_z": (md / sd) if sd else None})
        Lb = {rule: {} for rule in RULES}
        for rule in RULES:
            for s in seeds:
                L, flag = boundary_depths(st["depths"], [finals[(rule, d)][s] for d in st["depths"]], chance, best)
                Lb[rule][s] = (L, flag)
        paired = [Lb["critical"][s][0] - Lb["1"][s][0] for s in seeds
                  if math.isfinite(Lb["critical"][s][0]) and math.isfinite(Lb["1"][s][0])]
        row = {"levels": col[0], "sigma_w": col[1], "slope_critical": depth_rows[-1]["slope_critical"],
               "chance": chance, "best": best, "midpoint": 0.5 * (chance + best)}
        for rule in RULES:
            ok = [v[0] for v in Lb[rule].values() if math.isfinite(v[0])]
            m, se = _mean_se(ok) if ok else (None, None)
            row[f"L_b_slope{rule}"] = m
            row[f"L_b_slope{rule}_se"] = se
            row[f"flags_slope{rule}"] = ";".join(v[1] for v in Lb[rule].values())
        md, sd = _mean_se(paired) if paired else (None, None)
        row.update({"L_b_diff": md, "L_b_diff_se": sd, "L_b_diff_z": (md / sd) if (sd and md is not None) else None,
                    "pairs": len(paired), "xi": _xi(col)})
        row["L_b_slope1_over_xi"] = row["L_b_slope1"] / row["xi"] if row["L_b_slope1"] is not None else None
        bounds.append(row)
    return {"curves": curves, "depth": depth_rows, "boundaries": bounds}


def _xi(col):
    from qmf_sym.activations import Staircase
    from qmf_sym.maps import fixed_point

    return float(fixed_point(Staircase.uniform(col[0]), col[1]).xi)


def plot_curves(tables: dict, settings: dict):
    """The figure ``app_h_curves``: paper 1's App. H accuracy in training time, for each depth; returns the
    matplotlib figure, unsaved (:func:`run` saves it).

    ``tables``: the result of :func:`analyse` (its ``curves`` table is drawn); ``settings``: those of the
    sweep (:func:`settings`; its ``depths`` set the colours).  One row of panels per column of the
    sweep (N at sigma_w_opt(N), and N = 2 at the other sigma_w outside ``quick``): train accuracy (left)
    and test accuracy (right) against the SGD step, one colour per depth, the clipped STE of eq. 19 with
    slope 1 solid and with the slope of backward gain 1 (App. J) dashed, the mean over seeds.
    """
    plt = io.plt()
    cols = sorted({(r["levels"], r["sigma_w"]) for r in tables["curves"]})
    fig, axes = plt.subplots(len(cols), 2, figsize=(10, 2.9 * len(cols)), squeeze=False)
    cmap = plt.get_cmap("viridis")
    depths = settings["depths"]
    for i, col in enumerate(cols):
        for j, what in enumerate(("train_acc", "test_acc")):
            ax = axes[i, j]
            for k, d in enumerate(depths):
                colr = cmap(k / max(len(depths) - 1, 1))
                for rule, ls in (("1", "-"), ("critical", "--")):
                    rr = [r for r in tables["curves"] if (r["levels"], r["sigma_w"]) == col and r["depth"] == d
                          and r["rule"] == rule]
                    ax.plot([r["step"] for r in rr], [r[what] for r in rr], ls, color=colr, lw=1.2,
                            label=(f"L = {d}" if rule == "1" else None))
            ax.set_ylim(0, 1)
            ax.set_title(f"N = {col[0]}, sigma_w = {col[1]:.3g}: {what.replace('_acc', '')} accuracy", fontsize=9)
            ax.set_xlabel("SGD step")
            if j == 0:
                ax.set_ylabel("accuracy")
        axes[i, 1].legend(fontsize=6, ncol=2, loc="lower right")
    axes[0, 0].plot([], [], "k-", label="STE slope 1")
    axes[0, 0].plot([], [], "k--", label="backward gain 1")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_depth(tables: dict, settings: dict):
    """The figure ``app_h_depth``: does enforcing the backward condition (paper 1, App. J) change the
    trainable depth (App. H)?  Returns the matplotlib figure, unsaved (:func:`run` saves it).

    ``tables``: the result of :func:`analyse` (its ``depth`` and ``boundaries`` tables); ``settings``: those
    of the sweep (:func:`settings`; ``steps`` labels the axis).  One panel per column of the sweep: the
    final test accuracy against depth with STE slope 1 and with the critical slope (backward gain 1),
    mean +- standard error over seeds from the same initial weights; the dotted line is the midpoint
    between chance and the best mean accuracy that defines the trainable depth L_b, the dashed one 6 xi
    (sec. 5), and the title gives L_b of both rules and their paired difference in standard errors.
    """
    plt = io.plt()
    b = tables["boundaries"]
    fig, axes = plt.subplots(1, len(b), figsize=(4.2 * len(b), 3.9), squeeze=False)
    for ax, row in zip(axes[0], b):
        col = (row["levels"], row["sigma_w"])
        rr = [r for r in tables["depth"] if (r["levels"], r["sigma_w"]) == col]
        d = [r["depth"] for r in rr]
        ax.errorbar(d, [r["test_acc_slope1"] for r in rr], yerr=[r["test_acc_slope1_se"] or 0 for r in rr], fmt="o-",
                    capsize=2, label="STE slope 1")
        ax.errorbar(d, [r["test_acc_critical"] for r in rr], yerr=[r["test_acc_critical_se"] or 0 for r in rr],
                    fmt="s--", capsize=2, label=f"backward gain 1 (slope {row['slope_critical']:.3f})")
        ax.axhline(row["midpoint"], color="0.6", ls=":", lw=1)
        ax.axvline(6 * row["xi"], color="k", ls="--", lw=0.8, label=r"$6\xi$")
        fmt = lambda m, s: "n/a" if m is None else (f"{m:.1f}" + (f"+-{s:.1f}" if s is not None else ""))  # noqa: E731
        z = row["L_b_diff_z"]
        ax.set_title(f"N = {col[0]}, sigma_w = {col[1]:.3g}\nL_b: {fmt(row['L_b_slope1'], row['L_b_slope1_se'])} vs "
                     f"{fmt(row['L_b_slopecritical'], row['L_b_slopecritical_se'])}"
                     + (f" (diff {z:+.1f} SE)" if z is not None else ""), fontsize=8)
        ax.set_xlabel("depth L")
        ax.set_ylabel(f"test accuracy (step {settings['steps']})")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def run(out_dir, quick: bool = False, progress: bool = False) -> list[Path]:
    """Train (resumably), analyse and write the tables and figures into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = train(out_dir, quick, progress)
    t = analyse(res)
    seeds = list(res["settings"]["seeds"])
    paths = [res["path"]]
    for name in ("curves", "depth", "boundaries"):
        paths.append(io.write_csv(out_dir / f"app_h_{name}.csv", list(t[name][0]), t[name], seeds=seeds))
    paths += io.save_figure(plot_curves(t, res["settings"]), out_dir, "app_h_curves")
    paths += io.save_figure(plot_depth(t, res["settings"]), out_dir, "app_h_depth")
    return paths


def reproduce(out_dir, quick: bool = False) -> list[Path]:
    """The ``app_h`` part of ``qmf reproduce``."""
    return run(out_dir, quick)
