"""Large-N law of the best uniform staircase: 1 - chi_max(N) and D~_opt(N) (paper 1, eq. 18, Fig. 2).

By the Stein link (:mod:`qmf_sym.quantization`), 1 - chi_max(N) is the MSE of Max's optimal uniform
N-level quantizer of N(0, 1) and D~_opt its step.  Derivation: derivations/large_n_asymptotics.md.
With t the outermost threshold (t = (N - 2) D / 2), granular noise D^2/12 inside (-t, t) and
overload 2 E(z - t)_+^2 ~ 4 n(t) / t^3 outside, the stationarity in t gives

    n(t) = t^3 / (6 m^2),   m = N - 2     <=>   t^2 + 3 ln t^2 = 2 ln(6 m^2 / sqrt(2 pi)),

    1 - chi_max(N) = (t^2 + 2) / (3 m^2) (1 + o(1)),      D~_opt(N) = 2 t / m (1 + o(1)),

whose leading terms are Hui & Neuhoff's (4/3) ln N / N^2 and 4 sqrt(ln N) / N; the t-equation
carries the first correction (-(3/4) ln(4 ln N) / ln N relative), which the leading terms lack:
at N = 1e5 the leading law is 19 % off, the corrected one 0.7 % (D~: 12 % and 0.2 %).

Which face to trust: float64 chi_max has absolute error ~1e-16, so 1 - chi_max from float64 loses
relative accuracy like 1e-16 / (1 - chi): ~1e-7 at N = 1e5 (1 - chi = 1.3e-9); use the ``dps`` table
there.  D~_opt is a well-conditioned root (float64 certified to ~1e-13 by its 20-digit re-run).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validate as V
from ._faces import register_equation

__all__ = ["t_outer", "one_minus_chi_asymptotic", "D_opt_asymptotic", "paper_xi", "paper_L_max",
           "PAPER_EXPONENT", "slope_decomposition", "SlopeDecomposition"]

#: eq. 18: xi ~ (1/2) (N + 1)^1.82 and sec. 6: L_max ~ 3 (N + 1)^1.82
PAPER_EXPONENT = 1.82


def _N(N, lo=3):
    N = V.integer("N", N, lo)
    if N > 10 ** 300:
        raise ValueError(f"N must be an integer in [{lo}, 1e300], got {N}")
    return N


def t_outer(N):
    """Root t > 0 of t^2 + 3 ln t^2 = 2 ln(6 (N - 2)^2 / sqrt(2 pi)) (the asymptotic outermost
    normalised threshold of the optimal uniform staircase), N >= 3."""
    m = _N(N) - 2
    K = 2 * (math.log(6 / math.sqrt(2 * math.pi)) + 2 * math.log(m))
    return math.sqrt(optimize.brentq(lambda s2: s2 + 3 * math.log(s2) - K, 1e-300, abs(K) + 10,
                                     xtol=1e-300, rtol=1e-15))


def one_minus_chi_asymptotic(N, order=1):
    """1 - chi_max(N): ``order=0`` Hui-Neuhoff (4/3) ln N / N^2; ``order=1`` (t^2 + 2) / (3 (N-2)^2)."""
    N = _N(N)
    order = V.integer("order", order, 0, 1)
    if order == 0:
        return 4 / 3 * math.log(N) / N ** 2
    t = t_outer(N)
    return (t * t + 2) / (3 * (N - 2) ** 2)


def D_opt_asymptotic(N, order=1):
    """D~_opt(N): ``order=0`` 4 sqrt(ln N) / N; ``order=1`` 2 t / (N - 2)."""
    N = _N(N)
    order = V.integer("order", order, 0, 1)
    if order == 0:
        return 4 * math.sqrt(math.log(N)) / N
    return 2 * t_outer(N) / (N - 2)


def paper_xi(N):
    """The paper's large-N depth scale (eq. 18): xi ~ (1/2) (N + 1)^1.82."""
    return 0.5 * (_N(N, 2) + 1) ** PAPER_EXPONENT


def paper_L_max(N):
    """The paper's maximal trainable depth (sec. 6): L_max ~ 3 (N + 1)^1.82 (= 6 xi of eq. 18)."""
    return 3.0 * (_N(N, 2) + 1) ** PAPER_EXPONENT


@dataclass(frozen=True)
class SlopeDecomposition:
    """The local exponent of 1 - chi_max(N) (eq. 18, Fig. 2; derivations/large_n_asymptotics.md), from
    :func:`slope_decomposition`: arrays over consecutive pairs (N_a, N_b) of table rows.

    ``x``: the midpoints, x + 1 = sqrt((N_a + 1)(N_b + 1)); ``slope``: s = d ln(1 - chi_max) / d ln(N + 1),
    split as s = s_step + s_gran with ``s_step`` = 2 d ln D~_opt / d ln(N + 1) (the step shrinking) and
    ``s_gran`` = d ln g / d ln(N + 1), g = (1 - chi_max) / (D~_opt^2 / 12) (the granular ratio -> 1)."""

    x: np.ndarray
    slope: np.ndarray
    s_step: np.ndarray
    s_gran: np.ndarray


def slope_decomposition(rows):
    """:class:`SlopeDecomposition` from table rows (``N``, ``chi_max``, ``D_opt``; N >= 3, sorted)."""
    from .spacing.fits import _get, _rows

    rows = _rows(rows, min_rows=2)
    N = np.array([float(_get(r, "N")) for r in rows])
    if len(N) < 2 or np.any(N < 3) or np.any(np.diff(N) <= 0):
        raise ValueError("rows must be sorted by N, with N >= 3 and at least two rows")
    om = np.array([1 - float(_get(r, "chi_max")) for r in rows])
    D = np.array([float(_get(r, "D_opt")) for r in rows])
    g = om / (D * D / 12)
    lx = np.log(N + 1)
    d = lambda y: np.diff(np.log(y)) / np.diff(lx)
    return SlopeDecomposition(np.exp(0.5 * (lx[1:] + lx[:-1])) - 1, d(om), 2 * d(D), d(g))


register_equation("qmf_sym.asymptotics.one_minus_chi_asymptotic", "paper 1, eq. 18 (large-N law, corrected)",
                  "(t^2 + 2) / (3 (N-2)^2)")
