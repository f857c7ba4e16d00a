"""``qmf fixed-point`` (qmf_sim.cli.activation): its numbers are qmf_sym.maps.fixed_point's, its JSON carries
provenance, --out writes through qmf_sim.io, and every bad value of every flag is one line naming the flag,
exit status 2, no traceback (in-process through qmf_sim.cli.main)."""
import json
import math

import pytest

from qmf_sim import cli, io
from qmf_sym import activations as A
from qmf_sym import maps


def _run(argv, capsys):
    code = cli.main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_staircase_text_matches_fixed_point(capsys):
    code, out, err = _run(["fixed-point", "--activation", "staircase", "--levels", "4", "--sigma-w", "1.2",
                           "--sigma-b", "0.05"], capsys)
    assert code == 0, err
    fp = maps.fixed_point(A.Staircase.uniform(4), 1.2, 0.05)
    vals = {ln.split("=")[0].strip(): ln.split("=")[1].split()[0] for ln in out.splitlines()[1:] if "=" in ln}
    assert float(vals["Q_star"]) == pytest.approx(fp.Q, rel=1e-14)
    assert float(vals["C_star"]) == pytest.approx(fp.C, rel=1e-14)
    assert float(vals["chi"]) == pytest.approx(fp.chi, rel=1e-14)
    assert float(vals["xi"]) == pytest.approx(fp.xi, rel=1e-14)
    assert "does not exist (staircase)" in out


def test_sign_json_has_provenance_and_the_closed_form(capsys):
    code, out, err = _run(["fixed-point", "--activation", "sign", "--sigma-w", "1.5", "--sigma-b", "0", "--json"],
                          capsys)
    assert code == 0, err
    rep = json.loads(out)
    assert rep["provenance"]["command"].split()[:2] == ["qmf", "fixed-point"]
    assert rep["Q_star"] == pytest.approx(2.25, rel=1e-14)  # eq. 10: Q* = sigma_w^2 + sigma_b^2
    assert rep["chi"] == pytest.approx(2 / math.pi, rel=1e-14)  # eq. 11 at C* = 0
    assert rep["chi_1"] is None and rep["chi_1_note"] == "does not exist (staircase)"


def test_dps_digits_agree_with_float64(capsys):
    code, out, err = _run(["fixed-point", "--activation", "staircase", "--levels", "16", "--sigma-w", "1",
                           "--dps", "30", "--json"], capsys)
    assert code == 0, err
    rep = json.loads(out)
    d = rep["digits"]
    assert len(d["chi"].replace("0.", "", 1).lstrip("0")) >= 28
    fp = maps.fixed_point(A.Staircase.uniform(16), 1.0)
    assert float(d["chi"]) == pytest.approx(fp.chi, rel=1e-13)
    assert float(d["Q_star"]) == pytest.approx(fp.Q, rel=1e-13)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_out_writes_through_io(tmp_path, capsys, suffix):
    path = tmp_path / f"fp{suffix}"
    code, out, err = _run(["fixed-point", "--activation", "staircase", "--levels", "8", "--sigma-w", "1.1",
                           "--out", str(path)], capsys)
    assert code == 0, err
    fp = maps.fixed_point(A.Staircase.uniform(8), 1.1)
    if suffix == ".json":
        rep, prov = io.read_json(path, provenance=True)
        assert prov["command"].split()[:2] == ["qmf", "fixed-point"]
        assert rep["chi"] == pytest.approx(fp.chi, rel=1e-15)
    else:
        (row,) = io.read_csv(path)
        assert float(row["xi"]) == pytest.approx(fp.xi, rel=1e-15)
        assert io.sidecar_path(path).exists()


@pytest.mark.parametrize("mode", ["text", "json", ".csv", ".json"])
def test_one_minus_C_star_where_float64_rounds_C_to_one(mode, tmp_path, capsys):
    # sigma_b >> sigma_w: 1 - C* ~ 9e-18 (derivations/staircase_chi.md, section 4), C_star prints as 1; the deficit
    # is the solver's root, printed with 15 digits and written exactly (JSON / CSV round-trip float64)
    argv = ["fixed-point", "--activation", "staircase", "--levels", "4", "--sigma-w", "1", "--sigma-b", "1e4"]
    path = tmp_path / f"fp{mode}"
    extra = {"text": [], "json": ["--json"]}.get(mode, ["--out", str(path)])
    code, out, err = _run(argv + extra, capsys)
    assert code == 0, err
    fp = maps.fixed_point(A.Staircase.uniform(4), 1.0, 1e4)
    assert fp.C == 1.0 and 0 < fp.deficit < 1e-16
    if mode == "text":
        vals = {ln.split("=")[0].strip(): ln.split("=")[1].split()[0] for ln in out.splitlines()[1:] if "=" in ln}
        assert float(vals["C_star"]) == 1.0
        assert float(vals["one_minus_C_star"]) == pytest.approx(fp.deficit, rel=1e-14)
        return
    if mode == "json":
        rep = json.loads(out)
    elif mode == ".json":
        rep = io.read_json(path)
    else:
        (rep,) = io.read_csv(path)
    assert float(rep["C_star"]) == 1.0 and float(rep["one_minus_C_star"]) == fp.deficit


