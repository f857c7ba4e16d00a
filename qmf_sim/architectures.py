"""Finite random networks beyond fully connected ones (torch, CPU): circular CNNs and residual networks.

The mean field they are checked against lives in :mod:`qmf_sym.cnn` and :mod:`qmf_sym.residual`.  Any
activation of :mod:`qmf_sym.activations` is accepted (a staircase, eq. 13, or a continuous one: erf, tanh,
ReLU, leaky ReLU, hard tanh, or a ``Smooth`` one with its torch callable ``torch_fn``), applied through the
one torch home of activations, :func:`qmf_sim.nn.activation_forward` (a staircase by the exact lookup
:func:`qmf_sim.nn.staircase_forward`, so staircase results are those of the staircase-only version bit for
bit).  These are random-network propagation experiments (forward only), except :class:`QuantizedResMLP`,
which trains a staircase with the STE of :func:`qmf_sim.nn.staircase_ste` (eq. 19) and a continuous
activation with its true derivative (autograd), the rule of :class:`qmf_sim.nn.QuantizedMLP`.

CNN (paper 1, sec. 4.2; Xiao et al. 2018): :func:`cnn_mode_decay` propagates inputs built to excite one
Fourier mode (mode s, band d, amplitude eps) of the correlation through random circular CNNs and returns
the mode's amplitude layer by layer; :func:`fit_mode_slope` turns it into the measured per-layer slope
and depth scale.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from qmf_sym import _validate as V
from qmf_sym import cnn as T
from qmf_sym.activations import Staircase, as_activation

from .nn import activation_forward, checked_activation, torch_function

__all__ = ["conv_weights", "cnn_mode_decay", "fit_mode_slope", "ModeFit", "residual_correlations", "QuantizedResMLP",
           "residual_factory"]


# ============================================================================ CNN
def _haar_orthogonal(n, gen, dtype):
    a = torch.randn((n, n), generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    return (q * torch.sign(torch.diagonal(r))).to(dtype)


def conv_weights(channels, kernel_size, dim, sigma_w, init, gen, dtype=torch.float32):
    """One layer's filter W of shape (C, C, k[, k]) (torch conv layout): ``"gaussian"``
    W(j) ~ N(0, sigma_w^2 / (C k^dim)) (the uniform profile of :func:`qmf_sym.cnn.filter_variance`),
    ``"delta_orthogonal"`` W(0) = sigma_w H, H Haar-orthogonal (Xiao et al. 2018, Algorithm 2), W(j != 0) = 0.
    ``gen``: a ``torch.Generator`` (the seed's stream)."""
    channels = V.integer("channels", channels, 1)
    kernel_size = V.integer("kernel_size", kernel_size, 1)
    dim = V.integer("dim", dim, 1, 2)
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    V.choice("init", init, T.INITS)
    V.torch_float_dtype("dtype", dtype)
    if not isinstance(gen, torch.Generator):
        raise ValueError(f"gen must be a torch.Generator, got {type(gen).__name__}")
    V.size_product(None, [("channels", channels), ("channels", channels), ("kernel_size", kernel_size ** dim)])
    shape = (channels, channels) + (kernel_size,) * dim
    if init == "gaussian":
        std = float(sigma_w) / math.sqrt(channels * kernel_size ** dim)
        return (torch.randn(shape, generator=gen, dtype=torch.float64) * std).to(dtype)
    w = torch.zeros(shape, dtype=dtype)
    w[(slice(None), slice(None)) + (kernel_size // 2,) * dim] = float(sigma_w) * _haar_orthogonal(channels, gen, dtype)
    return w


def _conv(x, w, b, dim):
    k = w.shape[-1]
    p = k // 2
    if dim == 1:
        return torch.nn.functional.conv1d(torch.nn.functional.pad(x, (p, p), mode="circular"), w, b)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (p, p, p, p), mode="circular"), w, b)


def _corr(h):
    """Empirical correlation over channels: h (B, C, *spatial) -> (B, P, P) with P = prod(spatial)."""
    B, C = h.shape[:2]
    x = h.reshape(B, C, -1).to(torch.float64)
    K = torch.einsum("bca,bcd->bad", x, x) / C
    d = torch.sqrt(torch.diagonal(K, dim1=1, dim2=2))
    return K / (d[:, :, None] * d[:, None, :])


def cnn_mode_decay(act, sigma_w, sigma_b=0.0, spatial=16, kernel_size=3, init="gaussian", mode=0, band=1,
                   eps=0.2, channels=256, depth=20, seeds=(0, 1, 2, 3), batch=4, dtype=torch.float32, torch_fn=None):
    """The amplitude of one correlation mode, layer by layer, in finite random circular CNNs.

    ``act``: any activation of :mod:`qmf_sym.activations` (``torch_fn``: the torch callable of a ``Smooth``
    one, :func:`qmf_sim.nn.torch_function`); its fixed point (Q*, C*) is :func:`qmf_sym.maps.fixed_point`'s
    and must have C* < 1 (an odd activation at sigma_b = 0 in its chaotic phase has C* = 0).

    Inputs excite the mode: the first hidden layer's pre-activations are h^1_{c,.} = L z_c with z_c ~ N(0, I)
    i.i.d. over channels and L L^T = Q* (R* + eps P), P = :func:`qmf_sym.cnn.mode_perturbation` (mode s,
    band d) and R* the fixed-point correlation -- exactly the mean field's layer-1 distribution, so
    the only departure from the mean field is the finite channel count.  Each z is propagated twice,
    with +eps and with -eps (the same z and the same network), and the mode's amplitude is measured on
    (R^l(+eps) - R^l(-eps)) / 2 (common random numbers: the finite-width fluctuation of the fixed point
    cancels in the difference; the odd nonlinear terms O(eps^3) stay).

    Returns an array (len(seeds), depth) of amplitudes a^l (l = 1..depth), each the mean over ``batch``
    inputs of <R^l - R*, P> / <P, P> (antisymmetrised as above); seed k draws the k-th network and its
    inputs from ``torch.Generator().manual_seed(seed)``.
    """
    act = checked_activation(act, torch_fn)
    spatial = T._check_spatial(spatial)
    dim = len(spatial)
    V.choice("init", init, T.INITS)
    profile = T.filter_variance(kernel_size, dim, init)
    P = T.mode_perturbation(spatial, mode, band)
    channels = V.integer("channels", channels, 1)
    depth = V.integer("depth", depth, 1)
    batch = V.integer("batch", batch, 1)
    seeds = V.integers("seeds", seeds, 0)
    V.torch_float_dtype("dtype", dtype)
    V.size_product(None, [("seeds", max(len(seeds), 1)), ("depth", depth)])
    V.size_product(None, [("channels", channels), ("channels", channels), ("kernel_size", kernel_size ** dim)])
    V.size_product(None, [("batch", batch), ("channels", channels), ("spatial", int(np.prod(spatial)))])
    from qmf_sym import maps

    fp = maps.fixed_point(act, sigma_w, sigma_b)
    if not fp.C < 1:
        raise ValueError("the fixed point has C* = 1: no correlation mode to follow")
    V.in_open("eps", eps, 0, (1 - fp.C) / 2)
    T._check_profile(profile, spatial)
    R_star = T.fixed_point_correlation(spatial, fp.C)
    n = int(np.prod(spatial))
    Pf = P.reshape(n, n)
    L = {sgn: torch.as_tensor(np.linalg.cholesky(fp.Q * (R_star.reshape(n, n) + sgn * eps * Pf)))
         for sgn in (1, -1)}
    Pt = torch.as_tensor(Pf)
    PP = float((Pf * Pf).sum())
    out = np.empty((len(seeds), depth))
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn((batch, channels, n), generator=gen, dtype=torch.float64)
        hs = {sgn: torch.einsum("ad,bcd->bca", L[sgn], z).reshape((batch, channels) + spatial).to(dtype)
              for sgn in (1, -1)}
        for l in range(depth):
            diff = (_corr(hs[1]) - _corr(hs[-1])) / 2
            out[i, l] = float((diff * Pt).sum((1, 2)).mean()) / PP
            if l == depth - 1:
                break
            w = conv_weights(channels, kernel_size, dim, sigma_w, init, gen, dtype)
            b = (torch.randn((channels,), generator=gen, dtype=torch.float64) * float(sigma_b)).to(dtype)
            hs = {sgn: _conv(activation_forward(h, act, torch_fn), w, b, dim) for sgn, h in hs.items()}
    return out


@dataclass(frozen=True)
class ModeFit:
    """A measured per-layer slope: ``chi`` (mean over seeds of the least-squares ratio
    sum a^(l+1) a^l / sum (a^l)^2 over the fitted layers) with ``chi_se`` (standard error over seeds),
    ``xi`` = -1/log|chi| with ``xi_se`` (delta method), ``layers`` (the fitted l, 1-based) and ``seeds``."""

    chi: float
    chi_se: float
    xi: float
    xi_se: float
    layers: int
    seeds: int


def fit_mode_slope(amplitudes, n_layers):
    """Per-seed slope r = sum_{l<n} a^(l+1) a^l / sum_{l<n} (a^l)^2 over the first ``n_layers`` layers of
    each row of ``amplitudes`` (the AR(1) least-squares coefficient: signed, so a mode with
    chi_c lambda_s < 0 gives r < 0; linear in the noise, unlike a fit of ``log|a|``), then the mean and its
    standard error over rows (seeds), and ``xi = -1/log|r|`` with ``xi_se = r_se / (|r| log^2 |r|)``."""
    a = V.array("amplitudes", amplitudes, ndim=2)
    if a.shape[1] < 2:
        raise ValueError(f"amplitudes must be (seeds, layers >= 2), got shape {a.shape}")
    n = V.integer("n_layers", n_layers, 2, a.shape[1])
    x, y = a[:, :n - 1], a[:, 1:n]
    r = (x * y).sum(1) / (x * x).sum(1)
    m = float(r.mean())
    se = float(r.std(ddof=1) / math.sqrt(len(r))) if len(r) > 1 else float("nan")
    am = abs(m)
    if 0 < am < 1:
        xi = -1.0 / math.log(am)
        xi_se = se / (am * math.log(am) ** 2)
    else:
        xi, xi_se = (0.0, float("nan")) if am == 0 else (float("inf"), float("nan"))
    return ModeFit(m, se, xi, xi_se, n, len(r))


# ============================================================================ residual networks
def residual_correlations(act, Q1, C1, alpha, sigma_w, sigma_b=0.0, width=1024, depth=100, seeds=(0, 1, 2, 3),
                          pairs=4, dtype=torch.float32, torch_fn=None):
    """Correlation C^l and variance Q^l, layer by layer, in finite random residual networks
    x^(l+1) = x^l + alpha (W^l phi(x^l) + b^l) (:mod:`qmf_sym.residual`).

    The first hidden layer is drawn from the mean field's layer-1 law: ``pairs`` independent pairs
    (x_a, x_b) with x_i ~ N(0, Q1 [[1, C1], [C1, 1]]) i.i.d. over the ``width`` units.  Returns
    (C, Q), arrays (len(seeds), depth): the empirical correlation ``x_a.x_b / (|x_a| |x_b|)`` and the mean
    ``|x|^2 / width``, each averaged over the pairs, for l = 1..depth; seed k draws the k-th network and its
    inputs from ``torch.Generator().manual_seed(seed)``.  ``act``: any activation of :mod:`qmf_sym.activations`
    (``torch_fn`` for a ``Smooth`` one, as in :func:`cnn_mode_decay`).  ``Q1`` >= the square root of the smallest
    normal number of ``dtype`` (1.1e-19 for float32, 1.5e-154 for float64), below which products underflow."""
    act = checked_activation(act, torch_fn)
    V.torch_float_dtype("dtype", dtype)
    Q1 = V.finite("Q1", V.positive("Q1", Q1))
    q_min = float(torch.finfo(dtype).tiny) ** 0.5
    if Q1 < q_min:  # products of two second moments underflow in ``dtype`` below it (0/0 or inf correlations)
        raise ValueError(f"Q1 must be at least {q_min:.3g} (the square root of the smallest normal number of {dtype}: "
                         f"products of the inputs' moments underflow below it), got {Q1!r}")
    C1 = V.finite("C1", V.in_closed("C1", C1, -1, 1))
    V.finite("alpha", V.positive("alpha", alpha))
    V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    width = V.integer("width", width, 1)
    depth = V.integer("depth", depth, 1)
    pairs = V.integer("pairs", pairs, 1)
    seeds = V.integers("seeds", seeds, 0)
    V.size_product(None, [("seeds", max(len(seeds), 1)), ("depth", depth)])
    V.size_product(None, [("width", width), ("width", width)])
    V.size_product(None, [("pairs", pairs), ("inputs", 2), ("width", width)])
    # the pair (u1, u2) ~ N(0, Q1 [[1, C1], [C1, 1]]) by its Cholesky factor; at C1 = -1 (no factor of a singular
    # matrix) u2 = -u1 exactly, at C1 = 1 u2 = u1 (L = None)
    if C1 == -1:
        L = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64) * math.sqrt(Q1)
    else:
        L = torch.linalg.cholesky(torch.tensor([[1.0, C1], [C1, 1.0]], dtype=torch.float64) * float(Q1)
                                  + 1e-300 * torch.eye(2, dtype=torch.float64)) if C1 < 1 else None
    Cs, Qs = np.empty((len(seeds), depth)), np.empty((len(seeds), depth))
    for i, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn((pairs, 2, width), generator=gen, dtype=torch.float64)
        if L is None:
            z = z[:, :1].expand(pairs, 2, width) * math.sqrt(float(Q1))
            x = z
        else:
            x = torch.einsum("ij,pjn->pin", L, z)
        x = x.reshape(2 * pairs, width).to(dtype)
        for l in range(depth):
            x64 = x.to(torch.float64).reshape(pairs, 2, width)
            n2 = (x64 * x64).sum(-1)
            Cs[i, l] = float(((x64[:, 0] * x64[:, 1]).sum(-1) / torch.sqrt(n2[:, 0] * n2[:, 1])).mean())
            Qs[i, l] = float(n2.mean() / width)
            if l == depth - 1:
                break
            w = torch.randn((width, width), generator=gen, dtype=dtype) * (float(sigma_w) / math.sqrt(width))
            b = torch.randn((width,), generator=gen, dtype=dtype) * float(sigma_b)
            x = x + float(alpha) * (activation_forward(x, act, torch_fn) @ w.T + b)
    return Cs, Qs


