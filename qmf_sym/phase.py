"""The bias sigma_b and the (sigma_w, sigma_b) phase diagram of a staircase network (paper 1, App. F).

Paper 1 (sec. 4.2) sets sigma_b = 0 "for simplicity" and cites empirical evidence (App. F, not in
our text) that sigma_b > 0 is sub-optimal.  Here chi (eq. 6 / 15) and xi (eq. 7) are computed at the
*true* fixed point (Q*, C*) of eq. 4-5 for any staircase, on a grid or optimised over sigma_w at
each sigma_b.  Derivation: derivations/critical_init_and_bias.md.

*Parametrisation by Q*.*  For a given sigma_b and a target Q* > sigma_b^2 there is exactly one
sigma_w making Q* a fixed point of the variance map:  sigma_w^2 = (Q* - sigma_b^2) / E phi(u)^2,
u ~ N(0, Q*) (eq. 4, first row).  Then C* solves M(C) = C (eq. 5) and chi = chi(Q*, C*).  This is
vectorised over Q* (:func:`fixed_point_at_Q`); :func:`best_chi_over_sigma_w` scans it, refines with
Brent, and confirms the optimum with the independent solver :func:`qmf_sym.maps.fixed_point` (the
stable, largest Q* for that sigma_w) -- an unstable or non-maximal root of the variance map is
therefore never reported.

*No chi = 1 boundary.*  For an odd staircase M is convex on [0, 1] with M(1) = 1 and M'(1-) = +inf
(eq. 15 diverges), so F(C) = M(C) - C has exactly one root in [0, 1) with F' < 0 there: chi < 1 at
the stable fixed point for every (sigma_w, sigma_b) -- the quantized network has no edge of chaos
(the paper's "chi = 1 is unattainable", sec. 4.2, holds on the whole plane).
"""
from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validate as V
from . import maps
from ._faces import register_equation
from .activations import Staircase, as_staircase

__all__ = ["fixed_point_at_Q", "best_chi_over_sigma_w", "BestChi", "phase_diagram", "PhaseDiagram", "PhaseRow",
           "bias_study"]

_C_TOP = 1.0 - 1e-13  # C* search stays below 1 (M(1) = 1 is the unstable fixed point)


def _as_act(act):
    if isinstance(act, (int, np.integer)) and not isinstance(act, (bool, np.bool_)):
        return Staircase.uniform(V.integer("act", int(act), 2, why="an integer act is the N of the uniform staircase"))
    return as_staircase(act)


def _solve_C(act, Q, sw, sb):
    """Vectorised C* in [-1, 1) of M(C) = C reached from C = 0 (the fixed point of Lemma 1):
    bracketing bisection steps alternated with Newton (M' = chi), ~50 vectorised map calls at most."""
    Q, sw = np.asarray(Q, float), np.asarray(sw, float)
    F = lambda c: maps.correlation_map(act, Q, c, sw, sb) - c
    f0 = F(np.zeros_like(Q))
    # the root lies on the side of 0 where F points: [0, 1) for F(0) > 0, (-1, 0] for F(0) < 0
    lo = np.where(f0 >= 0, 0.0, -1.0 + 1e-13)
    hi = np.where(f0 >= 0, _C_TOP, 0.0)
    c = np.zeros_like(Q)
    for _ in range(60):
        fc = F(c)
        up = fc > 0  # F > 0 left of the root on [0, 1) (convex F: positive, then negative)
        lo = np.where(up & (f0 >= 0), c, lo)
        hi = np.where(~up & (f0 >= 0), c, hi)
        hi = np.where((f0 < 0) & (fc < 0), c, hi)
        lo = np.where((f0 < 0) & (fc >= 0), c, lo)
        slope = maps.chi(act, Q, np.clip(c, -1 + 1e-15, 1 - 1e-15), sw) - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = c - fc / slope
        ok = np.isfinite(newton) & (newton > lo) & (newton < hi)
        nxt = np.where(ok, newton, 0.5 * (lo + hi))
        if np.all(np.abs(nxt - c) <= 2e-15) or np.all(f0 == 0):
            c = nxt
            break
        c = nxt
    return np.where(f0 == 0, 0.0, c)


