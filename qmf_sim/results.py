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


def save_figure(fig, out_dir, stem, formats=("png", "pdf"), dpi=130) -> list:
    """Save a matplotlib figure as ``out_dir/stem.<fmt>`` for each format, close it, return the paths."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = out_dir / f"{stem}.{fmt}"
        fig.savefig(p, dpi=dpi)
        paths.append(p)
    plt.close(fig)
    return paths
