"""The univariate standard normal of :mod:`qmf_sym.gaussian` (split out of gaussian.py, unchanged):
pdf, cdf, log cdf and cell probabilities P(a < z <= b) as ClosedForms registered under their public
names ``qmf_sym.gaussian.*``.  Import them from :mod:`qmf_sym.gaussian` (this module is private).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from . import _validate as V
from ._faces import ClosedForm
from ._numbers import to_mpf

SQRT2PI = math.sqrt(2 * math.pi)


# ----------------------------------------------------------------------------- univariate
def _exp_half_square(x):
    """exp(-x^2/2) to a few ulp for any x: x^2 is split exactly (Dekker) before exponentiating.

    |x| > 40 (where the result underflows to 0 anyway) is clipped first: the split of a large x
    overflows its rounding term and gave NaN for |x| in [4.3e9, 1e150].  NaN propagates.
    """
    x = np.clip(x, -40.0, 40.0)
    c = 134217729.0 * x  # 2^27 + 1
    xh = c - (c - x)
    xl = x - xh
    hi = x * x
    lo = ((xh * xh - hi) + 2 * xh * xl) + xl * xl
    return np.exp(-0.5 * hi) * np.exp(-0.5 * lo)


def _check_x(x):
    return (V.real("x", x),), {}




def _pdf_f64(x):
    """Standard normal density n(x) = exp(-x^2/2)/sqrt(2 pi), relative accuracy a few ulp."""
    return (_exp_half_square(np.asarray(x, dtype=float)) / SQRT2PI)[()]


def _pdf_mp(x):
    import mpmath

    return mpmath.npdf(to_mpf(x))


def _pdf_oracle(x):
    import mpmath

    x = to_mpf(x)
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


_MAGS = [0.0, 1e-300, 1e-8, 0.5, 1.0, 3.0, 8.0, 20.0, 37.0, 38.5, 1e3, 4.3e9, 1e10, 3e12, 1e100, 1e150, 1e300]

pdf = ClosedForm(
    "qmf_sym.gaussian.pdf", "standard normal density n(x) (paper 1 notation)",
    f64=_pdf_f64, mp=_pdf_mp, check=_check_x, oracle=_pdf_oracle,
    cases=lambda: [((s * m,), {}) for m in _MAGS for s in (1, -1)], rtol=4e-16, atol=1e-320,
    doc="""Standard normal density n(x) = exp(-x^2/2)/sqrt(2 pi); ``pdf(x, dps=None)``.

    float64: relative accuracy a few ulp for every finite x (0 beyond ``|x| ~ 38.6``, where it
    underflows; +-inf -> 0).  NaN raises ``ValueError`` (the raw face ``pdf.f64`` propagates it).""")


def _cdf_f64(x):
    """Phi(x) with relative accuracy in both tails (float64)."""
    x = np.asarray(x, dtype=float)
    # lower tail: Phi(x) = erfcx(-x/sqrt2) exp(-x^2/2) / 2 keeps relative accuracy (ndtr loses
    # ~x^2 ulp there through the rounding of x/sqrt2 inside erfc)
    with np.errstate(invalid="ignore", over="ignore"):
        tail = 0.5 * special.erfcx(-x / math.sqrt(2)) * _exp_half_square(x)
    return np.where(x < -1, tail, special.ndtr(x))[()]


_ASYMPTOTIC = 1e30  # |x| beyond which the tail series is used (mpmath's erfc overflows near 1e77)


def _cdf_mp(x):
    import mpmath

    x = to_mpf(x)
    if abs(x) > _ASYMPTOTIC:
        # Phi(-|x|) = n(x)/|x| sum_k (-1)^k (2k-1)!! / x^(2k); terms shrink by >= 1e60 per step here
        ax, inv2 = abs(x), 1 / (x * x)
        term, tot, k = mpmath.mpf(1), mpmath.mpf(1), 1
        while abs(term) > mpmath.eps and (2 * k - 1) * inv2 < 1:  # stop before the series diverges
            term = -term * (2 * k - 1) * inv2
            tot += term
            k += 1
        tail = mpmath.npdf(ax) / ax * tot
        return tail if x < 0 else 1 - tail
    # x/sqrt2 is rounded to the working precision, which perturbs erfc's exponent x^2/2 by
    # ~x^2 ulp: add 2 log2|x| bits so that the tail keeps its relative accuracy
    extra = 2 * max(0, int(mpmath.log(abs(x), 2))) + 4 if abs(x) > 1 else 0
    with mpmath.extraprec(extra):
        return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def _cdf_oracle(x):
    import mpmath

    x = to_mpf(x)
    if x > 0:
        return 1 - _cdf_oracle(-x)
    # int_{-inf}^x exp(-t^2/2) dt = exp(-x^2/2) int_0^inf exp(x s - s^2/2) ds (t = x - s), scaled
    # so that mpmath's absolute stopping rule is a relative one
    a = 1 / max(abs(x), 1)
    val = mpmath.quad(lambda u: mpmath.exp(x * u - u * u / 2), [0, a, 10 * a, 40 * a, mpmath.inf])
    return mpmath.npdf(x) * val


cdf = ClosedForm(
    "qmf_sym.gaussian.cdf", "standard normal CDF Phi(x) (paper 1 notation)",
    f64=_cdf_f64, mp=_cdf_mp, check=_check_x, oracle=_cdf_oracle,
    cases=lambda: [((s * m,), {}) for m in _MAGS if m < 1e200 for s in (1, -1)], rtol=2e-15, atol=1e-320,
    doc="""Standard normal CDF Phi(x); ``cdf(x, dps=None)``.

    Accurate in both tails (relative error, not absolute): use ``cdf(-x)`` for the upper tail
    1 - Phi(x).  +-inf give 0 and 1; NaN raises ``ValueError`` (``cdf.f64`` propagates it).""")


def _logcdf_mp(x):
    import mpmath

    return mpmath.log(_cdf_mp(x))


logcdf = ClosedForm(
    "qmf_sym.gaussian.logcdf", "log Phi(x)",
    f64=lambda x: special.log_ndtr(np.asarray(x, dtype=float))[()], mp=_logcdf_mp, check=_check_x,
    cases=lambda: [((s * m,), {}) for m in [0.0, 0.1, 1.0, 5.0, 40.0, 1e3, 1e8, 1e100] for s in (1, -1)],
    rtol=1e-14, atol=1e-300,
    doc="""log Phi(x), finite far into the lower tail (x = -1e100 gives -5e199); ``logcdf(x, dps=None)``.""")


def _check_cell(a, b):
    V.real("a", a)
    V.real("b", b)
    if np.any(np.asarray(a, dtype=float) > np.asarray(b, dtype=float)):
        raise ValueError(f"cell_probability needs a <= b (the cell (a, b]), got a={a!r}, b={b!r}")
    return (a, b), {}


_GL8 = np.polynomial.legendre.leggauss(8)


def _narrow_cell_f64(c, w):
    """int_c^(c + w) n(t) dt = n(c) int_0^w exp(-c s - s^2/2) ds by 8-point Gauss-Legendre, for a narrow
    cell (w (1 + |c|) <= 1/2: the integrand varies by at most e^(1/2) and is analytic, so the rule is exact
    to rounding) without the difference of two nearly equal tails."""
    x, wt = _GL8
    s = 0.5 * w[..., None] * (x + 1)
    return _pdf_f64(c) * (0.5 * w) * np.sum(wt * np.exp(-c[..., None] * s - 0.5 * s * s), axis=-1)


def _cell_f64(a, b):
    """P(a < z <= b), z ~ N(0, 1): a difference of erf near 0 (|a| < 1 for a cell in [0, inf)), else of
    the tails on the side away from 0; a narrow cell (width w, w (1 + max(|a|, |b|)) <= 1/2) by
    :func:`_narrow_cell_f64` from its end nearest 0."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    r2 = 1 / math.sqrt(2)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, inf * w for an infinite cell: not narrow
        upper = np.where(a < 1, 0.5 * (special.erf(b * r2) - special.erf(a * r2)), _cdf_f64(-a) - _cdf_f64(-b))
        lower = np.where(b > -1, 0.5 * (special.erf(-a * r2) - special.erf(-b * r2)), _cdf_f64(b) - _cdf_f64(a))
        mid = 0.5 * (special.erf(b * r2) + special.erf(-a * r2))  # a < 0 < b: (Phi(b) - 1/2) + (1/2 - Phi(a))
        w = b - a
        narrow = np.isfinite(w) & (w * (1 + np.maximum(np.abs(a), np.abs(b))) <= 0.5)
    out = np.where(a >= 0, upper, np.where(b <= 0, lower, mid))
    if np.any(narrow):
        c = np.where(b <= 0, -b, a)  # a cell in (-inf, 0] mirrored into [0, inf): integrate from its end nearest 0
        out = np.where(narrow, _narrow_cell_f64(np.where(narrow, c, 0.0), np.where(narrow, w, 0.0)), out)
    return out[()]


