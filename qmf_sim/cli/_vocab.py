"""The one vocabulary of ``qmf`` flags: lists and ranges, numbers, devices, output directories.

Syntax of every list-valued flag (one grammar for all commands)::

    LIST := ITEM[,ITEM...]
    ITEM := VALUE | START-STOP[:STEP]        (inclusive; STEP default 1)

``--depths 2,4,10-40:10`` is 2, 4, 10, 20, 30, 40; ``--sigma-w 0.5-1.5:0.25`` is 0.5, 0.75, ..., 1.5
(float ranges: the end point is kept when it lies within 1e-9 STEP of the grid).  A leading minus
sign is a sign, not a range (``-1-1:0.5`` is -1, -0.5, 0, 0.5, 1).  NaN and infinities are never
numbers here.

One flag name per idea across commands: ``--levels`` (number of staircase states), ``--runs``
(independent repetitions), ``--seed``, ``--out``, ``--quick``, ``--no-progress``, ``--dps``.

Every helper is an argparse ``type=``: it raises :class:`argparse.ArgumentTypeError`, which argparse
reports as ``argument --flag: message``; :class:`Parser` prints that as one line and exits 2.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from pathlib import Path

_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUM})\s*-\s*({_NUM})\s*(?::\s*({_NUM})\s*)?$")
MAX_ITEMS = 1_000_000


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (``qmf <command>: error: ...``), exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(text: str, kind):
    t = text.strip()
    if kind is int:
        try:
            return int(t)
        except ValueError:
            try:
                f = float(t)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
            if math.isfinite(f) and f.is_integer():
                return int(f)
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    try:
        f = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(f):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return f


def _check_bounds(v, lo, hi, lo_open, what):
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise argparse.ArgumentTypeError(f"{what} must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise argparse.ArgumentTypeError(f"{what} must be <= {hi}, got {v}")
    return v


def _expand(item: str, kind) -> list:
    m = _RANGE.match(item)
    if not m:
        return [_number(item, kind)]
    a, b = _number(m.group(1), kind), _number(m.group(2), kind)
    step = _number(m.group(3), kind) if m.group(3) is not None else kind(1)
    if step <= 0:
        raise argparse.ArgumentTypeError(f"range {item.strip()!r}: STEP must be > 0, got {step}")
    if b < a:
        raise argparse.ArgumentTypeError(f"range {item.strip()!r}: STOP must be >= START")
    count = int(math.floor((b - a) / step + 1e-9)) + 1
    if count > MAX_ITEMS:
        raise argparse.ArgumentTypeError(f"range {item.strip()!r} has {count} values (at most {MAX_ITEMS})")
    if kind is int:
        return list(range(a, b + 1, step))
    return [a + i * step for i in range(count)]


def parse_list(text: str, kind=float) -> list:
    """Values of ``LIST := ITEM[,ITEM...]``, ``ITEM := VALUE | START-STOP[:STEP]`` (see module doc)."""
    if kind not in (int, float):
        raise ValueError(f"kind must be int or float, got {kind!r}")
    items = [s for s in str(text).split(",")]
    if not any(s.strip() for s in items):
        raise argparse.ArgumentTypeError("expected a list such as 1,2,5-9:2; got nothing")
    out = []
    for s in items:
        if not s.strip():
            raise argparse.ArgumentTypeError(f"empty item in list {text!r}")
        out.extend(_expand(s, kind))
    return out


def int_list(lo=None, hi=None):
    """``type=`` for a list of integers in [lo, hi]."""
    def conv(text):
        return [_check_bounds(v, lo, hi, False, "every value") for v in parse_list(text, int)]
    conv.__name__ = "integer list"
    return conv


def float_list(lo=None, hi=None, lo_open=False):
    """``type=`` for a list of finite floats (> lo if ``lo_open``, else >= lo; <= hi)."""
    def conv(text):
        return [_check_bounds(v, lo, hi, lo_open, "every value") for v in parse_list(text, float)]
    conv.__name__ = "number list"
    return conv


def integer(lo=None, hi=None):
    """``type=`` for one integer in [lo, hi]."""
    def conv(text):
        return _check_bounds(_number(text, int), lo, hi, False, "the value")
    conv.__name__ = "integer"
    return conv


def number(lo=None, hi=None, lo_open=False):
    """``type=`` for one finite float."""
    def conv(text):
        return _check_bounds(_number(text, float), lo, hi, lo_open, "the value")
    conv.__name__ = "number"
    return conv


def device(text):
    """``type=`` for a torch device that exists here (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    t = str(text).strip()
    m = re.fullmatch(r"(cpu|cuda|mps)(?::(\d+))?", t)
    if not m:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:K or mps, got {text!r}")
    kind, idx = m.group(1), m.group(2)
    if kind == "cpu":
        return t
    import torch

    if kind == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{t!r} requested but CUDA is not available on this machine")
        if idx is not None and int(idx) >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{t!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise argparse.ArgumentTypeError("'mps' requested but it is not available on this machine")
    return t


def _blocking_file(p: Path):
    """The nearest of ``p`` and its ancestors that exists, if it is not a directory (it blocks ``p``)."""
    for a in (p, *p.parents):
        try:
            if a.exists() or a.is_symlink():
                return None if a.is_dir() else a
        except OSError:  # e.g. a name too long: the mkdir below reports it
            return None
    return None


def out_dir(path, flag="--out") -> Path:
    """Make sure ``path`` is (or can become) a writable directory, before any computing.

    Raises ``ValueError("argument --out: ...")`` otherwise (saying which existing path is not a
    directory when that is why); returns the Path."""
    p = Path(path).expanduser()
    if not str(path).strip():
        raise ValueError(f"argument {flag}: expected a directory name, got {str(path)!r}")
    block = _blocking_file(p)
    if block is not None:
        what = f"{str(p)!r} exists and is not a directory" if block == p else \
            f"{str(block)!r} is not a directory, so {str(p)!r} cannot be created"
        raise ValueError(f"argument {flag}: {what}")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".qmf-write-probe-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"argument {flag}: cannot write to directory {str(p)!r} "
                         f"({exc.strerror or exc.__class__.__name__})") from None
    return p


def out_file(path, flag="--out") -> Path:
    """Like :func:`out_dir` for a file path: its directory must be writable, the path not a directory
    and, if it exists, writable."""
    p = Path(path).expanduser()
    if not str(path).strip():
        raise ValueError(f"argument {flag}: expected a file name, got {str(path)!r}")
    if p.is_dir():
        raise ValueError(f"argument {flag}: {str(p)!r} is a directory, expected a file name")
    parent = p.parent if str(p.parent) else Path(".")
    block = _blocking_file(parent)
    if block is not None:
        raise ValueError(f"argument {flag}: {str(block)!r} is not a directory, so {str(p)!r} cannot be created")
    out_dir(parent, flag)
    if p.exists() and not os.access(p, os.W_OK):
        raise ValueError(f"argument {flag}: cannot write to {str(p)!r} (permission denied)")
    return p


def warn(msg: str) -> None:
    """One line on stderr."""
    print(msg, file=sys.stderr)


# ---------------------------------------------------------------------------------- the vocabulary check
#: one name per idea: names that must not appear (what to use instead)
FORBIDDEN_FLAGS = {"--N": "--levels", "--n-levels": "--levels", "--draws": "--runs", "--n-draws": "--runs",
                   "--reps": "--runs", "--repeats": "--runs", "--out-dir": "--out", "--outdir": "--out",
                   "--random-seed": "--seed", "--no-bar": "--no-progress", "--precision": "--dps"}
#: flags that always take a LIST (so they must parse it with :func:`int_list` / :func:`float_list`)
LIST_FLAGS = ("--depths", "--widths", "--factors")


def audit(parser) -> list[str]:
    """Problems with the vocabulary of every (sub)command of ``parser``: forbidden flag names, list
    flags not parsed by this module's list types, options without help text.  Empty when all is well."""
    problems = []

    def walk(p, path):
        for act in p._actions:
            if isinstance(act, argparse._SubParsersAction):
                for name, sp in act.choices.items():
                    walk(sp, f"{path} {name}")
                continue
            for flag in act.option_strings:
                if flag in FORBIDDEN_FLAGS:
                    problems.append(f"{path}: {flag} (use {FORBIDDEN_FLAGS[flag]})")
                if flag in LIST_FLAGS and getattr(act.type, "__name__", "") not in ("integer list", "number list"):
                    problems.append(f"{path}: {flag} does not use the LIST syntax of qmf_sim.cli._vocab")
            if act.option_strings and act.help is None and not isinstance(act, (argparse._HelpAction,
                                                                                 argparse._VersionAction)):
                problems.append(f"{path}: {act.option_strings[0]} has no help text")

    walk(parser, parser.prog)
    return problems
