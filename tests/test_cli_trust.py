"""The last trust corners of the command line and the STE solvers: the documented ranges hold
(``--dps`` up to 1000 with the guard digits inside), ``--out`` errors name the flag and the real
cause, every STE method reports its divergence, every size is checked before it allocates, stdout
JSON carries provenance, progress bars only on a terminal."""
import json

import numpy as np
import pytest

from qmf_sim import cli


def _one_line_error(capsys, argv, *needles):
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------------------ --dps range
def test_table_accepts_the_documented_max_dps(tmp_path, capsys):
    """--dps 1..1000 is the documented range: 1000 works (the sigma_w column used to ask for 1005)."""
    out = tmp_path / "t.csv"
    assert cli.main(["table", "--levels", "2-3", "--dps", "1000", "--no-check", "--no-progress",
                     "--out", str(out)]) == 0, capsys.readouterr().err
    from qmf_sim.experiments.spacing import read_table

    rows = read_table(out)
    assert [int(r["N"]) for r in rows] == [2, 3]
    line = next(l for l in out.read_text().splitlines() if l.startswith("3,"))
    assert len(line.split(",")[1]) > 900  # D_opt written with ~1000 digits
    _one_line_error(capsys, ["table", "--levels", "3", "--dps", "1001", "--out", str(out)], "--dps", "1001")
