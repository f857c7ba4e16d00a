"""``qmf phase`` with a single sigma_b (or sigma_w) value: the one-row grid is drawn as curves of chi
and xi (paper 1, App. F), not handed to a contour plot that needs a 2 x 2 grid; every cell has a status."""
from __future__ import annotations

import csv
import subprocess
import sys

import pytest


@pytest.mark.parametrize("flag, value", [("--sigma-b", "0.1"), ("--sigma-w", "1.2")])
def test_one_row_grid_is_drawn(tmp_path, flag, value):
    out = tmp_path / "ph"
    r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", "phase", "--levels", "4", flag, value, "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    for ext in ("png", "pdf", "csv"):
        assert (out / f"phase_N4.{ext}").is_file()
    rows = list(csv.DictReader(open(out / "phase_N4.csv")))
    assert len(rows) > 1 and all(row["status"] == "ok" and row["chi"] not in ("", "nan") for row in rows)
