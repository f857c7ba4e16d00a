"""Ball face of the mean-field maps of a staircase (paper 1, eq. 4-6, 14-16): Arb balls that provably
contain the exact value.  Notation as in :mod:`qmf_sym.maps`: u ~ N(0, Q), (u1, u2) ~ N(0, Q [[1, C],
[C, 1]]), phi = A + sum_i h_i H(x - g_i) (eq. 13), g~_i = g_i / sqrt(Q).

* ``post_activation_moments_ball(act, Q)`` = (E phi(u), E phi(u)^2), the latter as the positive
  sum over cells sum_k l_k^2 P(cell k);
* ``variance_map_ball(act, Q, sigma_w, sigma_b)`` = sigma_w^2 E phi(u)^2 + sigma_b^2 (eq. 4);
* ``correlation_map_ball(act, Q, C, sigma_w, sigma_b)`` = [sigma_w^2 E phi(u1) phi(u2) + sigma_b^2]/Q
  (eq. 5), with E phi phi = (E phi)^2 + sum_ij h_i h_j excess(-g~_i, -g~_j; C) integrated as ONE
  rigorous integral of the summed Sheppard integrand;
* ``chi_ball(act, Q, C, sigma_w)`` = sigma_w^2 / (2 pi Q sqrt(1 - C^2)) sum_ij h_i h_j
  exp(-(g_i^2 - 2 C g_i g_j + g_j^2) / (2 Q (1 - C^2)))   (eq. 6 / 15);
* ``chi_staircase_ball(offsets, heights)`` = eq. 16 (C* = 0, sigma_b = 0, normalized offsets).

The staircase parameters are exact Fractions (:class:`qmf_sym.activations.Staircase`) and enter as
exact balls; Q, C, sigma_w, sigma_b are converted exactly.  ``dps`` sets the working precision.
"""
from __future__ import annotations

from ..activations import as_staircase
from . import _arb
from .gaussian import _dps, _excess_terms, _pdf, _real, _upper_tail

__all__ = ["post_activation_moments_ball", "variance_map_ball", "correlation_map_ball", "chi_ball",
           "chi_staircase_ball"]


def _params(act, Q):
    """(A, normalized offsets g~, heights) as Arb balls, and sqrt(Q)."""
    f = _arb.flint()
    fr = lambda x: f.arb(f.fmpq(x.numerator, x.denominator))
    sq = _arb.arb(Q).sqrt()
    return fr(act.base_exact), [fr(g) / sq for g in act.offsets_exact], [fr(h) for h in act.heights_exact], sq


def _moments(act, Q):
    f = _arb.flint()
    A, gt, h, _ = _params(act, Q)
    mean = A + sum((hi * _upper_tail(x) for hi, x in zip(h, gt)), f.arb(0))
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    edges = [None] + gt + [None]
    tot = f.arb(0)
    for k, l in enumerate(lev):
        a, b = edges[k], edges[k + 1]
        if a is None:
            p = _upper_tail(-b)
        elif b is None:
            p = _upper_tail(a)
        elif a >= 0:
            p = _upper_tail(a) - _upper_tail(b)
        elif b <= 0:
            p = _upper_tail(-b) - _upper_tail(-a)
        else:
            p = 1 - _upper_tail(-a) - _upper_tail(b)
        tot += l * l * p
    return mean, tot


def _check(act, Q, sigma_w=1.0, sigma_b=0.0):
    act = as_staircase(act)
    _real("Q", Q)
    _real("sigma_w", sigma_w)
    _real("sigma_b", sigma_b)
    for name, v, ok in (("Q", Q, lambda b: b > 0), ("sigma_w", sigma_w, lambda b: b > 0),
                        ("sigma_b", sigma_b, lambda b: b >= 0)):
        with _arb.precision(64):
            if not ok(_arb.arb(v)):
                rng = "[0, inf)" if name == "sigma_b" else "(0, inf)"
                raise ValueError(f"{name} must be in {rng}, got {v!r}")
    return act


def post_activation_moments_ball(act, Q, dps=30):
    """Balls (E phi(u), E phi(u)^2) for u ~ N(0, Q) (the ingredients of eq. 4 / 14)."""
    d = _dps(dps)
    act = _check(act, Q)
    with _arb.precision(_arb.bits_for(d)):
        return _moments(act, Q)


