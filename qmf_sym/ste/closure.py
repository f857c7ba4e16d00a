"""Order-parameter ODEs (closures) for weight quantization in the STE model of paper 2 (spec §4.4 iv):
fast deterministic approximations of the McKean--Vlasov dynamics whose exact form is the
Fokker--Planck equation (spec §4.3).  Derivation: derivations/ste_closures.md.

Per teacher value w* the generator gives, for f = w and f = w^2 (Ito),

    d/dtau E w   = E A,           d/dtau E w^2 = 2 E[w A] + E B,
    A = eta g(w) (kappa w* - s2 psi(w)) - eta lam R(w),   B = eta^2 g(w)^2 s2 (2 eps_g + sigma^2) + 2 eta T,

with R(w) = w (ridge on the latent weight) or g(w) psi(w) (ridge on psi, spec §8 item 3).  Not closed:
E A needs the law of w.  Two closures:

* ``'gaussian'`` (spec §4.4 iv): w | w* ~ N(mu, v); d mu = E A, d v = 2 E[(w - mu) A] + E B.
* ``'split'`` (derived here): with a surrogate that vanishes outside [-c, c] (the clipped STE) and
  T = 0, a weight outside gets neither gradient nor noise: it only shrinks, w(tau) = w0 exp(-r tau)
  (r = eta lam for the latent ridge, 0 for the ridge on psi), until it re-enters at +-c.  That part of
  the law is known EXACTLY from mu_0 (the plateau of spec §5.4); only the re-entered / never-outside
  mass pi(tau) is closed as a Gaussian (moments S1 = pi mu, S2 = pi (v + mu^2)), and the mass that
  re-enters between two steps is added at +-c (moment matching).  For T > 0 or a surrogate that never
  vanishes it equals the Gaussian closure.

Expectations under N(mu, v): closed forms for piecewise-constant psi and g (cells: P = Phi(b) - Phi(a),
E[(w - mu) 1_cell] = sqrt(v) (n(a) - n(b)); qmf_sym.gaussian); Gauss--Hermite (96 nodes) for the
smooth compiled maps (tanh, identity); a 4001-point Simpson rule on mu +- 12 sqrt(v) for callables
(Gauss--Hermite fails for step functions, spec §4.4 iv).  Time stepping: classical RK4 with a fixed
step ``dt`` (default 0.2; the re-entry influx enters half before and half after each step, a second-order
splitting).  Measured at b = 3, omega = 0.5 to tau = 160 against dt = 0.02: Gaussian 6e-10, split 5e-6
at dt = 0.2 (2.6e-5 at dt = 0.4).  Float64 only: these are approximations (their error against the PDE is measured
by ``qmf_sim.experiments.ste_figures.closure_errors``), not closed forms.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as V
from .. import gaussian as G
from .._faces import register_equation
from .maps import Map, stationary_pieces

__all__ = ["CLOSURES", "gauss_expectations", "solve_closure", "initial_law_cdf"]

CLOSURES = ("gaussian", "split")
_GH = np.polynomial.hermite_e.hermegauss(96)
_GH = (_GH[0], _GH[1] / _GH[1].sum())


STEPS_MAX = 10 ** 7
"""The most RK steps (tau_max / dt) of :func:`solve_closure` (~10**5 steps per second)."""


def gauss_expectations(psi, mu, v):
    """E over w ~ N(mu, v) (arrays mu, v of the same shape) of g, g psi, psi, psi^2, g^2 and of
    (w - mu) g, (w - mu) g psi: a dict of arrays.  Closed form for staircases, quadrature otherwise.
    ``mu`` finite, ``v`` finite and >= 0."""
    if not isinstance(psi, Map):
        raise ValueError(f"psi must be a qmf_sym.ste.maps.Map, got {type(psi).__name__}")
    mu = V.array("mu", mu)
    v = V.nonnegative("v", V.array("v", v))
    if mu.shape != v.shape:
        raise ValueError(f"mu and v must have the same shape, got {mu.shape} and {v.shape}")
    return _gauss_expectations(psi, mu, v)


def _gauss_expectations(psi, mu, v):
    """:func:`gauss_expectations` on validated arrays (round-off v < 0 clamped to 0; NaN propagates)."""
    mu = np.asarray(mu, dtype=float)
    s = np.sqrt(np.maximum(np.asarray(v, dtype=float), 0.0))
    if psi.kind == "staircase":
        br, lev, g = stationary_pieces(psi)
        sd = np.maximum(s, 1e-300)[..., None]
        z = (br - mu[..., None]) / sd
        edges = np.concatenate([np.full(z.shape[:-1] + (1,), -np.inf), z, np.full(z.shape[:-1] + (1,), np.inf)], -1)
        P = G.cell_probability.f64(edges[..., :-1], edges[..., 1:])
        n = G.pdf.f64(edges)
        dn = s[..., None] * (n[..., :-1] - n[..., 1:])  # E[(w - mu) 1_cell]
        f = dict(g=g, gpsi=g * lev, psi=lev, psi2=lev * lev, g2=g * g)
        out = {k: P @ val for k, val in f.items()}
        out["cg"] = dn @ g
        out["cgpsi"] = dn @ (g * lev)
        return out
    if psi.kind == "callable":
        z = np.linspace(-12.0, 12.0, 4001)
        wq = np.full(z.size, 2.0)
        wq[1::2] = 4.0
        wq[0] = wq[-1] = 1.0
        wq *= (z[1] - z[0]) / 3.0 * G.pdf.f64(z)
    else:
        z, wq = _GH
    w = mu[..., None] + s[..., None] * z
    ps, g = psi.forward(w), psi.surrogate(w)
    sz = s[..., None] * z
    return dict(g=g @ wq, gpsi=(g * ps) @ wq, psi=ps @ wq, psi2=(ps * ps) @ wq, g2=(g * g) @ wq,
                cg=(sz * g) @ wq, cgpsi=(sz * g * ps) @ wq)


def initial_law_cdf(init, scale):
    """(F0, variance) of the initial latent law of the STE model: 'gaussian' N(0, s^2), 'uniform' on
    [-s sqrt3, s sqrt3], 'rademacher' +-s, 'zeros' (F0 right-continuous, vectorised)."""
    V.choice("init", init, ("gaussian", "uniform", "rademacher", "zeros"))
    s = V.finite("scale", V.nonnegative("scale", scale))
    if init == "gaussian" and s > 0:
        return (lambda x: G.cdf.f64(np.asarray(x, dtype=float) / s)), s * s
    if init == "uniform" and s > 0:
        a = s * math.sqrt(3.0)
        return (lambda x: np.clip((np.asarray(x, dtype=float) + a) / (2 * a), 0.0, 1.0)), s * s
    if init == "rademacher" and s > 0:
        return (lambda x: 0.5 * (np.asarray(x, dtype=float) >= -s) + 0.5 * (np.asarray(x, dtype=float) >= s)), s * s
    return (lambda x: (np.asarray(x, dtype=float) >= 0).astype(float)), 0.0


def _restricted_moments(init, scale, c):
    """(P(|w0| <= c), E[w0 1], E[w0^2 1]) over the initial law restricted to [-c, c]."""
    s = float(scale)
    if init == "zeros" or s == 0:
        return 1.0, 0.0, 0.0
    if init == "rademacher":
        return (1.0, 0.0, s * s) if s <= c else (0.0, 0.0, 0.0)
    if init == "uniform":
        a = s * math.sqrt(3.0)
        e = min(a, c)
        return e / a, 0.0, e**3 / (3 * a)
    a = c / s
    P = float(G.cell_probability.f64(-a, a))
    return P, 0.0, s * s * (P - 2.0 * a * float(G.pdf.f64(a)))


def solve_closure(tau, psi, kappa, s2, eta, lam, sigma2=0.0, T=0.0, rho=1.0, teacher=(np.ones(1), np.ones(1)),
                  init="gaussian", init_scale=1.0, ridge="latent", closure="gaussian", dt=0.2):
    """eps_g(tau) and (m_psi, q_psi)(tau) of an order-parameter closure (module docstring).

    ``psi``: the weight :class:`~qmf_sym.ste.maps.Map` (with its surrogate); kappa, s2 of the input map
    (spec §4.1); ``teacher`` = (values, probabilities) of w*; ``init``/``init_scale`` the law of w0.
    Returns a dict with 'tau', 'eps', 'm_psi', 'q_psi' (float64 arrays) and 'diverged' (bool).
    """
    if not isinstance(psi, Map):
        raise ValueError(f"psi must be a qmf_sym.ste.maps.Map, got {type(psi).__name__}")
    V.choice("closure", closure, CLOSURES)
    V.choice("ridge", ridge, ("latent", "psi"))
    for nm, x in (("eta", eta), ("s2", s2), ("dt", dt)):
        V.positive(nm, x)
    for nm, x in (("lam", lam), ("sigma2", sigma2), ("T", T), ("rho", rho)):
        V.nonnegative(nm, x)
    V.finite("kappa", kappa)
    V.finite("init_scale", V.nonnegative("init_scale", init_scale))
    tau = V.nonnegative("tau", V.array("tau", tau))
    steps = float(np.max(tau)) / float(dt)
    if steps > STEPS_MAX:
        raise ValueError(f"dt = {dt!r} too small for tau up to {float(np.max(tau))!r}: {steps:.3g} steps, above the "
                         f"bound {STEPS_MAX:.0e}")
    if not isinstance(teacher, (tuple, list)) or len(teacher) != 2:
        raise ValueError(f"teacher must be (values, probabilities) of w*, got {teacher!r}")
    wst = V.array("teacher values", teacher[0], ndim=1)
    pw = V.nonnegative("teacher probabilities", V.array("teacher probabilities", teacher[1], ndim=1))
    F0, var0 = initial_law_cdf(init, init_scale)
    c = psi.clip if psi.kind in ("staircase", "identity") else math.inf
    split = closure == "split" and math.isfinite(c) and T == 0
    r = eta * lam if ridge == "latent" else 0.0
    nT = wst.size
    if split:
        pi0, s10, s20 = _restricted_moments(init, init_scale, c)
        br, lev, _ = stationary_pieces(psi)
        out_br = np.concatenate([[-np.inf], br, [np.inf]])
    else:
        pi0, s10, s20 = 1.0, 0.0, var0
    S = np.tile([pi0, s10, s20], (nT, 1)).astype(float)  # per teacher node: pi, S1, S2

    def outside_all(t):
        """Per time in the array t: (mass beyond +c, beyond -c, E psi 1_out, E psi^2 1_out) of the
        never re-entered weights (latent w = w0 exp(-r t) in a piece (lo, hi) outside [-c, c] <=> w0 in
        (lo, hi) exp(r t))."""
        t = np.asarray(t, dtype=float)
        if not split:
            z = np.zeros(t.shape)
            return z, z, z, z
        e = np.exp(r * t)[:, None]
        x = c * e
        below = lambda y: F0(np.nextafter(y, -np.inf))  # noqa: E731  P(w0 < y)
        Pp, Pm = 1.0 - F0(x[:, 0]), below(-x[:, 0])
        lo, hi = out_br[None, :-1] * e, out_br[None, 1:] * e
        a, b = np.maximum(lo, x), hi
        P = np.where(b > a, F0(b) - F0(np.minimum(a, b)), 0.0)
        a, b = lo, np.minimum(hi, -x)
        P += np.where(b > a, below(b) - below(np.minimum(a, b)), 0.0)
        return Pp, Pm, P @ lev, P @ (lev * lev)

    def moments(S, o):
        pi = S[:, 0]
        ok = pi > 1e-14
        mu = np.where(ok, S[:, 1] / np.where(ok, pi, 1.0), 0.0)
        v = np.where(ok, S[:, 2] / np.where(ok, pi, 1.0) - mu * mu, 0.0)
        v = np.maximum(v, 1e-14)
        E = _gauss_expectations(psi, mu, v)
        opsi, opsi2 = o
        m_psi = float(pw @ (wst * (pi * E["psi"] + opsi)))
        q_psi = float(pw @ (pi * E["psi2"] + opsi2))
        return pi, mu, v, E, m_psi, q_psi

    def rhs(S, o):
        pi, mu, v, E, m_psi, q_psi = moments(S, o)
        eps = 0.5 * (rho - 2 * kappa * m_psi + s2 * q_psi)
        if ridge == "latent":
            R, cR = mu, v
        else:
            R, cR = E["gpsi"], E["cgpsi"]
        EA = eta * (kappa * wst * E["g"] - s2 * E["gpsi"]) - eta * lam * R
        cA = eta * (kappa * wst * E["cg"] - s2 * E["cgpsi"]) - eta * lam * cR
        EB = eta**2 * s2 * (2 * eps + sigma2) * E["g2"] + 2 * eta * T
        d1 = pi * EA
        d2 = pi * (2 * (cA + mu * EA) + EB)
        return np.stack([np.zeros_like(pi), d1, d2], axis=1)

    t_end = float(tau.max()) if tau.size else 0.0
    n = max(1, int(math.ceil(t_end / dt - 1e-9)))
    h = t_end / n if t_end > 0 else 0.0
    grid = np.linspace(0.0, t_end, n + 1)
    og, om = outside_all(grid), outside_all(grid[:-1] + 0.5 * h)  # the frozen part at the RK4 stages
    eps_g, mps, qps = np.empty(n + 1), np.empty(n + 1), np.empty(n + 1)
    diverged = False
    for k in range(n + 1):
        o0 = (og[2][k], og[3][k])
        _, _, _, _, m_psi, q_psi = moments(S, o0)
        eps_g[k], mps[k], qps[k] = 0.5 * (rho - 2 * kappa * m_psi + s2 * q_psi), m_psi, q_psi
        if not np.isfinite(eps_g[k]) or eps_g[k] > 1e4 or not np.all(np.isfinite(S)):
            eps_g[k:], mps[k:], qps[k:] = np.nan, np.nan, np.nan
            diverged = True
            break
        if k == n:
            break
        om_k, o1 = (om[2][k], om[3][k]), (og[2][k + 1], og[3][k + 1])
        if split:  # re-entry at +-c of the mass crossing back during the step: half before, half after
            dp, dm = og[0][k] - og[0][k + 1], og[1][k] - og[1][k + 1]
            influx = 0.5 * np.array([dp + dm, c * (dp - dm), c * c * (dp + dm)])[None, :]
            S = S + influx
        k1 = rhs(S, o0)
        k2 = rhs(S + 0.5 * h * k1, om_k)
        k3 = rhs(S + 0.5 * h * k2, om_k)
        k4 = rhs(S + h * k3, o1)
        S = S + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if split:
            S = S + influx
    ip = lambda y: np.interp(tau, grid, y)  # noqa: E731
    return dict(tau=tau, eps=ip(eps_g), m_psi=ip(mps), q_psi=ip(qps), diverged=diverged)


register_equation("qmf_sym.ste.closure.solve_closure",
                  "paper 2, spec §4.4 (iv) (Gaussian closure; split closure with the exact frozen mass)",
                  "RK4 on the closed moment ODEs (approximations, errors measured against the PDE)")
