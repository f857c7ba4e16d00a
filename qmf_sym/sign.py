"""Sign activation: the closed forms of eq. 10-12 of paper 1, derived in sympy from the definition.

Derivation (run by :func:`derive`; written out in derivations/sign_map.md):

1. Eq. 3-4 with phi = sign: write (u1, u2) = sqrt(Q) (z1, C z1 + sqrt(1 - C^2) z2), z ~ N(0, I).
   With C = cos(alpha), alpha in [0, pi], u2 is proportional to cos(t - alpha) in polar coordinates
   z = r (cos t, sin t).  The radial integral of the standard density is 1, so::

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
from ._faces import ClosedForm, register_equation
from .maps import depth_scale

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


def _check_sw_sb(sigma_w, sigma_b):
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)


# ----------------------------------------------------------------------------- eq. 10: Q*
def _q_star_f64(sigma_w, sigma_b=0):
    return np.asarray(sigma_w, float) ** 2 + np.asarray(sigma_b, float) ** 2


def _q_star_mp(sigma_w, sigma_b=0):
    import mpmath

    return mpmath.mpf(sigma_w) ** 2 + mpmath.mpf(sigma_b) ** 2


def _sym_subs(expr, **vals):
    """A sympy face: substitute exact rationals of the float arguments into a derived expression."""
    syms = {"C": C, "sigma_w": sw, "sigma_b": sb}
    subs = {syms[n]: sp.Rational(v) if not isinstance(v, sp.Basic) else v for n, v in vals.items()}
    return expr.subs(subs)


def _check_q(sigma_w, sigma_b=0):
    _check_sw_sb(sigma_w, sigma_b)
    return (sigma_w, sigma_b), {}


q_star = ClosedForm(
    "qmf_sym.sign.q_star", "paper 1, eq. 10",
    f64=_q_star_f64, mp=_q_star_mp, check=_check_q,
    sympy=lambda sigma_w, sigma_b=0: _sym_subs(derive()["Q_star"], **{"sigma_w": sigma_w, "sigma_b": sigma_b}),
    cases=lambda: [((a, b), {}) for a, b in [(1.0, 0.0), (0.3, 2.0), (1e-100, 1e-100), (1e100, 3.0)]],
    rtol=4e-16, signature=lambda sigma_w, sigma_b=0, dps=None: None,
    doc="""Q* = sigma_w^2 + sigma_b^2 (eq. 10).""")


# ----------------------------------------------------------------------------- eq. 12: M(C)
def _asin_f64(C_, deficit, one_plus):
    """arcsin C from whichever argument keeps it exact (near +1 via the deficit, near -1 via 1 + C)."""
    if deficit is not None:
        return np.pi / 2 - 2 * np.arcsin(np.sqrt(np.asarray(deficit, float) / 2))
    if one_plus is not None:
        return 2 * np.arcsin(np.sqrt(np.asarray(one_plus, float) / 2)) - np.pi / 2
    return np.arcsin(np.asarray(C_, float))


def _asin_mp(C_, deficit, one_plus):
    import mpmath

    if deficit is not None:
        return mpmath.pi / 2 - 2 * mpmath.asin(mpmath.sqrt(mpmath.mpf(deficit) / 2))
    if one_plus is not None:
        return 2 * mpmath.asin(mpmath.sqrt(mpmath.mpf(one_plus) / 2)) - mpmath.pi / 2
    return mpmath.asin(mpmath.mpf(C_))


def _shares(sigma_w, sigma_b):
    """(sigma_w^2, sigma_b^2) / (sigma_w^2 + sigma_b^2) through (sigma_b/sigma_w)^2, so that neither
    square under- or overflows (sigma_w = 1e-300 at sigma_b = 0 gives (1, 0), not 0/0)."""
    with np.errstate(over="ignore"):
        s = (np.asarray(sigma_b, float) / np.asarray(sigma_w, float)) ** 2
    w = 1 / (1 + s)
    b = np.where(np.isinf(s), 1.0, s / (1 + np.where(np.isinf(s), 0.0, s)))
    return w, b


def _cmap_f64(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    w, b = _shares(sigma_w, sigma_b)
    return (2 * w / np.pi * _asin_f64(C_, deficit, one_plus) + b)[()]


def _cmap_mp(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    import mpmath

    if deficit is None and one_plus is None:
        return _fn("M", "mpmath")(mpmath.mpf(C_), mpmath.mpf(sigma_w), mpmath.mpf(sigma_b))
    w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
    return (2 * w2 / mpmath.pi * _asin_mp(C_, deficit, one_plus) + b2) / (w2 + b2)


def _corr_value(C_, deficit, one_plus):
    import mpmath

    if deficit is not None:
        return 1 - mpmath.mpf(deficit)
    if one_plus is not None:
        return mpmath.mpf(one_plus) - 1
    return mpmath.mpf(C_)


def _cmap_oracle(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    """E sign(u1) sign(u2) = 4 P(u1 > 0, u2 > 0) - 1 through gaussian.orthant's quadrature."""
    import mpmath

    from . import gaussian as G

    e = 4 * G.orthant.mp(0, 0, C_, deficit, one_plus) - 1
    w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
    return (w2 * e + b2) / (w2 + b2)


