"""Mean-field maps of a staircase network (paper 1, eq. 2-7, 14-15), at float64 or at ``dps`` digits.

Notation: u ~ N(0, Q); (u1, u2) ~ N(0, Sigma(Q, C)) with Sigma(Q, C) = Q [[1, C], [C, 1]] (eq. 3);
phi = A + sum_i h_i H(x - g_i) (eq. 13); normalised offsets g~_i = g_i / sqrt(Q).

Building blocks (derivations/staircase_variance_map.md, derivations/staircase_chi.md):

* E phi(u)      = A + sum_i h_i Phi(-g~_i)
* E phi(u)^2    = sum_k l_k^2 P(u in cell k)          (a sum of positive terms)
* Var phi(u)    = sum_ij h_i h_j Phi(-max(g~_i, g~_j)) Phi(min(g~_i, g~_j))   -- the printed eq. 14
* E phi(u1) phi(u2) = (E phi)^2 + sum_ij h_i h_j [Phi_2(-g~_i, -g~_j; C) - Phi(-g~_i) Phi(-g~_j)]
* E phi'(u1) phi'(u2) = (1/Q) sum_ij h_i h_j n_2(g~_i, g~_j; C)                -- eq. 15

**Slip in eq. 14.**  Eq. 4 defines Q^(l+1) = sigma_w^2 E phi(u)^2 + sigma_b^2, while the double sum
printed in eq. 14 equals Var phi(u) = E phi^2 - (E phi)^2.  The two agree only for staircases with
E phi(u) = 0 (e.g. the odd uniform family of sec. 4.2/5 used in all the paper's numerics).  Following
the definitions, :func:`variance_map` uses E phi^2; :func:`eq14_hidden_variance` gives the printed
sum for comparison.

**Slip in eq. 4.**  The printed second row divides by Q^(l-1); by eq. 3 the correlation of layer l
is the covariance divided by Q^(l) (the *new* variance).  Both agree at the fixed point Q = Q*, which
is the setting of eq. 5-6.  :func:`correlation_map` is eq. 5 (division by its Q argument, = Q*),
:func:`layer_map` is the exact map of eq. 2-3 for any Q.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from . import _validate as V
from .activations import as_staircase
from .gaussian import _SWITCH, _excess_f64, _excess_mp, _mp_rho_delta, _rho_delta
from .gaussian import cdf as _cdf64

# ============================================================================ float64 kernels
_CHUNK = 1_000_000  # elements per vectorised block


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
    """E phi(u)^2 as a positive sum over cells: sum_k l_k^2 P(cell k)."""
    gt = act.offsets[None, :] / sq[:, None]
    # P(u >= g_i) computed as Phi(-g~) (accurate upper tail); cell probs as differences of the
    # accurate tail on each side of 0
    upper = _cdf64(-gt)  # P(u > g_i)
    lower = _cdf64(gt)  # P(u < g_i)
    n = gt.shape[1]
    lev = act.levels
    probs = np.empty((gt.shape[0], n + 1))
    probs[:, 0] = lower[:, 0]
    probs[:, -1] = upper[:, -1]
    if n > 1:
        # cell (g_i, g_{i+1}): use upper-tail differences where g_i >= 0, lower-tail where g_{i+1} <= 0
        a, b = gt[:, :-1], gt[:, 1:]
        probs[:, 1:-1] = np.where(a >= 0, upper[:, :-1] - upper[:, 1:], lower[:, 1:] - lower[:, :-1])
    return probs @ (lev * lev)


def _cov_sum_f64(act, sq, r, d):
    """sum_ij h_i h_j excess(-g~_i, -g~_j; C) for arrays sq (std), r (=C), d (=1-C) of equal length."""
    i, j, w = _pairs(act)
    g = act.offsets
    out = np.empty(sq.shape[0])
    step = max(1, _CHUNK // max(1, len(w)))
    for s in range(0, sq.shape[0], step):
        sl = slice(s, s + step)
        gt = -g[None, :] / sq[sl, None]
        h = gt[:, i]
        k = gt[:, j]
        rr = np.broadcast_to(r[sl, None], h.shape)
        dd = np.broadcast_to(d[sl, None], h.shape)
        out[sl] = _excess_f64(h, k, rr, dd) @ w
    return out


def _comp_sum_f64(act, sq, d):
    """sum_ij h_i h_j I_ij with I_ij = Phi_2(h,k;1) - Phi_2(h,k;1-delta) (h = -g~_i, k = -g~_j).

    This is E phi^2 - E phi(u1) phi(u2) at C = 1 - delta, written without subtracting two O(1)
    numbers: diagonal terms use the exact I_ii = 2 T(h, sqrt(delta / (2 - delta))) (Owen's T,
    relative accuracy); off-diagonal terms Phi(min)Phi(-max) - excess (absolute accuracy ~1e-16;
    they are exponentially small, ~exp(-(g~_i - g~_j)^2 / (4 delta)), when delta is small).
    """
    i, j, w = _pairs(act)
    g = act.offsets
    out = np.empty(sq.shape[0])
    diag = i == j
    step = max(1, _CHUNK // max(1, len(w)))
    for s in range(0, sq.shape[0], step):
        sl = slice(s, s + step)
        gt = -g[None, :] / sq[sl, None]
        h, k = gt[:, i], gt[:, j]
        dd = np.broadcast_to(d[sl, None], h.shape)
        lo, hi = np.minimum(h, k), np.maximum(h, k)
        off = _cdf64(lo) * _cdf64(-hi) - _excess_f64(h, k, 1.0 - dd, dd)
        a = np.sqrt(dd / (2 - dd))
        on = 2 * special.owens_t(h, a)
        out[sl] = np.where(diag[None, :], on, off) @ w
    return out


def _dens_sum_f64(act, sq, r, d):
    """sum_ij h_i h_j n_2(g~_i, g~_j; C) for arrays sq, r (=C), d (=1-C)."""
    i, j, w = _pairs(act)
    g = act.offsets
    gt = g[None, :] / sq[:, None]
    x, y = gt[:, i], gt[:, j]
    rr, dd = r[:, None], d[:, None]
    e = 1.0 + rr
    one_m_r2 = np.where(rr >= 0, dd * (2 - dd), e * (2 - e))
    quad = np.where(rr >= 0, (x - y) ** 2 + 2 * dd * x * y, (x + y) ** 2 - 2 * e * x * y)
    dens = np.exp(-quad / (2 * one_m_r2)) / (2 * np.pi * np.sqrt(one_m_r2))
    return (dens * w).sum(-1)


# ============================================================================ mpmath kernels
def _mp_setup(act, Q):
    import mpmath

    A, g, h = act.mp_params()
    sq = mpmath.sqrt(mpmath.mpf(Q))
    return A, [x / sq for x in g], h, sq


def _ncdf(z):
    import mpmath

    return mpmath.erfc(-z / mpmath.sqrt(2)) / 2


def _mean_mp(act, Q):
    A, gt, h, _ = _mp_setup(act, Q)
    return A + sum(hi * _ncdf(-x) for hi, x in zip(h, gt))


def _second_moment_mp(act, Q):
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    lev = [A]
    for hi in h:
        lev.append(lev[-1] + hi)
    edges = [None] + gt + [None]
    tot = mpmath.mpf(0)
    for k_, l in enumerate(lev):
        a, b = edges[k_], edges[k_ + 1]
        if a is None:
            p = _ncdf(b)
        elif b is None:
            p = _ncdf(-a)
        elif a >= 0:
            p = _ncdf(-a) - _ncdf(-b)
        else:
            p = _ncdf(b) - _ncdf(a)
        tot += l * l * p
    return tot


def _cov_sum_mp(act, Q, r, d):
    """sum_ij h_i h_j excess(-g~_i, -g~_j; C) as ONE tanh-sinh integral of the summed integrand."""
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    n = len(gt)
    if n == 1:
        return h[0] ** 2 * _excess_mp(-gt[0], -gt[0], r, d)
    pairs = [(h[a] * h[b] * (1 if a == b else 2), -gt[a], -gt[b]) for a in range(n) for b in range(a, n)]
    sgn = 1
    if r < -_SWITCH:  # reflection: excess(x, y; r) = -excess(x, -y; -r)
        sgn, r, d = -1, -r, 1 + r
        pairs = [(w, x, -y) for w, x, y in pairs]
    twopi = 2 * mpmath.pi
    if abs(r) <= _SWITCH:
        a = mpmath.asin(r)

        def f(t):
            st, c2 = mpmath.sin(t), 2 * mpmath.cos(t) ** 2
            return mpmath.fsum(w * mpmath.exp(-(x * x - 2 * x * y * st + y * y) / c2) for w, x, y in pairs)

        val = mpmath.quad(f, [0, a]) / twopi
    else:
        b = 2 * mpmath.asin(mpmath.sqrt(d / 2))

        def f(v):
            if v == 0:
                return mpmath.fsum(w * mpmath.exp(-x * x / 2) for w, x, y in pairs if x == y)
            s2, sh2 = 2 * mpmath.sin(v) ** 2, 4 * mpmath.sin(v / 2) ** 2
            return mpmath.fsum(w * mpmath.exp(-((x - y) ** 2 + sh2 * x * y) / s2) for w, x, y in pairs)

        var_part = mpmath.fsum(w * _ncdf(min(x, y)) * _ncdf(-max(x, y)) for w, x, y in pairs)
        val = var_part - mpmath.quad(f, [0, b]) / twopi
    return sgn * val


def _dens_sum_mp(act, Q, r, d):
    import mpmath

    A, gt, h, _ = _mp_setup(act, Q)
    if r >= 0:
        omr2 = d * (2 - d)
        qf = lambda x, y: (x - y) ** 2 + 2 * d * x * y
    else:
        e = 1 + r
        omr2 = e * (2 - e)
        qf = lambda x, y: (x + y) ** 2 - 2 * e * x * y
    s = mpmath.fsum(hi * hj * mpmath.exp(-qf(x, y) / (2 * omr2)) for hi, x in zip(h, gt) for hj, y in zip(h, gt))
    return s / (2 * mpmath.pi * mpmath.sqrt(omr2))


# ============================================================================ dispatch helpers
def _broadcast(*arrays):
    arrs = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in arrays))
    return arrs[0].shape, [a.ravel() for a in arrs]


def _mp_run(dps, fn):
    import mpmath

    # the result keeps the guard precision (mpf values carry their own precision; rounding with
    # unary + outside the block would cut them to the global mpmath.mp.dps)
    with mpmath.workdps(V.guard_digits(dps)):
        val = fn(mpmath)
        return +val if not isinstance(val, tuple) else tuple(+v for v in val)


def _corr_args(C, deficit):
    V.correlation(C, deficit)
    return C, deficit


def _corr_f64(C, deficit):
    return _rho_delta(C, deficit, name="C")


def _corr_mp(C, deficit):
    return _mp_rho_delta(C, deficit, name="C")


def _check_common(act, Q, sigma_w, sigma_b, dps):
    act = as_staircase(act)
    V.positive("Q", Q)
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    return act, V.dps(dps)


# ============================================================================ public API
def post_activation_moments(act, Q, dps=None):
    """(E phi(u), E phi(u)^2) for u ~ N(0, Q)  (the ingredients of eq. 4 / 14)."""
    act = as_staircase(act)
    V.positive("Q", Q)
    dps = V.dps(dps)
    if dps is not None:
        return _mp_run(dps, lambda mp: (_mean_mp(act, Q), _second_moment_mp(act, Q)))
    shape, (q,) = _broadcast(Q)
    sq = np.sqrt(q)
    m, s = _mean_f64(act, sq), _second_moment_f64(act, sq)
    return m.reshape(shape)[()], s.reshape(shape)[()]


def eq14_hidden_variance(act, Q, dps=None):
    """The double sum printed in eq. 14: sum_ij h_i h_j Phi(-max(g~_i,g~_j)) Phi(min(g~_i,g~_j)).

    It equals Var phi(u) (not E phi(u)^2; see the module docstring); kept for comparison.
    """
    act = as_staircase(act)
    V.positive("Q", Q)
    dps = V.dps(dps)
    if dps is not None:
        def f(mp):
            A, gt, h, _ = _mp_setup(act, Q)
            return mp.fsum(hi * hj * _ncdf(-max(x, y)) * _ncdf(min(x, y))
                           for hi, x in zip(h, gt) for hj, y in zip(h, gt))
        return _mp_run(dps, f)
    shape, (q,) = _broadcast(Q)
    gt = act.offsets[None, :] / np.sqrt(q)[:, None]
    mx = np.maximum(gt[:, :, None], gt[:, None, :])
    mn = np.minimum(gt[:, :, None], gt[:, None, :])
    hh = np.outer(act.heights, act.heights)
    return (_cdf64(-mx) * _cdf64(mn) * hh).sum((1, 2)).reshape(shape)[()]


def variance_map(act, Q, sigma_w, sigma_b=0, dps=None):
    """Q^(l+1) = sigma_w^2 E_{u~N(0,Q)} phi(u)^2 + sigma_b^2  (eq. 4, first row; eq. 14).

    Uses E phi^2 as eq. 4 defines it; eq. 14 as printed is the variance of phi (equal for
    centred staircases), see the module docstring.
    """
    act, dps = _check_common(act, Q, sigma_w, sigma_b, dps)
    if dps is not None:
        return _mp_run(dps, lambda mp: mp.mpf(sigma_w) ** 2 * _second_moment_mp(act, Q) + mp.mpf(sigma_b) ** 2)
    _, s2 = post_activation_moments(act, Q)
    return np.asarray(sigma_w, float) ** 2 * s2 + np.asarray(sigma_b, float) ** 2


def post_activation_covariance(act, Q, C=None, dps=None, deficit=None):
    """E phi(u1) phi(u2) for (u1, u2) ~ N(0, Q [[1, C], [C, 1]]); C may be given as deficit = 1 - C."""
    act = as_staircase(act)
    V.positive("Q", Q)
    C, deficit = _corr_args(C, deficit)
    dps = V.dps(dps)
    if dps is not None:
        def f(mp):
            r, d = _corr_mp(C, deficit)
            return _mean_mp(act, Q) ** 2 + _cov_sum_mp(act, Q, r, d)
        return _mp_run(dps, f)
    r, d = _corr_f64(C, deficit)
    shape, (q, rr, dd) = _broadcast(Q, r, d)
    sq = np.sqrt(q)
    return (_mean_f64(act, sq) ** 2 + _cov_sum_f64(act, sq, rr, dd)).reshape(shape)[()]


def correlation_map(act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """M_Q(C) = [sigma_w^2 E_{Sigma(Q,C)} phi(u1) phi(u2) + sigma_b^2] / Q   (eq. 5).

    With Q = Q* this is the next layer's correlation; for a general Q use :func:`layer_map`.
    C may be given as ``deficit = 1 - C`` (accurate for C -> 1).
    """
    act, dps = _check_common(act, Q, sigma_w, sigma_b, dps)
    if dps is not None:
        def f(mp):
            r, d = _corr_mp(C, deficit)
            e = _mean_mp(act, Q) ** 2 + _cov_sum_mp(act, Q, r, d)
            return (mp.mpf(sigma_w) ** 2 * e + mp.mpf(sigma_b) ** 2) / mp.mpf(Q)
        _corr_args(C, deficit)
        return _mp_run(dps, f)
    e = post_activation_covariance(act, Q, C, deficit=deficit)
    return (np.asarray(sigma_w, float) ** 2 * e + np.asarray(sigma_b, float) ** 2) / np.asarray(Q, float)


def correlation_map_deficit(act, Q, deficit, sigma_w=1.0, sigma_b=0, dps=None):
    """1 - M_Q(C) given deficit = 1 - C, without cancellation near C = 1 (at Q = Q*).

    Uses E phi^2 - E phi phi = sum_ij h_i h_j [Phi(min)Phi(-max) - excess], i.e. the complementary
    integral of :mod:`qmf_sym.gaussian` directly.  Meaningful at the fixed point Q = Q*, where
    M_Q(1) = 1.
    """
    act, dps = _check_common(act, Q, sigma_w, sigma_b, dps)
    V.in_closed("deficit", deficit, 0, 2)
    if dps is not None:
        def f(mp):
            r, d = _corr_mp(None, deficit)
            diff = _cov_sum_mp(act, Q, mp.mpf(1), mp.mpf(0)) - _cov_sum_mp(act, Q, r, d)
            qn = mp.mpf(sigma_w) ** 2 * _second_moment_mp(act, Q) + mp.mpf(sigma_b) ** 2
            return (mp.mpf(Q) - qn + mp.mpf(sigma_w) ** 2 * diff) / mp.mpf(Q)
        return _mp_run(dps, f)
    shape, (q, dd) = _broadcast(Q, deficit)
    sq = np.sqrt(q)
    diff = _comp_sum_f64(act, sq, dd)
    qn = np.asarray(sigma_w, float) ** 2 * _second_moment_f64(act, sq) + np.asarray(sigma_b, float) ** 2
    return ((q - qn + np.asarray(sigma_w, float) ** 2 * diff) / q).reshape(shape)[()]


def chi(act, Q, C=None, sigma_w=1.0, sigma_b=0, dps=None, deficit=None):
    """chi = dM_Q/dC = sigma_w^2 E_{Sigma(Q,C)} phi'(u1) phi'(u2)   (eq. 6; staircase form eq. 15)

        = sigma_w^2 / (2 pi Q sqrt(1 - C^2)) sum_ij h_i h_j exp(-(g_i^2 - 2 C g_i g_j + g_j^2) / (2 Q (1 - C^2))).

    ``sigma_b`` does not enter (kept for a uniform signature).  Requires |C| < 1 (chi diverges at
    C = 1); near 1 give ``deficit = 1 - C``.
    """
    act, dps = _check_common(act, Q, sigma_w, sigma_b, dps)
    C, deficit = _corr_args(C, deficit)
    if dps is not None:
        def f(mp):
            r, d = _corr_mp(C, deficit)
            if d <= 0 or r <= -1:
                raise ValueError("C must be in (-1, 1) for chi (deficit in (0, 2)); chi diverges at |C| = 1")
            return mp.mpf(sigma_w) ** 2 * _dens_sum_mp(act, Q, r, d) / mp.mpf(Q)
        return _mp_run(dps, f)
    r, d = _corr_f64(C, deficit)
    if np.any(d <= 0) or np.any(r <= -1):
        raise ValueError("C must be in (-1, 1) for chi (deficit in (0, 2)); chi diverges at |C| = 1")
    shape, (q, rr, dd, sw) = _broadcast(Q, r, d, sigma_w)
    return (sw ** 2 * _dens_sum_f64(act, np.sqrt(q), rr, dd) / q).reshape(shape)[()]


def layer_map(act, Q, C, sigma_w, sigma_b=0):
    """One layer of the exact two-dimensional map (eq. 2-4 with the normalisation of eq. 3), float64.

    Q_next = sigma_w^2 E phi(u)^2 + sigma_b^2,  C_next = [sigma_w^2 E phi(u1)phi(u2) + sigma_b^2] / Q_next.
    Vectorised over Q and C (arrays of equal shape or broadcastable).
    """
    act = as_staircase(act)
    V.positive("Q", Q)
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    V.in_closed("C", C, -1, 1)
    qn = variance_map(act, Q, sigma_w, sigma_b)
    e = post_activation_covariance(act, Q, C)
    return qn, (sigma_w ** 2 * e + sigma_b ** 2) / qn


def iterate(act, Q1, C1, sigma_w, sigma_b=0, n_layers=1):
    """Iterate :func:`layer_map` from the first hidden layer's (Q1, C1).

    Returns arrays Q, C of shape (n_layers, *shape(C1)); row k holds layer l = k + 1 (row 0 = (Q1, C1)).
    """
    n_layers = V.integer("n_layers", n_layers, 1)
    C1 = np.asarray(C1, dtype=float)
    Q = np.broadcast_to(np.asarray(Q1, dtype=float), C1.shape).copy()
    C = C1.copy()
    Qs, Cs = [Q], [C]
    for _ in range(n_layers - 1):
        Q, C = layer_map(act, Q, np.clip(C, -1, 1), sigma_w, sigma_b)
        Qs.append(np.asarray(Q))
        Cs.append(np.asarray(C))
    return np.array(Qs), np.array(Cs)


def depth_scale(chi_value, dps=None):
    """xi = -1 / log(chi)   (eq. 7); chi in (0, 1]; chi = 1 gives inf."""
    dps = V.dps(dps)
    V.in_closed("chi", chi_value, 0, 1)
    V.positive("chi", chi_value)
    if dps is not None:
        import mpmath

        with mpmath.workdps(V.guard_digits(dps)):
            c = mpmath.mpf(chi_value)
            return mpmath.inf if c == 1 else +(-1 / mpmath.log(c))
    c = np.asarray(chi_value, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(c == 1.0, np.inf, -1.0 / np.log(np.where(c == 1.0, 0.5, c)))[()]


@dataclass(frozen=True)
class FixedPoint:
    """The stable fixed point (Q*, C*) of eq. 4, with chi (eq. 6) and xi (eq. 7) there."""

    Q: object
    C: object
    chi: object
    xi: object


def _fixed_Q_f64(act, sigma_w, sigma_b):
    qmax = sigma_w ** 2 * float(np.max(act.levels ** 2)) + sigma_b ** 2
    grid = qmax * np.logspace(-12, 0, 241)
    gvals = variance_map(act, grid, sigma_w, sigma_b) - grid
    idx = np.nonzero((gvals[:-1] > 0) & (gvals[1:] <= 0))[0]
    if gvals[-1] == 0:
        return grid[-1]
    if len(idx) == 0:
        raise ValueError("no non-zero fixed point Q*: the signal dies out for these sigma_w, sigma_b; "
                         "increase sigma_w or sigma_b")
    k = idx[-1]
    f = lambda q: float(variance_map(act, q, sigma_w, sigma_b)) - q
    return optimize.brentq(f, grid[k], grid[k + 1], xtol=1e-300, rtol=1e-15, maxiter=500)


def _fixed_C_f64(act, Q, sigma_w, sigma_b):
    """The fixed point of M(C) reached from C = 0 (the stable one of Lemma 1), float64.

    G(C) = M(C) - C is scanned on a grid of deficits delta = 1 - C (log-spaced towards C = 1,
    where G(1 - delta) = delta - [1 - M(1 - delta)] is evaluated without cancellation).
    """
    G = lambda c: float(correlation_map(act, Q, c, sigma_w, sigma_b)) - c
    g0 = G(0.0)
    if abs(g0) <= 1e-15:
        return 0.0
    if g0 < 0:  # M(0) < 0 is impossible for sigma_b >= 0 unless E phi = 0; guard anyway
        return optimize.brentq(G, -1.0 + 1e-12, 0.0, xtol=1e-16, rtol=1e-15)
    Gd = lambda d: d - float(correlation_map_deficit(act, Q, d, sigma_w, sigma_b))
    deltas = np.concatenate([np.linspace(1, 0.1, 19), np.logspace(-1.05, -14, 60)])
    prev_d, prev_g = 1.0, g0
    for d in deltas[1:]:
        g = Gd(d)
        if g <= 0 < prev_g:
            dstar = optimize.brentq(Gd, d, prev_d, xtol=1e-300, rtol=1e-15)
            # C = 1 - delta: report via the better-conditioned side
            return 1.0 - dstar
        prev_d, prev_g = d, g
    return 1.0  # no fixed point below 1: correlations collapse to C* = 1


def fixed_point(act, sigma_w, sigma_b=0, dps=None):
    """The stable fixed point of eq. 4: Q* (variance map) and C* (correlation map, Lemma 1),
    with chi = chi(Q*, C*) (eq. 6 / 15) and xi = -1/log chi (eq. 7).

    Q* is the largest root of Q = sigma_w^2 E phi^2 + sigma_b^2 crossed from above (the stable one);
    C* is the fixed point of eq. 5 reached from C = 0 (it is 0 for centred staircases at sigma_b = 0).
    ``dps`` refines both roots at that precision from the float64 bracket.
    """
    act = as_staircase(act)
    V.positive("sigma_w", sigma_w)
    V.nonnegative("sigma_b", sigma_b)
    dps = V.dps(dps)
    sigma_w, sigma_b = float(sigma_w), float(sigma_b)
    Q = _fixed_Q_f64(act, sigma_w, sigma_b)
    C = _fixed_C_f64(act, Q, sigma_w, sigma_b)
    if dps is None:
        if C >= 1.0:
            return FixedPoint(Q, 1.0, np.inf, np.inf)
        x = float(chi(act, Q, C, sigma_w))
        return FixedPoint(Q, C, x, float(depth_scale(min(x, 1.0))) if x < 1 else np.inf)
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        sw, sb = mpmath.mpf(sigma_w), mpmath.mpf(sigma_b)
        fq = lambda q: sw ** 2 * _second_moment_mp(act, q) + sb ** 2 - q
        Qm = mpmath.findroot(fq, (mpmath.mpf(Q) * (1 - 1e-9), mpmath.mpf(Q) * (1 + 1e-9)), solver="anderson")
        if C == 0.0 and sigma_b == 0.0 and act.is_odd():
            Cm = mpmath.mpf(0)
        else:
            def fc(c):
                return (sw ** 2 * (_mean_mp(act, Qm) ** 2 + _cov_sum_mp(act, Qm, c, 1 - c)) + sb ** 2) / Qm - c
            Cm = mpmath.findroot(fc, (mpmath.mpf(C) - 1e-9, mpmath.mpf(C) + 1e-9), solver="anderson")
        x = sw ** 2 * _dens_sum_mp(act, Qm, Cm, 1 - Cm) / Qm
        xi = -1 / mpmath.log(x) if x < 1 else mpmath.inf
        return FixedPoint(+Qm, +Cm, +x, +xi)