def test_one_minus_C_star_digits_at_dps(capsys):
    code, out, err = _run(["fixed-point", "--activation", "staircase", "--levels", "4", "--sigma-w", "1",
                           "--sigma-b", "1e4", "--dps", "30", "--json"], capsys)
    assert code == 0, err
    d = json.loads(out)["digits"]["one_minus_C_star"]
    assert float(d) == pytest.approx(maps.fixed_point(A.Staircase.uniform(4), 1.0, 1e4).deficit, rel=1e-13)
    assert len(d.split("e")[0].replace(".", "")) >= 28  # 30 significant digits of 1 - C*, not of C*


BAD = [("--sigma-w", v) for v in ("nan", "inf", "-inf", "0", "-1", "abc", "")] + \
      [("--sigma-b", v) for v in ("nan", "inf", "-0.5", "abc", "")] + \
      [("--levels", v) for v in ("nan", "inf", "0", "1", "-3", "2.5", "abc")] + \
      [("--dps", v) for v in ("nan", "inf", "0", "-1", "1001", "abc", "2.5")] + \
      [("--activation", v) for v in ("softplus", "0", "nan", "")]


@pytest.mark.parametrize("flag,value", BAD)
def test_bad_value_is_one_line_naming_the_flag(flag, value, capsys):
    argv = {"--activation": "staircase", "--levels": "4", "--sigma-w": "1.0"}
    argv[flag] = value
    code, out, err = _run(["fixed-point"] + [w for kv in argv.items() for w in kv], capsys)
    assert code == 2, (flag, value, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert flag in err, err


@pytest.mark.parametrize("argv,flag", [
    (["--activation", "staircase", "--sigma-w", "1"], "--levels"),      # staircase needs --levels
    (["--activation", "sign", "--levels", "4", "--sigma-w", "1"], "--levels"),  # refused for the others
    (["--activation", "sign"], "--sigma-w"),                             # required
    (["--sigma-w", "1"], "--activation"),                                # required
])
def test_levels_rules_and_required_flags(argv, flag, capsys):
    code, out, err = _run(["fixed-point"] + argv, capsys)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("out", ["x.txt", "{dir}"])
def test_bad_out(out, tmp_path, capsys):
    code, _, err = _run(["fixed-point", "--activation", "sign", "--sigma-w", "1", "--out",
                         out.format(dir=tmp_path) if "{" in out else str(tmp_path / out)], capsys)
    assert code == 2 and "--out" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("name", ["tanh", "erf", "relu", "hardtanh"])
def test_continuous_json_matches_maps(name, capsys):
    sb = 0.3 if name == "relu" else 0.05
    sw = 1.2 if name == "relu" else 1.5
    code, out, err = _run(["fixed-point", "--activation", name, "--sigma-w", str(sw), "--sigma-b", str(sb), "--json"],
                          capsys)
    assert code == 0, err
    rep = json.loads(out)
    fp = maps.fixed_point(A.by_name(name), sw, sb)
    assert rep["Q_star"] == pytest.approx(float(fp.Q), rel=1e-13)
    assert rep["chi"] == pytest.approx(float(fp.chi), rel=1e-13)
    assert rep["chi_1"] == pytest.approx(float(maps.chi_1(A.by_name(name), fp.Q, sw)), rel=1e-12)
    assert rep["chi_1_note"] is None


def test_cli_names_are_the_protocol_names():
    # the CLI keeps its own copy (``qmf --help`` imports no numerics); it must be the protocol's list
    from qmf_sim.cli import activation as cli
    from qmf_sim.experiments import activations as E
    from qmf_sym import activations as A

    assert cli.NAMES == A.NAMES == E.NAMES


def test_train_depth_activation_names_are_the_training_names():
    from qmf_sim import training
    from qmf_sim.cli import training as cli

    assert cli.ACTIVATIONS == training.ACTIVATIONS


def test_train_depth_with_tanh_runs_the_sigma_panel(tmp_path, capsys):
    # a continuous activation: the depth x sigma_w panel only, columns around tanh's edge of chaos (sigma_w = 1
    # at sigma_b = 0), trained with the true derivative; records name the activation and have no levels
    import json

    from qmf_sim.cli import main

    rc = main(["train-depth", "--activation", "tanh", "--depths", "2,3", "--width", "16", "--steps", "20",
               "--sigma-w", "0.8,1.0,1.6", "--out", str(tmp_path), "--no-progress"])
    assert rc == 0
    recs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(recs) == 6 and {r["config"]["activation"] for r in recs} == {"tanh"}
    assert all(r["config"]["levels"] is None for r in recs)
    fit = json.loads((tmp_path / "fit.json").read_text())
    assert [k for k in fit if k != "provenance"] == ["sigma"]
    xi = dict(zip(fit["sigma"]["columns"], fit["sigma"]["xi"]))
    assert xi[1.0] is None or xi[1.0] > 1e3  # the edge of chaos: xi infinite (written as null in JSON)
    assert (tmp_path / "trainable_depth_sigma.png").is_file()
    out = capsys.readouterr().out
    assert "[sigma]" in out


@pytest.mark.parametrize("argv, flag", [
    (["--activation", "tanh", "--levels", "2,4"], "--levels"),
    (["--activation", "erf", "--panels", "levels"], "--panels"),
    (["--activation", "tanh", "--panels", "sigma,levels"], "--panels"),  # the staircase default, asked for
    (["--activation", "relu", "--ste-slope", "critical"], "--ste-slope"),
    (["--activation", "sigmoid"], "--activation"),
])
def test_train_depth_activation_bad_combinations(argv, flag, tmp_path, capsys):
    from qmf_sim.cli import main

    try:
        rc = main(["train-depth", "--out", str(tmp_path), "--steps", "2", *argv])
    except SystemExit as e:  # argparse's own refusals exit; the checks after parsing return 2
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err


@pytest.mark.parametrize("extra", [["--activation", "tanh"], ["--ste-slope", "critical"]])
def test_resume_and_interrupt_counts_use_the_sweeps_own_plan(extra, tmp_path):
    # the "resuming: k of n" / "interrupted: k of n runs saved" lines rebuild the plan from the flags; they
    # used to drop --activation and --ste-slope, so they counted a different sweep (other keys: 0 saved)
    from qmf_sim import cli as C
    from qmf_sim.experiments import trainable_depth as E

    argv = ["train-depth", "--depths", "2,3", "--width", "8", "--steps", "5", "--out", str(tmp_path), *extra]
    args = C.build_parser().parse_args(argv)
    configs, path = C._sweep_of(args)
    kw = dict(depths=[2, 3], width=8, steps=5)
    kw.update({"activation": "tanh"} if "--activation" in extra else {"ste_slope": "critical"})
    want = [c.key() for cs in E.build_plan("smoke", **kw).values() for c in cs]
    assert [c.key() for c in configs] == want
    assert path == tmp_path / "runs.jsonl"


def test_fig1_and_finite_width_take_a_continuous_activation(tmp_path, capsys):
    """qmf fig1 / finite-width --activation erf: sigma_w in units of erf's edge of chaos at --sigma-b
    (netprop.sigma_w_optimal), the files say which activation; --levels is the staircase's."""
    from qmf_sim import netprop as NP
    from qmf_sim.cli import main
    from qmf_sym.activations import Erf

    crit = NP.sigma_w_optimal(Erf(), 0.1)
    assert main(["fig1", "--activation", "erf", "--sigma-b", "0.1", "--depth", "6", "--width", "64", "--r", "12",
                 "--factors", "0.8,1.3", "--out", str(tmp_path / "f"), "--no-progress"]) == 0
    meta = json.loads((tmp_path / "f" / "fig1.json").read_text())
    assert meta["activation"] == "erf" and meta["N"] is None
    assert [r["sigma_w"] for r in meta["runs"]] == pytest.approx([0.8 * crit, 1.3 * crit], rel=1e-12)
    assert main(["finite-width", "--activation", "erf", "--sigma-b", "0.1", "--widths", "16,32", "--depth", "3",
                 "--runs", "4", "--factors", "1.2", "--out", str(tmp_path / "w")]) == 0
    fw = json.loads((tmp_path / "w" / "finite_width.json").read_text())
    assert fw["activation"] == "erf" and fw["sigma_b"] == 0.1
    assert fw["fits"][0]["sigma_w"] == pytest.approx(1.2 * crit, rel=1e-12)


@pytest.mark.parametrize("argv, flag", [
    (["fig1", "--activation", "tanh", "--levels", "4"], "--levels"),
    (["fig1", "--activation", "tanh"], "--factors"),  # sigma_b = 0: the line ends at Q* = 0, 0.7 x crit dies out
    (["fig1", "--activation", "relu", "--sigma-b", "0.1"], "--sigma-b"),  # relu has no edge at sigma_b > 0
    (["fig1", "--levels", "5", "--factors", "0.1"], "--factors"),
    (["finite-width", "--activation", "gelu"], "--activation"),
    (["finite-width", "--activation", "erf", "--levels", "3"], "--levels"),
])
def test_fig1_finite_width_bad_activation_flags(argv, flag, tmp_path, capsys):
    from qmf_sim.cli import main

    try:
        rc = main([*argv, "--out", str(tmp_path / "o")])
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and flag in err, err
