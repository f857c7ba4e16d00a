"""One vocabulary across every command, scripts that answer --help, --no-progress quiet."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def test_one_vocabulary_across_all_commands():
    from qmf_sim.cli import _vocab, build_parser

    assert _vocab.audit(build_parser()) == []


def test_audit_finds_a_bad_flag():
    import argparse

    from qmf_sim.cli import _vocab

    p = argparse.ArgumentParser(prog="x")
    sub = p.add_subparsers()
    s = sub.add_parser("y")
    s.add_argument("--draws", type=int, help="h")
    s.add_argument("--depths", type=str, help="h")
    s.add_argument("--z")
    got = _vocab.audit(p)
    assert any("--draws (use --runs)" in g for g in got) and any("--depths does not use" in g for g in got)
    assert any("--z has no help" in g for g in got)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scripts_answer_help_without_working(script, tmp_path):
    r = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout
    assert list(tmp_path.iterdir()) == []  # wrote nothing where it ran


def test_progress_switch(monkeypatch):
    from qmf_sim import progress

    class Tty:
        def isatty(self):
            return True

        def write(self, s):
            return len(s)

        def flush(self):
            pass

    monkeypatch.delenv("QMF_NO_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", Tty())
    assert progress.enabled() and not progress.enabled(False)
    progress.set_enabled(False)
    try:
        assert not progress.enabled()
    finally:
        progress.set_enabled(True)
    monkeypatch.setenv("QMF_NO_PROGRESS", "1")
    assert not progress.enabled()


def test_non_tty_run_is_quiet(tmp_path):
    """fig1 through a pipe (non-TTY stderr) writes no progress bar."""
    r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", "fig1", "--depth", "2", "--width", "16", "--r", "6",
                        "--factors", "1.0,1.2", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "sigma_w/s" not in r.stderr and "%|" not in r.stderr and r.stderr.strip() == ""
