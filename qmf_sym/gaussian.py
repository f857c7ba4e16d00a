"""Gaussian building blocks at any precision.

Standard normal pdf/cdf, the bivariate normal density and CDF Phi_2(h, k; rho), and the
"excess" Phi_2(h, k; rho) - Phi(h) Phi(k) = Cov(1{X <= h}, 1{Y <= k}), from which every mean-field
map of a staircase is assembled (paper 1, eq. 4-6, 14-15).

Accuracy near rho -> +-1.  The correlation may be given as ``deficit = 1 - rho``.  All formulas
are written in terms of the deficit so that nothing of the form 1 - rho is ever formed by
subtraction:

* density: 1 - rho^2 = delta (2 - delta) and h^2 - 2 rho h k + k^2 = (h - k)^2 + 2 delta h k;
* excess: for |rho| <= 1/sqrt(2) the Sheppard/Plackett integral over theta in [0, arcsin rho]
      (1/2pi) int exp(-(h^2 - 2 h k sin t + k^2) / (2 cos^2 t)) dt,
  for rho > 1/sqrt(2) the complementary form from rho = 1 (where the excess is
  Phi(min) Phi(-max)) over v in [0, arccos rho], arccos rho = 2 arcsin(sqrt(delta / 2)):
      Phi(min(h,k)) Phi(-max(h,k)) - (1/2pi) int exp(-((h-k)^2 + 4 h k sin^2(v/2)) / (2 sin^2 v)) dv,
  and for rho < -1/sqrt(2) the reflection excess(h, k; rho) = -excess(h, -k; -rho).
  Both integrands are smooth on the open interval; their only endpoint feature is an
  exp(-c / v^2) layer, which tanh-sinh quadrature resolves.

The float64 face evaluates the same quantity through Owen's T function (scipy, absolute error
~1e-16); the ``dps`` face integrates the formulas above with ``mpmath.quad`` (tanh-sinh) at guard
precision.  The two faces are independent algorithms.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from . import _validate as V

SQRT2PI = math.sqrt(2 * math.pi)
_SWITCH = 1 / math.sqrt(2)  # |rho| above which the complementary form is used


# ----------------------------------------------------------------------------- univariate
def _exp_half_square(x):
    """exp(-x^2/2) to a few ulp for any x: x^2 is split exactly (Dekker) before exponentiating."""
    c = 134217729.0 * x  # 2^27 + 1
    xh = c - (c - x)
    xl = x - xh
    hi = x * x
    lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
    return np.exp(-0.5 * hi) * np.exp(-0.5 * lo)


def pdf(x, dps=None):
    """Standard normal density n(x) = exp(-x^2/2)/sqrt(2 pi) (relative accuracy a few ulp)."""
    dps = V.dps(dps)
    if dps is None:
        x = np.asarray(x, dtype=float)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(np.abs(x) < 1e150, _exp_half_square(x), 0.0) / SQRT2PI
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        return +mpmath.npdf(mpmath.mpf(x))


def cdf(x, dps=None):
    """Standard normal CDF Phi(x) (accurate in both tails: relative error, not absolute)."""
    dps = V.dps(dps)
    if dps is None:
        x = np.asarray(x, dtype=float)
        # lower tail: Phi(x) = erfcx(-x/sqrt2) exp(-x^2/2) / 2 keeps relative accuracy (ndtr loses
        # ~x^2 ulp there through the rounding of x/sqrt2 inside erfc)
        with np.errstate(invalid="ignore", over="ignore"):
            tail = 0.5 * special.erfcx(-x / math.sqrt(2)) * np.where(x > -1e150, _exp_half_square(x), 0.0)
        return np.where(x < -1, tail, special.ndtr(x))[()]
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        x = mpmath.mpf(x)
        return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


# ----------------------------------------------------------------------------- helpers
def _rho_delta(rho, deficit, name="rho"):
    """Return (rho, delta = 1 - rho) as floats/arrays without forming 1 - rho from a rounded rho."""
    rho, deficit = V.correlation(rho, deficit, name=name)
    if deficit is not None:
        d = np.asarray(deficit, dtype=float)
        return 1.0 - d, d
    r = np.asarray(rho, dtype=float)
    return r, 1.0 - r


# ----------------------------------------------------------------------------- bivariate density
def bvn_pdf(x, y, rho=None, dps=None, deficit=None):
    """Standard bivariate normal density with correlation rho (or deficit = 1 - rho).

    n_2(x, y; rho) = exp(-(x^2 - 2 rho x y + y^2) / (2 (1 - rho^2))) / (2 pi sqrt(1 - rho^2)).
    Requires |rho| < 1 (the density is singular at |rho| = 1).
    """
    dps = V.dps(dps)
    if dps is not None:
        return _bvn_pdf_mp(x, y, rho, deficit, dps)
    r, d = _rho_delta(rho, deficit)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if np.any(d <= 0) or np.any(r <= -1):
        raise ValueError("rho must be in (-1, 1) for the bivariate density (deficit in (0, 2))")
    e = 1.0 + r  # 1 + rho
    one_m_r2 = np.where(r >= 0, d * (2 - d), e * (2 - e))
    quad = np.where(r >= 0, (x - y) ** 2 + 2 * d * x * y, (x + y) ** 2 - 2 * e * x * y)
    return np.exp(-quad / (2 * one_m_r2)) / (2 * np.pi * np.sqrt(one_m_r2))


def _mp_rho_delta(rho, deficit, name="rho"):
    """mpmath version of :func:`_rho_delta` (at the current working precision)."""
    import mpmath

    V.correlation(rho, deficit, name=name)
    if deficit is not None:
        d = mpmath.mpf(deficit)
        return 1 - d, d
    r = mpmath.mpf(rho)
    return r, 1 - r


def _bvn_pdf_mp(x, y, rho, deficit, dps):
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        r, d = _mp_rho_delta(rho, deficit)
        if d <= 0 or r <= -1:
            raise ValueError("rho must be in (-1, 1) for the bivariate density (deficit in (0, 2))")
        x, y = mpmath.mpf(x), mpmath.mpf(y)
        if r >= 0:
            one_m_r2, quad = d * (2 - d), (x - y) ** 2 + 2 * d * x * y
        else:
            e = 1 + r
            one_m_r2, quad = e * (2 - e), (x + y) ** 2 - 2 * e * x * y
        return mpmath.exp(-quad / (2 * one_m_r2)) / (2 * mpmath.pi * mpmath.sqrt(one_m_r2))


# ----------------------------------------------------------------------------- excess / CDF
def _excess_f64(h, k, r, d):
    """Vectorised excess Phi_2(h,k;r) - Phi(h)Phi(k) via Owen's T function (float64 face).

    Owen (1956): Phi_2(h, k; r) = [Phi(h) + Phi(k)]/2 - T(h, a_h) - T(k, a_k) - beta with
    a_h = (k - r h) / (h sqrt(1 - r^2)), a_k = (h - r k) / (k sqrt(1 - r^2)), beta = 1/2 if
    h k < 0 or (h k = 0 and h + k < 0), else 0; for h = 0: Phi_2 = Phi(k)/2 - T(k, -r/sqrt(1-r^2)).
    k - r h is formed as (k - h) + delta h (delta = 1 - r) so that nothing cancels near r = 1.
    scipy's owens_t (Patefield-Tandy) is accurate to ~1e-16 absolute.  This is an algorithm
    independent of the quadrature used by the ``dps`` face, so the two faces check each other.
    """
    h, k, r, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, r, d)))
    e = 1.0 + r
    pos = r >= 0
    omr2 = np.where(pos, d * (2 - d), e * (2 - e))
    sq = np.sqrt(omr2)
    kmrh = np.where(pos, (k - h) + d * h, (k + h) - e * h)
    hmrk = np.where(pos, (h - k) + d * k, (h + k) - e * k)
    Ph, Pk = cdf(h), cdf(k)
    hz, kz = h == 0, k == 0
    ok = sq > 0
    hs = np.where(hz | ~ok, 1.0, h)
    ks = np.where(kz | ~ok, 1.0, k)
    sqs = np.where(ok, sq, 1.0)
    with np.errstate(over="ignore", divide="ignore"):
        Th = special.owens_t(hs, kmrh / (hs * sqs))
        Tk = special.owens_t(ks, hmrk / (ks * sqs))
    sh, sk = np.sign(h), np.sign(k)  # signs, not the product h k (which can underflow)
    beta = np.where((sh * sk < 0) | ((sh * sk == 0) & (h + k < 0)), 0.5, 0.0)
    p2 = 0.5 * (Ph + Pk) - Th - Tk - beta
    p2 = np.where(hz & ~kz, 0.5 * Pk - Tk, p2)
    p2 = np.where(kz & ~hz, 0.5 * Ph - Th, p2)
    asin_r = np.where(pos, np.pi / 2 - 2 * np.arcsin(np.sqrt(d / 2)), 2 * np.arcsin(np.sqrt(np.abs(e) / 2)) - np.pi / 2)
    p2 = np.where(hz & kz, 0.25 + asin_r / (2 * np.pi), p2)
    # |r| = 1 exactly: degenerate limits
    p2 = np.where(~ok & pos, special.ndtr(np.minimum(h, k)), p2)
    p2 = np.where(~ok & ~pos, np.maximum(0.0, Ph + Pk - 1.0), p2)
    return p2 - Ph * Pk


def _excess_mp(h, k, r, d):
    """mpmath excess at the current working precision (r, d mpf with d = 1 - r)."""
    import mpmath

    sgn = 1
    if r < -_SWITCH:
        sgn, k, d, r = -1, -k, 1 + r, -r
    twopi = 2 * mpmath.pi
    if abs(r) <= _SWITCH:
        a = mpmath.asin(r)
        f = lambda t: mpmath.exp(-(h * h - 2 * h * k * mpmath.sin(t) + k * k) / (2 * mpmath.cos(t) ** 2))
        val = mpmath.quad(f, [0, a]) / twopi
    else:
        b = 2 * mpmath.asin(mpmath.sqrt(d / 2))

        def f(v):
            if v == 0:
                return mpmath.mpf(0) if h != k else mpmath.exp(-h * h / 2)
            return mpmath.exp(-((h - k) ** 2 + 4 * h * k * mpmath.sin(v / 2) ** 2) / (2 * mpmath.sin(v) ** 2))

        lo, hi = min(h, k), max(h, k)
        ncdf = lambda z: mpmath.erfc(-z / mpmath.sqrt(2)) / 2
        val = ncdf(lo) * ncdf(-hi) - mpmath.quad(f, [0, b]) / twopi
    return sgn * val


def bvn_excess(h, k, rho=None, dps=None, deficit=None):
    """Phi_2(h, k; rho) - Phi(h) Phi(k) = Cov(1{X <= h}, 1{Y <= k}) for a standard bivariate normal.

    This is the building block of the correlation map (paper 1, eq. 5): it carries no
    cancellation at small rho (it is O(rho)) and is written through the deficit near rho = 1.
    """
    dps = V.dps(dps)
    if dps is None:
        r, d = _rho_delta(rho, deficit)
        return _excess_f64(h, k, r, d)
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        r, d = _mp_rho_delta(rho, deficit)
        return _excess_mp(mpmath.mpf(h), mpmath.mpf(k), r, d)


def bvn_cdf(h, k, rho=None, dps=None, deficit=None):
    """Bivariate normal CDF Phi_2(h, k; rho) = P(X <= h, Y <= k), corr(X, Y) = rho (or 1 - deficit).

    Orthant probabilities follow as P(X > a, Y > b) = bvn_cdf(-a, -b, rho).
    """
    dps = V.dps(dps)
    if dps is None:
        return cdf(h) * cdf(k) + bvn_excess(h, k, rho, deficit=deficit)
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        return cdf(h, dps=dps) * cdf(k, dps=dps) + bvn_excess(h, k, rho, dps=dps, deficit=deficit)


def orthant(a, b, rho=None, dps=None, deficit=None):
    """P(X > a, Y > b) for a standard bivariate normal with correlation rho (or 1 - deficit)."""
    dps = V.dps(dps)
    if dps is None:
        return bvn_cdf(-np.asarray(a, dtype=float), -np.asarray(b, dtype=float), rho, deficit=deficit)
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        return bvn_cdf(-mpmath.mpf(a), -mpmath.mpf(b), rho, dps=dps, deficit=deficit)
