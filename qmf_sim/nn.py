"""Torch face of the quantized networks of paper 1 (eq. 1, 13, 19): staircase, STE, QuantizedMLP.

Public API (relied on by the training sweep and by :mod:`qmf_sim.netprop`):

* :func:`staircase_ste` -- a staircase activation (eq. 13) whose forward value is exactly the
  staircase's and whose backward pass is an explicit straight-through estimator (eq. 19);
* :class:`QuantizedMLP` -- the fully connected network of eq. 1 with that activation;
* :func:`default_device` -- CUDA when present, CPU otherwise.

* :func:`staircase_forward` -- the one torch lookup of a staircase's value (no autograd), and its batched
  face :func:`stacked_staircase_forward` (M staircases at once, for :mod:`qmf_sim.ensemble`), with the
  members' STE gains :func:`stacked_ste_gain` and both in one CPU pass, :func:`stacked_staircase_ste`
  (and, internal to the ensemble's step, the members' losses with their gradient,
  ``_stacked_cross_entropy``).
* :func:`activation_forward` / :func:`torch_function` -- the torch face of *any* activation of
  :mod:`qmf_sym.activations` (staircases through :func:`staircase_forward`; erf, tanh, ReLU, leaky ReLU and
  hard tanh through torch ops with their true derivative under autograd; a ``Smooth`` activation through a
  torch callable the caller supplies, refused otherwise); :class:`QuantizedMLP` takes any of them.

The random-network experiments (Fig. 1, finite width) are in :mod:`qmf_sim.netprop`.

Torch is imported at module level here (this is ``qmf_sim``); ``qmf_sym`` stays torch-free.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from qmf_sym import _validate as V
from qmf_sym.activations import Staircase, as_activation, as_staircase

__all__ = [
    "default_device",
    "staircase_forward",
    "staircase_ste",
    "StaircaseSTE",
    "QuantizedMLP",
    "init_draws",
    "round_up",
    "StackedTables",
    "stacked_staircase_forward",
    "stacked_ste_gain",
    "stacked_staircase_ste",
    "torch_function",
    "activation_forward",
    "activation_with_derivative",
    "checked_activation",
]

_STE_NAMES = ("clipped", "identity")


def default_device() -> torch.device:
    """``cuda`` when a CUDA device is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------- staircase tensors
def round_up(values, dtype: torch.dtype, device=None) -> torch.Tensor:
    """float64 ``values`` rounded *up* to ``dtype`` (the smallest ``dtype`` number >= each value), on
    ``device``: for x representable in ``dtype``, ``x >= g`` iff ``x >= round_up(g)``, so a lookup on the
    rounded-up thresholds is the float64 lookup at the ``dtype`` value (:func:`_boundaries`; the torch STE
    solver's thresholds, :mod:`qmf_sim.ste.torch_micro`).  Given an empty list (a table without
    thresholds), an empty tensor; +-inf are thresholds too, NaN is refused.  ``device=None``: the
    tensor stays where torch made it (the CPU unless torch's default device was set)."""
    V.torch_float_dtype("dtype", dtype), V.device_spec("device", device)
    if np.size(values):  # an empty table stays empty; +-inf are thresholds too, NaN is not
        V.real("values", values)
    g64 = torch.as_tensor(np.array(values, dtype=np.float64))  # a copy: cached views may be read-only
    g = g64.to(dtype)
    up = torch.nextafter(g, torch.full_like(g, math.inf))
    g = torch.where(g.to(torch.float64) < g64, up, g)
    return g.to(device) if device is not None else g


def _boundaries(act: Staircase, dtype: torch.dtype, device) -> torch.Tensor:
    """Offsets g_i rounded *up* to ``dtype``.

    For x representable in ``dtype`` and a real offset g, ``x >= g`` iff ``x >= ceil_dtype(g)``
    (ceil_dtype(g) = the smallest dtype number >= g).  So counting boundaries <= x with these
    rounded-up offsets reproduces ``Staircase.__call__`` (``searchsorted(..., side='right')`` on the
    float64 offsets) exactly, also in float32 where a plain cast could move a jump by one ulp.
    """
    return round_up(act.offsets, dtype, device)


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
    x, act = V.float_tensor("x", x), as_staircase(act)
    bnd, lev = _tables(act, x.dtype, x.device)
    idx = torch.bucketize(x.contiguous(), bnd, right=True)  # number of offsets <= x
    return lev[idx]


