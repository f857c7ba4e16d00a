"""Initialization that puts a uniform staircase at its optimal normalized spacing (paper 1, sec. 5).

For the uniform staircase with spacing D (sec. 5: D = 2/(N-1), states -1..1) at sigma_b = 0 we
want D / sqrt(Q*) = D~_opt(N) (Fig. 2 / :func:`qmf_sym.spacing.optimal_spacing`), i.e.

    Q* = (D / D~_opt)^2,   Q^* = E_{u ~ N(0, Q*)} phi(u)^2,   sigma_w = sqrt(Q* / Q^*),

because the fixed point of eq. 4 with sigma_b = 0 is Q* = sigma_w^2 Q^*(Q*).  Sec. 5 prints
sigma_w = (1/sqrt(Q*)) (D / D~_opt); since D / D~_opt = sqrt(Q*), that expression is identically 1.
It is correct with Q^* in place of Q*: sigma_w = (1/sqrt(Q^*)) (D / D~_opt)
(derivations/spacing_eq16_17.md, section "The sigma_w slip of sec. 5").

N = 2 (sign): chi = 2/pi for every spacing, so any sigma_w is optimal; we return sigma_w = 1
(Q* = 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from . import _validate as V
from .activations import Staircase

__all__ = ["uniform_spacing", "sigma_w_opt", "init_for", "Init", "critical_init", "CriticalInit"]


def _as_act(act):
    if isinstance(act, (int, np.integer)) and not isinstance(act, (bool, np.bool_)):
        return Staircase.uniform(V.integer("act", int(act), 2, why="an integer act is the N of the uniform staircase"))
    if not isinstance(act, Staircase):
        raise ValueError(f"act must be a qmf_sym.activations.Staircase (eq. 13) or an integer N >= 2 "
                         f"(the uniform N-level staircase), got {act!r}")
    return act


def uniform_spacing(act) -> Fraction:
    """The spacing D of a uniform, centred staircase (equal heights, equally spaced offsets
    symmetric about 0, odd: the family of eq. 17 up to scale).  Raises ValueError otherwise."""
    act = _as_act(act)
    g, h = act.offsets_exact, act.heights_exact
    if act.N == 2:
        if g[0] != 0 or not act.is_odd():
            raise ValueError("act must be a uniform centred staircase (N = 2: offset 0 and odd, like sign)")
        return Fraction(0)
    D = g[1] - g[0]
    if any(b - a != D for a, b in zip(g, g[1:])) or len(set(h)) != 1 or not act.is_odd():
        raise ValueError("act must be a uniform centred staircase (equal heights, equally spaced offsets "
                         "D (i - N/2), odd); sigma_w_opt is defined for the eq. 17 family only")
    return D


def sigma_w_opt(act, dps=None):
    """sigma_w that puts a uniform staircase (or ``Staircase.uniform(N)`` for an int N) at its
    optimal normalized spacing D~_opt(N), with sigma_b = 0 (paper 1, sec. 5, corrected):
    sigma_w = sqrt(Q* / Q^*), Q* = (D / D~_opt)^2, Q^* = E_{u~N(0,Q*)} phi(u)^2."""
    return init_for(act, dps=dps).sigma_w


@dataclass(frozen=True)
class Init:
    """The optimal initialization of a uniform staircase: ``sigma_w``, ``sigma_b`` (= 0), the fixed
    point ``Q_star`` and ``Q_hat`` = E phi^2 there, ``D_opt`` (normalized), ``chi`` (= chi_max(N))
    and ``xi`` = -1/log chi."""

    N: int
    sigma_w: object
    sigma_b: object
    Q_star: object
    Q_hat: object
    D_opt: object
    chi: object
    xi: object


def init_for(act, dps=None, opt=None):
    """:class:`Init` for a uniform centred staircase (or an int N for ``Staircase.uniform(N)``).

    ``opt``: the staircase's :class:`qmf_sym.spacing.OptimalSpacing` row when the caller already has
    it (a table writer), so that D~_opt is not searched for again; it must be the row of the same N
    (checked) at the same precision.
    """
    from .maps import post_activation_moments
    from .spacing import OptimalSpacing, optimal_spacing

    act = _as_act(act)
    d = V.dps(dps)
    D = uniform_spacing(act)
    if opt is None:
        opt = optimal_spacing(act.N, dps=d, check=False)
    elif not isinstance(opt, OptimalSpacing) or opt.N != act.N:
        raise ValueError(f"opt must be the OptimalSpacing row of N = {act.N}, got {opt!r}")
    elif (opt.dps is None) != (d is None) or (d is not None and opt.dps < d):
        raise ValueError(f"opt must be computed at dps >= {d} (it has dps = {opt.dps})")
    if d is None:
        if act.N == 2:
            Q = 1.0
        else:
            Q = (float(D) / opt.D_opt) ** 2
        _, Qhat = post_activation_moments(act, Q)
        Qhat = float(Qhat)
        sw = math.sqrt(Q / Qhat)
        return Init(act.N, sw, 0.0, Q, Qhat, opt.D_opt, opt.chi_max, opt.xi)
    import mpmath

    with mpmath.workdps(V.guard_digits(d)):
        if act.N == 2:
            Q = mpmath.mpf(1)
        else:
            Q = (mpmath.mpf(D.numerator) / D.denominator / opt.D_opt) ** 2
        a, k = post_activation_moments.check(act, Q) if post_activation_moments.check else ((act, Q), {})
        _, Qhat = post_activation_moments.at_dps(d + 5, *a, **k)  # 5 digits above d, also at d = DPS_MAX
        sw = mpmath.sqrt(Q / Qhat)
        return Init(act.N, +sw, mpmath.mpf(0), +Q, +Qhat, opt.D_opt, opt.chi_max, opt.xi)


# ============================================================================ any staircase (sec. 5)
@dataclass(frozen=True)
class CriticalInit:
    """The sigma_w (and sigma_b) maximising chi at the true fixed point (Q*, C*) of a staircase.

    ``sigma_w``, ``sigma_b``, ``Q_star``, ``C_star``, ``chi`` (eq. 6/15), ``xi`` = -1/log chi (eq. 7),
    ``ste_slope`` (the clipped-STE slope s of eq. 19 with ``sigma_w^2 s^2 P(|u| < 1) = 1``: backward gain
    per layer exactly 1, :mod:`qmf_sym.backward`), ``backward_gain`` (= ``sigma_w^2 s^2 P(|u|<1)``,
    recomputed), ``attained`` (False when the best chi is only a supremum as sigma_w -> inf), and
    ``method`` ("centred-mp": Newton on dchi/dQ* at sigma_b = 0 for an odd staircase, digits to
    ``dps`` or float64; "fixed-point scan": :func:`qmf_sym.phase.best_chi_over_sigma_w`, sigma_w to
    ~1e-8 relative, chi to ~1e-15).
    """

    sigma_w: object
    sigma_b: object
    Q_star: object
    C_star: object
    chi: object
    xi: object
    ste_slope: object
    backward_gain: object
    attained: bool
    method: str


def _centred_opt(act, dps):
    """Odd staircase, sigma_b = 0 (C* = 0): maximise chi(Q*) = sigma_w^2 E phi'phi' with
    sigma_w^2 = Q* / E phi^2 over t = log Q* by Newton on the numerical derivative at high precision
    (mpmath.diff at the working precision), from the float64 scan's optimum."""
    import mpmath

    from . import maps, phase
    from .spacing import chi_staircase

    start = phase.best_chi_over_sigma_w(act, 0.0)
    d = 20 if dps is None else dps
    with mpmath.workdps(V.guard_digits(d) + 10):
        wd = mpmath.mp.dps

        _, g, h = act.mp_params()

        def chi_t(t):  # eq. 16 (odd => centred) at the *current* precision (mpmath.diff raises it)
            sq = mpmath.exp(t / 2)
            return chi_staircase.mp([x / sq for x in g], h)

        t = mpmath.log(start.Q_star)
        for _ in range(60):  # Newton on dchi/dt, steps limited to 0.05 (the float64 start is close)
            d1, d2 = mpmath.diff(chi_t, t, 1), mpmath.diff(chi_t, t, 2)
            if d2 >= 0:
                raise ValueError("critical_init: the float64 optimum is not at a maximum of chi (d2 >= 0)")
            step = -d1 / d2
            step = max(min(step, mpmath.mpf("0.05")), mpmath.mpf("-0.05"))
            t += step
            if abs(step) < mpmath.mpf(10) ** (-(d + 8)):
                break
        else:  # pragma: no cover - quadratic convergence from ~1e-8 takes 3-4 steps
            raise ValueError("critical_init: Newton did not converge")
        Q = mpmath.exp(t)
        _, m2 = maps.post_activation_moments(act, Q, dps=wd)
        sw = mpmath.sqrt(Q / m2)
        x = maps.chi(act, Q, C=0, sigma_w=sw, dps=wd)
        out = (sw, mpmath.mpf(0), Q, mpmath.mpf(0), x, -1 / mpmath.log(x))
        return tuple(float(v) for v in out) if dps is None else tuple(+v for v in out)


