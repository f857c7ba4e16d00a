"""Huge valid sizes: every STE solver refuses a call of more than qmf_sim.ste.trajectory.MAX_WORK
elementary updates before it starts (a ValueError naming the time parameter), and counts them as it
documents (checked at the bound itself with a lowered MAX_WORK)."""
from __future__ import annotations

import numpy as np
import pytest

from qmf_sim import ste as S
from qmf_sim.ste import trajectory
from qmf_sym.ste.maps import Map

P = S.STEParams(b=2)


@pytest.mark.parametrize("call, word", [
    (lambda: S.simulate(P, d=900, tau_max=1e12), "tau_max = 1e+12"),
    (lambda: S.simulate(P, d=900, tau=[0.0, 1e12]), "tau (up to 1e+12)"),
    (lambda: S.simulate(P, d=900, tau_max=1e300), "tau_max"),  # tau d beyond int64
    (lambda: S.simulate_many([P, S.STEParams(b=3)], 900, tau_max=1e12), "tau_max"),
    (lambda: S.simulate(S.STEParams(b=2, onset=1.0), d=900, tau_max=1e12), "tau_max"),
    (lambda: S.simulate(S.STEParams(psi=Map.from_callable(np.tanh, lambda u: 1 - np.tanh(u) ** 2)), d=900,
                        tau_max=1e12), "tau_max"),
    (lambda: S.solve_particles(P, tau=[0.0, 1e12]), "tau (up to 1e+12, with n_particles = 100000"),
    (lambda: S.solve_particles(P, tau=[0.0, 1e300]), "tau"),
    (lambda: S.solve_pde(P, tau=[0.0, 1e12]), "tau (up to 1e+12, with h = 0.005"),
    (lambda: S.solve_pde(S.STEParams(b=2, onset=1.0), tau=[0.0, 1e12]), "tau"),
])
def test_huge_runs_are_refused_naming_the_time(call, word):
    with pytest.raises(ValueError, match="too long a run") as info:
        call()
    assert str(info.value).startswith(word), str(info.value)


def test_torch_path_is_bounded_too():
    pytest.importorskip("torch")
    from qmf_sim.ste.torch_micro import simulate_torch

    with pytest.raises(ValueError, match="^tau_max = 1e\\+12.*too long a run"):
        simulate_torch(P, d=900, tau_max=1e12, device="cpu")


def test_micro_counts_sets_runs_d_and_steps(monkeypatch):
    """3 sets x runs 2 x d 10 x round(5 * 10) = 50 steps = 3000 coordinate updates: refused at a bound of
    2999, run at 3000."""
    plist = [S.STEParams(b=2), S.STEParams(b=3), S.STEParams(b=None)]
    monkeypatch.setattr(trajectory, "MAX_WORK", 2999.0)
    with pytest.raises(ValueError, match="about 3e\\+03 coordinate updates"):
        S.simulate_many(plist, 10, tau_max=5.0, runs=2)
    monkeypatch.setattr(trajectory, "MAX_WORK", 3000.0)
    assert len(S.simulate_many(plist, 10, tau_max=5.0, runs=2)) == 3


def test_particles_count_particles_and_euler_steps(monkeypatch):
    """100 particles (2 chunks of 50) x 3 Euler steps (two of 0.5 up to tau = 1, one of 0.5 to 1.5) = 300
    particle steps: refused at a bound of 299, run at 300."""
    kw = dict(tau=[0.0, 1.0, 1.5], n_particles=100, n_chunks=2, dt=0.5)
    monkeypatch.setattr(trajectory, "MAX_WORK", 299.0)
    with pytest.raises(ValueError, match="about 300 particle steps"):
        S.solve_particles(P, **kw)
    monkeypatch.setattr(trajectory, "MAX_WORK", 300.0)
    assert S.solve_particles(P, **kw).eps.shape == (1, 3)


def test_pde_estimate_bounds_the_steps_taken(monkeypatch):
    """The PDE's estimate (from the step size at the start, plus one step per record) is at least the
    cell updates it then takes, for runs that learn (eps_g falls), with and without an onset."""
    import qmf_sim.ste.pde as pde

    original, got = pde.check_work, []
    monkeypatch.setattr(pde, "check_work", lambda *a: got.append(original(*a)) or got[-1])
    for p in (S.STEParams(b=2), S.STEParams(b=3, teacher="gaussian", T=0.01), S.STEParams(b=2, onset=2.0)):
        r = S.solve_pde(p, tau=[0.0, 5.0], h=0.02, n_teacher=4)
        assert r.info["steps"] * r.x.size * r.w_star.size <= got[-1] <= 3 * r.info["steps"] * r.x.size * r.w_star.size


@pytest.mark.parametrize("kw, name", [
    (dict(tau_max=1.0, snapshot_tau=[1e300]), "snapshot_tau"),  # was: a result with NaN snapshots
    (dict(tau_max=1.0, snapshot_tau=[2.0]), "snapshot_tau"),
    (dict(tau_max=1e300), "tau_max"),  # round(tau d) past int64: too long a run, before the integer cast
    (dict(tau=[0.0, 1e300]), "tau"),
    (dict(tau=[0.0, 1e300], snapshot_tau=[1e300]), "tau"),
])
def test_times_past_the_step_range_are_refused_before_the_cast(kw, name):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value encountered in cast' on the way
        with pytest.raises(ValueError, match=rf"^{name}\b"):
            S.simulate(S.STEParams(b=2), d=100, runs=1, **kw)
