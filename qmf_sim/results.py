"""Writing result files: strict JSON (no NaN/Infinity tokens) shared by every ``qmf`` command."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def _clean(obj):
    """numpy scalars/arrays -> Python; non-finite floats -> None (JSON null), recursively."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if type(obj).__module__.startswith("mpmath"):
        obj = float(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path, obj, indent=1) -> Path:
    """Write ``obj`` as strict JSON (non-finite numbers become null) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_clean(obj), indent=indent, allow_nan=False))
    return path
