"""The ``qmf`` command line: argument parsing only.

Sub-commands come from plugin modules ``qmf_sim.cli.<domain>`` (:data:`PLUGINS`), each defining
``add_commands(subparsers)`` (each sub-command sets ``func`` via ``set_defaults``).  The commands
parse and validate their flags with the one vocabulary of :mod:`qmf_sim.cli._vocab`, call the
experiments of :mod:`qmf_sim.experiments` and print.  ``qmf reproduce`` runs the parts registered in
:data:`qmf_sim.experiments.PARTS`.

Errors: every user error is one line on stderr, ``qmf <command>: error: ...`` naming the flag, and
exit status 2 (argparse errors, and ``ValueError``/``OSError`` raised by a command); never a
traceback.  Plugins import heavy libraries (torch, numba) inside their functions so that
``qmf --help`` is fast.

Also here: ``qmf --version``; the provenance context of every file written
(:func:`qmf_sim.io.set_context`: the command line and ``--seed``); the process-wide progress switch
(``--no-progress``, :mod:`qmf_sim.progress`; a non-TTY stderr is quiet anyway); Ctrl-C: no
traceback, exit 130, and for a training sweep one line "interrupted: k of n runs saved in FILE;
rerun the same command to resume" (a resumed sweep first prints "resuming: k of n runs done"), the same
for the sigma_b rows of ``qmf phase`` (:mod:`qmf_sim.cli.theory`; a command sets ``args._interrupt_note``);
``qmf reproduce`` records each finished part in ``--out/.qmf-reproduce.json`` (:data:`STATE_FILE`,
through :mod:`qmf_sim.io`) and a rerun skips the parts finished by the same qmf version, commit and
``--quick`` whose files are still there ("skipping part X: done at ..."; ``--redo`` recomputes them);
Ctrl-C there says which parts finished;
``qmf plot RESULTS`` and ``qmf data mnist`` (:mod:`qmf_sim.cli.tools`); ``qmf reproduce`` ends by
writing ``index.html`` (:mod:`qmf_sim.report`).
"""
from __future__ import annotations

import importlib
import os
import sys
import time
import warnings
from pathlib import Path

from qmf_sim.cli import _vocab as A

PLUGINS = ("qmf_sim.cli.theory", "qmf_sim.cli.netprop", "qmf_sim.cli.training", "qmf_sim.cli.ste",
           "qmf_sim.cli.tools", "qmf_sim.cli.activation")


def _plugins():
    mods = []
    for name in PLUGINS:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:  # an area not installed in this checkout
            if exc.name != name:
                raise
    return mods


def reproduce_parts():
    """All parts of ``qmf reproduce`` in order: ``{name: callable}`` (resolved from the registry;
    a part whose module cannot be imported raises here)."""
    from qmf_sim import experiments

    return {name: experiments.resolve(name) for name in experiments.parts()}


def _parts_list(text):
    from qmf_sim import experiments

    names = [p.strip() for p in str(text).split(",") if p.strip()]
    unknown = [n for n in names if n not in experiments.PARTS]
    if unknown or not names:
        raise A.argparse.ArgumentTypeError(f"must name parts among {experiments.parts()}, got {unknown or text!r}")
    return names


#: the record of finished parts of ``qmf reproduce`` in its --out directory (written through qmf_sim.io)
STATE_FILE = ".qmf-reproduce.json"


def code_key() -> dict:
    """The code a recorded result was made by: qmf version and git commit.  A record of finished work
    (a part of ``qmf reproduce``, a row of ``qmf phase``) is reused only under the same key, so that a
    rerun after a code change recomputes."""
    from qmf_sim import io

    prov = io.provenance()
    return {"qmf_version": prov["qmf_version"], "git_commit": prov["git_commit"]}


def _state_key(quick):
    """What a finished part's record must match to be skipped: the sizes (--quick) and the code
    (:func:`code_key`)."""
    return {"quick": bool(quick), **code_key()}


