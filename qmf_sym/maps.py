"""Mean-field maps of a staircase network (paper 1, eq. 2-7, 14-15), at float64 or at ``dps`` digits.

Notation: u ~ N(0, Q); (u1, u2) ~ N(0, Sigma(Q, C)) with Sigma(Q, C) = Q [[1, C], [C, 1]] (eq. 3);
phi = A + sum_i h_i H(x - g_i) (eq. 13); normalised offsets g~_i = g_i / sqrt(Q).

Building blocks (derivations/staircase_variance_map.md, derivations/staircase_chi.md), all from
:mod:`qmf_sym.gaussian` (its raw faces ``.f64``/``.mp``):

* E phi(u)      = A + sum_i h_i Phi(-g~_i)
* E phi(u)^2    = sum_k l_k^2 P(u in cell k)          (a sum of positive terms)
* Var phi(u)    = sum_ij h_i h_j Phi(-max(g~_i, g~_j)) Phi(min(g~_i, g~_j))   -- the printed eq. 14
* E phi(u1) phi(u2) = (E phi)^2 + sum_ij h_i h_j [Phi_2(-g~_i, -g~_j; C) - Phi(-g~_i) Phi(-g~_j)]
* E phi'(u1) phi'(u2) = (1/Q) sum_ij h_i h_j n_2(g~_i, g~_j; C)                -- eq. 15

Every map is a :class:`qmf_sym._faces.ClosedForm` (``dps=None`` float64 vectorised, ``dps=k``
mpmath); their float64/mpmath kernels (sums over the jumps) and quadrature oracles live in the
private :mod:`qmf_sym._maps_kernels`.  Correlations near +1 may be passed as ``deficit = 1 - C``, near -1 as ``one_plus = 1 + C``.

**Slip in eq. 14.**  Eq. 4 defines Q^(l+1) = sigma_w^2 E phi(u)^2 + sigma_b^2, while the double sum
printed in eq. 14 equals Var phi(u) = E phi^2 - (E phi)^2.  The two agree only for staircases with
E phi(u) = 0 (e.g. the odd uniform family of sec. 4.2/5 used in all the paper's numerics).  Following
the definitions, :func:`variance_map` uses E phi^2; :func:`eq14_hidden_variance` gives the printed
sum for comparison.

**Slip in eq. 4.**  The printed second row divides by Q^(l-1); by eq. 3 the correlation of layer l
is the covariance divided by Q^(l) (the *new* variance).  Both agree at the fixed point Q = Q*, which
is the setting of eq. 5-6.  :func:`correlation_map` is eq. 5 (division by its Q argument, = Q*),
:func:`layer_map` is the exact map of eq. 2-3 for any Q.

**Scale covariance.**  phi(x) and phi_s(x) = phi(x/s) (offsets times s) give
fixed_point(phi, sigma_w, sigma_b) = (s^2 q*, C*, chi*, xi*) with (q*, C*, chi*, xi*) the fixed point
of (phi_{1/s}, sigma_w/s, sigma_b/s).  :func:`fixed_point` solves the problem scaled by the power of
two s nearest max(sigma_w, sigma_b) (an exact rescaling), so sigma_w from 1e-300 to 1e300 gives the
right answer; a float64 Q* outside the normal float64 range raises ValueError
(pass ``dps`` to get it as an mpmath number).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validate as V
from . import gaussian as G
from ._faces import ClosedForm, register_equation
from ._maps_kernels import (
    _cdf64,
    _chi_oracle,
    _comp_sum_f64,
    _comp_sum_mp,
    _corr64,
    _corr_mp,
    _cov_sum_f64,
    _cov_sum_mp,
    _cross_quad_mp,
    _dens_sum_f64,
    _dens_sum_mp,
    _mean_f64,
    _mean_mp,
    _mp_setup,
    _neg_log_by_quadrature,
    _quad_phi_mp,
    _second_moment_f64,
    _second_moment_mp,
    _var_phi_oracle,
)
from ._numbers import to_mpf
from .activations import Staircase, as_activation, as_staircase


# ============================================================================ argument checks
def _broadcast(*arrays):
    arrs = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return arrs[0].shape, [a.ravel() for a in arrs]


def _check_common(act, Q, sigma_w=1.0, sigma_b=0):
    act = as_activation(act)
    act.check_Q(Q)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    return act


def _check_corr(C, deficit, one_plus):
    V.correlation(C, deficit, one_plus=one_plus)


# ============================================================================ post-activation moments
def _moments_f64(act, Q):
    shape, (q,) = _broadcast(Q)
    if not isinstance(act, Staircase):  # a continuous activation: its closed form / quadrature kernels
        m1, m2 = act._moments_f64(q)
        return np.asarray(m1, float).reshape(shape)[()], np.asarray(m2, float).reshape(shape)[()]
    sq = np.sqrt(q)
    return _mean_f64(act, sq).reshape(shape)[()], _second_moment_f64(act, sq).reshape(shape)[()]


def _moments_mp(act, Q):
    return _m1_mp(act, Q), _m2_mp(act, Q)


# one dispatch for every kind of activation (staircase sums over jumps, or the kind's own kernels)
def _m1_mp(act, Q):
    return _mean_mp(act, Q) if isinstance(act, Staircase) else act._moments_mp(Q)[0]


def _m2_mp(act, Q):
    return _second_moment_mp(act, Q) if isinstance(act, Staircase) else act._moments_mp(Q)[1]


def _mean_f64_any(act, q):
    return _mean_f64(act, np.sqrt(q)) if isinstance(act, Staircase) else np.asarray(act._moments_f64(q)[0], float)


def _m2_f64_any(act, q):
    return _second_moment_f64(act, np.sqrt(q)) if isinstance(act, Staircase) else np.asarray(act._moments_f64(q)[1], float)


def _cov_mp_any(act, Q, r, d, e=None):
    """E phi(u1) phi(u2) at the current precision, any activation."""
    if e is None:
        e = 1 + r
    if isinstance(act, Staircase):
        return _mean_mp(act, Q) ** 2 + _cov_sum_mp(act, Q, r, d, e)
    return act._cov_mp(Q, r, d, e)


def _dd_mp_any(act, Q, r, d, e=None):
    """E phi'(u1) phi'(u2) at the current precision, any activation (staircase: eq. 15 sum / Q)."""
    if e is None:
        e = 1 + r
    if isinstance(act, Staircase):
        return _dens_sum_mp(act, Q, r, d, e) / to_mpf(Q)
    return act._dd_mp(Q, r, d, e)


def _oracle_moments(act, Q):
    if isinstance(act, Staircase):
        return _quad_phi_mp(act, Q, lambda l: l), _quad_phi_mp(act, Q, lambda l: l * l)
    return act._oracle_moments(Q)


def _oracle_cross(act, Q, C=None, deficit=None, one_plus=None):
    if isinstance(act, Staircase):
        return _cross_quad_mp(act, Q, C, deficit, one_plus)
    return act._oracle_cov(Q, *_corr_mp(C, deficit, one_plus))


def _act_cases():
    return [Staircase.uniform(4), Staircase.sign(), Staircase([-0.5, 0.25, 1.0], [0.5, 1.5, 0.25], base=-0.75),
            Staircase.uniform(9)]


def _cont_cases():
    """Continuous kinds the maps' harness cases also visit (their kernels have their own forms)."""
    from .activations import Erf, HardTanh, LeakyReLU

    return [Erf(), LeakyReLU(0.1), HardTanh(-0.5, 2.0)]


_QS = [1e-6, 0.05, 1.0, 30.0]

