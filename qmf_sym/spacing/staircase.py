"""Eq. 16 of paper 1 (Blumenfeld, Gilboa & Soudry 2019, sec. 4.2): the slope chi at C* = 0,
sigma_b = 0 of *any* staircase with normalized offsets g~ = g / sqrt(Q*), and the base that centres
it.

    chi(g~, h) = [sum_i h_i p(g~_i)]^2 / sum_{i,j} h_i h_j Phi(-max(g~_i, g~_j)) Phi(min(g~_i, g~_j))

with p the standard normal density.  The numerator is the square of a single sum (eq. 16 writes it
as a double sum); the denominator is Var[phi(z)] for z ~ N(0, 1) and is evaluated in O(N) with a
cumulative sum.

*Centring.*  Eq. 16 is chi at C* = 0, and C* = 0 is a fixed point at sigma_b = 0 only if
E phi(u) = 0 (then E phi(u1) phi(u2) = (E phi)^2 = 0 at C = 0).  The denominator of eq. 16 (and
Q^ of eq. 14 as printed) is the *variance* Var phi(u), which equals E phi(u)^2 only for a centred
staircase.  So eq. 16 is the fixed-point slope of a staircase whose base A is chosen to centre it,
A = -sum_i h_i Phi(-g~_i) (see :func:`centring_base`); the uniform family of eq. 17 is odd, hence
centred.  For a non-centred staircase at sigma_b = 0 the stable fixed point has C* > 0 and eq. 16
does not apply (use ``qmf_sym.maps.fixed_point``).  Derivation: derivations/spacing_eq16_17.md.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as V
from .. import gaussian as G
from .._faces import ClosedForm
from .._numbers import mp as _mp
from .._numbers import to_mpf as _to_mpf

__all__ = ["chi_staircase", "chi_eq16", "centring_base"]


def _mp_lists(offsets, heights):
    offs = list(np.ravel(np.asarray(offsets, dtype=object)))
    if len(offs) < 1:
        raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
    hs = list(np.ravel(np.asarray(heights, dtype=object)))
    if len(hs) == 1:
        hs = hs * len(offs)
    if len(hs) != len(offs):
        raise ValueError(f"heights must have N-1 = {len(offs)} entries like offsets, got {len(hs)}")
    return offs, hs


def _is_mp_values(x):
    return any(type(v).__module__.startswith("mpmath") for v in np.ravel(np.asarray(x, dtype=object)))


def _check_staircase(offsets, heights=1.0):
    """Offsets: N-1 >= 1 finite values, strictly increasing along the last axis; heights > 0 (one
    value or one per offset).  mpmath values are checked at their own precision by the mp face."""
    if _is_mp_values(offsets) or _is_mp_values(heights):
        _mp_lists(offsets, heights)
        return (offsets, heights), {}
    g = np.asarray(V._finite_array("offsets", offsets), dtype=float)
    if g.ndim == 0:
        g = g.reshape(1)
    if g.shape[-1] < 1:
        raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
    if g.shape[-1] > 1 and not np.all(np.diff(g, axis=-1) > 0):
        raise ValueError("offsets must be strictly increasing along the last axis (g~_1 < ... < g~_{N-1})")
    h = np.asarray(V.positive("heights", heights), dtype=float)
    try:
        np.broadcast_to(h, g.shape)
    except ValueError:
        raise ValueError(f"heights must be one value or N-1 = {g.shape[-1]} values like offsets, "
                         f"got shape {h.shape}") from None
    return (offsets, heights), {}


def _chi16_f64(offsets, heights=1.0):
    """Numerator (sum_i h_i p(g~_i))^2; denominator sum_{i,j} h_i h_j Phi(-max) Phi(min)
    = sum_j h_j Phi(-g~_j) [h_j Phi(g~_j) + 2 sum_{i<j} h_i Phi(g~_i)]  (O(N), positive terms)."""
    g = np.asarray(offsets, dtype=float)
    if g.ndim == 0:
        g = g.reshape(1)
    h = np.broadcast_to(np.asarray(heights, dtype=float), g.shape)
    # chi is homogeneous of degree 0 in the heights: scale them by their largest, so that tiny or
    # huge heights (1e-300) do not under/overflow the squares (0/0 before)
    h = h / np.max(h, axis=-1, keepdims=True)
    num = np.sum(h * G.pdf.f64(g), axis=-1) ** 2
    hF = h * G.cdf.f64(g)
    S = np.cumsum(hF, axis=-1) - hF  # sum_{i<j} h_i F_i
    den = np.sum(h * G.cdf.f64(-g) * (hF + 2.0 * S), axis=-1)
    return num / den


def _chi16_mp(offsets, heights=1.0):
    mpmath = _mp()
    offs, hs = _mp_lists(offsets, heights)
    g = [_to_mpf(x) for x in offs]
    h = [_to_mpf(x) for x in hs]
    for x in g:
        if not mpmath.isfinite(x):
            raise ValueError(f"offsets must be finite, got {x}")
    if any(b <= a for a, b in zip(g, g[1:])):
        raise ValueError("offsets must be strictly increasing (g~_1 < ... < g~_{N-1})")
    if any(not (x > 0) for x in h):
        raise ValueError("heights must be in (0, inf)")
    num = mpmath.fsum(hi * G.pdf.mp(gi) for hi, gi in zip(h, g)) ** 2
    den = mpmath.mpf(0)
    S = mpmath.mpf(0)
    for hi, gi in zip(h, g):
        F = G.cdf.mp(gi)
        den += hi * G.cdf.mp(-gi) * (hi * F + 2 * S)
        S += hi * F
    return num / den


def _chi16_oracle(offsets, heights=1.0):
    """Eq. 16 as printed: the O(N^2) double sums (mpmath, current precision)."""
    mpmath = _mp()
    offs, hs = _mp_lists(offsets, heights)
    g = [_to_mpf(x) for x in offs]
    h = [_to_mpf(x) for x in hs]
    idx = range(len(g))
    num = mpmath.fsum(h[i] * h[j] * mpmath.npdf(g[i]) * mpmath.npdf(g[j]) for i in idx for j in idx)
    den = mpmath.fsum(h[i] * h[j] * mpmath.ncdf(-max(g[i], g[j])) * mpmath.ncdf(min(g[i], g[j]))
                      for i in idx for j in idx)
    return num / den


chi_staircase = ClosedForm(
    "qmf_sym.spacing.chi_staircase", "paper 1, eq. 16",
    f64=_chi16_f64, mp=_chi16_mp, check=_check_staircase, oracle=_chi16_oracle,
    cases=lambda: [((g, h), {}) for g, h in [([0.0], 1.0), ([-1.3, -0.2, 0.4, 2.0], [0.5, 1.0, 2.0, 0.3]),
                                             ([-8.0, 0.1, 9.0], [1.0, 3.0, 1.0]), ([1e-9, 2e-9], 1.0),
                                             ([-30.0, -29.0, 25.0], [1.0, 1.0, 1.0])]],
    rtol=1e-13,
    doc="""chi at C* = 0, sigma_b = 0 of a staircase with *normalized* offsets g~ (eq. 16 of paper 1);
    ``chi_staircase(offsets, heights=1.0, dps=None)``.

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
    = sum_j h_j Phi(-g~_j) [h_j Phi(g~_j) + 2 sum_{i<j} h_i Phi(g~_i)]  (O(N), positive terms).""")


chi_eq16 = chi_staircase


def _centring_f64(offsets, heights=1.0):
    g = np.asarray(offsets, dtype=float)
    h = np.broadcast_to(np.asarray(heights, dtype=float), g.shape)
    return -np.sum(h * G.cdf.f64(-g), axis=-1)


def _centring_mp(offsets, heights=1.0):
    offs, hs = _mp_lists(offsets, heights)
    return -_mp().fsum(_to_mpf(hi) * G.cdf.mp(-_to_mpf(gi)) for hi, gi in zip(hs, offs))


centring_base = ClosedForm(
    "qmf_sym.spacing.centring_base", "paper 1, sec. 4.2 (the base A that centres eq. 16's staircase)",
    f64=_centring_f64, mp=_centring_mp, check=_check_staircase,
    cases=lambda: [((g, h), {}) for g, h in [([0.0], 1.0), ([-1.3, -0.2, 0.4, 2.0], [0.5, 1.0, 2.0, 0.3])]],
    rtol=1e-14,
    doc="""The base A that makes the staircase centred, E phi(z) = 0 for z ~ N(0, 1) with normalized
    offsets: A = -sum_i h_i Phi(-g~_i); ``centring_base(offsets, heights=1.0, dps=None)``.  Eq. 16
    is the slope at the fixed point C* = 0 (sigma_b = 0) only for this A (paper 1, sec. 4.2;
    derivations/spacing_eq16_17.md).""")