def read_state(out) -> dict:
    """``{part: record}`` of the parts finished in ``out`` (empty when there is none or it is damaged)."""
    from qmf_sim import io

    path = Path(out) / STATE_FILE
    try:
        obj = io.read_json(path)
    except (OSError, ValueError):
        return {}
    parts = obj.get("parts") if isinstance(obj, dict) else None
    return parts if isinstance(parts, dict) else {}


def _write_state(out, parts):
    from qmf_sim import io

    io.write_json(Path(out) / STATE_FILE, {"about": "parts of qmf reproduce finished in this directory; a rerun "
                                           "skips them (--redo recomputes)", "parts": parts})


def _finished(rec, key) -> bool:
    """Whether a part's record matches ``key`` and every file it wrote is still there."""
    return (isinstance(rec, dict) and all(rec.get(k) == v for k, v in key.items())
            and isinstance(rec.get("written"), list) and all(Path(p).exists() for p in rec["written"]))


def _cmd_reproduce(args):
    from qmf_sim import experiments, io

    names = args.only or experiments.parts()
    out = A.out_dir(args.out)
    fns = {}
    for name in names:  # resolve every part first: a broken module is reported before any computing
        try:
            fns[name] = experiments.resolve(name)
        except ImportError as exc:
            raise ValueError(f"reproduce part {name!r}: {exc}") from None
    key = _state_key(args.quick)
    known = {} if args.redo else read_state(out)  # what this run may skip
    args._done = []  # parts finished in this run or before (for the Ctrl-C message)
    timings, written_all = {}, {}
    for name in names:
        rec = known.get(name)
        if _finished(rec, key):
            print(f"[qmf reproduce] skipping part {name}: done at {rec['done_utc']} (--redo recomputes it)",
                  flush=True)
            timings[name], written_all[name] = float(rec.get("seconds") or 0.0), list(rec["written"])
            args._done.append(name)
            continue
        args._part = name  # for the Ctrl-C message of a sweep part
        t0 = time.perf_counter()
        print(f"[qmf reproduce] {name} ...", flush=True)
        _announce_resume(args)  # a sweep part with saved runs says how far it got
        with _heartbeat(name):
            written = fns[name](out, args.quick) or []
        timings[name] = time.perf_counter() - t0
        written_all[name] = [str(p) for p in written]
        print(f"[qmf reproduce] {name} done in {timings[name]:.1f} s", flush=True)
        for p in written:
            print(f"    wrote {p}")
        state = read_state(out)  # the record as it is now (kept for the other parts), with this part added
        state[name] = {**key, "done_utc": io.provenance()["created_utc"], "seconds": timings[name],
                       "written": written_all[name]}
        _write_state(out, state)
        args._done.append(name)
    args._part = None
    from qmf_sim import report

    index = report.write_report(out, parts=names, timings=timings, written=written_all, quick=args.quick)
    print(f"[qmf reproduce] report: {index}")
    return 0


#: parts that draw their own progress bars; every other part gets an elapsed-time line on a terminal
PARTS_WITH_BARS = ("spacing", "fig1", "finite_width", "trainable_depth")


class _heartbeat:
    """On a terminal (:func:`qmf_sim.progress.enabled`), rewrite ``[qmf reproduce] PART: N s`` on
    stderr every second while a part without bars of its own runs; silent otherwise."""

    def __init__(self, name):
        import threading

        from qmf_sim import progress

        self.name, self.stop = name, threading.Event()
        self.on = progress.enabled() and name not in PARTS_WITH_BARS
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        t0 = time.perf_counter()
        while not self.stop.wait(1.0):
            print(f"\r[qmf reproduce] {self.name}: {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr,
                  flush=True)

    def __enter__(self):
        if self.on:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.on:
            self.stop.set()
            self.thread.join()
            print("\r\033[K", end="", file=sys.stderr, flush=True)
        return False


