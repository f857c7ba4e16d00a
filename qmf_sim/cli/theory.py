"""CLI plugin of the closed-form (qmf_sym) area: ``qmf table`` and the reproduce parts
``spacing`` (paper 1, Fig. 2 and the chi_max / D_opt table) and ``sign`` (sign-map figure)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from qmf_sim.results import save_figure, write_json


def _cmd_table(args):
    from qmf_sym import spacing as S

    rows = S.table(args.levels, dps=args.dps, progress=not args.no_progress, check=not args.no_check)
    out = S.write_table(rows, args.out)
    worst = min((r.agree_digits for r in rows if r.check_dps), default=float("nan"))
    print(f"wrote {out} ({len(rows)} rows; dps={args.dps or 'float64'}; "
          f"worst agreement with the higher-precision re-run: {worst:.1f} digits)", file=sys.stderr)
    return 0


def add_commands(subparsers):
    p = subparsers.add_parser(
        "table",
        help="chi_max(N), D_opt(N), xi(N) of eq. 17 (paper 1) with certificates",
        description="Optimal normalized spacing D_opt and maximal slope chi_max of the uniform N-level "
        "staircase (eq. 17 of paper 1), each certified by the stationarity residual, the curvature and a "
        "re-run at higher precision.  Output: CSV or JSON by extension.",
    )
    p.add_argument("--levels", default="2-256", help="N values: ranges and lists, e.g. 2-16,32,64 (default 2-256)")
    p.add_argument("--dps", type=int, default=None, help="significant digits (mpmath); default float64")
    p.add_argument("--out", default="table.csv", help="output file, .csv or .json (default table.csv)")
    p.add_argument("--no-check", action="store_true", help="skip the higher-precision re-run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_table)


# ----------------------------------------------------------------------------- reproduce parts
def reproduce_spacing(out_dir: Path, quick: bool = False) -> list:
    """The chi_max / D_opt table (CSV), paper 1 Fig. 2 (PNG, PDF), the fit summary (JSON)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from qmf_sym import quantization as Qz
    from qmf_sym import spacing as S

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    levels = "2-64" if quick else "2-256"
    dps = 20 if quick else 30
    rows = S.table(levels, dps=dps, progress=True)
    written = [S.write_table(rows, out_dir / "spacing_table.csv")]
    f64 = S.table("2-10000" if not quick else "2-1000", check=False)
    fit_range = (3, 100)
    fit = S.fit_power_laws(rows, *fit_range)
    fit_wide = S.fit_power_laws(f64, 3, 10000 if not quick else 1000)
    xs, slopes = S.local_slopes([r for r in f64 if r.N % 2 == 0])
    summary = {
        "paper": "Blumenfeld, Gilboa & Soudry 2019, Fig. 2 / eq. 18",
        "table": {"levels": levels, "dps": dps,
                  "worst_agreement_digits": min(r.agree_digits for r in rows if r.check_dps)},
        "fit": fit,
        "fit_float64_wide_range": fit_wide,
        "local_slope_even_N": {str(int(n)): float(s) for n, s in zip(xs, slopes)
                               if int(round(n)) in (5, 11, 33, 101, 1001, 9999)},
        "notes": "OLS of log(1 - chi_max) and log D_opt on log(N + 1); SEs are classical OLS errors of a "
                 "straight line through a curved (N^-2 ln N) law.  1 - chi_max(N) equals the MSE of Max's "
                 "optimal uniform quantizer of N(0,1) (see qmf_sym.quantization).",
    }
    p = out_dir / "spacing_fit.json"
    write_json(p, summary)
    written.append(p)

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
    axt.loglog(N, np.exp(0.71) * (N + 1) ** -1.82, ":", label=r"paper: $e^{0.71}(N+1)^{-1.82}$")
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
    return written + save_figure(fig, out_dir, "fig2_spacing")


def reproduce_sign(out_dir: Path, quick: bool = False) -> list:
    """Sign activation: M(C) of eq. 12 for several sigma_b/sigma_w with the diagonal, and chi at
    the fixed point vs sigma_b/sigma_w with the 2/pi bound (paper 1, sec. 4.1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from qmf_sym import sign

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    C = np.linspace(-1, 1, 401)
    for r in (0.0, 0.25, 0.5, 1.0, 2.0):
        a1.plot(C, sign.correlation_map(C, sigma_w=1.0, sigma_b=r), label=rf"$\sigma_b/\sigma_w={r:g}$")
    a1.plot(C, C, "k--", lw=1, label="diagonal")
    a1.set_xlabel("$C$")
    a1.set_ylabel(r"$\mathcal{M}(C)$ (eq. 12)")
    a1.legend(fontsize=8)
    ratios = np.linspace(0, 3, 31 if quick else 121)
    chis = []
    for r in ratios:
        fp = sign.fixed_point(1.0, float(r))
        chis.append(float(fp.chi) if hasattr(fp, "chi") else float(fp[-1]))
    a2.plot(ratios, chis, label=r"$\chi$ at the stable fixed point")
    a2.axhline(2 / math.pi, color="k", ls="--", lw=1, label=r"$2/\pi$ bound ($\sigma_b = 0$)")
    a2.axhline(0.5, color="gray", ls=":", lw=1, label=r"limit $1/2$")
    a2.set_xlabel(r"$\sigma_b/\sigma_w$")
    a2.set_ylabel(r"$\chi$")
    a2.legend(fontsize=8)
    fig.suptitle("Sign activation (paper 1, eq. 11-12)")
    fig.tight_layout()
    return save_figure(fig, out_dir, "sign_map")


REPRODUCE = {"spacing": reproduce_spacing, "sign": reproduce_sign}
