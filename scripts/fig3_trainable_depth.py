#!/usr/bin/env python
"""Paper 1, Fig. 3: trainable depth vs sigma_w (N = 10) and vs N (sigma_w optimal), with xi, 4 xi, 6 xi.

Thin wrapper of ``qmf train-depth`` (qmf_sim.cli.training); every option of that command works here:

    python scripts/fig3_trainable_depth.py --preset smoke --out results/fig3_smoke
    python scripts/fig3_trainable_depth.py --preset paper --data ~/mnist --out results/fig3_paper   # GPU
    python scripts/fig3_trainable_depth.py --preset paper --scheduler tcp://host:8786 --out runs/   # Dask

Resumable: re-running with the same --out trains only the runs missing from runs.jsonl.
"""
import sys

from qmf_sim.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-depth", *sys.argv[1:]]))
