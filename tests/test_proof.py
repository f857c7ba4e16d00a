"""The ball face (qmf_sym.proof): enclosures against the float64 and mpmath faces, the
proven table against the dps=30 table, mutated formulas caught by the proof, bad input.

Tolerances.  A ball [m +/- r] contains the exact value, so another face with a stated accuracy
must lie within r + (its stated error): the mpmath faces are held to 10^-(dps-1) relative (they
compute with 10+ guard digits, so this cannot fail unless one face is wrong), the float64 faces to
the accuracy their modules state (a few ulp per term: 1e-12 relative for sums of <= 21 terms, plus
an absolute 1e-15 for the Owen's-T excess of the correlation map, documented as ~1e-16 per term).
"""
import math
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

flint = pytest.importorskip("flint", reason="python-flint (the ball face) is not installed")

from strategies import C_interior, Q, sigma_b, sigma_w, staircases  # noqa: E402

from qmf_sym import maps as M  # noqa: E402
from qmf_sym import proof as P  # noqa: E402
from qmf_sym import spacing as S  # noqa: E402
from qmf_sym.activations import Staircase  # noqa: E402
from qmf_sym.gaussian import bvn_excess, cdf, cell_probability, pdf  # noqa: E402
from qmf_sym.proof import _arb  # noqa: E402
from qmf_sym.proof import optimum as PO  # noqa: E402
from qmf_sym.proof import uniform as PU  # noqa: E402


def inside(ball, value, rtol=0.0, atol=0.0):
    """value (float or mpf) lies in the ball widened by rtol |value| + atol."""
    with mpmath.workdps(60):
        m, r = _arb.mid_rad(ball)
        v = mpmath.mpf(value)
        return abs(v - m) <= r + rtol * abs(v) + atol


def dec_mpf(d):
    with mpmath.workdps(60):
        return mpmath.mpf(str(d))


# ----------------------------------------------------------------------------- Gaussian blocks
@pytest.mark.parametrize("x", [0.0, 1e-300, 0.3, -1.7, 5.0, -12.0, 37.0, -38.5])
def test_pdf_cdf_balls_contain_other_faces(x):
    for ball, face in ((P.pdf_ball(x), pdf), (P.cdf_ball(x), cdf)):
        assert inside(ball, face(x, dps=30), rtol=1e-29)
        assert inside(ball, face(x), rtol=4e-15, atol=1e-320)


@pytest.mark.parametrize("a,b", [(-np.inf, -3.0), (-1.0, 1.0), (0.0, 0.5), (8.0, 9.0), (-0.3, np.inf), (-12.0, -11.0)])
def test_cell_probability_ball(a, b):
    ball = P.cell_probability_ball(a, b)
    assert inside(ball, cell_probability(a, b, dps=30), rtol=1e-29)
    assert inside(ball, cell_probability(a, b), rtol=1e-13, atol=1e-320)


@pytest.mark.parametrize("h,k,rho", [(0.0, 0.0, 0.5), (0.3, -1.2, 0.6), (1.0, 2.0, 0.95), (-2.0, -1.0, -0.8),
                                     (3.0, 3.0, 0.2)])
def test_bvn_excess_ball(h, k, rho):
    ball = P.bvn_excess_ball(h, k, rho)
    assert inside(ball, bvn_excess(h, k, rho, dps=30), rtol=1e-29, atol=1e-300)
    assert inside(ball, bvn_excess(h, k, rho), rtol=1e-9, atol=2e-16)  # float64 face: ~1e-16 absolute


def test_bvn_excess_arcsine_closed_form():
    """At h = k = 0 the excess is arcsin(rho) / (2 pi) (Sheppard): an exact, independent value."""
    ball = P.bvn_excess_ball(0, 0, 0.3)
    with mpmath.workdps(50):
        assert inside(ball, mpmath.asin(mpmath.mpf(0.3)) / (2 * mpmath.pi), rtol=1e-40)


