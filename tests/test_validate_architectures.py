"""Bad values for the ensemble model, the CNN mode slopes and the App. K Jacobian end in one ValueError
naming the parameter (before: TypeError/RuntimeError from torch, 'float' object is not iterable,
ZeroDivisionError or NaN at sigma_w = 1e-300)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from qmf_sim.ensemble import StackedMLP
from qmf_sim.training import TrainConfig
from qmf_sym import cnn, linearisation
from qmf_sym.activations import Staircase


def _cfg(**kw):
    return TrainConfig(**{"levels": 4, "sigma_w": 1.2, "depth": 2, "width": 8, **kw})


@pytest.mark.parametrize("kw, name", [
    ({"configs": []}, "configs"), ({"configs": "x"}, "configs"), ({"n_in": 0}, "n_in"), ({"n_in": 2.5}, "n_in"),
    ({"n_out": True}, "n_out"), ({"n_in": 10 ** 12}, "n_in"), ({"dtype": "float32"}, "dtype"),
    ({"dtype": torch.int64}, "dtype"), ({"device": 0}, "device"), ({"device": "x"}, "device"),
])
def test_stacked_mlp_bad_values(kw, name):
    args = {"configs": [_cfg(), _cfg(seed=1)], "n_in": 5, "n_out": 3, "dtype": torch.float32, "device": "cpu", **kw}
    with pytest.raises(ValueError, match=name):
        StackedMLP(**args)


def test_stacked_mlp_mixed_shapes_refused():
    with pytest.raises(ValueError, match="configs"):
        StackedMLP([_cfg(), _cfg(width=16)], 5, 3, torch.float32, "cpu")


@pytest.mark.parametrize("modes", [float("nan"), 0, True, [], "x", 1 + 2j])
def test_mode_slopes_bad_modes(modes):
    with pytest.raises(ValueError, match="modes"):
        cnn.mode_slopes(Staircase.uniform(4), 1.2, spatial=8, modes=modes)


def test_jacobian_tiny_sigma_w_named():
    act = Staircase.uniform(4)
    for f in (linearisation.jacobian, linearisation.jacobian_fd):
        with pytest.raises(ValueError, match="sigma_w"):
            f(act, 1.0, 0.3, 1e-300)


@pytest.mark.parametrize("act", [None, float("nan"), "x", []])
def test_kinks_bad_act(act):
    with pytest.raises(ValueError, match="act"):
        linearisation.kinks(act)


# ---------------------------------------------------------------------------- any activation in the architectures
def _arch_calls(act, torch_fn=None, **kw):
    """The three entry points of qmf_sim.architectures that take an activation, smallest sizes."""
    from qmf_sim.architectures import QuantizedResMLP, cnn_mode_decay, residual_correlations

    return [lambda: cnn_mode_decay(act, 2.0, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 4, 2, seeds=[0], batch=1,
                                   torch_fn=torch_fn),
            lambda: residual_correlations(act, 1.0, 0.5, 1.0, 2.0, 0.0, 8, 2, seeds=[0], pairs=1, torch_fn=torch_fn),
            lambda: QuantizedResMLP(3, 8, 2, 2, act, 2.0, torch_fn=torch_fn, **kw)]


@pytest.mark.parametrize("act", [None, "tanh", 1.0, lambda x: x])
def test_architectures_bad_act(act):
    for call in _arch_calls(act):
        with pytest.raises(ValueError, match="act"):
            call()


def test_architectures_bad_torch_fn():
    from qmf_sym.activations import Smooth, Tanh

    silu = Smooth(lambda x: x / (1 + np.exp(-x)), lambda x: 1.0 + 0 * x, name="silu")
    cases = [(silu, None),                          # a Smooth activation has no built-in torch form
             (Tanh(), "tanh"),                      # not a callable
             (Staircase.uniform(4), torch.tanh)]    # a staircase's torch face is its exact lookup
    for act, fn in cases:
        for call in _arch_calls(act, fn):
            with pytest.raises(ValueError, match="torch_fn"):
                call()


@pytest.mark.parametrize("kw, name", [({"ste": "identity"}, "ste"), ({"ste_slope": 0.5}, "ste_slope")])
def test_residual_mlp_continuous_refuses_an_estimator(kw, name):
    """A continuous activation trains with its true derivative (the rule of nn.QuantizedMLP): no STE to choose."""
    from qmf_sim.architectures import QuantizedResMLP
    from qmf_sym.activations import Erf

    with pytest.raises(ValueError, match=name):
        QuantizedResMLP(3, 8, 2, 2, Erf(), 2.0, **kw)


@pytest.mark.parametrize("slope", [0.0, -1.0, float("nan"), float("inf")])
def test_residual_mlp_bad_ste_slope(slope):
    from qmf_sim.architectures import QuantizedResMLP

    with pytest.raises(ValueError, match="ste_slope"):
        QuantizedResMLP(3, 8, 2, 2, Staircase.uniform(4), 2.0, ste_slope=slope)


def test_cnn_mode_decay_continuous_without_a_fixed_point_named():
    """erf below the end of its order-to-chaos line at sigma_b = 0 (sigma_w < sqrt(pi)/2): Q* = 0, no mode."""
    from qmf_sim.architectures import cnn_mode_decay
    from qmf_sym.activations import Erf

    with pytest.raises(ValueError, match="sigma_w"):
        cnn_mode_decay(Erf(), 0.5, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 4, 2, seeds=[0])


# ------------------------------------------------------------------ the last corners (each failed before)
@pytest.mark.parametrize("bad, name", [
    (dict(channels=0), "channels"), (dict(kernel_size=-1), "kernel_size"), (dict(init="x"), "init"),
    (dict(sigma_w=float("nan")), "sigma_w"), (dict(gen=None), "gen"), (dict(dtype=None), "dtype"),
    (dict(channels=10 ** 7), "channels"),
])
def test_conv_weights_names_bad_arguments(bad, name):
    import torch

    from qmf_sim.architectures import conv_weights

    kw = dict(channels=4, kernel_size=3, dim=1, sigma_w=1.0, init="gaussian", gen=torch.Generator().manual_seed(0))
    kw.update(bad)
    with pytest.raises(ValueError, match=name):
        conv_weights(**kw)


def test_residual_sizes_and_extreme_correlation():
    import numpy as np

    from qmf_sim.architectures import QuantizedResMLP, residual_correlations
    from qmf_sym import residual
    from qmf_sym.activations import Erf, Staircase

    with pytest.raises(ValueError, match="width"):
        QuantizedResMLP(10, 10 ** 12, 2, 3, Staircase.uniform(4), 1.0)
    with pytest.raises(ValueError, match="dtype"):
        QuantizedResMLP(10, 8, 2, 3, Staircase.uniform(4), 1.0, dtype="float32")
    with pytest.raises(ValueError, match="depth"):
        residual_correlations(Erf(), 1.0, 0.5, 1.0, 2.0, depth=10 ** 12, width=8)
    with pytest.raises(ValueError, match="Q1"):
        residual_correlations(Erf(), 1e-310, 0.5, 1.0, 2.0, depth=2, width=8)
    # C1 = -1 is valid (opposite inputs): an odd activation keeps them opposite, C = -1 at every layer
    C, _ = residual_correlations(Erf(), 1.0, -1.0, 1.0, 2.0, 0.0, width=64, depth=3, seeds=[0], pairs=2)
    assert np.all(C == -1.0)
    with pytest.raises(ValueError, match="n_layers"):
        residual.iterate(Staircase.uniform(4), 1.0, 0.5, 1.0, 1.0, 0.0, 10 ** 12)


def test_stacked_ste_gain_and_cnn_settings_name_bad_arguments():
    import torch

    from qmf_sim.experiments import cnn
    from qmf_sim.nn import stacked_ste_gain

    with pytest.raises(ValueError, match="clip"):
        stacked_ste_gain(torch.zeros(2, 3), 1.0, torch.ones(2))
    with pytest.raises(ValueError, match="quick"):
        cnn.settings(float("nan"))


def test_tiny_Q1_and_bad_amplitudes():
    """residual_correlations: Q1 below the square root of dtype's smallest normal number is refused (it gave
    NaN / inf correlations), at the bound the correlations are finite; fit_mode_slope names its amplitudes."""
    import numpy as np
    import pytest
    import torch

    from qmf_sim.architectures import fit_mode_slope, residual_correlations
    from qmf_sym.activations import Staircase

    a = Staircase.uniform(4)
    for dt in (torch.float32, torch.float64):
        q = float(torch.finfo(dt).tiny) ** 0.5
        with pytest.raises(ValueError, match="Q1 must be at least"):
            residual_correlations(a, q / 2, 0.5, 1.0, 1.0, width=16, depth=2, seeds=(0,), dtype=dt)
        C, _ = residual_correlations(a, q, 0.5, 1.0, 1.0, width=16, depth=2, seeds=(0,), dtype=dt)
        assert np.isfinite(C).all()
    for bad in ("x", 1 + 2j, [[1.0, float("nan")]]):
        with pytest.raises(ValueError, match="amplitudes"):
            fit_mode_slope(bad, 2)


@pytest.mark.parametrize("dtype", ["x", 0, -1, [], torch.int64])
def test_cnn_mode_decay_names_a_bad_dtype(dtype):
    """dtype is checked with the other arguments (a string or an integer reached tensor.to as a device)."""
    from qmf_sim.architectures import cnn_mode_decay
    from qmf_sym.activations import Staircase

    with pytest.raises(ValueError, match="dtype"):
        cnn_mode_decay(Staircase.uniform(4), 2.0, 0.0, 8, 3, "gaussian", 1, 1, 0.2, 4, 2, seeds=[0], dtype=dtype)
