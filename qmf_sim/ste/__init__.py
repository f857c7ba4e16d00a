"""STE learning dynamics of quantized linear models in high dimension (paper 2), Numba solvers.

Reference: Ichikawa, Kashiwamura & Sakata, arXiv:2510.10693; the model as reconstructed in
``specs/ste_dynamics.md`` ("spec §k").  One parameter object (:class:`STEParams`), three solvers that
return one result type (:class:`Trajectory`) under one recording :class:`Schedule` and one divergence rule:

* :func:`simulate` / :func:`simulate_many` -- the d-dimensional online SGD of spec §3 (:mod:`.micro`);
* :func:`solve_particles` -- Euler--Maruyama for the McKean--Vlasov SDE of spec §4.3 (:mod:`.particles`);
* :func:`solve_pde` -- the Fokker--Planck equation of spec §4.3, finite volumes (:mod:`.pde`);
* :func:`theory_curve` -- the "ODE" curve of spec §4.4, and the closures (:mod:`.theory`, :mod:`qmf_sym.ste.closure`).

Weight and input maps: ``STEParams(psi=..., phi=...)`` takes any
:class:`qmf_sym.ste.maps.Map` (identity, quantizers, sign, any staircase, tanh, user callables) or a
map name; the (b, omega, kind, ste) switches keep defining the quantizers otherwise.  Every solver
uses the map's one representation: compiled tables (:func:`.quantizer.map_tables`) for all but
callables, which run on the pure-numpy paths of :mod:`.reference`.  Switches of spec §8: ``ridge``
('latent' | 'psi', item 3) and ``onset`` (quantization from tau = onset on, item 6) in every solver.

The one quantizer lookup is :mod:`.quantizer`; random numbers :mod:`.rng`; all compiled code
:mod:`._kernels` (loaded on first use).  Ctrl-C stops a compiled solver within a step
(:mod:`.interrupt`): it raises ``Interrupted`` (a KeyboardInterrupt) whose ``partial`` holds the records
made up to the stop.
"""
from qmf_sim.ste.micro import simulate, simulate_many
from qmf_sim.ste.params import GRIDS, INITS, STES, TEACHERS, STEParams, as_params
from qmf_sim.ste.particles import solve_particles
from qmf_sim.ste.pde import solve_pde
from qmf_sim.ste.theory import closed_curve, closure_curve, theory_curve, theory_result
from qmf_sim.ste.trajectory import EPS_BOUND, Q_BOUND, WALL_MASS, Schedule, Trajectory, tau_grid

__all__ = ["GRIDS", "INITS", "STES", "TEACHERS", "STEParams", "as_params", "simulate", "simulate_many",
           "solve_particles", "solve_pde", "theory_curve", "theory_result", "closed_curve", "closure_curve", "Schedule",
           "Trajectory", "tau_grid",
           "EPS_BOUND", "Q_BOUND", "WALL_MASS"]
