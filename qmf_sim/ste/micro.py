"""The d-dimensional online STE-SGD of spec §3 ("micro"), many replicas in parallel.

Scheme: the exact microscopic process, no discretisation: per step a fresh x ~ N(0, I_d) and label noise,
forward pass with psi(w) and phi(x), STE backward ``g(w) = 1{|w| <= omega}`` (or 1), ridge on the latent
weights, optional Langevin noise sqrt(2 eta T / d) N(0, I_d); time tau = t/d.  Its error against the
d -> infinity limit (the McKean--Vlasov SDE) is O(1/d) in the mean of eps_g plus O(d^-1/2) fluctuations;
it is stable as long as the dynamics is (eta s2 < 2 without weight quantization, spec §5.1) -- beyond,
runs diverge and are reported by the one divergence rule (:mod:`qmf_sim.ste.trajectory`).

Speed: per step, the d normals are drawn (scalar ziggurat) into a buffer; each parameter set then makes
vectorised passes over it (``_kernels``): finish the previous update, the one quantizer lookup for weights and
for inputs (:mod:`qmf_sim.ste.quantizer`), and the five sums (reassociated, so they differ from a serial sum
by rounding only); an input quantizer of <= 7 thresholds is looked up inside the sums' pass (the sums
then run in the shadow of its compares, same numbers). Replicas run in parallel (``numba.prange``), each on a
copy of its weights held by its own thread (no cache line shared between threads); every replica (or group
sharing inputs) owns its xoshiro256++ stream (:mod:`qmf_sim.ste.rng`), so results are bit-identical between
calls and independent of the number of threads.

General maps: the compiled maps (tanh, any staircase) use the same passes; a non-indicator
surrogate or the ridge on psi (spec §8 item 3) takes the generic update pass (``_kernels.upass_gen``);
the quantizer paths are unchanged (their tables are bit for bit those of before).  A quantization onset
(spec §8 item 6) runs the kernel twice (unquantized up to step round(onset d), then quantized, same
weights and streams); callable maps run on :func:`qmf_sim.ste.reference.simulate_numpy`.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from qmf_sim.ste.interrupt import Interrupted, mark_unrecorded, run_kernel
from qmf_sim.ste.params import as_params
from qmf_sim.ste.quantizer import map_tables
from qmf_sim.ste.rng import check_seed, draw_init, draw_teacher, init_rng, stream_state
from qmf_sim.ste.trajectory import EPS_BOUND, Q_BOUND, Schedule, Trajectory, apply_divergence, check_bounds
from qmf_sym import _validate as V


def _check_run(d, runs, seed, eps_bound, q_bound, tau, tau_max):
    """Validate the run arguments shared by every d-dimensional simulation entry point."""
    d = V.integer("d", d, 1)
    runs = V.integer("runs", runs, 1)
    seed = check_seed(seed)
    eps_bound, q_bound = check_bounds(eps_bound, q_bound)
    if tau is None:
        if tau_max is None:
            raise ValueError("give tau_max or tau")
        V.positive("tau_max", tau_max)
    return d, runs, seed, eps_bound, q_bound

def memory_bytes(d, runs, n_rec, n_sets=1, n_snap=0, keep_teacher=False, threads=None):
    """Bytes :func:`simulate_many` allocates: latent and teacher weights (runs x sets x d float64, a teacher
    copy with ``keep_teacher``/snapshots), the records (4 per recording time), the snapshots, and per
    thread the kernel's step buffers (x and, per set, the thread's own copy of the latent weights, psi(w)
    and phi(x): d (1 + 3 sets))."""
    import os

    threads = min(int(runs), os.cpu_count() or 1) if threads is None else threads
    per = float(d) * (2 + bool(keep_teacher or n_snap) + n_snap) + 4.0 * n_rec
    return 8.0 * (float(runs) * n_sets * per + threads * float(d) * (1 + 3 * n_sets))


#: coordinate updates per second of the micro kernel per thread (measured on a loaded 2-core CPU with
#: d = 900..3000: ~0.8-1e8); used only to state how long a large run will take
UPDATES_PER_SECOND = 1.0e8


def work(d, runs, last_step):
    """Coordinate updates of a micro run: runs x d x the number of SGD steps."""
    return float(runs) * float(d) * float(last_step)


def check_work(d, runs, tau_last, n_sets=1, name="tau_max"):
    """Refuse a run of more than :data:`qmf_sim.ste.trajectory.MAX_WORK` coordinate updates (:func:`work`:
    n_sets x runs x d x round(tau_last d) steps; 1e13 is ~7 h on one quiet core) with a ValueError naming
    ``name`` (``tau_max``, or ``tau`` for a given grid), before the steps are counted in int64."""
    from qmf_sim.ste.trajectory import check_work as check

    steps = max(float(np.round(float(tau_last) * d)), 1.0)  # a float: tau d may pass 2^63
    what = f"coordinate updates: {n_sets} set(s) x runs {runs} x d {d} x {steps:.3g} steps round(tau d)"
    return check(f"{name} = {float(tau_last):g}" if name == "tau_max" else f"{name} (up to {float(tau_last):g})",
                 float(n_sets) * work(d, runs, steps), what)


def check_memory(d, runs, n_rec, n_sets=1, n_snap=0, keep_teacher=False, flags=None):
    """ValueError naming ``d`` (or ``runs``, whichever is the larger multiple of its usual size 900 / 5)
    when :func:`memory_bytes` exceeds the budget of :func:`qmf_sym._validate.memory_budget`; ``flags`` = (flag of d, flag of
    runs): the CLI's names (the message then starts ``argument --d:``)."""
    from qmf_sym._validate import check_bytes

    nb = memory_bytes(d, runs, n_rec, n_sets, n_snap, keep_teacher)
    first, other = (0, 1) if float(d) / 900 >= float(runs) / 5 else (1, 0)
    vals = (d, runs)
    if flags is None:
        name = f"{('d', 'runs')[first]} = {vals[first]} (with {('d', 'runs')[other]} = {vals[other]})"
    else:
        name = f"argument {flags[first]}: {flags[first]} {vals[first]} (with {flags[other]} {vals[other]})"
    check_bytes(name, nb, f"{n_sets} parameter set(s) x runs x d float64 weights, teachers and records")
    return nb


