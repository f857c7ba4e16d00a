"""The Stein's-lemma link between chi (eq. 16/17 of paper 1) and quantization of a Gaussian
(qmf_sym.quantization): independent checks of the chi_max / D_opt table."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmf_sym import quantization as Qz
from qmf_sym import spacing as S
from qmf_sym.activations import Staircase


@pytest.fixture(autouse=True)
def _mp_precision():
    with mpmath.workdps(60):
        yield


@pytest.fixture(scope="module")
def lm():
    return {N: Qz.lloyd_max(N) for N in (2, 3, 4, 5, 8, 16, 32)}


def test_N2_all_coincide(lm):
    r = S.optimal_spacing(2)
    s, m = Qz.optimal_uniform_quantizer(2)
    assert abs(lm[2].mse - (1 - 2 / math.pi)) < 1e-15
    assert abs((1 - r.chi_max) - m) < 1e-15 and abs(m - lm[2].mse) < 1e-15


@pytest.mark.parametrize("N", [3, 4, 5, 8, 16, 32])
def test_bounds_and_uniform_identity(N, lm):
    """Lloyd-Max MSE < 1 - chi_max(N) = MSE of Max's optimal uniform quantizer, D_opt = its step."""
    r = S.optimal_spacing(N, check=False)
    step, mse_u = Qz.optimal_uniform_quantizer(N)
    one_minus = 1 - r.chi_max
    # float64: the uniform MSE is a sum of O(1) cell terms with cancellation ~ 1/MSE, so its
    # relative error is ~ 1e-16 / MSE (< 1e-12 for N <= 32); the step from a bounded Brent search
    # on a flat minimum is good to ~ sqrt(eps) ~ 1e-8 relative.
    assert abs(one_minus - mse_u) < 1e-12 * one_minus / 1e-3
    assert abs(step / r.D_opt - 1) < 1e-6
    if N == 3:  # the symmetric 3-level Lloyd-Max quantizer {-y, 0, y} is itself uniform
        assert abs(lm[N].mse - one_minus) < 1e-13
    else:
        assert lm[N].mse < one_minus * (1 - 1e-4)  # strict for N >= 4
    # direct evaluation of the uniform quantizer at D_opt (no optimisation)
    assert abs(Qz.uniform_quantizer_mse(r.D_opt, N) - one_minus) < 1e-12


@pytest.mark.parametrize("N", [3, 8])
def test_uniform_identity_30_digits(N):
    r = S.optimal_spacing(N, dps=30, check=False)
    step, mse = Qz.optimal_uniform_quantizer(N, dps=30)
    assert abs(step / r.D_opt - 1) < mpmath.mpf(10) ** -28
    assert abs(mse / (1 - r.chi_max) - 1) < mpmath.mpf(10) ** -28


def test_lloyd_max_loose_sanity_vs_remembered_tables(lm):
    # Max (1960) tables, remembered to ~3-4 digits: a loose sanity check, not the oracle
    for N, mse in [(3, 0.1902), (4, 0.1175), (8, 0.03455), (16, 0.0095)]:
        assert abs(lm[N].mse / mse - 1) < 5e-3
    assert abs(lm[4].thresholds[-1] - 0.9816) < 1e-3 and abs(lm[4].levels[-1] - 1.510) < 1e-3


@pytest.mark.parametrize("N", [3, 4, 8, 16])
def test_lloyd_max_staircase_chi(N, lm):
    """Eq. 16 at the Lloyd-Max thresholds gives 1 - chi = MSE_LM (centroid levels: gain 1), so
    non-uniform staircases beat the uniform ones for N >= 4 (against paper 1, Appendix G)."""
    q = lm[N]
    c = Qz.chi_of_quantizer(q.thresholds, q.levels)
    assert abs((1 - c) - q.mse) < 1e-12
    if N >= 4:
        assert c > S.optimal_spacing(N, check=False).chi_max
    # the Lloyd-Max point is stationary (Lloyd's conditions): centroid and midpoint residuals ~ 0
    assert np.allclose(q.thresholds, 0.5 * (q.levels[:-1] + q.levels[1:]), atol=1e-12)


