"""The link between the fixed-point slope chi of paper 1 (eq. 16/17) and classical quantization
theory of a Gaussian source.  Derivation: derivations/stein_chi_quantization.md.

At sigma_b = 0, C* = 0 and a centred staircase phi (E phi(z) = 0, z ~ N(0, 1), normalized
offsets), Stein's lemma E phi'(z) = E[z phi(z)] turns eq. 6/16 into

    chi = (E[z phi(z)])^2 / E[phi(z)^2] = corr(z, phi(z))^2,
    1 - chi = min_a E (z - a phi(z))^2,

the mean squared error of the best gain-adjusted N-level quantizer a*phi of a standard Gaussian.
Consequences, all checked numerically here and in tests/test_quantization.py:

1. *Uniform family = Max's uniform quantizer.*  The staircase of eq. 17 with normalized spacing
   D~ is, up to the gain a, the uniform quantizer with step D~ and midpoint reconstruction.  At
   Max's (1960) optimal step the thresholds are midpoints (nearest-neighbour condition), so the
   derivative of the MSE with respect to the thresholds vanishes and the optimal step is also the
   optimal gain: the point is stationary for chi(D~) too.  Hence (for the unique maximiser)
   D~_opt(N) = Max's optimal uniform step and 1 - chi_max(N) = Max's optimal uniform MSE, an
   identity (not merely the bound 1 - chi_max <= MSE_uniform).
2. *Lloyd-Max is the best staircase.*  Any staircase gives 1 - chi >= MSE of the optimal N-level
   quantizer (Lloyd-Max), with equality for the Lloyd-Max staircase itself (centroid levels give
   optimal gain a = 1).  So 1 - chi_max(N) >= MSE_LM(N), with equality at N = 2 (sign:
   1 - 2/pi) and N = 3 (the symmetric 3-level Lloyd-Max quantizer {-y, 0, y} with thresholds
   +-y/2 is uniform).  For N >= 4 non-uniform (Lloyd-Max) staircases give a strictly larger chi, which
   contradicts the claim of Appendix G of paper 1 that non-uniform activations do not beat uniform
   ones; the gain is small at small N (N = 4: 0.1175 vs 0.1188) but grows without bound in ratio.
3. *Asymptotics.*  Uniform: step ~ 4 sqrt(ln N) / N and MSE ~ step^2 / 12 ~ (4/3) ln N / N^2
   (Hui & Neuhoff 2001): 1 - chi_max is *not* a power law; the paper's exponent 1.82 is the local
   slope -2 + 1/ln N of N^-2 ln N around N ~ 10-100.  Lloyd-Max: MSE ~ (sqrt(3) pi / 2) N^-2
   (Panter & Dite 1951).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize as _opt
from scipy import special as _sp

from . import _validate as V
from . import gaussian as G
from ._numbers import to_mpf

__all__ = [
    "LloydMax", "lloyd_max", "quantizer_mse", "uniform_quantizer_mse", "optimal_uniform_quantizer",
    "chi_of_quantizer", "hui_neuhoff_step", "hui_neuhoff_mse", "panter_dite_mse", "chi_via_stein",
]

# the Gaussian helpers of qmf_sym.gaussian, raw faces (inputs validated here, +-inf allowed)
_p = G.pdf.f64                    # n(x); 0 at +-inf
_cell = G.cell_probability.f64    # P(a < z <= b), relative accuracy in either tail

# Size bounds (refused above with a ValueError naming N; times measured on one CPU core)
LLOYD_N_MAX = 256
"""Largest N of :func:`lloyd_max`: Lloyd's iteration needs ~ N^1.8 sweeps (N = 16: 690, N = 64: 8 680,
N = 256: 109 057), so N = 64 takes ~5 s and N = 256 ~1-2 minutes; N = 10**7 would take years."""
UNIFORM_N_MAX = 10 ** 7
"""Largest N of the float64 faces of :func:`uniform_quantizer_mse` (O(N) arrays, ~1 s at 10**7) and
of :func:`chi_of_quantizer` / :func:`quantizer_mse` grids (len(levels))."""
UNIFORM_OPT_N_MAX = 10 ** 6
"""Largest N of the float64 :func:`optimal_uniform_quantizer` (~40 MSE evaluations of O(N):
~3 s at 10**5, ~30 s at 10**6)."""
MP_N_MAX = 2000
"""Largest N of the ``dps`` faces (:func:`uniform_quantizer_mse`, :func:`optimal_uniform_quantizer`,
:func:`quantizer_mse`): O(N) mpmath cells per evaluation, and the optimal step takes ~50 of them
(N = 100: ~2 s, N = 1000: ~40 s at dps = 30)."""


def _N_bound(N, d, f64_max, why_f64, mp_max=MP_N_MAX):
    """N validated as an integer >= 2 under the bound of its face (float64 or ``dps``)."""
    if d is None:
        return V.integer("N", N, 2, f64_max, why_f64)
    return V.integer("N", N, 2, mp_max, f"the dps face costs O(N) mpmath cells per evaluation "
                                        f"(N = 1000: ~40 s); N <= {mp_max} at dps")


def _mp_pdf(x):
    """n(x) at the current mpmath precision, 0 at +-inf."""
    import mpmath

    return G.pdf.mp(x) if mpmath.isfinite(x) else mpmath.mpf(0)


def _as_list(name, value):
    """A 1-D sequence of numbers as a list (numbers / mpf kept), rejecting strings and scalars."""
    if isinstance(value, (str, bytes)) or value is None or V._is_bool(value):
        raise ValueError(f"{name} must be a 1-D sequence of finite real numbers, got {value!r}")
    arr = np.asarray(value, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of finite real numbers, got {value!r}")
    return list(arr)


def _check_grid(thresholds, levels, max_levels=UNIFORM_N_MAX):
    """Validate a quantizer grid: N - 1 strictly increasing finite thresholds, N >= 1 finite levels."""
    t = _as_list("thresholds", thresholds)
    y = _as_list("levels", levels)
    if len(y) != len(t) + 1:
        raise ValueError(f"levels must have len(thresholds) + 1 = {len(t) + 1} entries, got {len(y)}")
    if len(y) > max_levels:
        raise ValueError(f"levels must hold at most {max_levels} entries (the cost is O(len(levels))), "
                         f"got {len(y)}")
    if any(V._is_mp(x) for x in t + y):
        for x in t:
            V.finite("thresholds", x)
        for x in y:
            V.finite("levels", x)
    else:
        if t:
            V.array("thresholds", np.array(t, dtype=object), ndim=1)
        V.array("levels", np.array(y, dtype=object), ndim=1)
    if any(not b > a for a, b in zip(t, t[1:])):
        raise ValueError(f"thresholds must be strictly increasing, got {thresholds!r}")
    return t, y


# ----------------------------------------------------------------------------- generic quantizer
def quantizer_mse(thresholds, levels, dps=None):
    """E (z - q(z))^2 for z ~ N(0, 1) and the quantizer with the given increasing ``thresholds``
    (N - 1) and ``levels`` (N; level j on the cell (t_{j-1}, t_j]).  Computed cell by cell from
    the partial moments int_a^b z^k p(z) dz (k = 0, 1, 2), independently of qmf_sym.spacing.
    At most :data:`UNIFORM_N_MAX` levels (float64) or :data:`MP_N_MAX` (``dps``)."""
    d = V.dps(dps)
    t, y = _check_grid(thresholds, levels, UNIFORM_N_MAX if d is None else MP_N_MAX)
    if d is None:
        tt = np.concatenate([[-np.inf], np.asarray(t, float), [np.inf]])
        yy = np.asarray(y, float)
        a, b = tt[:-1], tt[1:]
        P = _cell(a, b)
        m1 = _p(a) - _p(b)
        af, bf = np.where(np.isfinite(a), a, 0.0), np.where(np.isfinite(b), b, 0.0)
        ap, bp = af * _p(a), bf * _p(b)
        m2 = P + ap - bp
        return float(np.sum(m2 - 2 * yy * m1 + yy * yy * P))
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        tt = [-mpmath.inf] + [to_mpf(x) for x in t] + [mpmath.inf]
        tot = mpmath.mpf(0)
        for j, yj in enumerate(y):
            yj = to_mpf(yj)
            a, b = tt[j], tt[j + 1]
            P = G.cell_probability.mp(a, b)
            pa, pb = _mp_pdf(a), _mp_pdf(b)
            ap = a * pa if mpmath.isfinite(a) else mpmath.mpf(0)
            bp = b * pb if mpmath.isfinite(b) else mpmath.mpf(0)
            tot += (P + ap - bp) - 2 * yj * (pa - pb) + yj * yj * P
    return tot


def uniform_quantizer_mse(step, N, dps=None):
    """MSE of the N-level uniform quantizer with step ``step`` and midpoint reconstruction:
    thresholds step (i - N/2), i = 1..N-1, levels step (j - (N-1)/2), j = 0..N-1 (Max 1960).
    N <= :data:`UNIFORM_N_MAX` (float64) or :data:`MP_N_MAX` (``dps``)."""
    d = V.dps(dps)
    N = _N_bound(N, d, UNIFORM_N_MAX, "O(N) arrays, about 1 s at N = 10**7")
    if d is None:
        V.positive("step", step)
        s = float(step)
        return quantizer_mse(s * (np.arange(1, N) - N / 2), s * (np.arange(N) - (N - 1) / 2))
    import mpmath

    V.positive("step", step)
    with mpmath.workdps(V.guard_digits(d)):
        s = to_mpf(step)
        t = [s * (mpmath.mpf(i) - mpmath.mpf(N) / 2) for i in range(1, N)]
        y = [s * (mpmath.mpf(j) - mpmath.mpf(N - 1) / 2) for j in range(N)]
        r = quantizer_mse(t, y, dps=d)
    return r


def optimal_uniform_quantizer(N, dps=None):
    """(step, mse) of Max's optimal uniform quantizer of N(0, 1): a 1-D minimisation of
    :func:`uniform_quantizer_mse` over the step (float64: bounded Brent; ``dps``: root of the analytic
    derivative, E[q^2] = E[z q], bracketed around the float64 step).
    N <= :data:`UNIFORM_OPT_N_MAX` (float64, ~30 s at the bound) or :data:`MP_N_MAX` (``dps``)."""
    d = V.dps(dps)
    N = _N_bound(N, d, UNIFORM_OPT_N_MAX, "about 40 O(N) MSE evaluations, ~30 s at N = 10**6")
    if N == 2:  # MSE = 1 - s sqrt(2/pi) + s^2/4, minimised at s = 2 sqrt(2/pi)
        if d is None:
            return 2 * math.sqrt(2 / math.pi), 1 - 2 / math.pi
        import mpmath

        with mpmath.workdps(V.guard_digits(d)):
            return +(2 * mpmath.sqrt(2 / mpmath.pi)), +(1 - 2 / mpmath.pi)
    guess = 4 * math.sqrt(math.log(N)) / N
    res = _opt.minimize_scalar(lambda s: uniform_quantizer_mse(s, N), bounds=(0.2 * guess, 3 * guess),
                               method="bounded", options={"xatol": 1e-12 * guess})
    if d is None:
        return float(res.x), float(res.fun)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        s0 = mpmath.mpf(res.x)
        s = mpmath.findroot(lambda s: _gain_condition(s, N), (s0 * (1 - mpmath.mpf(10) ** -6), s0 * (1 + mpmath.mpf(10) ** -6)),
                            solver="anderson", tol=mpmath.mpf(10) ** (-2 * (d + 8)))
        m = uniform_quantizer_mse(s, N, dps=d + 5)
    return s, m


def _gain_condition(s, N):
    """(s/2) dMSE/ds of the midpoint uniform quantizer = E[q^2] - E[z q] (mpmath, current precision).

    With midpoint thresholds a small change of the thresholds does not change the MSE to first
    order (the error is continuous across a midpoint), so only the levels s c_j move:
    dMSE/ds = -(2/s) E[(z - q) q]."""
    import mpmath

    t = [-mpmath.inf] + [s * (mpmath.mpf(i) - mpmath.mpf(N) / 2) for i in range(1, N)] + [mpmath.inf]
    tot = mpmath.mpf(0)
    for j in range(N):
        y = s * (mpmath.mpf(j) - mpmath.mpf(N - 1) / 2)
        a, b = t[j], t[j + 1]
        P = G.cell_probability.mp(a, b)
        m1 = _mp_pdf(a) - _mp_pdf(b)
        tot += y * y * P - y * m1
    return tot


# ----------------------------------------------------------------------------- Lloyd-Max
@dataclass(frozen=True)
class LloydMax:
    """The optimal (minimum-MSE) N-level quantizer of N(0, 1): thresholds, levels, mse, iterations."""

    N: int
    thresholds: np.ndarray
    levels: np.ndarray
    mse: float
    iterations: int


def lloyd_max(N, tol=1e-13, maxit=500_000):
    """Lloyd's iteration (Lloyd 1957/1982, Max 1960) for the N-level Gaussian quantizer, float64.

    Alternates centroid levels y_j = (p(t_{j-1}) - p(t_j)) / (Phi(t_j) - Phi(t_{j-1})) and midpoint
    thresholds t_j = (y_j + y_{j+1}) / 2, started from the Panter-Dite compander thresholds
    sqrt(3) Phi^-1(j / N) (point density ~ p^(1/3)); stops when no threshold moves by more than
    ``tol``.  Symmetry is exact by construction (odd N includes the level 0).
    For a log-concave density the fixed point is unique (Fleischer 1964), hence it is the
    Lloyd-Max quantizer.

    N <= :data:`LLOYD_N_MAX` = 256 (the iteration count grows like N^1.8: ~5 s at N = 64, ~1-2 minutes
    at N = 256 on one core); larger N is refused before iterating.
    """
    N = V.integer("N", N, 2, LLOYD_N_MAX, "Lloyd's iteration needs ~N^1.8 sweeps (N = 256: ~2 minutes)")
    V.positive("tol", tol)
    maxit = V.integer("maxit", maxit, 1)
    if N == 2:
        y = math.sqrt(2 / math.pi)
        return LloydMax(2, np.array([0.0]), np.array([-y, y]), 1 - 2 / math.pi, 0)
    t = math.sqrt(3.0) * _sp.ndtri(np.arange(1, N) / N)
    it = 0
    for it in range(1, maxit + 1):
        tt = np.concatenate([[-np.inf], t, [np.inf]])
        y = (_p(tt[:-1]) - _p(tt[1:])) / _cell(tt[:-1], tt[1:])
        y = 0.5 * (y - y[::-1])  # exact antisymmetry
        tn = 0.5 * (y[:-1] + y[1:])
        delta = float(np.max(np.abs(tn - t)))
        t = tn
        if delta <= tol:
            break
    else:  # pragma: no cover
        raise ArithmeticError(f"Lloyd iteration for N = {N} did not converge in {maxit} steps")
    tt = np.concatenate([[-np.inf], t, [np.inf]])
    y = (_p(tt[:-1]) - _p(tt[1:])) / _cell(tt[:-1], tt[1:])
    y = 0.5 * (y - y[::-1])
    mse = quantizer_mse(t, y)
    return LloydMax(N, t, y, mse, it)


# ----------------------------------------------------------------------------- chi of quantizers
def chi_of_quantizer(thresholds, levels, dps=None):
    """chi of eq. 16 for the staircase whose normalized offsets are the quantizer's thresholds and
    whose heights are its level increments (the quantizer seen as an activation at Q* = 1 units)."""
    from .spacing import chi_staircase

    d = V.dps(dps)
    t, y = _check_grid(thresholds, levels, UNIFORM_N_MAX if d is None else MP_N_MAX)
    if not t:
        raise ValueError("thresholds must hold N - 1 >= 1 values (a quantizer of N >= 2 levels), got none")
    if d is None:
        h = np.diff(np.asarray(y, dtype=float))
        t = np.asarray(t, dtype=float)
    else:
        h = [y[i + 1] - y[i] for i in range(len(y) - 1)]
    if any(not hi > 0 for hi in h):
        raise ValueError(f"levels must be strictly increasing (positive staircase heights), got {levels!r}")
    return chi_staircase(t, h, dps=d)


def chi_via_stein(act, dps=None):
    """chi at C* = 0 (sigma_b = 0) through Stein's lemma for a centred staircase with normalized
    offsets (Q = 1): corr(z, phi(z))^2 = (E z phi)^2 / Var phi, with E z phi = sum_i h_i p(g~_i)
    and Var phi from the cell probabilities (an O(N) route independent of eq. 16's double sum)."""
    from .activations import as_staircase

    act = as_staircase(act)
    d = V.dps(dps)
    if d is None:
        g, h, lv = act.offsets, act.heights, act.levels
        ezphi = float(np.sum(h * _p(g)))
        tt = np.concatenate([[-np.inf], g, [np.inf]])
        P = _cell(tt[:-1], tt[1:])
        m = float(np.sum(P * lv))
        var = float(np.sum(P * (lv - m) ** 2))
        return ezphi ** 2 / var
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        A, g, h = act.mp_params()
        lv = [A]
        for hi in h:
            lv.append(lv[-1] + hi)
        ezphi = mpmath.fsum(hi * G.pdf.mp(gi) for hi, gi in zip(h, g))
        tt = [-mpmath.inf] + g + [mpmath.inf]
        P = [G.cell_probability.mp(tt[j], tt[j + 1]) for j in range(len(lv))]
        m = mpmath.fsum(p * v for p, v in zip(P, lv))
        var = mpmath.fsum(p * (v - m) ** 2 for p, v in zip(P, lv))
        r = ezphi ** 2 / var
    return r


# ----------------------------------------------------------------------------- asymptotics
def _asymptotic_N(N):
    """N of the high-resolution laws: finite reals >= 2 (scalar or array), as float64."""
    V.in_closed("N", N, 2, math.inf)
    return np.asarray(N, dtype=float)


def hui_neuhoff_step(N):
    """Leading-order optimal uniform step for N(0, 1): 4 sqrt(ln N) / N (Hui & Neuhoff 2001).
    N: a finite real >= 2 or an array of them (any size: a closed form)."""
    N = _asymptotic_N(N)
    return 4 * np.sqrt(np.log(N)) / N


def hui_neuhoff_mse(N):
    """Leading-order optimal uniform MSE: step^2 / 12 = (4/3) ln N / N^2 (granular noise dominates).
    N: a finite real >= 2 or an array of them."""
    N = _asymptotic_N(N)
    return 4 * np.log(N) / (3 * N * N)


def panter_dite_mse(N):
    """Panter-Dite high-resolution MSE of the optimal (Lloyd-Max) quantizer of N(0, 1):
    (1/12) (int p^(1/3))^3 N^-2 = (sqrt(3) pi / 2) N^-2.  N: a finite real >= 2 or an array of them."""
    N = _asymptotic_N(N)
    return math.sqrt(3) * math.pi / 2 / (N * N)
