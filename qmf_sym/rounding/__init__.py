"""Stochastic rounding (SR) staircases: the mean-field maps, chi, and the best chi over sigma_w.

Paper 1 (Blumenfeld, Gilboa & Soudry 2019), sec. 4.1 and its Appendix D ("stochastic rounding can
only further decrease the signal propagation depth scale").  The appendix is not in our text; the
model and its derivation are in derivations/stochastic_rounding.md:

    Given the N levels l_0 < ... < l_{N-1} of a staircase (eq. 13), the pre-activation u is clipped
    to [l_0, l_{N-1}], c = clip(u), and with l_k <= c <= l_{k+1} rounded up to l_{k+1} with
    probability (c - l_k) / (l_{k+1} - l_k), else down to l_k; so E[phi | u] = clip(u).  The rounding
    noise is independent across neurons and across inputs.

Only the levels enter (the thresholds of the deterministic staircase do not).  For the uniform
family of sec. 5 (levels -1..1, thresholds at the midpoints) SR and the deterministic staircase
round the same grid: nearest versus stochastic.

Closed forms (u ~ N(0, Q); (u1, u2) ~ N(0, Q [[1, C], [C, 1]]); z = u / sqrt(Q); a, b = the
normalised ends l_0 / sqrt(Q), l_{N-1} / sqrt(Q)):

* E[phi^2 | u] = l_k^2 + (l_k + l_{k+1}) (c - l_k) ... = c^2 + (c - l_k)(l_{k+1} - c): the second
  moment is E clip(u)^2 plus the rounding noise  E v,  v(c) = (c - l_k)(l_{k+1} - c)   (eq. D.1);
* distinct inputs, independent noise: E phi(u1) phi(u2) = E clip(u1) clip(u2), a clipped-linear
  Gaussian expectation in closed form (Phi_2, Phi, n; eq. D.2);
* Price's theorem: chi = dM/dC = sigma_w^2 P(a < z1 < b, a < z2 < b)   (eq. D.3: the rectangle
  probability; with range [-1, 1] it is sigma_w^2 E[g(u1) g(u2)] of the clipped STE of eq. 19);
* sigma_b = 0, symmetric levels (C* = 0):  chi = P(a < z < b)^2 / E phi_z^2 = corr(z, phi)^2 (Stein),
  so 1 - chi = min_alpha E(z - alpha phi)^2 (eq. D.4), as for the deterministic staircase.

The correlation map jumps at C = 1: for two *distinct* inputs M(1-) = sigma_w^2 E clip^2 / Q* < 1,
so C* < 1 for every sigma_w, sigma_b (the noise decorrelates even identical inputs).  ``C = 1`` is
taken as that limit from below (two distinct inputs at correlation -> 1).

Modules: :mod:`.forms` (closed forms, maps, fixed point), :mod:`.optimum` (sigma_b = 0, best
sigma_w, large-N ratio).  Faces: ``dps=None`` float64 (vectorised over Q, C), ``dps=k`` mpmath
(the same closed forms at guard precision; the rounding-noise sum with extra digits for narrow
cells), and an oracle by one-dimensional quadrature of the conditional expectation (an
independent route).
"""
from .forms import SRFixedPoint, chi, correlation_map, fixed_point, sr_chi, sr_covariance, sr_moments, variance_map  # noqa: F401
from .optimum import SROptimum, chi_at_zero, chi_deficit_at_zero, optimal_sr, ratio_asymptotic  # noqa: F401

__all__ = ["sr_moments", "sr_covariance", "sr_chi", "variance_map", "correlation_map", "chi",
           "fixed_point", "SRFixedPoint", "chi_at_zero", "chi_deficit_at_zero", "SROptimum", "optimal_sr",
           "ratio_asymptotic"]