def _cell_mp(a, b):
    import mpmath

    a, b = to_mpf(a), to_mpf(b)
    if a < 0 < b:
        return (mpmath.erf(b / mpmath.sqrt(2)) + mpmath.erf(-a / mpmath.sqrt(2))) / 2
    if b <= 0:  # mirrored into [0, inf)
        a, b = -b, -a
    # a difference of two tails (or erf values) that agree to ~log10(1 / (w (1 + a))) digits: carry them
    w = b - a
    extra = 5 + (max(0, int(-mpmath.log10(w * (1 + a)))) if mpmath.isfinite(w) and w > 0 else 0)
    with mpmath.extradps(extra):
        if a < 1:
            v = (mpmath.erf(b / mpmath.sqrt(2)) - mpmath.erf(a / mpmath.sqrt(2))) / 2
        else:
            v = _cdf_mp(-a) - _cdf_mp(-b)
    return +v


def _cell_oracle(a, b):
    import mpmath

    a, b = to_mpf(a), to_mpf(b)
    if a < 0 < b:
        pts = [a, mpmath.mpf(0), b]
        m = mpmath.mpf(0)
    else:
        m = a if a >= 0 else b  # the end nearest 0: scale by its density (absolute -> relative stopping)
        step = 1 / max(abs(m), 1)
        pts = [a, a + step, a + 10 * step, b] if a >= 0 else [a, b - 10 * step, b - step, b]
        pts = [p for i, p in enumerate(pts) if i in (0, len(pts) - 1) or a < p < b]
    return mpmath.quad(lambda t: mpmath.exp((m * m - t * t) / 2), pts) * mpmath.npdf(m)


