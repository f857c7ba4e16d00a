"""Tests of the qmf_sym.ste package as a whole: every public name of the former module, and bad
input across its modules (ValueError naming the parameter)."""
import pytest

from qmf_sym import ste


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
    # bools are not integers, NaN is not a number, tolerances are validated
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


def test_public_names_kept():
    """Every public name of the former qmf_sym.ste module is still importable from the package."""
    names = ["KINDS", "STES", "B_MAX", "quantizer_grid", "quantize", "ste_grad", "quantizer_staircase",
             "input_moments", "input_only_symbolic", "input_only_eps_g", "input_only_ode_rhs",
             "solve_input_only_ode", "FixedPoint", "input_only_fixed_point", "stability_boundary",
             "steady_state_error", "baseline_deviation", "fig5_curves", "stationary_density",
             "StationaryState", "stationary_state"]
    assert all(hasattr(ste, n) for n in names)


# ------------------------------------------------------------------------------------ maps
import numpy as np  # noqa: E402

from qmf_sym.activations import Staircase  # noqa: E402
from qmf_sym.ste import maps as SM  # noqa: E402


@pytest.mark.parametrize("a,c", [(1.0, 1.0), (2.0, 0.25), (0.5, 5.0), (1.3, 0.01)])
def test_tanh_moments_faces(a, c):
    """float64 face vs the dps face (certified-by-estimate quadrature) vs the Stein oracle (one integral
    of sech^2, a different integrand): 1e-12 relative (quad's requested 1e-13 with margin)."""
    import mpmath

    k, s = SM.tanh_moments(a, c)
    km, sm = SM.tanh_moments(a, c, dps=30)
    with mpmath.workdps(40):
        ko, so = SM.tanh_moments.oracle(a, c)
        assert abs(km - ko) < mpmath.mpf(10) ** -25 * abs(ko) and abs(sm - so) < mpmath.mpf(10) ** -25 * abs(so)
    np.testing.assert_allclose([k, s], [float(ko), float(so)], rtol=1e-12)
    if a == c == 1.0:  # kappa + sigma^2 = E sech^2 + E tanh^2 = 1 exactly
        assert abs(k + s - 1.0) < 1e-14


def test_map_moments_routes_agree():
    """The quantizer as a Map (input_moments), as a generic Staircase (Stein + eq. 14 cells), as a
    callable (quadrature) and by Monte Carlo; sign(s) in closed form: kappa = s sqrt(2/pi), s2 = s^2."""
    q = SM.Map.quantizer(3, 1.2, "midtread")
    k1, s1 = SM.map_moments(q)
    k2, s2 = SM.map_moments(SM.Map.staircase(ste.quantizer_staircase(3, 1.2, "midtread")))
    np.testing.assert_allclose([k1, s1], [k2, s2], rtol=1e-14)
    f = SM.Map.from_callable(lambda u: ste.quantize(u, 3, 1.2, "midtread"), lambda u: np.ones_like(u))
    np.testing.assert_allclose(SM.map_moments(f), [k1, s1], rtol=1e-7)
    z = np.random.default_rng(0).standard_normal(2_000_000)
    qz = q.forward(z)
    # Monte Carlo with 2e6 draws: SE < 1e-3; 5 SE
    assert abs(np.mean(z * qz) - k1) < 5e-3 and abs(np.mean(qz * qz) - s1) < 5e-3
    np.testing.assert_allclose(SM.map_moments(SM.Map.sign(2.0)), [2.0 * np.sqrt(2 / np.pi), 4.0], rtol=1e-15)
    km, sm = SM.map_moments(SM.Map.staircase(Staircase([-0.5, 0.0, 0.5], 1.0, base=-1.5)), dps=25)
    kf, sf = SM.map_moments(SM.Map.staircase(Staircase([-0.5, 0.0, 0.5], 1.0, base=-1.5)))
    assert abs(float(km) - kf) < 1e-15 and abs(float(sm) - sf) < 1e-15