class StackedTables:
    """The tables of M staircases for :func:`stacked_staircase_forward` (one member per row).

    ``bnd`` (M, K): each member's offsets rounded up to the dtype (:func:`_boundaries`), padded with +inf;
    ``lev`` (M, K + 1): its levels, padded with the top level; for evenly spaced offsets (every
    ``Staircase.uniform``) the nearest-offset formula j = clamp(floor(x inv + c), 0, top) with
    c = 1/2 - g_0 inv (``inv``, ``c``, ``top`` (M, 1)), else ``inv = None``; ``nk`` (M,): each member's
    number of offsets (N - 1).

    ``acts``: a non-empty list of staircases; ``dtype``: a torch float dtype; ``device``: where the tables
    live (``'cpu'``, ``'cuda:0'``, a ``torch.device``; ``device=None`` is the CPU)."""

    def __init__(self, acts, dtype, device):
        if not isinstance(acts, (list, tuple)) or not acts:
            raise ValueError(f"acts must be a non-empty list of staircases, got {acts!r}"[:200])
        V.torch_float_dtype("dtype", dtype), V.device_spec("device", device)
        acts = [as_staircase(a) for a in acts]
        device = torch.device(device) if device is not None else torch.device("cpu")
        tabs = [_tables(a, dtype, device) for a in acts]
        M, K = len(acts), max(len(t[0]) for t in tabs)
        self.bnd = torch.full((M, K), math.inf, dtype=dtype, device=device)
        self.lev = torch.empty((M, K + 1), dtype=dtype, device=device)
        inv, c, top, even = [], [], [], True
        self.nk = torch.tensor([len(t[0]) for t in tabs], dtype=torch.int64)
        for m, ((bnd, lev), a) in enumerate(zip(tabs, acts)):
            self.bnd[m, : len(bnd)] = bnd
            self.lev[m, : len(lev)] = lev
            self.lev[m, len(lev):] = lev[-1]
            g = np.asarray(a.offsets, dtype=float)
            delta = (g[-1] - g[0]) / (len(g) - 1) if len(g) > 1 else 1.0
            if len(g) > 1 and np.max(np.abs(g - (g[0] + delta * np.arange(len(g))))) > 0.01 * delta:
                even = False
            iv = 1.0 / delta if len(g) > 1 else 0.0
            inv.append(iv)
            c.append(0.5 - g[0] * iv)
            top.append(float(len(g) - 1))
        col = lambda v: torch.tensor(v, dtype=dtype, device=device).view(M, 1)  # noqa: E731
        self.inv, self.c, self.top = (col(inv), col(c), col(top)) if even else (None, None, None)
        self._arrays = self._cpu = None

    def cpu_pass(self):
        """Whether the numba pass of :func:`stacked_staircase_ste` takes these tables: every member either has
        at most :data:`CHAIN_MAX` offsets (the select chain, any sorted offsets) or evenly spaced ones
        (the nearest-offset formula)."""
        if self._cpu is None:
            self._cpu = self.inv is not None or int(self.nk.max()) <= CHAIN_MAX
        return self._cpu

    def arrays(self):
        """The CPU tables (c, inv, top, nk, bnd, lev) as numpy arrays, made once (for the numba pass of
        :func:`stacked_staircase_ste`; c, inv, top are zeros where the offsets are uneven: the pass reads
        them only for a member with more than :data:`CHAIN_MAX` offsets, which :meth:`cpu_pass` then
        refuses)."""
        if self._arrays is None:
            M = self.bnd.shape[0]
            cit = (self.c, self.inv, self.top) if self.inv is not None else (torch.zeros((M, 1), dtype=self.bnd.dtype),) * 3
            self._arrays = tuple(t.numpy() for t in (*cit, self.nk, self.bnd, self.lev))
        return self._arrays

    def select(self, idx):
        """The tables of the members ``idx`` (a long tensor), in that order."""
        out = object.__new__(StackedTables)
        out.bnd, out.lev, out.nk = self.bnd[idx], self.lev[idx], self.nk[idx.cpu()]
        out.inv, out.c, out.top = (None, None, None) if self.inv is None else (
            self.inv[idx], self.c[idx], self.top[idx])
        out._arrays = out._cpu = None
        return out


