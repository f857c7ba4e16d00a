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


def test_phase_diagram_takes_and_stores_finished_rows(monkeypatch):
    """``rows``: each computed sigma_b row is stored as it finishes; a row found there is taken as it is
    (no fixed point solved again for it), so a diagram from stored rows equals the computed one."""
    sw, sb = np.geomspace(0.4, 3.0, 4), [0.0, 0.5, 1.0]
    rows = {}
    pd = P.phase_diagram(5, sw, sb, rows=rows)
    assert sorted(rows) == sb and all(isinstance(r, P.PhaseRow) and r.sigma_b == b for b, r in rows.items())
    assert np.array_equal(rows[0.5].chi, pd.chi[1]) and list(rows[0.0].status) == list(pd.status[0])
    calls = []
    real = maps.fixed_point
    monkeypatch.setattr(maps, "fixed_point", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    part = {b: rows[b] for b in (0.0, 1.0)}
    again = P.phase_diagram(5, sw, sb, rows=part)
    cells = {(float(w), float(b)) for w in sw for b in sb}
    assert {(float(a[1]), float(a[2])) for a in calls} & cells == {(float(w), 0.5) for w in sw}  # the missing row's
    assert sorted(part) == sb
    for f in ("Q", "C", "chi", "xi"):
        assert np.array_equal(getattr(again, f), getattr(pd, f), equal_nan=True)
    assert again.status.tolist() == pd.status.tolist() and again.optimum == pd.optimum


@pytest.mark.parametrize("bad", [[], 0.5, "x", True])
def test_phase_diagram_bad_rows(bad):
    with pytest.raises(ValueError, match="^rows must be None or a mutable mapping"):
        P.phase_diagram(4, [1.0], [0.0], rows=bad)
    good = {}
    P.phase_diagram(4, [1.0, 2.0], [0.0], rows=good)
    row = good[0.0]
    with pytest.raises(ValueError, match=r"^rows\[0.0\] must be the PhaseRow of sigma_b = 0.0 with 3 cells"):
        P.phase_diagram(4, [1.0, 2.0, 3.0], [0.0], rows={0.0: row})  # a row of another sigma_w grid
    with pytest.raises(ValueError, match=r"^rows\[0.0\]"):
        P.phase_diagram(4, [1.0], [0.0], rows={0.0: "x"})


@pytest.mark.parametrize("name", ["erf", "tanh"])
def test_continuous_phase_diagram_has_the_edge_of_chaos(name):
    """A continuous activation's diagram holds its order-to-chaos line (qmf_sym.maps.edge_of_chaos at each
    sigma_b), and the cells agree with it: left of the line chi = chi_1 < 1 with C* = 1 (ordered), right of
    it C* < 1 (chaotic); chi < 1 off the line.  The line the staircase diagram cannot have."""
    from qmf_sym import maps
    from qmf_sym.activations import by_name

    act = by_name(name)
    sw, sb = np.geomspace(0.5, 3.0, 7), np.array([0.1, 0.5])
    pd = P.phase_diagram(act, sw, sb)
    assert pd.optimum is None and pd.activation == name and len(pd.boundary) == 2
    for i, (b, e) in enumerate(zip(sb, pd.boundary)):
        assert float(e.sigma_w) == pytest.approx(float(maps.edge_of_chaos(act, b).sigma_w), rel=1e-12)
        left, right = sw < float(e.sigma_w), sw > float(e.sigma_w)
        assert left.any() and right.any()
        assert np.all(pd.C[i, left] == 1.0) and np.all(pd.C[i, right] < 1.0)
        assert np.all(pd.chi[i] < 1.0) and np.all(np.isfinite(pd.xi[i]))
        chi1 = [float(maps.fixed_point(act, float(w), float(b)).chi_1) for w in sw]
        assert np.all((np.array(chi1) < 1) == left)


def test_relu_phase_diagram_says_why_cells_are_empty():
    """ReLU at sigma_b > 0 has no point of the line (Q* infinite at chi_1 = 1): None in the boundary, and the
    cells beyond sigma_w = sqrt 2 carry the solver's reason; a grid with no solvable cell is refused."""
    from qmf_sym.activations import ReLU

    pd = P.phase_diagram(ReLU(), [0.8, 1.2, 2.0], [0.0, 0.3])
    assert pd.boundary[1] is None and float(pd.boundary[0].sigma_w) == pytest.approx(math.sqrt(2))
    assert pd.status[1, 0] == "ok" and "no finite fixed point" in pd.status[1, 2]
    with pytest.raises(ValueError, match="no cell"):
        P.phase_diagram(ReLU(), [2.0, 3.0], [0.1])


def test_reproduce_phase_puts_erf_beside_the_staircase(tmp_path):
    """``qmf reproduce --only phase``: the staircase diagram (no boundary) and erf's with its edge of chaos,
    whose CSV line agrees with maps.edge_of_chaos; each figure has a caption in the report."""
    import csv

    from qmf_sim.experiments import appendices as AP
    from qmf_sym import maps
    from qmf_sym.activations import Erf

    names = {p.name for p in AP.reproduce_phase(tmp_path, quick=True)}
    assert {"phase_N4.csv", "phase_erf.csv", "phase_erf_edge_of_chaos.csv", "phase_erf.png", "phase_erf.pdf"} <= names
    edge = list(csv.DictReader(open(tmp_path / "phase_erf_edge_of_chaos.csv")))
    assert len(edge) == 7 and all(r["status"] == "ok" for r in edge)
    b = float(edge[3]["sigma_b"])
    assert float(edge[3]["sigma_w"]) == pytest.approx(float(maps.edge_of_chaos(Erf(), b).sigma_w), rel=1e-12)
    assert all(s in AP.CAPTIONS for s in AP.FIGURE_STEMS["phase"])
