"""Gaussian building blocks at any precision: the one home of the normal pdf, cdf, cell
probabilities, the bivariate density, Phi_2 and its excess.

Standard normal pdf/cdf (and log cdf), cell probabilities P(a < z <= b), the bivariate normal
density and CDF Phi_2(h, k; rho), orthants, and the "excess" Phi_2(h, k; rho) - Phi(h) Phi(k) =
Cov(1{X <= h}, 1{Y <= k}), from which every mean-field map of a staircase is assembled (paper 1,
eq. 4-6, 14-15).  Every public function is a :class:`qmf_sym._faces.ClosedForm`: ``dps=None`` gives
float64 (vectorised), ``dps=k`` mpmath at k digits; internal kernels call the raw faces
``cdf.f64(x)`` / ``cdf.mp(x)`` without re-validation.  The univariate forms (pdf, cdf, logcdf,
cell_probability) are written in the private :mod:`qmf_sym._gaussian_univariate` and re-exported here.

Accuracy near rho -> +-1.  The correlation may be given as ``deficit = 1 - rho`` (near +1) or
``one_plus = 1 + rho`` (near -1), so that nothing of the form 1 -+ rho is formed by subtraction:

* density: 1 - rho^2 = delta (2 - delta) and h^2 - 2 rho h k + k^2 = (h - k)^2 + 2 delta h k;
* excess, for rho >= 0 (v = arccos of the correlation, beta = arccos rho = 2 arcsin(sqrt(delta/2)))::

      excess(h, k; rho)      = (1/2pi) int_beta^{pi/2} g(v) dv,
      complement(h, k; delta) = Phi(min) Phi(-max) - excess = (1/2pi) int_0^beta g(v) dv,
      g(v) = exp(-E(v)),  E(v) = ((h - k)^2 + 4 h k sin^2(v/2)) / (2 sin^2 v)

  (Sheppard/Plackett's formula with t = pi/2 - v); for rho < 0 the reflection
  excess(h, k; rho) = -excess(h, -k; -rho).  Both integrands are positive: no cancellation.  E has
  its only interior critical point at ``cos v = min(|h|,|k|)/max(|h|,|k|)`` (when h k > 0); the ``dps``
  face factors out exp(-min E) and puts that point on the quadrature's break list, so the
  tanh-sinh rule keeps *relative* accuracy however far in the tails the offsets lie (an
  earlier version, integrating the unscaled integrand, lost all digits past ~12-16 sigma
  because mpmath's stopping rule is absolute).

The float64 face evaluates the excess through Owen's T function (scipy, absolute error ~1e-16);
the ``dps`` face integrates the formulas above with ``mpmath.quad`` at guard precision.  The two
faces are independent algorithms.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from . import _validate as V
from ._faces import ClosedForm
from ._gaussian_univariate import SQRT2PI, _cdf_f64, _cdf_mp, _pdf_f64, cdf, cell_probability, logcdf, pdf
from ._numbers import to_mpf

_SWITCH = 1 / math.sqrt(2)  # rho above which the short complementary integral is tried first

__all__ = ["pdf", "cdf", "logcdf", "cell_probability", "bvn_pdf", "bvn_excess", "bvn_complement",
           "bvn_cdf", "orthant", "SQRT2PI"]


# ----------------------------------------------------------------------------- correlation helpers
def _rho_delta(rho, deficit, name="rho", one_plus=None):
    """Return (rho, delta = 1 - rho) as floats/arrays without forming 1 - rho from a rounded rho.

    With ``one_plus = 1 + rho`` given, rho = one_plus - 1 (delta = 2 - one_plus is exact enough:
    delta is >= 1 there); use :func:`_rho_delta_e` to also get 1 + rho exactly.
    """
    r, d, _ = _rho_delta_e(rho, deficit, name, one_plus)
    return r, d


def _rho_delta_e(rho, deficit, name="rho", one_plus=None):
    """(rho, 1 - rho, 1 + rho) as float arrays, each from the argument that keeps it exact."""
    V.correlation(rho, deficit, name=name, one_plus=one_plus)
    if deficit is not None:
        d = np.asarray(deficit, dtype=float)
        return 1.0 - d, d, 2.0 - d
    if one_plus is not None:
        e = np.asarray(one_plus, dtype=float)
        return e - 1.0, 2.0 - e, e
    r = np.asarray(rho, dtype=float)
    return r, 1.0 - r, 1.0 + r


def _mp_rho_delta(rho, deficit, name="rho", one_plus=None):
    """mpmath version of :func:`_rho_delta` (at the current working precision); no validation."""
    r, d, _ = _mp_rho_delta_e(rho, deficit, one_plus)
    return r, d


def _mp_rho_delta_e(rho, deficit, one_plus=None):
    import mpmath

    if deficit is not None:
        d = mpmath.mpf(deficit)
        return 1 - d, d, 2 - d
    if one_plus is not None:
        e = mpmath.mpf(one_plus)
        return e - 1, 2 - e, e
    r = mpmath.mpf(rho)
    return r, 1 - r, 1 + r


def _check_corr(*args, rho=None, deficit=None, one_plus=None, names=("x", "y"), open_=False):
    for n, a in zip(names, args):
        V.real(n, a)
    V.correlation(rho, deficit, name="rho", one_plus=one_plus)
    if open_:
        r, d, e = _rho_delta_e(rho, deficit, "rho", one_plus)
        if np.any(d <= 0) or np.any(e <= 0):
            raise ValueError("rho must be in (-1, 1) for the bivariate density (deficit, one_plus in (0, 2))")
    return args, {"rho": rho, "deficit": deficit, "one_plus": one_plus}


# ----------------------------------------------------------------------------- bivariate density
def _bvn_pdf_f64(x, y, rho=None, deficit=None, one_plus=None):
    r, d, e = _rho_delta_e(rho, deficit, "rho", one_plus)
    return _bvn_pdf_rde_f64(x, y, r, d, e)


def _bvn_pdf_rde_f64(x, y, r, d, e):
    """Kernel of :func:`bvn_pdf` from rho, 1 - rho, 1 + rho (float arrays, no validation)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    one_m_r2 = np.where(r >= 0, d * (2 - d), e * (2 - e))
    with np.errstate(invalid="ignore"):
        quad = np.where(r >= 0, (x - y) ** 2 + 2 * d * x * y, (x + y) ** 2 - 2 * e * x * y)
    dens = np.exp(-quad / (2 * one_m_r2)) / (2 * np.pi * np.sqrt(one_m_r2))
    return np.where(np.isfinite(x) & np.isfinite(y), dens, 0.0)[()]  # no mass at infinity (inf - inf)


