"""CLI plugin of the closed-form (qmf_sym) area: ``qmf table`` (argument parsing only; the work is
:mod:`qmf_sim.experiments.spacing`), ``qmf init`` and ``qmf phase`` (the work is
:mod:`qmf_sim.experiments.appendices`).  The ``spacing`` and ``sign`` parts of ``qmf reproduce`` live in
``qmf_sim.experiments.spacing`` and ``qmf_sim.experiments.sign`` (registered in
:data:`qmf_sim.experiments.PARTS`)."""
from __future__ import annotations

import math
import sys
import warnings
from collections.abc import MutableMapping
from pathlib import Path

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
    from qmf_sim import progress

    # a bar only on a terminal, without --no-progress and QMF_NO_PROGRESS=1 (the one switch)
    rows = E.table(args.levels, dps=args.dps, progress=progress.enabled(not args.no_progress), check=not args.no_check)
    out = E.write_table(rows, out, proven=proven)
    worst = min((r.agree_digits for r in rows if r.check_dps), default=float("nan"))
    print(f"wrote {out} ({len(rows)} rows with sigma_w; dps={args.dps or 'float64'}; "
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
        "re-run at higher precision, and sigma_w (sigma_b = 0) that puts the staircase with levels -1..1 at "
        "D_opt (sec. 5, corrected; empty for N = 2).  Output: CSV or JSON by extension.",
    )
    p.add_argument("--levels", type=A.int_list(2, 10 ** 6), default=list(range(2, 257)),
                   help="N values in 2..10^6: ranges and lists, e.g. 2-16,32,64 or 2-256:2 (default 2-256)")
    p.add_argument("--dps", type=A.integer(1, 1000), default=None,
                   help="significant digits (mpmath, 1..1000); default float64")
    p.add_argument("--out", default="table.csv", help="output file, .csv or .json (default table.csv)")
    p.add_argument("--no-check", action="store_true", help="skip the higher-precision re-run")
    p.add_argument("--prove", action="store_true",
                   help="add proven enclosures (ball arithmetic, python-flint) at --dps digits (default 30): "
                   "D_opt_lo, D_opt_hi, chi_max_lo, chi_max_hi, xi_lo, xi_hi, proof")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_table)
    _add_init_phase(subparsers)


# ----------------------------------------------------------------------------- qmf init, qmf phase
def _cmd_init(args):
    from qmf_sim import io
    from qmf_sim.experiments import appendices as E

    rep = E.init_report(args.levels, dps=args.dps, sigma_b=args.sigma_b)
    if args.json:  # with its provenance, like every file qmf writes
        print(io.dumps(io.with_provenance(rep)))
        return 0
    d = rep.get("digits", {})
    show = lambda k: d.get(k, f"{rep[k]:.10g}")
    print(f"uniform {rep['N']}-level staircase (levels -1..1), sigma_b = {rep['sigma_b']:g}:")
    print(f"  sigma_w   = {show('sigma_w')}")
    print(f"  Q*        = {show('Q_star')}   C* = {rep['C_star']:.6g}")
    print(f"  chi       = {show('chi')}   xi = -1/log chi = {show('xi')}")
    if rep["D_normalized"] is not None:
        print(f"  D/sqrt(Q*) = {rep['D_normalized']:.10g} (normalised spacing)")
    print(f"  STE slope = {show('ste_slope')} (clipped STE, eq. 19: backward gain per layer "
          f"{rep['backward_gain']:.15g})")
    print(f"  trainable depth ~ c xi = {rep['depth_fitted']:.4g} +- {rep['depth_fitted_se']:.2g} "
          f"(c = {rep['depth_fitted_c']} fitted); paper: 4 xi = {rep['depth_4xi']:.4g}, 6 xi = {rep['depth_6xi']:.4g}")
    return 0


#: largest N of ``qmf init``: qmf_sym.init.critical_init costs ~N^2 in time and memory (measured on one
#: loaded core: N = 256 in 5 s and 0.15 GB, N = 1024 in 52 s and 1.1 GB; N = 10^4 needed > 20 GB)
INIT_MAX_LEVELS = 2048


def _sigma_b(text):
    if text.strip().lower() in ("optimise", "optimize"):
        return "optimise"
    return A.number(0, 1e100)(text)


#: the numbers of a phase row, stored as repr strings (NaN, inf and every digit come back exactly)
_ROW_NUMBERS = ("Q", "C", "chi", "xi")


