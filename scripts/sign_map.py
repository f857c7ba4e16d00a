"""Paper 1, sec. 4.1: the sign-activation correlation map M(C) (eq. 12) and chi vs sigma_b/sigma_w.

Usage: python scripts/sign_map.py [OUT_DIR] [--quick]
"""
import sys
from pathlib import Path

from qmf_sim.experiments import resolve

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for p in resolve("sign")(Path(args[0] if args else "results"), quick="--quick" in sys.argv):
        print(p)
