"""qmf_sim.ste.quantizer: the one lookup agrees bit for bit with qmf_sym.ste.quantizer_grid / quantize."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qmf_sim.ste import GRIDS
from qmf_sim.ste.quantizer import apply, lookup_tables, quantize
from qmf_sym import ste


@settings(max_examples=25)
@given(b=st.integers(1, 7), omega=st.floats(0.1, 4.0), kind=st.sampled_from(GRIDS))
def test_lookup_equals_quantizer_grid(b, omega, kind):
    """The compiled passes (select chains for <= 7 thresholds, arithmetic bucket formula above) give exactly
    the documented lookup of quantizer_grid, at and just below/above every threshold too, and agree with
    qmf_sym.ste.quantize bit for bit."""
    if kind == "midtread" and b < 2:
        return
    lev, thr = ste.quantizer_grid(b, omega, kind)
    gl, gt, gm = lookup_tables([(lev, thr)], [np.inf], [omega])
    assert gm[0, 0] == (next(k for k in (1, 3, 7) if k >= len(thr)) if len(thr) <= 7 else -2)  # gather-free
    rng = np.random.default_rng(b)
    u = np.concatenate([rng.uniform(-2 * omega, 2 * omega, 2000), thr, np.nextafter(thr, -np.inf),
                        np.nextafter(thr, np.inf), [-1e9, 1e9, -np.inf, np.inf]])
    out = apply((gl, gt, gm), u)
    np.testing.assert_array_equal(out, lev[np.searchsorted(thr, u, side="right")])
    np.testing.assert_array_equal(quantize(u, b, omega, kind), out)
    np.testing.assert_array_equal(out, ste.quantize(u, b, omega, kind))


@pytest.mark.parametrize("kind", GRIDS)
@pytest.mark.parametrize("b", [4, 6])
def test_grid_without_omega_and_other_even_grids(kind, b):
    """A uniform grid given without its omega still takes the arithmetic pass (omega recovered from its
    levels, the pass's own values checked against the grid); an evenly spaced grid that is none of spec
    §2.2's kinds (shifted levels) takes the chain up to 15 thresholds and the binary search above; every
    one the documented lookup exactly."""
    from qmf_sim.ste import _kernels as K

    lev, thr = ste.quantizer_grid(b, 1.3, kind)
    for lv, expect in ((lev, -2), (lev + 0.01, 15 if len(thr) <= 15 else K.CODE_SEARCH)):
        gl, gt, gm = lookup_tables([(lv, thr)])
        assert gm[0, 0] == expect
        u = np.concatenate([np.linspace(-2, 2, 4001), thr, np.nextafter(thr, -np.inf), np.nextafter(thr, np.inf),
                            [-np.inf, np.inf]])
        np.testing.assert_array_equal(apply((gl, gt, gm), u), lv[np.searchsorted(thr, u, side="right")])


def test_arithmetic_pass_quotients_exact_for_every_grid_size():
    """The arithmetic pass divides without a division (a reciprocal and one fused multiply-add): for every
    grid of the three kinds up to 2^10 levels its quotients are the correctly rounded ones, bit for bit."""
    from qmf_sim.ste._kernels import grid_values

    for L in range(2, 1025):
        cands = [(2, 1 - (L - 1), L - 1), (2, 2 - L, L), (2, -(L - 1), L - 1), (2, 1 - L, L)]
        if L % 2 == 1:
            cands.append((1, -(L - 1) // 2, (L - 1) // 2))  # midtread levels
        k = np.arange(L, dtype=float)
        for a, b_, den in cands:
            np.testing.assert_array_equal(grid_values(k, a, b_, den, 1.0), (a * k + b_) / den)


@pytest.mark.parametrize("nt", [1, 2, 3, 5, 7, 8, 9, 12, 14, 15])
@pytest.mark.parametrize("uneven", [False, True])
def test_every_chain_equals_the_documented_lookup(nt, uneven):
    """The tuple chains (codes 1, 3, 7 and the split 8 + 7 chain of code 15) for every number of thresholds
    they serve, padded with +inf: lev[#{thr <= u}] exactly, at, just below and just above every threshold,
    and at +-inf; evenly spaced grids that are not spec §2.2's (no arithmetic pass) and uneven staircases."""
    from qmf_sim.ste import _kernels as K
    from qmf_sim.ste.quantizer import map_tables
    from qmf_sym.activations import Staircase
    from qmf_sym.ste.maps import Map

    rng = np.random.default_rng(nt)
    if uneven:
        th = np.cumsum(rng.uniform(0.05, 0.6, nt)) - 0.3 * nt
        lev = np.concatenate([[-1.0], -1.0 + np.cumsum(rng.uniform(0.1, 1.0, nt))])
        gl, gt, gm = map_tables([Map.staircase(Staircase(th, np.diff(lev), base=-1.0))])
    else:
        lev = np.linspace(-1.0, 1.0, nt + 1) + 0.01  # evenly spaced, none of spec §2.2's grids
        th = 0.5 * (lev[1:] + lev[:-1]) - 0.01
        gl, gt, gm = lookup_tables([(lev, th)])
    assert gm[0, 0] == next(k for k in K.CHAINS if k >= nt)
    u = np.concatenate([rng.uniform(th[0] - 1, th[-1] + 1, 3000), th, np.nextafter(th, -np.inf),
                        np.nextafter(th, np.inf), [-np.inf, np.inf, -1e300, 1e300]])
    out = apply((gl, gt, gm), u)
    np.testing.assert_array_equal(out, lev[np.searchsorted(th, u, side="right")])


def test_identity_and_nan():
    u = np.array([-3.0, 0.1, 7.0])
    np.testing.assert_array_equal(quantize(u, None, 1.0), u)
    with pytest.raises(ValueError):
        quantize([0.0, np.nan], 2, 1.0)
