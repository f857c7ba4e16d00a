"""McKean--Vlasov particle solver of spec §4.3.

Scheme: Euler--Maruyama for the Ito SDE (the noise coefficient depends on w_hat only through
g(w_hat), and the Ito and Stratonovich readings agree where g is constant; at ``|w_hat| = omega`` the
clipped STE switches it off)::

    dw = [eta g(w) (kappa w* - s2 psi(w)) - eta lam w] dt + sqrt(eta^2 g(w)^2 s2 (2 eps_g + sigma^2) + 2 eta T) dB,

with eps_g = 1/2 (rho - 2 kappa E[w* psi] + s2 E[psi^2]) recomputed from the N particles before every
step (explicit in the mean field).  Order: weak order 1 in dt for smooth coefficients; psi and g jump,
so the measured order of eps_g in dt is about 1 where the density at the jumps is smooth (tested in
tests/ste/test_particles.py).  Statistical error O(N^-1/2).  Stability: explicit, the drift's linear
part needs dt eta (s2 + lam) < 2 (a fraction of that for accuracy; dt <= 0.05 for eta <= 0.05 is the
spec's choice); a run that leaves the bounds is reported by the one divergence rule.
"""
from __future__ import annotations

import numpy as np

from qmf_sim.ste.interrupt import Interrupted, mark_unrecorded, run_kernel
from qmf_sim.ste.params import as_params
from qmf_sim.ste.quantizer import map_tables
from qmf_sim.ste.rng import check_seed, draw_init, draw_teacher, init_rng, stream_state
from qmf_sim.ste.trajectory import EPS_BOUND, Q_BOUND, Schedule, Trajectory, check_bounds, mask_after
from qmf_sym import _validate as V


def memory_bytes(n_particles, n_snap=0):
    """Bytes :func:`solve_particles` allocates: teacher and latent values of the particles, the kernel's
    psi and noise buffers, and the snapshots (float64 each)."""
    return 8.0 * float(n_particles) * (4 + n_snap)


def check_memory(n_particles, n_snap=0, flag=None, name=None):
    """ValueError naming ``n_particles`` (or the CLI's ``flag``, or ``name``) when :func:`memory_bytes`
    exceeds the budget of :func:`qmf_sym._validate.memory_budget`."""
    from qmf_sym._validate import check_bytes

    if name is None:
        name = f"n_particles = {n_particles}" if flag is None else f"argument {flag}: {flag} {n_particles}"
    return check_bytes(name, memory_bytes(n_particles, n_snap), "float64 particles")


def check_work(n_particles, tau, dt, N=None):
    """Refuse a solve of more than :data:`qmf_sim.ste.trajectory.MAX_WORK` particle steps (N particles,
    ``n_particles`` rounded up to whole chunks, x the Euler steps of at most ``dt`` landing on the ``tau``
    grid; 1e13 is ~8 h at 2.9 ns per particle step) with a ValueError naming ``tau``, before the step list
    is built."""
    from qmf_sim.ste.trajectory import check_work as check

    with np.errstate(over="ignore", invalid="ignore"):
        steps = float(np.maximum(1.0, np.ceil(np.diff(tau) / dt - 1e-9)).sum())  # as Schedule.euler counts
    return check(f"tau (up to {float(tau[-1]):g}, with n_particles = {n_particles}, dt = {dt:g})",
                 float(N or n_particles) * steps, f"particle steps ({steps:.3g} Euler steps of {N or n_particles} particles)")


