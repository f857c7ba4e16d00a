"""``qmf plot RESULTS``: re-draw a figure from a saved results file, without recomputing.

Supported results (the parts that save the data of their figures):

* a trainable-depth output folder, or its ``runs.jsonl`` (paper 1, Fig. 3): the heat maps
  ``trainable_depth_<panel>.png/.pdf`` and ``fit.json`` are redrawn from the run records; the
  panel of each run is read from ``summary.csv`` next to it (written by every sweep);
* a folder holding the CSVs of the ``ste_uses`` part (paper 2: degradation, schedules, learning-rate
  range, input range, non-monotonicity), or one of those CSVs: ``ste_uses.png/.pdf`` is redrawn.

Anything else is a ``ValueError`` naming what is supported.
"""
from __future__ import annotations

from pathlib import Path

from qmf_sim import io

SUPPORTED = ("a trainable-depth folder (runs.jsonl + summary.csv) or its runs.jsonl, or a folder with the "
             "ste_uses CSVs (ste_degradation.csv, ...) or one of them")


def redraw(results, out=None) -> list[Path]:
    """Redraw the figures of ``results`` into ``out`` (default: the results' folder); return the paths."""
    p = Path(results).expanduser()
    folder = p if p.is_dir() else p.parent
    if not p.exists():
        raise ValueError(f"RESULTS {str(p)!r} does not exist; expected {SUPPORTED}")
    from qmf_sim.experiments import ste_uses

    if all((folder / n).is_file() for n in ste_uses.CSV_NAMES) and (p.is_dir() or p.name in ste_uses.CSV_NAMES):
        rows = ste_uses.rows_from_csv(folder)
        return ste_uses.plot_all(*rows, Path(out).expanduser() if out else folder)
    runs, summary = folder / "runs.jsonl", folder / "summary.csv"
    if not (runs.is_file() and summary.is_file()) or (p.is_file() and p.name != "runs.jsonl"):
        raise ValueError(f"RESULTS {str(p)!r}: cannot redraw it; supported: {SUPPORTED}")
    return _redraw_trainable_depth(runs, summary, Path(out).expanduser() if out else folder)


def _redraw_trainable_depth(runs, summary, out) -> list[Path]:
    from qmf_sim.experiments import trainable_depth as E
    from qmf_sim.sweep import load_results

    results = load_results(runs)
    panels: dict = {}
    for row in io.read_csv(summary):
        if row.get("panel") and row.get("key") in results:
            panels.setdefault(row["panel"], []).append(row["key"])
    if not panels:
        raise ValueError(f"{summary}: no run of {runs} is listed there; nothing to redraw")
    written, fits = [], {}
    for panel, keys in panels.items():
        recs = [results[k] for k in dict.fromkeys(keys)]
        fits[panel] = E.analyse_panel(recs, panel)
        written += E.plot_panel(recs, panel, Path(out) / f"trainable_depth_{panel}", fits[panel])
    written.append(io.write_json(Path(out) / "fit.json", fits))
    return written
