"""qmf_sym.maps: each map against (i) mpmath quadrature of its defining integral at >= 30 digits,
(ii) Monte Carlo within k standard errors, (iii) float64 against dps, on Hypothesis-drawn
staircases, sigma_w, sigma_b, Q and C (including C within 1e-12 of 1, given as a deficit)."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import C_interior, Q, deficit_near_one, sigma_b, sigma_w, staircases

from qmf_sym import maps as M
from qmf_sym.activations import Staircase

K_SE = 5  # Monte Carlo tolerance in standard errors: two-sided false-failure rate ~5.7e-7 per check


# ----------------------------------------------------------------------------- quadrature oracles
def _phi_mp(act, x):
    A, g, h = act.mp_params()
    return A + mpmath.fsum(hi for gi, hi in zip(g, h) if x >= gi)


def quad_second_moment(act, Q_, dps=40):
    """E phi(u)^2 = int phi(sqrt(Q) z)^2 n(z) dz, split at the jumps."""
    with mpmath.workdps(dps):
        sq = mpmath.sqrt(mpmath.mpf(Q_))
        _, g, _ = act.mp_params()
        pts = [-mpmath.inf] + [gi / sq for gi in g] + [mpmath.inf]
        return mpmath.quad(lambda z: _phi_mp(act, sq * z) ** 2 * mpmath.npdf(z), pts)


def quad_cross_moment(act, Q_, C_, dps=40):
    """E phi(u1) phi(u2) = int n(z1) phi(sqrt(Q) z1) E[phi(u2) | z1] dz1 with the inner expectation
    A + sum_i h_i Phi((C sqrt(Q) z1 - g_i) / (sqrt(Q) sqrt(1 - C^2)))."""
    with mpmath.workdps(dps):
        Q_, C_ = mpmath.mpf(Q_), mpmath.mpf(C_)
        sq, s = mpmath.sqrt(Q_), mpmath.sqrt(1 - C_ ** 2)
        A, g, h = act.mp_params()
        inner = lambda z: A + mpmath.fsum(hi * mpmath.ncdf((C_ * sq * z - gi) / (sq * s)) for gi, hi in zip(g, h))
        pts = [-mpmath.inf] + [gi / sq for gi in g] + [mpmath.inf]
        return mpmath.quad(lambda z: mpmath.npdf(z) * _phi_mp(act, sq * z) * inner(z), pts)


def _rel(a, b):
    return abs(a - b) / max(abs(b), mpmath.mpf(10) ** -300)


CASES = [
    (Staircase.uniform(4), 0.8, 0.3, 1.3, 0.2),
    (Staircase([-0.5, 0.25, 1.0], [0.5, 1.5, 0.25], base=-0.75), 1.7, -0.6, 0.9, 0.4),
    (Staircase.sign(), 2.0, 0.95, 1.0, 0.0),
    (Staircase.uniform(7), 0.05, 0.5, 2.0, 0.1),
]


@pytest.mark.parametrize("act,Q_,C_,sw,sb", CASES)
def test_maps_mp_against_quadrature(act, Q_, C_, sw, sb):
    """dps=30 faces agree with the defining integrals to >= 28 significant digits."""
    tol = mpmath.mpf(10) ** -28
    mpmath.mp.dps = 40
    sw, sb = mpmath.mpf(sw), mpmath.mpf(sb)  # exact values of the float arguments
    ref_q = sw ** 2 * quad_second_moment(act, Q_) + sb ** 2
    assert _rel(M.variance_map(act, Q_, sw, sb, dps=30), ref_q) < tol
    ref_m = (sw ** 2 * quad_cross_moment(act, Q_, C_) + sb ** 2) / Q_
    assert _rel(M.correlation_map(act, Q_, C_, sw, sb, dps=30), ref_m) < tol
    mpmath.mp.dps = 15


@pytest.mark.parametrize("act,Q_,C_,sw,sb", CASES[1:2])
def test_chi_is_slope_of_quadrature_map(act, Q_, C_, sw, sb):
    """eq. 6: chi = dM/dC, with M from quadrature differentiated numerically at 50 digits."""
    with mpmath.workdps(60):
        f = lambda c: mpmath.mpf(sw) ** 2 * quad_cross_moment(act, Q_, c, dps=60) / Q_
        c0, h = mpmath.mpf(C_), mpmath.mpf(10) ** -10
        # fourth-order central difference: truncation ~h^4 = 1e-40, rounding ~1e-60/h = 1e-50
        slope = (8 * (f(c0 + h) - f(c0 - h)) - (f(c0 + 2 * h) - f(c0 - 2 * h))) / (12 * h)
    assert _rel(M.chi(act, Q_, C_, sw, sb, dps=30), slope) < mpmath.mpf(10) ** -25


@given(staircases(), Q, C_interior, sigma_w, sigma_b)
def test_float64_vs_dps(act, Q_, C_, sw, sb):
    """float64 faces agree with dps=30 to ~1e-14 of the map's natural scale."""
    scale = sw ** 2 * float(np.max(act.levels ** 2)) + sb ** 2
    v64, vmp = M.variance_map(act, Q_, sw, sb), M.variance_map(act, Q_, sw, sb, dps=30)
    assert abs(v64 - float(vmp)) <= 1e-14 * scale
    m64, mmp = M.correlation_map(act, Q_, C_, sw, sb), M.correlation_map(act, Q_, C_, sw, sb, dps=30)
    assert abs(m64 - float(mmp)) <= 1e-14 * scale / Q_
    c64, cmp_ = M.chi(act, Q_, C_, sw, sb), M.chi(act, Q_, C_, sw, sb, dps=30)
    assert abs(c64 - float(cmp_)) <= 1e-13 * float(cmp_) + 1e-300


