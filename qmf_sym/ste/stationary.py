"""Weight quantization in the STE model of paper 2: the stationary state (spec §5.2).

The stationary zero-flux density p*(w | w*) of the Fokker-Planck equation for a fixed teacher
value, in closed form per piece, and the self-consistent eps_g* over it (the block comment below).
"""
from __future__ import annotations

import numpy as np

from .. import _validate as V
from .._faces import register_equation
from .quantizers import _check_b, _check_omega, _check_ste, quantize, quantizer_grid, ste_grad

__all__ = ["stationary_density", "StationaryState", "stationary_state"]

# spec §5.2.  For a fixed w*, the stationary zero-flux density of  dp/dtau = -(A p)' + (B p)''/2  is
#     G := B p,   G' = (2A/B) G   =>   p = G/B,  G = C exp( int_0^w 2A/B ),
# where A(w) = eta g(w) [kappa w* - s2 psi(w)] - eta lam w,  B(w) = eta^2 g(w)^2 s2 (2 eps + sigma2) + 2 eta T.
# psi and g are piecewise constant: on each piece between consecutive breakpoints (the thresholds
# of psi, and +-omega for the clipped STE) A is affine and B constant, so log G is a quadratic and
# every piece's mass is a Gaussian (lam > 0) or exponential (lam = 0) integral, done in closed form
# in log space (no grid: the density is exact, however sharp).  B p (not p) is continuous at
# breakpoints where B jumps (T > 0 with the clipped STE).
#
# Clipped STE, T = 0: B = 0 outside [-omega, omega].  There A = -eta lam w points inward, a weight
# outside only shrinks back, and in the stationary state the zero-flux condition A p = 0 forces
# p = 0 outside (for lam > 0): the density is the formula restricted to [-omega, omega] (+-omega act
# as reflecting walls).  With lam = 0 the weights outside are frozen and the long-time state depends
# on mu_0, so no unique stationary state exists: ValueError.


def _log_piece_integral(a, b, c, lo, hi):
    """log int_lo^hi exp(-a w^2 + b w + c) dw (a >= 0; lo may be -inf, hi +inf); -inf if empty.

    Evaluated relative to the integrand's maximum on [lo, hi] (erfcx / expm1 forms: no overflow,
    no cancellation).  Raises ValueError if the integral diverges.
    """
    from scipy.special import erfcx, ndtr

    if not hi > lo:
        return -np.inf
    if a == 0.0:
        if (b > 0 and hi == np.inf) or (b < 0 and lo == -np.inf) or (b == 0 and not np.isfinite(hi - lo)):
            raise ValueError("the stationary density is not normalizable (a tail does not decay)")
        if b == 0:
            return c + np.log(hi - lo)
        xe = hi if b > 0 else lo  # the maximum edge
        width = hi - lo
        tail = 1.0 if not np.isfinite(width) else -np.expm1(-abs(b) * width)
        return b * xe + c + np.log(tail) - np.log(abs(b))
    mu = b / (2.0 * a)
    fmax = c + b * b / (4.0 * a)
    sa = np.sqrt(a)
    if lo <= mu <= hi:
        s = np.sqrt(2.0 * a)
        mass = ndtr(s * (hi - mu)) - ndtr(s * (lo - mu))
        return fmax + 0.5 * np.log(np.pi / a) + np.log(mass)
    # monotone on the piece: reflect so that the piece lies to the right of mu
    if lo > mu:
        ue, uf = sa * (lo - mu), sa * (hi - mu)
    else:
        ue, uf = sa * (mu - hi), sa * (mu - lo)
    fe = fmax - ue * ue
    second = 0.0 if uf == np.inf else erfcx(uf) * np.exp(ue * ue - uf * uf)
    return fe + np.log(0.5 * np.sqrt(np.pi) / sa) + np.log(erfcx(ue) - second)


