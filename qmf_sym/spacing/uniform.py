"""Eq. 17 of paper 1 (sec. 4.2): chi(D~; N) of the uniform N-level staircase, and its derivatives.

*Uniform family.*  g~_i = D~ (i - N/2), i = 1..N-1, equal heights, i.e. thresholds D~ t for t in
K = {k - N/2 : k = 1..N-1} (integers for even N, half-integers for odd N; K = -K).  Writing
phi_c = (count of thresholds below z) - (N-1)/2 (odd, centred) and summing by parts over the
positive half-line, every sum of eq. 16 becomes a sum of *positive* terms over t in K, t > 0.  With
the four moments

    s0 = sum_t p(t D~),  s2 = sum_t t^2 p(t D~),  s4 = sum_t t^4 p(t D~),  sG = sum_t t Phi(-t D~)

(t in K, t > 0; p, Phi the standard normal pdf, cdf):

    A  = 2 s0 + a0            (a0 = p(0) = 1/sqrt(2 pi) for even N: the step at t = 0; 0 for odd N)
    B  = Var phi = cN + 4 sG  (cN = 1/4 for even N, 0 for odd N)
    chi(D~; N) = A^2 / B,     A' = -2 D~ s2,  A'' = 2 (D~^2 s4 - s2),  B' = -4 s2,  B'' = 4 D~ s4.

(The 1/(2 pi) of eq. 17 is p(x) p(y) = exp(-(x^2 + y^2)/2) / (2 pi).)  Derivation:
derivations/spacing_eq16_17.md.

*One formula, two number types.*  :func:`eq17_sums` (the lines above) is written once and runs
unchanged on numpy arrays and on mpmath numbers; only the evaluation of the four moments has two
faces: :func:`moments_f64` (vectorised over D~ and over a padded matrix of thresholds, i.e. over
many N at once) and :func:`moments_mp` (a loop at the current mpmath precision).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special as _sp

from .. import _validate as V
from .._faces import ClosedForm
from .._numbers import mp as _mp
from .._numbers import to_mpf as _to_mpf

__all__ = ["chi_uniform", "chi_eq17", "chi_uniform_derivatives", "eq17_sums", "chi_derivatives_from_sums",
           "Thresholds", "moments_f64", "moments_mp"]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_PAD = 1e10  # a padding threshold whose terms underflow to exactly 0 (p = Phi(-t D) = t^4 p = 0) for D >= _PAD_D
_PAD_D = 1e-8  # below it moments_f64 masks the padding out (exp(-(1e10 D)^2 / 2) > 0 from D ~ 4e-9 down)


# ----------------------------------------------------------------------------- the formula, once
def eq17_sums(D, s0, s2, s4, sG, a0, cN):
    """(A, A', A'', B, B', B'') of eq. 17 from the four moments (module docstring).

    Plain arithmetic: the same lines serve numpy arrays (float64 face) and mpmath numbers (``dps``
    face).  chi = A^2 / B."""
    return 2 * s0 + a0, -2 * D * s2, 2 * (D * D * s4 - s2), cN + 4 * sG, -4 * s2, 4 * D * s4


def chi_derivatives_from_sums(A, A1, A2, B, B1, B2):
    """(chi, chi', chi'') from (A, A', A'', B, B', B''), chi = A^2 / B (any number type)."""
    chi = A * A / B
    d1 = (2 * A * A1 * B - A * A * B1) / (B * B)
    # chi = A^2 B^-1: chi'' = 2 A1^2/B + 2 A A2/B - 4 A A1 B1/B^2 - A^2 B2/B^2 + 2 A^2 B1^2/B^3
    d2 = (2 * A1 * A1 + 2 * A * A2) / B - (4 * A * A1 * B1 + A * A * B2) / (B * B) + 2 * A * A * B1 * B1 / (B * B * B)
    return chi, d1, d2


# ----------------------------------------------------------------------------- float64 face
class Thresholds:
    """The positive thresholds t of K for several N as a padded matrix (one row per N).

    ``T`` (n, M), rows padded with a huge threshold whose terms vanish exactly; ``a0``, ``cN`` (n,)
    the constants of eq. 17 for each N.  ``row(i)`` views one N (1-D arrays, broadcasting against D
    of any shape); ``take(mask)`` keeps some rows."""

    def __init__(self, Ns=None, _arrays=None):
        if _arrays is not None:
            self.T, self.T2, self.T4, self.Ts, self.a0, self.cN = _arrays
            return
        Ns = np.atleast_1d(np.asarray(Ns, dtype=int))
        even = Ns % 2 == 0
        j = np.arange(int(max(1, (Ns.max() - 1) // 2 + 1)), dtype=float)
        T = np.where(even[:, None], j + 1.0, j + 0.5)
        self.T = np.where(T < (Ns[:, None] / 2.0 - 0.1), T, _PAD)
        self.T2 = self.T * self.T
        self.T4 = self.T2 * self.T2
        self.Ts = self.T / _SQRT2
        self.a0 = np.where(even, _INV_SQRT_2PI, 0.0)
        self.cN = np.where(even, 0.25, 0.0)

    def take(self, keep):
        return Thresholds(_arrays=tuple(x[keep] for x in (self.T, self.T2, self.T4, self.Ts, self.a0, self.cN)))

    def row(self, i=0):
        return Thresholds(_arrays=tuple(x[i] for x in (self.T, self.T2, self.T4, self.Ts, self.a0, self.cN)))


def moments_f64(D, th):
    """(s0, s2, s4, sG) in float64 for D of shape (n,) against ``th`` with n rows, or D of any shape
    against one row ``th.row(i)``.

    This kernel evaluates p(t D) = exp(t^2 (-D^2/2)) / sqrt(2 pi) and Phi(-t D) = erfc(t/sqrt2 D)/2
    itself instead of calling ``qmf_sym.gaussian.pdf.f64`` / ``cdf.f64``: here every argument is
    >= 0 (the upper tail, where erfc is relatively accurate) and t^2, t/sqrt2 are precomputed per
    table, so the general faces (Dekker-split exponent, a lower-tail branch) would only cost time.
    Measured (benchmarks: the float64 table N = 2..10 000): 3.0 s here vs 11.5 s with the general
    faces, and the faces shift the float64 optima by an ulp, which changes the Newton step counts
    of the seeded ``qmf reproduce`` table.  The two routes agree to a few ulp (tests/test_spacing.py
    compares this face with the mpmath face and the printed double sums)."""
    D = np.asarray(D, dtype=float)
    with np.errstate(over="ignore"):  # D^2 = inf from D ~ 1e154: p = 0, erfc(inf) = 0, both right
        p = np.exp(th.T2 * (-0.5 * D * D)[..., None])
    # below D ~ 4e-9 the padding's terms no longer underflow: drop them (chi was 7e-11, not 2/pi)
    keep = (th.T < _PAD) if np.any(D < _PAD_D) else None
    if keep is not None:
        p = p * keep
    s0 = _INV_SQRT_2PI * p.sum(-1)
    s2 = _INV_SQRT_2PI * np.einsum("...j,...j->...", p, th.T2)
    s4 = _INV_SQRT_2PI * np.einsum("...j,...j->...", p, th.T4)
    del p
    with np.errstate(over="ignore"):
        E = _sp.erfc(th.Ts * D[..., None])  # 2 Phi(-t D)
    if keep is not None:
        E = E * keep
    sG = 0.5 * np.einsum("...j,...j->...", E, th.T)
    return s0, s2, s4, sG


def sums_f64(D, th):
    """(A, A', A'', B, B', B'') of eq. 17 in float64: :func:`eq17_sums` of :func:`moments_f64` (see it for the
    shapes).  Internal, not in ``__all__``: the unchecked face of the Newton iteration of
    :mod:`qmf_sym.spacing.optimum`; :func:`chi_uniform_derivatives` is the checked route."""
    return eq17_sums(D, *moments_f64(D, th), th.a0, th.cN)


# ----------------------------------------------------------------------------- mpmath face
def moments_mp(D, N):
    """(s0, s2, s4, sG) at the current mpmath precision for one N at one D (an mpf).

    The densities p(t D) on the uniform grid t = t0, t0 + 1, ... are generated by the exact
    recurrence p_{t+1} = p_t * r * q^(t - t0) (r = exp(-(2 t0 + 1) D^2 / 2), q = exp(-D^2)), so
    the cost is one erfc per threshold.  (Phi(-t D) = erfc(t D/sqrt2)/2 is evaluated here with the
    scale D/sqrt2 hoisted out of the loop; calling ``qmf_sym.gaussian.cdf.mp`` instead was measured
    to change only guard-digit noise -- the 30-digit values are identical -- but that noise shows in
    the certificate columns (residual, reldiff) of the seeded ``qmf reproduce`` table.)"""
    mpmath = _mp()
    even = N % 2 == 0
    M = N // 2 - 1 if even else (N - 1) // 2
    t0 = mpmath.mpf(1) if even else mpmath.mpf(1) / 2
    s0 = s2 = s4 = sG = mpmath.mpf(0)
    if M > 0:
        D2 = D * D
        p = (1 / mpmath.sqrt(2 * mpmath.pi)) * mpmath.exp(-t0 * t0 * D2 / 2)
        r = mpmath.exp(-(2 * t0 + 1) * D2 / 2)
        q = mpmath.exp(-D2)
        x_scale = D / mpmath.sqrt(2)
        erfc = mpmath.erfc
        t = t0
        for _ in range(M):
            tt = t * t
            s0 += p
            s2 += tt * p
            s4 += tt * tt * p
            sG += t * erfc(t * x_scale)
            p *= r
            r *= q
            t += 1
        sG /= 2
    return s0, s2, s4, sG


def _constants_mp(N):
    mpmath = _mp()
    if N % 2 == 0:
        return 1 / mpmath.sqrt(2 * mpmath.pi), mpmath.mpf(1) / 4
    return mpmath.mpf(0), mpmath.mpf(0)


def sums_mp(D, N):
    """(A, A', A'', B, B', B'') of eq. 17 at the current mpmath precision for one N at one D (an mpf):
    :func:`eq17_sums` of :func:`moments_mp`.  Internal, not in ``__all__``, like :func:`sums_f64`."""
    return eq17_sums(D, *moments_mp(D, N), *_constants_mp(N))


# ----------------------------------------------------------------------------- public
def check_N(N):
    """N of eq. 17: an integer in [2, N_MAX] (``qmf_sym.activations.N_MAX`` = 10**6, the bound of
    ``Staircase.uniform``).  Cost at the bound: the float64 face ~0.2 s per D, the ``dps`` face O(N)
    mpmath erfc (N = 10**4: ~1.5 s at dps = 30, so ~2-3 minutes at N = 10**6); N = 10**7 is refused.

    Internal, not in ``__all__``: the one check of N for every face of eq. 17 (float64, ``dps``, and the
    ball face of :mod:`qmf_sym.proof.uniform`); its ValueError names ``N`` and the range."""
    from ..activations import N_MAX

    return V.integer("N", N, 2, N_MAX, "the cost is O(N) per evaluation (the dps face: ~2-3 minutes at 10**6)")


@lru_cache(maxsize=64)
def _thresholds_of(N):
    """The thresholds row of one N (cached: the scalar calls of the figures reuse a few N)."""
    th = Thresholds([N]).row(0)
    for x in (th.T, th.T2, th.T4, th.Ts):
        x.flags.writeable = False
    return th


def _sums(D, N, d):
    if d is None:
        check_D(D)
        return sums_f64(D, _thresholds_of(N))
    D = _to_mpf(D)
    check_D(D)
    return sums_mp(D, N)


#: the largest normalised spacing D~ of eq. 17: mpmath's erfc raises OverflowError from arguments ~1e154
#: (it squares them in float); at 1e100, chi = 2/pi (even N) or ~exp(-1e200 / 8) (odd N) to every digit
D_MAX = 1e100


def check_D(D):
    """D~ of eq. 17: in (0, D_MAX] (not subnormal); internal, the one check of every face's D."""
    return V.positive_at_most("D", D, D_MAX, "(mpmath's erfc overflows beyond)")


def _check_chi_uniform(D, N):
    N = check_N(N)
    check_D(D)
    return (D, N), {}


def _chi_uniform_f64(D, N):
    with np.errstate(invalid="ignore", over="ignore"):  # D^2 s4 = inf * 0 in A'' at D ~ 1e300 (unused here)
        A, _, _, B, _, _ = sums_f64(D, _thresholds_of(N))
        # odd N, large D: A and B both underflow, and chi (~e^(-D^2/4)) with them, to 0 (not 0/0)
        return np.where(A == 0, 0.0, A * A / B)[()]


def _chi_uniform_mp(D, N):
    A, _, _, B, _, _ = sums_mp(_to_mpf(D), N)
    return A * A / B


def _chi_uniform_oracle(D, N):
    """Eq. 17 exactly as printed: two O(N^2) double sums over K (mpmath, current precision)."""
    mpmath = _mp()
    D = _to_mpf(D)
    K = [mpmath.mpf(2 * k - N) / 2 for k in range(1, N)]
    num = mpmath.fsum(mpmath.exp(-(i * i + j * j) * D * D / 2) for i in K for j in K) / (2 * mpmath.pi)
    den = mpmath.fsum(mpmath.ncdf(-max(i, j) * D) * mpmath.ncdf(min(i, j) * D) for i in K for j in K)
    return num / den


chi_uniform = ClosedForm(
    "qmf_sym.spacing.chi_uniform", "paper 1, eq. 17",
    f64=_chi_uniform_f64, mp=_chi_uniform_mp, check=_check_chi_uniform, oracle=_chi_uniform_oracle,
    cases=lambda: [((D, N), {}) for N in (2, 3, 4, 7, 16, 33) for D in (1e-6, 0.01, 0.3, 1.0, 3.0, 12.0)],
    rtol=1e-13,
    doc="""chi(D~; N) of eq. 17 of paper 1: the fixed-point slope (sigma_b = 0, C* = 0) of the uniform
    N-level staircase with normalized spacing D~ = D / sqrt(Q*), offsets D~ (i - N/2), i = 1..N-1;
    ``chi_uniform(D, N, dps=None)``.

    ``dps=None``: float64, vectorised over ``D`` (O(N) per value).  ``dps=k``: mpmath, k digits.
    Limits: chi -> 2/pi as D~ -> 0 (all steps merge into a sign activation); as D~ -> inf,
    chi -> 2/pi for even N (the step at t = 0 remains, the others go to the tails) and chi -> 0 for
    odd N (no step at 0).""")


chi_eq17 = chi_uniform


def chi_uniform_derivatives(D, N, dps=None):
    """(chi, dchi/dD~, d^2chi/dD~^2) of eq. 17 of paper 1, analytic (chi = A^2 / B)."""
    N = check_N(N)
    d = V.dps(dps)
    if d is None:
        return chi_derivatives_from_sums(*_sums(D, N, d))
    mpmath = _mp()
    with mpmath.workdps(V.guard_digits(d)):
        c, d1, d2 = chi_derivatives_from_sums(*_sums(D, N, d))
        return +c, +d1, +d2
