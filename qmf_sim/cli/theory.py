"""CLI plugin of the closed-form (qmf_sym) area: ``qmf table`` (argument parsing only; the work is
:mod:`qmf_sim.experiments.spacing`) and, until it moves to ``qmf_sim.experiments.sign``, the
``sign`` reproduce part.  The ``spacing`` part of ``qmf reproduce`` is
``qmf_sim.experiments.spacing.reproduce`` (registered in :data:`qmf_sim.experiments.PARTS`)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from qmf_sim.cli import _vocab as A
from qmf_sim.io import save_figure


def _cmd_table(args):
    from qmf_sim.experiments import spacing as E

    out = A.out_file(args.out)
    if out.suffix.lower() not in (".csv", ".json"):
        raise ValueError(f"argument --out: must end in .csv or .json, got {str(out)!r}")
    rows = E.table(args.levels, dps=args.dps, progress=not args.no_progress, check=not args.no_check)
    out = E.write_table(rows, out)
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
    p.add_argument("--levels", type=A.int_list(2), default=list(range(2, 257)),
                   help="N values >= 2: ranges and lists, e.g. 2-16,32,64 or 2-256:2 (default 2-256)")
    p.add_argument("--dps", type=A.integer(1, 1000), default=None,
                   help="significant digits (mpmath, 1..1000); default float64")
    p.add_argument("--out", default="table.csv", help="output file, .csv or .json (default table.csv)")
    p.add_argument("--no-check", action="store_true", help="skip the higher-precision re-run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_table)


# ----------------------------------------------------------------------------- reproduce parts
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


REPRODUCE = {"sign": reproduce_sign}
