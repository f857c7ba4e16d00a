"""qmf_sim.sweep: resumable JSONL sweeps, Dask path, boundary analysis; qmf train-depth input checks."""
import json
import math
import time
import warnings

import numpy as np
import pytest

from qmf_sim import sweep as S
from qmf_sim.experiments.trainable_depth import build_plan
from qmf_sim.training import TrainConfig

TINY = dict(width=16, steps=30, eval_steps=(15,), lr=0.05, batch_size=16, train_eval_size=100, device="cpu")


def tiny_grid():
    return S.sigma_grid([2, 3], [1.0, 2.0], levels=4, **TINY)


def strip(rec):
    """A record without its execution facts (timings, host, threads; the provenance io.append_jsonl adds)."""
    return {k: v for k, v in rec.items() if k not in ("run", "provenance")}


def lines(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def test_interrupted_sweep_resumes_and_loses_nothing(tmp_path):
    path = tmp_path / "runs.jsonl"
    cfgs = tiny_grid()
    trained = []

    def stop_after_two(rec):
        trained.append(rec["key"])
        if len(trained) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        S.run_sweep(cfgs, path, progress=False, on_record=stop_after_two, threads=1)
    assert len(lines(path)) == 2  # the two finished runs were saved at once
    first = list(trained)

    again = []
    res = S.run_sweep(cfgs, path, progress=False, on_record=lambda r: again.append(r["key"]), threads=1)
    assert len(again) == 2 and not set(again) & set(first)  # only the remaining runs trained
    recs = lines(path)
    assert sorted(r["key"] for r in recs) == sorted(c.key() for c in cfgs)  # each run exactly once
    assert set(res) == {c.key() for c in cfgs}
    # a finished sweep removes the claim files of its recorded runs: only the append lock is left
    assert [p.name for p in (tmp_path / "runs.jsonl.locks").iterdir()] == ["append.lock"]

    # re-running a finished sweep trains nothing
    none = []
    S.run_sweep(cfgs, path, progress=False, on_record=lambda r: none.append(r), threads=1)
    assert none == [] and len(lines(path)) == 4


def test_max_runs_and_duplicate_configs(tmp_path):
    path = tmp_path / "runs.jsonl"
    cfgs = tiny_grid()
    S.run_sweep(cfgs + cfgs[:1], path, progress=False, max_runs=1, threads=1)
    assert len(lines(path)) == 1
    assert len(S.pending(cfgs + cfgs, path)) == 3  # duplicates collapse by key


def test_cut_last_line_is_redone(tmp_path):
    path = tmp_path / "runs.jsonl"
    cfgs = tiny_grid()[:2]
    S.run_sweep(cfgs, path, progress=False, threads=1)
    text = path.read_text().splitlines()
    path.write_text(text[0] + "\n" + text[1][: len(text[1]) // 2])  # a crash while writing run 2
    with pytest.warns(UserWarning, match="damaged"):
        assert len(S.pending(cfgs, path)) == 1
    with pytest.warns(UserWarning, match="moved to"):
        S.run_sweep(cfgs, path, progress=False, threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cut line was moved aside: no warning any more
        done = S.load_results(path)
    assert set(done) == {c.key() for c in cfgs}
    assert (tmp_path / "runs.jsonl.damaged").read_text() == text[1][: len(text[1]) // 2] + "\n"


def test_dask_matches_in_process(tmp_path):
    """Two-worker local Dask cluster vs in-process: the same records (timings aside)."""
    from dask.distributed import LocalCluster

    cfgs = tiny_grid()
    local = S.run_sweep(cfgs, tmp_path / "local.jsonl", progress=False, threads=1)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = S.run_sweep(cfgs, tmp_path / "dask.jsonl", scheduler=cluster.scheduler_address,
                             progress=False, threads=1)
    print(f"dask sweep of {len(cfgs)} runs: {time.perf_counter() - t0:.1f} s")
    assert set(remote) == set(local)
    for k in local:
        assert strip(remote[k]) == strip(local[k])
    assert len(lines(tmp_path / "dask.jsonl")) == len(cfgs)
    # the Dask task is an ensemble: the two sigma_w of one depth trained together on one worker
    assert all(r["run"]["ensemble"]["members"] == 2 for r in remote.values())


# ---------------------------------------------------------------------------------- analysis
def test_boundary_depths():
    d = [2, 4, 8, 16]
    L, f = S.boundary_depths(d, [0.9, 0.9, 0.5, 0.1], chance=0.1, best=0.9)  # midpoint 0.5 -> crosses at 8
    assert f == "ok" and L == pytest.approx(8.0)
    L, f = S.boundary_depths(d, [0.9, 0.7, 0.3, 0.1], chance=0.1, best=0.9)  # 0.7 -> 0.3 between 4 and 8
    assert L == pytest.approx(6.0)
    assert S.boundary_depths(d, [0.9] * 4, best=0.9)[1] == "above"
    assert S.boundary_depths(d, [0.1] * 4, best=0.9)[1] == "below"


def test_fit_boundary_constant():
    xi = np.array([2.0, 5.0, 10.0, 20.0])
    fit = S.fit_boundary_constant(xi, 4.0 * xi)
    assert fit["c"] == pytest.approx(4.0) and fit["se"] == pytest.approx(0.0, abs=1e-12) and fit["n_used"] == 4
    rng = np.random.default_rng(1)
    noisy = 4.0 * xi * (1 + 0.1 * rng.standard_normal(4))
    fit = S.fit_boundary_constant(np.append(xi, 3.0), np.append(noisy, math.nan))
    assert fit["n_used"] == 4 and abs(fit["c"] - 4.0) < 5 * fit["se"] and fit["se_boot"] > 0


# ---------------------------------------------------------------------------------- input checks
@pytest.mark.parametrize("kw, exc, match", [
    (dict(preset_name="nope"), ValueError, "preset"),
    (dict(depths=[1, 4]), ValueError, "depth"),
    (dict(width=0), ValueError, "width"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(levels=[1]), ValueError, "levels"),
    (dict(sigma_w=[0.0]), ValueError, "sigma_w"),
])
def test_build_plan_bad_input(kw, exc, match):
    with pytest.raises(exc, match=match):
        build_plan(**{"panels": ("sigma",), "sigma_w": [1.0], **kw})


def test_build_plan_panels_follow_the_activation():
    """The default panels are the activation's: both for the staircase, depth x sigma_w alone for a continuous
    one; asking a continuous activation for the depth x N panel (alone or with the other) is refused, not
    silently dropped."""
    assert set(build_plan("smoke", depths=[2])) == {"sigma", "levels"}
    assert set(build_plan("smoke", depths=[2], activation="tanh")) == {"sigma"}
    assert set(build_plan("smoke", depths=[2], activation="tanh", panels=("sigma",))) == {"sigma"}
    for panels in (("sigma", "levels"), ("levels",), ("levels", "sigma")):
        with pytest.raises(ValueError, match="panels"):
            build_plan("smoke", depths=[2], activation="tanh", panels=panels)
    for kw in (dict(levels=[2, 4]), dict(sigma_levels=4)):  # the staircase's N: refused, not ignored
        with pytest.raises(ValueError, match=next(iter(kw))):
            build_plan("smoke", depths=[2], activation="tanh", **kw)


def test_build_plan_unreadable_data(tmp_path):
    """A missing or damaged MNIST folder is a ValueError naming ``data`` (a folder that does not exist was
    a FileNotFoundError), with the loader's reason: the CLI names --data from it."""
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    with pytest.raises(ValueError, match=r"^data .*train-images-idx3-ubyte"):
        build_plan(panels=("sigma",), sigma_w=[1.0], data=str(tmp_path))
    for missing in ("x", str(tmp_path / "nope")):
        with pytest.raises(ValueError, match=r"^data .*cannot be loaded: MNIST directory .* does not exist"):
            build_plan(panels=("sigma",), sigma_w=[1.0], data=missing)


def test_cli_errors_before_training(tmp_path, capsys):
    from qmf_sim.cli import main

    assert main(["train-depth", "--preset", "nope", "--out", str(tmp_path)]) == 2
    assert "preset" in capsys.readouterr().err
    assert main(["train-depth", "--depths", "1,4", "--sigma-w", "1", "--panels", "sigma", "--out", str(tmp_path)]) == 2
    assert main(["train-depth", "--lr", "0", "--sigma-w", "1", "--panels", "sigma", "--out", str(tmp_path)]) == 2
    assert main(["train-depth", "--width", "0", "--sigma-w", "1", "--panels", "sigma", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "runs.jsonl").exists()


def test_cli_tiny_sweep_writes_outputs(tmp_path):
    from qmf_sim.cli import main

    args = ["train-depth", "--preset", "quick", "--panels", "sigma", "--sigma-w", "1,2", "--sigma-levels", "4",
            "--depths", "2,3", "--width", "16", "--steps", "20", "--out", str(tmp_path), "--no-progress",
            "--threads", "1"]
    assert main(args) == 0
    for name in ("runs.jsonl", "summary.csv", "fit.json", "trainable_depth_sigma.png"):
        assert (tmp_path / name).exists(), name
    assert len(lines(tmp_path / "runs.jsonl")) == 4
    mtime = (tmp_path / "runs.jsonl").stat().st_mtime_ns
    assert main(args) == 0  # finished: trains nothing, file untouched
    assert (tmp_path / "runs.jsonl").stat().st_mtime_ns == mtime


def test_levels_grid_uses_optimal_sigma_w_and_panels_share_runs():
    from qmf_sym.activations import Staircase
    from qmf_sym.init import sigma_w_opt

    cfgs = S.levels_grid([2, 4], [3, 10], **TINY)
    assert [c.sigma_w for c in cfgs] == [sigma_w_opt(Staircase.uniform(n)) for n in (3, 3, 10, 10)]
    assert all(c.sigma_w_rule.startswith("opt") for c in cfgs)
    # the optimal column of the sigma_w panel is the N = 10 column of the N panel: trained once
    sig = S.sigma_grid([2, 4], [sigma_w_opt(Staircase.uniform(10))], levels=10, **TINY)
    assert {c.key() for c in sig} <= {c.key() for c in cfgs}


@pytest.mark.slow
def test_reproduce_quick(tmp_path):
    from qmf_sim.experiments import resolve

    written = resolve("trainable_depth")(tmp_path, True)
    names = {p.name for p in written}
    assert {"runs.jsonl", "summary.csv", "fit.json", "trainable_depth_sigma.png", "trainable_depth_levels.png"} <= names
    fit = json.loads((tmp_path / "trainable_depth" / "fit.json").read_text())
    # the optimal sigma_w column trains deeper than the far-off ones
    acc = np.array(fit["sigma"]["acc"])
    j_opt = int(np.argmax(fit["sigma"]["xi"]))
    assert acc[-1, j_opt] > max(acc[-1, j] for j in range(acc.shape[1]) if j != j_opt)


# ---------------------------------------------------------------------------------- resuming and corrupt results files
def test_nonfinite_theory_is_recorded_not_lost(tmp_path):
    # sigma_b / sigma_w ~ 1e80: 1 - C* ~ 1e-320, below float64's 1e-300, so C* = 1 and chi = inf in float64
    # (at sigma_b / sigma_w = 1e4, 1 - C* = 1e-16 and chi = 1/2 are now found); before, the record could not
    # be written (strict JSON) and the trained run was lost on every resume
    from qmf_sim.training import theory

    th = theory(4, 1e-80, 1.0)
    assert th["status"] in ("non_finite", "unavailable") and th["chi"] is None and th["xi"] is None
    th = theory(4, 1e-100, 1.0)
    assert th["status"] in ("non_finite", "unavailable") and th["xi"] is None
    assert theory(4, 1.0)["status"] == "ok" and abs(theory(4, 0.01, 100.0)["chi"] - 0.5) < 1e-12
    path = tmp_path / "runs.jsonl"
    cfgs = [TrainConfig(depth=2, levels=4, sigma_w=1e-80, sigma_b=1.0, **TINY).resolved(),
            TrainConfig(depth=2, levels=4, sigma_w=1e-100, sigma_b=1.0, **TINY).resolved()]
    res = S.run_sweep(cfgs, path, progress=False, threads=1)
    assert set(res) == {c.key() for c in cfgs} and len(lines(path)) == 2
    for r in res.values():
        assert r["theory"]["status"] != "ok" and r["theory"]["xi"] is None
    again = []
    S.run_sweep(cfgs, path, progress=False, threads=1, on_record=again.append)
    assert again == []  # resumed: nothing lost, nothing redone


def test_damaged_lines_are_skipped_and_redone(tmp_path):
    path = tmp_path / "runs.jsonl"
    cfgs = tiny_grid()[:2]
    good = S.run_sweep(cfgs, path, progress=False, threads=1)
    k0, k1 = cfgs[0].key(), cfgs[1].key()
    keep = path.read_text().splitlines()
    rec0 = next(json.loads(l) for l in keep if json.loads(l)["key"] == k0)
    # six damaged lines after the good record of run 0 (run 1's good line removed): not JSON, a bare
    # key that would shadow run 0, an incomplete record that would mark run 1 done, a complete one
    # with a nonsense config, a JSON array, and a line that is not UTF-8
    text = [l for l in keep if json.loads(l)["key"] == k0]
    text += ["garbage", json.dumps({"key": k0}), json.dumps({"key": k1, "status": "ok"}),
             json.dumps({**rec0, "key": k1, "config": "nonsense"}), "[1, 2]"]
    path.write_bytes("\n".join(text).encode() + b"\n\xff\xfe{}\n")
    with pytest.warns(UserWarning) as w:
        done = S.load_results(path)
    assert set(done) == {k0} and done[k0] == good[k0]
    assert len([x for x in w if "damaged" in str(x.message)]) == 6  # one warning per damaged line
    redone = []
    with pytest.warns(UserWarning):
        res = S.run_sweep(cfgs, path, progress=False, threads=1, on_record=lambda r: redone.append(r["key"]))
    assert redone == [k1] and strip(res[k1]) == strip(good[k1]) and strip(res[k0]) == strip(good[k0])
    # the sweep moved the six damaged lines aside, byte for byte: a rerun warns no more and redoes nothing
    assert (tmp_path / "runs.jsonl.damaged").read_bytes() == "\n".join(text[1:]).encode() + b"\n\xff\xfe{}\n"
    assert {r["key"] for r in lines(path)} == {k0, k1} and len(lines(path)) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = []
        S.run_sweep(cfgs, path, progress=False, threads=1, on_record=again.append)
    assert again == []


def test_damaged_lines_stay_where_the_folder_is_read_only(tmp_path, monkeypatch):
    """No lock can be made in a read-only folder (a results file read from a read-only install): a plain
    read, the damaged line left in place and warned about (the folder is made read-only by refusing the
    lock, since the tests may run as root, who can write a 0o555 folder)."""
    path = tmp_path / "runs.jsonl"
    path.write_text("garbage\n")

    def read_only(*a):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(S, "_lock_path", read_only)
    with pytest.warns(UserWarning, match="damaged line") as w:
        assert S.load_results_locked(path) == {}
    assert path.read_text() == "garbage\n" and not (tmp_path / "runs.jsonl.damaged").exists()
    assert not any("moved to" in str(x.message) for x in w)


def test_quarantine_keeps_the_good_lines_and_cannot_fail_half_way(tmp_path, monkeypatch):
    """A failure while moving the damaged lines aside (disk full at the rename) leaves the results file as
    it was: the good lines and the damaged ones, and a warning that they stay."""
    from qmf_sim import io

    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"key": "a"}\nbroken\n{"key": "b"}')  # the last line without its newline
    path.chmod(0o640)
    def boom(*a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.os, "replace", boom)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert [r["key"] for r in io.read_jsonl(path, quarantine=True)] == ["a", "b"]
    said = [str(x.message) for x in w]
    assert len(said) == 2 and "cannot move its damaged lines aside" in said[0] and "moved to" not in said[1]
    assert path.read_bytes() == b'{"key": "a"}\nbroken\n{"key": "b"}'
    assert not list(tmp_path.glob(".r.jsonl.*.tmp"))
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="moved to"):
        assert [r["key"] for r in io.read_jsonl(path, quarantine=True)] == ["a", "b"]
    assert path.read_bytes() == b'{"key": "a"}\n{"key": "b"}\n' and path.stat().st_mode & 0o777 == 0o640


_TWO_SWEEPS = """
import sys
from qmf_sim import sweep as S
cfgs = S.sigma_grid([2, 3], [1.0, 2.0], levels=4, width=16, steps=60, eval_steps=(30,), lr=0.05, batch_size=16,
                    train_eval_size=100, device="cpu")
S.run_sweep(cfgs, sys.argv[1], progress=False, threads=1,
            on_record=lambda r: print("trained", r["key"], flush=True))
"""


def test_two_sweeps_on_one_file_train_each_run_once(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "runs.jsonl"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(p) for p in sys.path if p]))
    procs = [subprocess.Popen([sys.executable, "-c", _TWO_SWEEPS, str(path)], stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    trained = [l.split()[1] for o in outs for l in o.splitlines() if l.startswith("trained")]
    keys = [r["key"] for r in lines(path)]
    assert len(keys) == 4 and sorted(keys) == sorted(set(keys))  # every run recorded exactly once
    assert sorted(trained) == sorted(keys)  # and trained exactly once, by one of the two sweeps
    assert [p.name for p in (tmp_path / "runs.jsonl.locks").iterdir()] == ["append.lock"]  # claims removed
