"""Which N-level activation propagates signal best?  Paper 1, sec. 4.2 and Appendix G.

Setting: sigma_b = 0, the best sigma_w (equivalently a free input scale), a centred staircase
(the base A is free in eq. 13 and is set to centre phi, :func:`qmf_sym.spacing.centring_base`),
so that C* = 0 and chi = eq. 16 = corr(z, phi(z))^2 (:mod:`qmf_sym.quantization`, Stein):

    1 - chi = min_{a, c} E (z - a phi(z) - c)^2,

the MSE of the best affine image of phi as an N-level quantizer of z ~ N(0, 1).
Derivation: derivations/optimal_activation.md.  Two classes:

* **Equal output steps** (h_i = h, thresholds free).  a phi + c takes values c + a h k, k = 0..N-1:
  a quantizer with *uniformly spaced levels*.  For fixed levels the MSE-optimal thresholds are the
  midpoints (nearest neighbour), i.e. the uniform staircase; so max chi over this class = the
  uniform family's chi_max(N) (eq. 17) -- provided the best level grid is centred (c = 0), which
  :func:`uniform_offset_scan` checks for N <= 64.  Theorem + certified numerics: **within equal
  output steps the evenly spaced staircase of sec. 4.2 is optimal** (App. G is right there), and
  :func:`optimise_equal_steps` (direct maximisation of eq. 16 over the N - 1 thresholds from random
  starts) finds nothing better.
* **Thresholds and levels free.**  The optimum is the Lloyd-Max quantizer: chi = 1 - MSE_LM(N) >
  chi_max(N) for N >= 4 (equal for N = 2, 3), so App. G's "more complex activations ... will not
  produce better results" is wrong in this class; the xi gain grows with N (1.6x at N = 64).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from . import _validate as V
from . import quantization as Qz
from ._faces import register_equation
from .spacing import chi_staircase, optimal_spacing

__all__ = ["optimise_equal_steps", "EqualStepsResult", "uniform_offset_scan", "compare_classes",
           "ClassComparison", "hessian_at_uniform"]


def _thresholds(theta):
    """Ordered thresholds from unconstrained parameters: t_1 = theta_0, t_{i+1} = t_i + exp(theta_i)."""
    return np.concatenate([[theta[0]], theta[0] + np.cumsum(np.exp(theta[1:]))])


@dataclass(frozen=True)
class EqualStepsResult:
    """Best eq. 16 chi found over the thresholds of an equal-step N-level staircase: ``chi``,
    ``thresholds`` (normalised), ``chi_uniform`` (= chi_max(N), eq. 17), ``max_dev`` (largest
    deviation of the found thresholds from the uniform optimum's D_opt (i - N/2)), ``starts``."""

    N: int
    chi: float
    thresholds: np.ndarray
    chi_uniform: float
    max_dev: float
    starts: int


def optimise_equal_steps(N, starts=4, seed=0):
    """Maximise eq. 16 over the N - 1 thresholds with equal heights (L-BFGS-B on ordered
    parameters, ``starts`` random starting staircases: sorted N(0, 1.5^2) draws), float64."""
    N = V.integer("N", N, 2, 512)
    starts = V.integer("starts", starts, 1, 100)
    rng = np.random.default_rng(V.integer("seed", seed, 0))
    ref = optimal_spacing(N, check=False)
    if N == 2:
        # one threshold: chi(t) = p(t)^2 / (Phi(t) Phi(-t)) is maximal at t = 0 (2/pi)
        res = optimize.minimize_scalar(lambda t: -float(chi_staircase([t], 1.0)), bounds=(-3, 3), method="bounded")
        th = np.array([res.x])
        return EqualStepsResult(2, float(chi_staircase(th, 1.0)), th, float(ref.chi_max), abs(res.x), 1)
    f = lambda th: -float(chi_staircase(_thresholds(th), 1.0))
    best = None
    for _ in range(starts):
        t0 = np.sort(rng.normal(0, 1.5, N - 1))
        t0 = t0 + 1e-3 * np.arange(N - 1)  # strictly increasing
        theta = np.concatenate([[t0[0]], np.log(np.diff(t0))])
        r = optimize.minimize(f, theta, method="L-BFGS-B", options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-12})
        if best is None or r.fun < best.fun:
            best = r
    th = _thresholds(best.x)
    uni = ref.D_opt * (np.arange(1, N) - N / 2)
    return EqualStepsResult(N, -float(best.fun), th, float(ref.chi_max), float(np.max(np.abs(th - uni))), starts)


