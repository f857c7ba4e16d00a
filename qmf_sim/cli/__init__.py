"""The ``qmf`` command line.

Sub-commands come from plugin modules, one per area of the project, so that each area owns its
own commands.  A plugin module ``qmf_sim.cli.<domain>`` defines

* ``add_commands(subparsers)`` -- adds its sub-commands (each sets ``func`` via ``set_defaults``);
* ``REPRODUCE`` -- an ordered dict ``{part_name: callable(out_dir: Path, quick: bool) -> list[Path]}``
  of the parts that ``qmf reproduce`` runs.

Plugins import heavy libraries (torch, numba) inside their functions so that ``qmf --help`` is fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

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
    """All parts of ``qmf reproduce`` in order: ``{name: callable}``."""
    parts = {}
    for mod in _plugins():
        parts.update(getattr(mod, "REPRODUCE", {}))
    return parts


def _cmd_reproduce(args):
    parts = reproduce_parts()
    names = list(parts) if not args.only else [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = [n for n in names if n not in parts]
    if unknown:
        raise SystemExit(f"qmf reproduce: --only must name parts among {list(parts)}, got {unknown}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        t0 = time.perf_counter()
        print(f"[qmf reproduce] {name} ...", flush=True)
        written = parts[name](out, args.quick) or []
        print(f"[qmf reproduce] {name} done in {time.perf_counter() - t0:.1f} s", flush=True)
        for p in written:
            print(f"    wrote {p}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
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
        + ", ".join(reproduce_parts()),
    )
    rp.add_argument("--out", default="results", help="output directory (default: results/)")
    rp.add_argument("--only", default="", help="comma-separated parts to run (default: all)")
    rp.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    rp.set_defaults(func=_cmd_reproduce)
    for mod in _plugins():
        mod.add_commands(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except ValueError as exc:
        print(f"qmf {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
