"""Every user error of the ``qmf`` command line is one line on stderr naming the flag,
exit status 2, no traceback -- and it is found before any computing (``--out`` is checked first).

The fast tests call ``qmf_sim.cli.main`` in-process with the experiment functions replaced by a
guard that raises ``ComputeStarted``: a bad value that reaches the guard was accepted, a failure.
The slow test runs every command of every plugin in a subprocess with bad values for each
numeric option (``abc``, ``nan``, ``inf``) and looks for a traceback.
"""
import os
import subprocess
import sys

import pytest

from qmf_sim import cli


class ComputeStarted(Exception):
    pass


def _guard(*a, **k):
    raise ComputeStarted


@pytest.fixture
def guarded(monkeypatch):
    from qmf_sim.experiments import netprop, trainable_depth

    for mod, name in ((netprop, "run_fig1"), (netprop, "run_finite_width"), (trainable_depth, "run")):
        monkeypatch.setattr(mod, name, _guard)
    from qmf_sim import experiments

    monkeypatch.setattr(experiments, "resolve", lambda part: _guard)


def _expect_usage_error(argv, flag, capsys):
    try:
        code = cli.main(argv)
    except ComputeStarted:
        pytest.fail(f"{argv}: a bad value was accepted and computing started")
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert flag in err, (argv, err)


def _bad_out(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    return str(f / "sub")  # a directory below a regular file cannot be created


BAD = {
    "fig1": [("--depth", "0"), ("--depth", "abc"), ("--depth", "2.5"), ("--width", "-3"), ("--r", "1"),
             ("--levels", "1"), ("--levels", "nan"), ("--factors", "0,1"), ("--factors", "nan"),
             ("--factors", "1,,2"), ("--factors", "3-1"), ("--factors", "1-3:0"), ("--sigma-b", "-1"),
             ("--sigma-b", "inf"), ("--dtheta", "nan"), ("--dtheta", "7"), ("--runs", "0"), ("--seed", "-1"),
             ("--seed", "True"), ("--dtype", "float16"), ("--device", "cuda:7"), ("--device", "tpu")],
    "finite-width": [("--widths", "0,64"), ("--widths", "abc"), ("--widths", ""), ("--depth", "0"),
                     ("--runs", "1"), ("--factors", "-1"), ("--levels", "0"), ("--seed", "nan")],
    "train-depth": [("--depths", "1,4"), ("--depths", "2:8:2"), ("--depths", "2-8:0"), ("--levels", "1"),
                    ("--sigma-w", "0"), ("--sigma-w", "nan"), ("--sigma-levels", "1"), ("--width", "0"),
                    ("--steps", "0"), ("--lr", "0"), ("--lr", "-1"), ("--lr", "nan"), ("--seed", "-2"),
                    ("--threads", "0"), ("--threads", "-1"), ("--panels", "sigma,nope"), ("--preset", "nope"),
                    ("--device", "cuda:9"), ("--device", "gpu")],
    "table": [("--levels", "0"), ("--levels", "-3"), ("--levels", "nan"), ("--levels", "1e9"),
              ("--levels", "1000000000"), ("--levels", "2-1000001"), ("--levels", "a-b"), ("--levels", ""),
              ("--dps", "0"), ("--dps", "-1"), ("--dps", str(10 ** 6)), ("--dps", "true"), ("--dps", "nan")],
}


@pytest.mark.parametrize("command, flag, value", [(c, f, v) for c, fv in BAD.items() for f, v in fv])
def test_bad_value_is_one_line_exit_2(command, flag, value, tmp_path, capsys, guarded):
    _expect_usage_error([command, flag, value, "--out", str(tmp_path)], flag, capsys)


@pytest.mark.parametrize("command", ["fig1", "finite-width", "train-depth", "reproduce"])
def test_unwritable_out_before_computing(command, tmp_path, capsys, guarded):
    _expect_usage_error([command, "--out", _bad_out(tmp_path)], "--out", capsys)


def test_cuda_without_cuda(tmp_path, capsys, guarded):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    for command in ("fig1", "train-depth"):
        _expect_usage_error([command, "--device", "cuda", "--out", str(tmp_path)], "--device", capsys)


def test_missing_and_corrupt_data(tmp_path, capsys, guarded):
    _expect_usage_error(["train-depth", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)], "--data", capsys)
    bad = tmp_path / "mnist"
    bad.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (bad / name).write_bytes(b"\x00\x00\x08\x03garbage")
    _expect_usage_error(["train-depth", "--data", str(bad), "--out", str(tmp_path)], "--data", capsys)


def test_unreachable_scheduler(tmp_path, capsys, guarded):
    pytest.importorskip("dask.distributed")
    _expect_usage_error(["train-depth", "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)],
                        "--scheduler", capsys)
    _expect_usage_error(["train-depth", "--scheduler", "not-an-address", "--out", str(tmp_path)],
                        "--scheduler", capsys)


def test_reproduce_reports_a_broken_part(tmp_path, capsys, monkeypatch):
    from qmf_sim import experiments

    monkeypatch.setitem(experiments.PARTS, "fig1", ("qmf_sim.experiments.no_such_module:fn",))
    _expect_usage_error(["reproduce", "--only", "fig1", "--out", str(tmp_path)], "fig1", capsys)


def _walk(parser, path=()):
    """(command words, option) for every numeric option of every (nested) sub-command."""
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, p in action.choices.items():
                yield from _walk(p, path + (name,))
        elif path and action.option_strings and action.nargs != 0 and action.type is not None \
                and action.choices is None:
            yield " ".join(path), action.option_strings[-1]


def _subcommands():
    return _walk(cli.build_parser())


@pytest.mark.slow
@pytest.mark.parametrize("command, flag", sorted(set(_subcommands())))
@pytest.mark.parametrize("value", ["abc", "nan", "inf"])
def test_every_numeric_option_of_every_command(command, flag, value, tmp_path):
    argv = command.split() + (["1"] if command.endswith("figure") else []) + [flag, value, "--out", str(tmp_path / "o")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", *argv], capture_output=True, text=True,
                           timeout=60, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"qmf {' '.join(argv)}: a bad value was accepted (still computing after 60 s)")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (r.returncode, r.stderr)


@pytest.mark.parametrize("spec", ["tanh:nan", "tanh:1,inf", "tanh:0", "sign:-1", "uniform:inf", "uniform:nan",
                                  "uniform:1", "uniform:4,nan"])
def test_psi_spec_with_a_bad_number_names_psi(spec, tmp_path, capsys):
    """A bad number inside a --psi NAME:ARGS spec names --psi (it named only "amplitude"; uniform:inf was an
    OverflowError traceback)."""
    code = cli.main(["ste", "simulate", "--psi", spec, "--d", "20", "--runs", "2", "--tau-max", "1", "--n-tau", "3",
                     "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "argument --psi" in err and spec.split(":")[1].split(",")[-1] in err, err


def test_fixed_point_tiny_sigma_w_answers(capsys):
    """sigma_w = 1e-300 underflows Q* to 0 (the ordered phase: the signal dies out); the answer is Q* = 0,
    not a ZeroDivisionError traceback from the quadrature grid of a smooth activation."""
    code = cli.main(["fixed-point", "--activation", "tanh", "--sigma-w", "1e-300"])
    out = capsys.readouterr()
    assert code in (0, None) and "Traceback" not in out.err, out.err
    assert "Q_star = 0" in out.out
