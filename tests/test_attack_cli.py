"""scripts/attack_cli.py: bad values for every flag of every ``qmf`` command end in one line, exit 2 (or
a clean run), never a traceback.  Default suite: the representative subset (one fresh process that forks a
child per case); slow: every flag x every bad value."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "attack_cli.py"


def _load():
    spec = importlib.util.spec_from_file_location("attack_cli", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(*args, timeout):
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env)
    return r, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""


def test_classify():
    """The counting rule itself: a traceback or an unexpected status counts; one error line is clean."""
    A = _load()
    assert A.classify(2, "qmf table: error: argument --levels: bad\n") == "ok"
    assert A.classify(2, "fetching ...\nqmf data: error: offline\n") == "ok"  # log lines before the error
    assert A.classify(2, "qmf x: error: a\nqmf x: error: b\n") == "multi-line"
    assert A.classify(1, "Traceback (most recent call last):\n  ...\nMemoryError\n") == "traceback"
    assert A.classify(0, "Traceback (most recent call last):\n") == "traceback"
    assert A.classify(-9, "") == "traceback" and A.classify(None, "") == "timeout" and A.classify(0, "") == "ok"


def test_every_flag_is_attacked():
    """The cases come from the argparse definitions: every flag taking a value of every command."""
    A = _load()
    cs = A.cases()
    flags = {(c, f) for c, f, _ in cs}
    for want in (("ste simulate", "--d"), ("ste simulate", "--out"), ("fig1", "--width"), ("table", "--dps"),
                 ("finite-width", "--widths"), ("train-depth", "--depths"), ("ste figure", "which"),
                 ("reproduce", "--only"), ("data", "--timeout"), ("init", "--levels")):
        assert want in flags, want
    assert {v for c, f, v in cs if f == "--d"} >= {"nan", "inf", "-1", "0", "true", "", "1e12", "abc"}
    assert {(c, f) for c, f, _ in A.SUBSET} <= flags  # the subset attacks real flags


def test_subset_has_no_traceback():
    r, last = _run("--subset", "--timeout", "60", timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " 0 tracebacks, 0 multi-line errors" in last, last


@pytest.mark.slow
def test_every_flag_has_no_traceback():
    r, last = _run("--timeout", "30", timeout=3 * 3600)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-2000:]
    assert " 0 tracebacks, 0 multi-line errors" in last, last


def test_bad_values_cover_tiny_complex_and_specs():
    """The sweep's values include tiny (1e-300: the fixed-point ZeroDivisionError it found), complex, an
    overflowing 1e400 and 'none'; --psi / --phi / --activation / --device get bad NAME:ARGS specs
    (--psi tanh:nan named only 'amplitude'); fixed-point is attacked with its required flags given."""
    A = _load()
    cs = A.cases()
    assert {v for c, f, v in cs if (c, f) == ("fixed-point", "--sigma-w")} >= {"1e-300", "1+2j", "1e400", "none", "nan"}
    assert {"tanh:nan", "uniform:inf", "uniform:1e12"} <= {v for c, f, v in cs if (c, f) == ("ste simulate", "--psi")}
    assert "cuda:-1" in {v for c, f, v in cs if f == "--device"}
    assert A.argv_of("fixed-point", "--sigma-w", "1e-300", Path("/t"), Path("/f"))[:3] == ["fixed-point", "--activation", "tanh"]
