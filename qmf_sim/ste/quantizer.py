"""The ONE quantizer lookup of the STE solvers: psi(u) = lev[#{thr <= u}] for the grid
(levels, thresholds) of :func:`qmf_sym.ste.quantizer_grid` (right-continuous, spec §2.2), and the
tables of every compiled map (:func:`map_tables`: a :class:`qmf_sym.ste.maps.Map` -- identity, any
staircase, tanh -- with its surrogate, for the kernels' ``mpass`` / ``surrogate``).

:func:`lookup_tables` builds, once per grid, the arrays of the compiled pass ``_kernels.mpass`` (a
select chain over a tuple of the thresholds for <= 7 thresholds; above, an arithmetic bucket formula for
the uniform grids of spec §2.2, and for other staircases a chain up to 15 thresholds, a binary search
beyond). The d-dimensional SGD (weights
and inputs), the particle solver and the PDE's cell averages (through :func:`quantize`) all call that
pass; it agrees bit for bit with ``qmf_sym.ste.quantize`` (tested at, just below and just above every
threshold).
"""
from __future__ import annotations

import numpy as np


def _arith_grid(lev, thr, omega):
    """(a_t, b_t, D_t, a_l, b_l, D_l) with thr[j] = omega ((a_t j + b_t) / D_t) and lev[c] = omega ((a_l c +
    b_l) / D_l) bit for bit as the arithmetic pass computes them (``_kernels.grid_values``: the quotient
    without a division), for one of the three kinds of qmf_sym.ste's grid (spec §2.2), or None.  omega None:
    tried as the grid's largest level (endpoints, midtread) and as L / (L - 1) times it (cells)."""
    from qmf_sim.ste._kernels import grid_values

    L = len(lev)
    cands = [(2, 1 - (L - 1), L - 1, 2, -(L - 1), L - 1),  # endpoints
             (2, 2 - L, L, 2, 1 - L, L)]  # cells
    if L % 2 == 1 and L >= 3:
        K = (L - 1) // 2
        cands.append((2, 1 - 2 * K, 2 * K, 1, -K, K))  # midtread
    j = np.arange(L - 1, dtype=float)
    c = np.arange(L, dtype=float)
    for om in [omega] if omega is not None else [lev[-1], lev[-1] * L / (L - 1)]:
        for at, bt, dt, al, bl, dl in cands:
            if (np.array_equal(grid_values(j, at, bt, dt, om), thr)
                    and np.array_equal(grid_values(c, al, bl, dl, om), lev)):
                return (at, bt, dt, al, bl, dl, float(om))
    return None


#: grids with more thresholds than this take the arithmetic pass (code -2) where it reproduces the grid:
#: per value ~0.74 ns against ~1.0 ns for the 15-threshold chain (b = 4, d = 900 in L1, one thread),
#: while the 7-threshold chain takes ~0.46 ns (benchmarks/bench_ste.py [6]); same values (exact)
ARITH_ABOVE = 7


def lookup_tables(grids, bounds=None, scales=None):
    """Tables of the lookup pass for a list of (levels, thresholds) (any sorted thresholds; empty: psi = id).

    Returns (lev, thr, meta): levels / thresholds padded to a common length (thresholds with +inf,
    never crossed; levels with the last level) and meta (C, 5) = (code, t0, inv, top, clip bound).
    The code of a grid with n thresholds: 0 for psi = id; the select chain of the shortest length k in
    CHAINS = (1, 3, 7, 15) with k >= n, for n <= :data:`ARITH_ABOVE`; above it -2 where the grid is one of
    spec §2.2's uniform grids (:func:`_arith_grid`), else the chain (n <= 15) or ``CODE_SEARCH`` (a binary
    search, top = n).  Code -2, with t0 = thr[0], inv = 1 / Delta, top = n - 1: the nearest threshold j =
    floor((u - t0) inv + 1/2) clipped to [0, top], then psi = lev[j + (u >= thr[j])] with thr[j] and the
    level recomputed (the lev row then holds a_t, b_t, D_t, a_l, b_l, D_l, omega); exact because rounding
    moves j only where u is ~Delta/2 away from both candidate thresholds.  ``bounds``: the STE clip bound
    of each grid (meta[:, 4]; inf = no clipping); ``scales``: omega of each grid, where known.
    """
    from qmf_sim.ste._kernels import CHAINS, CODE_SEARCH

    bounds = [np.inf] * len(grids) if bounds is None else bounds
    scales = [None] * len(grids) if scales is None else scales
    n = max([len(g[0]) for g in grids] + [CHAINS[-1] + 1])
    lev = np.zeros((len(grids), n))
    thr = np.full((len(grids), n), np.inf)
    meta = np.zeros((len(grids), 5))
    for c, ((lv, th), bound, om) in enumerate(zip(grids, bounds, scales)):
        lv, th = np.asarray(lv, dtype=float), np.asarray(th, dtype=float)
        meta[c, 4] = bound
        if len(lv) == 0:
            continue
        lev[c, : len(lv)] = lv
        lev[c, len(lv):] = lv[-1]
        thr[c, : len(th)] = th
        nt = len(th)
        meta[c, :4] = (next((k for k in CHAINS if k >= nt), CODE_SEARCH), 0.0, 0.0, float(nt))
        ar = _arith_grid(lv, th, om) if nt > ARITH_ABOVE else None
        if ar is not None:
            lev[c, :] = 0.0
            lev[c, :7] = ar
            meta[c, :4] = (-2, th[0], 1.0 / ((th[-1] - th[0]) / (nt - 1)), float(nt - 1))
    return lev, thr, meta


