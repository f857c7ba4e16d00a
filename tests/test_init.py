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