def _ste(Q, sw, dps):
    from . import backward

    if dps is None:
        m1 = float(backward.jacobian_moment(Q, sw, "clipped", 1.0))
        s = 1.0 / math.sqrt(m1)
        return s, float(backward.jacobian_moment(Q, sw, "clipped", s))
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        m1 = backward.jacobian_moment(Q, sw, "clipped", 1, dps=dps)
        s = 1 / mpmath.sqrt(m1)
        return +s, +backward.jacobian_moment(Q, sw, "clipped", s, dps=dps)


def critical_init(act, sigma_b=0.0, dps=None):
    """The initialisation that maximises chi (eq. 6) at the true fixed point (Q*, C*) for any
    staircase ``act`` (or an int N for ``Staircase.uniform(N)``), with the clipped-STE slope that
    makes the backward gain per layer exactly 1.

    ``sigma_b``: a fixed bias standard deviation >= 0, or ``"optimise"`` (maximise over sigma_b >= 0
    too; for odd staircases the optimum is sigma_b = 0, derivations/critical_init_and_bias.md).
    Odd staircase at sigma_b = 0: Newton at high precision (``dps`` digits, or float64 from 20);
    for the uniform family this agrees with :func:`init_for` (the certified table) to the table's
    precision.  Otherwise the fixed-point scan of :func:`qmf_sym.phase.best_chi_over_sigma_w`
    (float64 only).  N = 2 sign: chi = 2/pi for every sigma_w at sigma_b = 0; sigma_w = 1.
    Returns :class:`CriticalInit`.

    A continuous activation (erf, tanh, hard tanh, ReLU, any Smooth): the edge of chaos at
    ``sigma_b`` (chi = chi_1 = 1, C* = 1, xi = inf; :func:`qmf_sym.maps.edge_of_chaos`), with the true
    gradient (``ste_slope`` NaN, ``backward_gain`` = chi_1 = 1).
    """
    from . import phase

    if not isinstance(act, (int, np.integer, Staircase)) and getattr(act, "is_smooth", False):
        return _critical_continuous(act, sigma_b, dps)
    act = _as_act(act)
    d = V.dps(dps)
    if isinstance(sigma_b, str):
        V.choice("sigma_b", sigma_b, ("optimise",))
        return _optimise_bias(act, d)
    V.sigma("sigma_b", sigma_b, zero=True)
    sb = V.finite("sigma_b", sigma_b)
    if sb > 1e100:
        raise ValueError(f"sigma_b must be in [0, 1e100] or 'optimise', got {sigma_b!r}")
    flat_sign = act.N == 2 and act.offsets_exact[0] == 0
    if sb == 0 and act.is_odd() and not flat_sign:
        sw, sbv, Q, C, x, xi = _centred_opt(act, d)
        s, gain = _ste(Q, sw, d)
        return CriticalInit(sw, sbv, Q, C, x, xi, s, gain, True, "centred-mp")
    if d is not None:
        raise ValueError("dps is available only for odd staircases at sigma_b = 0; use dps=None")
    b = phase.best_chi_over_sigma_w(act, sb)
    if not b.attained:
        return CriticalInit(b.sigma_w, sb, b.Q_star, b.C_star, b.chi, b.xi, 0.0, float("nan"), False,
                            "fixed-point scan")
    s, gain = _ste(b.Q_star, b.sigma_w, None)
    return CriticalInit(b.sigma_w, sb, b.Q_star, b.C_star, b.chi, b.xi, s, gain, True, "fixed-point scan")


