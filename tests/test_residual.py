"""Quantized residual networks: the mean-field maps (qmf_sym.residual) against the fully connected maps
they call, finite random residual networks and the residual training model (qmf_sim.architectures)."""
import math

import numpy as np
import pytest

from qmf_sym import maps, residual
from qmf_sym.activations import Staircase
from qmf_sym.init import init_for

ACT = Staircase.uniform(4)
SW = float(init_for(4).sigma_w)


@pytest.mark.parametrize("alpha,sb", [(1.0, 0.0), (0.3, 0.2), (3.0, 0.0)])
def test_block_is_a_convex_combination_of_identity_and_fc_layer(alpha, sb):
    Q, C = np.array([0.2, 1.5, 40.0]), np.array([0.9, -0.3, 0.1])
    Qn, Cn = residual.layer_map(ACT, Q, C, alpha, SW, sb)
    Vq, F = maps.layer_map(ACT, Q, C, SW, sb)
    w = alpha ** 2 * Vq / Qn
    assert np.all((w > 0) & (w < 1))
    assert np.allclose(Qn, Q + alpha ** 2 * Vq, rtol=1e-15)
    assert np.allclose(Cn, (1 - w) * C + w * F, rtol=0, atol=1e-15)
    # C = 1 stays 1 (identical inputs stay identical)
    assert residual.layer_map(ACT, 0.5, 1.0, alpha, SW, sb)[1] == pytest.approx(1.0, abs=1e-14)


def test_sign_limit_and_limit():
    assert residual.sign_limit(ACT).N == 2 and list(residual.sign_limit(ACT).levels) == [-1.0, 1.0]
    lim = residual.limit(ACT, SW)
    assert lim.C_inf == 0.0 and lim.gamma == pytest.approx(1 - 2 / math.pi, abs=1e-15)
    assert lim.V_inf == pytest.approx(SW ** 2, rel=1e-15)
    # a non-centred staircase: its sign limit keeps the base and total height
    act = Staircase([-0.5, 0.25], [0.5, 1.5], base=-0.25)
    s = residual.sign_limit(act)
    assert list(s.levels) == [-0.25, 1.75] and list(s.offsets) == [0.0]
    lim = residual.limit(act, 1.0, 0.1)
    assert 0 < lim.C_inf < 1 and 0 < lim.gamma < 1


