"""Stochastic rounding at sigma_b = 0: chi = corr(z, phi_SR)^2, its deficit without cancellation,
the best chi over sigma_w for the uniform family, and the large-N law of the ratio
(1 - chi_SR) / (1 - chi_det) (derivations/stochastic_rounding.md, sec. 4-5)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .. import _validate as V
from .. import gaussian as G
from .._faces import register_equation
from ..activations import Staircase, as_staircase
from .forms import _moments_f64, _moments_mp, _mp_levels, check_Q, sr_moments

__all__ = ["chi_at_zero", "chi_deficit_at_zero", "SROptimum", "optimal_sr", "ratio_asymptotic"]


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
    check_Q(Q)
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
    check_Q(Q)
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


register_equation("qmf_sym.rounding.optimal_sr", "paper 1, App. D (best SR chi over sigma_w)",
                  "max over sigma_w at sigma_b = 0, uniform levels", faces=("f64", "mp"))
