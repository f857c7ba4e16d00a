"""The uniform b-bit quantizers of paper 2 (Ichikawa, Kashiwamura & Sakata, arXiv:2510.10693) as
reconstructed in ``shared/specs/ste_dynamics.md`` ("spec"): every grid kind of spec §2.2 / §8 item 1,
the STE surrogate derivative of spec §2.3, and the Gaussian input moments
kappa = E[z phi(z)], sigma2 = E[phi(z)^2] of spec §4.1.

Conventions: every quantizer is a non-decreasing odd staircase, right-continuous at its thresholds
(a tie u = theta goes to the upper level, as H(0) = 1 in eq. 13 of paper 1); ties have probability
0 under any density and never enter a mean-field quantity.  NaN input propagates element-wise:
``quantize(nan)`` and ``ste_grad(nan)`` are NaN (a NaN is not a number and is never mapped to a
level; a diverged run's NaN weight stays NaN); +-inf are valid inputs (clipped to the outer levels).
``None``, strings, bools and empty inputs are refused (ValueError naming ``u``).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import _validate as V
from .. import gaussian as G
from .._faces import register_equation

__all__ = ["KINDS", "STES", "B_MAX", "quantizer_grid", "quantize", "ste_grad", "quantizer_staircase",
           "input_moments"]

KINDS = ("endpoints", "cells", "midtread")
STES = ("clipped", "identity")
B_MAX = 30  # 2^30 levels: beyond this the grids would not fit in memory


# ---------------------------------------------------------------------------- validation
def _check_kind(kind):
    return V.choice("kind", kind, set(KINDS))


def _check_b(b, kind):
    _check_kind(kind)
    lo = 2 if kind == "midtread" else 1
    return V.integer("b", b, lo, B_MAX)


def _check_omega(omega):
    return V.positive("omega", omega)


def _check_ste(ste):
    return V.choice("ste", ste, set(STES))


def _real_input(name, u):
    """``u`` as a float64 array (NaN kept); a bool, None, a string or an empty list is not a real
    number (ValueError; an empty ndarray maps to an empty array)."""
    if isinstance(u, (bool, np.bool_)) or (isinstance(u, np.ndarray) and u.dtype == bool):
        raise ValueError(f"{name} must be a real number or array of them, got a bool {u!r}")
    if u is None or isinstance(u, (str, bytes)) or (isinstance(u, (list, tuple)) and np.size(u) == 0):
        raise ValueError(f"{name} must be a real number or a non-empty array of them, got {u!r}")
    try:
        return np.asarray(u, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or array of them, got {u!r}") from exc


# ---------------------------------------------------------------------------- unit grids (exact)
def _unit_grid_exact(b, kind):
    """Levels and thresholds of the quantizer with omega = 1, as Fractions (spec §2.2).

    endpoints: Delta = 2/(2^b - 1), levels -1 + k Delta (k = 0..2^b-1), thresholds at the midpoints.
    cells:     Delta = 2/2^b,       levels -1 + (k + 1/2) Delta,         thresholds -1 + k Delta (k=1..2^b-1).
    midtread:  Delta = 1/(2^(b-1) - 1), levels k Delta (|k| <= 2^(b-1)-1), thresholds (k + 1/2) Delta.
    """
    if kind == "endpoints":
        n = 2**b
        D = Fraction(2, n - 1)
        levels = [-1 + k * D for k in range(n)]
    elif kind == "cells":
        n = 2**b
        D = Fraction(2, n)
        levels = [-1 + (k + Fraction(1, 2)) * D for k in range(n)]
    else:  # midtread
        K = 2 ** (b - 1) - 1
        D = Fraction(1, K)
        levels = [k * D for k in range(-K, K + 1)]
    thresholds = [(a + c) / 2 for a, c in zip(levels, levels[1:])]
    return levels, thresholds


def _unit_grid_float(b, kind):
    """float64 unit grid from integer numerators (exactly symmetric; no Fraction lists for large b)."""
    if kind == "endpoints":
        n = 2**b - 1  # levels (2k - n)/n, thresholds (2k + 1 - n)/n
        k = np.arange(n + 1, dtype=float)
        levels = (2.0 * k - n) / n
        thresholds = (2.0 * k[:-1] + 1.0 - n) / n
    elif kind == "cells":
        n = 2**b  # levels (2k + 1 - n)/n, thresholds (2k - n)/n
        k = np.arange(n, dtype=float)
        levels = (2.0 * k + 1.0 - n) / n
        thresholds = (2.0 * k[1:] - n) / n
    else:
        K = 2 ** (b - 1) - 1  # levels k/K, thresholds (2k + 1)/(2K)
        k = np.arange(-K, K + 1, dtype=float)
        levels = k / K
        thresholds = (2.0 * k[:-1] + 1.0) / (2.0 * K)
    return levels, thresholds


def quantizer_grid(b, omega, kind="endpoints"):
    """Levels and thresholds of the piecewise-constant quantizer Q_{b,omega} of spec §2.2.

    Returns ``(levels, thresholds)`` (float64 arrays, lengths L and L-1): Q(u) = levels[k] for
    thresholds[k-1] <= u < thresholds[k] (right-continuous).  endpoints: L = 2^b levels on
    [-omega, omega] including +-omega; cells (midrise): L = 2^b, levels +-Delta/2 .. +-(omega - Delta/2);
    midtread: L = 2^b - 1 levels including 0 (b >= 2).
    """
    b = _check_b(b, kind)
    omega = float(_check_omega(omega))
    lv, th = _unit_grid_float(b, kind)
    return omega * lv, omega * th


def quantize(u, b, omega, kind="endpoints"):
    """The uniform b-bit quantizer Q_{b,omega}(u) of spec §2.2 (numpy, vectorised, float64).

    endpoints (default): Delta = 2 omega/(2^b - 1), Q(u) = -omega + Delta * round((clip(u) + omega)/Delta);
    cells: Delta = 2 omega/2^b, Q(u) = -omega + Delta (floor((clip(u) + omega)/Delta) + 1/2);
    midtread: Delta = omega/(2^(b-1) - 1), Q(u) = Delta * round(clip(u)/Delta).
    Rounding is half-up (right-continuous, like eq. 13 of paper 1 with H(0) = 1).  NaN in ``u``
    gives NaN (never a level); +-inf go to the outer levels.  Evaluated as a
    lookup in :func:`quantizer_grid` (Q(u) = levels[k] for thresholds[k-1] <= u < thresholds[k]), so
    that the values and the jump points are exactly those of the grid, with no rounding of u/Delta.
    """
    levels, thresholds = quantizer_grid(b, omega, kind)
    u = _real_input("u", u)
    out = levels[np.searchsorted(thresholds, u, side="right")]
    return np.where(np.isnan(u), np.nan, out)[()] if np.isnan(u).any() else out


def ste_grad(u, omega, ste="clipped"):
    """STE surrogate derivative g(u) of spec §2.3: ``1{|u| <= omega}`` ("clipped", default) or 1 ("identity")."""
    ste = _check_ste(ste)
    omega = _check_omega(omega)
    u = _real_input("u", u)
    g = np.ones_like(u) if ste == "identity" else (np.abs(u) <= omega).astype(float)
    return np.where(np.isnan(u), np.nan, g)[()] if np.isnan(u).any() else g


def quantizer_staircase(b, omega, kind="endpoints"):
    """Q_{b,omega} as a :class:`qmf_sym.activations.Staircase` (eq. 13 of paper 1), exactly.

    Offsets are the thresholds, heights the level gaps, base the lowest level; omega is taken at its
    exact binary value (or exactly, if an int / Fraction), so the staircase's exact parameters are
    omega times the rational unit grid.
    """
    from ..activations import Staircase, _exact

    b = _check_b(b, kind)
    _check_omega(omega)
    w = _exact("omega", omega)
    lv, th = _unit_grid_exact(b, kind)
    return Staircase.from_grid([w * q for q in lv], [w * t for t in th])


# ---------------------------------------------------------------------------- Gaussian input moments (spec §4.1)
def input_moments(b, omega=1.0, kind="endpoints", dps=None):
    """(kappa, sigma2) = (E[z phi(z)], E[phi(z)^2]) for phi = Q_{b,omega}, z ~ N(0, 1) (spec §4.1).

    Closed form (derivations/ste_moments.md): with levels l_0 < ... < l_{L-1} and thresholds
    theta_1 < ... < theta_{L-1}::

        kappa  = sum_i (l_i - l_{i-1}) n(theta_i)              (Stein; = sum_k l_k [n(theta_k) - n(theta_{k+1})])
        sigma2 = l_0^2 + sum_i (l_i^2 - l_{i-1}^2) N(-theta_i)  (= sum_k l_k^2 [N(theta_{k+1}) - N(theta_k)])

    n, N = standard normal pdf, cdf (qmf_sym.gaussian).  ``b=None``: unquantized inputs, (1, 1).
    float64 (vectorised over ``omega``) for ``dps=None``; mpmath numbers at ``dps`` digits otherwise.
    """
    _check_kind(kind)
    dps = V.dps(dps)
    if b is not None:
        b = _check_b(b, kind)
        _check_omega(omega)
    if dps is None:
        if b is None:
            return 1.0, 1.0
        om = np.asarray(omega, dtype=float)
        lv, th = _unit_grid_float(b, kind)
        h = np.diff(lv)
        dsq = np.diff(lv**2)
        t = om[..., None] * th  # (..., L-1)
        kappa = om * np.sum(h * G.pdf.f64(t), axis=-1)
        # symmetric grids: sum the tail terms N(-theta) (small first, no cancellation in the upper tail)
        sigma2 = om**2 * (lv[0] ** 2 + np.sum(dsq * G.cdf.f64(-t), axis=-1))
        if np.ndim(kappa) == 0:
            return float(kappa), float(sigma2)
        return kappa, sigma2
    import mpmath

    if np.ndim(omega) != 0:
        raise ValueError("omega must be a scalar when dps is given")
    with mpmath.workdps(V.guard_digits(dps)):
        if b is None:
            one = mpmath.mpf(1)
            k, s = one, one
        else:
            w = _mp_exact(omega)
            lv, th = _unit_grid_exact(b, kind)
            mp = lambda fr: mpmath.mpf(fr.numerator) / fr.denominator  # noqa: E731
            k = mpmath.mpf(0)
            s = mp(lv[0]) ** 2
            for i, t in enumerate(th, 1):
                x = w * mp(t)
                k += mp(lv[i] - lv[i - 1]) * G.pdf.mp(x)
                s += mp(lv[i] ** 2 - lv[i - 1] ** 2) * G.cdf.mp(-x)
            k, s = w * k, w**2 * s
    with mpmath.workdps(dps):
        return +k, +s


def _mp_exact(x):
    """x as an mpf at the current precision, keeping an mpf's digits or a Fraction's exact value."""
    import mpmath

    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if type(x).__module__.startswith("mpmath"):
        return mpmath.mpf(x)
    return mpmath.mpf(float(x)) if not isinstance(x, (int, np.integer)) else mpmath.mpf(int(x))


register_equation("qmf_sym.ste.quantize", "paper 2, spec §2.2 (uniform b-bit quantizer Q_{b,omega})",
                  "lookup in quantizer_grid")
register_equation("qmf_sym.ste.ste_grad", "paper 2, spec §2.3 (STE surrogate derivative)")
register_equation("qmf_sym.ste.input_moments", "paper 2, spec §4.1 (kappa = E z phi(z), sigma_phi^2 = E phi(z)^2)",
                  "closed form over the quantizer grid", faces=("f64", "mp"))