def _bvn_pdf_mp(x, y, rho=None, deficit=None, one_plus=None):
    r, d, e = _mp_rho_delta_e(rho, deficit, one_plus)
    return _bvn_pdf_rde_mp(x, y, r, d, e)


def _bvn_pdf_rde_mp(x, y, r, d, e):
    """Kernel of :func:`bvn_pdf` from rho, 1 - rho, 1 + rho (mpmath, current precision)."""
    import mpmath

    x, y = mpmath.mpf(x), mpmath.mpf(y)
    if not (mpmath.isfinite(x) and mpmath.isfinite(y)):
        return mpmath.mpf(0)
    if r >= 0:
        one_m_r2, quad = d * (2 - d), (x - y) ** 2 + 2 * d * x * y
    else:
        one_m_r2, quad = e * (2 - e), (x + y) ** 2 - 2 * e * x * y
    return mpmath.exp(-quad / (2 * one_m_r2)) / (2 * mpmath.pi * mpmath.sqrt(one_m_r2))


def _bvn_pdf_oracle(x, y, rho=None, deficit=None, one_plus=None):
    """n(x) times the conditional density of y given x (an independent factorisation)."""
    import mpmath

    r, d, e = _mp_rho_delta_e(rho, deficit, one_plus)
    s = mpmath.sqrt(d * e)
    return mpmath.npdf(mpmath.mpf(x)) * mpmath.npdf((mpmath.mpf(y) - r * x) / s) / s


_BVN_CASES = [(0.0, 0.0), (0.3, -1.2), (2.0, 2.0), (-3.0, 1.0), (8.0, 7.0), (15.0, 15.0), (-14.0, -13.0), (1e-5, 2e-5)]
_RHOS = [dict(rho=0.0), dict(rho=0.5), dict(rho=-0.5), dict(rho=0.9), dict(rho=-0.95),
         dict(deficit=1e-6), dict(deficit=1e-12), dict(one_plus=1e-6), dict(one_plus=1e-12)]

