"""Gaussian kernels of continuous activations (paper 1's maps, eq. 4-6, for phi other than a staircase).

Notation as in :mod:`qmf_sym.maps`: u ~ N(0, Q); (u1, u2) ~ N(0, Q [[1, C], [C, 1]]); every
correlation is carried as the triple (r, d, e) = (C, 1 - C, 1 + C), each from the argument that
keeps it exact (``deficit`` near +1, ``one_plus`` near -1); s = sqrt(1 - C^2) = sqrt(d e).
Derivations (each step checked by code): derivations/continuous_activations.md.

Closed forms (registered :class:`qmf_sym._faces.ClosedForm` objects, public in
:mod:`qmf_sym.activations`; float64, mpmath ``dps``, sympy where it exists, quadrature oracle):

* erf (arcsin kernel, Williams 1997):  E erf(u1) erf(u2) = (2/pi) atan2(2 Q C, sqrt((1 + 2Qd)(1 + 2Qe)))
  (= (2/pi) arcsin(2QC / (1 + 2Q)), written without 1 - x^2 cancelling);
  E erf'(u1) erf'(u2) = (4/pi) / sqrt((1 + 2Qd)(1 + 2Qe)).
* (leaky) ReLU phi = max(x, 0) + a min(x, 0) (arc-cosine kernel of degree 1 and 0, Cho & Saul 2009),
  theta = arccos C:  E phi phi = (Q / 2pi) [(1 - a)^2 sin theta + ((1 + a^2)(pi - theta) + 2 a theta) C],
  E phi' phi' = [(1 + a^2)(pi - theta) + 2 a theta] / (2 pi).
* hard tanh phi = clip(x, lo, hi): univariate moments through Phi, n and the regularised incomplete
  gamma function; the covariance from the ramp decomposition clip(x) = x - (x - hi)_+ + (lo - x)_+
  (or lo + (x - lo)_+ - (x - hi)_+ when sqrt(Q) is large against hi - lo) and the truncated
  bivariate moment R(h, k; C) = E[(X - h)_+ (Y - k)_+] of a standard pair (Rosenbaum 1961);
  E phi' phi' = P(lo < u1 < hi, lo < u2 < hi) from Phi_2 (:mod:`qmf_sym.gaussian`).

Any smooth callable (``Smooth``): a float64 face by composite Gauss-Legendre quadrature in z = u/sqrt(Q)
(panels of width min(1/2, scale/sqrt(Q)), 10 nodes each, on |z| <= 9.5; its accuracy is stated and
tested in :class:`qmf_sym.activations.Smooth`), an mpmath face by mpmath.quad with the error
estimate checked (ArithmeticError when it exceeds 10^-dps relative), and the nested quadrature as oracle.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import special

from . import _validate as V
from . import gaussian as G
from ._faces import ClosedForm
from ._numbers import to_mpf

_cdf64 = G.cdf.f64
_pdf64 = G.pdf.f64


def _bshape(*a):
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in a))
    return arrs


# ============================================================================ correlation arguments
def _rde64(C, deficit, one_plus):
    return G._rho_delta_e(C, deficit, "C", one_plus)


def _rde_mp(C, deficit, one_plus):
    return G._mp_rho_delta_e(C, deficit, one_plus)


def _theta64(r, d, e):
    """(theta, pi - theta), theta = arccos C, from (C, 1 - C, 1 + C), each without cancellation: with
    t_d = 2 asin(sqrt(d/2)) = arccos C and t_e = 2 asin(sqrt(e/2)) = pi - arccos C, theta = t_d and
    pi - theta = pi - t_d for C >= 0, theta = pi - t_e and pi - theta = t_e for C < 0 (pi - theta formed as
    pi minus a theta near pi lost ~log10(1 / sqrt(1 + C)) digits near C = -1)."""
    # sqrt(d) sqrt(1/2): sqrt(d / 2) underflowed for a subnormal d; clipped at 1 (sqrt(2) sqrt(1/2) > 1)
    td = 2 * np.arcsin(np.minimum(np.sqrt(np.abs(d)) * np.sqrt(0.5), 1.0))
    te = 2 * np.arcsin(np.minimum(np.sqrt(np.abs(e)) * np.sqrt(0.5), 1.0))
    pos = r >= 0
    return np.where(pos, td, np.pi - te), np.where(pos, np.pi - td, te)


def _theta_mp(r, d, e):
    """:func:`_theta64` at the working precision: (theta, pi - theta)."""
    import mpmath

    if r >= 0:
        t = 2 * mpmath.asin(mpmath.sqrt(d / 2))
        return t, mpmath.pi - t
    t = 2 * mpmath.asin(mpmath.sqrt(e / 2))
    return mpmath.pi - t, t


def _check_QC(Q, C=None, deficit=None, one_plus=None, q_max=math.inf, why="", **kw):
    V.positive_at_most("Q", Q, q_max, why)
    V.correlation(C, deficit, one_plus=one_plus)
    return (Q,), dict(C=C, deficit=deficit, one_plus=one_plus, **kw)


_QS = (1e-6, 0.05, 1.0, 30.0, 1e6)
_CS = (dict(C=0.3), dict(C=-0.6), dict(C=0.95), dict(deficit=1e-10), dict(one_plus=1e-8), dict(C=0.0),
       dict(deficit=0.0))


# ============================================================================ generic quadrature oracles
def _quad(f, pts, **kw):
    """mpmath.quad of f over the intervals between ``pts``, with relative accuracy at any size of f.

    mpmath stops refining when the difference of two levels is below 10^-dps *absolute*, so an integrand
    of size 1e-100 stopped at the first level (E tanh(u)^2 at Q = 1e-100 came out 2.7 % low, and was
    accepted).  f is therefore divided by the power of two nearest the largest |f| sampled at the break
    points, their midpoints and z = +-1, +-2 inside them (an exact rescaling; never above the true peak),
    and the value multiplied back.  ``kw``: mpmath.quad's; with ``error=True``: (value, error estimate, the
    power of two)."""
    import mpmath

    lo, hi = pts[0], pts[-1]
    zs = list(pts) + [(a + b) / 2 for a, b in zip(pts, pts[1:])] + [z for z in (-2, -1, 1, 2) if lo < z < hi]
    peak = max(abs(f(mpmath.mpf(z))) for z in zs)
    scale = mpmath.ldexp(1, int(mpmath.floor(mpmath.log(peak, 2)))) if peak and mpmath.isfinite(peak) else 1
    if not kw.get("error"):
        return mpmath.quad(lambda z: f(z) / scale, pts, **kw) * scale
    v, err = mpmath.quad(lambda z: f(z) / scale, pts, **kw)
    return v * scale, err * scale, scale


def _zbreaks(Q, kinks, L):
    """Break points in z = u / sqrt(Q): the Gaussian bulk and the activation's kinks / scale."""
    import mpmath

    sq = mpmath.sqrt(to_mpf(Q))
    pts = {mpmath.mpf(0), -L, L}
    for k in kinks:
        z = mpmath.mpf(k) / sq
        if -L < z < L:
            pts.add(z)
    for j in (1, 2, 4):
        z = mpmath.mpf(j) / sq
        if z < L:
            pts.update({z, -z})
    return sorted(pts)


def _L_mp():
    """Half-width of the z range: n(L) < 10^-(dps + 8)."""
    import mpmath

    return mpmath.sqrt(2 * (mpmath.mp.dps + 8) * mpmath.log(10)) + 1


