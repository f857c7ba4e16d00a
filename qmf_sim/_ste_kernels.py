"""Numba kernels of :mod:`qmf_sim.ste_dynamics` (imported lazily by ``ste_dynamics._kernels()``, so that
numba is loaded only when a simulation runs).  Module-level functions, so that ``cache=True`` works
across processes: as closures inside a function their cache key held the pickled closure cells
(dispatcher objects with a per-process id), the on-disk cache never hit, and every process paid
about 10 s of compilation.  See ste_dynamics' docstrings for the algorithms.
"""
import math

import numpy as np
from numba import njit, prange

from qmf_sim._ste_passes import rpass, wpass, xpass
from qmf_sim.ste_dynamics import _ZIG_FI, _ZIG_KI, _ZIG_R, _ZIG_WI

KI, WI, FI = _ZIG_KI, _ZIG_WI, _ZIG_FI
ZR = float(_ZIG_R)
INV_ZR = 1.0 / ZR
M8 = np.uint64(255)
U1 = np.uint64(1)
S8, S9, S11, S12 = np.uint64(8), np.uint64(9), np.uint64(11), np.uint64(12)
S17, S45, S23, S41 = np.uint64(17), np.uint64(45), np.uint64(23), np.uint64(41)
TWO53I = 1.0 / 9007199254740992.0
jit = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")


@njit(inline="always", **jit)
def nxt(s0, s1, s2, s3):
    # xoshiro256++ (Blackman & Vigna 2019)
    t0 = s0 + s3
    res = ((t0 << S23) | (t0 >> S41)) + s0
    t = s1 << S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << S45) | (s3 >> np.uint64(19))
    return res, s0, s1, s2, s3


@njit(**jit)
def _normal_slow(u, idx, xx, s0, s1, s2, s3):
    # the rare branches of the ziggurat (about 1.2% of draws)
    while True:
        if idx == 0:
            # tail beyond r (Marsaglia 1964)
            while True:
                a, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
                c, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
                e1 = -math.log(1.0 - float(a >> S11) * TWO53I) * INV_ZR
                e2 = -math.log(1.0 - float(c >> S11) * TWO53I)
                if e2 + e2 > e1 * e1:
                    z = ZR + e1
                    return (-z if (u >> S8) & U1 else z), s0, s1, s2, s3
        a, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
        if FI[idx] + float(a >> S11) * TWO53I * (FI[idx + 1] - FI[idx]) < math.exp(-0.5 * xx * xx):
            return xx, s0, s1, s2, s3
        # rejected: draw afresh
        u, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
        idx = u & M8
        rabs = u >> S12
        xx = float(rabs) * WI[idx]
        if (u >> S8) & U1:
            xx = -xx
        if rabs < KI[idx]:
            return xx, s0, s1, s2, s3


@njit(inline="always", **jit)
def normal(s0, s1, s2, s3):
    u, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
    idx = u & M8
    rabs = u >> S12
    xx = float(rabs) * WI[idx]
    if (u >> S8) & U1:
        xx = -xx
    if rabs < KI[idx]:
        return xx, s0, s1, s2, s3
    return _normal_slow(u, idx, xx, s0, s1, s2, s3)


# ---------------------------------------------------------------- normals alone (benchmark)
@njit(parallel=True, **jit)
def draw_normals(states, n):
    R = states.shape[0]
    out = np.zeros(R)
    for r in prange(R):
        s0, s1, s2, s3 = states[r, 0], states[r, 1], states[r, 2], states[r, 3]
        acc = 0.0
        for _ in range(n):
            z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
            acc += z
        out[r] = acc
    return out


@njit(**jit)
def fill_normals(state, out):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for i in range(out.shape[0]):
        out[i], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@njit(parallel=True, **jit)
def draw_normals_numba(R, n):
    out = np.zeros(R)
    for r in prange(R):
        acc = 0.0
        for _ in range(n):
            acc += np.random.standard_normal()
        out[r] = acc
    return out


# ---------------------------------------------------------------- d-dimensional SGD (spec §3)
@njit(inline="always", **jit)
def qtab(u, cut, lh, start, inv, nb1):
    # psi(u) = lev[#{thr <= u}] (right-continuous, as qmf_sym.ste.quantize) through a bucket table (at most one threshold per bucket): branchless
    k = int(min(max((u - start) * inv, 0.0), nb1))
    return lh[np.int64(u >= cut[k]), k]  # exact level, selected by address arithmetic


