"""Theory curves eps_g(tau) of spec §4.4: the closed input-only ODE (§4.4 iii, from :mod:`qmf_sym.ste`)
or the exact moment equations (§4.4 ii), i.e. eps_g from mu_tau of the PDE or of the particles."""
from __future__ import annotations

import numpy as np

from qmf_sim.ste.params import as_params
from qmf_sim.ste.trajectory import Trajectory, curve_trajectory
from qmf_sym import _validate as V


def closed_curve(params, tau):
    """eps_g(tau) of the closed input-only ODE (spec §4.4 iii), via :func:`qmf_sym.ste.solve_input_only_ode`."""
    from qmf_sym import ste

    p = as_params(params)
    if not p.input_only:
        raise ValueError("params: method='closed' needs unquantized weights (psi = id: b=None, spec §4.4 iii)")
    tau = V.nonnegative("tau", V.array("tau", tau))
    q0 = 0.0 if p.init == "zeros" else p.init_scale**2
    if p.onset > 0:  # unquantized inputs up to the onset (spec §8 item 6), then phi from (m, q)(onset)
        pre, post = p.before_onset(), p.after_onset()
        k0, s0 = pre.input_moments()
        m1, q1, e1 = ste.solve_input_only_ode(np.minimum(tau, p.onset), p.eta, p.lam, p.sigma2, k0, s0, rho=p.rho,
                                              T=p.T, m0=0.0, q0=q0)
        m_on, q_on, _ = ste.solve_input_only_ode(p.onset, p.eta, p.lam, p.sigma2, k0, s0, rho=p.rho, T=p.T,
                                                 m0=0.0, q0=q0)
        kappa, s2 = post.input_moments()
        _, _, e2 = ste.solve_input_only_ode(np.maximum(tau - p.onset, 0.0), p.eta, p.lam, p.sigma2, kappa, s2,
                                            rho=p.rho, T=p.T, m0=float(m_on), q0=float(q_on))
        return np.where(tau < p.onset, e1, e2).astype(float)
    kappa, s2 = p.input_moments()
    _, _, eps = ste.solve_input_only_ode(tau, p.eta, p.lam, p.sigma2, kappa, s2, rho=p.rho, T=p.T, m0=0.0, q0=q0)
    return np.asarray(eps, dtype=float)


def closure_curve(params, tau, closure="gaussian", dt=0.2, n_teacher=24):
    """eps_g(tau) of an order-parameter closure (:func:`qmf_sym.ste.closure.solve_closure`: 'gaussian',
    spec §4.4 iv, or 'split', the Gaussian closure with the exact frozen mass of the clipped STE).
    params=None: the default :class:`~qmf_sim.ste.params.STEParams` (:func:`~qmf_sim.ste.params.as_params`)."""
    from qmf_sim.ste.pde import MAX_TEACHER_NODES, teacher_nodes
    from qmf_sym.ste.closure import solve_closure

    p = as_params(params)
    if p.onset > 0:
        raise ValueError("onset must be 0 for the closures (use method='pde' or 'particles')")
    kappa, s2 = p.input_moments()
    r = solve_closure(V.nonnegative("tau", V.array("tau", tau)), p.weight_map(), kappa, s2, p.eta, p.lam, p.sigma2, p.T, p.rho,
                      teacher_nodes(p.teacher, V.integer("n_teacher", n_teacher, 1, MAX_TEACHER_NODES)), p.init, p.init_scale,
                      p.ridge, closure, dt)
    return r["eps"]


def theory_result(params, tau, method="pde", **kw) -> Trajectory:
    """The "ODE" prediction of spec §4.4 as a one-run :class:`~qmf_sim.ste.trajectory.Trajectory` on the
    times ``tau``, with the one divergence rule of :mod:`qmf_sim.ste.trajectory` applied whatever the method
    (``diverged``, ``tau_diverged``; NaN from then on): ``pde`` / ``particles`` (the solver's own run, at the
    solver's times, which contain ``tau``), ``closed`` (input-only, §4.4 iii) and the closures ``gaussian``
    (§4.4 iv) / ``split`` (the curve at the sorted distinct times of ``tau``: divergence is seen at that resolution).
    params=None: the default :class:`~qmf_sim.ste.params.STEParams` (:func:`~qmf_sim.ste.params.as_params`)."""
    V.choice("method", method, ("pde", "particles", "closed", "gaussian", "split"))
    p = as_params(params)
    tau = V.nonnegative("tau", V.array("tau", tau))
    if method in ("closed", "gaussian", "split"):
        V.nonnegative("tau", tau)
        t = np.unique(tau)  # the curve's recording times, in order (the rule looks for the first bad one)
        eps = closed_curve(p, t) if method == "closed" else closure_curve(p, t, method, **kw)
        return curve_trajectory(p, method, t, eps)
    from qmf_sim.ste.particles import solve_particles
    from qmf_sim.ste.pde import solve_pde

    return (solve_pde if method == "pde" else solve_particles)(p, tau=tau, **kw)


def theory_curve(params, tau, method="pde", **kw):
    """The "ODE" prediction eps_g(tau) of spec §4.4: ``closed`` (input-only, §4.4 iii), a closure
    (``gaussian`` §4.4 iv, ``split``; :func:`closure_curve`), or the exact
    moment equations §4.4 (ii), i.e. eps_g = 1/2 (rho - 2 kappa m_psi + s2 q_psi) from mu_tau of
    the PDE (``pde``) or of the particle solver (``particles``); ``kw`` go to the solver.  NaN from the
    time the run diverged (the one rule, :func:`theory_result`, which also says when).
    params=None: the default :class:`~qmf_sim.ste.params.STEParams`."""
    tau = V.nonnegative("tau", V.array("tau", tau))
    res = theory_result(params, tau, method, **kw)
    return np.interp(tau, res.tau, res.eps[0])