def _config_arrays(plist):
    """The kernel's per-config arrays (map tables, rates, input moments) of a list of STEParams; built once
    per list of hashable (frozen) parameter sets and reused (read-only: the kernel never writes them), which
    takes ~0.2 ms off every call of a sweep over seeds."""
    key = tuple((p, repr(p)) for p in plist)  # repr: 0.0 and -0.0 are equal but not the same run
    try:
        hash(key)
    except TypeError:  # a map holding an unhashable object: build afresh
        return _build_config_arrays(plist)
    return _cached_config_arrays(key)


@lru_cache(maxsize=64)
def _cached_config_arrays(key):
    cfg = _build_config_arrays([p for p, _ in key])
    for a in cfg.values():
        a.setflags(write=False)
    return cfg


def _build_config_arrays(plist):
    f = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    wgl, wgt, wgm = map_tables([p.weight_map() for p in plist], [p.ridge == "psi" for p in plist])
    xgl, xgt, xgm = map_tables([p.input_map() for p in plist])
    mom = [p.input_moments() for p in plist]
    return dict(wgl=wgl, wgt=wgt, wgm=wgm, xgl=xgl, xgt=xgt, xgm=xgm,
                eta=f([p.eta for p in plist]), lam=f([p.lam for p in plist]),
                sig=f([math.sqrt(p.sigma2) for p in plist]), temp=f([p.T for p in plist]),
                kappa=f([m[0] for m in mom]), s2=f([m[1] for m in mom]))


