"""Weight quantization in the STE model of paper 2: the stationary state (spec §5.2, with its erratum).

The stationary law of w_hat given w* for the Fokker-Planck equation of spec §4.3: a density in
closed form per piece and, under the clipped STE at T = 0, a point mass at each edge of the clip
range (derivations/ste_stationary_edge_mass.md); the self-consistent eps_g* over it.  psi is a
uniform quantizer (b, omega, kind, ste) or any piecewise-constant :class:`qmf_sym.ste.maps.Map`
(a staircase with its surrogate); other maps (identity, tanh, callables) have no closed form here
and raise a ValueError naming psi.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as V
from .._faces import register_equation
from .quantizers import _check_b, _check_omega, _check_ste

__all__ = ["stationary_density", "StationaryState", "stationary_state", "edge_mass", "stationary_branches"]

# spec §5.2.  For a fixed w*, the stationary zero-flux density of  dp/dtau = -(A p)' + (B p)''/2  is
#     G := B p,   G' = (2A/B) G   =>   p = G/B,  G = C exp( int_0^w 2A/B ),
# where A(w) = eta g(w) [kappa w* - s2 psi(w)] - eta lam w,  B(w) = eta^2 g(w)^2 s2 (2 eps + sigma2) + 2 eta T.
# psi and g are piecewise constant: on each piece between consecutive breakpoints (the thresholds
# of psi, and +-clip for the clipped STE) A is affine and B constant, so log G is a quadratic and
# every piece's mass is a Gaussian (lam > 0) or exponential (lam = 0) integral, done in closed form
# in log space (no grid: the density is exact, however sharp).  B p (not p) is continuous at
# breakpoints where B jumps (T > 0 with the clipped STE).
#
# Clipped STE, T = 0 (erratum to spec §5.2, derivations/ste_stationary_edge_mass.md): B = 0 outside
# [-c, c] (c = omega, the clip bound).  There A = -eta lam w points inward, so no density lives
# outside, but the edges are STICKY: a weight that diffuses across c lands O(d^-1/2) outside and needs
# O(d^-1/2) time to shrink back, and the O(d^1/2) such excursions per unit time add up to an O(1)
# fraction of time at the edge.  Stationarity of E[f(w)] for f = w near c (and constant elsewhere)
# gives the exact edge mass
#     M(+c) = B(c-) p(c-) / (2 eta lam c) = G(c-) / (2 eta lam c),   M(-c) = G(-c+) / (2 eta lam c),
# at psi = psi(+-c outside); the interior keeps the zero-flux shape above.  The atoms are large when
# the drift just inside points outward (A(c-) >= 0: p grows towards the edge; for w* = 1, kappa = s2
# = lam = 1 that is omega <= 1/2) and exponentially small when it points inward far from the mode.
# With lam = 0 the weights outside are frozen and the long-time state depends on mu_0, so no unique
# stationary state exists: ValueError.


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
    """Closed-form stationary law for one teacher value: density per piece plus edge atoms (block comment)."""

    def __init__(self, w_star, eta, lam, pieces, kappa, s2, eps_g, sigma2, T):
        br, level, g = pieces
        br = np.asarray(br, dtype=float)
        lo = np.concatenate([[-np.inf], br])
        hi = np.concatenate([br, [np.inf]])
        self.lo, self.hi = lo, hi
        self.level = np.asarray(level, dtype=float)
        g = np.asarray(g, dtype=float)
        self.alpha = eta * g * (kappa * w_star - s2 * self.level)
        self.B = eta**2 * g**2 * s2 * (2.0 * eps_g + sigma2) + 2.0 * eta * T
        self.eta_lam = eta * lam
        self.support = self.B > 0
        if not self.support.any():
            raise ValueError("the diffusion B vanishes everywhere: need eps_g > 0, sigma2 > 0 or T > 0")
        n = len(lo)
        idx = np.flatnonzero(self.support)
        self.first, self.last = int(idx[0]), int(idx[-1])
        if not self.support.all():
            if lam == 0:
                raise ValueError("clipped STE with lam = 0 and T = 0: weights outside [-omega, omega] are frozen, "
                                 "the stationary state depends on the initial law (not unique); use lam > 0")
            if not np.all(self.support[self.first: self.last + 1]):
                raise ValueError("the support of the stationary density is not an interval")
            if not (lo[self.first] < 0 < hi[self.last]):
                raise ValueError("the support of the stationary density must contain 0 (clip bound > 0)")
        # G(w) on piece j: exp(-a w^2 + b w + c), a = eta lam/B_j, b = 2 alpha_j/B_j; log G(0) = 0
        self.a = np.zeros(n)
        self.b = np.zeros(n)
        self.c = np.full(n, -np.inf)
        for j in idx:
            self.a[j] = self.eta_lam / self.B[j]
            self.b[j] = 2.0 * self.alpha[j] / self.B[j]
        j0 = int(np.searchsorted(br, 0.0, side="right"))  # piece containing 0 (right-continuous)

        def set_c(j, x, val):  # fix c_j so that log G(x) = val on piece j
            self.c[j] = val + self.a[j] * x * x - self.b[j] * x

        def logG(j, x):
            return -self.a[j] * x * x + self.b[j] * x + self.c[j]

        set_c(j0, 0.0, 0.0)
        for j in range(j0 + 1, self.last + 1):
            set_c(j, lo[j], logG(j - 1, lo[j]))
        for j in range(j0 - 1, self.first - 1, -1):
            set_c(j, hi[j], logG(j + 1, hi[j]))
        logm = np.full(n, -np.inf)
        for j in idx:
            logm[j] = _log_piece_integral(self.a[j], self.b[j], self.c[j], lo[j], hi[j]) - np.log(self.B[j])
        # edge atoms (sticky edges; block comment): at each finite end e of the support,
        # M(e) = G(e) / (2 eta lam |e|), carrying psi of the piece just outside
        self.atom_at = np.array([lo[self.first], hi[self.last]])
        self.atom_level = np.array([self.level[self.first - 1] if self.first > 0 else np.nan,
                                    self.level[self.last + 1] if self.last < n - 1 else np.nan])
        log_atom = np.full(2, -np.inf)
        for k, (j, e) in enumerate(((self.first, lo[self.first]), (self.last, hi[self.last]))):
            if np.isfinite(e):
                log_atom[k] = logG(j, e) - np.log(2.0 * self.eta_lam * abs(e))
        allm = np.concatenate([logm, log_atom])
        top = allm.max()
        self.logZ = top + np.log(np.sum(np.exp(allm - top)))
        self.mass = np.exp(logm - self.logZ)
        self.atom_mass = np.exp(log_atom - self.logZ)

    def moments(self):
        """(E psi, E psi^2) under the stationary law (density and edge atoms)."""
        am = np.where(self.atom_mass > 0, self.atom_mass, 0.0)
        al = np.where(self.atom_mass > 0, self.atom_level, 0.0)
        return (float(np.sum(self.mass * self.level) + np.sum(am * al)),
                float(np.sum(self.mass * self.level**2) + np.sum(am * al**2)))

    def density(self, w):
        """The continuous part p*(w) (its integral is 1 - the edge masses)."""
        w = np.asarray(w, dtype=float)
        j = np.clip(np.searchsorted(self.hi, w, side="right"), 0, len(self.hi) - 1)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logG = -self.a[j] * w * w + self.b[j] * w + self.c[j]
            p = np.where(self.support[j], np.exp(logG - self.logZ) / np.where(self.support[j], self.B[j], 1.0), 0.0)
        return p


def _weight_pieces(b, omega, kind, ste, psi):
    """(breakpoints, psi per piece, g per piece) from the quantizer (b, omega, kind, ste) or the Map psi
    (qmf_sym.ste.maps.stationary_pieces: ValueError naming psi unless piecewise constant)."""
    from .maps import Map, stationary_pieces

    if psi is None:
        if b is None or omega is None:
            raise ValueError("give the weight quantizer (b and omega) or psi (a piecewise-constant Map)")
        _check_b(b, kind)
        _check_omega(omega)
        _check_ste(ste)
        psi = Map.quantizer(b, omega, kind, ste)
    elif b is not None:
        raise ValueError("give either b (with omega, kind, ste) or psi, not both")
    return stationary_pieces(psi)


def _check_weight_model(eta, lam, kappa, s2, sigma2, T):
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    V.in_closed("kappa", kappa, -np.inf, np.inf)
    V.positive("s2", s2)
    V.nonnegative("sigma2", sigma2)
    V.nonnegative("T", T)
    for name, x in (("eta", eta), ("lam", lam), ("kappa", kappa), ("s2", s2), ("sigma2", sigma2), ("T", T)):
        if isinstance(x, (bool, np.bool_)):
            raise ValueError(f"{name} must be a real number, got {x!r}")


def _check_normalizable(w_star, lam, pieces, kappa, s2, T):
    """lam = 0: the tails need inward drift.  Identity STE (or clipped with T > 0): p* is normalizable
    iff s2 l_max > kappa w* and s2 l_min < kappa w* (l_max, l_min: the outer levels of psi; for odd psi
    s2 l_max > kappa |w*|, spec §5.2, which writes omega = l_max of the endpoints/midtread grids)."""
    if lam > 0:
        return
    br, level, g = pieces
    if g[0] == 0 and g[-1] == 0 and T == 0:
        return  # handled (ValueError: non-unique) in _Pieces
    if g[0] == 0 or g[-1] == 0:
        raise ValueError("clipped STE with lam = 0 and T > 0: pure diffusion outside [-omega, omega], "
                         "no normalizable stationary state; use lam > 0")
    ws = np.atleast_1d(np.asarray(w_star, dtype=float))
    hi_ok = s2 * level[-1] > kappa * ws
    lo_ok = s2 * level[0] < kappa * ws
    if not np.all(hi_ok & lo_ok):
        raise ValueError(f"identity STE with lam = 0: the stationary density is normalizable only if "
                         f"sigma_phi^2 * l_max > kappa |w*| (spec §5.2), got s2 * l_max = {s2 * level[-1]:g}, "
                         f"kappa max|w*| = {kappa * np.abs(ws).max():g}; use lam > 0")


def _where(eta, lam, kappa, s2, sigma2, T, **more):
    """The parameters a failure of the closed-form law happened at, for its message."""
    items = dict(eta=eta, lam=lam, kappa=kappa, s2=s2, sigma2=sigma2, T=T, **more)
    return ", ".join(f"{k}={v!r}" for k, v in items.items())


def stationary_density(w_star, eta, lam, b=None, omega=None, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0,
                       eps_g=0.1, sigma2=0.0, T=0.0, grid=None, psi=None, atoms=False):
    """Stationary law of w_hat given w* of the weight-quantized Fokker-Planck equation (spec §5.2 and
    its erratum, derivations/ste_stationary_edge_mass.md), B evaluated at the given ``eps_g``.

    The continuous part p* = (1/B) exp(int 2A/B) / Z, exact per piece, on ``grid`` (default: 2001
    points on [-1.5 omega - 1, 1.5 omega + 1]) as ``(grid, p)``; under the clipped STE at T = 0 the
    law also has point masses at the clip edges (p integrates to 1 minus them): ``atoms=True``
    returns ``(grid, p, [(position, psi there, mass), ...])``.  psi: a piecewise-constant Map instead
    of (b, omega, kind, ste).
    """
    _check_weight_model(eta, lam, kappa, s2, sigma2, T)
    w_star = V.finite("w_star", w_star)
    eps_g = V.finite("eps_g", V.nonnegative("eps_g", eps_g))
    atoms = V.flag("atoms", atoms)
    if grid is not None:
        grid = V.array("grid", grid, ndim=1)
    pieces = _weight_pieces(b, omega, kind, ste, psi)
    _check_normalizable(w_star, lam, pieces, kappa, s2, T)
    where = _where(eta, lam, kappa, s2, sigma2, T, eps_g=eps_g)
    try:
        pc = _Pieces(w_star, eta, lam, pieces, kappa, s2, eps_g, sigma2, T)
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"no stationary law at {where}: {exc}") from exc
    if grid is None:
        br = pieces[0]
        reach = float(np.max(np.abs(br))) if br.size else 1.0
        L = 1.5 * reach + 1.0
        grid = np.linspace(-L, L, 2001)
    dens = pc.density(grid)
    if not np.all(np.isfinite(dens)):
        raise ValueError(f"the stationary density over/underflows float64 at {where} (the diffusion B is too small)")
    if not atoms:
        return grid, dens
    out = [(float(e), float(lv), float(m)) for e, lv, m in zip(pc.atom_at, pc.atom_level, pc.atom_mass) if m > 0]
    return grid, dens, out


class StationaryState:
    """Self-consistent stationary state of weight quantization (spec §5.2 with the edge-mass erratum).

    Attributes: eps_g, m_psi = E[w* psi], q_psi = E[psi^2], rho = E[w*^2], teacher (points, weights),
    masses (per teacher point: probability of each piece of the density), levels; ``atom_mass``
    (per teacher point: masses at the lower and upper clip edge, 0 without them), ``edge_mass`` (their
    teacher-averaged sum), ``edge_mass_lo`` / ``edge_mass_hi``; ``density(grid, i=0)`` gives the
    continuous part of the law given w*_i on a grid; ``residual`` = eps_g[p*] - eps_g at the root;
    ``at_zero`` is True if the root is eps_g = 0 (the quantized student represents the teacher exactly
    and B vanishes); ``absorbing_zero`` is True if eps_g = 0 is a second, absorbing stationary state that
    the dynamics may reach instead (a level equal to kappa w*/s2 on a piece reaching 0: the sign
    quantizer with omega = w*).
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def density(self, grid, i=0):
        return self._pieces[i].density(grid)

    def as_dict(self):
        """Plain numbers (for JSON): eps_g, m_psi, q_psi, rho, edge masses, residual, at_zero."""
        return dict(eps_g=self.eps_g, m_psi=self.m_psi, q_psi=self.q_psi, rho=self.rho, edge_mass=self.edge_mass,
                    edge_mass_lo=self.edge_mass_lo, edge_mass_hi=self.edge_mass_hi, residual=self.residual,
                    at_zero=self.at_zero, absorbing_zero=self.absorbing_zero)

    def __repr__(self):
        return (f"StationaryState(eps_g={self.eps_g:.6g}, m_psi={self.m_psi:.6g}, q_psi={self.q_psi:.6g}, "
                f"edge_mass={self.edge_mass:.6g})")


