"""What the STE model says quantization costs (derivations/ste_uses.md).

* :func:`unquantized_ridge_eps` -- the baseline: eps_g* of unquantized online ridge SGD (spec §5.1 with
  kappa = s2 = 1, any lam);
* :func:`weight_degradation` -- Delta eps_g* = eps_g*(weights quantized, stationary law with the edge
  masses) - baseline, any (b, omega);
* :func:`unquantized_stationary_law` / :func:`ptq_eps` -- post-training quantization: the unquantized
  stationary law of one latent weight is Gaussian (an Ornstein-Uhlenbeck process once eps_g is
  stationary), quantize it: eps_g of psi(w) in closed form (Gaussian cell probabilities);
* :func:`best_input_range` -- input-only quantization: the omega_x minimising eps_g* for b bits, and
  its relation to Max's optimal uniform quantizer (qmf_sym.quantization.optimal_uniform_quantizer):
  at eta -> 0 they coincide (omega_x* = (2^b - 1) s_Max / 2 for the endpoints grid) and
  1 - kappa^2/s2 = 1 - chi_max (paper 1, sigma_b = 0) = Max's minimum MSE.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as V

__all__ = ["unquantized_ridge_eps", "weight_degradation", "unquantized_stationary_law", "ptq_eps",
           "best_input_range", "max_input_range"]


def unquantized_ridge_eps(eta, lam, sigma2=0.0, rho=1.0):
    """eps_g* of unquantized online ridge SGD (psi = phi = id; spec §5.1 fixed point with kappa = s2 = 1);
    +inf where eta >= eta_c = 2 (1 + lam)."""
    from .input_only import input_only_fixed_point

    fp = input_only_fixed_point(eta, lam, sigma2, 1.0, 1.0, rho)
    return float(fp.eps_g) if bool(fp.stable) else math.inf


def weight_degradation(eta, lam, b, omega, kind="endpoints", ste="clipped", sigma2=0.0):
    """Delta eps_g* = eps_g*(psi = Q_{b,omega}, stationary law of spec §5.2 with the edge masses) -
    eps_g*(unquantized ridge SGD at the same eta, lam); teacher w* = 1, unquantized inputs."""
    from .stationary import stationary_state

    q = stationary_state(eta, lam, b, omega, kind=kind, ste=ste, sigma2=sigma2).eps_g
    return q - unquantized_ridge_eps(eta, lam, sigma2)


def unquantized_stationary_law(eta, lam, sigma2=0.0, w_star=1.0):
    """(mean, variance) of the stationary law of one latent weight under unquantized ridge SGD: with eps_g at
    its fixed point the SDE dw = eta (w* - (1 + lam) w) dtau + sqrt(eta^2 (2 eps* + sigma2)) dB is an
    Ornstein-Uhlenbeck process, so the law is Gaussian with mean w*/(1 + lam) and variance
    eta (2 eps* + sigma2) / (2 (1 + lam)) (= q* - m*^2 of spec §5.1 for w* = 1)."""
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    w_star = V.finite("w_star", w_star)
    e = unquantized_ridge_eps(eta, lam, sigma2)
    if not math.isfinite(e):
        raise ValueError(f"eta must be < eta_c = 2 (1 + lam) = {2 * (1 + lam):g} (unquantized SGD diverges), got {eta}")
    return w_star / (1 + lam), eta * (2 * e + sigma2) / (2 * (1 + lam))


def ptq_eps(eta, lam, b, omega, kind="endpoints", sigma2=0.0, mean=None, var=None):
    """Post-training quantization: eps_g = 1/2 E[(w* - psi(w))^2] (w* = 1, unquantized inputs) for w ~ N(mean,
    var), by default the unquantized stationary law (:func:`unquantized_stationary_law`; train to
    convergence, then quantize): 1/2 [1 - 2 sum_k l_k P_k + sum_k l_k^2 P_k], P_k the Gaussian cell
    probabilities of the quantizer cells."""
    from .. import gaussian as G
    from .quantizers import quantizer_grid

    if mean is None or var is None:
        m0, v0 = unquantized_stationary_law(eta, lam, sigma2)
        mean = m0 if mean is None else mean
        var = v0 if var is None else var
    mean = V.finite("mean", mean)
    var = V.finite("var", V.nonnegative("var", var))
    lv, th = quantizer_grid(b, omega, kind)
    if var == 0:
        psi = float(lv[np.searchsorted(th, mean, side="right")])
        return 0.5 * (1 - psi) ** 2
    sd = math.sqrt(var)
    z = np.concatenate([[-np.inf], (np.asarray(th) - mean) / sd, [np.inf]])
    P = G.cell_probability.f64(z[:-1], z[1:])
    return 0.5 * (1 - 2 * float(np.sum(lv * P)) + float(np.sum(lv**2 * P)))


def max_input_range(b):
    """(s_Max, omega_x) of Max's optimal uniform quantizer of N(0, 1) with N = 2^b levels: step s_Max
    (qmf_sym.quantization.optimal_uniform_quantizer) and the equivalent range of the spec's endpoints
    grid, omega_x = (N - 1) s_Max / 2 (same thresholds and levels: a midpoint uniform quantizer)."""
    from ..quantization import optimal_uniform_quantizer

    b = V.integer("b", b, 1, 16)
    N = 2**b
    s, _ = optimal_uniform_quantizer(N)
    return float(s), float((N - 1) * s / 2)


def best_input_range(b, eta=0.0, lam=0.0, kind="endpoints"):
    """The input range omega_x minimising the input-only eps_g* (spec §5.1) for b bits.

    eta = 0 (the limit eta -> 0, lam = 0): maximise kappa^2/s2 = Corr(z, phi(z))^2, i.e. minimise
    1 - kappa^2/s2.  eta > 0: minimise eps_g* = rho (1 - kappa^2/s2)/(2 - eta s2) (lam = 0) or the general
    fixed point (lam > 0).  Bounded Brent on omega_x in [1e-3, 12] after a coarse scan (the objective is
    unimodal on the scan for b <= 10; derivations/ste_uses.md §4).  Returns (omega_x, objective)."""
    from scipy.optimize import minimize_scalar

    from .input_only import input_only_fixed_point
    from .quantizers import input_moments

    b = V.integer("b", b, 1, 16)
    V.nonnegative("eta", eta)
    V.nonnegative("lam", lam)

    def obj(om):
        k, s2 = input_moments(b, om, kind)
        if eta == 0 and lam == 0:
            return 1.0 - k * k / s2
        if eta == 0:
            raise ValueError("lam > 0 needs eta > 0 (the eta -> 0 limit is taken at lam = 0)")
        fp = input_only_fixed_point(eta, lam, 0.0, k, s2)
        return float(fp.eps_g) if bool(fp.stable) else math.inf

    grid = np.geomspace(1e-3, 12.0, 241)
    vals = np.array([obj(x) for x in grid])
    i = int(np.nanargmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    r = minimize_scalar(obj, bounds=(lo, hi), method="bounded", options=dict(xatol=1e-11))
    return float(r.x), float(r.fun)