def test_map_eta_c_and_steady_state():
    """eta_c = 2 (s2 + lam)/s2^2 and eps_g* = rho (1 - kappa^2/s2)/(2 - eta s2) (spec §5.1) for phi = tanh."""
    k, s2 = SM.map_moments(SM.Map.tanh(1.5, 0.8))
    assert abs(SM.map_eta_c(SM.Map.tanh(1.5, 0.8), lam=0.3) - 2 * (s2 + 0.3) / s2**2) < 1e-13
    eta = 0.7
    assert abs(SM.map_steady_state(eta, SM.Map.tanh(1.5, 0.8)) - (1 - k * k / s2) / (2 - eta * s2)) < 1e-13
    assert SM.map_steady_state(2.01 / s2, SM.Map.tanh(1.5, 0.8)) == np.inf
    # the quantizer Map reproduces the quantizer functions exactly
    assert SM.map_eta_c(SM.Map.quantizer(3, 1.0)) == ste.stability_boundary(3, 1.0)
    assert SM.map_steady_state(0.5, SM.Map.quantizer(3, 1.0)) == ste.steady_state_error(0.5, 3, 1.0)


def test_map_forward_surrogate_and_pieces():
    q = SM.Map.quantizer(2, 1.0)
    u = np.linspace(-2, 2, 401)
    np.testing.assert_array_equal(q.forward(u), ste.quantize(u, 2, 1.0))
    np.testing.assert_array_equal(q.surrogate(u), ste.ste_grad(u, 1.0))
    np.testing.assert_array_equal(SM.Map.quantizer(2, 1.0, ste="identity").surrogate(u), 1.0)
    t = SM.Map.tanh(2.0, 0.5)
    h = 1e-6  # central difference: the surrogate of tanh is its derivative (error ~h^2)
    np.testing.assert_allclose(t.surrogate(u), (t.forward(u + h) - t.forward(u - h)) / (2 * h), rtol=1e-7, atol=1e-9)
    br, lev, g = q.pieces()
    np.testing.assert_allclose(br, [-1.0, -2 / 3, 0.0, 2 / 3, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(g, [0, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(lev, [-1, -1, -1 / 3, 1 / 3, 1, 1])
    for m in (SM.Map.tanh(), SM.Map.identity()):
        with pytest.raises(ValueError, match="psi"):
            m.pieces()


@pytest.mark.parametrize("call,name", [
    (lambda: SM.Map.tanh(0.0), "amplitude"), (lambda: SM.Map.tanh(1.0, float("nan")), "width"),
    (lambda: SM.Map.tanh(True), "amplitude"), (lambda: SM.Map.sign(-1.0), "scale"),
    (lambda: SM.Map.from_callable(3, np.cos), "fn"), (lambda: SM.Map.from_callable(np.sin, None), "dfn"),
    (lambda: SM.Map.from_callable(lambda u: u[:2], np.cos), "fn"),
    (lambda: SM.named_map("cosh"), "psi"), (lambda: SM.named_map("tanh:1,2,3", name="phi"), "phi"),
    (lambda: SM.map_moments("tanh"), "phi"), (lambda: SM.tanh_moments(1.0, -1.0), "width"),
    (lambda: SM.map_moments(SM.Map.tanh(), dps=True), "dps"),
    (lambda: SM.check_input_map(SM.Map.staircase(Staircase([0.0], 1.0, base=0.0))), "phi"),
    (lambda: SM.Map.staircase(Staircase([0.0], 1.0), ste="both"), "ste"),
])
def test_maps_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_closure_gaussian_expectations_closed_form_vs_quadrature():
    """The staircase closed forms of the closure's Gaussian expectations against the Simpson rule of the
    callable path applied to the same map (a step function: the rule converges like O(h); 4001 points on
    +-12 sd give ~3e-3 relative per jump, allowed 5e-3)."""
    from qmf_sym.ste.closure import gauss_expectations

    q = SM.Map.quantizer(3, 1.0)
    f = SM.Map.from_callable(q.forward, q.surrogate)
    mu, v = np.array([0.0, 0.4, -1.3]), np.array([1.0, 0.2, 0.05])
    a, b = gauss_expectations(q, mu, v), gauss_expectations(f, mu, v)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=5e-3, err_msg=key)


@pytest.mark.parametrize("kw,name", [(dict(closure="beta"), "closure"), (dict(ridge="w"), "ridge"), (dict(dt=0.0), "dt"),
                                     (dict(eta=-1.0), "eta"), (dict(lam=float("nan")), "lam"),
                                     (dict(init="cauchy"), "init"), (dict(psi="tanh"), "psi")])
def test_closure_bad_input(kw, name):
    from qmf_sym.ste.closure import solve_closure

    args = dict(tau=[0.0, 1.0], psi=SM.Map.quantizer(2, 1.0), kappa=1.0, s2=1.0, eta=0.04, lam=1.0) | kw
    with pytest.raises(ValueError, match=name):
        solve_closure(**args)
