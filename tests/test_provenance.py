"""Provenance of every file qmf writes and the version string."""
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from qmf_sim import io

FIELDS = {"qmf_version", "git_commit", "command", "created_utc", "python", "numpy", "torch", "numba",
          "platform", "seeds"}


def _check(prov):
    assert FIELDS <= set(prov)
    import platform

    import numpy as np

    import qmf_sym

    assert prov["qmf_version"] == qmf_sym.__version__ and prov["python"] == platform.python_version()
    assert prov["numpy"] == np.__version__
    t = dt.datetime.fromisoformat(prov["created_utc"].replace("Z", "+00:00"))
    assert t.tzinfo is not None and abs((dt.datetime.now(dt.timezone.utc) - t).total_seconds()) < 3600
    root = Path(io.__file__).resolve().parents[1]
    if (root / ".git").exists():  # run from a checkout: a commit of the checkout (HEAD when the process
        # first asked; other commits may land while a long test session runs), "+dirty" with local changes
        sha = prov["git_commit"].split("+")[0]
        assert len(sha) == 40 and prov["git_commit"] in (sha, sha + "+dirty")
        r = subprocess.run(["git", "-C", str(root), "cat-file", "-t", sha], capture_output=True, text=True)
        assert r.stdout.strip() == "commit"
        r = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", sha, "HEAD"])
        assert r.returncode == 0
    else:
        assert prov["git_commit"] is None


def test_versions_agree():
    import qmf_sim
    import qmf_sym

    assert qmf_sim.__version__ == qmf_sym.__version__ and isinstance(qmf_sym.__version__, str)
    from importlib.metadata import PackageNotFoundError, version

    try:
        assert qmf_sym.__version__ == version("qmf")
    except PackageNotFoundError:
        assert qmf_sym.__version__ == "0+unknown"


def test_qmf_version_flag():
    import qmf_sym

    r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"qmf {qmf_sym.__version__}"


def test_context_command_and_seeds(tmp_path):
    io.set_context(["qmf", "fig1", "--seed", "3"], seeds=3)
    try:
        p = io.write_json(tmp_path / "a.json", {"x": 1})
        prov = json.loads(p.read_text())["provenance"]
    finally:
        io.set_context(None, None)
    _check(prov)
    assert prov["command"] == "qmf fig1 --seed 3" and prov["seeds"] == [3]


@pytest.mark.parametrize("writer", ["json", "json_list", "csv", "jsonl"])
def test_every_writer_has_provenance_and_strict_json(tmp_path, writer):
    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict token {c}"))

    payload = {"v": float("nan"), "seed": 11}
    if writer == "json":
        prov = strict(io.write_json(tmp_path / "a.json", payload).read_text())["provenance"]
    elif writer == "json_list":
        prov = strict(io.write_json(tmp_path / "a.json", [payload]).read_text())["provenance"]
    elif writer == "csv":
        p = io.write_csv(tmp_path / "a.csv", ["v", "seed"], [payload])
        prov = strict(io.sidecar_path(p).read_text())["provenance"]
    else:
        io.append_jsonl(tmp_path / "a.jsonl", payload)
        prov = strict((tmp_path / "a.jsonl").read_text().splitlines()[0])["provenance"]
    _check(prov)
    if writer != "csv":  # seeds found in the payload
        assert prov["seeds"] == [11]


def test_cli_run_writes_provenance_with_its_command(tmp_path):
    """A real command: its JSON and CSV sidecar name the command line and the seed."""
    from qmf_sim import cli

    argv = ["fig1", "--depth", "2", "--width", "16", "--r", "6", "--factors", "1.0", "--seed", "5",
            "--out", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0
    for path in (tmp_path / "fig1.json", io.sidecar_path(tmp_path / "fig1_decay.csv")):
        prov = json.loads(path.read_text())["provenance"]
        _check(prov)
        assert prov["command"] == "qmf " + " ".join(argv) and prov["seeds"] == [5]