def hessian_at_uniform(N, h=1e-4):
    """Eigenvalues of the Hessian of eq. 16 (equal heights) with respect to the N - 1 thresholds at
    the uniform optimum g~_i = D~_opt (i - N/2), by central differences of step ``h`` (error
    O(h^2) ~ 1e-8 relative; h in [1e-8, 0.1]).  All negative: the uniform staircase is a strict local maximum in the
    equal-steps class, including along asymmetric and non-uniform directions."""
    N = V.integer("N", N, 3, 512)
    h = float(V.in_closed("h", h, 1e-8, 0.1))  # below ~1e-8 the O(eps/h^2) rounding swamps the difference
    t0 = optimal_spacing(N, check=False).D_opt * (np.arange(1, N) - N / 2)
    f = lambda t: float(chi_staircase(t, 1.0))
    n = N - 1
    E = np.eye(n) * h
    H = np.empty((n, n))
    f0 = f(t0)
    for i in range(n):
        H[i, i] = (f(t0 + E[i]) - 2 * f0 + f(t0 - E[i])) / h ** 2
        for j in range(i + 1, n):
            H[i, j] = H[j, i] = (f(t0 + E[i] + E[j]) - f(t0 + E[i] - E[j]) - f(t0 - E[i] + E[j])
                                 + f(t0 - E[i] - E[j])) / (4 * h * h)
    return np.linalg.eigvalsh(H)


def uniform_offset_scan(N, offsets=np.linspace(-2.0, 2.0, 41)):
    """min over the step of the uniform quantizer's MSE with its level grid shifted by c (in steps):
    levels step (k - (N-1)/2 + c), thresholds at the midpoints.  Returns (offsets, mse): the
    minimum must be at c = 0 for the equal-steps theorem (module docstring)."""
    N = V.integer("N", N, 2, 512)
    out = []
    for c in V.array("offsets", offsets, ndim=1):
        c = float(c)
        k = np.arange(N) - (N - 1) / 2 + c

        def mse(step):
            y = step * k
            return Qz.quantizer_mse(0.5 * (y[:-1] + y[1:]), y)

        s0 = optimal_spacing(N, check=False).D_opt if N > 2 else 1.6
        r = optimize.minimize_scalar(mse, bounds=(0.2 * s0, 3 * s0), method="bounded", options={"xatol": 1e-12})
        out.append(r.fun)
    return np.atleast_1d(offsets), np.array(out)


@dataclass(frozen=True)
class ClassComparison:
    """chi and xi of the best uniform staircase (= best equal-step) and of the Lloyd-Max staircase
    (best over thresholds and levels); ``xi_gain`` = xi_LM / xi_uniform."""

    N: int
    chi_uniform: float
    chi_lloyd_max: float
    xi_uniform: float
    xi_lloyd_max: float
    xi_gain: float
    one_minus_ratio: float  # (1 - chi_uniform) / (1 - chi_LM)


def compare_classes(N):
    """Uniform (eq. 17 optimum) against Lloyd-Max (chi = 1 - MSE_LM, :func:`qmf_sym.quantization.lloyd_max`)."""
    N = V.integer("N", N, 2, 4096)
    u = optimal_spacing(N, check=False)
    lm = Qz.lloyd_max(N)
    chi_lm = 1.0 - lm.mse
    xu, xl = -1 / math.log(u.chi_max), -1 / math.log1p(-lm.mse)
    return ClassComparison(N, float(u.chi_max), chi_lm, xu, xl, xl / xu, (1 - float(u.chi_max)) / lm.mse)


register_equation("qmf_sym.optimal_activation.optimise_equal_steps",
                  "paper 1, App. G (best equal-step staircase = uniform)", "eq. 16 over the thresholds")
register_equation("qmf_sym.optimal_activation.compare_classes",
                  "paper 1, App. G (Lloyd-Max vs uniform)", "chi = 1 - MSE_LM, xi gain")
