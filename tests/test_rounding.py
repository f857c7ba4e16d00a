"""qmf_sym.rounding: the stochastic-rounding staircase (paper 1, App. D)."""
import math

import mpmath
import numpy as np
import pytest

from qmf_sym import backward
from qmf_sym import rounding as R
from qmf_sym import spacing as S
from qmf_sym.activations import Staircase

U4 = Staircase.uniform(4)
ASYM = Staircase([-0.3, 0.2, 1.1], [0.5, 1.0, 0.25], base=-0.4)  # non-symmetric levels


def _mc_sr(levels, u, rng):
    """Stochastic rounding by numpy (an implementation independent of qmf_sym and of torch)."""
    c = np.clip(u, levels[0], levels[-1])
    k = np.clip(np.searchsorted(levels, c, side="right") - 1, 0, len(levels) - 2)
    lo, hi = levels[k], levels[k + 1]
    return np.where(rng.random(u.shape) < (c - lo) / (hi - lo), hi, lo)


# ----------------------------------------------------------------------------- the three faces
@pytest.mark.parametrize("act", [Staircase.sign(), U4, Staircase.uniform(9), ASYM], ids=["N2", "N4", "N9", "asym"])
@pytest.mark.parametrize("Q", [0.01, 0.7, 25.0])
def test_faces_moments(act, Q):
    """float64 vs mpmath (same closed form) vs oracle (quadrature of E[phi^2 | u]): the float64
    face sums O(N) terms of size <= max l^2, so 1e-13 relative is ~ 500 ulp of headroom."""
    m, s = R.sr_moments(act, Q)
    mm, sm = R.sr_moments(act, Q, dps=30)
    with mpmath.workdps(40):
        mo, so = R.sr_moments.oracle(act, Q)
    assert abs(sm - so) < mpmath.mpf(10) ** -28 * abs(so)
    assert abs(mm - mo) < mpmath.mpf(10) ** -28
    assert abs(s - float(sm)) <= 1e-13 * float(sm)
    assert abs(m - float(mm)) <= 1e-14


_FAST = {(1.3, -0.95), (1.3, 0.45), (0.05, 0.99), (16.0, 1.0)}
_COV_CASES = [pytest.param(a, q, c, marks=() if (q, c) in _FAST else pytest.mark.slow)
              for a, q, c in ([(Staircase.uniform(6), q, c) for q in (0.05, 1.3, 16.0)
                               for c in (-0.95, -0.3, 0.0, 0.45, 0.99, 1.0)]
                              + [(a, 1.3, c) for a in (Staircase.sign(), ASYM) for c in (-0.95, 0.45, 0.99, 1.0)])]


@pytest.mark.parametrize("act,Q,C", _COV_CASES)
def test_faces_covariance_and_chi(act, Q, C):
    """Closed forms (eq. D.2, D.3) against 1-D quadrature of the conditional expectation (an
    independent route) at 30 digits, and float64 against them (absolute 1e-14 on O(1) values)."""
    e, x = R.sr_covariance(act, Q, C=C), R.sr_chi(act, Q, C=C)
    em, xm = R.sr_covariance(act, Q, C=C, dps=25), R.sr_chi(act, Q, C=C, dps=25)
    with mpmath.workdps(35):
        eo, xo = R.sr_covariance.oracle(act, Q, C=C), R.sr_chi.oracle(act, Q, C=C)
    assert abs(em - eo) < mpmath.mpf(10) ** -22 * max(1, Q)
    assert abs(xm - xo) < mpmath.mpf(10) ** -22
    assert abs(e - float(em)) < 1e-14 * max(1, Q)
    assert abs(x - float(xm)) < 1e-14


def test_vectorised_and_deficit():
    Q = np.array([0.1, 1.0, 4.0])
    C = np.array([0.2, 0.5, 0.9])
    v = R.sr_covariance(U4, Q, C=C)
    assert v.shape == (3,)
    for i in range(3):
        assert abs(v[i] - R.sr_covariance(U4, Q[i], C=C[i])) < 1e-15
        assert abs(R.sr_chi(U4, Q[i], deficit=1 - C[i]) - R.sr_chi(U4, Q[i], C=C[i])) < 1e-13


