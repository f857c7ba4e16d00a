"""Paper 1, sec. 5, Fig. 3: the trainable-depth sweep (depth x sigma_w and depth x N) and its heat maps.

Notebook use::

    from qmf_sim.experiments import trainable_depth as E
    written, results, plan, seconds = E.run("quick", out="out/td")      # resumable
    an = E.analyse_panel([results[c.key()] for c in plan["sigma"]], "sigma")

Writes into ``out``: ``runs.jsonl`` (one record per run, appended as each finishes; re-running
resumes; two sweeps on one file share the work), ``summary.csv``, ``fit.json`` (boundary constants)
and the heat maps ``trainable_depth_sigma.png/.pdf`` (depth x sigma_w, N fixed) and
``trainable_depth_levels.png/.pdf`` (depth x N, sigma_w optimal) with the curves xi, 4 xi and 6 xi of
the mean-field theory.  Presets: ``qmf_sim.sweep.PRESETS``.  Files only through :mod:`qmf_sim.io`.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from qmf_sim import io

SIGMA_PANEL = "sigma"
LEVELS_PANEL = "levels"
PANELS = (SIGMA_PANEL, LEVELS_PANEL)


def build_plan(preset_name="smoke", depths=None, sigma_w=None, levels=None, width=None, steps=None, lr=None,
               data=None, device=None, sigma_levels=None, seed=0, panels=None, ste_slope=1.0,
               activation="staircase"):
    """The runs of a sweep: ``{"sigma": [TrainConfig...], "levels": [...]}``; validates everything first.

    ``activation``: ``"staircase"`` (the paper's sweep), or a continuous activation of
    :data:`qmf_sim.training.ACTIVATIONS` for the depth x sigma_w panel only (no ``levels``,
    ``sigma_levels`` or ``ste_slope``; its columns: the preset's multiples of the edge-of-chaos sigma_w at
    sigma_b = 0, :func:`qmf_sym.maps.edge_of_chaos`, unless ``sigma_w`` is given; trained with the true
    derivative, no STE).

    ``panels``: which grids, a non-empty subset of ``("sigma", "levels")``; default (None) both for the
    staircase and the depth x sigma_w panel alone for a continuous activation, for which asking for the
    depth x N panel is refused.

    ``ste_slope``: the clipped-STE slope of every run (default 1, the paper's sec. 5), or ``"critical"``:
    per run the slope with backward gain 1 at its fixed point (:func:`qmf_sim.training.critical_ste_slope`,
    App. H/J).

    ``data``: None (the digits set, :func:`qmf_sim.data.load_digits_dataset`), ``"mnist"`` or an MNIST
    directory (:func:`qmf_sim.data.load_dataset`), loaded here: a folder that does not exist or holds no
    valid MNIST files is a ``ValueError`` naming ``data``."""
    from qmf_sim.data import load_dataset
    from qmf_sim.sweep import PRESETS, levels_grid, preset, sigma_grid
    from qmf_sim.training import ACTIVATIONS, TrainConfig, sigma_w_opt
    from qmf_sym import _validate as V
    from qmf_sym.activations import N_MAX

    V.choice("preset_name", preset_name, PRESETS)
    p = preset(preset_name)
    V.choice("activation", activation, ACTIVATIONS)
    if panels is None:
        panels = PANELS if activation == "staircase" else (SIGMA_PANEL,)
    if isinstance(panels, str) or not isinstance(panels, (list, tuple)):
        raise ValueError(f"panels must be a non-empty list of {list(PANELS)}, got {panels!r}")
    panels = tuple(panels)
    if not panels or any(x not in PANELS for x in panels):
        raise ValueError(f"panels must be a non-empty subset of {list(PANELS)}, got {list(panels)}")
    if activation != "staircase":
        for name, v in (("levels", levels), ("sigma_levels", sigma_levels)):
            if v is not None:
                raise ValueError(f"{name} applies to the staircase only (its number of states), not "
                                 f"activation={activation!r}")
        if LEVELS_PANEL in panels:
            raise ValueError(f"panels: the depth x N panel is for the staircase, not activation={activation!r}")
        if ste_slope != 1.0:
            raise ValueError(f"ste_slope applies to the staircase only (eq. 19), not activation={activation!r}")
    depths = p["depths"] if depths is None else V.integers("depths", depths, 2)
    levels = p["levels"] if levels is None else V.integers("levels", levels, 2)
    if sigma_w is not None:
        sigma_w = [float(s) for s in V.sigma("sigma_w", V.array("sigma_w", sigma_w, ndim=1))]
    width = p["width"] if width is None else width
    steps = p["steps"] if steps is None else steps
    lr = p["lr"] if lr is None else lr
    n_sig = p["sigma_levels"] if sigma_levels is None else V.integer("sigma_levels", sigma_levels, 2, N_MAX)
    for d in depths:
        V.integer("depth", d, 2)
    for n in levels:
        V.integer("levels", n, 2)
    V.integer("width", width, 1)
    V.integer("steps", steps, 1)
    if lr is not None:
        V.positive("lr", lr)
    if sigma_w is not None:
        for s in sigma_w:
            V.sigma("sigma_w", s)
    if isinstance(ste_slope, str):
        V.choice("ste_slope", ste_slope, ("critical",))
    else:
        V.positive("ste_slope", ste_slope)
    base = dict(width=width, steps=steps, lr=lr, data=data, device=device, seed=seed)
    if not isinstance(ste_slope, str):
        base["ste_slope"] = float(ste_slope)
    TrainConfig(depth=max(depths), levels=n_sig, sigma_w=1.0, activation=activation, **base).validate()
    try:  # unreadable data: clear error now, before any training
        load_dataset(data)
    except (OSError, ValueError, EOFError) as exc:  # a missing / damaged MNIST folder, a failed download
        raise ValueError(f"data (None: the digits set; 'mnist'; or an MNIST directory) cannot be loaded: {exc}") \
            from None
    plan = {}
    if SIGMA_PANEL in panels:
        if activation == "staircase":
            s0 = sigma_w_opt(n_sig)
        else:
            s0 = TrainConfig(depth=2, activation=activation, sigma_b=0.0).resolved().sigma_w  # the edge of chaos
        sws = sigma_w if sigma_w is not None else [f * s0 for f in p["sigma_w_factors"]]
        plan[SIGMA_PANEL] = sigma_grid(depths, sws, levels=n_sig, activation=activation, **base)
    if LEVELS_PANEL in panels:
        plan[LEVELS_PANEL] = levels_grid(depths, levels, **base)
    if ste_slope == "critical":
        from dataclasses import replace

        from qmf_sim.training import critical_ste_slope

        plan = {k: [replace(c, ste_slope=critical_ste_slope(c.levels, c.sigma_w, c.sigma_b)).resolved() for c in v]
                for k, v in plan.items()}
    return plan


# ---------------------------------------------------------------------------------- figures
def _edges(v, log=False):
    import numpy as np

    v = np.asarray(v, float)
    if len(v) == 1:
        return np.array([v[0] * 0.8, v[0] * 1.25]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    t = np.log(v) if log else v
    mid = (t[1:] + t[:-1]) / 2
    e = np.concatenate([[t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]])
    return np.exp(e) if log else e


def xi_sigma_curve(levels, sigma_ws):
    """xi(sigma_w) for Staircase.uniform(levels), or for ``levels`` an activation of
    :mod:`qmf_sym.activations` (qmf_sym.maps.fixed_point; nan where unavailable, inf at the edge of chaos)."""
    import numpy as np

    from qmf_sym import _validate as V
    from qmf_sym.activations import N_MAX, Activation, Staircase
    from qmf_sym.maps import fixed_point

    act = levels if isinstance(levels, Activation) else Staircase.uniform(V.integer("levels", levels, 2, N_MAX))
    out = []
    for s in V.positive("sigma_ws", V.array("sigma_ws", sigma_ws, ndim=1)):
        try:
            out.append(float(fixed_point(act, float(s)).xi))
        except (ValueError, ArithmeticError):  # no non-trivial fixed point, or none in float64: no curve
            out.append(np.nan)
    return np.array(out)


def xi_levels_curve(levels):
    """xi(N) at the optimal spacing (qmf_sym.spacing.optimal_spacing(N).xi)."""
    import numpy as np

    from qmf_sym import _validate as V
    from qmf_sym.spacing import optimal_spacing

    return np.array([float(optimal_spacing(n).xi) for n in V.integers("levels", levels, 2)])


def _act(record):
    """The activation of a run record (its config's ``activation``, staircase for records without it)."""
    from qmf_sim.training import TrainConfig

    return TrainConfig.from_dict(record["config"]).act()


def analyse_panel(records, panel):
    """Heat-map table, per-column boundaries and xi, and the fit of L_b = c xi for one panel."""
    import numpy as np

    from qmf_sim.sweep import boundary_depths, fit_boundary_constant, grid_table

    field = "sigma_w" if panel == SIGMA_PANEL else "levels"
    cols, depths, A = grid_table(records, field)
    chance = records[0].get("chance", 0.1)
    best = float(np.nanmax(A))
    if panel == SIGMA_PANEL:
        xi = xi_sigma_curve(_act(records[0]), cols)
    else:
        xi = xi_levels_curve(cols)
    bounds = [boundary_depths(depths, A[:, j], chance, best) for j in range(len(cols))]
    fit = fit_boundary_constant(xi, [b[0] for b in bounds])
    fit.update({"panel": panel, "columns": cols, "xi": xi.tolist(), "boundary": [b[0] for b in bounds],
                "boundary_flag": [b[1] for b in bounds], "chance": chance, "best": best,
                "midpoint": 0.5 * (chance + best), "depths": depths, "acc": A.tolist()})
    return fit


def plot_panel(records, panel, out_base: Path, analysis=None) -> list[Path]:
    """One heat map of paper 1's Fig. 3: test accuracy over depth (rows) and the panel's columns.

    ``records``: the run records of one panel (``runs.jsonl`` rows); ``panel``: ``"sigma"`` (columns
    sigma_w on a log axis, N fixed, or a continuous activation) or ``"levels"`` (columns N at
    sigma_w^opt(N), the optimal spacing of eq. 16-17 and sec. 5).  Over the map: the mean-field curves
    xi, 4 xi and 6 xi (eq. 7; xi is infinite, hence not drawn, at a continuous activation's edge of
    chaos), the boundary depth of each
    column (:func:`analyse_panel`; triangles where it lies beyond the deepest run) and the fitted
    boundary L = c xi with its bootstrap SE.  ``analysis``: a precomputed :func:`analyse_panel` result.
    Writes ``out_base`` + ``.png`` and ``.pdf`` through :mod:`qmf_sim.io`; returns both paths."""
    import numpy as np

    plt = io.plt()
    an = analysis or analyse_panel(records, panel)
    cols, depths, A = an["columns"], an["depths"], np.array(an["acc"])
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    if panel == SIGMA_PANEL:
        xe = _edges(cols, log=True)
        fine = np.geomspace(xe[0], xe[-1], 60)
        xi_fine = xi_sigma_curve(_act(records[0]), fine)
        xi_fine[~np.isfinite(xi_fine)] = np.nan  # no curve where xi is infinite (the edge of chaos)
        c0 = records[0]["config"]
        name = c0.get("activation", "staircase")
        ax.set_xscale("log")
        ax.set_xlabel(r"$\sigma_w$  (N = %d)" % c0["levels"] if name == "staircase" else r"$\sigma_w$  (%s)" % name)
    else:
        xe = _edges(cols)
        fine = np.arange(min(cols), max(cols) + 1)
        xi_fine = xi_levels_curve(fine)
        ax.set_xlabel(r"N (levels), $\sigma_w = \sigma_w^{opt}(N)$")
    ye = _edges(depths)
    m = ax.pcolormesh(xe, ye, A, cmap="viridis", vmin=an["chance"], vmax=max(an["best"], an["chance"] + 1e-3),
                      shading="flat")
    fig.colorbar(m, ax=ax, label=f"test accuracy (step {records[0]['config']['steps']})")
    for k, ls in ((1, ":"), (4, "-"), (6, "--")):
        ax.plot(fine, k * xi_fine, "w" if k != 1 else "r", ls=ls, lw=1.5, label=(r"$\xi$" if k == 1 else rf"${k}\xi$"))
    b = np.array(an["boundary"], float)
    ax.plot(cols, b, "o", color="orange", ms=5, label="boundary (midpoint)")
    above = [c for c, f in zip(cols, an["boundary_flag"]) if f == "above"]
    if above:
        ax.plot(above, [depths[-1]] * len(above), "^", color="orange", ms=7, label="boundary beyond range")
    if math.isfinite(an["c"]):
        ax.plot(fine, an["c"] * xi_fine, color="orange", lw=1,
                label=rf"fit $L = {an['c']:.2f}\,\xi$ (SE {an['se_boot']:.2f})")
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylabel("depth L (hidden layers)")
    c0 = records[0]["config"]
    ax.set_title(f"{records[0]['data']['name']}, width {c0['width']}, {c0['steps']} steps", fontsize=10)
    if panel == SIGMA_PANEL:  # one tick per column, no overlapping minor labels
        from matplotlib.ticker import NullFormatter

        ax.set_xticks(cols, [f"{c:.3g}" for c in cols])
        ax.xaxis.set_minor_formatter(NullFormatter())
    # below the axes (not over the data); grey so that the white xi-curves show in it
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, facecolor="0.6", framealpha=1)
    fig.tight_layout()
    return io.save_figure(fig, out_base.parent, out_base.name, dpi=120)


def write_outputs(plan, results: dict, out: Path) -> list[Path]:
    """summary.csv, fit.json and the heat maps for the panels of ``plan``."""
    from qmf_sim.training import summarize

    out = Path(out)
    written = []
    rows = []
    fits = {}
    for panel, cfgs in plan.items():
        recs = [results[c.key()] for c in cfgs if c.key() in results]
        for r in recs:
            rows.append({"panel": panel, **summarize(r)})
        if not recs:
            continue
        an = analyse_panel(recs, panel)
        fits[panel] = an
        written += plot_panel(recs, panel, out / f"trainable_depth_{panel}", an)
    if rows:
        written.append(io.write_csv(out / "summary.csv", list(rows[0]), rows))
    written.append(io.write_json(out / "fit.json", fits))
    return written


def run(preset_name="smoke", out="results/trainable_depth", scheduler=None, progress=True, threads=None,
        ensemble=True, max_members=None, **kw):
    """Plan, run (resumably) and write the outputs; returns (written paths, results, plan, seconds).

    ``ensemble``: train the runs of one depth together (:mod:`qmf_sim.ensemble`, default; at most
    ``max_members`` at a time), else one by one; ``scheduler``: a Dask address or Client (one task per
    ensemble)."""
    from qmf_sim.sweep import run_sweep
    from qmf_sym import _validate as V

    out = Path(out)
    plan = build_plan(preset_name, **kw)
    if threads is None:
        from qmf_sim.sweep import preset

        threads = preset(preset_name).get("threads")
    if threads is not None:
        threads = V.integer("threads", threads, 1)
    out.mkdir(parents=True, exist_ok=True)
    allc = [c for cfgs in plan.values() for c in cfgs]
    t0 = time.perf_counter()
    from qmf_sim.progress import enabled  # bars only on a terminal and without --no-progress

    results = run_sweep(allc, out / "runs.jsonl", scheduler=scheduler, progress=enabled(progress), threads=threads,
                        ensemble=ensemble, max_members=max_members)
    elapsed = time.perf_counter() - t0
    written = [out / "runs.jsonl"] + write_outputs(plan, results, out)
    return written, results, plan, elapsed


def _cell(v, spec, width=7):
    """A number for the terminal table; ``n/a`` for a missing (JSON null) or non-finite value."""
    return f"{'n/a':>{width}}" if v is None or not math.isfinite(v) else format(v, f"{width}{spec}")


def format_grid(analysis) -> str:
    """A text table of an analysed panel (depth rows, column heads), for the terminal.  Works on the
    analysis dict or on it read back from ``fit.json`` (non-finite values there are null)."""
    cols, depths, A = analysis["columns"], analysis["depths"], analysis["acc"]
    lines = ["depth " + " ".join(_cell(c, ".3g") for c in cols)]
    for i, d in enumerate(depths):
        lines.append(f"{d:>5} " + " ".join(_cell(A[i][j], ".3f") for j in range(len(cols))))
    lines.append("xi    " + " ".join(_cell(x, ".2f") for x in analysis["xi"]))
    lines.append("L_b   " + " ".join(_cell(b, ".2f") if b is not None and math.isfinite(b) else f"{f:>7}"
                                     for b, f in zip(analysis["boundary"], analysis["boundary_flag"])))
    if analysis["c"] is None or not math.isfinite(analysis["c"]):
        lines.append(f"c: no fit ({analysis['n_used']} columns with a boundary inside the depth range)")
    else:
        lines.append(f"c = {_cell(analysis['c'], '.3f', 0)} (SE {_cell(analysis['se'], '.3f', 0)}, bootstrap SE "
                     f"{_cell(analysis['se_boot'], '.3f', 0)}, {analysis['n_used']} columns)")
    return "\n".join(lines)


def reproduce(out_dir: Path, quick: bool = False) -> list[Path]:
    """``qmf reproduce --only trainable_depth``: paper 1's Fig. 3 sweep (sec. 5) at the smoke preset (the
    quick preset with ``quick``) into ``out_dir/trainable_depth``, resumable (:func:`run`); returns the
    files written (records, summary CSV, fit JSON, both heat maps as PNG and PDF)."""
    from qmf_sim.progress import enabled

    written, results, plan, elapsed = run("quick" if quick else "smoke", Path(out_dir) / "trainable_depth",
                                          progress=enabled())
    return written


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"trainable_depth": ("trainable_depth_sigma", "trainable_depth_levels")}