def stacked_staircase_forward(x: torch.Tensor, tab: StackedTables) -> torch.Tensor:
    """phi_m(x[m]) for M staircases at once (x: (M, ...)): the batched face of :func:`staircase_forward`,
    the same values bit for bit (the same rounded-up offsets; tested).

    Evenly spaced offsets: j = the nearest offset by the formula of :class:`StackedTables` (clamped to the
    member's offsets), then #{offsets <= x} = j + [x >= g_j] -- exact whenever g_{j-1} <= x < g_{j+1},
    which a rounding error of the formula (<< the spacing) cannot break.  Otherwise one comparison pass
    per offset.  Then the levels by ``gather``."""
    V.float_tensor("x", x)
    if not isinstance(tab, StackedTables):
        raise ValueError(f"tab must be a qmf_sim.nn.StackedTables, got {type(tab).__name__}")
    M = x.shape[0]
    flat = x.reshape(M, -1)
    if tab.inv is not None:
        j = torch.addcmul(tab.c, flat, tab.inv).floor_().nan_to_num_(nan=math.inf)
        j = torch.minimum(j.clamp_(min=0), tab.top).to(torch.int64)
        # not(x < g_j) rather than x >= g_j: a NaN counts every offset, as torch.bucketize does
        idx = j + torch.logical_not(flat < torch.gather(tab.bnd, 1, j))
    else:
        idx = torch.logical_not(flat < tab.bnd[:, :1]).to(torch.int64)
        for k in range(1, tab.bnd.shape[1]):
            idx += torch.logical_not(flat < tab.bnd[:, k:k + 1])
    return torch.gather(tab.lev, 1, idx).view_as(x)


def _check_members(x, clip, slope, dtype=None):
    """``clip`` and ``slope``: one value per member of ``x`` (M, ...), (M,) tensors (of ``dtype`` if given);
    returns M."""
    M = x.shape[0] if x.dim() else 0
    for name, v in (("clip", clip), ("slope", slope)):
        if not isinstance(v, torch.Tensor) or v.shape != (M,) or (dtype is not None and v.dtype != dtype):
            of = "" if dtype is None else f" of x's dtype {dtype}"
            raise ValueError(f"{name} must be a ({M},) tensor{of} (one value per member), got "
                             f"{getattr(v, 'shape', type(v).__name__)}")
    return M