@settings(max_examples=12)
@given(staircases(max_steps=3), Q, deficit_near_one, sigma_w)
def test_near_one_deficit_float64_vs_dps(act, Q_, d, sw):
    """C = 1 - d with d down to 1e-12: M, 1 - M and chi from the deficit, float64 vs dps=30."""
    fp_scale = sw ** 2 * float(np.max(act.levels ** 2)) / Q_
    m64, mmp = M.correlation_map(act, Q_, sigma_w=sw, deficit=d), M.correlation_map(act, Q_, sigma_w=sw, deficit=d, dps=30)
    assert abs(m64 - float(mmp)) <= 1e-14 * fp_scale
    r64, rmp = M.correlation_map_deficit(act, Q_, d, sw), M.correlation_map_deficit(act, Q_, d, sw, dps=30)
    assert abs(r64 - float(rmp)) <= 1e-14 * (1 + fp_scale)  # 1 - M is O(1) away from Q = Q*
    c64, cmp_ = M.chi(act, Q_, sigma_w=sw, deficit=d), M.chi(act, Q_, sigma_w=sw, deficit=d, dps=30)
    assert abs(c64 - float(cmp_)) <= 1e-12 * float(cmp_) + 1e-300


def test_one_minus_M_relative_accuracy_at_fixed_point():
    """At Q*, 1 - M(1 - d) ~ c sqrt(d).  The dps face keeps full relative accuracy (checked against
    a 45-digit run); the float64 face is accurate to ~1e-16 absolute (its floor is the float64
    rounding of Q* itself, which makes 1 - M(1) = (Q - Q_next)/Q of order 1e-16)."""
    act = Staircase.uniform(16)
    fp = M.fixed_point(act, 1.0, 0.0, dps=40)
    for d in (1e-12, 1e-9, 1e-6):
        r30 = M.correlation_map_deficit(act, fp.Q, d, 1.0, dps=30)
        r45 = M.correlation_map_deficit(act, fp.Q, d, 1.0, dps=45)
        with mpmath.workdps(50):
            assert abs(r30 - r45) <= mpmath.mpf(10) ** -28 * r45
        assert 0 < float(r30) < 1
        r64 = M.correlation_map_deficit(act, float(fp.Q), d, 1.0)
        assert abs(r64 - float(r30)) <= 1e-15


