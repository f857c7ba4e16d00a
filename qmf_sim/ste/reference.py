"""Pure-numpy paths of the STE solvers, for maps without a compiled form (user callables).

The same algorithms as :mod:`qmf_sim.ste.micro` (spec §3) and :mod:`qmf_sim.ste.particles` (spec §4.3),
written with numpy arrays over the replicas / particles and a Python loop over the steps, calling
``psi.forward``, ``psi.surrogate`` and ``phi.forward`` of the :class:`qmf_sym.ste.maps.Map`.  Random
numbers: numpy Generators seeded from ``SeedSequence(seed, ...)`` (deterministic, but other draws than
the compiled kernels: results agree in law, not bit for bit).  Cost (measured, see
benchmarks/bench_ste.py): the step loop costs ~10-30 us of Python per step plus the numpy passes;
at d = 900 that is ~20-40x slower than the compiled micro kernel per replica.
"""
from __future__ import annotations

import math

import numpy as np

from qmf_sim.ste.rng import draw_init, draw_teacher, init_rng
from qmf_sim.ste.trajectory import Schedule, Trajectory, apply_divergence, mask_after


def _grad_step(p, w, ws, px, e_coef, psi_w):
    """w after one SGD step given the residual coefficient e_coef = eta e / sqrt(d) (per replica)."""
    m = p.weight_map()
    g = m.surrogate(w)
    ridge = g * psi_w if p.ridge == "psi" else w
    return w + e_coef[:, None] * px * g - (p.eta * p.lam / w.shape[1]) * ridge


def simulate_numpy(p, d, tau_max=None, runs=5, seed=0, tau=None, eps_bound=1e4, q_bound=1e8, snapshot_tau=()):
    """The d-dimensional online SGD of spec §3 in numpy (all replicas at once); onset supported."""
    from qmf_sym import _validate as V

    d = V.integer("d", d, 1)
    runs = V.integer("runs", runs, 1)
    if np.asarray(snapshot_tau, dtype=float).size:
        raise ValueError("snapshot_tau is not available on the pure-numpy path")
    sched = Schedule(tau, (), tau_max=tau_max if tau is None else None)
    from qmf_sim.ste.micro import check_memory, check_work

    check_work(d, runs, sched.tau[-1], 1, sched.name)
    rec = sched.steps(d)

    check_memory(d, 3 * runs, rec.size)  # numpy temporaries: x, phi(x), psi(w), the update (~3 more copies)
    WS = np.empty((runs, d))
    W = np.empty((runs, d))
    for r in range(runs):
        rng = init_rng(seed, (r,))
        WS[r] = draw_teacher(rng, p.teacher, d)
        W[r] = draw_init(rng, p.init, p.init_scale, d)
    rho = (WS**2).mean(1)
    gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2 << 20,)))
    n1 = int(round(p.onset * d))
    pre, post = p.before_onset(), p.after_onset()
    mom = {id(pre): pre.input_moments(), id(post): post.input_moments()}
    out = {k: np.full((runs, rec.size), np.nan) for k in ("eps", "q", "m", "qpsi")}
    alive = np.ones(runs, dtype=bool)
    div = np.full(runs, -1, dtype=np.int64)
    ir = 0
    sqd = math.sqrt(d)
    for t in range(int(rec[-1]) + 1):
        q = pre if t < n1 else post
        kappa, s2 = mom[id(q)]
        psi_w = q.weight_map().forward(W)
        mpsi = (WS * psi_w).mean(1)
        qpsi = (psi_w**2).mean(1)
        qlat = (W**2).mean(1)
        eps = 0.5 * (rho - 2 * kappa * mpsi + s2 * qpsi)
        bad = alive & ~((eps <= eps_bound) & (qlat <= q_bound))
        div[bad] = t
        alive &= ~bad
        if ir < rec.size and rec[ir] == t:
            for k, v in (("eps", eps), ("q", qlat), ("m", mpsi), ("qpsi", qpsi)):
                out[k][alive, ir] = v[alive]
            ir += 1
        if t == rec[-1] or not alive.any():
            break
        x = gen.standard_normal((runs, d))
        noise = gen.standard_normal(runs)
        px = q.input_map().forward(x)
        e = ((WS * x).sum(1) - (psi_w * px).sum(1)) / sqd + math.sqrt(q.sigma2) * noise
        Wn = _grad_step(q, W, WS, px, q.eta * e / sqd, psi_w)
        if q.T > 0:
            Wn += math.sqrt(2 * q.eta * q.T / d) * gen.standard_normal((runs, d))
        W = np.where(alive[:, None], Wn, W)
    diverged, valid, tdiv = apply_divergence(out, rec, div, d)
    return Trajectory(params=p, method="micro", tau=rec / d, eps=out["eps"], q=out["q"], m_psi=out["m"],
                      q_psi=out["qpsi"], valid=valid, diverged=diverged, tau_diverged=tdiv, eps_bound=eps_bound,
                      q_bound=q_bound, info=dict(d=d, seed=seed, path="numpy"))


