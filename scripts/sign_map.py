"""Paper 1, sec. 4.1: the sign-activation correlation map M(C) (eq. 12) and chi vs sigma_b/sigma_w.

Usage: python scripts/sign_map.py [OUT_DIR] [--quick]
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

    for p in resolve("sign")(Path(args.out), quick=args.quick):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
