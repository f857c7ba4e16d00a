"""Closed forms of the straight-through-estimator (STE) backward pass at initialisation.

Paper 1 (Blumenfeld, Gilboa & Soudry 2019), sec. 3.1 eq. 8-9 and sec. 5 eq. 19; the idea of
appendix J.  With a quantized activation phi the true derivative vanishes almost everywhere, and
training back-propagates through a surrogate gain g(alpha) instead (eq. 19 for the clipped STE)::

    delta^(l-1) = diag(g(alpha^(l-1))) W^(l)T delta^(l).

The modified layer-to-layer Jacobian J_STE = W^(l) diag(g(alpha^(l-1))) has, for
W ~ N(0, sigma_w^2/n) independent of the pre-activations u ~ N(0, Q) (the mean-field limit),
the first moment of eq. 9::

    m_STE = (1/n) E tr(J_STE J_STE^T) = sigma_w^2 E[g(u)^2],

so the squared gradient norm changes by the factor m_STE per layer: it vanishes (m < 1) or
explodes (m > 1) geometrically, with depth scale -1/log(m) (the backward analogue of eq. 7).

Gains (``ste``):

* ``"clipped"`` (eq. 19) with slope s: ``g(u) = s 1[|u| < 1]``, so
  ``E[g^2] = s^2 P(|u| < 1) = s^2 (2 Phi(1/sqrt(Q)) - 1) = s^2 erf(1/sqrt(2Q))``;
* ``"identity"``: g(u) = s, E[g^2] = s^2.

Every function takes ``dps=None`` (float64, vectorised over numpy arrays) or ``dps=k`` (mpmath at
k significant digits, computed with guard digits), per docs/CONVENTIONS.md.
"""
from __future__ import annotations

import numpy as np

from . import _validate as V
from . import gaussian as G
from ._faces import ClosedForm
from ._numbers import to_mpf
from .maps import depth_scale

__all__ = [
    "pass_probability",
    "gain_moment",
    "gain_cross_moment",
    "jacobian_moment",
    "backward_depth_scale",
    "jacobian_moment_at_fixed_point",
    "gradient_factor",
]

_STES = ("clipped", "identity")




def _check_Q(Q):
    V.positive("Q", Q)
    return (Q,), {}


# ----------------------------------------------------------------------------- pass probability
def _pass_f64(Q):
    from scipy.special import erf

    return erf(1.0 / np.sqrt(2.0 * np.asarray(Q, dtype=float)))


def _pass_mp(Q):
    import mpmath

    return mpmath.erf(1 / mpmath.sqrt(2 * to_mpf(Q)))


pass_probability = ClosedForm(
    "qmf_sym.backward.pass_probability", "paper 1, eq. 19 (pass region of the clipped STE)",
    f64=_pass_f64, mp=_pass_mp, check=_check_Q,
    oracle=lambda Q: G.cell_probability.mp(-1 / _sqrt_mp(Q), 1 / _sqrt_mp(Q)),
    cases=lambda: [((q,), {}) for q in (1e-300, 1e-6, 0.05, 1.0, 30.0, 1e8, 1e300)], rtol=1e-15, atol=1e-300,
    signature=lambda Q, dps=None: None,
    doc="""``P(|u| < 1)`` for u ~ N(0, Q): erf(1/sqrt(2 Q)) = 2 Phi(1/sqrt(Q)) - 1 (eq. 19's pass region).""")


def _sqrt_mp(Q):
    import mpmath

    return mpmath.sqrt(to_mpf(Q))


# ----------------------------------------------------------------------------- gain moments
def _check_gain(Q, ste="clipped", slope=1.0, order=2):
    V.choice("ste", ste, _STES)
    V.positive("Q", Q)
    V.positive("slope", slope)
    order = V.integer("order", order, 1)
    return (Q, ste, slope, order), {}


def _gain_f64(Q, ste="clipped", slope=1.0, order=2):
    s = np.asarray(slope, dtype=float) ** order
    if ste == "identity":
        return s * np.ones_like(np.asarray(Q, dtype=float))
    return s * _pass_f64(Q)


