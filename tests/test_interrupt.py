"""Ctrl-C: a real SIGINT to a real subprocess, sent at a fixed point of the work so
that the interrupt path is tested every time (never skipped because the work ended first).

The child runs the ``qmf`` entry point with one hook installed by the test's own wrapper code (no hook
in the package): the sweep's record writer (``qmf_sim.sweep.append_record``), the JSONL writer of the rows
of ``qmf phase`` (``qmf_sim.io.append_jsonl``) or a stand-in part of ``qmf reproduce`` sends SIGINT to its
own process after the k-th record / inside the part.
"""
import json
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")

#: the child: install the hook named in QMF_TEST_HOOK, then run qmf with the given arguments
WRAPPER = r'''
import os, signal, sys
hook = os.environ.get("QMF_TEST_HOOK", "")
if hook.startswith("sweep:"):  # SIGINT right after the k-th record of the sweep is saved
    import qmf_sim.sweep as S
    k, orig, n = int(hook.split(":")[1]), S.append_record, [0]
    def append_record(*a, **kw):
        orig(*a, **kw)
        n[0] += 1
        if n[0] == k:
            os.kill(os.getpid(), signal.SIGINT)
    S.append_record = append_record
if hook.startswith("phase:"):  # SIGINT right after the k-th row of qmf phase is recorded (0: never)
    from qmf_sim import io
    io.git_commit = lambda: "0" * 40  # other commits to this checkout meanwhile must not count as a code change
    k, orig, n = int(hook.split(":")[1]), io.append_jsonl, [0]
    def append_jsonl(*a, **kw):
        orig(*a, **kw)
        n[0] += 1
        print(f"row {n[0]} recorded", file=sys.stderr, flush=True)
        if n[0] == k:
            os.kill(os.getpid(), signal.SIGINT)
    io.append_jsonl = append_jsonl
if hook.startswith("reproduce"):  # two stand-in parts; part b is interrupted unless the hook says "reproduce:ok"
    from pathlib import Path
    from qmf_sim import experiments, io, report
    io.git_commit = lambda: "0" * 40  # other commits to this checkout meanwhile must not count as a code change
    def part(name):
        def fn(out, quick):
            print(f"computing {name}", flush=True)
            if name == "b" and hook != "reproduce:ok":
                os.kill(os.getpid(), signal.SIGINT)
            return [io.write_json(Path(out) / f"{name}.json", {"part": name})]
        return fn
    experiments.parts = lambda: ["a", "b"]
    experiments.resolve = part
    report.write_report = lambda out, **kw: io.write_text(Path(out) / "index.html", "<html></html>")
from qmf_sim.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _qmf(args, hook, timeout=600):
    env = {**os.environ, "QMF_MNIST_DIR": "", "QMF_TEST_HOOK": hook, "QMF_NO_PROGRESS": "1"}
    return subprocess.run([sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_sigint_saves_and_resumes(tmp_path):
    out = tmp_path / "td"
    cmd = ["train-depth", "--panels", "levels", "--levels", "2,3,4,5,6", "--depths", "2", "--width", "16",
           "--steps", "50", "--out", str(out), "--no-progress"]
    results = out / "runs.jsonl"
    r = _qmf(cmd, "sweep:2")  # SIGINT after the second of five records
    assert r.returncode == 130, r.stderr
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    m = re.fullmatch(r"interrupted: (\d+) of 5 runs saved in (.+); rerun the same command to resume", lines[0])
    assert m and int(m.group(1)) == 2 and m.group(2) == str(results), lines[0]
    assert len(results.read_text().splitlines()) == 2
    # resume: the same command says how far it got, then trains only the rest
    r = _qmf(cmd, "")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "resuming: 2 of 5 runs done"
    assert len(results.read_text().splitlines()) == 5


def test_sigint_in_phase_keeps_finished_rows_and_resumes(tmp_path):
    """qmf phase: Ctrl-C after the 2nd of 5 sigma_b rows keeps those two (one line, exit 130, no file but the
    record); the rerun says so on stderr, computes the other 3 only, and writes what a run straight through
    writes."""
    grid = ["--levels", "4", "--sigma-w", "0.5,1,1.5", "--sigma-b", "0,0.25,0.5,0.75,1"]
    out, fresh = tmp_path / "ph", tmp_path / "fresh"
    record = out / ".phase_N4.rows.jsonl"
    r = _qmf(["phase", *grid, "--out", str(out)], "phase:2")
    assert r.returncode == 130 and "Traceback" not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("row ")]
    assert lines == [f"interrupted: 2 of 5 sigma_b rows saved in {record}; rerun the same command to resume"], r.stderr
    assert r.stderr.count("recorded") == 2 and len(record.read_text().splitlines()) == 2
    assert sorted(p.name for p in out.iterdir()) == [record.name]  # nothing else written

    r = _qmf(["phase", *grid, "--out", str(out)], "phase:0")
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    assert err[0] == f"resuming: 2 of 5 sigma_b rows done (recorded in {record})", r.stderr
    assert r.stderr.count("recorded\n") == 3 and len(record.read_text().splitlines()) == 5  # 3 rows computed

    r = _qmf(["phase", *grid, "--out", str(fresh)], "phase:0")
    assert r.returncode == 0, r.stderr
    assert (out / "phase_N4.csv").read_text() == (fresh / "phase_N4.csv").read_text()


def test_sigint_in_phase_first_row_keeps_nothing(tmp_path):
    """Ctrl-C before any row finished: the line says plainly that nothing was kept."""
    import signal as S

    wrapper = WRAPPER.replace("from qmf_sim.cli import main", "import qmf_sym.maps as M\n"
                              "M.fixed_point = lambda *a, **k: os.kill(os.getpid(), signal.SIGINT)\n"
                              "from qmf_sim.cli import main")
    env = {**os.environ, "QMF_TEST_HOOK": "phase:0", "QMF_NO_PROGRESS": "1"}
    r = subprocess.run([sys.executable, "-c", wrapper, "phase", "--levels", "4", "--sigma-w", "1", "--sigma-b", "0,1",
                        "--out", str(tmp_path / "ph")], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 128 + S.SIGINT and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == ["interrupted: no sigma_b row of 2 finished, nothing kept; a rerun starts "
                                             "again"], r.stderr


def test_sigint_in_reproduce_records_finished_parts(tmp_path):
    """Ctrl-C outside the sweep: the finished parts are recorded (through qmf_sim.io, with provenance),
    the message says so, and the rerun skips them, saying so; --redo recomputes."""
    out = tmp_path / "res"
    r = _qmf(["reproduce", "--out", str(out), "--no-progress"], "reproduce")
    assert r.returncode == 130 and "Traceback" not in r.stderr, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("interrupted during part b: 1 part(s) finished (a), recorded in ")
    assert "rerun the same command to skip them (--redo recomputes)" in lines[0]
    state = json.loads((out / ".qmf-reproduce.json").read_text())
    assert set(state["parts"]) == {"a"} and "provenance" in state
    assert state["parts"]["a"]["written"] == [str(out / "a.json")]

    r = _qmf(["reproduce", "--out", str(out), "--no-progress"], "reproduce:ok")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\[qmf reproduce\] skipping part a: done at \S+Z \(--redo recomputes it\)$", r.stdout, re.M)
    assert "computing a" not in r.stdout and "computing b" in r.stdout
    assert set(json.loads((out / ".qmf-reproduce.json").read_text())["parts"]) == {"a", "b"}



def test_reproduce_skips_finished_parts_in_process(tmp_path, monkeypatch, capsys):
    """The skip rule without subprocesses: all done -> nothing computed; a finished part whose file is
    gone is recomputed; --redo recomputes everything."""
    from pathlib import Path

    from qmf_sim import cli, experiments, io, report

    calls = []

    def part(name):
        def fn(out, quick):
            calls.append(name)
            return [io.write_json(Path(out) / f"{name}.json", {"part": name})]
        return fn

    monkeypatch.setattr(experiments, "parts", lambda: ["a", "b"])
    monkeypatch.setattr(experiments, "resolve", part)
    monkeypatch.setattr(report, "write_report", lambda out, **kw: io.write_text(Path(out) / "index.html", "x"))
    argv = ["reproduce", "--out", str(tmp_path), "--no-progress"]
    assert cli.main(argv) == 0 and calls == ["a", "b"]
    assert cli.main(argv) == 0 and calls == ["a", "b"]  # all done: nothing computed
    assert capsys.readouterr().out.count("skipping part") == 2
    (tmp_path / "a.json").unlink()
    assert cli.main(argv) == 0 and calls == ["a", "b", "a"]
    assert cli.main([*argv, "--quick"]) == 0 and calls == ["a", "b", "a", "a", "b"]  # other sizes: recomputed
    assert cli.main([*argv, "--redo"]) == 0 and calls[-2:] == ["a", "b"] and len(calls) == 7
