"""Resumable trainable-depth sweeps (paper 1, Fig. 3): depth x sigma_w and depth x N grids.

* :func:`sigma_grid` / :func:`levels_grid` build the runs (:class:`~qmf_sim.training.TrainConfig`)
  of the two panels of Fig. 3: depth x sigma_w at N = 10, and depth x N at sigma_w optimal.
* :func:`run_sweep` trains every run whose key is not yet in the JSONL results file and appends
  each record to it *as soon as the run finishes* (one JSON object per line, flushed and fsync'ed),
  so an interrupted sweep resumes where it stopped and a finished sweep trains nothing.  By default
  the runs that share a network shape (all sigma_w x N x seeds of one depth) are trained together as
  one ensemble (:mod:`qmf_sim.ensemble`; the same records as one run at a time, up to float
  rounding; ``ensemble=False`` trains them one by one).  With ``scheduler="tcp://host:port"`` (or a
  ``dask.distributed.Client``) every ensemble is one Dask task (``Client.submit`` per ensemble; a
  worker with a CUDA device trains on it: the device of a run is ``--device`` or the worker's
  :func:`qmf_sim.nn.default_device`) and the driver appends the records as they complete;
  in-process by default.  On a cluster, qmf must be importable on the workers (same version) and
  the data path (``--data``) readable there;
  the digits set needs nothing.
* :func:`boundary_depths` and :func:`fit_boundary_constant`: the trainability boundary per column
  and the constant c of L_max = c * xi (method in their docstrings).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from qmf_sym import _validate as V
from qmf_sym.activations import N_MAX

from . import io
from .ensemble import split_ensembles, train_ensemble
from .training import TrainConfig, accuracy_for_plot, run_training

# ---------------------------------------------------------------------------------- presets
# smoke: CPU, digits, a few minutes.  Width 128 instead of 2048: with the standard parametrisation
# the function moves ~width times faster per unit lr, so the paper's lr 1e-3 is scaled up to 1e-2.
# threads: torch threads per run (1 is fastest for these small matrices on a shared CPU; None: torch's
# default).  ``levels`` is the N axis of the depth x N panel, ``sigma_levels`` the N of the sigma_w panel.
PRESETS = {
    "smoke": dict(
        width=128, steps=300, lr=1e-2, depths=[2, 4, 8, 16, 32, 48],
        sigma_w_factors=[0.4, 0.6, 1.0, 1.6, 2.5], sigma_levels=10, levels=[2, 3, 4, 6, 10], threads=1,
    ),
    "quick": dict(
        width=64, steps=200, lr=2e-2, depths=[2, 6, 16, 32],
        sigma_w_factors=[0.4, 1.0, 2.5], sigma_levels=10, levels=[2, 4, 10], threads=1,
    ),
    # the full protocol of paper 1, sec. 5 (meant for a GPU): width 2048, 1600 steps, lr by depth
    "paper": dict(
        width=2048, steps=1600, lr=None, depths=list(range(10, 230, 10)),
        sigma_w_factors=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0], sigma_levels=10,
        levels=[2, 3, 4, 5, 6, 7, 8, 10, 12], threads=None,
    ),
}


GRID_MAX = 10 ** 5
"""The most runs one grid may hold (depths x sigma_ws or depths x levels); the paper's panels hold
a few hundred."""


def preset(name: str) -> dict:
    """A copy of the named sweep preset of paper 1's Fig. 3 (``smoke``, ``quick``, ``paper``).

    Keys: ``width``, ``steps``, ``lr`` (``None``: the paper's rate by depth, 1e-3 below 100 layers and
    5e-4 from 100 on, :meth:`qmf_sim.training.TrainConfig.resolved`), ``depths``, ``sigma_w_factors``
    (the columns of the depth x sigma_w panel, in units of sigma_w_opt), ``sigma_levels`` (its N),
    ``levels`` (the columns of the depth x N panel) and ``threads`` (torch threads per run; ``None``:
    torch's default).  ``paper`` is the protocol of sec. 5 (width 2048, 1600 SGD steps, depths 10 to 220,
    meant for a GPU); ``smoke`` (width 128, 300 steps) and ``quick`` (width 64, 200 steps) are CPU sizes
    whose larger rates make up for the narrower networks.  ``ValueError`` for another name."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"name (the preset) must be one of {sorted(PRESETS)}, got {name!r}")
    return dict(PRESETS[name])


