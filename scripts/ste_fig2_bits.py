"""Paper 2 (STE dynamics), Fig. 2: PNG + CSV into --out (default results/).  See qmf_sim.cli_ste.fig2."""
import argparse
from pathlib import Path

from qmf_sim.cli_ste import fig2

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=fig2.__doc__)
    ap.add_argument("--out", default="results")
    ap.add_argument("--quick", action="store_true", help="smaller d / fewer runs")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for p in fig2(Path(a.out), a.quick, seed=a.seed):
        print(f"wrote {p}")
