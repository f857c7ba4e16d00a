"""Mean field of a quantized residual network (paper 1, Discussion; Yang & Schoenholz 2017, "Mean field
residual networks: on the edge of chaos", the *reduced* residual network).

The network: x^1 = W^0 x + b^0 (the first layer of eq. 1), then for l = 1..L::

    x^(l+1) = x^l + alpha (W^l phi(x^l) + b^l),   W^l_ij ~ N(0, sigma_w^2 / n),  b^l_i ~ N(0, sigma_b^2),

i.e. one weight layer per residual block, the staircase phi (eq. 13) -- or any activation of
:mod:`qmf_sym.activations` for the maps, any with a sign limit (below) for the deep limit -- on the
residual stream, and the
branch weighted by alpha > 0 (alpha = 1: Yang & Schoenholz's reduced resnet; alpha ~ 1/sqrt(L): the
scaled branches of Fixup / SkipInit-style initialisations).

**The maps** (derivations/residual.md, sec. 1).  The branch is independent of the stream given the
stream, so with V(Q) = sigma_w^2 E phi(u)^2 + sigma_b^2 (:func:`qmf_sym.maps.variance_map`, eq. 4)::

    Q^(l+1) = Q^l + alpha^2 V(Q^l),
    C^(l+1) = (1 - w_l) C^l + w_l F_(Q^l)(C^l),     w_l = alpha^2 V(Q^l) / Q^(l+1) in (0, 1),

where F_Q(C) is the correlation of the fully connected layer map at variance Q
(:func:`qmf_sym.maps.layer_map`, eq. 2-4): each residual block moves the correlation a fraction w_l of
the way to where a fully connected layer would take it.

**No fixed point in Q; a limit in C** (sec. 2).  Q^l grows without bound, Q^l ~ alpha^2 V_inf l, so the
normalised offsets g_i / sqrt(Q^l) -> 0 and the staircase acts as its *sign limit* phi_inf (one jump
at 0 from the lowest to the highest level): F_(Q^l) -> g, the fully connected correlation map of
phi_inf at its fixed point, and C^l -> C_inf, the stable fixed point of g (:func:`qmf_sym.maps.fixed_point`
of phi_inf).

**Polynomial approach** (sec. 3).  Linearised at C_inf, delta^(l+1) = delta^l (1 - w_l (1 - chi_inf)) with
chi_inf = g'(C_inf); since w_l ~ 1/(tau_l + 1), tau_l = Q^l / (alpha^2 V_inf), the product gives::

    |C^l - C_inf| ~ K tau_l^(-gamma) ~ K' l^(-gamma),   gamma = 1 - chi_inf,

a power law (for an odd staircase at sigma_b = 0: C_inf = 0, chi_inf = 2/pi, gamma = 1 - 2/pi = 0.363),
instead of the exponential exp(-l / xi) of the fully connected network (eq. 7).

Pure mathematics (numpy; the maps of :mod:`qmf_sym.maps`); every input check through
:mod:`qmf_sym._validate`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import maps
from ._faces import register_equation
from .activations import Erf, HardTanh, Staircase, Tanh, as_activation

__all__ = ["sign_limit", "layer_map", "iterate", "ResidualLimit", "limit", "depth_clock", "power_law_prediction"]


register_equation("qmf_sym.residual.layer_map", "paper 1, Discussion (Yang & Schoenholz 2017)",
                  "residual block: C -> (1 - w) C + w F_Q(C), F_Q the eq. 2-4 layer map")
register_equation("qmf_sym.residual.limit", "paper 1, Discussion (Yang & Schoenholz 2017)",
                  "C_inf and the power law tau^-(1 - chi_inf) of the approach, via the sign limit (eq. 5-6)")


def _check(act, Q, alpha, sigma_w, sigma_b):
    act = as_activation(act)
    act.check_Q(Q)
    V.positive("alpha", alpha)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    return act


def sign_limit(act):
    """phi_inf: the activation seen at an infinite input scale, the limit of phi(sqrt(Q) z) as Q -> inf
    (derivations/residual.md, sec. 2): one jump at 0 from phi(-inf) to phi(+inf).  A staircase: of height
    sum_i h_i above its base A; erf and tanh: from -1 to 1; hard tanh: from ``low`` to ``high``.  An
    unbounded activation (ReLU: Q then grows geometrically, not linearly) or a ``Smooth`` one whose limits
    at +-inf are not known: ValueError."""
    act = as_activation(act)
    if isinstance(act, Staircase):
        return Staircase([0], [sum(act.heights_exact)], base=act.base_exact)
    if isinstance(act, (Erf, Tanh)):
        return Staircase([0], [2], base=-1)
    if isinstance(act, HardTanh):
        return Staircase([0], [act.high - act.low], base=act.low)
    raise ValueError(f"act must have limits at +-inf for the deep residual limit (a staircase, erf, tanh or hard "
                     f"tanh), got {getattr(act, 'name', type(act).__name__)!r}")


def layer_map(act, Q, C, alpha, sigma_w, sigma_b=0.0):
    """One residual block (module docstring): returns (Q', C') with Q' = Q + alpha^2 V(Q) and
    C' = (1 - w) C + w F_Q(C), w = alpha^2 V(Q) / Q', F_Q the fully connected layer map's correlation
    (:func:`qmf_sym.maps.layer_map`).  Vectorised over Q and C (broadcastable), float64."""
    act = _check(act, Q, alpha, sigma_w, sigma_b)
    V.in_closed("C", C, -1, 1)
    Vq, F = maps.layer_map(act, Q, C, sigma_w, sigma_b)
    Q = np.asarray(Q, dtype=float)
    Qn = Q + alpha ** 2 * np.asarray(Vq, dtype=float)
    w = alpha ** 2 * np.asarray(Vq, dtype=float) / Qn
    Cn = (1 - w) * np.asarray(C, dtype=float) + w * np.asarray(F, dtype=float)
    return Qn[()], np.clip(Cn, -1.0, 1.0)[()]


def iterate(act, Q1, C1, alpha, sigma_w, sigma_b=0.0, n_layers=1):
    """Iterate :func:`layer_map` from the first hidden layer's (Q1, C1): arrays Q, C of shape
    ``(n_layers, *shape(C1))``; row k holds layer l = k + 1 (after k residual blocks)."""
    n_layers = V.integer("n_layers", n_layers, 1)
    C = np.asarray(V.in_closed("C1", C1, -1, 1), dtype=float)
    Q = np.broadcast_to(np.asarray(V.positive("Q1", Q1), dtype=float), C.shape).copy()
    _check(act, Q, alpha, sigma_w, sigma_b)
    V.size_product("n_layers", [("n_layers", n_layers), ("inputs", max(C.size, 1)), ("Q and C", 2)])
    Qs, Cs = [Q], [C]
    for _ in range(n_layers - 1):
        Q, C = layer_map(act, Q, C, alpha, sigma_w, sigma_b)
        Qs.append(np.asarray(Q))
        Cs.append(np.asarray(C))
    return np.array(Qs), np.array(Cs)


@dataclass(frozen=True)
class ResidualLimit:
    """The deep limit of the residual maps (module docstring): ``C_inf`` and ``chi_inf`` (the stable fixed
    point of the sign limit's fully connected map and its slope there), ``gamma`` = 1 - chi_inf (the
    power of the approach), ``V_inf`` = sigma_w^2 E phi_inf^2 + sigma_b^2 (the growth rate of Q per
    alpha^2), and ``xi_fc`` (the fully connected depth scale of ``act`` at (sigma_w, sigma_b), eq. 7, for
    comparison; inf where it has none)."""

    C_inf: float
    chi_inf: float
    gamma: float
    V_inf: float
    xi_fc: float


def limit(act, sigma_w, sigma_b=0.0):
    """:class:`ResidualLimit` of ``act`` at (sigma_w, sigma_b) (derivations/residual.md, sec. 2-3)."""
    act = as_activation(act)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    s = sign_limit(act)
    fp = maps.fixed_point(s, sigma_w, sigma_b)
    v_inf = float(maps.variance_map(s, 1.0, sigma_w, sigma_b))  # E phi_inf^2 does not depend on Q
    try:
        xi = float(maps.fixed_point(act, sigma_w, sigma_b).xi)
    except ValueError:
        xi = float("inf")
    return ResidualLimit(float(fp.C), float(fp.chi), 1.0 - float(fp.chi), v_inf, xi)


def depth_clock(Q, alpha, V_inf):
    """tau = Q / (alpha^2 V_inf): the effective depth of the power law (tau_l ~ l + tau_1 for large l)."""
    V.positive("Q", Q)
    V.positive("alpha", alpha)
    V.positive("V_inf", V_inf)
    return np.asarray(Q, dtype=float) / (alpha ** 2 * V_inf)


def power_law_prediction(act, Q1, C1, alpha, sigma_w, sigma_b=0.0, n_layers=2):
    """``(tau_l, |C^l - C_inf|, gamma)`` along the exact iteration from (Q1, C1): the deficit the power law
    tau^(-gamma) describes at large l (for plots and tests)."""
    lim = limit(act, sigma_w, sigma_b)
    Q, C = iterate(act, Q1, C1, alpha, sigma_w, sigma_b, n_layers)
    return depth_clock(Q, alpha, lim.V_inf), np.abs(C - lim.C_inf), lim.gamma
