"""CNN mean field (qmf_sym.cnn; paper 1, sec. 4.2 after Xiao et al. 2018) against its own linearisation,
the fully connected maps it calls, and finite random circular CNNs (qmf_sim.architectures)."""
import numpy as np
import pytest

from qmf_sym import cnn, maps
from qmf_sym.activations import Staircase
from qmf_sym.init import init_for

ACT = Staircase.uniform(4)
SW = float(init_for(4).sigma_w)


@pytest.mark.parametrize("spatial,band", [(16, 1), (9, 2), ((8, 6), (1, 0)), ((6, 6), (2, 1))])
def test_mode_is_an_eigenvector_of_the_averaging_operator(spatial, band):
    """A P^(s,d) = lambda_s P^(s,d) for every frequency s (where P does not vanish), |lambda| <= 1, lambda_0 = 1."""
    sp = (spatial,) if isinstance(spatial, int) else spatial
    v = cnn.filter_variance(3, len(sp))
    lam = cnn.averaging_eigenvalues(v, sp)
    assert lam[(0,) * len(sp)] == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.abs(lam) <= 1 + 1e-15)
    checked = 0
    for s in cnn.frequencies(sp):
        try:
            P = cnn.mode_perturbation(sp, s, band)
        except ValueError:
            continue
        assert np.allclose(cnn.average(v, P), lam[s] * P, atol=1e-13)
        checked += 1
    assert checked >= len(cnn.frequencies(sp)) // 2


def test_delta_orthogonal_profile_has_every_lambda_one():
    lam = cnn.averaging_eigenvalues(cnn.filter_variance(5, 2, "delta_orthogonal"), (7, 9))
    assert np.allclose(lam, 1.0, atol=0)


@pytest.mark.parametrize("sb", [0.0, 0.3])
def test_linearised_map_gives_chi_c_lambda(sb):
    """(R'(R* + e P) - R*) / e -> chi_c lambda_s: the map (which calls maps.correlation_map entry by entry)
    and the slopes agree to O(e) (e = 1e-5: central difference, error ~ e^2 M''' ~ 1e-9)."""
    v = cnn.filter_variance(3, 1)
    ms = cnn.mode_slopes(ACT, SW, sb, v, 12)
    fp = ms.fixed_point
    R0 = cnn.fixed_point_correlation(12, fp.C)
    assert np.allclose(cnn.correlation_map(ACT, fp.Q, R0, SW, sb, v), R0, atol=1e-12)  # the fixed point
    e = 1e-5
    for k, s in enumerate(ms.modes):
        try:
            P = cnn.mode_perturbation(12, s, 1)
        except ValueError:
            P = cnn.mode_perturbation(12, s, 2)
        up = cnn.mode_amplitude(cnn.correlation_map(ACT, fp.Q, R0 + e * P, SW, sb, v), P, R0)
        dn = cnn.mode_amplitude(cnn.correlation_map(ACT, fp.Q, R0 - e * P, SW, sb, v), P, R0)
        assert (up - dn) / (2 * e) == pytest.approx(ms.chi_mode[k], abs=1e-7)
        assert ms.xi_mode[k] <= ms.xi_fc + 1e-12  # the bound of sec. 4.2, mode by mode


def test_any_activation_erf():
    """The CNN map calls maps, which dispatch on any activation: erf with a bias (C* > 0)."""
    from qmf_sym.activations import Erf

    v = cnn.filter_variance(3, 1)
    ms = cnn.mode_slopes(Erf(), 1.5, 0.1, v, 12)
    fp = ms.fixed_point
    assert 0 < fp.C < 1
    R0 = cnn.fixed_point_correlation(12, fp.C)
    P, e = cnn.mode_perturbation(12, 2, 1), 1e-5
    up = cnn.mode_amplitude(cnn.correlation_map(Erf(), fp.Q, R0 + e * P, 1.5, 0.1, v), P, R0)
    dn = cnn.mode_amplitude(cnn.correlation_map(Erf(), fp.Q, R0 - e * P, 1.5, 0.1, v), P, R0)
    assert (up - dn) / (2 * e) == pytest.approx(ms.chi_mode[2], abs=1e-7)


