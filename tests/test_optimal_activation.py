"""qmf_sym.optimal_activation: which N-level activation propagates signal best (paper 1, App. G)."""

import numpy as np
import pytest

from qmf_sym import optimal_activation as O
from qmf_sym import quantization as Qz
from qmf_sym import spacing as S


@pytest.mark.parametrize("N", [2, 3, 4, 6])
def test_random_starts_find_nothing_better_than_uniform(N):
    """Direct maximisation of eq. 16 over the thresholds (equal heights) from random staircases
    ends at the uniform optimum: chi within 1e-13 (L-BFGS-B stops at ~1e-15 relative in f) and the
    thresholds within 1e-4 of D_opt (i - N/2) (a flat maximum: sqrt of the f tolerance)."""
    r = O.optimise_equal_steps(N, starts=3, seed=N)
    assert r.chi <= r.chi_uniform + 1e-15
    assert r.chi > r.chi_uniform - 1e-13
    assert r.max_dev < 1e-4


@pytest.mark.parametrize("N", [3, 5, 12, 24])
def test_uniform_is_a_strict_local_maximum(N):
    """Hessian (finite differences, entry error ~1e-8) negative definite with a margin >> 1e-8 N."""
    ev = O.hessian_at_uniform(N)
    assert ev.max() < -100 * 1e-8 * N


@pytest.mark.parametrize("N", [2, 3, 4, 9, 16])
def test_centred_grid_is_best(N):
    """Uniform quantizer with its level grid shifted by c steps: the MSE is smallest at c = 0 and
    equals 1 - chi_max(N) there (Max's identity, derivations/stein_chi_quantization.md)."""
    c, m = O.uniform_offset_scan(N)
    k0 = int(np.argmin(m))
    assert c[k0] == 0.0 and np.all(m[np.abs(c) > 0] > m[k0])
    assert abs(m[k0] - (1 - S.optimal_spacing(N, check=False).chi_max)) < 1e-10


def test_lloyd_max_beats_uniform_from_N4():
    for N, gain_lo, gain_hi in ((2, 1 - 1e-12, 1 + 1e-12), (3, 1 - 1e-9, 1 + 1e-9), (4, 1.005, 1.02), (64, 1.55, 1.7)):
        c = O.compare_classes(N)
        assert gain_lo < c.xi_gain < gain_hi
        assert c.chi_lloyd_max >= c.chi_uniform - 1e-13
        # chi of the Lloyd-Max staircase via eq. 16 (an independent route from 1 - MSE)
        lm = Qz.lloyd_max(N)
        assert abs(Qz.chi_of_quantizer(lm.thresholds, lm.levels) - c.chi_lloyd_max) < 1e-12


@pytest.mark.parametrize("bad,name", [(1, "N"), (True, "N"), (10 ** 6, "N"), (3.5, "N")])
def test_bad_N(bad, name):
    with pytest.raises(ValueError, match=name):
        O.optimise_equal_steps(bad)
    with pytest.raises(ValueError, match=name):
        O.compare_classes(bad)


def test_bad_other():
    with pytest.raises(ValueError, match="starts"):
        O.optimise_equal_steps(4, starts=0)
    with pytest.raises(ValueError, match="offsets"):
        O.uniform_offset_scan(4, [float("nan")])
    with pytest.raises(ValueError, match="h"):
        O.hessian_at_uniform(4, h=-1.0)
