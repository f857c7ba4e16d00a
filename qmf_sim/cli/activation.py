"""CLI plugin of the any-activation area: ``qmf fixed-point`` (argument parsing only; the numbers come
from :func:`qmf_sim.experiments.activations.fixed_point_report`, i.e. :func:`qmf_sym.maps.fixed_point`).
The ``activations``, ``linearisation`` and ``generalization`` parts of ``qmf reproduce`` live in
:mod:`qmf_sim.experiments.activations` and :mod:`qmf_sim.experiments.generalization`."""
from __future__ import annotations

import argparse

from qmf_sim.cli import _vocab as A

NAMES = ("tanh", "erf", "relu", "hardtanh", "sign", "staircase")


def activation_name(text):
    """The argparse type of every ``--activation NAME`` flag (one of :data:`NAMES`)."""
    t = str(text).strip().lower()
    if t not in NAMES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(NAMES)}, got {text!r}")
    return t


def _fmt(rep, key):
    d = rep.get("digits") or {}
    if key in d:
        return d[key]
    v = rep[key]
    return "inf" if v is None and key == "xi" else f"{v:.15g}"


def _cmd_fixed_point(args):
    from qmf_sim import io
    from qmf_sim.experiments import activations as E

    E.make_activation(args.activation, args.levels)  # --levels is the staircase's: checked before --out
    out = None
    if args.out is not None:
        out = A.out_file(args.out)
        if out.suffix.lower() not in (".json", ".csv"):
            raise ValueError(f"argument --out: must end in .json or .csv, got {str(out)!r}")
    try:
        rep = E.fixed_point_report(args.activation, args.levels, args.sigma_w, args.sigma_b, dps=args.dps)
    except ValueError as exc:
        raise ValueError(f"argument --sigma-w: {exc}") from None
    if out is not None:
        if out.suffix.lower() == ".json":
            io.write_json(out, rep)
        else:
            cols = [k for k in rep if k != "digits"]
            io.write_csv(out, cols, [[rep[k] for k in cols]], meta={"digits": rep.get("digits")})
    if args.json:
        print(io.dumps(io.with_provenance(rep)))
        return 0
    name = args.activation + (f" (uniform, N = {args.levels}, levels -1..1)" if args.levels else "")
    print(f"{name}, sigma_w = {args.sigma_w:g}, sigma_b = {args.sigma_b:g}"
          + (f", {args.dps} digits" if args.dps else ", float64") + ":")
    print(f"  Q_star = {_fmt(rep, 'Q_star')}")
    print(f"  C_star = {_fmt(rep, 'C_star')}")
    print(f"  one_minus_C_star = {_fmt(rep, 'one_minus_C_star')}   (1 - C*, from the root itself)")
    print(f"  chi    = {_fmt(rep, 'chi')}   (eq. 6, slope of the C-map at C*)")
    if rep["chi_1"] is None:
        print(f"  chi_1  = {rep['chi_1_note'] or 'not available'}")
    else:
        print(f"  chi_1  = {_fmt(rep, 'chi_1')}   (slope at C = 1; 1 on the edge of chaos)")
    print(f"  xi     = {_fmt(rep, 'xi')}   (eq. 7, -1/log chi)")
    if out is not None:
        print(f"wrote {out}")
    return 0


def add_commands(subparsers):
    p = subparsers.add_parser(
        "fixed-point",
        help="Q*, C*, 1 - C*, chi, chi_1, xi of any activation (tanh, erf, relu, hardtanh, sign, staircase)",
        description="The stable fixed point (Q*, C*) of the mean-field map (paper 1, eq. 4-5) for one activation, "
        "with chi (eq. 6), chi_1 (the slope at C = 1, where it exists: not for staircases) and xi (eq. 7).")
    p.add_argument("--activation", type=activation_name, required=True, help=f"one of {', '.join(NAMES)}")
    p.add_argument("--levels", type=A.integer(2, 10 ** 6), default=None,
                   help="number of states N (2..10^6) of the uniform staircase; only with --activation staircase")
    p.add_argument("--sigma-w", type=A.number(0, 1e100, lo_open=True), required=True, help="weight std > 0")
    p.add_argument("--sigma-b", type=A.number(0, 1e100), default=0.0, help="bias std >= 0 (default 0)")
    p.add_argument("--dps", type=A.integer(1, 1000), default=None,
                   help="significant digits (mpmath, 1..1000); default float64")
    p.add_argument("--json", action="store_true", help="print one JSON object (with provenance)")
    p.add_argument("--out", default=None, help="also write the numbers to this .json or .csv file")
    p.set_defaults(func=_cmd_fixed_point)
