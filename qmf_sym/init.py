"""Initialization that puts a uniform staircase at its optimal normalized spacing (paper 1, sec. 5).

For the uniform staircase with spacing D (sec. 5: D = 2/(N-1), states -1..1) at sigma_b = 0 we
want D / sqrt(Q*) = D~_opt(N) (Fig. 2 / :func:`qmf_sym.spacing.optimal_spacing`), i.e.

    Q* = (D / D~_opt)^2,   Q^* = E_{u ~ N(0, Q*)} phi(u)^2,   sigma_w = sqrt(Q* / Q^*),

because the fixed point of eq. 4 with sigma_b = 0 is Q* = sigma_w^2 Q^*(Q*).  Sec. 5 prints
sigma_w = (1/sqrt(Q*)) (D / D~_opt); since D / D~_opt = sqrt(Q*), that expression is identically 1.
It is correct with Q^* in place of Q*: sigma_w = (1/sqrt(Q^*)) (D / D~_opt)
(derivations/spacing_eq16_17.md, section "The sigma_w slip of sec. 5").

N = 2 (sign): chi = 2/pi for every spacing, so any sigma_w is optimal; we return sigma_w = 1
(Q* = 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import _validate as V
from .activations import Staircase, as_staircase

__all__ = ["uniform_spacing", "sigma_w_opt", "init_for", "Init"]


def _as_act(act):
    if isinstance(act, (int, np.integer)) and not isinstance(act, bool):
        return Staircase.uniform(V.integer("N", int(act), 2))
    return as_staircase(act)


def uniform_spacing(act) -> Fraction:
    """The spacing D of a uniform, centred staircase (equal heights, equally spaced offsets
    symmetric about 0, odd: the family of eq. 17 up to scale).  Raises ValueError otherwise."""
    act = _as_act(act)
    g, h = act.offsets_exact, act.heights_exact
    if act.N == 2:
        if g[0] != 0 or not act.is_odd():
            raise ValueError("act must be a uniform centred staircase (N = 2: offset 0 and odd, like sign)")
        return Fraction(0)
    D = g[1] - g[0]
    if any(b - a != D for a, b in zip(g, g[1:])) or len(set(h)) != 1 or not act.is_odd():
        raise ValueError("act must be a uniform centred staircase (equal heights, equally spaced offsets "
                         "D (i - N/2), odd); sigma_w_opt is defined for the eq. 17 family only")
    return D


def sigma_w_opt(act, dps=None):
    """sigma_w that puts a uniform staircase (or ``Staircase.uniform(N)`` for an int N) at its
    optimal normalized spacing D~_opt(N), with sigma_b = 0 (paper 1, sec. 5, corrected):
    sigma_w = sqrt(Q* / Q^*), Q* = (D / D~_opt)^2, Q^* = E_{u~N(0,Q*)} phi(u)^2."""
    return init_for(act, dps=dps).sigma_w


@dataclass(frozen=True)
class Init:
    """The optimal initialization of a uniform staircase: ``sigma_w``, ``sigma_b`` (= 0), the fixed
    point ``Q_star`` and ``Q_hat`` = E phi^2 there, ``D_opt`` (normalized), ``chi`` (= chi_max(N))
    and ``xi`` = -1/log chi."""

    N: int
    sigma_w: object
    sigma_b: object
    Q_star: object
    Q_hat: object
    D_opt: object
    chi: object
    xi: object


def init_for(act, dps=None):
    """:class:`Init` for a uniform centred staircase (or an int N for ``Staircase.uniform(N)``)."""
    from .maps import post_activation_moments
    from .spacing import optimal_spacing

    act = _as_act(act)
    d = V.dps(dps)
    D = uniform_spacing(act)
    opt = optimal_spacing(act.N, dps=d, check=False)
    if d is None:
        if act.N == 2:
            Q = 1.0
        else:
            Q = (float(D) / opt.D_opt) ** 2
        _, Qhat = post_activation_moments(act, Q)
        Qhat = float(Qhat)
        sw = math.sqrt(Q / Qhat)
        return Init(act.N, sw, 0.0, Q, Qhat, opt.D_opt, opt.chi_max, opt.xi)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        if act.N == 2:
            Q = mpmath.mpf(1)
        else:
            Q = (mpmath.mpf(D.numerator) / D.denominator / opt.D_opt) ** 2
        _, Qhat = post_activation_moments(act, Q, dps=d + 5)
        sw = mpmath.sqrt(Q / Qhat)
        return Init(act.N, +sw, mpmath.mpf(0), +Q, +Qhat, opt.D_opt, opt.chi_max, opt.xi)
