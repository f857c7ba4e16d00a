"""Sec. 3.2 / App. M (qmf_sim.experiments.generalization): the vectorised NNGP/NTK recursion against
qmf_sym.ntk.ste_ntk pair by pair, the stop-depth rule, and the claim on a small digits problem."""

import numpy as np
import pytest

from qmf_sim.experiments import generalization as G
from qmf_sym import maps, ntk
from qmf_sym.activations import Staircase
from qmf_sym.init import sigma_w_opt


@pytest.mark.parametrize("N,factor,sb", [(2, 1.0, 0.0), (4, 1.0, 0.0), (16, 1.0, 0.0), (4, 2.0, 0.1)])
def test_tabulated_recursion_equals_ste_ntk(N, factor, sb):
    a = Staircase.uniform(N)
    sw = factor * (float(sigma_w_opt(a)) if N > 2 else 1.0)
    Q = float(maps.fixed_point(a, sw, sb).Q)
    c1 = np.array([0.3, -0.2, 0.95, 0.999, -0.9])
    for L, c, th, thd in G.kernels(a, sw, sb, c1, (1, 5, 30)):
        ref = [ntk.ste_ntk(a, Q, x, sw, sb, depth=L) for x in c1]
        # the spline in theta = arccos C is accurate to ~1e-13 (measured 5e-14 .. 1e-12 here)
        assert np.allclose(c, [r.C[-1] for r in ref], rtol=0, atol=1e-11)
        assert np.allclose(th, [r.theta_off[-1] for r in ref], rtol=1e-11, atol=1e-11)
        assert thd == pytest.approx(ref[0].theta_diag[-1], rel=1e-13)


def test_stop_depth():
    assert G.stop_depth([1, 2, 4, 8], [0.5, 0.3, 0.295, 0.6]) == (2, 0.295)
    assert G.stop_depth([1, 2, 4], [0.2, 0.25, 0.3]) == (1, 0.2)
    assert G.stop_depth([1, 2, 4], [0.5, None, 0.1]) == (4, 0.1)
    assert G.half_depth([1, 4, 16], [0.1, 0.3, 0.7]) == pytest.approx(8.0)  # target 0.5, half way in log depth
    assert G.half_depth([1, 4], [0.1, 0.2]) is None


def test_typical_network_returns_to_chance_beyond_a_few_xi():
    # digits, 300 train / 200 test points, uniform N = 4 at sigma_w_opt (xi = 7.9): the NNGP mean classifies well
    # at every depth (argmax is blind to the shrinking scale), while a typical trained wide network
    # (f0 ~ GP(0, K) plus the NTK correction) is near chance (0.9) once depth >> xi
    a = Staircase.uniform(4)
    sw = float(sigma_w_opt(a))
    rows = G.kernel_errors(a, sw, 0.0, (1, 64), quick=True, draws=4)
    (l1, xi, _, nngp1, ntk1, typ1), (l64, _, r64, nngp64, ntk64, typ64) = rows
    assert xi == pytest.approx(7.9037, rel=1e-4) and r64 > 8
    assert nngp1 < 0.12 and ntk1 < 0.12           # measured 0.06, 0.065
    assert typ1 < 0.35                            # measured 0.21 (6 draws)
    assert typ64 > 0.8                            # measured 0.90 (chance)
    assert nngp64 < 0.3                           # measured 0.185


def test_networks_train():
    a = Staircase.uniform(4)
    rows = G.network_errors(a, float(sigma_w_opt(a)), 0.0, (2,), quick=True, steps=100)
    ((L, s, early, final),) = rows
    assert L == 2 and 0 <= final < 0.6 and early is not None  # a 2-layer STE net learns digits in 100 steps


def test_networks_of_several_settings_come_back_per_setting():
    # the staircases train as one ensemble per depth (a non-uniform staircase alone through its factory):
    # rows per setting in order of depths and seeds; a member's numbers do not depend on its neighbours
    a, b = Staircase.uniform(4), Staircase.uniform(2)
    odd = Staircase([-0.5, 0.2, 1.0], [0.6, 0.8, 0.6], base=-1)  # 4 uneven levels
    sets = [(a, 1.0, 0.0), (b, 1.5, 0.0), (odd, 1.2, 0.0)]
    rows = G.network_errors_many(sets, (2, 3), quick=True, seeds=(0, 1), steps=60)
    assert [[(r[0], r[1]) for r in rs] for rs in rows] == [[(2, 0), (2, 1), (3, 0), (3, 1)]] * 3
    assert all(0 <= r[3] <= 1 and r[2] is not None for rs in rows for r in rs)
    back = G.network_errors_many(sets[::-1], (2, 3), quick=True, seeds=(0, 1), steps=60)
    assert back[::-1] == rows
    assert rows[1] != rows[0]  # distinct settings, distinct runs


@pytest.mark.slow  # the tanh tables are 2 x 401 certified quadratures (~13 s)
def test_continuous_recursion_uses_the_true_derivative():
    # tanh: forward C as qmf_sym.ntk / maps.layer_map; the NTK factor is sigma_w^2 E phi'phi' = maps.chi at
    # (Q*, C) (the network trains with its gradient), not the STE gain qmf_sym.ntk.ste_ntk applies
    from qmf_sym.activations import Tanh

    t, sw, sb = Tanh(), 2.2, 0.05
    Q = float(maps.fixed_point(t, sw, sb).Q)
    c1 = np.array([0.3, -0.2, 0.95])
    ((L, c, th, thd),) = list(G.kernels(t, sw, sb, c1, (3,)))
    ref = [ntk.ste_ntk(t, Q, x, sw, sb, depth=3) for x in c1]
    assert np.allclose(c, [r.C[-1] for r in ref], rtol=0, atol=1e-9)  # 401-node spline: ~1e-9
    cc, tt = c1.copy(), Q * c1
    for _ in range(3):
        tt = Q * np.asarray(maps.correlation_map(t, Q, cc, sw, sb)) + np.asarray(maps.chi(t, Q, cc, sw)) * tt
        cc = np.asarray(maps.correlation_map(t, Q, cc, sw, sb))
    assert np.allclose(th, tt, rtol=1e-8, atol=1e-9)
    chi1 = float(maps.chi_1(t, Q, sw))
    assert thd == pytest.approx(Q * (1 + chi1 + chi1 ** 2) + chi1 ** 3 * Q, rel=1e-12)


@pytest.mark.parametrize("n", [401, 3001])
def test_splines_match_scipys_own_evaluation(n):
    # the direct cell lookup on the uniform theta grid against scipy's searched evaluation of the same splines,
    # at random correlations, at the nodes themselves and at C = +-1 (theta = 0, pi: the first and last cell);
    # the same cubic evaluated in another order: within a few ulps of O(1) values
    from scipy.interpolate import CubicSpline

    grid = G._grid(n)
    a, b = np.cos(grid) ** 3 + 0.5 * grid, np.exp(-grid)
    c = np.concatenate([np.random.default_rng(1).uniform(-1, 1, 20000), np.cos(grid), [-1.0, 1.0]])
    got = G._splines(grid, a, b)(c)
    t = np.arccos(c)
    for want, g in zip((CubicSpline(grid, a)(t), CubicSpline(grid, b)(t)), got):
        assert np.abs(g - want).max() <= 2e-15