def stacked_ste_gain(x: torch.Tensor, clip: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """The STE gains of M members at once (x: (M, ...)): ``g_m(x) = slope_m * 1[|x| < clip_m]``, the batched
    face of :func:`staircase_ste`'s gain (eq. 19 of paper 1: clip 1 is the clipped STE, clip inf the
    identity STE); ``clip`` and ``slope`` are (M,) tensors of x's dtype and device."""
    _check_members(V.float_tensor("x", x), clip, slope)
    shape = (-1,) + (1,) * (x.dim() - 1)
    return (x.abs() < clip.view(shape)).to(x.dtype) * slope.view(shape)


_STACKED_PASS = None

#: members with at most this many offsets take the select chain of the numba pass (its cost grows with the
#: number of offsets, ~0.03 ns per element and offset in float32), the others the nearest-offset formula
#: (two dependent table reads per element, ~0.8 ns: the compiler emits no vector gathers here); the two
#: cross near 28 offsets at width 128
CHAIN_MAX = 24


def _stacked_pass():
    """The numba pass of :func:`stacked_staircase_ste` (compiled on first use, cached on disk).

    Per member row, for at most :data:`CHAIN_MAX` offsets the select chain: the gain and the lowest level
    in one vectorised loop, then one loop per two offsets, o = level k+1 where not (x < g_k), in order,
    so that the last offset passed wins: lev[#{k: not (x < g_k)}], bucketize's count (NaN passes every
    offset); on 10-level staircases in float32 ~4x faster per element than the formula.  Above
    :data:`CHAIN_MAX` (evenly spaced offsets only), two loops: the first (branch-free, vectorised) forms the
    nearest-offset index j and the STE gain, the second does the two table reads (offset g_j, then the
    level); one fused loop ran ~1.8x slower per element (the gathers kept the arithmetic from
    vectorising)."""
    global _STACKED_PASS
    if _STACKED_PASS is None:
        from numba import njit

        chain_max = CHAIN_MAX

        @njit(cache=True, nogil=True, boundscheck=False)
        def kernel(a, c, inv, top, nk, bnd, lev, clip, slope, out, gain):
            M, n = a.shape
            jbuf = np.empty(n, np.intp)
            for m in range(M):
                x, o, g, b, lv = a[m], out[m], gain[m], bnd[m], lev[m]
                cl, sl, K = clip[m], slope[m], nk[m]
                zero = sl * 0.0  # the gain where |x| >= clip: 0 * slope, as stacked_ste_gain computes it
                if K <= chain_max:
                    r = K % 2  # an odd count: the first offset in the first loop
                    l0, b0, l1 = lv[0], b[0], lv[r]
                    for i in range(n):
                        xi = x[i]
                        g[i] = sl if abs(xi) < cl else zero
                        o[i] = l0 if xi < b0 else l1
                    for k in range(r, K, 2):
                        bk, lk, bk1, lk1 = b[k], lv[k + 1], b[k + 1], lv[k + 2]
                        for i in range(n):
                            xi = x[i]
                            v = o[i] if xi < bk else lk
                            o[i] = v if xi < bk1 else lk1
                    continue
                cm, im, tm = c[m, 0], inv[m, 0], top[m, 0]
                for i in range(n):
                    xi = x[i]
                    jf = np.floor(cm + xi * im)
                    jf = min(jf, tm) if jf == jf else tm  # NaN and +inf -> top (as nan_to_num then minimum)
                    jbuf[i] = np.intp(max(jf, 0.0))  # below the first offset (and -inf) -> 0
                    g[i] = sl if abs(xi) < cl else zero
                for i in range(n):
                    j = jbuf[i]
                    o[i] = lv[j + np.intp(not (x[i] < b[j]))]  # not (x < g_j): NaN counts every offset
        _STACKED_PASS = kernel
    return _STACKED_PASS


def stacked_staircase_ste(x: torch.Tensor, tab: StackedTables, clip: torch.Tensor, slope: torch.Tensor):
    """(phi_m(x[m]), g_m(x[m])) of M members at once: :func:`stacked_staircase_forward` and
    :func:`stacked_ste_gain`, the forward pass of M staircases with their STE (eq. 13 and 19 of paper 1).

    On the CPU (tables that :meth:`StackedTables.cpu_pass` takes: at most :data:`CHAIN_MAX` offsets per
    member, or evenly spaced ones), one numba pass over ``x`` computes both (:func:`_stacked_pass`): the
    select chain over the sorted offsets, or the nearest-offset formula of :func:`stacked_staircase_forward`
    with its one exact comparison (its rounding cannot change the count, whatever order the formula's
    operations round in; NaN and +-inf as there), bit for bit the torch faces' values (tested).  The torch
    faces run ~15 elementwise passes per layer, each a few times slower per element than a float product:
    at width 128 they cost as much as the layer's three products.  Elsewhere (CUDA, many uneven offsets, a
    non-contiguous ``x``) the two torch faces."""
    V.float_tensor("x", x)
    if not isinstance(tab, StackedTables):
        raise ValueError(f"tab must be a qmf_sim.nn.StackedTables, got {type(tab).__name__}")
    M = _check_members(x, clip, slope, x.dtype)
    if tab.bnd.shape[0] != M or tab.bnd.dtype != x.dtype or tab.bnd.device != x.device:
        raise ValueError(f"tab must hold the {M} members of x in its dtype {x.dtype} and device {x.device}, got "
                         f"{tab.bnd.shape[0]} members, {tab.bnd.dtype}, {tab.bnd.device}")
    return _stacked_ste(x, tab, clip, slope)


def _stacked_ste(x, tab, clip, slope, out=None, gain=None):
    """:func:`stacked_staircase_ste` on checked arguments (the per-layer call of a training step); ``out``
    and ``gain``: contiguous tensors of x's shape that the CPU pass fills (its reused buffers)."""
    if not _pass_applies(tab, x):
        return stacked_staircase_forward(x, tab), stacked_ste_gain(x, clip, slope)
    out = torch.empty_like(x) if out is None else out
    gain = torch.empty_like(x) if gain is None else gain
    _stacked_pass()(*_stacked_pass_args(x, tab, clip, slope, out, gain))
    return out, gain


def _pass_applies(tab, *tensors):
    """Whether the numba pass (:func:`_stacked_pass`) takes these tables and tensors: CPU and contiguous
    tensors, tables of :meth:`StackedTables.cpu_pass`."""
    return all(t.device.type == "cpu" and t.is_contiguous() for t in tensors) and tab.cpu_pass()


def _stacked_pass_args(x, tab, clip, slope, out, gain):
    """The arguments of the numba pass (:func:`_stacked_pass`) on ``x`` into ``out`` and ``gain`` (contiguous
    CPU tensors of x's shape), or None where the pass does not apply (:func:`_stacked_ste` then runs the
    torch faces): a caller that runs the pass on the same buffers every step makes them once."""
    if not _pass_applies(tab, x, out, gain):
        return None
    M = x.shape[0]
    return (x.view(M, -1).numpy(), *tab.arrays(), clip.numpy(), slope.numpy(), out.view(M, -1).numpy(),
            gain.view(M, -1).numpy())


_CE_PASS = None


def _ce_pass():
    """The numba pass of ``_stacked_cross_entropy`` (compiled on first use, cached on disk): per row, the
    finiteness check, the max, exp(z - max) and their sum in the logits' dtype, then the loss
    log(sum) - (z_y - max) and the gradient exp(z - max) / sum / B - [k = y] / B; the losses' mean over
    the batch accumulates in float64."""
    global _CE_PASS
    if _CE_PASS is None:
        from numba import njit

        @njit(cache=True, nogil=True, boundscheck=False)
        def kernel(z, y, s1, loss, grad, ok):
            M, B, C = z.shape
            for m in range(M):
                acc, fin = 0.0, True
                for b in range(B):
                    zr, gr = z[m, b], grad[m, b]
                    for k in range(C):
                        if not np.isfinite(zr[k]):
                            fin = False
                    if not fin:
                        break
                    mx = zr[0]
                    for k in range(1, C):
                        mx = max(mx, zr[k])
                    s = mx - mx  # 0 in the logits dtype
                    for k in range(C):
                        e = np.exp(zr[k] - mx)
                        gr[k] = e
                        s += e
                    t = y[m, b]
                    acc += np.log(s) - (zr[t] - mx)
                    sc = s1 / s
                    for k in range(C):
                        gr[k] *= sc
                    gr[t] -= s1
                loss[m] = acc / B if fin else np.nan
                ok[m] = fin and np.isfinite(loss[m])
        _CE_PASS = kernel
    return _CE_PASS


def _stacked_cross_entropy(z: torch.Tensor, y: torch.Tensor):
    """The softmax cross-entropies of M members at once, without autograd: z (M, B, C) logits, y (M, B)
    labels; returns (loss, grad, ok): ``loss`` (M,) float64, each member's mean over its batch of
    -log softmax(z)_y (``torch.nn.functional.cross_entropy``); ``grad`` (M, B, C), the gradient of the SUM of
    the members' losses with respect to z, (softmax(z) - onehot(y)) / B (autograd's, to float rounding:
    tested); ``ok`` (M,) bool, whether the member's logits and loss are finite (a member with a non-finite
    logit has loss NaN and an unspecified gradient).

    On the CPU (contiguous z) one numba pass (:func:`_ce_pass`); elsewhere the torch ops of autograd's
    formula (log_softmax, then exp(log_softmax) / B and -1/B at the labels)."""
    V.float_tensor("z", z)
    if z.dim() != 3 or not isinstance(y, torch.Tensor) or y.shape != z.shape[:2] or y.dtype != torch.int64:
        raise ValueError(f"z must be (M, B, C) logits and y (M, B) int64 labels, got {tuple(z.shape)} and "
                         f"{getattr(y, 'shape', type(y).__name__)} {getattr(y, 'dtype', '')}")
    C = z.shape[2]
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= C):
        raise ValueError(f"y must hold labels in [0, {C - 1}] (C = {C} classes)")
    return _stacked_ce(z, y)