def test_power_law_local_exponent_approaches_gamma():
    """Exact iteration, 2000 layers: the local exponent is within 0.012 of -gamma (0.009 there) and closing in."""
    tau, dev, gam = residual.power_law_prediction(ACT, 0.4, 0.8, 1.0, SW, 0.0, 2001)
    loc = lambda l: np.log(dev[l - 1] / dev[l // 2 - 1]) / np.log(tau[l - 1] / tau[l // 2 - 1])  # noqa: E731
    assert abs(loc(2000) + gam) < 0.012 < abs(loc(100) + gam)


@pytest.mark.parametrize("call,name", [
    (lambda: residual.layer_map(ACT, 1.0, 0.5, 0.0, SW), "alpha"),
    (lambda: residual.layer_map(ACT, 1.0, 1.5, 1.0, SW), "C"),
    (lambda: residual.layer_map(ACT, -1.0, 0.5, 1.0, SW), "Q"),
    (lambda: residual.iterate(ACT, 1.0, 0.5, 1.0, SW, n_layers=0), "n_layers"),
    (lambda: residual.limit(ACT, -1.0), "sigma_w"),
    (lambda: residual.limit(ACT, 1.0, float("nan")), "sigma_b"),
    (lambda: residual.depth_clock(1.0, 1.0, 0.0), "V_inf"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ---------------------------------------------------------------------------- finite networks
def test_finite_residual_network_follows_the_map():
    """Width 256, 4 seeds x 4 pairs, 40 blocks: C^l within 4 SE + 0.02 of the mean field at l = 10, 40 (the
    0.02 covers the O(1/width) bias of a correlation of quantized units and the t_3 tails of a 4-seed SE)."""
    from qmf_sim.architectures import residual_correlations

    fp = maps.fixed_point(ACT, SW)
    C, Q = residual_correlations(ACT, fp.Q, 0.8, 1.0, SW, 0.0, 256, 40, seeds=range(4), pairs=4)
    Qm, Cm = residual.iterate(ACT, fp.Q, 0.8, 1.0, SW, 0.0, 40)
    for l in (10, 40):
        m, se = C[:, l - 1].mean(), C[:, l - 1].std(ddof=1) / 2
        assert abs(m - Cm[l - 1]) <= 4 * se + 0.02, (l, m, se, Cm[l - 1])
        assert Q[:, l - 1].mean() == pytest.approx(Qm[l - 1], rel=0.1)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_finite_erf_residual_network_follows_the_map(alpha):
    """A continuous activation in the residual network (erf, sigma_w = 2, sigma_b = 0.1): width 256, 4 seeds x 4
    pairs, 40 blocks, C^l within 4 SE + 0.02 of the map of sec. 1 at l = 10, 40 (the tolerance of the staircase
    test above: t_3 tails of a 4-seed SE and the O(1/width) bias), Q^l within 10%."""
    from qmf_sim.architectures import residual_correlations
    from qmf_sym.activations import Erf

    C, Q = residual_correlations(Erf(), 1.0, 0.8, alpha, 2.0, 0.1, 256, 40, seeds=range(4), pairs=4)
    Qm, Cm = residual.iterate(Erf(), 1.0, 0.8, alpha, 2.0, 0.1, 40)
    assert Cm[-1] < 0.6  # the correlation has moved: the check is not trivial
    for l in (10, 40):
        m, se = C[:, l - 1].mean(), C[:, l - 1].std(ddof=1) / 2
        assert abs(m - Cm[l - 1]) <= 4 * se + 0.02, (l, m, se, Cm[l - 1])
        assert Q[:, l - 1].mean() == pytest.approx(Qm[l - 1], rel=0.1)


def test_continuous_block_is_written_out_on_the_fc_maps_and_has_the_sign_limit():
    """Sec. 1 holds for any activation: residual.iterate for erf is the block written out on maps.layer_map;
    sec. 2: erf, tanh and hard tanh tend to the sign limit -1 -> 1, so C_inf = 0 and gamma = 1 - 2/pi at
    sigma_b = 0 as for odd staircases; an unbounded ReLU has none (ValueError naming act)."""
    from qmf_sym.activations import Erf, HardTanh, ReLU, Tanh

    act, Q, C, a, sw, sb = Erf(), 0.7, 0.8, 0.5, 2.0, 0.1
    Qr, Cr = residual.iterate(act, Q, C, a, sw, sb, 6)
    for k in range(1, 6):
        Vq, F = maps.layer_map(act, Q, C, sw, sb)
        Qn = Q + a ** 2 * float(Vq)
        w = a ** 2 * float(Vq) / Qn
        Q, C = Qn, (1 - w) * C + w * float(F)
        assert Qr[k] == pytest.approx(Q, rel=1e-14) and Cr[k] == pytest.approx(C, abs=1e-14)
    for act in (Erf(), Tanh(), HardTanh()):
        lim = residual.limit(act, 1.5)
        assert lim.C_inf == 0.0 and lim.gamma == pytest.approx(1 - 2 / np.pi, rel=1e-12)
        assert lim.V_inf == pytest.approx(1.5 ** 2, rel=1e-12)  # E phi_inf^2 = 1
    lim = residual.limit(HardTanh(-0.5, 2.0), 1.0)  # not odd: the limit jumps from -0.5 to 2
    s = residual.sign_limit(HardTanh(-0.5, 2.0))
    assert float(s(-1.0)) == -0.5 and float(s(1.0)) == 2.0 and 0 < lim.C_inf < 1
    with pytest.raises(ValueError, match="act must have limits"):
        residual.limit(ReLU(), 1.0)


def test_residual_mlp_continuous_trains_with_the_true_derivative():
    """QuantizedResMLP with tanh: the forward is torch.tanh on the stream, the backward autograd's (no STE),
    the same weights as the staircase network of the same seed (nn.init_draws)."""
    import torch

    from qmf_sim.architectures import QuantizedResMLP
    from qmf_sym.activations import Tanh

    m = QuantizedResMLP(5, 16, 3, 4, Tanh(), 2.0, alpha=0.5, seed=7, dtype=torch.float64)
    s = QuantizedResMLP(5, 16, 3, 4, ACT, 2.0, alpha=0.5, seed=7, dtype=torch.float64)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(m.layers, s.layers))
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    h = m.layers[0](x)
    for lin in m.layers[1:-1]:
        h = h + 0.5 * lin(torch.tanh(h))
    ref = m.layers[-1](torch.tanh(h))
    out = m(x)
    assert torch.equal(out, ref)
    g, = torch.autograd.grad(out.sum(), x)
    g_ref, = torch.autograd.grad(ref.sum(), x)
    assert torch.equal(g, g_ref)
    assert torch.autograd.gradcheck(lambda t: m(t), (x[:2].detach().requires_grad_(),))
    assert "act=tanh" in repr(m) and "act=N4" in repr(s)


def test_residual_mlp_shares_the_plain_networks_weights_and_trains():
    import torch

    from qmf_sim.architectures import QuantizedResMLP, residual_factory
    from qmf_sim.nn import QuantizedMLP
    from qmf_sim.training import TrainConfig, run_training

    a = QuantizedMLP(5, 16, 3, 4, ACT, SW, seed=7)
    b = QuantizedResMLP(5, 16, 3, 4, ACT, SW, alpha=0.5, seed=7)
    for la, lb in zip(a.layers, b.layers):
        assert torch.equal(la.weight, lb.weight) and torch.equal(la.bias, lb.bias)
    x = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    h = b.layers[0](x)
    for lin in b.layers[1:-1]:
        h = h + 0.5 * lin(b.phi(h))
    assert torch.equal(b(x), b.layers[-1](b.phi(h)))
    assert torch.equal(QuantizedResMLP(5, 16, 1, 4, ACT, SW, seed=7)(x), QuantizedMLP(5, 16, 1, 4, ACT, SW, seed=7)(x))
    cfg = TrainConfig(depth=3, width=16, levels=4, steps=5, eval_steps=(5,), lr=1e-2, train_eval_size=50, device="cpu")
    rec = run_training(cfg, threads=1, model_factory=residual_factory(1.0))
    assert rec["status"] == "ok" and rec["final_step"] == 5
    with pytest.raises(ValueError, match="alpha"):
        QuantizedResMLP(5, 16, 3, 4, ACT, SW, alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        residual_factory(0.0)


def test_finite_residual_bad_input():
    from qmf_sim.architectures import residual_correlations

    with pytest.raises(ValueError, match="C1"):
        residual_correlations(ACT, 1.0, 1.2, 1.0, SW, width=8, depth=2, seeds=[0])
    with pytest.raises(ValueError, match="width"):
        residual_correlations(ACT, 1.0, 0.5, 1.0, SW, width=0, depth=2, seeds=[0])


@pytest.mark.slow
def test_propagation_quick_exponents_slow():
    """The quick propagation experiment: the network's local exponent within 4 SE of the exact map's on the
    same window, and a power law fitting the map's tail far better than an exponential."""
    from qmf_sim.experiments import residual as E

    rows = E.fit_exponents(E.propagation(quick=True))
    for r in rows:
        assert abs(r["z_network_vs_meanfield"]) < 4
        assert r["rss_power_law"] < 0.1 * r["rss_exponential"]


def test_residual_factory_trains_a_continuous_config():
    # TrainConfig.activation reaches the residual network (true derivative, no STE): a tanh run's record
    from qmf_sim.architectures import QuantizedResMLP, residual_factory
    from qmf_sim.training import TrainConfig, run_training

    cfg = TrainConfig(depth=3, width=16, steps=20, eval_steps=(20,), activation="tanh", sigma_w=1.2, lr=0.05,
                      train_eval_size=100, device="cpu")
    made = []

    def factory(c, d, dt, dev):
        made.append(residual_factory(0.5)(c, d, dt, dev))
        return made[-1]

    rec = run_training(cfg, model_factory=factory, threads=1)
    assert isinstance(made[0], QuantizedResMLP) and made[0].act.__class__.__name__ == "Tanh"
    assert rec["status"] == "ok" and rec["config"]["activation"] == "tanh" and rec["final_test_acc"] > 0.1