# ----------------------------------------------------------------------------- the model
@pytest.mark.parametrize("act,Q,C", [(U4, 0.6, 0.4), (ASYM, 1.5, -0.5), (Staircase.uniform(7), 0.1, 0.8)])
def test_monte_carlo(act, Q, C):
    """Sample u pairs and the rounding (numpy, independent noise per input): E phi^2 and
    E phi(u1) phi(u2) within 5 standard errors (two-sided normal tail 5.7e-7; fixed seed)."""
    rng = np.random.default_rng(20260)
    n = 400_000
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    u1 = math.sqrt(Q) * z1
    u2 = math.sqrt(Q) * (C * z1 + math.sqrt(1 - C * C) * z2)
    p1, p2 = _mc_sr(act.levels, u1, rng), _mc_sr(act.levels, u2, rng)
    _, m2 = R.sr_moments(act, Q)
    for sample, th in ((p1 ** 2, m2), (p1 * p2, R.sr_covariance(act, Q, C=C))):
        se = sample.std(ddof=1) / math.sqrt(n)
        assert abs(sample.mean() - th) < 5 * se


def test_chi_is_derivative_of_correlation_map():
    """Price's theorem: chi (eq. D.3) = dM/dC, checked by a 30-digit central difference (h = 1e-8:
    truncation h^2 ~ 1e-16, far below the tolerance)."""
    for act, Q, C in ((U4, 0.8, 0.3), (ASYM, 2.0, -0.6), (Staircase.uniform(5), 0.3, 0.95)):
        with mpmath.workdps(30):
            h = mpmath.mpf("1e-8")
            M = lambda c: R.correlation_map(act, Q, c, sigma_w=1.3, sigma_b=0.2, dps=30)
            num = (M(C + h) - M(C - h)) / (2 * h)
            assert abs(num - R.chi(act, Q, C, sigma_w=1.3, dps=30)) < mpmath.mpf(10) ** -13


def test_chi_equals_clipped_ste_cross_gain():
    """With levels in [-1, 1], chi_SR / sigma_w^2 is the clipped STE's E g(u1) g(u2) (eq. 19):
    qmf_sym.backward computes it by an independent code path."""
    for Q, C in ((0.3, 0.0), (1.0, 0.7), (4.0, -0.2)):
        assert abs(R.sr_chi(U4, Q, C=C) - backward.gain_cross_moment(Q, C, "clipped", 1.0)) < 1e-14


def test_jump_at_C_equal_one():
    """For distinct inputs M(1-) = sigma_w^2 E clip^2 / Q* < 1 = the same input's correlation:
    the rounding noise makes C* < 1 for any sigma_w."""
    fp = R.fixed_point(U4, 3.0)
    assert float(R.correlation_map(U4, fp.Q, 1.0, 3.0)) < 1 - 1e-3
    assert fp.C < 1


@pytest.mark.parametrize("act,sw,sb", [(U4, 1.5, 0.0), (U4, 2.0, 0.5), (ASYM, 1.2, 0.1), (Staircase.sign(), 1.0, 0.3)])
def test_fixed_point(act, sw, sb):
    fp = R.fixed_point(act, sw, sb)
    assert abs(R.variance_map(act, fp.Q, sw, sb) - fp.Q) < 1e-13 * fp.Q
    assert abs(R.correlation_map(act, fp.Q, fp.C, sw, sb) - fp.C) < 1e-13
    assert 0 < fp.chi and abs(fp.chi - R.chi(act, fp.Q, fp.C, sw)) < 1e-15
    # stable: |dM/dC| < 1 there
    assert fp.chi < 1


def test_chi_at_zero_stein_and_fixed_point():
    """chi_at_zero(Q) (Stein form, eq. D.4) = chi at the sigma_b = 0 fixed point found by the
    general solver with sigma_w = sqrt(Q / E phi^2)."""
    Q = 0.4
    _, m2 = R.sr_moments(U4, Q)
    sw = math.sqrt(Q / m2)
    fp = R.fixed_point(U4, sw)
    assert abs(fp.Q / Q - 1) < 1e-12 and abs(fp.C) < 1e-14
    assert abs(fp.chi - R.chi_at_zero(U4, Q)) < 1e-13
    with mpmath.workdps(30):
        d = R.chi_deficit_at_zero(U4, Q, dps=30)
        assert abs(d - (1 - R.chi_at_zero(U4, Q, dps=30))) < mpmath.mpf(10) ** -28
    assert abs(R.chi_deficit_at_zero(U4, Q) - float(d)) < 1e-15


