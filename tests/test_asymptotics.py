"""qmf_sym.asymptotics: the large-N law of the optimal uniform staircase (paper 1, eq. 18)."""
import math

import numpy as np
import pytest

from qmf_sym import asymptotics as A
from qmf_sym import quantization as Qz
from qmf_sym import spacing as S


def test_t_equation():
    for N in (3, 10, 1000, 10 ** 9):
        t = A.t_outer(N)
        m = N - 2
        lhs, rhs = t * t + 3 * math.log(t * t), 2 * math.log(6 * m * m / math.sqrt(2 * math.pi))
        assert abs(lhs - rhs) < 1e-12 * max(1, abs(rhs))


def test_leading_terms_are_hui_neuhoff():
    """order=0 is qmf_sym.quantization's Hui-Neuhoff step and (4/3) ln N / N^2 (independent code)."""
    for N in (16, 1000):
        assert abs(A.D_opt_asymptotic(N, 0) - Qz.hui_neuhoff_step(N)) < 1e-15
        assert abs(A.one_minus_chi_asymptotic(N, 0) - Qz.hui_neuhoff_mse(N)) < 1e-15 * Qz.hui_neuhoff_mse(N) + 1e-300


def test_corrected_law_converges_to_the_table():
    """|asymptotic / exact - 1| decreases with N and is < 1.3 % from N = 1e4 (certified float64 rows;
    1 - chi to ~1e-8 relative there, far below the tolerance)."""
    rows = S.table([100, 1000, 10000], check=False)
    err = [abs(A.one_minus_chi_asymptotic(r.N) / (1 - r.chi_max) - 1) for r in rows]
    errD = [abs(A.D_opt_asymptotic(r.N) / r.D_opt - 1) for r in rows]
    assert err[0] > err[1] > err[2] and err[2] < 0.013
    assert errD[0] > errD[1] > errD[2] and errD[2] < 0.004


def test_slope_decomposition_sums():
    rows = S.table(range(20, 80), check=False)
    d = A.slope_decomposition(rows)
    assert np.allclose(d.slope, d.s_step + d.s_gran, atol=1e-12)
    x, sl = S.local_slopes(rows)  # the spacing package's own slope routine
    assert np.allclose(sl[1:-1], np.interp(x[1:-1], d.x, d.slope), atol=2e-4)


def test_paper_formulas():
    assert abs(A.paper_xi(9) - 0.5 * 10 ** 1.82) < 1e-12 and abs(A.paper_L_max(9) - 3 * 10 ** 1.82) < 1e-12


@pytest.mark.parametrize("bad", [2, True, 2.5, float("nan"), -5, 10 ** 400])
def test_bad_N(bad):
    with pytest.raises(ValueError, match="N"):
        A.one_minus_chi_asymptotic(bad)
    with pytest.raises(ValueError, match="N"):
        A.D_opt_asymptotic(bad)


def test_bad_order_and_rows():
    with pytest.raises(ValueError, match="order"):
        A.one_minus_chi_asymptotic(10, order=2)
    with pytest.raises(ValueError, match="rows"):
        A.slope_decomposition(S.table([2, 3], check=False))