class _Pieces:
    """Closed-form stationary density for one teacher value (see the block comment above)."""

    def __init__(self, w_star, eta, lam, b, omega, kind, ste, kappa, s2, eps_g, sigma2, T):
        lv, th = quantizer_grid(b, omega, kind)
        br = list(th)
        if ste == "clipped":
            br += [-float(omega), float(omega)]
        br = np.unique(np.array(br, dtype=float))
        lo = np.concatenate([[-np.inf], br])
        hi = np.concatenate([br, [np.inf]])
        mid = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), np.where(np.isfinite(lo), lo + 1.0, hi - 1.0))
        self.lo, self.hi = lo, hi
        self.level = quantize(mid, b, omega, kind)
        g = ste_grad(mid, omega, ste)
        self.alpha = eta * g * (kappa * w_star - s2 * self.level)
        self.B = eta**2 * g**2 * s2 * (2.0 * eps_g + sigma2) + 2.0 * eta * T
        self.eta_lam = eta * lam
        self.support = self.B > 0
        if not self.support.any():
            raise ValueError("the diffusion B vanishes everywhere: need eps_g > 0, sigma2 > 0 or T > 0")
        if not self.support.all():
            if lam == 0:
                raise ValueError("clipped STE with lam = 0 and T = 0: weights outside [-omega, omega] are frozen, "
                                 "the stationary state depends on the initial law (not unique); use lam > 0")
            # the region with B = 0 must be outside the support, where A = -eta lam w points inward
            idx = np.flatnonzero(self.support)
            if not np.all(self.support[idx[0]: idx[-1] + 1]):
                raise ValueError("the support of the stationary density is not an interval")
        # log G at the piece edges, accumulated from w = 0 (0 lies in the support)
        n = len(lo)
        self.a = np.zeros(n)
        self.b = np.zeros(n)
        self.c = np.full(n, -np.inf)
        # G(w) on piece j: exp(-a w^2 + b w + c), a = eta lam/B_j, b = 2 alpha_j/B_j
        j0 = int(np.searchsorted(br, 0.0, side="right"))  # piece containing 0 (right-continuous)
        logG_edge = {}

        def seg(j, x1, x2):  # int_{x1}^{x2} 2A/B on piece j
            return (2.0 / self.B[j]) * (self.alpha[j] * (x2 - x1) - 0.5 * self.eta_lam * (x2 * x2 - x1 * x1))

        for j in range(n):
            if not self.support[j]:
                continue
            self.a[j] = self.eta_lam / self.B[j]
            self.b[j] = 2.0 * self.alpha[j] / self.B[j]
        # anchor: log G(0) = 0 on piece j0; walk right and left
        def set_c(j, x, val):  # fix c_j so that log G(x) = val on piece j
            self.c[j] = val + self.a[j] * x * x - self.b[j] * x

        set_c(j0, 0.0, 0.0)
        for j in range(j0 + 1, n):
            if not self.support[j]:
                break
            x = lo[j]
            val = -self.a[j - 1] * x * x + self.b[j - 1] * x + self.c[j - 1]
            set_c(j, x, val)
        for j in range(j0 - 1, -1, -1):
            if not self.support[j]:
                break
            x = hi[j]
            val = -self.a[j + 1] * x * x + self.b[j + 1] * x + self.c[j + 1]
            set_c(j, x, val)
        logm = np.full(n, -np.inf)
        for j in range(n):
            if self.support[j]:
                logm[j] = _log_piece_integral(self.a[j], self.b[j], self.c[j], lo[j], hi[j]) - np.log(self.B[j])
        top = logm.max()
        self.logZ = top + np.log(np.sum(np.exp(logm - top)))
        self.mass = np.exp(logm - self.logZ)
        self._seg = seg

    def moments(self):
        """(E psi, E psi^2) under the stationary density."""
        return float(np.sum(self.mass * self.level)), float(np.sum(self.mass * self.level**2))

    def density(self, w):
        w = np.asarray(w, dtype=float)
        j = np.clip(np.searchsorted(self.hi, w, side="right"), 0, len(self.hi) - 1)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logG = -self.a[j] * w * w + self.b[j] * w + self.c[j]
            p = np.where(self.support[j], np.exp(logG - self.logZ) / np.where(self.support[j], self.B[j], 1.0), 0.0)
        return p


