from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmf_sym.activations import Staircase, as_staircase


@given(st.integers(2, 300))
def test_uniform_family(N):
    s = Staircase.uniform(N)
    assert s.N == N and s.levels[0] == -1 and abs(s.levels[-1] - 1) < 1e-12
    D = Fraction(2, N - 1)
    assert s.offsets_exact == tuple(D * (i - Fraction(N, 2)) for i in range(1, N))
    assert s.is_odd()
    x = np.linspace(-3, 3, 1001)
    x = x[~np.isin(x, s.offsets)]
    assert np.allclose(s(-x), -s(x))  # odd away from the jumps
    assert len(np.unique(s(np.linspace(-10, 10, 20001)))) == N


def test_sign_and_values():
    s = Staircase.sign()
    assert np.array_equal(s([-2.0, -1e-300, 0.0, 3.0]), [-1, -1, 1, 1])  # H(0) = 1
    t = Staircase([0.0, 1.0], [1.0, 2.0], base=-1)
    assert np.array_equal(t([-1, 0, 0.5, 1, 5]), [-1, 0, 0, 2, 2])


def test_scaled():
    s = Staircase.uniform(5).scaled(3)
    assert np.allclose(s.offsets, 3 * Staircase.uniform(5).offsets)


@pytest.mark.parametrize("make,param", [
    (lambda: Staircase.uniform(1), "N"),
    (lambda: Staircase.uniform(0), "N"),
    (lambda: Staircase.uniform(2.5), "N"),
    (lambda: Staircase([1.0, 0.0], [1, 1]), "offsets"),
    (lambda: Staircase([0.0, 0.0], [1, 1]), "offsets"),
    (lambda: Staircase([0.0, 1.0], [1, 0]), "heights"),
    (lambda: Staircase([0.0, 1.0], [1, -2]), "heights"),
    (lambda: Staircase([0.0, 1.0], [1]), "heights"),
    (lambda: Staircase([], []), "offsets"),
    (lambda: Staircase([0.0, float("inf")], [1, 1]), "offsets"),
    (lambda: Staircase.uniform(4, spacing=0), "spacing"),
    (lambda: as_staircase(np.tanh), "act"),
])
def test_bad_staircases(make, param):
    with pytest.raises(ValueError, match=param):
        make()


def test_mpmath_parameters_are_kept_exactly():
    import mpmath

    with mpmath.workdps(40):
        third = mpmath.mpf(1) / 3
        s = Staircase([-third, third], [third, third], base=-third)
        A, g, h = s.mp_params()
        assert g[0] == -third and g[1] == third and A == -third  # signs and all 40 digits kept
