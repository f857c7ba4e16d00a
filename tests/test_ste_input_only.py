"""Tests of qmf_sym.ste.input_only: the closed input-only ODE, fixed point, eta_c, eps_g*, Fig. 5
curves (spec §4.4(iii), §5.1)."""
import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmf_sym import ste


# ---------------------------------------------------------------------------- input-only ODE
def test_symbolic_matches_spec_printed_formulas():
    import sympy as sp

    S = ste.input_only_symbolic()
    eta, lam, k, s, sig, T, rho, m, q = (S[x] for x in ("eta", "lam", "kappa", "s2", "sigma2", "T", "rho", "m", "q"))
    # spec §4.4(iii)
    assert sp.simplify(S["dm"] - eta * (k * rho - (s + lam) * m)) == 0
    assert sp.simplify(S["dq"] - (2 * eta * (k * m - (s + lam) * q) + eta**2 * s * (rho - 2 * k * m + s * q + sig)
                                  + 2 * eta * T)) == 0
    # spec §5.1
    ms = k * rho / (s + lam)
    assert sp.simplify(S["m_star"] - ms) == 0
    qs = (2 * k * ms * (1 - eta * s) + eta * s * (rho + sig) + 2 * T) / (2 * (s + lam) - eta * s**2)
    assert sp.simplify(S["q_star"] - qs) == 0
    assert sp.simplify(S["eig_m"] + eta * (s + lam)) == 0
    assert sp.simplify(S["eig_q"] - (-2 * eta * (s + lam) + eta**2 * s**2)) == 0
    assert sp.simplify(S["eta_c"] - 2 * (s + lam) / s**2) == 0
    e0 = S["eps_star"].subs({lam: 0, T: 0})
    assert sp.simplify(e0 - (rho * (1 - k**2 / s) + eta * s * sig / 2) / (2 - eta * s)) == 0
    assert sp.simplify(e0 + sig / 2 - (rho * (1 - k**2 / s) + sig) / (2 - eta * s)) == 0
    base = e0.subs({k: 1, s: 1})
    assert sp.simplify(base - eta * sig / (2 * (2 - eta))) == 0
    delta = rho * (1 - k**2 / s) / (2 - eta * s) + (eta * sig / 2) * (s / (2 - eta * s) - 1 / (2 - eta))
    assert sp.simplify(e0 - base - delta) == 0


def test_closed_form_solution_solves_ode():
    import sympy as sp

    S = ste.input_only_symbolic()
    tau = S["tau"]
    a, beta = S["a"], S["beta"]
    Eexpl = (sp.exp(-a * tau) - sp.exp(-beta * tau)) / (beta - a)
    mt = S["m_t"]
    qt = S["q_t"].replace(S["Ephi"], lambda *_: Eexpl)
    assert sp.simplify(sp.diff(mt, tau) - S["dm"].subs({S["m"]: mt, S["q"]: qt})) == 0
    assert sp.simplify(sp.diff(qt, tau) - S["dq"].subs({S["m"]: mt, S["q"]: qt})) == 0
    assert sp.simplify(mt.subs(tau, 0) - S["m0"]) == 0 and sp.simplify(qt.subs(tau, 0) - S["q0"]) == 0


