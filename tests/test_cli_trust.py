"""The last trust corners of the command line and the STE solvers: the documented ranges hold
(``--dps`` up to 1000 with the guard digits inside), ``--out`` errors name the flag and the real
cause, every STE method reports its divergence, every size is checked before it allocates, stdout
JSON carries provenance, progress bars only on a terminal."""
import json

import numpy as np
import pytest

from qmf_sim import cli


def _one_line_error(capsys, argv, *needles):
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------------------ --dps range
def test_table_accepts_the_documented_max_dps(tmp_path, capsys):
    """--dps 1..1000 is the documented range: 1000 works (the sigma_w column used to ask for 1005)."""
    out = tmp_path / "t.csv"
    assert cli.main(["table", "--levels", "2-3", "--dps", "1000", "--no-check", "--no-progress",
                     "--out", str(out)]) == 0, capsys.readouterr().err
    from qmf_sim.experiments.spacing import read_table

    rows = read_table(out)
    assert [int(r["N"]) for r in rows] == [2, 3]
    line = next(l for l in out.read_text().splitlines() if l.startswith("3,"))
    assert len(line.split(",")[1]) > 900  # D_opt written with ~1000 digits
    _one_line_error(capsys, ["table", "--levels", "3", "--dps", "1001", "--out", str(out)], "--dps", "1001")


# ------------------------------------------------------------------------------------------ --out paths
@pytest.mark.parametrize("argv", [["table", "--levels", "3"], ["ste", "simulate"], ["reproduce", "--only", "spacing"],
                                  ["ste", "figure", "1"], ["phase", "--levels", "4"]])
def test_out_below_a_file_says_not_a_directory(argv, capsys, tmp_path):
    """--out /dev/null/x.json (a path below a regular file): the message names --out and says which path
    is not a directory (it used to say 'File exists: /dev/null')."""
    f = tmp_path / "plain"
    f.write_text("x")
    line = _one_line_error(capsys, [*argv, "--out", str(f / "x.json")], "--out", "is not a directory", str(f))
    assert "File exists" not in line


def test_out_checked_before_computing_in_ste(monkeypatch, capsys, tmp_path):
    """qmf ste simulate / figure: an unwritable --out is reported before any computing."""
    from qmf_sim import ste as S
    from qmf_sim.experiments import ste_figures

    def guard(*a, **k):
        raise AssertionError("computing started before --out was checked")

    monkeypatch.setattr(S, "simulate", guard)
    monkeypatch.setattr(S, "theory_result", guard)
    monkeypatch.setitem(ste_figures.FIGURES, 1, guard)
    f = tmp_path / "plain"
    f.write_text("x")
    for method in ("micro", "pde", "closed"):
        _one_line_error(capsys, ["ste", "simulate", "--method", method, "--b", "none", "--out", str(f / "a.json")],
                        "qmf ste simulate: error: argument --out")
    _one_line_error(capsys, ["ste", "simulate", "--out", str(tmp_path / "a.txt")], "argument --out", ".csv or .json")
    _one_line_error(capsys, ["ste", "figure", "1", "--out", str(f)], "qmf ste figure: error: argument --out")
    _one_line_error(capsys, ["ste", "figure", "1", "7", "--out", str(tmp_path)], "figure", "7")


# ------------------------------------------------------------------------------------------ provenance on stdout
@pytest.mark.parametrize("argv", [["init", "--levels", "4", "--json"],
                                  ["ste", "stationary", "--b", "2", "--omega", "1", "--json"],
                                  ["ste", "plateau", "--omega", "0.25", "--json"]])
def test_stdout_json_carries_provenance(argv, capsys):
    assert cli.main(argv) == 0
    obj = json.loads(capsys.readouterr().out)
    prov = obj["provenance"]
    assert prov["command"] == "qmf " + " ".join(argv)
    assert {"qmf_version", "git_commit", "created_utc", "python", "numpy"} <= set(prov)


# ------------------------------------------------------------------------------------------ progress switch
class _FakeTTY:
    def __init__(self, real):
        self.real = real

    def isatty(self):
        return True

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.parametrize("tty, env, drawn", [(False, "", False), (True, "1", False), (True, "", True)])
def test_table_progress_only_on_a_terminal(tty, env, drawn, monkeypatch, tmp_path):
    """qmf table draws its bar only where qmf_sim.progress allows it (a terminal, no QMF_NO_PROGRESS=1)."""
    import sys

    from qmf_sim.experiments import spacing as E

    seen = []
    real = E.table
    monkeypatch.setattr(E, "table", lambda *a, progress=False, **k: seen.append(progress) or real(*a, **k))
    monkeypatch.setenv("QMF_NO_PROGRESS", env)
    if tty:
        monkeypatch.setattr(sys, "stderr", _FakeTTY(sys.stderr))
    assert cli.main(["table", "--levels", "3", "--out", str(tmp_path / "t.csv")]) == 0
    assert seen == [drawn]