def oracle_moment(fn, Q, kinks=()):
    """int n(z) fn(sqrt(Q) z) dz by mpmath.quad split at the kinks (an independent route)."""
    import mpmath

    sq = mpmath.sqrt(to_mpf(Q))
    L = _L_mp()
    return _quad(lambda z: mpmath.npdf(z) * fn(sq * z), _zbreaks(Q, kinks, L))


def oracle_cross(f1, f2, Q, r, d, e, kinks=()):
    """E f1(u1) f2(u2) in the eigen-coordinates u1 = sqrt(Q)(p a + m b), u2 = sqrt(Q)(p a - m b),
    p = sqrt(e/2), m = sqrt(d/2), a, b independent N(0, 1): a nested mpmath quadrature (a route
    independent of the conditional factorisation the faces use)."""
    import mpmath

    sq = mpmath.sqrt(to_mpf(Q))
    p, m = mpmath.sqrt(e / 2), mpmath.sqrt(d / 2)
    L = _L_mp()
    if m == 0:
        return _quad(lambda a: mpmath.npdf(a) * f1(sq * p * a) * f2(sq * p * a), _zbreaks(Q * p * p, kinks, L))
    if p == 0:
        return _quad(lambda b: mpmath.npdf(b) * f1(sq * m * b) * f2(-sq * m * b), _zbreaks(Q * m * m, kinks, L))

    def inner(a):
        # kinks of f1 at sqrt(Q)(p a + m b) = k and of f2 at sqrt(Q)(p a - m b) = k, in b
        pts = {mpmath.mpf(0), -L, L}
        for k in kinks:
            for b in ((k / sq - p * a) / m, (p * a - k / sq) / m):
                if -L < b < L:
                    pts.add(b)
        return _quad(lambda b: mpmath.npdf(b) * f1(sq * (p * a + m * b)) * f2(sq * (p * a - m * b)), sorted(pts))

    return _quad(lambda a: mpmath.npdf(a) * inner(a), _zbreaks(Q * p * p, kinks, L))


def oracle_conditional(f1, cond, Q, r, d, e, kinks=()):
    """E f1(u1) f2(u2) = int n(z) f1(sqrt(Q) z) E[f2(sqrt(Q)(C z + s W))] dz, a one-dimensional mpmath
    quadrature of the conditional Gaussian expectation ``cond(m, sd)`` = E f2(m + sd W) written in
    closed form (a route independent of the kernels' formulas); split at the kinks of f1 and at the
    points where the conditional mean crosses a kink of f2."""
    import mpmath

    sq = mpmath.sqrt(to_mpf(Q))
    s = mpmath.sqrt(d * e)
    L = _L_mp()
    pts = set(_zbreaks(Q, kinks, L))
    if r != 0:
        for k in kinks:
            z = mpmath.mpf(k) / (sq * r)
            for j in (-2, -1, 0, 1, 2):
                zz = z + j * s / abs(r)
                if -L < zz < L:
                    pts.add(zz)
    return _quad(lambda z: mpmath.npdf(z) * f1(sq * z) * cond(sq * r * z, sq * s), sorted(pts))


def _cond_erf(m, sd):
    import mpmath

    return mpmath.erf(m / mpmath.sqrt(1 + 2 * sd * sd))


def _cond_erf_prime(m, sd):
    import mpmath

    v = 1 + 2 * sd * sd
    return 2 / mpmath.sqrt(mpmath.pi * v) * mpmath.exp(-m * m / v)


def _cond_leaky(a):
    def f(m, sd):
        import mpmath

        if sd == 0:
            return m if m >= 0 else to_mpf(a) * m
        t = m / sd
        pos = sd * mpmath.npdf(t) + m * mpmath.ncdf(t)        # E (m + sd W)_+
        neg = sd * mpmath.npdf(t) - m * mpmath.ncdf(-t)       # E (-(m + sd W))_+
        return pos - to_mpf(a) * neg
    return f


def _cond_leaky_prime(a):
    def f(m, sd):
        import mpmath

        if sd == 0:
            return 1 if m >= 0 else to_mpf(a)
        return mpmath.ncdf(m / sd) + to_mpf(a) * mpmath.ncdf(-m / sd)
    return f


def _cond_clip(low, high):
    def f(m, sd):
        import mpmath

        a, b = to_mpf(low), to_mpf(high)
        if sd == 0:
            return min(max(m, a), b)
        al, be = (a - m) / sd, (b - m) / sd
        return (a * mpmath.ncdf(al) + b * mpmath.ncdf(-be) + m * (mpmath.ncdf(be) - mpmath.ncdf(al))
                + sd * (mpmath.npdf(al) - mpmath.npdf(be)))
    return f


def _cond_clip_prime(low, high):
    def f(m, sd):
        import mpmath

        a, b = to_mpf(low), to_mpf(high)
        if sd == 0:
            return 1 if a < m < b else 0
        return mpmath.ncdf((b - m) / sd) - mpmath.ncdf((a - m) / sd)
    return f


def _wrap_cond(f1, cond, kinks=()):
    return lambda Q, C=None, deficit=None, one_plus=None, **kw: oracle_conditional(
        f1, cond, Q, *_rde_mp(C, deficit, one_plus), kinks=kinks)


# ============================================================================ erf: the arcsin kernel
def _erf_q64(Q, d, e):
    """(c, sqrt((c + 2d)(c + 2e))) with c = 1/Q: the arcsin kernels' terms divided by Q, so that nothing
    overflows at large Q ((1 + 2Qd)(1 + 2Qe) overflowed from Q ~ 1e154 and the kernel came back 0)."""
    c = 1 / np.asarray(Q, float)
    return c, np.sqrt(c + 2 * d) * np.sqrt(c + 2 * e)


def _erf_cov64(Q, r, d, e):
    c, root = _erf_q64(Q, d, e)
    return (2 / np.pi) * np.arctan2(2 * r, root)


def _erf_cov_mp(Q, r, d, e):
    import mpmath

    Q = to_mpf(Q)
    return 2 / mpmath.pi * mpmath.atan2(2 * Q * r, mpmath.sqrt((1 + 2 * Q * d) * (1 + 2 * Q * e)))


def _erf_dd64(Q, r, d, e):
    c, root = _erf_q64(Q, d, e)
    return (4 / np.pi) * c / root


def _erf_dd_mp(Q, r, d, e):
    import mpmath

    Q = to_mpf(Q)
    return 4 / mpmath.pi / mpmath.sqrt((1 + 2 * Q * d) * (1 + 2 * Q * e))


def _sym_QC(Q, C, deficit, one_plus):
    import sympy as sp

    Qs = sp.nsimplify(Q) if not isinstance(Q, float) else sp.Rational(Q)
    if deficit is not None:
        c = 1 - sp.Rational(deficit)
    elif one_plus is not None:
        c = sp.Rational(one_plus) - 1
    else:
        c = sp.Rational(C)
    return Qs, c


def _erf_cov_sympy(Q, C=None, deficit=None, one_plus=None):
    import sympy as sp

    q, c = _sym_QC(Q, C, deficit, one_plus)
    return 2 / sp.pi * sp.asin(2 * q * c / (1 + 2 * q))


def _erf_dd_sympy(Q, C=None, deficit=None, one_plus=None):
    import sympy as sp

    q, c = _sym_QC(Q, C, deficit, one_plus)
    return 4 / sp.pi / sp.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c)


def _erf_mp(x):
    import mpmath

    return mpmath.erf(x)


def _erf_prime_mp(x):
    import mpmath

    return 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x * x)


def _wrap64(k):
    return lambda Q, C=None, deficit=None, one_plus=None: k(Q, *_rde64(C, deficit, one_plus))[()]


