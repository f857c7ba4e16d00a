"""Regression tests for the validation rules and the extreme inputs
of gaussian / maps; each failed before the fix (values from independent mpmath evaluations)."""
import math

import mpmath
import numpy as np
import pytest

from qmf_sym import _validate as V
from qmf_sym import gaussian as G
from qmf_sym import maps as M
from qmf_sym.activations import Staircase


@pytest.mark.parametrize("x", [4.3e9, 1e10, 3.3e12, 1e100, 1e149])
def test_pdf_cdf_finite_for_huge_x(x):  # item 1: NaN for about half of [4.3e9, 1e150] before
    assert G.pdf(x) == 0.0 and G.pdf(-x) == 0.0
    assert G.cdf(-x) == 0.0 and G.cdf(x) == 1.0


@pytest.mark.parametrize("sw", [1e-150, 1e-140, 1e-20, 1e-10])
def test_fixed_point_tiny_sigma_w(sw):  # item 1: "signal dies out" / Q* 2 % off before
    # uniform(10): for sigma_w -> 0 every offset but the one at 0 is far out: Q* = sigma_w^2 (1/9)^2
    fp = M.fixed_point(Staircase.uniform(10), sw)
    assert fp.Q == pytest.approx(sw * sw / 81, rel=1e-12)
    assert fp.chi == pytest.approx(2 / math.pi, rel=1e-12)


def test_fixed_point_huge_sigma_w():  # OverflowError before
    with pytest.raises(ValueError, match=r"sigma_w must be in \(0, 1e\+150\]"):
        M.fixed_point(Staircase.uniform(10), 1e300)
    fp = M.fixed_point(Staircase.uniform(10), 1e150, dps=20)
    with mpmath.workdps(30):
        assert abs(fp.Q / mpmath.mpf(1e150) ** 2 - 1) < mpmath.mpf(10) ** -18  # levels -> +-1
    assert abs(float(fp.chi) - 2 / math.pi) < 1e-15


def test_tiny_Q_at_dps():  # OverflowError (mpmath erfc) before
    v = M.variance_map(Staircase.uniform(10), 1e-300, 1.0, dps=20)
    with mpmath.workdps(30):
        assert abs(v - mpmath.mpf(1) / 81) < mpmath.mpf(10) ** -19


@pytest.mark.parametrize("call", [
    lambda: M.variance_map(Staircase.uniform(10), 1e-320, 1.0, dps=20),
    lambda: M.chi(Staircase.uniform(4), 5e-324, C=0.3, sigma_w=1.3),  # NaN before
    lambda: M.chi(Staircase.uniform(4), 0.05, deficit=5e-324, sigma_w=1.3),  # 1e-3 relative error before
    lambda: M.correlation_map(Staircase.uniform(4), 0.05, one_plus=5e-324),
])
def test_subnormal_scales_refused(call):
    """A subnormal variance, deficit or 1 + C is refused in one line naming it (float64 keeps one or two
    significant bits of it: the faces returned NaN or lost 3 digits)."""
    with pytest.raises(ValueError, match=r"(Q|deficit|one_plus) must be .*not subnormal"):
        call()


@pytest.mark.parametrize("call", [
    lambda: V.dps(True), lambda: V.integer("b", True, 1), lambda: V.integer("seed", np.bool_(True), 0),
    lambda: V.positive("Q", True), lambda: V.dps(10 ** 5), lambda: V.dps(V.DPS_MAX + 1),
    lambda: G.pdf(float("nan")), lambda: G.cdf(np.array([0.0, np.nan])), lambda: G.cdf(0.0, dps=True),
    lambda: M.variance_map(Staircase.sign(), 1.0, float("nan")),
])
def test_bools_nan_and_dps_bound_rejected(call):  # item 10
    with pytest.raises(ValueError):
        call()