def variance_map_ball(act, Q, sigma_w, sigma_b=0, dps=30):
    """Ball of Q^(l+1) = sigma_w^2 E_{u~N(0,Q)} phi(u)^2 + sigma_b^2 (eq. 4, first row; eq. 14)."""
    d = _dps(dps)
    act = _check(act, Q, sigma_w, sigma_b)
    with _arb.precision(_arb.bits_for(d)):
        _, s2 = _moments(act, Q)
        sw, sb = _arb.arb(sigma_w), _arb.arb(sigma_b)
        return sw * sw * s2 + sb * sb


def _corr(C):
    _real("C", C)
    c = _arb.arb(C)
    if not (c > -1 and c < 1):
        raise ValueError(f"C must be in (-1, 1) for the ball face, got {C!r}")
    return c


def correlation_map_ball(act, Q, C, sigma_w=1.0, sigma_b=0, dps=30):
    """Ball of M_Q(C) = [sigma_w^2 E_{Sigma(Q,C)} phi(u1) phi(u2) + sigma_b^2] / Q (eq. 5), ``|C| < 1``."""
    d = _dps(dps)
    act = _check(act, Q, sigma_w, sigma_b)
    with _arb.precision(_arb.bits_for(d)):
        c = _corr(C)
        A, gt, h, _ = _params(act, Q)
        mean, _ = _moments(act, Q)
        n = len(gt)
        terms = [(h[a] * h[b] * (1 if a == b else 2), -gt[a], -gt[b]) for a in range(n) for b in range(a, n)]
        e = mean * mean + _excess_terms(terms, c)
        sw, sb = _arb.arb(sigma_w), _arb.arb(sigma_b)
        return (sw * sw * e + sb * sb) / _arb.arb(Q)


def chi_ball(act, Q, C, sigma_w=1.0, dps=30):
    """Ball of chi = sigma_w^2 E phi'(u1) phi'(u2) (eq. 6, staircase form eq. 15), ``|C| < 1``."""
    d = _dps(dps)
    act = _check(act, Q, sigma_w)
    f = _arb.flint()
    with _arb.precision(_arb.bits_for(d)):
        c = _corr(C)
        _, gt, h, _ = _params(act, Q)
        omc2 = (1 - c) * (1 + c)
        s = f.arb(0)
        for hi, x in zip(h, gt):
            for hj, y in zip(h, gt):
                s += hi * hj * (-(x * x - 2 * c * x * y + y * y) / (2 * omc2)).exp()
        sw = _arb.arb(sigma_w)
        return sw * sw * s / (2 * f.arb.pi() * _arb.arb(Q) * omc2.sqrt())


def chi_staircase_ball(offsets, heights=1, dps=30):
    """Ball of chi at C* = 0, sigma_b = 0 for normalized offsets g~ (eq. 16 of paper 1):
    (sum_i h_i p(g~_i))^2 / sum_j h_j Phi(-g~_j) [h_j Phi(g~_j) + 2 sum_{i<j} h_i Phi(g~_i)]."""
    d = _dps(dps)
    offs = list(offsets) if hasattr(offsets, "__iter__") and not isinstance(offsets, str) else [offsets]
    if len(offs) < 1:
        raise ValueError("offsets must hold N-1 >= 1 values (N >= 2 levels)")
    hs = list(heights) if hasattr(heights, "__iter__") and not isinstance(heights, str) else [heights] * len(offs)
    if len(hs) != len(offs):
        raise ValueError(f"heights must have N-1 = {len(offs)} entries like offsets, got {len(hs)}")
    for x in offs:
        _real("offsets", x)
    for x in hs:
        _real("heights", x)
    f = _arb.flint()
    with _arb.precision(_arb.bits_for(d)):
        g = [_arb.arb(x) for x in offs]
        h = [_arb.arb(x) for x in hs]
        if any(not (b > a) for a, b in zip(g, g[1:])):
            raise ValueError("offsets must be strictly increasing (g~_1 < ... < g~_{N-1})")
        if any(not (x > 0) for x in h):
            raise ValueError("heights must be in (0, inf)")
        num = sum((hi * _pdf(gi) for hi, gi in zip(h, g)), f.arb(0)) ** 2
        den = f.arb(0)
        S = f.arb(0)
        for hi, gi in zip(h, g):
            F = _upper_tail(-gi)
            den += hi * _upper_tail(gi) * (hi * F + 2 * S)
            S += hi * F
        return num / den
