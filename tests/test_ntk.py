"""qmf_sym.ntk: the STE neural tangent kernel."""
import math

import numpy as np
import pytest

from qmf_sym import maps, ntk
from qmf_sym.activations import Staircase
from qmf_sym.init import critical_init


def test_identity_ste_on_a_two_level_grid_is_the_linear_recursion():
    """With the identity STE (g = s) the gain kernel is s^2 for every pair: Theta^(l+1) =
    Sigma^(l+1) + sigma_w^2 s^2 Theta^(l) (a check independent of backward.gain_cross_moment)."""
    act = Staircase.uniform(5)
    r = ntk.ste_ntk(act, 0.8, 0.4, 1.2, 0.1, depth=4, ste="identity", slope=0.7)
    td, to = 0.8, 0.8 * 0.4
    Q, C = 0.8, 0.4
    for l in range(4):
        Q, C = maps.layer_map(act, Q, C, 1.2, 0.1)
        td = Q + 1.44 * 0.49 * td
        to = Q * C + 1.44 * 0.49 * to
        assert abs(r.theta_diag[l + 1] - td) < 1e-13 * td and abs(r.theta_off[l + 1] - to) < 1e-13 * abs(to)


def test_fixed_point_rates():
    c = critical_init(Staircase.uniform(6))
    m, chi_g, Q, C = ntk.ntk_rates(Staircase.uniform(6), c.sigma_w, 0.0, slope=c.ste_slope)
    assert abs(m - 1) < 1e-12 and abs(C) < 1e-14
    assert abs(chi_g - c.sigma_w ** 2 * c.ste_slope ** 2 * math.erf(1 / math.sqrt(2 * Q)) ** 2) < 1e-12  # C* = 0: factorises


@pytest.mark.parametrize("slope_kind", ["critical", pytest.param("one", marks=pytest.mark.slow)])
def test_empirical_ntk_of_finite_networks(slope_kind):
    """Empirical STE NTK (torch autograd through qmf_sim.nn, width 400, depth 2, 24 draws) against
    the recursion: within 5 standard errors of the draw mean (false-failure rate ~6e-7 if Gaussian)
    plus 2 % for the O(depth/width) finite-width bias."""
    pytest.importorskip("torch")
    from qmf_sim.experiments.appendices import empirical_ste_ntk

    act = Staircase.uniform(8, spacing=0.5)
    c = critical_init(act)
    slope = c.ste_slope if slope_kind == "critical" else 1.0
    th = ntk.ste_ntk(act, c.Q_star, 0.5, c.sigma_w, 0.0, depth=2, slope=slope)
    emp = np.array([empirical_ste_ntk(act, c.Q_star, 0.5, c.sigma_w, 0.0, depth=2, width=400, n_in=32,
                                      slope=slope, seed=200 + s) for s in range(24)])
    mean, se = emp.mean(0), emp.std(0, ddof=1) / math.sqrt(len(emp))
    for k, ref in ((0, th.theta_diag[-1]), (1, th.theta_off[-1]), (2, th.theta_diag[-1])):
        assert abs(mean[k] - ref) < 5 * se[k] + 0.02 * abs(ref)


@pytest.mark.parametrize("kw,name", [({"Q1": float("nan")}, "Q1"), ({"C1": 1.5}, "C1"), ({"sigma_w": 0.0}, "sigma_w"),
                                     ({"depth": 0}, "depth"), ({"depth": True}, "depth"), ({"ste": "tanh"}, "ste"),
                                     ({"slope": float("inf")}, "slope"), ({"sigma_b": -1.0}, "sigma_b")])
def test_bad_input(kw, name):
    args = dict(act=Staircase.uniform(4), Q1=0.5, C1=0.2, sigma_w=1.0)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        ntk.ste_ntk(**args)