class _PhaseRows(MutableMapping):
    """The finished sigma_b rows of one ``qmf phase`` grid, ``{sigma_b: qmf_sym.phase.PhaseRow}``, for
    :func:`qmf_sym.phase.phase_diagram`'s ``rows``: each row stored here is appended to ``path`` at once as
    one JSON line (:func:`qmf_sim.io.append_jsonl`, durable, with provenance: the record of the
    trainable-depth sweep's ``runs.jsonl``), so that Ctrl-C keeps the rows finished and a rerun skips them.
    A line is reused only under the same key: the activation, every sigma_w of the grid (exactly) and
    the code (:func:`qmf_sim.cli.code_key`); a damaged line is skipped with a warning and its row
    recomputed.  Rows are never deleted (remove the file to recompute them)."""

    def __init__(self, path, act, sigma_w):
        from qmf_sim import io
        from qmf_sim.cli import code_key

        self.path, self.n = Path(path), len(sigma_w)
        self.key = {"activation": act.name, "sigma_w": [repr(float(w)) for w in sigma_w], **code_key()}
        self._rows = {}
        for rec in io.read_jsonl(self.path, required=("key", "sigma_b", "status", *_ROW_NUMBERS)):
            if rec["key"] != self.key:
                continue
            try:
                row = self._decode(rec)
            except (TypeError, ValueError) as exc:
                warnings.warn(f"{self.path}: skipping a damaged row ({exc}); it will be recomputed", stacklevel=2)
                continue
            self._rows[row.sigma_b] = row

    def _decode(self, rec):
        import numpy as np

        from qmf_sym.phase import PhaseRow

        nums = {f: np.array([float(v) for v in rec[f]], dtype=float) for f in _ROW_NUMBERS}
        status = rec["status"]
        if any(a.shape != (self.n,) for a in nums.values()) or not isinstance(status, list) \
                or len(status) != self.n or not all(isinstance(t, str) for t in status):
            raise ValueError(f"not a row of {self.n} cells")
        return PhaseRow(float(rec["sigma_b"]), *(nums[f] for f in _ROW_NUMBERS), tuple(status))

    def __getitem__(self, b):
        return self._rows[float(b)]

    def __setitem__(self, b, row):
        from qmf_sim import io

        io.append_jsonl(self.path, {"key": self.key, "sigma_b": repr(float(b)), "status": list(row.status),
                                    **{f: [repr(float(v)) for v in getattr(row, f)] for f in _ROW_NUMBERS}})
        self._rows[float(b)] = row

    def __delitem__(self, b):
        raise TypeError("a recorded phase row is not deleted (remove the file to recompute)")

    def __iter__(self):
        return iter(self._rows)

    def __len__(self):
        return len(self._rows)

    def done(self, sigma_b) -> int:
        """How many of the distinct values of ``sigma_b`` have a row here."""
        return sum(float(b) in self._rows for b in set(map(float, sigma_b)))


