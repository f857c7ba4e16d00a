"""The ONE quantizer lookup of the STE solvers: psi(u) = lev[#{thr <= u}] for the grid
(levels, thresholds) of :func:`qmf_sym.ste.quantizer_grid` (right-continuous, spec §2.2), and the
tables of every compiled map (:func:`map_tables`: a :class:`qmf_sym.ste.maps.Map` -- identity, any
staircase, tanh -- with its surrogate, for the kernels' ``mpass`` / ``surrogate``).

:func:`lookup_tables` builds, once per grid, the arrays of the compiled pass ``_kernels.mpass`` (a
select chain over a tuple of the thresholds for <= 7 thresholds, an arithmetic bucket formula above;
uneven staircases: chains up to 15 thresholds, a binary search above). The d-dimensional SGD (weights
and inputs), the particle solver and the PDE's cell averages (through :func:`quantize`) all call that
pass; it agrees bit for bit with ``qmf_sym.ste.quantize`` (tested at, just below and just above every
threshold).
"""
from __future__ import annotations

import numpy as np


def _arith_grid(lev, thr, omega):
    """Integers (a_t, b_t, D_t, a_l, b_l, D_l) with thr[j] = omega ((a_t j + b_t) / D_t) and
    lev[c] = omega ((a_l c + b_l) / D_l) bit for bit in float64 (the operations of
    qmf_sym.ste's grid for the three kinds), or None if no candidate reproduces the grid."""
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


#: uniform grids with more thresholds than this take the arithmetic pass (code -2) where it reproduces
#: the grid: per value 0.99 ns against 1.08 ns for the 15-threshold chain (b = 4, d = 900 in L1, one
#: thread), while the 7-threshold chain takes 0.46 ns (benchmarks/bench_ste.py [6]); same values (exact)
ARITH_ABOVE = 7


def lookup_tables(grids, bounds=None, scales=None):
    """Tables of the lookup pass for a list of (levels, thresholds) (empty grid: psi = id).

    Returns (lev, thr, meta): levels / thresholds padded to a common length (thresholds with +inf,
    never crossed; levels with the last level) and meta (C, 5) = (code, t0, inv, top, clip bound).
    code 0: psi = id; k in CHAINS (1, 3, 7, 15): select chain of that length (>= the number of
    thresholds; 15 only where -2 does not apply); -2 / -1: bucket formula for larger grids (more than
    :data:`ARITH_ABOVE` thresholds, evenly spaced: nearest threshold j = floor((u - thr[0]) / Delta +
    1/2) clipped to [0, n - 1], then psi = lev[j + (u >= thr[j])], exact because rounding can move j
    only when u is ~Delta/2 away from both candidate thresholds); -2 recomputes thr[j] and the level
    arithmetically (:func:`_arith_grid`, checked bit for bit here; the lev row then holds (a_t, b_t,
    D_t, a_l, b_l, D_l, omega)), -1 gathers them from the rows.
    ``bounds``: the STE clip bound of each grid (stored in meta[:, 4]; inf = no clipping);
    ``scales``: omega of each grid (needed for -2).
    """
    from qmf_sim.ste._kernels import CHAINS

    bounds = [np.inf] * len(grids) if bounds is None else bounds
    scales = [None] * len(grids) if scales is None else scales
    n = max([len(g[0]) for g in grids] + [CHAINS[-1] + 1])
    lev = np.zeros((len(grids), n))
    thr = np.full((len(grids), n), np.inf)
    meta = np.zeros((len(grids), 5))
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
        if nt > ARITH_ABOVE and om is not None:
            ar = _arith_grid(np.asarray(lv, dtype=float), np.asarray(th, dtype=float), float(om))
            if ar is not None:
                code = -2
                lev[c, :] = 0.0
                lev[c, :7] = ar + (float(om),)
        meta[c, :4] = (code, th[0] if nt else 0.0, 1.0 / delta, float(max(nt - 1, 0)))
    return lev, thr, meta


#: columns of the meta rows of :func:`map_tables`
META_COLS = ("code", "t0", "inv", "top", "clip", "gcode", "ga", "gc", "ridge_psi")


def map_tables(maps, ridge_psi=None):
    """Kernel tables (lev, thr, meta) of a list of compiled :class:`qmf_sym.ste.maps.Map` (one row each).

    meta (C, 9) = :data:`META_COLS`: columns 0-4 as in :func:`lookup_tables` (uniform quantizer grids
    get exactly the same rows, so seeded results do not change); unevenly spaced staircases use a select
    chain (<= 15 thresholds) or a binary search (code ``CODE_SEARCH``); tanh: code ``CODE_TANH`` with lev
    row (amplitude, width).  Surrogate: gcode 0 = ``1{|u| <= clip}`` (clip = +inf: g = 1), gcode 1 =
    ga (1 - tanh(u / gc)^2) (tanh's derivative).  ``ridge_psi``: per map, the ridge acts on psi(w)
    (spec §8 item 3) instead of the latent w.
    """
    from qmf_sim.ste._kernels import CHAINS, CODE_SEARCH, CODE_TANH

    ridge_psi = [False] * len(maps) if ridge_psi is None else list(ridge_psi)
    stair = []
    for m in maps:
        if not m.compiled:
            raise ValueError(f"map {m.name} has no compiled form (a callable): use the pure-numpy path")
        if m.kind == "staircase" and not _uneven(m.thresholds):
            stair.append(((m.levels, m.thresholds), m.clip, m.grid[1] if m.grid else None))
        else:
            stair.append(((np.zeros(0), np.zeros(0)), m.clip if m.kind == "identity" else np.inf, None))
    lev, thr, meta0 = lookup_tables([s[0] for s in stair], [s[1] for s in stair], [s[2] for s in stair])
    n = max(lev.shape[1], max([len(m.levels) for m in maps if m.kind == "staircase"] + [0]))
    if n > lev.shape[1]:
        lev = np.concatenate([lev, np.repeat(lev[:, -1:], n - lev.shape[1], 1)], 1)
        thr = np.concatenate([thr, np.full((thr.shape[0], n - thr.shape[1]), np.inf)], 1)
    meta = np.zeros((len(maps), len(META_COLS)))
    meta[:, :5] = meta0
    for c, (m, rp) in enumerate(zip(maps, ridge_psi)):
        meta[c, 8] = float(bool(rp))
        if m.kind == "staircase" and stair[c][0][0].size == 0:  # uneven: select chain, or binary search
            nt = len(m.thresholds)
            lev[c, :] = m.levels[-1]
            lev[c, : len(m.levels)] = m.levels
            thr[c, :] = np.inf
            thr[c, :nt] = m.thresholds
            code = next((k for k in CHAINS if k >= nt), CODE_SEARCH)
            meta[c, :5] = (code, 0.0, 0.0, float(nt), m.clip)
        elif m.kind == "tanh":
            lev[c, :] = 0.0
            lev[c, :2] = (m.amplitude, m.width)
            meta[c, :5] = (CODE_TANH, 0.0, 0.0, 0.0, np.inf)
            meta[c, 5:8] = (1.0, m.amplitude / m.width, m.width)
    return lev, thr, meta


def _uneven(th):
    nt = len(th)
    if nt < 2:
        return False
    delta = (th[-1] - th[0]) / (nt - 1)
    return bool(np.max(np.abs(th - (th[0] + delta * np.arange(nt)))) > 0.25 * delta)


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
