"""The ``qmf`` command line: argument parsing only.

Sub-commands come from plugin modules ``qmf_sim.cli.<domain>`` (:data:`PLUGINS`), each defining
``add_commands(subparsers)`` (each sub-command sets ``func`` via ``set_defaults``).  The commands
parse and validate their flags with the one vocabulary of :mod:`qmf_sim.cli._vocab`, call the
experiments of :mod:`qmf_sim.experiments` and print.  ``qmf reproduce`` runs the parts registered in
:data:`qmf_sim.experiments.PARTS`.

Errors: every user error is one line on stderr, ``qmf <command>: error: ...`` naming the flag, and
exit status 2 (argparse errors, and ``ValueError``/``OSError`` raised by a command); never a
traceback.  Plugins import heavy libraries (torch, numba) inside their functions so that
``qmf --help`` is fast.
"""
from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from qmf_sim.cli import _vocab as A

PLUGINS = ("qmf_sim.cli.theory", "qmf_sim.cli.netprop", "qmf_sim.cli.training", "qmf_sim.cli.ste")


def _plugins():
    mods = []
    for name in PLUGINS:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # an area not installed in this checkout
            if exc.name != name:
                raise
    return mods


def reproduce_parts():
    """All parts of ``qmf reproduce`` in order: ``{name: callable}`` (resolved from the registry;
    a part whose module cannot be imported raises here)."""
    from qmf_sim import experiments

    return {name: experiments.resolve(name) for name in experiments.parts()}


def _parts_list(text):
    from qmf_sim import experiments

    names = [p.strip() for p in str(text).split(",") if p.strip()]
    unknown = [n for n in names if n not in experiments.PARTS]
    if unknown or not names:
        raise A.argparse.ArgumentTypeError(f"must name parts among {experiments.parts()}, got {unknown or text!r}")
    return names


def _cmd_reproduce(args):
    from qmf_sim import experiments

    names = args.only or experiments.parts()
    out = A.out_dir(args.out)
    fns = {}
    for name in names:  # resolve every part first: a broken module is reported before any computing
        try:
            fns[name] = experiments.resolve(name)
        except ImportError as exc:
            raise ValueError(f"reproduce part {name!r}: {exc}") from None
    for name in names:
        t0 = time.perf_counter()
        print(f"[qmf reproduce] {name} ...", flush=True)
        written = fns[name](out, args.quick) or []
        print(f"[qmf reproduce] {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
        for p in written:
            print(f"    wrote {p}")
    return 0


def build_parser():
    from qmf_sim import experiments

    parser = A.Parser(
        prog="qmf",
        description="Mean-field theory of quantized neural networks: certified closed forms "
        "(paper 1: signal propagation with staircase activations; paper 2: STE learning dynamics), "
        "finite-network simulations and training sweeps.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rp = sub.add_parser(
        "reproduce",
        help="write the papers' tables and figures (no data needed)",
        description="Run every reproducible part (tables, figures) into --out; parts: "
        + ", ".join(experiments.parts()),
    )
    rp.add_argument("--out", default="results", help="output directory (default: results/)")
    rp.add_argument("--only", type=_parts_list, default=None, help="comma-separated parts to run (default: all)")
    rp.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    rp.set_defaults(func=_cmd_reproduce)
    for mod in _plugins():
        mod.add_commands(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line already printed): return its status
        if exc.code in (0, None):
            raise  # --help
        return exc.code
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except (ValueError, OSError) as exc:  # user errors: bad values, unreadable/unwritable paths
        msg = str(exc) if isinstance(exc, ValueError) else f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        print(f"qmf {args.command}: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"qmf {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
