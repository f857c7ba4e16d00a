"""qmf_sym.backward (closed forms of the STE backward gain, paper 1 eq. 8-9, 19) against
quadrature, Monte Carlo and the other precision face."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from qmf_sym import backward as B

Qs = st.floats(0.01, 50.0)
slopes = st.floats(0.1, 3.0)


@given(Q=Qs, s=slopes)
def test_clipped_moment_vs_quadrature(Q, s):
    # independent face: integrate g(u)^2 against the N(0, Q) density on (-1, 1) (adaptive quad,
    # abs. error ~1e-12); closed form s^2 (2 Phi(1/sqrt Q) - 1)
    quad, _ = integrate.quad(lambda u: s * s * stats.norm.pdf(u, scale=math.sqrt(Q)), -1, 1, epsabs=1e-13)
    assert B.gain_moment(Q, "clipped", s) == pytest.approx(quad, rel=1e-9, abs=1e-12)
    assert B.gain_moment(Q, "clipped", s) == pytest.approx(s * s * (2 * stats.norm.cdf(1 / math.sqrt(Q)) - 1), rel=1e-12)
    assert B.gain_moment(Q, "clipped", s, order=1) == pytest.approx(s * (2 * stats.norm.cdf(1 / math.sqrt(Q)) - 1), rel=1e-12)


@given(Q=Qs, s=slopes, sw=st.floats(0.1, 5.0))
def test_mp_face_agrees(Q, s, sw):
    # float64 vs 30-digit mpmath: agreement to ~1e-13 relative (float64 erf accuracy)
    for ste in ("clipped", "identity"):
        f = B.jacobian_moment(Q, sw, ste, s)
        m = B.jacobian_moment(Q, sw, ste, s, dps=30)
        assert isinstance(m, mpmath.mpf)
        assert float(m) == pytest.approx(float(f), rel=1e-13)
    with mpmath.workdps(40):
        exact = mpmath.mpf(sw) ** 2 * mpmath.mpf(s) ** 2 * (2 * mpmath.ncdf(1 / mpmath.sqrt(mpmath.mpf(Q))) - 1)
        assert abs(B.jacobian_moment(Q, sw, "clipped", s, dps=30) - exact) <= mpmath.mpf(10) ** -29 * abs(exact)


def test_monte_carlo():
    # Monte Carlo: n = 2e6 samples of u ~ N(0, Q); the estimator of P(|u| < 1) has SE
    # sqrt(p (1 - p) / n) <= 3.6e-4; k = 5 SE -> two-sided false-failure rate ~6e-7.
    rng = np.random.default_rng(12345)
    n = 2_000_000
    for Q in (0.05, 0.7, 3.0):
        u = rng.normal(0, math.sqrt(Q), n)
        for s in (0.5, 1.0, 2.0):
            g2 = (s * (np.abs(u) < 1)) ** 2
            se = g2.std() / math.sqrt(n)
            assert abs(g2.mean() - B.gain_moment(Q, "clipped", s)) <= 5 * se + 1e-15
        # cross moment E g(u1) g(u2) for correlated pairs
        for C in (-0.6, 0.3, 0.95):
            z = rng.normal(size=(2, n))
            u1 = math.sqrt(Q) * z[0]
            u2 = math.sqrt(Q) * (C * z[0] + math.sqrt(1 - C * C) * z[1])
            gg = ((np.abs(u1) < 1) & (np.abs(u2) < 1)).astype(float)
            se = gg.std() / math.sqrt(n)
            assert abs(gg.mean() - B.gain_cross_moment(Q, C)) <= 5 * se


def test_cross_moment_limits_and_mp():
    Q = 0.8
    assert B.gain_cross_moment(Q, 1.0) == pytest.approx(B.gain_moment(Q), abs=1e-13)
    assert B.gain_cross_moment(Q, deficit=0.0) == pytest.approx(B.gain_moment(Q), abs=1e-13)
    # C = 0: independent -> P(|u|<1)^2
    assert B.gain_cross_moment(Q, 0.0, slope=1.5) == pytest.approx(2.25 * B.pass_probability(Q) ** 2, rel=1e-12)
    assert float(B.gain_cross_moment(Q, 0.4, dps=20)) == pytest.approx(float(B.gain_cross_moment(Q, 0.4)), rel=1e-12)
    assert B.gain_cross_moment(Q, 0.4, ste="identity", slope=2.0) == pytest.approx(4.0)


def test_depth_scale():
    assert B.backward_depth_scale(math.exp(-0.1)) == pytest.approx(10.0)
    assert B.backward_depth_scale(1.0) == math.inf
    assert B.backward_depth_scale(mpmath.mpf(1), dps=20) == mpmath.inf


@pytest.mark.parametrize("call", [
    lambda: B.gain_moment(0.0),
    lambda: B.gain_moment(-1.0),
    lambda: B.gain_moment(1.0, ste="tanh"),
    lambda: B.gain_moment(1.0, order=0),
    lambda: B.jacobian_moment(1.0, 0.0),
    lambda: B.gain_cross_moment(1.0, 1.5),
    lambda: B.pass_probability(1.0, dps=0),
    lambda: B.backward_depth_scale(0.0),
])
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()
