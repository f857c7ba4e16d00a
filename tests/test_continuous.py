"""Continuous activations (erf, ReLU / leaky ReLU, hard tanh, tanh and any Smooth callable) through the
maps of paper 1 (eq. 4-7), the fixed point with chi_1, the edge of chaos, and the fixed-point
bracket fix for staircases (the N = 16 / 32 sweep).

Tolerances: closed forms against independent mpmath quadratures (the generic oracles of
qmf_sym._continuous, at 30 digits) to 1e-25 relative; float64 faces to the accuracy their
docstrings state; Monte Carlo checks within K_SE = 5 standard errors (two-sided false-failure rate
~6e-7 per check), seeds fixed."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qmf_sym import activations as A
from qmf_sym import backward, init, maps, ntk, phase
from qmf_sym.activations import Erf, HardTanh, LeakyReLU, ReLU, Smooth, Staircase, Tanh, by_name

K_SE = 5


# ----------------------------------------------------------------------------- protocol
def test_every_kind_is_an_activation():
    for act in (Staircase.uniform(4), Staircase.sign(), Erf(), ReLU(), LeakyReLU(0.2), HardTanh(), Tanh()):
        assert isinstance(act, A.Activation) and isinstance(act.name, str)
        x = np.array([-1.5, -0.2, 0.3, 2.0])
        assert np.asarray(act(x)).shape == (4,) and np.asarray(act.derivative(x)).shape == (4,)
        with mpmath.workdps(30):
            assert abs(act.mp(mpmath.mpf("0.3")) - act(0.3)) < 1e-15
    assert not Staircase.uniform(4).is_smooth and all(a.is_smooth for a in (Erf(), ReLU(), HardTanh(), Tanh()))
    assert Erf().is_odd() and Tanh().is_odd() and HardTanh().is_odd() and not ReLU().is_odd()
    assert not HardTanh(-0.5, 2).is_odd() and LeakyReLU(1.0).is_odd()
    assert Staircase.uniform(4).derivative(0.1) == 0 and Staircase.uniform(4).derivative(0.0) == np.inf


@pytest.mark.parametrize("name,kind", [("tanh", Tanh), ("erf", Erf), ("relu", ReLU), ("hardtanh", HardTanh)])
def test_by_name(name, kind):
    assert isinstance(by_name(name), kind) and by_name(name).name == name
    assert by_name("sign") == Staircase.sign() and by_name("staircase", levels=8) == Staircase.uniform(8)


@pytest.mark.parametrize("kw,param", [
    (dict(name="softsign"), "name"), (dict(name="staircase"), "levels"), (dict(name="staircase", levels=1), "levels"),
    (dict(name="staircase", levels=2.5), "levels"), (dict(name="tanh", levels=4), "levels"),
    (dict(name="staircase", levels=10 ** 7), "levels"),
])
def test_by_name_bad(kw, param):
    with pytest.raises(ValueError, match=param):
        by_name(**kw)


@pytest.mark.parametrize("make,param", [
    (lambda: HardTanh(1.0, -1.0), "low"), (lambda: HardTanh(0.0, float("nan")), "high"),
    (lambda: LeakyReLU(float("inf")), "slope"), (lambda: Smooth(3, np.cos), "fn"),
    (lambda: Smooth(np.sin, None), "derivative"), (lambda: Smooth(np.sin, np.cos, scale=0), "scale"),
    (lambda: Staircase.uniform(10 ** 7), "N"), (lambda: maps.chi_1(np.tanh, 1.0, 1.0), "act"),
    (lambda: maps.fixed_point(Erf(), -1.0), "sigma_w"), (lambda: maps.edge_of_chaos(Erf(), -0.1), "sigma_b"),
    (lambda: maps.variance_map(Erf(), 0.0, 1.0), "Q"), (lambda: maps.eq14_hidden_variance(Erf(), 1.0), "act"),
])
def test_bad_values(make, param):
    with pytest.raises(ValueError, match=param):
        make()


def test_staircase_bound_and_same_parameters():
    """uniform(N) is built directly as (2i - N)/(N - 1): the same exact Fractions as D (i - N/2)."""
    from fractions import Fraction

    for N in (2, 3, 16, 101):
        s = Staircase.uniform(N)
        D = Fraction(2, N - 1)
        assert s.offsets_exact == tuple(D * (i - Fraction(N, 2)) for i in range(1, N))
    assert A.N_MAX == 10 ** 6
    with pytest.raises(ValueError, match="N"):
        Staircase.uniform(A.N_MAX + 1)


# ----------------------------------------------------------------------------- closed forms vs Monte Carlo
def _mc(act, Q, C, n=400_000, seed=0):
    rng = np.random.default_rng(seed)
    z1, z2 = rng.standard_normal((2, n))
    u1 = math.sqrt(Q) * z1
    u2 = math.sqrt(Q) * (C * z1 + math.sqrt(1 - C * C) * z2)
    f = act(u1) * act(u2)
    g = act.derivative(u1) * act.derivative(u2)
    return f.mean(), f.std() / math.sqrt(n), g.mean(), g.std() / math.sqrt(n)


@pytest.mark.parametrize("act", [Erf(), ReLU(), LeakyReLU(0.2), HardTanh(), HardTanh(-0.5, 2.0), Tanh()])
@pytest.mark.parametrize("Q,C", [(0.7, 0.4), (3.0, -0.6)])
def test_kernels_against_monte_carlo(act, Q, C):
    m, se, md, sed = _mc(act, Q, C)
    assert abs(maps.post_activation_covariance(act, Q, C) - m) <= K_SE * se
    assert abs(maps.chi(act, Q, C, sigma_w=1.0) - md) <= K_SE * sed


_ORACLE_POINTS = [(0.3, dict(C=0.5)), pytest.param(4.0, dict(deficit=1e-9), marks=pytest.mark.slow),
                  pytest.param(0.05, dict(one_plus=1e-6), marks=pytest.mark.slow)]


@pytest.mark.parametrize("Q,c", _ORACLE_POINTS)
@pytest.mark.parametrize("act", [Erf(), LeakyReLU(0.1), HardTanh(-0.5, 2.0)])
def test_closed_forms_against_quadrature(act, Q, c):
    """dps=30 kernels vs the nested quadrature oracle (eigen-coordinates) to 1e-25 (near |C| = 1: slow)."""
    with mpmath.workdps(40):
        r, d, e = maps._corr_mp(c.get("C"), c.get("deficit"), c.get("one_plus"))
        cov = maps.post_activation_covariance(act, Q, dps=30, **c)
        assert abs(cov - act._oracle_cov(Q, r, d, e)) <= 1e-25 * max(1, abs(cov))
        dd = maps.chi(act, Q, sigma_w=1.0, dps=30, **c)
        assert abs(dd - act._oracle_dd(Q, r, d, e)) <= 1e-25 * max(1, abs(dd))


def test_erf_sympy_and_printed_arcsin():
    """The atan2 form equals the printed arcsin form (2/pi) asin(2QC/(1+2Q))."""
    for Q, C in ((0.3, 0.2), (5.0, 0.99), (1e-3, -0.7)):
        assert abs(A.arcsin_kernel(Q, C) - 2 / math.pi * math.asin(2 * Q * C / (1 + 2 * Q))) < 1e-15
        assert abs(A.arcsin_derivative_kernel(Q, C) - 4 / math.pi / math.sqrt((1 + 2 * Q) ** 2 - 4 * Q * Q * C * C)) < 1e-14


def test_relu_known_values():
    """Cho & Saul: E relu relu at C = 0 is Q/(2 pi); E H H = (1 - arccos(C)/pi)/2."""
    assert abs(A.arccos_kernel(2.0, 0.0) - 2.0 / (2 * math.pi)) < 1e-16
    for C in (-0.9, 0.1, 0.8):
        assert abs(A.arccos_derivative_kernel(1.0, C) - (1 - math.acos(C) / math.pi) / 2) < 1e-15
    assert abs(A.arccos_kernel(1.3, 0.37, slope=1.0) - 1.3 * 0.37) < 1e-15  # slope 1: the identity


@settings(max_examples=6, deadline=None)
@given(st.floats(1e-3, 50), st.floats(-0.99, 0.99))
def test_hardtanh_two_decompositions_agree(Q, C):
    """Near the switch sqrt(Q) = (high - low)/2 both ramp decompositions hold; test them against
    the dps face (float64 absolute ~1e-14 max(1, Q), the docstring's statement)."""
    v = A.hardtanh_kernel(Q, C)
    with mpmath.workdps(30):
        ref = A.hardtanh_kernel(Q, C, dps=18)
        assert abs(v - ref) <= 1e-14 * max(1.0, Q)


def test_smooth_float64_accuracy_statement():
    """Smooth's stated float64 accuracy (its docstring): tanh moments to 1e-13, kernels to 1e-12
    relative for Q <= 100, against the certified dps face."""
    t = Tanh()
    for Q in (1e-3, 100.0):
        m = A.quadrature_moments(t, Q)
        ref = A.quadrature_moments(t, Q, dps=17)
        for a, b in zip(m[1:], ref[1:]):
            assert abs(a - b) <= 1e-13 * abs(b)
        assert abs(m[0]) <= 1e-15


@pytest.mark.slow
def test_smooth_kernel_general_case_dps():
    """The two-level certified quadrature at a general C (slow: ~1 min)."""
    t = Tanh()
    v = A.quadrature_kernel(t, 0.5, 0.3)
    ref = A.quadrature_kernel(t, 0.5, 0.3, dps=20)
    assert all(abs(a - b) <= 1e-12 * abs(b) for a, b in zip(v, ref))


def test_smooth_user_callable_silu():
    """A user's SiLU x sigma(x): variance map vs Monte Carlo; no mp_fn -> dps raises naming mp_fn."""
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    silu = Smooth(lambda x: x * sig(x), lambda x: sig(x) * (1 + x * (1 - sig(x))), name="silu")
    rng = np.random.default_rng(1)
    u = math.sqrt(2.0) * rng.standard_normal(400_000)
    f = silu(u) ** 2
    assert abs(maps.variance_map(silu, 2.0, 1.0) - f.mean()) <= K_SE * f.std() / math.sqrt(u.size)
    with pytest.raises(ValueError, match="mp_fn"):
        maps.variance_map(silu, 2.0, 1.0, dps=20)


# ----------------------------------------------------------------------------- fixed point, chi_1, edge of chaos
@pytest.mark.parametrize("act", [Erf(), Tanh(), HardTanh()])
def test_fixed_point_phases(act):
    """chi_1 <= 1: C* = 1 and chi = chi_1 (ordered); chi_1 > 1: C* < 1 and chi < 1 (chaotic)."""
    e = maps.edge_of_chaos(act, 0.05)
    assert abs(e.chi_1 - 1) < 1e-12 and e.xi_c == math.inf and 0 < e.xi_q < math.inf
    lo, hi = maps.fixed_point(act, 0.9 * e.sigma_w, 0.05), maps.fixed_point(act, 1.1 * e.sigma_w, 0.05)
    assert lo.C == 1.0 and lo.chi == lo.chi_1 < 1
    assert hi.chi_1 > 1 and 0 < hi.C < 1 and hi.chi < 1
    if isinstance(act, Smooth):  # its dps face is a two-level quadrature per map call: see the slow test
        return
    # the float64 point against the dps face
    fp = maps.fixed_point(act, 1.1 * e.sigma_w, 0.05, dps=25)
    assert abs(float(fp.Q) / hi.Q - 1) < 1e-12 and abs(float(fp.C) - hi.C) < 1e-10
    assert abs(float(fp.chi_1) - hi.chi_1) < 1e-12


@pytest.mark.slow
def test_tanh_fixed_point_dps():
    """tanh's fixed point at 20 digits (certified two-level quadrature; minutes) against float64."""
    a, b = maps.fixed_point(Tanh(), 1.3, 0.05), maps.fixed_point(Tanh(), 1.3, 0.05, dps=20)
    assert abs(float(b.Q) / a.Q - 1) < 1e-12 and abs(float(b.C) - a.C) < 1e-10


def test_edge_of_chaos_values():
    """sigma_b = 0: sigma_w = 1/phi'(0) (erf sqrt(pi)/2, tanh 1); dps agrees with float64; the
    line rises with sigma_b; staircase: ValueError (no order-to-chaos line, chi_1 = inf)."""
    assert abs(maps.edge_of_chaos(Erf(), 0.0).sigma_w - math.sqrt(math.pi) / 2) < 1e-15
    assert maps.edge_of_chaos(Tanh(), 0.0).sigma_w == 1.0
    e64, emp = maps.edge_of_chaos(Erf(), 0.05), maps.edge_of_chaos(Erf(), 0.05, dps=30)
    assert abs(float(emp.sigma_w) - e64.sigma_w) < 1e-13 and abs(emp.chi_1 - 1) < mpmath.mpf(10) ** -28
    line = maps.edge_of_chaos_line(Erf(), [0.05, 0.2, 0.5])
    assert line[0].sigma_w < line[1].sigma_w < line[2].sigma_w
    with pytest.raises(ValueError, match="no order-to-chaos line"):
        maps.edge_of_chaos(Staircase.uniform(4), 0.05)
    with pytest.raises(ValueError, match="sigma_b"):
        maps.edge_of_chaos(ReLU(), 0.1)
    assert abs(maps.edge_of_chaos(ReLU(), 0.0).sigma_w - math.sqrt(2)) < 1e-15


def test_chi_1_forms():
    assert maps.chi_1(Staircase.uniform(4), 1.0, 1.0) == math.inf
    assert abs(maps.chi_1(ReLU(), 3.0, 1.2) - 1.44 / 2) < 1e-15
    assert abs(maps.chi_1(Erf(), 0.5, 1.0) - 4 / math.pi / math.sqrt(3.0)) < 1e-15
    assert abs(maps.chi_1(HardTanh(), 1.0, 1.0) - math.erf(1 / math.sqrt(2))) < 1e-15


def test_relu_fixed_point_closed_form():
    fp = maps.fixed_point(ReLU(), 1.2, 0.1)
    assert abs(fp.Q - 0.01 / (1 - 0.72)) < 1e-17 and fp.C == 1.0 and abs(fp.chi_1 - 0.72) < 1e-15
    for sw, sb in ((1.5, 0.1), (1.0, 0.0)):
        with pytest.raises(ValueError, match="fixed point"):
            maps.fixed_point(ReLU(), sw, sb)


def test_layer_map_iterates_to_fixed_point():
    act = Erf()
    fp = maps.fixed_point(act, 1.3, 0.1)
    Q, C = maps.iterate(act, 0.5, 0.2, 1.3, 0.1, n_layers=400)
    assert abs(Q[-1] - fp.Q) < 1e-12 and abs(C[-1] - fp.C) < 1e-6


# ----------------------------------------------------------------------------- the bracket fix (staircases)
SW = np.linspace(0.2, 4.0, 400)


@pytest.mark.parametrize("N", [16, 32])
def test_fixed_point_sweep_float64(N):
    """All 400 sigma_w in [0.2, 4] solve (before the fix 11 (N = 16) and 29 (N = 32) raised scipy's
    'f(a) and f(b) must have different signs'); odd staircase at sigma_b = 0: C* = 0 exactly, and
    Q* is a root of the variance map to 1e-14 relative."""
    act = Staircase.uniform(N)
    for w in SW:
        fp = maps.fixed_point(act, float(w))
        assert fp.C == 0.0 and 0 < fp.chi < 1
        assert abs(maps.variance_map(act, fp.Q, float(w)) - fp.Q) <= 1e-14 * fp.Q


def test_fixed_point_issue_value_and_bias():
    fp = maps.fixed_point(Staircase.uniform(16), 0.8476)
    assert fp.C == 0.0 and 0 < fp.chi < 1
    act = Staircase.uniform(16)
    for w in SW[::40]:
        fb = maps.fixed_point(act, float(w), 0.3)
        assert 0 < fb.C < 1
        assert abs(maps.correlation_map(act, fb.Q, fb.C, float(w), 0.3) - fb.C) < 1e-12


def _compare_dps(N, ws):
    """float64 fixed point vs the dps=30 face: Q* to 1e-12 relative, chi to 1e-10 relative (float64
    Q* is a root to ~1e-15; chi's float64 sum over pairs carries ~1e-13 relative)."""
    act = Staircase.uniform(N)
    for w in ws:
        a, b = maps.fixed_point(act, float(w)), maps.fixed_point(act, float(w), dps=30)
        assert abs(float(b.Q) / a.Q - 1) < 1e-12
        assert abs(float(b.chi) / a.chi - 1) < 1e-10 and b.C == 0


@pytest.mark.parametrize("N", [16, 32])
def test_fixed_point_sweep_dps_subset(N):
    """The sigma_w that failed before the fix (a subset: every 40th grid point plus 0.5905, 0.3238)."""
    _compare_dps(N, [SW[0], 0.5904761904761904, SW[-1]])


@pytest.mark.slow
@pytest.mark.parametrize("N", [16, 32])
def test_fixed_point_sweep_dps_full(N):
    _compare_dps(N, SW)


def test_phase_diagram_has_no_blank_cells_and_says_why():
    pd = phase.phase_diagram(Staircase.uniform(16), np.linspace(0.2, 4, 24), [0.0, 0.5])
    assert np.all(pd.status == "ok") and np.all(np.isfinite(pd.chi))
    odd = phase.phase_diagram(Staircase.uniform(5), [0.05, 1.5], [0.0])
    assert odd.status[0, 0].startswith("no fixed point") and "dies out" in odd.status[0, 0]
    assert odd.status[0, 1] == "ok"


# ----------------------------------------------------------------------------- backward, NTK, init
def test_backward_ntk_init_continuous():
    e = maps.edge_of_chaos(Tanh(), 0.05)
    assert abs(backward.gradient_factor(Tanh(), e.sigma_w, 0.05) - 1) < 1e-10
    assert backward.jacobian_moment_at_fixed_point(Erf(), 1.2, 0.1, ste="true") == maps.fixed_point(Erf(), 1.2, 0.1).chi_1
    with pytest.raises(ValueError, match="staircase"):
        backward.gradient_factor(Staircase.uniform(4), 1.2)
    r = ntk.ntk(Erf(), 1.0, 0.5, 1.2, 0.1, depth=3)
    fp0 = maps.chi(Erf(), 1.0, 0.5, sigma_w=1.2)
    assert abs(r.gain_off[1] - fp0) < 1e-15 and abs(r.theta_off[1] - (r.Q[1] * r.C[1] + fp0 * 0.5)) < 1e-14
    with pytest.raises(ValueError, match="ste"):
        ntk.ntk(Staircase.uniform(4), 1.0, 0.5, 1.2)
    ci = init.critical_init(Erf(), 0.05)
    assert abs(ci.sigma_w - e.sigma_w * 0 - maps.edge_of_chaos(Erf(), 0.05).sigma_w) < 1e-15 and ci.C_star == 1.0
    with pytest.raises(ValueError, match="sigma_b"):
        init.critical_init(Erf(), "optimise")


@pytest.mark.parametrize("slope", [0.0, 0.1, -0.5])
@pytest.mark.parametrize("one_plus", [1e-8, 1e-14, 1e-200])
def test_arccos_kernels_keep_their_digits_near_C_minus_one(slope, one_plus):
    """Near C = -1 the (leaky) ReLU kernels need pi - theta = 2 asin(sqrt((1 + C)/2)); formed as pi minus
    theta it lost ~log10(1 / sqrt(1 + C)) digits (1e-12 relative at 1 + C = 1e-8, all of them at 1e-200).
    The kernel's printed terms sin theta and (pi - theta) C cancel to O((1 + C)^(3/2)) there; as
    (1 - a)^2 (sin x - x cos x) + 2 pi a C (x = pi - theta, the first a series) it keeps relative accuracy
    (it was absolute 1e-16 Q: 2e-8 relative at 1 + C = 1e-8, Q = 1e8).  Against the exact value at 320
    digits (the printed form cancels 200 of them at 1 + C = 1e-200): both kernels to 1e-14 relative in
    float64 and 1e-28 at dps = 30."""
    from qmf_sym.activations import arccos_derivative_kernel as DD
    from qmf_sym.activations import arccos_kernel as K

    with mpmath.workdps(320):
        e = mpmath.mpf(one_plus)
        pth = 2 * mpmath.asin(mpmath.sqrt(e / 2))  # pi - theta, exactly
        th = mpmath.pi - pth
        a = mpmath.mpf(slope)
        dd = ((1 + a * a) * pth + 2 * a * th) / (2 * mpmath.pi)
        c = e - 1
        kv = 0.7 / (2 * mpmath.pi) * ((1 - a) ** 2 * mpmath.sqrt((2 - e) * e) + 2 * mpmath.pi * dd * c)
    with mpmath.workdps(60):
        assert abs(DD(0.7, one_plus=one_plus, slope=slope) - dd) <= 1e-14 * abs(dd)
        assert abs(DD(0.7, one_plus=one_plus, slope=slope, dps=30) - dd) <= 1e-28 * abs(dd)
    for Q in (0.7, 1e8):
        with mpmath.workdps(60):  # the differences at 60 digits (not the caller's 15)
            ref = kv * Q / 0.7
            assert abs(K(Q, one_plus=one_plus, slope=slope) - ref) <= 1e-14 * abs(ref)
            assert abs(K(Q, one_plus=one_plus, slope=slope, dps=30) - ref) <= 1e-28 * abs(ref)


def test_continuous_kernels_at_extreme_scales():
    """Valid extreme input, right answer: the arcsin kernels at Q = 1e300 (the product (1 + 2Qd)(1 + 2Qe)
    overflowed and the kernel came back 0), the leaky ReLU kernels at |slope| = 1e300 (OverflowError, or
    inf - inf = NaN, before), against the dps face."""
    from qmf_sym.activations import arccos_derivative_kernel as RD
    from qmf_sym.activations import arccos_kernel as RK
    from qmf_sym.activations import arcsin_derivative_kernel as ED
    from qmf_sym.activations import arcsin_kernel as EK

    def close(x, y, tol):
        return abs(x - float(y)) <= tol * abs(float(y))

    for Q in (1e154, 1e300, 1.7e308):
        for c in (dict(C=0.3), dict(C=-0.6), dict(deficit=1e-10), dict(one_plus=1e-8)):
            assert close(EK(Q, **c), EK(Q, dps=20, **c), 4e-15) and close(ED(Q, **c), ED(Q, dps=20, **c), 4e-15)
    for a in (1e300, -1e300, 1e30):
        for Q, c in ((1e-300, dict(C=0.3)), (1e-6, dict(one_plus=1e-200)), (1.0, dict(one_plus=0.0)), (1e-300, dict(C=-0.6))):
            assert close(RK(Q, slope=a, **c), RK(Q, slope=a, dps=20, **c), 1e-14), (a, Q, c)
    assert RK(1.0, C=0.3, slope=1e300) == math.inf and RD(1.0, C=0.3, slope=-1e300) == math.inf  # beyond float64


def test_hardtanh_at_extreme_scales():
    """The clip's kernels at large Q: the vectorised ramp decomposition cancels ~log10(Q) digits (6e-8
    relative at Q = 1e8; -1.1e14 for a kernel in [-1, 1] at Q = 1e30), the dps face lost all digits at
    1e30 (10 extra digits for a second difference of size 1/Q).  Now: float64 within 1e-12 of the dps
    face at every Q <= 1e12 (elements above Q = 1e3 by the dps face), Q above 1e12 refused in one line;
    the moments at Q = 1e12 (n(al) - n(be) cancelled) and at low = -1e300 (inf * 0 = NaN) right."""
    from qmf_sym.activations import hardtanh_derivative_kernel as D
    from qmf_sym.activations import hardtanh_kernel as K
    from qmf_sym.activations import hardtanh_moments as M

    for Q in (1e3, 1e5, 1e8, 1e12):
        for c in (dict(C=0.3), dict(C=-0.6), dict(deficit=1e-10), dict(one_plus=1e-8)):
            for lo, hi in ((-1.0, 1.0), (-0.5, 2.0)):
                x, y = K(Q, low=lo, high=hi, **c), float(K(Q, low=lo, high=hi, dps=20, **c))
                xd, yd = D(Q, low=lo, high=hi, **c), float(D(Q, low=lo, high=hi, dps=20, **c))
                assert abs(x - y) <= 1e-12 * abs(y) and abs(xd - yd) <= 1e-12 * abs(yd), (Q, c, lo, hi)
    with mpmath.workdps(40):  # the dps face against the independent quadrature oracle at the bound
        for c in (dict(C=0.95), dict(one_plus=1e-8)):
            ref = D.oracle(1e12, **c)
            assert abs(D(1e12, dps=30, **c) / ref - 1) < mpmath.mpf(10) ** -28
    x = K(np.array([1.0, 1e5]), C=np.array([0.3, 0.5]))
    assert x[0] == K(1.0, C=0.3) and x[1] == K(1e5, C=0.5)
    with pytest.raises(ValueError, match=r"Q must be in \(0, 1e\+12\]"):
        K(1e13, C=0.3)
    with pytest.raises(ValueError, match=r"Q must be in \(0, 1e\+12\] for hardtanh"):
        maps.post_activation_covariance(HardTanh(-0.5, 2.0), 1e30, C=0.3)
    for lo, hi in ((-1e8, 2.0), (-1e12, 2.0), (-1e300, 2.0), (-0.5, 1e300)):  # 5e-5 relative at -1e12, NaN at -1e300
        for c in (dict(C=0.4), dict(C=-0.6), dict(deficit=1e-10)):
            x, y = K(0.7, low=lo, high=hi, **c), float(K(0.7, low=lo, high=hi, dps=20, **c))
            assert abs(x - y) <= 1e-14 * abs(y), (lo, hi, c, x, y)
    for Q, lo, hi in ((1e12, 0.0, 1.0), (1e12, 2.0, 3.0), (1e6, 0.0, 1.0), (0.05, -1e300, 1.0), (1.0, -0.5, 1e300)):
        for x, y in zip(M(Q, lo, hi), M(Q, lo, hi, dps=30)):
            assert abs(x - float(y)) <= 1e-14 * abs(float(y)), (Q, lo, hi, x, y)


def test_fixed_point_ill_conditioned_float64_refused_dps_answers():
    """Near a critical point the float64 fixed point kept ~0 digits of Q* (hard tanh, sigma_w = 1, sigma_b =
    1e-8: 7.5e-4 off) or of 1 - C* (erf just above the edge of chaos: 3x off, xi 5x), silently.  Now the
    float64 face refuses there, naming dps, and the dps face answers (it crossed C = 1 before: TypeError)."""
    with pytest.raises(ValueError, match="ill-conditioned in float64.*dps"):
        maps.fixed_point(HardTanh(), 1.0, 1e-8)
    fp = maps.fixed_point(HardTanh(), 1.0, 1e-8, dps=20)
    with mpmath.workdps(50):  # the stable root of Q = E clip(u)^2 + sigma_b^2 by the quadrature oracle: g crosses
        # + to - within 1e-12 of Q* (g' = V' - 1 ~ -3e-15 there, so the oracle's 50 digits resolve it)
        g = lambda q: A.hardtanh_moments.oracle(q)[1] + mpmath.mpf(1e-8) ** 2 - q  # noqa: E731
        assert g(fp.Q * (1 - mpmath.mpf(1e-12))) > 0 > g(fp.Q * (1 + mpmath.mpf(1e-12)))
    e = maps.edge_of_chaos(Erf(), 0.05).sigma_w
    with pytest.raises(ValueError, match="ill-conditioned in float64.*dps"):
        maps.fixed_point(Erf(), e * (1 + 1e-7), 0.05)
    b = maps.fixed_point(Erf(), e * (1 + 1e-7), 0.05, dps=20)
    assert 0 < 1 - b.C < 1e-5 and 0 < 1 - b.chi < 1e-6
    a = maps.fixed_point(Erf(), e * (1 + 1e-3), 0.05)  # accepted: 1 - C* to ~1e-11 (measured)
    c = maps.fixed_point(Erf(), e * (1 + 1e-3), 0.05, dps=20)
    assert abs((1 - a.C) / float(1 - c.C) - 1) < 1e-9 and abs(a.xi / float(c.xi) - 1) < 1e-9


def test_tanh_dps_moments_at_tiny_Q_relative():
    """E tanh(u)^2 = Q - 2 Q^2 + O(Q^3) for u ~ N(0, Q): the dps face is relative-accurate at tiny Q.
    mpmath.quad's absolute stopping rule had stopped at its first level (2.7 % low at Q = 1e-100,
    accepted) and raised ArithmeticError at Q = 1e-30; the integrand is now rescaled to O(1)."""
    import mpmath

    from qmf_sym import activations as A
    from qmf_sym import maps

    for Q in (1e-300, 1e-100, 1e-30):
        v = maps.variance_map(A.Tanh(), Q, 1.0, 0.0, dps=30)
        assert abs(v / mpmath.mpf(Q) - 1) < 1e-25, (Q, v)
