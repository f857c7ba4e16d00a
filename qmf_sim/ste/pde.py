"""Fokker--Planck solver of spec §4.3 for p_tau(w_hat | w*), the law of the McKean--Vlasov SDE.

Equation (Ito form): d_tau p = -d_w [A p] + 1/2 d_w^2 [B p], A = eta g (kappa w* - s2 psi) - eta lam w,
B = eta^2 g^2 s2 (2 eps_g + sigma^2) + 2 eta T, eps_g from p itself (nonlinear).

Scheme: finite volumes on [-L, L] with M cells of width h; donor-cell (upwind) drift flux and a central
diffusive flux, F_{i+1/2} = A_i^+ p_i + A_{i+1}^- p_{i+1} - (B_{i+1} p_{i+1} - B_i p_i) / (2h), zero flux at
the walls (mass conserved to rounding); explicit Euler in time.  Order: first order in h (the upwind
drift; measured in tests/ste/test_pde.py), first order in dt.  Stability limit (explicit Euler):
dt <= h / max|A| (CFL) and dt <= h^2 / max B (diffusion); the solver takes 0.4 of the smaller one, so
the cost grows like h^-2 once diffusion dominates.  psi, g are replaced by their cell averages.
Divergence: the one rule of :mod:`qmf_sim.ste.trajectory`, and the walls (the mass reaching the outer
cells means the solution has left the domain; ``info['stop']`` = 'walls' -- a larger L may hold a slowly
spreading but stable law; a diverging one reaches any wall, within seconds at the default grid).
"""
from __future__ import annotations

import math

import numpy as np

from qmf_sim.ste.interrupt import Interrupted, run_kernel
from qmf_sim.ste.params import as_params
from qmf_sim.ste.quantizer import quantize
from qmf_sim.ste.trajectory import EPS_BOUND, Q_BOUND, WALL_MASS, Schedule, Trajectory, check_bounds
from qmf_sym import _validate as V

#: most Gauss--Hermite nodes for a Gaussian teacher law (numpy's hermegauss loses accuracy far below this;
#: 24 nodes integrate the model's smooth moments to ~1e-12)
MAX_TEACHER_NODES = 1000


def teacher_nodes(law, n):
    """Teacher values and probabilities: exact for 'ones' / 'rademacher', Gauss--Hermite for 'gaussian'."""
    if law == "ones":
        return np.ones(1), np.ones(1)
    if law == "rademacher":
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def cell_averages(p, x, h, n_sub=64):
    """(1/h) int over each cell of psi, psi^2, g, g^2, g psi (midpoint rule with n_sub points per cell):
    exact to O(h/n_sub) in the cells cut by a threshold, exact elsewhere (smooth maps: O((h/n_sub)^2)).
    psi, g = the weight map's forward and surrogate (:meth:`STEParams.weight_map`; callables included)."""
    off = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    u = x[:, None] + h * off[None, :]
    m = p.weight_map()
    if m.kind == "identity":
        psi = u
        g = np.ones_like(u)
    else:
        if m.grid is not None:  # the uniform quantizers through the compiled lookup (as before)
            psi = quantize(u, *m.grid)
        else:
            psi = m.forward(u)
        g = np.asarray(m.surrogate(u), dtype=float)
    return psi.mean(1), (psi**2).mean(1), g.mean(1), (g**2).mean(1), (g * psi).mean(1)


def initial_density(p, edges, h):
    """Cell densities of mu_0 (the law of w_hat^0) on the cells with the given edges."""
    from scipy.special import ndtr

    M = edges.size - 1
    s = p.init_scale
    if p.init == "gaussian" and s > 0:
        p0 = np.diff(ndtr(edges / s)) / h
    elif p.init == "uniform" and s > 0:
        a = s * math.sqrt(3.0)
        p0 = np.clip(np.minimum(edges[1:], a) - np.maximum(edges[:-1], -a), 0, None) / (2 * a * h)
    else:
        pts = [0.0] if (p.init == "zeros" or s == 0) else [-s, s]
        p0 = np.zeros(M)
        for z in pts:
            p0[min(max(np.searchsorted(edges, z, side="right") - 1, 0), M - 1)] += 1.0 / (len(pts) * h)
    return p0 / (p0.sum() * h)


