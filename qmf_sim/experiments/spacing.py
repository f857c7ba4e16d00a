"""Paper 1, Fig. 2 and the chi_max / D_opt table (eq. 17, eq. 18): run, analyse, plot, write.

Notebook use::

    from qmf_sim.experiments import spacing as E
    res = E.run(quick=True)            # certified rows at dps digits + a float64 table for the fits
    summary = E.analyse(res)           # the eq. 18 regressions, local slopes
    fig = E.plot(res, summary)         # Fig. 2 (matplotlib figure)
    E.write_table(res["rows"], "table.csv")

``reproduce(out_dir, quick)`` does all of it and writes spacing_table.csv, spacing_fit.json and
fig2_spacing.{png,pdf} (the ``spacing`` part of ``qmf reproduce``).  Every file goes through
:mod:`qmf_sim.io`.
"""
from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import numpy as np

from qmf_sim import io
from qmf_sym import _validate as V
from qmf_sym import spacing as S

__all__ = ["table", "write_table", "read_table", "run", "analyse", "plot", "reproduce", "TABLE_COLUMNS",
           "INIT_COLUMNS", "PROOF_COLUMNS"]

TABLE_COLUMNS = [f.name for f in fields(S.OptimalSpacing)]
#: column added after :data:`TABLE_COLUMNS`: sigma_w (sigma_b = 0) putting the uniform
#: staircase (levels -1..1) at D_opt, from :func:`qmf_sym.init.init_for` (sec. 5, corrected)
INIT_COLUMNS = ["sigma_w"]
#: columns added by ``qmf table --prove`` (qmf_sym.proof.proven_table)
PROOF_COLUMNS = ["D_opt_lo", "D_opt_hi", "chi_max_lo", "chi_max_hi", "xi_lo", "xi_hi", "proof"]
_INT_COLUMNS = ("N", "check_dps", "newton_steps")


# ----------------------------------------------------------------------------- tables
def table(levels, dps=None, check=True, progress=False, block=256):
    """:func:`qmf_sym.spacing.table` with a progress bar when ``progress`` is asked for and
    :func:`qmf_sim.progress.enabled` allows it (a terminal, no ``--no-progress`` / ``QMF_NO_PROGRESS``)."""
    from qmf_sim import progress as P

    levels = S.optimum._levels(levels)
    if not P.enabled(V.flag("progress", progress)):
        return S.table(levels, dps=dps, check=check, block=block)
    with P.bar(total=len(levels), desc=f"qmf table (dps={dps})", unit="N", requested=progress) as bar:
        return S.table(levels, dps=dps, check=check, block=block, on_row=lambda row: bar.update(1))


def _record(r):
    """One row as cells: mpmath numbers at the row's requested digits (D_opt, chi_max, xi) or 6
    digits (residual, curvature) as decimal strings; D_opt of N = 2 (undefined) as None; dps as
    'float64' or its int; other mpmath numbers as float."""
    mpmath = None
    digits = r.dps if r.dps else 0
    if digits:
        import mpmath
    rec = {}
    for c in TABLE_COLUMNS:
        v = getattr(r, c)
        if c == "D_opt" and r.N == 2:
            rec[c] = None  # N = 2: chi = 2/pi for every spacing, D_opt is undefined (empty / null)
        elif c in ("D_opt", "chi_max", "xi") and digits:
            rec[c] = mpmath.nstr(v, digits)
        elif c in ("residual", "curvature") and digits:
            rec[c] = mpmath.nstr(v, 6)
        elif c == "dps":
            rec[c] = "float64" if v is None else int(v)
        elif type(v).__module__.startswith("mpmath"):
            rec[c] = float(v)
        else:
            rec[c] = v
    return rec


def _sigma_w_cell(r):
    """The sigma_w cell of a row: :func:`qmf_sym.init.init_for` (sec. 5, corrected) at the row's
    D~_opt and precision, written like D_opt (the row's digits, or the float); None for N = 2 (every
    sigma_w is optimal, as D_opt is undefined)."""
    if r.N == 2:
        return None
    from qmf_sym.init import init_for

    ini = init_for(r.N, dps=r.dps, opt=r)
    if r.dps:
        import mpmath

        return mpmath.nstr(ini.sigma_w, r.dps)
    return float(ini.sigma_w)


