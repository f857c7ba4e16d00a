"""Stochastic rounding (SR) staircases: the mean-field maps, chi, and the best chi over sigma_w.

Paper 1 (Blumenfeld, Gilboa & Soudry 2019), sec. 4.1 and its Appendix D ("stochastic rounding can
only further decrease the signal propagation depth scale").  The appendix is not in our text; the
model is the one of issue 9, derivation in derivations/stochastic_rounding.md:

    Given the N levels l_0 < ... < l_{N-1} of a staircase (eq. 13), the pre-activation u is clipped
    to [l_0, l_{N-1}], c = clip(u), and with l_k <= c <= l_{k+1} rounded up to l_{k+1} with
    probability (c - l_k) / (l_{k+1} - l_k), else down to l_k; so E[phi | u] = clip(u).  The rounding
    noise is independent across neurons and across inputs.

Only the levels enter (the thresholds of the deterministic staircase do not).  For the uniform
family of sec. 5 (levels -1..1, thresholds at the midpoints) SR and the deterministic staircase
round the same grid: nearest versus stochastic.

Closed forms (u ~ N(0, Q); (u1, u2) ~ N(0, Q [[1, C], [C, 1]]); z = u / sqrt(Q); a, b = the
normalised ends l_0 / sqrt(Q), l_{N-1} / sqrt(Q)):

* E[phi^2 | u] = l_k^2 + (l_k + l_{k+1}) (c - l_k) ... = c^2 + (c - l_k)(l_{k+1} - c): the second
  moment is E clip(u)^2 plus the rounding noise  E v,  v(c) = (c - l_k)(l_{k+1} - c)   (eq. D.1);
* distinct inputs, independent noise: E phi(u1) phi(u2) = E clip(u1) clip(u2), a clipped-linear
  Gaussian expectation in closed form (Phi_2, Phi, n; eq. D.2);
* Price's theorem: chi = dM/dC = sigma_w^2 P(a < z1 < b, a < z2 < b)   (eq. D.3: the rectangle
  probability; with range [-1, 1] it is sigma_w^2 E[g(u1) g(u2)] of the clipped STE of eq. 19);
* sigma_b = 0, symmetric levels (C* = 0):  chi = P(a < z < b)^2 / E phi_z^2 = corr(z, phi)^2 (Stein),
  so 1 - chi = min_alpha E(z - alpha phi)^2 (eq. D.4), as for the deterministic staircase.

The correlation map jumps at C = 1: for two *distinct* inputs M(1-) = sigma_w^2 E clip^2 / Q* < 1,
so C* < 1 for every sigma_w, sigma_b (the noise decorrelates even identical inputs).  ``C = 1`` is
taken as that limit from below (two distinct inputs at correlation -> 1).

Faces: ``dps=None`` float64 (vectorised over Q, C), ``dps=k`` mpmath (the same closed forms at
guard precision; the rounding-noise sum with extra digits for narrow cells), and an oracle by
one-dimensional quadrature of the conditional expectation (an independent route).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validate as V
from . import gaussian as G
from ._faces import ClosedForm, register_equation
from .activations import Staircase, as_staircase

__all__ = ["sr_moments", "sr_covariance", "sr_chi", "variance_map", "correlation_map", "chi",
           "fixed_point", "chi_at_zero", "chi_deficit_at_zero", "SROptimum", "optimal_sr",
           "ratio_asymptotic"]

# Gauss-Legendre nodes on [0, 1] for the rounding noise of narrow cells (float64 face)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_X, _GL_W = (_GL_X + 1) / 2, _GL_W / 2
_NARROW = 0.5  # cells narrower than this (in units of sqrt(Q)) use Gauss-Legendre


# ============================================================================ validation
def _levels(act):
    act = as_staircase(act)
    return act


def _check_Q(act, Q):
    act = _levels(act)
    V.positive("Q", Q)
    return (act, Q), {}


def _check_QC(act, Q, C=None, deficit=None):
    act = _levels(act)
    V.positive("Q", Q)
    V.correlation(C, deficit)
    return (act, Q), {"C": C, "deficit": deficit}


def _mp_levels(act):
    A, _, h = act.mp_params()
    lv = [A]
    for x in h:
        lv.append(lv[-1] + x)
    return lv


def _case_act(k):
    """Harness staircases with non-symmetric levels (symmetric ones make E phi and the C = 0
    covariance exactly 0, where a relative comparison of faces is meaningless)."""
    return (Staircase([-0.3, 0.2, 1.1], [0.5, 1.0, 0.25], base=-0.4),
            Staircase([0.5], [2.0], base=-1.5),
            Staircase([-1.0, -0.2, 0.1, 0.4, 2.0], [1.0, 0.3, 0.3, 0.3, 2.0], base=-0.9))[k]


# ============================================================================ moments, eq. D.1
def _noise_cells_f64(lo, hi):
    """sum over cells (lo_k, hi_k) of int_lo^hi (z - lo)(hi - z) n(z) dz, arrays (..., cells)."""
    w = hi - lo
    narrow = w < _NARROW
    # wide cells: partial moments M0, M1, M2 (cancellation ~ lo^2 / w^2 ulp, fine for w >= 0.5)
    M0 = np.where(lo >= 0, G.cdf.f64(-lo) - G.cdf.f64(-hi), G.cdf.f64(hi) - G.cdf.f64(lo))
    M1 = G.pdf.f64(lo) - G.pdf.f64(hi)
    M2 = M0 + lo * G.pdf.f64(lo) - hi * G.pdf.f64(hi)
    wide = -M2 + (lo + hi) * M1 - lo * hi * M0
    # narrow cells: 16-point Gauss-Legendre of x (w - x) n(lo + x) (a smooth integrand)
    x = w[..., None] * _GL_X
    gl = ((w ** 3)[..., None] * (_GL_X * (1 - _GL_X) * _GL_W) * G.pdf.f64(lo[..., None] + x)).sum(-1)
    return np.where(narrow, gl, wide).sum(-1)


def _moments_f64(act, Q):
    """(P(a<z<b), E clip, E clip^2, E v) per unit Q: arrays over Q (normalised levels l / sqrt Q)."""
    q = np.atleast_1d(np.asarray(Q, dtype=float))
    L = act.levels[None, :] / np.sqrt(q)[:, None]
    a, b = L[:, 0], L[:, -1]
    Pa, Pb = G.cdf.f64(a), G.cdf.f64(-b)  # P(z < a), P(z > b)
    na, nb = G.pdf.f64(a), G.pdf.f64(b)
    P = np.where(a >= 0, G.cdf.f64(-a) - Pb, np.where(b <= 0, G.cdf.f64(b) - Pa, 1.0 - Pa - Pb))
    I1 = na - nb                       # int_a^b z n(z) dz
    I2 = P + a * na - b * nb           # int_a^b z^2 n(z) dz
    narrow = (b - a) < _NARROW         # these differences cancel: 16-point Gauss-Legendre instead
    if np.any(narrow):
        w = (b - a)[:, None]
        z = a[:, None] + w * _GL_X
        nz = G.pdf.f64(z) * _GL_W * w
        P = np.where(narrow, nz.sum(-1), P)
        I1 = np.where(narrow, (z * nz).sum(-1), I1)
        I2 = np.where(narrow, (z * z * nz).sum(-1), I2)
    m1 = a * Pa + b * Pb + I1
    m2 = a * a * Pa + b * b * Pb + I2
    ev = _noise_cells_f64(L[:, :-1], L[:, 1:])
    return P, m1, m2, ev


def _moments_mp(act, Q):
    """mpmath (P, E clip, E clip^2, E v) at the current precision (+ digits lost in narrow cells)."""
    import mpmath

    lv = _mp_levels(act)
    N = len(lv)
    extra = 2 * int(math.log10(N)) + 6
    with mpmath.workdps(mpmath.mp.dps + extra):
        sq = mpmath.sqrt(mpmath.mpf(Q))
        L = [x / sq for x in lv]
        a, b = L[0], L[-1]
        n, Phi = mpmath.npdf, lambda x: mpmath.ncdf(x)
        Pa, Pb = Phi(a), Phi(-b)
        P = (Phi(-a) - Pb) if a >= 0 else ((Phi(b) - Pa) if b <= 0 else 1 - Pa - Pb)
        m1 = a * Pa + b * Pb + n(a) - n(b)
        m2 = a * a * Pa + b * b * Pb + P + a * n(a) - b * n(b)
        ev = mpmath.mpf(0)
        for lo, hi in zip(L[:-1], L[1:]):
            M0 = (Phi(-lo) - Phi(-hi)) if lo >= 0 else (Phi(hi) - Phi(lo))
            M1 = n(lo) - n(hi)
            M2 = M0 + lo * n(lo) - hi * n(hi)
            ev += -M2 + (lo + hi) * M1 - lo * hi * M0
        return +P, +m1, +m2, +ev


def _second_moment_oracle(act, Q):
    """E phi^2 by quadrature of E[phi^2 | u] = sum_k l_k^2 P(phi = l_k | u) (independent route)."""
    import mpmath

    lv = _mp_levels(act)
    sq = mpmath.sqrt(mpmath.mpf(Q))

    def cond(u):  # E[phi^2 | u]
        if u <= lv[0]:
            return lv[0] ** 2
        if u >= lv[-1]:
            return lv[-1] ** 2
        k = max(i for i in range(len(lv) - 1) if lv[i] <= u)
        p = (u - lv[k]) / (lv[k + 1] - lv[k])
        return (1 - p) * lv[k] ** 2 + p * lv[k + 1] ** 2

    f = lambda u: cond(u) * mpmath.npdf(u / sq) / sq
    return mpmath.quad(f, [-mpmath.inf] + lv + [mpmath.inf])


def _sr_moments_f64(act, Q):
    P, m1, m2, ev = _moments_f64(act, Q)
    q = np.asarray(Q, dtype=float)
    shape = np.shape(q)
    return (np.sqrt(q) * m1).reshape(shape)[()], (q * (m2 + ev)).reshape(shape)[()]


def _sr_moments_mp(act, Q):
    import mpmath

    P, m1, m2, ev = _moments_mp(act, Q)
    Q = mpmath.mpf(Q)
    return mpmath.sqrt(Q) * m1, Q * (m2 + ev)


def _oracle_moments(act, Q):
    import mpmath

    lv = _mp_levels(act)
    sq = mpmath.sqrt(mpmath.mpf(Q))
    # E clip(u) = E u - E (u - l_end)_+ + E (l_0 - u)_+ : only the two tails are integrated (the
    # interior's near-cancelling contributions would cost the quadrature its relative accuracy)
    # each tail as n(c) int_0^inf t exp(-|c| t - t^2/2) dt in standard units (c = l / sqrt(Q)): a
    # smooth integrand whatever |c| (the raw tail is concentrated within sqrt(Q)/|c| of the level)
    def tail(c):  # E (z - c)_+ for c >= 0, i.e. int_c^inf (z - c) n(z) dz
        k = abs(c)
        f = lambda t: t * mpmath.exp(-k * t - t * t / 2)
        pts = [0] + ([1 / k, 10 / k] if k > 1 else []) + [mpmath.inf]
        return mpmath.npdf(c) * mpmath.quad(f, pts)

    a, b = lv[0] / sq, lv[-1] / sq
    lo = tail(-a) if a <= 0 else a + tail(a)   # E (a - z)_+ (x_+ = x + (-x)_+ for a > 0)
    up = tail(b) if b >= 0 else -b + tail(-b)
    return sq * (lo - up), _second_moment_oracle(act, Q)


sr_moments = ClosedForm(
    "qmf_sym.rounding.sr_moments", "paper 1, App. D (eq. D.1; model of issue 9)",
    f64=_sr_moments_f64, mp=_sr_moments_mp, check=_check_Q, oracle=_oracle_moments,
    cases=lambda: [((_case_act(k), q), {}) for k in range(3) for q in (1e-3, 0.3, 4.0, 1e6)],
    rtol=1e-12, atol=1e-15,
    doc="""(E phi(u), E phi(u)^2) for the SR staircase and u ~ N(0, Q) (eq. D.1):
    E phi = E clip(u), E phi^2 = E clip(u)^2 + E (c - l_k)(l_{k+1} - c) (rounding noise).""")


# ============================================================================ covariance, eq. D.2
def _R(s, t, r, d, ops):
    """E[(X - s)_+ (Y - t)_+] - E(X - s)_+ E(Y - t)_+ for a standard pair of correlation r = 1 - d.

    E[(X-s)_+(Y-t)_+] = (r + s t) L - t n(s) Phi((r s - t)/w) - s n(t) Phi((r t - s)/w) + w^2 n_2(s, t; r)
    with L = P(X > s, Y > t), w = sqrt(1 - r^2) (derivations/stochastic_rounding.md, sec. 2).
    """
    cdf, pdf, exc, sqrt, exp, pi, where = ops
    w2 = where(r >= 0, d * (2 - d), (1 + r) * (1 - r))
    w = sqrt(w2)
    ex = exc(s, t, r, d)  # Phi_2(-s,-t;r) - Phi(-s)Phi(-t) = L - L0 (upper orthant excess)
    L0 = cdf(-s) * cdf(-t)
    rs_t = where(r >= 0, (s - t) - d * s, r * s - t)
    rt_s = where(r >= 0, (t - s) - d * t, r * t - s)

    def step(num):  # Phi(num / w), w -> 0 limit: H(num) with H(0) = 1/2
        return where(w > 0, cdf(num / where(w > 0, w, 1)), where(num > 0, 1.0, where(num < 0, 0.0, 0.5)))

    quad = where(r >= 0, (s - t) ** 2 + 2 * d * s * t, (s + t) ** 2 - 2 * (1 + r) * s * t)
    dens = where(w > 0, w * exp(-quad / (2 * where(w > 0, w2, 1))) / (2 * pi), 0.0)
    full = (r + s * t) * (L0 + ex) - t * pdf(s) * step(rs_t) - s * pdf(t) * step(rt_s) + dens
    prod0 = (pdf(s) - s * cdf(-s)) * (pdf(t) - t * cdf(-t))
    return full - prod0


def _ops_f64():
    def exc(s, t, r, d):
        return G.bvn_excess.f64(-s, -t, deficit=d)
    return (G.cdf, G.pdf, exc, np.sqrt, np.exp, np.pi, np.where)


def _ops_mp():
    import mpmath

    dps = mpmath.mp.dps

    def exc(s, t, r, d):
        return G.bvn_excess.mp(-s, -t, deficit=d)

    where = lambda c, x, y: x if c else y
    return (mpmath.ncdf, mpmath.npdf, exc, mpmath.sqrt, mpmath.exp, mpmath.pi, where)


def _cov_clip(a, b, r, d, ops):
    """Cov(clip(X), clip(Y)) for clip to [a, b] = sum of the four corner terms of eq. D.2."""
    return _R(a, a, r, d, ops) - _R(a, b, r, d, ops) - _R(b, a, r, d, ops) + _R(b, b, r, d, ops)


def _sr_covariance_f64(act, Q, C=None, deficit=None):
    r, d = _rd64(C, deficit)
    q = np.asarray(Q, dtype=float)
    q, r, d = np.broadcast_arrays(q, r, d)
    shape = q.shape
    q, r, d = q.ravel(), r.ravel(), d.ravel()
    sq = np.sqrt(q)
    a, b = act.levels[0] / sq, act.levels[-1] / sq
    P, m1, _, _ = _moments_f64(act, q)
    with np.errstate(all="ignore"):
        out = q * (m1 ** 2 + _cov_clip(a, b, r, d, _ops_f64()))
    _narrow_fallback(out, b - a, lambda i: _sr_covariance_mp(act, q[i], deficit=d[i]))
    return out.reshape(shape)[()]


_NARROW_RANGE = 0.25


def _narrow_fallback(out, width, mp_fn):
    """Where the normalised range b - a < 0.25, the corner terms of eq. D.2 / D.3 (each O(1))
    cancel down to O((b - a)^2): evaluate those points by the mpmath face at 20 digits plus the
    digits lost (float64 would keep only ~16 + 2 log10(b - a) digits)."""
    import mpmath

    for i in np.nonzero(width < _NARROW_RANGE)[0]:
        with mpmath.workdps(20):
            out[i] = float(mp_fn(i))


def _rd64(C, deficit):
    if deficit is not None:
        d = np.asarray(deficit, dtype=float)
        return 1.0 - d, d
    r = np.asarray(C, dtype=float)
    return r, 1.0 - r


def _rdmp(C, deficit):
    import mpmath

    if deficit is not None:
        d = mpmath.mpf(deficit)
        return 1 - d, d
    r = mpmath.mpf(C)
    return r, 1 - r


def _sr_covariance_mp(act, Q, C=None, deficit=None):
    import mpmath

    r, d = _rdmp(C, deficit)
    Q = mpmath.mpf(Q)
    with mpmath.workdps(mpmath.mp.dps + _lost_digits(act, Q)):
        lv = _mp_levels(act)
        sq = mpmath.sqrt(Q)
        _, m1, _, _ = _moments_mp(act, Q)
        return +(Q * (m1 ** 2 + _cov_clip(lv[0] / sq, lv[-1] / sq, r, d, _ops_mp())))


def _lost_digits(act, Q):
    """Digits cancelled among the O(1) corner terms when the normalised range w = (l_{N-1} - l_0)
    / sqrt(Q) is small: the result is O(w^2)."""
    w = float(act.levels[-1] - act.levels[0]) / math.sqrt(float(Q))
    return 5 + max(0, int(math.ceil(-2 * math.log10(w)))) if w < 1 else 5


def _oracle_covariance(act, Q, C=None, deficit=None):
    """E clip(u1) clip(u2) = E_x[clip(x) E(clip(u2) | u1 = x)] by 1-D quadrature (independent)."""
    import mpmath

    r, d = _rdmp(C, deficit)
    lv = _mp_levels(act)
    sq = mpmath.sqrt(mpmath.mpf(Q))
    a, b = lv[0] / sq, lv[-1] / sq
    w = mpmath.sqrt(d * (2 - d))
    clip = lambda x: min(max(x, a), b)
    psi = lambda m: m * mpmath.ncdf(m) + mpmath.npdf(m)  # E (m + Z)_+

    def cond(x):
        m = r * x
        if w == 0:
            return clip(m)
        return a + w * (psi((m - a) / w) - psi((m - b) / w))

    pts = sorted({a, b, a / r if r else a, b / r if r else b} | {mpmath.mpf(0)})
    val = mpmath.quad(lambda x: clip(x) * cond(x) * mpmath.npdf(x), [-mpmath.inf] + pts + [mpmath.inf])
    return mpmath.mpf(Q) * val


sr_covariance = ClosedForm(
    "qmf_sym.rounding.sr_covariance", "paper 1, App. D (eq. D.2; model of issue 9)",
    f64=_sr_covariance_f64, mp=_sr_covariance_mp, check=_check_QC, oracle=_oracle_covariance,
    cases=lambda: [((_case_act(k), q), {"C": c}) for k in (0, 2) for q in (0.05, 1.0, 9.0)
                   for c in (-0.9, -0.2, 0.0, 0.6, 0.999)],
    rtol=1e-12, atol=1e-14,
    doc="""E phi(u1) phi(u2) for two distinct inputs (independent rounding noise): E clip(u1) clip(u2),
    (u1, u2) ~ N(0, Q [[1, C], [C, 1]]), in closed form (eq. D.2); C = 1 is the limit from below.""")


# ============================================================================ chi, eq. D.3
def _rect_f64(a, b, r, d):
    P = np.where(a >= 0, G.cdf.f64(-a) - G.cdf.f64(-b), np.where(b <= 0, G.cdf.f64(b) - G.cdf.f64(a), 1 - G.cdf.f64(a) - G.cdf.f64(-b)))
    ex = lambda h, k: G.bvn_excess.f64(h, k, deficit=d)
    return P * P + ex(b, b) - ex(a, b) - ex(b, a) + ex(a, a)


def _sr_chi_f64(act, Q, C=None, deficit=None):
    r, d = _rd64(C, deficit)
    q = np.asarray(Q, dtype=float)
    q, r, d = np.broadcast_arrays(q, r, d)
    shape = q.shape
    q, r, d = q.ravel(), r.ravel(), d.ravel()
    sq = np.sqrt(q)
    a, b = act.levels[0] / sq, act.levels[-1] / sq
    out = np.array(_rect_f64(a, b, r, d), dtype=float)
    _narrow_fallback(out, b - a, lambda i: _sr_chi_mp(act, q[i], deficit=d[i]))
    return out.reshape(shape)[()]


def _sr_chi_mp(act, Q, C=None, deficit=None):
    import mpmath

    r, d = _rdmp(C, deficit)
    with mpmath.workdps(mpmath.mp.dps + _lost_digits(act, Q)):
        return +_rect_mp(act, Q, r, d)


def _rect_mp(act, Q, r, d):
    import mpmath

    lv = _mp_levels(act)
    sq = mpmath.sqrt(mpmath.mpf(Q))
    a, b = lv[0] / sq, lv[-1] / sq
    P = mpmath.ncdf(b) - mpmath.ncdf(a) if b <= 0 else (1 - mpmath.ncdf(a) - mpmath.ncdf(-b) if a < 0
                                                        else mpmath.ncdf(-a) - mpmath.ncdf(-b))
    ex = lambda h, k: G.bvn_excess.mp(h, k, deficit=d)
    return P * P + ex(b, b) - ex(a, b) - ex(b, a) + ex(a, a)


def _oracle_chi(act, Q, C=None, deficit=None):
    """P(a < z1 < b, a < z2 < b) by 1-D quadrature of P(a < z2 < b | z1 = x)."""
    import mpmath

    r, d = _rdmp(C, deficit)
    lv = _mp_levels(act)
    sq = mpmath.sqrt(mpmath.mpf(Q))
    a, b = lv[0] / sq, lv[-1] / sq
    w = mpmath.sqrt(d * (2 - d))
    if w == 0:
        return mpmath.ncdf(b) - mpmath.ncdf(a) if r > 0 else max(0, mpmath.ncdf(min(b, -a)) - mpmath.ncdf(max(a, -b)))
    f = lambda x: (mpmath.ncdf((b - r * x) / w) - mpmath.ncdf((a - r * x) / w)) * mpmath.npdf(x)
    return mpmath.quad(f, [a, 0, b] if a < 0 < b else [a, b])


sr_chi = ClosedForm(
    "qmf_sym.rounding.sr_chi", "paper 1, App. D (eq. D.3, Price's theorem; model of issue 9)",
    f64=_sr_chi_f64, mp=_sr_chi_mp, check=_check_QC, oracle=_oracle_chi,
    cases=lambda: [((Staircase.uniform(n), q), {"C": c}) for n in (2, 7) for q in (0.05, 1.0, 9.0)
                   for c in (-0.9, 0.0, 0.5, 0.999)],
    rtol=1e-12, atol=1e-15,
    doc="""chi / sigma_w^2 of the SR staircase: P(l_0 < u1 < l_{N-1}, l_0 < u2 < l_{N-1}) (eq. D.3).""")


# ============================================================================ maps
def _common(act, Q, sigma_w, sigma_b):
    act = as_staircase(act)
    V.positive("Q", Q)
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    return act


def variance_map(act, Q, sigma_w, sigma_b=0, dps=None):
    """Q' = sigma_w^2 E phi_SR(u)^2 + sigma_b^2, u ~ N(0, Q)  (eq. 4 with eq. D.1)."""
    act = _common(act, Q, sigma_w, sigma_b)
    d = V.dps(dps)
    _, m2 = sr_moments(act, Q, dps=d)
    if d is None:
        return np.asarray(sigma_w, float) ** 2 * m2 + np.asarray(sigma_b, float) ** 2
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        return +(mpmath.mpf(sigma_w) ** 2 * m2 + mpmath.mpf(sigma_b) ** 2)


