"""The one writer of qmf's result files: strict JSON, CSV, JSONL (append / load) and figures.

Conventions (one for every command, see docs/CONVENTIONS.md):

* JSON is strict (RFC 8259): no ``NaN``/``Infinity`` tokens.  A non-finite float is written as
  ``null``.  numpy scalars/arrays and mpmath numbers are converted to Python numbers (mpmath numbers
  as ``float``; a caller that wants all digits passes a string).
* CSV: a header row, then one row per record.  ``None`` and non-finite floats are written as an
  empty cell; floats as ``repr`` (shortest round-trip) unless the caller formats them; strings as is.
* JSONL: one strict JSON object per line, appended durably (flush + fsync); a reader skips damaged
  lines with one warning each (or moves them to ``<name>.damaged``: :func:`read_jsonl`).
* Figures: PNG and PDF by default.

Provenance: every JSON written here carries a top-level ``"provenance"`` object
(:func:`provenance`: qmf version, git commit of the checkout or null, the command line, UTC creation
time, Python/NumPy/torch/numba versions, platform, seeds).  A JSON whose payload is not an object
(a list of records) is written as ``{"records": [...], "provenance": {...}}``; :func:`read_json`
returns the payload without the provenance in both cases.  JSONL records carry it too (one
``"provenance"`` key per line).  A CSV stays a plain CSV (header row + rows, which every CSV reader
handles); JSON that a command prints to stdout (``qmf init --json``, ``qmf ste stationary --json``)
goes through :func:`with_provenance` too; a CSV's provenance goes into the **sidecar**
``<name>.csv.meta.json`` next to it: the columns,
the caller's ``meta`` (model parameters, what a column means, how many runs a standard deviation is
over) and the provenance.  The command line and seeds come from :func:`set_context` (the CLI sets
them), else from ``sys.argv``; writers may pass ``seeds=`` explicitly.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np


def clean(obj):
    """numpy scalars/arrays and mpmath numbers -> Python; non-finite floats -> None, recursively."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if type(obj).__module__.startswith("mpmath"):
        obj = float(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps(obj, indent=1) -> str:
    """Strict JSON text of ``obj`` (see :func:`clean`)."""
    return json.dumps(clean(obj), indent=indent, allow_nan=False)


# ---------------------------------------------------------------------------------- provenance
_CONTEXT: dict = {"command": None, "seeds": None}
SIDECAR_SUFFIX = ".meta.json"


def set_context(command=None, seeds=None) -> None:
    """Record the command line (a list of words) and the seed(s) of this process's run, for
    :func:`provenance`.  The CLI calls it once per command; ``None`` resets a field."""
    _CONTEXT["command"] = None if command is None else [str(w) for w in command]
    if seeds is not None and not isinstance(seeds, (list, tuple)):
        seeds = [seeds]
    _CONTEXT["seeds"] = None if seeds is None else list(seeds)


@lru_cache(maxsize=None)
def git_commit():
    """The commit of the git checkout this package runs from, ``"<sha>+dirty"`` with uncommitted
    changes to tracked files; ``None`` outside a checkout or without git."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) if sha else None


def _dist_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


@lru_cache(maxsize=None)
def _static_provenance() -> dict:
    from qmf_sym import __version__

    return {"qmf_version": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": _dist_version("torch"), "numba": _dist_version("numba"),
            "platform": platform.platform()}


def provenance(seeds=None) -> dict:
    """Where a result came from: qmf version, git commit (null outside a checkout), the command line,
    creation time (UTC, ISO 8601), Python/NumPy/torch/numba versions (null if not installed),
    platform, and the seed(s) (``seeds``, else those of :func:`set_context`, else null)."""
    cmd = _CONTEXT["command"]
    if cmd is None:
        cmd = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    if seeds is None:
        seeds = _CONTEXT["seeds"]
    elif not isinstance(seeds, (list, tuple)):
        seeds = [seeds]
    out = dict(_static_provenance())
    out["command"] = shlex.join(cmd)
    out["created_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    out["seeds"] = None if seeds is None else list(seeds)
    return clean(out)


def _seeds_in(obj, depth=2):
    """Integer values under keys ``seed``/``seeds`` in ``obj`` (dicts and lists, ``depth`` levels
    down), sorted."""
    found = set()
    if isinstance(obj, (list, tuple)) and depth >= 0:
        for v in obj[:1000]:
            found |= set(_seeds_in(v, depth - 1))
    if isinstance(obj, dict) and depth >= 0:
        for k, v in obj.items():
            if k in ("seed", "seeds"):
                for x in (v if isinstance(v, (list, tuple)) else [v]):
                    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
                        found.add(int(x))
            elif isinstance(v, dict):
                found |= set(_seeds_in(v, depth - 1))
    return sorted(found)


def with_provenance(obj, seeds=None) -> dict:
    """``obj`` (a dict: a copy with a ``"provenance"`` key added unless it has one; anything else:
    ``{"records": obj, "provenance": ...}``).  Seeds: ``seeds``, else :func:`set_context`'s, else
    the integers under ``seed``/``seeds`` keys of ``obj`` (two levels down), else null."""
    if seeds is None and _CONTEXT["seeds"] is None:
        seeds = _seeds_in(obj) or None
    if isinstance(obj, dict):
        return obj if "provenance" in obj else {**obj, "provenance": provenance(seeds)}
    return {"records": obj, "provenance": provenance(seeds)}


def write_json(path, obj, indent=1, seeds=None) -> Path:
    """Write ``obj`` as strict JSON (non-finite numbers become null) with its top-level
    ``"provenance"`` (:func:`with_provenance`) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(with_provenance(obj, seeds), indent=indent) + "\n")
    return path