def test_deficit_at_zero_large_N_against_mp():
    """1 - chi at N = 2000 near the optimum is ~1e-6: the float64 deficit keeps >= 8 digits
    (cancellation-free form), the naive 1 - chi about 10."""
    act = Staircase.uniform(2000)
    Q = 1 / 4.7 ** 2
    f = R.chi_deficit_at_zero(act, Q)
    m = R.chi_deficit_at_zero(act, Q, dps=25)
    assert abs(f / float(m) - 1) < 1e-8


# ----------------------------------------------------------------------------- optimum over sigma_w
@pytest.mark.parametrize("N", [3, 4, 8, 16])
def test_sr_worse_than_deterministic(N):
    """Paper 1 sec. 4.1: SR can only decrease the depth scale (strictly, for N >= 3)."""
    sr, det = R.optimal_sr(N), S.optimal_spacing(N, check=False)
    assert sr.chi_max < det.chi_max - 1e-3
    assert sr.one_minus_chi / (1 - det.chi_max) > 1.3


def test_N2_supremum_is_sign():
    """N = 2: chi_at_zero(s) = (2 Phi(s) - 1)^2 / s^2 decreases from 2/pi (s -> 0): the supremum
    over sigma_w is the sign network's 2/pi, the ratio is 1."""
    act = Staircase.sign()
    s = np.array([1e-4, 0.1, 1.0, 3.0])
    vals = R.chi_at_zero(act, 1 / s ** 2)
    assert np.all(np.diff(vals) < 0) and abs(vals[0] - 2 / math.pi) < 1e-8
    assert R.optimal_sr(2).chi_max == 2 / math.pi


def test_optimum_f64_vs_mp_and_stationarity():
    f, m = R.optimal_sr(12), R.optimal_sr(12, dps=30)
    with mpmath.workdps(30):
        assert abs(f.chi_max - m.chi_max) < 1e-14
        # s_opt of a flat maximum is determined in float64 to ~sqrt(eps)
        assert abs(f.s_opt / m.s_opt - 1) < 1e-6
        g = lambda x: R.chi_at_zero(Staircase.uniform(12), 1 / x ** 2, dps=30)
        assert abs(mpmath.diff(g, m.s_opt)) < mpmath.mpf(10) ** -25
        assert g(m.s_opt * (1 + mpmath.mpf("1e-3"))) < m.chi_max > g(m.s_opt * (1 - mpmath.mpf("1e-3")))
    # sigma_w reproduces Q*
    assert abs(R.variance_map(Staircase.uniform(12), f.Q_star, f.sigma_w) - f.Q_star) < 1e-14


def test_ratio_tends_to_two():
    """The ratio (1 - chi_SR)/(1 - chi_det) grows toward 2 and the large-N law (derivation sec. 5)
    is within 0.02 at N = 256 (its error is O(1/ln^2 N))."""
    rs = [R.optimal_sr(N).one_minus_chi / (1 - S.optimal_spacing(N, check=False).chi_max) for N in (16, 64, 256)]
    assert rs[0] < rs[1] < rs[2] < 2
    assert abs(rs[2] - R.ratio_asymptotic(256)) < 0.02


# ----------------------------------------------------------------------------- bad input
BAD_REALS = [float("nan"), float("inf"), 0.0, -1.0, True]


@pytest.mark.parametrize("bad", BAD_REALS)
def test_bad_Q_sigma(bad):
    with pytest.raises(ValueError, match="Q"):
        R.sr_moments(U4, bad)
    with pytest.raises(ValueError, match="Q"):
        R.chi(U4, bad, 0.0)
    with pytest.raises(ValueError, match="sigma_w"):
        R.variance_map(U4, 1.0, bad)
    with pytest.raises(ValueError, match="sigma_w"):
        R.fixed_point(U4, bad)


@pytest.mark.parametrize("bad", [float("nan"), 1.5, -1.01, True])
def test_bad_C(bad):
    with pytest.raises(ValueError, match="C"):
        R.correlation_map(U4, 1.0, bad)