def _stacked_ce(z, y):
    """``_stacked_cross_entropy`` on checked arguments (the per-step call of the ensemble)."""
    M, B, C = z.shape
    if z.device.type == "cpu" and z.is_contiguous():
        y = y.contiguous()
        grad = torch.empty_like(z)
        loss = np.empty(M)
        ok = np.empty(M, dtype=np.bool_)
        nd = z.numpy().dtype.type
        _ce_pass()(z.numpy(), y.numpy(), nd(1) / nd(B), loss, grad.numpy(), ok)
        return torch.from_numpy(loss), grad, torch.from_numpy(ok)
    logp = torch.log_softmax(z, -1)
    lab = y[..., None]
    loss = -logp.gather(2, lab).squeeze(2).mean(1)
    grad = logp.exp_().mul_(1.0 / B)
    grad.scatter_add_(2, lab, torch.full(lab.shape, -1.0 / B, dtype=z.dtype, device=z.device))
    ok = torch.isfinite(loss) & torch.isfinite(z).flatten(1).all(1)
    return torch.where(ok, loss.double(), math.nan), grad, ok


# ----------------------------------------------------------------------------- any activation
def _kind(act) -> str:
    return type(act).__name__


def _continuous_op(act):
    """The torch op of a built-in continuous activation of :mod:`qmf_sym.activations`, or ``None``.

    Dispatch is on the kind (class) and its parameters, never on a float64 copy of the numpy function:
    ``Erf`` -> ``torch.erf``, ``Tanh`` -> ``torch.tanh``, ``ReLU`` -> ``torch.relu``, ``LeakyReLU(slope)``
    -> ``leaky_relu(x, slope)``, ``HardTanh(low, high)`` -> ``clamp(x, low, high)``.  Each agrees with the
    numpy ``act(x)`` to float rounding (tests/test_nn.py checks every kind against it)."""
    import torch.nn.functional as F

    k = _kind(act)
    if k == "Erf":
        return torch.erf
    if k == "Tanh":
        return torch.tanh
    if k == "ReLU":
        return torch.relu
    if k == "LeakyReLU":
        slope = float(act.slope)
        return lambda x: F.leaky_relu(x, slope)
    if k == "HardTanh":
        lo, hi = float(act.low), float(act.high)
        return lambda x: torch.clamp(x, lo, hi)
    return None


