"""sigma_w_opt / init_for (qmf_sym.init): the corrected sec. 5 initialization of paper 1."""
import math

import mpmath
import numpy as np
import pytest

from qmf_sym import maps
from qmf_sym.activations import Staircase
from qmf_sym.init import init_for, sigma_w_opt, uniform_spacing
from qmf_sym.spacing import optimal_spacing


@pytest.mark.parametrize("N", [3, 4, 10, 16])
def test_monte_carlo_fixed_point(N):
    """Draw u ~ N(0, Q*): sigma_w^2 mean(phi(u)^2) must equal Q* within k = 5 standard errors
    (two-sided normal tail 5.7e-7: a false failure is practically impossible; the seed is fixed)."""
    act = Staircase.uniform(N)
    ini = init_for(act)
    rng = np.random.default_rng(1234 + N)
    u = rng.normal(0.0, math.sqrt(ini.Q_star), size=400_000)
    y = ini.sigma_w ** 2 * act(u) ** 2
    se = y.std(ddof=1) / math.sqrt(len(y))
    assert abs(y.mean() - ini.Q_star) < 5 * se


@pytest.mark.parametrize("N", [3, 5, 10, 32])
def test_fixed_point_and_chi_from_maps(N):
    act = Staircase.uniform(N)
    ini = init_for(act)
    fp = maps.fixed_point(act, ini.sigma_w)
    assert abs(fp.Q / ini.Q_star - 1) < 1e-10
    assert abs(fp.C) < 1e-10
    # the normalized spacing at the fixed point is D_opt ...
    assert abs(float(uniform_spacing(act)) / math.sqrt(fp.Q) - ini.D_opt) < 1e-9
    # ... and chi there (eq. 15 of the lead's maps) is chi_max(N)
    assert abs(maps.chi(act, ini.Q_star, C=0.0, sigma_w=ini.sigma_w) - ini.chi) < 1e-12
    assert ini.sigma_b == 0


def test_paper_sigma_w_formula_is_identically_one():
    """Sec. 5 prints sigma_w = (1/sqrt(Q*)) (D / D_opt): with Q* = (D / D_opt)^2 that is 1; the
    correct value uses Q^* = E phi^2: sigma_w = (1/sqrt(Q^*)) (D / D_opt)."""
    for N in (4, 10, 16):
        ini = init_for(N)
        D = 2 / (N - 1)
        assert abs((1 / math.sqrt(ini.Q_star)) * (D / ini.D_opt) - 1) < 1e-14
        assert abs((1 / math.sqrt(ini.Q_hat)) * (D / ini.D_opt) - ini.sigma_w) < 1e-14
        assert abs(ini.sigma_w - 1) > 1e-3


def test_mp_init_agrees():
    f = init_for(10)
    m = init_for(10, dps=30)
    with mpmath.workdps(50):
        assert abs(m.sigma_w - f.sigma_w) < 1e-13
        fp_chi = maps.chi(Staircase.uniform(10), m.Q_star, C=0, sigma_w=m.sigma_w, dps=30)
        assert abs(fp_chi - m.chi) < mpmath.mpf(10) ** -27
        assert abs(m.chi - optimal_spacing(10, dps=30).chi_max) < mpmath.mpf(10) ** -28


def test_scaled_uniform_and_sign():
    # any spacing of the uniform family gives the same chi, sigma_w adapts
    a, b = init_for(Staircase.uniform(6)), init_for(Staircase.uniform(6, spacing=0.1))
    assert abs(a.chi - b.chi) < 1e-15 and abs(a.sigma_w - b.sigma_w) > 1e-3
    s = init_for(Staircase.sign())
    assert s.sigma_w == 1.0 and abs(s.chi - 2 / math.pi) < 1e-15
    assert sigma_w_opt(4) == init_for(4).sigma_w


