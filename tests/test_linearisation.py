"""App. K: the Jacobian of the 2-D layer map (qmf_sym.linearisation) -- analytic against Richardson finite
differences of maps.layer_map, its triangular structure, eigenvalues against chi and against finite random
networks (qmf_sim.experiments.activations.network_rates).

Statistical tolerance of the network checks: |rate_net - rate_mf| <= 4 SE + 5 / width, where rate_mf is the
same least-squares estimator applied to the mean-field map from the same eps-perturbed starts (so the O(eps^2)
nonlinearity is not a bias), SE the standard error over seeds (t with seeds - 1 d.o.f.: 4 SE is exceeded with
probability ~0.5 % at 8 seeds per comparison) and 5 / width an allowance for the O(1/width) bias of the
empirical Q, C of a finite layer (measured bias at width 1000-8000: below 2 / width).  Seeds are fixed.
"""

import numpy as np
import pytest

from qmf_sym import linearisation as L
from qmf_sym import maps
from qmf_sym.activations import Staircase
from qmf_sym.init import sigma_w_opt

ODD_STAIR = Staircase([-0.5, 0.25, 1.0], [0.5, 1.5, 0.25], base=-0.75)  # neither odd nor centred


def _settings():
    out = []
    for N in (4, 16):
        a = Staircase.uniform(N)
        out += [(a, float(sigma_w_opt(a)), 0.0), (a, float(sigma_w_opt(a)), 0.05)]
    out += [(ODD_STAIR, 1.3, 0.2), (Staircase.uniform(64), 1.0005, 0.05)]
    return out


@pytest.mark.parametrize("k", range(6))
def test_analytic_jacobian_within_fd_error(k):
    act, sw, sb = _settings()[k]
    lin = L.linearise(act, sw, sb)
    fd = L.jacobian_fd(act, lin.Q, lin.C, sw, sb)
    # the FD error bound is an estimate (Richardson difference + rounding); allow 10x it
    assert np.all(np.abs(fd.J - lin.J) <= 10 * (fd.error + lin.error) + 1e-12), (lin.J, fd.J, fd.error)
    assert lin.J[0, 1] == 0.0  # Q' does not depend on C: J is lower triangular
    assert abs(fd.J[0, 1]) <= 10 * fd.error[0, 1] + 1e-12
    fp = maps.fixed_point(act, sw, sb)
    assert lin.lambda_C == pytest.approx(fp.chi, rel=1e-12)  # the C eigenvalue is eq. 6
    # eigen-decomposition of J: eigenvalues are the diagonal, v_Q an eigenvector
    assert sorted(np.linalg.eigvals(lin.J).real) == pytest.approx(sorted([lin.lambda_Q, lin.lambda_C]), rel=1e-12)
    v = np.array(lin.v_Q)
    assert np.allclose(lin.J @ v, lin.lambda_Q * v, atol=1e-14)


def test_sign_has_no_q_direction():
    lin = L.linearise(Staircase.sign(), 1.3, 0.4)
    assert lin.lambda_Q == 0.0 and lin.c_not_faster  # E sign^2 = 1: Q* reached in one layer
    assert lin.lambda_C == pytest.approx(maps.fixed_point(Staircase.sign(), 1.3, 0.4).chi, rel=1e-14)


@pytest.mark.parametrize("N", [2, 3, 4, 8, 16, 64])
def test_claim_holds_for_uniform_staircases_at_their_optimum(N):
    a = Staircase.uniform(N)
    sw = float(sigma_w_opt(a)) if N > 2 else 1.0
    for sb in (0.0, 0.05):
        lin = L.linearise(a, sw, sb)
        assert 0 <= lin.lambda_Q < lin.lambda_C < 1, (N, sb, lin)


def test_closed_forms_match_their_oracles_at_dps():
    import mpmath

    for act, pts in ((Staircase.uniform(5), ((2.0, 0.7),)), (ODD_STAIR, ((0.3, 0.0), (0.05, -0.4)))):
        for q, c in pts:
            v = L.variance_slope(act, q, 1.1, dps=30)
            with mpmath.workdps(40):
                o = L._vslope_oracle(act, q, 1.1)
                assert abs(v - o) <= mpmath.mpf(10) ** -27 * (abs(o) + 1)
            v = L.covariance_slope(act, q, c, dps=30)
            with mpmath.workdps(40):
                o = L._cslope_oracle(act, q, c)
                assert abs(v - o) <= mpmath.mpf(10) ** -27 * (abs(o) + 1)
            assert float(L.covariance_slope(act, q, c)) == pytest.approx(float(v), rel=1e-12, abs=1e-15)


def test_bad_input():
    a = Staircase.uniform(4)
    for kw in (dict(Q=0.0), dict(Q=float("nan")), dict(C=1.5), dict(sigma_w=-1.0), dict(sigma_b=-0.1)):
        args = dict(Q=0.5, C=0.1, sigma_w=1.0, sigma_b=0.0)
        args.update(kw)
        with pytest.raises(ValueError):
            L.jacobian(a, **args)
    with pytest.raises(ValueError, match="C must be in"):
        L.jacobian(a, 0.5, 1.0, 1.0)
    with pytest.raises(ValueError, match="act"):
        L.jacobian(np.tanh, 0.5, 0.1, 1.0)
    with pytest.raises(ValueError, match="Staircase"):
        L.variance_slope(np.tanh, 0.5, 1.0)


