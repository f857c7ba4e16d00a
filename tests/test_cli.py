"""The qmf command line: help, the plugin registry, and errors."""
import subprocess
import sys

import pytest

from qmf_sim import cli


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("reproduce", "table"):
        assert cmd in out


def test_every_plugin_loads_and_registers_parts():
    mods = cli._plugins()
    assert [m.__name__ for m in mods] == list(cli.PLUGINS)  # all areas present in this checkout
    parts = cli.reproduce_parts()
    assert "spacing" in parts and all(callable(f) for f in parts.values())


def test_reproduce_unknown_part(tmp_path, capsys):
    assert cli.main(["reproduce", "--out", str(tmp_path / "unused"), "--only", "no_such_part"]) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "no_such_part" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "unused").exists()  # nothing created for a bad command line


def test_console_help_is_fast_and_works():
    # run as a fresh process: the help must not need torch/numba imports to succeed
    r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "qmf" in r.stdout


# ---------------------------------------------------------------------------------- the one vocabulary
def test_vocab_lists_and_ranges():
    import argparse

    from qmf_sim.cli import _vocab as A

    assert A.parse_list("2,4,10-40:10", int) == [2, 4, 10, 20, 30, 40]
    assert A.parse_list("3-5", int) == [3, 4, 5]  # inclusive, STEP 1
    assert A.parse_list("7", int) == [7] and A.parse_list("8.0", int) == [8]
    got = A.parse_list("0.5-1.5:0.25", float)
    assert got == pytest.approx([0.5, 0.75, 1.0, 1.25, 1.5]) and len(got) == 5  # end point kept
    assert A.parse_list("-1-1:0.5", float) == pytest.approx([-1, -0.5, 0, 0.5, 1])  # a leading minus is a sign
    assert A.parse_list("1e-3,2e-3", float) == [1e-3, 2e-3]  # an exponent's minus is not a range
    assert A.parse_list("1e-3-3e-3:1e-3", float) == pytest.approx([1e-3, 2e-3, 3e-3])
    for bad, kind in [("", int), ("1,,2", int), ("a", int), ("2.5", int), ("nan", float), ("inf", float),
                      ("1-3:0", int), ("3-1", int), ("1-2:-1", float), ("1:2:1", int), ("True", int)]:
        with pytest.raises(argparse.ArgumentTypeError):
            A.parse_list(bad, kind)
    with pytest.raises(argparse.ArgumentTypeError, match=">= 2"):
        A.int_list(2)("1,4")
    with pytest.raises(argparse.ArgumentTypeError, match="> 0"):
        A.float_list(0, lo_open=True)("0")


def test_one_flag_name_per_idea():
    # --levels, never --N; --runs, never --draws (repetitions) in the commands of qmf_sim.cli.netprop/training
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("fig1", "finite-width", "train-depth"):
        opts = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert "--N" not in opts and "--draws" not in opts, name
        assert {"--out", "--seed"} <= opts, name
    assert {"--levels", "--runs"} <= {o for a in sub.choices["fig1"]._actions for o in a.option_strings}


# ---------------------------------------------------------------------------------- numbers on the command line
def test_fig1_without_decay_within_depth(tmp_path, capsys):
    # C - C* cannot reach 1/e within 2 layers at sigma_w = 1.5 x opt: before, `qmf fig1` crashed at
    # the end (formatting a null decay layer); now an empty CSV cell, null in JSON and "n/a" printed
    import json

    from qmf_sim import io

    argv = ["fig1", "--depth", "2", "--width", "32", "--r", "12", "--factors", "1.5", "--dtype", "float64",
            "--out", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    meta = json.loads((tmp_path / "fig1.json").read_text())
    run = meta["runs"][0]
    assert run["decay_mf"] is None and "n/a" in out
    row = io.read_csv(tmp_path / "fig1_decay.csv")[0]
    assert row["decay_layer_meanfield"] is None and float(row["xi"]) > 2  # the mean field decays over xi >> 2 layers


def test_every_registered_part_resolves():
    # the registry imports lazily; here every part must resolve (an import error is never swallowed)
    from qmf_sim import experiments

    assert experiments.parts()[:2] == ["spacing", "sign"] and "trainable_depth" in experiments.parts()
    for part in experiments.parts():
        assert callable(experiments.resolve(part)), part
    with pytest.raises(ValueError, match="part must be one of"):
        experiments.resolve("no_such_part")


def test_broken_pipe_is_quiet(monkeypatch, capsys):
    """`qmf ... | head`: the reader closing the pipe stops qmf quietly (no 'error' line, no traceback)."""
    import io as _io
    import sys

    from qmf_sim.cli import main

    class ClosedPipe(_io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return sys.__stdout__.fileno() if sys.__stdout__ else 1

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr("os.dup2", lambda *a: None)  # keep the test process's real stdout
    rc = main(["init", "--levels", "4", "--json"])
    err = capsys.readouterr().err
    assert rc == 141 and "error" not in err and "Traceback" not in err