def read_json(path, provenance=False):
    """The payload of a JSON written by :func:`write_json` (without its provenance; a list written as
    ``{"records": ..., "provenance": ...}`` comes back as the list).  ``provenance=True``: the pair
    ``(payload, provenance or None)``.  Plain JSON files without provenance read as they are."""
    obj = json.loads(Path(path).read_text())
    prov = None
    if isinstance(obj, dict) and "provenance" in obj:
        obj = dict(obj)
        prov = obj.pop("provenance")
        if set(obj) == {"records"}:
            obj = obj["records"]
    return (obj, prov) if provenance else obj


def write_text(path, text: str) -> Path:
    """Write a text document (UTF-8; e.g. the HTML report) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sidecar_path(csv_path) -> Path:
    """The provenance sidecar of a CSV: ``<name>.csv.meta.json``."""
    p = Path(csv_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def csv_cell(v) -> str:
    """One CSV cell: ``None``/non-finite -> empty, float -> repr, mpmath -> its str, else str."""
    if v is None:
        return ""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if type(v).__module__.startswith("mpmath"):
        import mpmath

        return str(v) if mpmath.isfinite(v) else ""
    return str(v)


def write_csv(path, header, rows, meta=None, seeds=None) -> Path:
    """Write ``rows`` (sequences in ``header`` order, or dicts keyed by ``header``) as CSV, and its
    sidecar ``<name>.csv.meta.json`` (:func:`sidecar_path`): ``{"file", "columns", "meta",
    "provenance"}``; ``meta`` is the caller's dict (model parameters, column meanings, runs)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = list(header)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            if isinstance(r, dict):
                r = [r.get(k) for k in header]
            w.writerow([csv_cell(v) for v in r])
    write_json(sidecar_path(path), {"file": path.name, "columns": header, "meta": meta or {}}, seeds=seeds)
    return path


def read_csv(path) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv` as dicts of strings (empty cell -> ``None``)."""
    with Path(path).open(newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def append_jsonl(path, record: dict, seeds=None) -> None:
    """Append one record (a dict; its ``"provenance"`` added unless present) as a strict JSON line,
    durably (flush + fsync); repairs a missing final newline left by an interrupted write."""
    path = Path(path)
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict, got {type(record).__name__}")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(clean(with_provenance(record, seeds)), sort_keys=True, allow_nan=False)
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(line.encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def damaged_path(path) -> Path:
    """Where :func:`read_jsonl` moves the damaged lines of a JSONL file: ``<name>.damaged``."""
    p = Path(path)
    return p.with_name(p.name + ".damaged")


def read_jsonl(path, required=(), check=None, quarantine=False) -> list[dict]:
    """The JSON objects of a JSONL file, in order (missing file: empty).

    A line that is not UTF-8, not JSON, not an object, lacks one of ``required`` keys, or for which
    ``check(record)`` returns a reason (a string; ``None``: usable) is damaged: skipped with a warning
    naming the file, the line and why; the caller redoes what it described.  ``quarantine=True`` also
    moves the damaged lines, byte for byte, to :func:`damaged_path` (appended) and rewrites the file
    without them (a temporary file, then an atomic rename), so that the warning comes once, not at every
    later read.  Only under a lock that every appender of the file takes (the trainable-depth sweep's
    append lock): an append to the old file during the rename would be lost.  Where the folder is not
    writable the lines stay and the warning says so.
    """
    path = Path(path)
    if not path.exists():
        return []
    out, good, bad = [], [], []
    with open(path, "rb") as fh:
        for i, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                missing = [k for k in required if k not in rec]
                if missing:
                    raise ValueError(f"missing field(s) {', '.join(missing)}")
                why = check(rec) if check is not None else None
                if why is not None:
                    raise ValueError(why)
            except (UnicodeDecodeError, ValueError) as exc:
                bad.append((i, raw, exc))
                continue
            out.append(rec)
            good.append(raw)
    moved = None
    if quarantine and bad:
        moved = damaged_path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        ended = lambda raw: raw if raw.endswith(b"\n") else raw + b"\n"  # noqa: E731  a cut last line
        try:
            with open(tmp, "wb") as fh:
                fh.writelines(ended(raw) for raw in good)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o7777)  # the results file keeps its permissions
            with open(moved, "ab") as fh:
                fh.writelines(ended(raw) for _, raw, _ in bad)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            moved = None
            warnings.warn(f"{path}: cannot move its damaged lines aside ({exc.strerror or exc}); they stay", stacklevel=2)
    for i, _, exc in bad:
        where = f"; moved to {moved}" if moved is not None else ""
        warnings.warn(f"{path}:{i}: skipping a damaged line ({exc}){where}; what it recorded will be computed again",
                      stacklevel=2)
    return out


def plt():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save_figure(fig, out_dir, stem, formats=("png", "pdf"), dpi=130) -> list:
    """Save a matplotlib figure as ``out_dir/stem.<fmt>`` for each format, close it, return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out_dir / f"{stem}.{fmt}"
        fig.savefig(p, dpi=dpi)
        paths.append(p)
    plt().close(fig)
    return paths