@pytest.mark.parametrize("bad,name", [
    (1, "N"),
    (Staircase([0.0, 0.5], [1, 1], base=-1), "uniform"),
    (Staircase([-0.5, 0.5], [1, 2], base=-1.5), "uniform"),
    ("tanh", "act"),
])
def test_bad_input(bad, name):
    with pytest.raises(ValueError, match=name):
        sigma_w_opt(bad)


def test_bad_dps():
    with pytest.raises(ValueError, match="dps"):
        sigma_w_opt(4, dps=0)


# ============================================================================ critical_init
from qmf_sym import backward  # noqa: E402
from qmf_sym.init import critical_init  # noqa: E402

ASYM = Staircase([-0.3, 0.2, 1.1], [0.5, 1.0, 0.25], base=-0.4)


@pytest.mark.parametrize("N", [3, 5, 10, 32])
def test_critical_init_agrees_with_the_certified_table(N):
    """Uniform family: critical_init (Newton on eq. 16 in Q*) = init_for (eq. 17 table row).  The
    float64 row is certified to its D_opt_reldiff against a 20-digit re-run; sigma_w ~ D / D_opt
    inherits it, so the tolerance is 4 x that (>= 4 ulp)."""
    c, i = critical_init(N), init_for(N)
    row = optimal_spacing(N)
    tol = 4 * max(row.D_opt_reldiff, 2.2e-16)
    assert abs(c.sigma_w / i.sigma_w - 1) <= tol
    assert abs(c.Q_star / i.Q_star - 1) <= 2 * tol
    # chi ~ 1: both rounded to float64 from different formulas (eq. 16 vs the eq. 17 sums): 5 ulp
    assert abs(c.chi - i.chi) <= max(4 * row.chi_max_reldiff, 5 * 2.2e-16) and c.sigma_b == 0 and c.C_star == 0


def test_critical_init_dps_agrees_with_table_dps():
    c, i = critical_init(12, dps=30), init_for(12, dps=30)
    with mpmath.workdps(40):
        assert abs(c.sigma_w / i.sigma_w - 1) < mpmath.mpf(10) ** -27
        assert abs(c.chi - i.chi) < mpmath.mpf(10) ** -28


@pytest.mark.parametrize("act,sb", [(ASYM, 0.0), pytest.param(ASYM, 0.3, marks=pytest.mark.slow),
                                    pytest.param(Staircase.uniform(4), 0.2, marks=pytest.mark.slow)])
def test_critical_init_is_a_maximum_over_sigma_w(act, sb):
    """At the true fixed point (maps.fixed_point, an independent solver): chi(sigma_w*) is at least
    the best of a 60-point grid and of sigma_w* (1 +- 1e-3)."""
    c = critical_init(act, sb)
    assert abs(maps.fixed_point(act, c.sigma_w, sb).chi - c.chi) < 1e-14
    grid = c.sigma_w * np.exp(np.linspace(-1, 1, 60))
    best_grid = max(maps.fixed_point(act, float(w), sb).chi for w in grid)
    assert c.chi >= best_grid - 1e-15
    for f in (1 - 1e-3, 1 + 1e-3):
        assert maps.fixed_point(act, c.sigma_w * f, sb).chi < c.chi


def test_critical_init_non_centred_has_C_star_positive():
    c = critical_init(ASYM)
    assert 0 < c.C_star < 1 and c.method == "fixed-point scan"


def test_critical_init_optimise_bias_odd_picks_zero():
    """Odd staircase: the best chi over sigma_b >= 0 is at sigma_b = 0 (derivations/critical_init_and_bias.md)."""
    c = critical_init(4, "optimise")
    assert c.sigma_b == 0 and abs(c.chi - init_for(4).chi) < 1e-15


def test_sign_flat_and_supremum():
    s = critical_init(2)
    assert s.sigma_w == 1.0 and abs(s.chi - 2 / math.pi) < 1e-15
    b = critical_init(Staircase.sign(), 0.3)  # chi -> 2/pi only as sigma_w -> inf
    assert not b.attained and b.sigma_w == math.inf and abs(b.chi - 2 / math.pi) < 1e-8


