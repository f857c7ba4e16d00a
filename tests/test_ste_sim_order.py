"""qmf_sim.ste: the one divergence rule and the orders the solver docstrings claim."""
from __future__ import annotations

import numpy as np

from qmf_sim import ste as S


def _check_masked(r):
    assert r.diverged.all() and np.all(np.isfinite(r.tau_diverged))
    for a in (r.eps, r.q, r.m_psi, r.q_psi):
        assert np.all(np.isfinite(a[r.valid])) and np.all(np.isnan(a[~r.valid]))
    for k in range(r.runs):  # masked exactly from the divergence time on
        np.testing.assert_array_equal(r.valid[k], r.tau < r.tau_diverged[k])


def test_diverging_run_reported_by_every_solver():
    """Unquantized, eta = 6 > eta_c = 2 (s2 + lam)/s2^2 = 4: the PDE used to report a finite plateau with
    diverged=False (its walls kept the mass), later entries 0, and ran for > 10 minutes at the default
    grid.  Now all three solvers report the divergence the same way, NaN from then on."""
    p = S.STEParams(b=None, eta=6.0, lam=1.0)
    tau = np.linspace(0.0, 10.0, 11)
    pd = S.solve_pde(p, tau=tau)
    pr = S.solve_particles(p, tau=tau, n_particles=2000, dt=0.01)
    mi = S.simulate(p, d=100, tau=tau, runs=2)
    for r in (pd, pr, mi):
        _check_masked(r)
        assert np.isnan(r.mean()[-1]) and np.isnan(r.std()[-1])
        assert r.tau_diverged.max() < 10.0
    assert pd.stop in ("walls", "bounds")
    assert np.isnan(S.theory_curve(p, tau, "pde")[-1])


def test_stable_pde_not_flagged():
    """Just below eta_c the PDE runs to the end (the wall rule does not fire on a stable spread law)."""
    p = S.STEParams(b=None, eta=0.7 * 4.0, lam=1.0)
    pd = S.solve_pde(p, tau=[0.0, 5.0, 10.0], h=0.02)
    assert not pd.diverged.any() and pd.valid.all() and pd.stop is None


def test_std_null_when_fewer_than_two_runs():
    """eps_std was 0 when no replica was left: NaN, written as null."""
    r = S.simulate(S.STEParams(), d=16, tau_max=0.5, runs=1)
    assert np.all(np.isnan(r.std())) and np.all(np.isfinite(r.mean()))


def _slope(hs, errs):
    return float(np.polyfit(np.log(hs), np.log(errs), 1)[0])


def test_particles_weak_order_one_in_dt():
    """Euler--Maruyama, weak order 1: the error of m = E[w* w] (psi = id: exact closed ODE, spec §4.4 iii)
    halves with dt.  The Euler bias of m at tau = 1 is 1 - (1 - dt)^(1/dt) - (1 - e^-1) = 0.040, 0.019,
    0.0094 for dt = 0.2, 0.1, 0.05; N = 4e5 particles started at w_hat = 0 (std of w <= 1 up to tau = 1)
    give SE(m) <= 1.6e-3, which moves log|err| by at most ~0.17 at the smallest step: the fitted slope
    stays within 0.3 of 1 (a zeroth- or second-order scheme would give ~0 or ~2)."""
    from qmf_sym import ste

    p = S.STEParams(b=None, eta=1.0, lam=0.0, init="zeros")
    tau = np.array([0.0, 1.0])
    exact_m = float(ste.solve_input_only_ode(tau, 1.0, 0.0, 0.0, 1.0, 1.0, m0=0.0, q0=0.0)[0][-1])
    dts = np.array([0.2, 0.1, 0.05])
    errs = [abs(S.solve_particles(p, tau=tau, dt=dt, n_particles=400_000, seed=1).m_psi[0, -1] - exact_m)
            for dt in dts]
    assert abs(_slope(dts, errs) - 1.0) < 0.3, errs


def test_pde_first_order_in_h():
    """Upwind finite volumes: the error of eps_g against the closed ODE (psi = id) is O(h)."""
    p = S.STEParams(b=None, eta=0.5, lam=0.5)
    tau = np.array([0.0, 3.0])
    exact = S.closed_curve(p, tau)[-1]
    hs = np.array([0.08, 0.04, 0.02])
    errs = [abs(S.solve_pde(p, tau=tau, h=h).eps[0, -1] - exact) for h in hs]
    assert abs(_slope(hs, errs) - 1.0) < 0.3, errs


def test_cli_simulate_writes_strict_json(tmp_path):
    """``qmf ste simulate --out x.json`` wrote Infinity tokens and eps_std 0 with no replica left:
    strict JSON, null where no number exists."""
    import json

    from qmf_sim.cli import main

    out = tmp_path / "x.json"
    rc = main(["ste", "simulate", "--b", "none", "--eta", "6", "--d", "50", "--runs", "2", "--tau-max", "10",
               "--n-tau", "5", "--out", str(out)])
    assert rc == 0

    def no_constants(name):
        raise AssertionError(f"non-strict JSON token {name}")

    rec = json.loads(out.read_text(), parse_constant=no_constants)
    assert all(rec["diverged"])
    assert rec["eps_mean"][-1] is None and rec["eps_std"][-1] is None
    assert rec["eps_std"][0] is not None  # two valid runs at tau = 0


def test_cli_bad_bits_is_a_value_error():
    from qmf_sim.cli import main

    assert main(["ste", "simulate", "--b", "two", "--d", "8", "--runs", "1", "--tau-max", "0.1"]) == 2