# ---------------------------------------------------------------------------------- sweeps and Ctrl-C
def _sweep_of(args):
    """``(configs, results_path)`` of the training sweep this command runs, or ``None``."""
    from qmf_sim.experiments import trainable_depth as E

    if args.command == "train-depth":
        from qmf_sim.cli.training import plan_kwargs

        plan, path = E.build_plan(args.preset, **plan_kwargs(args)), A.out_dir(args.out) / "runs.jsonl"
    elif args.command == "reproduce" and getattr(args, "_part", None) == "trainable_depth":
        plan = E.build_plan("quick" if args.quick else "smoke")
        path = A.out_dir(args.out) / "trainable_depth" / "runs.jsonl"
    else:
        return None
    return [c for cfgs in plan.values() for c in cfgs], path


def sweep_counts(configs, path):
    """``(k, n)``: runs of ``configs`` with a record in ``path``, and all runs (deduplicated).  Quiet about
    damaged lines: the sweep itself warns about them once, as it moves them aside."""
    import warnings

    from qmf_sim.sweep import pending

    n = len({c.key() for c in configs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return n - len(pending(configs, path)), n


def _announce_resume(args):
    try:
        sw = _sweep_of(args)
    except (ValueError, OSError):
        return  # bad flags: the command itself reports them
    if sw is not None:
        k, n = sweep_counts(*sw)
        if 0 < k:
            print(f"resuming: {k} of {n} runs done", flush=True)


def _interrupted(args) -> str:
    try:
        note = getattr(args, "_interrupt_note", None)  # a command that keeps its work says what it kept
        if callable(note):
            return note()
        sw = _sweep_of(args)
        if sw is not None:
            k, n = sweep_counts(*sw)
            return f"interrupted: {k} of {n} runs saved in {sw[1]}; rerun the same command to resume"
        if args.command == "reproduce" and getattr(args, "_done", None) is not None:
            done = args._done
            part = getattr(args, "_part", None)
            where = f" during part {part}" if part else ""
            if not done:
                return f"interrupted{where}: no part finished; a rerun starts again"
            return (f"interrupted{where}: {len(done)} part(s) finished ({', '.join(done)}), recorded in "
                    f"{Path(args.out) / STATE_FILE}; rerun the same command to skip them (--redo recomputes)")
    except Exception:  # noqa: BLE001 -- the message must not become a traceback
        pass
    return "interrupted"


def _name_the_flag(msg: str, parser, args) -> str:
    """A library's ValueError names its parameter (``width too large: ...``); on the command line the
    message names the flag: ``argument --width: width too large: ...`` (the flag whose dest is the
    message's first word, or that word + 's': ``depth`` -> ``--depths``).  Other messages as they are."""
    import re

    if msg.startswith("argument "):
        return msg
    m = re.match(r"([A-Za-z_]\w*)\b", msg)
    if not m:
        return msg
    p = parser
    for word in _command_words(args).split():  # down to this (sub)command's parser
        sub = next((a for a in p._actions if isinstance(a, A.argparse._SubParsersAction)), None)
        if sub is None or word not in sub.choices:
            return msg
        p = sub.choices[word]
    flags = {a.dest: a.option_strings[-1] for a in p._actions if a.option_strings}
    for dest in (m.group(1), m.group(1) + "s"):
        if dest in flags:
            return f"argument {flags[dest]}: {msg}"
    return msg


def _command_words(args) -> str:
    """The (sub)command words of ``args``: ``table``, ``ste simulate`` (nested ``*_command`` dests)."""
    words = [args.command] + [v for k, v in sorted(vars(args).items())
                              if k.endswith("_command") and isinstance(v, str) and v]
    return " ".join(words)


def build_parser():
    """The ``qmf`` argument parser: ``--version``, ``reproduce`` and the sub-commands of every plugin.

    Returns a ``qmf_sim.cli._vocab.Parser`` (an :class:`argparse.ArgumentParser` whose usage errors are
    one line on stderr and exit status 2) with ``qmf --version``, ``qmf reproduce`` (``--out``, ``--only``
    among :func:`qmf_sim.experiments.parts`, ``--quick``, ``--no-progress``, ``--redo``) and the commands
    that each module of ``PLUGINS`` adds with its ``add_commands(subparsers)`` (a plugin module absent
    from this checkout is skipped).  Every sub-command stores the function that runs it in ``func``.
    Nothing is parsed or run, and torch and numba are not imported, so the parser is cheap to build:
    :func:`main` builds one per call, and the documentation's command-line reference and the tests read
    the command tree from it.
    """
    from qmf_sim import experiments

    parser = A.Parser(
        prog="qmf",
        description="Mean-field theory of quantized neural networks: certified closed forms "
        "(paper 1: signal propagation with staircase activations; paper 2: STE learning dynamics), "
        "finite-network simulations and training sweeps.",
    )
    from qmf_sym import __version__

    parser.add_argument("--version", action="version", version=f"qmf {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    rp = sub.add_parser(
        "reproduce",
        help="write the papers' tables and figures (no data needed)",
        description="Run every reproducible part (tables, figures) into --out (all parts: about 20 minutes on "
        "2 cores, --quick about 2); parts: " + ", ".join(experiments.parts()),
    )
    rp.add_argument("--out", default="results", help="output directory (default: results/)")
    rp.add_argument("--only", type=_parts_list, default=None, help="comma-separated parts to run (default: all)")
    rp.add_argument("--quick", action="store_true", help="smaller sizes for a fast look")
    rp.add_argument("--no-progress", action="store_true", help="no progress bars (a non-TTY is quiet anyway)")
    rp.add_argument("--redo", action="store_true",
                    help=f"recompute every part (default: skip the parts recorded as finished in --out/{STATE_FILE} "
                    "by the same qmf version, commit and --quick)")
    rp.set_defaults(func=_cmd_reproduce)
    for mod in _plugins():
        mod.add_commands(sub)
    return parser


def main(argv=None):
    """Run the ``qmf`` command line (the ``qmf`` console script) on ``argv``; return its exit status.

    ``argv``: the arguments after the program name (default ``sys.argv[1:]``), parsed with
    :func:`build_parser`; without a command the help is printed.  While the command runs, the provenance
    context of every file written is the command line and ``--seed`` (:func:`qmf_sim.io.set_context`)
    and the progress bars follow ``--no-progress`` (:func:`qmf_sim.progress.set_enabled`); both are
    reset afterwards, so ``main`` may be called again in the same process.

    The status: 0 on success (or the command's own non-zero status); 2 for a usage error or a
    ``ValueError`` / ``OSError`` raised by the command, reported as one line ``qmf <command>: error: ...``
    on stderr that names the flag where the message names a parameter; 130 after Ctrl-C, with one line
    saying what was kept (the runs of a training sweep saved so far, the finished parts of
    ``qmf reproduce``, the finished sigma_b rows of ``qmf phase``); 141 when the reader of stdout went away
    (a broken pipe).  None of these prints a traceback.  ``--help`` and ``--version`` exit through
    ``SystemExit(0)``, as argparse does.  A warning while the command runs (a damaged line of a results
    file that will be recomputed, say) is one line ``qmf <command>: warning: ...``.
    """
    import signal

    from qmf_sim import io, progress

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line already printed): return its status
        if exc.code in (0, None):
            raise  # --help, --version
        return exc.code
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    io.set_context(["qmf", *argv], seeds=getattr(args, "seed", None))
    progress.set_enabled(not getattr(args, "no_progress", False))
    shown = warnings.formatwarning  # a warning while the command runs: one line, without the source line
    warnings.formatwarning = lambda message, *_a, **_k: (
        f"qmf {_command_words(args)}: warning: {' '.join(str(message).split())}\n")
    try:
        if args.command == "train-depth":
            _announce_resume(args)
        return args.func(args) or 0
    except BrokenPipeError:  # the reader went away (`qmf ... | head`): stop quietly, as Unix tools do
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except (ValueError, OSError) as exc:  # user errors: bad values, unreadable/unwritable paths
        msg = str(exc) if isinstance(exc, ValueError) else f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        if isinstance(exc, ValueError):
            msg = _name_the_flag(msg, parser, args)
        print(f"qmf {_command_words(args)}: error: {' '.join(msg.split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while we count: still no traceback
            print(_interrupted(args), file=sys.stderr, flush=True)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        return 130
    finally:
        io.set_context(None, None)
        progress.set_enabled(True)
        warnings.formatwarning = shown


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