def test_excess_dps_far_tails():  # item 11: 1e-5 .. factor 3 wrong past ~12-16 sigma before
    for h, k, r in [(16, 16, 0.5), (20, 20, 0.5), (14, 13, 0.9), (-14, -14, 0.5), (40, 40, 0.72)]:
        a, b = G.bvn_excess(h, k, r, dps=25), G.bvn_excess(h, k, r, dps=50)
        with mpmath.workdps(60):
            ref = G._excess_oracle(h, k, rho=r)
            assert abs(a / ref - 1) < mpmath.mpf(10) ** -22 and abs(b / ref - 1) < mpmath.mpf(10) ** -22


def test_chi_near_minus_one_via_one_plus():  # item 11: no 1 + C argument before
    act, e = Staircase.uniform(4), 1e-13
    c = M.chi(act, 0.7, sigma_w=1.2, one_plus=e)
    with mpmath.workdps(50):
        ref = M.chi(act, 0.7, sigma_w=1.2, one_plus=mpmath.mpf(e), dps=40)
    assert abs(c - float(ref)) <= 1e-13 * float(ref)
    # the float C = -1 + e rounds 1 + C: it cannot be as accurate
    assert -1.0 + e != -1.0


def test_correlation_map_deficit_certified_range():  # item 11: the documented boundary
    act = Staircase.uniform(16)
    fp = M.fixed_point(act, 1.0)
    for d in (1e-6, 1e-16, 1e-30):
        exact = M.correlation_map_deficit(act, fp.Q, d, 1.0, dps=30, include_residual=False)
        f = M.correlation_map_deficit(act, fp.Q, d, 1.0, include_residual=False)
        # float64: absolute accuracy only (scipy's Owen's T is absolute-accurate), both modes
        assert abs(f - float(exact)) <= 1e-15
        hi = M.correlation_map_deficit(act, fp.Q, d, 1.0, dps=45, include_residual=False)
        with mpmath.workdps(50):
            assert abs(exact - hi) <= mpmath.mpf(10) ** -28 * hi  # dps face: relative at every delta
        with_res = M.correlation_map_deficit(act, fp.Q, d, 1.0)
        with mpmath.workdps(40):
            ref = M.correlation_map_deficit(act, fp.Q, d, 1.0, dps=30)
        assert abs(with_res - float(ref)) <= 1e-15  # absolute only (the residual of a float Q*)


def test_from_grid():
    s = Staircase.from_grid([-1.5, -0.5, 0.5, 1.5], [-1.0, 0.0, 1.0])
    assert s == Staircase([-1.0, 0.0, 1.0], [1, 1, 1], base=-1.5)
    assert np.array_equal(s(np.array([-2.0, -0.5, 0.5, 3.0])), [-1.5, -0.5, 0.5, 1.5])


