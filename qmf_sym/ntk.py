"""The neural tangent kernel of a staircase network trained with the straight-through estimator.

Paper 1 sec. 3.2 uses the NTK (Jacot et al. 2018, Lee et al. 2019) of smooth networks; a staircase
network has phi' = 0 almost everywhere and is trained with a surrogate gain g (the STE of eq. 19,
:mod:`qmf_sym.backward`).  Its surrogate-gradient NTK (the "STE NTK", generalising the sign-network
surrogate NTK to N levels; derivation in derivations/ste_ntk.md) is, in the NTK parametrisation
alpha^(l) = (sigma_w / sqrt(n)) V phi(alpha^(l-1)) + sigma_b beta, V, beta ~ N(0, 1):

    Theta^(1)(x, x')   = Sigma^(1)(x, x') = sigma_w^2 x.x'/n_0 + sigma_b^2,
    Theta^(l+1)(x, x') = Sigma^(l+1)(x, x') + sigma_w^2 E[g(u) g(u')] Theta^(l)(x, x'),

with Sigma^(l) the forward covariance of eq. 2-4 ((u, u') ~ N(0, Sigma^(l))) and g the STE gain in
place of phi'.  The readout alpha^(L+1) is layer L+1.

Depth behaviour at the fixed point (Q*, C*): the diagonal obeys Theta <- Q* + m Theta with
m = sigma_w^2 E g(u)^2 (the backward gain of :func:`qmf_sym.backward.jacobian_moment`), the
off-diagonal Theta <- Q* C* + chi_g Theta with chi_g = sigma_w^2 E g(u1) g(u2) at C*.  So the
diagonal converges to Q*/(1 - m) (m < 1), grows linearly (m = 1, the critical STE slope) or
exponentially (m > 1); the off-diagonal converges to Q* C*/(1 - chi_g) when chi_g < 1, and the NTK's
correlation Theta12/Theta11 tends to C* (m < 1, chi_g < 1) or to 0 (m = 1): at the critical slope
the deep STE NTK forgets input similarity at the rate 1/l.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import backward, maps
from ._faces import register_equation
from .activations import as_activation

__all__ = ["ste_ntk", "STENTK", "ntk_rates", "ntk"]

_GAINS = ("clipped", "identity", "true")


def _gains(act, Q, C, sw2, ste, slope, sigma_w):
    """(sigma_w^2 E g(u)^2, sigma_w^2 E g(u) g(u')) for the STE gain g, or for ste="true" the true
    derivative phi' of a continuous activation (chi_1 and chi(C), eq. 6)."""
    if ste == "true":
        return (float(maps.chi(act, Q, sigma_w=sigma_w, deficit=0.0)),
                float(maps.chi(act, Q, min(C, 1.0), sigma_w=sigma_w)))
    return (sw2 * float(backward.gain_moment(Q, ste, slope, 2)),
            sw2 * float(backward.gain_cross_moment(Q, min(C, 1.0), ste, slope)))


def _check_gain_kind(act, ste):
    V.choice("ste", ste, _GAINS)
    if ste == "true" and not act.is_smooth:
        raise ValueError(f"ste='true' (back-propagation through phi') needs a continuous activation; "
                         f"act = {act.name} is a staircase (phi' = 0 almost everywhere): use 'clipped' or 'identity'")


@dataclass(frozen=True)
class STENTK:
    """Layers l = 1..depth+1 (row k = layer k+1; the last row is the readout): ``Q``, ``C`` (the
    forward kernel of the layer's pre-activations), ``theta_diag`` = Theta(x, x), ``theta_off`` =
    Theta(x, x'), ``gain_diag`` = sigma_w^2 E g(u)^2 and ``gain_off`` = sigma_w^2 E g(u) g(u')
    (the factors applied to the previous layer's Theta)."""

    Q: np.ndarray
    C: np.ndarray
    theta_diag: np.ndarray
    theta_off: np.ndarray
    gain_diag: np.ndarray
    gain_off: np.ndarray


def ste_ntk(act, Q1, C1, sigma_w, sigma_b=0.0, depth=1, ste="clipped", slope=1.0):
    """The STE NTK recursion (module docstring) for two inputs whose first-layer pre-activations have
    variance ``Q1`` each and correlation ``C1``, through ``depth`` hidden layers and the
    linear readout (float64).  ``act``: any activation; ``ste="true"`` back-propagates through phi'
    itself (the ordinary NTK of Jacot et al. 2018, continuous activations only; :func:`ntk`)."""
    act = as_activation(act)
    V.positive("Q1", Q1)
    V.in_closed("C1", C1, -1, 1)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    depth = V.integer("depth", depth, 1, 100_000)
    _check_gain_kind(act, ste)
    V.finite("slope", slope)
    sw2 = float(sigma_w) ** 2
    Q, C = float(Q1), float(C1)
    td, to = Q, Q * C  # Theta^(1) = Sigma^(1)
    rows = [(Q, C, td, to, np.nan, np.nan)]
    for _ in range(depth):
        gd, go = _gains(act, Q, C, sw2, ste, slope, sigma_w)
        Qn, Cn = maps.layer_map(act, Q, min(C, 1.0), sigma_w, sigma_b)
        Qn, Cn = float(Qn), float(Cn)
        td = Qn + gd * td
        to = Qn * Cn + go * to
        Q, C = Qn, Cn
        rows.append((Q, C, td, to, gd, go))
    a = np.array(rows)
    return STENTK(*(a[:, k] for k in range(6)))


def ntk_rates(act, sigma_w, sigma_b=0.0, ste="clipped", slope=1.0):
    """(m, chi_g, Q*, C*) at the fixed point: the per-layer factors of the diagonal and off-diagonal
    STE NTK (module docstring), from :func:`qmf_sym.maps.fixed_point` and :mod:`qmf_sym.backward`."""
    act = as_activation(act)
    _check_gain_kind(act, ste)
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    m, chi_g = _gains(act, float(fp.Q), float(fp.C), float(sigma_w) ** 2, ste, slope, float(sigma_w))
    return m, chi_g, float(fp.Q), float(fp.C)


def ntk(act, Q1, C1, sigma_w, sigma_b=0.0, depth=1):
    """The NTK of a continuous activation (Jacot et al. 2018; paper 1 sec. 3.2):
    Theta^(l+1) = Sigma^(l+1) + sigma_w^2 E[phi'(u) phi'(u')] Theta^(l), i.e. :func:`ste_ntk` with
    ``ste="true"``; at the fixed point the factors are chi_1 (diagonal) and chi(C*) (off-diagonal).
    ValueError for staircases (phi' = 0 almost everywhere: their NTK is the STE NTK)."""
    return ste_ntk(act, Q1, C1, sigma_w, sigma_b, depth, ste="true")


register_equation("qmf_sym.ntk.ste_ntk", "paper 1, sec. 3.2 (STE NTK recursion)",
                  "Theta^(l+1) = Sigma^(l+1) + sigma_w^2 E[g g'] Theta^(l)")