def test_kernel_one_is_the_fully_connected_map():
    """With a 1-tap kernel every entry follows the fully connected map (the CNN calls it, it does not copy it)."""
    R = np.array([[1.0, 0.3, -0.2], [0.3, 1.0, 0.6], [-0.2, 0.6, 1.0]])
    out = cnn.correlation_map(ACT, 0.5, R, SW, 0.1, cnn.filter_variance(1, 1))
    assert out[0, 1] == pytest.approx(float(maps.correlation_map(ACT, 0.5, C=0.3, sigma_w=SW, sigma_b=0.1)), rel=1e-14)
    Q1, R1 = cnn.covariance_map(ACT, 0.5, R, SW, 0.1, cnn.filter_variance(1, 1))
    q, c = maps.layer_map(ACT, 0.5, 0.6, SW, 0.1)
    assert Q1 == pytest.approx(float(q), rel=1e-15) and R1[1, 2] == pytest.approx(float(c), rel=1e-15)


def test_covariance_map_at_q_star_is_the_correlation_map():
    v = cnn.filter_variance(3, 2)
    fp = maps.fixed_point(ACT, SW)
    R = cnn.fixed_point_correlation((5, 5), fp.C) + 0.2 * cnn.mode_perturbation((5, 5), (1, 2), (1, 1))
    Q1, R1 = cnn.covariance_map(ACT, fp.Q, R, SW, 0.0, v)
    assert Q1 == pytest.approx(fp.Q, rel=1e-12)
    assert np.allclose(R1, cnn.correlation_map(ACT, fp.Q, R, SW, 0.0, v), atol=1e-12)