def _wrap_mp(k):
    return lambda Q, C=None, deficit=None, one_plus=None: k(Q, *_rde_mp(C, deficit, one_plus))


def _wrap_oracle(f1, f2, kinks=()):
    return lambda Q, C=None, deficit=None, one_plus=None, **kw: oracle_cross(
        f1, f2, Q, *_rde_mp(C, deficit, one_plus), kinks=kinks)


_KERNEL_SIG = lambda Q, C=None, dps=None, deficit=None, one_plus=None: None  # noqa: E731
_KCASES = lambda: [((q,), c) for q in (1e-6, 0.05, 1.0, 30.0) for c in _CS[:5]] + [((1e6,), dict(C=0.5))]  # noqa: E731

arcsin_kernel = ClosedForm(
    "qmf_sym.activations.arcsin_kernel", "paper 1, eq. 4-5 for phi = erf (arcsin kernel, Williams 1997)",
    f64=_wrap64(_erf_cov64), mp=_wrap_mp(_erf_cov_mp), check=_check_QC, sympy=_erf_cov_sympy,
    oracle=_wrap_cond(_erf_mp, _cond_erf), cases=_KCASES, rtol=4e-15, atol=1e-300,
    signature=_KERNEL_SIG,
    doc="""E erf(u1) erf(u2) = (2/pi) arcsin(2 Q C / (1 + 2 Q)) for (u1, u2) ~ N(0, Q [[1, C], [C, 1]]).

    Computed as (2/pi) atan2(2QC, sqrt((1 + 2Q(1-C))(1 + 2Q(1+C)))) from C, ``deficit`` or ``one_plus``
    (relative accuracy a few ulp in float64, ``dps`` digits in mpmath, at every Q and C).
    C = 1: E erf(u)^2 = (2/pi) arcsin(2Q / (1 + 2Q)).""")

arcsin_derivative_kernel = ClosedForm(
    "qmf_sym.activations.arcsin_derivative_kernel", "paper 1, eq. 6 for phi = erf",
    f64=_wrap64(_erf_dd64), mp=_wrap_mp(_erf_dd_mp), check=_check_QC, sympy=_erf_dd_sympy,
    oracle=_wrap_cond(_erf_prime_mp, _cond_erf_prime), cases=_KCASES, rtol=4e-15, atol=1e-300,
    signature=_KERNEL_SIG,
    doc="""E erf'(u1) erf'(u2) = (4/pi) / sqrt((1 + 2Q)^2 - 4 Q^2 C^2) = (4/pi) / sqrt((1 + 2Q(1-C))(1 + 2Q(1+C))).

    (erf'(x) = (2/sqrt(pi)) e^{-x^2}; a Gaussian integral of exp(-u^T u) = 1/sqrt(det(I + 2 Sigma)).)
    chi_1 = sigma_w^2 (4/pi) / sqrt(1 + 4Q) at C = 1.  Relative accuracy a few ulp / ``dps`` digits.""")


# ============================================================================ (leaky) ReLU: the arc-cosine kernel
def _leaky_scale(a):
    """(b, m) with kernel(slope a) = m^2 kernel(slope b): (a, 1) for |a| <= 1, else (1/a, |a|), from
    phi_a(x) = -a phi_{1/a}(-x) and the symmetry of the Gaussian; no term overflows at a huge slope
    (a^2 in (1 + a^2) overflowed, and (1 - a)^2 raised OverflowError, from |a| ~ 1e154)."""
    return (a, 1) if abs(a) <= 1 else (1 / a, abs(a))


#: sin x - x cos x = sum_{n >= 1} (-1)^(n+1) 2n x^(2n+1) / (2n+1)!: x^3 times these coefficients of x^(2n-2)
_SXC = tuple((-1) ** (n + 1) * 2 * n / math.factorial(2 * n + 1) for n in range(1, 11))


def _sin_minus_xcos64(x, s, r):
    """sin x - x cos x for x = pi - theta in [0, pi], given s = sin x and r = -cos x: s + x r directly for
    x >= 1, the series (10 terms, the rest < 1e-19 x^3) below, where s and x r cancel to O(x^3)."""
    x2 = x * x
    poly = np.zeros_like(x2)
    for c in _SXC[::-1]:
        poly = poly * x2 + c
    return np.where(x >= 1, s + x * r, x * x2 * poly)


def _relu_cov64(Q, r, d, e, slope=0.0):
    b, g = _leaky_scale(np.float64(slope))
    th, pth = _theta64(r, d, e)
    s = np.sqrt(np.abs(d)) * np.sqrt(np.abs(e))
    # C < 0: with x = pi - theta, (1-b)^2 sin x + ((1+b^2) x + 2b(pi - x))(-cos x) = (1-b)^2 (sin x - x cos x)
    # + 2 pi b C, whose first term is formed without cancellation (relative accuracy near C = -1)
    neg = (1 - b) ** 2 * _sin_minus_xcos64(pth, s, r) + 2 * np.pi * b * r
    pos = (1 - b) ** 2 * s + ((1 + b * b) * pth + 2 * b * th) * r
    with np.errstate(over="ignore"):  # a value beyond float64 (slope ~ 1e155 at Q = 1) is inf
        return ((np.where(r < 0, neg, pos) * g) * (np.asarray(Q, float) / (2 * np.pi))) * g


def _relu_cov_mp(Q, r, d, e, slope=0.0):
    import mpmath

    b, g = _leaky_scale(to_mpf(slope))
    # C < 0 (:func:`_relu_cov64`): sin x - x cos x = s + x C cancels ~log10(1 / (1 + C)) digits: carry them
    extra = 5 + (max(0, int(-mpmath.log10(e))) if r < 0 and e > 0 else 0)
    with mpmath.extradps(extra):
        if r < 0:  # C and 1 - C again from 1 + C, at the extra precision
            r, d = e - 1, 2 - e
        th, pth = _theta_mp(r, d, e)
        s = mpmath.sqrt(d * e)
        if r < 0:
            val = (1 - b) ** 2 * (s + pth * r) + 2 * mpmath.pi * b * r
        else:
            val = (1 - b) ** 2 * s + ((1 + b * b) * pth + 2 * b * th) * r
        val = g * g * to_mpf(Q) / (2 * mpmath.pi) * val
    return +val


def _relu_dd64(Q, r, d, e, slope=0.0):
    b, g = _leaky_scale(np.float64(slope))
    th, pth = _theta64(r, d, e)
    with np.errstate(over="ignore"):
        return ((((1 + b * b) * pth + 2 * b * th) / (2 * np.pi)) * g) * g * np.ones_like(np.asarray(Q, float))


def _relu_dd_mp(Q, r, d, e, slope=0.0):
    import mpmath

    b, g = _leaky_scale(to_mpf(slope))
    th, pth = _theta_mp(r, d, e)
    return g * g * ((1 + b * b) * pth + 2 * b * th) / (2 * mpmath.pi)


def _relu_sympy(kind):
    def f(Q, C=None, slope=0.0, deficit=None, one_plus=None):
        import sympy as sp

        q, c = _sym_QC(Q, C, deficit, one_plus)
        a = sp.Rational(slope)
        th = sp.acos(c)
        dd = ((1 + a * a) * (sp.pi - th) + 2 * a * th) / (2 * sp.pi)
        if kind == "dd":
            return dd
        return q / (2 * sp.pi) * ((1 - a) ** 2 * sp.sqrt(1 - c * c) + 2 * sp.pi * dd * c)
    return f


def _leaky_mp(a):
    return lambda x: x if x >= 0 else to_mpf(a) * x