def particles_numpy(p, tau, snap_rec, dts, rec_at, WP, WSP, seed, eps_bound, q_bound, keep):
    """Euler--Maruyama for the McKean--Vlasov SDE of spec §4.3 in numpy (any maps; onset supported)."""
    gen = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3 << 20,)))
    WP = WP.copy()
    rho = float((WSP**2).mean())
    t_grid = np.concatenate([[0.0], np.cumsum(dts)])
    pre, post = p.before_onset(), p.after_onset()
    mom = {id(pre): pre.input_moments(), id(post): post.input_moments()}
    out = [np.full(tau.size, np.nan) for _ in range(4)]
    n_snap = int(snap_rec.max()) + 1
    snaps = np.full((max(n_snap, 0), WP.size), np.nan)
    ir = 0
    div_step = -1
    for t in range(dts.size + 1):
        q = pre if t_grid[t] < p.onset - 1e-12 else post
        kappa, s2 = mom[id(q)]
        m = q.weight_map()
        ps = m.forward(WP)
        mpsi, qpsi, qlat = float((WSP * ps).mean()), float((ps * ps).mean()), float((WP * WP).mean())
        eps = 0.5 * (rho - 2 * kappa * mpsi + s2 * qpsi)
        while ir < rec_at.size and rec_at[ir] == t:
            out[0][ir], out[1][ir], out[2][ir], out[3][ir] = eps, mpsi, qpsi, qlat
            if snap_rec[ir] >= 0:
                snaps[snap_rec[ir]] = WP
            ir += 1
        if not (eps <= eps_bound and qlat <= q_bound):
            div_step = t
            break
        if t == dts.size:
            break
        dt = dts[t]
        g = m.surrogate(WP)
        ridge = g * ps if q.ridge == "psi" else WP
        B = g * g * (q.eta**2 * s2 * (2 * eps + q.sigma2)) + 2 * q.eta * q.T
        WP = (WP + (q.eta * g * (kappa * WSP - s2 * ps) - q.eta * q.lam * ridge) * dt
              + np.sqrt(B * dt) * gen.standard_normal(WP.size))
    valid = np.ones(tau.size, dtype=bool)
    tdiv = np.inf
    if div_step >= 0:
        tdiv = float(t_grid[div_step])
        valid = mask_after(out, rec_at, div_step)
    return Trajectory(params=p, method="particles", tau=tau, eps=out[0][None], m_psi=out[1][None],
                      q_psi=out[2][None], q=out[3][None], valid=valid[None], diverged=np.array([div_step >= 0]),
                      tau_diverged=np.array([tdiv]), eps_bound=eps_bound, q_bound=q_bound,
                      info=dict(seed=seed, n_particles=WP.size, dt=float(dts.max()) if dts.size else 0.0,
                                path="numpy"),
                      snapshot_tau=tau[snap_rec >= 0], snapshots=snaps[None] if n_snap > 0 else None,
                      w_star=WSP if keep else None)