def simulate_many(plist: Sequence, d, tau_max=None, runs=5, seed=0, tau=None, share_inputs=True,
                  snapshot_tau=(), eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep_teacher=False):
    """Run the spec §3 online SGD for several parameter sets, ``runs`` replicas each; a list of
    :class:`~qmf_sim.ste.trajectory.Trajectory` (method 'micro').

    Replica r of every parameter set starts from the same draws of (w*, w^0) and, with
    ``share_inputs=True`` (common random numbers), sees the same stream of inputs x_t and label noise
    as replica r of the other sets: this is exactly ``simulate(p, ..., seed)`` replica r for each p
    (bit-identical when T = 0), at the price of one Gaussian draw per coordinate for all sets.  Sound
    for per-set means and error bars (the R replicas of a set stay independent); the sets are then
    positively correlated, which only sharpens differences between sets.  ``share_inputs=False`` runs
    the sets in separate groups (same results, more draws; for benchmarks).  Recording at the steps
    round(tau d) (``tau`` or the log grid up to ``tau_max``); ``snapshot_tau``: keep the latent weights.
    A run of more than 1e13 coordinate updates (sets x runs x d x steps, ~7 h on one quiet core;
    :func:`check_work`) is refused with a ValueError naming ``tau_max`` / ``tau``; Ctrl-C raises
    :class:`~qmf_sim.ste.interrupt.Interrupted` with the records made so far.
    """
    if isinstance(plist, (str, bytes, dict)) or not hasattr(plist, "__iter__"):
        raise ValueError(f"plist must be a list of STEParams, got {plist!r}"[:200])
    V.flag("share_inputs", share_inputs), V.flag("keep_teacher", keep_teacher)
    plist = [as_params(p) for p in plist]
    if not plist:
        raise ValueError("plist must contain at least one STEParams")
    special = [k for k, p in enumerate(plist) if p.onset > 0 or not p.compiled]
    if special:  # onset (two kernel runs) and callable maps (pure numpy): one set at a time
        kw = dict(tau_max=tau_max, runs=runs, seed=seed, tau=tau, share_inputs=share_inputs,
                  snapshot_tau=snapshot_tau, eps_bound=eps_bound, q_bound=q_bound, keep_teacher=keep_teacher)
        plain = [k for k in range(len(plist)) if k not in special]
        res, cur = [None] * len(plist), plain
        try:
            for k, r in zip(plain, simulate_many([plist[k] for k in plain], d, **kw) if plain else []):
                res[k] = r
            for k in special:
                cur = [k]
                res[k] = _simulate_special(plist[k], d, **kw)
        except Interrupted as exc:  # the sets not run yet are None
            for k, r in zip(cur, exc.partial if isinstance(exc.partial, list) else [exc.partial]):
                res[k] = r
            raise Interrupted(res) from None
        return res
    d, runs, seed, eps_bound, q_bound = _check_run(d, runs, seed, eps_bound, q_bound, tau, tau_max)
    sched = Schedule(tau, snapshot_tau, tau_max=tau_max)
    C = len(plist)
    # a size that cannot fit is named first (the times count at least the distinct steps they round to),
    # then too long a run, both before the times become step numbers
    check_memory(d, runs, sched.tau.size, C, sched.snapshot_tau.size, keep_teacher)
    check_work(d, runs, sched.tau[-1], C, sched.name)
    rec = sched.steps(d)
    snap = sched.snapshot_steps(d, rec[-1])
    cfg = _config_arrays(plist)
    if share_inputs:
        n_groups, G = runs, C
        slot = np.tile(np.arange(C, dtype=np.int64), (runs, 1))
        run_of = np.repeat(np.arange(runs)[:, None], C, axis=1)
    else:
        n_groups, G = runs * C, 1
        slot = np.repeat(np.arange(C, dtype=np.int64), runs)[:, None]
        run_of = np.tile(np.arange(runs), C)[:, None]
    states = np.stack([stream_state(seed, (int(run_of[g, 0]),)) for g in range(n_groups)])
    W = np.empty((n_groups, G, d))
    WS = np.empty((n_groups, G, d))
    for g in range(n_groups):
        for j in range(G):
            p = plist[slot[g, j]]
            rng = init_rng(seed, (int(run_of[g, j]),))
            WS[g, j] = draw_teacher(rng, p.teacher, d)
            W[g, j] = draw_init(rng, p.init, p.init_scale, d)
    WS0 = WS.copy() if keep_teacher or snap.size else None
    rho_emp = (WS**2).mean(-1)
    n_rec = rec.size
    out = {k: np.full((n_groups, G, n_rec), np.nan) for k in ("eps", "q", "m", "qpsi")}
    out_snap = np.full((n_groups, G, snap.size, d), np.nan) if snap.size else np.zeros((n_groups, G, 0, 1))
    div = np.full((n_groups, G), -1, dtype=np.int64)
    from qmf_sim.ste import _kernels as K

    stopped = run_kernel(K.micro, states, W, WS, slot, cfg["wgl"], cfg["wgt"], cfg["wgm"], cfg["xgl"], cfg["xgt"],
                         cfg["xgm"], cfg["eta"], cfg["lam"], cfg["sig"], cfg["temp"], cfg["kappa"], cfg["s2"], rho_emp,
                         rec, snap if snap.size else np.full(1, -1, np.int64), eps_bound, q_bound,
                         out["eps"], out["q"], out["m"], out["qpsi"], out_snap, div)
    results = []
    for c, p in enumerate(plist):
        idx = [(g, j) for g in range(n_groups) for j in range(G) if slot[g, j] == c]
        idx.sort(key=lambda gj: run_of[gj])
        get = lambda a: np.stack([a[g, j] for g, j in idx])  # noqa: E731
        dv = np.array([div[g, j] for g, j in idx])
        arrs = {k: get(v) for k, v in out.items()}
        diverged, valid, tdiv = apply_divergence(arrs, rec, dv, d)
        if stopped:
            valid = mark_unrecorded(valid, arrs["eps"])
        snaps = get(out_snap) if snap.size else None
        if snaps is not None:
            for r in np.nonzero(diverged)[0]:
                snaps[r, snap >= dv[r]] = np.nan
        results.append(Trajectory(
            params=p, method="micro", tau=rec / d, eps=arrs["eps"], q=arrs["q"], m_psi=arrs["m"],
            q_psi=arrs["qpsi"], valid=valid, diverged=diverged, tau_diverged=tdiv, eps_bound=eps_bound,
            q_bound=q_bound, info=dict(d=d, seed=seed, **({"interrupted": True} if stopped else {})),
            snapshot_tau=snap / d, snapshots=snaps, w_star=get(WS0) if WS0 is not None else None))
    if stopped:
        raise Interrupted(results)
    return results


