"""Input-only quantization in the STE model of paper 2 (spec §4.4(iii), §5.1: psi = id, g = 1):
the closed ODE for (m, q) = (E[w* w], E[w^2]), its closed-form solution, fixed point, Jacobian
eigenvalues, stability boundary eta_c, steady-state error eps_g* and its deviation from the
unquantized baseline, and the theory curves of Fig. 5.

Every formula is DERIVED by sympy in :func:`input_only_symbolic` from the Ito moment equations;
nothing final is typed in (derivations/ste_input_only_ode.md).  The numeric faces lambdify the
derived expressions for numpy (float64) and mpmath (``dps``).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import _validate as V
from .._faces import register_equation
from .quantizers import B_MAX, _mp_exact, input_moments

__all__ = ["input_only_symbolic", "input_only_eps_g", "input_only_ode_rhs", "solve_input_only_ode", "FixedPoint",
           "input_only_fixed_point", "stability_boundary", "steady_state_error", "baseline_deviation",
           "fig5_curves"]

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

    Returns a dict of sympy objects::

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


def _moments(b, omega, kind, dps):
    """(kappa, sigma_phi^2) of the input quantizer, refusing an omega so small that sigma_phi^2
    underflows float64 (eta_c = 2 (s2 + lam)/s2^2 would be inf/NaN)."""
    kappa, s2 = input_moments(b, omega, kind, dps=dps)
    if dps is None and not np.all(np.asarray(s2, dtype=float) > 0):
        raise ValueError(f"omega = {omega!r} is too small for float64: sigma_phi^2 = E[Q(z)^2] underflows to 0 "
                         f"(use dps=...)")
    return kappa, s2


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
    """eps_g = (rho - 2 kappa m + s2 q)/2 (spec §4.4(iii); derived in ``input_only_symbolic``).

    m, kappa finite reals; q, s2, rho finite and >= 0 (scalars or arrays, broadcast)."""
    V.array("m", m)
    V.nonnegative("q", q)
    V.in_closed("kappa", kappa, -np.inf, np.inf)
    V.positive("s2", s2)
    V.nonnegative("rho", rho)
    return _eps_g(m, q, kappa, s2, rho)


def _eps_g(m, q, kappa, s2, rho):
    """:func:`input_only_eps_g` on validated arguments (a diverging q gives inf)."""
    return _lambdified("eps", "numpy")(0, 0, 0, kappa, s2, rho, 0, m, q)


def input_only_ode_rhs(tau, y, eta, lam, sigma2, kappa, s2, rho=1.0, T=0.0):
    """Right-hand side (dm/dtau, dq/dtau) of the closed input-only ODE (spec §4.4(iii)), for solve_ivp.

    ``y = (m, q)``; m = E[w* w], q = E[w^2]; sigma2 = label-noise variance, s2 = sigma_phi^2.
    """
    _check_dyn(eta, lam, sigma2, kappa, s2, rho, T)
    V.nonnegative("tau", tau)
    yy = V.array("y", y, ndim=1)
    if yy.shape != (2,):
        raise ValueError(f"y must be the pair (m, q), got {y!r}")
    m, q = yy[0], yy[1]
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
    V.finite("m0", m0)
    V.nonnegative("q0", q0)
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
        return m, q, _eps_g(m, q, kappa, s2, rho)
    m = _evaluate("m_t", dps, p, (tau, m0))
    q = _evaluate("q_t", dps, p, (tau, m0, q0))
    if dps is None:
        return m, q, _eps_g(m, q, kappa, s2, rho)
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
    kappa, s2 = _moments(b, omega, kind, dps)
    return _evaluate("eta_c", dps, (1, lam, 0, kappa, s2, 1, 0))


def steady_state_error(eta, b, omega=1.0, kind="endpoints", lam=0.0, sigma2=0.0, include_noise=False,
                       rho=1.0, T=0.0, dps=None):
    """Steady-state eps_g* of input-only quantization (spec §5.1, Fig. 5 right).

    Noise-free test error by default; ``include_noise=True`` adds sigma2/2 (the test MSE/2).
    Returns +inf where eta >= eta_c (no asymptotically stable fixed point: eps_g diverges).
    b = None: unquantized inputs.  Vectorised over eta and omega at float64.
    """
    dps = V.dps(dps)
    include_noise = V.flag("include_noise", include_noise)
    kappa, s2 = _moments(b, omega, kind, dps)
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
    the two is unstable; nan where both are.  b = None: unquantized inputs (Delta = 0 where stable).
    """
    e1 = steady_state_error(eta, b, omega, kind, lam, sigma2, False, rho, T, dps)
    e0 = steady_state_error(eta, None, omega, kind, lam, sigma2, False, rho, T, dps)
    if dps is None:
        with np.errstate(invalid="ignore"):
            return e1 - e0
    return e1 - e0