def stationary_state(eta, lam, b=None, omega=None, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0, sigma2=0.0,
                     T=0.0, teacher=None, xtol=1e-14, psi=None):
    """Solve eps_g* = (rho - 2 kappa E[w* psi] + s2 E[psi^2])/2 over the stationary law (density and,
    clipped STE at T = 0, the edge masses; spec §5.2 and its erratum).

    ``teacher``: None (w* = 1) or (points, weights) of a discrete teacher law (weights normalised).
    ``psi``: a piecewise-constant :class:`qmf_sym.ste.maps.Map` instead of (b, omega, kind, ste)
    (ValueError naming psi for maps that are not piecewise constant).
    1-D root find (scipy brentq) of F(e) = eps_g[p*(e)] - e on [1e-300-ish, e_max + 1], where
    ``e_max = (rho + 2|kappa| l_max E|w*| + s2 l_max^2)/2`` bounds eps_g[p] for every p, so F < 0 there.
    Identity STE at lam = 0 needs ``s2 l_max > kappa |w*|`` (ValueError otherwise); clipped STE needs
    lam > 0.  kappa, s2 are the input moments (``input_moments``; 1, 1 for unquantized inputs).
    """
    from scipy.optimize import brentq

    _check_weight_model(eta, lam, kappa, s2, sigma2, T)
    if isinstance(xtol, (bool, np.bool_)) or not (0 < V.positive("xtol", xtol) < 1):
        raise ValueError(f"xtol must be in (0, 1) (an absolute tolerance on eps_g), got {xtol!r}")
    pieces = _weight_pieces(b, omega, kind, ste, psi)
    if teacher is None:
        pts, wts = np.array([1.0]), np.array([1.0])
    else:
        if not isinstance(teacher, (tuple, list)) or len(teacher) != 2:
            raise ValueError(f"teacher must be None or (points, weights) of a discrete law, got {teacher!r}")
        pts = V.array("teacher points", teacher[0], ndim=1)
        wts = V.array("teacher weights", teacher[1], ndim=1)
        if pts.shape != wts.shape or pts.size == 0:
            raise ValueError("teacher must be (points, weights) of equal nonzero length")
        V.nonnegative("teacher weights", wts)
        if wts.sum() <= 0:
            raise ValueError("teacher weights must have a positive sum")
        wts = wts / wts.sum()
    _check_normalizable(pts, lam, pieces, kappa, s2, T)
    rho = float(np.sum(wts * pts**2))
    lmax = float(np.max(np.abs(pieces[1])))
    e_hi = 0.5 * (rho + 2 * abs(kappa) * lmax * float(np.sum(wts * np.abs(pts))) + s2 * lmax**2) + 1.0

    def state(e):
        pcs = [_Pieces(w, eta, lam, pieces, kappa, s2, e, sigma2, T) for w in pts]
        mom = np.array([pc.moments() for pc in pcs])
        m_psi = float(np.sum(wts * pts * mom[:, 0]))
        q_psi = float(np.sum(wts * mom[:, 1]))
        return pcs, m_psi, q_psi, 0.5 * (rho - 2 * kappa * m_psi + s2 * q_psi)

    degenerate = sigma2 == 0 and T == 0
    e_lo = 1e-12 * e_hi if degenerate else 0.0
    F = lambda e: state(e)[3] - e  # noqa: E731
    try:
        f_lo = F(e_lo)
        at_zero = False
        if f_lo <= 0:
            root, at_zero = e_lo, True
        else:
            root = brentq(F, e_lo, e_hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=500)
        pcs, m_psi, q_psi, e = state(root)
    except (ValueError, ArithmeticError) as exc:
        raise ValueError(f"no stationary state found at {_where(eta, lam, kappa, s2, sigma2, T)} (float64 "
                         f"over/underflow of the closed-form law): {exc}") from exc
    atom = np.array([pc.atom_mass for pc in pcs])
    # eps_g = 0 is ALSO stationary (and absorbing: B = 0) when every w* has a level psi = kappa w*/s2 whose
    # piece reaches 0 (the ridge pulls towards 0 without leaving it) and kappa^2 = s2, sigma2 = T = 0 -- e.g.
    # the sign quantizer with omega = w* = 1.  The dynamics can end there (particles, SGD) even where the
    # root above is positive: derivations/ste_stationary_edge_mass.md §4.
    br, lev, _ = pieces
    lo_e, hi_e = np.concatenate([[-np.inf], br]), np.concatenate([br, [np.inf]])
    absorbing = bool(degenerate and abs(kappa * kappa - s2) <= 1e-12 * s2 and all(
        np.any((np.abs(lev - kappa * w / s2) <= 1e-12 * max(1.0, abs(w))) & (lo_e <= 0) & (hi_e >= 0)) for w in pts))
    lo_m, hi_m = float(np.sum(wts * atom[:, 0])), float(np.sum(wts * atom[:, 1]))
    return StationaryState(eps_g=float(root), m_psi=m_psi, q_psi=q_psi, rho=rho, teacher=(pts, wts),
                           masses=[pc.mass for pc in pcs], levels=[pc.level for pc in pcs], atom_mass=atom,
                           edge_mass=lo_m + hi_m, edge_mass_lo=lo_m, edge_mass_hi=hi_m,
                           residual=e - root, at_zero=at_zero, absorbing_zero=absorbing, _pieces=pcs)