post_activation_moments = ClosedForm(
    "qmf_sym.maps.post_activation_moments", "paper 1, eq. 4 (E phi, E phi^2; eq. 14 cells)",
    f64=_moments_f64, mp=_moments_mp,
    check=lambda act, Q: ((_check_common(act, Q), Q), {}),
    oracle=_oracle_moments,
    # E phi = A + sum_i h_i Phi(-g~_i) cancels to exactly 0 for centred staircases (uniform(4), (9),
    # sign): its faces are absolute-accurate at the scale of the terms, |A| + sum_i h_i <= 2.5 in the
    # cases (float64: a few eps times that, atol 1e-15; dps: cancel_scale 2.5).  E phi^2 is a sum
    # of positive cell terms: relative accuracy (cancel_scale 0).
    cases=lambda: [((a, q), {}) for a in _act_cases() + _cont_cases() for q in _QS], rtol=1e-14, atol=1e-15,
    signature=lambda act, Q, dps=None: None, cancel_scale=(2.5, 0.0),
    doc="""(E phi(u), E phi(u)^2) for u ~ N(0, Q)  (the ingredients of eq. 4 / 14).

    E phi is accurate to ~eps (float64) or 10^-dps (``dps``) times ``|A| + sum_i h_i`` (absolute: it is
    0 for a centred staircase); E phi^2 is relative-accurate.""")


def _eq14_f64(act, Q):
    shape, (q,) = _broadcast(Q)
    gt = act.offsets[None, :] / np.sqrt(q)[:, None]
    mx = np.maximum(gt[:, :, None], gt[:, None, :])
    mn = np.minimum(gt[:, :, None], gt[:, None, :])
    hh = np.outer(act.heights, act.heights)
    return (_cdf64(-mx) * _cdf64(mn) * hh).sum((1, 2)).reshape(shape)[()]


def _eq14_mp(act, Q):
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    return mpmath.fsum(hi * hj * G.cdf.mp(-max(x, y)) * G.cdf.mp(min(x, y)) for hi, x in zip(h, gt) for hj, y in zip(h, gt))


eq14_hidden_variance = ClosedForm(
    "qmf_sym.maps.eq14_hidden_variance", "paper 1, eq. 14 (as printed: Var phi)",
    f64=_eq14_f64, mp=_eq14_mp, check=lambda act, Q: ((as_staircase(_check_common(act, Q)), Q), {}),
    oracle=_var_phi_oracle,
    cases=lambda: [((a, q), {}) for a in _act_cases() for q in _QS], rtol=1e-13, atol=1e-15,
    signature=lambda act, Q, dps=None: None,
    doc="""The double sum printed in eq. 14: sum_ij h_i h_j Phi(-max(g~_i,g~_j)) Phi(min(g~_i,g~_j)).

    It equals Var phi(u) (not E phi(u)^2; see the module docstring); kept for comparison.""")


# ============================================================================ variance map
def _variance_f64(act, Q, sigma_w, sigma_b=0):
    _, s2 = _moments_f64(act, Q)
    return np.asarray(sigma_w, float) ** 2 * s2 + np.asarray(sigma_b, float) ** 2


def _variance_mp(act, Q, sigma_w, sigma_b=0):
    return to_mpf(sigma_w) ** 2 * _m2_mp(act, Q) + to_mpf(sigma_b) ** 2


variance_map = ClosedForm(
    "qmf_sym.maps.variance_map", "paper 1, eq. 4 (first row) / eq. 14",
    f64=_variance_f64, mp=_variance_mp,
    check=lambda act, Q, sigma_w, sigma_b=0: ((_check_common(act, Q, sigma_w, sigma_b), Q, sigma_w, sigma_b), {}),
    oracle=lambda act, Q, sigma_w, sigma_b=0: to_mpf(sigma_w) ** 2 * _oracle_moments(act, Q)[1] + to_mpf(sigma_b) ** 2,
    cases=lambda: [((a, q, sw, sb), {}) for a in _act_cases() + _cont_cases() for q in _QS
                   for sw, sb in ((1.3, 0.2), (1e-3, 0.0))],
    rtol=1e-14, atol=1e-300, signature=lambda act, Q, sigma_w, sigma_b=0, dps=None: None,
    doc="""Q^(l+1) = sigma_w^2 E_{u~N(0,Q)} phi(u)^2 + sigma_b^2  (eq. 4, first row; eq. 14).

    Uses E phi^2 as eq. 4 defines it; eq. 14 as printed is the variance of phi (equal for
    centred staircases), see the module docstring.""")


# ============================================================================ covariance and correlation map
def _covariance_f64(act, Q, C=None, deficit=None, one_plus=None):
    r, d, e = _corr64(C, deficit, one_plus)
    shape, (q, rr, dd, ee) = _broadcast(Q, r, d, e)
    if not isinstance(act, Staircase):
        return np.asarray(act._cov_f64(q, rr, dd, ee), float).reshape(shape)[()]
    sq = np.sqrt(q)
    return (_mean_f64(act, sq) ** 2 + _cov_sum_f64(act, sq, rr, dd, ee)).reshape(shape)[()]


def _covariance_mp(act, Q, C=None, deficit=None, one_plus=None):
    r, d, e = _corr_mp(C, deficit, one_plus)
    return _cov_mp_any(act, Q, r, d, e)


_CS = [dict(C=0.3), dict(C=-0.6), dict(C=0.95), dict(deficit=1e-4), dict(one_plus=1e-4)]


def _check_cov(act, Q, C=None, deficit=None, one_plus=None):
    _check_common(act, Q)
    _check_corr(C, deficit, one_plus)
    return (as_activation(act), Q), {"C": C, "deficit": deficit, "one_plus": one_plus}


post_activation_covariance = ClosedForm(
    "qmf_sym.maps.post_activation_covariance", "paper 1, eq. 4 (second row, numerator) / eq. 5",
    f64=_covariance_f64, mp=_covariance_mp, check=_check_cov, oracle=_oracle_cross,
    cases=lambda: [((a, q), c) for a in _act_cases()[:3] + _cont_cases() for q in (0.05, 1.0) for c in _CS],
    rtol=1e-13, atol=1e-15,
    signature=lambda act, Q, C=None, dps=None, deficit=None, one_plus=None: None,
    doc="""E phi(u1) phi(u2) for (u1, u2) ~ N(0, Q [[1, C], [C, 1]]); C may be given as
    ``deficit = 1 - C`` or ``one_plus = 1 + C``.""")


