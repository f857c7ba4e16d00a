"""Torch face of the quantized networks of paper 1 (eq. 1, 13, 19): staircase, STE, QuantizedMLP.

Public API (relied on by the training sweep and by :mod:`qmf_sim.netprop`):

* :func:`staircase_ste` -- a staircase activation (eq. 13) whose forward value is exactly the
  staircase's and whose backward pass is an explicit straight-through estimator (eq. 19);
* :class:`QuantizedMLP` -- the fully connected network of eq. 1 with that activation;
* :func:`default_device` -- CUDA when present, CPU otherwise.

* :func:`staircase_forward` -- the one torch lookup of a staircase's value (no autograd).

The random-network experiments (Fig. 1, finite width) are in :mod:`qmf_sim.netprop`.

Torch is imported at module level here (this is ``qmf_sim``); ``qmf_sym`` stays torch-free.
"""
from __future__ import annotations

import math
import numpy as np
import torch

from qmf_sym import _validate as V
from qmf_sym.activations import Staircase, as_staircase

__all__ = [
    "default_device",
    "staircase_forward",
    "staircase_ste",
    "StaircaseSTE",
    "QuantizedMLP",
]

_STE_NAMES = ("clipped", "identity")


def default_device() -> torch.device:
    """``cuda`` when a CUDA device is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------- staircase tensors
def _boundaries(act: Staircase, dtype: torch.dtype, device) -> torch.Tensor:
    """Offsets g_i rounded *up* to ``dtype``.

    For x representable in ``dtype`` and a real offset g, ``x >= g`` iff ``x >= ceil_dtype(g)``
    (ceil_dtype(g) = the smallest dtype number >= g).  So counting boundaries <= x with these
    rounded-up offsets reproduces ``Staircase.__call__`` (``searchsorted(..., side='right')`` on the
    float64 offsets) exactly, also in float32 where a plain cast could move a jump by one ulp.
    """
    g64 = torch.tensor(act.offsets, dtype=torch.float64)
    g = g64.to(dtype)
    up = torch.nextafter(g, torch.full_like(g, math.inf))
    g = torch.where(g.to(torch.float64) < g64, up, g)
    return g.to(device)


_CACHE: dict = {}


def _tables(act: Staircase, dtype, device):
    key = (act, dtype, str(device))
    tab = _CACHE.get(key)
    if tab is None:
        tab = (_boundaries(act, dtype, device), torch.tensor(act.levels, dtype=dtype, device=device))
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = tab
    return tab


def staircase_forward(x: torch.Tensor, act: Staircase) -> torch.Tensor:
    """phi(x) of eq. 13 (paper 1) on a tensor, right-continuous (H(0) = 1) like ``Staircase.__call__``.

    The one torch home of the quantizer lookup: ``torch.bucketize`` on the offsets rounded up to
    ``x.dtype`` (:func:`_boundaries`), then the levels.  No autograd (see :func:`staircase_ste`)."""
    bnd, lev = _tables(act, x.dtype, x.device)
    idx = torch.bucketize(x.contiguous(), bnd, right=True)  # number of offsets <= x
    return lev[idx]


def _ste_gain(x: torch.Tensor, ste, slope: float) -> torch.Tensor:
    if ste == "clipped":
        return (x.abs() < 1).to(x.dtype) * slope
    if ste == "identity":
        return torch.full_like(x, slope)
    gain = ste(x)
    gain = torch.as_tensor(gain, dtype=x.dtype, device=x.device)
    return gain * slope


class StaircaseSTE(torch.autograd.Function):
    """Forward: the staircase phi (eq. 13).  Backward: grad_in = grad_out * gain(x)."""

    @staticmethod
    def forward(ctx, x, act, ste, slope):
        ctx.save_for_backward(x)
        ctx.ste = ste
        ctx.slope = slope
        return staircase_forward(x, act)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        return grad_out * _ste_gain(x, ctx.ste, ctx.slope), None, None, None


def _check_ste(ste, slope):
    if not callable(ste):
        V.choice("ste", ste, _STE_NAMES)
    return ste, V.finite("slope", slope)


def staircase_ste(x: torch.Tensor, act, ste="clipped", slope: float = 1.0) -> torch.Tensor:
    """Apply the staircase ``act`` (eq. 13 of paper 1) with a straight-through backward pass.

    Forward: exactly the staircase's values, phi(x) = A + sum_i h_i H(x - g_i) with H(0) = 1
    (right-continuous, as :meth:`qmf_sym.activations.Staircase.__call__`); the levels are those of
    ``act.levels`` rounded to ``x.dtype``.

    Backward (the STE): the incoming gradient is multiplied by a gain g(x):

    * ``"clipped"`` (eq. 19): g(x) = slope * 1[|x| < 1];
    * ``"identity"``: g(x) = slope everywhere;
    * a callable ``ste(x) -> gain tensor`` (same shape as x, or broadcastable): the hook for any
      other estimator, e.g. ``lambda x: 1 - torch.tanh(x) ** 2``; the result is also multiplied by
      ``slope`` (leave slope = 1 to use the hook's gain as is).
    """
    act = as_staircase(act)
    ste, slope = _check_ste(ste, slope)
    return StaircaseSTE.apply(x, act, ste, slope)


# ----------------------------------------------------------------------------- the network of eq. 1
class QuantizedMLP(torch.nn.Module):
    """The fully connected network of eq. 1 (paper 1) with a staircase activation.

    alpha^(1) = W^(1) x + b^(1) (the input is *not* passed through phi: phi(alpha^(0)) = x),
    alpha^(l) = W^(l) phi(alpha^(l-1)) + b^(l) for l = 2..L (``depth`` = L hidden layers of
    ``width`` units), and the readout f(x) = alpha^(L+1) = W^(L+1) phi(alpha^(L)) + b^(L+1)
    (``n_out`` units).  phi is applied with :func:`staircase_ste` (forward exact, backward STE).

    ``quantize_output=True`` additionally applies phi to the logits alpha^(L+1) (a fully quantized
    output, rarely wanted with a cross-entropy loss); the default leaves the readout linear.

    Initialisation (sec. 3.1): W^(l)_ij ~ N(0, sigma_w^2 / n_in) and b^(l)_i ~ N(0, sigma_b^2) for
    every layer including the readout (sigma_b = 0 gives zero biases).  ``seed`` makes the draw
    reproducible (a private ``torch.Generator``; the global RNG is untouched).
    """

    def __init__(self, n_in, width, depth, n_out, act, sigma_w, sigma_b=0.0, ste="clipped", ste_slope=1.0,
                 quantize_output=False, dtype=torch.float32, device=None, seed=None):
        super().__init__()
        n_in = V.integer("n_in", n_in, 1)
        width = V.integer("width", width, 1)
        depth = V.integer("depth", depth, 1)
        n_out = V.integer("n_out", n_out, 1)
        self.act = as_staircase(act)
        V.positive("sigma_w", sigma_w)
        V.nonnegative("sigma_b", sigma_b)
        if np.ndim(sigma_w) or np.ndim(sigma_b):
            raise ValueError("sigma_w and sigma_b must be scalars")
        self.ste, self.ste_slope = _check_ste(ste, ste_slope)
        self.sigma_w, self.sigma_b = float(sigma_w), float(sigma_b)
        self.n_in, self.width, self.depth, self.n_out = n_in, width, depth, n_out
        self.quantize_output = bool(quantize_output)
        device = torch.device(device) if device is not None else torch.device("cpu")
        sizes = [n_in] + [width] * depth + [n_out]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=True, dtype=dtype, device=device) for a, b in zip(sizes[:-1], sizes[1:]))
        self.reset_parameters(seed)

    @torch.no_grad()
    def reset_parameters(self, seed=None):
        """Redraw W ~ N(0, sigma_w^2 / n_in), b ~ N(0, sigma_b^2) for every layer."""
        gen = torch.Generator(device="cpu")
        if seed is not None:
            gen.manual_seed(V.integer("seed", seed, 0))
        else:
            gen.seed()
        for lin in self.layers:
            n_in = lin.in_features
            w = torch.randn(lin.weight.shape, generator=gen, dtype=torch.float64) * (self.sigma_w / math.sqrt(n_in))
            b = torch.randn(lin.bias.shape, generator=gen, dtype=torch.float64) * self.sigma_b
            lin.weight.copy_(w)
            lin.bias.copy_(b)

    def phi(self, x):
        return staircase_ste(x, self.act, self.ste, self.ste_slope)

    def forward(self, x, return_preactivations=False):
        """Logits alpha^(L+1); with ``return_preactivations=True`` also [alpha^(1), ..., alpha^(L)]."""
        pre = []
        h = x
        for lin in self.layers[:-1]:
            a = lin(h)
            pre.append(a)
            h = self.phi(a)
        out = self.layers[-1](h)
        if self.quantize_output:
            out = self.phi(out)
        return (out, pre) if return_preactivations else out

    def extra_repr(self):
        return (f"depth={self.depth}, width={self.width}, sigma_w={self.sigma_w:g}, sigma_b={self.sigma_b:g}, "
                f"act=N{self.act.N}, ste={self.ste if isinstance(self.ste, str) else 'custom'}, "
                f"slope={self.ste_slope:g}, quantize_output={self.quantize_output}")
