"""Finite width vs mean field: error of Q^(l), C^(l) against width n = 64 ... 4096 and its scaling.

Usage: python scripts/finite_width.py [--out results] [--quick]
(the same as `qmf finite-width`; all options: `qmf finite-width --help`).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmf_sim.cli_netprop import _reproduce_finite_width  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="results")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for p in _reproduce_finite_width(Path(a.out), a.quick):
        print(f"wrote {p}")