def simulate(params=None, d=900, tau_max=None, runs=5, seed=0, tau=None, snapshot_tau=(),
             eps_bound=EPS_BOUND, q_bound=Q_BOUND, **kw) -> Trajectory:
    """The d-dimensional online STE-SGD of spec §3 for one parameter set (``params`` or keywords of
    :class:`~qmf_sim.ste.params.STEParams`), ``runs`` independent replicas in parallel."""
    p = as_params(params, **kw)
    snapshot_tau = Schedule._times("snapshot_tau", snapshot_tau)
    try:
        return simulate_many([p], d, tau_max=tau_max, runs=runs, seed=seed, tau=tau, snapshot_tau=snapshot_tau,
                             eps_bound=eps_bound, q_bound=q_bound, keep_teacher=bool(snapshot_tau.size))[0]
    except Interrupted as exc:  # Ctrl-C: the one trajectory, recorded up to the stop
        raise Interrupted(exc.partial[0]) from None


def _simulate_special(p, d, tau_max=None, runs=5, seed=0, tau=None, share_inputs=True, snapshot_tau=(),
                      eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep_teacher=False):
    """One parameter set with a quantization onset (spec §8 item 6) or a callable map."""
    if not p.compiled:
        from qmf_sim.ste.reference import simulate_numpy

        return simulate_numpy(p, d, tau_max=tau_max, runs=runs, seed=seed, tau=tau, eps_bound=eps_bound,
                              q_bound=q_bound, snapshot_tau=snapshot_tau)
    return _simulate_onset(p, d, tau_max=tau_max, runs=runs, seed=seed, tau=tau, eps_bound=eps_bound,
                           q_bound=q_bound, snapshot_tau=snapshot_tau)


