"""Paper 1, Fig. 1 (sec. 5): correlation propagation in random quantized networks.

Usage: python scripts/fig1_correlation.py [--out results] [--quick]
(the same as `qmf fig1`; all options: `qmf fig1 --help`).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qmf_sim.cli_netprop import _reproduce_fig1  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="results")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    for p in _reproduce_fig1(Path(a.out), a.quick):
        print(f"wrote {p}")