def fixed_point_at_Q(act, Q, sigma_b=0.0):
    """(sigma_w, C*, chi, xi) for which Q* = ``Q`` is the fixed point of the variance map at bias
    ``sigma_b`` (vectorised over Q > sigma_b^2): sigma_w^2 = (Q - sigma_b^2) / E phi^2 (eq. 4),
    C* from eq. 5 (reached from C = 0), chi (eq. 6/15) and xi = -1/log chi (eq. 7)."""
    act = _as_act(act)
    act.check_Q(Q)
    V.sigma("sigma_b", sigma_b, zero=True)
    Q = np.asarray(Q, dtype=float)
    sb = float(sigma_b)
    if np.any(Q <= sb * sb):
        raise ValueError(f"Q must exceed sigma_b^2 = {sb * sb!r} (Q* = sigma_w^2 E phi^2 + sigma_b^2)")
    _, m2 = maps.post_activation_moments(act, Q)
    with np.errstate(divide="ignore", over="ignore"):
        sw = np.atleast_1d(np.sqrt((Q - sb * sb) / np.asarray(m2, float)))
    ok = np.isfinite(sw) & (sw > 0)
    C, x, xi = (np.full(sw.shape, np.nan) for _ in range(3))
    if np.any(ok):
        q = np.atleast_1d(Q)[ok]
        # odd staircase, no bias: M(0) = 0 exactly (E phi = 0), C* = 0 (stable: chi < 1, eq. 16)
        C[ok] = 0.0 if (sb == 0 and act.is_odd()) else _solve_C(act, q, sw[ok], sb)
        x[ok] = maps.chi(act, q, np.minimum(C[ok], 1 - 1e-15), sw[ok])
        xi[ok] = maps.depth_scale(np.clip(x[ok], 1e-300, 1.0))
    sw[~ok] = np.inf  # E phi^2 underflows to 0 at this Q: no finite sigma_w reaches it
    r = lambda a: a.reshape(Q.shape)[()]
    return r(sw), r(C), r(x), r(xi)


@dataclass(frozen=True)
class BestChi:
    """The best chi over sigma_w at a fixed sigma_b, at the true fixed point (Q*, C*)."""

    sigma_w: float
    sigma_b: float
    Q_star: float
    C_star: float
    chi: float
    xi: float
    attained: bool = True  # False: chi increases up to sigma_w -> inf (a supremum; values at the scan's end)


def _scale(act):
    """A natural variance scale of the staircase: the squared spread of its offsets (1 if one)."""
    g = act.offsets
    s = float(g.max() - g.min()) if len(g) > 1 else float(abs(g[0]))
    return max(s, 1e-300) ** 2 if s > 0 else 1.0


def best_chi_over_sigma_w(act, sigma_b=0.0, n_scan=48):
    """Maximise chi over sigma_w at fixed ``sigma_b`` (the true fixed point, float64).

    Scan Q* on a log grid above sigma_b^2 (:func:`fixed_point_at_Q`), Brent-refine log Q* around
    the best point, and confirm with :func:`qmf_sym.maps.fixed_point` at the resulting sigma_w (the
    stable Q*, C* that a network reaches).  sigma_w is determined to ~1e-8 relative (a flat maximum:
    chi to ~1e-15).  For the sign staircase (one offset at 0) chi does not depend on sigma_w at
    sigma_b = 0; sigma_w = 1 is returned.
    """
    act = _as_act(act)
    V.sigma("sigma_b", sigma_b, zero=True)
    n_scan = V.integer("n_scan", n_scan, 10, 10_000)
    sb = float(sigma_b)
    if sb > 1e100:
        raise ValueError(f"sigma_b must be in [0, 1e100], got {sigma_b!r}")
    if act.N == 2 and act.offsets_exact[0] == 0 and sb == 0:
        fp = maps.fixed_point(act, 1.0, 0.0)
        return BestChi(1.0, 0.0, float(fp.Q), float(fp.C), float(fp.chi), float(fp.xi))
    s2 = _scale(act)
    # normalised offsets g / sqrt(Q*) at most ~20 (beyond, E phi^2 and chi underflow: never optimal)
    lo_q = sb * sb * (1 + 1e-6) + s2 / 400
    hi_q = 1e3 * (sb * sb + s2)  # offsets at < 3 % of sqrt(Q*): sign-like, chi -> its sigma_w -> inf limit
    qs = np.exp(np.linspace(math.log(lo_q), math.log(hi_q), n_scan))
    sws, _, x, _ = fixed_point_at_Q(act, qs, sb)
    # only the stable branch: Q* is stable iff sigma_w(Q*) increases (d/dQ of the variance map < 1);
    # the other branch holds the unstable roots a network never settles on
    stable = np.isfinite(sws) & (np.gradient(np.log(np.where(np.isfinite(sws), sws, 1.0))) > 0)
    x = np.where(stable, x, np.nan)
    k = int(np.nanargmax(x))
    if k == len(qs) - 1:
        # chi still increasing at the largest Q*: the supremum is the sigma_w -> inf limit
        # (the staircase acts like sign there; e.g. sign itself at sigma_b > 0, where chi -> 2/pi)
        # (reported at Q* = 1e8 x the scan's end: offsets at ~1e-6 sqrt(Q*), chi within ~1e-8 of the limit)
        fp = maps.fixed_point(act, float(fixed_point_at_Q(act, qs[-1] * 1e8, sb)[0]), sb)
        return BestChi(math.inf, sb, math.inf, float(fp.C), float(fp.chi), float(fp.xi), attained=False)
    a, b = math.log(qs[max(k - 1, 0)]), math.log(qs[min(k + 1, len(qs) - 1)])
    f = lambda lq: -float(fixed_point_at_Q(act, math.exp(lq), sb)[2])
    res = optimize.minimize_scalar(f, bounds=(a, b), method="bounded", options={"xatol": 1e-11})
    Q = math.exp(res.x)
    sw = float(fixed_point_at_Q(act, Q, sb)[0])
    fp = maps.fixed_point(act, sw, sb)
    if abs(float(fp.Q) / Q - 1) > 1e-6:
        raise ValueError(f"the optimum's Q* = {Q!r} is not the stable fixed point reached by the network "
                         f"(maps.fixed_point gives {float(fp.Q)!r}) for sigma_w = {sw!r}, sigma_b = {sb!r}")
    return BestChi(sw, sb, float(fp.Q), float(fp.C), float(fp.chi), float(fp.xi))