@settings(max_examples=15)
@given(staircases(max_steps=4), st.floats(0.2, 3.0), st.floats(-0.9, 0.9), st.integers(0, 2 ** 32 - 1))
def test_monte_carlo(act, Q_, C_, seed):
    """E phi^2 and E phi(u1) phi(u2) against Monte Carlo within K_SE standard errors."""
    rng = np.random.default_rng(seed)
    n = 200_000
    z1, z2 = rng.standard_normal((2, n))
    u1 = math.sqrt(Q_) * z1
    u2 = math.sqrt(Q_) * (C_ * z1 + math.sqrt(1 - C_ ** 2) * z2)
    p1, p2 = act(u1), act(u2)
    lev = act.levels
    spread = float(np.max(lev ** 2) - min(0.0, float(np.min(np.outer(lev, lev)))))
    for sample, exact in ((p1 * p1, M.post_activation_moments(act, Q_)[1]),
                          (p1 * p2, M.post_activation_covariance(act, Q_, C_))):
        se = sample.std() / math.sqrt(n)
        # k standard errors, plus the bias of cells too rare to be sampled: a cell of probability
        # p stays empty with probability exp(-n p), so cells with n p > 14 are missed with
        # probability < 1e-6, and the ones that may be missed shift the mean by < 14 spread / n
        assert abs(sample.mean() - exact) <= K_SE * se + 14 * spread / n


def test_chi_monte_carlo_price_weight():
    """chi / sigma_w^2 = E phi'(u1) phi'(u2) = E[phi(u1) phi(u2) w(u)] with the Gaussian
    integration-by-parts weight w = (S^-1 u)_1 (S^-1 u)_2 - (S^-1)_12 (Price's theorem)."""
    act, Q_, C_ = Staircase.uniform(5), 0.6, 0.4
    S = Q_ * np.array([[1, C_], [C_, 1]])
    rng = np.random.default_rng(7)
    n = 1_000_000
    u = rng.multivariate_normal([0, 0], S, size=n)
    Si = np.linalg.inv(S)
    v = u @ Si
    w = v[:, 0] * v[:, 1] - Si[0, 1]
    sample = act(u[:, 0]) * act(u[:, 1]) * w
    se = sample.std() / math.sqrt(n)
    assert abs(sample.mean() - M.chi(act, Q_, C_, 1.0)) <= K_SE * se


def test_eq14_is_the_variance():
    """The printed eq. 14 double sum equals Var phi = E phi^2 - (E phi)^2 (not E phi^2)."""
    act = Staircase([-0.3, 0.4, 1.1], [0.5, 1.0, 0.7], base=0.2)  # not centred
    m, s2 = M.post_activation_moments(act, 0.9, dps=30)
    v14 = M.eq14_hidden_variance(act, 0.9, dps=30)
    with mpmath.workdps(40):
        assert abs(v14 - (s2 - m ** 2)) < mpmath.mpf(10) ** -28
    assert abs(v14 - s2) > 0.1  # so eq. 14 cannot be E phi^2 for this staircase
    u = Staircase.uniform(6)  # centred: the two agree
    assert abs(M.eq14_hidden_variance(u, 0.9, dps=30) - M.post_activation_moments(u, 0.9, dps=30)[1]) < 1e-28


def test_large_spacing_tails():
    """Offsets far in the tails (|g|/sqrt(Q) up to 60): float64 stays finite and agrees with dps."""
    act = Staircase([-60.0, -0.5, 0.5, 60.0], [1, 1, 1, 1], base=-2)
    for Q_ in (1.0, 1e-2):
        v64, vmp = M.variance_map(act, Q_, 1.0), M.variance_map(act, Q_, 1.0, dps=30)
        assert abs(v64 - float(vmp)) <= 1e-15 * float(vmp)
        c64, cmp_ = M.chi(act, Q_, 0.3, 1.0), M.chi(act, Q_, 0.3, 1.0, dps=30)
        assert np.isfinite(c64) and abs(c64 - float(cmp_)) <= 1e-13 * float(cmp_)