def correlation_map(act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """M_Q(C) = [sigma_w^2 E clip(u1) clip(u2) + sigma_b^2] / Q for two distinct inputs (eq. 5, D.2)."""
    act = _common(act, Q, sigma_w, sigma_b)
    d = V.dps(dps)
    e = sr_covariance(act, Q, C=C, deficit=deficit, dps=d)
    if d is None:
        return (np.asarray(sigma_w, float) ** 2 * e + np.asarray(sigma_b, float) ** 2) / np.asarray(Q, float)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        return +((mpmath.mpf(sigma_w) ** 2 * e + mpmath.mpf(sigma_b) ** 2) / mpmath.mpf(Q))


def chi(act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """chi = dM_Q/dC = sigma_w^2 P(l_0 < u1 < l_{N-1}, l_0 < u2 < l_{N-1})  (eq. 6 with eq. D.3).

    ``sigma_b`` does not enter.  Finite at every C in [-1, 1] (unlike the deterministic eq. 15).
    """
    act = _common(act, Q, sigma_w, sigma_b)
    d = V.dps(dps)
    p = sr_chi(act, Q, C=C, deficit=deficit, dps=d)
    if d is None:
        return np.asarray(sigma_w, float) ** 2 * p
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        return +(mpmath.mpf(sigma_w) ** 2 * p)


@dataclass(frozen=True)
class SRFixedPoint:
    """Fixed point (Q*, C*) of the SR maps with chi (eq. D.3) and xi = -1/log chi (eq. 7) there."""

    Q: float
    C: float
    chi: float
    xi: float


def fixed_point(act, sigma_w, sigma_b=0):
    """The stable fixed point of the SR maps (float64): Q* (largest root crossed from above of
    Q = sigma_w^2 E phi^2 + sigma_b^2) and C* (the fixed point of eq. 5 reached from C = 0; always
    < 1 for distinct inputs, since M(1-) < 1)."""
    act = as_staircase(act)
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    sw, sb = float(sigma_w), float(sigma_b)
    if not (1e-30 <= sw <= 1e30 and sb <= 1e30):
        raise ValueError(f"sigma_w must be in [1e-30, 1e30] and sigma_b in [0, 1e30] for the SR fixed point, "
                         f"got sigma_w={sigma_w!r}, sigma_b={sigma_b!r}")
    qmax = sw ** 2 * float(np.max(act.levels ** 2)) + sb ** 2
    # small Q: E phi^2 >= c sqrt(Q) (a level next to 0 is hit with probability ~ |u|), so
    # Q* >= ~ (c sigma_w^2)^2: the grid reaches below it
    lo = min(-12.0, math.log10(qmax) + 4 * math.log10(min(sw, 1.0)) - 8)
    grid = np.logspace(lo, math.log10(qmax), 241 + int(-lo))
    gv = variance_map(act, grid, sw, sb) - grid
    idx = np.nonzero((gv[:-1] > 0) & (gv[1:] <= 0))[0]
    if len(idx) == 0:
        raise ValueError("no non-zero fixed point Q*: the signal dies out for these sigma_w, sigma_b; "
                         "increase sigma_w or sigma_b")
    k = idx[-1]
    Q = optimize.brentq(lambda q: float(variance_map(act, q, sw, sb)) - q, grid[k], grid[k + 1],
                        xtol=1e-300, rtol=1e-15, maxiter=500)
    Gc = lambda c: float(correlation_map(act, Q, c, sw, sb)) - c
    g0 = Gc(0.0)
    if abs(g0) <= 1e-15:
        C = 0.0
    elif g0 > 0:
        C = optimize.brentq(Gc, 0.0, 1.0, xtol=1e-16, rtol=1e-15)  # Gc(1) = M(1-) - 1 < 0
    else:
        C = optimize.brentq(Gc, -1.0, 0.0, xtol=1e-16, rtol=1e-15)
    x = float(chi(act, Q, C, sw))
    return SRFixedPoint(Q, C, x, -1.0 / math.log(x) if x < 1 else math.inf)


# ============================================================================ sigma_b = 0 optimum
def _check_symmetric(act):
    act = as_staircase(act)
    lv = [act.base_exact]
    for h in act.heights_exact:
        lv.append(lv[-1] + h)
    if any(x != -y for x, y in zip(lv, reversed(lv))):
        raise ValueError("act must have levels symmetric about 0 (then C* = 0 at sigma_b = 0); "
                         "use fixed_point for other staircases")
    return act


def chi_at_zero(act, Q, dps=None):
    """chi at the sigma_b = 0 fixed point with Q* = Q (symmetric levels, C* = 0):
    chi = P(a < z < b)^2 / E phi_z^2 = corr(z, phi_SR(z))^2 (eq. D.4; sigma_w^2 = Q / E phi^2)."""
    act = _check_symmetric(act)
    V.positive("Q", Q)
    d = V.dps(dps)
    if d is None:
        P, _, m2, ev = _moments_f64(act, Q)
        return (P * P / (m2 + ev)).reshape(np.shape(Q))[()]
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        P, _, m2, ev = _moments_mp(act, Q)
        return +(P * P / (m2 + ev))


def chi_deficit_at_zero(act, Q, dps=None):
    """1 - chi of :func:`chi_at_zero` without cancellation:
    [E(z - clip z)^2 - (1 - P)^2 + E v] / E phi_z^2 (eq. D.5, derivations/stochastic_rounding.md)."""
    act = _check_symmetric(act)
    V.positive("Q", Q)
    d = V.dps(dps)
    if d is None:
        q = np.atleast_1d(np.asarray(Q, dtype=float))
        P, _, m2, ev = _moments_f64(act, q)
        s = act.levels[-1] / np.sqrt(q)
        over = 2 * G.pdf.f64(s) * _mills_excess(s)            # E(z - clip)^2, both tails
        tail = 2 * G.cdf.f64(-s)                               # 1 - P
        return ((over - tail * tail + ev) / (m2 + ev)).reshape(np.shape(Q))[()]
    import mpmath

    with mpmath.workdps(V.guard_digits(d) + 10):
        P, _, m2, ev = _moments_mp(act, Q)
        s = _mp_levels(act)[-1] / mpmath.sqrt(mpmath.mpf(Q))
        over = 2 * ((1 + s * s) * mpmath.ncdf(-s) - s * mpmath.npdf(s))
        tail = 2 * mpmath.ncdf(-s)
        return +((over - tail * tail + ev) / (m2 + ev))


def _mills_excess(s):
    """E(z - s)_+^2 / n(s) = (1 + s^2) R(s) - s with R the Mills ratio (erfcx, no underflow)."""
    from scipy.special import erfcx

    R = math.sqrt(math.pi / 2) * erfcx(s / math.sqrt(2))
    return (1 + s * s) * R - s


@dataclass(frozen=True)
class SROptimum:
    """The best chi over sigma_w at sigma_b = 0 of the uniform N-level SR staircase (levels -1..1).

    ``s_opt`` = 1 / sqrt(Q*) (the normalised half-range), ``chi_max``, ``one_minus_chi`` (computed
    without cancellation), ``xi`` = -1/log chi_max, ``sigma_w`` (for levels -1..1),
    ``Q_star``, ``dps``.  N = 2: the supremum 2/pi is reached only as sigma_w -> inf (s_opt = 0).
    """

    N: int
    s_opt: object
    chi_max: object
    one_minus_chi: object
    xi: object
    sigma_w: object
    Q_star: object
    dps: object


def _uniform_neg_chi(N):
    act = Staircase.uniform(N)
    return act, lambda s: -float(chi_at_zero(act, 1.0 / s ** 2))


def optimal_sr(N, dps=None):
    """Maximise chi over sigma_w at sigma_b = 0 for the uniform N-level SR staircase (levels -1..1).

    float64: bounded Brent search in log s after a grid scan; ``dps=k``: Newton (mpmath.findroot)
    on d chi/ds at guard precision from the float64 optimum.  N = 2 returns the supremum 2/pi
    (reached as sigma_w -> inf; chi_at_zero is decreasing in s for N = 2, derivation sec. 4).
    """
    N = V.integer("N", N, 2)
    if N > 10 ** 6:
        raise ValueError(f"N must be an integer in [2, 1000000], got {N}")
    d = V.dps(dps)
    if N == 2:
        if d is None:
            c = 2 / math.pi
            return SROptimum(2, 0.0, c, 1 - c, -1 / math.log(c), math.inf, 0.0, None)
        import mpmath

        with mpmath.workdps(V.guard_digits(d)):
            c = 2 / mpmath.pi
            return SROptimum(2, mpmath.mpf(0), +c, +(1 - c), +(-1 / mpmath.log(c)), mpmath.inf, mpmath.mpf(0), d)
    act, f = _uniform_neg_chi(N)
    ss = np.exp(np.linspace(np.log(1e-2), np.log(40.0), 200))
    step = max(1, 200_000 // (16 * N))  # grid points per block (memory ~ 16 N doubles each)
    vals = -np.concatenate([np.atleast_1d(chi_at_zero(act, 1.0 / ss[i:i + step] ** 2))
                            for i in range(0, len(ss), step)])
    k = int(np.argmin(vals))
    lo, hi = ss[max(k - 1, 0)], ss[min(k + 1, len(ss) - 1)]
    res = optimize.minimize_scalar(lambda x: f(math.exp(x)), bounds=(math.log(lo), math.log(hi)),
                                   method="bounded", options={"xatol": 1e-12})
    s = math.exp(res.x)
    if d is None:
        Q = 1.0 / s ** 2
        c = float(chi_at_zero(act, Q))
        om = float(chi_deficit_at_zero(act, Q))
        _, m2 = sr_moments(act, Q)
        return SROptimum(N, s, c, om, -1 / math.log1p(-om), math.sqrt(Q / float(m2)), Q, None)
    import mpmath

    with mpmath.workdps(V.guard_digits(d) + 5):
        g = lambda x: chi_at_zero(act, 1 / x ** 2, dps=mpmath.mp.dps)
        sm = mpmath.findroot(lambda x: mpmath.diff(g, x), mpmath.mpf(s), tol=mpmath.mpf(10) ** (-mpmath.mp.dps + 5))
        Q = 1 / sm ** 2
        c = chi_at_zero(act, Q, dps=mpmath.mp.dps)
        om = chi_deficit_at_zero(act, Q, dps=mpmath.mp.dps)
        _, m2 = sr_moments(act, Q, dps=mpmath.mp.dps)
        return SROptimum(N, +sm, +c, +om, +(-1 / mpmath.log(1 - om)), +mpmath.sqrt(Q / m2), +Q, d)


def _s_asymptotic(n, c):
    """Root of n(s) = c s^3 / (6 n^2) (the optimal normalised half-range at large n = N - 1 for
    granular noise c Delta^2 / 12, c = 1 nearest, c = 2 stochastic; derivation sec. 5)."""
    K = 2 * (math.log(6 / (c * math.sqrt(2 * math.pi))) + 2 * math.log(n))
    f = lambda s2: s2 + 3 * math.log(s2) - K  # increasing in s2
    return optimize.brentq(f, 1e-12, K + 10, xtol=1e-14, rtol=1e-15)


def ratio_asymptotic(N):
    """Large-N law of (1 - chi_SR,max) / (1 - chi_det,max) (derivations/stochastic_rounding.md,
    sec. 5):  2 (s_2^2 + 2) / (s_1^2 + 2) with s_c^2 from n(s) = c s^3 / (6 (N-1)^2); it tends to 2
    as 2 - ln 2 / ln N + O(ln ln N / ln^2 N)."""
    N = V.integer("N", N, 3)
    if N > 10 ** 300:
        raise ValueError(f"N must be an integer in [3, 1e300], got {N}")
    n = N - 1
    return 2 * (_s_asymptotic(n, 2) + 2) / (_s_asymptotic(n, 1) + 2)


register_equation("qmf_sym.rounding.fixed_point", "paper 1, App. D (SR fixed point)",
                  "stable (Q*, C*) of the SR maps; C* < 1 always")
register_equation("qmf_sym.rounding.optimal_sr", "paper 1, App. D (best SR chi over sigma_w)",
                  "max over sigma_w at sigma_b = 0, uniform levels", faces=("f64", "mp"))
