#!/usr/bin/env python
"""Paper 1, Fig. 1 (sec. 5): correlation propagation in random quantized networks.

Thin wrapper of ``qmf fig1`` (qmf_sim.cli.netprop); every option of that command works here:

    python scripts/fig1_correlation.py --out results [--width 1000 --depth 100 --r 500]
"""
import sys

from qmf_sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["fig1", *sys.argv[1:]]))
