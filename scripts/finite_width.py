#!/usr/bin/env python
"""Finite width vs mean field: error of Q^(l), C^(l) against width n = 64 ... 4096 and its scaling.

Thin wrapper of ``qmf finite-width`` (qmf_sim.cli.netprop); every option of that command works here:

    python scripts/finite_width.py --out results
"""
import sys

from qmf_sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["finite-width", *sys.argv[1:]]))
