"""Tests of qmf_sim.ste (micro, particles, pde, theory): the d-dimensional STE SGD, the McKean--Vlasov particles, the
Fokker--Planck PDE and the closed input-only ODE agree (spec ste_dynamics.md §3, §4.3, §4.4, §5).

Tolerances (k standard errors + stated allowances):

* Simulation means are over R independent replicas; SE = sample std / sqrt(R).  With R = 8 the
  studentised mean has 7 degrees of freedom; |t| > 5 has probability 0.16 % per comparison, so with
  <= 3 times x 5 Hypothesis examples the false-failure rate is ~2 % for a *random* draw -- and the
  Hypothesis profile is derandomized, so the draws are fixed and the tests deterministic.  A floor
  on the SE (0.25/sqrt(R d)) guards against an accidentally tiny sample std: the per-replica std of
  eps_g is >= ~0.3/sqrt(d) in every configuration drawn here (it is ~0.5-1.5/sqrt(d) as measured).
* Finite-size allowance 2/d: at finite d the drift of each coordinate is exact (E[e phi(x_i)] is
  linear in the weights), but the per-step variance carries O(1/d) relative corrections (the
  coordinate's own term in the residual, E x^4 terms) and eps_g is evaluated on the d-point empirical
  measure, whose fluctuations enter the mean at second order: the bias of E eps_g is O(1/d).  Measured
  |bias| * d is below 0.6 in the configurations of these tests (d = 300 vs 1000 vs the PDE); 2/d
  leaves a margin of > 3x.
* PDE discretisation (upwind, h = 0.005): 0.004 in eps_g, measured against particles with
  N = 10^5, dt = 0.01 (the largest gap seen was 0.003, at the steepest part of the transient).
* Particles: N particles, SE of eps_g <= 1.5/sqrt(N) (per-particle eps_g contributions have std <= 1.5
  for |w*| = 1 and levels <= omega <= 2); Euler--Maruyama bias O(dt) with dt = 0.01 is below 0.002.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qmf_sim import ste as S
from qmf_sym import ste

K_SE = 5.0


def _tol_mean(r: S.Trajectory, idx):
    R = r.runs
    se = np.maximum(r.std()[idx] / math.sqrt(R), 0.25 / math.sqrt(R * r.d))
    return K_SE * se + 2.0 / r.d


# ------------------------------------------------------------------------------------ faces agree
def test_seeds_bit_identical_and_common_inputs():
    ps = [S.STEParams(b=2, sigma2=0.3), S.STEParams(b=3, b_x=2, omega_x=1.5, teacher="gaussian", ste="identity")]
    kw = dict(d=64, tau=np.array([0.5, 2.0]), runs=3)
    a = S.simulate(ps[0], seed=11, **kw)
    b = S.simulate(ps[0], seed=11, **kw)
    c = S.simulate(ps[0], seed=12, **kw)
    np.testing.assert_array_equal(a.eps, b.eps)
    np.testing.assert_array_equal(a.q, b.q)
    assert not np.array_equal(a.eps[:, -1], c.eps[:, -1])
    # a set run together with others on common inputs is exactly the set run alone (T = 0)
    shared = S.simulate_many(ps, seed=11, share_inputs=True, **kw)
    alone = S.simulate_many(ps, seed=11, share_inputs=False, **kw)
    for x, y in zip(shared, alone):
        np.testing.assert_array_equal(x.eps, y.eps)
    np.testing.assert_array_equal(shared[0].eps, a.eps)
    p1 = S.solve_particles(ps[1], tau=[0.0, 1.0], n_particles=5000, seed=3)
    p2 = S.solve_particles(ps[1], tau=[0.0, 1.0], n_particles=5000, seed=3)
    np.testing.assert_array_equal(p1.eps, p2.eps)
    np.testing.assert_array_equal(p1.q, p2.q)


def test_initial_error_and_pde_mass():
    """eps_g(0) = (rho + s2 E psi(z)^2)/2 for w_hat^0 ~ N(0,1) (spec §8 item 1: 0.78 / 0.69 / 0.81 for
    b = 2, omega = 1) in the PDE (exact cell averages) and the mass stays 1 (zero-flux walls)."""
    for kind, want in (("endpoints", 0.78), ("cells", 0.69), ("midtread", 0.81)):
        r = S.solve_pde(S.STEParams(b=2, omega=1.0, kind=kind), tau=[0.0, 5.0], snapshot_tau=[5.0])
        assert abs(r.eps[0, 0] - want) < 0.006
        assert abs(r.density[0].sum() * r.h - 1) < 1e-10


# ------------------------------------------------------------------------------------ faces agree
weight_models = st.fixed_dictionaries(dict(
    b=st.integers(1, 4), omega=st.floats(0.5, 2.0), eta=st.floats(0.02, 0.08), lam=st.floats(0.3, 1.5),
    sigma2=st.floats(0.0, 0.5), b_x=st.sampled_from([None, 2, 3]), ste=st.sampled_from(["clipped", "identity"]),
))


@settings(max_examples=4)
@given(kw=weight_models)
def test_micro_particles_pde_agree(kw):
    p = S.STEParams(omega_x=1.0, **kw)
    tau = np.array([4.0, 10.0, 20.0])
    r = S.simulate(p, d=1000, tau=tau, runs=8, seed=5)
    pr = S.solve_particles(p, tau=tau, n_particles=30_000, dt=0.01, seed=5)
    pd = S.solve_pde(p, tau=tau)
    assert not r.diverged.any() and not pr.diverged.any() and not pd.diverged.any()
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    jdx = [int(np.argmin(abs(pd.tau - t))) for t in tau]
    kdx = [int(np.argmin(abs(pr.tau - t))) for t in tau]
    micro = r.mean()[idx]
    tol = _tol_mean(r, idx) + 0.004
    assert np.all(np.abs(micro - pd.eps[0, jdx]) < tol), (micro, pd.eps[0, jdx], tol)
    tol_p = K_SE * 1.5 / math.sqrt(pr.n_particles) + 0.002 + 0.004
    assert np.all(np.abs(pr.eps[0, kdx] - pd.eps[0, jdx]) < tol_p), (pr.eps[0, kdx], pd.eps[0, jdx], tol_p)


input_models = st.fixed_dictionaries(dict(
    b_x=st.sampled_from([None, 1, 2, 3]), omega_x=st.floats(0.5, 2.0), frac=st.floats(0.1, 0.7),
    lam=st.floats(0.0, 1.0), sigma2=st.floats(0.0, 0.5),
))


@settings(max_examples=4)
@given(kw=input_models)
def test_closed_ode_matches_input_only_simulation(kw):
    ec = float(ste.stability_boundary(kw["b_x"], kw["omega_x"], lam=kw["lam"]))
    p = S.STEParams(b=None, b_x=kw["b_x"], omega_x=kw["omega_x"], eta=kw["frac"] * ec, lam=kw["lam"],
                    sigma2=kw["sigma2"])
    tau = np.array([0.5, 2.0, 5.0, 10.0])
    r = S.simulate(p, d=500, tau=tau, runs=8, seed=2)
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    th = S.theory_curve(p, r.tau[idx], "closed")
    assert np.all(np.abs(r.mean()[idx] - th) < _tol_mean(r, idx)), (r.mean()[idx], th)
    # the PDE with psi = id is a third face of the same closed dynamics (no thresholds: only
    # the upwind/explicit discretisation, 0.004)
    pd = S.theory_curve(p, r.tau[idx], "pde")
    assert np.all(np.abs(pd - th) < 0.004)


def _late_mean(r, frac=0.5):
    late = r.tau >= frac * r.tau[-1]
    v = r.eps[:, late]
    # replica means of the late window are independent; SE from their spread
    rm = v.mean(1)
    return rm.mean(), rm.std(ddof=1) / math.sqrt(rm.size)


def test_long_time_reaches_closed_form_fixed_point():
    """Input-only quantization: the late-time average of eps_g equals eps_g* of spec §5.1."""
    p = S.STEParams(b=None, b_x=2, omega_x=1.0, eta=0.5 * float(ste.stability_boundary(2, 1.0)), lam=0.0,
                    sigma2=0.2)
    r = S.simulate(p, d=500, tau=np.linspace(0, 60, 61), runs=6, seed=4)
    m, se = _late_mean(r)
    want = float(ste.steady_state_error(p.eta, 2, 1.0, lam=0.0, sigma2=0.2))
    assert abs(m - want) < K_SE * max(se, 0.2 / math.sqrt(6 * 500)) + 2.0 / 500, (m, want, se)


def test_unquantized_limit_classical_result():
    """kappa = s2 = 1, lam = 0: eps_g* = eta sigma^2 / (2 (2 - eta)) (online linear regression)."""
    eta, s2n = 0.6, 0.5
    p = S.STEParams(b=None, b_x=None, eta=eta, lam=0.0, sigma2=s2n)
    r = S.simulate(p, d=400, tau=np.linspace(0, 40, 41), runs=6, seed=9)
    m, se = _late_mean(r)
    want = eta * s2n / (2 * (2 - eta))
    assert abs(m - want) < K_SE * max(se, 0.1 / math.sqrt(6 * 400)) + 2.0 / 400, (m, want, se)
    assert abs(float(ste.steady_state_error(eta, None, lam=0.0, sigma2=s2n)) - want) < 1e-12


@pytest.mark.parametrize("b_x", [None, 2])
def test_divergence_just_above_boundary(b_x):
    """eta = 1.1 eta_c diverges (reported, tau recorded, no NaN); eta = 0.9 eta_c converges (spec §5.1)."""
    ec = float(ste.stability_boundary(b_x, 1.0, lam=0.0))
    above = S.simulate(S.STEParams(b=None, b_x=b_x, eta=1.1 * ec, lam=0.0), d=200, tau_max=80.0, runs=2, seed=1)
    below = S.simulate(S.STEParams(b=None, b_x=b_x, eta=0.9 * ec, lam=0.0), d=200, tau_max=80.0, runs=2, seed=1)
    assert above.diverged.all() and np.all(np.isfinite(above.tau_diverged))
    # valid entries are finite numbers within the bound; from the divergence on, NaN (never a number)
    assert np.all(np.isfinite(above.eps[above.valid])) and np.all(np.isfinite(above.q[above.valid]))
    assert np.all(np.isnan(above.eps[~above.valid])) and np.all(np.isnan(above.q[~above.valid]))
    assert np.all(above.eps[above.valid] <= S.EPS_BOUND)
    assert not below.diverged.any() and np.all(np.isinf(below.tau_diverged))
    # converged: near eta_c the stationary fluctuations are large (2 - eta s2 = 0.2), so only a loose check
    want = float(ste.steady_state_error(0.9 * ec, b_x, 1.0, lam=0.0))
    assert below.eps[:, -1].max() < 3 * want + 0.05, (below.eps[:, -1], want)


def test_pde_long_time_matches_stationary_state():
    """Weight quantization: the PDE at long times reaches the self-consistent stationary state (spec §5.2)."""
    p = S.STEParams(b=2, omega=1.0, eta=0.04, lam=1.0, sigma2=0.1)
    pd = S.solve_pde(p, tau=[0.0, 150.0, 250.0])
    ss = ste.stationary_state(p.eta, p.lam, p.b, p.omega, kind=p.kind, ste=p.ste, sigma2=p.sigma2)
    e = pd.eps[0]
    assert abs(e[-1] - e[-2]) < 1e-4  # settled
    assert abs(e[-1] - ss.eps_g) < 0.004, (e[-1], ss.eps_g)


# ------------------------------------------------------------------------------------ heavier
@pytest.mark.slow
@pytest.mark.parametrize("b", [2, 3, 4, 5])
def test_fig2_setting_large_d(b):
    p = S.STEParams(b=b, omega=1.0, eta=0.04, lam=1.0)
    tau = np.array([10.0, 30.0, 60.0, 120.0])
    r = S.simulate(p, d=3000, tau=tau, runs=8, seed=1)
    pd = S.solve_pde(p, tau=tau)
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    jdx = [int(np.argmin(abs(pd.tau - t))) for t in tau]
    assert np.all(np.abs(r.mean()[idx] - pd.eps[0, jdx]) < _tol_mean(r, idx) + 0.004)