def _gain_mp(Q, ste="clipped", slope=1.0, order=2):
    s = to_mpf(slope) ** order
    return s if ste == "identity" else s * _pass_mp(Q)


gain_moment = ClosedForm(
    "qmf_sym.backward.gain_moment", "paper 1, eq. 9 / eq. 19 (E g^k)",
    f64=_gain_f64, mp=_gain_mp, check=_check_gain,
    cases=lambda: [((q, ste, sl, o), {}) for q in (1e-6, 0.7, 1e6) for ste in _STES for sl in (0.5, 2.0) for o in (1, 2)],
    rtol=1e-15, atol=1e-300, signature=lambda Q, ste="clipped", slope=1.0, order=2, dps=None: None,
    doc="""E[g(u)^order] for u ~ N(0, Q) and the STE gain g (eq. 19; ``order`` = 1 or 2 or any k >= 1).

    clipped: ``slope^k P(|u| < 1)``; identity: slope^k.  ``slope`` > 0.""")


def _check_cross(Q, C=None, ste="clipped", slope=1.0, deficit=None):
    V.choice("ste", ste, _STES)
    V.positive("Q", Q)
    V.positive("slope", slope)
    V.correlation(C, deficit)
    return (Q, C, ste, slope), {"deficit": deficit}


def _cross_f64(Q, C=None, ste="clipped", slope=1.0, deficit=None):
    s2 = np.asarray(slope, dtype=float) ** 2
    if ste == "identity":
        return s2 * np.ones(np.broadcast(np.asarray(Q, float), np.asarray(C if C is not None else deficit, float)).shape)
    t = 1.0 / np.sqrt(np.asarray(Q, dtype=float))
    f = lambda h, k: G._bvn_cdf_f64(h, k, C, deficit)
    return s2 * (f(t, t) - f(t, -t) - f(-t, t) + f(-t, -t))


def _cross_mp(Q, C=None, ste="clipped", slope=1.0, deficit=None):
    s2 = to_mpf(slope) ** 2
    if ste == "identity":
        return s2
    t = 1 / _sqrt_mp(Q)
    f = lambda h, k: G._bvn_cdf_mp(h, k, C, deficit)
    return s2 * (f(t, t) - f(t, -t) - f(-t, t) + f(-t, -t))


def _cross_oracle(Q, C=None, ste="clipped", slope=1.0, deficit=None):
    """s^2 int_{-t}^{t} n(x) P(|y| < t | x) dx (the defining integral; t = 1/sqrt(Q))."""
    import mpmath

    s2 = to_mpf(slope) ** 2
    if ste == "identity":
        return s2
    r, d, e = G._mp_rho_delta_e(C, deficit)
    t, sd = 1 / _sqrt_mp(Q), mpmath.sqrt(d * e)
    f = lambda x: mpmath.npdf(x) * G.cell_probability.mp((-t - r * x) / sd, (t - r * x) / sd)
    return s2 * mpmath.quad(f, [-t, 0, t])


gain_cross_moment = ClosedForm(
    "qmf_sym.backward.gain_cross_moment", "paper 1, eq. 6 analogue for the STE backward pass",
    f64=_cross_f64, mp=_cross_mp, check=_check_cross, oracle=_cross_oracle,
    cases=lambda: [((q, c), dict(slope=1.5)) for q in (0.05, 0.8, 5.0) for c in (-0.6, 0.0, 0.3, 0.95)]
    + [((0.8,), dict(deficit=1e-6))],
    rtol=1e-12, atol=1e-15, signature=lambda Q, C=None, ste="clipped", slope=1.0, dps=None, deficit=None: None,
    doc="""E[g(u1) g(u2)] for (u1, u2) ~ N(0, Q [[1, C], [C, 1]]): the backward analogue of eq. 6.

    clipped: ``s^2 P(|u1| < 1, |u2| < 1) = s^2 sum_{a, b = +-1} a b Phi_2(a/sqrt(Q), b/sqrt(Q); C)``;
    identity: s^2.  (C = 1 reduces to :func:`gain_moment` with order 2.)""")


# ----------------------------------------------------------------------------- Jacobian moment
def _check_jac(Q, sigma_w, ste="clipped", slope=1.0):
    V.sigma("sigma_w", sigma_w)
    _check_gain(Q, ste, slope, 2)
    return (Q, sigma_w, ste, slope), {}