def _check_weight_model(eta, lam, b, omega, kind, ste, kappa, s2, sigma2, T):
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    _check_b(b, kind)
    _check_omega(omega)
    _check_ste(ste)
    V.in_closed("kappa", kappa, -np.inf, np.inf)
    V.positive("s2", s2)
    V.nonnegative("sigma2", sigma2)
    V.nonnegative("T", T)


def _check_normalizable(w_star, lam, b, omega, kind, ste, kappa, s2, T):
    """Identity STE (or clipped with T > 0) at lam = 0: p* normalizable iff s2 * l_max > kappa |w*|.

    l_max is the top level of psi: omega for "endpoints"/"midtread", omega (1 - 2^-b) for "cells"
    (spec §5.2 writes omega, which is the endpoints/midtread case).
    """
    if lam > 0:
        return
    if ste == "clipped" and T == 0:
        return  # handled (ValueError: non-unique) in _Pieces
    if ste == "clipped":
        raise ValueError("clipped STE with lam = 0 and T > 0: pure diffusion outside [-omega, omega], "
                         "no normalizable stationary state; use lam > 0")
    lmax = float(quantizer_grid(b, omega, kind)[0][-1])
    ws = np.abs(np.atleast_1d(np.asarray(w_star, dtype=float)))
    if not np.all(s2 * lmax > kappa * ws):
        raise ValueError(f"identity STE with lam = 0: the stationary density is normalizable only if "
                         f"sigma_phi^2 * l_max > kappa |w*| (spec §5.2), got s2 * l_max = {s2 * lmax:g}, "
                         f"kappa max|w*| = {kappa * ws.max():g}; use lam > 0")


def stationary_density(w_star, eta, lam, b, omega, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0,
                       eps_g=0.1, sigma2=0.0, T=0.0, grid=None):
    """Stationary zero-flux density p*(w | w*) of the weight-quantized Fokker-Planck equation (spec §5.2).

    p* = (1/B) exp(int 2A/B) / Z with B evaluated at the given ``eps_g``, exact per piece (see the
    block comment: clipped STE, T = 0, lam > 0 -> support [-omega, omega]).  Returns p* on ``grid``
    (default: 2001 points on [-1.5 omega - 1, 1.5 omega + 1]) as ``(grid, p)``.
    """
    _check_weight_model(eta, lam, b, omega, kind, ste, kappa, s2, sigma2, T)
    V.in_closed("w_star", w_star, -np.inf, np.inf)
    V.nonnegative("eps_g", eps_g)
    _check_normalizable(w_star, lam, b, omega, kind, ste, kappa, s2, T)
    pc = _Pieces(float(w_star), eta, lam, b, omega, kind, ste, kappa, s2, eps_g, sigma2, T)
    if grid is None:
        L = 1.5 * float(omega) + 1.0
        grid = np.linspace(-L, L, 2001)
    grid = np.asarray(grid, dtype=float)
    return grid, pc.density(grid)