# ------------------------------------------------------------------------------------------ divergence
#: eta = 6 without weight quantization: eta s2 = 6 > 2, every method diverges (spec §5.1)
DIVERGING = ["--b", "none", "--eta", "6", "--lam", "1", "--tau-max", "5", "--n-tau", "5"]


@pytest.mark.parametrize("method", ["pde", "particles", "closed", "gaussian", "split", "micro"])
def test_every_method_reports_divergence(method, tmp_path, capsys):
    """JSON, CSV sidecar and the printed table say that (and when) the run diverged, for every method
    (pde and particles: JSON only, they cost seconds per call; the writers are shared)."""
    extra = {"particles": ["--particles", "2000"], "micro": ["--d", "50", "--runs", "2"]}.get(method, [])
    argv = ["ste", "simulate", "--method", method, *DIVERGING, *extra]
    out = tmp_path / "x.json"
    assert cli.main([*argv, "--out", str(out)]) == 0
    assert "diverged" in capsys.readouterr().out
    d = json.loads(out.read_text())
    assert any(d["diverged"]) and d["divergence"] and "diverged" in d["divergence"]
    td = [t for t in d["tau_diverged"] if t is not None]
    assert td and 0 < min(td) <= 5
    eps = d["eps_mean"] if method == "micro" else d["eps"]
    k = int(np.searchsorted(d["tau"], min(td)))
    assert all(e is None for e in eps[k + 1:]) and eps[0] is not None  # null from the divergence on
    if method in ("pde", "particles"):
        return
    csv = tmp_path / "x.csv"
    assert cli.main([*argv, "--out", str(csv)]) == 0
    meta = json.loads((tmp_path / "x.csv.meta.json").read_text())["meta"]
    assert any(meta["diverged"]) and meta["tau_diverged"] == d["tau_diverged"] and meta["divergence"]
    capsys.readouterr()
    assert cli.main(argv) == 0
    table = capsys.readouterr().out
    assert table.rstrip().splitlines()[-1].startswith("# ") and "diverged" in table.splitlines()[-1]