@pytest.mark.parametrize("N", [2, 4, 16])
def test_ste_slope_makes_backward_gain_one(N):
    c = critical_init(N)
    m = backward.jacobian_moment(c.Q_star, c.sigma_w, "clipped", c.ste_slope)
    assert abs(m - 1) < 1e-14 and abs(c.backward_gain - 1) < 1e-14
    # slope^2 = 1 / (sigma_w^2 erf(1/sqrt(2 Q*))) written out
    assert abs(c.ste_slope ** 2 * c.sigma_w ** 2 * math.erf(1 / math.sqrt(2 * c.Q_star)) - 1) < 1e-14


@pytest.mark.parametrize("use_slope", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_ste_backward_gain_against_autograd(use_slope):
    """A finite network (torch autograd through the STE of qmf_sim.nn, CPU, float64),
    depth 8 (width 600), inputs with Q^(1) = Q*.  Per draw, the per-layer gain of the squared gradient norm
    w.r.t. the pre-activations, (|d alpha^1|^2 / |d alpha^L|^2)^(1/(L-1)), is averaged over 8 draws;
    the mean must be within 5 standard errors (+ 2 % for the O(1/width) finite-width bias) of the
    mean-field m_STE = sigma_w^2 s^2 P(|u| < 1) (= 1 with the critical slope)."""
    torch = pytest.importorskip("torch")
    from qmf_sim.nn import QuantizedMLP

    act = Staircase.uniform(8, spacing=0.5)  # Q* = 0.73, sigma_w = 1.78: slope 1 would give m = 2.41
    c = critical_init(act)
    slope = c.ste_slope if use_slope else 1.0
    m_th = float(backward.jacobian_moment(c.Q_star, c.sigma_w, "clipped", slope))
    L, n, n_in = 8, 600, 300
    gains = []
    for seed in range(8):
        net = QuantizedMLP(n_in, n, L, 10, act, c.sigma_w, 0.0, "clipped", slope, dtype=torch.float64, seed=seed)
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(4, n_in, generator=g, dtype=torch.float64)
        x = x / x.norm(dim=1, keepdim=True) * math.sqrt(n_in * c.Q_star) / c.sigma_w  # Q^(1) = Q*
        out, pre = net(x, return_preactivations=True)
        for a in pre:
            a.retain_grad()
        (out * torch.randn(out.shape, generator=g, dtype=torch.float64)).sum().backward()
        ratio = float(pre[0].grad.pow(2).sum() / pre[-1].grad.pow(2).sum())
        gains.append(ratio ** (1 / (L - 1)))
    gains = np.array(gains)
    se = gains.std(ddof=1) / math.sqrt(len(gains))
    assert abs(gains.mean() - m_th) < 5 * se + 0.02 * m_th
    if not use_slope:
        assert m_th > 2  # the slope matters: without it the gradient explodes by > 2 per layer


@pytest.mark.parametrize("bad,name", [(float("nan"), "sigma_b"), (-0.1, "sigma_b"), (True, "sigma_b"),
                                      (float("inf"), "sigma_b"), ("optimize", "sigma_b"), (1e300, "sigma_b")])
def test_critical_init_bad_sigma_b(bad, name):
    with pytest.raises(ValueError, match=name):
        critical_init(4, bad)


@pytest.mark.parametrize("bad,name", [(1, "N"), (True, "act"), ("tanh", "act"), (2.5, "act")])
def test_critical_init_bad_act(bad, name):
    with pytest.raises(ValueError, match=name):
        critical_init(bad)


def test_critical_init_bad_dps():
    with pytest.raises(ValueError, match="dps"):
        critical_init(4, dps=True)
    with pytest.raises(ValueError, match="dps"):
        critical_init(ASYM, dps=20)  # only the odd sigma_b = 0 path has a dps face