#: columns of the meta rows of :func:`map_tables`
META_COLS = ("code", "t0", "inv", "top", "clip", "gcode", "ga", "gc", "ridge_psi")


def map_tables(maps, ridge_psi=None):
    """Kernel tables (lev, thr, meta) of a list of compiled :class:`qmf_sym.ste.maps.Map` (one row each).

    meta (C, 9) = :data:`META_COLS`: columns 0-4 those of :func:`lookup_tables` for the staircases (any
    spacing) and the identity; tanh: code ``CODE_TANH`` with lev row (amplitude, width).  Surrogate:
    gcode 0 = ``1{|u| <= clip}`` (clip = +inf: g = 1), gcode 1 = ga (1 - tanh(u / gc)^2) (tanh's
    derivative).  ``ridge_psi``: per map, the ridge acts on psi(w) (spec §8 item 3) instead of the latent w.
    """
    from qmf_sim.ste._kernels import CODE_TANH

    ridge_psi = [False] * len(maps) if ridge_psi is None else list(ridge_psi)
    stair = []
    for m in maps:
        if not m.compiled:
            raise ValueError(f"map {m.name} has no compiled form (a callable): use the pure-numpy path")
        if m.kind == "staircase":
            stair.append(((m.levels, m.thresholds), m.clip, m.grid[1] if m.grid else None))
        else:
            stair.append(((np.zeros(0), np.zeros(0)), m.clip if m.kind == "identity" else np.inf, None))
    lev, thr, meta0 = lookup_tables([s[0] for s in stair], [s[1] for s in stair], [s[2] for s in stair])
    meta = np.zeros((len(maps), len(META_COLS)))
    meta[:, :5] = meta0
    for c, (m, rp) in enumerate(zip(maps, ridge_psi)):
        meta[c, 8] = float(bool(rp))
        if m.kind == "tanh":
            lev[c, :] = 0.0
            lev[c, :2] = (m.amplitude, m.width)
            meta[c, :5] = (CODE_TANH, 0.0, 0.0, 0.0, np.inf)
            meta[c, 5:8] = (1.0, m.amplitude / m.width, m.width)
    return lev, thr, meta


def apply(tables, u, row=0):
    """psi(u) elementwise (float64, the shape of u) through the compiled pass (``_kernels.mpass``) of row
    ``row`` of ``tables`` = (lev, thr, meta) of :func:`lookup_tables` or :func:`map_tables`."""
    from qmf_sim.ste import _kernels as K

    lev, thr, meta = tables
    u = np.ascontiguousarray(u, dtype=np.float64)
    out = np.empty(u.size)
    K.mpass(np.int64(meta[row, 0]), u.reshape(-1), out, u.size, lev[row], thr[row], meta[row, 1], meta[row, 2],
            meta[row, 3])
    return out.reshape(u.shape)


def map_values(m, u):
    """psi(u) through the compiled pass of the map ``m`` (float64); the same values as ``m.forward``."""
    return apply(map_tables([m]), u)


def quantize(u, b, omega, kind="endpoints"):
    """psi(u) = Q_{b,omega}(u) through the compiled lookup (b=None: the identity); float64 array."""
    from qmf_sim.ste.params import _grid

    u = np.ascontiguousarray(u, dtype=np.float64)
    if np.isnan(u).any():
        raise ValueError("u must not contain NaN (a NaN has no quantized value)")
    return apply(lookup_tables([_grid(b, omega, kind)], scales=[omega]), u)
