"""Closed forms of the STE learning-dynamics model of paper 2 (Ichikawa, Kashiwamura & Sakata,
arXiv:2510.10693), as reconstructed in ``shared/specs/ste_dynamics.md`` ("spec").

Part 1 (this block): the uniform b-bit quantizers of spec §2.2 (every grid kind of spec §8 item 1),
the STE surrogate derivative of spec §2.3, and the Gaussian input moments
kappa = E[z phi(z)], sigma2 = E[phi(z)^2] of spec §4.1.

Conventions: every quantizer is a non-decreasing odd staircase, right-continuous at its thresholds
(a tie u = theta goes to the upper level, as H(0) = 1 in eq. 13 of paper 1); ties have probability
0 under any density and never enter a mean-field quantity.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import _validate as V

KINDS = ("endpoints", "cells", "midtread")
STES = ("clipped", "identity")
B_MAX = 30  # 2^30 levels: beyond this the grids would not fit in memory


# ---------------------------------------------------------------------------- validation
def _check_kind(kind):
    return V.choice("kind", kind, set(KINDS))


def _check_b(b, kind):
    _check_kind(kind)
    lo = 2 if kind == "midtread" else 1
    return V.integer("b", b, lo, B_MAX)


def _check_omega(omega):
    return V.positive("omega", omega)


def _check_ste(ste):
    return V.choice("ste", ste, set(STES))


# ---------------------------------------------------------------------------- unit grids (exact)
def _unit_grid_exact(b, kind):
    """Levels and thresholds of the quantizer with omega = 1, as Fractions (spec §2.2).

    endpoints: Delta = 2/(2^b - 1), levels -1 + k Delta (k = 0..2^b-1), thresholds at the midpoints.
    cells:     Delta = 2/2^b,       levels -1 + (k + 1/2) Delta,         thresholds -1 + k Delta (k=1..2^b-1).
    midtread:  Delta = 1/(2^(b-1) - 1), levels k Delta (|k| <= 2^(b-1)-1), thresholds (k + 1/2) Delta.
    """
    if kind == "endpoints":
        n = 2**b
        D = Fraction(2, n - 1)
        levels = [-1 + k * D for k in range(n)]
    elif kind == "cells":
        n = 2**b
        D = Fraction(2, n)
        levels = [-1 + (k + Fraction(1, 2)) * D for k in range(n)]
    else:  # midtread
        K = 2 ** (b - 1) - 1
        D = Fraction(1, K)
        levels = [k * D for k in range(-K, K + 1)]
    thresholds = [(a + c) / 2 for a, c in zip(levels, levels[1:])]
    return levels, thresholds


def _unit_grid_float(b, kind):
    """float64 unit grid from integer numerators (exactly symmetric; no Fraction lists for large b)."""
    if kind == "endpoints":
        n = 2**b - 1  # levels (2k - n)/n, thresholds (2k + 1 - n)/n
        k = np.arange(n + 1, dtype=float)
        levels = (2.0 * k - n) / n
        thresholds = (2.0 * k[:-1] + 1.0 - n) / n
    elif kind == "cells":
        n = 2**b  # levels (2k + 1 - n)/n, thresholds (2k - n)/n
        k = np.arange(n, dtype=float)
        levels = (2.0 * k + 1.0 - n) / n
        thresholds = (2.0 * k[1:] - n) / n
    else:
        K = 2 ** (b - 1) - 1  # levels k/K, thresholds (2k + 1)/(2K)
        k = np.arange(-K, K + 1, dtype=float)
        levels = k / K
        thresholds = (2.0 * k[:-1] + 1.0) / (2.0 * K)
    return levels, thresholds


def quantizer_grid(b, omega, kind="endpoints"):
    """Levels and thresholds of the piecewise-constant quantizer Q_{b,omega} of spec §2.2.

    Returns ``(levels, thresholds)`` (float64 arrays, lengths L and L-1): Q(u) = levels[k] for
    thresholds[k-1] <= u < thresholds[k] (right-continuous).  endpoints: L = 2^b levels on
    [-omega, omega] including +-omega; cells (midrise): L = 2^b, levels +-Delta/2 .. +-(omega - Delta/2);
    midtread: L = 2^b - 1 levels including 0 (b >= 2).
    """
    b = _check_b(b, kind)
    omega = float(_check_omega(omega))
    lv, th = _unit_grid_float(b, kind)
    return omega * lv, omega * th


def quantize(u, b, omega, kind="endpoints"):
    """The uniform b-bit quantizer Q_{b,omega}(u) of spec §2.2 (numpy, vectorised, float64).

    endpoints (default): Delta = 2 omega/(2^b - 1), Q(u) = -omega + Delta * round((clip(u) + omega)/Delta);
    cells: Delta = 2 omega/2^b, Q(u) = -omega + Delta (floor((clip(u) + omega)/Delta) + 1/2);
    midtread: Delta = omega/(2^(b-1) - 1), Q(u) = Delta * round(clip(u)/Delta).
    Rounding is half-up (right-continuous, like eq. 13 of paper 1 with H(0) = 1).  Evaluated as a
    lookup in :func:`quantizer_grid` (Q(u) = levels[k] for thresholds[k-1] <= u < thresholds[k]), so
    that the values and the jump points are exactly those of the grid, with no rounding of u/Delta.
    """
    levels, thresholds = quantizer_grid(b, omega, kind)
    u = np.asarray(u, dtype=float)
    return levels[np.searchsorted(thresholds, u, side="right")]


def ste_grad(u, omega, ste="clipped"):
    """STE surrogate derivative g(u) of spec §2.3: 1{|u| <= omega} ("clipped", default) or 1 ("identity")."""
    ste = _check_ste(ste)
    omega = _check_omega(omega)
    u = np.asarray(u, dtype=float)
    if ste == "identity":
        return np.ones_like(u)
    return (np.abs(u) <= omega).astype(float)


def quantizer_staircase(b, omega, kind="endpoints"):
    """Q_{b,omega} as a :class:`qmf_sym.activations.Staircase` (eq. 13 of paper 1), exactly.

    Offsets are the thresholds, heights the level gaps, base the lowest level; omega is taken at its
    exact binary value (or exactly, if an int / Fraction), so the staircase's exact parameters are
    omega times the rational unit grid.
    """
    from .activations import Staircase, _exact

    b = _check_b(b, kind)
    _check_omega(omega)
    w = _exact("omega", omega)
    lv, th = _unit_grid_exact(b, kind)
    heights = [c - a for a, c in zip(lv, lv[1:])]
    return Staircase([w * t for t in th], [w * h for h in heights], base=w * lv[0])


# ---------------------------------------------------------------------------- Gaussian moments (spec §4.1)
def input_moments(b, omega=1.0, kind="endpoints", dps=None):
    """(kappa, sigma2) = (E[z phi(z)], E[phi(z)^2]) for phi = Q_{b,omega}, z ~ N(0, 1) (spec §4.1).

    Closed form (derivations/ste_moments.md): with levels l_0 < ... < l_{L-1} and thresholds
    theta_1 < ... < theta_{L-1},
        kappa  = sum_i (l_i - l_{i-1}) n(theta_i)              (Stein; = sum_k l_k [n(theta_k) - n(theta_{k+1})])
        sigma2 = l_0^2 + sum_i (l_i^2 - l_{i-1}^2) N(-theta_i)  (= sum_k l_k^2 [N(theta_{k+1}) - N(theta_k)])
    n, N = standard normal pdf, cdf.  ``b=None``: unquantized inputs, (1, 1).
    float64 (vectorised over ``omega``) for ``dps=None``; mpmath numbers at ``dps`` digits otherwise.
    """
    _check_kind(kind)
    dps = V.dps(dps)
    if b is not None:
        b = _check_b(b, kind)
        _check_omega(omega)
    if dps is None:
        if b is None:
            return 1.0, 1.0
        from scipy.special import ndtr

        om = np.asarray(omega, dtype=float)
        lv, th = _unit_grid_float(b, kind)
        h = np.diff(lv)
        dsq = np.diff(lv**2)
        t = om[..., None] * th  # (..., L-1)
        pdf = np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)
        kappa = om * np.sum(h * pdf, axis=-1)
        # symmetric grids: sum the tail terms N(-theta) (small first, no cancellation in the upper tail)
        sigma2 = om**2 * (lv[0] ** 2 + np.sum(dsq * ndtr(-t), axis=-1))
        if np.ndim(kappa) == 0:
            return float(kappa), float(sigma2)
        return kappa, sigma2
    import mpmath

    if np.ndim(omega) != 0:
        raise ValueError("omega must be a scalar when dps is given")
    with mpmath.workdps(V.guard_digits(dps)):
        if b is None:
            one = mpmath.mpf(1)
            k, s = one, one
        else:
            w = _mp_exact(omega)
            lv, th = _unit_grid_exact(b, kind)
            mp = lambda fr: mpmath.mpf(fr.numerator) / fr.denominator  # noqa: E731
            k = mpmath.mpf(0)
            s = mp(lv[0]) ** 2
            for i, t in enumerate(th, 1):
                x = w * mp(t)
                k += mp(lv[i] - lv[i - 1]) * mpmath.npdf(x)
                s += mp(lv[i] ** 2 - lv[i - 1] ** 2) * mpmath.ncdf(-x)
            k, s = w * k, w**2 * s
    with mpmath.workdps(dps):
        return +k, +s


def _mp_exact(x):
    """x as an mpf at the current precision, keeping an mpf's digits or a Fraction's exact value."""
    import mpmath

    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if type(x).__module__.startswith("mpmath"):
        return mpmath.mpf(x)
    return mpmath.mpf(float(x)) if not isinstance(x, (int, np.integer)) else mpmath.mpf(int(x))


# ============================================================================ input-only quantization
# spec §4.4(iii), §5.1: psi = id, g = 1.  Every formula below is DERIVED by sympy in
# ``input_only_symbolic()`` from the Ito moment equations; nothing final is typed in.
from functools import lru_cache  # noqa: E402


def _expect(expr, moments, variables):
    """E[expr] for a polynomial ``expr`` in ``variables``: replace each monomial by its moment.

    ``moments`` maps monomials (sympy expressions, e.g. ``ws*w``) to their expectations; a monomial
    that is not in the map means the moment hierarchy does not close, and raises KeyError.
    """
    import sympy as sp

    poly = sp.Poly(sp.expand(expr), *variables)
    out = 0
    for powers, coeff in poly.terms():
        mono = sp.Mul(*[v**p for v, p in zip(variables, powers)])
        if mono == 1:
            out += coeff
        else:
            out += coeff * moments[mono]
    return sp.expand(out)


@lru_cache(maxsize=None)
def input_only_symbolic():
    """Sympy derivation of the closed input-only ODE and its long-time analysis (spec §4.4(iii), §5.1).

    Returns a dict of sympy objects:
      symbols: eta, lam, kappa, s2 (= sigma_phi^2), sigma2 (label noise), T, rho, m, q, tau, m0, q0
      A, B:   drift and diffusion of the per-coordinate SDE (spec §4.2-4.3) at psi = id, g = 1, with
              2 eps_g = E_x (w* x - w phi(x))^2 derived from E z^2 = 1, E z phi = kappa, E phi^2 = s2;
      eps:    eps_g(m, q); dm, dq: the ODE d/dtau E f = E[A f' + B f''/2] for f = w* w and f = w^2;
      m_star, q_star, eps_star: the fixed point (general lam, sigma2, T);
      jac, eig_m, eig_q: Jacobian (triangular) and its eigenvalues; eta_c: root of eig_q = 0 in eta;
      m_t, q_t: the closed-form solution from (m0, q0), written with the auxiliary function
              E(a, beta, tau) = (exp(-a tau) - exp(-beta tau))/(beta - a) (limit tau exp(-a tau)),
              sympy Function ``Ephi``; a = -eig_m, beta = -eig_q.
    """
    import sympy as sp

    eta, kappa, s2, rho = sp.symbols("eta kappa s2 rho", positive=True)
    lam, sigma2, T = sp.symbols("lam sigma2 T", nonnegative=True)
    w, ws, m, q, z, phi = sp.symbols("w ws m q z phi", real=True)
    tau = sp.symbols("tau", nonnegative=True)
    m0, q0 = sp.symbols("m0 q0", real=True)

    # population error: 2 eps = E_x (w* x - w phi(x))^2, per coordinate, x-moments then (w*, w)-moments
    zmom = {z**2: sp.Integer(1), z * phi: kappa, phi**2: s2}
    two_eps_given_w = _expect((ws * z - w * phi) ** 2, zmom, (z, phi))
    wmom = {ws**2: rho, ws * w: m, w**2: q}
    eps = sp.expand(_expect(two_eps_given_w, wmom, (ws, w)) / 2)

    # drift and diffusion (spec §4.2 with psi = id, g = 1)
    A = eta * (kappa * ws - s2 * w) - eta * lam * w
    B = eta**2 * s2 * (2 * eps + sigma2) + 2 * eta * T

    def ito(f):
        gen = A * sp.diff(f, w) + sp.Rational(1, 2) * B * sp.diff(f, w, 2)
        return _expect(gen, wmom, (ws, w))

    dm = ito(ws * w)
    dq = ito(w**2)

    sol = sp.solve([dm, dq], [m, q], dict=True)
    assert len(sol) == 1
    m_star = sp.simplify(sol[0][m])
    q_star = sp.simplify(sol[0][q])
    eps_star = sp.simplify(eps.subs({m: m_star, q: q_star}))

    jac = sp.Matrix([dm, dq]).jacobian([m, q])
    assert sp.simplify(jac[0, 1]) == 0  # triangular: m does not see q
    eig_m = sp.factor(jac[0, 0])
    eig_q = sp.factor(jac[1, 1])
    roots = [r for r in sp.solve(sp.Eq(eig_q, 0), eta) if r != 0]
    assert len(roots) == 1
    eta_c = sp.simplify(roots[0])

    # closed-form solution of the linear ODE: m first (autonomous), then q driven by m
    a = -eig_m
    beta = -eig_q
    Ephi = sp.Function("Ephi")
    m_t = m_star + (m0 - m_star) * sp.exp(-a * tau)
    c1 = sp.diff(dq, m)  # dq = c0 + c1 m + c2 q
    q_t = q_star + (q0 - q_star) * sp.exp(-beta * tau) + c1 * (m0 - m_star) * Ephi(a, beta, tau)

    return dict(
        eta=eta, lam=lam, kappa=kappa, s2=s2, sigma2=sigma2, T=T, rho=rho, m=m, q=q, tau=tau, m0=m0, q0=q0,
        w=w, ws=ws, A=A, B=B, eps=eps, dm=dm, dq=dq, m_star=m_star, q_star=q_star, eps_star=eps_star,
        jac=jac, eig_m=eig_m, eig_q=eig_q, eta_c=eta_c, a=a, beta=beta, c1=c1, Ephi=Ephi, m_t=m_t, q_t=q_t,
    )


def _Ephi_np(a, beta, tau):
    """(exp(-a tau) - exp(-beta tau))/(beta - a), stable at beta -> a (limit tau exp(-a tau))."""
    a, beta, tau = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (a, beta, tau)))
    d = (beta - a) * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d == 0, 1.0, -np.expm1(-d) / np.where(d == 0, 1.0, d))
    return tau * np.exp(-a * tau) * ratio


def _Ephi_mp(a, beta, tau):
    import mpmath

    d = (beta - a) * tau
    ratio = mpmath.mpf(1) if d == 0 else -mpmath.expm1(-d) / d
    return tau * mpmath.exp(-a * tau) * ratio


_ARGS = ("eta", "lam", "sigma2", "kappa", "s2", "rho", "T")


@lru_cache(maxsize=None)
def _lambdified(name, module):
    """lambdify one derived expression of ``input_only_symbolic`` for numpy or mpmath."""
    import sympy as sp

    S = input_only_symbolic()
    expr = S[name]
    extra = {"m_t": ("tau", "m0"), "q_t": ("tau", "m0", "q0"), "dm": ("m", "q"), "dq": ("m", "q"),
             "eps": ("m", "q")}.get(name, ())
    args = [S[k] for k in _ARGS + extra]
    if module == "numpy":
        mods = [{"Ephi": _Ephi_np}, "numpy"]
    else:
        mods = [{"Ephi": _Ephi_mp}, "mpmath"]
    return sp.lambdify(args, expr, modules=mods)


def _check_dyn(eta, lam, sigma2, kappa, s2, rho, T):
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    V.nonnegative("sigma2", sigma2)
    V.in_closed("kappa", kappa, -np.inf, np.inf)
    V.positive("s2", s2)
    V.nonnegative("rho", rho)
    V.nonnegative("T", T)


def _mpargs(dps, *xs):
    import mpmath  # noqa: F401

    return tuple(_mp_exact(x) for x in xs)


def _evaluate(name, dps, params, extra=()):
    """Evaluate a derived expression at float64 (vectorised) or at ``dps`` digits (mpmath)."""
    if dps is None:
        f = _lambdified(name, "numpy")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return f(*[np.asarray(p, dtype=float) for p in params], *[np.asarray(e, dtype=float) for e in extra])
    import mpmath

    f = _lambdified(name, "mpmath")
    with mpmath.workdps(V.guard_digits(dps)):
        try:
            out = f(*_mpargs(dps, *params), *_mpargs(dps, *extra))
        except ZeroDivisionError:  # q*, eps_g* exactly at eta = eta_c: the fixed point is at infinity
            out = mpmath.inf
    with mpmath.workdps(dps):
        return +out


def input_only_eps_g(m, q, kappa, s2, rho=1.0):
    """eps_g = (rho - 2 kappa m + s2 q)/2 (spec §4.4(iii); derived in ``input_only_symbolic``)."""
    return _lambdified("eps", "numpy")(0, 0, 0, kappa, s2, rho, 0, m, q)


def input_only_ode_rhs(tau, y, eta, lam, sigma2, kappa, s2, rho=1.0, T=0.0):
    """Right-hand side (dm/dtau, dq/dtau) of the closed input-only ODE (spec §4.4(iii)), for solve_ivp.

    ``y = (m, q)``; m = E[w* w], q = E[w^2]; sigma2 = label-noise variance, s2 = sigma_phi^2.
    """
    _check_dyn(eta, lam, sigma2, kappa, s2, rho, T)
    m, q = y[0], y[1]
    p = (eta, lam, sigma2, kappa, s2, rho, T)
    return np.array([_lambdified("dm", "numpy")(*p, m, q), _lambdified("dq", "numpy")(*p, m, q)], dtype=float)


def solve_input_only_ode(tau, eta, lam, sigma2, kappa, s2, rho=1.0, T=0.0, m0=0.0, q0=1.0, dps=None,
                         method="closed"):
    """Solution (m(tau), q(tau), eps_g(tau)) of the closed input-only ODE (spec §4.4(iii)).

    method="closed": the closed form derived in sympy (``input_only_symbolic()['m_t'], ['q_t']``),
    float64 vectorised over tau (or mpmath at ``dps`` digits, scalar tau);
    method="ivp": scipy solve_ivp (RK45, rtol 1e-10) of ``input_only_ode_rhs`` (float64; a second face).
    """
    _check_dyn(eta, lam, sigma2, kappa, s2, rho, T)
    V.nonnegative("tau", tau)
    V.choice("method", method, {"closed", "ivp"})
    dps = V.dps(dps)
    p = (eta, lam, sigma2, kappa, s2, rho, T)
    if method == "ivp":
        from scipy.integrate import solve_ivp

        t = np.atleast_1d(np.asarray(tau, dtype=float))
        order = np.argsort(t)
        r = solve_ivp(input_only_ode_rhs, (0.0, float(t.max())), [m0, q0], t_eval=t[order],
                      args=p, rtol=1e-10, atol=1e-12, method="RK45")
        m = np.empty_like(t)
        q = np.empty_like(t)
        m[order], q[order] = r.y[0], r.y[1]
        if np.ndim(tau) == 0:
            m, q = m[0], q[0]
        return m, q, input_only_eps_g(m, q, kappa, s2, rho)
    m = _evaluate("m_t", dps, p, (tau, m0))
    q = _evaluate("q_t", dps, p, (tau, m0, q0))
    if dps is None:
        return m, q, input_only_eps_g(m, q, kappa, s2, rho)
    import mpmath

    with mpmath.workdps(dps):
        e = (_mp_exact(rho) - 2 * _mp_exact(kappa) * m + _mp_exact(s2) * q) / 2
    return m, q, e


class FixedPoint(tuple):
    """(m, q, eps_g, eig_m, eig_q, stable) of the input-only ODE (spec §5.1)."""

    __slots__ = ()
    _fields = ("m", "q", "eps_g", "eig_m", "eig_q", "stable")

    def __new__(cls, *vals):
        return tuple.__new__(cls, vals)

    m = property(lambda s: s[0])
    q = property(lambda s: s[1])
    eps_g = property(lambda s: s[2])
    eig_m = property(lambda s: s[3])
    eig_q = property(lambda s: s[4])
    stable = property(lambda s: s[5])


def input_only_fixed_point(eta, lam, sigma2, kappa, s2, rho=1.0, T=0.0, dps=None):
    """Fixed point (m*, q*, eps_g*) and Jacobian eigenvalues of the input-only ODE (spec §5.1).

    Returned for every eta; ``stable`` is True iff both eigenvalues are negative, i.e.
    eta < eta_c = 2 (s2 + lam)/s2^2.  Above eta_c the formula's q* is not attained (q diverges).
    """
    _check_dyn(eta, lam, sigma2, kappa, s2, rho, T)
    dps = V.dps(dps)
    p = (eta, lam, sigma2, kappa, s2, rho, T)
    vals = [_evaluate(n, dps, p) for n in ("m_star", "q_star", "eps_star", "eig_m", "eig_q")]
    stable = (np.asarray(vals[3] < 0) & np.asarray(vals[4] < 0)) if dps is None else bool(vals[3] < 0 and vals[4] < 0)
    return FixedPoint(*vals, stable)


def stability_boundary(b, omega=1.0, kind="endpoints", lam=0.0, dps=None):
    """eta_c = 2 (sigma_phi^2 + lam)/sigma_phi^4 (spec §5.1; = 2/sigma_phi^2 at lam = 0, Fig. 5 left).

    b = None: unquantized inputs (eta_c = 2 + 2 lam).  Vectorised over omega at float64.
    """
    V.nonnegative("lam", lam)
    dps = V.dps(dps)
    kappa, s2 = input_moments(b, omega, kind, dps=dps)
    return _evaluate("eta_c", dps, (1, lam, 0, kappa, s2, 1, 0))


def steady_state_error(eta, b, omega=1.0, kind="endpoints", lam=0.0, sigma2=0.0, include_noise=False,
                       rho=1.0, T=0.0, dps=None):
    """Steady-state eps_g* of input-only quantization (spec §5.1, Fig. 5 right).

    Noise-free test error by default; ``include_noise=True`` adds sigma2/2 (the test MSE/2).
    Returns +inf where eta >= eta_c (no asymptotically stable fixed point: eps_g diverges).
    b = None: unquantized inputs.  Vectorised over eta and omega at float64.
    """
    dps = V.dps(dps)
    kappa, s2 = input_moments(b, omega, kind, dps=dps)
    _check_dyn(eta, lam, sigma2, kappa, s2, rho, T)
    fp = input_only_fixed_point(eta, lam, sigma2, kappa, s2, rho, T, dps=dps)
    if dps is None:
        e = np.asarray(fp.eps_g, dtype=float) + (0.5 * sigma2 if include_noise else 0.0)
        e = np.where(fp.stable, e, np.inf)
        return float(e) if e.ndim == 0 else e
    import mpmath

    if not fp.stable:
        return mpmath.inf
    with mpmath.workdps(dps):
        return fp.eps_g + (_mp_exact(sigma2) / 2 if include_noise else 0)


def baseline_deviation(eta, b, omega=1.0, kind="endpoints", lam=0.0, sigma2=0.0, rho=1.0, T=0.0, dps=None):
    """Delta eps_g* = eps_g*(quantized inputs) - eps_g*(unquantized, kappa = sigma_phi^2 = 1) (spec §5.1).

    (The sigma2/2 of the noisy test MSE cancels in the difference.)  +inf / -inf where only one of
    the two is unstable; nan where both are.
    """
    e1 = steady_state_error(eta, b, omega, kind, lam, sigma2, False, rho, T, dps)
    e0 = steady_state_error(eta, None, omega, kind, lam, sigma2, False, rho, T, dps)
    if dps is None:
        with np.errstate(invalid="ignore"):
            return e1 - e0
    return e1 - e0


# ============================================================================ weight quantization: stationary state
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


# ============================================================================ Fig. 5 theory curves
def fig5_curves(b_x=tuple(range(1, 9)), omegas=(0.5, 1.0, 1.5, 2.0, 3.0), etas=None, b_right=(2, 3, 4, 5),
                omega_right=1.0, kind="endpoints", lam=0.0, sigma2=0.0, rho=1.0):
    """Theory curves of Fig. 5 (input-only quantization, lam = 0, sigma2 = 0 in the paper).

    Returns a dict of numpy arrays (pure: no plotting):
      "b_x" (nb,), "omega" (nw,), "eta_c" (nw, nb): eta_c = 2(sigma_phi^2 + lam)/sigma_phi^4 (spec §5.1,
      left panel, one curve per omega), "eta_c_unquantized": 2 + 2 lam (the dashed line);
      "eta" (ne,), "b_right" (nr,), "eps_g" (nr, ne): eps_g*(eta) at omega_right, +inf for
      eta >= eta_c (right panel), "eta_c_right" (nr,), "eps_g_unquantized" (ne,) (the baseline).
    """
    bx = np.array([V.integer("b_x", b, 1, B_MAX) for b in b_x])
    om = np.atleast_1d(np.asarray(omegas, dtype=float))
    _check_omega(om)
    left = np.array([[stability_boundary(int(b), w, kind, lam) for b in bx] for w in om])
    br = np.array([V.integer("b_right", b, 1, B_MAX) for b in b_right])
    if etas is None:
        etas = np.linspace(0.01, 4.0, 400)
    eta = np.atleast_1d(np.asarray(etas, dtype=float))
    V.positive("eta", eta)
    right = np.array([steady_state_error(eta, int(b), omega_right, kind, lam, sigma2, rho=rho) for b in br])
    ec_right = np.array([stability_boundary(int(b), omega_right, kind, lam) for b in br])
    base = steady_state_error(eta, None, omega_right, kind, lam, sigma2, rho=rho)
    return {"b_x": bx, "omega": om, "eta_c": left, "eta_c_unquantized": float(stability_boundary(None, lam=lam)),
            "eta": eta, "b_right": br, "eps_g": right.reshape(len(br), len(eta)), "eta_c_right": ec_right,
            "eps_g_unquantized": np.broadcast_to(base, eta.shape).astype(float)}
