"""Bad values for the ensemble model, the CNN mode slopes and the App. K Jacobian end in one ValueError
naming the parameter (before: TypeError/RuntimeError from torch, 'float' object is not iterable,
ZeroDivisionError or NaN at sigma_w = 1e-300)."""
from __future__ import annotations

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