# ----------------------------------------------------------------------------- maps (Hypothesis)
@given(act=staircases(max_steps=5), q=Q, sw=sigma_w, sb=sigma_b)
def test_variance_map_and_moments_balls(act, q, sw, sb):
    m, s2 = P.post_activation_moments_ball(act, q)
    m30, s30 = M.post_activation_moments(act, q, dps=30)
    m64, s64 = M.post_activation_moments(act, q)
    assert inside(m, m30, rtol=1e-29, atol=1e-29) and inside(s2, s30, rtol=1e-29)
    scale = float(np.max(np.abs(act.levels)))
    assert inside(m, m64, rtol=1e-12, atol=1e-14 * scale) and inside(s2, s64, rtol=1e-12)
    v = P.variance_map_ball(act, q, sw, sb)
    assert inside(v, M.variance_map(act, q, sw, sb, dps=30), rtol=1e-29)
    assert inside(v, M.variance_map(act, q, sw, sb), rtol=1e-12)


@given(act=staircases(max_steps=4), q=Q, c=C_interior, sw=sigma_w)
def test_chi_ball(act, q, c, sw):
    ball = P.chi_ball(act, q, c, sw)
    assert inside(ball, M.chi(act, q, c, sw, dps=30), rtol=1e-29)
    assert inside(ball, M.chi(act, q, c, sw), rtol=1e-11)  # 1/(1 - C^2) amplifies rounding by <= 20


@given(act=staircases(max_steps=3), q=Q, c=st.floats(-0.9, 0.9), sw=sigma_w, sb=sigma_b)
def test_correlation_map_ball(act, q, c, sw, sb):
    ball = P.correlation_map_ball(act, q, c, sw, sb)
    assert inside(ball, M.correlation_map(act, q, c, sw, sb, dps=30), rtol=1e-28, atol=1e-28)
    scale = sw * sw * float(np.sum(act.heights)) ** 2 / q
    assert inside(ball, M.correlation_map(act, q, c, sw, sb), rtol=1e-12, atol=1e-15 * scale)


@given(act=staircases(max_steps=6))
def test_chi_staircase_ball_eq16(act):
    g = [float(x) for x in act.offsets_exact]
    h = [float(x) for x in act.heights_exact]
    ball = P.chi_staircase_ball(g, h)
    assert inside(ball, S.chi_staircase(g, h, dps=30), rtol=1e-29)
    assert inside(ball, S.chi_staircase(np.array(g), np.array(h)), rtol=1e-12)


def test_eq16_ball_equals_eq17_ball_for_the_uniform_family():
    """Two independent ball routes: eq. 16 with the uniform offsets and the O(N) sums of eq. 17."""
    for N, D in [(3, 0.8), (8, 0.375), (13, 0.171875)]:  # D (i - N/2) exactly representable
        offs = [Fraction(D) * (Fraction(i) - Fraction(N, 2)) for i in range(1, N)]
        assert all(Fraction(float(o)) == o for o in offs)
        b16 = P.chi_staircase_ball([float(o) for o in offs], 1)
        b17 = P.chi_uniform_ball(D, N)
        assert b16.overlaps(b17)


# ----------------------------------------------------------------------------- eq. 17 faces
@pytest.mark.parametrize("N,D", [(2, 0.5), (3, 1.2), (4, 0.99), (9, 0.41), (64, 0.05), (301, 0.012), (1024, 0.0088)])
def test_chi_uniform_three_faces_overlap(N, D):
    ball = P.chi_uniform_ball(D, N)
    assert inside(ball, S.chi_uniform(D, N, dps=30), rtol=1e-29)
    assert inside(ball, S.chi_uniform(D, N), rtol=1e-15 * N + 1e-15)  # N/2 positive float64 terms


@given(N=st.integers(2, 400), logD=st.floats(-4, 1))
def test_chi_uniform_faces_inside_the_ball_random(N, logD):
    D = 10.0 ** logD
    ball = P.chi_uniform_ball(D, N)
    assert inside(ball, S.chi_uniform(D, N, dps=30), rtol=1e-29)
    assert inside(ball, S.chi_uniform(D, N), rtol=1e-15 * N + 1e-15)


@pytest.mark.parametrize("N,D", [(3, 1.0), (8, 0.5), (33, 0.2), (400, 0.02)])
def test_chi_uniform_derivatives_ball(N, D):
    c, d1, d2 = P.chi_uniform_derivatives_ball(D, N)
    r = S.chi_uniform_derivatives(D, N, dps=30)
    for ball, v in zip((c, d1, d2), r):
        assert inside(ball, v, rtol=1e-27, atol=1e-27)


