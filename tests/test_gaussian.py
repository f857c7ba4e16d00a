"""qmf_sym.gaussian: float64 face (Owen's T) against the mpmath face (quadrature) and against
independent oracles (mpmath 2-D quadrature of the density, Sheppard's formula, Monte Carlo)."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmf_sym import gaussian as G

pts = st.floats(-6, 6)


def _quad2d(h, k, rho, dps=30):
    """Phi_2 by direct 2-D quadrature of the density: int_{-inf}^h n(x) Phi((k - rho x)/sqrt(1-rho^2)) dx."""
    with mpmath.workdps(dps + 10):
        h, k, rho = mpmath.mpf(h), mpmath.mpf(k), mpmath.mpf(rho)
        s = mpmath.sqrt(1 - rho ** 2)
        f = lambda x: mpmath.npdf(x) * mpmath.ncdf((k - rho * x) / s)
        return mpmath.quad(f, [-mpmath.inf, min(h, 0), h] if h > 0 else [-mpmath.inf, h])


@pytest.mark.parametrize("h,k,rho", [(0.3, -1.2, 0.9), (1.0, 2.0, -0.95), (-2.0, -1.0, 0.5), (0.7, 0.7, 0.999)])
def test_bvn_cdf_mp_against_direct_quadrature(h, k, rho):
    # 30-digit face against an independent 1-D quadrature of the defining 2-D integral
    val = G.bvn_cdf(h, k, rho, dps=30)
    ref = _quad2d(h, k, rho)
    assert abs(val - ref) < mpmath.mpf(10) ** -28


def test_sheppard_orthant():
    # P(X > 0, Y > 0) = 1/4 + arcsin(rho)/(2 pi)   (Sheppard 1899)
    for rho in (-0.99, -0.3, 0.0, 0.4, 0.999999):
        with mpmath.workdps(40):
            ref = mpmath.mpf(1) / 4 + mpmath.asin(mpmath.mpf(rho)) / (2 * mpmath.pi)
        assert abs(G.orthant(0, 0, rho, dps=35) - ref) < mpmath.mpf(10) ** -33
        assert abs(float(G.orthant(0, 0, rho)) - float(ref)) < 2e-16


@given(pts, pts, st.floats(-0.999, 0.999))
def test_excess_float64_vs_mp(h, k, rho):
    # two independent algorithms: Owen's T (float64) vs tanh-sinh quadrature (mpmath)
    f = G.bvn_excess(h, k, rho)
    m = G.bvn_excess(h, k, rho, dps=25)
    assert abs(f - float(m)) < 5e-16


@given(pts, pts, st.floats(1e-14, 1e-2))
def test_excess_near_one_via_deficit(h, k, d):
    f = G.bvn_excess(h, k, deficit=d)
    m = G.bvn_excess(h, k, deficit=d, dps=25)
    assert abs(f - float(m)) < 5e-16


@given(pts, pts, st.floats(1e-12, 1e-2))
def test_density_deficit_relative_accuracy(x, y, d):
    # relative accuracy of the density written through the deficit, against a 50-digit evaluation
    # of the definition with rho = 1 - d formed exactly
    f = G.bvn_pdf(x, y, deficit=d)
    with mpmath.workdps(60):
        r = 1 - mpmath.mpf(d)
        X, Y = mpmath.mpf(x), mpmath.mpf(y)
        ref = mpmath.exp(-(X * X - 2 * r * X * Y + Y * Y) / (2 * (1 - r * r))) / (2 * mpmath.pi * mpmath.sqrt(1 - r * r))
    if ref > 1e-300:
        assert abs(f - float(ref)) <= 1e-12 * float(ref)


def test_cdf_tails_relative():
    for x in (-30.0, -10.0, -1.0, 0.0, 3.0):
        m = G.cdf(x, dps=30)
        assert abs(float(G.cdf(x)) - float(m)) <= 1e-15 * float(m)
        with mpmath.workdps(40):
            assert abs(m - mpmath.ncdf(x)) < mpmath.mpf(10) ** -28 * mpmath.ncdf(x)


def test_bvn_cdf_monte_carlo():
    rng = np.random.default_rng(1)
    n = 400_000
    rho, h, k = 0.6, 0.3, -0.4
    z1, z2 = rng.standard_normal((2, n))
    x, y = z1, rho * z1 + math.sqrt(1 - rho ** 2) * z2
    hit = (x <= h) & (y <= k)
    p, se = hit.mean(), hit.std() / math.sqrt(n)
    # 5 standard errors: two-sided false-failure rate ~6e-7 (normal approximation)
    assert abs(p - G.bvn_cdf(h, k, rho)) < 5 * se


def test_degenerate_rho_limits():
    assert G.bvn_cdf(0.3, -0.2, 1.0) == pytest.approx(G.cdf(-0.2), abs=1e-16)
    assert G.bvn_cdf(0.3, 0.5, -1.0) == pytest.approx(G.cdf(0.3) + G.cdf(0.5) - 1, abs=1e-16)


@pytest.mark.parametrize("kw", [dict(rho=1.5), dict(rho=-1.01), dict(deficit=-0.1), dict(deficit=2.5)])
def test_bad_correlation(kw):
    with pytest.raises(ValueError, match="rho|deficit"):
        G.bvn_cdf(0.0, 0.0, **kw)


def test_bad_dps_and_both_given():
    with pytest.raises(ValueError, match="dps"):
        G.cdf(0.0, dps=0)
    with pytest.raises(ValueError, match="only one"):
        G.bvn_cdf(0, 0, 0.5, deficit=0.5)
    with pytest.raises(ValueError, match=r"\(-1, 1\)"):
        G.bvn_pdf(0, 0, 1.0)


@pytest.mark.parametrize("kw", [dict(rho=0.5), dict(rho=-0.95), dict(deficit=1e-6), dict(one_plus=1e-12)])
def test_bvn_subnormal_offset(kw):
    """A subnormal h or k is 0 to within 1e-308: Owen's arguments formed from its one significant bit
    gave Phi_2(5e-324, 0; 1/2) = 3/8 instead of 1/3 (and 0 for an orthant of 2e-7)."""
    for h, k in ((5e-324, 0.0), (0.0, -5e-324), (1e-310, 0.3)):
        for f in (G.bvn_cdf, G.orthant, G.bvn_excess):
            a, b = f(h, k, **kw), f(h, k, dps=25, **kw)
            assert abs(a - float(b)) <= 1e-14 * abs(float(b)) + 2e-16, (f, h, k, a, b)
