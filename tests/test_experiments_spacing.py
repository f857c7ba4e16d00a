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


# ----------------------------------------------------------------------------- the sigma_w column
def test_table_sigma_w_column_float64_against_the_fixed_point(tmp_path):
    """The sigma_w cell, fed to the independent fixed-point solver (qmf_sym.maps.fixed_point, eq. 4 by
    root finding, not init_for's closed route), must land the staircase at the row's optimum:
    D / sqrt(Q*) = D_opt (first order in a sigma_w error: 1e-12 relative, Q* is solved to ~1e-15 and
    the table's D_opt to ~1e-15) and chi = chi_max (chi is flat at the optimum, so this catches only a
    gross error; 1e-13)."""
    import math

    from qmf_sym import maps
    from qmf_sym.activations import Staircase

    rows = S.table([2, 3, 4, 7, 10, 33, 64], check=False)
    for ext in ("csv", "json"):
        p = E.write_table(rows, tmp_path / f"t.{ext}")
        back = E.read_table(p)
        assert list(back[0]) == E.TABLE_COLUMNS + ["sigma_w"]
        assert math.isnan(back[0]["sigma_w"])  # N = 2: every sigma_w is optimal, empty / null like D_opt
        for b in back[1:]:
            fp = maps.fixed_point(Staircase.uniform(b["N"]), b["sigma_w"], 0.0)
            D = 2 / (b["N"] - 1)  # the spacing of Staircase.uniform(N) (levels -1..1)
            assert abs(D / math.sqrt(fp.Q) / b["D_opt"] - 1) < 1e-12, b
            assert abs(fp.chi - b["chi_max"]) < 1e-13, b
    # large N in a block: the block's float64 D_opt and init_for's single-N one differ by ~1e-11 (both
    # within the float64 accuracy of a flat optimum, ~1e-14 N): written, and right to that accuracy
    big = E.read_table(E.write_table(S.table(range(2000, 2004), check=False), tmp_path / "big.csv"))
    for b in big:
        fp = maps.fixed_point(Staircase.uniform(b["N"]), b["sigma_w"], 0.0)
        assert abs(2 / (b["N"] - 1) / math.sqrt(fp.Q) / b["D_opt"] - 1) < 1e-9, b
    txt = (tmp_path / "t.csv").read_text().splitlines()
    assert txt[0].endswith(",newton_steps,sigma_w") and txt[1].endswith(",0,")  # N = 2: empty last cell
    import json

    assert json.loads((tmp_path / "t.json").read_text())["records"][0]["sigma_w"] is None


def test_table_sigma_w_column_keeps_the_row_digits(tmp_path):
    """dps=30: the cell has the row's 30 digits, and they are right to ~28 digits by a route that does
    not use init_for: for the -1..1 staircase (height = spacing D) E phi^2 = D^2 B(D~) with B = Var of
    the unit-step staircase (eq. 17 sums, qmf_sym.spacing.uniform.sums_mp) and Q* = (D / D~)^2, so
    sigma_w^2 D~_opt^2 B(D~_opt) = 1.  (maps.fixed_point takes a float sigma_w: it checks the digits
    only to float64, done in the float64 test.)"""
    import csv

    from qmf_sym.spacing.uniform import sums_mp

    rows = S.table([2, 3, 10, 64], dps=30, check=False)
    p = E.write_table(rows, tmp_path / "t.csv")
    recs = list(csv.DictReader(open(p)))
    assert recs[0]["sigma_w"] == ""
    for rec in recs[1:]:
        cell = rec["sigma_w"]
        assert len(cell.replace(".", "").lstrip("0")) == 30, cell  # nstr(., 30): 30 significant digits
        with mpmath.workdps(45):
            sw, Dt = mpmath.mpf(cell), mpmath.mpf(rec["D_opt"])
            B = sums_mp(Dt, int(rec["N"]))[3]
            assert abs(sw ** 2 * Dt ** 2 * B - 1) < mpmath.mpf(10) ** -28, rec


def test_table_sigma_w_with_proof_columns(tmp_path):
    """--prove adds its columns after sigma_w; every column keeps its place."""
    pytest.importorskip("flint")
    from qmf_sym import proof

    rows = S.table([2, 5], dps=20, check=False)
    p = E.write_table(rows, tmp_path / "t.csv", proven=proof.proven_table([2, 5], dps=20))
    assert p.read_text().splitlines()[0].split(",") == E.TABLE_COLUMNS + ["sigma_w"] + E.PROOF_COLUMNS
