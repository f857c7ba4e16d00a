"""Paper 1, Fig. 2: chi(D~; N), 1 - chi_max(N) and D~_opt(N), with the table and the fits.

Usage: python scripts/fig2_spacing.py [OUT_DIR] [--quick]
(the same as ``qmf reproduce --only spacing``; the work is qmf_sim.experiments.spacing.reproduce)
"""

import argparse
import sys
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="results", metavar="OUT_DIR", help="output directory (default: results)")
    ap.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    args = ap.parse_args(argv)
    from qmf_sim.experiments import resolve

    for p in resolve("spacing")(Path(args.out), quick=args.quick):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