# ---------------------------------------------------------------------------------- grids
def _base_kwargs(base: dict | None):
    base = dict(base or {})
    for k in ("depth", "levels", "sigma_w"):
        base.pop(k, None)
    return base


def sigma_grid(depths, sigma_ws, levels: int = 10, **base) -> list[TrainConfig]:
    """The depth x sigma_w panel (Fig. 3 left): N = ``levels`` fixed, sigma_w given."""
    depths = V.integers("depths", depths, 2)
    sigma_ws = [float(s) for s in V.positive("sigma_ws", V.array("sigma_ws", sigma_ws, ndim=1))]
    levels = V.integer("levels", levels, 2, N_MAX)
    V.size_product("depths", [("depths", len(depths)), ("sigma_ws", len(sigma_ws))], limit=GRID_MAX, what="runs")
    b = _base_kwargs(base)
    cfgs = [TrainConfig(depth=d, levels=levels, sigma_w=s, **b) for s in sigma_ws for d in depths]
    return [c.resolved() for c in cfgs]


def levels_grid(depths, levels, **base) -> list[TrainConfig]:
    """The depth x N panel (Fig. 3 right): sigma_w = sigma_w_opt(N) for each N."""
    depths = V.integers("depths", depths, 2)
    levels = V.integers("levels", levels, 2, N_MAX)
    V.size_product("depths", [("depths", len(depths)), ("levels", len(levels))], limit=GRID_MAX, what="runs")
    b = _base_kwargs(base)
    cfgs = [TrainConfig(depth=d, levels=n, sigma_w=None, **b) for n in levels for d in depths]
    return [c.resolved() for c in cfgs]


# ---------------------------------------------------------------------------------- results file
# the fields every record of run_training has; a line without them is damaged and its run redone
RECORD_FIELDS = ("key", "config", "data", "theory", "status", "checkpoints", "final_test_acc",
                 "final_train_acc", "chance", "run")


def _damage(rec) -> str | None:
    """Why a parsed JSON object is not a usable run record (``None`` if it is)."""
    if not isinstance(rec["key"], str) or not rec["key"]:
        return "key is not a non-empty string"
    if not isinstance(rec["config"], dict) or not {"depth", "levels", "sigma_w", "steps", "width"} <= set(rec["config"]):
        return "config is not a run configuration"
    if not isinstance(rec["run"], dict) or not isinstance(rec["data"], dict) or not isinstance(rec["checkpoints"], list):
        return "run, data or checkpoints has the wrong type"
    if rec["status"] not in ("ok", "diverged"):
        return f"status {rec['status']!r} is not ok/diverged"
    acc = rec["final_test_acc"]
    if acc is not None and (isinstance(acc, bool) or not isinstance(acc, (int, float))):
        return "final_test_acc is not a number"
    return None


def load_results(path, quarantine=False) -> dict:
    """``{key: record}`` from a JSONL results file (missing file: empty).

    Damaged lines -- not UTF-8, not JSON (e.g. cut by a crash), or a JSON value that is not a
    complete run record (:data:`RECORD_FIELDS`, right types) -- are skipped with one warning each
    (:func:`qmf_sim.io.read_jsonl`), so they never shadow a good record nor mark a pending run done;
    their runs are redone.  ``quarantine=True`` (under the append lock: :func:`load_results_locked`)
    moves them to ``<results>.damaged``, so that later reads do not warn about them again."""
    out = {}
    for rec in io.read_jsonl(path, required=RECORD_FIELDS, check=_damage, quarantine=quarantine):
        out[rec["key"]] = rec
    return out


def load_results_locked(path) -> dict:
    """:func:`load_results` under the file's append lock, moving its damaged lines aside (once per
    damage: a rerun does not warn again); where no lock can be made (a read-only folder) a plain read."""
    if not Path(path).exists():
        return {}
    try:
        with _locked(_lock_path(path, "append")):
            return load_results(path, quarantine=True)
    except OSError:  # no lock file can be made here
        return load_results(path)