jacobian_moment = ClosedForm(
    "qmf_sym.backward.jacobian_moment", "paper 1, eq. 9 (STE-modified Jacobian)",
    f64=lambda Q, sigma_w, ste="clipped", slope=1.0: np.asarray(sigma_w, dtype=float) ** 2 * _gain_f64(Q, ste, slope, 2),
    mp=lambda Q, sigma_w, ste="clipped", slope=1.0: to_mpf(sigma_w) ** 2 * _gain_mp(Q, ste, slope, 2),
    check=_check_jac,
    cases=lambda: [((q, sw, ste, 1.0), {}) for q in (1e-4, 0.7, 30.0) for sw in (0.5, 1.3) for ste in _STES],
    rtol=1e-15, atol=1e-300, signature=lambda Q, sigma_w, ste="clipped", slope=1.0, dps=None: None,
    doc="""m_STE = sigma_w^2 E[g(u)^2], u ~ N(0, Q): the first moment (eq. 9) of the STE-modified Jacobian.

    For the clipped STE: sigma_w^2 slope^2 (2 Phi(1/sqrt(Q)) - 1).""")


def _check_m(m):
    V.positive("m", m)
    return (m,), {}


backward_depth_scale = ClosedForm(
    "qmf_sym.backward.backward_depth_scale", "paper 1, eq. 7 analogue (backward)",
    f64=lambda m: depth_scale.f64(m), mp=lambda m: depth_scale.mp(m), check=_check_m,
    cases=lambda: [((m,), {}) for m in (1e-5, 0.5, 1.0, 1.5, 1e5)], rtol=1e-15,
    signature=lambda m, dps=None: None,
    doc="""-1/log(m): the number of layers over which the squared gradient norm changes by a factor e
    (the analogue of eq. 7, through ``maps.depth_scale``'s raw faces; positive for m < 1
    (vanishing), negative for m > 1 (exploding), infinite at m = 1).""")


def jacobian_moment_at_fixed_point(act, sigma_w, sigma_b=0.0, ste="clipped", slope=1.0, dps=None):
    """m_STE at the fixed point Q* of the variance map (``qmf_sym.maps.fixed_point``).

    For a continuous activation (``act.is_smooth``: erf, tanh, ReLU, hard tanh, any Smooth) no
    surrogate is needed: back-propagation uses phi' itself and the per-layer gradient factor is
    chi_1 = sigma_w^2 E phi'(u)^2 at Q* (eq. 9 with the true Jacobian W diag(phi'(u))); pass
    ``ste="true"`` to get it (:func:`gradient_factor`).  ``ste="true"`` for a staircase raises
    ValueError (phi' = 0 almost everywhere: the true gradient vanishes, hence the STE)."""
    if ste == "true":
        return gradient_factor(act, sigma_w, sigma_b, dps=dps)
    from . import maps

    fp = maps.fixed_point(act, sigma_w, sigma_b, dps=dps)
    return jacobian_moment(fp.Q, sigma_w, ste, slope, dps=dps)


def gradient_factor(act, sigma_w, sigma_b=0.0, dps=None):
    """The per-layer factor of the squared gradient norm with the *true* derivative: chi_1 =
    sigma_w^2 E phi'(u)^2 at the fixed point Q* (paper 1, eq. 9 with J = W diag(phi'); the same
    quantity as :func:`qmf_sym.maps.chi_1`), for continuous activations; its depth scale is
    :func:`backward_depth_scale` (chi_1).  ValueError for staircases: phi' = 0 almost everywhere,
    so the true gradient vanishes and chi_1 (with the Dirac deltas) is infinite -- use an STE gain."""
    from . import maps
    from .activations import as_activation

    act = as_activation(act)
    if not act.is_smooth:
        raise ValueError(f"act = {act.name}: the true-derivative gradient factor does not exist for a staircase "
                         "(phi' = 0 almost everywhere, sum of Dirac deltas at the jumps); use ste='clipped' "
                         "or 'identity' (the STE backward pass)")
    return maps.fixed_point(act, sigma_w, sigma_b, dps=dps).chi_1