def _cmap_f64(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    e = _covariance_f64(act, Q, C, deficit, one_plus)
    return (np.asarray(sigma_w, float) ** 2 * e + np.asarray(sigma_b, float) ** 2) / np.asarray(Q, float)


def _cmap_mp(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    e = _covariance_mp(act, Q, C, deficit, one_plus)
    return (to_mpf(sigma_w) ** 2 * e + to_mpf(sigma_b) ** 2) / to_mpf(Q)


def _check_cmap(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    _check_common(act, Q, sigma_w, sigma_b)
    _check_corr(C, deficit, one_plus)
    return (act, Q, C, sigma_w, sigma_b), {"deficit": deficit, "one_plus": one_plus}


correlation_map = ClosedForm(
    "qmf_sym.maps.correlation_map", "paper 1, eq. 5",
    f64=_cmap_f64, mp=_cmap_mp, check=_check_cmap,
    oracle=lambda act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None: (
        to_mpf(sigma_w) ** 2 * _oracle_cross(act, Q, C, deficit, one_plus) + to_mpf(sigma_b) ** 2) / to_mpf(Q),
    cases=lambda: [((a, q), dict(c, sigma_w=1.3, sigma_b=0.2)) for a in _act_cases()[:3] + _cont_cases()
                   for q in (0.05, 1.0) for c in _CS],
    rtol=1e-13, atol=1e-15, signature=lambda act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None, one_plus=None: None,
    doc="""M_Q(C) = [sigma_w^2 E_{Sigma(Q,C)} phi(u1) phi(u2) + sigma_b^2] / Q   (eq. 5).

    With Q = Q* this is the next layer's correlation; for a general Q use :func:`layer_map`.
    C may be given as ``deficit = 1 - C`` (accurate for C -> 1) or ``one_plus = 1 + C`` (C -> -1).""")


# ============================================================================ 1 - M near C = 1
def _cmd_f64(act, Q, deficit, sigma_w=1.0, sigma_b=0, include_residual=True):
    shape, (q, dd) = _broadcast(Q, deficit)
    sq = np.sqrt(q)
    sw2 = np.asarray(sigma_w, float) ** 2
    if isinstance(act, Staircase):
        diff = _comp_sum_f64(act, sq, dd)
    else:  # D(delta) = E phi^2 - E phi phi(1 - delta) ~ delta Q E phi'^2: absolute accuracy ~eps E phi^2
        diff = _m2_f64_any(act, q) - np.asarray(act._cov_f64(q, 1.0 - dd, dd, 2.0 - dd), float)
    if not include_residual:
        return (sw2 * diff / q).reshape(shape)[()]
    qn = sw2 * _m2_f64_any(act, q) + np.asarray(sigma_b, float) ** 2
    return ((q - qn + sw2 * diff) / q).reshape(shape)[()]


def _cmd_mp(act, Q, deficit, sigma_w=1.0, sigma_b=0, include_residual=True):
    sw2, Qm, d = to_mpf(sigma_w) ** 2, to_mpf(Q), to_mpf(deficit)
    if not isinstance(act, Staircase):
        import mpmath

        with mpmath.extradps(15):  # the subtraction E phi^2 - E phi phi loses ~log10(1/delta) digits
            diff = +(_m2_mp(act, Q) - act._cov_mp(Q, 1 - d, d, 2 - d))
    elif d <= 1:
        diff = _comp_sum_mp(act, Q, d)
    else:  # C < 0: E phi^2 - E phi phi = Var-part minus the (reflected) excess sum; no cancellation issue
        A, gt, h, _ = _mp_setup(act, Q)
        var = _fsum([hi * hj * G.cdf.mp(-max(x, y)) * G.cdf.mp(min(x, y))
                           for hi, x in zip(h, gt) for hj, y in zip(h, gt)])
        diff = var - _cov_sum_mp(act, Q, 1 - d, d)
    if not include_residual:
        return sw2 * diff / Qm
    qn = sw2 * _m2_mp(act, Q) + to_mpf(sigma_b) ** 2
    return (Qm - qn + sw2 * diff) / Qm


def _fsum(terms):
    import mpmath

    return mpmath.fsum(terms)


def _check_cmd(act, Q, deficit, sigma_w=1.0, sigma_b=0, include_residual=True):
    _check_common(act, Q, sigma_w, sigma_b)
    V.in_closed("deficit", deficit, 0, 2)
    V.choice("include_residual", include_residual, (True, False))
    return (act, Q, deficit, sigma_w, sigma_b, include_residual), {}


correlation_map_deficit = ClosedForm(
    "qmf_sym.maps.correlation_map_deficit", "paper 1, eq. 5 (1 - M near C = 1)",
    f64=_cmd_f64, mp=_cmd_mp, check=_check_cmd,
    oracle=lambda act, Q, deficit, sigma_w=1.0, sigma_b=0, include_residual=True: (
        (1 - to_mpf(sigma_b) ** 2 / to_mpf(Q) if include_residual
         else to_mpf(sigma_w) ** 2 * _oracle_moments(act, Q)[1] / to_mpf(Q))
        - to_mpf(sigma_w) ** 2 * _oracle_cross(act, Q, deficit=deficit) / to_mpf(Q)),
    cases=lambda: [((a, q, dd), dict(sigma_w=1.3, sigma_b=0.2, include_residual=False)) for a in _act_cases()[:3]
                   for q in (0.05, 1.0) for dd in (0.5, 1e-3)],
    rtol=1e-12, atol=1e-15, oracle_dps=40,
    signature=lambda act, Q, deficit, sigma_w=1.0, sigma_b=0, dps=None, include_residual=True: None,
    doc="""1 - M_Q(C) given ``deficit = 1 - C`` (eq. 5), written near C = 1 without subtracting two
    O(1) covariances.

        1 - M_Q(1 - delta) = (Q - q(Q)) / Q  +  sigma_w^2 D(delta) / Q,
        q(Q) = sigma_w^2 E phi^2 + sigma_b^2 (eq. 4),  D(delta) = E phi^2 - E phi(u1) phi(u2) >= 0.

    The first term is the fixed-point residual: 0 at the exact Q*, but at a float64 Q* it is of order
    1e-16 and, computed in float64, carries an absolute error ~1e-16, while D(delta) ~ sqrt(delta).
    Hence (what is certified):

    * ``include_residual=True`` (default): the float64 face has *absolute* accuracy ~1e-16 (relative
      accuracy ~1e-16 / (1 - M), i.e. lost as delta^(-1/2) at the fixed point: 1e-8 relative at
      delta = 1e-16, none at delta = 1e-30); the ``dps`` face is accurate to ``dps`` digits relative
      for the Q it is given (it computes the residual of that Q exactly).
    * ``include_residual=False``: returns sigma_w^2 D(delta) / Q only, i.e. 1 - M of the *exact*
      fixed point when Q is Q* (to its rounding).  The ``dps`` face is then relative-accurate to
      ``dps`` digits at every delta (tested down to 1e-30); the float64 face is still only
      *absolute*-accurate (~3e-16: scipy's Owen's T is absolute-accurate), so in float64 use it
      for delta >~ 1e-20 or pass ``dps``.""")


# ============================================================================ chi (eq. 6 / 15)
def _chi_f64(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    r, d, e = _corr64(C, deficit, one_plus)
    shape, (q, rr, dd, ee, sw) = _broadcast(Q, r, d, e, sigma_w)
    if not isinstance(act, Staircase):
        return (sw ** 2 * np.asarray(act._dd_f64(q, rr, dd, ee), float)).reshape(shape)[()]
    return (sw ** 2 * _dens_sum_f64(act, np.sqrt(q), rr, dd, ee) / q).reshape(shape)[()]


def _chi_mp(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    r, d, e = _corr_mp(C, deficit, one_plus)
    return to_mpf(sigma_w) ** 2 * _dd_mp_any(act, Q, r, d, e)


def _check_chi(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    act = _check_common(act, Q, sigma_w, sigma_b)
    _check_corr(C, deficit, one_plus)
    _, d, e = _corr64(C, deficit, one_plus)
    if act.is_smooth:  # phi' bounded: chi is finite on the closed interval (C = +-1 included)
        return (act, Q, C, sigma_w, sigma_b), {"deficit": deficit, "one_plus": one_plus}
    if np.any(d <= 0) or np.any(e <= 0):
        raise ValueError("C must be in (-1, 1) for chi (deficit, one_plus in (0, 2)); chi diverges at |C| = 1")
    return (act, Q, C, sigma_w, sigma_b), {"deficit": deficit, "one_plus": one_plus}


chi = ClosedForm(
    "qmf_sym.maps.chi", "paper 1, eq. 6 / eq. 15",
    f64=_chi_f64, mp=_chi_mp, check=_check_chi,
    oracle=lambda act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None: (
        _chi_oracle(act, Q, C, sigma_w, sigma_b, deficit, one_plus) if isinstance(act, Staircase)
        else to_mpf(sigma_w) ** 2 * act._oracle_dd(Q, *_corr_mp(C, deficit, one_plus))),
    cases=lambda: [((a, q), dict(c, sigma_w=1.3)) for a in _act_cases() + _cont_cases() for q in (1e-4, 0.05, 1.0)
                   for c in _CS + [dict(deficit=1e-12), dict(one_plus=1e-12)]] + [
        ((a, 0.7), dict(deficit=0.0, sigma_w=1.3)) for a in _cont_cases()],
    rtol=1e-12, atol=1e-300,
    signature=lambda act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None, one_plus=None: None,
    doc="""chi = dM_Q/dC = sigma_w^2 E_{Sigma(Q,C)} phi'(u1) phi'(u2)   (eq. 6; staircase form eq. 15)

        = sigma_w^2 / (2 pi Q sqrt(1 - C^2)) sum_ij h_i h_j exp(-(g_i^2 - 2 C g_i g_j + g_j^2) / (2 Q (1 - C^2))).

    ``sigma_b`` does not enter (kept for a uniform signature).  Requires ``|C| < 1`` (chi diverges at
    ``|C| = 1``); near C = 1 give ``deficit = 1 - C``, near C = -1 ``one_plus = 1 + C`` (passing
    C = -1 + e as a float rounds 1 + C to the spacing of floats near -1, ~1e-16 absolute).""")


# ============================================================================ depth scale (eq. 7)
def _depth_f64(chi_value):
    """-1/log(x) for x > 0 (inf at x = 1; negative for x > 1), float64."""
    c = np.asarray(chi_value, dtype=float)
    with np.errstate(divide="ignore"):  # chi underflowed to 0: log = -inf, xi = 0, its limit
        lc = np.log(np.where(c == 1.0, 0.5, c))
    return np.where(c == 1.0, np.inf, -1.0 / lc)[()]


def _depth_mp(chi_value):
    import mpmath

    c = mpmath.mpf(chi_value)
    return mpmath.inf if c == 1 else -1 / mpmath.log(c)


def _check_depth(chi_value):
    V.in_closed("chi_value", chi_value, 0, 1)
    V.positive("chi_value", chi_value)
    return (chi_value,), {}


depth_scale = ClosedForm(
    "qmf_sym.maps.depth_scale", "paper 1, eq. 7",
    f64=_depth_f64, mp=_depth_mp, check=_check_depth,
    oracle=lambda c: _neg_log_by_quadrature(c),
    cases=lambda: [((c,), {}) for c in (1e-300, 1e-5, 0.1, 2 / math.pi, 0.9, 1 - 1e-9, 1.0)],
    rtol=1e-15, signature=lambda chi_value, dps=None: None,
    doc="""xi = -1 / log(chi)   (eq. 7); chi in (0, 1]; chi = 1 gives inf.

    The one home of the depth scale: other modules call ``depth_scale`` (or its raw faces
    ``depth_scale.f64`` / ``.mp``, which accept any x > 0, e.g. the backward moment m > 1).""")


# ============================================================================ layer map, iteration
def layer_map(act, Q, C, sigma_w, sigma_b=0):
    """One layer of the exact two-dimensional map (eq. 2-4 with the normalisation of eq. 3), float64.

    Q_next = sigma_w^2 E phi(u)^2 + sigma_b^2,  C_next = [sigma_w^2 E phi(u1)phi(u2) + sigma_b^2] / Q_next.
    Vectorised over Q and C (arrays of equal shape or broadcastable).
    """
    act = _check_common(act, Q, sigma_w, sigma_b)
    V.in_closed("C", C, -1, 1)
    qn = variance_map.f64(act, Q, sigma_w, sigma_b)
    if not np.all(np.asarray(qn) > 0):  # C_next = .../Q_next would be 0/0
        raise ValueError(f"sigma_w = {sigma_w!r}, sigma_b = {sigma_b!r} too small: the next layer's variance "
                         f"Q = sigma_w^2 E phi(u)^2 + sigma_b^2 (eq. 2) underflows to 0, where the correlation "
                         f"(eq. 3) is undefined")
    e = _covariance_f64(act, Q, C)
    return qn, (sigma_w ** 2 * e + sigma_b ** 2) / qn


def iterate(act, Q1, C1, sigma_w, sigma_b=0, n_layers=1):
    """Iterate :func:`layer_map` from the first hidden layer's (Q1, C1).

    Returns arrays Q, C of shape ``(n_layers, *shape(C1))``; row k holds layer l = k + 1 (row 0 = (Q1, C1)).
    """
    n_layers = V.integer("n_layers", n_layers, 1, 10 ** 6, "one layer map per layer")
    Q1, C1 = V.positive("Q1", V.array("Q1", Q1)), V.in_closed("C1", V.array("C1", C1), -1, 1)
    _check_common(act, Q1, sigma_w, sigma_b)
    V.size_product("n_layers", [("n_layers", n_layers), ("C1", max(C1.size, Q1.size))])
    C1 = np.asarray(C1, dtype=float)
    Q = np.broadcast_to(np.asarray(Q1, dtype=float), C1.shape).copy()
    C = C1.copy()
    Qs, Cs = [Q], [C]
    for _ in range(n_layers - 1):
        Q, C = layer_map(act, Q, np.clip(C, -1, 1), sigma_w, sigma_b)
        Qs.append(np.asarray(Q))
        Cs.append(np.asarray(C))
    return np.array(Qs), np.array(Cs)


register_equation("qmf_sym.maps.layer_map", "paper 1, eq. 2-4", "the exact 2-D layer map, any Q")
register_equation("qmf_sym.maps.iterate", "paper 1, eq. 2-4", "iterated layer map")
register_equation("qmf_sym.maps.fixed_point", "paper 1, eq. 4-7, Lemma 1", "stable fixed point (Q*, C*, chi, xi)",
                  faces=("f64", "mp"))


# ============================================================================ fixed point
@dataclass(frozen=True)
class FixedPoint:
    """The stable fixed point (Q*, C*) of eq. 4, with chi (eq. 6) and xi (eq. 7) there, and
    ``chi_1`` = sigma_w^2 E phi'(u)^2 at Q* (the slope of M at C = 1; ``inf`` for staircases, whose
    phi' is a sum of Dirac deltas).

    ``deficit`` = 1 - C*, the root that :func:`fixed_point` solves for near C = 1 (eq. 5 in 1 - C,
    d = 1 - M(1 - d)), never formed as 1 - C in float64: where sigma_b >> sigma_w a staircase has
    1 - C* ~ (sigma_w / sigma_b)^4 (derivations/staircase_chi.md, section 4), e.g. ~1e-17 at
    sigma_w = 1, sigma_b = 1e4, where the float64 ``C`` rounds to 1.0 but ``deficit`` keeps its
    relative accuracy (and chi of eq. 6, computed from it, stays finite).  At ``dps`` an mpf.  It is
    0 where C* = 1 (exactly: the ordered phase chi_1 <= 1 of a continuous phi and the edge of chaos;
    or below the float64 scan's floor, 1 - C* < 1e-300 for staircases, < 1e-14 otherwise) and 1 where
    C* = 0 (an odd phi at sigma_b = 0).  Every path of :func:`fixed_point` sets it; a FixedPoint built by
    hand without it (the positional fields of before) has ``deficit`` None."""

    Q: object
    C: object
    chi: object
    xi: object
    chi_1: object = math.inf
    deficit: object = None


def _fixed_Q_f64(act, sigma_w, sigma_b):
    """The largest root of Q = sigma_w^2 E phi^2 + sigma_b^2 crossed from above (the stable one).

    Bracket: every root lies below q_max = sigma_w^2 sup phi^2 + sigma_b^2 (bounded phi), and
    g(Q) = V(Q) - Q > 0 just above 0 unless the signal dies; the log grid of 241 points on
    [1e-12 q_max, q_max] is scanned for the last change of sign from + to -, and the root is
    polished by Brent on the two grid points (the same function at both ends: a valid bracket)."""
    qmax = sigma_w ** 2 * float(act.bound) ** 2 + sigma_b ** 2
    return _last_downcrossing_Q(act, sigma_w, sigma_b, qmax * np.logspace(-12, 0, 241))


def _last_downcrossing_Q(act, sigma_w, sigma_b, grid):
    """:func:`last_downcrossing` of this module's float64 variance map (eq. 4)."""
    return last_downcrossing(lambda q: _variance_f64(act, q, sigma_w, sigma_b), grid)


def last_downcrossing(vmap, grid):
    """The stable root of g(Q) = vmap(Q) - Q: the last change of sign from + to - on ``grid``
    (increasing; ``vmap`` vectorised float64), polished by Brent on its two grid points (the same
    function at both ends: a valid bracket).  ValueError when g never crosses (the signal dies).
    ``grid``: at least 2 finite, increasing (non-decreasing) values >= 0."""
    if not callable(vmap):
        raise ValueError(f"vmap must be a callable Q -> Q_next (vectorised float64), got {vmap!r}")
    grid = V.nonnegative("grid", V.array("grid", grid, ndim=1, min_size=2))
    if not np.all(np.diff(grid) >= 0):
        raise ValueError("grid must be increasing")
    gvals = np.asarray(vmap(grid), dtype=float) - grid
    if gvals.shape != grid.shape or np.any(np.isnan(gvals)):
        raise ValueError(f"vmap must map the grid to as many real values (no NaN), got shape {gvals.shape}")
    idx = np.nonzero((gvals[:-1] > 0) & (gvals[1:] <= 0))[0]
    if gvals[-1] == 0:
        return grid[-1]
    if len(idx) == 0:
        raise ValueError("no non-zero fixed point Q*: the signal dies out for these sigma_w, sigma_b; "
                         "increase sigma_w or sigma_b")
    k = idx[-1]
    f = lambda q: float(vmap(q)) - q
    return optimize.brentq(f, grid[k], grid[k + 1], xtol=1e-300, rtol=1e-15, maxiter=500)


_DELTAS = np.concatenate([np.linspace(1, 0.1, 19), np.logspace(-1.05, -14, 60)])
#: staircases go on down to 1 - C = 1e-300: where sigma_b >> sigma_w their C* has 1 - C* ~ (sigma_w/sigma_b)^4
#: (1 - M(1 - d) ~ eps sqrt(d), eps = sigma_w^2 E phi^2 / Q*), e.g. ~1e-16 at sigma_w = 1, sigma_b = 1e4, where
#: chi(C*) = 1/2 exactly in the limit: stopping at 1e-14 reported C* = 1 and chi = inf
_DELTAS_STAIRCASE = np.concatenate([_DELTAS, np.logspace(-14.5, -300, 60)])


def _scan(f, grid, block=4):
    """(x, f(x)) along ``grid`` in order, f evaluated on blocks of ``block`` points at a time (one vectorised
    call each: the scan of :func:`_fixed_C_f64` usually stops in its first blocks)."""
    for i in range(0, len(grid), block):
        xs = grid[i:i + block]
        yield from zip(xs, np.broadcast_to(np.asarray(f(xs), dtype=float), xs.shape))


def _fixed_C_f64(act, Q, sigma_w, sigma_b):
    """C* = 1 - :func:`_fixed_deficit_f64` (float64; 1.0 where 1 - C* is below its resolution)."""
    return 1.0 - _fixed_deficit_f64(act, Q, sigma_w, sigma_b)


def _fixed_deficit_f64(act, Q, sigma_w, sigma_b):
    """1 - C* for the fixed point of M(C) reached from C = 0 (the stable one of Lemma 1), float64.

    F(C) = M(C) - C is convex on [0, 1] for every activation (E phi(u1) phi(u2) = sum_k a_k^2 C^k
    with a_k the Hermite coefficients of phi: a power series with non-negative coefficients) and
    F(1) = 0 at Q*, so F has at most one root in [0, 1).  M(0) = [sigma_w^2 (E phi)^2 + sigma_b^2]/Q
    >= 0 (computed as that non-negative sum, never from a cancelling covariance):

    * M(0) = 0 (an odd phi at sigma_b = 0; exactly, by E phi = 0): C* = 0;
    * otherwise F is scanned on a grid of deficits delta = 1 - C (log-spaced towards C = 1, where
      F(1 - delta) = delta - [1 - M(1 - delta)] is evaluated without cancellation), and Brent is run
      on [delta_k, delta_(k-1)] around the first grid point with F <= 0.  Both end values come from the
      scan itself (F = M(0) > 0 at delta = 1), so the bracket is valid whatever the rounding of F near
      its root.  (Before, the first end was M(0) from one formula and Brent re-evaluated it from
      another: two roundings of a value ~1e-15 with opposite signs made scipy raise "f(a) and f(b)
      must have different signs" for valid input.)
    * no grid point with F <= 0 down to delta = 1e-14 (staircases: 1e-300, :data:`_DELTAS_STAIRCASE`):
      C* = 1, returned as 0.
    """
    if (sigma_b == 0 and act.is_odd()):
        return 1.0
    sw2 = sigma_w * sigma_w
    m0 = (sw2 * float(_mean_f64_any(act, np.atleast_1d(float(Q)))[0]) ** 2 + sigma_b * sigma_b) / Q
    if m0 == 0.0:
        return 1.0
    if isinstance(act, Staircase):
        # 1 - M(1 - d) without the rounding residual (Q - Q')/Q of the float64 Q* (~1e-16): it is 0 at the exact
        # Q*, and kept it shifted the root 1 - C* by ~1e-16 absolute (1.4e-8 relative at 1 - C* = 1.5e-8, a floor
        # of 1e-16 where sigma_w / sigma_b = 1e-8 puts 1 - C* at 1e-32); without it the shift is ~1e-16 relative
        Gd = lambda d: d - _cmd_f64(act, Q, d, sigma_w, sigma_b, include_residual=False)
        grid = _DELTAS_STAIRCASE
    else:
        Gd = lambda d: _cmap_f64(act, Q, None, sigma_w, sigma_b, deficit=d) - 1.0 + d
        grid = _DELTAS
    prev_d, prev_g = 1.0, m0
    for d, g in _scan(Gd, grid[1:]):
        if g == 0.0:
            return float(d)
        if g < 0 < prev_g:
            hi, ghi = prev_d, prev_g
            f = lambda x: ghi if x == hi else float(Gd(x))
            return optimize.brentq(f, d, hi, xtol=1e-300, rtol=1e-15)
        prev_d, prev_g = d, g
    return 0.0  # no fixed point below 1: correlations collapse to C* = 1


def _corr_at(dlt):
    """The correlation argument of the maps at a fixed point with 1 - C* = ``dlt``: the deficit itself (no
    rounding of 1 - (1 - dlt)) unless C* is 0 or 1 exactly."""
    return dict(deficit=dlt) if 0 < dlt < 1 else dict(C=1.0 - dlt)


def _deficit_root_mp(act, Qm, d64, sw, sb):
    """1 - C* at the working precision from the float64 root ``d64``: d = 1 - M(1 - d) (eq. 5 in 1 - C), solved in
    units of d64 (findroot's tolerance is absolute, and 1 - C* can be 1e-32: chi ~ 1/sqrt(1 - C*) kept only 13
    digits) and without Q*'s rounding residual, as the float64 scan (:func:`_fixed_deficit_f64`)."""
    import mpmath

    d0 = mpmath.mpf(d64)
    fd = lambda t: t - _cmd_mp(act, Qm, d0 * t, sw, sb, include_residual=False) / d0  # noqa: E731
    return d0 * mpmath.findroot(fd, (1 - mpmath.mpf(1e-6), 1 + mpmath.mpf(1e-6)), solver="anderson")


def _check_fixed_point(act, sigma_w, sigma_b=0):
    act = as_activation(act)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    return act, float(sigma_w), float(sigma_b)


def _power_of_two_scale(sigma_w, sigma_b):
    """The power of two nearest max(sigma_w, sigma_b) (an exact float64 rescaling)."""
    return math.ldexp(1.0, math.frexp(max(sigma_w, sigma_b))[1] - 1)


def fixed_point(act, sigma_w, sigma_b=0, dps=None):
    """The stable fixed point of eq. 4: Q* (variance map) and C* (correlation map, Lemma 1),
    with chi = chi(Q*, C*) (eq. 6 / 15), xi = -1/log chi (eq. 7), chi_1 (the slope at C = 1) and
    ``deficit`` = 1 - C* from the root itself (:class:`FixedPoint`: it survives where float64 rounds C* to 1).

    Q* is the largest root of Q = sigma_w^2 E phi^2 + sigma_b^2 crossed from above (the stable one);
    C* is the fixed point of eq. 5 reached from C = 0 (it is 0 for odd activations at sigma_b = 0).
    ``dps`` refines both roots at that precision from the float64 bracket.  Any
    :class:`qmf_sym.activations.Activation`:

    * staircases: solved in the exactly rescaled problem (module docstring, "Scale covariance"),
      so any finite sigma_w > 0 works; the float64 face raises ValueError when Q* itself is not a
      normal float64 (sigma_w beyond ~1e154 or below ~1e-154 times the level scale): pass ``dps``.
      ``chi_1`` = inf; C* < 1 always (M'(1-) = inf), so chi < 1: no chi = 1 boundary.
    * continuous kinds: ``chi_1`` = sigma_w^2 E phi'(u)^2 at Q*.  By the convexity of M (see
      :func:`_fixed_C_f64`), C* = 1 exactly when chi_1 <= 1 (the ordered phase; then chi = chi_1 and
      xi = -1/log chi_1, the depth scale of correlations approaching 1) and C* < 1 when chi_1 > 1
      (chaotic; chi = chi(C*) < 1).  ReLU / leaky ReLU: Q* = sigma_b^2 / (1 - k) with
      k = sigma_w^2 (1 + slope^2) / 2 < 1 (exact); k >= 1 (Q* infinite) or sigma_b = 0 (Q* = 0, or
      every Q at k = 1) raise ValueError.  An unbounded Smooth phi: Q* searched up to 1e8 (sigma_w^2
      + sigma_b^2 + 1), ValueError beyond.

    Raises ValueError (saying why) where no finite non-zero Q* exists, and, for the float64 face of a
    continuous activation, where the problem is too ill-conditioned for float64: Q* when its estimated
    relative error 4 eps / (1 - V'(Q*)) exceeds ``Q_STAR_RTOL`` = 1e-10 (at a critical point, e.g. hard tanh
    at sigma_w = 1, sigma_b = 1e-8), C* when that of 1 - C* exceeds ``C_STAR_RTOL`` = 1e-6 (within ~1e-5 of
    the edge of chaos); ``dps`` answers there.
    """
    act, sigma_w, sigma_b = _check_fixed_point(act, sigma_w, sigma_b)
    dps = V.dps(dps)
    if not isinstance(act, Staircase):
        return _fixed_point_continuous(act, sigma_w, sigma_b, dps)
    s = _power_of_two_scale(sigma_w, sigma_b)
    act_s = act.scaled(1.0 / s) if s != 1.0 else act
    a, b = sigma_w / s, sigma_b / s
    q = _fixed_Q_f64(act_s, a, b)
    dlt = _fixed_deficit_f64(act_s, q, a, b)
    C = 1.0 - dlt
    # chi from the root 1 - C* itself (C = 1 - (1 - C*) rounds away log10(1/(1 - C*)) of its digits, and chi
    # ~ 1/sqrt(1 - C*) near 1: 1.5e-8 relative at 1 - C* = 1.5e-8)
    corr = _corr_at(dlt)
    if dps is None:
        with np.errstate(over="ignore", under="ignore"):  # out of range: the ValueError below says so
            Q = q * s * s
        if not (np.isfinite(Q) and Q >= np.finfo(float).tiny):
            raise ValueError(f"Q* = {float(q)!r} * {float(s)!r}^2 is outside the normal float64 range for sigma_w={sigma_w!r}, "
                             f"sigma_b={sigma_b!r}; pass dps=k for an mpmath Q*")
        if dlt == 0.0:
            return FixedPoint(Q, 1.0, np.inf, np.inf, np.inf, 0.0)
        x = float(_chi_f64(act_s, q, sigma_w=a, **corr))
        return FixedPoint(Q, C, x, float(_depth_f64(x)) if x < 1 else np.inf, np.inf, float(dlt))
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        sw, sb = mpmath.mpf(a), mpmath.mpf(b)
        fq = lambda qq: sw ** 2 * _second_moment_mp(act_s, qq) + sb ** 2 - qq
        Qm = mpmath.findroot(fq, (mpmath.mpf(q) * (1 - 1e-9), mpmath.mpf(q) * (1 + 1e-9)), solver="anderson")
        if C == 0.0 and sigma_b == 0.0 and act.is_odd():
            Cm, dm = mpmath.mpf(0), mpmath.mpf(1)
        elif dlt == 0.0:  # 1 - C* below 1e-300 in float64 (sigma_b / sigma_w beyond ~1e75): C* = 1 at this precision
            return FixedPoint(+(Qm * mpmath.mpf(s) ** 2), mpmath.mpf(1), mpmath.inf, mpmath.inf, mpmath.inf,
                              mpmath.mpf(0))
        elif 0 < dlt < 1e-6:  # C* near 1: the root in 1 - C (C +- 1e-9 crossed C = 1, and the map went complex)
            dm = _deficit_root_mp(act_s, Qm, dlt, sw, sb)
            Cm = 1 - dm
        else:
            def fc(c):
                return (sw ** 2 * (_mean_mp(act_s, Qm) ** 2 + _cov_sum_mp(act_s, Qm, c, 1 - c)) + sb ** 2) / Qm - c
            Cm = mpmath.findroot(fc, (mpmath.mpf(C) - 1e-9, mpmath.mpf(C) + 1e-9), solver="anderson")
            dm = 1 - Cm
        x = sw ** 2 * _dens_sum_mp(act_s, Qm, Cm, dm) / Qm
        xi = _depth_mp(x) if x < 1 else mpmath.inf
        return FixedPoint(+(Qm * mpmath.mpf(s) ** 2), +Cm, +x, +xi, mpmath.inf, +dm)


def _relu_Q(act, sigma_w, sigma_b):
    k = sigma_w ** 2 * (1 + act.slope ** 2) / 2
    if sigma_b == 0:
        raise ValueError(f"no non-zero finite fixed point Q* for {act.name} at sigma_b = 0: the variance map is "
                         f"Q -> k Q with k = sigma_w^2 (1 + slope^2)/2 = {k!r} (the signal dies for k < 1, explodes "
                         "for k > 1, and every Q is fixed at k = 1); give sigma_b > 0")
    if k >= 1:
        raise ValueError(f"no finite fixed point Q* for {act.name}: sigma_w^2 (1 + slope^2)/2 = {k!r} >= 1, the "
                         "variance grows without bound; decrease sigma_w below sqrt(2/(1 + slope^2))")
    return k


def _fixed_Q_cont(act, sigma_w, sigma_b):
    from .activations import LeakyReLU

    if isinstance(act, LeakyReLU):
        k = _relu_Q(act, sigma_w, sigma_b)
        return sigma_b ** 2 / (1 - k)
    if math.isfinite(act.bound):
        return _fixed_Q_f64(act, sigma_w, sigma_b)
    top = 1e8 * (sigma_w ** 2 + sigma_b ** 2 + 1)
    if float(_variance_f64(act, top, sigma_w, sigma_b)) > top:
        raise ValueError(f"no finite fixed point Q* below {top:.3g} for {act.name} at sigma_w={sigma_w!r}, "
                         f"sigma_b={sigma_b!r}: the variance grows without bound")
    return _last_downcrossing_Q(act, sigma_w, sigma_b, top * np.logspace(-14, 0, 281))


#: the float64 fixed point Q* is refused where its conditioning leaves fewer digits than this
Q_STAR_RTOL = 1e-10
#: ... and C* of a continuous activation where the estimated error of 1 - C* exceeds this fraction of it (near
#: the edge of chaos; measured errors are 10-40x below the estimate)
C_STAR_RTOL = 1e-6


def _check_Q_conditioning(act, q, sigma_w, sigma_b):
    """ValueError where float64 cannot give Q* to Q_STAR_RTOL: Q* = V(Q*) has condition number 1 / (1 - V'(Q*)),
    and the rounding of V (~4 eps V) moves the root by ~4 eps Q* / (1 - V').  Near an activation's critical
    point (hard tanh at sigma_w = 1, sigma_b = 1e-8: V' = 1 - 3e-15) that was a Q* 7.5e-4 off, silently.
    V' by a central difference (step 1e-4 Q*; its own error ~1e-8 is far below the bound it tests)."""
    h = 1e-4
    if not (np.isfinite(q) and q * h > V.TINY):  # Q* underflowed (or overflowed): nothing to assess
        return
    with np.errstate(all="ignore"):
        v = np.asarray(_variance_f64(act, np.array([q * (1 - h), q * (1 + h)]), sigma_w, sigma_b), float)
        gap = 1.0 - (v[1] - v[0]) / (2 * h * q)
    if not np.isfinite(gap):
        return
    err = 4 * np.finfo(float).eps / max(gap, 1e-300)
    if not err <= Q_STAR_RTOL:
        raise ValueError(f"Q* = {q:.6g} for {act.name} at sigma_w={sigma_w!r}, sigma_b={sigma_b!r} is ill-conditioned in "
                         f"float64: the variance map's slope there differs from 1 by {abs(gap):.1e}, so the float64 root keeps "
                         f"~{max(0, -math.log10(err)):.0f} digits (fewer than {-math.log10(Q_STAR_RTOL):.0f}); pass dps=k")


def _fixed_point_continuous(act, sigma_w, sigma_b, dps):
    """:func:`fixed_point` for a continuous activation (its docstring)."""
    q = _fixed_Q_cont(act, sigma_w, sigma_b)
    if not q <= act.q_max:
        raise ValueError(f"Q* = {q:.6g} for {act.name} at sigma_w={sigma_w!r}, sigma_b={sigma_b!r} is beyond the range "
                         f"(0, {act.q_max:g}] where its kernels are certified (act.q_max); decrease sigma_w or sigma_b")
    if dps is None:
        _check_Q_conditioning(act, q, sigma_w, sigma_b)
    c1 = float(sigma_w ** 2 * np.asarray(act._d2_f64(np.atleast_1d(q)), float)[0])
    if sigma_b == 0 and act.is_odd():
        dlt = 1.0
    elif c1 <= 1.0:
        dlt = 0.0
    else:
        dlt = float(_fixed_deficit_f64(act, q, sigma_w, sigma_b))
    C = 1.0 - dlt
    if dps is None:
        if C >= 1.0:
            return FixedPoint(q, 1.0, c1, float(_depth_f64(c1)) if c1 < 1 else np.inf, c1, 0.0)
        x = float(_chi_f64(act, q, sigma_w=sigma_w, **_corr_at(dlt)))
        # the scan's F(1 - d) = M - 1 + d is absolute-accurate (~4 eps), and F' = 1 - chi at the root: the error of
        # 1 - C* is ~4 eps / (1 - chi) (measured for erf: 10-40x below this estimate; xi's error ~2x that of
        # 1 - C*).  Just above the edge of chaos (chi_1 = 1 + 1e-9 for erf) 1 - C* was 3x off and xi 5x, silently
        if C > 0 and not 4 * np.finfo(float).eps / max(1.0 - x, 1e-300) <= C_STAR_RTOL * dlt:
            raise ValueError(f"C* = 1 - {1 - C:.3g} for {act.name} at sigma_w={sigma_w!r}, sigma_b={sigma_b!r} is "
                             f"ill-conditioned in float64 (chi = 1 - {1 - x:.2g}: so close to the edge of chaos that "
                             f"1 - C* would carry an error above {C_STAR_RTOL:g} of itself); pass dps=k")
        return FixedPoint(q, C, x, float(_depth_f64(x)) if x < 1 else np.inf, c1, dlt)
    import mpmath

    from .activations import LeakyReLU

    with mpmath.workdps(V.guard_digits(dps)):
        sw, sb = mpmath.mpf(sigma_w), mpmath.mpf(sigma_b)
        if isinstance(act, LeakyReLU):
            a = mpmath.mpf(act.slope)
            Qm = sb ** 2 / (1 - sw ** 2 * (1 + a * a) / 2)
        else:
            fq = lambda qq: sw ** 2 * _m2_mp(act, qq) + sb ** 2 - qq
            Qm = mpmath.findroot(fq, (mpmath.mpf(q) * (1 - 1e-9), mpmath.mpf(q) * (1 + 1e-9)), solver="anderson")
        c1m = sw ** 2 * act._d2_mp(Qm)
        if C >= 1.0:
            xi = _depth_mp(c1m) if c1m < 1 else mpmath.inf
            return FixedPoint(+Qm, mpmath.mpf(1), +c1m, +xi, +c1m, mpmath.mpf(0))
        if C == 0.0 and sigma_b == 0 and act.is_odd():
            Cm, dm = mpmath.mpf(0), mpmath.mpf(1)
        elif dlt < 1e-6:  # the root in 1 - C (C +- 1e-9 would cross C = 1)
            dm = _deficit_root_mp(act, Qm, dlt, sw, sb)
            Cm = 1 - dm
        else:
            fc = lambda c: (sw ** 2 * _cov_mp_any(act, Qm, c, 1 - c) + sb ** 2) / Qm - c
            Cm = mpmath.findroot(fc, (mpmath.mpf(C) - 1e-9, mpmath.mpf(C) + 1e-9), solver="anderson")
            dm = 1 - Cm
        x = sw ** 2 * _dd_mp_any(act, Qm, Cm, dm)
        xi = _depth_mp(x) if x < 1 else mpmath.inf
        return FixedPoint(+Qm, +Cm, +x, +xi, +c1m, +dm)


# ============================================================================ chi_1 and the edge of chaos
def _chi1_f64(act, Q, sigma_w):
    if isinstance(act, Staircase):
        return np.full(np.shape(Q), np.inf)[()]
    shape, (q,) = _broadcast(Q)
    return (np.asarray(sigma_w, float) ** 2 * np.asarray(act._d2_f64(q), float).reshape(shape))[()]


def _chi1_mp(act, Q, sigma_w):
    import mpmath

    if isinstance(act, Staircase):
        return mpmath.inf
    return to_mpf(sigma_w) ** 2 * act._d2_mp(Q)


def _check_chi1(act, Q, sigma_w):
    act = _check_common(act, Q, sigma_w)
    return (act, Q, sigma_w), {}


def _chi1_sympy(act, Q, sigma_w):
    import sympy as sp

    from .activations import Erf, LeakyReLU

    sw2 = sp.Rational(sigma_w) ** 2
    if isinstance(act, Erf):
        return sw2 * 4 / sp.pi / sp.sqrt(1 + 4 * sp.Rational(Q))
    if isinstance(act, LeakyReLU):
        return sw2 * (1 + sp.Rational(act.slope) ** 2) / 2
    raise NotImplementedError


def _chi1_cases():
    from .activations import Erf, LeakyReLU

    return [((a, q, 1.3), {}) for a in (Erf(), LeakyReLU(0.1)) for q in (1e-6, 0.05, 1.0, 30.0, 1e6)]


chi_1 = ClosedForm(
    "qmf_sym.maps.chi_1", "paper 1, eq. 6 at C = 1 (chi_1 = sigma_w^2 E phi'(u)^2)",
    f64=_chi1_f64, mp=_chi1_mp, check=_check_chi1,
    oracle=lambda act, Q, sigma_w: to_mpf(sigma_w) ** 2 * act._oracle_dd(Q, *_corr_mp(1, None, None)),
    sympy=_chi1_sympy, cases=_chi1_cases, rtol=4e-15, atol=1e-300,
    signature=lambda act, Q, sigma_w, dps=None: None,
    doc="""chi_1 = sigma_w^2 E_{u~N(0,Q)} phi'(u)^2: the slope dM/dC at C = 1 (eq. 6 with C = 1), whose
    value 1 at Q* is the order-to-chaos boundary (the edge of chaos) of continuous activations.

    Closed forms: erf sigma_w^2 (4/pi)/sqrt(1 + 4Q); (leaky) ReLU sigma_w^2 (1 + a^2)/2; hard tanh
    sigma_w^2 P(low < u < high); any :class:`Smooth` by certified quadrature.  Staircases: inf
    (phi' is a sum of Dirac deltas: E phi'^2 diverges; eq. 15 diverges as C -> 1).""")


@dataclass(frozen=True)
class EdgeOfChaos:
    """A point of the order-to-chaos line chi_1(Q*) = 1: ``sigma_w``, ``sigma_b``, ``Q_star``,
    ``chi_1`` (= 1 up to the solver's accuracy), ``xi_c`` (the correlation depth scale
    -1/log chi at C* = 1: inf on the line, where correlations approach 1 as a power law), ``xi_q``
    (the variance depth scale -1/log(dV/dQ at Q*), finite off sigma_b = 0: Q converges
    exponentially), ``method``."""

    sigma_w: object
    sigma_b: object
    Q_star: object
    chi_1: object
    xi_c: object
    xi_q: object
    method: str


def _d2_over(act, q):
    return float(np.asarray(act._d2_f64(np.atleast_1d(q)), float)[0])


def edge_of_chaos(act, sigma_b, dps=None):
    """The sigma_w on the order-to-chaos line at bias ``sigma_b``: chi_1 = sigma_w^2 E phi'(u)^2 = 1 at
    the fixed point Q* of eq. 4 (the edge of chaos of continuous activations).  Returns
    :class:`EdgeOfChaos`.

    Eliminating sigma_w^2 = 1 / E phi'^2(Q) from Q = sigma_w^2 E phi^2(Q) + sigma_b^2 leaves one
    equation in Q:  h(Q) = Q - sigma_b^2 - E phi^2(Q) / E phi'^2(Q) = 0, solved by a log-grid sign scan
    of h on (sigma_b^2, 1e8 (1 + sigma_b^2)] and Brent (float64), refined at ``dps`` digits by
    mpmath.findroot on the same h; the result is confirmed with :func:`fixed_point` (the Q it finds
    is the stable fixed point at that sigma_w).  sigma_b = 0 with phi(0) = 0: the line ends at
    Q* = 0, ``sigma_w = 1/|phi'(0)|`` (tanh, hard tanh: 1; erf: sqrt(pi)/2).

    Theory at the edge (Schoenholz et al. 2017): C* = 1 and chi = chi_1 = 1, so the correlation
    depth scale xi_c = -1/log chi_1 is infinite (correlations approach 1 as a power law in depth);
    the variance converges with the finite depth scale xi_q = -1/log(sigma_w^2 d E phi^2/dQ).

    Staircases: ValueError -- chi_1 = inf for every (sigma_w, sigma_b) (phi' is a sum of Dirac deltas),
    so no order-to-chaos line exists; their chi < 1 everywhere (paper 1, sec. 4.2).  ReLU / leaky
    ReLU: chi_1 = sigma_w^2 (1 + a^2)/2 is 1 only at sigma_w = sqrt(2/(1 + a^2)), where Q* is
    finite only for sigma_b = 0 (then any Q is fixed): ValueError for sigma_b > 0.
    """
    from .activations import LeakyReLU

    act = as_activation(act)
    V.sigma("sigma_b", sigma_b, zero=True)
    sb = V.finite("sigma_b", sigma_b)
    d = V.dps(dps)
    if isinstance(act, Staircase):
        raise ValueError(f"act = {act.name}: no order-to-chaos line exists for a staircase -- chi_1 = sigma_w^2 "
                         "E phi'(u)^2 is infinite (phi' is a sum of Dirac deltas), so chi < 1 at every stable fixed "
                         "point and chi = 1 is unattainable (paper 1, sec. 4.2); use qmf_sym.init.critical_init "
                         "for the sigma_w that maximises chi")
    if isinstance(act, LeakyReLU):
        sw = math.sqrt(2 / (1 + act.slope ** 2))
        if sb != 0:
            raise ValueError(f"sigma_b must be 0 for the edge of chaos of {act.name}: chi_1 = 1 needs sigma_w = "
                             f"sqrt(2/(1 + slope^2)) = {sw!r}, where the variance map Q -> Q + sigma_b^2 has no "
                             "finite fixed point for sigma_b > 0")
        if d is None:
            return EdgeOfChaos(sw, 0.0, math.nan, 1.0, math.inf, math.inf, "closed form (every Q is fixed)")
        import mpmath

        with mpmath.workdps(V.guard_digits(d)):
            return EdgeOfChaos(+mpmath.sqrt(2 / (1 + mpmath.mpf(act.slope) ** 2)), mpmath.mpf(0), mpmath.nan,
                               mpmath.mpf(1), mpmath.inf, mpmath.inf, "closed form (every Q is fixed)")
    if sb == 0:
        d0 = float(act.derivative(0.0))
        if float(act(0.0)) != 0.0 or d0 == 0.0:
            raise ValueError(f"sigma_b = 0: the edge of chaos of {act.name} is defined here for phi(0) = 0, "
                             "phi'(0) != 0 (it ends at Q* = 0); give sigma_b > 0")
        if d is None:
            return EdgeOfChaos(1 / abs(d0), 0.0, 0.0, 1.0, math.inf, math.inf, "limit Q* -> 0 (sigma_w = 1/|phi'(0)|)")
        import mpmath

        with mpmath.workdps(V.guard_digits(d)):
            return EdgeOfChaos(+(1 / abs(act.mp_derivative(0))), mpmath.mpf(0), mpmath.mpf(0), mpmath.mpf(1),
                               mpmath.inf, mpmath.inf, "limit Q* -> 0 (sigma_w = 1/|phi'(0)|)")
    h = lambda q: q - sb * sb - float(_m2_f64_any(act, np.atleast_1d(q))[0]) / _d2_over(act, q)
    lo = sb * sb
    grid = lo + lo * np.logspace(-10, 8, 181)
    hv = np.array([h(q) for q in grid])
    idx = np.nonzero((hv[:-1] < 0) & (hv[1:] >= 0))[0]
    if len(idx) == 0:
        raise ValueError(f"no edge of chaos found for {act.name} at sigma_b={sb!r}: chi_1 stays on one side of 1 "
                         f"for Q* in ({lo:.3g}, {grid[-1]:.3g}]")
    k = idx[0]
    q = optimize.brentq(h, grid[k], grid[k + 1], xtol=1e-300, rtol=1e-15, maxiter=500)
    sw = 1 / math.sqrt(_d2_over(act, q))
    fq = _fixed_Q_cont(act, sw, sb)  # Q* alone: C* = 1 on the edge (the C-scan is ill-conditioned there)
    if abs(fq / q - 1) > 1e-7:
        raise ValueError(f"the edge-of-chaos root Q = {q!r} is not the stable fixed point at sigma_w = {sw!r} "
                         f"(fixed_point gives {fq!r})")
    eps = 1e-5
    slope = sw ** 2 * (float(_m2_f64_any(act, np.atleast_1d(q * (1 + eps)))[0])
                       - float(_m2_f64_any(act, np.atleast_1d(q * (1 - eps)))[0])) / (2 * eps * q)
    xi_q = float(_depth_f64(slope)) if 0 < slope < 1 else math.inf
    if d is None:
        return EdgeOfChaos(sw, sb, q, sw * sw * _d2_over(act, q), math.inf, xi_q, "float64 scan + Brent")
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        sbm = mpmath.mpf(sb)
        hm = lambda qq: qq - sbm ** 2 - _m2_mp(act, qq) / act._d2_mp(qq)
        Qm = mpmath.findroot(hm, (mpmath.mpf(q) * (1 - 1e-8), mpmath.mpf(q) * (1 + 1e-8)), solver="anderson")
        swm = 1 / mpmath.sqrt(act._d2_mp(Qm))
        return EdgeOfChaos(+swm, +sbm, +Qm, +(swm ** 2 * act._d2_mp(Qm)), mpmath.inf, xi_q,
                           f"mpmath findroot at {d} digits (xi_q float64)")


def edge_of_chaos_line(act, sigma_b, dps=None):
    """[:func:`edge_of_chaos` at each sigma_b of ``sigma_b``] (the critical line sigma_w(sigma_b) with
    xi_c = inf and the finite xi_q along it); ValueError for staircases (no such line)."""
    vals = np.atleast_1d(np.asarray(V.sigma("sigma_b", sigma_b, zero=True), float))
    return [edge_of_chaos(act, float(b), dps=dps) for b in vals]


register_equation("qmf_sym.maps.edge_of_chaos", "paper 1, eq. 6-7 (chi_1 = 1, continuous activations)",
                  "order-to-chaos line sigma_w(sigma_b); none for staircases", faces=("f64", "mp"))
