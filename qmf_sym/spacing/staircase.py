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
from ._numbers import mp as _mp
from ._numbers import to_mpf as _to_mpf

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
        g = np.asarray(V._finite_array("offsets", offsets), dtype=float)
        if g.ndim == 0:
            g = g.reshape(1)
        if g.shape[-1] < 1:
            raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
        if g.shape[-1] > 1 and not np.all(np.diff(g, axis=-1) > 0):
            raise ValueError("offsets must be strictly increasing along the last axis (g~_1 < ... < g~_{N-1})")
        h = np.broadcast_to(np.asarray(V.positive("heights", heights), dtype=float), g.shape)
        num = np.sum(h * G.pdf.f64(g), axis=-1) ** 2
        hF = h * G.cdf.f64(g)
        S = np.cumsum(hF, axis=-1) - hF  # sum_{i<j} h_i F_i
        den = np.sum(h * G.cdf.f64(-g) * (hF + 2.0 * S), axis=-1)
        return num / den
    mpmath = _mp()
    offs, hs = _mp_lists(offsets, heights)
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
        num = mpmath.fsum(hi * G.pdf.mp(gi) for hi, gi in zip(h, g)) ** 2
        den = mpmath.mpf(0)
        S = mpmath.mpf(0)
        for hi, gi in zip(h, g):
            F = G.cdf.mp(gi)
            den += hi * G.cdf.mp(-gi) * (hi * F + 2 * S)
            S += hi * F
        res = num / den
    return res  # keeps the guard precision (unary + here would round to mp.dps)


chi_eq16 = chi_staircase


def centring_base(offsets, heights=1.0, dps=None):
    """The base A that makes the staircase centred, E phi(z) = 0 for z ~ N(0, 1) with normalized
    offsets: A = -sum_i h_i Phi(-g~_i).  Eq. 16 is the slope at the fixed point C* = 0 (sigma_b = 0)
    only for this A (paper 1, sec. 4.2; derivations/spacing_eq16_17.md)."""
    d = V.dps(dps)
    if d is None:
        g = np.asarray(V._finite_array("offsets", offsets), dtype=float)
        h = np.broadcast_to(np.asarray(V.positive("heights", heights), dtype=float), g.shape)
        return -np.sum(h * G.cdf.f64(-g), axis=-1)
    mpmath = _mp()
    offs, hs = _mp_lists(offsets, heights)
    with mpmath.workdps(V.guard_digits(d)):
        r = -mpmath.fsum(_to_mpf(hi) * G.cdf.mp(-_to_mpf(gi)) for hi, gi in zip(hs, offs))
    return r