def torch_function(act, torch_fn=None):
    """A torch callable x -> phi(x) for the activation ``act`` (autograd gives its derivative).

    * a :class:`~qmf_sym.activations.Staircase`: its exact lookup with the *clipped STE* backward (eq. 19,
      slope 1) -- for other estimators use :func:`staircase_ste` directly;
    * the built-in continuous kinds (``Erf``, ``Tanh``, ``ReLU``, ``LeakyReLU``, ``HardTanh``): torch ops
      (:func:`_continuous_op`); ReLU / hard tanh get torch's subgradient (1 on the open linear piece, 0
      outside, torch's convention at the kinks, a set of probability 0 under the Gaussian fields);
    * a ``Smooth`` activation (a user's numpy function, e.g. SiLU): ``qmf_sym`` holds no torch, so the caller
      passes ``torch_fn`` (a torch callable computing the same function); without it this raises
      ``ValueError`` (we do not silently push tensors through numpy: no autograd, no GPU).

    ``torch_fn``, when given, is used for any non-staircase activation (checked by the caller's tests).
    """
    if isinstance(act, Staircase):
        if torch_fn is not None:
            raise ValueError("torch_fn must be None for a staircase (its torch face is exact: staircase_forward)")
        return lambda x: staircase_ste(x, act)
    if torch_fn is not None:
        if not callable(torch_fn):
            raise ValueError(f"torch_fn must be a callable tensor -> tensor, got {torch_fn!r}")
        return torch_fn
    op = _continuous_op(act)
    if op is not None:
        return op
    if callable(act) and hasattr(act, "derivative"):
        name = getattr(act, "name", _kind(act))
        raise ValueError(f"activation {name!r} ({_kind(act)}) has no built-in torch form; pass torch_fn= "
                         f"(a torch callable computing the same function, e.g. torch.nn.functional.silu)")
    raise ValueError(f"act must be an activation of qmf_sym.activations (Staircase, Erf, Tanh, ReLU, LeakyReLU, "
                     f"HardTanh, Smooth), got {act!r}")


