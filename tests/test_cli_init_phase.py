"""qmf init and qmf phase: output, and bad input as one line with exit 2."""
import csv
import json

import pytest

from qmf_sim import cli
from qmf_sym.init import critical_init


def test_init_json(capsys):
    assert cli.main(["init", "--levels", "10", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    for k in ("sigma_w", "sigma_b", "Q_star", "chi", "xi", "ste_slope"):
        assert k in rep
    c = critical_init(10)
    assert rep["sigma_w"] == c.sigma_w and rep["sigma_b"] == 0 and abs(rep["backward_gain"] - 1) < 1e-14
    assert abs(rep["depth_6xi"] - 6 * rep["xi"]) < 1e-9 * rep["xi"]


def test_init_text_and_dps(capsys):
    assert cli.main(["init", "--levels", "4"]) == 0
    out = capsys.readouterr().out
    assert "sigma_w" in out and "STE slope" in out
    assert cli.main(["init", "--levels", "6", "--dps", "30", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert len(rep["digits"]["sigma_w"].replace(".", "")) >= 30


def test_init_bias(capsys):
    assert cli.main(["init", "--levels", "4", "--sigma-b", "0.2", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["sigma_b"] == 0.2 and rep["C_star"] > 0


@pytest.mark.parametrize("argv,flag", [(["--levels", "1"], "--levels"), (["--levels", "abc"], "--levels"),
                                       (["--levels", "4", "--dps", "0"], "--dps"),
                                       (["--levels", "4", "--sigma-b", "-1"], "--sigma-b"),
                                       (["--levels", "4", "--sigma-b", "nan"], "--sigma-b"),
                                       (["--levels", "4", "--sigma-b", "0.2", "--dps", "20"], "dps")])
def test_init_bad(argv, flag, capsys):
    assert cli.main(["init"] + argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and flag in err, err


def test_phase_writes_csv_and_figure(tmp_path, capsys):
    out = tmp_path / "ph"
    assert cli.main(["phase", "--levels", "4", "--sigma-w", "0.5-1.5:0.5", "--sigma-b", "0,0.5", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "phase_N4.csv")))
    assert len(rows) == 6 and all(float(r["chi"]) < 1 for r in rows)
    assert (out / "phase_N4.png").exists() and (out / "phase_N4.pdf").exists()
    assert "optimum" in capsys.readouterr().out


def test_phase_records_rows_and_reuses_them_only_for_the_same_grid_and_code(tmp_path, capsys, monkeypatch):
    """Each finished sigma_b row is one line of <out>/.phase_N4.rows.jsonl; a rerun of the same grid appends
    nothing and says so on stderr; new sigma_b values add their rows only; another sigma_w grid, another
    commit or a damaged line recomputes (a warning names the damaged line)."""
    out = tmp_path / "ph"
    record = out / ".phase_N4.rows.jsonl"
    grid = lambda sw="0.5,1", sb="0,0.5": ["phase", "--levels", "4", "--sigma-w", sw, "--sigma-b", sb,  # noqa: E731
                                          "--out", str(out)]
    argv = grid()
    lines = lambda: record.read_text().splitlines()  # noqa: E731
    assert cli.main(argv) == 0 and len(lines()) == 2
    assert "resuming" not in capsys.readouterr().err
    first = (out / "phase_N4.csv").read_text()
    assert cli.main(argv) == 0 and len(lines()) == 2
    assert f"resuming: 2 of 2 sigma_b rows done (recorded in {record})" in capsys.readouterr().err
    assert (out / "phase_N4.csv").read_text() == first
    assert cli.main(grid(sb="0,0.5,1")) == 0 and len(lines()) == 3  # one new row
    assert "resuming: 2 of 3 sigma_b rows done" in capsys.readouterr().err
    assert cli.main(grid(sw="0.5,1.5")) == 0 and len(lines()) == 5  # another sigma_w grid
    code = cli.code_key()
    monkeypatch.setattr(cli, "code_key", lambda: {**code, "git_commit": "another commit"})
    assert cli.main(argv) == 0 and len(lines()) == 7  # other code
    record.write_text(record.read_text()[:-40] + "\n")  # the last row cut short
    with pytest.warns(UserWarning, match="skipping a damaged line"):
        assert cli.main(argv) == 0
    assert len(lines()) == 8 and "resuming: 1 of 2 sigma_b rows done" in capsys.readouterr().err


@pytest.mark.parametrize("sigma_b", ["0.05,0.5", "0.3"])  # a 2-D grid and a one-row grid
def test_phase_continuous_activation_writes_its_edge_of_chaos(tmp_path, capsys, sigma_b):
    """--activation erf: the grid, the chi_1 = 1 line (one row per sigma_b, maps.edge_of_chaos) and the figure."""
    from qmf_sym import maps
    from qmf_sym.activations import Erf

    out = tmp_path / "ph"
    assert cli.main(["phase", "--activation", "erf", "--sigma-w", "0.6-2:0.2", "--sigma-b", sigma_b,
                     "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "phase_erf.csv")))
    edge = list(csv.DictReader(open(out / "phase_erf_edge_of_chaos.csv")))
    bs = [float(b) for b in sigma_b.split(",")]
    assert len(rows) == 8 * len(bs) and [float(r["sigma_b"]) for r in edge] == bs
    for r in edge:
        assert r["status"] == "ok"
        assert float(r["sigma_w"]) == pytest.approx(float(maps.edge_of_chaos(Erf(), float(r["sigma_b"])).sigma_w), rel=1e-12)
    assert (out / "phase_erf.png").exists() and (out / "phase_erf.pdf").exists()
    assert "edge of chaos" in capsys.readouterr().out


@pytest.mark.parametrize("argv,flag", [(["--levels", "4", "--sigma-w", "0"], "--sigma-w"),
                                       (["--levels", "4", "--sigma-b", "-1"], "--sigma-b"),
                                       (["--levels", "0"], "--levels"), ([], "--levels"),
                                       (["--activation", "tanh", "--levels", "4"], "--levels"),
                                       (["--activation", "gelu"], "--activation"),
                                       (["--activation", "relu", "--sigma-w", "2,3", "--sigma-b", "0.1"], "--sigma-w")])
def test_phase_bad(argv, flag, tmp_path, capsys):
    assert cli.main(["phase"] + argv + ["--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and flag in err, err


def test_phase_unwritable_out(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["phase", "--levels", "4", "--out", str(f / "sub")]) == 2
    assert "--out" in capsys.readouterr().err