# ---------------------------------------------------------------------------------------------------
# the analysis helpers a notebook calls follow the one rule (ValueError naming the
# parameter; no NaN passing as a number).  Every case below raised TypeError / AttributeError /
# IndexError, returned NaN, or was accepted before.
def _helper_cases():
    import torch

    from qmf_sim import data as D
    from qmf_sim import netprop as NW
    from qmf_sim import sweep as S
    from qmf_sim import training as T
    from qmf_sym import quantization as Qz
    from qmf_sym import spacing as SP
    from qmf_sym.ste import input_only as IO

    act = Staircase.uniform(4)
    rows = SP.table(range(2, 8))
    X = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    nan, inf = float("nan"), float("inf")
    return [
        # sweep: boundary depths and the boundary-constant fit
        (lambda: S.boundary_depths(nan, [0.9]), "depths"), (lambda: S.boundary_depths([2, 4], None), "acc"),
        (lambda: S.boundary_depths([2, 4], [0.9, 0.1], chance=nan), "chance"),
        (lambda: S.boundary_depths([2, 4], [0.9, 0.1], best=True), "best"),
        (lambda: S.boundary_depths([], []), "depths"),
        (lambda: S.fit_boundary_constant(None, [2.0]), "xi"), (lambda: S.fit_boundary_constant([1, 2], "x"), "L_b"),
        (lambda: S.fit_boundary_constant([1, 2], [2, 4], n_boot=0), "n_boot"),
        (lambda: S.fit_boundary_constant([1, 2], [2, 4], seed=True), "seed"),
        (lambda: S.grid_table([], "levels"), "records"), (lambda: S.sigma_grid(4, [1.0]), "depths"),
        (lambda: S.levels_grid([4], [10 ** 12]), "levels"),
        # netprop: the decay layer, one-layer statistics, empirical chi, propagate's sizes and types
        (lambda: NW.decay_layer([0.9, 0.5], 1, inf), "target"), (lambda: NW.decay_layer(None, 1, 0.5), "values"),
        (lambda: NW.decay_layer([], 1, 0.5), "values"), (lambda: NW.decay_layer([0.9, 0.5], None, 0.5), "start"),
        (lambda: NW.one_layer_statistics(act, 1.0, 0.5, 1.5, n_prev=8, n_next=8, n_draws=nan), "n_draws"),
        (lambda: NW.one_layer_statistics(act, 1.0, 0.5, 1.5, n_prev=8, n_next=-1), "n_next"),
        (lambda: NW.one_layer_statistics(act, 1.0, 0.5, 1e-300, n_prev=8, n_next=8, n_draws=2), "sigma_w"),
        (lambda: NW.one_layer_statistics(act, 1.0, 0.5, 1.5, n_prev=8, n_next=8, dtype=None), "dtype"),
        (lambda: NW.empirical_chi(act, 1.5, n_prev=8, n_next=8, n_draws="x"), "n_draws"),
        (lambda: NW.empirical_chi(act, 1.5, C="x", n_prev=8, n_next=8), "C"),
        (lambda: NW.propagate(act, X, 1.5, width=8, device=0), "device"),
        (lambda: NW.propagate(act, X, 1.5, width=8, layers=3), "layers"),
        (lambda: NW.propagate(act, X, 1.5, width=8, progress="x"), "progress"),
        (lambda: NW.circulant_profile(None), "K"),
        (lambda: NW.correlation_propagation(act, [], depth=2, width=8, r=4), "sigma_ws"),
        # data standardisation
        (lambda: D.standardize(None, np.zeros((2, 3))), "x_train"),
        (lambda: D.standardize(np.zeros((2, 3)), np.full((2, 3), np.nan)), "x_test"),
        (lambda: D.standardize(np.zeros((2, 3)), np.zeros((2, 3)), floor=nan), "floor"),
        (lambda: T.theory("x", 1.5), "levels"), (lambda: T.theory(4, nan), "sigma_w"),
        (lambda: T.TrainConfig(depth=2, width=8, quantize_output="yes").validate(), "quantize_output"),
        # quantizer asymptotics
        (lambda: Qz.hui_neuhoff_step(nan), "N"), (lambda: Qz.hui_neuhoff_mse(-1), "N"),
        (lambda: Qz.panter_dite_mse(True), "N"), (lambda: Qz.panter_dite_mse([]), "N"),
        (lambda: Qz.chi_of_quantizer(nan, [0.0, 1.0]), "thresholds"),
        (lambda: Qz.uniform_quantizer_mse([], 4), "step"),
        (lambda: SP.fit_power_laws(nan), "rows"), (lambda: SP.fit_power_laws(rows, N_min=nan), "N_min"),
        # the input-only error and the Fig. 5 curves
        (lambda: IO.input_only_eps_g(nan, 1.0, 1.0, 1.0), "m"), (lambda: IO.input_only_eps_g(0.5, None, 1.0, 1.0), "q"),
        (lambda: IO.input_only_ode_rhs(0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 1.0), "y"),
        (lambda: IO.solve_input_only_ode(1.0, 0.5, 1.0, 0.0, 1.0, 1.0, m0=nan), "m0"),
        (lambda: IO.steady_state_error(0.5, 2, include_noise="x"), "include_noise"),
        (lambda: IO.steady_state_error(0.5, 2, omega=1e-300), "omega"),
        (lambda: IO.fig5_curves(b_x=3.0), "b_x"), (lambda: IO.fig5_curves(omegas=[nan]), "omegas"),
        (lambda: IO.fig5_curves(omega_right=inf), "omega_right"), (lambda: IO.fig5_curves(etas=[]), "etas"),
        # maps.iterate
        (lambda: M.iterate(act, nan, 0.5, 1.5, n_layers=2), "Q1"), (lambda: M.iterate(act, 1.0, True, 1.5), "C1"),
        (lambda: M.iterate(act, 1.0, 0.5, 1.5, n_layers=10 ** 12), "n_layers"),
    ]