def _cmd_phase(args):
    from qmf_sim.experiments import appendices as E
    from qmf_sim.experiments.activations import make_activation
    from qmf_sym._validate import check_bytes

    out = A.out_dir(args.out)
    sw, sb = E.phase_axes(args.sigma_w, args.sigma_b)
    flag = "--sigma-w" if sw.size >= sb.size else "--sigma-b"
    check_bytes(f"argument {flag}: a grid of {sw.size} sigma_w x {sb.size} sigma_b values", 8.0 * 16 * sw.size * sb.size,
                "about 16 float64 numbers per cell")
    act = make_activation(args.activation, args.levels)  # --levels required with the staircase, refused without
    stem = f"phase_N{args.levels}" if args.activation == "staircase" else f"phase_{args.activation}"
    rows = _PhaseRows(out / f".{stem}.rows.jsonl", act, sw)
    n = len(set(map(float, sb)))
    if rows.done(sb):
        print(f"resuming: {rows.done(sb)} of {n} sigma_b rows done (recorded in {rows.path})", file=sys.stderr,
              flush=True)

    def interrupted():
        with warnings.catch_warnings():  # what the file holds now (a line cut by the Ctrl-C is not a row)
            warnings.simplefilter("ignore")
            k = _PhaseRows(rows.path, act, sw).done(sb)
        if not k:
            return f"interrupted: no sigma_b row of {n} finished, nothing kept; a rerun starts again"
        return f"interrupted: {k} of {n} sigma_b rows saved in {rows.path}; rerun the same command to resume"

    args._interrupt_note = interrupted  # the one Ctrl-C line of qmf_sim.cli.main
    try:
        pd = E.phase_grid(act, sw, sb, rows=rows)
    except ValueError as exc:  # no cell of the grid has a fixed point
        raise ValueError(f"argument --sigma-w: {exc}") from None
    paths = E.write_phase(pd, out, stem)
    g = pd.grid_optimum
    grid = f"grid optimum: sigma_w = {g[0]:.4g}, sigma_b = {g[1]:.4g}, chi = {g[2]:.6g}"
    if pd.boundary is None:
        o = pd.optimum
        print(f"optimum (sigma_b = 0, refined): sigma_w = {o.sigma_w:.10g}, chi = {o.chi:.12g}, xi = {o.xi:.6g}; "
              f"{grid}; no chi = 1 boundary (chi < 1 everywhere)")
    else:
        print(f"{pd.activation}: {grid}; the edge of chaos chi_1 = 1 (xi infinite) at")
        for b, e in zip(pd.sigma_b, pd.boundary):
            if e is None:
                print(f"  sigma_b = {b:<8.4g} no point of the line")
                continue
            q = f"Q* = {float(e.Q_star):.6g}" if math.isfinite(float(e.Q_star)) else "every Q* is fixed"
            print(f"  sigma_b = {b:<8.4g} sigma_w = {float(e.sigma_w):.10g} ({q}, xi_q = {float(e.xi_q):.6g})")
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def _add_init_phase(subparsers):
    p = subparsers.add_parser(
        "init", help="critical initialisation of the uniform N-level staircase (sigma_w, Q*, chi, xi, STE slope)",
        description="sigma_w (sigma_b = 0 or given or optimised) maximising chi at the true fixed point for the "
        "uniform N-level staircase of sec. 5 (levels -1..1), with Q*, chi, xi, the clipped-STE slope that makes "
        "the backward gain per layer exactly 1, and the predicted trainable depth.")
    p.add_argument("--levels", type=A.integer(2, INIT_MAX_LEVELS), required=True,
                   help=f"number of states N in 2..{INIT_MAX_LEVELS} (the search costs ~N^2 in time and memory: "
                   "N = 256 about 5 s, N = 1024 about a minute and 1 GB on one core)")
    p.add_argument("--dps", type=A.integer(1, 1000), default=None,
                   help="significant digits (mpmath, 1..1000; odd staircase at sigma_b = 0); default float64")
    p.add_argument("--sigma-b", type=_sigma_b, default=0.0, help="bias std >= 0, or 'optimise' (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_init)

    from qmf_sim.cli.activation import NAMES, activation_name

    q = subparsers.add_parser(
        "phase", help="chi and xi over a sigma_w x sigma_b grid at the true fixed point (App. F)",
        description="chi (eq. 6) and xi (eq. 7) at the stable fixed point (Q*, C*) of the uniform N-level "
        "staircase (or a continuous activation) over a sigma_w x sigma_b grid; CSV and a heat map with xi "
        "contours, the optimum marked (a continuous activation: its order-to-chaos line chi_1 = 1 drawn and "
        "written to <stem>_edge_of_chaos.csv, the line no staircase has).  Each finished sigma_b row is recorded "
        "at once in <out>/.<stem>.rows.jsonl: after Ctrl-C the same command resumes, and a rerun of the same grid "
        "(same sigma_w values and qmf code) skips the rows recorded there (delete the file to recompute).")
    q.add_argument("--activation", type=activation_name, default="staircase",
                   help=f"one of {', '.join(NAMES)} (default staircase; on the default grid tanh takes ~10 s, hardtanh "
                   "~19 s)")
    q.add_argument("--levels", type=A.integer(2, 4096), default=None,
                   help="number of states N >= 2 of the uniform staircase (required with --activation staircase)")
    q.add_argument("--sigma-w", type=A.float_list(0, 1e6, lo_open=True), default=None,
                   help="sigma_w values, e.g. 0.3-4:0.1 (default 36 log-spaced in 0.3..4)")
    q.add_argument("--sigma-b", type=A.float_list(0, 1e6), default=None,
                   help="sigma_b values, e.g. 0-1.5:0.05 (default 0..1.5, 31 values)")
    q.add_argument("--out", default="phase", help="output directory (default phase/)")
    q.set_defaults(func=_cmd_phase)
