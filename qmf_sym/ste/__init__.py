"""Closed forms of the STE learning-dynamics model of paper 2 (Ichikawa, Kashiwamura & Sakata,
arXiv:2510.10693), as reconstructed in ``shared/specs/ste_dynamics.md`` ("spec").  One concept per
module:

* :mod:`.quantizers`  -- the uniform b-bit quantizers (spec §2.2), the STE derivative (§2.3), the
  Gaussian input moments kappa, sigma_phi^2 (§4.1);
* :mod:`.input_only`  -- input-only quantization: the closed ODE, its sympy derivation, fixed point,
  stability boundary eta_c, steady-state error (§4.4(iii), §5.1, Fig. 5);
* :mod:`.stationary`  -- weight quantization: the stationary density with its edge masses and the
  self-consistent state (§5.2 with the erratum of derivations/ste_stationary_edge_mass.md);
* :mod:`.maps`        -- the weight/input maps psi, phi (identity, tanh, sign, staircases, callables)
  and their moments;
* :mod:`.closure`     -- approximate order-parameter ODEs for weight quantization (§4.4 iv);
* :mod:`.plateau`     -- the plateau analysis and its model predictions;
* :mod:`.degradation` -- degradation against the unquantized baseline, schedules (PTQ/QAT).
"""
from . import closure, degradation, maps, plateau
from .input_only import (
                         FixedPoint,
                         baseline_deviation,
                         fig5_curves,
                         input_only_eps_g,
                         input_only_fixed_point,
                         input_only_ode_rhs,
                         input_only_symbolic,
                         solve_input_only_ode,
                         stability_boundary,
                         steady_state_error,
)
from .quantizers import B_MAX, KINDS, STES, input_moments, quantize, quantizer_grid, quantizer_staircase, ste_grad
from .stationary import StationaryState, edge_mass, stationary_branches, stationary_density, stationary_state

__all__ = ["KINDS", "STES", "B_MAX", "quantizer_grid", "quantize", "ste_grad", "quantizer_staircase",
           "input_moments", "input_only_symbolic", "input_only_eps_g", "input_only_ode_rhs",
           "solve_input_only_ode", "FixedPoint", "input_only_fixed_point", "stability_boundary",
           "steady_state_error", "baseline_deviation", "fig5_curves", "stationary_density", "StationaryState",
           "stationary_state", "edge_mass", "stationary_branches", "maps", "closure", "plateau", "degradation"]