def test_analysis_helpers_validated():
    bad = []
    for i, (call, name) in enumerate(_helper_cases()):
        try:
            call()
            bad.append((i, name, "no error"))
        except ValueError as exc:
            if name not in str(exc):
                bad.append((i, name, str(exc)[:120]))
        except Exception as exc:  # noqa: BLE001 - the point: nothing but ValueError
            bad.append((i, name, f"{type(exc).__name__}: {exc}"[:120]))
    assert not bad, bad


def test_valid_extremes_answer():  # valid extreme input gives the right answer
    from qmf_sim import netprop as NW
    from qmf_sym import quantization as Qz
    from qmf_sym import sign

    assert NW.decay_layer(np.ones(5), 1, 0.0) == math.inf  # never decays within the layers (was NaN)
    assert Qz.hui_neuhoff_mse(1e12) == pytest.approx(4 * math.log(1e12) / 3e24, rel=1e-14)
    assert sign.chi(0.3, 1e-300) == pytest.approx(2 / (math.pi * math.sqrt(1 - 0.09)), rel=1e-15)  # was NaN
    assert sign.correlation_map(0.3, 1e-300) == pytest.approx(2 / math.pi * math.asin(0.3), rel=1e-15)


# sizes are refused before anything runs or is allocated, above a
# documented bound, with the estimate in the message.  lloyd_max(10**7) would iterate for years,
# the dps faces at N = 10**7 for hours; the netprop / training sizes raised MemoryError.
@pytest.mark.parametrize("call, name", [
    (lambda: __import__("qmf_sym.quantization", fromlist=["x"]).lloyd_max(10 ** 7), "N"),
    (lambda: __import__("qmf_sym.quantization", fromlist=["x"]).optimal_uniform_quantizer(10 ** 7, dps=30), "N"),
    (lambda: __import__("qmf_sym.spacing", fromlist=["x"]).chi_uniform(0.01, 10 ** 7, dps=30), "N"),
    (lambda: __import__("qmf_sym.spacing", fromlist=["x"]).optimal_spacing(10 ** 7, dps=30), "N"),
    (lambda: __import__("qmf_sym.rounding", fromlist=["x"]).optimal_sr(10 ** 7, dps=30), "N"),
    (lambda: __import__("qmf_sim.netprop", fromlist=["x"]).circle_inputs(10 ** 6, 10 ** 6, 1.0, 1.0), "r|n0"),
    (lambda: __import__("qmf_sim.netprop", fromlist=["x"]).one_layer_statistics(
        Staircase.uniform(4), 1.0, 0.5, 1.5, n_prev=10 ** 6, n_next=10 ** 6), "n_next|n_prev"),
    (lambda: __import__("qmf_sim.netprop", fromlist=["x"]).propagate(
        Staircase.uniform(4), np.ones((2, 4)), 1.5, depth=2, width=10 ** 6), "width"),
    (lambda: __import__("qmf_sim.training", fromlist=["x"]).TrainConfig(depth=10 ** 4, width=10 ** 5).validate(),
     "depth|width"),
])
def test_sizes_refused_before_running(call, name):  # before: ran for minutes to years, or MemoryError
    with pytest.raises(ValueError, match=name) as err:
        call()
    msg = str(err.value)
    assert any(w in msg for w in ("at most", "too large", "]", "bound")), msg


