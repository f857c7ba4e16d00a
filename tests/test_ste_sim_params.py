"""qmf_sim.ste.params / trajectory: validation of every argument."""
from __future__ import annotations

import numpy as np
import pytest

from qmf_sim import ste as S


@pytest.mark.parametrize(
    "kw",
    [dict(b=0), dict(omega=0.0), dict(omega=-1.0), dict(eta=0.0), dict(eta=-0.1), dict(lam=-1.0),
     dict(kind="bogus"), dict(kind_x="bogus"), dict(ste="bogus"), dict(teacher="bogus"), dict(init="bogus"),
     dict(b_x=0), dict(omega_x=0.0), dict(sigma2=-1.0), dict(T=-1.0), dict(b=1, kind="midtread"),
     # bools are not integers / numbers; NaN is not a number
     dict(b=True), dict(b_x=True), dict(eta=True), dict(omega=float("nan")), dict(lam=float("nan")),
     dict(eta=float("inf"))],
)
def test_bad_params_raise(kw):
    with pytest.raises(ValueError):
        S.STEParams(**kw)


def test_bad_run_arguments_raise():
    p = S.STEParams()
    for kw in (dict(d=0), dict(d=-3), dict(runs=0), dict(tau_max=0.0), dict(seed=-1), dict(seed=True),
               dict(runs=True), dict(d=True), dict(eps_bound=float("nan")), dict(eps_bound=-1.0),
               dict(q_bound=0.0), dict(eps_bound=True)):
        args = dict(d=10, tau_max=0.1, runs=1) | kw
        with pytest.raises(ValueError):
            S.simulate(p, **args)
    with pytest.raises(ValueError):
        S.solve_particles(p, tau=[0, 1], n_particles=0)
    with pytest.raises(ValueError):
        S.solve_particles(p, tau=[0, 1], n_particles=10, seed=True)
    with pytest.raises(ValueError):
        S.solve_particles(p, tau=[0, 1], n_particles=10, eps_bound=float("nan"))
    with pytest.raises(ValueError):
        S.solve_pde(p, tau=[0, 1], h=-1.0)
    with pytest.raises(ValueError):
        S.solve_pde(p, tau=[0, 1], eps_bound=0.0)
    for bad in (dict(dt=True), dict(dt=float("nan")), dict(n_chunks=True)):
        with pytest.raises(ValueError):
            S.solve_particles(p, tau=[0, 1], n_particles=10, **bad)
    for bad in (dict(h=True), dict(L=float("inf")), dict(n_teacher=True), dict(wall_mass=2.0)):
        with pytest.raises(ValueError):
            S.solve_pde(p, tau=[0, 1], **bad)
    with pytest.raises(ValueError):
        S.theory_curve(p, [0, 1], method="bogus")
    with pytest.raises(ValueError):
        S.theory_curve(p, [0, 1], method="closed")  # weights quantized: no closed ODE


@pytest.mark.parametrize("bad", [[float("nan")], [1.0, float("inf")], [-1.0]])
def test_nonfinite_times_raise(bad):
    """NaN/inf in snapshot_tau made the PDE loop forever: every solver refuses them."""
    p = S.STEParams()
    with pytest.raises(ValueError):
        S.solve_pde(p, tau=[0.0, 1.0], snapshot_tau=bad, h=0.05)
    with pytest.raises(ValueError):
        S.solve_pde(p, tau=bad, h=0.05)
    with pytest.raises(ValueError):
        S.solve_particles(p, tau=[0.0, 1.0], snapshot_tau=bad, n_particles=10)
    with pytest.raises(ValueError):
        S.simulate(p, d=8, tau=[0.0, 1.0], snapshot_tau=bad, runs=1)


def test_schedule():
    s = S.Schedule([2.0, 1.0, 1.0], snapshot_tau=[1.5, 1.5])
    np.testing.assert_array_equal(s.tau, [0.0, 1.0, 2.0])
    tau, idx = s.with_snapshots()
    np.testing.assert_array_equal(tau, [0.0, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(idx, [-1, -1, 0, -1])
    dts, rec_at = s.euler(0.3)
    # every recording time is hit exactly: the partial sums at rec_at are the times
    np.testing.assert_allclose(np.concatenate([[0.0], np.cumsum(dts)])[rec_at], s.tau, rtol=0, atol=1e-14)
    assert dts.max() <= 0.3