def append_record(path, record: dict) -> None:
    """Append one record as a strict JSON line, durably (:func:`qmf_sim.io.append_jsonl`), under the
    file's append lock so that two sweeps never interleave their lines."""
    with _locked(_lock_path(path, "append")):
        io.append_jsonl(path, record)


# ---------------------------------------------------------------------------------- sharing a file
def _locks_dir(results_path) -> Path:
    """``<results>.locks``: the folder of a results file's lock files."""
    results_path = Path(results_path)
    return results_path.with_name(results_path.name + ".locks")


def _lock_path(results_path, name) -> Path:
    d = _locks_dir(results_path)
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}.lock"


class _locked:
    """An exclusive ``fcntl.flock`` on a lock file (blocking, or ``try_only``: ``.held`` says)."""

    def __init__(self, path, try_only=False):
        self.path, self.try_only, self.fh, self.held = Path(path), try_only, None, False

    def __enter__(self):
        import fcntl

        self.fh = open(self.path, "a")
        try:
            fcntl.flock(self.fh.fileno(), fcntl.LOCK_EX | (fcntl.LOCK_NB if self.try_only else 0))
            self.held = True
        except BlockingIOError:
            self.fh.close()
            self.fh = None
        return self

    def __exit__(self, *exc):
        if self.fh is not None:
            self.fh.close()  # closing releases the lock
        return False


# ---------------------------------------------------------------------------------- running
def _remote_run(config_dict: dict, threads):
    """What a Dask worker runs: one training run from a plain dict (picklable, importable)."""
    return run_training(TrainConfig.from_dict(config_dict), threads=threads)


def _remote_ensemble(config_dicts: list, threads):
    """What a Dask worker runs for an ensemble: the records of :func:`qmf_sim.ensemble.train_ensemble`,
    on the worker's device (its CUDA device if it has one), cut to that device's memory budget."""
    cfgs = [TrainConfig.from_dict(d) for d in config_dicts]
    return [r for unit in _budgeted(cfgs, None) for r in train_ensemble(unit, threads=threads)]


def _budgeted(configs, max_members):
    """Ensembles of ``configs`` within the memory budget of the device each will train on (here)."""
    from .ensemble import default_budget
    from .nn import default_device

    out = []
    for grp in split_ensembles(configs):
        dev = grp[0].device or str(default_device())
        out += split_ensembles(grp, max_members=max_members, budget_bytes=default_budget(dev))
    return out


def _units(todo, ensemble, max_members, remote=False):
    """The units of work: lists of configs (one ensemble each; single runs if ``ensemble`` is False).
    In-process: cut to this machine's device budget; on Dask (``remote``) only by ``max_members``: the
    worker cuts its task to its own device (:func:`_remote_ensemble`)."""
    if not ensemble:
        return [[c] for c in todo]
    return split_ensembles(todo, max_members=max_members) if remote else _budgeted(todo, max_members)


def pending(configs, results_path, quarantine=False):
    """The configs (deduplicated by key, in order) that have no record in ``results_path`` yet
    (``quarantine``: its damaged lines moved aside, :func:`load_results_locked`)."""
    done = load_results_locked(results_path) if quarantine else load_results(results_path)
    seen, todo = set(done), []
    for c in configs:
        k = c.key()
        if k not in seen:
            seen.add(k)
            todo.append(c)
    return todo


def connect(scheduler, name="scheduler"):
    """A ``dask.distributed.Client`` for the address ``scheduler`` (``tcp://host:port``).

    Raises ``ValueError`` naming ``name`` when dask is not installed or the scheduler cannot be
    reached (within 10 s)."""
    if not isinstance(scheduler, str) or "://" not in scheduler:
        raise ValueError(f"{name} must be an address such as tcp://host:8786, got {scheduler!r}")
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(f"{name} needs dask.distributed: pip install 'qmf[cluster]'") from None
    try:
        return Client(scheduler, timeout=10)
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"{name}: cannot connect to {scheduler!r} ({type(exc).__name__}: {exc})") from None