def test_size_product_message():
    with pytest.raises(ValueError, match=r"width too large: .*8e\+12 float64 elements \(n_draws 8 x width 1000000.*TiB"):
        V.size_product(None, [("n_draws", 8), ("width", 10 ** 6), ("width", 10 ** 6)])


def test_one_memory_budget(monkeypatch):
    """size_product (element counts) and check_bytes (byte estimates) share the one budget."""
    monkeypatch.setenv("QMF_MAX_BYTES", "8K")
    assert V.memory_budget() == (8192, "QMF_MAX_BYTES")
    assert V.size_product("n", [("n", 1024)]) == 1024
    with pytest.raises(ValueError, match="n too large.*QMF_MAX_BYTES"):
        V.size_product("n", [("n", 1025)])
    assert V.check_bytes("d", 8192) == 8192
    with pytest.raises(ValueError, match="d would need about 8.0 KiB"):
        V.check_bytes("d", 8193)
    for bad in (float("nan"), -1, None, "x"):
        with pytest.raises(ValueError, match="nbytes"):
            V.check_bytes("d", bad)
    assert V.size_product("x", [("a", 3), ("b", 4)]) == 12
    with pytest.raises(ValueError, match="lloyd"):
        V.integer("N", 10, 2, 5, "lloyd's iteration")
    with pytest.raises(ValueError, match="empty"):
        V.positive("step", [])
    assert V.array("acc", [0.5, float("nan")], ndim=1, missing=True).shape == (2,)


def test_bivariate_infinite_limits():  # NaN at h or k = +-inf before (Owen's inf - inf)
    import mpmath

    for r in (-0.5, 0.0, 0.5):
        assert G.bvn_cdf(np.inf, 0.3, rho=r) == pytest.approx(float(mpmath.ncdf(0.3)), rel=1e-15)
        assert G.bvn_cdf(-np.inf, 0.3, rho=r) == 0.0 and G.bvn_excess(0.3, np.inf, rho=r) == 0.0
        assert G.bvn_pdf(np.inf, 0.2, rho=r) == 0.0 and G.bvn_pdf(0.2, -np.inf, rho=r) == 0.0
        assert G.orthant(-np.inf, 0.2, rho=r) == pytest.approx(float(mpmath.ncdf(-0.2)), rel=1e-15)
        assert float(G.bvn_cdf(np.inf, 0.3, rho=r, dps=20)) == pytest.approx(float(mpmath.ncdf(0.3)), rel=1e-15)
    np.testing.assert_array_equal(G.bvn_cdf(np.array([-np.inf, 1.0]), np.array([np.inf, -np.inf]), rho=0.3), [0, 0])


def test_proof_inputs_named():  # TypeError / "invalid string for arb()" before
    from qmf_sym import proof as P

    if not P.available():
        pytest.skip("python-flint not installed")
    for call, name in [(lambda: P.chi_staircase_ball(None), "offsets"), (lambda: P.chi_staircase_ball([0.5], 1 + 2j), "heights"),
                       (lambda: P.pdf_ball("x"), "x"), (lambda: P.variance_map_ball(Staircase.uniform(4), "x", 1.0), "Q"),
                       (lambda: P.mid_rad(1.0), "a")]:
        with pytest.raises(ValueError, match=name):
            call()
    assert float(P.mid_rad(P.pdf_ball("0.5"))[0]) == pytest.approx(math.exp(-0.125) / math.sqrt(2 * math.pi), rel=1e-15)