@pytest.mark.parametrize("call,name", [
    (lambda: cnn.filter_variance(4), "kernel_size"),
    (lambda: cnn.filter_variance(3, 3), "dim"),
    (lambda: cnn.filter_variance(3, 1, "xavier"), "init"),
    (lambda: cnn.averaging_eigenvalues([0.2, 0.2, 0.2], 8), "profile"),
    (lambda: cnn.averaging_eigenvalues([0.5, 0.3, 0.2], 8), "profile"),
    (lambda: cnn.averaging_eigenvalues([1 / 3] * 3, 2), "spatial"),
    (lambda: cnn.mode_perturbation(8, 9, 1), "mode"),
    (lambda: cnn.mode_perturbation(8, 1, 4), "band"),
    (lambda: cnn.mode_perturbation(8, 4, 1), "band"),
    (lambda: cnn.mode_perturbation((4, 4), 1, 1), "mode"),
    (lambda: cnn.correlation_map(ACT, 1.0, np.full((3, 3), 0.5), SW), "R"),
    (lambda: cnn.correlation_map(ACT, -1.0, np.eye(3), SW), "Q"),
    (lambda: cnn.mode_slopes(ACT, 0.0, 0.0), "sigma_w"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ---------------------------------------------------------------------------- finite networks
def _measured(init, mode, band, n_fit, seeds, channels=256, spatial=12):
    from qmf_sim.architectures import cnn_mode_decay, fit_mode_slope

    a = cnn_mode_decay(ACT, SW, 0.0, spatial, 3, init, mode, band, 0.2, channels, n_fit, seeds=seeds, batch=2)
    return fit_mode_slope(a, n_fit)


@pytest.mark.parametrize("init,mode,band", [("gaussian", 0, 1), ("gaussian", 2, 1), ("gaussian", 6, 2),
                                            ("delta_orthogonal", 6, 2)])
def test_finite_cnn_mode_slope_matches_chi_c_lambda(init, mode, band):
    """256 channels, 4 seeds: the measured slope within 4 SE (+ 0.01 for the O(eps^2) nonlinearity at
    eps = 0.2 and the t-distribution of a 4-seed SE) of chi_c lambda_s; a 4-SE band on a t_3 statistic
    fails ~3% of the time per case at random, the +0.01 floor (>= 1.5 SE here) brings it below 0.1%."""
    v = cnn.filter_variance(3, 1, init)
    ms = cnn.mode_slopes(ACT, SW, 0.0, v, 12, [mode])
    n_fit = int(min(8, max(2, np.ceil(2 * ms.xi_mode[0]))))
    fit = _measured(init, mode, band, n_fit, range(4))
    assert abs(fit.chi - ms.chi_mode[0]) <= 4 * fit.chi_se + 0.01, (fit, ms.chi_mode[0])
    assert fit.xi <= ms.xi_fc + 4 * fit.xi_se + 0.5  # the bound, measured


TANH_SW = 2.0  # tanh's chaotic phase at sigma_b = 0 (sigma_w > 1, the end of its order-to-chaos line): C* = 0


@pytest.mark.parametrize("init,mode,band", [("gaussian", 0, 1), ("gaussian", 2, 1), ("gaussian", 6, 2),
                                            ("delta_orthogonal", 6, 2)])
def test_finite_tanh_cnn_mode_slope_matches_chi_c_lambda(init, mode, band):
    """The sec. 4.2 statement for a continuous activation: tanh at sigma_w = 2, sigma_b = 0 (C* = 0,
    chi_c = 0.882, xi_fc = 7.98), 256 channels, 4 seeds -- the measured slope of each mode within 4 SE + 0.01
    of chi_c lambda_s, and its depth scale not above xi_fc.  k = 4 and the floor as in the staircase test:
    the statistic is t_3 (4 seeds; P(|t_3| > 4) ~ 3%), the 0.01 floor (~1 SE here) covers tanh's O(eps^2)
    nonlinearity at eps = 0.2 (its map is convex at C* = 0: the slope at eps exceeds chi_c by ~0.3%) and
    brings the false-failure rate per case below 0.1%.  Before any activation was accepted this raised
    ValueError (act must be a Staircase)."""
    from qmf_sim.architectures import cnn_mode_decay, fit_mode_slope
    from qmf_sym.activations import Tanh

    v = cnn.filter_variance(3, 1, init)
    ms = cnn.mode_slopes(Tanh(), TANH_SW, 0.0, v, 12, [mode])
    assert ms.fixed_point.C == 0.0 and 0 < ms.chi_c < 1
    n_fit = int(min(8, max(2, np.ceil(2 * ms.xi_mode[0]))))
    a = cnn_mode_decay(Tanh(), TANH_SW, 0.0, 12, 3, init, mode, band, 0.2, 256, n_fit, seeds=range(4), batch=2)
    fit = fit_mode_slope(a, n_fit)
    assert abs(fit.chi - ms.chi_mode[0]) <= 4 * fit.chi_se + 0.01, (fit, ms.chi_mode[0])
    assert fit.xi <= ms.xi_fc + 4 * fit.xi_se + 0.5  # the bound, measured


def test_finite_cnn_smooth_activation_and_staircase_path():
    """A Smooth activation runs with its torch callable (tanh written as a user's Smooth, with torch.tanh:
    the same numbers as the built-in Tanh, the same draws); the staircase path is the exact lookup
    (nn.staircase_forward), reproduced here by hand for one network."""
    import torch

    from qmf_sim.architectures import _conv, _corr, cnn_mode_decay, conv_weights
    from qmf_sim.nn import staircase_forward
    from qmf_sym.activations import Smooth, Tanh

    mine = Smooth(np.tanh, lambda x: 1 / np.cosh(x) ** 2, name="my_tanh", odd=True, bound=1.0)
    a = cnn_mode_decay(mine, TANH_SW, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 16, 3, seeds=[0, 1], batch=1,
                       torch_fn=torch.tanh)
    assert np.array_equal(a, cnn_mode_decay(Tanh(), TANH_SW, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 16, 3, seeds=[0, 1],
                                            batch=1))
    # the staircase amplitudes, layer 2, by hand from the same generator
    fp = maps.fixed_point(ACT, SW)
    got = cnn_mode_decay(ACT, SW, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 16, 2, seeds=[3], batch=1)
    P = cnn.mode_perturbation(8, 1, 1)
    R0 = cnn.fixed_point_correlation(8, fp.C)
    gen = torch.Generator().manual_seed(3)
    z = torch.randn((1, 16, 8), generator=gen, dtype=torch.float64)
    h = {s: torch.einsum("ad,bcd->bca", torch.as_tensor(np.linalg.cholesky(fp.Q * (R0 + s * 0.2 * P))), z).float()
         for s in (1, -1)}
    w = conv_weights(16, 3, 1, SW, "gaussian", gen)
    b = (torch.randn((16,), generator=gen, dtype=torch.float64) * 0.0).float()
    h = {s: _conv(staircase_forward(x, ACT), w, b, 1) for s, x in h.items()}
    d = (_corr(h[1]) - _corr(h[-1])) / 2
    assert got[0, 1] == float((d * torch.as_tensor(P)).sum((1, 2)).mean()) / float((P * P).sum())


@pytest.mark.slow
def test_finite_cnn_2d_modes_slow():
    """2-D, 512 channels, 6 seeds: every mode of a few within 4 SE + 0.005 of chi_c lambda_s."""
    from qmf_sim.architectures import cnn_mode_decay, fit_mode_slope

    v = cnn.filter_variance(3, 2)
    modes = [(0, 0), (1, 0), (1, 1), (3, 3)]
    ms = cnn.mode_slopes(ACT, SW, 0.0, v, (6, 6), modes)
    for k, m in enumerate(ms.modes):
        n_fit = int(min(16, max(2, np.ceil(2 * ms.xi_mode[k]))))
        a = cnn_mode_decay(ACT, SW, 0.0, (6, 6), 3, "gaussian", m, (1, 1), 0.2, 512, n_fit, seeds=range(6), batch=4)
        fit = fit_mode_slope(a, n_fit)
        assert abs(fit.chi - ms.chi_mode[k]) <= 4 * fit.chi_se + 0.005, (m, fit, ms.chi_mode[k])


def test_finite_cnn_bad_input():
    from qmf_sim.architectures import cnn_mode_decay, fit_mode_slope

    with pytest.raises(ValueError, match="eps"):
        cnn_mode_decay(ACT, SW, 0.0, 8, 3, "gaussian", 1, 1, 0.6, 8, 2, seeds=[0])
    with pytest.raises(ValueError, match="channels"):
        cnn_mode_decay(ACT, SW, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 0, 2, seeds=[0])
    with pytest.raises(ValueError, match="n_layers"):
        fit_mode_slope(np.ones((2, 3)), 5)


@pytest.mark.slow
def test_cnn_part_quick_slow():
    """The ``cnn`` part at quick size (~12 s): both activations, every mode's depth scale within the bound
    at the same amplitude (xi_network <= xi_fc_eps + 4 SE), and the slopes against the exact mean field at eps
    with |z| < 5 (38 rows of t_3 statistics: P(|t_3| > 5) ~ 1.5% per row, and the O(1/channels) bias of the
    fastest modes is ~1 SE at 256 channels)."""
    from qmf_sim.experiments import cnn as E

    rows = E.compute(quick=True)
    assert {r["activation"] for r in rows} == {"staircase_N4", "erf"}
    for r in rows:
        assert abs(r["z_chi_meanfield_eps"]) < 5, r
        assert r["xi_excess_over_fc_eps_se"] < 4, r
        assert r["xi_mode"] <= r["xi_fc"] + 1e-12