class StationaryState:
    """Self-consistent stationary state of weight quantization (spec §5.2).

    Attributes: eps_g, m_psi = E[w* psi], q_psi = E[psi^2], rho = E[w*^2], teacher (points, weights),
    masses (per teacher point: probability of each piece), levels; ``density(grid, i=0)`` gives
    p*(w | w*_i) on a grid; ``residual`` = eps_g[p*] - eps_g at the root; ``at_zero`` is True if the
    root is eps_g = 0 (the quantized student represents the teacher exactly and B vanishes).
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def density(self, grid, i=0):
        return self._pieces[i].density(grid)

    def __repr__(self):
        return f"StationaryState(eps_g={self.eps_g:.6g}, m_psi={self.m_psi:.6g}, q_psi={self.q_psi:.6g})"


def stationary_state(eta, lam, b, omega, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0, sigma2=0.0,
                     T=0.0, teacher=None, xtol=1e-14):
    """Solve eps_g* = (rho - 2 kappa E[w* psi] + s2 E[psi^2])/2 over p*(.|w*; eps_g*) (spec §5.2).

    ``teacher``: None (w* = 1) or (points, weights) of a discrete teacher law (weights normalised).
    1-D root find (scipy brentq) of F(e) = eps_g[p*(e)] - e on [1e-300-ish, e_max + 1], where
    e_max = (rho + 2|kappa| l_max E|w*| + s2 l_max^2)/2 bounds eps_g[p] for every p, so F < 0 there.
    Identity STE at lam = 0 needs s2 l_max > kappa |w*| (ValueError otherwise); clipped STE needs
    lam > 0.  kappa, s2 are the input moments (``input_moments``; 1, 1 for unquantized inputs).
    """
    from scipy.optimize import brentq

    _check_weight_model(eta, lam, b, omega, kind, ste, kappa, s2, sigma2, T)
    if not (0 < V.positive("xtol", xtol) < 1):
        raise ValueError(f"xtol must be in (0, 1) (an absolute tolerance on eps_g), got {xtol!r}")
    if teacher is None:
        pts, wts = np.array([1.0]), np.array([1.0])
    else:
        pts = np.atleast_1d(np.asarray(teacher[0], dtype=float))
        wts = np.atleast_1d(np.asarray(teacher[1], dtype=float))
        if pts.shape != wts.shape or pts.size == 0:
            raise ValueError("teacher must be (points, weights) of equal nonzero length")
        V.in_closed("teacher points", pts, -np.inf, np.inf)
        V.nonnegative("teacher weights", wts)
        if wts.sum() <= 0:
            raise ValueError("teacher weights must have a positive sum")
        wts = wts / wts.sum()
    _check_normalizable(pts, lam, b, omega, kind, ste, kappa, s2, T)
    rho = float(np.sum(wts * pts**2))
    lmax = float(quantizer_grid(b, omega, kind)[0][-1])
    e_hi = 0.5 * (rho + 2 * abs(kappa) * lmax * float(np.sum(wts * np.abs(pts))) + s2 * lmax**2) + 1.0

    def state(e):
        pcs = [_Pieces(w, eta, lam, b, omega, kind, ste, kappa, s2, e, sigma2, T) for w in pts]
        mom = np.array([pc.moments() for pc in pcs])
        m_psi = float(np.sum(wts * pts * mom[:, 0]))
        q_psi = float(np.sum(wts * mom[:, 1]))
        return pcs, m_psi, q_psi, 0.5 * (rho - 2 * kappa * m_psi + s2 * q_psi)

    degenerate = sigma2 == 0 and T == 0
    e_lo = 1e-12 * e_hi if degenerate else 0.0
    F = lambda e: state(e)[3] - e  # noqa: E731
    f_lo = F(e_lo)
    at_zero = False
    if f_lo <= 0:
        root, at_zero = e_lo, True
    else:
        root = brentq(F, e_lo, e_hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=500)
    pcs, m_psi, q_psi, e = state(root)
    return StationaryState(eps_g=float(root), m_psi=m_psi, q_psi=q_psi, rho=rho, teacher=(pts, wts),
                           masses=[pc.mass for pc in pcs], levels=[pc.level for pc in pcs],
                           residual=e - root, at_zero=at_zero, _pieces=pcs)


register_equation("qmf_sym.ste.stationary_density", "paper 2, spec §5.2 (stationary zero-flux density p*(w; w*))",
                  "closed form per piece")
register_equation("qmf_sym.ste.stationary_state", "paper 2, spec §5.2 (self-consistent stationary eps_g*)",
                  "brentq on eps_g over the closed-form density")
