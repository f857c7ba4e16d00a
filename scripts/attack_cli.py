"""Attack every ``qmf`` sub-command flag with bad values and count the tracebacks.

    python scripts/attack_cli.py                 # every flag x every bad value, forked children (fast)
    python scripts/attack_cli.py --spawn         # the same, each case a fresh `python -m qmf_sim.cli`
    python scripts/attack_cli.py --subset        # a representative subset (one command per plugin)
    python scripts/attack_cli.py --only "ste simulate" --timeout 30 -v

The flags come from the argparse definitions themselves (:func:`qmf_sim.cli.build_parser`), so a new flag is
attacked as soon as it exists.  Each case is ``qmf <command> <cheap base flags> <flag> <bad value>`` run in a
child process with a short timeout (the base flags keep an accepted value's run small), with
``QMF_NO_PROGRESS=1`` and the network proxies pointed at a closed port (``qmf data`` cannot download).

Bad values: NaN, +-inf, -1, 0, bool-ish ``true``, empty, ``none``, huge ``1e12`` and ``1e400`` (inf once
parsed), tiny ``1e-300``, complex ``1+2j``, wrong type ``abc``, broken lists (``1,,2``, ``3-1``, ``1-1e12``);
for a NAME[:ARGS] spec (``--psi``, ``--phi``, ``--activation``) and ``--device`` also bad specs
(``tanh:nan``, ``uniform:1e12``, ``cuda:-1`` ...); for ``--out``: paths below a regular file, ``/dev/null/x``, an empty path.
A case *fails* when stderr contains ``Traceback`` or the exit status is not 0 or 2 (130/141 are Ctrl-C and a
closed pipe, not expected here); an exit 2 whose error is not one ``...: error: ...`` line, the last, is
counted apart (``multi-line``; log lines before it, such as "fetching MNIST ...", are allowed).
A case that is still running at the timeout was accepted and is computing: counted as ``timeout`` (a
valid value), not as a failure.  Prints one line per failure and the counts; exit status 1 if any failure.

Modes: by default each case runs in a child forked from this process after the CLI and its heavy imports
are loaded (``cli.main`` in the child, an uncaught exception printed as Python does, exit 1), so a case
costs milliseconds plus its own work; ``--spawn`` starts a fresh interpreter per case (slower, exactly what a
user runs).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

NUMERIC_BAD = ["nan", "inf", "-inf", "-1", "0", "true", "", "none", "1e12", "1e400", "1e-300", "1+2j", "abc", "1,,2",
               "3-1", "1-1e12"]
CHOICE_BAD = ["nope", "", "1e12", "nan"]
#: flags whose value is a NAME[:ARGS] spec: bad numbers inside the spec, besides the numeric values
SPEC_BAD = {"--psi": ["tanh:nan", "tanh:inf", "tanh:0", "tanh:-1", "tanh:1,nan", "tanh:1+2j", "uniform:1e12",
                      "uniform:nan", "uniform:inf", "uniform:4,nan", "sign:-1", "sign:true", "quant:1", "tanh:"],
            "--activation": ["staircase:nan", "tanh:1", "TANH", "sign:2"],
            "--device": ["cuda:-1", "cuda:1e12", "tpu", "cpu:0:0"]}
SPEC_BAD["--phi"] = SPEC_BAD["--psi"]

#: cheap valid flags per command, so that an accepted value finishes in seconds
BASE = {
    "reproduce": ["--only", "sign", "--quick"],
    "table": ["--levels", "3", "--no-check"],
    "init": ["--levels", "4"],
    "phase": ["--levels", "4", "--sigma-w", "1,1.5", "--sigma-b", "0,0.1"],
    "fig1": ["--levels", "4", "--depth", "3", "--width", "8", "--r", "4", "--factors", "1"],
    "finite-width": ["--levels", "4", "--widths", "8,16", "--depth", "2", "--runs", "2", "--factors", "1"],
    "train-depth": ["--panels", "levels", "--levels", "2", "--depths", "2", "--width", "4", "--steps", "3"],
    "ste simulate": ["--d", "20", "--runs", "2", "--tau-max", "1", "--n-tau", "3", "--particles", "200"],
    "ste figure": ["1", "--quick"],
    "ste stationary": ["--b", "2", "--omega", "1"],
    "ste plateau": [],
    "plot": ["{tmp}/no_results"],
    "data": ["mnist", "--dest", "{tmp}/mnist", "--timeout", "1"],
    "fixed-point": ["--activation", "tanh", "--sigma-w", "1.5"],
}
#: commands whose positional arguments are attacked too (with their position in BASE)
POSITIONALS = {"ste figure": {"which": 0}, "plot": {"results": 0}, "data": {"dataset": 0}}
#: the representative subset (``--subset``; the fast default test): one command per plugin, its size and
#: path flags and a few kinds of bad value
SUBSET = [("table", "--levels", "nan"), ("table", "--levels", "1e12"), ("table", "--dps", "1001"),
          ("table", "--out", "{file}/x.csv"), ("init", "--levels", "1e12"), ("init", "--sigma-b", "inf"),
          ("phase", "--sigma-w", "1-1e12"), ("fig1", "--width", "1e12"), ("finite-width", "--widths", "1,,2"),
          ("train-depth", "--lr", "nan"), ("ste simulate", "--d", "1e12"), ("ste simulate", "--n-tau", "1e12"),
          ("ste simulate", "--b", "abc"), ("ste simulate", "--out", "/dev/null/x.json"),
          ("ste figure", "which", "9"), ("ste figure", "--out", "{file}"), ("ste stationary", "--omega", "inf"),
          ("ste plateau", "--b", "true"), ("plot", "results", ""), ("data", "--timeout", "1e12"),
          ("reproduce", "--only", "nope")]


def _walk(parser, path=()):
    """(command words, action) for every option and positional of every (nested) sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                yield from _walk(p, path + (name,))
        elif path and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            if action.nargs == 0:  # store_true switches take no value
                continue
            yield " ".join(path), action