class QuantizedResMLP(torch.nn.Module):
    """The residual counterpart of :class:`qmf_sim.nn.QuantizedMLP`: the same weight layers and the
    same initial draws (:func:`qmf_sim.nn.init_draws`, so a seed gives the same W and b as the plain
    network), with every hidden-to-hidden layer wrapped in a skip connection:

    x^1 = W^1 x + b^1,  x^(l+1) = x^l + alpha (W^(l+1) phi(x^l) + b^(l+1)) (l = 1..depth-1),
    f(x) = W^(L+1) phi(x^L) + b^(L+1)  (``depth`` = L hidden layers),

    phi as in :class:`qmf_sim.nn.QuantizedMLP`: a staircase by :func:`qmf_sim.nn.staircase_ste` (forward
    exact, backward the STE of eq. 19), any other activation of :mod:`qmf_sym.activations` by its torch op
    with its true derivative (:func:`qmf_sim.nn.torch_function`; ``ste`` and ``ste_slope`` must then keep
    their defaults, there is no estimator to choose; a ``Smooth`` one needs ``torch_fn``)."""

    def __init__(self, n_in, width, depth, n_out, act, sigma_w, sigma_b=0.0, alpha=1.0, ste="clipped",
                 ste_slope=1.0, dtype=torch.float32, device=None, seed=None, torch_fn=None):
        super().__init__()
        from .nn import _check_ste, init_draws

        n_in = V.integer("n_in", n_in, 1)
        width = V.integer("width", width, 1)
        depth = V.integer("depth", depth, 1)
        n_out = V.integer("n_out", n_out, 1)
        V.size_product(None, [("depth", depth), ("width", width), ("width", width)])
        V.size_product(None, [("n_in", n_in), ("width", width)])
        V.size_product(None, [("width", width), ("n_out", n_out)])
        V.torch_float_dtype("dtype", dtype), V.device_spec("device", device)
        V.finite("ste_slope", V.positive("ste_slope", ste_slope))
        self.act = as_activation(act)
        self._torch_fn = torch_function(self.act, torch_fn)  # the one check of act with its torch form
        if not isinstance(self.act, Staircase) and (ste != "clipped" or ste_slope != 1.0):
            raise ValueError("ste and ste_slope apply to staircases only (a continuous activation trains with its "
                             "true derivative); leave them at their defaults")
        self.sigma_w, self.sigma_b = V.finite("sigma_w", V.sigma("sigma_w", sigma_w)), V.finite(
            "sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
        self.alpha = V.finite("alpha", V.positive("alpha", alpha))
        self.ste, self.ste_slope = _check_ste(ste, ste_slope)
        self.depth, self.width = depth, width
        device = torch.device(device) if device is not None else torch.device("cpu")
        sizes = [n_in] + [width] * depth + [n_out]
        self.layers = torch.nn.ModuleList(
            torch.nn.Linear(a, b, bias=True, dtype=dtype, device=device) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for lin, (w, b) in zip(self.layers, init_draws(sizes, self.sigma_w, self.sigma_b, seed)):
                lin.weight.copy_(w)
                lin.bias.copy_(b)

    def phi(self, x):
        from .nn import staircase_ste

        if isinstance(self.act, Staircase):
            return staircase_ste(x, self.act, self.ste, self.ste_slope)
        return self._torch_fn(x)

    def forward(self, x, return_preactivations=False):
        h = self.layers[0](x)
        pre = [h]
        for lin in self.layers[1:-1]:
            h = h + self.alpha * lin(self.phi(h))
            pre.append(h)
        out = self.layers[-1](self.phi(h))
        return (out, pre) if return_preactivations else out

    def extra_repr(self):
        from .nn import _act_label

        return (f"depth={self.depth}, width={self.width}, alpha={self.alpha:g}, sigma_w={self.sigma_w:g}, "
                f"sigma_b={self.sigma_b:g}, act={_act_label(self.act)}, slope={self.ste_slope:g}")


def residual_factory(alpha):
    """A ``model_factory`` for :func:`qmf_sim.training.run_training`: the :class:`QuantizedResMLP` of a
    run's config (its activation, ``TrainConfig.act``) with branch weight ``alpha``."""
    V.positive("alpha", alpha)

    def make(cfg, dataset, dtype, device):
        return QuantizedResMLP(dataset.n_features, cfg.width, cfg.depth, dataset.n_classes, cfg.act(), cfg.sigma_w,
                               cfg.sigma_b, alpha, ste=cfg.ste, ste_slope=cfg.ste_slope, dtype=dtype, device=device,
                               seed=cfg.seed)

    return make
