"""Tests of qmf_sym.ste.quantizers: the quantizers of spec §2.2, the STE derivative (§2.3), the input
moments (§4.1) (paper 2; spec = shared/specs/ste_dynamics.md)."""
import mpmath
import numpy as np
import pytest

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



def test_nan_input_propagates_never_a_level():
    """quantize(nan) was 1.0 (searchsorted puts NaN past every threshold).
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