def _values(command, action):
    flag = action.option_strings[-1] if action.option_strings else action.dest
    if flag == "--out":
        return ["{file}/sub", "/dev/null/x.json", "", "{file}/a/b.csv"]
    if action.choices is not None:
        return CHOICE_BAD
    return NUMERIC_BAD + SPEC_BAD.get(flag, [])


def cases(only=None):
    """Every (command, flag, value) to try."""
    from qmf_sim import cli

    out = []
    for command, action in _walk(cli.build_parser()):
        if only and command not in only:
            continue
        flag = action.option_strings[-1] if action.option_strings else action.dest
        out += [(command, flag, v) for v in _values(command, action)]
    return out


def argv_of(command, flag, value, tmp, file):
    """The command line of one case: the base flags with ``flag`` replaced (or a positional swapped)."""
    sub = lambda s: s.replace("{tmp}", str(tmp)).replace("{file}", str(file))  # noqa: E731
    base = [sub(s) for s in BASE.get(command, [])]
    value = sub(value)
    pos = POSITIONALS.get(command, {})
    if flag in pos:
        base[pos[flag]] = value
        return command.split() + base
    if flag in base:  # replace the base value of this flag
        i = base.index(flag)
        base = base[:i] + base[i + 2:]
    extra = [] if flag == "--out" or command in ("plot",) else ["--out", str(tmp / "o" / ("x.json" if command in (
        "table", "ste simulate") else ""))]
    if command in ("init", "ste stationary", "ste plateau", "plot", "data", "fixed-point"):
        extra = []
    return command.split() + base + extra + [flag, value]


