"""Paper 1, Fig. 2: chi(D~; N), 1 - chi_max(N) and D~_opt(N), with the table and the fits.

Usage: python scripts/fig2_spacing.py [OUT_DIR] [--quick]
(the same as ``qmf reproduce --only spacing``; the work is qmf_sim.experiments.spacing.reproduce)
"""
import sys
from pathlib import Path

from qmf_sim.experiments.spacing import reproduce

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for p in reproduce(Path(args[0] if args else "results"), quick="--quick" in sys.argv):
        print(p)
