"""The two-dimensional linearisation of the mean-field layer map at its fixed point (paper 1, sec. 3.1, App. K).

The exact layer map of eq. 2-4 (with the normalisation of eq. 3; :func:`qmf_sym.maps.layer_map`) is::

    Q' = sigma_w^2 E phi(u)^2 + sigma_b^2,                        u ~ N(0, Q),
    C' = [sigma_w^2 K(Q, C) + sigma_b^2] / Q',    K(Q, C) = E phi(u1) phi(u2),  (u1, u2) ~ N(0, Sigma(Q, C)).

Its Jacobian at (Q, C) (derivations/linearisation_app_k.md) is::

    J = [[ lambda_Q,                                  0                       ],
         [ (sigma_w^2 dK/dQ - C' lambda_Q) / Q',      sigma_w^2 Q E phi'phi' / Q' ]],

    lambda_Q = sigma_w^2 dE phi^2/dQ = (sigma_w^2 / Q) E[u phi(u) phi'(u)],
    dK/dQ    = (1/Q) E[u1 phi'(u1) phi(u2)]             (scaling identity d/dQ E F(sqrt(Q) x) = E[u.grad F(u)]/(2Q)),
    dK/dC    = Q E phi'(u1) phi'(u2)                    (Price's theorem).

**Q' does not depend on C**, so J is lower triangular at every point and its two eigenvalues are exactly
its diagonal: lambda_Q (eigenvector (lambda_Q - lambda_C, J_CQ), the Q direction, dragging C with it) and,
at the fixed point (Q' = Q*), lambda_C = sigma_w^2 E phi'(u1) phi'(u2) = chi of eq. 6 (eigenvector (0, 1),
the C direction).  The one-dimensional reduction of eq. 5-6 (assume Q has converged) is therefore exact to
first order for the C eigen-direction; the paper's claim (after Schoenholz et al. 2017) that for monotone
activations C cannot converge faster than Q is the inequality ``|lambda_C| >= |lambda_Q|``, which
:func:`linearise` reports (``c_not_faster``, ties within 1e-9 counted as holding).  It holds for the
staircases, tanh, erf and hard tanh tested, with equality for ReLU / leaky ReLU (C* = 1, lambda_Q = chi_1 =
sigma_w^2 (1 + a^2) / 2), and fails for monotone activations with phi phi'' > 0 such as softplus (in the
ordered phase C* = 1: lambda_Q = chi_1 + sigma_w^2 E phi phi'' > chi_1; derivations/linearisation_app_k.md).

Faces.

* Staircases (eq. 13): closed forms (:data:`variance_slope`, :data:`covariance_slope`) from
  phi' = sum_i h_i delta(x - g_i)::

      lambda_Q = (sigma_w^2 / Q) sum_i h_i g_i p_Q(g_i) phibar_i,  phibar_i = (phi(g_i-) + phi(g_i+)) / 2,
      dK/dQ    = (1/Q) sum_i h_i g_i p_Q(g_i) m(g_i),  m(g) = E[phi(u2) | u1 = g] = A + sum_j h_j Phi((C g - g_j)/s),

  s = sqrt(Q (1 - C^2)), p_Q the N(0, Q) density; float64 and ``dps`` faces, oracle: mpmath's numerical
  derivative of the ``dps`` faces of :func:`qmf_sym.maps.variance_map` / ``post_activation_covariance``.
* Continuous activations (anything with ``phi(x)`` and ``phi.derivative(x)``, numpy): the same expectations by
  piecewise Gauss-Legendre quadrature on +-12 standard deviations in pieces of 2 standard deviations, split
  at the activation's kinks, at two orders; their difference is returned as the stated quadrature error
  (:func:`jacobian`; checked against 30-digit mpmath quadrature in the tests).
* Independently of both: :func:`jacobian_fd`, Richardson-extrapolated central differences of the float64
  :func:`qmf_sym.maps.layer_map`, with an error estimate (truncation + rounding); the tests hold the
  analytic Jacobian to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import gaussian as G
from . import maps
from ._faces import ClosedForm, register_equation
from ._numbers import to_mpf
from .activations import Staircase

__all__ = ["variance_slope", "covariance_slope", "jacobian", "jacobian_fd", "linearise", "Linearisation",
           "Jacobian", "kinks"]


# ============================================================================ staircase closed forms
def _phibar(act):
    """(phi(g_i-) + phi(g_i+)) / 2 at each offset, float64."""
    lev = act.levels
    return 0.5 * (lev[:-1] + lev[1:])


def _phibar_mp(act):
    A, g, h = act.mp_params()
    out, acc = [], A
    for hi in h:
        out.append(acc + hi / 2)
        acc += hi
    return out


def _vslope_f64(act, Q, sigma_w):
    q = np.asarray(Q, dtype=float)
    shape = q.shape
    q = q.ravel()
    gt = act.offsets[None, :] / np.sqrt(q)[:, None]
    terms = act.heights * _phibar(act) * gt * G.pdf.f64(gt)
    return (float(sigma_w) ** 2 * terms.sum(1) / q).reshape(shape)[()]


def _vslope_mp(act, Q, sigma_w):
    import mpmath

    Qm = to_mpf(Q)
    A, g, h = act.mp_params()
    sq = mpmath.sqrt(Qm)
    pb = _phibar_mp(act)
    s = mpmath.fsum(hi * pi * (gi / sq) * G.pdf.mp(gi / sq) for hi, pi, gi in zip(h, pb, g))
    return to_mpf(sigma_w) ** 2 * s / Qm


def _vslope_oracle(act, Q, sigma_w):
    import mpmath

    f = lambda q: maps.variance_map.mp(act, q, sigma_w, 0)
    return mpmath.diff(f, to_mpf(Q))


def _check_vslope(act, Q, sigma_w):
    if not isinstance(act, Staircase):
        raise ValueError("act must be a qmf_sym.activations.Staircase for the closed form "
                         "(continuous activations: qmf_sym.linearisation.jacobian)")
    V.positive("Q", Q)
    V.sigma("sigma_w", sigma_w)
    return (act, Q, sigma_w), {}


def _cases():
    return [Staircase.uniform(4), Staircase.sign(), Staircase([-0.5, 0.25, 1.0], [0.5, 1.5, 0.25], base=-0.75),
            Staircase.uniform(16)]


variance_slope = ClosedForm(
    "qmf_sym.linearisation.variance_slope", "paper 1, App. K (dQ'/dQ of eq. 4)",
    f64=_vslope_f64, mp=_vslope_mp, check=_check_vslope, oracle=_vslope_oracle,
    cases=lambda: [((a, q, 1.3), {}) for a in _cases() for q in (0.05, 1.0, 30.0)],
    rtol=1e-12, atol=1e-300, signature=lambda act, Q, sigma_w, dps=None: None,
    doc="""lambda_Q = dQ'/dQ = sigma_w^2 d/dQ E_{u~N(0,Q)} phi(u)^2 of a staircase (App. K):

        (sigma_w^2 / Q) sum_i h_i phibar_i g~_i pdf(g~_i),  g~_i = g_i / sqrt(Q),  phibar_i = (phi(g_i-)+phi(g_i+))/2.

    The Q-direction eigenvalue of the layer map (module docstring).  0 for sign (E phi^2 = 1).  Float64
    relative accuracy ~1e-15 where no cancellation occurs (odd staircases: every term >= 0); ``dps`` digits.""")


def _m_f64(act, q, C, g_at):
    """E[phi(u2) | u1 = g_at] for (u1, u2) ~ N(0, Sigma(q, C)), |C| < 1, float64 (g_at: array (n,))."""
    s = math.sqrt(q * (1.0 - C * C))
    z = (C * g_at[:, None] - act.offsets[None, :]) / s
    return act.base + G.cdf.f64(z) @ act.heights


def _cslope_f64(act, Q, C, sigma_w=1.0):
    q, c = float(Q), float(C)
    g = act.offsets
    if c == 1.0:
        m = _phibar(act)
    elif c == -1.0:
        raise ValueError("C = -1 is not supported for a staircase; pass |C| < 1")
    else:
        m = _m_f64(act, q, c, g)
    gt = g / math.sqrt(q)
    return float((act.heights * gt * G.pdf.f64(gt) * m).sum() / q)


def _cslope_mp(act, Q, C, sigma_w=1.0):
    import mpmath

    Qm, Cm = to_mpf(Q), to_mpf(C)
    A, g, h = act.mp_params()
    sq = mpmath.sqrt(Qm)
    if Cm == 1:
        m = _phibar_mp(act)
    elif Cm == -1:
        raise ValueError("C = -1 is not supported for a staircase; pass |C| < 1")
    else:
        s = mpmath.sqrt(Qm * (1 - Cm * Cm))
        m = [A + mpmath.fsum(hj * G.cdf.mp((Cm * gi - gj) / s) for hj, gj in zip(h, g)) for gi in g]
    return mpmath.fsum(hi * (gi / sq) * G.pdf.mp(gi / sq) * mi for hi, gi, mi in zip(h, g, m)) / Qm


def _cslope_oracle(act, Q, C, sigma_w=1.0):
    import mpmath

    Cm = to_mpf(C)
    f = lambda q: maps.post_activation_covariance.mp(act, q, Cm)
    return mpmath.diff(f, to_mpf(Q))


def _check_cslope(act, Q, C, sigma_w=1.0):
    _check_vslope(act, Q, sigma_w)
    V.in_closed("C", C, -1, 1)
    if np.ndim(Q) or np.ndim(C):
        raise ValueError("Q and C must be scalars")
    return (act, Q, C, sigma_w), {}


covariance_slope = ClosedForm(
    "qmf_sym.linearisation.covariance_slope", "paper 1, App. K (dK/dQ, K = E phi(u1) phi(u2) of eq. 4)",
    f64=_cslope_f64, mp=_cslope_mp, check=_check_cslope, oracle=_cslope_oracle,
    cases=lambda: [((a, q, c), {}) for a in _cases()[:3] for q in (0.05, 1.0) for c in (0.0, 0.6, -0.3)],
    rtol=1e-11, atol=1e-15, signature=lambda act, Q, C, sigma_w=1.0, dps=None: None,
    # 0 at C = 0 for a centred staircase (m(g_i) = E phi = 0): absolute accuracy at the scale of the terms,
    # sum_i h_i |g~_i| pdf(g~_i) |m(g_i)| <= 3 in the cases
    cancel_scale=3.0,
    doc="""dK/dQ at fixed C for K(Q, C) = E_{Sigma(Q,C)} phi(u1) phi(u2) of a staircase (App. K):

        (1/Q) sum_i h_i g~_i pdf(g~_i) m(g_i),   m(g) = A + sum_j h_j Phi((C g - g_j) / sqrt(Q (1 - C^2))),

    m(g) = E[phi(u2) | u1 = g].  At C = 1 it is lambda_Q / sigma_w^2 (m = phibar).  Scalars Q, C
    (``sigma_w`` unused, kept for a uniform signature).  Absolute accuracy ~1e-16 times the term scale in
    float64 (it is 0 at C = 0 for centred staircases), ``dps`` digits at ``dps``.""")


# ============================================================================ continuous activations
def kinks(act) -> list:
    """Points where a continuous activation's derivative jumps (quadrature break points): ``act.kinks``
    when it has one; ReLU / leaky ReLU: [0]; hard tanh: [low, high]; smooth kinds: []."""
    if not (isinstance(act, Staircase) or (callable(act) and hasattr(act, "derivative"))):
        raise ValueError(f"act must be an activation of qmf_sym.activations, got {act!r}"[:200])
    k = getattr(act, "kinks", None)
    if k is not None:
        return sorted(float(x) for x in (k() if callable(k) else k))
    kind = type(act).__name__
    if kind in ("ReLU", "LeakyReLU"):
        return [0.0]
    if kind == "HardTanh":
        return [float(act.low), float(act.high)]
    return []


_GL_CACHE: dict = {}


def _gl(n):
    if n not in _GL_CACHE:
        _GL_CACHE[n] = np.polynomial.legendre.leggauss(n)
    return _GL_CACHE[n]


_SPAN = 12.0  # standard deviations; the Gaussian tail beyond it is < 1e-32


def _nodes(centre, sd, breaks, n):
    """Gauss-Legendre nodes/weights for E over N(centre, sd^2) on [centre -+ 12 sd] split at ``breaks``;
    weights include the normal density.  Returns (x, w) arrays."""
    lo, hi = centre - _SPAN * sd, centre + _SPAN * sd
    # pieces of 2 sd (a polynomial rule resolves the Gaussian weight only over a few sd), split at the kinks
    grid = list(np.linspace(lo, hi, 13))
    pts = sorted(set(grid) | {b for b in breaks if lo < b < hi})
    t, wt = _gl(n)
    xs, ws = [], []
    for a, b in zip(pts[:-1], pts[1:]):
        x = 0.5 * (b - a) * t + 0.5 * (a + b)
        xs.append(x)
        ws.append(0.5 * (b - a) * wt * np.exp(-0.5 * ((x - centre) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)))
    return np.concatenate(xs), np.concatenate(ws)


def _continuous_slopes(act, Q, C, n):
    """(E[u phi phi'], E[u1 phi'(u1) phi(u2)], E phi'(u1) phi'(u2)) by quadrature of order n per piece."""
    sq = math.sqrt(Q)
    br = kinks(act)
    u, w = _nodes(0.0, sq, br, n)
    f, d = np.asarray(act(u), float), np.asarray(act.derivative(u), float)
    e_uff = float(w @ (u * f * d))
    if abs(C) >= 1.0:
        sgn = 1.0 if C > 0 else -1.0
        f2, d2 = np.asarray(act(sgn * u), float), np.asarray(act.derivative(sgn * u), float)
        return e_uff, float(w @ (u * d * f2)), float(w @ (d * d2))
    s = sq * math.sqrt(1.0 - C * C)
    e_cross = e_dd = 0.0
    for ui, wi, di in zip(u, w, d):  # u2 | u1 ~ N(C u1, s^2)
        v, wv = _nodes(C * ui, s, br, n)
        fv, dv = np.asarray(act(v), float), np.asarray(act.derivative(v), float)
        e_cross += wi * ui * di * float(wv @ fv)
        e_dd += wi * di * float(wv @ dv)
    return e_uff, e_cross, e_dd


# ============================================================================ the Jacobian
@dataclass(frozen=True)
class Jacobian:
    """The Jacobian of the layer map of eq. 2-4 at a point (App. K; module docstring), as returned by
    :func:`jacobian` and :func:`jacobian_fd`.

    ``Q``, ``C``: the point; ``J`` (2x2, rows (Q', C'), columns (Q, C)); the images ``Q_next``,
    ``C_next``; ``error`` (2x2, a stated bound on each entry's absolute error); ``method`` (how ``J`` was
    computed: closed form, quadrature or finite differences)."""

    Q: float
    C: float
    J: np.ndarray
    Q_next: float
    C_next: float
    error: np.ndarray
    method: str


def _check_point(act, Q, C, sigma_w, sigma_b):
    V.positive("Q", Q)
    V.in_closed("C", C, -1, 1)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    if not (isinstance(act, Staircase) or (callable(act) and hasattr(act, "derivative"))):
        raise ValueError(f"act must be an activation of qmf_sym.activations (with phi(x) and derivative(x)), "
                         f"got {act!r}")
    Qn = float(maps.variance_map(act, Q, sigma_w, sigma_b))
    if not (math.isfinite(Qn) and Qn >= np.finfo(float).tiny):
        raise ValueError(f"sigma_w = {sigma_w!r} (sigma_b = {sigma_b!r}): the next layer's variance Q' = {Qn!r} is not a "
                         f"normal float64, so the Jacobian (entries divided by Q') has no float64 value; rescale "
                         f"sigma_w, sigma_b and Q together (the maps are scale covariant)")
    return float(Q), float(C), float(sigma_w), float(sigma_b)


def jacobian(act, Q, C, sigma_w, sigma_b=0.0, order=24):
    """The analytic Jacobian of the layer map (module docstring) at (Q, C), float64.

    Staircases: the closed forms :data:`variance_slope`, :data:`covariance_slope` and eq. 15
    (:func:`qmf_sym.maps.chi`); ``error`` ~ 1e-14 times the entry scale.  Continuous activations:
    quadrature of order ``order`` and ``2 * order`` per piece; the higher one is returned and ``error``
    is ``|difference|`` + 1e-15 times the scale.  C = +-1 is allowed for continuous activations (chi_1),
    not for staircases (chi diverges there)."""
    Q, C, sw, sb = _check_point(act, Q, C, sigma_w, sigma_b)
    order = V.integer("order", order, 8, 4096)
    sw2 = sw * sw
    Qn = float(maps.variance_map(act, Q, sw, sb))
    if isinstance(act, Staircase):
        if abs(C) == 1.0:
            raise ValueError("C must be in (-1, 1) for a staircase: dC'/dC = chi diverges at |C| = 1")
        lq = float(_vslope_f64(act, Q, sw))
        dk = float(_cslope_f64(act, Q, C))
        chi_c = float(maps.chi(act, Q, C, sw)) * Q / Qn
        K = float(maps.post_activation_covariance(act, Q, C))
        err = np.full((2, 2), 0.0)
        method = "closed form (staircase)"
        Cn = (sw2 * K + sb * sb) / Qn
        jcq = (sw2 * dk - Cn * lq) / Qn
        J = np.array([[lq, 0.0], [jcq, chi_c]])
        err = 1e-13 * (np.abs(J) + np.array([[abs(lq), 0.0], [abs(sw2 * dk) / Qn + abs(Cn * lq) / Qn, abs(chi_c)]]))
        return Jacobian(Q, C, J, Qn, Cn, err, method)
    lo = _continuous_slopes(act, Q, C, order)
    hi = _continuous_slopes(act, Q, C, 2 * order)
    K = float(maps.post_activation_covariance(act, Q, C)) if abs(C) < 1 else float(
        maps.variance_map(act, Q, 1.0, 0.0)) if C == 1 else float("nan")
    if C == -1.0:
        u, w = _nodes(0.0, math.sqrt(Q), kinks(act), 2 * order)
        K = float(w @ (np.asarray(act(u), float) * np.asarray(act(-u), float)))
    Cn = (sw2 * K + sb * sb) / Qn

    def build(e):
        e_uff, e_cross, e_dd = e
        lq = sw2 * e_uff / Q
        dk = e_cross / Q
        return np.array([[lq, 0.0], [(sw2 * dk - Cn * lq) / Qn, sw2 * Q * e_dd / Qn]])

    Jl, Jh = build(lo), build(hi)
    err = np.abs(Jh - Jl) + 1e-15 * (np.abs(Jh) + 1.0)
    return Jacobian(Q, C, Jh, Qn, Cn, err, f"Gauss-Legendre quadrature, {2 * order} nodes per piece")


def jacobian_fd(act, Q, C, sigma_w, sigma_b=0.0, rel_step=1e-3):
    """The Jacobian by Richardson-extrapolated central differences of the float64
    :func:`qmf_sym.maps.layer_map` (independent of :func:`jacobian`).

    Steps h = ``rel_step`` Q in Q and h = ``rel_step`` in C (C -+ h kept inside [-1, 1]; one-sided second
    order near the ends).  ``error`` = ``|R - D(h/2)| + 10 eps |f| / h`` per entry, ``R = (4 D(h/2) - D(h)) / 3``."""
    Q, C, sw, sb = _check_point(act, Q, C, sigma_w, sigma_b)
    V.in_open("rel_step", rel_step, 0, 0.1)
    eps = np.finfo(float).eps
    f = lambda q, c: np.array(maps.layer_map(act, q, c, sw, sb), dtype=float)
    base = f(Q, C)

    def d_central(g, x, h):
        return (g(x + h) - g(x - h)) / (2 * h)

    def d_forward(g, x, h):  # second order one-sided
        return (-3 * g(x) + 4 * g(x + h) - g(x + 2 * h)) / (2 * h)

    cols, errs = [], []
    for k, (x, h) in enumerate(((Q, rel_step * Q), (C, rel_step))):
        g = (lambda q: f(q, C)) if k == 0 else (lambda c: f(Q, c))
        if k == 1 and (C + 2 * h > 1 or C - 2 * h < -1):
            sgn = -1.0 if C + 2 * h > 1 else 1.0
            gg = (lambda c: f(Q, C + sgn * (c - C)))
            D1, D2 = sgn * d_forward(gg, C, h), sgn * d_forward(gg, C, h / 2)
        else:
            D1, D2 = d_central(g, x, h), d_central(g, x, h / 2)
        R = (4 * D2 - D1) / 3
        cols.append(R)
        errs.append(np.abs(R - D2) + 10 * eps * np.abs(base) / (h / 2))
    J, E = np.array(cols).T, np.array(errs).T
    return Jacobian(Q, C, J, float(base[0]), float(base[1]), E, f"Richardson central differences, step {rel_step:g}")


# ============================================================================ at the fixed point
@dataclass(frozen=True)
class Linearisation:
    """The linearised layer map at the stable fixed point (Q*, C*) (App. K).

    ``J`` (2x2), ``error`` (its entry bounds), ``lambda_Q`` (Q direction; eigenvector ``v_Q``),
    ``lambda_C`` (= chi of eq. 6, C direction; eigenvector (0, 1)), ``xi_Q``, ``xi_C`` (``-1/log|lambda|``,
    inf at ``|lambda| >= 1``), ``c_not_faster`` (``|lambda_C| >= |lambda_Q|``: the claim of sec. 3.1 holds here)."""

    act_name: str
    sigma_w: float
    sigma_b: float
    Q: float
    C: float
    J: np.ndarray
    error: np.ndarray
    lambda_Q: float
    lambda_C: float
    v_Q: tuple
    xi_Q: float
    xi_C: float
    c_not_faster: bool
    method: str


def _xi(lam):
    a = abs(lam)
    return math.inf if a >= 1 else (0.0 if a == 0 else -1.0 / math.log(a))


def linearise(act, sigma_w, sigma_b=0.0, order=24):
    """:class:`Linearisation` at the fixed point of :func:`qmf_sym.maps.fixed_point` (float64).

    Staircase with C* = 1 (no finite chi): ValueError.  Raises what ``fixed_point`` raises where no
    fixed point exists (e.g. ReLU at sigma_b = 0: Q either dies or grows for ever)."""
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    Q, C = float(fp.Q), float(fp.C)
    jac = jacobian(act, Q, C, sigma_w, sigma_b, order=order)
    J = jac.J
    lq, lc = float(J[0, 0]), float(J[1, 1])
    v = (lq - lc, float(J[1, 0]))
    nv = math.hypot(*v)
    v = (1.0, 0.0) if nv == 0 else (v[0] / nv, v[1] / nv)
    name = getattr(act, "name", None) or (f"staircase N={act.N}" if isinstance(act, Staircase) else repr(act))
    # ties (ReLU, leaky ReLU: lambda_Q = chi_1 exactly at C* = 1) count as "not faster": tolerance 1e-9 relative
    # plus the entries' stated error
    tie = 1e-9 * abs(lq) + float(jac.error[0, 0] + jac.error[1, 1])
    return Linearisation(str(name), float(sigma_w), float(sigma_b), Q, C, J, jac.error, lq, lc, v, _xi(lq), _xi(lc),
                         abs(lc) >= abs(lq) - tie, jac.method)


register_equation("qmf_sym.linearisation.jacobian", "paper 1, App. K", "Jacobian of the 2-D layer map (eq. 2-4)")
register_equation("qmf_sym.linearisation.linearise", "paper 1, App. K, sec. 3.1",
                  "eigenvalues lambda_Q, lambda_C = chi at (Q*, C*)")