def test_stable_run_reports_no_divergence(tmp_path, capsys):
    out = tmp_path / "x.json"
    assert cli.main(["ste", "simulate", "--method", "closed", "--b", "none", "--tau-max", "5", "--n-tau", "5",
                     "--out", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["diverged"] == [False] and d["tau_diverged"] == [None] and d["divergence"] is None
    assert all(e is not None for e in d["eps"])


def test_theory_result_one_rule():
    """theory_result applies the one rule of qmf_sim.ste.trajectory to the curves known only at their
    recording times: the first time past EPS_BOUND and NaN from there on; theory_curve agrees."""
    from qmf_sim import ste as S
    from qmf_sim.ste.trajectory import EPS_BOUND

    p = S.STEParams(b=None, eta=6.0, lam=1.0)
    tau = S.tau_grid(5, 5)
    raw = S.closed_curve(p, tau)
    r = S.theory_result(p, tau, "closed")
    k = int(np.argmax(raw > EPS_BOUND))
    assert r.diverged.tolist() == [True] and r.tau_diverged[0] == tau[k]
    np.testing.assert_array_equal(r.eps[0][:k], raw[:k])
    assert np.isnan(r.eps[0][k:]).all() and not r.valid[0][k:].any()
    np.testing.assert_array_equal(S.theory_curve(p, tau, "closed"), r.eps[0])
    assert np.isnan(S.theory_curve(p, 5.0, "closed"))  # scalar tau keeps working


# ------------------------------------------------------------------------------------------ sizes before allocating
@pytest.mark.parametrize("argv, flag", [
    (["ste", "simulate", "--d", "1e12"], "--d"),
    (["ste", "simulate", "--runs", "1e12", "--d", "10"], "--runs"),
    (["ste", "simulate", "--method", "particles", "--particles", "1e12"], "--particles"),
    (["ste", "simulate", "--n-tau", "1e12"], "--n-tau"),
    (["fig1", "--width", "1e12"], "--width"), (["fig1", "--depth", "1e12"], "--depth"),
    (["fig1", "--r", "1e12"], "--r"), (["fig1", "--runs", "1e12"], "--runs"),
    (["finite-width", "--widths", "64,1e12"], "--widths"), (["finite-width", "--depth", "1e12"], "--depth"),
    (["finite-width", "--runs", "1e12"], "--runs"),
    (["train-depth", "--width", "1e12", "--panels", "levels", "--levels", "2", "--depths", "2"], "--width"),
    (["train-depth", "--depths", "1e12", "--panels", "levels", "--levels", "2"], "--depths"),
])
def test_huge_size_is_one_line_before_allocating(argv, flag, tmp_path, capsys, monkeypatch):
    """A size that would not fit in memory: one line naming the flag, with the estimate and the limit
    (it used to end in a MemoryError traceback)."""
    monkeypatch.setenv("QMF_MNIST_DIR", "")
    out = tmp_path / ("x.json" if argv[0] == "ste" else "o")
    line = _one_line_error(capsys, [*argv, "--out", str(out)], f"argument {flag}")
    assert (("would need about" in line and "the limit is" in line) or "must be <= 1000000" in line
            or "would allocate about" in line), line  # the last: qmf_sym._validate.size_product's bound


@pytest.mark.parametrize("steps", ["1e12", "100000001"])
def test_train_steps_above_the_documented_bound_are_refused(steps, tmp_path, capsys):
    """A step count that would train for years (--steps 1e12 used to start, silently for hours) is refused
    in one line naming the flag and the bound (qmf_sim.training.STEPS_MAX); the API names ``steps``."""
    from qmf_sim.training import STEPS_MAX, TrainConfig

    line = _one_line_error(capsys, ["train-depth", "--steps", steps, "--out", str(tmp_path / "o")], "argument --steps")
    assert str(STEPS_MAX) in line, line
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(depth=2, steps=STEPS_MAX + 1).validate()
    TrainConfig(depth=2, steps=STEPS_MAX).validate()  # the bound itself is valid


def test_size_limit_api_and_env(monkeypatch):
    """The API names the parameter; the bound is half the RAM or QMF_MAX_BYTES."""
    from qmf_sim import ste as S
    from qmf_sym import _validate as limits

    for call, name in ((lambda: S.simulate(d=10 ** 12, tau_max=1), "d = "),
                       (lambda: S.simulate(d=10, runs=10 ** 12, tau_max=1), "runs = "),
                       (lambda: S.solve_particles(n_particles=10 ** 12, tau=[0, 1]), "n_particles = "),
                       (lambda: S.solve_pde(h=1e-9, tau=[0, 1]), "h = "),
                       (lambda: S.tau_grid(1.0, 10 ** 12), "n = "),
                       (lambda: S.solve_particles(n_particles=100, n_chunks=10 ** 12, tau=[0, 1]), "n_chunks = ")):
        with pytest.raises(ValueError, match=name + ".*would need about"):
            call()
    # 10^12 Euler steps: refused by the work bound (qmf_sim.ste.trajectory.MAX_WORK) before the step list exists
    with pytest.raises(ValueError, match=r"dt = 1e-12\).*too long a run"):
        S.solve_particles(n_particles=100, dt=1e-12, tau=[0, 1])
    for call in (lambda: S.solve_pde(S.STEParams(teacher="gaussian"), n_teacher=10 ** 12, tau=[0, 1]),
                 lambda: S.closure_curve(S.STEParams(teacher="gaussian"), [0, 1], n_teacher=10 ** 9)):
        with pytest.raises(ValueError, match=r"n_teacher must be an integer in \[1, 1000\]"):
            call()
    assert limits.memory_budget()[0] == int(limits.MEMORY_FRACTION * limits.physical_memory())
    monkeypatch.setenv("QMF_MAX_BYTES", "1M")
    assert limits.memory_budget() == (1 << 20, "QMF_MAX_BYTES")
    with pytest.raises(ValueError, match=r"d = 100000 .*the limit is 1.0 MiB \(QMF_MAX_BYTES\)"):
        S.simulate(d=100_000, runs=5, tau_max=1e-4)
    assert S.simulate(d=100, runs=2, tau_max=0.05).eps.shape[0] == 2  # small runs still pass


def test_onset_after_the_last_time_does_not_run_on(monkeypatch):
    """--onset beyond --tau-max: the run stops at tau_max (it used to run on to step onset x d, i.e.
    forever for onset = 1e12); same numbers as the unquantized run."""
    from qmf_sim import ste as S

    a = S.simulate(S.STEParams(onset=1e12), d=20, runs=2, tau_max=1)
    b = S.simulate(S.STEParams(b=None), d=20, runs=2, tau_max=1)
    np.testing.assert_array_equal(a.eps, b.eps)


def test_init_levels_bound_is_what_answers(capsys):
    """qmf init --levels 100000 used to run for minutes and end in a MemoryError traceback (the search is
    ~N^2 in memory): the documented bound refuses it in one line."""
    from qmf_sim.cli.theory import INIT_MAX_LEVELS

    _one_line_error(capsys, ["init", "--levels", "100000"], "argument --levels", f"<= {INIT_MAX_LEVELS}")


@pytest.mark.parametrize("argv, flag", [(["ste", "simulate", "--b", "99", "--tau-max", "1", "--d", "10"], "--b"),
                                        (["ste", "simulate", "--b", "2", "--omega", "1e300", "--tau-max", "1"], None)])
def test_library_errors_name_the_flag(argv, flag, capsys):
    """A ValueError of the library names its parameter ('b must be ...'); the CLI line names the flag."""
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    if flag is None:  # a valid run, or a one-line error
        assert code in (0, 2) and "Traceback" not in err
        return
    assert code == 2 and err.startswith(f"qmf ste simulate: error: argument {flag}: "), err


def test_ste_simulate_ctrl_c_writes_what_was_recorded(tmp_path, monkeypatch, capsys):
    """Ctrl-C in `qmf ste simulate --out`: the solver's Interrupted carries its records up to the stop; the
    command writes them (later records empty, "interrupted" in the file and the printed note) and exits 130."""
    import json

    import numpy as np

    from qmf_sim import ste as S
    from qmf_sim.ste.interrupt import Interrupted

    real = S.simulate

    def stopped(p, **kw):  # a real run, cut after its 4th record as a stop there would leave it
        r = real(p, **kw)
        r.eps[:, 4:] = np.nan
        r.valid[:, 4:] = False
        raise Interrupted(r)

    monkeypatch.setattr(S, "simulate", stopped)
    out = tmp_path / "x.json"
    assert cli.main(["ste", "simulate", "--d", "50", "--runs", "2", "--tau-max", "2", "--n-tau", "8",
                     "--out", str(out)]) == 130
    rec = json.loads(out.read_text())
    assert rec["interrupted"] is True and "interrupted by Ctrl-C" in rec["divergence"]
    assert all(v is not None for v in rec["eps_mean"][:4]) and all(v is None for v in rec["eps_mean"][4:])
    assert "interrupted by Ctrl-C after tau" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["micro", "particles", "pde", "gaussian"])
def test_ste_simulate_too_long_names_tau_max(method, tmp_path, capsys):
    """A run above the documented work bound (qmf_sim.ste.trajectory.MAX_WORK) is one line naming --tau-max,
    for every method, before any note on the run's duration."""
    argv = ["ste", "simulate", "--method", method, "--tau-max", "1e12", "--out", str(tmp_path / "x.json")]
    if method == "gaussian":
        argv += ["--b", "none"]
    _one_line_error(capsys, argv, "argument --tau-max")


# ------------------------------------------------------------------------------------------ warnings
def test_warnings_are_one_line(tmp_path):
    """A warning while a command runs (here a damaged line of qmf phase's row record, recomputed) is one
    line naming the command, not Python's two-line form with the source line."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "qmf_sim.cli", "phase", "--levels", "4", "--sigma-w", "1,1.1", "--sigma-b", "0,0.1",
            "--out", str(tmp_path)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    rows = tmp_path / ".phase_N4.rows.jsonl"
    lines = rows.read_text().splitlines()
    rows.write_text(lines[0][:30] + "\n" + "\n".join(lines[1:]) + "\n")
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    warned = [l for l in again.stderr.splitlines() if "warning:" in l.lower()]
    assert len(warned) == 1 and warned[0].startswith("qmf phase: warning: ") and "damaged line" in warned[0], again.stderr
    assert "UserWarning" not in again.stderr and "warnings.warn" not in again.stderr and "read_jsonl" not in again.stderr


def test_a_damaged_sweep_line_is_warned_about_once(tmp_path):
    """qmf train-depth with a damaged line in its runs.jsonl: one warning line on the rerun (the line moved to
    runs.jsonl.damaged, nothing redone that was recorded), none on the next rerun: the warning used to
    repeat at every rerun, saying each time that the run would be redone."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "qmf_sim.cli", "train-depth", "--activation", "tanh", "--depths", "2",
            "--width", "8", "--steps", "5", "--sigma-w", "1.0,1.2", "--out", str(tmp_path), "--no-progress"]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    runs = tmp_path / "runs.jsonl"
    good = runs.read_text()
    runs.write_text(good + '{"key": "cut by a cra')
    second = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    warned = [l for l in second.stderr.splitlines() if "warning:" in l.lower()]
    assert len(warned) == 1 and "damaged line" in warned[0] and "moved to" in warned[0], second.stderr
    assert runs.read_text() == good and (tmp_path / "runs.jsonl.damaged").read_text() == '{"key": "cut by a cra\n'
    third = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and "warning" not in third.stderr.lower(), third.stderr