# ---------------------------------------------------------------------------- Fig. 5 theory curves
def fig5_curves(b_x=tuple(range(1, 9)), omegas=(0.5, 1.0, 1.5, 2.0, 3.0), etas=None, b_right=(2, 3, 4, 5),
                omega_right=1.0, kind="endpoints", lam=0.0, sigma2=0.0, rho=1.0):
    """Theory curves of Fig. 5 (input-only quantization, lam = 0, sigma2 = 0 in the paper).

    Returns a dict of numpy arrays (pure: no plotting):
      "b_x" (nb,), "omega" (nw,), "eta_c" (nw, nb): eta_c = 2(sigma_phi^2 + lam)/sigma_phi^4 (spec §5.1,
      left panel, one curve per omega), "eta_c_unquantized": 2 + 2 lam (the dashed line);
      "eta" (ne,), "b_right" (nr,), "eps_g" (nr, ne): eps_g*(eta) at omega_right, +inf for
      eta >= eta_c (right panel), "eta_c_right" (nr,), "eps_g_unquantized" (ne,) (the baseline).
    """
    bx = np.array(V.integers("b_x", b_x, 1, B_MAX))
    om = V.positive("omegas", V.array("omegas", omegas, ndim=1))
    br = np.array(V.integers("b_right", b_right, 1, B_MAX))
    if etas is None:
        etas = np.linspace(0.01, 4.0, 400)
    eta = V.positive("etas", V.array("etas", etas, ndim=1))
    omega_right = V.finite("omega_right", V.positive("omega_right", omega_right))
    V.nonnegative("lam", lam)
    V.nonnegative("sigma2", sigma2)
    V.nonnegative("rho", rho)
    try:
        _moments(int(bx.max()), float(om.min()), kind, None)
    except ValueError as exc:
        raise ValueError(f"omegas: {exc}") from exc
    try:
        _moments(int(br.max()), omega_right, kind, None)
    except ValueError as exc:
        raise ValueError(f"omega_right: {exc}") from exc
    left = np.array([[stability_boundary(int(b), w, kind, lam) for b in bx] for w in om])
    right = np.array([steady_state_error(eta, int(b), omega_right, kind, lam, sigma2, rho=rho) for b in br])
    ec_right = np.array([stability_boundary(int(b), omega_right, kind, lam) for b in br])
    base = steady_state_error(eta, None, omega_right, kind, lam, sigma2, rho=rho)
    return {"b_x": bx, "omega": om, "eta_c": left, "eta_c_unquantized": float(stability_boundary(None, lam=lam)),
            "eta": eta, "b_right": br, "eps_g": right.reshape(len(br), len(eta)), "eta_c_right": ec_right,
            "eps_g_unquantized": np.broadcast_to(base, eta.shape).astype(float)}


for _name, _eq, _what in [
    ("solve_input_only_ode", "paper 2, spec §4.4(iii) (closed input-only ODE for m, q)", "closed-form solution; ivp face"),
    ("input_only_fixed_point", "paper 2, spec §5.1 (fixed point m*, q*, eps_g* and Jacobian eigenvalues)", ""),
    ("stability_boundary", "paper 2, spec §5.1 (eta_c = 2 (sigma_phi^2 + lam) / sigma_phi^4)", ""),
    ("steady_state_error", "paper 2, spec §5.1 (steady-state eps_g*, Fig. 5 right)", ""),
    ("baseline_deviation", "paper 2, spec §5.1 (Delta eps_g* against unquantized inputs)", ""),
]:
    register_equation(f"qmf_sym.ste.{_name}", _eq, (_what + "; " if _what else "") + "derived in sympy by input_only_symbolic",
                      faces=("f64", "mp", "sympy"))