@njit(inline="always", **jit)
def slot_pass(w, ws, px, X, d, coef, decay, tnoise, quant_w, clip, om, wcut, wlh, wst, winv, wnb1,
              quant_x, xcut, xlh, xst, xinv, xnb1, s0, s1, s2_, s3):
    """Finish the previous step for one replica (w += coef px g(w) - decay w (+ Langevin)), quantize,
    take the new input X: returns the accumulators of the new residual and of eps_g."""
    ay = 0.0
    ayh = 0.0
    am = 0.0
    aq = 0.0
    aqq = 0.0
    for i in range(d):
        wi = w[i]
        gi = coef * px[i]
        # (a branch: measured faster here than a branchless 0/1 mask, 0.50 vs 0.29 of the draw rate)
        if clip and (wi > om or wi < -om):
            gi = 0.0
        wi = wi + gi - decay * wi
        if tnoise > 0.0:
            zt, s0, s1, s2_, s3 = normal(s0, s1, s2_, s3)
            wi += tnoise * zt
        w[i] = wi
        if quant_w:
            ps = qtab(wi, wcut, wlh, wst, winv, wnb1)
        else:
            ps = wi
        xi = X[i]
        if quant_x:
            pxi = qtab(xi, xcut, xlh, xst, xinv, xnb1)
        else:
            pxi = xi
        px[i] = pxi
        wsi = ws[i]
        am += wsi * ps
        aq += ps * ps
        aqq += wi * wi
        ay += wsi * xi
        ayh += ps * pxi
    return ay, ayh, am, aq, aqq, s0, s1, s2_, s3


@njit(parallel=True, **jit)
def micro(states, W, WS, slot_cfg, wtab, wmeta, xtab, xmeta, wgl, wgt, wgm, xgl, xgt, xgm, clip, omega,
          eta, lam, sig, temp, kappa, s2, rho_emp, rec_steps, snap_steps, eps_bound, q_bound,
          out_eps, out_q, out_m, out_qpsi, out_snap, div_step):
    """W, WS: (n_groups, G, d) latent and teacher weights; slot_cfg: (n_groups, G) config index;
    the slots of a group share one stream of inputs.  Each step: draw x (d normals) and the label
    noise, then one fused pass per slot (previous update, quantize, new residual, order parameters).
    wtab/xtab: (C, 3, nb) bucket tables (cut, lo, hi); wmeta/xmeta: (C, 4) = (on, start, inv, nb-1)
    (the scalar pass, used only for slots with T > 0).  wgl/wgt (C, n): padded levels/thresholds and
    wgm (C, 5) = (code, t0, inv, top, clip bound) of the vectorised passes of _ste_passes (T = 0)."""
    n_groups, G, d = W.shape
    n_steps = rec_steps[-1]
    sqd = math.sqrt(d)
    n_rec = rec_steps.shape[0]
    n_snap = snap_steps.shape[0]
    wcut = np.ascontiguousarray(wtab[:, 0, :])
    wlh = np.ascontiguousarray(wtab[:, 1:, :])
    xcut = np.ascontiguousarray(xtab[:, 0, :])
    xlh = np.ascontiguousarray(xtab[:, 1:, :])
    for g in prange(n_groups):
        s0, s1, s2_, s3 = states[g, 0], states[g, 1], states[g, 2], states[g, 3]
        X = np.zeros(d)
        PS = np.zeros(d)
        PX = np.zeros((G, d))
        coef = np.zeros(G)  # eta e / sqrt(d) of the previous step
        decay = np.zeros(G)
        tnoise = np.zeros(G)
        active = np.ones(G, dtype=np.bool_)
        ir = 0
        isn = 0
        n_active = G
        for t in range(n_steps + 1):
            last = t == n_steps
            if not last:
                for i in range(d):
                    X[i], s0, s1, s2_, s3 = normal(s0, s1, s2_, s3)
                # label noise of the new sample (always drawn: streams do not depend on sigma2)
                epsn, s0, s1, s2_, s3 = normal(s0, s1, s2_, s3)
            else:
                epsn = 0.0
            rec_now = ir < n_rec and rec_steps[ir] == t
            snap_now = isn < n_snap and snap_steps[isn] == t
            for j in range(G):
                if not active[j]:
                    continue
                c = slot_cfg[g, j]
                if tnoise[j] == 0.0:
                    # vectorised passes: update + psi(w), phi(x), then the five sums
                    wpass(np.int64(wgm[c, 0]), W[g, j], PX[j], PS, d, coef[j], decay[j], wgm[c, 4],
                          wgl[c], wgt[c], wgm[c, 1], wgm[c, 2], wgm[c, 3])
                    xpass(np.int64(xgm[c, 0]), X, PX[j], d, xgl[c], xgt[c], xgm[c, 1], xgm[c, 2], xgm[c, 3])
                    ay, ayh, am, aq, aqq = rpass(W[g, j], WS[g, j], PS, PX[j], X, d)
                else:  # Langevin noise drawn inside the pass (scalar)
                    ay, ayh, am, aq, aqq, s0, s1, s2_, s3 = slot_pass(
                        W[g, j], WS[g, j], PX[j], X, d, coef[j], decay[j], tnoise[j],
                        wmeta[c, 0] > 0.0, clip[c], omega[c], wcut[c], wlh[c],
                        wmeta[c, 1], wmeta[c, 2], wmeta[c, 3],
                        xmeta[c, 0] > 0.0, xcut[c], xlh[c], xmeta[c, 1], xmeta[c, 2],
                        xmeta[c, 3], s0, s1, s2_, s3)
                mpsi = am / d
                qpsi = aq / d
                qlat = aqq / d
                eps = 0.5 * (rho_emp[g, j] - 2.0 * kappa[c] * mpsi + s2[c] * qpsi)
                if rec_now:
                    out_eps[g, j, ir] = eps
                    out_q[g, j, ir] = qlat
                    out_m[g, j, ir] = mpsi
                    out_qpsi[g, j, ir] = qpsi
                if snap_now:
                    for i in range(d):
                        out_snap[g, j, isn, i] = W[g, j, i]
                if not (eps <= eps_bound and qlat <= q_bound):
                    active[j] = False
                    n_active -= 1
                    div_step[g, j] = t
                    continue
                e = (ay - ayh) / sqd + sig[c] * epsn
                coef[j] = eta[c] * e / sqd
                decay[j] = eta[c] * lam[c] / d
                tnoise[j] = math.sqrt(2.0 * eta[c] * temp[c] / d)
            if rec_now:
                ir += 1
            if snap_now:
                isn += 1
            if n_active == 0:
                break
        states[g, 0], states[g, 1], states[g, 2], states[g, 3] = s0, s1, s2_, s3


