"""Eq. 16/17 of paper 1 and the optimum D~_opt(N), chi_max(N) (qmf_sym.spacing).

Faces compared: the O(N) float64 form, the O(N) mpmath form, the paper's O(N^2) double sums
(eq. 16/17 as printed), mpmath quadrature of the defining Gaussian integrals via Stein's lemma
(chi = E[z phi]^2 / Var phi), the lead's qmf_sym.maps (eq. 15 at Q*, C* = 0), and a second run of
the optimiser at higher working precision.
"""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qmf_sym import spacing as S
from qmf_sym.activations import Staircase


@pytest.fixture(autouse=True)
def _mp_precision():
    """Comparisons of mpf results happen at the ambient mpmath precision: make it 60 digits."""
    with mpmath.workdps(60):
        yield


def naive_eq17(D, N, dps=None):
    """Eq. 17 exactly as printed: two double sums over K = {k - N/2 : k = 1..N-1}."""
    K = [k - N / 2 for k in range(1, N)]
    if dps is None:
        num = sum(math.exp(-0.5 * (i * i + j * j) * D * D) / (2 * math.pi) for i in K for j in K)
        Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
        den = sum(Phi(-max(i, j) * D) * Phi(min(i, j) * D) for i in K for j in K)
        return num / den
    with mpmath.workdps(dps):
        D = mpmath.mpf(D)
        Km = [mpmath.mpf(2 * k - N) / 2 for k in range(1, N)]
        num = mpmath.fsum(mpmath.exp(-(i * i + j * j) * D * D / 2) / (2 * mpmath.pi) for i in Km for j in Km)
        den = mpmath.fsum(mpmath.ncdf(-max(i, j) * D) * mpmath.ncdf(min(i, j) * D) for i in Km for j in Km)
        return num / den


def quad_chi(D, N, dps):
    """chi = (E[z phi(z)])^2 / Var phi(z), z ~ N(0, 1), by mpmath quadrature over each cell of the
    staircase with thresholds D t, t in K (Stein's lemma; independent of the density sums)."""
    with mpmath.workdps(dps):
        D = mpmath.mpf(D)
        th = [D * (mpmath.mpf(2 * k - N) / 2) for k in range(1, N)]
        edges = [-mpmath.inf] + th + [mpmath.inf]
        ez = e1 = e2 = mpmath.mpf(0)
        for lvl, (a, b) in enumerate(zip(edges[:-1], edges[1:])):
            ez += lvl * mpmath.quad(lambda z: z * mpmath.npdf(z), [a, b])
            P = mpmath.quad(mpmath.npdf, [a, b])
            e1 += lvl * P
            e2 += lvl * lvl * P
        return ez ** 2 / (e2 - e1 ** 2)


# ------------------------------------------------------------------------- eq. 17, three faces
@pytest.mark.parametrize("N,D", [(2, 0.7), (3, 1.2), (4, 0.99), (7, 0.5), (16, 0.3), (33, 0.2)])
def test_eq17_float_mp_quadrature(N, D):
    f = S.chi_uniform(D, N)
    m = S.chi_uniform(D, N, dps=40)
    q = quad_chi(D, N, 45)
    # mpmath quadrature of smooth integrands on finite/half-infinite cells at 45 digits is good to
    # ~40 digits; dps=40 carries 10+ guard digits: demand 35 digits.
    assert abs(m - q) < mpmath.mpf(10) ** -35 * q
    # float64: O(N) sums of positive terms, relative error <= ~N eps; 1e-13 is generous.
    assert abs(f - float(m)) < 1e-13 * float(m)
    # the paper's O(N^2) double sum (float64 and 40 digits)
    assert abs(naive_eq17(D, N) - f) < 1e-13 * f
    with mpmath.workdps(50):
        assert abs(naive_eq17(D, N, dps=50) - m) < mpmath.mpf(10) ** -38