def _nonfinite_as_text(v):
    """The table files write a non-finite float as its text ('nan', 'inf'), in CSV and JSON alike
    (the format of the table files since their first version; read back by :func:`read_table`)."""
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v


def write_table(rows, path, proven=None):
    """Write rows (from :func:`qmf_sym.spacing.table`) to ``path``: CSV (``.csv``) or JSON
    (``.json``), through :mod:`qmf_sim.io`.  mpmath numbers are written with their requested digits
    (``dps`` of the row) as decimal strings; floats as ``repr``; N = 2's undefined D_opt as an
    empty cell / null.  ``proven``: rows of :func:`qmf_sym.proof.proven_table` for the same N, added
    as :data:`PROOF_COLUMNS` (decimal strings rounded outward; empty / null where not proven).
    After :data:`TABLE_COLUMNS` comes :data:`INIT_COLUMNS` (``sigma_w``, :func:`_sigma_w_cell`)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".csv", ".json"):
        raise ValueError(f"out extension must be one of ['.csv', '.json'], got {ext!r}")
    recs = [{k: _nonfinite_as_text(v) for k, v in {**_record(r), "sigma_w": _sigma_w_cell(r)}.items()}
            for r in rows]
    cols = TABLE_COLUMNS + INIT_COLUMNS
    if proven is not None:
        by_n = {p.N: p.as_row() for p in proven}
        for rec in recs:
            rec.update({c: by_n[rec["N"]][c] for c in PROOF_COLUMNS})
        cols = TABLE_COLUMNS + INIT_COLUMNS + PROOF_COLUMNS
    if ext == ".csv":
        return io.write_csv(path, cols, recs)
    return io.write_json(path, recs)


def read_table(path):
    """Read a table written by :func:`write_table` as a list of dicts of floats (N, check_dps,
    newton_steps as int; dps as None for float64)."""
    path = Path(path)
    recs = io.read_json(path) if path.suffix.lower() == ".json" else io.read_csv(path)
    out = []
    for rec in recs:
        r = {}
        for k, v in rec.items():
            if k in _INT_COLUMNS:
                r[k] = int(v)
            elif k == "dps":
                r[k] = None if v in ("float64", None, "") else int(v)
            elif k == "proof":
                r[k] = v
            else:
                r[k] = float("nan") if v in (None, "") else float(v)
        out.append(r)
    return out


# ----------------------------------------------------------------------------- Fig. 2
def run(quick=False, progress=True):
    """The certified table (N = 2..256 at 30 digits; quick: 2..64 at 20) and a float64 table
    without re-runs (N = 2..10 000; quick: 2..1000) for the wide-range fits and the figure."""
    levels = (2, 64) if quick else (2, 256)
    dps = 20 if quick else 30
    rows = table(range(levels[0], levels[1] + 1), dps=dps, progress=progress)
    n64 = 1000 if quick else 10000
    f64 = table(range(2, n64 + 1), check=False)
    return {"rows": rows, "f64": f64, "levels": f"{levels[0]}-{levels[1]}", "dps": dps, "N_max_f64": n64}


def analyse(res, fit_range=(3, 100)):
    """The eq. 18 regressions (over ``fit_range`` and over the whole float64 range) and the local
    slopes of log(1 - chi_max) at a few even N, as a JSON-ready summary."""
    rows, f64 = res["rows"], res["f64"]
    fit = S.fit_power_laws(rows, *fit_range)
    fit_wide = S.fit_power_laws(f64, 3, res["N_max_f64"])
    xs, slopes = S.local_slopes([r for r in f64 if r.N % 2 == 0])
    return {
        "paper": "Blumenfeld, Gilboa & Soudry 2019, Fig. 2 / eq. 18",
        "table": {"levels": res["levels"], "dps": res["dps"],
                  "worst_agreement_digits": min(r.agree_digits for r in rows if r.check_dps)},
        "fit": fit,
        "fit_float64_wide_range": fit_wide,
        "local_slope_even_N": {str(int(n)): float(s) for n, s in zip(xs, slopes)
                               if int(round(n)) in (5, 11, 33, 101, 1001, 9999)},
        "notes": "OLS of log(1 - chi_max) and log D_opt on log(N + 1); SEs are classical OLS errors of a "
                 "straight line through a curved (N^-2 ln N) law.  1 - chi_max(N) equals the MSE of Max's "
                 "optimal uniform quantizer of N(0,1) (see qmf_sym.quantization).",
    }


def plot(res, summary):
    """Fig. 2 of paper 1, recomputed: chi(D~; N) with the optima (left), 1 - chi_max(N) and
    D~_opt(N) with the fits, the paper's regression and the large-N asymptotics (right)."""
    from qmf_sym import quantization as Qz

    plt = io.plt()
    rows, f64, fit = res["rows"], res["f64"], summary["fit"]
    fig = plt.figure(figsize=(11, 6.5))
    gs = fig.add_gridspec(2, 2, width_ratios=[1.2, 1])
    axl = fig.add_subplot(gs[:, 0])
    Dg = np.geomspace(0.01, 3, 400)
    for N in (2, 3, 4, 6, 8, 16, 32, 64):
        axl.semilogx(Dg, S.chi_uniform(Dg, N), label=f"N={N}")
    optN = [r for r in rows if r.N in (3, 4, 6, 8, 16, 32, 64)]
    axl.plot([float(r.D_opt) for r in optN], [float(r.chi_max) for r in optN], "k.", label="optimum")
    axl.set_xlabel(r"normalized spacing $\tilde D$")
    axl.set_ylabel(r"$\chi$ (eq. 17)")
    axl.set_title(r"$\chi(\tilde D; N)$ at $\sigma_b = 0$, $C^*=0$")
    axl.legend(fontsize=8)
    N = np.array([r.N for r in f64], float)
    om = np.array([1 - r.chi_max for r in f64])
    axt = fig.add_subplot(gs[0, 1])
    axt.loglog(N, om, "-", lw=2, label=r"$1-\chi_{\max}$ (this work)")
    c = fit["one_minus_chi"]
    axt.loglog(N, np.exp(c["a"]) * (N + 1) ** c["b"], "--",
               label=f"fit N={fit['N_min']}..{fit['N_max']}: $e^{{{c['a']:.3f}}}(N+1)^{{{c['b']:.3f}}}$")
    axt.loglog(N, np.exp(S.PAPER_FIT["a"]) * (N + 1) ** S.PAPER_FIT["b"], ":",
               label=r"paper: $e^{0.71}(N+1)^{-1.82}$")
    Nl = N[N >= 3]
    axt.loglog(Nl, Qz.panter_dite_mse(Nl), "-.", lw=1, label=r"Lloyd-Max (Panter-Dite) $\frac{\sqrt{3}\pi}{2}N^{-2}$")
    axt.set_ylabel(r"$1-\chi_{\max}$")
    axt.legend(fontsize=7)
    axb = fig.add_subplot(gs[1, 1])
    okD = np.isfinite([r.D_opt for r in f64])
    Dv = np.array([r.D_opt for r in f64])[okD]
    axb.loglog(N[okD], Dv, "-", lw=2, label=r"$\tilde D_{opt}$")
    cd = fit["D_opt"]
    axb.loglog(N[okD], np.exp(cd["a"]) * (N[okD] + 1) ** cd["b"], "--",
               label=f"fit: $e^{{{cd['a']:.3f}}}(N+1)^{{{cd['b']:.3f}}}$")
    axb.loglog(N[okD], Qz.hui_neuhoff_step(N[okD]), ":", label=r"$4\sqrt{\ln N}/N$ (Hui-Neuhoff)")
    axb.set_xlabel("N (number of levels)")
    axb.set_ylabel(r"$\tilde D_{opt}$")
    axb.legend(fontsize=7)
    fig.suptitle("Paper 1, Fig. 2 (recomputed)")
    fig.tight_layout()
    return fig


def reproduce(out_dir, quick=False) -> list:
    """The chi_max / D_opt table (CSV), paper 1 Fig. 2 (PNG, PDF), the fit summary (JSON)."""
    out_dir = Path(out_dir)
    from qmf_sim.progress import enabled

    res = run(quick, progress=enabled())
    summary = analyse(res)
    written = [write_table(res["rows"], out_dir / "spacing_table.csv"),
               io.write_json(out_dir / "spacing_fit.json", summary)]
    return written + io.save_figure(plot(res, summary), out_dir, "fig2_spacing")


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"spacing": ("fig2_spacing",)}