def memory_bytes(M, n_teacher, n_snap=0, n_sub=64):
    """Bytes :func:`solve_pde` allocates for M cells: the sub-cell samples of the cell averages (about six
    (M, n_sub) arrays), the densities and drifts per teacher node, and the snapshots (float64 each)."""
    return 8.0 * float(M) * (6 * n_sub + float(n_teacher) * (3 + n_snap))


def _segment_arrays(q, x, h, wst):
    """The kernel's arrays of one segment (parameters q): psi, psi^2 and g^2 cell averages, the drift A at
    the cells, max |A| and max g^2 (NaN ignored), kappa, s2."""
    psi_a, psi2_a, g_a, g2_a, gpsi_a = cell_averages(q, x, h)
    kappa, s2 = q.input_moments()
    ridge = gpsi_a[None, :] if q.ridge == "psi" else x[None, :]
    A = q.eta * (kappa * wst[:, None] * g_a[None, :] - s2 * gpsi_a[None, :]) - q.eta * q.lam * ridge
    amax, bsmax = (float(np.fmax.reduce(a, axis=None, initial=0.0)) for a in (np.abs(A), g2_a))
    return psi_a, psi2_a, g2_a, A, amax, bsmax, kappa, s2


def check_work(P, pw, wst, h, rho, tau, segs, arrays):
    """Refuse a solve of more than :data:`qmf_sim.ste.trajectory.MAX_WORK` cell updates (cells x teacher
    nodes x time steps; 1e13 is ~3.4 h at 1.2 ns per cell update) with a ValueError naming ``tau``, before
    it starts.  The steps are estimated from the step size at the start, dt = 0.4 min(h / max|A|, h^2 /
    max B) with eps_g of the initial density (as the kernel takes it), plus one per recording time;
    eps_g falls while a run learns, so the estimate is high, except for a run that diverges (it stops)."""
    from qmf_sim.ste.trajectory import check_work as check

    nT, M = P.shape
    steps = float(tau.size)
    for (q, idx, _), (psi_a, psi2_a, g2_a, A, amax, bsmax, kappa, s2) in zip(segs, arrays):
        eps0 = 0.5 * (rho - 2.0 * kappa * float(pw * wst @ (P @ psi_a)) * h + s2 * float(pw @ (P @ psi2_a)) * h)
        bmax = q.eta * q.eta * s2 * (2.0 * eps0 + q.sigma2) * bsmax + 2.0 * q.eta * q.T
        rate = max(amax / h if amax > 0 else 0.0, bmax / (h * h) if bmax > 0 else 0.0) / 0.4  # 1 / dt
        with np.errstate(over="ignore", invalid="ignore"):
            steps += float(tau[idx][-1] - tau[idx][0]) * rate
    return check(f"tau (up to {float(tau[-1]):g}, with h = {h:g}: {M} cells x {nT} teacher nodes)", steps * M * nT,
                 f"cell updates (~{steps:.3g} time steps of dt <= 0.4 min(h / max|A|, h^2 / max B))")