def _critical_continuous(act, sigma_b, dps):
    """A continuous activation: chi < 1 off the edge of chaos and chi = chi_1 = 1 on it (C* = 1, xi =
    inf), so the critical initialisation is the order-to-chaos line (:func:`qmf_sym.maps.edge_of_chaos`)
    at the given sigma_b.  The true gradient is used (no STE): ``ste_slope`` is NaN and
    ``backward_gain`` = chi_1 (= 1 on the line, :func:`qmf_sym.backward.gradient_factor`)."""
    from . import maps

    if isinstance(sigma_b, str):
        raise ValueError("sigma_b='optimise' applies to staircases only: for a continuous activation every "
                         "sigma_b >= 0 has its edge-of-chaos sigma_w with chi = 1; give sigma_b as a number")
    V.sigma("sigma_b", sigma_b, zero=True)
    e = maps.edge_of_chaos(act, sigma_b, dps=dps)
    one = e.chi_1
    return CriticalInit(e.sigma_w, e.sigma_b, e.Q_star, one ** 0, one, e.xi_c, float("nan"), one, True,
                        "edge of chaos (chi_1 = 1)")


def _optimise_bias(act, d):
    """Maximise the best chi over sigma_w also over sigma_b >= 0: a scan of sigma_b in units of the
    staircase's level spread, then Brent around the best; sigma_b = 0 is kept when it is best."""
    from scipy import optimize

    from . import phase

    spread = float(act.levels[-1] - act.levels[0])
    grid = [0.0] + list(spread * np.logspace(-3, 0.5, 12))
    vals = []
    for b in grid:
        r = phase.best_chi_over_sigma_w(act, b)
        vals.append(r.chi if r.attained else -1.0)
    k = int(np.argmax(vals))
    if k == 0:
        best = 0.0
    else:
        lo, hi = grid[k - 1], grid[min(k + 1, len(grid) - 1)]
        f = lambda b: -phase.best_chi_over_sigma_w(act, b).chi
        best = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10 * spread}).x
    return critical_init(act, best, dps=d if best == 0.0 else None)
