"""Random-network experiments of paper 1 (sec. 3.1 and sec. 5): finite networks against the mean field.

* :func:`propagate` -- batched forward of many independent random networks (no ``nn.Module``),
  with per-layer reductions of the empirical covariance matrix;
* :func:`layer_statistics` -- per-layer Q^(l), C^(l) with standard errors over weight draws;
* :func:`one_layer_statistics` -- one wide layer fed with exact Gaussian pre-activations
  (the unit-level check of eq. 4);
* :func:`empirical_chi` -- an empirical chi (eq. 6) as the finite difference of the empirical
  correlation map on pairs of nearby inputs, with common random numbers;
* :func:`circle_inputs` -- the great-circle inputs of sec. 5, scaled so that Q^(1) = Q*;
* :func:`correlation_propagation` (Fig. 1) and :func:`finite_width_errors` (error vs width).

Any activation of :mod:`qmf_sym.activations` (staircases, erf, tanh, ReLU, leaky ReLU, hard tanh; a ``Smooth``
one needs a torch form, see :func:`qmf_sim.nn.torch_function`) is applied by :func:`qmf_sim.nn.activation_forward`
(a staircase through :func:`qmf_sim.nn.staircase_forward`, its one torch home); the mean field it is held
against dispatches on the same activation (:mod:`qmf_sym.maps`).
The figures and files of these experiments are in :mod:`qmf_sim.experiments.netprop`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from qmf_sim.nn import activation_forward, checked_activation
from qmf_sym import _validate as V
from qmf_sym.activations import Staircase, as_activation

__all__ = [
    "circle_inputs",
    "gaussian_pair_inputs",
    "propagate",
    "layer_statistics",
    "one_layer_statistics",
    "empirical_chi",
    "circulant_profile",
    "sigma_w_optimal",
    "decay_layer",
    "correlation_propagation",
    "finite_width_errors",
]


# ----------------------------------------------------------------------------- random-network experiments
def _seed(seed):
    """``None`` or a validated integer seed >= 0 (a bool is not a seed)."""
    return None if seed is None else V.integer("seed", seed, 0)


def _device(device):
    """A torch device from None ('cpu'), a string or a torch.device; ``ValueError`` naming ``device``
    when it is malformed or not present here."""
    V.device_spec("device", device)
    dev = torch.device("cpu") if device is None else torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: no CUDA device is available here; use 'cpu'")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device {device!r}: no MPS device is available here; use 'cpu'")
    return dev


def _dtype(dtype):
    return V.torch_float_dtype("dtype", dtype)


def _inputs(X):
    """X as a floating tensor of finite values (a tensor, an array or nested lists)."""
    if isinstance(X, torch.Tensor):
        if not X.is_floating_point() or X.numel() == 0 or not bool(torch.isfinite(X).all()):
            raise ValueError(f"X must be a non-empty floating tensor of finite values, got {X.dtype} of shape "
                             f"{tuple(X.shape)}")
        return X
    return torch.as_tensor(V.array("X", X))


def _gen(seed, device):
    g = torch.Generator(device=torch.device(device).type if device is not None else "cpu")
    seed = _seed(seed)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(seed)
    return g


def circulant_profile(K: torch.Tensor) -> torch.Tensor:
    """For inputs on a circle (equally spaced angles), average K[i, (i + k) mod r] over i.

    ``K`` has shape (..., r, r); returns (..., r): entry k is the mean over the r pairs whose
    angle difference is Delta theta = 2 pi k / r.
    """
    if not isinstance(K, torch.Tensor) or K.ndim < 2 or K.shape[-1] != K.shape[-2] or K.shape[-1] == 0:
        raise ValueError(f"K must be a tensor of shape (..., r, r) with r >= 1, got "
                         f"{tuple(K.shape) if isinstance(K, torch.Tensor) else repr(K)}")
    r = K.shape[-1]
    ar = torch.arange(r, device=K.device)
    idx = (ar[:, None] + ar[None, :]) % r
    idx = idx.expand(*K.shape[:-2], r, r)
    return K.gather(-1, idx).mean(dim=-2)


def circle_inputs(r, n0, Q1, sigma_w, sigma_b=0.0, seed=None, dtype=torch.float64):
    """The great-circle inputs of paper 1, sec. 5, scaled so that the *first pre-activation* has
    variance Q1.

    x_i = s (u0 cos theta_i + u1 sin theta_i), theta_i = 2 pi i / r, with u0, u1 orthonormal in
    R^n0.  Since alpha^(1) = W^(1) x + b^(1) with W ~ N(0, sigma_w^2 / n0), the mean-field
    Q^(1) = sigma_w^2 ``|x|^2`` / n0 + sigma_b^2; the paper's scaling ``|x|^2`` = Q* gives
    Q^(1) = sigma_w^2 Q* / n0 instead of Q*.  We take s^2 = n0 (Q1 - sigma_b^2) / sigma_w^2 so
    that Q^(1) = Q1 (use Q1 = Q*), and the mean-field C^(1)(Delta theta) =
    (sigma_w^2 s^2 cos(Delta theta) / n0 + sigma_b^2) / Q1.

    Returns (X (r, n0) tensor, theta (r,) numpy array of Delta theta = 2 pi k / r).
    r * n0 is bounded by the memory budget (``qmf_sym._validate.memory_budget``) (checked before allocating).
    """
    r = V.integer("r", r, 2)
    n0 = V.integer("n0", n0, 2)
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    Q1 = V.finite("Q1", V.positive("Q1", Q1))
    _dtype(dtype)
    V.size_product(None, [("r", r), ("n0", n0)])
    if Q1 <= sigma_b ** 2:
        raise ValueError(f"Q1 must be in (sigma_b^2, inf) = ({sigma_b ** 2}, inf), got {Q1}")
    g = _gen(seed, "cpu")
    u, _ = torch.linalg.qr(torch.randn(n0, 2, generator=g, dtype=torch.float64))
    theta = 2 * np.pi * np.arange(r) / r
    s = math.sqrt(n0 * (Q1 - sigma_b ** 2)) / sigma_w
    th = torch.tensor(theta, dtype=torch.float64)
    X = s * (torch.cos(th)[:, None] * u[:, 0] + torch.sin(th)[:, None] * u[:, 1])
    return X.to(dtype), theta


def gaussian_pair_inputs(Q, C, n, n_draws=1, seed=None, dtype=torch.float64, device=None):
    """Exact Gaussian pre-activations (u1, u2) ~ N(0, Q [[1, C], [C, 1]]), n i.i.d. neurons each.

    Returns a tensor of shape (n_draws, 2, n); 2 n n_draws <= the memory budget (``qmf_sym._validate.memory_budget``)."""
    Q = V.finite("Q", V.positive("Q", Q))
    C = V.finite("C", V.in_closed("C", C, -1, 1))
    n = V.integer("n", n, 1)
    n_draws = V.integer("n_draws", n_draws, 1)
    _dtype(dtype)
    device = _device(device)
    V.size_product(None, [("n_draws", n_draws), ("n", n), ("pair", 2)])
    g = _gen(seed, "cpu")
    z = torch.randn(n_draws, 2, n, generator=g, dtype=torch.float64)
    u1 = z[:, 0]
    u2 = C * z[:, 0] + math.sqrt(max(0.0, 1 - C * C)) * z[:, 1]
    return (math.sqrt(Q) * torch.stack([u1, u2], dim=1)).to(dtype=dtype, device=device)


def _sqrtm_psd(G: torch.Tensor) -> torch.Tensor:
    """A with A A^T = G for a batch of PSD matrices (eigen-decomposition, negative round-off clamped)."""
    ev, U = torch.linalg.eigh(G)
    return U * ev.clamp_min(0).sqrt()[..., None, :]


def propagate(act, X, sigma_w, sigma_b=0.0, depth=1, width=1000, *, n_draws=1, reduce=None, layers=None,
              method="weights", dtype=torch.float32, device=None, seed=None, chunk=None, progress=False,
              phi_first=False, torch_fn=None):
    """Forward many independent random networks (eq. 1) at once and reduce each layer's covariance.

    For every draw d and hidden layer l = 1..depth, the empirical covariance matrix of the batch
    of r inputs, K^(l)_ij = (1/n) sum_k alpha^(l)_k(x_i) alpha^(l)_k(x_j) (its diagonal is Q^(l)
    per input), is passed to ``reduce(K, l)`` (K of shape (D, r, r) for a chunk of D draws; default:
    keep K).  Returns a list over the recorded ``layers`` (default all 1..depth) of tensors stacked
    over draws: ``out[i][d]`` = reduce(K^(layers[i]) of draw d).

    ``X``: (r, n0) inputs shared by all draws, or (n_draws, r, n0).  ``phi_first=True`` feeds
    phi(X) to the first layer (use when X are Gaussian pre-activations of a layer 0).

    ``act``: any activation of :mod:`qmf_sym.activations`; ``torch_fn``: the torch form of a ``Smooth`` one
    (:func:`qmf_sim.nn.torch_function`; without it a ``Smooth`` activation is refused before any work).

    ``method``:

    * ``"weights"`` -- draw W^(l) ~ N(0, sigma_w^2/n_in) (D, n, n_in) and b^(l) explicitly and
      multiply (the real network; cost O(D r n^2) per layer);
    * ``"gram"`` -- sample alpha^(l) directly from its exact conditional law given the previous
      layer: W^(l) is independent of alpha^(l-1), so the r x n matrix alpha^(l) has i.i.d. columns
      N(0, G) with G = sigma_w^2 h h^T / n_in + sigma_b^2, h = phi(alpha^(l-1)).  Same joint law of
      all pre-activations as ``"weights"``, at cost O(D (r^2 n + r^3)): for r << n.

    Sizes are checked before anything is allocated (``qmf_sym._validate.size_product``, bound: the
    memory budget): the recorded output n_draws x len(layers) x r x r (x r without the
    default ``reduce``), one draw's weights width x max(width, n0) and activations r x width.
    """
    act = checked_activation(act, torch_fn)  # a Smooth activation without its torch form: refused before any work
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    depth = V.integer("depth", depth, 1)
    width = V.integer("width", width, 1)
    n_draws = V.integer("n_draws", n_draws, 1)
    V.choice("method", method, ("weights", "gram"))
    V.optional_callable("reduce", reduce)
    _dtype(dtype)
    V.flag("progress", progress)
    V.flag("phi_first", phi_first)
    chunk = None if chunk is None else V.integer("chunk", chunk, 1)
    device = _device(device)
    X = _inputs(X)
    if X.ndim == 2:
        X = X.unsqueeze(0).expand(n_draws, *X.shape)
    if X.ndim != 3 or X.shape[0] != n_draws:
        raise ValueError(f"X must have shape (r, n0) or (n_draws, r, n0), got {tuple(X.shape)}")
    r, n0 = X.shape[1], X.shape[2]
    V.integer("r (number of inputs)", r, 1)
    layers = None if layers is None else V.integers("layers", layers, 1, depth)
    V.size_product(None, [("n_draws", n_draws), ("depth", depth) if layers is None else ("layers", len(layers)),
                          ("r", r)] + ([("r", r)] if reduce is None else []))
    layers = list(range(1, depth + 1)) if layers is None else layers
    V.size_product("width", [("width", width), ("width" if width >= n0 else "n0", max(width, n0))]
                   if method == "weights" else [("r", r), ("width", width)])
    want = set(layers)
    if reduce is None:
        reduce = lambda K, l: K  # noqa: E731
    if chunk is None:
        per = max(width * max(width, n0), r * width) * torch.finfo(dtype).bits // 8
        chunk = max(1, min(n_draws, int(2 ** 28 // max(per, 1))))
    g = _gen(seed, device)
    out = {l: [] for l in layers}
    it = range(0, n_draws, chunk)
    if progress:
        from tqdm import tqdm

        it = tqdm(list(it), desc="draws", leave=False)
    sw, sb = float(sigma_w), float(sigma_b)
    for start in it:
        D = min(chunk, n_draws - start)
        h = X[start:start + D].to(device=device, dtype=dtype)
        if phi_first:
            h = activation_forward(h, act, torch_fn)
        for l in range(1, depth + 1):
            n_in = h.shape[-1]
            if method == "weights":
                W = torch.randn(D, width, n_in, generator=g, dtype=dtype, device=device)
                W.mul_(sw / math.sqrt(n_in))
                a = torch.bmm(h, W.transpose(1, 2))
                if sb > 0:
                    a.add_(torch.randn(D, 1, width, generator=g, dtype=dtype, device=device), alpha=sb)
            else:
                h64 = h.to(torch.float64)
                G = (sw * sw / n_in) * torch.bmm(h64, h64.transpose(1, 2)) + sb * sb
                A = _sqrtm_psd(G).to(dtype)
                Z = torch.randn(D, r, width, generator=g, dtype=dtype, device=device)
                a = torch.bmm(A, Z)
            if l in want:
                K = torch.bmm(a, a.transpose(1, 2)) / width
                out[l].append(reduce(K, l))
            if l < depth:
                h = activation_forward(a, act, torch_fn)
    return [torch.cat(out[l], dim=0) for l in layers]


def _check_resolved(C, sigma_w, sigma_b, dtype):
    """A correlation K12 / sqrt(K11 K22) is a number only while the variances are: ``ValueError``
    naming sigma_w when they under- or overflowed ``dtype`` (e.g. sigma_w = 1e-300: Q ~ 1e-600)."""
    if not bool(torch.isfinite(C).all()):
        raise ValueError(f"sigma_w = {sigma_w}, sigma_b = {sigma_b}: the layer variances under- or overflow "
                         f"{dtype} (the correlations are 0/0); choose sigma_w nearer 1")


def _mean_se(t: torch.Tensor):
    """Mean and standard error over the leading (draw) axis, as float64 numpy arrays."""
    t = t.to(torch.float64)
    D = t.shape[0]
    m = t.mean(0)
    se = t.std(0, unbiased=True) / math.sqrt(D) if D > 1 else torch.full_like(m, float("nan"))
    return m.cpu().numpy(), se.cpu().numpy()


def layer_statistics(act, X, sigma_w, sigma_b=0.0, depth=1, width=1000, *, n_draws=8, method="weights",
                     dtype=torch.float32, device=None, seed=None, phi_first=False, torch_fn=None):
    """Per-layer empirical statistics of a batch of inputs with standard errors over weight draws.

    Returns a dict of float64 numpy arrays, for layers l = 1..depth (axis 0):
    ``Q`` (L, r): mean squared pre-activation per input, (1/n) sum_k alpha_k(x_i)^2, averaged over
    draws; ``Q_se``; ``Qbar``/``Qbar_se`` (L,): also averaged over inputs; ``K``/``K_se`` (L, r, r):
    the covariance matrix; ``C``/``C_se`` (L, r, r): the correlation matrix
    K_ij / sqrt(K_ii K_jj) of each draw, averaged over draws (a ratio: bias O(1/n));
    ``Q_draws``, ``C_draws``: the per-draw values (D, L, r) and (D, L, r, r).
    """
    Ks = propagate(act, X, sigma_w, sigma_b, depth, width, n_draws=n_draws, method=method, dtype=dtype,
                   device=device, seed=seed, phi_first=phi_first, torch_fn=torch_fn)
    K = torch.stack(Ks, dim=1).to(torch.float64)  # (D, L, r, r)
    q = torch.diagonal(K, dim1=-2, dim2=-1)  # (D, L, r)
    C = K / torch.sqrt(q[..., :, None] * q[..., None, :])
    _check_resolved(C, sigma_w, sigma_b, dtype)
    res = {}
    res["Q"], res["Q_se"] = _mean_se(q)
    res["Qbar"], res["Qbar_se"] = _mean_se(q.mean(-1))
    res["K"], res["K_se"] = _mean_se(K)
    res["C"], res["C_se"] = _mean_se(C)
    res["Q_draws"], res["C_draws"] = q.cpu().numpy(), C.cpu().numpy()
    return res


def one_layer_statistics(act, Q, C, sigma_w, sigma_b=0.0, n_prev=2000, n_next=2000, n_draws=16, seed=None,
                         dtype=torch.float64, device=None, torch_fn=None):
    """One wide layer fed with exact Gaussian pre-activations: the unit-level check of eq. 2-4.

    (u1, u2) ~ N(0, Q [[1, C], [C, 1]]) on n_prev i.i.d. neurons; alpha = W phi(u) + b with a
    real weight matrix W (n_next x n_prev, N(0, sigma_w^2/n_prev)) and b ~ N(0, sigma_b^2).
    Per draw: Q_hat = mean of alpha_1^2 and alpha_2^2 over the n_next neurons, K12_hat = mean of
    alpha_1 alpha_2 (both unbiased for the mean-field Q_next and Q_next C_next of ``layer_map``),
    C_hat = K12 / sqrt(K11 K22) (bias O(1/n)).  Returns dict of (mean, se) over draws and the
    per-draw arrays.  Sizes: 2 n_prev n_draws and n_next n_prev <= the memory budget (``qmf_sym._validate.memory_budget``).
    """
    act = as_activation(act)
    n_prev = V.integer("n_prev", n_prev, 1)
    n_next = V.integer("n_next", n_next, 1)
    n_draws = V.integer("n_draws", n_draws, 1)
    V.size_product(None, [("n_draws", n_draws), ("n_prev", n_prev), ("pair", 2)])
    V.size_product(None, [("n_next", n_next), ("n_prev", n_prev)])
    u = gaussian_pair_inputs(Q, C, n_prev, n_draws, seed=seed, dtype=dtype, device=device)
    seed2 = None if seed is None else _seed(seed) + 7919
    (K,) = propagate(act, u, sigma_w, sigma_b, 1, n_next, n_draws=n_draws, dtype=dtype, device=device,
                     seed=seed2, phi_first=True, torch_fn=torch_fn)
    K = K.to(torch.float64)
    q = 0.5 * (K[:, 0, 0] + K[:, 1, 1])
    k12 = K[:, 0, 1]
    c = k12 / torch.sqrt(K[:, 0, 0] * K[:, 1, 1])
    _check_resolved(c, sigma_w, sigma_b, dtype)
    out = {}
    for name, t in (("Q", q), ("K12", k12), ("C", c)):
        out[name], out[name + "_se"] = _mean_se(t)
        out[name + "_draws"] = t.cpu().numpy()
    return out


def empirical_chi(act, sigma_w, sigma_b=0.0, Q=None, C=None, eps=0.05, n_prev=4000, n_next=4000, n_draws=16,
                  seed=None, dtype=torch.float64, device=None, torch_fn=None):
    """Empirical chi (eq. 6 of paper 1) from pairs of nearby inputs around (Q, C).

    Three Gaussian pre-activation vectors share their noise (common random numbers):
    u_a = sqrt(Q) z1, u_b(c) = sqrt(Q) (c z1 + sqrt(1 - c^2) z2) for c = C - eps, C + eps, and one
    weight draw W per network.  Per draw the empirical next-layer covariances K_ab(c) give the
    central finite difference of the correlation map (eq. 5, divided by the *input* Q as there)::

        chi_hat = [K_ab(C + eps) - K_ab(C - eps)] / (2 eps Q).

    Defaults: Q = Q*, C = C* of ``qmf_sym.maps.fixed_point``.  Returns dict with ``chi`` (mean over
    draws), ``chi_se``, ``chi_fd`` (the same finite difference of the mean-field covariance
    sigma_w^2 E phi(u1) phi(u2) + sigma_b^2 (``qmf_sym.maps.post_activation_covariance``): what
    the estimator is unbiased for), ``chi_theory`` (eq. 6 at (Q, C)), ``Q``, ``C``, ``eps``.
    """
    from qmf_sym import maps

    act = as_activation(act)
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    eps = V.finite("eps", V.positive("eps", eps))
    n_prev = V.integer("n_prev", n_prev, 1)
    n_next = V.integer("n_next", n_next, 1)
    n_draws = V.integer("n_draws", n_draws, 1)
    _dtype(dtype)
    device = _device(device)
    _seed(seed)
    if Q is not None:
        Q = V.finite("Q", V.positive("Q", Q))
    if C is not None:
        C = V.finite("C", V.in_closed("C", C, -1, 1))
    V.size_product(None, [("n_draws", n_draws), ("n_prev", n_prev), ("inputs", 3)])
    V.size_product(None, [("n_next", n_next), ("n_prev", n_prev)])
    if Q is None or C is None:
        fp = maps.fixed_point(act, sigma_w, sigma_b)
        Q = float(fp.Q) if Q is None else Q
        C = float(fp.C) if C is None else C
    V.in_closed("C - eps, C + eps", np.array([C - eps, C + eps]), -1, 1)
    g = _gen(seed, "cpu")
    z = torch.randn(n_draws, 2, n_prev, generator=g, dtype=torch.float64)
    sq = math.sqrt(Q)
    ua = sq * z[:, 0]
    ub = [sq * (c * z[:, 0] + math.sqrt(max(0.0, 1 - c * c)) * z[:, 1]) for c in (C - eps, C + eps)]
    u = torch.stack([ua, ub[0], ub[1]], dim=1).to(dtype=dtype, device=device)
    seed2 = None if seed is None else _seed(seed) + 104729
    (K,) = propagate(act, u, sigma_w, sigma_b, 1, n_next, n_draws=n_draws, dtype=dtype, device=device,
                     seed=seed2, phi_first=True, torch_fn=torch_fn)
    K = K.to(torch.float64)
    est = (K[:, 0, 2] - K[:, 0, 1]) / (2 * eps * Q)
    chi, se = _mean_se(est)
    Kn = [sigma_w ** 2 * float(maps.post_activation_covariance(act, Q, c)) + sigma_b ** 2 for c in (C - eps, C + eps)]
    fd = (Kn[1] - Kn[0]) / (2 * eps * Q)
    return {"chi": float(chi), "chi_se": float(se), "chi_fd": fd,
            "chi_theory": float(maps.chi(act, Q, C, sigma_w, sigma_b)), "Q": Q, "C": C, "eps": eps,
            "chi_draws": est.cpu().numpy()}


# ----------------------------------------------------------------------------- paper 1, sec. 5 / Fig. 1
def sigma_w_optimal(act, sigma_b=0.0):
    """sigma_w maximising chi at the fixed point: ``qmf_sym.init.sigma_w_opt`` for a uniform staircase
    at sigma_b = 0 (the paper's recipe, sec. 5), else for a staircase a bounded scalar maximisation of
    ``maps.fixed_point(act, s, sigma_b).chi``.  A continuous activation: chi <= 1 with its maximum 1 on the
    order-to-chaos line, so the edge of chaos :func:`qmf_sym.maps.edge_of_chaos` (its ValueError where the
    line does not exist at this sigma_b, e.g. ReLU with sigma_b > 0)."""
    from qmf_sym import maps
    from qmf_sym.init import sigma_w_opt, uniform_spacing

    act = as_activation(act)
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    if not isinstance(act, Staircase):
        return float(maps.edge_of_chaos(act, sigma_b).sigma_w)
    if sigma_b == 0:
        try:
            uniform_spacing(act)
        except ValueError:
            pass  # not of the eq. 17 family: maximise chi numerically below
        else:
            return float(sigma_w_opt(act))
    from scipy.optimize import minimize_scalar

    grid = np.geomspace(0.05, 50, 61)
    vals = [maps.fixed_point(act, s, sigma_b).chi for s in grid]
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize_scalar(lambda s: -maps.fixed_point(act, s, sigma_b).chi, bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-7})
    return float(res.x)


def decay_layer(values, start, target, layers=None):
    """First layer at which (values - target) / (values[0] - target) falls to 1/e (the decay depth of
    paper 1, sec. 5, measured as in Fig. 1).

    ``values[i]`` (finite) is the quantity at ``layers[i]`` (default start, start + 1, ...; strictly
    increasing when given, as many as ``values``); linear interpolation of log((v - target)/(v0 - target))
    between the bracketing layers.  Returns ``inf`` if it never does within the layers given (and for
    a curve that starts at the target, ``values[0] == target``, where nothing decays)."""
    v = V.array("values", values, ndim=1)
    start = V.finite("start", start)
    target = V.finite("target", target)
    if layers is not None:
        layers = V.array("layers", layers, ndim=1)
        if layers.shape != v.shape:
            raise ValueError(f"layers must hold one layer per value ({len(v)}), got {len(layers)}")
        if np.any(np.diff(layers) <= 0):
            raise ValueError(f"layers must be strictly increasing, got {layers!r}")
    return _decay_layer(v, start, target, layers)


def _decay_layer(v, start, target, layers=None):
    """:func:`decay_layer` on validated input (NaN values propagate: a curve that is not a number
    nowhere falls below 1/e and gives ``inf``)."""
    layers = np.arange(start, start + len(v)) if layers is None else np.asarray(layers, dtype=float)
    d0 = v[0] - target
    if d0 == 0 or not np.isfinite(d0):
        return math.inf
    rho = (v - target) / d0
    thr = math.exp(-1)
    below = np.nonzero(rho <= thr)[0]
    if len(below) == 0:
        return math.inf
    i = int(below[0])
    if i == 0:
        return float(layers[0])
    r0, r1 = rho[i - 1], rho[i]
    if r1 > 0 and r0 > 0:
        f = (math.log(r0) + 1) / (math.log(r0) - math.log(r1))
    else:
        f = (r0 - thr) / (r0 - r1)
    return float(layers[i - 1] + f * (layers[i] - layers[i - 1]))


def correlation_propagation(act, sigma_ws, sigma_b=0.0, depth=100, width=1000, r=500, n0=None, *, n_draws=1,
                            dtheta_decay=math.pi / 3, n_theory=61, dtype=torch.float32, device=None, seed=0,
                            progress=False, torch_fn=None):
    """The correlation-propagation experiment of paper 1, sec. 5 (Fig. 1), for several sigma_w.

    For each sigma_w: Q* = ``maps.fixed_point(act, sigma_w, sigma_b).Q``; r inputs on a great circle
    in R^n0 (n0 = width by default) scaled so that Q^(1) = Q* (:func:`circle_inputs`; note the
    paper's ``|x|^2`` = Q* would give Q^(1) = sigma_w^2 Q* / n0); ``n_draws`` random networks of
    ``depth`` layers of ``width`` units (method "weights": real weight matrices).  Per layer, the
    empirical covariance K^(l)(Delta theta) and correlation C^(l)(Delta theta) are averaged over the
    r pairs with the same angle difference Delta theta = 2 pi k / r (and over draws).  Layer 0 is
    the input on the pre-activation scale, sigma_w^2 x.x'/n0 + sigma_b^2 (= the mean-field
    covariance of alpha^(1)).

    The mean-field prediction iterates ``maps.iterate`` from the same inputs' Q^(1) = Q* and
    C^(1)(Delta theta) on ``n_theory`` angles in [0, pi] (plus 8 small angles and the decay angle).

    Decay: at the angle closest to ``dtheta_decay`` the layer where (C^(l) - C*) / (C^(1) - C*)
    first reaches 1/e (:func:`decay_layer`), empirical and mean-field, against xi = -1/log chi
    (eq. 7) at the fixed point.

    Returns a dict with ``theta`` (r,), ``layers`` (0..depth), and per sigma_w a dict ``runs[i]``
    with keys sigma_w, Q_star, C_star, chi, xi, cov (depth+1, r), corr (depth+1, r), cov_se,
    corr_se (nan for one draw), theta_theory, cov_theory (depth+1, n_theory+1), corr_theory,
    k_decay, dtheta_decay, decay_emp, decay_mf, input_scale (``|x|``), seconds.
    """
    import time

    from qmf_sym import maps

    act = as_activation(act)
    r = V.integer("r", r, 2)
    depth = V.integer("depth", depth, 1)
    width = V.integer("width", width, 1)
    n0 = width if n0 is None else V.integer("n0", n0, 2)
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    sigma_ws = [float(s) for s in V.positive("sigma_ws", V.array("sigma_ws", sigma_ws, ndim=1))]
    seed = V.integer("seed", seed, 0)
    n_draws = V.integer("n_draws", n_draws, 1)
    dtheta_decay = V.finite("dtheta_decay", V.in_closed("dtheta_decay", dtheta_decay, 0.0, 2 * np.pi))
    n_theory = V.integer("n_theory", n_theory, 2, 10 ** 6, "the mean-field angles (an O(n_theory depth) iteration)")
    _dtype(dtype)
    _device(device)
    V.flag("progress", progress)
    V.size_product(None, [("r", r), ("n0" if n0 != width else "width", n0)])
    V.size_product(None, [("n_draws", n_draws), ("depth", depth), ("r", r), ("profiles", 2)])
    V.size_product("width", [("width", width), ("width" if width >= n0 else "n0", max(width, n0))])
    V.size_product(None, [("n_theory", n_theory + 9), ("depth", depth)])
    runs = []
    theta = 2 * np.pi * np.arange(r) / r
    k_dec = int(round(dtheta_decay * r / (2 * np.pi))) % r
    for j, sw in enumerate(sigma_ws):
        t0 = time.perf_counter()
        try:
            fp = maps.fixed_point(act, sw, sigma_b)
        except ValueError as exc:
            raise ValueError(f"sigma_ws: {exc}") from exc
        Qs, Cs = float(fp.Q), float(fp.C)
        X, _ = circle_inputs(r, n0, Qs, sw, sigma_b, seed=seed + 1000 * j, dtype=torch.float64)
        K0 = sw * sw * (X @ X.T) / n0 + sigma_b ** 2
        cov0 = circulant_profile(K0).numpy()

        def red(K, l):
            q = torch.diagonal(K, dim1=-2, dim2=-1)
            Cm = K / torch.sqrt(q[..., :, None] * q[..., None, :])
            return torch.stack([circulant_profile(K), circulant_profile(Cm)], dim=1)

        prof = propagate(act, X, sw, sigma_b, depth, width, n_draws=n_draws, reduce=red, dtype=dtype,
                         device=device, seed=seed + 1000 * j + 1, progress=progress, torch_fn=torch_fn)
        P = torch.stack(prof, dim=1).to(torch.float64)  # (D, L, 2, r)
        m, se = _mean_se(P)
        cov = np.vstack([cov0, m[:, 0]])
        corr = np.vstack([cov0 / cov0[0], m[:, 1]])
        cov_se = np.vstack([np.zeros(r), se[:, 0]])
        corr_se = np.vstack([np.zeros(r), se[:, 1]])
        t_emp = time.perf_counter() - t0
        # mean field from the same inputs
        # dense near 0, where C -> 1 and the map is steepest (chi diverges at C = 1)
        th_grid = np.unique(np.concatenate([np.linspace(0, np.pi, n_theory), np.geomspace(1e-3, 0.1, 8)]))
        th_t = np.append(th_grid, theta[k_dec])
        C1 = np.clip((sw * sw * (float(X[0] @ X[0]) / n0) * np.cos(th_t) + sigma_b ** 2) / Qs, -1, 1)
        Qm, Cm = maps.iterate(act, Qs, C1, sw, sigma_b, depth)
        covm = np.vstack([Qs * C1, Qm * Cm])
        corrm = np.vstack([C1, Cm])
        dec_emp = _decay_layer(corr[1:, k_dec], 1, Cs)
        dec_mf = _decay_layer(corrm[1:, -1], 1, Cs)
        runs.append(dict(sigma_w=sw, sigma_b=float(sigma_b), Q_star=Qs, C_star=Cs, chi=float(fp.chi),
                         xi=float(fp.xi), cov=cov, corr=corr, cov_se=cov_se, corr_se=corr_se,
                         theta_theory=th_t[:-1], cov_theory=covm[:, :-1], corr_theory=corrm[:, :-1],
                         corr_theory_decay=corrm[:, -1], k_decay=k_dec, dtheta_decay=float(theta[k_dec]),
                         decay_emp=dec_emp, decay_mf=dec_mf, input_scale=float(X[0].norm()),
                         seconds_network=t_emp, seconds=time.perf_counter() - t0))
    return {"theta": theta, "layers": np.arange(depth + 1), "runs": runs, "act": act, "width": width,
            "depth": depth, "r": r, "n_draws": n_draws}


# ----------------------------------------------------------------------------- finite width
def finite_width_errors(act, sigma_w, sigma_b=0.0, widths=(64, 128, 256, 512, 1024, 2048, 4096), depth=30,
                        angles=(0.0, math.pi / 6, math.pi / 3, math.pi / 2), n_draws=256, method="gram",
                        dtype=torch.float64, device=None, seed=0, torch_fn=None):
    """Empirical minus mean-field Q^(l), C^(l) per layer for several widths n (paper 1, eq. 4 at finite n).

    Inputs: r = len(angles) points on a great circle scaled so that Q^(1) = Q* (:func:`circle_inputs`,
    n0 = 4096); the mean-field reference iterates ``maps.iterate`` from Q^(1) = Q*, C^(1) = cos(angle
    difference) (sigma_b = 0; with sigma_b > 0 the exact C^(1) of the inputs).  ``n_draws`` independent
    networks per width (``method`` as in :func:`propagate`; "gram" samples each layer from its exact
    conditional law, so the widths up to 4096 are cheap).

    Per width and layer: ``Q_rms`` = RMS over draws and inputs of Q_emp - Q_mf, ``Q_bias`` = mean
    (``Q_bias_se``), and ``C_rms``, ``C_bias``, ``C_bias_se`` the same over the input pairs.  The
    relative errors divide by Q_mf.  Fits: log(error averaged over layers) = a + p log n by least
    squares, p reported as ``fit[name] = (p, a)`` (with two or more widths; one width: no fits).
    """
    from qmf_sym import maps

    act = as_activation(act)
    widths = V.integers("widths", widths, 1)
    depth = V.integer("depth", depth, 1)
    seed = V.integer("seed", seed, 0)
    n_draws = V.integer("n_draws", n_draws, 2)  # the standard errors need two draws
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    angles = V.array("angles", angles, ndim=1, min_size=2)  # at least one input pair
    V.choice("method", method, ("weights", "gram"))
    _dtype(dtype)
    _device(device)
    r = len(angles)
    for n in widths:
        V.size_product(None, [("n_draws", n_draws), ("depth", depth), ("angles", r), ("angles", r)])
        V.size_product("widths", [("widths", n), ("widths", max(n, 4096))] if method == "weights"
                       else [("angles", r), ("widths", n)])
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    Qs = float(fp.Q)
    n0 = 4096
    g = _gen(seed, "cpu")
    u, _ = torch.linalg.qr(torch.randn(n0, 2, generator=g, dtype=torch.float64))
    th = torch.tensor(angles, dtype=torch.float64)
    s = math.sqrt(n0 * (Qs - sigma_b ** 2)) / sigma_w
    X = s * (torch.cos(th)[:, None] * u[:, 0] + torch.sin(th)[:, None] * u[:, 1])
    r = len(angles)
    iu = np.triu_indices(r, 1)
    K1 = (sigma_w ** 2 * (X @ X.T) / n0 + sigma_b ** 2).numpy()
    C1 = np.clip(K1[iu] / Qs, -1, 1)
    Qm, Cm = maps.iterate(act, Qs, C1, sigma_w, sigma_b, depth)  # (L,), (L, pairs)
    Qm = Qm[:, 0]
    out = {"widths": np.array(widths), "layers": np.arange(1, depth + 1), "Q_mf": Qm, "C_mf": Cm,
           "sigma_w": sigma_w, "sigma_b": sigma_b, "Q_star": Qs, "xi": float(fp.xi), "angles": np.array(angles),
           "n_draws": n_draws, "method": method}
    keys = ("Q_rms", "Q_bias", "Q_bias_se", "C_rms", "C_bias", "C_bias_se")
    for k in keys:
        out[k] = np.zeros((len(widths), depth))
    for i, n in enumerate(widths):
        st = layer_statistics(act, X, sigma_w, sigma_b, depth, n, n_draws=n_draws, method=method, dtype=dtype,
                              device=device, seed=seed + 17 * (i + 1), torch_fn=torch_fn)
        dQ = st["Q_draws"] - Qm[None, :, None]  # (D, L, r)
        dC = st["C_draws"][:, :, iu[0], iu[1]] - Cm[None]  # (D, L, pairs)
        out["Q_rms"][i] = np.sqrt((dQ ** 2).mean(axis=(0, 2)))
        out["Q_bias"][i] = dQ.mean(axis=(0, 2))
        out["Q_bias_se"][i] = dQ.mean(axis=2).std(axis=0, ddof=1) / math.sqrt(n_draws)
        out["C_rms"][i] = np.sqrt((dC ** 2).mean(axis=(0, 2)))
        out["C_bias"][i] = dC.mean(axis=(0, 2))
        out["C_bias_se"][i] = dC.mean(axis=2).std(axis=0, ddof=1) / math.sqrt(n_draws)
    out["Q_rel_rms"] = out["Q_rms"] / Qm[None]
    ln = np.log(np.array(widths, dtype=float))
    fit = {}
    for name in ("Q_rel_rms", "C_rms") if len(widths) >= 2 else ():  # a slope needs two widths
        y = np.log(out[name].mean(axis=1))
        p, a = np.polyfit(ln, y, 1)
        fit[name] = (float(p), float(a))
    # bias: fit only where it is resolved (|bias| > 3 SE, averaged over layers)
    for name in ("Q_bias", "C_bias"):
        b = np.abs(out[name].mean(axis=1))
        se = np.sqrt((out[name + "_se"] ** 2).mean(axis=1) / depth)  # rough: layers treated as independent
        ok = b > 3 * se
        fit[name] = (float(np.polyfit(ln[ok], np.log(b[ok]), 1)[0]), float(ok.sum())) if ok.sum() >= 2 else (
            float("nan"), float(ok.sum()))
    out["fit"] = fit
    return out
