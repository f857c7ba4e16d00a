#!/usr/bin/env python
"""Paper 2 (STE dynamics), Fig. 4: PNG + CSV into --out (default results/).

Thin wrapper of ``qmf ste figure 4`` (qmf_sim.cli.ste); its options work here:

    python scripts/ste_fig4_joint.py --out results [--quick] [--seed 0]
"""
import sys

from qmf_sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["ste", "figure", "4", *sys.argv[1:]]))