cell_probability = ClosedForm(
    "qmf_sym.gaussian.cell_probability", "P(a < z <= b), the cell weights of eq. 14 (paper 1)",
    f64=_cell_f64, mp=_cell_mp, check=_check_cell, oracle=_cell_oracle,
    cases=lambda: [((a, b), {}) for a, b in [(-np.inf, -30.0), (-np.inf, 0.0), (-1.0, 1.0), (-1e-8, 2e-8),
                                             (0.0, 0.5), (2.0, 3.0), (8.0, 9.0), (30.0, 31.0), (-12.0, -11.0),
                                             (5.0, np.inf), (-0.3, np.inf), (-5.0, 1e-3), (0.0, 1e-30),
                                             (1 - 1e-8, 1.0), (-1.0, -1 + 1e-15), (30.0, 30.001), (0.5, 0.75),
                                             (-0.25, 1e-300)]],
    rtol=1e-14, atol=1e-320,
    doc="""P(a < z <= b) for z ~ N(0, 1); ``cell_probability(a, b, dps=None)``, vectorised, a <= b.

    Computed as a difference of the two tails on the side of the cell away from 0 (of erf values for a
    cell near 0, [erf(b/sqrt2) + erf(-a/sqrt2)] / 2 when it contains 0), so that a cell far in either
    tail keeps its relative accuracy; a narrow cell (width w, w (1 + max(abs(a), abs(b))) <= 1/2) as
    n(c) int_0^w exp(-c s - s^2/2) ds from its end c nearest 0 (8-point Gauss-Legendre, exact to
    rounding there), so that it keeps its relative accuracy too (the difference of two nearly equal
    tails lost log10(1/w) digits: 2e-8 relative at a = 1 - 1e-8, b = 1; 0 for (0, 1e-30]).  float64
    relative accuracy ~1e-15 for every cell; the ``dps`` face carries the digits a difference cancels.""")
