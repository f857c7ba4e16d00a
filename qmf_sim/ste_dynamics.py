"""STE learning dynamics of quantized linear models in high dimension (paper 2), Numba simulations.

Reference: Ichikawa, Kashiwamura & Sakata, arXiv:2510.10693; the model as reconstructed in
``specs/ste_dynamics.md`` (cited below as "spec §k").  Three faces of the same dynamics:

* :func:`simulate` -- the d-dimensional online SGD of spec §3 (fresh Gaussian input each step,
  forward pass with quantized weights psi(w) and quantized inputs phi(x), STE backward, ridge on
  the latent weights, optional label noise and Langevin temperature), with the exact population
  eps_g recorded on a log-spaced tau grid, many replicas in parallel (``numba.prange`` over
  replicas).  Optionally several parameter sets share the same input stream ("common random
  numbers", :func:`simulate_many`).
* :func:`solve_particles` -- Euler--Maruyama for the McKean--Vlasov SDE of spec §4.3, eps_g
  recomputed from the particles at every step.
* :func:`solve_pde` -- the Fokker--Planck equation of spec §4.3 for p_tau(w_hat | w*), finite
  volumes (upwind drift, zero-flux walls, explicit Euler with dt = 0.4 min(h/max|A|, h^2/max B)),
  one density per teacher value, eps_g from the densities at every step.

:func:`theory_curve` gives the "ODE" curve eps_g(tau) of spec §4.4: the closed input-only ODE
(§4.4 iii, from :mod:`qmf_sym.ste`) or the exact moment equations §4.4 (ii), i.e. eps_g computed
from mu_tau of the PDE or of the particles.

Speed: per step, the d normals are drawn (scalar ziggurat) into a buffer; each parameter set then makes
three vectorised passes over it (qmf_sim/_ste_kernels.py): finish the previous update and quantize the
weights, quantize the inputs, and the five sums (reassociated, so they differ from a serial sum by
rounding only).  The quantizer lookup is a select chain over thresholds held in registers (<= 15
thresholds; exact), or the bucket formula of :func:`_chain_tables` for larger grids.  Draws stay float64.

Random numbers: every replica (or group of replicas sharing inputs) owns a xoshiro256++ stream
seeded from ``numpy.random.SeedSequence(seed, spawn_key=(run,))``; Gaussians come from an exact
256-layer ziggurat (Marsaglia & Tsang 2000) written here in Numba.  Results therefore depend only on
(seed, run index), never on the number of threads, and are bit-identical between calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from qmf_sym import _validate as V

GRIDS = ("endpoints", "cells", "midtread")
STES = ("clipped", "identity")
TEACHERS = ("ones", "gaussian", "rademacher")
INITS = ("gaussian", "uniform", "rademacher", "zeros")

#: default divergence bounds (spec §5.1: for eta > eta_c the error grows exponentially; these are far
#: above any stationary value of the model with rho = O(1): eps_g* <= rho/(2 - eta s2) and
#: |psi| <= omega)
EPS_BOUND = 1.0e4
Q_BOUND = 1.0e8


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class STEParams:
    """All switches of spec §2/§8 for one dynamics.

    b, omega, kind      weight quantizer psi = Q_{b,omega} (b=None: unquantized weights, psi = id)
    b_x, omega_x, kind_x  input quantizer phi (b_x=None: unquantized inputs, phi = id)
    ste                 'clipped' (g = 1{|w| <= omega}) or 'identity' (g = 1); g = 1 if b is None
    eta, lam, sigma2, T learning rate, ridge on the latent weights, label-noise variance, temperature
    teacher             'ones' (w*_i = 1), 'gaussian' (N(0,1)) or 'rademacher' (+-1)
    init, init_scale    law of w_hat^0: 'gaussian' N(0, s^2), 'uniform' on [-s sqrt3, s sqrt3],
                        'rademacher' +-s, 'zeros'
    """

    b: int | None = 2
    omega: float = 1.0
    b_x: int | None = None
    omega_x: float = 1.0
    kind: str = "endpoints"
    kind_x: str = "endpoints"
    ste: str = "clipped"
    eta: float = 0.04
    lam: float = 1.0
    sigma2: float = 0.0
    T: float = 0.0
    teacher: str = "ones"
    init: str = "gaussian"
    init_scale: float = 1.0

    def __post_init__(self):
        if self.b is not None:
            object.__setattr__(self, "b", V.integer("b", self.b, 1, 16))
        V.positive("omega", self.omega)
        if self.b_x is not None:
            object.__setattr__(self, "b_x", V.integer("b_x", self.b_x, 1, 16))
        V.positive("omega_x", self.omega_x)
        V.choice("kind", self.kind, GRIDS)
        V.choice("kind_x", self.kind_x, GRIDS)
        V.choice("ste", self.ste, STES)
        V.positive("eta", self.eta)
        V.nonnegative("lam", self.lam)
        V.nonnegative("sigma2", self.sigma2)
        V.nonnegative("T", self.T)
        V.choice("teacher", self.teacher, TEACHERS)
        V.choice("init", self.init, INITS)
        V.nonnegative("init_scale", self.init_scale)
        self.weight_grid()  # the grid's own checks (e.g. midtread needs b >= 2)
        self.input_grid()
        for name in ("omega", "omega_x", "eta", "lam", "sigma2", "T", "init_scale"):
            object.__setattr__(self, name, float(getattr(self, name)))

    # -- derived ------------------------------------------------------------------------------
    @property
    def rho(self) -> float:
        """rho = E[w*^2] (spec §2.1): 1 for every teacher law offered."""
        return 1.0

    @property
    def input_only(self) -> bool:
        """psi = id (spec §4.4 iii): the closed ODE applies."""
        return self.b is None

    def input_moments(self):
        """(kappa_phi, sigma_phi^2) of spec §4.1, from :func:`qmf_sym.ste.input_moments`."""
        from qmf_sym.ste import input_moments

        if self.b_x is None:
            return 1.0, 1.0
        k, s2 = input_moments(self.b_x, self.omega_x, kind=self.kind_x)
        return float(k), float(s2)

    def weight_grid(self):
        """(levels, thresholds) of psi, from :func:`qmf_sym.ste.quantizer_grid` (empty if b is None)."""
        if self.b is None:
            return np.zeros(0), np.zeros(0)
        from qmf_sym.ste import quantizer_grid

        lev, thr = quantizer_grid(self.b, self.omega, self.kind)
        return np.asarray(lev, dtype=np.float64), np.asarray(thr, dtype=np.float64)

    def input_grid(self):
        if self.b_x is None:
            return np.zeros(0), np.zeros(0)
        from qmf_sym.ste import quantizer_grid

        lev, thr = quantizer_grid(self.b_x, self.omega_x, self.kind_x)
        return np.asarray(lev, dtype=np.float64), np.asarray(thr, dtype=np.float64)

    @property
    def clipped(self) -> bool:
        return self.b is not None and self.ste == "clipped"


def _params(params=None, **kw) -> STEParams:
    if params is None:
        return STEParams(**kw)
    if not isinstance(params, STEParams):
        raise ValueError(f"params must be an STEParams, got {type(params).__name__}")
    return replace(params, **kw) if kw else params


def tau_grid(tau_max, n=60, tau_min=None):
    """Log-spaced tau grid on [tau_min, tau_max] with tau = 0 prepended (the recording grid)."""
    V.positive("tau_max", tau_max)
    n = V.integer("n", n, 2)
    tau_min = min(0.1, tau_max / 10) if tau_min is None else tau_min
    V.in_closed("tau_min", tau_min, 1e-12, tau_max)
    return np.concatenate([[0.0], np.geomspace(tau_min, tau_max, n)])


# ----------------------------------------------------------------------------------------------
# random numbers: xoshiro256++ and an exact 256-layer ziggurat
# ----------------------------------------------------------------------------------------------
def _ziggurat_tables(n=256):
    """Tables of the Marsaglia--Tsang ziggurat for N(0,1) with n layers of equal area v.

    x_1 = r > x_2 > ... > x_{n-1} > x_n = 0, f(x_{i+1}) = f(x_i) + v/x_i with f(x) = exp(-x^2/2),
    x_0 = v/f(r) (the base strip including the tail).  r is solved so that the recursion ends at
    f(x_n) = 1 exactly (to float64), so every layer has the same area and sampling is exact.
    """
    from scipy.optimize import brentq
    from scipy.special import erfc

    def build(r):
        f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
        v = r * f(r) + math.sqrt(math.pi / 2) * erfc(r / math.sqrt(2))
        x = np.empty(n + 1)
        x[0], x[1] = v / f(r), r
        for i in range(1, n - 1):
            arg = v / x[i] + f(x[i])
            if arg >= 1.0:
                return x, v, 1.0 - arg - (n - 1 - i)  # ran out of room: r too small
            x[i + 1] = math.sqrt(-2.0 * math.log(arg))
        x[n] = 0.0
        return x, v, 1.0 - (v / x[n - 1] + f(x[n - 1]))

    r = brentq(lambda r: build(r)[2], 3.0, 4.0, xtol=1e-15, rtol=1e-15)
    x, v, mismatch = build(r)
    assert abs(mismatch) < 1e-12, mismatch
    two52 = 2.0**52
    ki = np.empty(n, dtype=np.uint64)
    wi = np.empty(n)
    fi = np.exp(-0.5 * x * x)
    fi[n] = 1.0
    for i in range(n):
        ki[i] = np.uint64(math.floor(x[i + 1] / x[i] * two52))
        wi[i] = x[i] / two52
    return ki, wi, fi, r


_ZIG_KI, _ZIG_WI, _ZIG_FI, _ZIG_R = _ziggurat_tables()

_NB = None  # lazily built numba kernels (numba is imported inside functions)


def _kernels():
    """The numba kernels (qmf_sim._ste_kernels), imported on first use."""
    global _NB
    if _NB is not None:
        return _NB
    from qmf_sim._ste_kernels import (draw_normals, draw_normals_numba, fill_normals, micro, particles,
                                      pde)

    _NB = dict(draw_normals=draw_normals, draw_normals_numba=draw_normals_numba, micro=micro,
               fill_normals=fill_normals,
               particles=particles, pde=pde)
    return _NB


# ----------------------------------------------------------------------------------------------
# seeds and initial conditions
# ----------------------------------------------------------------------------------------------
def _stream_state(seed, key):
    """xoshiro256++ state (4 x uint64, not all zero) for the stream ``key`` of ``seed``."""
    st = np.random.SeedSequence(seed, spawn_key=tuple(key)).generate_state(4, np.uint64)
    if not st.any():  # pragma: no cover - probability 2^-256
        st[0] = 1
    return st


def _init_rng(seed, key):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key) + (1 << 30,)))


def _draw_teacher(rng, law, n):
    if law == "ones":
        return np.ones(n)
    if law == "gaussian":
        return rng.standard_normal(n)
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _draw_init(rng, law, scale, n):
    if law == "gaussian":
        return scale * rng.standard_normal(n)
    if law == "uniform":
        return scale * math.sqrt(3.0) * rng.uniform(-1.0, 1.0, n)
    if law == "rademacher":
        return scale * rng.choice(np.array([-1.0, 1.0]), size=n)
    return np.zeros(n)


def _seed(seed):
    return V.integer("seed", seed, 0)


def _pad(arrs, fill):
    n = max([len(a) for a in arrs] + [1])
    out = np.full((len(arrs), n), fill, dtype=np.float64)
    for i, a in enumerate(arrs):
        out[i, : len(a)] = a
    return out


def _bucket_table(lev, thr):
    """Branchless lookup of psi(u) = lev[#{thr <= u}] from the arrays of :func:`qmf_sym.ste.quantizer_grid`:
    buckets of width < the smallest threshold gap, each holding at most one threshold ``cut`` with the
    level ``lo`` below and ``hi`` above it.  Returns (cut, lo, hi), (start, 1/width, nb - 1)."""
    lev = np.asarray(lev, dtype=float)
    thr = np.asarray(thr, dtype=float)
    if thr.size == 0:  # one level (b = 0 is not allowed, kept for completeness)
        return np.stack([np.full(1, np.inf), lev[:1], lev[:1]]), (thr.size, 0.0, 1.0, 0.0)
    gaps = np.diff(thr)
    width = 0.999 * (gaps.min() if gaps.size else 1.0)
    start = thr[0] - 0.5 * width
    nb = int(math.floor((thr[-1] - start) / width)) + 1
    edges = start + width * np.arange(nb + 1)
    cut = np.full(nb, np.inf)
    lo = np.empty(nb)
    hi = np.empty(nb)
    for k in range(nb):
        inside = np.nonzero((thr >= edges[k]) & (thr < edges[k + 1]))[0]
        if inside.size > 1:  # pragma: no cover - excluded by the width
            raise AssertionError("bucket holds two thresholds")
        below = int(np.searchsorted(thr, edges[k], side="left"))  # thresholds < bucket start
        lo[k] = lev[below]
        if inside.size:
            cut[k] = thr[inside[0]]
            hi[k] = lev[inside[0] + 1]
        else:
            hi[k] = lo[k]
    return np.stack([cut, lo, hi]), (1.0, start, 1.0 / width, float(nb - 1))


def _tables(grids):
    tabs = [_bucket_table(*g) if len(g[0]) else (np.zeros((3, 1)), (0.0, 0.0, 1.0, 0.0)) for g in grids]
    nb = max(t[0].shape[1] for t in tabs)
    tab = np.zeros((len(tabs), 3, nb))
    tab[:, 0, :] = np.inf
    meta = np.zeros((len(tabs), 4))
    for c, (t, m) in enumerate(tabs):
        tab[c, :, : t.shape[1]] = t
        meta[c] = m
    return tab, meta




def _arith_grid(lev, thr, omega):
    """Integers (a_t, b_t, D_t, a_l, b_l, D_l) with thr[j] = omega ((a_t j + b_t) / D_t) and
    lev[c] = omega ((a_l c + b_l) / D_l) bit for bit in float64 (the operations of
    qmf_sym.ste._unit_grid_float for the three grid kinds), or None if no candidate reproduces the grid."""
    L = len(lev)
    cands = [(2, 1 - (L - 1), L - 1, 2, -(L - 1), L - 1),  # endpoints
             (2, 2 - L, L, 2, 1 - L, L)]  # cells
    if L % 2 == 1 and L >= 3:
        K = (L - 1) // 2
        cands.append((2, 1 - 2 * K, 2 * K, 1, -K, K))  # midtread
    j = np.arange(L - 1, dtype=float)
    c = np.arange(L, dtype=float)
    for at, bt, dt, al, bl, dl in cands:
        if (np.array_equal(omega * ((at * j + bt) / dt), thr)
                and np.array_equal(omega * ((al * c + bl) / dl), lev)):
            return at, bt, dt, al, bl, dl
    return None


def _chain_tables(grids, bounds, scales=None):
    """Tables of the vectorised passes (qmf_sim._ste_kernels) for a list of (levels, thresholds):
    levels / thresholds padded to a common length (thresholds with +inf, never crossed; levels with the
    last level) and meta (C, 5) = (code, t0, inv, top, clip bound).  code = 0: psi = id; k in CHAINS
    (1, 3, 7, 15): select chain of that length (>= the number of thresholds; exact: psi(u) = lev[#{thr <= u}]);
    -2 / -1: bucket formula for larger grids (thresholds evenly spaced: nearest threshold
    j = floor((u - thr[0]) / Delta + 1/2) clipped to [0, n - 1], then psi = lev[j + (u >= thr[j])], exact
    because rounding can move j only when u is ~Delta/2 away from both candidate thresholds); -2 recomputes
    thr[j] and the level arithmetically (:func:`_arith_grid`, checked bit for bit here; the lev row then
    holds (a_t, b_t, D_t, a_l, b_l, D_l, omega)), -1 gathers them from the padded rows.
    ``scales``: omega of each grid (needed for -2)."""
    from qmf_sim._ste_kernels import CHAINS

    n = max([len(g[0]) for g in grids] + [CHAINS[-1] + 1])
    lev = np.zeros((len(grids), n))
    thr = np.full((len(grids), n), np.inf)
    meta = np.zeros((len(grids), 5))
    scales = [None] * len(grids) if scales is None else scales
    for c, ((lv, th), bound, om) in enumerate(zip(grids, bounds, scales)):
        meta[c, 4] = bound
        if len(lv) == 0:
            continue
        lev[c, : len(lv)] = lv
        lev[c, len(lv):] = lv[-1]
        thr[c, : len(th)] = th
        nt = len(th)
        code = next((k for k in CHAINS if k >= nt), -1)
        delta = (th[-1] - th[0]) / (nt - 1) if nt > 1 else 1.0
        if nt > 1 and np.max(np.abs(th - (th[0] + delta * np.arange(nt)))) > 0.25 * delta:  # pragma: no cover
            raise AssertionError("quantizer thresholds are not evenly spaced")
        if code == -1 and om is not None:
            ar = _arith_grid(np.asarray(lv, dtype=float), np.asarray(th, dtype=float), float(om))
            if ar is not None:
                code = -2
                lev[c, :] = 0.0
                lev[c, :7] = ar + (float(om),)
        meta[c, :4] = (code, th[0] if nt else 0.0, 1.0 / delta, float(max(nt - 1, 0)))
    return lev, thr, meta


def _config_arrays(plist):
    f = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    wtab, wmeta = _tables([p.weight_grid() for p in plist])
    xtab, xmeta = _tables([p.input_grid() for p in plist])
    wgl, wgt, wgm = _chain_tables([p.weight_grid() for p in plist], [p.omega if p.clipped else np.inf for p in plist],
                                  [p.omega for p in plist])
    xgl, xgt, xgm = _chain_tables([p.input_grid() for p in plist], [np.inf] * len(plist), [p.omega_x for p in plist])
    mom = [p.input_moments() for p in plist]
    return dict(wtab=wtab, wmeta=wmeta, xtab=xtab, xmeta=xmeta, wgl=wgl, wgt=wgt, wgm=wgm, xgl=xgl, xgt=xgt, xgm=xgm, clip=np.asarray([p.clipped for p in plist]),
                omega=f([p.omega for p in plist]), eta=f([p.eta for p in plist]), lam=f([p.lam for p in plist]),
                sig=f([math.sqrt(p.sigma2) for p in plist]), temp=f([p.T for p in plist]),
                kappa=f([m[0] for m in mom]), s2=f([m[1] for m in mom]))


# ----------------------------------------------------------------------------------------------
# the d-dimensional simulation (spec §3)
# ----------------------------------------------------------------------------------------------
@dataclass
class SimResult:
    """Result of :func:`simulate` for one parameter set and R replicas.

    tau (n,) recording times (t/d, exact step counts); eps, q, m_psi, q_psi (R, n): the exact population
    error eps_g = 1/2 (rho_d - 2 kappa m_psi + s2 q_psi) (rho_d = mean w*^2 of the replica), the latent
    q = mean w^2, m_psi = mean w* psi(w), q_psi = mean psi(w)^2.  A replica that left the bound
    (eps_g > eps_bound or q > q_bound) is stopped: ``diverged[r]`` is True, ``tau_diverged[r]`` is the
    first tau at which it was outside, and its later entries are +inf with ``valid`` False
    (``tau_diverged`` is +inf for replicas that never left).  No NaN is ever returned.
    """

    params: STEParams
    d: int
    seed: int
    tau: np.ndarray
    eps: np.ndarray
    q: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    valid: np.ndarray
    diverged: np.ndarray
    tau_diverged: np.ndarray
    eps_bound: float
    q_bound: float
    snapshot_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshots: np.ndarray | None = None  # (R, n_snap, d) latent weights
    w_star: np.ndarray | None = None  # (R, d)

    @property
    def runs(self):
        return self.eps.shape[0]

    def mean(self):
        """Mean of eps_g over the replicas that have not diverged (inf where none is left)."""
        with np.errstate(invalid="ignore"):
            n = self.valid.sum(0)
            s = np.where(self.valid, self.eps, 0.0).sum(0)
            return np.where(n > 0, s / np.maximum(n, 1), np.inf)

    def std(self):
        """Sample standard deviation over the valid replicas (0 with fewer than 2)."""
        n = self.valid.sum(0)
        m = self.mean()
        dev = np.where(self.valid, self.eps - np.where(np.isfinite(m), m, 0.0), 0.0)
        return np.where(n > 1, np.sqrt((dev**2).sum(0) / np.maximum(n - 1, 1)), 0.0)

    def stderr(self):
        n = self.valid.sum(0)
        return self.std() / np.sqrt(np.maximum(n, 1))


def _check_common(d, tau_max, runs):
    d = V.integer("d", d, 1)
    V.positive("tau_max", tau_max)
    runs = V.integer("runs", runs, 1)
    return d, float(tau_max), runs


def _rec_steps(tau, d, tau_max):
    if tau is None:
        tau = tau_grid(tau_max)
    tau = np.asarray(tau, dtype=float)
    V.nonnegative("tau", tau)
    steps = np.unique(np.round(np.concatenate([[0.0], tau]) * d).astype(np.int64))
    if steps[-1] < 1:
        steps = np.array([0, 1], dtype=np.int64)
    return steps


def simulate_many(plist: Sequence[STEParams], d, tau_max=None, runs=5, seed=0, tau=None, share_inputs=True,
                  snapshot_tau=(), eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep_teacher=False):
    """Run the spec §3 online SGD for several parameter sets, ``runs`` replicas each.

    Replica r of every parameter set starts from the same draws of (w*, w^0) and, with
    ``share_inputs=True`` (common random numbers), sees the same stream of inputs x_t and label noise
    as replica r of the other sets: this is exactly ``simulate(p, ..., seed)`` replica r for each p
    (bit-identical when T = 0), at the price of one Gaussian draw per coordinate for all sets.  Sound
    for per-set means and error bars (the R replicas of a set stay independent); the sets are then
    positively correlated, which only sharpens differences between sets.  ``share_inputs=False`` runs
    the sets in separate groups (same results, more draws; for benchmarks).
    """
    plist = [_params(p) for p in plist]
    if not plist:
        raise ValueError("plist must contain at least one STEParams")
    if tau_max is None:
        if tau is None:
            raise ValueError("give tau_max or tau")
        tau_max = float(np.max(tau))
    d, tau_max, runs = _check_common(d, tau_max, runs)
    seed = _seed(seed)
    V.positive("eps_bound", eps_bound)
    V.positive("q_bound", q_bound)
    rec = _rec_steps(tau, d, tau_max)
    snap = np.unique(np.round(np.asarray(snapshot_tau, dtype=float).reshape(-1) * d).astype(np.int64))
    if snap.size and (snap.min() < 0 or snap.max() > rec[-1]):
        raise ValueError(f"snapshot_tau must lie in [0, {rec[-1] / d}], got {snapshot_tau!r}")
    C = len(plist)
    cfg = _config_arrays(plist)
    if share_inputs:
        n_groups, G = runs, C
        slot = np.tile(np.arange(C, dtype=np.int64), (runs, 1))
        run_of = np.repeat(np.arange(runs)[:, None], C, axis=1)
    else:
        n_groups, G = runs * C, 1
        slot = np.repeat(np.arange(C, dtype=np.int64), runs)[:, None]
        run_of = np.tile(np.arange(runs), C)[:, None]
    states = np.stack([_stream_state(seed, (int(run_of[g, 0]),)) for g in range(n_groups)])
    W = np.empty((n_groups, G, d))
    WS = np.empty((n_groups, G, d))
    for g in range(n_groups):
        for j in range(G):
            p = plist[slot[g, j]]
            rng = _init_rng(seed, (int(run_of[g, j]),))
            WS[g, j] = _draw_teacher(rng, p.teacher, d)
            W[g, j] = _draw_init(rng, p.init, p.init_scale, d)
    WS0 = WS.copy() if keep_teacher or snap.size else None
    rho_emp = (WS**2).mean(-1)
    n_rec = rec.size
    out = {k: np.zeros((n_groups, G, n_rec)) for k in ("eps", "q", "m", "qpsi")}
    out_snap = np.zeros((n_groups, G, max(snap.size, 0), d)) if snap.size else np.zeros((n_groups, G, 0, 1))
    div = np.full((n_groups, G), -1, dtype=np.int64)
    K = _kernels()
    K["micro"](states, W, WS, slot, cfg["wtab"], cfg["wmeta"], cfg["xtab"], cfg["xmeta"], cfg["wgl"], cfg["wgt"],
               cfg["wgm"], cfg["xgl"], cfg["xgt"], cfg["xgm"], cfg["clip"],
               cfg["omega"], cfg["eta"], cfg["lam"], cfg["sig"], cfg["temp"],
               cfg["kappa"], cfg["s2"], rho_emp, rec, snap if snap.size else np.full(1, -1, np.int64),
               float(eps_bound), float(q_bound), out["eps"], out["q"], out["m"], out["qpsi"], out_snap, div)
    tau_rec = rec / d
    results = []
    for c, p in enumerate(plist):
        idx = [(g, j) for g in range(n_groups) for j in range(G) if slot[g, j] == c]
        idx.sort(key=lambda gj: run_of[gj])
        get = lambda a: np.stack([a[g, j] for g, j in idx])  # noqa: E731
        dv = np.array([div[g, j] for g, j in idx])
        diverged = dv >= 0
        valid = np.ones((runs, n_rec), dtype=bool)
        tdiv = np.full(runs, np.inf)
        arrs = {k: get(v) for k, v in out.items()}
        for r in range(runs):
            if diverged[r]:
                tdiv[r] = dv[r] / d
                bad = rec > dv[r]
                valid[r, bad] = False
                for k in arrs:
                    arrs[k][r, bad] = np.inf
                # the entry recorded at the divergence step itself may hold the out-of-bound value
                at = rec == dv[r]
                for k in arrs:
                    a = arrs[k][r, at]
                    arrs[k][r, at] = np.where(np.isfinite(a), a, np.inf)
                valid[r, at] = False
        results.append(SimResult(
            params=p, d=d, seed=seed, tau=tau_rec, eps=arrs["eps"], q=arrs["q"], m_psi=arrs["m"],
            q_psi=arrs["qpsi"], valid=valid, diverged=diverged, tau_diverged=tdiv, eps_bound=float(eps_bound),
            q_bound=float(q_bound), snapshot_tau=snap / d,
            snapshots=get(out_snap) if snap.size else None,
            w_star=get(WS0) if WS0 is not None else None))
    return results


def simulate(params=None, d=900, tau_max=None, runs=5, seed=0, tau=None, snapshot_tau=(),
             eps_bound=EPS_BOUND, q_bound=Q_BOUND, **kw) -> SimResult:
    """The d-dimensional online STE-SGD of spec §3 for one parameter set (``params`` or keywords of
    :class:`STEParams`), ``runs`` independent replicas in parallel; see :class:`SimResult`."""
    p = _params(params, **kw)
    return simulate_many([p], d, tau_max=tau_max, runs=runs, seed=seed, tau=tau, snapshot_tau=snapshot_tau,
                         eps_bound=eps_bound, q_bound=q_bound, keep_teacher=bool(len(snapshot_tau)))[0]


# ----------------------------------------------------------------------------------------------
# McKean-Vlasov particles (spec §4.3)
# ----------------------------------------------------------------------------------------------
@dataclass
class ParticleResult:
    params: STEParams
    tau: np.ndarray
    eps: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    q: np.ndarray
    valid: np.ndarray
    diverged: bool
    tau_diverged: float
    n_particles: int
    dt: float
    w: np.ndarray | None = None
    w_star: np.ndarray | None = None


def _step_schedule(tau, dt):
    tau = np.unique(np.concatenate([[0.0], np.asarray(tau, dtype=float).reshape(-1)]))
    V.nonnegative("tau", tau)
    dts, rec_at = [], [0]
    for a, b in zip(tau[:-1], tau[1:]):
        n = max(1, int(math.ceil((b - a) / dt - 1e-9)))
        dts.extend([(b - a) / n] * n)
        rec_at.append(len(dts))
    return tau, np.asarray(dts, dtype=np.float64), np.asarray(rec_at, dtype=np.int64)


def solve_particles(params=None, tau=None, n_particles=100_000, dt=0.02, seed=0, n_chunks=64,
                    eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep=False, **kw) -> ParticleResult:
    """Euler--Maruyama for the McKean--Vlasov SDE of spec §4.3 with ``n_particles`` pairs (w*, w_hat)
    drawn from mu_0, step <= ``dt`` (steps land exactly on the ``tau`` grid), eps_g recomputed from the
    particles before every step.  Deterministic given ``seed`` (streams per chunk, not per thread)."""
    p = _params(params, **kw)
    n_particles = V.integer("n_particles", n_particles, 1)
    n_chunks = V.integer("n_chunks", n_chunks, 1)
    V.positive("dt", dt)
    seed = _seed(seed)
    if tau is None:
        tau = tau_grid(100.0)
    tau, dts, rec_at = _step_schedule(tau, dt)
    n = -(-n_particles // n_chunks)
    N = n * n_chunks
    rng = _init_rng(seed, (0,))
    WSP = _draw_teacher(rng, p.teacher, N).reshape(n_chunks, n)
    WP = _draw_init(rng, p.init, p.init_scale, N).reshape(n_chunks, n)
    states = np.stack([_stream_state(seed, (1, c)) for c in range(n_chunks)])
    tab, meta = _tables([p.weight_grid()])
    kappa, s2 = p.input_moments()
    rho = float((WSP**2).mean())
    nr = tau.size
    out = [np.zeros(nr) for _ in range(4)]
    status = np.zeros(2, dtype=np.int64)
    _kernels()["particles"](states, WP, WSP, tab[0], meta[0], p.clipped,
                            p.omega, kappa, s2, p.eta, p.lam, p.sigma2, p.T, rho, dts, rec_at,
                            float(eps_bound), float(q_bound), *out, status)
    valid = np.ones(nr, dtype=bool)
    tdiv = np.inf
    if status[0]:
        step = status[1]
        tdiv = float(np.concatenate([[0.0], np.cumsum(dts)])[step])
        valid = rec_at < step
        for a in out:
            a[~valid] = np.inf
    return ParticleResult(params=p, tau=tau, eps=out[0], m_psi=out[1], q_psi=out[2], q=out[3], valid=valid,
                          diverged=bool(status[0]), tau_diverged=tdiv, n_particles=N, dt=float(dt),
                          w=WP.reshape(-1) if keep else None, w_star=WSP.reshape(-1) if keep else None)


# ----------------------------------------------------------------------------------------------
# Fokker-Planck finite volumes (spec §4.3 numerics)
# ----------------------------------------------------------------------------------------------
@dataclass
class PDEResult:
    params: STEParams
    tau: np.ndarray
    eps: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    x: np.ndarray  # cell centres
    h: float
    w_star: np.ndarray  # teacher values
    weights: np.ndarray  # their probabilities
    snapshot_tau: np.ndarray
    density: np.ndarray  # (n_snap, n_teacher, M): p_tau(w_hat | w*) at snapshot_tau
    diverged: bool
    steps: int

    def density_given(self, w_star=1.0):
        """(n_snap, M) densities for the teacher node nearest ``w_star``."""
        j = int(np.argmin(np.abs(self.w_star - w_star)))
        return self.density[:, j, :]


def _teacher_nodes(law, n):
    if law == "ones":
        return np.ones(1), np.ones(1)
    if law == "rademacher":
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _cell_averages(p, x, h, n_sub=64):
    """(1/h) int over each cell of psi, psi^2, g, g*psi (midpoint rule with n_sub points per cell):
    exact to O(h/n_sub) in the cells cut by a threshold, exact elsewhere."""
    off = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    u = x[:, None] + h * off[None, :]
    if p.b is None:
        psi = u
        g = np.ones_like(u)
    else:
        from qmf_sym.ste import quantize, ste_grad

        psi = np.asarray(quantize(u, p.b, p.omega, kind=p.kind), dtype=float)
        g = np.asarray(ste_grad(u, p.omega, ste=p.ste), dtype=float)
    return psi.mean(1), (psi**2).mean(1), g.mean(1), (g**2).mean(1), (g * psi).mean(1)


def solve_pde(params=None, tau=None, h=0.005, L=None, n_teacher=24, snapshot_tau=(), eps_bound=EPS_BOUND,
              **kw) -> PDEResult:
    """Fokker--Planck equation of spec §4.3 for p_tau(w_hat | w*) on [-L, L] (default
    L = max(6, omega + 4) so the N(0,1) start and the whole quantizer range fit), cell width h.
    Continuous teacher laws are discretised (Gauss--Hermite, ``n_teacher`` nodes).  The drift
    A = eta g (kappa w* - s2 psi) - eta lam w and the diffusion B = eta^2 g^2 s2 (2 eps_g + sigma^2) + 2 eta T
    use cell averages of psi, g, g psi, g^2; eps_g is recomputed from the densities before every step."""
    p = _params(params, **kw)
    V.positive("h", h)
    n_teacher = V.integer("n_teacher", n_teacher, 1)
    if tau is None:
        tau = tau_grid(100.0)
    tau = np.unique(np.concatenate([[0.0], np.asarray(tau, dtype=float).reshape(-1)]))
    V.nonnegative("tau", tau)
    if L is None:
        L = max(6.0, (p.omega if p.b is not None else 0.0) + 4.0, 4.0 * p.init_scale)
    V.positive("L", L)
    M = int(round(2 * L / h))
    if M < 8:
        raise ValueError(f"h must be <= L/4, got h={h}, L={L}")
    h = 2 * L / M
    edges = np.linspace(-L, L, M + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    from scipy.special import ndtr

    wst, pw = _teacher_nodes(p.teacher, n_teacher)
    s = p.init_scale
    if p.init == "gaussian" and s > 0:
        p0 = np.diff(ndtr(edges / s)) / h
    elif p.init == "uniform" and s > 0:
        a = s * math.sqrt(3.0)
        p0 = np.clip(np.minimum(edges[1:], a) - np.maximum(edges[:-1], -a), 0, None) / (2 * a * h)
    else:
        pts = [0.0] if (p.init == "zeros" or s == 0) else [-s, s]
        p0 = np.zeros(M)
        for z in pts:
            p0[min(max(np.searchsorted(edges, z, side="right") - 1, 0), M - 1)] += 1.0 / (len(pts) * h)
    p0 = p0 / (p0.sum() * h)
    P = np.tile(p0, (len(wst), 1))
    psi_a, psi2_a, g_a, g2_a, gpsi_a = _cell_averages(p, x, h)
    kappa, s2 = p.input_moments()
    A = p.eta * (kappa * wst[:, None] * g_a[None, :] - s2 * gpsi_a[None, :]) - p.eta * p.lam * x[None, :]
    snap = np.asarray(snapshot_tau, dtype=float).reshape(-1)
    tau = np.unique(np.concatenate([tau, snap]))
    snap_rec = np.full(tau.size, -1, dtype=np.int64)
    for k, st in enumerate(snap):
        snap_rec[np.searchsorted(tau, st)] = k
    out_eps, out_m, out_q = np.zeros(tau.size), np.zeros(tau.size), np.zeros(tau.size)
    out_snap = np.zeros((snap.size, len(wst), M))
    status = np.zeros(1, dtype=np.int64)
    rho = float((pw * wst**2).sum())
    _, steps = _kernels()["pde"](P, wst, pw, A, g2_a, psi_a, psi2_a, h, p.eta, s2, kappa, p.sigma2, p.T,
                                 rho, tau, snap_rec, float(eps_bound), out_eps, out_m, out_q, out_snap, status)
    return PDEResult(params=p, tau=tau, eps=out_eps, m_psi=out_m, q_psi=out_q, x=x, h=h, w_star=wst,
                     weights=pw, snapshot_tau=snap, density=out_snap, diverged=bool(status[0]), steps=int(steps))


# ----------------------------------------------------------------------------------------------
# theory curves (spec §4.4)
# ----------------------------------------------------------------------------------------------
def closed_curve(params, tau):
    """eps_g(tau) of the closed input-only ODE (spec §4.4 iii), via :func:`qmf_sym.ste.solve_input_only_ode`."""
    from qmf_sym import ste

    p = _params(params)
    if not p.input_only:
        raise ValueError("method='closed' needs unquantized weights (b=None, spec §4.4 iii)")
    if p.init not in ("gaussian", "uniform", "rademacher", "zeros"):  # pragma: no cover
        raise ValueError(p.init)
    kappa, s2 = p.input_moments()
    tau = np.asarray(tau, dtype=float)
    q0 = 0.0 if p.init == "zeros" else p.init_scale**2
    return np.asarray(_call_closed_ode(ste, p, kappa, s2, tau, q0), dtype=float)


def _call_closed_ode(ste, p, kappa, s2, tau, q0):
    _, _, eps = ste.solve_input_only_ode(tau, p.eta, p.lam, p.sigma2, kappa, s2, rho=p.rho, T=p.T, m0=0.0, q0=q0)
    return eps


def theory_curve(params, tau, method="pde", **kw):
    """The "ODE" prediction eps_g(tau) of spec §4.4: ``closed`` (input-only, §4.4 iii), or the exact
    moment equations §4.4 (ii), i.e. eps_g = 1/2 (rho - 2 kappa m_psi + s2 q_psi) from mu_tau of
    the PDE (``pde``) or of the particle solver (``particles``); ``kw`` go to the solver."""
    V.choice("method", method, ("pde", "particles", "closed"))
    p = _params(params)
    tau = np.asarray(tau, dtype=float)
    if method == "closed":
        return closed_curve(p, tau)
    solver = solve_pde if method == "pde" else solve_particles
    res = solver(p, tau=tau, **kw)
    return np.interp(tau, res.tau, res.eps)
