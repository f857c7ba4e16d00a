"""The float64 and mpmath kernels of :mod:`qmf_sym.maps` (split out of maps.py, unchanged): sums
over the jumps of a staircase of the Gaussian building blocks of :mod:`qmf_sym.gaussian` (raw
faces), and the quadrature oracles the harness checks the maps against.

Private: no validation here (the public maps validate once); see the docstring of
:mod:`qmf_sym.maps` for the formulas (derivations/staircase_variance_map.md, staircase_chi.md).
"""
from __future__ import annotations

import numpy as np

from . import gaussian as G
from ._numbers import to_mpf
from .gaussian import _excess_f64, _scaled_integral

_cdf64 = G.cdf.f64
_CHUNK = 1_000_000  # elements per vectorised block


# ============================================================================ float64 kernels
def _pairs(act):
    """Upper-triangle pair indices and symmetric weights h_i h_j (x2 off the diagonal)."""
    n = len(act.offsets_exact)
    i, j = np.triu_indices(n)
    h = act.heights
    w = h[i] * h[j] * np.where(i == j, 1.0, 2.0)
    return i, j, w


def _mean_f64(act, sq):
    """E phi(u) for u ~ N(0, sq^2); sq is an array of standard deviations."""
    gt = act.offsets[None, :] / sq[:, None]
    return act.base + _cdf64(-gt) @ act.heights


def _second_moment_f64(act, sq):
    """E phi(u)^2 as a positive sum over cells: sum_k l_k^2 P(cell k) (gaussian.cell_probability)."""
    gt = act.offsets[None, :] / sq[:, None]
    edges = np.concatenate([np.full((gt.shape[0], 1), -np.inf), gt, np.full((gt.shape[0], 1), np.inf)], axis=1)
    probs = G.cell_probability.f64(edges[:, :-1], edges[:, 1:])
    lev = act.levels
    return probs @ (lev * lev)