def checked_activation(act, torch_fn=None):
    """``act`` (an activation of :mod:`qmf_sym.activations`) checked with its torch form before any work:
    :func:`torch_function` (ValueError naming ``act`` or ``torch_fn``: a ``Smooth`` activation needs
    ``torch_fn``, a staircase takes none); returns ``act``."""
    V.optional_callable("torch_fn", torch_fn)
    torch_function(as_activation(act), torch_fn)
    return act


def activation_forward(x: torch.Tensor, act, torch_fn=None) -> torch.Tensor:
    """phi(x) on a tensor for any activation (:func:`torch_function`); a staircase through
    :func:`staircase_forward` (no autograd), a continuous one through its torch op (with autograd)."""
    V.float_tensor("x", x), V.optional_callable("torch_fn", torch_fn)
    if isinstance(act, Staircase):
        return staircase_forward(x, act)
    return torch_function(act, torch_fn)(x)


def activation_with_derivative(x: torch.Tensor, act, torch_fn=None):
    """(phi(x), phi'(x)) on a tensor for a continuous activation (:func:`torch_function`), the derivative
    elementwise by autograd (the very formula its backward pass uses: grad_in = grad_out * phi'(x)), with no
    graph kept.  For the hand-written backward of the stacked networks of :mod:`qmf_sim.ensemble`; a
    staircase's pair is :func:`stacked_staircase_ste` (its STE gain instead of phi' = 0)."""
    V.float_tensor("x", x)
    if isinstance(act, Staircase):
        raise ValueError("act must be a continuous activation (a staircase's backward is its STE: staircase_ste)")
    fn = torch_function(act, torch_fn)
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        y = fn(xg)
        (d,) = torch.autograd.grad(y, xg, torch.ones_like(y))
    return y.detach(), d


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

    * ``"clipped"`` (eq. 19): ``g(x) = slope * 1[|x| < 1]``;
    * ``"identity"``: g(x) = slope everywhere;
    * a callable ``ste(x) -> gain tensor`` (same shape as x, or broadcastable): the hook for any
      other estimator, e.g. ``lambda x: 1 - torch.tanh(x) ** 2``; the result is also multiplied by
      ``slope`` (leave slope = 1 to use the hook's gain as is).
    """
    act, x = as_staircase(act), V.float_tensor("x", x)
    ste, slope = _check_ste(ste, slope)
    return StaircaseSTE.apply(x, act, ste, slope)


# ----------------------------------------------------------------------------- the network of eq. 1
def init_draws(sizes, sigma_w, sigma_b, seed=None):
    """The initial parameters of eq. 1 (sec. 3.1), layer by layer: yields float64 CPU tensors (W, b) with
    W ~ N(0, sigma_w^2 / n_in) of shape (n_out, n_in) and b ~ N(0, sigma_b^2), for consecutive ``sizes``.

    The one home of the draw (:class:`QuantizedMLP` and the stacked ensembles of :mod:`qmf_sim.ensemble`
    call it): a private CPU ``torch.Generator`` seeded with ``seed`` (``None``: a fresh seed), weights
    then bias of each layer in order, so a member of an ensemble starts exactly where the same network
    trained alone starts.  The arguments are checked when it is called (not at the first draw)."""
    sizes = V.integers("sizes", sizes, 1, min_len=2)
    V.finite("sigma_w", V.sigma("sigma_w", sigma_w)), V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    return _draws(sizes, sigma_w, sigma_b, None if seed is None else V.integer("seed", seed, 0))


def _draws(sizes, sigma_w, sigma_b, seed):
    gen = torch.Generator(device="cpu")
    if seed is not None:
        gen.manual_seed(seed)
    else:
        gen.seed()
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn((n_out, n_in), generator=gen, dtype=torch.float64) * (float(sigma_w) / math.sqrt(n_in))
        b = torch.randn((n_out,), generator=gen, dtype=torch.float64) * float(sigma_b)
        yield w, b


class QuantizedMLP(torch.nn.Module):
    """The fully connected network of eq. 1 (paper 1) with a staircase -- or any -- activation.

    alpha^(1) = W^(1) x + b^(1) (the input is *not* passed through phi: phi(alpha^(0)) = x),
    alpha^(l) = W^(l) phi(alpha^(l-1)) + b^(l) for l = 2..L (``depth`` = L hidden layers of
    ``width`` units), and the readout f(x) = alpha^(L+1) = W^(L+1) phi(alpha^(L)) + b^(L+1)
    (``n_out`` units).  phi is applied with :func:`staircase_ste` (forward exact, backward STE).

    Any activation of :mod:`qmf_sym.activations` is accepted (the continuous comparisons of App. M): a
    continuous one is applied by its torch op with its true derivative (:func:`torch_function`; ``ste`` and
    ``ste_slope`` then must keep their defaults, since there is no estimator to choose); a ``Smooth`` one
    needs ``torch_fn``.

    ``quantize_output=True`` additionally applies phi to the logits alpha^(L+1) (a fully quantized
    output, rarely wanted with a cross-entropy loss); the default leaves the readout linear.

    Initialisation (sec. 3.1): W^(l)_ij ~ N(0, sigma_w^2 / n_in) and b^(l)_i ~ N(0, sigma_b^2) for
    every layer including the readout (sigma_b = 0 gives zero biases).  ``seed`` makes the draw
    reproducible (a private ``torch.Generator``; the global RNG is untouched).
    """

    def __init__(self, n_in, width, depth, n_out, act, sigma_w, sigma_b=0.0, ste="clipped", ste_slope=1.0,
                 quantize_output=False, dtype=torch.float32, device=None, seed=None, torch_fn=None):
        super().__init__()
        n_in = V.integer("n_in", n_in, 1)
        width = V.integer("width", width, 1)
        depth = V.integer("depth", depth, 1)
        n_out = V.integer("n_out", n_out, 1)
        V.size_product(None, [("depth", depth), ("width", width), ("width", width)]), V.size_product(None, [("n_in", n_in), ("width", width)]), V.size_product(None, [("width", width), ("n_out", n_out)])  # noqa: E501
        V.flag("quantize_output", quantize_output), V.torch_float_dtype("dtype", dtype), V.device_spec("device", device)
        V.finite("ste_slope", V.positive("ste_slope", ste_slope))
        self._torch_fn = torch_function(act, torch_fn)  # raises ValueError for a non-activation
        self.act = act
        if not isinstance(act, Staircase) and (ste != "clipped" or ste_slope != 1.0):
            raise ValueError("ste and ste_slope apply to staircases only (a continuous activation trains with its "
                             "true derivative); leave them at their defaults")
        V.sigma("sigma_w", sigma_w)
        V.sigma("sigma_b", sigma_b, zero=True)
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
        sizes = [self.layers[0].in_features] + [lin.out_features for lin in self.layers]
        for lin, (w, b) in zip(self.layers, init_draws(sizes, self.sigma_w, self.sigma_b, seed)):
            lin.weight.copy_(w)
            lin.bias.copy_(b)

    def phi(self, x):
        if isinstance(self.act, Staircase):
            return staircase_ste(x, self.act, self.ste, self.ste_slope)
        return self._torch_fn(x)

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
                f"act={_act_label(self.act)}, ste={self.ste if isinstance(self.ste, str) else 'custom'}, "
                f"slope={self.ste_slope:g}, quantize_output={self.quantize_output}")


def _act_label(act) -> str:
    return f"N{act.N}" if isinstance(act, Staircase) else str(getattr(act, "name", _kind(act)))