def _leaky_prime_mp(a):
    return lambda x: 1 if x >= 0 else to_mpf(a)


def _check_relu(Q, C=None, slope=0.0, deficit=None, one_plus=None):
    V.finite("slope", slope)
    args, kw = _check_QC(Q, C, deficit, one_plus)
    return args, dict(kw, slope=slope)


def _relu_faces(kern64, kern_mp):
    f64 = lambda Q, C=None, slope=0.0, deficit=None, one_plus=None: kern64(Q, *_rde64(C, deficit, one_plus), slope)[()]  # noqa: E731
    mp = lambda Q, C=None, slope=0.0, deficit=None, one_plus=None: kern_mp(Q, *_rde_mp(C, deficit, one_plus), slope)  # noqa: E731
    return f64, mp


_RELU_COV = _relu_faces(_relu_cov64, _relu_cov_mp)
_RELU_DD = _relu_faces(_relu_dd64, _relu_dd_mp)
_RSIG = lambda Q, C=None, slope=0.0, dps=None, deficit=None, one_plus=None: None  # noqa: E731
_RCASES = lambda: ([((q,), dict(c, slope=a)) for q in (0.05, 1.0) for c in _CS[:5] for a in (0.0, 0.1)]  # noqa: E731
                   + [((1e6,), dict(C=0.5, slope=-0.5))])

arccos_kernel = ClosedForm(
    "qmf_sym.activations.arccos_kernel", "paper 1, eq. 4-5 for (leaky) ReLU (arc-cosine kernel, Cho & Saul 2009)",
    f64=_RELU_COV[0], mp=_RELU_COV[1],
    check=_check_relu, sympy=_relu_sympy("cov"),
    oracle=lambda Q, C=None, slope=0.0, deficit=None, one_plus=None: oracle_conditional(
        _leaky_mp(slope), _cond_leaky(slope), Q, *_rde_mp(C, deficit, one_plus), kinks=(0,)),
    # relative accuracy everywhere for slope >= 0 (near C = -1 the cancelling pair sin x - x cos x is a
    # series); atol only for a negative slope, whose kernel changes sign
    cases=_RCASES, rtol=1e-13, atol=1e-16, signature=_RSIG,
    doc="""E phi(u1) phi(u2) for phi(x) = max(x, 0) + slope min(x, 0) (ReLU: slope = 0):

        (Q / 2pi) [(1 - a)^2 sin theta + ((1 + a^2)(pi - theta) + 2 a theta) C],   theta = arccos C.

    (The degree-1 arc-cosine kernel k(C) = (Q/2pi)(sin theta + (pi - theta) C) with
    phi = relu(x) - a relu(-x): (1 + a^2) k(C) - 2 a k(-C).)  theta from ``deficit`` / ``one_plus``
    without cancellation.  For C < 0 it is evaluated as (Q / 2pi)[(1 - a)^2 (sin x - x cos x) + 2 pi a C]
    with x = pi - theta, sin x - x cos x = x^3/3 - x^5/30 + ... summed as a series for x < 1: relative
    accuracy ~1e-15 at every C for slope >= 0 (the two O(sqrt(1 + C)) terms of the printed form cancel to
    O((1 + C)^(3/2)) near C = -1); the ``dps`` face carries the log10(1 / (1 + C)) digits that cancel.
    A slope of modulus above 1 through k(a) = a^2 k(1/a) (phi_a(x) = -a phi_{1/a}(-x)): no overflow before
    the value itself exceeds float64.""")

arccos_derivative_kernel = ClosedForm(
    "qmf_sym.activations.arccos_derivative_kernel", "paper 1, eq. 6 for (leaky) ReLU (degree-0 arc-cosine kernel)",
    f64=_RELU_DD[0], mp=_RELU_DD[1],
    check=_check_relu, sympy=_relu_sympy("dd"),
    oracle=lambda Q, C=None, slope=0.0, deficit=None, one_plus=None: oracle_conditional(
        _leaky_prime_mp(slope), _cond_leaky_prime(slope), Q, *_rde_mp(C, deficit, one_plus), kinks=(0,)),
    cases=_RCASES, rtol=1e-14, atol=1e-300, signature=_RSIG,
    doc="""E phi'(u1) phi'(u2) = [(1 + a^2)(pi - theta) + 2 a theta] / (2 pi), theta = arccos C
    (phi' = H(x) + a H(-x); orthant probabilities (pi - theta)/(2 pi) and theta/(2 pi)); independent of Q.
    chi_1 = sigma_w^2 (1 + a^2) / 2.""")


# ============================================================================ hard tanh: piecewise Gaussian integrals
def _check_lohi(low, high):
    V.finite("low", low)
    V.finite("high", high)
    if not float(low) < float(high):
        raise ValueError(f"low must be < high for the clip (hard tanh) activation, got low={low!r}, high={high!r}")


def _I2_64(al, be):
    """int_al^be z^2 n(z) dz (al < be) through the regularised incomplete gamma function:
    int_0^x z^2 n = sign(x) P(3/2, x^2/2) / 2 (no cancellation when al <= 0 <= be, and none worth a digit
    while min(|al|, |be|) <= 1, where P <= 0.2), the upper Q(3/2, .) = 1 - P in the tails (1 <= al < be or
    al < be <= -1).  (The upper form from al = 0 on lost 1e-11 relative at al = 0, be = 1e-3: Q = 1 - 1e-10.)"""
    al, be = np.broadcast_arrays(np.asarray(al, float), np.asarray(be, float))
    half = lambda x: np.sign(x) * 0.5 * special.gammainc(1.5, 0.5 * x * x)  # noqa: E731
    with np.errstate(over="ignore"):  # x^2/2 = inf at |x| > 1e154: P = 1, Q = 0, both right
        mid = half(be) - half(al)
        up = 0.5 * (special.gammaincc(1.5, 0.5 * al * al) - special.gammaincc(1.5, 0.5 * be * be))  # 1 <= al < be
        lo = 0.5 * (special.gammaincc(1.5, 0.5 * be * be) - special.gammaincc(1.5, 0.5 * al * al))  # al < be <= -1
    return np.where(al >= 1, up, np.where(be <= -1, lo, mid))


def _I2_mp(al, be):
    import mpmath

    def half(x):
        return mpmath.sign(x) * mpmath.gammainc(mpmath.mpf(3) / 2, 0, x * x / 2, regularized=True) / 2

    if al >= 0:
        return mpmath.gammainc(mpmath.mpf(3) / 2, al * al / 2, be * be / 2, regularized=True) / 2
    if be <= 0:
        return mpmath.gammainc(mpmath.mpf(3) / 2, be * be / 2, al * al / 2, regularized=True) / 2
    return half(be) - half(al)


def _ht_moments64(Q, low=-1.0, high=1.0):
    Q = np.asarray(Q, float)
    s = np.sqrt(Q)
    a, b = float(low), float(high)
    al, be = a / s, b / s
    m1 = a * _cdf64(al) + b * _cdf64(-be) + s * _pdf_difference64(al, be)
    with np.errstate(over="ignore"):  # E phi^2 = high^2 > 1.8e308 is inf; (a Phi(al)) a, not inf * 0 = NaN
        m2 = (a * _cdf64(al)) * a + (b * _cdf64(-be)) * b + Q * _I2_64(al, be)
    return m1[()], m2[()]


