"""qmf_sim.netprop: finite random layers against the mean-field maps (paper 1, eq. 1-6; Fig. 1);
moved from test_networks.py.

Statistical tolerances.  Every Monte-Carlo comparison uses k = 5 standard errors, the SE estimated
from D independent weight draws (per-draw statistics are means over >= 500 neurons, hence close
to normal).  With D = 32 draws the studentised deviation is t-distributed with 31 d.o.f.:
P(|t_31| > 5) ~ 2e-5 per comparison (under exact normality it would be 6e-7); the suite makes
< 200 such comparisons, so a false failure has probability < 0.4 %, and the seeds are fixed
(Hypothesis is derandomized in tests/conftest.py), so a run is reproducible.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_nn import K_SE, D, staircases  # noqa: E402  (one home of the shared strategy and tolerances)

from qmf_sim import netprop as NW
from qmf_sim import nn
from qmf_sym import maps
from qmf_sym.activations import Staircase


def test_experiment_bad_input():
    act = Staircase.uniform(4)
    with pytest.raises(ValueError, match="r"):
        NW.circle_inputs(1, 10, 1.0, 1.0)
    with pytest.raises(ValueError, match="r"):
        NW.correlation_propagation(act, [1.0], depth=2, width=8, r=1)
    with pytest.raises(ValueError, match="width"):
        NW.propagate(act, torch.randn(3, 5), 1.0, depth=1, width=0)
    with pytest.raises(ValueError, match="depth"):
        NW.propagate(act, torch.randn(3, 5), 1.0, depth=0, width=4)
    with pytest.raises(ValueError, match="sigma_w"):
        NW.propagate(act, torch.randn(3, 5), 0.0, depth=1, width=4)
    with pytest.raises(ValueError, match="act"):
        NW.propagate(np.sign, torch.randn(3, 5), 1.0, depth=1, width=4)
    with pytest.raises(ValueError, match="act"):
        nn.staircase_ste(torch.randn(3), "sign")


# ----------------------------------------------------------------------------- one layer vs mean field
@settings(max_examples=20)
@given(act=staircases(), sw=st.floats(0.3, 3.0), sb=st.floats(0.0, 1.0), Q=st.floats(0.05, 4.0),
       C=st.floats(-0.95, 0.95), seed=st.integers(0, 2 ** 20))
def test_one_layer_matches_maps(act, sw, sb, Q, C, seed):
    # a wide layer (400 -> 400 neurons, real weight matrices), D = 32 independent draws, float64
    n = 400
    r = NW.one_layer_statistics(act, Q, C, sw, sb, n_prev=n, n_next=n, n_draws=D, seed=seed)
    q_mf, c_mf = maps.layer_map(act, Q, C, sw, sb)
    assert float(maps.variance_map(act, Q, sw, sb)) == pytest.approx(float(q_mf), rel=1e-12)
    assert abs(r["Q"] - q_mf) <= K_SE * r["Q_se"] + 1e-12
    # the covariance K12 is unbiased for Q_next C_next (layer_map's C is K12 / Q_next)
    assert abs(r["K12"] - q_mf * c_mf) <= K_SE * r["K12_se"] + 1e-12
    # the correlation ratio K12 / sqrt(K11 K22) has an O(1/n) bias (delta method: |bias| <~ 4/n for
    # |C| <= 1 with normalised 4th moments <= 3 + a few); allow 5 SE + 10/n
    assert abs(r["C"] - c_mf) <= K_SE * r["C_se"] + 10 / n


def test_empirical_chi_matches_finite_difference():
    act = Staircase.uniform(6)
    for sw in (1.5, 3.0):
        r = NW.empirical_chi(act, sw, 0.0, eps=0.1, n_prev=2000, n_next=1000, n_draws=D, seed=11)
        assert abs(r["chi"] - r["chi_fd"]) <= K_SE * r["chi_se"]
        # odd phi, C* = 0: the central difference is O(eps^2) from chi (3rd derivative only)
        assert r["chi_fd"] == pytest.approx(r["chi_theory"], rel=0.05)


def test_gram_method_matches_weights():
    # the "gram" sampler has the same law as real weights: per-layer mean Q of both agree within
    # k = 5 combined SE
    act = Staircase.uniform(4)
    X, _ = NW.circle_inputs(4, 64, 1.0, 1.7, 0.1, seed=2)
    a = NW.layer_statistics(act, X, 1.7, 0.1, depth=4, width=256, n_draws=D, method="weights", seed=5,
                            dtype=torch.float64)
    b = NW.layer_statistics(act, X, 1.7, 0.1, depth=4, width=256, n_draws=D, method="gram", seed=6,
                            dtype=torch.float64)
    se = np.hypot(a["Qbar_se"], b["Qbar_se"])
    assert np.all(np.abs(a["Qbar"] - b["Qbar"]) <= K_SE * se)
    se = np.hypot(a["C_se"], b["C_se"])[:, 0, 1]
    assert np.all(np.abs(a["C"][:, 0, 1] - b["C"][:, 0, 1]) <= K_SE * se + 1e-12)


def test_circle_inputs_scaling_and_first_layer():
    sw, sb, Q1 = 1.3, 0.2, 0.9
    X, th = NW.circle_inputs(10, 50, Q1, sw, sb, seed=0)
    K = sw ** 2 * (X @ X.T) / 50 + sb ** 2
    assert np.allclose(np.diag(K.numpy()), Q1, atol=1e-12)  # Q^(1) = Q1 in the mean field
    assert np.allclose(K[0].numpy(), sw ** 2 * (Q1 - sb ** 2) / sw ** 2 * np.cos(th) + sb ** 2, atol=1e-12)
    prof = NW.circulant_profile(K)
    assert np.allclose(prof.numpy(), K[0].numpy(), atol=1e-12)


def test_decay_layer():
    l = np.arange(1, 60)
    v = 0.2 + 0.5 * np.exp(-(l - 1) / 7.3)
    assert NW.decay_layer(v, 1, 0.2) == pytest.approx(8.3, abs=0.05)
    assert NW.decay_layer(np.ones(5), 1, 0.0) == math.inf  # never decays within the layers (was NaN)


def test_correlation_propagation_small():
    # a small end-to-end run: empirical correlation at layer 1 = mean field within noise (n = 400)
    act = Staircase.uniform(16)
    s = NW.sigma_w_optimal(act)
    res = NW.correlation_propagation(act, [s], depth=3, width=400, r=24, n_draws=4, n_theory=13,
                                     dtype=torch.float64)
    run = res["runs"][0]
    assert run["cov"].shape == (4, 24)
    assert run["chi"] == pytest.approx(float(maps.fixed_point(act, s).chi))
    C1 = np.cos(res["theta"])
    assert np.all(np.abs(run["corr"][1] - C1) <= K_SE * run["corr_se"][1] + 10 / 400)


# ----------------------------------------------------------------------------- any activation
@pytest.mark.parametrize("name", ["erf", "tanh", "relu", "hardtanh"])
def test_one_layer_matches_maps_for_continuous_activations(name):
    # the same unit-level check as for staircases (D = 32 draws, k = 5 SE, see the module docstring),
    # with the activation's torch op against the closed-form / quadrature maps of qmf_sym.maps
    from qmf_sym.activations import by_name

    act = by_name(name)
    Q, C, sw, sb, n = 1.3, 0.4, 1.4, 0.2, 400
    r = NW.one_layer_statistics(act, Q, C, sw, sb, n_prev=n, n_next=n, n_draws=D, seed=3)
    q_mf, c_mf = maps.layer_map(act, Q, C, sw, sb)
    assert abs(r["Q"] - q_mf) <= K_SE * r["Q_se"]
    assert abs(r["K12"] - q_mf * c_mf) <= K_SE * r["K12_se"]
    assert abs(r["C"] - c_mf) <= K_SE * r["C_se"] + 10 / n


def test_empirical_chi_and_sigma_w_optimal_for_tanh():
    # tanh at sigma_b = 0.05: the optimal sigma_w is the edge of chaos, where chi = chi_1 = 1 (C* = 1);
    # in the chaotic phase (sigma_w = 1.6, C* < 1) the finite-difference chi of finite layers matches eq. 6
    from qmf_sym.activations import Tanh

    act = Tanh()
    s = NW.sigma_w_optimal(act, 0.05)
    assert s == pytest.approx(float(maps.edge_of_chaos(act, 0.05).sigma_w), rel=1e-12)
    assert s == pytest.approx(1.12254, abs=1e-4)  # the line's value at sigma_b = 0.05 (derivations/continuous_activations.md)
    r = NW.empirical_chi(act, 1.6, 0.05, eps=0.05, n_prev=2000, n_next=1000, n_draws=D, seed=4)
    assert abs(r["chi"] - r["chi_fd"]) <= K_SE * r["chi_se"]
    assert r["chi_fd"] == pytest.approx(r["chi_theory"], rel=0.02)


def test_correlation_propagation_any_activation():
    # erf random networks (Fig. 1's experiment with a continuous activation): layer-by-layer correlation
    # at the decay angle within 5 SE + 10/n of the mean field over three layers
    from qmf_sym.activations import Erf

    act = Erf()
    res = NW.correlation_propagation(act, [1.8], depth=3, width=400, r=24, n_draws=8, n_theory=13,
                                     dtype=torch.float64, seed=2)
    run = res["runs"][0]
    k = run["k_decay"]
    th_mf = run["theta_theory"]
    j = int(np.argmin(np.abs(th_mf - res["theta"][k])))
    assert abs(th_mf[j] - res["theta"][k]) < 1e-12
    for l in (1, 2, 3):
        assert abs(run["corr"][l, k] - run["corr_theory"][l, j]) <= K_SE * run["corr_se"][l, k] + 10 / 400, l


def test_smooth_activation_without_torch_form_is_refused_in_one_line():
    from qmf_sym.activations import Smooth

    act = Smooth(np.sin, np.cos, name="sin")
    with pytest.raises(ValueError, match="torch_fn"):
        NW.propagate(act, torch.randn(3, 5), 1.0, depth=1, width=4)
    with pytest.raises(ValueError, match="torch_fn"):
        NW.one_layer_statistics(act, 1.0, 0.5, 1.0, n_prev=8, n_next=8, n_draws=2)
    # with its torch form it runs, and agrees with the quadrature maps (k = 5 SE, D = 32 draws)
    r = NW.one_layer_statistics(act, 1.0, 0.5, 1.5, 0.1, n_prev=400, n_next=400, n_draws=D, seed=1,
                                torch_fn=torch.sin)
    q_mf, c_mf = maps.layer_map(act, 1.0, 0.5, 1.5, 0.1)
    assert abs(r["Q"] - q_mf) <= K_SE * r["Q_se"]
    assert abs(r["K12"] - q_mf * c_mf) <= K_SE * r["K12_se"]


# ----------------------------------------------------------------------------- argument validation
@pytest.mark.parametrize("kw, match", [(dict(seed=True), "seed"), (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"),
                                       (dict(dtheta_decay=float("nan")), "dtheta_decay"),
                                       (dict(sigma_b=float("nan")), "sigma_b"), (dict(n_draws=0), "n_draws")])
def test_bool_seeds_and_nan_flags_rejected(kw, match):
    act = Staircase.uniform(4)
    with pytest.raises(ValueError, match=match):
        NW.correlation_propagation(act, [1.0], **{"depth": 2, "width": 8, "r": 4, **kw})


def test_bool_seed_rejected_everywhere():
    act = Staircase.uniform(4)
    with pytest.raises(ValueError, match="seed"):
        NW.circle_inputs(4, 8, 1.0, 1.0, seed=True)
    with pytest.raises(ValueError, match="seed"):
        NW.propagate(act, torch.randn(3, 5), 1.0, depth=1, width=4, seed=False)
    with pytest.raises(ValueError, match="seed"):
        NW.finite_width_errors(act, 1.0, widths=(8,), depth=1, n_draws=2, seed=True)
    with pytest.raises(ValueError, match="n_draws"):
        NW.finite_width_errors(act, 1.0, widths=(8,), depth=1, n_draws=1)  # no standard error from one draw
    with pytest.raises(ValueError, match="seed"):
        nn.QuantizedMLP(3, 4, 2, 2, act, 1.0, seed=True)