def edge_mass(eta, lam, b=None, omega=None, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0, sigma2=0.0,
              T=0.0, teacher=None, psi=None):
    """Total stationary point mass at the clip edges (derivations/ste_stationary_edge_mass.md):
    sum over both edges of G(+-c) / (2 eta lam c) at the self-consistent eps_g*; 0 unless the STE is
    clipped and T = 0."""
    return stationary_state(eta, lam, b, omega, kind, ste, kappa, s2, sigma2, T, teacher, psi=psi).edge_mass


register_equation("qmf_sym.ste.stationary_density", "paper 2, spec §5.2 + erratum (stationary law p*(w; w*), "
                  "edge masses G(+-c)/(2 eta lam c))", "closed form per piece")
register_equation("qmf_sym.ste.stationary_state", "paper 2, spec §5.2 + erratum (self-consistent stationary eps_g*)",
                  "brentq on eps_g over the closed-form law")


def stationary_branches(eta, lam, b=None, omega=None, kind="endpoints", ste="clipped", kappa=1.0, s2=1.0, sigma2=0.0,
                        T=0.0, teacher=None, psi=None, n_scan=400):
    """ALL self-consistent stationary states: the roots of F(e) = eps_g[p*(e)] - e on (0, e_max], found by a
    log scan of ``n_scan`` points and brentq on each sign change (derivations/ste_uses.md §3).

    Returns a list of (eps_g, stable) sorted by eps_g; ``stable`` is True where F crosses downwards (the
    fixed-point iteration e -> eps_g[p*(e)] is attracted; a heuristic for the dynamics, checked against
    particles in tests/test_ste_uses.py).  One root for the figure settings; at large eta several (a
    high-error branch).  A root closer than the scan spacing to another may be missed (a double root)."""
    from scipy.optimize import brentq

    n_scan = V.integer("n_scan", n_scan, 10, 10 ** 6, "one closed-form law per scan point")
    base = stationary_state(eta, lam, b, omega, kind, ste, kappa, s2, sigma2, T, teacher, psi=psi)
    pts, wts = base.teacher
    pieces = _weight_pieces(b, omega, kind, ste, psi)
    rho = base.rho
    lmax = float(np.max(np.abs(pieces[1])))
    e_hi = 0.5 * (rho + 2 * abs(kappa) * lmax * float(np.sum(wts * np.abs(pts))) + s2 * lmax**2) + 1.0

    def F(e):
        mom = np.array([_Pieces(w, eta, lam, pieces, kappa, s2, e, sigma2, T).moments() for w in pts])
        return 0.5 * (rho - 2 * kappa * float(np.sum(wts * pts * mom[:, 0])) + s2 * float(np.sum(wts * mom[:, 1]))) - e

    es = np.geomspace(1e-9 * e_hi, e_hi, n_scan)
    Fs = np.array([F(e) for e in es])
    roots = []
    for i in np.flatnonzero(np.sign(Fs[:-1]) != np.sign(Fs[1:])):
        r = brentq(F, es[i], es[i + 1], xtol=1e-14, rtol=4 * np.finfo(float).eps)
        roots.append((float(r), bool(Fs[i] > 0)))
    if base.at_zero:
        roots.insert(0, (0.0, True))
    return roots
