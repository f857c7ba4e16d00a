"""CLI plugin of the closed-form (qmf_sym) area: ``qmf table`` (argument parsing only; the work is
:mod:`qmf_sim.experiments.spacing`).  The ``spacing`` and ``sign`` parts of ``qmf reproduce`` live in
``qmf_sim.experiments.spacing`` and ``qmf_sim.experiments.sign`` (registered in
:data:`qmf_sim.experiments.PARTS`)."""
from __future__ import annotations

import sys

from qmf_sim.cli import _vocab as A


def _cmd_table(args):
    from qmf_sim.experiments import spacing as E

    out = A.out_file(args.out)
    if out.suffix.lower() not in (".csv", ".json"):
        raise ValueError(f"argument --out: must end in .csv or .json, got {str(out)!r}")
    proven = None
    if args.prove:
        from qmf_sym import proof

        if not proof.available():
            raise ValueError(f"argument --prove: {proof.MISSING}")
        proven = proof.proven_table(args.levels, dps=args.dps or 30)
    rows = E.table(args.levels, dps=args.dps, progress=not args.no_progress, check=not args.no_check)
    out = E.write_table(rows, out, proven=proven)
    worst = min((r.agree_digits for r in rows if r.check_dps), default=float("nan"))
    print(f"wrote {out} ({len(rows)} rows; dps={args.dps or 'float64'}; "
          f"worst agreement with the higher-precision re-run: {worst:.1f} digits)", file=sys.stderr)
    if proven is not None:
        print(f"proof ({args.dps or 30} digits): {sum(p.proven for p in proven)} of {len(proven)} rows proven",
              file=sys.stderr)
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
    p.add_argument("--prove", action="store_true",
                   help="add proven enclosures (ball arithmetic, python-flint) at --dps digits (default 30): "
                   "D_opt_lo, D_opt_hi, chi_max_lo, chi_max_hi, xi_lo, xi_hi, proof")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_table)