# ---------------------------------------------------------------- McKean-Vlasov particles (§4.3)
@njit(**jit)
def particles(states, WP, WSP, tab, meta, clip, omega, kappa, s2, eta, lam, sig2, temp, rho,
              dts, rec_at, eps_bound, q_bound, out_eps, out_m, out_q, out_qlat, status):
    """WP, WSP: (n_chunks, n) particles; chunk c uses stream states[c].  Euler--Maruyama with
    eps_g recomputed from all particles before every step; status = [diverged, step].  Serial on
    purpose: the global eps_g couples all particles at every step, and a per-step thread barrier
    costs more than it gains on a loaded machine (run independent solves in parallel instead)."""
    K = meta[0] > 0.0
    cut, lh = tab[0], tab[1:]
    st0, inv, nb1 = meta[1], meta[2], meta[3]
    C, n = WP.shape
    N = C * n
    am = np.zeros(C)
    aq = np.zeros(C)
    aqq = np.zeros(C)
    for c in range(C):
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for i in range(n):
            w = WP[c, i]
            ps = qtab(w, cut, lh, st0, inv, nb1) if K else w
            a1 += WSP[c, i] * ps
            a2 += ps * ps
            a3 += w * w
        am[c] = a1
        aq[c] = a2
        aqq[c] = a3
    n_steps = dts.shape[0]
    ir = 0
    for t in range(n_steps + 1):
        mpsi = 0.0
        qpsi = 0.0
        qlat = 0.0
        for c in range(C):
            mpsi += am[c]
            qpsi += aq[c]
            qlat += aqq[c]
        mpsi /= N
        qpsi /= N
        qlat /= N
        eps = 0.5 * (rho - 2.0 * kappa * mpsi + s2 * qpsi)
        while ir < rec_at.shape[0] and rec_at[ir] == t:
            out_eps[ir] = eps
            out_m[ir] = mpsi
            out_q[ir] = qpsi
            out_qlat[ir] = qlat
            ir += 1
        if not (eps <= eps_bound and qlat <= q_bound):
            status[0] = 1
            status[1] = t
            return
        if t == n_steps:
            break
        dt = dts[t]
        b_in = eta * eta * s2 * (2.0 * eps + sig2) + 2.0 * eta * temp
        sd_in = math.sqrt(b_in * dt)
        sd_out = math.sqrt(2.0 * eta * temp * dt)
        for c in range(C):
            s0, s1, s2_, s3 = states[c, 0], states[c, 1], states[c, 2], states[c, 3]
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for i in range(n):
                w = WP[c, i]
                ws = WSP[c, i]
                z, s0, s1, s2_, s3 = normal(s0, s1, s2_, s3)
                if K:
                    ps = qtab(w, cut, lh, st0, inv, nb1)
                    if clip and (w > omega or w < -omega):
                        w = w + (-eta * lam * w) * dt + sd_out * z
                    else:
                        w = w + (eta * (kappa * ws - s2 * ps) - eta * lam * w) * dt + sd_in * z
                    ps = qtab(w, cut, lh, st0, inv, nb1)
                else:
                    w = w + (eta * (kappa * ws - s2 * w) - eta * lam * w) * dt + sd_in * z
                    ps = w
                WP[c, i] = w
                a1 += ws * ps
                a2 += ps * ps
                a3 += w * w
            am[c] = a1
            aq[c] = a2
            aqq[c] = a3
            states[c, 0], states[c, 1], states[c, 2], states[c, 3] = s0, s1, s2_, s3