@dataclass(frozen=True)
class PhaseDiagram:
    """chi and xi over a sigma_w x sigma_b grid (rows: sigma_b, columns: sigma_w) at the true fixed
    point, with Q*, C*.  Staircases: ``boundary`` None (no chi = 1 line exists, module doc) and
    ``optimum`` the refined :class:`BestChi` at sigma_b = 0.  Continuous activations: ``boundary`` the
    order-to-chaos line, one :class:`qmf_sym.maps.EdgeOfChaos` (or None where the line has no point, e.g.
    ReLU at sigma_b > 0) per sigma_b of the grid, where chi = 1 and xi is infinite; ``optimum`` None
    (chi < 1 off the line, = 1 on it).  ``grid_optimum``: the grid point of largest chi."""

    sigma_w: np.ndarray
    sigma_b: np.ndarray
    Q: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    xi: np.ndarray
    grid_optimum: tuple
    optimum: object
    boundary: object
    status: np.ndarray = None  # "ok", or why the solver gave no fixed point at that cell (its ValueError message)
    activation: str = ""  # the activation's name (qmf_sym.activations: "staircase(N=4)", "tanh", ...)


@dataclass(frozen=True)
class PhaseRow:
    """One sigma_b row of a :class:`PhaseDiagram`: Q*, C*, chi, xi (float arrays, NaN where the cell has no
    fixed point) and ``status`` (a tuple of strings: "ok" or why) at each sigma_w of the grid, in order."""

    sigma_b: float
    Q: np.ndarray
    C: np.ndarray
    chi: np.ndarray
    xi: np.ndarray
    status: tuple


def _phase_row(act, sw, b) -> PhaseRow:
    """The cells of one sigma_b row: :func:`qmf_sym.maps.fixed_point` at each sigma_w of ``sw``."""
    Q, C, X, XI = (np.full(sw.size, np.nan) for _ in range(4))
    status = ["ok"] * sw.size
    for j, w in enumerate(sw):
        try:
            fp = maps.fixed_point(act, float(w), float(b))
        except ValueError as exc:
            status[j] = f"no fixed point: {exc}"
            continue
        Q[j], C[j], X[j], XI[j] = fp.Q, fp.C, fp.chi, fp.xi
    return PhaseRow(float(b), Q, C, X, XI, tuple(status))


def _stored_row(rows, b, n) -> PhaseRow:
    """``rows[b]``, checked to be a :class:`PhaseRow` of this sigma_b with ``n`` cells."""
    row = rows[b]
    if not isinstance(row, PhaseRow) or row.sigma_b != b or len(row.status) != n or any(
            np.shape(getattr(row, f)) != (n,) for f in ("Q", "C", "chi", "xi")):
        raise ValueError(f"rows[{b!r}] must be the PhaseRow of sigma_b = {b!r} with {n} cells (one per sigma_w), "
                         f"got {type(row).__name__}")
    return row


