"""Ctrl-C in a training sweep (issue 11 section 2): SIGINT to a real subprocess."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_sigint_saves_and_resumes(tmp_path):
    out = tmp_path / "td"
    cmd = [sys.executable, "-m", "qmf_sim.cli", "train-depth", "--panels", "levels", "--levels", "2,3,4,5,6",
           "--depths", "2", "--width", "16", "--steps", "1000", "--out", str(out), "--no-progress"]
    env = {**os.environ, "QMF_MNIST_DIR": ""}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    results = out / "runs.jsonl"
    t0 = time.monotonic()
    while not (results.exists() and results.read_text().count("\n") >= 1):
        if proc.poll() is not None or time.monotonic() - t0 > 300:
            proc.kill()
            pytest.fail(f"the sweep ended before its first record: {proc.communicate()}")
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the signal arrived")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert len(lines) == 1, stderr
    m = re.fullmatch(r"interrupted: (\d+) of 5 runs saved in (.+); rerun the same command to resume", lines[0])
    # k >= 1 (the signal came after the first record); k = 5 when it landed after the last run, while the
    # figures were being written
    assert m and 1 <= int(m.group(1)) <= 5 and m.group(2) == str(results)
    k = int(m.group(1))
    assert len(results.read_text().splitlines()) == k
    # resume: the same command says how far it got, then trains only the rest
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"resuming: {k} of 5 runs done"
    assert len(results.read_text().splitlines()) == 5