def solve_pde(params=None, tau=None, h=0.005, L=None, n_teacher=24, snapshot_tau=(), eps_bound=EPS_BOUND,
              q_bound=Q_BOUND, wall_mass=WALL_MASS, **kw) -> Trajectory:
    """Fokker--Planck equation of spec §4.3 for p_tau(w_hat | w*) on [-L, L] (default
    L = max(6, omega + 4, 4 init_scale) so the start and the whole quantizer range fit), cell width h.
    Continuous teacher laws are discretised (Gauss--Hermite, ``n_teacher`` nodes).  eps_g is recomputed
    from the densities before every step.  ``snapshot_tau``: keep the densities at those times.  More than
    an estimated 1e13 cell updates (~3.4 h; :func:`check_work`) is refused with a ValueError naming
    ``tau``; Ctrl-C raises :class:`~qmf_sim.ste.interrupt.Interrupted` with the records made so far."""
    p = as_params(params, **kw)
    V.positive("h", h)
    n_teacher = V.integer("n_teacher", n_teacher, 1, MAX_TEACHER_NODES)
    eps_bound, q_bound = check_bounds(eps_bound, q_bound)
    V.in_closed("wall_mass", wall_mass, 0.0, 1.0)
    sched = Schedule(tau, snapshot_tau)
    if L is None:
        reach = p.weight_map().clip if p.psi is not None else (p.omega if p.b is not None else 0.0)
        L = max(6.0, (reach if np.isfinite(reach) else 0.0) + 4.0, 4.0 * p.init_scale)
    V.positive("L", L)
    M = int(round(2 * L / h))
    if M < 8:
        raise ValueError(f"h must be <= L/4, got h={h}, L={L}")
    from qmf_sym._validate import check_bytes

    n_nodes = n_teacher if p.teacher == "gaussian" else 2  # only the Gaussian teacher law uses the nodes
    check_bytes(f"h = {h} (M = 2 L / h = {M} cells, {n_nodes} teacher nodes)",
                memory_bytes(M, n_nodes, sched.snapshot_tau.size), "float64 cell arrays")
    h = 2 * L / M
    edges = np.linspace(-L, L, M + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    wst, pw = teacher_nodes(p.teacher, n_teacher)
    P = np.tile(initial_density(p, edges, h), (len(wst), 1))
    tau, snap_rec = sched.with_snapshots()
    extra = None
    if 0 < p.onset < tau[-1] and p.onset not in tau:  # the clock must stop at the onset
        extra = p.onset
        tau = np.unique(np.concatenate([tau, [extra]]))
        snap_rec = np.insert(snap_rec, int(np.searchsorted(tau, extra)), -1)
    out = [np.full(tau.size, np.nan) for _ in range(4)]
    out_snap = np.full((sched.snapshot_tau.size, len(wst), M), np.nan)
    status = np.zeros(2, dtype=np.int64)
    tau_div = np.full(1, np.inf)
    rho = float((pw * wst**2).sum())
    wall_cells = max(4, int(round(0.25 / h)))  # the outer 0.25 of the domain (at least 4 cells)
    from qmf_sim.ste import _kernels as K

    # quantization onset (spec §8 item 6): the unquantized equation up to tau = onset, then the quantized one
    if p.onset > tau[-1]:
        segs = [(p.before_onset(), np.arange(tau.size), 0.0)]
    elif p.onset > 0:
        k = int(np.searchsorted(tau, p.onset))
        segs = [(p.before_onset(), np.arange(k + 1), 0.0), (p.after_onset(), np.arange(k, tau.size), p.onset)]
    else:
        segs = [(p, np.arange(tau.size), 0.0)]
    arrays = [_segment_arrays(q, x, h, wst) for q, _, _ in segs]
    check_work(P, pw, wst, h, rho, tau, segs, arrays)
    steps, stopped = 0, False
    for (q, idx, t_off), (psi_a, psi2_a, g2_a, A, amax, bsmax, kappa, s2) in zip(segs, arrays):
        o = [np.full(idx.size, np.nan) for _ in range(4)]
        st = np.zeros(2, dtype=np.int64)
        td = np.full(1, np.inf)
        stopped = run_kernel(K.pde, P, wst, pw, A, g2_a, amax, bsmax, psi_a, psi2_a, x, h, q.eta, s2, kappa, q.sigma2,
                             q.T, rho, np.ascontiguousarray(tau[idx] - t_off), np.ascontiguousarray(snap_rec[idx]),
                             eps_bound, q_bound, wall_cells, float(wall_mass), *o, out_snap, st, td)
        for j in range(4):
            out[j][idx] = o[j]
        steps += int(st[1])
        if st[0]:
            status[:] = (st[0], steps)
            tau_div[0] = td[0] + t_off
            break
        if stopped:
            break
    if extra is not None:
        k = int(np.searchsorted(tau, extra))
        tau = np.delete(tau, k)
        out = [np.delete(a, k) for a in out]
    valid = np.isfinite(out[0])
    r = Trajectory(params=p, method="pde", tau=tau, eps=out[0][None], m_psi=out[1][None], q_psi=out[2][None],
                   q=out[3][None], valid=valid[None], diverged=np.array([bool(status[0])]),
                   tau_diverged=tau_div.copy(), eps_bound=eps_bound, q_bound=q_bound,
                   info=dict(h=h, L=float(L), steps=steps, weights=pw, wall_mass=float(wall_mass),
                             stop=(None, "bounds", "walls")[int(status[0])], **({"interrupted": True} if stopped else {})),
                   snapshot_tau=sched.snapshot_tau, density=out_snap, w_star=wst, x=x)
    if stopped:
        raise Interrupted(r)
    return r