def run_sweep(configs, results_path, scheduler=None, progress: bool = True, max_runs: int | None = None,
              on_record=None, threads: int | None = None, step_progress: bool | None = None,
              ensemble: bool = True, max_members: int | None = None) -> dict:
    """Train every config without a record in ``results_path``; return ``{key: record}`` for all configs.

    ``scheduler``: ``None`` (in-process), a Dask scheduler address ``"tcp://host:port"`` or a
    ``dask.distributed.Client``.  ``max_runs``: train at most this many runs now (the rest stay
    pending for the next call).  ``on_record(record)`` is called after each record is saved (raising
    from it, e.g. ``KeyboardInterrupt``, stops the sweep; everything saved so far stays).
    ``threads``: torch threads per run (``None``: leave torch's default).  ``ensemble``: train the runs
    of one shape together (:mod:`qmf_sim.ensemble`; default), at most ``max_members`` at a time (and
    within 60 % of a CUDA device's memory / a quarter of the RAM); records are saved as each member
    finishes.

    Several sweeps may share one results file (two terminals, two cluster jobs): each run is
    *claimed* by an ``fcntl`` lock on ``<results>.locks/<key>.lock`` while it trains, and the file is
    re-read under the claim, so every run is trained once; a run claimed by another sweep is waited
    for at the end (and trained here if that sweep died without recording it).  Locks vanish with
    their process, so a crash leaves nothing stale; the claim files of recorded runs are removed at the end.
    """
    configs = [c.resolved() for c in configs]
    if not configs:
        raise ValueError("configs must hold at least one run")
    if threads is not None:
        threads = V.integer("threads", threads, 1)
    if max_members is not None:
        max_members = V.integer("max_members", max_members, 1)
    from .data import load_dataset

    for d in {c.data for c in configs}:  # unreadable data fails here, before any training
        load_dataset(d)
    results_path = Path(results_path)
    todo = pending(configs, results_path, quarantine=True)
    if max_runs is not None:
        todo = todo[: max(int(max_runs), 0)]
    if step_progress is None:
        step_progress = progress and scheduler is None
    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), desc="runs", unit="run", disable=not progress or not todo, file=sys.stderr)

    def saved(rec):
        append_record(results_path, rec)
        bar.update(1)
        label = TrainConfig.from_dict(rec["config"]).label()
        bar.set_postfix_str(f"L={rec['config']['depth']} {label} acc={rec['final_test_acc']}")
        if on_record is not None:
            on_record(rec)

    try:
        units = _units(todo, ensemble, max_members, remote=scheduler is not None)
        if scheduler is None:
            _run_local(units, results_path, saved, step_progress, threads)
        elif todo:
            _run_dask(units, results_path, scheduler, saved, threads)
    finally:
        bar.close()
    done = load_results(results_path)
    _drop_claims(results_path, [c.key() for c in configs if c.key() in done])
    return {c.key(): done[c.key()] for c in configs if c.key() in done}


def _drop_claims(results_path, keys):
    """Remove the claim files of recorded runs (a finished sweep leaves only ``append.lock``).  Safe with
    other sweeps on the file: one that claims a recorded run, on the old file or a new one, re-reads the
    results under the claim and skips it; runs still training are not recorded, so their claims stay."""
    d = _locks_dir(results_path)  # not _lock_path: a read-only folder is not created
    for key in keys:
        try:
            (d / f"{key}.lock").unlink()
        except OSError:  # already gone, or a read-only folder (the files are harmless)
            pass


def _train_unit(unit, saved, step_progress, threads):
    if len(unit) == 1:
        saved(run_training(unit[0], progress=step_progress, threads=threads))
    else:
        train_ensemble(unit, progress=step_progress, threads=threads, on_record=saved)