def test_eq17_is_eq16_for_uniform_offsets():
    for N in (3, 4, 9, 20):
        D = 0.37
        g = D * (np.arange(1, N) - N / 2)
        assert abs(S.chi_staircase(g) - S.chi_uniform(D, N)) < 1e-13
        gm = [mpmath.mpf(0.37) * (mpmath.mpf(2 * k - N) / 2) for k in range(1, N)]
        with mpmath.workdps(45):
            assert abs(S.chi_staircase(gm, dps=35) - S.chi_uniform(0.37, N, dps=35)) < mpmath.mpf(10) ** -33


def test_eq17_vectorised_and_limits():
    D = np.array([1e-9, 0.1, 0.5, 1.0, 30.0])
    out = S.chi_uniform(D, 12)
    assert out.shape == D.shape
    assert np.allclose(out, [S.chi_uniform(x, 12) for x in D], rtol=1e-15, atol=0)
    assert abs(out[0] - 2 / math.pi) < 1e-8  # D -> 0: the sign activation
    # D -> inf: even N keeps its step at 0 (a sign activation again), odd N loses all steps
    assert abs(out[-1] - 2 / math.pi) < 1e-12
    assert S.chi_uniform(30.0, 13) < 1e-40  # ~ p(15)^2 / Phi(-15)


@given(N=st.integers(2, 400), D=st.floats(1e-3, 4.0))
def test_eq17_float64_vs_mp_hypothesis(N, D):
    # Tolerance: the float64 form sums <= N/2 positive terms (two sums), each with relative error
    # ~ 2 eps (exp/erfc), so the relative error is <= ~ (N + 10) eps < 1e-13 for N <= 400.
    f = S.chi_uniform(D, N)
    m = S.chi_uniform(D, N, dps=20)
    assert abs(f - float(m)) <= 1e-13 * float(m)


@settings(max_examples=15)
@given(N=st.integers(2, 60), D=st.floats(0.01, 3.0))
def test_derivatives_match_finite_differences(N, D):
    c, d1, d2 = S.chi_uniform_derivatives(D, N, dps=30)
    # central differences at 60 digits: truncation O(h^2) (1e-24 for h = 1e-12; 1e-16 for h = 1e-8)
    # and rounding 1e-60/h (1e-48) resp. 1e-60/h^2 (1e-44)
    f = lambda x: S.chi_uniform(x, N, dps=60)  # noqa: E731
    x = mpmath.mpf(D)
    h1, h2 = mpmath.mpf(10) ** -12, mpmath.mpf(10) ** -8
    fd1 = (f(x + h1) - f(x - h1)) / (2 * h1)
    fd2 = (f(x + h2) - 2 * f(x) + f(x - h2)) / (h2 * h2)
    assert abs(d1 - fd1) < mpmath.mpf(10) ** -20 * (1 + abs(fd1))
    assert abs(d2 - fd2) < mpmath.mpf(10) ** -13 * (1 + abs(fd2))


# ------------------------------------------------------------------------- eq. 16 / centring
@given(data=st.data(), m=st.integers(1, 8))
def test_eq16_against_maps_for_centred_staircases(data, m):
    """Eq. 16 at normalized offsets equals the lead's eq. 15 chi at Q* with sigma_w chosen so that
    Q* is the fixed point, for a staircase centred by centring_base (then C* = 0 is a fixed point)."""
    from qmf_sym import maps

    gaps = data.draw(st.lists(st.floats(0.05, 1.5), min_size=m, max_size=m))
    start = data.draw(st.floats(-2.0, 1.0))
    g = start + np.cumsum(gaps) - gaps[0]
    h = np.array(data.draw(st.lists(st.floats(0.1, 3.0), min_size=m, max_size=m)))
    Q = data.draw(st.floats(0.2, 4.0))
    sq = math.sqrt(Q)
    A = float(S.centring_base(g, h))
    act = Staircase(list(g * sq), list(h), base=A)
    mean, second = maps.post_activation_moments(act, Q)
    assert abs(mean) < 1e-12 * (1 + abs(A))
    sw = math.sqrt(Q / second)
    # C = 0 is a fixed point of eq. 5 at sigma_b = 0
    assert abs(maps.correlation_map(act, Q, C=0.0, sigma_w=sw)) < 1e-10
    assert abs(maps.chi(act, Q, C=0.0, sigma_w=sw) - S.chi_staircase(g, h)) < 1e-11