def test_large_N():
    act = Staircase.uniform(256)
    Q_ = 0.05
    c64, cmp_ = M.chi(act, Q_, 0.2, 1.0), M.chi(act, Q_, 0.2, 1.0, dps=20)
    assert abs(c64 - float(cmp_)) <= 1e-13 * float(cmp_)
    v64, vmp = M.variance_map(act, Q_, 1.0), M.variance_map(act, Q_, 1.0, dps=30)
    assert abs(v64 - float(vmp)) <= 1e-14 * float(vmp)


@pytest.mark.parametrize("sb", [0.0, 0.3])
def test_fixed_point_is_fixed_and_stable(sb):
    act = Staircase.uniform(10)
    fp = M.fixed_point(act, 1.3, sb, dps=30)
    assert abs(M.variance_map(act, fp.Q, 1.3, sb, dps=30) - fp.Q) < mpmath.mpf(10) ** -27
    assert abs(M.correlation_map(act, fp.Q, fp.C, 1.3, sb, dps=30) - fp.C) < mpmath.mpf(10) ** -27
    assert 0 < fp.chi < 1
    f64 = M.fixed_point(act, 1.3, sb)
    assert abs(f64.Q - float(fp.Q)) < 1e-13 and abs(f64.C - float(fp.C)) < 1e-12
    assert abs(f64.xi - float(fp.xi)) < 1e-10 * float(fp.xi)
    # iterating the exact 2-D map from elsewhere converges to it (stability)
    Qs, Cs = M.iterate(act, 2.0, 0.9 if sb else 0.5, 1.3, sb, 400)
    assert abs(Qs[-1] - f64.Q) < 1e-9 and abs(Cs[-1] - f64.C) < 1e-6


@pytest.mark.parametrize("sb", [1e4, 1e8])
def test_fixed_point_deficit_where_float64_rounds_C_to_one(sb):
    """sigma_b >> sigma_w (derivations/staircase_chi.md, section 4): 1 - C* ~ 9e-18 (sigma_b = 1e4) and 9e-34
    (1e8), so the float64 C is 1.0, but ``deficit`` is the root in 1 - C itself.  Tolerance 1e-13 relative: Brent
    stops at rtol 1e-15, the scan's d - [1 - M(1 - d)] is relative-accurate to a few eps (no Q* residual, eq. 5
    in 1 - C), and the root's condition number is 1 / (1 - chi) = 2 at chi = 1/2 (measured: 0 and 1.1e-15)."""
    act = Staircase.uniform(4)
    a, b = M.fixed_point(act, 1.0, sb), M.fixed_point(act, 1.0, sb, dps=30)
    assert a.C == 1.0 and 0 < a.deficit < 1e-16
    assert abs(a.deficit - float(b.deficit)) <= 1e-13 * float(b.deficit)
    assert isinstance(b.deficit, mpmath.mpf)
    with mpmath.workdps(40):
        assert abs((1 - b.C) - b.deficit) <= mpmath.mpf(10) ** -38  # the dps face's C and deficit agree


@pytest.mark.parametrize("act, sw, sb", [(Staircase.uniform(10), 1.3, 0.3), (Staircase.uniform(4), 1.2, 0.05),
                                         pytest.param("tanh", 1.5, 0.05, marks=pytest.mark.slow),  # dps: minutes
                                         ("hardtanh", 1.2, 0.3)])
def test_fixed_point_deficit_is_one_minus_C_where_C_is_not_near_one(act, sw, sb):
    """1 - C* ~ 0.1 .. 1: nothing cancels, so ``deficit`` is 1 - C to ~1e-12 relative (C is accurate to ~1e-15
    absolute, 1 - C rounds at 1e-16) and agrees with the dps = 30 face to the same tolerance."""
    from qmf_sym.activations import by_name

    act = by_name(act) if isinstance(act, str) else act
    a, b = M.fixed_point(act, sw, sb), M.fixed_point(act, sw, sb, dps=30)
    assert 0.1 < a.deficit < 1
    assert a.deficit == pytest.approx(1 - a.C, rel=1e-12)
    assert a.deficit == pytest.approx(float(b.deficit), rel=1e-12)