@given(data=st.data(), m=st.integers(1, 7))
def test_stein_form_equals_eq16(data, m):
    """chi via Stein (E[z phi]^2 / Var phi) vs eq. 16 (double sums) for random staircases."""
    gaps = data.draw(st.lists(st.floats(0.05, 1.5), min_size=m, max_size=m))
    g = data.draw(st.floats(-2.0, 1.0)) + np.cumsum(gaps)
    h = data.draw(st.lists(st.floats(0.1, 3.0), min_size=m, max_size=m))
    act = Staircase(list(g), h, base=data.draw(st.floats(-3, 3)))
    assert abs(Qz.chi_via_stein(act) - S.chi_staircase(g, h)) < 1e-12


def test_stein_form_mp():
    from fractions import Fraction as F

    act = Staircase([F(-1, 3), F(1, 5), 1], [1, 2, F(1, 2)], base=0)
    g, h = act.offsets_exact, act.heights_exact
    with mpmath.workdps(50):
        gm = [mpmath.mpf(x.numerator) / x.denominator for x in g]
        hm = [mpmath.mpf(x.numerator) / x.denominator for x in h]
        assert abs(Qz.chi_via_stein(act, dps=35) - S.chi_staircase(gm, hm, dps=35)) < mpmath.mpf(10) ** -33


def test_asymptotic_trends():
    rows = S.table([64, 256, 1024, 4096], check=False)
    N = np.array([r.N for r in rows], float)
    one_minus = np.array([1 - r.chi_max for r in rows])
    D = np.array([r.D_opt for r in rows])
    # granular noise dominates: (1 - chi_max) / (D_opt^2 / 12) decreases monotonically toward 1
    ratio = one_minus / (D ** 2 / 12)
    assert np.all(np.diff(ratio) < 0) and np.all(ratio > 1) and ratio[-1] < 1.1
    # D_opt / (4 sqrt(ln N) / N) increases slowly toward 1 (Hui-Neuhoff; not monotone below N ~ 30)
    rs = D / Qz.hui_neuhoff_step(N)
    assert np.all(np.diff(rs) > 0) and np.all(rs < 1)
    # Lloyd-Max over Panter-Dite -> 1 (from below at these N: 0.81, 0.89, 0.94)
    pd = [Qz.lloyd_max(n).mse / Qz.panter_dite_mse(n) for n in (8, 16, 32)]
    assert pd[0] < pd[1] < pd[2] < 1 and pd[2] > 0.93


def test_quantizer_mse_mp_matches_float():
    t, y = [-0.5, 0.1, 0.9], [-1.0, -0.2, 0.4, 1.3]
    assert abs(Qz.quantizer_mse(t, y) - float(Qz.quantizer_mse(t, y, dps=30))) < 1e-15


@pytest.mark.parametrize("call,name", [
    (lambda: Qz.lloyd_max(1), "N"),
    (lambda: Qz.uniform_quantizer_mse(0.0, 4), "step"),
    (lambda: Qz.uniform_quantizer_mse(0.3, 4, dps=0), "dps"),
    (lambda: Qz.optimal_uniform_quantizer(1), "N"),
    (lambda: Qz.quantizer_mse([0.0], [1.0]), "levels"),
    # tol / maxit were unvalidated (tol = NaN never stopped, maxit = True ran once)
    (lambda: Qz.lloyd_max(4, tol=0.0), "tol"),
    (lambda: Qz.lloyd_max(4, tol=float("nan")), "tol"),
    (lambda: Qz.lloyd_max(4, maxit=0), "maxit"),
    (lambda: Qz.lloyd_max(4, maxit=True), "maxit"),
    (lambda: Qz.quantizer_mse([float("nan")], [0.0, 1.0]), "thresholds"),
    (lambda: Qz.quantizer_mse([0.5, 0.1], [0.0, 1.0, 2.0]), "thresholds"),
    (lambda: Qz.quantizer_mse([0.0], [0.0, float("inf")]), "levels"),
    (lambda: Qz.quantizer_mse([0.0], [0.0, float("nan")], dps=20), "levels"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()