def test_uncentred_staircase_has_nonzero_fixed_point():
    """Documented caveat: without centring, C* = 0 is not a fixed point at sigma_b = 0."""
    from qmf_sym import maps

    act = Staircase([0.0, 1.0], [1.0, 1.0], base=0.0)  # levels 0, 1, 2: E phi > 0
    assert abs(maps.correlation_map(act, 1.0, C=0.0, sigma_w=1.0)) > 0.1


def test_eq16_mp_and_float_agree():
    g = [-1.3, -0.2, 0.4, 2.0]
    h = [0.5, 1.0, 2.0, 0.3]
    assert abs(S.chi_staircase(g, h) - float(S.chi_staircase(g, h, dps=30))) < 1e-14


# ------------------------------------------------------------------------- the optimum
@pytest.mark.parametrize("N", [3, 4, 5, 16, 64, 256])
def test_optimal_spacing_certified(N):
    r30 = S.optimal_spacing(N, dps=30)
    r45 = S.optimal_spacing(N, dps=45, check=False)
    with mpmath.workdps(60):
        assert abs(r30.D_opt / r45.D_opt - 1) < mpmath.mpf(10) ** -25
        assert abs(r30.chi_max / r45.chi_max - 1) < mpmath.mpf(10) ** -25
    assert r30.curvature < 0
    assert r30.residual < mpmath.mpf(10) ** -28  # |dchi/dD| (O(1) scale) at the optimum
    assert r30.agree_digits >= 25 and r30.check_dps == 45
    # float64 optimum agrees with the certified one (D_opt to ~1e-16 N^2 relative, see docs)
    f = S.optimal_spacing(N, check=False)
    assert abs(f.D_opt / float(r30.D_opt) - 1) < 1e-15 * N * N + 1e-13
    assert abs(f.chi_max - float(r30.chi_max)) < 1e-15
    # a local maximum: chi is smaller on both sides
    for s in (0.99, 1.01):
        assert S.chi_uniform(float(r30.D_opt) * s, N) < float(r30.chi_max)


def test_N2_is_sign():
    r = S.optimal_spacing(2, dps=30)
    with mpmath.workdps(40):
        assert abs(r.chi_max - 2 / mpmath.pi) < mpmath.mpf(10) ** -35
    assert mpmath.isnan(r.D_opt)
    assert math.isnan(S.optimal_spacing(2).D_opt)


def test_known_values():
    # anchors from this implementation at dps=30 (also equal to Max's 1960 optimal uniform steps
    # 0.9957, 0.5860, 0.3352 for N = 4, 8, 16: loose sanity only)
    for N, D in [(4, 0.9957), (8, 0.5860), (16, 0.3352)]:
        assert abs(S.optimal_spacing(N).D_opt - D) < 1e-4


# ------------------------------------------------------------------------- tables and fits
def test_table_float64_blocks_match_single():
    rows = S.table(list(range(2, 41)) + [64], check=False, block=7)
    assert [r.N for r in rows] == list(range(2, 41)) + [64]
    for r in rows[1:]:
        s = S.optimal_spacing(r.N, check=False)
        assert abs(r.D_opt / s.D_opt - 1) < 1e-12 and abs(r.chi_max - s.chi_max) < 1e-15
        assert r.curvature < 0


def test_table_mp_rows():
    rows = S.table([2, 3, 10], dps=30)
    assert rows[0].N == 2 and rows[2].agree_digits >= 25


