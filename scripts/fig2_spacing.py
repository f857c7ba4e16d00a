"""Paper 1, Fig. 2: chi(D~; N), 1 - chi_max(N) and D~_opt(N), with the table and the fits.

Usage: python scripts/fig2_spacing.py [OUT_DIR] [--quick]
"""
import sys
from pathlib import Path

from qmf_sim.cli.theory import reproduce_spacing

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for p in reproduce_spacing(Path(args[0] if args else "results"), quick="--quick" in sys.argv):
        print(p)