# ---------------------------------------------------------------- Fokker-Planck (§4.3)
@njit(**jit)
def pde(P, wst, pw, A, Bshape, psi_avg, psi2_avg, h, eta, s2, kappa, sig2, temp, rho, rec_tau,
        snap_rec, eps_bound, out_eps, out_m, out_q, out_snap, status):
    """P: (nT, M) cell densities, one per teacher value wst[j] with weight pw[j]; A: (nT, M) drift at
    the cells; B_i = eta^2 s2 (2 eps + sig2) Bshape_i + 2 eta T.  Upwind (donor-cell) drift flux
    F = A_i^+ p_i + A_{i+1}^- p_{i+1} - (B_{i+1} p_{i+1} - B_i p_i)/(2h), zero flux at the walls,
    explicit Euler with dt = 0.4 min(h / max|A|, h^2 / max B)."""
    nT, M = P.shape
    amax = 0.0
    for j in range(nT):
        for i in range(M):
            if abs(A[j, i]) > amax:
                amax = abs(A[j, i])
    bsmax = 0.0
    for i in range(M):
        if Bshape[i] > bsmax:
            bsmax = Bshape[i]
    B = np.zeros(M)
    F = np.zeros(M + 1)
    tau = 0.0
    ir = 0
    isn = 0
    n_rec = rec_tau.shape[0]
    steps = 0
    while True:
        mpsi = 0.0
        qpsi = 0.0
        for j in range(nT):
            a1 = 0.0
            a2 = 0.0
            for i in range(M):
                a1 += psi_avg[i] * P[j, i]
                a2 += psi2_avg[i] * P[j, i]
            mpsi += pw[j] * wst[j] * a1 * h
            qpsi += pw[j] * a2 * h
        eps = 0.5 * (rho - 2.0 * kappa * mpsi + s2 * qpsi)
        if ir < n_rec and tau >= rec_tau[ir] - 1e-12:
            out_eps[ir] = eps
            out_m[ir] = mpsi
            out_q[ir] = qpsi
            if snap_rec[ir] >= 0:
                for j in range(nT):
                    for i in range(M):
                        out_snap[snap_rec[ir], j, i] = P[j, i]
            ir += 1
        if not (eps <= eps_bound):
            status[0] = 1
            return tau, steps
        if ir >= n_rec:
            return tau, steps
        bc = eta * eta * s2 * (2.0 * eps + sig2)
        bt = 2.0 * eta * temp
        bmax = bc * bsmax + bt
        dt = 1e300
        if amax > 0.0:
            dt = 0.4 * h / amax
        if bmax > 0.0:
            dt = min(dt, 0.4 * h * h / bmax)
        if tau + dt >= rec_tau[ir]:
            dt = rec_tau[ir] - tau
            tau = rec_tau[ir]
        else:
            tau += dt
        for i in range(M):
            B[i] = bc * Bshape[i] + bt
        r = dt / h
        for j in range(nT):
            F[0] = 0.0
            F[M] = 0.0
            for i in range(M - 1):
                ai = A[j, i]
                an = A[j, i + 1]
                f = 0.0
                if ai > 0.0:
                    f += ai * P[j, i]
                if an < 0.0:
                    f += an * P[j, i + 1]
                f -= 0.5 * (B[i + 1] * P[j, i + 1] - B[i] * P[j, i]) / h
                F[i + 1] = f
            for i in range(M):
                P[j, i] -= r * (F[i + 1] - F[i])
        steps += 1