def test_fixed_point_deficit_where_C_is_exact():
    """C* = 1 exactly (the ordered phase chi_1 <= 1 of tanh) gives deficit 0; C* = 0 (an odd phi at sigma_b = 0)
    gives 1, in both faces; a FixedPoint built positionally without it has deficit 1 - C."""
    from qmf_sym.activations import by_name

    for dps in (None, 30):
        assert M.fixed_point(by_name("tanh"), 0.8, 0.05, dps=dps).deficit == 0
        assert M.fixed_point(by_name("tanh"), 1.5, 0.0, dps=dps).deficit == 1
        assert M.fixed_point(Staircase.uniform(4), 1.5, 0.0, dps=dps).deficit == 1
    assert M.FixedPoint(1.0, 0.25, 0.5, 1.0).deficit is None
    assert M.FixedPoint(1.0, 0.25, 0.5, 1.0, math.inf, 0.5).deficit == 0.5


def test_depth_scale():
    assert M.depth_scale(math.exp(-0.5)) == pytest.approx(2.0, rel=1e-15)
    assert M.depth_scale(1.0) == math.inf
    xi = M.depth_scale(mpmath.mpf("0.5"), dps=30)
    with mpmath.workdps(40):
        assert abs(xi - 1 / mpmath.log(2)) < mpmath.mpf(10) ** -29


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,param", [
    (lambda: M.variance_map(Staircase.sign(), 1.0, 0.0), "sigma_w"),
    (lambda: M.variance_map(Staircase.sign(), 1.0, -1.0), "sigma_w"),
    (lambda: M.variance_map(Staircase.sign(), 1.0, 1.0, -0.1), "sigma_b"),
    (lambda: M.variance_map(Staircase.sign(), 0.0, 1.0), "Q"),
    (lambda: M.variance_map(Staircase.sign(), -1.0, 1.0), "Q"),
    (lambda: M.correlation_map(Staircase.sign(), 1.0, 1.5, 1.0), "C"),
    (lambda: M.correlation_map(Staircase.sign(), 1.0, -1.0001, 1.0), "C"),
    (lambda: M.chi(Staircase.sign(), 1.0, 1.0, 1.0), "C"),
    (lambda: M.correlation_map(Staircase.sign(), 1.0, 0.5, 1.0, dps=0), "dps"),
    (lambda: M.fixed_point(Staircase.sign(), 1.0, dps=-3), "dps"),
    (lambda: M.variance_map(np.tanh, 1.0, 1.0), "act"),
    (lambda: M.correlation_map(Staircase.sign(), 1.0, sigma_w=1.0, deficit=3.0), "deficit"),
    (lambda: M.depth_scale(1.5), "chi"),
    (lambda: M.depth_scale(0.0), "chi"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()


def test_nan_rejected():
    with pytest.raises(ValueError, match="Q"):
        M.variance_map(Staircase.sign(), float("nan"), 1.0)


@settings(max_examples=12)
@given(staircases(max_steps=3), Q, st.floats(1e-12, 1e-3), sigma_w)
def test_near_minus_one_float64_vs_dps(act, Q_, e, sw):
    """C within 1e-12 of -1 (passed as C = -1 + e; 1 + C is then formed exactly): M and chi,
    float64 vs dps=30."""
    C_ = -1.0 + e
    scale = sw ** 2 * float(np.max(act.levels ** 2)) / Q_
    m64, mmp = M.correlation_map(act, Q_, C_, sw), M.correlation_map(act, Q_, C_, sw, dps=30)
    assert abs(m64 - float(mmp)) <= 1e-14 * scale
    c64, cmp_ = M.chi(act, Q_, C_, sw), M.chi(act, Q_, C_, sw, dps=30)
    assert abs(c64 - float(cmp_)) <= 1e-12 * float(cmp_) + 1e-300


def test_fixed_point_out_of_float64_range_says_so_without_a_runtime_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: 'overflow encountered in scalar multiply' before the ValueError
        with pytest.raises(ValueError, match=r"^Q\* = [\d.e+]* \* [\d.e+]*\^2 is outside the normal float64 range"):
            M.fixed_point(Staircase([-1.0, 0.0, 1.0], [1e5, 1e5, 1e5], base=-1.5e5), 1e150)