@pytest.mark.parametrize("N", [301, 700, 1023, 1024])
def test_chunked_erfc_sum_matches_direct(N):
    with _arb.precision(190):
        D = _arb.arb(3.4 * math.sqrt(math.log(N)) / N)
        a = PU.erfc_sum(N, D)
        b = PU._erfc_sum_direct(*PU._lattice(N)[:2], D)
        assert a.overlaps(b) and a.rad() < 1e-45 * a.mid().abs_upper()


@pytest.mark.parametrize("N,D0", [(7, 0.65), (64, 0.05), (301, 0.012)])
def test_taylor_models_enclose_direct_evaluations_inside_their_window(N, D0):
    """Low degree and a wide window, so that the Lagrange remainder matters: the models must still
    enclose A, B, H and A', B' evaluated directly at points of the window."""
    f = flint
    with _arb.precision(160):
        D0a = _arb.arb(D0)
        rho = f.arb(2) ** -8
        A, B, H = PU.taylor_models(N, D0a, 2, rho)
        for frac in (-0.9, -0.3, 0.5, 1.0):
            e = _arb.arb(frac * D0 / 256)
            a, b, s2 = PU.uniform_sums(N, D0a + e, bits=160)
            assert A(e).overlaps(a) and B(e).overlaps(b) and H(e).overlaps(a / (D0a + e) - b)
            assert A.derivative(e).overlaps(-2 * (D0a + e) * s2) and B.derivative(e).overlaps(-4 * s2)
        assert H.r.rad() > 0  # the remainder is a genuine enclosure over the window


def test_ball_input_encloses_every_spacing_in_it():
    with _arb.precision(120):
        Db = flint.arb("0.3 +/- 1e-6")
    ball = P.chi_uniform_ball(Db, 7)
    for D in (0.3 - 1e-6, 0.3, 0.3 + 1e-6):
        assert inside(ball, S.chi_uniform(D, 7, dps=30), rtol=1e-29)


# ----------------------------------------------------------------------------- the proven table
SMALL = list(range(2, 14)) + [31, 32, 64, 65, 200, 301, 302]


@pytest.fixture(scope="module")
def proven_small():
    return P.proven_table(SMALL, dps=30)


def test_proven_rows_are_proven(proven_small):
    for r in proven_small:
        assert r.proof == "proven", (r.N, r.proof)
        assert r.chi_max_lo <= r.chi_max_hi and r.xi_lo <= r.xi_hi
        if r.N > 2:
            assert r.D_opt_lo <= r.D_opt_hi
            # the bracket is narrow: dps digits at most one unit apart in the last place
            assert (r.D_opt_hi - r.D_opt_lo) <= Decimal(10) ** (-29) * r.D_opt_hi
        kinds = " ".join(r.lemmas)
        if r.N > 2:
            assert ("lemma E" in kinds) == (r.N % 2 == 0) and ("lemma O" in kinds) == (r.N % 2 == 1)


def test_every_dps30_table_value_lies_in_its_proven_ball(proven_small):
    rows = {r.N: r for r in S.table(SMALL, dps=30, check=False)}
    with mpmath.workdps(60):
        for p in proven_small:
            t = rows[p.N]
            assert dec_mpf(p.chi_max_lo) <= t.chi_max <= dec_mpf(p.chi_max_hi)
            assert dec_mpf(p.xi_lo) <= t.xi <= dec_mpf(p.xi_hi)
            if p.N == 2:
                assert p.D_opt_lo is None and p.D_opt_hi is None
                assert dec_mpf(p.chi_max_lo) <= 2 / mpmath.pi <= dec_mpf(p.chi_max_hi)
            else:
                assert dec_mpf(p.D_opt_lo) <= t.D_opt <= dec_mpf(p.D_opt_hi)


def test_float64_table_lies_within_its_stated_accuracy_of_the_proven_ball(proven_small):
    """The third face: the float64 table is documented as good to ~1e-16 N^2 (D_opt, Newton on a
    function with ~2 log10 N digits of cancellation) and a few ulp (chi_max, stationary); we allow
    10x that."""
    rows = {r.N: r for r in S.table(SMALL, dps=None, check=False)}
    with mpmath.workdps(60):
        for p in proven_small:
            t = rows[p.N]
            assert inside(p.chi_max_ball, t.chi_max, rtol=1e-14)
            if p.N > 2:
                assert inside(p.D_opt_ball, t.D_opt, rtol=1e-15 * p.N ** 2)