# ----------------------------------------------------------------------------- finite random networks
def _net_check(act, sw, sb, width, seeds, method="gram"):
    from qmf_sim.experiments.activations import network_rates

    lin = L.linearise(act, sw, sb)
    r = network_rates(act, sw, sb, width=width, depth=5, seeds=seeds, eps=0.1, method=method)
    tol_q = 4 * r["se_Q"] + 5 / width
    tol_c = 4 * r["se_C"] + 5 / width
    assert abs(r["lambda_Q"] - r["mf_Q"]) <= tol_q, r
    assert abs(r["lambda_C"] - r["mf_C"]) <= tol_c, r
    # the eps = 0.1 mean-field rates are the eigenvalues up to O(eps^2) (measured: < 0.004 here)
    assert abs(r["mf_Q"] - lin.lambda_Q) < 0.01 and abs(r["mf_C"] - lin.lambda_C) < 0.01, (r, lin)
    return r


def test_eigenvalues_in_random_networks_staircase():
    a = Staircase.uniform(16)
    _net_check(a, float(sigma_w_opt(a)), 0.05, width=2000, seeds=range(8))


@pytest.mark.slow
@pytest.mark.parametrize("N,sb", [(4, 0.0), (4, 0.05), (16, 0.05)])
def test_eigenvalues_in_random_networks_weights(N, sb):
    a = Staircase.uniform(N)
    _net_check(a, float(sigma_w_opt(a)), sb, width=2000, seeds=range(16), method="weights")


# ----------------------------------------------------------------------------- continuous activations
@pytest.mark.parametrize("name,sw,sb", [("tanh", 1.5, 0.05), ("erf", 1.2, 0.3), ("hardtanh", 1.5, 0.05),
                                        ("relu", 1.2, 0.3), ("tanh", 0.9, 0.3)])
def test_continuous_jacobian_quadrature_vs_fd(name, sw, sb):
    from qmf_sym.activations import by_name

    act = by_name(name)
    lin = L.linearise(act, sw, sb)
    fd = L.jacobian_fd(act, lin.Q, lin.C, sw, sb)
    assert np.all(np.abs(fd.J - lin.J) <= 10 * (fd.error + lin.error) + 1e-10), (lin.J, fd.J, fd.error, lin.error)
    assert lin.lambda_C == pytest.approx(float(maps.fixed_point(act, sw, sb).chi), rel=1e-9)


def test_relu_is_a_tie_and_softplus_a_counterexample():
    # ReLU: E phi^2 = Q/2, lambda_Q = sigma_w^2/2; a finite Q* forces chi_1 = sigma_w^2/2 < 1, so C* = 1 and
    # lambda_C = chi_1 = lambda_Q (the claim holds with equality)
    from qmf_sym.activations import ReLU, Smooth

    lin = L.linearise(ReLU(), 1.2, 0.3)
    assert lin.C == 1.0 and lin.Q == pytest.approx(0.09 / (1 - 0.72), rel=1e-10)
    assert lin.lambda_Q == pytest.approx(0.72, rel=1e-10) and lin.lambda_C == pytest.approx(0.72, rel=1e-10)
    assert lin.c_not_faster
    # softplus (monotone, phi phi'' > 0): lambda_Q = chi_1 + sigma_w^2 E phi phi'' > chi_1 = lambda_C
    sp = Smooth(lambda x: np.logaddexp(0, x), lambda x: 0.5 * (1 + np.tanh(x / 2)), name="softplus")
    lin = L.linearise(sp, 1.0, 0.3)
    assert lin.C == 1.0 and lin.lambda_Q > lin.lambda_C + 0.1 and not lin.c_not_faster


def test_eigenvalues_in_random_networks_tanh():
    from qmf_sym.activations import Tanh

    _net_check(Tanh(), 1.5, 0.05, width=2000, seeds=range(8))


def test_continuous_lambda_q_against_30_digit_quadrature():
    # lambda_Q = sigma_w^2 / Q E[u tanh(u) tanh'(u)] by mpmath at 30 digits; the piecewise Gauss-Legendre face
    # states its own error (difference of two orders) and must be within it and within 1e-13
    import mpmath

    from qmf_sym.activations import Tanh

    Q, sw = 1.3179389989721493, 1.549673912508167
    with mpmath.workdps(30):
        q = mpmath.mpf(Q)
        f = lambda u: u * mpmath.tanh(u) / mpmath.cosh(u) ** 2 * mpmath.npdf(u, 0, mpmath.sqrt(q))  # noqa: E731
        ref = float(mpmath.mpf(sw) ** 2 / q * mpmath.quad(f, [-mpmath.inf, 0, mpmath.inf]))
    jac = L.jacobian(Tanh(), Q, 1.0, sw, 0.5)
    assert abs(jac.J[0, 0] - ref) <= max(10 * jac.error[0, 0], 1e-13), (jac.J[0, 0], ref, jac.error[0, 0])
    assert abs(jac.J[0, 0] - ref) < 1e-13