def _run_local(units, results_path, saved, step_progress, threads):
    from contextlib import ExitStack

    later = []
    for unit in units:
        with ExitStack() as claims:
            mine = []
            for c in unit:
                claim = claims.enter_context(_locked(_lock_path(results_path, c.key()), try_only=True))
                (mine if claim.held else later).append(c)  # held: another sweep is training it now
            done = load_results(results_path)  # re-read under the claims: done by another sweep since?
            mine = [c for c in mine if c.key() not in done]
            if mine:
                _train_unit(mine, saved, step_progress, threads)
    for c in later:  # wait for the other sweep; redo the run if it stopped without recording it
        with _locked(_lock_path(results_path, c.key())):
            if c.key() not in load_results(results_path):
                saved(run_training(c, progress=step_progress, threads=threads))


def _run_dask(units, results_path, scheduler, saved, threads):
    from contextlib import ExitStack

    own = not hasattr(scheduler, "submit")
    client = connect(scheduler) if own else scheduler
    from dask.distributed import as_completed

    futures = []
    try:
        with ExitStack() as claims:
            later, mine = [], []
            for unit in units:
                held = []
                for c in unit:
                    claim = claims.enter_context(_locked(_lock_path(results_path, c.key()), try_only=True))
                    (held if claim.held else later).append(c)
                mine.append(held)
            done = load_results(results_path)
            for unit in mine:
                unit = [c for c in unit if c.key() not in done]
                if not unit:
                    continue
                name = f"qmf-train-{unit[0].key()}" + (f"-x{len(unit)}" if len(unit) > 1 else "")
                if len(unit) == 1:
                    futures.append(client.submit(_remote_run, unit[0].to_dict(), threads, key=name, pure=False))
                else:
                    futures.append(client.submit(_remote_ensemble, [c.to_dict() for c in unit], threads, key=name,
                                                 pure=False))
            for fut in as_completed(futures):
                res = fut.result()
                for rec in (res if isinstance(res, list) else [res]):
                    saved(rec)
        for c in later:  # claimed by another sweep: wait, then redo it here if it was not recorded
            with _locked(_lock_path(results_path, c.key())):
                if c.key() not in load_results(results_path):
                    saved(client.submit(_remote_run, c.to_dict(), threads, pure=False).result())
    finally:
        for f in futures:
            if not f.done():
                f.cancel()
        if own:
            client.close()


# ---------------------------------------------------------------------------------- analysis
def boundary_depths(depths, acc, chance: float = 0.1, best: float | None = None):
    """Trainability boundary of one column of the heat map.

    Definition: the midpoint level m = (chance + best) / 2, with ``best`` the best accuracy of the
    whole grid (passed in; default: of this column).  Walking up in depth from the shallowest, the
    boundary lies between the first depth whose accuracy is below m and the depth before it (whose
    accuracy is >= m); L_b is the linear interpolation in depth where the accuracy crosses m.
    (Later recoveries above m, from noise, are ignored.)
    Returns ``(L_b, flag)``: flag "ok"; "above" if no depth is below m (boundary beyond the largest
    depth, L_b = nan, censored); "below" if already the shallowest depth is below m (L_b = nan).
    The nan of a censored column comes with its flag (:func:`fit_boundary_constant` leaves it out).

    ``depths``: distinct finite depths >= 1; ``acc``: one accuracy in [0, 1] per depth (nan = a missing
    cell of the grid, skipped); ``chance``, ``best`` in [0, 1].
    """
    d = V.positive("depths", V.array("depths", depths, ndim=1))
    a = V.array("acc", acc, ndim=1, missing=True)
    if a.shape != d.shape:
        raise ValueError(f"acc must hold one accuracy per entry of depths ({len(d)}), got {len(a)}")
    keep = ~np.isnan(a)
    if not keep.any():
        raise ValueError("acc holds no accuracy (every cell is nan)")
    V.in_closed("acc", a[keep], 0.0, 1.0)
    if len(np.unique(d)) != len(d):
        raise ValueError(f"depths must be distinct, got {depths!r}")
    chance = V.finite("chance", V.in_closed("chance", chance, 0.0, 1.0))
    order = np.argsort(d[keep])
    d, a = d[keep][order], a[keep][order]
    best = float(np.max(a)) if best is None else V.finite("best", V.in_closed("best", best, 0.0, 1.0))
    m = 0.5 * (chance + best)
    if a[0] < m:
        return math.nan, "below"
    below = np.nonzero(a < m)[0]
    if not len(below):
        return math.nan, "above"
    j = below[0]
    i = j - 1
    L = d[i] + (a[i] - m) / (a[i] - a[j]) * (d[j] - d[i])
    return float(L), "ok"