def test_proven_ball_against_an_independent_brute_force_optimum():
    """N = 5 by the printed O(N^2) double sums of eq. 17 (mpmath, 40 digits) and findroot on the
    numerical derivative: independent of both the O(N) sums and the Newton of qmf_sym.spacing."""
    N = 5
    K = [mpmath.mpf(2 * k - N) / 2 for k in range(1, N)]
    with mpmath.workdps(40):
        def chi(D):
            num = mpmath.fsum(mpmath.exp(-(i * i + j * j) * D * D / 2) for i in K for j in K) / (2 * mpmath.pi)
            den = mpmath.fsum(mpmath.ncdf(-max(i, j) * D) * mpmath.ncdf(min(i, j) * D) for i in K for j in K)
            return num / den
        D = mpmath.findroot(lambda x: mpmath.diff(chi, x), mpmath.mpf("0.84"))
        row = P.prove_optimum(N, dps=25)
        assert dec_mpf(row.D_opt_lo) - mpmath.mpf(10) ** -30 <= D <= dec_mpf(row.D_opt_hi) + mpmath.mpf(10) ** -30
        assert dec_mpf(row.chi_max_lo) <= chi(D) <= dec_mpf(row.chi_max_hi)


@pytest.mark.slow
def test_every_dps30_table_value_lies_in_its_proven_ball_full_range():
    levels = range(2, 1025)
    proven = P.proven_table(levels, dps=30)
    assert all(r.proven for r in proven), [(r.N, r.proof) for r in proven if not r.proven]
    rows = {r.N: r for r in S.table(levels, dps=30, check=False)}
    with mpmath.workdps(60):
        for p in proven:
            t = rows[p.N]
            assert dec_mpf(p.chi_max_lo) <= t.chi_max <= dec_mpf(p.chi_max_hi)
            if p.N > 2:
                assert dec_mpf(p.D_opt_lo) <= t.D_opt <= dec_mpf(p.D_opt_hi)


# ----------------------------------------------------------------------------- mutations are caught
def test_mutated_erfc_sum_is_caught(monkeypatch):
    """Drop the last term of the erfc sum (B of eq. 17): the zero of dchi/dD moves away from the
    independent float64 optimum and the row is not proven, saying why."""
    real = PU.erfc_sum

    def mutated(N, D):
        t0, M, _ = PU._lattice(N)
        last = (t0 + (M - 1)) * ((t0 + (M - 1)) * D / flint.arb(2).sqrt()).erfc() / 2
        return real(N, D) - last

    monkeypatch.setattr(PU, "erfc_sum", mutated)
    for N in (8, 9, 40):
        row = P.prove_optimum(N, dps=30)
        assert not row.proven and row.proof.startswith("not proven: faces disagree"), row.proof
        assert row.D_opt_lo is None and row.chi_max_lo is None


def test_tiny_mutation_of_the_density_is_caught(monkeypatch):
    """A relative error of 1e-9 in the moments (A of eq. 17) is also caught by the faces check."""
    real = PU.moments
    monkeypatch.setattr(PU, "moments", lambda N, D, n: [m * (1 + flint.arb(10) ** -9) for m in real(N, D, n)])
    row = P.prove_optimum(12, dps=30)
    assert not row.proven and "faces disagree" in row.proof


def test_lemma_O_refuses_a_bracket_beyond_its_reach():
    with _arb.precision(64):
        ok, why = PO._odd_global(9, flint.arb(3))
    assert not ok and "D_T" in why


def test_unresolvable_sign_change_is_reported(monkeypatch):
    """If H is not resolved at the bracket ends (here: a Taylor model made useless by a huge
    remainder), the row says so instead of claiming a proof."""
    real = PU.taylor_models

    def blurred(N, D0, K, rho):
        A, B, H = real(N, D0, K, rho)
        H.c[0] = H.c[0] + flint.arb(0, 1.0)  # H known only to +/- 1
        return A, B, H

    monkeypatch.setattr(PO, "taylor_models", blurred)
    row = P.prove_optimum(6, dps=30)
    assert not row.proven and "sign change" in row.proof


