"""Optimal spacing of quantized activations: eq. 16 and eq. 17 of paper 1 (Blumenfeld, Gilboa &
Soudry 2019, sec. 4.2), the maximal slope chi_max(N), the optimal normalized spacing D~_opt(N),
tables, the paper's power-law regressions (Fig. 2, eq. 18) and large-N asymptotics.

Setting (sec. 4.2): sigma_b = 0, so that C* = 0 is a fixed point of the correlation map, and
offsets are measured in units of sqrt(Q*): g~ = g / sqrt(Q*).  Then (eq. 16)

    chi(g~, h) = [sum_i h_i p(g~_i)]^2 / sum_{i,j} h_i h_j Phi(-max(g~_i, g~_j)) Phi(min(g~_i, g~_j))

with p the standard normal density.  The numerator is the square of a single sum (eq. 16 writes it
as a double sum); the denominator is Var[phi(z)] / 1 for z ~ N(0, 1) and is evaluated here in O(N)
with a cumulative sum.

*Centring.*  Eq. 16 is chi at C* = 0, and C* = 0 is a fixed point at sigma_b = 0 only if
E phi(u) = 0 (then E phi(u1) phi(u2) = (E phi)^2 = 0 at C = 0).  The denominator of eq. 16 (and
Q^ of eq. 14 as printed) is the *variance* Var phi(u), which equals E phi(u)^2 only for a centred
staircase.  So eq. 16 is the fixed-point slope of a staircase whose base A is chosen to centre it,
A = -sum_i h_i Phi(-g~_i) (see :func:`centring_base`); the uniform family of eq. 17 is odd, hence
centred.  For a non-centred staircase at sigma_b = 0 the stable fixed point has C* > 0 and eq. 16
does not apply (use ``qmf_sym.maps.fixed_point``).  Derivation: derivations/spacing_eq16_17.md.

*Uniform family (eq. 17).*  g~_i = D~ (i - N/2), i = 1..N-1, equal heights, i.e. thresholds
D~ t for t in K = {k - N/2 : k = 1..N-1} (integers for even N, half-integers for odd N; K = -K).
Writing phi_c = (count of thresholds below z) - (N-1)/2 (odd, centred) and summing by parts over
the positive half-line, every sum becomes a sum of *positive* terms over t in K, t > 0:

    A(D~) = sum_{t in K} p(t D~)                      (numerator of eq. 17 is A^2 / (2 pi) * 2 pi)
    B(D~) = Var phi = c_N + 4 sum_{t in K, t > 0} t Phi(-t D~),   c_N = 1/4 (N even), 0 (N odd)
    chi(D~; N) = A^2 / B.

(The 1/(2 pi) of eq. 17 is p(x) p(y) = exp(-(x^2 + y^2)/2) / (2 pi).)  The derivatives in D~ are
equally simple (A' = -D~ sum t^2 p, B' = -4 sum_{t>0} t^2 p, ...), so the optimum is found by Newton
on the analytic derivative: chi' = A g / B^2 with g = 2 A' B - A B'.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from scipy import special as _sp

from . import _validate as V

__all__ = [
    "chi_staircase", "chi_eq16", "centring_base", "chi_uniform", "chi_eq17", "chi_uniform_derivatives",
    "OptimalSpacing", "optimal_spacing", "table", "write_table", "read_table", "fit_power_laws",
    "local_slopes", "PAPER_FIT",
]

_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: The paper's regression for 1 - chi_max (eq. 18): 1 - chi_max = exp(a) (N + 1)^b.
PAPER_FIT = {"a": 0.71, "b": -1.82}


# ----------------------------------------------------------------------------- helpers
def _ncdf_f64(x):
    """Phi(x) in float64 via erfc (accurate in both tails)."""
    return 0.5 * _sp.erfc(-np.asarray(x, dtype=float) / _SQRT2)


def _pdf_f64(x):
    x = np.asarray(x, dtype=float)
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


def _mp():
    import mpmath

    return mpmath


def _mp_ncdf(x):
    mpmath = _mp()
    return mpmath.erfc(-x / mpmath.sqrt(2)) / 2


def _mp_pdf(x):
    mpmath = _mp()
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def _to_mpf(x):
    mpmath = _mp()
    if type(x).__module__.startswith("mpmath"):
        return mpmath.mpf(x)
    if isinstance(x, (int, np.integer)):
        return mpmath.mpf(int(x))
    from fractions import Fraction

    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(float(x))


# ----------------------------------------------------------------------------- eq. 16
def _check_staircase_args(offsets, heights):
    g = np.asarray(offsets, dtype=object if _is_mp_seq(offsets) else float)
    if g.ndim == 0:
        g = g.reshape(1)
    if g.shape[-1] < 1:
        raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
    return g


def _is_mp_seq(x):
    try:
        return any(type(v).__module__.startswith("mpmath") for v in np.ravel(np.asarray(x, dtype=object)))
    except Exception:  # pragma: no cover
        return False


def chi_staircase(offsets, heights=1.0, dps=None):
    """chi at C* = 0, sigma_b = 0 of a staircase with *normalized* offsets g~ (eq. 16 of paper 1).

    Parameters
    ----------
    offsets : array (..., N-1) of normalized offsets g~_i = g_i / sqrt(Q*), strictly increasing
        along the last axis (float64 path is vectorised over leading axes).
    heights : positive heights h_i, broadcastable to ``offsets`` (default 1: equal steps; chi is
        invariant under a common rescaling of the heights).
    dps : None for float64, or an int >= 1 for mpmath at that many digits (1-D offsets only).

    Notes
    -----
    Valid as the fixed-point slope only for a centred staircase (E phi = 0, see
    :func:`centring_base`); the formula itself does not depend on the base A.
    Numerator: (sum_i h_i p(g~_i))^2.  Denominator: sum_{i,j} h_i h_j Phi(-max) Phi(min)
    = sum_j h_j Phi(-g~_j) [h_j Phi(g~_j) + 2 sum_{i<j} h_i Phi(g~_i)]  (O(N), positive terms).
    """
    d = V.dps(dps)
    if d is None:
        g = np.asarray(offsets, dtype=float)
        if g.ndim == 0:
            g = g.reshape(1)
        V._finite_array("offsets", g)
        if g.shape[-1] < 1:
            raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
        if g.shape[-1] > 1 and not np.all(np.diff(g, axis=-1) > 0):
            raise ValueError("offsets must be strictly increasing along the last axis (g~_1 < ... < g~_{N-1})")
        h = np.broadcast_to(np.asarray(heights, dtype=float), g.shape)
        V.positive("heights", h)
        num = np.sum(h * _pdf_f64(g), axis=-1) ** 2
        F = _ncdf_f64(g)
        G = _ncdf_f64(-g)
        hF = h * F
        S = np.cumsum(hF, axis=-1) - hF  # sum_{i<j} h_i F_i
        den = np.sum(h * G * (hF + 2.0 * S), axis=-1)
        return num / den
    mpmath = _mp()
    offs = list(np.ravel(np.asarray(offsets, dtype=object)))
    if len(offs) < 1:
        raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
    hs = list(np.ravel(np.asarray(heights, dtype=object)))
    if len(hs) == 1:
        hs = hs * len(offs)
    if len(hs) != len(offs):
        raise ValueError(f"heights must have N-1 = {len(offs)} entries like offsets, got {len(hs)}")
    with mpmath.workdps(V.guard_digits(d)):
        g = [_to_mpf(x) for x in offs]
        h = [_to_mpf(x) for x in hs]
        for x in g:
            if not mpmath.isfinite(x):
                raise ValueError(f"offsets must be finite, got {x}")
        if any(b <= a for a, b in zip(g, g[1:])):
            raise ValueError("offsets must be strictly increasing (g~_1 < ... < g~_{N-1})")
        if any(not (x > 0) for x in h):
            raise ValueError("heights must be in (0, inf)")
        num = mpmath.fsum(hi * _mp_pdf(gi) for hi, gi in zip(h, g)) ** 2
        den = mpmath.mpf(0)
        S = mpmath.mpf(0)
        for hi, gi in zip(h, g):
            F = _mp_ncdf(gi)
            G = _mp_ncdf(-gi)
            den += hi * G * (hi * F + 2 * S)
            S += hi * F
        res = num / den
    return res  # keeps the guard precision (unary + here would round to mp.dps)


chi_eq16 = chi_staircase


def centring_base(offsets, heights=1.0, dps=None):
    """The base A that makes the staircase centred, E phi(z) = 0 for z ~ N(0, 1) with normalized
    offsets: A = -sum_i h_i Phi(-g~_i).  Eq. 16 is the slope at the fixed point C* = 0 (sigma_b = 0)
    only for this A."""
    d = V.dps(dps)
    if d is None:
        g = np.asarray(offsets, dtype=float)
        h = np.broadcast_to(np.asarray(heights, dtype=float), g.shape)
        return -np.sum(h * _ncdf_f64(-g), axis=-1)
    mpmath = _mp()
    offs = list(np.ravel(np.asarray(offsets, dtype=object)))
    hs = list(np.ravel(np.asarray(heights, dtype=object)))
    if len(hs) == 1:
        hs = hs * len(offs)
    with mpmath.workdps(V.guard_digits(d)):
        r = -mpmath.fsum(_to_mpf(hi) * _mp_ncdf(-_to_mpf(gi)) for hi, gi in zip(hs, offs))
    return r


# ----------------------------------------------------------------------------- eq. 17
def _positive_t(N):
    """Positive elements of K = {k - N/2 : k = 1..N-1} (float64), and c_N."""
    if N % 2 == 0:
        return np.arange(1, N // 2, dtype=float), 0.25
    return np.arange(0.5, N / 2.0 - 0.25, 1.0), 0.0


def _sums_f64(D, N):
    """Vectorised over D (any shape) for one N: (A, A', A'', B, B', B'')."""
    D = np.asarray(D, dtype=float)
    t, cN = _positive_t(N)
    even = N % 2 == 0
    x = D[..., None] * t
    p = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    G = 0.5 * _sp.erfc(x / _SQRT2)
    t2p = t * t * p
    s0 = p.sum(-1)
    s2 = t2p.sum(-1)
    s4 = (t * t * t2p).sum(-1)
    sG = (t * G).sum(-1)
    A = 2.0 * s0 + (_INV_SQRT_2PI if even else 0.0)
    A1 = -2.0 * D * s2
    A2 = 2.0 * (D * D * s4 - s2)
    B = cN + 4.0 * sG
    B1 = -4.0 * s2
    B2 = 4.0 * D * s4
    return A, A1, A2, B, B1, B2


def _sums_mp(D, N):
    """mpmath (current precision): (A, A', A'', B, B', B'') for one N at one D.

    The densities p(t D) on the uniform grid t = t0, t0 + 1, ... are generated by the exact
    recurrence p_{t+1} = p_t * r * q^(t - t0) (r = exp(-(2 t0 + 1) D^2 / 2), q = exp(-D^2)), so
    the cost is one erfc per threshold."""
    mpmath = _mp()
    even = N % 2 == 0
    M = N // 2 - 1 if even else (N - 1) // 2
    t0 = mpmath.mpf(1) if even else mpmath.mpf(1) / 2
    c = 1 / mpmath.sqrt(2 * mpmath.pi)
    s0 = s2 = s4 = sG = mpmath.mpf(0)
    if M > 0:
        D2 = D * D
        p = c * mpmath.exp(-t0 * t0 * D2 / 2)
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
    A = 2 * s0 + (c if even else 0)
    A1 = -2 * D * s2
    A2 = 2 * (D * D * s4 - s2)
    B = (mpmath.mpf(1) / 4 if even else mpmath.mpf(0)) + 4 * sG
    B1 = -4 * s2
    B2 = 4 * D * s4
    return A, A1, A2, B, B1, B2


def _check_N(N):
    return V.integer("N", N, 2)


def chi_uniform(D, N, dps=None):
    """chi(D~; N) of eq. 17 of paper 1: the fixed-point slope (sigma_b = 0, C* = 0) of the uniform
    N-level staircase with normalized spacing D~ = D / sqrt(Q*), offsets D~ (i - N/2), i = 1..N-1.

    ``dps=None``: float64, vectorised over ``D`` (O(N) per value).  ``dps=k``: mpmath, k digits.
    Limits: chi -> 2/pi as D~ -> 0 (all steps merge into a sign activation); as D~ -> inf,
    chi -> 2/pi for even N (the step at t = 0 remains, the others go to the tails) and chi -> 0 for
    odd N (no step at 0).
    """
    N = _check_N(N)
    d = V.dps(dps)
    if d is None:
        V.positive("D", D)
        A, _, _, B, _, _ = _sums_f64(D, N)
        return A * A / B
    mpmath = _mp()
    with mpmath.workdps(V.guard_digits(d)):
        Dm = _to_mpf(D)
        V.positive("D", Dm)
        A, _, _, B, _, _ = _sums_mp(Dm, N)
        r = A * A / B
    return r


chi_eq17 = chi_uniform


def chi_uniform_derivatives(D, N, dps=None):
    """(chi, dchi/dD~, d^2chi/dD~^2) of eq. 17, analytic (chi = A^2 / B)."""
    N = _check_N(N)
    d = V.dps(dps)
    if d is None:
        V.positive("D", D)
        A, A1, A2, B, B1, B2 = _sums_f64(D, N)
    else:
        mpmath = _mp()
        with mpmath.workdps(V.guard_digits(d)):
            Dm = _to_mpf(D)
            V.positive("D", Dm)
            A, A1, A2, B, B1, B2 = _sums_mp(Dm, N)
    return _chi_derivs_from_sums(A, A1, A2, B, B1, B2, d)


def _chi_derivs_from_sums(A, A1, A2, B, B1, B2, d=None):
    def work():
        chi = A * A / B
        d1 = (2 * A * A1 * B - A * A * B1) / (B * B)
        # chi = A^2 B^-1: chi'' = 2 A1^2/B + 2 A A2/B - 4 A A1 B1/B^2 - A^2 B2/B^2 + 2 A^2 B1^2/B^3
        d2 = (2 * A1 * A1 + 2 * A * A2) / B - (4 * A * A1 * B1 + A * A * B2) / (B * B) + 2 * A * A * B1 * B1 / (B * B * B)
        return chi, d1, d2

    if d is None:
        return work()
    mpmath = _mp()
    with mpmath.workdps(V.guard_digits(d)):
        c, d1, d2 = work()
        return +c, +d1, +d2


# ----------------------------------------------------------------------------- optimum
@dataclass(frozen=True)
class OptimalSpacing:
    """The maximum of chi(D~; N) (eq. 17) over the normalized spacing D~, with certificates.

    Fields: ``N``; ``D_opt`` (argmax D~); ``chi_max``; ``xi`` = -1/log(chi_max) (eq. 7);
    ``residual`` = |dchi/dD~| at D_opt; ``curvature`` = d^2chi/dD~^2 at D_opt (< 0 certifies a
    maximum); ``dps`` (None = float64); ``check_dps`` (the higher working precision of the
    independent re-run, 0 if not run); ``D_opt_reldiff``, ``chi_max_reldiff`` (relative differences
    to that re-run; NaN if not run); ``newton_steps``.
    """

    N: int
    D_opt: object
    chi_max: object
    xi: object
    residual: object
    curvature: object
    dps: object
    check_dps: int
    D_opt_reldiff: float
    chi_max_reldiff: float
    newton_steps: int

    def as_row(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def agree_digits(self):
        """Significant digits on which the dps run and the higher-precision run agree."""
        r = max(self.D_opt_reldiff, self.chi_max_reldiff)
        return float("inf") if r == 0 else -math.log10(r)


def _g_f64(D, N):
    A, A1, A2, B, B1, B2 = _sums_f64(D, N)
    g = 2 * A1 * B - A * B1
    gp = 2 * A2 * B + A1 * B1 - A * B2
    return g, gp


_GUESS_N = np.array([3, 4, 5, 7, 9, 12, 17, 22, 29, 39, 52, 69, 91, 122, 162, 215, 286, 380, 505, 672, 893,
                     1187, 1579, 2099, 2790, 3710, 4932, 6558, 8718, 11591, 15411, 20489, 27240, 36215,
                     48148, 64013, 85106, 113149, 150432, 200000], dtype=float)
_GUESS_C = np.array([3.5033, 3.3826, 3.3224, 3.2656, 3.2412, 3.2261, 3.2208, 3.2234, 3.2305, 3.2418, 3.2551,
                     3.2698, 3.2851, 3.3018, 3.3181, 3.3344, 3.3505, 3.3662, 3.3814, 3.3962, 3.4104, 3.4241,
                     3.4372, 3.4498, 3.4618, 3.4734, 3.4844, 3.495, 3.5052, 3.5149, 3.5243, 3.5332, 3.5418,
                     3.5501, 3.5581, 3.5657, 3.5731, 3.5802, 3.587, 3.5936])


def _initial_guess(N):
    """A float64 starting point D0 = c(N) sqrt(ln N) / N, with c(N) interpolated in ln N from a
    coarse table of earlier float64 optima (c -> 4 as N -> inf: the Hui-Neuhoff step of the
    optimal uniform quantizer, see qmf_sym.quantization).  Only a starting point: the bracketed
    Newton below is safe from any positive start."""
    N = np.maximum(np.asarray(N, dtype=float), 3.0)
    c = np.interp(np.log(N), np.log(_GUESS_N), _GUESS_C)
    return c * np.sqrt(np.log(N)) / N


def _opt_f64_block(Ns, D0=None, tol=4e-15, maxit=60):
    """Vectorised bracketed Newton over several N at once (a padded matrix of thresholds).

    g = 2A'B - AB' is > 0 left of the maximum and < 0 right of it, so every evaluation also
    shrinks a bracket [lo, hi]; a Newton step that leaves the bracket (or meets g' >= 0) is replaced
    by bisection.  Stops when the Newton step is below ``tol`` D or stalls at the float64 noise
    floor; the *evaluated* point is returned with its chi, chi', chi'' (so the certificates belong
    to the returned D).  Returns (D, chi, chi', chi'', evaluations)."""
    Ns = np.asarray(Ns, dtype=int)
    D = _initial_guess(Ns) if D0 is None else np.asarray(D0, dtype=float).copy()
    even = Ns % 2 == 0
    Mmax = int(max(1, (Ns.max() - 1) // 2 + 1))
    j = np.arange(Mmax, dtype=float)
    T = np.where(even[:, None], j + 1.0, j + 0.5)
    # padding: a huge threshold whose terms underflow to exactly 0 (p = G = 0, T^4 p = 0)
    T = np.where(T < (Ns[:, None] / 2.0 - 0.1), T, 1e10)
    T2 = T * T
    T4 = T2 * T2
    Ts = T / _SQRT2
    cN = np.where(even, 0.25, 0.0)
    a0 = np.where(even, _INV_SQRT_2PI, 0.0)

    def sums(Dv):
        p = np.exp(T2 * (-0.5 * Dv * Dv)[:, None])
        s0 = _INV_SQRT_2PI * p.sum(1)
        s2 = _INV_SQRT_2PI * np.einsum("ij,ij->i", p, T2)
        s4 = _INV_SQRT_2PI * np.einsum("ij,ij->i", p, T4)
        del p
        E = _sp.erfc(Ts * Dv[:, None])
        sG = 0.5 * np.einsum("ij,ij->i", E, T)
        return 2 * s0 + a0, -2 * Dv * s2, 2 * (Dv * Dv * s4 - s2), cN + 4 * sG, -4 * s2, 4 * Dv * s4

    n = len(D)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    evals = np.zeros(n, dtype=int)
    done = np.zeros(n, dtype=bool)
    out = [np.full(n, np.nan) for _ in range(4)]
    act = np.arange(n)
    for _ in range(maxit):
        Dv = D[act]
        A, A1, A2, B, B1, B2 = sums(Dv) if len(act) == n else _sub(sums, Dv)
        # chi' = A g / B^2 with g = 2A'B - AB' = 4 s2 (A - D B): Newton on hh = A - D B, whose
        # root is the optimum; hh' = A' - B - D B'.  A and D B agree to ~ (1 - chi) relatively, so
        # hh carries float64 noise ~ eps (A + D B) / (1 - chi): we stop once |hh| is at that floor.
        hh = A - Dv * B
        hp = A1 - B - Dv * B1
        g, gp = hh, hp
        noise = 32 * np.finfo(float).eps * (A + Dv * B)
        evals[act] += 1
        lo[act] = np.where(g > 0, np.maximum(lo[act], Dv), lo[act])
        hi[act] = np.where(g < 0, np.minimum(hi[act], Dv), hi[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            Dn = Dv - g / gp
        l, h = lo[act], hi[act]
        bad = ~np.isfinite(Dn) | (Dn <= l) | (Dn >= h) | (gp >= 0)
        fb = np.where(np.isfinite(h), np.where(l > 0, 0.5 * (l + h), 0.5 * h), 2.0 * Dv)
        Dn = np.where(bad, fb, Dn)
        step = np.abs(Dn - Dv)
        conv = (step <= tol * Dv) | (np.abs(hh) <= noise) | ((h - l) <= 1e-13 * Dv)
        chi, d1, d2 = _chi_derivs_from_sums(A, A1, A2, B, B1, B2)
        for o, v in zip(out, (Dv, chi, d1, d2)):
            o[act[conv]] = v[conv]
        D[act] = Dn
        act = act[~conv]
        if len(act) == 0:
            break
        T, T2, T4, Ts, cN, a0 = (x[~conv] for x in (T, T2, T4, Ts, cN, a0))
    if len(act):
        raise ArithmeticError(f"float64 Newton for D_opt did not converge for N = {Ns[act].tolist()}")
    return out[0], out[1], out[2], out[3], evals


def _sub(sums, Dv):  # pragma: no cover - trivial indirection (keeps the closure signature simple)
    return sums(Dv)


def _wp(d, N):
    """Working digits for the optimum at d requested digits: the guard digits of the project plus
    log10(N^2) for the cancellation A - D B ~ (1 - chi) A ~ A ln N / N^2 in the Newton function."""
    return V.guard_digits(d) + int(2 * math.log10(N)) + 1


def _opt_mp(N, D0, d, maxit=40):
    """Newton on g = 2A'B - AB' at d requested digits (working precision _wp(d, N)), from a
    float64/mp start D0 (inside the quadratic basin: the float64 optimum).  Stops when the Newton
    step is below 10^-(d + 7) D (quadratic convergence: the point is then exact to the working
    precision) and returns the *evaluated* point with its certificates:
    (D, chi, chi', chi'', xi, evaluations)."""
    mpmath = _mp()
    wp = _wp(d, N)
    with mpmath.workdps(wp):
        D = _to_mpf(D0)
        # the Newton function loses ~ 2 log10(N) digits to cancellation, which _wp adds back
        tol = mpmath.mpf(10) ** (-(V.guard_digits(d) - 3))
        for it in range(1, maxit + 1):
            A, A1, A2, B, B1, B2 = _sums_mp(D, N)
            # chi' = A g / B^2, g = 2A'B - AB' = 4 s2 (A - D B) (A' = -2 D s2, B' = -4 s2):
            # Newton on hh = A - D B, hh' = A' - B - D B'
            step = (A - D * B) / (A1 - B - D * B1)
            gp = A1 - B - D * B1
            if gp >= 0 or abs(step) > D / 2:  # not in the Newton basin: should not happen from float64
                raise ArithmeticError(f"Newton for D_opt(N={N}) left its basin at D={D}")
            if abs(step) <= tol * D:
                break
            D = D - step
        else:
            raise ArithmeticError(f"Newton for D_opt(N={N}) did not converge at {wp} digits")
        chi, d1, d2 = _chi_derivs_from_sums(A, A1, A2, B, B1, B2)
        xi = -1 / mpmath.log(chi)
    return D, chi, d1, d2, xi, it


def _row_N2(d):
    """N = 2 (sign-like staircase, K = {0}): chi = 2/pi for every D~; D_opt is undefined (NaN)."""
    if d is None:
        c = 2 / math.pi
        return OptimalSpacing(2, float("nan"), c, -1.0 / math.log(c), 0.0, 0.0, None, 0, 0.0, 0.0, 0)
    mpmath = _mp()
    with mpmath.workdps(V.guard_digits(d)):
        c = 2 / mpmath.pi
        return OptimalSpacing(2, mpmath.nan, c, -1 / mpmath.log(c), mpmath.mpf(0), mpmath.mpf(0), d, 0, 0.0, 0.0, 0)


def optimal_spacing(N, dps=None, check=True):
    """Maximise chi(D~; N) of eq. 17 over D~ > 0 (paper 1, sec. 4.2 and Fig. 2).

    float64: bracketed Newton on the analytic derivative (g = 2A'B - AB', chi' = A g / B^2) from a
    starting guess.  ``dps=k``: the float64 optimum is refined by Newton at k + guard digits
    (quadratic convergence), and with ``check=True`` the whole refinement is repeated at k + 15
    digits (+ guards) and the relative differences are reported (``check_dps``, ``*_reldiff``).
    For float64 the check re-runs at 20 digits.  Returns :class:`OptimalSpacing`.
    """
    N = _check_N(N)
    d = V.dps(dps)
    if N == 2:
        return _row_N2(d)
    D, chi, d1, d2, steps = _opt_f64_block([N])
    f64 = (float(D[0]), float(chi[0]), float(d1[0]), float(d2[0]), int(steps[0]))
    return _certified_row(N, f64, d, check)


def _certified_row(N, f64, d, check):
    """The :class:`OptimalSpacing` row of N from its float64 optimum ``f64 = (D, chi, chi', chi'',
    steps)``: as is for ``d=None`` (``check``: re-run at 20 digits), else refined by Newton at
    ``d`` digits (``check``: the refinement repeated at d + 15 digits)."""
    D, chi, d1, d2, steps = f64
    rd = rc = float("nan")
    cd = 0
    if d is None:
        if check:
            cd = 20
            Dh, ch, *_ = _opt_mp(N, D, cd)
            rd, rc = abs(D / float(Dh) - 1), abs(chi / float(ch) - 1)
        return OptimalSpacing(N, D, chi, -1.0 / math.log(chi), abs(d1), d2, None, cd, rd, rc, steps)
    mpmath = _mp()
    Dm, chim, d1m, d2m, xim, st = _opt_mp(N, D, d)
    if check:
        cd = d + 15
        Dh, ch, *_ = _opt_mp(N, Dm, cd)
        with mpmath.workdps(V.guard_digits(cd)):
            rd = float(abs(Dm / Dh - 1))
            rc = float(abs(chim / ch - 1))
    with mpmath.workdps(V.guard_digits(d)):
        return OptimalSpacing(N, +Dm, +chim, +xim, abs(d1m), d2m, d, cd, rd, rc, steps + st)


# ----------------------------------------------------------------------------- tables
def parse_levels(spec):
    """'2-16,32,64' -> [2, ..., 16, 32, 64] (sorted, unique); also accepts an iterable of ints."""
    if not isinstance(spec, str):
        out = sorted({V.integer("levels", n, 2) for n in spec})
        if not out:
            raise ValueError("levels must name at least one N >= 2")
        return out
    out = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            try:
                a, b = int(a), int(b)
            except ValueError as exc:
                raise ValueError(f"levels: cannot parse range {part!r} (use e.g. 2-256)") from exc
            if b < a:
                raise ValueError(f"levels: empty range {part!r}")
            out.update(range(a, b + 1))
        else:
            try:
                out.add(int(part))
            except ValueError as exc:
                raise ValueError(f"levels: cannot parse {part!r} (use e.g. 2-16,32,64)") from exc
    out = sorted(out)
    if not out or out[0] < 2:
        raise ValueError(f"levels must be integers N >= 2, got {spec!r}")
    return out


def table(levels, dps=None, progress=False, check=True, block=256):
    """Rows :class:`OptimalSpacing` for every N in ``levels`` (a list or a spec like '2-256').

    float64 (``dps=None``): vectorised over blocks of N (a padded matrix), so N = 2..10 000 takes
    seconds; with ``check=True`` every row is re-run at 20 digits (slow for large N; the
    benchmark passes ``check=False``).  ``dps=k``: per-N Newton refinement as in
    :func:`optimal_spacing` (``check`` re-runs at k + 15 digits).
    """
    Ns = parse_levels(levels)
    d = V.dps(dps)
    has2 = Ns[0] == 2
    Ns = [n for n in Ns if n != 2]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(Ns) + has2, desc=f"qmf table (dps={d})", unit="N")
    rows = [_row_N2(d)] if has2 else []
    if bar and has2:
        bar.update(1)
    # float64 optima, block by block (padded matrix of thresholds)
    f64 = {}
    blocks, cur = [], []
    for n in Ns:  # at most `block` N per block and at most ~2e6 matrix entries (memory)
        if cur and (len(cur) >= block or (len(cur) + 1) * (n // 2 + 1) > 2_000_000):
            blocks.append(cur)
            cur = []
        cur.append(n)
    if cur:
        blocks.append(cur)
    for blk in blocks:
        blk = np.array(blk)
        D, chi, d1_, d2_, st = _opt_f64_block(blk)
        for i, n in enumerate(blk):
            f64[int(n)] = (float(D[i]), float(chi[i]), float(d1_[i]), float(d2_[i]), int(st[i]))
        if d is None:
            for n in blk:
                rows.append(_certified_row(int(n), f64[int(n)], None, check))
                if bar:
                    bar.update(1)
    if d is not None:
        for n in Ns:
            rows.append(_certified_row(n, f64[n], d, check))
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    return rows


def _fmt(v, digits):
    if v is None:
        return ""
    if type(v).__module__.startswith("mpmath"):
        return _mp().nstr(v, digits, min_fixed=-5, max_fixed=5) if digits else str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def write_table(rows, path):
    """Write rows (from :func:`table`) to ``path``: CSV (``.csv``) or JSON (``.json``).  mpmath
    numbers are written with their requested digits (``dps`` of the row) as decimal strings."""
    path = Path(path)
    ext = path.suffix.lower()
    V.choice("out extension", ext, {".csv", ".json"})
    cols = [f.name for f in fields(OptimalSpacing)]
    recs = []
    for r in rows:
        digits = r.dps if r.dps else 0
        rec = {}
        for c in cols:
            v = getattr(r, c)
            if c == "D_opt" and r.N == 2:
                rec[c] = None  # N = 2: chi = 2/pi for every spacing, D_opt is undefined (empty / null)
            elif c in ("D_opt", "chi_max", "xi") and digits:
                rec[c] = _mp().nstr(v, digits)
            elif c in ("residual", "curvature") and digits:
                rec[c] = _mp().nstr(v, 6)
            elif c == "dps":
                rec[c] = "float64" if v is None else int(v)
            elif type(v).__module__.startswith("mpmath"):
                rec[c] = float(v)
            else:
                rec[c] = v
        recs.append(rec)
    path.parent.mkdir(parents=True, exist_ok=True)
    if ext == ".csv":
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for rec in recs:
                w.writerow({k: ("" if v is None else repr(v) if isinstance(v, float) else v) for k, v in rec.items()})
    else:
        def enc(v):
            if isinstance(v, float) and not math.isfinite(v):
                return str(v)
            return v

        path.write_text(json.dumps([{k: enc(v) for k, v in rec.items()} for rec in recs], indent=1))
    return path


def read_table(path):
    """Read a table written by :func:`write_table` as a list of dicts of floats (N as int)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        recs = json.loads(path.read_text())
    else:
        with path.open() as fh:
            recs = list(csv.DictReader(fh))
    out = []
    for rec in recs:
        r = {}
        for k, v in rec.items():
            if k in ("N", "check_dps", "newton_steps"):
                r[k] = int(v)
            elif k == "dps":
                r[k] = None if v in ("float64", None, "") else int(v)
            else:
                r[k] = float("nan") if v in (None, "") else float(v)
        out.append(r)
    return out


# ----------------------------------------------------------------------------- regressions
def _ols(x, y):
    """Least squares y = a + b x with standard errors (classical, residual variance)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 3:
        raise ValueError("a regression needs at least 3 points")
    X = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    s2 = float(resid @ resid) / (n - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    return {"a": float(coef[0]), "b": float(coef[1]), "se_a": float(math.sqrt(cov[0, 0])),
            "se_b": float(math.sqrt(cov[1, 1])), "rms_resid": float(math.sqrt(s2)), "n_points": n}


def fit_power_laws(rows, N_min=3, N_max=100):
    """The paper's regressions (Fig. 2 right, eq. 18), recomputed by ordinary least squares:

    * ``one_minus_chi``: log(1 - chi_max) = a + b log(N + 1)   (paper: a = 0.71, b = -1.82);
    * ``D_opt``: log D~_opt = a + b log(N + 1)  (Fig. 2 bottom right; the paper calls the relation
      "logarithmic" and plots both right panels on log-log axes against N, so we regress it as a
      power law in N + 1 like eq. 18; the paper does not print these coefficients).

    Default range N = 3..100 (N = 2 has no D_opt; the paper's Fig. 2 spans N up to ~10^2; with
    this range we recover a = 0.711, b = -1.817, i.e. the paper's numbers).
    Standard errors are the classical OLS ones; note the residuals are *not* noise but the
    systematic curvature of log(1 - chi_max) in log N (the true law is ~ N^-2 ln N, see
    :mod:`qmf_sym.quantization`), so the SEs measure the misfit of a straight line, and the slope
    depends on the N range, which is reported.
    """
    sel = [r for r in rows if N_min <= _get(r, "N") <= N_max]
    if not sel:
        raise ValueError(f"no rows with N in [{N_min}, {N_max}]")
    N = np.array([_get(r, "N") for r in sel], dtype=float)
    chi = np.array([float(_get(r, "chi_max")) for r in sel])
    D = np.array([float(_get(r, "D_opt")) for r in sel])
    x = np.log(N + 1)
    okD = np.isfinite(D)  # N = 2 has no D_opt
    return {
        "N_min": int(N.min()), "N_max": int(N.max()), "n_points": len(N),
        "one_minus_chi": _ols(x, np.log1p(-chi)),
        "D_opt": _ols(x[okD], np.log(D[okD])),
        "paper_one_minus_chi": dict(PAPER_FIT),
        "model": "log(y) = a + b log(N + 1), ordinary least squares",
    }


def local_slopes(rows):
    """Effective exponent d log(1 - chi_max) / d log(N + 1) between consecutive rows (centred
    differences): it drifts towards -2 as N grows (N^-2 ln N has local slope -2 + 1/ln N)."""
    N = np.array([_get(r, "N") for r in rows], dtype=float)
    y = np.log1p(-np.array([float(_get(r, "chi_max")) for r in rows]))
    x = np.log(N + 1)
    return np.sqrt(N[1:] * N[:-1]), np.diff(y) / np.diff(x)


def _get(r, k):
    return r[k] if isinstance(r, dict) else getattr(r, k)