def phase_diagram(act, sigma_w, sigma_b, rows=None):
    """chi (eq. 6/15) and xi (eq. 7) at the stable fixed point (:func:`qmf_sym.maps.fixed_point`)
    for every (sigma_w, sigma_b) of the grid.  ``status[i, j]`` is "ok" where the cell was solved,
    else the reason it was not (the solver's ValueError message, e.g. no fixed point Q* > 0: the signal
    dies out, only at sigma_b = 0 for staircases with a level 0 such as odd N); such cells hold NaN.
    Since the fixed-point bracket was made consistent (:func:`qmf_sym.maps._fixed_C_f64`) every cell
    with a fixed point Q* > 0 is solved (no other blank cells).

    ``act``: a staircase (or its N), or any continuous activation; for the latter the diagram also
    holds the order-to-chaos line chi_1 = 1 (:func:`qmf_sym.maps.edge_of_chaos` at each sigma_b), the
    line that no staircase has: the two phases side by side with the staircase's chi < 1 everywhere.

    ``rows``: None, or a mutable mapping ``{sigma_b (float): PhaseRow}`` of rows already computed for this
    ``act`` and this ``sigma_w`` grid (the caller's to match): a sigma_b found there is taken as it is, and
    every row computed here is stored into it as soon as it is done, row by row, so an interrupted grid
    keeps its finished rows (``qmf phase`` resumes from a file-backed mapping).  The refined optimum and
    the order-to-chaos line are computed each call."""
    from .activations import as_activation

    if isinstance(act, (int, np.integer)) or isinstance(as_activation(act), Staircase):
        act = _as_act(act)
    continuous = not isinstance(act, Staircase)
    sw = np.atleast_1d(np.asarray(V.sigma("sigma_w", sigma_w), float))
    sb = np.atleast_1d(np.asarray(V.sigma("sigma_b", sigma_b, zero=True), float))
    if sw.ndim != 1 or sb.ndim != 1 or sw.size * sb.size > 250_000:
        raise ValueError("sigma_w and sigma_b must be 1-D grids with at most 250000 points together")
    if rows is not None and not isinstance(rows, MutableMapping):
        raise ValueError(f"rows must be None or a mutable mapping {{sigma_b: PhaseRow}}, got {type(rows).__name__}")
    shape = (sb.size, sw.size)
    Q, C, X, XI = (np.full(shape, np.nan) for _ in range(4))
    status = np.full(shape, "ok", dtype=object)
    for i, b in enumerate(sb):
        b = float(b)
        if rows is not None and b in rows:
            row = _stored_row(rows, b, sw.size)
        else:
            row = _phase_row(act, sw, b)
            if rows is not None:
                rows[b] = row
        Q[i], C[i], X[i], XI[i] = row.Q, row.C, row.chi, row.xi
        status[i, :] = list(row.status)
    if np.all(np.isnan(X)):
        raise ValueError(f"no cell of the grid has a fixed point Q* > 0 for {act.name} (sigma_w in "
                         f"[{sw.min():g}, {sw.max():g}], sigma_b in [{sb.min():g}, {sb.max():g}]): {status.flat[0]}")
    i, j = np.unravel_index(np.nanargmax(X), shape)
    grid_best = (float(sw[j]), float(sb[i]), float(X[i, j]))
    if not continuous:
        return PhaseDiagram(sw, sb, Q, C, X, XI, grid_best, best_chi_over_sigma_w(act, 0.0), None, status,
                            act.name)
    line = []
    for b in sb:
        try:
            line.append(maps.edge_of_chaos(act, float(b)))
        except ValueError:  # no point of the line at this sigma_b (ReLU at sigma_b > 0)
            line.append(None)
    return PhaseDiagram(sw, sb, Q, C, X, XI, grid_best, None, line, status, act.name)


def bias_study(act, sigma_bs):
    """[BestChi at each sigma_b of ``sigma_bs``]: how much sigma_b > 0 loses against sigma_b = 0."""
    act = _as_act(act)
    sigma_bs = V.nonnegative("sigma_bs", V.array("sigma_bs", sigma_bs, ndim=1))
    return [best_chi_over_sigma_w(act, float(b)) for b in sigma_bs]


register_equation("qmf_sym.phase.best_chi_over_sigma_w", "paper 1, App. F (best chi over sigma_w at sigma_b)",
                  "true fixed point (Q*, C*), any staircase")
register_equation("qmf_sym.phase.phase_diagram", "paper 1, App. F (phase diagram)",
                  "chi, xi over a sigma_w x sigma_b grid; the chi_1 = 1 line of continuous activations")