bvn_pdf = ClosedForm(
    "qmf_sym.gaussian.bvn_pdf", "bivariate normal density n_2 (paper 1, eq. 15)",
    f64=_bvn_pdf_f64, mp=_bvn_pdf_mp, oracle=_bvn_pdf_oracle,
    check=lambda x, y, rho=None, deficit=None, one_plus=None: _check_corr(x, y, rho=rho, deficit=deficit,
                                                                           one_plus=one_plus, open_=True),
    cases=lambda: [((x, y), kw) for x, y in _BVN_CASES[:4] + _BVN_CASES[-1:] for kw in _RHOS],
    rtol=5e-13, atol=1e-300,
    doc="""Standard bivariate normal density with correlation rho (or ``deficit = 1 - rho``, or
    ``one_plus = 1 + rho``); ``bvn_pdf(x, y, rho=None, dps=None, deficit=None, one_plus=None)``.

    n_2(x, y; rho) = exp(-(x^2 - 2 rho x y + y^2) / (2 (1 - rho^2))) / (2 pi sqrt(1 - rho^2)).
    Requires ``|rho| < 1`` (the density is singular at ``|rho| = 1``).""")


# ----------------------------------------------------------------------------- excess / CDF
def _excess_f64(h, k, r, d, e=None):
    """Vectorised excess Phi_2(h,k;r) - Phi(h)Phi(k) via Owen's T function (float64 face).

    Owen (1956): Phi_2(h, k; r) = [Phi(h) + Phi(k)]/2 - T(h, a_h) - T(k, a_k) - beta with
    a_h = (k - r h) / (h sqrt(1 - r^2)), a_k = (h - r k) / (k sqrt(1 - r^2)), beta = 1/2 if
    h k < 0 or (h k = 0 and h + k < 0), else 0; for h = 0: Phi_2 = Phi(k)/2 - T(k, -r/sqrt(1-r^2)).
    k - r h is formed as (k - h) + delta h (delta = 1 - r) so that nothing cancels near r = 1, and
    with e = 1 + r near r = -1.  scipy's owens_t (Patefield-Tandy) is accurate to ~1e-16 absolute.
    """
    if e is None:
        e = 1.0 + np.asarray(r, dtype=float)
    h, k, r, d, e = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (h, k, r, d, e)))
    # a subnormal offset is 0 to within n(0) |h| < 1e-308 (absolute): Owen's arguments (k - r h) / (h s)
    # formed from its one or two significant bits were wrong by O(1) (Phi_2(5e-324, 0; 1/2) = 3/8, not 1/3)
    h = np.where(np.abs(h) < V.TINY, 0.0, h)
    k = np.where(np.abs(k) < V.TINY, 0.0, k)
    pos = r >= 0
    omr2 = np.where(pos, d * (2 - d), e * (2 - e))
    sq = np.sqrt(omr2)
    with np.errstate(invalid="ignore"):  # inf - inf at an infinite limit: replaced by 0 at the end
        kmrh = np.where(pos, (k - h) + d * h, (k + h) - e * h)
        hmrk = np.where(pos, (h - k) + d * k, (h + k) - e * k)
    Ph, Pk = _cdf_f64(h), _cdf_f64(k)
    hz, kz = h == 0, k == 0
    ok = sq > 0
    hs = np.where(hz | ~ok, 1.0, h)
    ks = np.where(kz | ~ok, 1.0, k)
    sqs = np.where(ok, sq, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        Th = special.owens_t(hs, kmrh / (hs * sqs))
        Tk = special.owens_t(ks, hmrk / (ks * sqs))
    sh, sk = np.sign(h), np.sign(k)  # signs, not the product h k (which can underflow)
    with np.errstate(invalid="ignore"):
        beta = np.where((sh * sk < 0) | ((sh * sk == 0) & (h + k < 0)), 0.5, 0.0)
        p2 = 0.5 * (Ph + Pk) - Th - Tk - beta
    p2 = np.where(hz & ~kz, 0.5 * Pk - Tk, p2)
    p2 = np.where(kz & ~hz, 0.5 * Ph - Th, p2)
    asin_r = np.where(pos, np.pi / 2 - 2 * np.arcsin(np.sqrt(d / 2)), 2 * np.arcsin(np.sqrt(np.abs(e) / 2)) - np.pi / 2)
    p2 = np.where(hz & kz, 0.25 + asin_r / (2 * np.pi), p2)
    # |r| = 1 exactly: degenerate limits
    p2 = np.where(~ok & pos, special.ndtr(np.minimum(h, k)), p2)
    p2 = np.where(~ok & ~pos, np.maximum(0.0, Ph + Pk - 1.0), p2)
    # an infinite limit: Phi_2(+-inf, k) = Phi(+-inf) Phi(k) exactly, so the excess is 0 (Owen's
    # formula gives inf - inf there)
    return np.where(np.isfinite(h) & np.isfinite(k), p2 - Ph * Pk, 0.0)


def _E_v(h, k):
    """The exponent E(v) = ((h-k)^2 + 4 h k sin^2(v/2)) / (2 sin^2 v) and its minimiser data (mpmath)."""
    import mpmath

    def E(v):
        s = mpmath.sin(v)
        if s == 0:
            return h * h / 2 if h == k else mpmath.inf
        return ((h - k) ** 2 + 4 * h * k * mpmath.sin(v / 2) ** 2) / (2 * s * s)

    return E


def _vstar(h, k):
    """Interior critical point of E on (0, pi/2): cos v = min(|h|,|k|)/max(|h|,|k|) when h k > 0."""
    import mpmath

    if h * k <= 0 or h == k:
        return None
    return mpmath.acos(min(abs(h), abs(k)) / max(abs(h), abs(k)))


def _E_t(h, k):
    """E in the Sheppard variable t = pi/2 - v: (h^2 + k^2 - 2 h k sin t) / (2 cos^2 t) (mpmath)."""
    import mpmath

    def E(t):
        c = mpmath.cos(t)
        return (h * h + k * k - 2 * h * k * mpmath.sin(t)) / (2 * c * c)

    return E


def _scaled_integral_t(terms, hi):
    """(1/2pi) int_0^hi sum_j w_j exp(-E_j(t)) dt in the Sheppard variable t (0 <= hi <= pi/4):
    accurate for small correlations (hi = arcsin rho is formed directly), scaled like
    :func:`_scaled_integral`."""
    import mpmath

    if hi <= 0:
        return mpmath.mpf(0)
    mins, peaks = [], []
    for w, h, k in terms:
        E = _E_t(h, k)
        vals = [E(mpmath.mpf(0)), E(hi)]
        if h * k > 0 and h != k:
            ts = mpmath.asin(min(abs(h), abs(k)) / max(abs(h), abs(k)))
            if 0 < ts < hi:
                vals.append(E(ts))
                if max(abs(h), abs(k)) > 6:
                    peaks.append((vals[-1], ts))
        mins.append(min(vals))
    Emin = min(mins)
    cut = (mpmath.mp.dps + 5) * mpmath.log(10)
    breaks = sorted({ts for ev, ts in peaks if ev - Emin < cut})
    coef = [(w, h * h + k * k, 2 * h * k) for w, h, k in terms]

    def f(t):
        c2, st = 2 * mpmath.cos(t) ** 2, mpmath.sin(t)
        return mpmath.fsum(w * mpmath.exp(Emin - (a - b * st) / c2) for w, a, b in coef)

    return mpmath.exp(-Emin) * _quad_unit(f, mpmath.mpf(0), hi, breaks) / (2 * mpmath.pi)


def _quad_unit(f, lo, hi, breaks=()):
    """int_lo^hi f by mpmath.quad on [0, 1] (v = lo + (hi - lo) t): its stopping rule is absolute, so an
    integral over a tiny interval (hi - lo ~ 1e-60 at 1 - C ~ 1e-120) stopped at the first level with 14
    correct digits; on [0, 1] an O(1) integrand keeps every digit."""
    import mpmath

    w = hi - lo
    ts = [mpmath.mpf(0)] + [(b - lo) / w for b in breaks] + [mpmath.mpf(1)]
    return w * mpmath.quad(lambda t: f(lo + w * t), ts)


def _scaled_integral(terms, lo, hi):
    """(1/2pi) int_lo^hi sum_j w_j exp(-E_j(v)) dv over [lo, hi] subset [0, pi/2], computed as
    exp(-Emin) (1/2pi) int sum_j w_j exp(-(E_j - Emin)): the peak of the scaled integrand is O(1),
    so mpmath's absolute stopping rule gives relative accuracy.  ``terms``: list of (w, h, k).
    Interior peaks that are sharp (max(|h|, |k|) > 6, width ~ 1/max) and not negligible at the
    working precision go on the break list, so that they are interval ends for tanh-sinh."""
    import mpmath

    if hi <= lo:
        return mpmath.mpf(0)
    mins, peaks = [], []
    for w, h, k in terms:
        E = _E_v(h, k)
        vals = [E(lo), E(hi)]
        vs = _vstar(h, k)
        if vs is not None and lo < vs < hi:
            ev = E(vs)
            vals.append(ev)
            if max(abs(h), abs(k)) > 6:
                peaks.append((ev, vs))
        mins.append(min(vals))
    Emin = min(mins)
    if not mpmath.isfinite(Emin):
        return mpmath.mpf(0)
    cut = (mpmath.mp.dps + 5) * mpmath.log(10)
    breaks = sorted({vs for ev, vs in peaks if ev - Emin < cut})

    coef = [(w, (h - k) ** 2, 4 * h * k, h * h / 2 if h == k else None) for w, h, k in terms]

    def f(v):
        s = mpmath.sin(v)
        if s == 0:
            return mpmath.fsum(w * mpmath.exp(Emin - e0) for w, a, b, e0 in coef if e0 is not None)
        s2, den = mpmath.sin(v / 2) ** 2, 2 * s * s
        return mpmath.fsum(w * mpmath.exp(Emin - (a + b * s2) / den) for w, a, b, e0 in coef)

    return mpmath.exp(-Emin) * _quad_unit(f, lo, hi, breaks) / (2 * mpmath.pi)


def _excess_mp(h, k, r, d, e=None):
    """mpmath excess at the current working precision (r, d = 1 - r, e = 1 + r mpf)."""
    import mpmath

    h, k = mpmath.mpf(h), mpmath.mpf(k)
    if not (mpmath.isfinite(h) and mpmath.isfinite(k)):
        return mpmath.mpf(0)  # Phi_2(+-inf, k) = Phi(+-inf) Phi(k): no excess
    if e is None:
        e = 1 + r
    sgn = 1
    if r < 0:  # reflection: excess(h, k; r) = -excess(h, -k; -r); 1 - (-r) = e
        sgn, k, d, r = -1, -k, e, -r
        return sgn * _excess_sum_mp([(1, h, k)], d, r)
    return _excess_sum_mp([(1, h, k)], d, r)


def _excess_sum_mp(terms, d, r=None):
    """sum_j w_j excess(h_j, k_j; 1 - d) for d in [0, 1] (w_j > 0), mpmath at the current precision.

    Near rho = 1 (d < 1 - 1/sqrt2) the short complementary integral over [0, beta] is used,
    excess = Phi(min) Phi(-max) - complement, when that subtraction cancels fewer than 5 digits
    (the guard digits absorb them); otherwise (and for smaller rho) the direct integral over
    [beta, pi/2], whose integrand is positive, keeps full relative accuracy in the far tails."""
    import mpmath

    if r is None:
        r = 1 - d
    if r == 0:
        return mpmath.mpf(0)
    if r <= _SWITCH:  # Sheppard's variable: the interval is arcsin(r), formed without cancellation
        return _scaled_integral_t(terms, mpmath.asin(r))
    beta = 2 * mpmath.asin(mpmath.sqrt(d / 2))  # arccos of the correlation
    if d < 1 - _SWITCH:
        P = mpmath.fsum(w * _cdf_mp(min(h, k)) * _cdf_mp(-max(h, k)) for w, h, k in terms)
        val = P - _scaled_integral(terms, mpmath.mpf(0), beta)
        if val > P * mpmath.mpf(10) ** -5:
            return val
    return _scaled_integral(terms, beta, mpmath.pi / 2)


def _complement_mp(h, k, d):
    """Phi(min) Phi(-max) - excess(h, k; 1 - d) = (1/2pi) int_0^beta g(v) dv (mpmath, d in [0, 1])."""
    import mpmath

    beta = 2 * mpmath.asin(mpmath.sqrt(mpmath.mpf(d) / 2))
    return _scaled_integral([(1, mpmath.mpf(h), mpmath.mpf(k))], mpmath.mpf(0), beta)


def _excess_oracle(h, k, rho=None, deficit=None, one_plus=None):
    """The defining 1-D integral of Phi_2 minus Phi(h)Phi(k), written on the side of h away from
    the bulk: int_{-inf}^h n(x) [Phi((k - r x)/s) - Phi(k)] dx for h < 0, and
    int_h^inf n(x) [Phi((r x - k)/s) - Phi(-k)] dx for h >= 0 (s = sqrt(1 - r^2))."""
    import mpmath

    r, d, e = _mp_rho_delta_e(rho, deficit, one_plus)
    h, k = mpmath.mpf(h), mpmath.mpf(k)
    s = mpmath.sqrt(d * e)
    def dPhi(a, b):  # Phi(a) - Phi(b), from the tails on the side away from 0
        return mpmath.ncdf(-b) - mpmath.ncdf(-a) if a + b > 0 else mpmath.ncdf(a) - mpmath.ncdf(b)

    if h < 0:
        f = lambda x: mpmath.npdf(x) * dPhi((k - r * x) / s, k)
        pts = [-mpmath.inf, h - 8, h - 1, h - mpmath.mpf(1) / 16, h]
    else:
        f = lambda x: mpmath.npdf(x) * dPhi((r * x - k) / s, -k)
        pts = [h, h + mpmath.mpf(1) / 16, h + 1, h + 8, mpmath.inf]
    if r != 0:  # the conditional CDF steps at x = k / r over a width s / |r|: put it on the break list
        x0, wd = k / r, s / abs(r)
        extra = [x0 + j * wd for j in (-8, -1, 0, 1, 8)]
        pts = sorted(set(pts + [p for p in extra if pts[0] < p < pts[-1]]))
    # mpmath.quad stops on an absolute error estimate: scale the integrand to O(1) at x = h
    # (where it peaks for the tail offsets this oracle is used for)
    scale = abs(f(h)) or mpmath.npdf(h)
    if scale == 0:
        return mpmath.mpf(0)
    return scale * mpmath.quad(lambda x: f(x) / scale, pts)


def _check_bvn(h, k, rho=None, deficit=None, one_plus=None):
    return _check_corr(h, k, rho=rho, deficit=deficit, one_plus=one_plus, names=("h", "k"))


def _bvn_excess_f64(h, k, rho=None, deficit=None, one_plus=None):
    r, d, e = _rho_delta_e(rho, deficit, "rho", one_plus)
    return _excess_f64(h, k, r, d, e)[()]


def _bvn_excess_mp(h, k, rho=None, deficit=None, one_plus=None):
    r, d, e = _mp_rho_delta_e(rho, deficit, one_plus)
    return _excess_mp(h, k, r, d, e)


_EXC_CASES = [(0.0, 0.0), (0.3, -1.2), (1.0, 2.0), (-2.0, -1.0), (3.0, 3.0), (12.0, 12.0), (14.0, 13.0),
              (16.0, 16.0), (-14.0, -14.0), (15.0, -15.0), (25.0, 24.0)]

bvn_excess = ClosedForm(
    "qmf_sym.gaussian.bvn_excess", "Phi_2(h,k;rho) - Phi(h)Phi(k), the summand of eq. 5 (paper 1)",
    f64=_bvn_excess_f64, mp=_bvn_excess_mp, check=_check_bvn, oracle=_excess_oracle,
    cases=lambda: [((h, k), kw) for h, k in _EXC_CASES for kw in _RHOS[:5] + [dict(deficit=1e-6), dict(one_plus=1e-6)]],
    rtol=1e-9, atol=2e-16,
    doc="""Phi_2(h, k; rho) - Phi(h) Phi(k) = Cov(1{X <= h}, 1{Y <= k}) for a standard bivariate normal;
    ``bvn_excess(h, k, rho=None, dps=None, deficit=None, one_plus=None)``.

    This is the building block of the correlation map (paper 1, eq. 5): it carries no cancellation
    at small rho (it is O(rho)) and is written through the deficit near rho = 1 (or 1 + rho near
    -1).  float64: absolute accuracy ~1e-16 (Owen's T); ``dps``: relative accuracy at every offset.""")


def _bvn_complement_f64(h, k, deficit):
    d = np.asarray(deficit, dtype=float)
    h, k = np.asarray(h, dtype=float), np.asarray(k, dtype=float)
    lo, hi = np.minimum(h, k), np.maximum(h, k)
    a = np.sqrt(d / (2 - d))
    diag = 2 * np.where(a * (1 + np.abs(h)) < 1e-3, _owens_t_small_a(h, a), special.owens_t(h, a))
    # a probability: the absolute rounding error (~1e-16) of the difference may not make it negative
    off = np.maximum(0.0, _cdf_f64(lo) * _cdf_f64(-hi) - _excess_f64(h, k, 1.0 - d, d))
    # P(X <= lo, Y > hi) <= P(Y - X > hi - lo) = Phi(-(hi - lo) / sqrt(2 delta)) (Var(Y - X) = 2 delta): 0 in
    # float64 beyond 38.5; the difference above left its ~1e-17 rounding there instead (it dominated the
    # near-1 correlation map of a many-level staircase at 1 - C ~ 1e-30, where the diagonal terms are 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        far = (hi - lo) > 38.5 * np.sqrt(2 * d)
    return np.where(h == k, diag, np.where(far, 0.0, off))[()]


def _owens_t_small_a(h, a):
    """Owen's T(h, a) = (1/2pi) int_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2) dx for a (1 + |h|) < 1e-3, as
    n(h)/sqrt(2pi) sum_{n<=3} c_n a^(2n+1)/(2n+1) with exp(-b x^2)/(1 + x^2) = sum_n c_n x^(2n), b = h^2/2,
    c_n = sum_{k<=n} (-b)^k/k! (-1)^(n-k) (the rest < 1e-24 relative).  scipy's owens_t is accurate to ~1e-16
    absolute only: 2e-3 relative at h = 5.3, a = 1e-14, which set the root 1 - C* of a many-level staircase
    near C = 1 (sigma_b >> sigma_w) 3e-7 off."""
    b = 0.5 * h * h
    c0 = 1.0
    c1 = -(1.0 + b)
    c2 = 1.0 + b + b * b / 2
    c3 = -(1.0 + b + b * b / 2 + b * b * b / 6)
    a2 = a * a
    with np.errstate(under="ignore"):
        return _pdf_f64(h) / math.sqrt(2 * math.pi) * a * (c0 + a2 * (c1 / 3 + a2 * (c2 / 5 + a2 * c3 / 7)))


def _check_complement(h, k, deficit):
    V.real("h", h)
    V.real("k", k)
    V.in_closed("deficit", deficit, 0, 1)
    return (h, k, deficit), {}


def _complement_oracle(h, k, deficit):
    """The defining integral without cancellation: with h <= k (the complement is symmetric),
    Phi_2(h, k; 1) - Phi_2(h, k; r) = int_{-inf}^h n(x) [1 - Phi((k - r x)/s)] dx
                                    = int_{-inf}^h n(x) Phi((r x - k)/s) dx   (r = 1 - delta, s = sqrt(1 - r^2)),
    a positive integrand peaked at x = h (break points at h minus multiples of its decay length, scaled
    to 1 there for mpmath's absolute stopping rule).  Subtracting the excess from Phi(min) Phi(-max)
    instead cancels all digits once the complement is below 10^-dps (e.g. 4e-114 at h = -k = 1/2,
    delta = 1e-3)."""
    import mpmath

    h, k = sorted((to_mpf(h), to_mpf(k)))
    d = to_mpf(deficit)
    if d == 0:
        return mpmath.mpf(0)
    r, s = 1 - d, mpmath.sqrt(d * (2 - d))
    f = lambda x: mpmath.npdf(x) * mpmath.ncdf((r * x - k) / s)
    a = (r * h - k) / s  # the conditional CDF's argument at x = h; its log falls at rate ~ r max(|a|, 1) / s
    w = s / (r * max(abs(a), 1))
    pts = sorted({h - j for j in (8, 1)} | {h - w * 10 ** j for j in range(0, 4)})
    pts = [-mpmath.inf] + [p for p in pts if p < h] + [h]
    scale = f(h)
    if scale == 0:
        return mpmath.mpf(0)
    return scale * mpmath.quad(lambda x: f(x) / scale, pts)


bvn_complement = ClosedForm(
    "qmf_sym.gaussian.bvn_complement", "Phi_2(h,k;1) - Phi_2(h,k;1-delta), the deficit of eq. 5 near C = 1",
    f64=_bvn_complement_f64, mp=_complement_mp, check=_check_complement,
    oracle=_complement_oracle,
    # (0.5, -0.5): h k < 0, the complement is 4e-114 at delta = 1e-3 and 4e-10857375 at 1e-8 (the
    # dps face checked there against the Laplace-substituted integral w = E(v) at 60 digits)
    cases=lambda: [((h, k, dd), {}) for h, k in [(0.0, 0.0), (1.0, 1.0), (3.0, 3.5), (-2.0, -2.0), (0.5, -0.5)]
                   for dd in (0.5, 1e-3, 1e-8)],
    rtol=1e-9, atol=2e-16,
    doc="""Phi_2(h, k; 1) - Phi_2(h, k; 1 - delta) = Phi(min) Phi(-max) - excess(h, k; 1 - delta),
    delta in [0, 1]; ``bvn_complement(h, k, deficit, dps=None)``.  Diagonal h = k:
    2 T(h, sqrt(delta/(2 - delta))) (Owen's T, relative accuracy); off-diagonal float64 terms have
    absolute accuracy ~1e-16.  The ``dps`` face integrates (1/2pi) int_0^beta g(v) dv (no cancellation).""")


def _bvn_cdf_f64(h, k, rho=None, deficit=None, one_plus=None):
    return (_cdf_f64(h) * _cdf_f64(k) + _bvn_excess_f64(h, k, rho, deficit, one_plus))[()]


def _bvn_cdf_mp(h, k, rho=None, deficit=None, one_plus=None):
    """Phi(h) Phi(k) + excess; when the sum cancels (Phi_2 tiny for rho near -1), it is recomputed
    with as many extra digits as were cancelled."""
    import mpmath

    prod = _cdf_mp(h) * _cdf_mp(k)
    val = prod + _bvn_excess_mp(h, k, rho, deficit, one_plus)
    if prod != 0 and (val == 0 or abs(val) < abs(prod) * mpmath.mpf(10) ** -3):
        lost = int(mpmath.log10(abs(prod) / abs(val))) + 3 if val != 0 else mpmath.mp.dps
        with mpmath.extradps(min(lost, 4 * mpmath.mp.dps)):
            val = _cdf_mp(h) * _cdf_mp(k) + _bvn_excess_mp(h, k, rho, deficit, one_plus)
    return val


bvn_cdf = ClosedForm(
    "qmf_sym.gaussian.bvn_cdf", "bivariate normal CDF Phi_2(h, k; rho) (paper 1, eq. 5, 12)",
    f64=_bvn_cdf_f64, mp=_bvn_cdf_mp, check=_check_bvn,
    oracle=lambda h, k, **kw: _cdf_mp(h) * _cdf_mp(k) + _excess_oracle(h, k, **kw),
    cases=lambda: [((h, k), kw) for h, k in _EXC_CASES[:6] for kw in _RHOS[:5]],
    rtol=1e-12, atol=2e-16, oracle_dps=60,  # the oracle's Phi(h)Phi(k) + excess cancels ~20 digits at rho = -0.95
    doc="""Bivariate normal CDF Phi_2(h, k; rho) = P(X <= h, Y <= k), corr(X, Y) = rho (or 1 - deficit,
    or one_plus - 1); ``bvn_cdf(h, k, rho=None, dps=None, deficit=None, one_plus=None)``.

    Orthant probabilities follow as P(X > a, Y > b) = bvn_cdf(-a, -b, rho) (:func:`orthant`).""")


def _orthant_f64(a, b, rho=None, deficit=None, one_plus=None):
    return _bvn_cdf_f64(-np.asarray(a, dtype=float), -np.asarray(b, dtype=float), rho, deficit, one_plus)


def _orthant_mp(a, b, rho=None, deficit=None, one_plus=None):
    return _bvn_cdf_mp(-to_mpf(a), -to_mpf(b), rho, deficit, one_plus)


def _orthant_oracle(a, b, rho=None, deficit=None, one_plus=None):
    import mpmath

    r, d, e = _mp_rho_delta_e(rho, deficit, one_plus)
    if a == 0 and b == 0:  # Sheppard (1899)
        return mpmath.mpf(1) / 4 + mpmath.asin(r) / (2 * mpmath.pi)
    return _cdf_mp(-a) * _cdf_mp(-b) + _excess_oracle(-to_mpf(a), -to_mpf(b), rho, deficit, one_plus)


orthant = ClosedForm(
    "qmf_sym.gaussian.orthant", "orthant probability P(X > a, Y > b) (paper 1, sec. 4.1)",
    f64=_orthant_f64, mp=_orthant_mp, check=lambda a, b, rho=None, deficit=None, one_plus=None: _check_corr(
        a, b, rho=rho, deficit=deficit, one_plus=one_plus, names=("a", "b")),
    oracle=_orthant_oracle,
    cases=lambda: [((0.0, 0.0), kw) for kw in _RHOS] + [((1.0, -0.5), kw) for kw in _RHOS[:5]],
    rtol=1e-14, atol=2e-16,
    doc="""P(X > a, Y > b) for a standard bivariate normal with correlation rho (or 1 - deficit, or
    one_plus - 1); ``orthant(a, b, rho=None, dps=None, deficit=None, one_plus=None)``.""")
