"""Stochastic rounding: the closed forms (eq. D.1-D.3, three faces) and the maps; see
:mod:`qmf_sym.rounding` for the model and the notation."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .. import _validate as V
from .. import gaussian as G
from .._faces import ClosedForm, register_equation
from ..activations import Staircase, as_staircase
from ..maps import last_downcrossing

__all__ = ["sr_moments", "sr_covariance", "sr_chi", "variance_map", "correlation_map", "chi",
           "fixed_point", "SRFixedPoint"]

# Gauss-Legendre nodes on [0, 1] for the rounding noise of narrow cells (float64 face)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
_GL_X, _GL_W = (_GL_X + 1) / 2, _GL_W / 2
_NARROW = 0.5  # cells narrower than this (in units of sqrt(Q)) use Gauss-Legendre


# ============================================================================ validation
def _levels(act):
    act = as_staircase(act)
    return act


def check_Q(Q):
    """Q of the stochastic-rounding forms: positive, not subnormal, at most ``_continuous.HT_Q_MAX`` = 1e12:
    E[phi_SR(u) | u] is the clip of u to [l_0, l_(N-1)], and, as for the clip's kernels, beyond it the
    mpmath Phi_2 quadratures lose digits (the dps faces were wrong in the 4th digit at Q = 1e30)."""
    from .._continuous import HT_Q_MAX

    return V.positive_at_most("Q", Q, HT_Q_MAX, "for stochastic rounding (the clip of the levels: its Gaussian "
                              "kernels lose digits beyond)")


def _check_Q(act, Q):
    act = _levels(act)
    check_Q(Q)
    return (act, Q), {}


def _check_QC(act, Q, C=None, deficit=None):
    act = _levels(act)
    check_Q(Q)
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
    "qmf_sym.rounding.sr_moments", "paper 1, App. D (eq. D.1)",
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


def _one_plus64(r, d):
    """1 + C from C itself for C < 0 (2 - d from a rounded d = 1 - C lost ~10 % of 1 + C = 1e-15), else 2 - d."""
    return np.where(r < 0, 1.0 + r, 2.0 - d)


def _ops_f64():
    def exc(s, t, r, d):
        return G._excess_f64(-s, -t, r, d, _one_plus64(r, d))
    return (G.cdf, G.pdf, exc, np.sqrt, np.exp, np.pi, np.where)


def _ops_mp():
    import mpmath

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
    "qmf_sym.rounding.sr_covariance", "paper 1, App. D (eq. D.2)",
    f64=_sr_covariance_f64, mp=_sr_covariance_mp, check=_check_QC, oracle=_oracle_covariance,
    cases=lambda: [((_case_act(k), q), {"C": c}) for k in (0, 2) for q in (0.05, 1.0, 9.0)
                   for c in (-0.9, -0.2, 0.0, 0.6, 0.999)],
    rtol=1e-12, atol=1e-14,
    doc="""E phi(u1) phi(u2) for two distinct inputs (independent rounding noise): E clip(u1) clip(u2),
    (u1, u2) ~ N(0, Q [[1, C], [C, 1]]), in closed form (eq. D.2); C = 1 is the limit from below.""")


# ============================================================================ chi, eq. D.3
def _rect_f64(a, b, r, d):
    P = np.where(a >= 0, G.cdf.f64(-a) - G.cdf.f64(-b),
                 np.where(b <= 0, G.cdf.f64(b) - G.cdf.f64(a), 1 - G.cdf.f64(a) - G.cdf.f64(-b)))
    e = _one_plus64(r, d)
    ex = lambda h, k: G._excess_f64(h, k, r, d, e)
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
    "qmf_sym.rounding.sr_chi", "paper 1, App. D (eq. D.3, Price's theorem)",
    f64=_sr_chi_f64, mp=_sr_chi_mp, check=_check_QC, oracle=_oracle_chi,
    cases=lambda: [((Staircase.uniform(n), q), {"C": c}) for n in (2, 7) for q in (0.05, 1.0, 9.0)
                   for c in (-0.9, 0.0, 0.5, 0.999)],
    rtol=1e-12, atol=1e-15,
    doc="""chi / sigma_w^2 of the SR staircase: P(l_0 < u1 < l_{N-1}, l_0 < u2 < l_{N-1}) (eq. D.3).""")


# ============================================================================ maps
def _common(act, Q, sigma_w, sigma_b):
    act = as_staircase(act)
    check_Q(Q)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
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
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    sw, sb = float(sigma_w), float(sigma_b)
    if not (1e-30 <= sw <= 1e30 and sb <= 1e30):
        raise ValueError(f"sigma_w must be in [1e-30, 1e30] and sigma_b in [0, 1e30] for the SR fixed point, "
                         f"got sigma_w={sigma_w!r}, sigma_b={sigma_b!r}")
    qmax = sw ** 2 * float(np.max(act.levels ** 2)) + sb ** 2
    # small Q: E phi^2 >= c sqrt(Q) (a level next to 0 is hit with probability ~ |u|), so
    # Q* >= ~ (c sigma_w^2)^2: the grid reaches below it
    lo = min(-12.0, math.log10(qmax) + 4 * math.log10(min(sw, 1.0)) - 8)
    grid = np.logspace(lo, math.log10(qmax), 241 + int(-lo))
    Q = last_downcrossing(lambda q: variance_map(act, q, sw, sb), grid)
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


register_equation("qmf_sym.rounding.fixed_point", "paper 1, App. D (SR fixed point)",
                  "stable (Q*, C*) of the SR maps; C* < 1 always")