# ----------------------------------------------------------------------------- helpers, input
@given(man=st.integers(-10**40, 10**40).filter(bool), exp=st.integers(-200, 200), digits=st.integers(1, 40))
def test_outward_decimal_rounding(man, exp, digits):
    x = Fraction(man) * Fraction(2) ** exp
    lo = _arb._decimal_round(man, exp, digits, up=False)
    hi = _arb._decimal_round(man, exp, digits, up=True)
    assert Fraction(lo) <= x <= Fraction(hi)
    for d in (lo, hi):
        assert len(d.as_tuple().digits) <= digits
    assert (Fraction(hi) - Fraction(lo)) <= abs(x) * Fraction(10) ** (1 - digits) * 2


def test_N2_row():
    r = P.prove_optimum(2, dps=20)
    assert r.proven and r.D_opt_lo is None
    with mpmath.workdps(60):
        assert dec_mpf(r.chi_max_lo) <= 2 / mpmath.pi <= dec_mpf(r.chi_max_hi)
        assert dec_mpf(r.xi_lo) <= -1 / mpmath.log(2 / mpmath.pi) <= dec_mpf(r.xi_hi)


@pytest.mark.parametrize("call,name", [
    (lambda: P.proven_table("2-5"), "levels"),
    (lambda: P.proven_table([1, 3]), "levels"),
    (lambda: P.proven_table([]), "levels"),
    (lambda: P.proven_table([2, 3], dps=None), "dps"),
    (lambda: P.proven_table([2, 3], dps=True), "dps"),
    (lambda: P.prove_optimum(True), "N"),
    (lambda: P.prove_optimum(1), "N"),
    (lambda: P.prove_optimum(5, dps=0), "dps"),
    (lambda: P.prove_optimum(5, D0=float("nan")), "D0"),
    (lambda: P.chi_uniform_ball(-1.0, 5), "D"),
    (lambda: P.chi_uniform_ball(float("nan"), 5), "D"),
    (lambda: P.chi_uniform_ball(0.5, 5, dps=None), "dps"),
    (lambda: P.pdf_ball(float("nan")), "x"),
    (lambda: P.cdf_ball(True), "x"),
    (lambda: P.cell_probability_ball(1.0, 0.5), "a <= b"),
    (lambda: P.bvn_excess_ball(0.0, 0.0, 1.0), "rho"),
    (lambda: P.variance_map_ball(Staircase.uniform(4), 0.0, 1.0), "Q"),
    (lambda: P.variance_map_ball(Staircase.uniform(4), 1.0, -1.0), "sigma_w"),
    (lambda: P.correlation_map_ball(Staircase.uniform(4), 1.0, 1.0), "C"),
    (lambda: P.chi_ball("not a staircase", 1.0, 0.0), "act"),
    (lambda: P.chi_staircase_ball([0.5, 0.1]), "offsets"),
    (lambda: P.chi_staircase_ball([0.1, 0.5], [1.0, -1.0]), "heights"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_missing_python_flint_gives_one_clear_message(monkeypatch):
    import sys

    monkeypatch.setattr(_arb, "_FLINT", None)
    monkeypatch.setitem(sys.modules, "flint", None)
    with pytest.raises(ImportError, match="pip install"):
        P.chi_uniform_ball(0.5, 4)


# ----------------------------------------------------------------------------- qmf table --prove
@pytest.mark.parametrize("ext", [".csv", ".json"])
def test_cli_table_prove(tmp_path, ext, capsys):
    from qmf_sim.cli import main
    from qmf_sim.experiments import spacing as E

    out = tmp_path / f"t{ext}"
    assert main(["table", "--levels", "2-6,31", "--dps", "20", "--prove", "--no-progress", "--out", str(out)]) == 0
    assert "6 of 6 rows proven" in capsys.readouterr().err
    recs = E.read_table(out)
    assert [r["N"] for r in recs] == [2, 3, 4, 5, 6, 31]
    for r in recs:
        assert r["proof"] == "proven"
        assert r["chi_max_lo"] <= r["chi_max"] <= r["chi_max_hi"] and r["xi_lo"] <= r["xi"] <= r["xi_hi"]
        if r["N"] == 2:
            assert math.isnan(r["D_opt_lo"]) and math.isnan(r["D_opt"])
        else:
            assert r["D_opt_lo"] <= r["D_opt"] <= r["D_opt_hi"]


def test_cli_table_prove_without_python_flint(tmp_path, capsys, monkeypatch):
    from qmf_sim.cli import main

    monkeypatch.setattr(P, "available", lambda: False)
    assert main(["table", "--levels", "3", "--prove", "--no-progress", "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--prove" in err[0] and "pip install" in err[0]