@pytest.mark.parametrize("bad,name", [(1, "N"), (True, "N"), (2.5, "N"), (10 ** 7, "N")])
def test_bad_N(bad, name):
    with pytest.raises(ValueError, match=name):
        R.optimal_sr(bad)


def test_bad_act_and_dps():
    with pytest.raises(ValueError, match="act"):
        R.sr_moments("tanh", 1.0)
    with pytest.raises(ValueError, match="symmetric"):
        R.chi_at_zero(ASYM, 1.0)
    with pytest.raises(ValueError, match="dps"):
        R.chi(U4, 1.0, 0.0, dps=True)
    with pytest.raises(ValueError, match="dps"):
        R.optimal_sr(4, dps=0)
    with pytest.raises(ValueError, match="sigma_b"):
        R.fixed_point(U4, 1.0, -0.1)
    with pytest.raises(ValueError, match="sigma_w"):
        R.fixed_point(U4, 1e-40)


@pytest.mark.parametrize("sw", [1e-8, 1e-3, 1e6])
def test_fixed_point_extreme_sigma_w(sw):
    """The signal never dies out with SR: E phi^2 ~ E|u| (levels 0, +-2/3 for N = 4: a neighbour
    of 0 is hit with probability ~ |u| / step), so Q* ~ (sigma_w^2 E|z| / step)^2 > 0; at huge
    sigma_w Q* ~ sigma_w^2 (chi -> sign's rectangle probability)."""
    act = Staircase.uniform(3)  # levels -1, 0, 1: E phi^2 = E|clip u| + ... ~ sqrt(2Q/pi) for small Q
    fp = R.fixed_point(act, sw)
    assert abs(R.variance_map(act, fp.Q, sw) - fp.Q) < 1e-12 * fp.Q
    if sw < 1e-2:
        assert abs(fp.Q / (sw ** 2 * math.sqrt(2 / math.pi)) ** 2 - 1) < 1e-3


# ----------------------------------------------------------------------------- random staircases
from hypothesis import given, settings  # noqa: E402
from strategies import C_interior, staircases  # noqa: E402
from strategies import Q as Q_st  # noqa: E402
from strategies import sigma_w as sw_st  # noqa: E402


@settings(max_examples=15, deadline=None)
@given(act=staircases(max_steps=5), Q=Q_st, C=C_interior)
def test_random_staircases_float64_vs_mpmath(act, Q, C):
    """Any staircase's levels: float64 and 20-digit faces of eq. D.1-D.3 agree to 1e-12 (relative to
    the scale max(1, l^2) of the values)."""
    import mpmath

    scale = max(1.0, float(np.max(act.levels ** 2)))
    m, s = R.sr_moments(act, Q)
    mm, sm = R.sr_moments(act, Q, dps=20)
    assert abs(m - float(mm)) < 1e-12 * math.sqrt(scale) and abs(s - float(sm)) < 1e-12 * scale
    with mpmath.workdps(25):
        assert abs(R.sr_covariance(act, Q, C=C) - float(R.sr_covariance(act, Q, C=C, dps=20))) < 1e-12 * scale
        assert abs(R.sr_chi(act, Q, C=C) - float(R.sr_chi(act, Q, C=C, dps=20))) < 1e-12


@settings(max_examples=15, deadline=None)
@given(act=staircases(max_steps=5), Q=Q_st, C=C_interior, sw=sw_st)
def test_random_staircases_chi_bounds_and_cauchy_schwarz(act, Q, C, sw):
    """0 < chi <= sigma_w^2 P(range) (a rectangle probability is at most its marginal), and
    |E phi phi'| <= E phi^2 (Cauchy-Schwarz with the rounding noise: strict inside)."""
    x = R.chi(act, Q, C, sigma_w=sw)
    a, b = act.levels[0] / math.sqrt(Q), act.levels[-1] / math.sqrt(Q)
    from scipy.stats import norm

    assert 0 < x <= sw ** 2 * (norm.cdf(b) - norm.cdf(a)) + 1e-15
    _, m2 = R.sr_moments(act, Q)
    assert abs(R.sr_covariance(act, Q, C=C)) < m2
