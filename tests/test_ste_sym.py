"""Tests of qmf_sym.ste: closed forms of the STE-dynamics model (paper 2; spec = shared/specs/ste_dynamics.md)."""
import mpmath
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.integrate import simpson

from qmf_sym import ste

KIND_B = [(k, b) for k in ste.KINDS for b in (1, 2, 3, 5) if not (k == "midtread" and b == 1)]


# ---------------------------------------------------------------------------- quantizer
def test_spec_example_grid():
    lv, th = ste.quantizer_grid(2, 1.0)
    np.testing.assert_allclose(lv, [-1, -1 / 3, 1 / 3, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(th, [-2 / 3, 0, 2 / 3], rtol=0, atol=1e-15)
    # spec §8 item 1: eps_g(0) = (rho + E psi(z)^2)/2 for b = 2, omega = 1: 0.78 / 0.69 / 0.81
    for kind, val in zip(ste.KINDS, (0.78, 0.69, 0.81)):
        assert abs(0.5 * (1 + ste.input_moments(2, 1.0, kind)[1]) - val) < 0.005


@pytest.mark.parametrize("kind,b", KIND_B)
def test_quantize_matches_grid_and_staircase(kind, b):
    rng = np.random.default_rng(1)
    omega = 1.37
    u = rng.normal(scale=2.0, size=20000)
    q = ste.quantize(u, b, omega, kind)
    lv, th = ste.quantizer_grid(b, omega, kind)
    assert len(lv) == (2**b - 1 if kind == "midtread" else 2**b)
    np.testing.assert_allclose(q, lv[np.searchsorted(th, u, side="right")], rtol=0, atol=1e-14)
    stc = ste.quantizer_staircase(b, omega, kind)
    assert stc.is_odd()
    np.testing.assert_allclose(stc(u), q, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ste.quantize(-u, b, omega, kind), -q, atol=1e-14)  # odd (u off the thresholds)
    assert np.all(np.diff(ste.quantize(np.sort(u), b, omega, kind)) >= 0)
    assert np.max(np.abs(q)) <= omega


def test_ste_grad():
    u = np.array([-2.0, -1.0, -0.3, 0.0, 1.0, 1.0001])
    np.testing.assert_array_equal(ste.ste_grad(u, 1.0), [0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(ste.ste_grad(u, 1.0, "identity"), np.ones(6))


# ---------------------------------------------------------------------------- moments
def _quad_moments(b, omega, kind, dps):
    """Defining integrals E[z phi(z)], E[phi(z)^2] by mpmath quadrature, split at the jumps of phi."""
    lv, th = ste.quantizer_grid(b, omega, kind)
    stc = ste.quantizer_staircase(b, omega, kind)
    with mpmath.workdps(dps):
        base, offs, hs = stc.mp_params()
        levels = [base]
        for h in hs:
            levels.append(levels[-1] + h)
        edges = [-mpmath.inf] + offs + [mpmath.inf]
        k = s = mpmath.mpf(0)
        for lvl, a, c in zip(levels, edges, edges[1:]):
            k += lvl * mpmath.quad(lambda z: z * mpmath.npdf(z), [a, c])
            s += lvl**2 * mpmath.quad(mpmath.npdf, [a, c])
        return k, s


@pytest.mark.parametrize("kind,b", [(k, b) for k, b in KIND_B if b <= 3])
@pytest.mark.parametrize("omega", [0.5, 1.3])
def test_moments_vs_quadrature(kind, b, omega):
    k, s = ste.input_moments(b, omega, kind, dps=30)
    kq, sq = _quad_moments(b, omega, kind, 40)
    # 30 requested digits: agreement to 1e-29 relative (quadrature run at 40 digits; compared at 40)
    with mpmath.workdps(40):
        assert abs(k - kq) < mpmath.mpf(10) ** -29 * abs(kq)
        assert abs(s - sq) < mpmath.mpf(10) ** -29 * abs(sq)
    kf, sf = ste.input_moments(b, omega, kind)
    assert abs(kf - float(kq)) < 4e-16 * abs(kf) + 1e-16
    assert abs(sf - float(sq)) < 4e-16 * abs(sf) + 1e-16
    assert kf**2 <= sf + 1e-15  # Cauchy-Schwarz (spec §4.1)


@pytest.mark.parametrize("kind,b", KIND_B)
def test_moments_monte_carlo(kind, b):
    rng = np.random.default_rng(12345 + b)
    n = 200_000
    z = rng.standard_normal(n)
    f = ste.quantize(z, b, 0.8, kind)
    k, s = ste.input_moments(b, 0.8, kind)
    # k = 5 standard errors: two-sided false-failure rate 5.7e-7 per comparison (fixed seed anyway)
    for samples, val in ((z * f, k), (f * f, s)):
        se = samples.std(ddof=1) / np.sqrt(n)
        assert abs(samples.mean() - val) < 5 * se + 1e-13  # + rounding floor (phi^2 is constant for b = 1)


def test_moments_vectorised_and_unquantized():
    om = np.array([0.3, 1.0, 2.5])
    k, s = ste.input_moments(3, om)
    for i, w in enumerate(om):
        assert (k[i], s[i]) == pytest.approx(ste.input_moments(3, float(w)), rel=1e-15)
    assert ste.input_moments(None) == (1.0, 1.0)
    assert ste.input_moments(None, dps=20) == (1, 1)
    # large b, large omega -> unquantized values
    k, s = ste.input_moments(16, 9.0)
    assert k == pytest.approx(1, abs=1e-6) and s == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("kind,b", [(k, b) for k, b in KIND_B if b <= 3])
def test_moments_vs_lead_maps_and_stein(kind, b):
    maps = pytest.importorskip("qmf_sym.maps")
    stc = ste.quantizer_staircase(b, 1.3, kind)
    k, s = ste.input_moments(b, 1.3, kind, dps=30)
    m1, m2 = maps.post_activation_moments(stc, 1, dps=30)
    with mpmath.workdps(40):  # compare at more digits than either side carries
        assert abs(m1) < mpmath.mpf(10) ** -28
        assert abs(m2 - s) < mpmath.mpf(10) ** -28 * s
    e1, e2 = maps.post_activation_moments(stc, 1.0)
    assert abs(e2 - float(s)) < 1e-14
    # Stein: kappa = E[z phi(z)] = E[phi'(z)] = sum_i h_i n(g_i) from the staircase's own parameters
    with mpmath.workdps(40):
        _, offs, hs = stc.mp_params()
        stein = mpmath.fsum(h * mpmath.npdf(g) for g, h in zip(offs, hs))
        assert abs(stein - k) < mpmath.mpf(10) ** -29 * k


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


# ---------------------------------------------------------------------------- stationary state (spec §5.2)
def _flux(w, p, ws, eta, lam, b, omega, kind, ste_name, k, s, eps, sig, T):
    A = eta * ste.ste_grad(w, omega, ste_name) * (k * ws - s * ste.quantize(w, b, omega, kind)) - eta * lam * w
    B = eta**2 * ste.ste_grad(w, omega, ste_name) * s * (2 * eps + sig) + 2 * eta * T
    return A * p - 0.5 * np.gradient(B * p, w)


@pytest.mark.parametrize("ste_name,lam,T,omega", [("clipped", 1.0, 0.0, 1.0), ("identity", 1.0, 0.0, 1.0),
                                                  ("identity", 0.0, 0.0, 2.0), ("clipped", 0.5, 0.002, 0.7)])
def test_stationary_density_normalised_zero_flux(ste_name, lam, T, omega):
    args = dict(eta=0.04, lam=lam, b=3, omega=omega, kind="endpoints", ste=ste_name, kappa=0.9, s2=0.8,
                eps_g=0.15, sigma2=0.05, T=T)
    grid = np.linspace(-8, 8, 800_001)
    g, p = ste.stationary_density(1.0, grid=grid, **args)
    assert np.all(p >= 0)
    # normalisation: trapezoid rule piece by piece (p jumps at the breakpoints), 20001 points per piece
    lv, th = ste.quantizer_grid(3, omega)
    edges = np.unique(np.concatenate([[-8.0, 8.0], th, [-omega, omega]]))
    total = 0.0
    for lo, hi in zip(edges, edges[1:]):
        x = np.linspace(lo + 1e-12, hi - 1e-12, 20001)
        total += simpson(ste.stationary_density(1.0, grid=x, **args)[1], x=x)
    # Simpson error O(h^4 p'''') with h <= 8e-4 and decay lengths >= 5e-3: < 1e-7 relative
    assert total == pytest.approx(1.0, abs=1e-6)
    if ste_name == "clipped" and T == 0:
        assert np.all(p[np.abs(g) > omega + 1e-9] == 0)
    J = _flux(g, p, 1.0, args["eta"], lam, 3, omega, "endpoints", ste_name, 0.9, 0.8, 0.15, 0.05, T)
    # away from the jumps of A and B (finite differences are not valid there), J vanishes to O(h^2)
    lv, th = ste.quantizer_grid(3, omega)
    jumps = np.concatenate([th, [-omega, omega]])
    far = np.min(np.abs(g[:, None] - jumps[None, :]), axis=1) > 1e-3
    scale = np.max(np.abs(args["eta"] * p))
    assert np.max(np.abs(J[far])) < 1e-5 * scale


def test_stationary_state_self_consistent_and_limits():
    st_ = ste.stationary_state(0.04, 1.0, 3, 1.0)
    assert abs(st_.residual) < 1e-12
    # its value is checked against independent faces elsewhere: a particle run here
    # (test_stationary_state_vs_particles) and the long-time PDE in tests/test_ste_sim.py
    assert 0 < st_.eps_g < 0.5
    # fine grid, lam = 1: the latent weight sits near the ridge optimum kappa w*/(s2 + lam) = 1/2 and
    # eps_g tends to the continuous value (1 - 2 m + q)/2 with m ~ 1/2, q ~ 1/4 + spread -> ~0.126
    fine = ste.stationary_state(0.04, 1.0, 10, 1.0)
    assert fine.m_psi == pytest.approx(0.5, abs=2e-3) and fine.eps_g == pytest.approx(0.126, abs=2e-3)
    # identity STE, lam = 0, wide range: psi(w) -> w*, eps small
    st2 = ste.stationary_state(0.04, 0.0, 3, 2.0, ste="identity")
    assert st2.eps_g < 0.05 and abs(st2.residual) < 1e-12
    # discrete teacher law
    st3 = ste.stationary_state(0.04, 1.0, 3, 1.0, teacher=([-1.0, 0.5, 1.0], [1, 2, 1]))
    assert st3.rho == pytest.approx(0.625) and abs(st3.residual) < 1e-12


def test_stationary_state_vs_particles():
    """Independent face: Euler-Maruyama of the McKean-Vlasov SDE (spec §4.3), eps_g from particles."""
    rng = np.random.default_rng(7)
    eta, lam, b, omega = 0.5, 1.0, 2, 1.0
    N, dt, steps = 20_000, 0.02, 2000
    w = rng.standard_normal(N)
    acc = []
    for t in range(steps):
        psi = ste.quantize(w, b, omega)
        eps = 0.5 * (1 - 2 * psi.mean() + np.mean(psi**2))
        g = ste.ste_grad(w, omega)
        A = eta * g * (1 - psi) - eta * lam * w
        Bv = eta**2 * g * (2 * eps)
        w = w + A * dt + np.sqrt(Bv * dt) * rng.standard_normal(N)
        if t >= steps // 2:
            acc.append(eps)
    th = ste.stationary_state(eta, lam, b, omega)
    # time average over the second half; fluctuations of eps ~ 1/sqrt(N) ~ 0.003 and an O(dt)
    # Euler bias: tolerance 0.01 (empirically the difference is a few 1e-3)
    assert np.mean(acc) == pytest.approx(th.eps_g, abs=0.01)


def test_stationary_errors():
    with pytest.raises(ValueError, match="normalizable"):
        ste.stationary_state(0.04, 0.0, 3, 1.0, ste="identity")  # s2 * omega = kappa * w* = 1
    with pytest.raises(ValueError, match="not unique"):
        ste.stationary_state(0.04, 0.0, 3, 1.0, ste="clipped")
    with pytest.raises(ValueError, match="lam"):
        ste.stationary_state(0.04, -1.0, 3, 1.0)


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,name", [
    (lambda: ste.quantize(0.3, 0, 1.0), "b"),
    (lambda: ste.quantize(0.3, 1, 1.0, "midtread"), "b"),
    (lambda: ste.quantize(0.3, 2.5, 1.0), "b"),
    (lambda: ste.quantize(0.3, 2, 0.0), "omega"),
    (lambda: ste.quantize(0.3, 2, -1.0), "omega"),
    (lambda: ste.quantize(0.3, 2, 1.0, "foo"), "kind"),
    (lambda: ste.quantizer_grid(2, 1.0, "foo"), "kind"),
    (lambda: ste.ste_grad(0.3, 1.0, "foo"), "ste"),
    (lambda: ste.ste_grad(0.3, 0.0), "omega"),
    (lambda: ste.input_moments(0, 1.0), "b"),
    (lambda: ste.input_moments(2, 1.0, dps=0), "dps"),
    (lambda: ste.steady_state_error(0.0, 2, 1.0), "eta"),
    (lambda: ste.steady_state_error(-0.1, 2, 1.0), "eta"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, lam=-0.1), "lam"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, sigma2=-0.1), "sigma2"),
    (lambda: ste.stability_boundary(2, 1.0, lam=-1), "lam"),
    (lambda: ste.solve_input_only_ode(1.0, 0.0, 0.0, 0.0, 0.7, 0.5), "eta"),
    (lambda: ste.input_only_fixed_point(0.5, -1.0, 0.0, 0.7, 0.5), "lam"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, ste="foo"), "ste"),
    (lambda: ste.stationary_state(0.0, 1.0, 3, 1.0), "eta"),
    (lambda: ste.stationary_density(1.0, 0.04, 1.0, 0, 1.0), "b"),
    (lambda: ste.fig5_curves(b_x=(0,)), "b_x"),
    # issue 8 §2 item 10: bools are not integers, NaN is not a number, tolerances are validated
    (lambda: ste.quantize(0.3, True, 1.0), "b"),
    (lambda: ste.quantizer_grid(True, 1.0), "b"),
    (lambda: ste.input_moments(True, 1.0), "b"),
    (lambda: ste.input_moments(2, 1.0, dps=True), "dps"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, dps=True), "dps"),
    (lambda: ste.quantize(True, 2, 1.0), "u"),
    (lambda: ste.quantize(0.3, 2, float("nan")), "omega"),
    (lambda: ste.steady_state_error(float("nan"), 2, 1.0), "eta"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=0.0), "xtol"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=float("nan")), "xtol"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=True), "xtol"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_nan_input_propagates_never_a_level():
    """issue 8 §2 item 10: quantize(nan) was 1.0 (searchsorted puts NaN past every threshold).
    Decision: NaN propagates (a NaN is never mapped to a level); +-inf are valid (outer levels)."""
    for kind, b in KIND_B:
        lv, _ = ste.quantizer_grid(b, 1.5, kind)
        assert np.isnan(ste.quantize(np.nan, b, 1.5, kind))
        out = ste.quantize(np.array([-np.inf, np.nan, 0.2, np.inf]), b, 1.5, kind)
        assert out[0] == lv[0] and np.isnan(out[1]) and out[3] == lv[-1]
        assert out[2] == ste.quantize(0.2, b, 1.5, kind)
    for name in ste.STES:
        g = ste.ste_grad(np.array([np.nan, 0.1, 5.0]), 1.0, name)
        assert np.isnan(g[0]) and g[1] == 1.0 and g[2] == (1.0 if name == "identity" else 0.0)
        assert np.isnan(ste.ste_grad(np.nan, 1.0, name))