def test_fit_recovers_paper_numbers():
    rows = S.table(range(3, 101), check=False)
    fit = S.fit_power_laws(rows, 3, 100)
    a, b = fit["one_minus_chi"]["a"], fit["one_minus_chi"]["b"]
    # the paper: a = 0.71, b = -1.82 (2 printed digits)
    assert abs(a - 0.71) < 0.02 and abs(b + 1.82) < 0.01
    assert fit["one_minus_chi"]["se_b"] < 0.01
    assert -0.95 < fit["D_opt"]["b"] < -0.8
    x, slope = S.local_slopes(S.table([20, 22, 1000, 1002, 10000, 10002], check=False))
    # local slopes of log(1 - chi_max) vs log(N + 1) steepen toward -2 (N^-2 ln N law)
    assert slope[0] > slope[2] > slope[4] > -2


def test_levels_spec_via_cli_vocabulary():
    """The '2-16,32,64' level syntax left qmf_sym (spacing.parse_levels is gone): the CLI vocabulary
    parses it, spacing.table's level check sorts and de-duplicates (the former parse_levels cases)."""
    import argparse

    from qmf_sim.cli import _vocab as A

    assert S.optimum._levels(A.int_list(2)("2-5,8,4")) == [2, 3, 4, 5, 8]
    for bad in ("1-4", "a-3", "5-2", "", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            A.int_list(2)(bad)


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,name", [
    (lambda: S.chi_uniform(0.5, 1), "N"),
    (lambda: S.chi_uniform(0.5, 2.5), "N"),
    (lambda: S.chi_uniform(0.0, 5), "D"),
    (lambda: S.chi_uniform(-1.0, 5, dps=20), "D"),
    (lambda: S.chi_uniform(0.5, 5, dps=0), "dps"),
    (lambda: S.optimal_spacing(1), "N"),
    (lambda: S.optimal_spacing(5, dps=0), "dps"),
    (lambda: S.table([1, 2]), "levels"),
    (lambda: S.chi_staircase([0.5, 0.1]), "offsets"),
    (lambda: S.chi_staircase([0.1, 0.5], [1.0, -1.0]), "heights"),
    (lambda: S.chi_staircase([0.1, 0.5], dps=-3), "dps"),
    # bools are not integers, NaN is not a number, tolerances are validated
    (lambda: S.chi_uniform(0.5, True), "N"),
    (lambda: S.chi_uniform(0.5, 5, dps=True), "dps"),
    (lambda: S.chi_uniform(float("nan"), 5), "D"),
    (lambda: S.optimal_spacing(True), "N"),
    (lambda: S.optimal_spacing(5, check="yes"), "check"),
    (lambda: S.table([2, True]), "levels"),
    (lambda: S.table([3], block=0), "block"),
    (lambda: S.table([3], on_row=3), "on_row"),
    # qmf_sym parses no CLI strings: a range spec is the CLI vocabulary's job
    (lambda: S.table("2-5"), "levels"),
    (lambda: S.chi_staircase([0.1, float("nan")]), "offsets"),
    (lambda: S.centring_base([0.1, float("nan")]), "offsets"),
    (lambda: S.optimum._opt_f64_block([5], tol=0.0), "tol"),
    (lambda: S.optimum._opt_f64_block([5], tol=float("nan")), "tol"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ------------------------------------------------------------------------- registered faces
@pytest.mark.parametrize("form", [S.chi_uniform, S.chi_staircase, S.centring_base], ids=lambda f: f.__name__)
def test_registered_faces_agree(form):
    """Every case of a registered closed form: the float64 face within its declared rtol of the mp
    face at 40 digits, and the mp face within 1e-30 of the independent oracle (the O(N^2) double
    sums as printed, where one exists; the two mp routes differ only by rounding at 40 digits)."""
    from qmf_sym._faces import registry

    assert registry(import_all=False)[f"qmf_sym.spacing.{form.__name__}"] is form
    for args, kw in form.cases():
        f = np.asarray(form.f64(*args, **kw), dtype=float)
        with mpmath.workdps(40):
            m = form.mp(*args, **kw)
            assert abs(float(f) - float(m)) <= form.rtol * abs(float(m)) + form.atol
            if form.oracle is not None:
                o = form.oracle(*args, **kw)
                assert abs(m - o) <= mpmath.mpf(10) ** -30 * abs(o)