@pytest.mark.parametrize("eta,lam,sigma2,T", [(0.3, 0.0, 0.0, 0.0), (0.8, 0.5, 0.2, 0.01), (2.5, 0.1, 0.3, 0.0)])
def test_closed_vs_ivp(eta, lam, sigma2, T):
    k, s = ste.input_moments(3, 1.0)
    tau = np.array([0.0, 0.5, 3.0, 10.0, 30.0])
    mc, qc, ec = ste.solve_input_only_ode(tau, eta, lam, sigma2, k, s, T=T, m0=0.2, q0=1.5)
    mi, qi, ei = ste.solve_input_only_ode(tau, eta, lam, sigma2, k, s, T=T, m0=0.2, q0=1.5, method="ivp")
    np.testing.assert_allclose(mc, mi, rtol=1e-7, atol=1e-9)  # RK45 at rtol 1e-10 over <= 30 time units
    np.testing.assert_allclose(qc, qi, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(ec, ei, rtol=1e-7, atol=1e-9)
    m30, q30, e30 = ste.solve_input_only_ode(10.0, eta, lam, sigma2, k, s, T=T, m0=0.2, q0=1.5, dps=30)
    assert abs(float(q30) - qc[3]) < 1e-12 * abs(qc[3]) + 1e-14


def test_resonant_case_eta_half_eta_c():
    # beta = a when eta s2^2 = s2 + lam: the (e^{-a t} - e^{-beta t})/(beta - a) term -> t e^{-a t}
    k, s = ste.input_moments(2, 1.0)
    eta = (s + 0.2) / s**2
    tau = np.array([1.0, 5.0])
    mc, qc, _ = ste.solve_input_only_ode(tau, eta, 0.2, 0.1, k, s)
    mi, qi, _ = ste.solve_input_only_ode(tau, eta, 0.2, 0.1, k, s, method="ivp")
    np.testing.assert_allclose(qc, qi, rtol=1e-7)
    qd = ste.solve_input_only_ode(5.0, eta, 0.2, 0.1, k, s, dps=25)[1]
    assert abs(float(qd) - qc[1]) < 1e-12


def test_fixed_point_is_long_time_limit():
    k, s = ste.input_moments(3, 1.0)
    fp = ste.input_only_fixed_point(1.0, 0.3, 0.2, k, s, T=0.01)
    assert fp.stable
    m, q, e = ste.solve_input_only_ode(2000.0, 1.0, 0.3, 0.2, k, s, T=0.01)
    assert m == pytest.approx(fp.m, rel=1e-12) and q == pytest.approx(fp.q, rel=1e-12)
    assert e == pytest.approx(fp.eps_g, rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.7])
@pytest.mark.parametrize("b", [None, 1, 2, 4])
def test_eigenvalue_flips_at_eta_c(b, lam):
    k, s = ste.input_moments(b, 1.2)
    ec = ste.stability_boundary(b, 1.2, lam=lam)
    assert ec == pytest.approx(2 * (s + lam) / s**2, rel=1e-15)
    below = ste.input_only_fixed_point(ec * (1 - 1e-9), lam, 0.0, k, s)
    above = ste.input_only_fixed_point(ec * (1 + 1e-9), lam, 0.0, k, s)
    assert below.eig_q < 0 < above.eig_q and below.stable and not above.stable
    assert ste.steady_state_error(ec * (1 + 1e-9), b, 1.2, lam=lam) == np.inf
    # dps face: eig_q = 0 at eta_c to 30 digits
    ecd = ste.stability_boundary(b, 1.2, lam=lam, dps=30)
    kd, sd = ste.input_moments(b, 1.2, dps=30)
    eq = ste.input_only_fixed_point(ecd, lam, 0, kd, sd, dps=30).eig_q
    with mpmath.workdps(40):
        assert abs(eq) < mpmath.mpf(10) ** -28


def test_unquantized_limit_classical():
    eta = np.array([0.1, 0.5, 1.0, 1.9])
    for sig in (0.0, 0.3):
        e = ste.steady_state_error(eta, None, sigma2=sig)
        np.testing.assert_allclose(e, eta * sig / (2 * (2 - eta)), rtol=1e-13, atol=1e-16)
        en = ste.steady_state_error(eta, None, sigma2=sig, include_noise=True)
        np.testing.assert_allclose(en, sig / (2 - eta), rtol=1e-13, atol=1e-16)  # (eps* + s2/2) = s2/(2 - eta)
    assert ste.stability_boundary(None) == 2.0
    assert ste.steady_state_error(2.0, None, sigma2=0.1) == np.inf
    # large b, wide range -> unquantized
    assert ste.stability_boundary(20, 12.0) == pytest.approx(2.0, rel=1e-6)