def _pdf_difference64(x, y):
    """n(x) - n(y) = n(t) expm1((t^2 - u^2)/2)) signed, t the point of smaller |.| and u the other, with
    t^2 - u^2 = (t - u)(t + u) <= 0: no overflow, and no cancellation where |x| ~ |y| (the plain difference
    lost log10(Q) digits of the clip's first moment at large Q, where both points are ~1/sqrt(Q))."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    swap = np.abs(x) > np.abs(y)
    t, u = np.where(swap, y, x), np.where(swap, x, y)
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.expm1(-0.5 * ((u - t) * (u + t)))  # in [-1, 0]; NaN only for inf - inf (both infinite)
    v = -_pdf64(t) * np.where(np.isnan(m), -1.0, m)
    return np.where(swap, -v, v)


def _ht_moments_mp(Q, low=-1.0, high=1.0):
    import mpmath

    Q = to_mpf(Q)
    s = mpmath.sqrt(Q)
    a, b = to_mpf(low), to_mpf(high)
    al, be = a / s, b / s
    t, u, sg = (al, be, 1) if abs(al) <= abs(be) else (be, al, -1)  # :func:`_pdf_difference64`
    m1 = a * G.cdf.mp(al) + b * G.cdf.mp(-be) - sg * s * mpmath.npdf(t) * mpmath.expm1(-(u - t) * (u + t) / 2)
    m2 = a * a * G.cdf.mp(al) + b * b * G.cdf.mp(-be) + Q * _I2_mp(al, be)
    return m1, m2


def _clip_mp(low, high):
    a, b = to_mpf(low), to_mpf(high)
    return lambda x: a if x <= a else (b if x >= b else x)


def _clip_prime_mp(low, high):
    a, b = to_mpf(low), to_mpf(high)
    return lambda x: 1 if a < x < b else 0


def _ht_moments_oracle(Q, low=-1.0, high=1.0):
    f = _clip_mp(low, high)
    return oracle_moment(f, Q, (low, high)), oracle_moment(lambda x: f(x) ** 2, Q, (low, high))


def _ncdf_ratio64(num, s):
    """Phi(num / s), with the s = 0 limit (a step; 1/2 at num = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(s > 0, num / np.where(s > 0, s, 1.0), np.sign(num) * np.inf)
    return np.where((s == 0) & (num == 0), 0.5, _cdf64(np.nan_to_num(x, nan=0.0)))


def _R64(h, k, r, d, e):
    """R(h, k; r) = E[(X - h)_+ (Y - k)_+] for a standard pair of correlation r (Rosenbaum 1961):
    E[XY; A] - k E[X; A] - h E[Y; A] + h k P(A), A = {X > h, Y > k}, with
    E[X; A] = n(h) Phi((rh - k)/s) + r n(k) Phi((rk - h)/s) and
    E[XY; A] = r P(A) + r h n(h) Phi((rh - k)/s) + r k n(k) Phi((rk - h)/s) + (s / 2pi) exp(-(h^2 - 2rhk + k^2)/(2 s^2))."""
    s = np.sqrt(np.abs(d * e))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # an offset ~1e300: replaced by 0 below
        rhk = np.where(r >= 0, (h - k) - d * h, -(h + k) + e * h)  # r h - k
        rkh = np.where(r >= 0, (k - h) - d * k, -(h + k) + e * k)  # r k - h
        A, B = _ncdf_ratio64(rhk, s), _ncdf_ratio64(rkh, s)
        L = _bvn_rde64(-h, -k, r, d, e)
        nh, nk = _pdf64(h), _pdf64(k)
        quad = np.where(r >= 0, (h - k) ** 2 + 2 * d * h * k, (h + k) ** 2 - 2 * e * h * k)
        g = np.where(s > 0, s / (2 * np.pi) * np.exp(-quad / (2 * np.where(s > 0, s * s, 1.0))), 0.0)
        EX = nh * A + r * nk * B
        EY = nk * B + r * nh * A
        EXY = r * L + r * h * nh * A + r * k * nk * B + g
        R = EXY - k * EX - h * EY + h * k * L
    # beyond an offset of 38 R < n(38) ~ 1e-314 is 0 in float64; its formula there multiplied Phi_2's
    # absolute rounding (1e-17) by h k (5e-5 relative error of the clip kernel at low = -1e12, NaN at -1e300)
    return np.where(np.maximum(h, k) > 38.0, 0.0, R)


def _bvn_rde64(h, k, r, d, e):
    h, k, r, d, e = np.broadcast_arrays(*(np.asarray(x, float) for x in (h, k, r, d, e)))
    return _cdf64(h) * _cdf64(k) + G._excess_f64(h, k, r, d, e)


def _P1_64(c):
    """E (X - c)_+ = n(c) - c Phi(-c)."""
    return _pdf64(c) - c * _cdf64(-c)


def _ht_cov64(Q, r, d, e, low=-1.0, high=1.0):
    Q, r, d, e = _bshape(Q, r, d, e)
    s = np.sqrt(Q)
    a, b = float(low), float(high)
    al, be = a / s, b / s
    # the seven R(h, k) of both decompositions in one vectorised call (elementwise: the same bits as seven
    # calls, at a seventh of numpy's per-call cost); the last two are Rm(h, k) = E[(X - h)_+ (-Y - k)_+],
    # R of the pair (X, -Y), whose correlation is -r (d and e swap)
    sign = np.array([1.0] * 5 + [-1.0] * 2).reshape((7,) + (1,) * r.ndim)
    up = sign > 0
    Rbb, Rnn, Rll, Rlb, Rbl, Rmbn, Rmnb = _R64(np.stack([be, -al, al, al, be, be, -al]),
                                             np.stack([be, -al, al, be, al, -al, be]),
                                             sign * r, np.where(up, d, e), np.where(up, e, d))
    # decomposition 1 (small sqrt(Q)): clip(u) = u - s (X - be)_+ + s (-X - (-al))_+
    small = (Q * r - 2 * Q * (_xramp64(be, r, d, e) - _xramp64(-al, -r, e, d))
             + Q * (Rbb + Rnn - Rmbn - Rmnb))
    # decomposition 2 (large sqrt(Q)): clip(u) = a + s (X - al)_+ - s (X - be)_+ (only taken where
    # sqrt(Q) > (high - low)/2; elsewhere, e.g. low = -1e300, it may overflow: discarded)
    with np.errstate(over="ignore", invalid="ignore"):
        large = (a * a + 2 * a * s * (_P1_64(al) - _P1_64(be))
                 + Q * (Rll - Rlb - Rbl + Rbb))
    return _ht_route_mp(np.where(s <= 0.5 * (b - a), small, large)[()], _ht_cov_mp, Q, r, d, e, low, high)


def _xramp64(h, r, d, e):
    """E[Y (X - h)_+] for a standard pair of correlation r: r Phi(-h) (Stein: E[Y g(X)] = r E g'(X))."""
    return r * _cdf64(-h)


def _ht_cov_mp(Q, r, d, e, low=-1.0, high=1.0):
    import mpmath

    Q = to_mpf(Q)
    # decomposition 2 cancels ~log10(Q) digits at large Q: add them (decomposition 1 cancels none at small
    # Q, where its ramp terms are ~n(1/sqrt(Q)); 300 extra digits there took minutes at Q = 1e-300)
    extra = max(0, int(mpmath.log10(Q))) + 5
    with mpmath.extradps(extra):
        s = mpmath.sqrt(Q)
        a, b = to_mpf(low), to_mpf(high)
        al, be = a / s, b / s

        def R(h, k, r_, d_, e_):
            return _R_mp(h, k, r_, d_, e_)

        if s <= (b - a) / 2:
            v = (Q * r - 2 * Q * (r * G.cdf.mp(-be) - (-r) * G.cdf.mp(al))
                 + Q * (R(be, be, r, d, e) + R(-al, -al, r, d, e) - R(be, -al, -r, e, d) - R(-al, be, -r, e, d)))
        else:
            P1 = lambda c: mpmath.npdf(c) - c * G.cdf.mp(-c)  # noqa: E731
            v = (a * a + 2 * a * s * (P1(al) - P1(be))
                 + Q * (R(al, al, r, d, e) - R(al, be, r, d, e) - R(be, al, r, d, e) + R(be, be, r, d, e)))
    return +v


def _ncdf_ratio_mp(num, s):
    import mpmath

    if s == 0:
        return mpmath.mpf(1) if num > 0 else (mpmath.mpf(0) if num < 0 else mpmath.mpf(1) / 2)
    return G.cdf.mp(num / s)


def _R_mp(h, k, r, d, e):
    import mpmath

    s = mpmath.sqrt(d * e)
    if r >= 0:
        rhk, rkh, quad = (h - k) - d * h, (k - h) - d * k, (h - k) ** 2 + 2 * d * h * k
        L = G._bvn_cdf_mp(-h, -k, deficit=d)
    else:
        rhk, rkh, quad = -(h + k) + e * h, -(h + k) + e * k, (h + k) ** 2 - 2 * e * h * k
        L = G._bvn_cdf_mp(-h, -k, one_plus=e)
    A, B = _ncdf_ratio_mp(rhk, s), _ncdf_ratio_mp(rkh, s)
    nh, nk = mpmath.npdf(h), mpmath.npdf(k)
    g = s / (2 * mpmath.pi) * mpmath.exp(-quad / (2 * s * s)) if s > 0 else 0
    EX = nh * A + r * nk * B
    EY = nk * B + r * nh * A
    EXY = r * L + r * h * nh * A + r * k * nk * B + g
    return EXY - k * EX - h * EY + h * k * L


def _ht_dd64(Q, r, d, e, low=-1.0, high=1.0):
    """P(al < X < be, al < Y < be) by inclusion-exclusion of Phi_2."""
    Q, r, d, e = _bshape(Q, r, d, e)
    s = np.sqrt(Q)
    al, be = float(low) / s, float(high) / s
    # the four Phi_2 in one vectorised call (elementwise: the same bits as four calls)
    Fbb, Flb, Fbl, Fll = _bvn_rde64(np.stack([be, al, be, al]), np.stack([be, be, al, al]), r, d, e)
    return _ht_route_mp((Fbb - Flb - Fbl + Fll)[()], _ht_dd_mp, Q, r, d, e, low, high)


def _ht_dd_mp(Q, r, d, e, low=-1.0, high=1.0):
    import mpmath

    s = mpmath.sqrt(to_mpf(Q))
    al, be = to_mpf(low) / s, to_mpf(high) / s
    kw = dict(deficit=d) if r >= 0 else dict(one_plus=e)
    # the four Phi_2 are O(1) and their alternating sum ~ (high - low)^2 / Q for large Q: log10(Q) digits
    # cancel (10 extra digits alone lost all of them at Q = 1e30)
    with mpmath.extradps(10 + max(0, int(mpmath.log10(to_mpf(Q))))):
        F = lambda h, k: G._bvn_cdf_mp(h, k, **kw)  # noqa: E731
        v = F(be, be) - F(al, be) - F(be, al) + F(al, al)
    return +v


#: the largest Q of the hard tanh kernels: the clip's window (high - low) / sqrt(Q) is then >= 1e-6 (high - low);
#: beyond it the mpmath Phi_2 quadratures lose digits (8 of them at Q = 1e16, all at 1e30: measured against
#: the conditional-expectation oracle), and the kernels are the sign kernel of the levels to ~1/sqrt(Q)
HT_Q_MAX = 1e12
#: above this Q the float64 faces of the hard tanh kernels compute each element by the mpmath face (20
#: digits): the vectorised ramp decomposition and inclusion-exclusion cancel ~log10(Q) digits (1e-12
#: relative at Q = 1e3, 6e-8 at 1e8)
HT_Q_VECTOR = 1e3


def _check_ht(Q, C=None, low=-1.0, high=1.0, deficit=None, one_plus=None):
    _check_lohi(low, high)
    args, kw = _check_QC(Q, C, deficit, one_plus, q_max=HT_Q_MAX,
                         why="for the hard tanh kernels (beyond it the clip's window (high - low)/sqrt(Q) is below "
                             "1e-6 and the Phi_2 quadratures lose digits)")
    return args, dict(kw, low=low, high=high)


def _ht_route_mp(val, kmp, Q, r, d, e, low, high):
    """``val`` (the vectorised float64 kernel) with its elements at Q > HT_Q_VECTOR replaced by the mpmath
    face ``kmp`` at 20 digits (:data:`HT_Q_VECTOR`)."""
    Q, r, d, e = (np.ravel(x) for x in _bshape(Q, r, d, e))
    big = Q > HT_Q_VECTOR
    if not np.any(big):
        return val
    import mpmath

    shape = np.shape(val)
    out = np.array(val, dtype=float).ravel()  # a copy
    with mpmath.workdps(V.guard_digits(20)):
        for i in np.flatnonzero(big):
            if r[i] >= 0:  # the correlation from 1 - C near C = 1, from 1 + C near -1 (exact there)
                dd = to_mpf(d[i])
                rr, ee = 1 - dd, 2 - dd
            else:
                ee = to_mpf(e[i])
                rr, dd = ee - 1, 2 - ee
            out[i] = float(kmp(float(Q[i]), rr, dd, ee, low, high))
    return out.reshape(shape)[()]


def _ht_faces(k64, kmp):
    f64 = lambda Q, C=None, low=-1.0, high=1.0, deficit=None, one_plus=None: k64(Q, *_rde64(C, deficit, one_plus), low, high)  # noqa: E731
    mp = lambda Q, C=None, low=-1.0, high=1.0, deficit=None, one_plus=None: kmp(Q, *_rde_mp(C, deficit, one_plus), low, high)  # noqa: E731
    return f64, mp


_HT_COV = _ht_faces(_ht_cov64, _ht_cov_mp)
_HT_DD = _ht_faces(_ht_dd64, _ht_dd_mp)
_HSIG = lambda Q, C=None, low=-1.0, high=1.0, dps=None, deficit=None, one_plus=None: None  # noqa: E731
_HCASES = lambda: ([((q,), dict(c)) for q in (0.05, 1.0, 30.0) for c in _CS[:5]]  # noqa: E731
                   + [((0.7,), dict(C=0.4, low=-0.5, high=2.0)), ((1e-4,), dict(C=0.2))])

hardtanh_moments = ClosedForm(
    "qmf_sym.activations.hardtanh_moments", "paper 1, eq. 4 for phi = clip(x, low, high) (hard tanh)",
    f64=_ht_moments64, mp=_ht_moments_mp,
    check=lambda Q, low=-1.0, high=1.0: (_check_lohi(low, high), V.positive("Q", Q)) and ((Q, low, high), {}),
    oracle=_ht_moments_oracle,
    cases=lambda: [((q, lo, hi), {}) for q in (1e-6, 0.05, 1.0, 30.0, 1e6) for lo, hi in ((-1.0, 1.0), (-0.5, 2.0))],
    # E phi = 0 for the symmetric clip: its terms cancel at the scale max(|low|, |high|) + sqrt(Q) n(0)
    rtol=1e-14, atol=1e-15, cancel_scale=(1e3, 0.0), signature=lambda Q, low=-1.0, high=1.0, dps=None: None,
    doc="""(E phi(u), E phi(u)^2) for phi(x) = clip(x, low, high), u ~ N(0, Q); a = low, b = high,
    al = a / sqrt(Q), be = b / sqrt(Q)::

        E phi   = a Phi(al) + b Phi(-be) + sqrt(Q) (n(al) - n(be)),
        E phi^2 = a^2 Phi(al) + b^2 Phi(-be) + Q int_al^be z^2 n(z) dz,

    the last integral through the regularised incomplete gamma function (no cancellation when
    low <= 0 <= high).  E phi^2 relative-accurate; E phi absolute at the scale ``|a| + |b| + sqrt(Q)``
    (it cancels to 0 for a symmetric clip).""")

hardtanh_kernel = ClosedForm(
    "qmf_sym.activations.hardtanh_kernel", "paper 1, eq. 4-5 for phi = clip(x, low, high) (hard tanh)",
    f64=_HT_COV[0], mp=_HT_COV[1], check=_check_ht,
    oracle=lambda Q, C=None, low=-1.0, high=1.0, deficit=None, one_plus=None: oracle_conditional(
        _clip_mp(low, high), _cond_clip(low, high), Q, *_rde_mp(C, deficit, one_plus), kinks=(low, high)),
    # float64: absolute accuracy ~1e-15 max(1, Q) (the ramp decomposition cancels at large Q)
    cases=_HCASES, rtol=1e-12, atol=1e-14, signature=_HSIG,
    doc="""E phi(u1) phi(u2) for phi = clip(x, low, high), by the ramp decomposition
    clip(u) = u - s (X - be)_+ + s (-X + al)_+ (sqrt(Q) <= (high - low)/2) or
    clip(u) = low + s (X - al)_+ - s (X - be)_+ (larger Q), X = u / sqrt(Q), and the truncated
    bivariate moments R(h, k; C) = E[(X - h)_+ (Y - k)_+] (closed form with Phi_2, Rosenbaum 1961;
    derivations/continuous_activations.md).  float64: absolute accuracy ~1e-15 max(1, Q) (terms of
    size Q cancel); the ``dps`` face carries extra digits for that cancellation.""")

hardtanh_derivative_kernel = ClosedForm(
    "qmf_sym.activations.hardtanh_derivative_kernel", "paper 1, eq. 6 for phi = clip(x, low, high)",
    f64=_HT_DD[0], mp=_HT_DD[1], check=_check_ht,
    oracle=lambda Q, C=None, low=-1.0, high=1.0, deficit=None, one_plus=None: oracle_conditional(
        _clip_prime_mp(low, high), _cond_clip_prime(low, high), Q, *_rde_mp(C, deficit, one_plus), kinks=(low, high)),
    cases=_HCASES, rtol=1e-12, atol=1e-15, signature=_HSIG,
    doc="""E phi'(u1) phi'(u2) = P(low < u1 < high, low < u2 < high) (phi' = 1 on (low, high)), by
    inclusion-exclusion of four Phi_2 values (:mod:`qmf_sym.gaussian`); float64 absolute ~1e-15.""")


# ============================================================================ any smooth callable: quadrature
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(10)
_ZMAX = 9.5
_MAX_NODES = 2400


def _z_grid(Q, scale):
    """Composite 10-point Gauss-Legendre nodes/weights on |z| <= 9.5, panels of width about
    min(1/2, scale / sqrt(Q)) (at most 2400 nodes), times the Gaussian density: a rule for E f(sqrt(Q) z)."""
    sq = math.sqrt(Q)
    h = min(0.5, scale / sq) if sq > 0 else 0.5  # Q = 0 (an underflowed variance): E f(0 z) = f(0), any rule
    n = int(math.ceil(2 * _ZMAX / h))
    return _z_rule(max(2, min(n, _MAX_NODES // 10)))


@functools.lru_cache(maxsize=256)
def _z_rule(n):
    """The rule of :func:`_z_grid` with n equal panels on [-9.5, 9.5] (read-only arrays, built once per n)."""
    edges = np.linspace(-_ZMAX, _ZMAX, n + 1)
    mid, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    z = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()
    w = (half[:, None] * _GL_WEIGHTS[None, :]).ravel() * _pdf64(z)
    z.flags.writeable = w.flags.writeable = False
    return z, w


def _quad_moments64(act, Q, slope=True):
    """(E phi, E phi^2, E phi'^2) for u ~ N(0, Q) by the composite rule (vectorised over Q); ``slope``
    False: E phi'^2 not computed (NaN)."""
    Qa = np.atleast_1d(np.asarray(Q, float))
    out = np.full((3, Qa.size), np.nan)
    for i, q in enumerate(Qa.ravel()):
        z, w = _z_grid(q, act.scale)
        u = math.sqrt(q) * z
        f = act(u)
        out[:2, i] = (w @ f, w @ (f * f))
        if slope:
            fp = act.derivative(u)
            out[2, i] = w @ (fp * fp)
    shp = np.shape(Q)
    return tuple(o.reshape(shp)[()] for o in out)


def _quad_cross64(act, Q, r, d, e, which="both"):
    """(E phi(u1) phi(u2), E phi'(u1) phi'(u2)) by the composite rule in z1 and in z2 (conditional form
    u2 = sqrt(Q)(C z1 + s z2)), vectorised over broadcast Q, C; ``which`` 0 or 1: only that one (the
    other NaN)."""
    Q, r, d, e = _bshape(Q, r, d, e)
    shp = Q.shape
    out = np.full((2, Q.size), np.nan)
    for i, (q, rr, dd, ee) in enumerate(zip(Q.ravel(), r.ravel(), d.ravel(), e.ravel())):
        z, w = _z_grid(q, act.scale)
        if len(z) > 1000:  # the 2-D rule keeps at most 1000 x 1000 nodes (accuracy stated in Smooth)
            z, w = _z_grid(q, act.scale * len(z) / 1000)
        sq = math.sqrt(q)
        s = math.sqrt(abs(dd * ee))
        u1 = sq * z
        u2 = sq * (rr * z[:, None] + s * z[None, :])
        if which != 1:
            out[0, i] = w @ (act(u1) * (act(u2) @ w))
        if which != 0:
            out[1, i] = w @ (act.derivative(u1) * (act.derivative(u2) @ w))
    return out[0].reshape(shp)[()], out[1].reshape(shp)[()]


def _certified_quad(f, pts, ref=0, method="tanh-sinh"):
    """mpmath.quad (rescaled: :func:`_quad`) with its error estimate (the difference of its last two degrees)
    checked: raises ArithmeticError when the estimate exceeds 10^-(dps - 8) times |value| + ``ref`` (``ref``:
    the scale of the terms that cancel when the value is ~0, e.g. sqrt(E phi^2) for E phi of an odd phi),
    with a floor of 10^-dps times the integrand's sampled size."""
    import mpmath

    v, err, size = _quad(f, pts, error=True, maxdegree=10, method=method)
    target = mpmath.mpf(10) ** (-(mpmath.mp.dps - 8))
    if err > target * (abs(v) + ref + mpmath.mpf(10) ** (-mpmath.mp.dps) * size):
        raise ArithmeticError(f"quadrature error estimate {mpmath.nstr(err, 3)} exceeds the target "
                              f"{mpmath.nstr(target, 3)} (relative) at {mpmath.mp.dps} digits")
    return v


def _mp_fns(act):
    if act.mp_fn is None or act.mp_derivative_fn is None:
        raise ValueError(f"the dps face of {act.name!r} needs mp_fn and mp_derivative (mpmath callables); "
                         "give them to Smooth(...) or use dps=None")
    return act.mp_fn, act.mp_derivative_fn


def _quad_moments_mp_one(act, Q, k):
    """E phi (k = 1), E phi^2 (k = 2) or E phi'^2 (k = 3) by certified quadrature."""
    import mpmath

    f, fp = _mp_fns(act)
    g = {1: f, 2: lambda x: f(x) ** 2, 3: lambda x: fp(x) ** 2}[k]
    sq = mpmath.sqrt(to_mpf(Q))
    pts = _zbreaks(Q / act.scale ** 2, (), _L_mp())
    ref = mpmath.sqrt(_quad_moments_mp_one(act, Q, 2)) if k == 1 else 0
    return _certified_quad(lambda z: mpmath.npdf(z) * g(sq * z), pts, ref)


def _quad_moments_mp(act, Q):
    return tuple(_quad_moments_mp_one(act, Q, k) for k in (1, 2, 3))


def _quad_cross_mp(act, Q, r, d, e, which=None):
    """Conditional form: int n(z1) g(sqrt(Q) z1) [int n(z2) g(sqrt(Q)(C z1 + s z2)) dz2] dz1 with g = phi
    (``which`` = 0) or phi' (1), both levels certified (:func:`_certified_quad`); both when None."""
    import mpmath

    f, fp = _mp_fns(act)
    sq = mpmath.sqrt(to_mpf(Q))
    s = mpmath.sqrt(d * e)
    L = _L_mp()
    pts = _zbreaks(Q / act.scale ** 2, (), L)
    res = []
    for g in ((f, fp) if which is None else ((f, fp)[which],)):
        if r == 0 and g is f and act.odd:  # independent, and E phi = 0 exactly for an odd phi
            res.append(mpmath.mpf(0))
            continue
        # |E g(u1) g(u2)| <= E g(u)^2 (Cauchy-Schwarz): the scale of the terms that cancel near C = 0
        m2 = _quad_moments_mp_one(act, Q, 2 if g is f else 3)
        if r == 0:  # independent: E g(u1) g(u2) = (E g(u))^2
            res.append(_certified_quad(lambda z, g=g: mpmath.npdf(z) * g(sq * z), pts, mpmath.sqrt(m2)) ** 2)
            continue
        if s == 0:
            res.append(_certified_quad(lambda z, g=g: mpmath.npdf(z) * g(sq * z) * g(sq * r * z), pts))
            continue
        # the inner integrand varies on the scale scale / (sqrt(Q) s) around z2 = -C z1 / s

        def inner(z1, g=g):
            c = -r * z1 / s
            w = act.scale / (sq * s)
            br = {-L, L, mpmath.mpf(0)} | {x for x in (c, c - w, c + w, c - 4 * w, c + 4 * w) if -L < x < L}
            # absolute at the scale |g(centre)| + sqrt(E g^2): the inner mean of an odd g cancels to ~0
            ref = abs(g(sq * r * z1)) + mpmath.sqrt(m2)
            return _certified_quad(lambda z2: mpmath.npdf(z2) * g(sq * (r * z1 + s * z2)), sorted(br), ref,
                                   method="gauss-legendre")

        # E phi phi: absolute at the scale E phi^2 (it is ~Q C (E phi')^2 near C = 0, where a relative target
        # raised ArithmeticError); E phi' phi' has a positive integrand for a monotone phi: relative
        res.append(_certified_quad(lambda z1, g=g, inner=inner: mpmath.npdf(z1) * g(sq * z1) * inner(z1), pts,
                                   m2 if g is f else 0, method="gauss-legendre"))
    return tuple(res) if which is None else res[0]


def _quad_oracle_moments(act, Q):
    f, fp = _mp_fns(act)
    return tuple(oracle_moment(g, Q, ()) for g in (f, lambda x: f(x) ** 2, lambda x: fp(x) ** 2))


def _quad_oracle_cross(act, Q, r, d, e):
    """Nested quadrature in the eigen-coordinates; at C = 0 (independent u1, u2) the product of two
    one-dimensional quadratures (tanh-sinh, no odd-symmetry shortcut)."""
    f, fp = _mp_fns(act)
    if r == 0:
        return oracle_moment(f, Q) ** 2, oracle_moment(fp, Q) ** 2
    return oracle_cross(f, f, Q, r, d, e), oracle_cross(fp, fp, Q, r, d, e)


def _check_quad(act, Q):
    from .activations import Smooth

    if not isinstance(act, Smooth):
        raise ValueError(f"act must be a qmf_sym.activations.Smooth activation, got {type(act).__name__}")
    V.positive("Q", Q)
    return (act, Q), {}


def _check_quad_cross(act, Q, C=None, deficit=None, one_plus=None):
    _check_quad(act, Q)
    V.correlation(C, deficit, one_plus=one_plus)
    return (act, Q), dict(C=C, deficit=deficit, one_plus=one_plus)


def _tanh_case():
    from .activations import Tanh

    return Tanh()


quadrature_moments = ClosedForm(
    "qmf_sym.activations.quadrature_moments", "paper 1, eq. 4 and chi_1 for any smooth phi (quadrature)",
    f64=_quad_moments64, mp=_quad_moments_mp, check=_check_quad, oracle=_quad_oracle_moments,
    cases=lambda: [((_tanh_case(), q), {}) for q in (1e-4, 0.5, 3.0, 40.0)],
    rtol=1e-13, atol=1e-15, cancel_scale=(1.0, 0.0, 0.0), signature=lambda act, Q, dps=None: None,
    doc="""(E phi(u), E phi(u)^2, E phi'(u)^2) for u ~ N(0, Q) and a :class:`Smooth` phi, by quadrature.

    float64: composite 10-point Gauss-Legendre in z = u/sqrt(Q) on ``|z| <= 9.5`` (accuracy stated in
    :class:`qmf_sym.activations.Smooth`, tested); ``dps``: mpmath.quad with its error estimate
    checked against 10^-dps (ArithmeticError otherwise).  E phi cancels to 0 for odd phi: absolute.""")


def _qcross64(act, Q, C=None, deficit=None, one_plus=None):
    return _quad_cross64(act, Q, *_rde64(C, deficit, one_plus))


def _qcross_mp(act, Q, C=None, deficit=None, one_plus=None):
    return _quad_cross_mp(act, Q, *_rde_mp(C, deficit, one_plus))


quadrature_kernel = ClosedForm(
    "qmf_sym.activations.quadrature_kernel", "paper 1, eq. 4-6 for any smooth phi (quadrature)",
    f64=_qcross64, mp=_qcross_mp, check=_check_quad_cross,
    oracle=lambda act, Q, C=None, deficit=None, one_plus=None: _quad_oracle_cross(act, Q, *_rde_mp(C, deficit, one_plus)),
    # default suite: the first and last case (C = 0 and C = 1: one-level integrals); the general
    # two-level case in between (~1 min a face under load) runs in the slow suite and in tests/test_continuous.py
    cases=lambda: [((_tanh_case(), 0.5), dict(C=0.0)), ((_tanh_case(), 0.5), dict(C=0.3)),
                   ((_tanh_case(), 2.0), dict(deficit=0.0))],
    rtol=1e-12, atol=1e-15, cancel_scale=(1.0, 0.0),
    signature=lambda act, Q, C=None, dps=None, deficit=None, one_plus=None: None,
    doc="""(E phi(u1) phi(u2), E phi'(u1) phi'(u2)) for a :class:`Smooth` phi by two-level quadrature of
    the conditional form u2 = sqrt(Q)(C z1 + sqrt(1 - C^2) z2) (float64: the composite rule in both
    variables, at most 1000 x 1000 nodes; ``dps``: certified mpmath.quad at both levels).""")