def fit_boundary_constant(xi, L_b, n_boot: int = 2000, seed: int = 0) -> dict:
    """Least-squares fit of L_b = c * xi through the origin over the columns with a boundary.

    c = sum(xi L) / sum(xi^2).  Uncertainties: the analytic standard error
    SE = sqrt(s^2 / sum xi^2) with s^2 = sum (L - c xi)^2 / (n - 1), and a bootstrap SE (columns
    resampled with replacement, ``n_boot`` times, seeded) with its 2.5-97.5 % interval.  Columns
    whose boundary is nan (censored) or whose xi is not finite are left out (``n_used``); with none
    left, c and its errors are nan and ``method`` says so.

    ``xi``, ``L_b``: 1-D real arrays of equal length (nan / inf allowed as "no value");
    ``n_boot`` in [1, 10**6]; ``seed`` an integer >= 0.
    """
    xi = V.array("xi", xi, ndim=1, missing=True)
    L = V.array("L_b", L_b, ndim=1, missing=True)
    if L.shape != xi.shape:
        raise ValueError(f"xi and L_b must be 1-D arrays of one value per column, got shapes {np.shape(xi)} "
                         f"and {np.shape(L_b)}")
    n_boot = V.integer("n_boot", n_boot, 1, 10 ** 6, "bootstrap resamples (an n_boot x columns array)")
    seed = V.integer("seed", seed, 0)
    ok = np.isfinite(xi) & np.isfinite(L) & (xi > 0)
    xi, L = xi[ok], L[ok]
    n = len(xi)
    if n == 0:
        return {"c": math.nan, "se": math.nan, "se_boot": math.nan, "ci95_boot": [math.nan, math.nan], "n_used": 0,
                "method": "no column had a boundary inside the depth range"}
    c = float(xi @ L / (xi @ xi))
    se = float(math.sqrt(((L - c * xi) ** 2).sum() / (n - 1) / (xi @ xi))) if n > 1 else math.nan
    if n > 1:
        rng = np.random.default_rng(seed)
        idx = rng.integers(0, n, size=(n_boot, n))
        X, Y = xi[idx], L[idx]
        cb = (X * Y).sum(1) / (X * X).sum(1)
        se_b, ci = float(cb.std(ddof=1)), [float(np.percentile(cb, 2.5)), float(np.percentile(cb, 97.5))]
    else:
        se_b, ci = math.nan, [math.nan, math.nan]
    return {"c": c, "se": se, "se_boot": se_b, "ci95_boot": ci, "n_used": n,
            "method": "least squares through the origin, L_b = c xi; analytic SE and column bootstrap"}


def grid_table(records, column_field: str):
    """(columns, depths, acc matrix [depth, column]) from records; missing cells are nan.

    ``records``: a non-empty list of run records (dicts with ``config`` holding ``depth`` and
    ``column_field``)."""
    if not isinstance(records, (list, tuple)) or not records:
        raise ValueError(f"records must be a non-empty list of run records, got {records!r}"[:200])
    if not isinstance(column_field, str):
        raise ValueError(f"column_field must be a config field name (a string), got {column_field!r}")
    for r in records:
        if not isinstance(r, dict) or not isinstance(r.get("config"), dict) or "depth" not in r["config"]:
            raise ValueError(f"records must be run records with a 'config' holding 'depth', got {r!r}"[:200])
        if column_field not in r["config"]:
            raise ValueError(f"column_field {column_field!r} is not a config field of the records "
                             f"(fields: {sorted(r['config'])})")
    cols = sorted({r["config"][column_field] for r in records})
    depths = sorted({r["config"]["depth"] for r in records})
    A = np.full((len(depths), len(cols)), np.nan)
    for r in records:
        A[depths.index(r["config"]["depth"]), cols.index(r["config"][column_field])] = accuracy_for_plot(r)
    return cols, depths, A