def test_label_and_numpy_complex():
    """V.label: a non-empty string (the label a message names); a numpy complex is not a real number (asarray(...,
    float) used to drop its imaginary part silently: bias_study(sigma_bs=1+2j) ran at sigma_b = 1)."""
    from qmf_sym import _validate as V

    assert V.label("name", "act") == "act"
    for bad in (None, "", 1.0, float("nan"), True, [], 1 + 2j):
        with pytest.raises(ValueError, match="name must be a non-empty string"):
            V.label("name", bad)
    for bad in (np.complex128(1 + 2j), np.array([1 + 0j]), [1 + 2j], 1 + 2j):
        with pytest.raises(ValueError, match="x must be .*complex"):
            V.finite("x", bad)
    assert V.finite("x", np.float32(2.5)) == 2.5


def test_size_product_checks_its_own_arguments():
    """size_product refused nothing of its own: factors=5 was a TypeError, limit=nan accepted, name=1+2j printed."""
    from qmf_sym import _validate as V

    assert V.size_product("width", [("width", 8), ("depth", 4)]) == 32
    assert V.size_product(None, [("width", 8.0)]) == 8  # an integral float is an integer
    for kw, name in [(dict(factors=5), "factors"), (dict(factors=[]), "factors"), (dict(factors=[("w", -1)]), "w"),
                     (dict(factors=[("w", 2.5)]), "w"), (dict(limit=float("nan")), "limit"), (dict(limit=0), "limit"),
                     (dict(name=1 + 2j), "name"), (dict(what=None), "what")]:
        args = dict(name="width", factors=[("width", 8)])
        args.update(kw)
        with pytest.raises(ValueError, match=name):
            V.size_product(**args)
    with pytest.raises(ValueError, match="width too large"):
        V.size_product("width", [("width", 10 ** 12), ("width", 10 ** 12)])


@pytest.mark.parametrize("call", [
    lambda: M.chi(Staircase.uniform(4), 1e-4, C=-0.6, sigma_w=1e300),  # NaN (inf * 0) before
    lambda: M.variance_map(Staircase.uniform(4), 0.05, 1.0, sigma_b=1e200),
])
def test_sigma_bound(call):
    """sigma_w and sigma_b are at most 1e150 (their squares float64 numbers): sigma_w^2 = inf times a
    kernel that underflows to 0 was NaN; linearisation.variance_slope raised OverflowError."""
    with pytest.raises(ValueError, match=r"sigma_[wb] must be in .0, 1e\+150\]"):
        call()


def test_sigma_bound_variance_slope():
    from qmf_sym import linearisation as L

    with pytest.raises(ValueError, match="sigma_w"):
        L.variance_slope(Staircase.uniform(4), 0.05, 1e300)
    assert math.isfinite(M.chi(Staircase.uniform(4), 1e-4, C=-0.6, sigma_w=1e150))


def test_stochastic_rounding_near_minus_one():
    """sr_chi / sr_covariance near C = -1: 1 + C now from C, not 2 - (1 - C) rounded (3e-9 relative)."""
    from qmf_sym.rounding import sr_chi, sr_covariance

    for c in (-0.999999999999999, -0.9999999):
        for f in (sr_chi, sr_covariance):
            x, y = f(Staircase.uniform(2), 9.0, C=c), float(f(Staircase.uniform(2), 9.0, C=c, dps=30))
            assert abs(x - y) <= 1e-13 * abs(y)


