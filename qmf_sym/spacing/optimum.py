"""The optimum of eq. 17 of paper 1 (sec. 4.2, Fig. 2): the maximal slope chi_max(N), the optimal
normalized spacing D~_opt(N) and the depth scale xi(N) = -1/log chi_max (eq. 7), each certified by
the stationarity residual, the curvature and an independent re-run at higher precision; and the
table of them over many N.

The optimum is found by Newton on the analytic derivative: chi' = A g / B^2 with
g = 2 A' B - A B' = 4 s2 (A - D~ B) (see :mod:`qmf_sym.spacing.uniform`), i.e. Newton on
hh = A - D~ B, whose root is the optimum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .. import _validate as V
from .._faces import register_equation
from .._numbers import mp as _mp
from .._numbers import to_mpf as _to_mpf
from ..maps import depth_scale
from .uniform import Thresholds, check_N, chi_derivatives_from_sums, sums_f64, sums_mp

__all__ = ["OptimalSpacing", "optimal_spacing", "table"]


@dataclass(frozen=True)
class OptimalSpacing:
    """The maximum of chi(D~; N) (eq. 17) over the normalized spacing D~, with certificates.

    Fields: ``N``; ``D_opt`` (argmax D~); ``chi_max``; ``xi`` = -1/log(chi_max) (eq. 7);
    ``residual`` = ``|dchi/dD~|`` at D_opt; ``curvature`` = d^2chi/dD~^2 at D_opt (< 0 certifies a
    maximum); ``dps`` (None = float64); ``check_dps`` (the higher working precision of the
    independent re-run, 0 if not run); ``D_opt_reldiff``, ``chi_max_reldiff`` (relative differences
    to that re-run; NaN if not run); ``newton_steps``.
    """

    N: int
    D_opt: object
    chi_max: object
    xi: object
    residual: object
    curvature: object
    dps: object
    check_dps: int
    D_opt_reldiff: float
    chi_max_reldiff: float
    newton_steps: int

    def as_row(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def agree_digits(self):
        """Significant digits on which the dps run and the higher-precision run agree."""
        r = max(self.D_opt_reldiff, self.chi_max_reldiff)
        return float("inf") if r == 0 else -math.log10(r)


# ----------------------------------------------------------------------------- float64 Newton
_GUESS_N = np.array([3, 4, 5, 7, 9, 12, 17, 22, 29, 39, 52, 69, 91, 122, 162, 215, 286, 380, 505, 672, 893,
                     1187, 1579, 2099, 2790, 3710, 4932, 6558, 8718, 11591, 15411, 20489, 27240, 36215,
                     48148, 64013, 85106, 113149, 150432, 200000], dtype=float)
_GUESS_C = np.array([3.5033, 3.3826, 3.3224, 3.2656, 3.2412, 3.2261, 3.2208, 3.2234, 3.2305, 3.2418, 3.2551,
                     3.2698, 3.2851, 3.3018, 3.3181, 3.3344, 3.3505, 3.3662, 3.3814, 3.3962, 3.4104, 3.4241,
                     3.4372, 3.4498, 3.4618, 3.4734, 3.4844, 3.495, 3.5052, 3.5149, 3.5243, 3.5332, 3.5418,
                     3.5501, 3.5581, 3.5657, 3.5731, 3.5802, 3.587, 3.5936])


def _initial_guess(N):
    """A float64 starting point D0 = c(N) sqrt(ln N) / N, with c(N) interpolated in ln N from a
    coarse table of earlier float64 optima (c -> 4 as N -> inf: the Hui-Neuhoff step of the
    optimal uniform quantizer, see qmf_sym.quantization).  Only a starting point: the bracketed
    Newton below is safe from any positive start."""
    N = np.maximum(np.asarray(N, dtype=float), 3.0)
    c = np.interp(np.log(N), np.log(_GUESS_N), _GUESS_C)
    return c * np.sqrt(np.log(N)) / N


def _opt_f64_block(Ns, D0=None, tol=4e-15, maxit=60):
    """Vectorised bracketed Newton over several N at once (a padded matrix of thresholds).

    g = 2A'B - AB' is > 0 left of the maximum and < 0 right of it, so every evaluation also
    shrinks a bracket [lo, hi]; a Newton step that leaves the bracket (or meets g' >= 0) is replaced
    by bisection.  Stops when the Newton step is below ``tol`` D or stalls at the float64 noise
    floor; the *evaluated* point is returned with its chi, chi', chi'' (so the certificates belong
    to the returned D).  Returns (D, chi, chi', chi'', evaluations)."""
    if not (V.positive("tol", tol) < 1):
        raise ValueError(f"tol must be in (0, 1), got {tol!r}")
    maxit = V.integer("maxit", maxit, 1)
    Ns = np.asarray(Ns, dtype=int)
    D = _initial_guess(Ns) if D0 is None else np.asarray(D0, dtype=float).copy()
    th = Thresholds(Ns)
    n = len(D)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    evals = np.zeros(n, dtype=int)
    out = [np.full(n, np.nan) for _ in range(4)]
    act = np.arange(n)
    for _ in range(maxit):
        Dv = D[act]
        A, A1, A2, B, B1, B2 = sums_f64(Dv, th)
        # chi' = A g / B^2 with g = 2A'B - AB' = 4 s2 (A - D B): Newton on hh = A - D B, whose
        # root is the optimum; hh' = A' - B - D B'.  A and D B agree to ~ (1 - chi) relatively, so
        # hh carries float64 noise ~ eps (A + D B) / (1 - chi): we stop once |hh| is at that floor.
        hh = A - Dv * B
        hp = A1 - B - Dv * B1
        g, gp = hh, hp
        noise = 32 * np.finfo(float).eps * (A + Dv * B)
        evals[act] += 1
        lo[act] = np.where(g > 0, np.maximum(lo[act], Dv), lo[act])
        hi[act] = np.where(g < 0, np.minimum(hi[act], Dv), hi[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            Dn = Dv - g / gp
        l, h = lo[act], hi[act]
        bad = ~np.isfinite(Dn) | (Dn <= l) | (Dn >= h) | (gp >= 0)
        fb = np.where(np.isfinite(h), np.where(l > 0, 0.5 * (l + h), 0.5 * h), 2.0 * Dv)
        Dn = np.where(bad, fb, Dn)
        step = np.abs(Dn - Dv)
        conv = (step <= tol * Dv) | (np.abs(hh) <= noise) | ((h - l) <= 1e-13 * Dv)
        chi, d1, d2 = chi_derivatives_from_sums(A, A1, A2, B, B1, B2)
        for o, v in zip(out, (Dv, chi, d1, d2)):
            o[act[conv]] = v[conv]
        D[act] = Dn
        act = act[~conv]
        if len(act) == 0:
            break
        th = th.take(~conv)
    if len(act):
        raise ArithmeticError(f"float64 Newton for D_opt did not converge for N = {Ns[act].tolist()}")
    return out[0], out[1], out[2], out[3], evals


# ----------------------------------------------------------------------------- mpmath Newton
def _wp(d, N):
    """Working digits for the optimum at d requested digits: the guard digits of the project plus
    log10(N^2) for the cancellation A - D B ~ (1 - chi) A ~ A ln N / N^2 in the Newton function."""
    return V.guard_digits(d) + int(2 * math.log10(N)) + 1


def _opt_mp(N, D0, d, maxit=40):
    """Newton on hh = A - D B at d requested digits (working precision _wp(d, N)), from a
    float64/mp start D0 (inside the quadratic basin: the float64 optimum).  Stops when the Newton
    step is below 10^-(guard_digits(d) - 3) D (quadratic convergence: the point is then exact to
    the working precision) and returns the *evaluated* point with its certificates:
    (D, chi, chi', chi'', evaluations)."""
    mpmath = _mp()
    wp = _wp(d, N)
    with mpmath.workdps(wp):
        D = _to_mpf(D0)
        # the Newton function loses ~ 2 log10(N) digits to cancellation, which _wp adds back
        tol = mpmath.mpf(10) ** (-(V.guard_digits(d) - 3))
        for it in range(1, maxit + 1):
            A, A1, A2, B, B1, B2 = sums_mp(D, N)
            # chi' = A g / B^2, g = 2A'B - AB' = 4 s2 (A - D B) (A' = -2 D s2, B' = -4 s2):
            # Newton on hh = A - D B, hh' = A' - B - D B'
            step = (A - D * B) / (A1 - B - D * B1)
            gp = A1 - B - D * B1
            if gp >= 0 or abs(step) > D / 2:  # not in the Newton basin: should not happen from float64
                raise ArithmeticError(f"Newton for D_opt(N={N}) left its basin at D={D}")
            if abs(step) <= tol * D:
                break
            D = D - step
        else:
            raise ArithmeticError(f"Newton for D_opt(N={N}) did not converge at {wp} digits")
        chi, d1, d2 = chi_derivatives_from_sums(A, A1, A2, B, B1, B2)
    return D, chi, d1, d2, it


# ----------------------------------------------------------------------------- rows
def _row_N2(d):
    """N = 2 (sign-like staircase, K = {0}): chi = 2/pi for every D~; D_opt is undefined (NaN)."""
    if d is None:
        c = 2 / math.pi
        return OptimalSpacing(2, float("nan"), c, float(depth_scale(c)), 0.0, 0.0, None, 0, 0.0, 0.0, 0)
    mpmath = _mp()
    with mpmath.workdps(V.guard_digits(d)):
        c = 2 / mpmath.pi
        return OptimalSpacing(2, mpmath.nan, c, depth_scale(c, dps=d), mpmath.mpf(0), mpmath.mpf(0), d, 0,
                              0.0, 0.0, 0)


def _certified_row(N, f64, d, check):
    """The :class:`OptimalSpacing` row of N from its float64 optimum ``f64 = (D, chi, chi', chi'',
    steps)``: as is for ``d=None`` (``check``: re-run at 20 digits), else refined by Newton at
    ``d`` digits (``check``: the refinement repeated at d + 15 digits)."""
    D, chi, d1, d2, steps = f64
    rd = rc = float("nan")
    cd = 0
    if d is None:
        if check:
            cd = 20
            Dh, ch, *_ = _opt_mp(N, D, cd)
            rd, rc = abs(D / float(Dh) - 1), abs(chi / float(ch) - 1)
        # chi_max in (2/pi, 1) by construction: the raw face of eq. 7 (no per-row validation)
        return OptimalSpacing(N, D, chi, float(depth_scale.f64(chi)), abs(d1), d2, None, cd, rd, rc, steps)
    mpmath = _mp()
    Dm, chim, d1m, d2m, st = _opt_mp(N, D, d)
    xim = depth_scale(chim, dps=d)
    if check:
        cd = d + 15
        Dh, ch, *_ = _opt_mp(N, Dm, cd)
        with mpmath.workdps(V.guard_digits(cd)):
            rd = float(abs(Dm / Dh - 1))
            rc = float(abs(chim / ch - 1))
    with mpmath.workdps(V.guard_digits(d)):
        return OptimalSpacing(N, +Dm, +chim, +xim, abs(d1m), d2m, d, cd, rd, rc, steps + st)


def optimal_spacing(N, dps=None, check=True):
    """Maximise chi(D~; N) of eq. 17 of paper 1 over D~ > 0 (sec. 4.2 and Fig. 2).

    float64: bracketed Newton on the analytic derivative (g = 2A'B - AB', chi' = A g / B^2) from a
    starting guess.  ``dps=k``: the float64 optimum is refined by Newton at k + guard digits
    (quadratic convergence), and with ``check=True`` the whole refinement is repeated at k + 15
    digits (+ guards) and the relative differences are reported (``check_dps``, ``*_reldiff``).
    For float64 the check re-runs at 20 digits.  Returns :class:`OptimalSpacing`.
    """
    N = check_N(N)
    d = V.dps(dps)
    check = _flag("check", check)
    if N == 2:
        return _row_N2(d)
    D, chi, d1, d2, steps = _opt_f64_block([N])
    f64 = (float(D[0]), float(chi[0]), float(d1[0]), float(d2[0]), int(steps[0]))
    return _certified_row(N, f64, d, check)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _levels(levels):
    """Sorted unique N >= 2 from an iterable of integers.  qmf_sym parses no strings: a spec such as
    '2-256' is parsed by the CLI vocabulary (``qmf_sim.cli._vocab``); pass ``range(2, 257)``."""
    if isinstance(levels, (str, bytes)):
        raise ValueError(f"levels must be an iterable of integers N >= 2 (e.g. range(2, 257)), got the string "
                         f"{levels!r}; qmf_sym parses no range strings")
    try:
        from ..activations import N_MAX

        out = sorted({V.integer("levels", n, 2, N_MAX) for n in levels})
    except TypeError as exc:
        raise ValueError(f"levels must be an iterable of integers N >= 2, got {levels!r}") from exc
    if not out:
        raise ValueError("levels must name at least one N >= 2")
    return out


def table(levels, dps=None, check=True, block=256, on_row=None):
    """Rows :class:`OptimalSpacing` for every N in ``levels`` (an iterable of integers N >= 2).

    float64 (``dps=None``): vectorised over blocks of N (a padded matrix), so N = 2..10 000 takes
    seconds; with ``check=True`` every row is re-run at 20 digits (slow for large N; the
    benchmark passes ``check=False``).  ``dps=k``: per-N Newton refinement as in
    :func:`optimal_spacing` (``check`` re-runs at k + 15 digits).  ``on_row``: an optional callable
    called with each finished row (e.g. to advance a progress bar; qmf_sym itself prints nothing).
    """
    Ns = _levels(levels)
    d = V.dps(dps)
    check = _flag("check", check)
    block = V.integer("block", block, 1)
    if on_row is not None and not callable(on_row):
        raise ValueError(f"on_row must be callable or None, got {on_row!r}")
    emit = on_row or (lambda row: None)
    has2 = Ns[0] == 2
    Ns = [n for n in Ns if n != 2]
    rows = [_row_N2(d)] if has2 else []
    if has2:
        emit(rows[0])
    # float64 optima, block by block (padded matrix of thresholds)
    f64 = {}
    blocks, cur = [], []
    for n in Ns:  # at most `block` N per block and at most ~2e6 matrix entries (memory)
        if cur and (len(cur) >= block or (len(cur) + 1) * (n // 2 + 1) > 2_000_000):
            blocks.append(cur)
            cur = []
        cur.append(n)
    if cur:
        blocks.append(cur)
    for blk in blocks:
        blk = np.array(blk)
        D, chi, d1_, d2_, st = _opt_f64_block(blk)
        for i, n in enumerate(blk):
            f64[int(n)] = (float(D[i]), float(chi[i]), float(d1_[i]), float(d2_[i]), int(st[i]))
        if d is None:
            for n in blk:
                rows.append(_certified_row(int(n), f64[int(n)], None, check))
                emit(rows[-1])
    if d is not None:
        for n in Ns:
            rows.append(_certified_row(n, f64[n], d, check))
            emit(rows[-1])
    return rows


register_equation("qmf_sym.spacing.optimal_spacing", "paper 1, sec. 4.2, Fig. 2 (D~_opt(N), chi_max(N) of eq. 17)",
                  "bracketed float64 Newton, refined and certified at dps", faces=("f64", "mp"))
register_equation("qmf_sym.spacing.table", "paper 1, Fig. 2 (the chi_max / D~_opt / xi table)",
                  "optimal_spacing over many N", faces=("f64", "mp"))
