"""qmf_sym.sign: the sympy-derived eq. 10-12 against Monte Carlo, the dps face, and the 2/pi bound."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmf_sym import sign as S


@given(st.floats(-0.999, 0.999), st.floats(0.1, 3), st.floats(0, 2))
def test_float64_vs_dps(c, sw, sb):
    # Error budget of the float64 faces, against the unrounded 30-digit values (u = eps/2):
    # M = (2 w^2/pi asin C + b^2) / (w^2 + b^2) and chi = 2 w^2 / (pi (w^2 + b^2) sqrt(1 - C^2)) are
    # each ~8-10 rounded operations on O(1) terms (the constant pi, squares, asin / sqrt within an
    # ulp, sums, products, one division), so to first order |error| <= 10 u = 5 eps times
    # scale = (|2 w^2/pi asin C| + b^2)/(w^2 + b^2) <= 1 for M (absolute: M may cancel to ~0) and
    # times chi for chi (relative).  Measured over 2e4 random draws: 1.87 eps * scale and 2.25 eps * chi.
    # M also gets 1e-300 for b^2 underflowing (sb < 1.5e-154: b^2/(w^2 + b^2) < 1e-306 is lost).
    # (The former bounds, 2e-16 < eps for M and 4e-16 < 2 eps relative for chi, against references
    # rounded to float64, were below this budget: the 'thorough' profile drew c = 0.40216...,
    # sw = 1.5827..., sb = 1.871... (M off by 1.57 ulp + 0.5 ulp from rounding the reference) and
    # c = 0, sw = 0.1, sb = 1.798... (chi off by 2 eps relative).)
    eps = np.finfo(float).eps
    with mpmath.workdps(40):
        ref = S.correlation_map(c, sw, sb, dps=30)
        w2, b2 = mpmath.mpf(sw) ** 2, mpmath.mpf(sb) ** 2
        scale = (abs(2 * w2 / mpmath.pi * mpmath.asin(c)) + b2) / (w2 + b2)
        assert abs(mpmath.mpf(S.correlation_map(c, sw, sb)) - ref) <= 5 * eps * scale + 1e-300
        x = S.chi(c, sw, sb, dps=30)
        assert abs(mpmath.mpf(S.chi(c, sw, sb)) - x) <= 5 * eps * x


@given(st.floats(1e-14, 1e-3))
def test_deficit_form(d):
    # M(1 - d) from the deficit agrees with a 50-digit evaluation of eq. 12 at C = 1 - d
    with mpmath.workdps(50):
        ref = (2 / mpmath.pi * mpmath.asin(1 - mpmath.mpf(d)) + mpmath.mpf(0.25)) / mpmath.mpf(1.25)
    assert abs(S.correlation_map(sigma_w=1.0, sigma_b=0.5, deficit=d) - float(ref)) < 4.5e-16  # 2 ulp at 1


def test_monte_carlo_sign_correlation():
    rng = np.random.default_rng(3)
    n, c = 1_000_000, 0.42
    z1, z2 = rng.standard_normal((2, n))
    prod = np.sign(z1) * np.sign(c * z1 + math.sqrt(1 - c * c) * z2)
    se = prod.std() / math.sqrt(n)
    # k = 5 standard errors (false-failure rate ~6e-7)
    assert abs(prod.mean() - S.correlation_map(c, 1.0, 0.0)) < 5 * se


@given(st.floats(0.05, 5), st.floats(0, 5, allow_subnormal=False))  # a subnormal sigma_b is refused
def test_chi_bound(sw, sb):
    C, chi = S.fixed_point(sw, sb)
    assert 0.5 - 1e-12 < chi <= 2 / math.pi + 1e-15
    # fixed point of eq. 12 and eq. 11 there
    assert abs(S.correlation_map(C, sw, sb) - C) < 1e-12
    if C < 1 - 1e-9:
        assert abs(S.chi(C, sw, sb) - chi) < 1e-9


def test_chi_max_and_xi_max():
    assert S.fixed_point(1.0, 0.0)[1] == pytest.approx(2 / math.pi, rel=1e-15)
    assert S.XI_MAX == pytest.approx(-1 / math.log(2 / math.pi)) and S.XI_MAX < 3


@pytest.mark.parametrize("call,param", [
    (lambda: S.chi(0.2, 0.0, 0.0), "sigma_w"),
    (lambda: S.chi(0.2, 1.0, -0.5), "sigma_b"),
    (lambda: S.chi(1.0, 1.0, 0.0), "C"),
    (lambda: S.correlation_map(1.2, 1.0, 0.0), "C"),
    (lambda: S.correlation_map(0.2, 1.0, 0.0, dps=0), "dps"),
    (lambda: S.fixed_point(-1.0), "sigma_w"),
])
def test_bad_input(call, param):
    with pytest.raises(ValueError, match=param):
        call()