def _check_corr(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    _check_sw_sb(sigma_w, sigma_b)
    V.correlation(C_, deficit, name="C_", one_plus=one_plus)
    return (C_, sigma_w, sigma_b), {"deficit": deficit, "one_plus": one_plus}


_CORR_CASES = [dict(C_=0.42), dict(C_=-0.9), dict(C_=0.0), dict(deficit=1e-12), dict(deficit=1e-300),
               dict(one_plus=1e-12), dict(one_plus=1e-300)]

correlation_map = ClosedForm(
    "qmf_sym.sign.correlation_map", "paper 1, eq. 12",
    f64=_cmap_f64, mp=_cmap_mp, check=_check_corr, oracle=_cmap_oracle,
    sympy=lambda C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None: _sym_subs(
        derive()["M"], C=sp.Rational(C_) if C_ is not None else (1 - sp.Rational(deficit) if deficit is not None
                                                                 else sp.Rational(one_plus) - 1),
        sigma_w=sigma_w, sigma_b=sigma_b),
    cases=lambda: [((), dict(c, sigma_w=sw, sigma_b=sb)) for c in _CORR_CASES for sw, sb in ((1.0, 0.0), (0.7, 1.3))],
    rtol=1e-15, atol=3e-16, signature=lambda C_=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None, one_plus=None: None,
    doc="""M(C) = [(2 sigma_w^2/pi) arcsin C + sigma_b^2] / (sigma_w^2 + sigma_b^2)   (eq. 12).

    Near C = 1 pass ``deficit = 1 - C``: arcsin(1 - d) = pi/2 - 2 arcsin(sqrt(d/2)) is used; near
    C = -1 pass ``one_plus = 1 + C``: arcsin(-1 + e) = 2 arcsin(sqrt(e/2)) - pi/2.""")


# ----------------------------------------------------------------------------- eq. 11: chi
def _omc2_f64(C_, deficit, one_plus):
    if deficit is not None:
        d = np.asarray(deficit, float)
        return d * (2 - d)
    if one_plus is not None:
        e = np.asarray(one_plus, float)
        return e * (2 - e)
    c = np.asarray(C_, float)
    return (1 - c) * (1 + c)


def _chi_f64(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    w, _ = _shares(sigma_w, sigma_b)
    return (2 * w / (np.pi * np.sqrt(_omc2_f64(C_, deficit, one_plus))))[()]


def _chi_mp(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    import mpmath

    if deficit is not None:
        d = mpmath.mpf(deficit)
        omc2 = d * (2 - d)
    elif one_plus is not None:
        e = mpmath.mpf(one_plus)
        omc2 = e * (2 - e)
    else:
        c = mpmath.mpf(C_)
        omc2 = (1 - c) * (1 + c)
    w2, b2 = mpmath.mpf(sigma_w) ** 2, mpmath.mpf(sigma_b) ** 2
    return 2 * w2 / (mpmath.pi * (w2 + b2) * mpmath.sqrt(omc2))


def _check_chi(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    args, kw = _check_corr(C_, sigma_w, sigma_b, deficit, one_plus)
    if np.any(_omc2_f64(C_, deficit, one_plus) <= 0):
        raise ValueError("C_ must be in (-1, 1) for chi (eq. 11 diverges at |C| = 1)")
    return args, kw


def _chi_oracle(C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    """eq. 10's route: 4 sigma_w^2 n_2(0, 0; Q*, C) = 4 sigma_w^2 bvn_pdf(0, 0; C) / Q*."""
    from . import gaussian as G

    return 4 * _q_star_mp(sigma_w, 0) * G.bvn_pdf.mp(0, 0, C_, deficit, one_plus) / _q_star_mp(sigma_w, sigma_b)


chi = ClosedForm(
    "qmf_sym.sign.chi", "paper 1, eq. 11",
    f64=_chi_f64, mp=_chi_mp, check=_check_chi, oracle=_chi_oracle,
    sympy=lambda C_=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None: _sym_subs(
        derive()["chi"], C=sp.Rational(C_) if C_ is not None else (1 - sp.Rational(deficit) if deficit is not None
                                                                   else sp.Rational(one_plus) - 1),
        sigma_w=sigma_w, sigma_b=sigma_b),
    cases=lambda: [((), dict(c, sigma_w=sw, sigma_b=sb)) for c in _CORR_CASES[:4] + [dict(one_plus=1e-12)]
                   for sw, sb in ((1.0, 0.0), (0.7, 1.3))],
    rtol=2e-15, signature=lambda C_=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None, one_plus=None: None,
    doc="""chi = 2 sigma_w^2 / (pi (sigma_w^2 + sigma_b^2) sqrt(1 - C^2))   (eq. 11); ``|C| < 1``.

    Near C = 1 pass ``deficit = 1 - C``, near C = -1 ``one_plus = 1 + C`` (1 - C^2 is then formed
    without cancellation; a float C = -1 + e carries an absolute error ~1e-16 in 1 + C).""")


# ----------------------------------------------------------------------------- fixed point
def fixed_point(sigma_w, sigma_b=0, dps=None):
    """(C*, chi*) of the sign network: the stable root of C = M(C) in [0, 1) (eq. 12) and eq. 11 there.

    Solved in the variable s = arcsin C*: sin s = a (2 s / pi) + 1 - a with a = sigma_w^2 / Q*;
    chi* = tan(x) / (2x) with x = pi/4 - s/2.  Only the ratio sigma_b / sigma_w enters, so it is
    formed first (sigma_w = 1e300 works).
    """
    _check_sw_sb(sigma_w, sigma_b)
    dps = V.dps(dps)
    import mpmath

    prec = 17 if dps is None else V.guard_digits(dps)
    with mpmath.workdps(prec):
        ratio = mpmath.mpf(sigma_b) / mpmath.mpf(sigma_w)
        a = 1 / (1 + ratio ** 2)  # sigma_w^2 / Q*
        if ratio == 0:
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


register_equation("qmf_sym.sign.fixed_point", "paper 1, eq. 11-12, Appendix L.1", "(C*, chi*) of the sign network",
                  faces=("f64", "mp"))

CHI_MAX = 2 / np.pi
"""The sup of chi* over all sigma_w > 0, sigma_b >= 0, reached at sigma_b = 0 (Appendix L.1)."""

XI_MAX = float(depth_scale(CHI_MAX))
"""The largest depth scale of a sign network, -1/log(2/pi) = 2.2144... < 3 (sec. 4.1; eq. 7)."""
