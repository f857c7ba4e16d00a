"""Closed forms of the straight-through-estimator (STE) backward pass at initialisation.

Paper 1 (Blumenfeld, Gilboa & Soudry 2019), sec. 3.1 eq. 8-9 and sec. 5 eq. 19; the idea of
appendix J.  With a quantized activation phi the true derivative vanishes almost everywhere, and
training back-propagates through a surrogate gain g(alpha) instead (eq. 19 for the clipped STE):

    delta^(l-1) = diag(g(alpha^(l-1))) W^(l)T delta^(l).

The modified layer-to-layer Jacobian J_STE = W^(l) diag(g(alpha^(l-1))) has, for
W ~ N(0, sigma_w^2/n) independent of the pre-activations u ~ N(0, Q) (the mean-field limit),
the first moment of eq. 9

    m_STE = (1/n) E tr(J_STE J_STE^T) = sigma_w^2 E[g(u)^2],

so the squared gradient norm changes by the factor m_STE per layer: it vanishes (m < 1) or
explodes (m > 1) geometrically, with depth scale -1/log(m) (the backward analogue of eq. 7).

Gains (``ste``):
* ``"clipped"`` (eq. 19) with slope s: g(u) = s 1[|u| < 1], so
  E[g^2] = s^2 P(|u| < 1) = s^2 (2 Phi(1/sqrt(Q)) - 1) = s^2 erf(1/sqrt(2Q));
* ``"identity"``: g(u) = s, E[g^2] = s^2.

Every function takes ``dps=None`` (float64, vectorised over numpy arrays) or ``dps=k`` (mpmath at
k significant digits, computed with guard digits), per docs/CONVENTIONS.md.
"""
from __future__ import annotations

import numpy as np

from . import _validate as V

__all__ = [
    "pass_probability",
    "gain_moment",
    "gain_cross_moment",
    "jacobian_moment",
    "backward_depth_scale",
    "jacobian_moment_at_fixed_point",
]

_STES = ("clipped", "identity")


def pass_probability(Q, dps=None):
    """P(|u| < 1) for u ~ N(0, Q): erf(1/sqrt(2 Q)) = 2 Phi(1/sqrt(Q)) - 1 (eq. 19's pass region)."""
    d = V.dps(dps)
    V.positive("Q", Q)
    if d is None:
        from scipy.special import erf

        return erf(1.0 / np.sqrt(2.0 * np.asarray(Q, dtype=float)))
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        r = mpmath.erf(1 / mpmath.sqrt(2 * mpmath.mpf(Q)))
    return r  # an mpf computed at guard precision (keeps its digits)


def gain_moment(Q, ste="clipped", slope=1.0, order=2, dps=None):
    """E[g(u)^order] for u ~ N(0, Q) and the STE gain g (eq. 19; ``order`` = 1 or 2 or any k >= 1).

    clipped: slope^k P(|u| < 1); identity: slope^k.
    """
    d = V.dps(dps)
    V.choice("ste", ste, _STES)
    V.positive("Q", Q)
    order = V.integer("order", order, 1)
    if d is None:
        s = np.asarray(slope, dtype=float) ** order
        if ste == "identity":
            return s * np.ones_like(np.asarray(Q, dtype=float))
        return s * pass_probability(Q)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        s = mpmath.mpf(slope) ** order
        r = s if ste == "identity" else s * pass_probability(Q, dps=V.guard_digits(d))
    return r  # an mpf computed at guard precision (keeps its digits)


def gain_cross_moment(Q, C=None, ste="clipped", slope=1.0, dps=None, deficit=None):
    """E[g(u1) g(u2)] for (u1, u2) ~ N(0, Q [[1, C], [C, 1]]): the backward analogue of eq. 6.

    clipped: s^2 P(|u1| < 1, |u2| < 1) = s^2 sum_{a, b = +-1} a b Phi_2(a/sqrt(Q), b/sqrt(Q); C);
    identity: s^2.  (C = 1 reduces to :func:`gain_moment` with order 2.)
    """
    from . import gaussian as G

    d = V.dps(dps)
    V.choice("ste", ste, _STES)
    V.positive("Q", Q)
    C, deficit = V.correlation(C, deficit)
    kw = {"deficit": deficit} if deficit is not None else {"rho": C}
    if d is None:
        s2 = np.asarray(slope, dtype=float) ** 2
        if ste == "identity":
            return s2 * np.ones(np.broadcast(np.asarray(Q, float), np.asarray(C if C is not None else deficit, float)).shape)
        t = 1.0 / np.sqrt(np.asarray(Q, dtype=float))
        p = (G.bvn_cdf(t, t, **kw) - G.bvn_cdf(t, -t, **kw) - G.bvn_cdf(-t, t, **kw) + G.bvn_cdf(-t, -t, **kw))
        return s2 * p
    import mpmath

    wd = V.guard_digits(d)
    with mpmath.workdps(wd):
        s2 = mpmath.mpf(slope) ** 2
        if ste == "identity":
            return s2
        t = 1 / mpmath.sqrt(mpmath.mpf(Q))
        kwm = {k: mpmath.mpf(v) for k, v in kw.items()}
        p = (G.bvn_cdf(t, t, dps=wd, **kwm) - G.bvn_cdf(t, -t, dps=wd, **kwm)
             - G.bvn_cdf(-t, t, dps=wd, **kwm) + G.bvn_cdf(-t, -t, dps=wd, **kwm))
        r = s2 * p
    return r  # an mpf computed at guard precision (keeps its digits)


def jacobian_moment(Q, sigma_w, ste="clipped", slope=1.0, dps=None):
    """m_STE = sigma_w^2 E[g(u)^2], u ~ N(0, Q): the first moment (eq. 9) of the STE-modified Jacobian.

    For the clipped STE: sigma_w^2 slope^2 (2 Phi(1/sqrt(Q)) - 1).
    """
    d = V.dps(dps)
    V.positive("sigma_w", sigma_w)
    if d is None:
        return np.asarray(sigma_w, dtype=float) ** 2 * gain_moment(Q, ste, slope, 2)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        r = mpmath.mpf(sigma_w) ** 2 * gain_moment(Q, ste, slope, 2, dps=V.guard_digits(d))
    return r  # an mpf computed at guard precision (keeps its digits)


def backward_depth_scale(m, dps=None):
    """-1/log(m): the number of layers over which the squared gradient norm changes by a factor e
    (the analogue of eq. 7; positive for m < 1 (vanishing), negative for m > 1 (exploding),
    infinite at m = 1)."""
    d = V.dps(dps)
    V.positive("m", m)
    if d is None:
        lm = np.log(np.asarray(m, dtype=float))
        with np.errstate(divide="ignore"):
            return np.where(lm == 0, np.inf, -1.0 / np.where(lm == 0, 1.0, lm))[()]
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        lm = mpmath.log(mpmath.mpf(m))
        r = mpmath.inf if lm == 0 else -1 / lm
    return r  # an mpf computed at guard precision (keeps its digits)


def jacobian_moment_at_fixed_point(act, sigma_w, sigma_b=0.0, ste="clipped", slope=1.0, dps=None):
    """m_STE at the fixed point Q* of the variance map (``qmf_sym.maps.fixed_point``)."""
    from . import maps

    fp = maps.fixed_point(act, sigma_w, sigma_b, dps=dps)
    return jacobian_moment(fp.Q, sigma_w, ste, slope, dps=dps)