def _cov_sum_f64(act, sq, r, d, e=None):
    """sum_ij h_i h_j excess(-g~_i, -g~_j; C) for arrays sq (std), r (=C), d (=1-C), e (=1+C)."""
    if e is None:
        e = 1.0 + r
    i, j, w = _pairs(act)
    g = act.offsets
    out = np.empty(sq.shape[0])
    step = max(1, _CHUNK // max(1, len(w)))
    for s in range(0, sq.shape[0], step):
        sl = slice(s, s + step)
        gt = -g[None, :] / sq[sl, None]
        h, k = gt[:, i], gt[:, j]
        rr, dd, ee = (np.broadcast_to(a[sl, None], h.shape) for a in (r, d, e))
        out[sl] = _excess_f64(h, k, rr, dd, ee) @ w
    return out


def _comp_sum_f64(act, sq, d):
    """sum_ij h_i h_j [Phi_2(h,k;1) - Phi_2(h,k;1-delta)] (h = -g~_i, k = -g~_j) through
    gaussian.bvn_complement (no subtraction of two O(1) numbers; diagonal terms relative accuracy)."""
    i, j, w = _pairs(act)
    g = act.offsets
    out = np.empty(sq.shape[0])
    step = max(1, _CHUNK // max(1, len(w)))
    for s in range(0, sq.shape[0], step):
        sl = slice(s, s + step)
        gt = -g[None, :] / sq[sl, None]
        h, k = gt[:, i], gt[:, j]
        dd = np.broadcast_to(d[sl, None], h.shape)
        out[sl] = G.bvn_complement.f64(h, k, dd) @ w
    return out


def _dens_sum_f64(act, sq, r, d, e=None):
    """sum_ij h_i h_j n_2(g~_i, g~_j; C) for arrays sq, r (=C), d (=1-C), e (=1+C)."""
    if e is None:
        e = 1.0 + r
    i, j, w = _pairs(act)
    g = act.offsets
    gt = g[None, :] / sq[:, None]
    x, y = gt[:, i], gt[:, j]
    dens = G._bvn_pdf_rde_f64(x, y, r[:, None], d[:, None], e[:, None])
    return (dens * w).sum(-1)


# ============================================================================ mpmath kernels
def _mp_setup(act, Q):
    import mpmath

    A, g, h = act.mp_params()
    sq = mpmath.sqrt(mpmath.mpf(Q))
    return A, [x / sq for x in g], h, sq


def _mean_mp(act, Q):
    A, gt, h, _ = _mp_setup(act, Q)
    return A + sum(hi * G.cdf.mp(-x) for hi, x in zip(h, gt))


def _second_moment_mp(act, Q):
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    edges = [-mpmath.inf] + gt + [mpmath.inf]
    return mpmath.fsum(l * l * G.cell_probability.mp(edges[k], edges[k + 1]) for k, l in enumerate(lev))


def _pair_terms(act, Q):
    A, gt, h, _ = _mp_setup(act, Q)
    n = len(gt)
    return [(h[a] * h[b] * (1 if a == b else 2), -gt[a], -gt[b]) for a in range(n) for b in range(a, n)]


def _cov_sum_mp(act, Q, r, d, e=None):
    """sum_ij h_i h_j excess(-g~_i, -g~_j; C) as ONE scaled tanh-sinh integral of the summed
    integrand (gaussian._excess_sum_mp: relative accuracy at any offsets)."""

    if e is None:
        e = 1 + r
    pairs = _pair_terms(act, Q)
    sgn = 1
    if r < 0:  # reflection: excess(x, y; r) = -excess(x, -y; -r), and 1 - (-r) = 1 + r
        sgn, d, r = -1, e, -r
        pairs = [(w, x, -y) for w, x, y in pairs]
    return sgn * G._excess_sum_mp(pairs, d, r)


def _comp_sum_mp(act, Q, d):
    """sum_ij h_i h_j [Phi_2(h,k;1) - Phi_2(h,k;1-d)] = (1/2pi) int_0^beta of the summed integrand (d <= 1)."""
    import mpmath

    beta = 2 * mpmath.asin(mpmath.sqrt(mpmath.mpf(d) / 2))
    return _scaled_integral(_pair_terms(act, Q), mpmath.mpf(0), beta)


def _dens_sum_mp(act, Q, r, d, e=None):
    import mpmath

    if e is None:
        e = 1 + r
    A, gt, h, _ = _mp_setup(act, Q)
    return mpmath.fsum(hi * hj * G._bvn_pdf_rde_mp(x, y, r, d, e) for hi, x in zip(h, gt) for hj, y in zip(h, gt))


# ============================================================================ correlation arguments
def _corr64(C, deficit, one_plus):
    return G._rho_delta_e(C, deficit, "C", one_plus)


def _corr_mp(C, deficit, one_plus):
    return G._mp_rho_delta_e(C, deficit, one_plus)


# ============================================================================ oracles (independent quadratures)
def _quad_phi_mp(act, Q, weight):
    """int weight(phi(sqrt(Q) z)) n(z) dz = sum_k weight(l_k) P(cell k), each cell probability by
    gaussian.cell_probability's oracle (a scaled quadrature of the density, relative accuracy in
    the tails; an unscaled quad lost cells 500 sigma wide or far out at Q = 1e-6)."""
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    edges = [-mpmath.inf] + gt + [mpmath.inf]
    return mpmath.fsum(weight(l) * G.cell_probability.oracle(edges[k], edges[k + 1]) for k, l in enumerate(lev))


def _var_phi_oracle(act, Q):
    """Var phi(u) = sum_{k < j} P_k P_j (l_j - l_k)^2 (pairs of cells; positive terms, so no
    cancellation when one cell holds almost all the mass, unlike E phi^2 - (E phi)^2), with the
    cell probabilities P_k by gaussian.cell_probability's oracle."""
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    edges = [-mpmath.inf] + gt + [mpmath.inf]
    P = [G.cell_probability.oracle(edges[k], edges[k + 1]) for k in range(len(lev))]
    return mpmath.fsum(P[k] * P[j] * (lev[j] - lev[k]) ** 2 for k in range(len(lev)) for j in range(k + 1, len(lev)))


def _breaks(a, b, points):
    """[a, (the points strictly inside (a, b), sorted), b]: a break list for mpmath.quad."""
    return [a] + sorted({p for p in points if a < p < b}) + [b]


def _cross_quad_mp(act, Q, C=None, deficit=None, one_plus=None):
    """E phi(u1) phi(u2) = int n(z1) phi(sqrt(Q) z1) E[phi(u2) | z1] dz1 (an independent oracle).

    E[phi(u2) | z1] = A + sum_j h_j Phi((r z1 - g~_j)/s) steps at z1 = g~_j / r over a width s/|r|:
    those points (and the Gaussian bulk 0, +-1, +-8) are on the break list of each cell, otherwise
    the rule misses the step when |C| -> 1 and the staircase is not symmetric."""
    import mpmath

    r, d, e = _corr_mp(C, deficit, one_plus)
    A, gt, h, sq = _mp_setup(act, Q)
    s = mpmath.sqrt(d * e)
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    inner = lambda z: A + mpmath.fsum(hi * G.cdf.mp((r * z - x) / s) for x, hi in zip(gt, h))
    pts = [mpmath.mpf(p) for p in (0, -1, 1, -8, 8)]
    if r != 0:
        pts += [x / r + j * s / abs(r) for x in gt for j in (-8, -1, 0, 1, 8)]
    edges = [-mpmath.inf] + gt + [mpmath.inf]
    return mpmath.fsum(l * mpmath.quad(lambda z: mpmath.npdf(z) * inner(z), _breaks(edges[k], edges[k + 1], pts))
                       for k, l in enumerate(lev))


def _chi_oracle(act, Q, C=None, sigma_w=1.0, sigma_b=0, deficit=None, one_plus=None):
    """sigma_w^2 E delta-pairs by the factorised density n(x) n((y - r x)/s)/s summed over jump pairs."""
    import mpmath

    r, d, e = _corr_mp(C, deficit, one_plus)
    A, gt, h, sq = _mp_setup(act, Q)
    s = mpmath.sqrt(d * e)
    tot = mpmath.fsum(hi * hj * mpmath.npdf(x) * mpmath.npdf((y - r * x) / s) / s for hi, x in zip(h, gt) for hj, y in zip(h, gt))
    return to_mpf(sigma_w) ** 2 * tot / to_mpf(Q)


def _neg_log_by_quadrature(c):
    """1 / int_c^1 dt / t (= -1/log c, the oracle of the depth scale; inf at c = 1)."""
    import mpmath

    c = mpmath.mpf(c)
    if c == 1:
        return mpmath.inf
    # break points c^(j/n) with ratio <= 10 between neighbours: 1/t varies by at most 10x on each
    # piece (a single piece over [1e-300, 1e-150] lost all digits)
    n = max(2, int(mpmath.ceil(-mpmath.log10(c))))
    return 1 / mpmath.quad(lambda t: 1 / t, [c ** (mpmath.mpf(n - j) / n) for j in range(n)] + [1])