def solve_particles(params=None, tau=None, n_particles=100_000, dt=0.02, seed=0, n_chunks=64,
                    eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep=False, snapshot_tau=(), **kw) -> Trajectory:
    """Euler--Maruyama for the McKean--Vlasov SDE of spec §4.3 with ``n_particles`` pairs (w*, w_hat)
    drawn from mu_0, step <= ``dt`` (steps land exactly on the ``tau`` grid), eps_g recomputed from the
    particles before every step.  Deterministic given ``seed`` (streams per chunk, not per thread).
    ``keep``: return the final particles (``w_star``, and ``snapshots`` at the last time).  More than 1e13
    particle steps (~8 h; :func:`check_work`) is refused with a ValueError naming ``tau``; Ctrl-C raises
    :class:`~qmf_sim.ste.interrupt.Interrupted` with the records made so far."""
    p = as_params(params, **kw)
    n_particles = V.integer("n_particles", n_particles, 1)
    n_chunks = V.integer("n_chunks", n_chunks, 1)
    V.positive("dt", dt)
    keep = V.flag("keep", keep)
    seed = check_seed(seed)
    eps_bound, q_bound = check_bounds(eps_bound, q_bound)
    sched = Schedule(tau, snapshot_tau)
    extra = None
    if 0 < p.onset < sched.tau[-1] and p.onset not in sched.tau:  # the Euler grid must land on the onset
        extra = p.onset
        sched = Schedule(np.concatenate([sched.tau, [p.onset]]), snapshot_tau)
    tau, snap_rec = sched.with_snapshots()
    if keep and snap_rec[-1] < 0:  # the final particles as one more snapshot
        snap_rec[-1] = snap_rec.max() + 1 if snap_rec.max() >= 0 else 0
    N = -(-n_particles // n_chunks) * n_chunks  # rounded up to whole chunks
    check_memory(N, int(snap_rec.max()) + 1, name=f"n_particles = {n_particles}" + (
        f" in n_chunks = {n_chunks} (N = {N})" if N > n_particles else ""))  # a size that cannot fit: first
    check_work(n_particles, tau, dt, N)
    dts, rec_at = sched.euler(dt, tau)
    n = -(-n_particles // n_chunks)
    N = n * n_chunks
    rng = init_rng(seed, (0,))
    WSP = draw_teacher(rng, p.teacher, N).reshape(n_chunks, n)
    WP = draw_init(rng, p.init, p.init_scale, N).reshape(n_chunks, n)
    states = np.stack([stream_state(seed, (1, c)) for c in range(n_chunks)])
    if not p.compiled:
        from qmf_sim.ste.reference import particles_numpy

        r = particles_numpy(p, tau, snap_rec, dts, rec_at, WP.reshape(-1), WSP.reshape(-1), seed,
                            eps_bound, q_bound, keep)
        if extra is not None:  # drop the onset time added to the grid
            k = int(np.searchsorted(tau, extra))
            r.tau = np.delete(r.tau, k)
            for nm in ("eps", "m_psi", "q_psi", "q", "valid"):
                setattr(r, nm, np.delete(getattr(r, nm), k, axis=1))
        return r
    rho = float((WSP**2).mean())
    nr = tau.size
    out = [np.full(nr, np.nan) for _ in range(4)]
    n_snap = int(snap_rec.max()) + 1
    out_snap = np.full((max(n_snap, 0), N), np.nan)
    status = np.zeros(2, dtype=np.int64)
    from qmf_sim.ste import _kernels as K

    # quantization onset (spec §8 item 6): the unquantized dynamics on the steps before it, then the
    # quantized one from the same particles and streams (the Euler grid lands on tau = onset)
    n_on = int(rec_at[np.searchsorted(tau, p.onset)]) if 0 < p.onset <= tau[-1] else (dts.size if p.onset > 0 else 0)
    if p.onset > tau[-1]:
        segs = [(p.before_onset(), 0, dts.size)]
    elif n_on > 0:
        segs = [(p.before_onset(), 0, n_on), (p.after_onset(), n_on, dts.size)]
    else:
        segs = [(p.after_onset(), 0, dts.size)]
    stopped = False
    for q, a, b in segs:
        if status[0] or stopped:
            break
        lev, thr, meta = map_tables([q.weight_map()], [q.ridge == "psi"])
        kappa, s2 = q.input_moments()
        idx = np.nonzero((rec_at >= a) & (rec_at <= b))[0]  # the onset state: recorded by both, the second wins
        o = [np.full(idx.size, np.nan) for _ in range(4)]
        st = np.zeros(2, dtype=np.int64)
        stopped = run_kernel(K.particles, states, WP, WSP, lev[0], thr[0], meta[0], bool(np.isfinite(meta[0, 4])),
                             float(meta[0, 4]), kappa, s2, q.eta, q.lam, q.sigma2, q.T, rho,
                             np.ascontiguousarray(dts[a:b]), np.ascontiguousarray(rec_at[idx] - a),
                             np.ascontiguousarray(snap_rec[idx]), eps_bound, q_bound, *o, out_snap, st)
        for k in range(4):
            out[k][idx] = o[k]
        if st[0]:
            status[:] = (st[0], st[1] + a)
    valid = np.ones(nr, dtype=bool)
    tdiv = np.inf
    if status[0]:
        step = int(status[1])
        tdiv = float(np.concatenate([[0.0], np.cumsum(dts)])[step])
        valid = mask_after(out, rec_at, step)
        out_snap[snap_rec[~valid & (snap_rec >= 0)]] = np.nan
    if stopped:
        valid = mark_unrecorded(valid, out[0])
    if extra is not None:  # drop the onset time added to the grid
        k = int(np.searchsorted(tau, extra))
        tau, snap_rec = np.delete(tau, k), np.delete(snap_rec, k)
        out, valid = [np.delete(a, k) for a in out], np.delete(valid, k)
    r = Trajectory(params=p, method="particles", tau=tau, eps=out[0][None], m_psi=out[1][None],
                   q_psi=out[2][None], q=out[3][None], valid=valid[None], diverged=np.array([bool(status[0])]),
                   tau_diverged=np.array([tdiv]), eps_bound=eps_bound, q_bound=q_bound,
                   info=dict(seed=seed, n_particles=N, dt=float(dt), **({"interrupted": True} if stopped else {})),
                   snapshot_tau=tau[snap_rec >= 0], snapshots=out_snap[None] if n_snap > 0 else None,
                   w_star=WSP.reshape(-1) if keep else None)
    if stopped:
        raise Interrupted(r)
    return r