def test_eta_c_and_steady_state_against_quadrature_of_the_spec_quantizer():
    """eta_c = 2/sigma_phi^2 and eps_g* = (1 - kappa^2/sigma^2)/(2 - eta sigma^2) (spec §5.1, lambda = 0,
    sigma^2 = 0) with kappa, sigma^2 from scipy quadrature of the spec's rounding formula
    Q(u) = -omega + Delta round((clip(u) + omega)/Delta): independent of the grid code and of sympy."""
    from scipy import integrate
    from scipy.stats import norm

    omega = 1.0
    for b in range(1, 6):
        n = 2 ** b - 1
        D = 2 * omega / n
        spec_q = lambda u: -omega + D * np.floor((np.clip(u, -omega, omega) + omega) / D + 0.5)
        cuts = list(-omega + D * (np.arange(n) + 0.5))
        pts = [-np.inf] + cuts + [np.inf]
        quad = lambda f: sum(integrate.quad(f, a, c, epsabs=1e-15, epsrel=1e-13)[0] for a, c in zip(pts[:-1], pts[1:]))
        s2 = quad(lambda z: spec_q(z) ** 2 * norm.pdf(z))
        kap = quad(lambda z: z * spec_q(z) * norm.pdf(z))
        assert ste.stability_boundary(b, omega) == pytest.approx(2 / s2, rel=1e-10)
        for eta in (0.05, 0.5, 1.0):
            assert ste.steady_state_error(eta, b, omega) == pytest.approx((1 - kap ** 2 / s2) / (2 - eta * s2), rel=1e-9)


@given(b=st.integers(1, 8), omega=st.floats(0.2, 4.0), frac=st.floats(0.01, 0.99), lam=st.floats(0.0, 2.0),
       sig=st.floats(0.0, 1.0), kind=st.sampled_from(ste.KINDS))
def test_closed_forms_hypothesis(b, omega, frac, lam, sig, kind):
    if kind == "midtread" and b == 1:
        b = 2
    k, s = ste.input_moments(b, omega, kind)
    ec = ste.stability_boundary(b, omega, kind, lam)
    eta = frac * ec
    fp = ste.input_only_fixed_point(eta, lam, sig, k, s)
    assert fp.stable and fp.q > 0 and fp.eps_g >= -1e-15
    # the fixed point zeroes the ODE
    r = ste.input_only_ode_rhs(0, [fp.m, fp.q], eta, lam, sig, k, s)
    assert np.all(np.abs(r) < 1e-12 * (1 + abs(fp.q)))
    # printed formulas of spec §5.1
    assert fp.m == pytest.approx(k / (s + lam), rel=1e-12)
    qs = (2 * k * fp.m * (1 - eta * s) + eta * s * (1 + sig)) / (2 * (s + lam) - eta * s**2)
    assert fp.q == pytest.approx(qs, rel=1e-9)
    if lam == 0:
        e = ste.steady_state_error(eta, b, omega, kind, sigma2=sig)
        assert e == pytest.approx(((1 - k**2 / s) + eta * s * sig / 2) / (2 - eta * s), rel=1e-9, abs=1e-14)
        if eta < 2:
            d = ste.baseline_deviation(eta, b, omega, kind, sigma2=sig)
            dd = (1 - k**2 / s) / (2 - eta * s) + eta * sig / 2 * (s / (2 - eta * s) - 1 / (2 - eta))
            assert d == pytest.approx(dd, rel=1e-8, abs=1e-13)
    # float64 vs 20 digits
    ed = ste.steady_state_error(eta, b, omega, kind, lam, sig, dps=20)
    assert float(ed) == pytest.approx(ste.steady_state_error(eta, b, omega, kind, lam, sig), rel=1e-9, abs=1e-14)


def test_fig5_curves_shape():
    c = ste.fig5_curves(b_x=(1, 2, 3), omegas=(1.0, 2.0), etas=np.linspace(0.1, 5, 50), b_right=(2, 3))
    assert c["eta_c"].shape == (2, 3) and c["eps_g"].shape == (2, 50)
    assert c["eta_c"][0, 0] == 2.0 and c["eta_c_unquantized"] == 2.0
    assert np.all(np.isinf(c["eps_g"][0][c["eta"] >= c["eta_c_right"][0]]))
    assert np.all(np.isfinite(c["eps_g"][0][c["eta"] < c["eta_c_right"][0]]))
