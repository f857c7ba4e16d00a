"""The one writer of qmf's result files: strict JSON, CSV, JSONL (append / load) and figures.

Conventions (one for every command, see docs/CONVENTIONS.md):

* JSON is strict (RFC 8259): no ``NaN``/``Infinity`` tokens.  A non-finite float is written as
  ``null``.  numpy scalars/arrays and mpmath numbers are converted to Python numbers (mpmath numbers
  as ``float``; a caller that wants all digits passes a string).
* CSV: a header row, then one row per record.  ``None`` and non-finite floats are written as an
  empty cell; floats as ``repr`` (shortest round-trip) unless the caller formats them; strings as is.
* JSONL: one strict JSON object per line, appended durably (flush + fsync); a reader skips damaged
  lines with one warning each.
* Figures: PNG and PDF by default.
"""
from __future__ import annotations

import csv
import json
import math
import os
import warnings
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


def write_json(path, obj, indent=1) -> Path:
    """Write ``obj`` as strict JSON (non-finite numbers become null) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(obj, indent=indent) + "\n")
    return path


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


def write_csv(path, header, rows) -> Path:
    """Write ``rows`` (sequences in ``header`` order, or dicts keyed by ``header``) as CSV."""
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
    return path


def read_csv(path) -> list[dict]:
    """Rows of a CSV written by :func:`write_csv` as dicts of strings (empty cell -> ``None``)."""
    with Path(path).open(newline="") as fh:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def append_jsonl(path, record: dict) -> None:
    """Append one record as a strict JSON line, durably (flush + fsync); repairs a missing final
    newline left by an interrupted write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(clean(record), sort_keys=True, allow_nan=False)
    with open(path, "a+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
        fh.write(line.encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path, required=()) -> list[dict]:
    """The JSON objects of a JSONL file, in order (missing file: empty).

    A line that is not UTF-8, not JSON, not an object, or lacks one of ``required`` keys is skipped
    with one warning naming the file and line; the caller redoes what it described.
    """
    path = Path(path)
    if not path.exists():
        return []
    out = []
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
            except (UnicodeDecodeError, ValueError) as exc:
                warnings.warn(f"{path}:{i}: skipping a damaged line ({exc}); its run will be redone",
                              stacklevel=2)
                continue
            out.append(rec)
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