def _simulate_onset(p, d, tau_max=None, runs=5, seed=0, tau=None, eps_bound=EPS_BOUND, q_bound=Q_BOUND,
                    snapshot_tau=()):
    """Quantization from tau = onset on: the kernel runs the unquantized dynamics up to step
    round(onset d), then (same weights, same random streams, continued) the quantized one."""
    d, runs, seed, eps_bound, q_bound = _check_run(d, runs, seed, eps_bound, q_bound, tau, tau_max)
    if np.asarray(snapshot_tau, dtype=float).size:
        raise ValueError("snapshot_tau is not available with onset > 0 (record eps_g only)")
    sched = Schedule(tau, (), tau_max=tau_max)
    check_memory(d, runs, sched.tau.size)  # a size that cannot fit is named first (then too long a run)
    check_work(d, runs, sched.tau[-1], 1, sched.name)
    rec = sched.steps(d)
    n1 = int(round(p.onset * d))
    states = np.stack([stream_state(seed, (r,)) for r in range(runs)])
    W = np.empty((runs, 1, d))
    WS = np.empty((runs, 1, d))
    for r in range(runs):
        rng = init_rng(seed, (r,))
        WS[r, 0] = draw_teacher(rng, p.teacher, d)
        W[r, 0] = draw_init(rng, p.init, p.init_scale, d)
    rho_emp = (WS**2).mean(-1)
    slot = np.zeros((runs, 1), dtype=np.int64)
    from qmf_sim.ste import _kernels as K

    out = {k: np.full((runs, rec.size), np.nan) for k in ("eps", "q", "m", "qpsi")}
    div = np.full(runs, -1, dtype=np.int64)
    if n1 > rec[-1]:  # the onset after the last recording: the unquantized run only (not on to step n1)
        segs = [(p.before_onset(), rec, 0)]
    elif n1 > 0:
        segs = [(p.before_onset(), np.unique(np.concatenate([rec[rec < n1], [n1]])), 0),
                (p.after_onset(), rec[rec >= n1] - n1, n1)]
    else:
        segs = [(p.after_onset(), rec, 0)]
    stopped = False
    for q, rsteps, off in segs:
        if rsteps.size == 0:
            continue
        cfg = _config_arrays([q])
        o = {k: np.full((runs, 1, rsteps.size), np.nan) for k in out}
        dv = np.full((runs, 1), -1, dtype=np.int64)
        stopped = run_kernel(K.micro, states, W, WS, slot, cfg["wgl"], cfg["wgt"], cfg["wgm"], cfg["xgl"], cfg["xgt"],
                             cfg["xgm"], cfg["eta"], cfg["lam"], cfg["sig"], cfg["temp"], cfg["kappa"], cfg["s2"],
                             rho_emp, np.ascontiguousarray(rsteps, dtype=np.int64), np.full(1, -1, np.int64),
                             eps_bound, q_bound, o["eps"], o["q"], o["m"], o["qpsi"], np.zeros((runs, 1, 0, 1)), dv)
        pos = np.searchsorted(rec, rsteps + off)
        keep = (pos < rec.size) & (rec[np.minimum(pos, rec.size - 1)] == rsteps + off)
        for k in out:
            out[k][:, pos[keep]] = o[k][:, 0, keep]
        for r in range(runs):
            if div[r] < 0 and dv[r, 0] >= 0:
                div[r] = dv[r, 0] + off
                W[r] = np.nan  # a run that diverged before the onset stays diverged
        if stopped:
            break
    diverged, valid, tdiv = apply_divergence(out, rec, div, d)
    r = Trajectory(params=p, method="micro", tau=rec / d, eps=out["eps"], q=out["q"], m_psi=out["m"],
                   q_psi=out["qpsi"], valid=valid, diverged=diverged, tau_diverged=tdiv, eps_bound=eps_bound,
                   q_bound=q_bound, info=dict(d=d, seed=seed, onset_step=n1))
    if stopped:
        r.valid, r.info["interrupted"] = mark_unrecorded(valid, out["eps"]), True
        raise Interrupted(r)
    return r
