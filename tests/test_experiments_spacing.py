"""qmf_sim.experiments.spacing: the table files (CSV/JSON through qmf_sim.io) and the Fig. 2 pieces."""
import mpmath
import pytest

from qmf_sim.experiments import spacing as E
from qmf_sym import spacing as S


def test_table_files_round_trip(tmp_path):
    rows = S.table(list(range(2, 41)) + [64], check=False, block=7)
    for ext in ("csv", "json"):
        p = E.write_table(rows, tmp_path / f"t.{ext}")
        back = E.read_table(p)
        assert [b["N"] for b in back] == [r.N for r in rows]
        # floats are written as repr (shortest round trip): exact
        assert all(b["chi_max"] == r.chi_max for b, r in zip(back, rows))


def test_table_mp_writer_keeps_digits(tmp_path):
    rows = S.table([2, 3, 10], dps=30)
    p = E.write_table(rows, tmp_path / "t.csv")
    txt = p.read_text().splitlines()
    assert txt[0].startswith("N,D_opt,chi_max,xi,residual,curvature")
    assert txt[1].split(",")[1] == ""  # N = 2: D_opt undefined
    field = txt[3].split(",")[1]  # D_opt(10) written with all 30 digits of the row
    assert len(field.replace("0.", "", 1)) >= 29
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(field) - rows[2].D_opt) < mpmath.mpf(10) ** -29
    back = E.read_table(p)
    assert back[1]["dps"] == 30 and back[1]["check_dps"] == 45


def test_table_files_nonfinite_cells(tmp_path):
    """Rows without a re-run have NaN reldiffs: written as 'nan' (CSV cell, JSON string), read back
    as NaN; the JSON is strict (no NaN token)."""
    import json
    import math

    rows = S.table([3, 4], check=False)
    for ext in ("csv", "json"):
        p = E.write_table(rows, tmp_path / f"t.{ext}")
        if ext == "json":
            json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))
        assert all(math.isnan(b["D_opt_reldiff"]) for b in E.read_table(p))


def test_write_table_bad_extension(tmp_path):
    with pytest.raises(ValueError, match="extension"):
        E.write_table(S.table([3], check=False), tmp_path / "t.txt")


def test_progress_table_equals_plain():
    a = E.table([2, 5, 9], check=False, progress=True)
    b = S.table([2, 5, 9], check=False)
    assert [(r.N, r.D_opt, r.chi_max) for r in a[1:]] == [(r.N, r.D_opt, r.chi_max) for r in b[1:]]
