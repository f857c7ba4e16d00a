"""Regression tests of issue 8 (items 1, 10, 11) for the validation rules and the extreme inputs
of gaussian / maps; each failed before the fix (values from independent mpmath evaluations)."""
import math

import mpmath
import numpy as np
import pytest

from qmf_sym import _validate as V, gaussian as G, maps as M
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


def test_fixed_point_huge_sigma_w():  # item 10: OverflowError before
    with pytest.raises(ValueError, match="float64 range"):
        M.fixed_point(Staircase.uniform(10), 1e300)
    fp = M.fixed_point(Staircase.uniform(10), 1e300, dps=20)
    with mpmath.workdps(30):
        assert abs(fp.Q / mpmath.mpf(1e300) ** 2 - 1) < mpmath.mpf(10) ** -18  # levels -> +-1
    assert abs(float(fp.chi) - 2 / math.pi) < 1e-15


def test_tiny_Q_at_dps():  # item 10: OverflowError (mpmath erfc) before
    v = M.variance_map(Staircase.uniform(10), 1e-320, 1.0, dps=20)
    with mpmath.workdps(30):
        assert abs(v - mpmath.mpf(1) / 81) < mpmath.mpf(10) ** -19


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