def _env(tmp):
    env = dict(os.environ, QMF_NO_PROGRESS="1", QMF_MNIST_DIR="", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               NUMBA_NUM_THREADS=os.environ.get("NUMBA_NUM_THREADS", "1"),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")])
    return env


def _preload():
    """Import what the commands import lazily, so that forked children start warm."""
    from qmf_sim import cli

    cli.build_parser()
    for name in ("torch", "numba", "matplotlib.pyplot", "scipy.special", "mpmath", "qmf_sim.ste", "qmf_sim.io",
                 "qmf_sim.experiments.spacing", "qmf_sim.experiments.netprop", "qmf_sim.experiments.appendices",
                 "qmf_sim.experiments.trainable_depth", "qmf_sym.ste.stationary", "qmf_sym.ste.plateau"):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 -- an area missing here: its commands import it themselves
            pass


def _run_forked(argv, timeout, cwd):
    """(exit status or None on timeout, stderr) of ``cli.main(argv)`` in a forked child."""
    fd, errpath = tempfile.mkstemp(prefix="attack-err-")
    os.close(fd)
    pid = os.fork()
    if pid == 0:  # the child: behave like `python -m qmf_sim.cli ARGV`
        code = 1
        try:
            os.chdir(cwd)
            null = os.open(os.devnull, os.O_RDWR)
            err = os.open(errpath, os.O_WRONLY)
            os.dup2(null, 0)
            os.dup2(null, 1)
            os.dup2(err, 2)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            from qmf_sim import cli

            try:
                code = cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001 -- what the interpreter would print
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)
    t0 = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - t0 > timeout:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = None
            break
        time.sleep(0.01)
    err = Path(errpath).read_text(errors="replace")
    os.unlink(errpath)
    return (None if status is None else os.waitstatus_to_exitcode(status)), err


def _run_spawned(argv, timeout, cwd, env):
    try:
        r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", *argv], capture_output=True, text=True,
                           timeout=timeout, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return None, err
    return r.returncode, r.stderr


def classify(code, err):
    """'traceback' | 'multi-line' | 'timeout' | 'ok'."""
    if "Traceback" in err:
        return "traceback"
    if code is None:
        return "timeout"
    if code not in (0, 2):
        return "traceback"
    if code == 2:  # one error line, the last (a command may log progress lines before it)
        lines = [l for l in err.splitlines() if l.strip()]
        if not lines or sum(": error:" in l for l in lines) != 1 or ": error:" not in lines[-1]:
            return "multi-line"
    return "ok"


def attack(selected, timeout=20.0, spawn=False, verbose=False, log=print):
    """Run the cases ``selected`` ((command, flag, value) triples); returns ``{kind: [(argv, code, err)]}``."""
    results = {"traceback": [], "multi-line": [], "timeout": [], "ok": []}
    with tempfile.TemporaryDirectory(prefix="qmf-attack-") as td:
        tmp = Path(td)
        file = tmp / "plain_file"
        file.write_text("not a directory\n")
        env = _env(tmp)
        if not spawn:
            os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
            _preload()
        for command, flag, value in selected:
            argv = argv_of(command, flag, value, tmp, file)
            t0 = time.monotonic()
            code, err = _run_spawned(argv, timeout, tmp, env) if spawn else _run_forked(argv, timeout, tmp)
            kind = classify(code, err)
            results[kind].append((argv, code, err))
            if verbose or kind in ("traceback", "multi-line"):
                last = err.strip().splitlines()[-1] if err.strip() else ""
                log(f"[{kind}] qmf {' '.join(repr(a) if (not a or ' ' in a) else a for a in argv)}  "
                    f"(exit {code}, {time.monotonic() - t0:.1f} s) {last[:200]}")
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", help="attack only this command (e.g. 'ste simulate'); repeatable")
    ap.add_argument("--subset", action="store_true", help="the representative subset only")
    ap.add_argument("--spawn", action="store_true", help="a fresh interpreter per case (slower)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per case (default 20)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    a = ap.parse_args(argv)
    selected = SUBSET if a.subset else cases(a.only)
    t0 = time.monotonic()
    res = attack(selected, timeout=a.timeout, spawn=a.spawn, verbose=a.verbose)
    for argv_, _, _ in res["timeout"]:
        print(f"[timeout] qmf {' '.join(argv_)} (accepted; still computing after {a.timeout:g} s)")
    n = sum(len(v) for v in res.values())
    print(f"{n} cases in {time.monotonic() - t0:.0f} s: {len(res['traceback'])} tracebacks, "
          f"{len(res['multi-line'])} multi-line errors, {len(res['timeout'])} timeouts (accepted, computing), "
          f"{len(res['ok'])} clean")
    return 1 if res["traceback"] or res["multi-line"] else 0


if __name__ == "__main__":
    sys.exit(main())
