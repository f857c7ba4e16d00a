"""Sign activation: the closed forms of eq. 10-12 of paper 1, derived in sympy from the definition.

Derivation (run by :func:`derive`; written out in derivations/sign_map.md):

1. Eq. 3-4 with phi = sign: write (u1, u2) = sqrt(Q) (z1, C z1 + sqrt(1 - C^2) z2), z ~ N(0, I).
   With C = cos(alpha), alpha in [0, pi], u2 is proportional to cos(t - alpha) in polar coordinates
   z = r (cos t, sin t).  The radial integral of the standard density is 1, so
       E[sign(u1) sign(u2)] = (1/2pi) int_0^{2pi} sign(cos t) sign(cos(t - alpha)) dt,
   computed exactly by summing +-1 over the arcs between consecutive sign changes.
   It gives 1 - 2 alpha / pi = (2/pi) arcsin C.
2. Q* = sigma_w^2 E[sign^2] + sigma_b^2 = sigma_w^2 + sigma_b^2 (eq. 10).
3. M(C) = [sigma_w^2 (2/pi) arcsin C + sigma_b^2] / Q*  (eq. 12), chi = dM/dC (eq. 11), and the same
   chi from eq. 10, 4 sigma_w^2 E delta(u1) delta(u2) = 4 sigma_w^2 n_2(0, 0; Q*, C).
4. The bound (Appendix L.1): at the fixed point, with s = arcsin C* and x = pi/4 - s/2,
   chi* = tan(x) / (2x), increasing in x in (0, pi/4]; x = pi/4 <=> C* = 0 <=> sigma_b = 0, so
   chi* <= 2/pi with equality only at sigma_b = 0, and chi* -> 1/2 as sigma_b/sigma_w -> inf.
   Hence xi_max = -1/log(2/pi) = 2.2144... < 3.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from . import _validate as V

C, sw, sb, Q, t, alpha, s, x = sp.symbols("C sigma_w sigma_b Q t alpha s x", real=True)


@functools.lru_cache(maxsize=1)
def derive():
    """Derive eq. 10-12 and the chi bound symbolically; returns a dict of sympy expressions.

    Keys: ``E_signsign`` (as a function of C), ``Q_star``, ``M`` (eq. 12), ``chi`` (eq. 11, from
    dM/dC), ``chi_eq10`` (from the delta-function route), ``chi_star_of_x`` (chi at the fixed point
    in the variable x = pi/4 - arcsin(C*)/2), ``a_of_s`` (sigma_w^2/Q* as a function of s = arcsin C*).
    """
    a = sp.Symbol("alpha", positive=True)
    # sign changes of sign(cos t) sign(cos(t - alpha)) on [pi/2, pi/2 + 2 pi), for 0 < alpha < pi
    zeros = [sp.pi / 2, a + sp.pi / 2, 3 * sp.pi / 2, a + 3 * sp.pi / 2, sp.pi / 2 + 2 * sp.pi]
    sample_alpha = sp.Rational(1, 1)  # any value in (0, pi) fixes the ordering and the signs
    total = 0
    for lo, hi in zip(zeros, zeros[1:]):
        mid = ((lo + hi) / 2).subs(a, sample_alpha)
        sgn = sp.sign(sp.cos(mid)) * sp.sign(sp.cos(mid - sample_alpha))
        total += sgn * (hi - lo)
    radial = sp.integrate(sp.exp(-sp.Symbol("r") ** 2 / 2) * sp.Symbol("r"), (sp.Symbol("r"), 0, sp.oo))
    E_alpha = sp.simplify(radial * total / (2 * sp.pi))  # = 1 - 2 alpha / pi
    E_C = sp.simplify(E_alpha.subs(a, sp.acos(C)))
    E_C = sp.simplify(E_C.rewrite(sp.asin))  # (2/pi) asin C
    Q_star = sw ** 2 * 1 + sb ** 2  # E[sign(u)^2] = 1
    M = (sw ** 2 * E_C + sb ** 2) / Q_star
    chi = sp.simplify(sp.diff(M, C))
    dens00 = 1 / (2 * sp.pi * Q * sp.sqrt(1 - C ** 2))  # n_2(0, 0) for covariance Q [[1, C], [C, 1]]
    chi_eq10 = sp.simplify((4 * sw ** 2 * dens00).subs(Q, Q_star))
    # fixed point: C* = a (2/pi) asin C* + 1 - a, a = sigma_w^2 / Q*  =>  a(s)
    a_of_s = sp.solve(sp.Eq(sp.sin(s), sp.Symbol("a") * 2 * s / sp.pi + 1 - sp.Symbol("a")), sp.Symbol("a"))[0]
    chi_star_s = 2 * a_of_s / (sp.pi * sp.cos(s))
    chi_star_x = sp.tan(x) / (2 * x)
    return {
        "E_signsign": E_C,
        "Q_star": Q_star,
        "M": M,
        "chi": chi,
        "chi_eq10": chi_eq10,
        "a_of_s": a_of_s,
        "chi_star_of_s": chi_star_s,
        "chi_star_of_x": chi_star_x,
    }


@functools.lru_cache(maxsize=None)
def _fn(key, module):
    return sp.lambdify((C, sw, sb), derive()[key], modules=module)


def _args(C_, sigma_w, sigma_b, deficit, dps):
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    V.correlation(C_, deficit)
    return V.dps(dps)


def q_star(sigma_w, sigma_b=0, dps=None):
    """Q* = sigma_w^2 + sigma_b^2 (eq. 10)."""
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    dps = V.dps(dps)
    if dps is None:
        return np.asarray(sigma_w, float) ** 2 + np.asarray(sigma_b, float) ** 2
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        return +(mpmath.mpf(sigma_w) ** 2 + mpmath.mpf(sigma_b) ** 2)


def correlation_map(C_=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """M(C) = [(2 sigma_w^2/pi) arcsin C + sigma_b^2] / (sigma_w^2 + sigma_b^2)   (eq. 12).

    Near C = 1 pass ``deficit = 1 - C``: arcsin(1 - d) = pi/2 - 2 arcsin(sqrt(d/2)) is used.
    """
    dps = _args(C_, sigma_w, sigma_b, deficit, dps)
    if dps is None:
        if deficit is not None:
            d = np.asarray(deficit, float)
            asin = np.pi / 2 - 2 * np.arcsin(np.sqrt(d / 2))
            w2, b2 = np.asarray(sigma_w, float) ** 2, np.asarray(sigma_b, float) ** 2
            return (2 * w2 / np.pi * asin + b2) / (w2 + b2)
        return _fn("M", "numpy")(np.asarray(C_, float), sigma_w, sigma_b)
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        if deficit is not None:
            d = mpmath.mpf(deficit)
            cc = 1 - d
            asin = mpmath.pi / 2 - 2 * mpmath.asin(mpmath.sqrt(d / 2))
            w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
            return +((2 * w2 / mpmath.pi * asin + b2) / (w2 + b2))
        return +_fn("M", "mpmath")(mpmath.mpf(C_), mpmath.mpf(sigma_w), mpmath.mpf(sigma_b))


def chi(C_=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """chi = 2 sigma_w^2 / (pi (sigma_w^2 + sigma_b^2) sqrt(1 - C^2))   (eq. 11); |C| < 1."""
    dps = _args(C_, sigma_w, sigma_b, deficit, dps)
    if dps is None:
        if deficit is not None:
            d = np.asarray(deficit, float)
            omc2 = d * (2 - d)
        else:
            c = np.asarray(C_, float)
            omc2 = (1 - c) * (1 + c)
        if np.any(omc2 <= 0):
            raise ValueError("C must be in (-1, 1) for chi (eq. 11 diverges at |C| = 1)")
        w2, b2 = np.asarray(sigma_w, float) ** 2, np.asarray(sigma_b, float) ** 2
        return 2 * w2 / (np.pi * (w2 + b2) * np.sqrt(omc2))
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        if deficit is not None:
            d = mpmath.mpf(deficit)
            omc2 = d * (2 - d)
        else:
            c = mpmath.mpf(C_)
            omc2 = (1 - c) * (1 + c)
        if omc2 <= 0:
            raise ValueError("C must be in (-1, 1) for chi (eq. 11 diverges at |C| = 1)")
        w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
        return +(2 * w2 / (mpmath.pi * (w2 + b2) * mpmath.sqrt(omc2)))


def fixed_point(sigma_w, sigma_b=0, dps=None):
    """(C*, chi*) of the sign network: the stable root of C = M(C) in [0, 1) (eq. 12) and eq. 11 there.

    Solved in the variable s = arcsin C*: sin s = a (2 s / pi) + 1 - a with a = sigma_w^2 / Q*;
    chi* = tan(x) / (2x) with x = pi/4 - s/2.
    """
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    dps = V.dps(dps)
    import mpmath

    prec = 17 if dps is None else V.guard_digits(dps)
    with mpmath.workdps(prec):
        w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
        a = w2 / (w2 + b2)
        if b2 == 0:
            s_ = mpmath.mpf(0)
        else:
            f = lambda z: mpmath.sin(z) - a * 2 * z / mpmath.pi - 1 + a
            # f(0) = 1 - a > 0 and f < 0 just below pi/2 (the other root, C = 1, is unstable)
            hi = mpmath.pi / 2 * (1 - mpmath.mpf(10) ** (-(prec // 2)))
            s_ = mpmath.findroot(f, (mpmath.mpf(0), hi), solver="illinois")
        xx = mpmath.pi / 4 - s_ / 2
        chi_star = mpmath.tan(xx) / (2 * xx)
        Cs = mpmath.sin(s_)
        if dps is None:
            return float(Cs), float(chi_star)
        return +Cs, +chi_star


CHI_MAX = 2 / np.pi
"""The sup of chi* over all sigma_w > 0, sigma_b >= 0, reached at sigma_b = 0 (Appendix L.1)."""

XI_MAX = -1 / np.log(2 / np.pi)
"""The largest depth scale of a sign network, -1/log(2/pi) = 2.2144... < 3 (sec. 4.1)."""