def test_chi_uniform_at_extreme_spacings():
    """Eq. 17 at valid extreme D~: below ~4e-9 the float64 face's padding thresholds stopped underflowing
    (chi = 7e-11 instead of 2/pi at D~ = 1e-10); for odd N at large D~ it was 0/0 = NaN (chi underflows
    to 0); D~ > 1e100 is refused (mpmath's erfc raised OverflowError from ~1e154)."""
    from qmf_sym.spacing import chi_uniform

    for N in (2, 3, 16, 101):
        for D in (1e-9, 1e-10, 1e-20, 1e-300):
            assert chi_uniform(D, N) == pytest.approx(float(chi_uniform(D, N, dps=25)), rel=1e-15)
    assert chi_uniform(100.0, 3) == 0.0 and chi_uniform(1e100, 3) == 0.0
    assert chi_uniform(1e100, 4) == pytest.approx(2 / math.pi, rel=1e-15)
    with pytest.raises(ValueError, match=r"D must be in \(0, 1e\+100\]"):
        chi_uniform(1e300, 3, dps=20)


def test_tanh_moments_huge_amplitude():
    """kappa = a kappa_1 and sigma^2 = a^2 sigma_1^2 (the integrands with a^2 = inf gave NaN)."""
    from qmf_sym.ste.maps import tanh_moments

    k, s2 = tanh_moments(1e300, 1.0)
    assert k == pytest.approx(float(tanh_moments(1e300, 1.0, dps=20)[0]), rel=1e-14) and s2 == math.inf
    k, s2 = tanh_moments(1e150, 1.0)
    assert s2 == pytest.approx(float(tanh_moments(1e150, 1.0, dps=20)[1]), rel=1e-14)
    for c in (1e-5, 1e-8, 1e-30):  # a narrow tanh: quad missed its turn-on (1 - E tanh^2 24 % off at 1e-8)
        for x, y in zip(tanh_moments(1.0, c), tanh_moments(1.0, c, dps=20)):
            assert x == pytest.approx(float(y), rel=1e-12)


def test_stochastic_rounding_Q_bound():
    """Q above 1e12 is refused for the SR forms (their dps faces were wrong in the 4th digit at 1e30)."""
    from qmf_sym.rounding import sr_covariance, sr_moments

    with pytest.raises(ValueError, match=r"Q must be in \(0, 1e\+12\] for stochastic rounding"):
        sr_moments(Staircase.uniform(4), 1e30)
    x, y = sr_covariance(Staircase.uniform(4), 1e12, C=0.999), sr_covariance(Staircase.uniform(4), 1e12, C=0.999, dps=25)
    assert abs(x - float(y)) <= 1e-12 * abs(float(y))


_DOMINANT = [(N, sw, sb) for N in (2, 4, 16, 64) for sw, sb in ((1.0, 1e4), (1e-8, 1.0), (0.1, 1e4), (1e-30, 1.0), (1e-3, 1.0))]
_DOMINANT_QUICK = [(16, 1.0, 1e4), (4, 1e-30, 1.0)]


@pytest.mark.parametrize("N, sw, sb", _DOMINANT_QUICK + [pytest.param(*c, marks=pytest.mark.slow)
                                                         for c in _DOMINANT if c not in _DOMINANT_QUICK])
def test_fixed_point_when_sigma_b_dominates(N, sw, sb):
    """sigma_b >> sigma_w: 1 - C* ~ (sigma_w/sigma_b)^4 (1e-16 .. 1e-120) and chi(C*) -> 1/2.  Before: the float64
    scan stopped at 1 - C = 1e-14 (C* = 1, chi = inf reported), the dps face crashed (TypeError: its root
    search crossed C = 1 into complex numbers), Phi_2's complement left ~1e-17 of rounding in terms that are
    0, and mpmath.quad's absolute stopping rule kept 14 digits of an integral over an interval of 1e-60."""
    act = Staircase.uniform(N)
    a = M.fixed_point(act, sw, sb)
    b = M.fixed_point(act, sw, sb, dps=30)
    with mpmath.workdps(40):
        assert abs(b.chi - mpmath.mpf(1) / 2) < mpmath.mpf(10) ** -12  # the limit, to O(sqrt(1 - C*))
        assert abs(a.chi - b.chi) <= 1e-14 and a.C <= 1.0 and b.C <= 1
