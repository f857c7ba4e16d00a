"""qmf_sym.phase: the bias and the (sigma_w, sigma_b) phase diagram (paper 1, App. F)."""
import math

import numpy as np
import pytest

from qmf_sym import maps, sign
from qmf_sym import phase as P
from qmf_sym.activations import Staircase

ASYM = Staircase([-0.3, 0.2, 1.1], [0.5, 1.0, 0.25], base=-0.4)


@pytest.mark.parametrize("act,sb", [(Staircase.uniform(5), 0.0), (Staircase.uniform(5), 0.4), (ASYM, 0.0), (ASYM, 0.2)])
def test_fixed_point_at_Q_against_maps(act, sb):
    """Q*-parametrised fixed points = maps.fixed_point (an independent root finder on the sigma_w
    side) on the stable branch: Q*, C*, chi agree to ~1e-10 (both solve to ~1e-15; the C* root is
    flat when chi ~ 1, so C* gets 1e-10)."""
    qs = np.array([0.3, 1.0, 3.0]) + sb * sb
    sw, C, x, xi = P.fixed_point_at_Q(act, qs, sb)
    for k, q in enumerate(qs):
        fp = maps.fixed_point(act, float(sw[k]), sb)
        assert abs(fp.Q / q - 1) < 1e-12
        assert abs(fp.C - C[k]) < 1e-10 and abs(fp.chi - x[k]) < 1e-10
        assert abs(maps.correlation_map(act, q, C[k], sw[k], sb) - C[k]) < 1e-14


def test_sign_closed_form():
    """Sign (eq. 10-12): Q* = sigma_w^2 + sigma_b^2, C* and chi from qmf_sym.sign (closed forms)."""
    act = Staircase.sign()
    sw, C, x, _ = P.fixed_point_at_Q(act, 2.0, 0.6)
    assert abs(sw - math.sqrt(2.0 - 0.36)) < 1e-15
    C_sign, chi_sign = sign.fixed_point(float(sw), 0.6)
    assert abs(C - float(C_sign)) < 1e-12 and abs(x - float(chi_sign)) < 1e-11


def test_best_chi_matches_a_brute_grid():
    """best_chi_over_sigma_w >= the best of a dense sigma_w grid evaluated with maps.fixed_point."""
    for act, sb in ((Staircase.uniform(4), 0.3), (ASYM, 0.1)):
        b = P.best_chi_over_sigma_w(act, sb)
        grid = b.sigma_w * np.exp(np.linspace(-0.7, 0.7, 41))
        assert b.chi >= max(maps.fixed_point(act, float(w), sb).chi for w in grid) - 1e-15


@pytest.mark.parametrize("N", [3, 4, 8])
def test_bias_loses_for_odd_staircases(N):
    """App. F, certified on this grid: for the odd uniform staircase the best chi over sigma_w
    decreases strictly as sigma_b grows from 0."""
    vals = [P.best_chi_over_sigma_w(N, sb).chi for sb in (0.0, 0.03, 0.3)]
    assert vals[0] > vals[1] > vals[2]


def test_sign_bias_supremum_unchanged():
    """Sign: with sigma_b > 0 chi -> 2/pi only as sigma_w -> inf (attained=False); the supremum is
    the sigma_b = 0 value (paper 1, App. L.1: max at sigma_b = 0, <= 2/pi)."""
    b = P.best_chi_over_sigma_w(Staircase.sign(), 0.5)
    assert not b.attained and abs(b.chi - 2 / math.pi) < 1e-9


def test_no_chi_one_boundary():
    """chi < 1 at the stable fixed point on the whole grid (module docstring: convex M, M'(1) = inf)."""
    pd = P.phase_diagram(Staircase.uniform(6), np.geomspace(0.2, 6, 9), np.linspace(0, 2, 5))
    assert np.all(np.isfinite(pd.chi)) and np.all(pd.chi < 1) and pd.boundary is None
    assert pd.optimum.sigma_b == 0 and abs(pd.optimum.chi - P.best_chi_over_sigma_w(6, 0.0).chi) < 1e-15
    assert pd.grid_optimum[2] <= pd.optimum.chi + 1e-15


@pytest.mark.parametrize("bad,name", [(float("nan"), "sigma_b"), (-1.0, "sigma_b"), (True, "sigma_b"), (1e200, "sigma_b")])
def test_bad_sigma_b(bad, name):
    with pytest.raises(ValueError, match=name):
        P.best_chi_over_sigma_w(4, bad)


def test_bad_inputs():
    with pytest.raises(ValueError, match="Q"):
        P.fixed_point_at_Q(4, 0.01, 0.5)  # Q must exceed sigma_b^2
    with pytest.raises(ValueError, match="Q"):
        P.fixed_point_at_Q(4, float("nan"))
    with pytest.raises(ValueError, match="sigma_w"):
        P.phase_diagram(4, [0.5, -1.0], [0.0])
    with pytest.raises(ValueError, match="sigma_b"):
        P.phase_diagram(4, [0.5], [float("inf")])
    with pytest.raises(ValueError, match="N"):
        P.best_chi_over_sigma_w(1)
    with pytest.raises(ValueError, match="n_scan"):
        P.best_chi_over_sigma_w(4, 0.0, n_scan=True)
