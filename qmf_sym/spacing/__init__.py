"""Optimal spacing of quantized activations: eq. 16 and eq. 17 of paper 1 (Blumenfeld, Gilboa &
Soudry 2019, sec. 4.2), the maximal slope chi_max(N), the optimal normalized spacing D~_opt(N),
tables, and the paper's power-law regressions (Fig. 2, eq. 18).

Setting (sec. 4.2): sigma_b = 0, so that C* = 0 is a fixed point of the correlation map, and
offsets are measured in units of sqrt(Q*): g~ = g / sqrt(Q*).  One concept per module:

* :mod:`.staircase` -- eq. 16 for any staircase (``chi_staircase``), the centring base;
* :mod:`.uniform`   -- eq. 17 for the uniform family (``chi_uniform``, its derivatives): the sums
  written once for float64 and mpmath;
* :mod:`.optimum`   -- D~_opt(N), chi_max(N), xi(N) with certificates (``optimal_spacing``, ``table``);
* :mod:`.fits`      -- the regressions of Fig. 2 / eq. 18 (``fit_power_laws``, ``local_slopes``).

Writing and reading table files is done by ``qmf_sim.experiments.spacing`` (qmf_sym does no I/O).
Derivation: derivations/spacing_eq16_17.md.
"""
from .fits import PAPER_FIT, fit_power_laws, local_slopes
from .optimum import OptimalSpacing, optimal_spacing, table
from .staircase import centring_base, chi_eq16, chi_staircase
from .uniform import chi_eq17, chi_uniform, chi_uniform_derivatives

__all__ = [
    "chi_staircase", "chi_eq16", "centring_base", "chi_uniform", "chi_eq17", "chi_uniform_derivatives",
    "OptimalSpacing", "optimal_spacing", "table", "fit_power_laws", "local_slopes", "PAPER_FIT",
]
