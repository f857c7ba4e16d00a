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


def test_write_json_is_strict(tmp_path):
    import json
    import math

    import numpy as np

    from qmf_sim.io import write_json

    p = write_json(tmp_path / "r.json", {"a": float("nan"), "b": [np.float64(1.5), math.inf], "c": np.arange(2)})
    text = p.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": None, "b": [1.5, None], "c": [0, 1]}
