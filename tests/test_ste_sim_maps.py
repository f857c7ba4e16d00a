"""General weight/input maps psi, phi (qmf_sym.ste.maps.Map) in every STE solver, the
ridge on psi (spec §8 item 3), the quantization onset (spec §8 item 6) and the closures.

Tolerances follow tests/test_ste_sim_solvers.py (its module docstring): K_SE = 5 standard errors of the
replica mean plus the finite-size allowance 2/d for the d-dimensional SGD; 1.5/sqrt(N) per SE for N
particles plus 0.002 Euler bias (dt = 0.01); 0.004 for the PDE discretisation (h = 0.005).  For the smooth
tanh maps the PDE has no jumps to resolve: the 0.004 of the quantizer case is an upper bound.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from qmf_sim import ste as S
from qmf_sim.ste.quantizer import lookup_tables, map_tables, map_values
from qmf_sym import ste
from qmf_sym.activations import Staircase
from qmf_sym.ste.maps import Map

K_SE = 5.0


def _tol_mean(r, idx):
    se = np.maximum(r.std()[idx] / math.sqrt(r.runs), 0.25 / math.sqrt(r.runs * r.d))
    return K_SE * se + 2.0 / r.d


def _at(res, tau):
    return np.array([res.eps[0, int(np.argmin(abs(res.tau - t)))] for t in tau])


# ------------------------------------------------------------------------------------ tables
@pytest.mark.parametrize("b,kind,ste_", [(1, "endpoints", "clipped"), (2, "cells", "identity"), (3, "midtread", "clipped"),
                                         (5, "endpoints", "clipped"), (6, "cells", "clipped")])
def test_quantizer_map_rows_identical_to_lookup_tables(b, kind, ste_):
    """The seeded outputs cannot change: a quantizer Map gets bit for bit the rows of the old lookup tables."""
    omega = 0.75
    m = Map.quantizer(b, omega, kind, ste_)
    gl, gt, gm = lookup_tables([ste.quantizer_grid(b, omega, kind)], [omega if ste_ == "clipped" else np.inf], [omega])
    ml, mt, mm = map_tables([m])
    n = gl.shape[1]
    np.testing.assert_array_equal(ml[:, :n], gl)
    np.testing.assert_array_equal(mt[:, :n], gt)
    np.testing.assert_array_equal(mm[:, :5], gm)
    assert np.all(mm[:, 5:] == 0)


@pytest.mark.parametrize("st", [Staircase([-1.0, -0.1, 0.2, 2.0], [0.5, 1.0, 0.3, 2.0], base=-1.0),  # chain
                                Staircase(np.sort(np.random.default_rng(1).normal(size=40)) * np.linspace(1, 2, 40),
                                          0.1, base=-2.0)])  # 40 uneven thresholds: binary search
def test_uneven_staircase_compiled_lookup(st):
    m = Map.staircase(st)
    u = np.concatenate([st.offsets, np.nextafter(st.offsets, -np.inf), np.linspace(-5, 5, 1001)])
    np.testing.assert_array_equal(map_values(m, u), st(u))
    np.testing.assert_array_equal(m.forward(u), st(u))


def test_tanh_compiled_pass():
    m = Map.tanh(1.5, 0.7)
    u = np.linspace(-6, 6, 301)
    np.testing.assert_allclose(map_values(m, u), 1.5 * np.tanh(u / 0.7), rtol=1e-15, atol=1e-15)


# ------------------------------------------------------------------------------------ tanh: methods agree
def test_tanh_weights_and_inputs_all_methods_agree():
    """psi = tanh (true derivative as surrogate), phi = tanh: SGD (d = 800, 8 runs), particles (N = 4e4,
    compiled) and the PDE agree within the stated errors.  The Gaussian closure is an approximation
    (sech^2 surrogate: weights at large |w| learn slowly, w | w* is not Gaussian): measured 0.015,
    0.009, 0.023 at tau = 2, 6, 12; allowed 0.04 (it is 0.33 away from the start)."""
    p = S.STEParams(psi="tanh", phi="tanh:1.5,1", eta=0.1, lam=0.5)
    tau = np.array([2.0, 6.0, 12.0])
    r = S.simulate(p, d=800, tau=tau, runs=8, seed=3)
    pr = S.solve_particles(p, tau=tau, n_particles=40_000, dt=0.01, seed=3)
    pd = S.solve_pde(p, tau=tau)
    cl = S.theory_curve(p, tau, "gaussian")
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    pde = _at(pd, tau)
    assert np.all(np.abs(r.mean()[idx] - pde) < _tol_mean(r, idx) + 0.004), (r.mean()[idx], pde)
    tol_p = K_SE * 1.5 / math.sqrt(pr.n_particles) + 0.002 + 0.004
    assert np.all(np.abs(_at(pr, tau) - pde) < tol_p), (_at(pr, tau), pde)
    assert np.all(np.abs(cl - pde) < 0.04), (cl, pde)
    # the run moved: eps_g dropped from its start by far more than the tolerances
    assert pde[-1] < r.mean()[0] - 0.1


def test_callable_maps_numpy_path_agree_with_compiled():
    """A user callable tanh (pure-numpy SGD and particles) against the compiled tanh (independent random
    numbers: agreement in law, 5 SE of the difference of two independent means)."""
    f = Map.from_callable(np.tanh, lambda u: 1.0 - np.tanh(u) ** 2, name="my_tanh")
    pc = S.STEParams(psi=f, phi=f, eta=0.1, lam=0.5)
    pt = S.STEParams(psi="tanh", phi="tanh", eta=0.1, lam=0.5)
    tau = np.array([3.0, 8.0])
    rc = S.simulate(pc, d=300, tau=tau, runs=6, seed=1)
    rt = S.simulate(pt, d=300, tau=tau, runs=6, seed=1)
    assert rc.info["path"] == "numpy"
    idx = [int(np.argmin(abs(rt.tau - t))) for t in tau]
    se = np.hypot(rc.std()[idx], rt.std()[idx]) / math.sqrt(6) + 0.25 / math.sqrt(6 * 300)
    assert np.all(np.abs(rc.mean()[idx] - rt.mean()[idx]) < K_SE * se), (rc.mean()[idx], rt.mean()[idx])
    pc_ = S.solve_particles(pc, tau=tau, n_particles=20_000, dt=0.02, seed=1)
    pt_ = S.solve_particles(pt, tau=tau, n_particles=20_000, dt=0.02, seed=1)
    assert np.all(np.abs(pc_.eps[0] - pt_.eps[0]) < 2 * K_SE * 1.5 / math.sqrt(20_000))
    # the PDE takes any callable directly (cell averages of forward / surrogate)
    np.testing.assert_allclose(S.solve_pde(pc, tau=tau, h=0.02).eps, S.solve_pde(pt, tau=tau, h=0.02).eps,
                               rtol=0, atol=1e-12)


def test_closed_ode_eps_star_tanh_inputs_against_simulation():
    """Input-only (psi = id) with phi = tanh: eps_g* of the closed ODE (kappa, sigma_phi^2 by quadrature)
    against the long-time SGD average (replica means of tau in [30, 60], 5 SE + 2/d)."""
    eta = 0.6 * float(ste.maps.map_eta_c(Map.tanh()))
    p = S.STEParams(b=None, phi="tanh", eta=eta, lam=0.0)
    r = S.simulate(p, d=400, tau=np.linspace(0, 60, 61), runs=6, seed=4)
    late = r.tau >= 30
    rm = r.eps[:, late].mean(1)
    th = float(ste.maps.map_steady_state(eta, Map.tanh()))
    assert abs(rm.mean() - th) < K_SE * rm.std(ddof=1) / math.sqrt(rm.size) + 2.0 / 400, (rm.mean(), th)
    # and eps_g* is not the unquantized value 0: the test can fail
    assert th > 0.05


# ------------------------------------------------------------------------------------ ridge on psi, onset
def test_ridge_on_psi_identity_map_equals_latent_ridge():
    """With psi = id (g = 1) the ridge on psi(w) is the ridge on w: same dynamics up to rounding."""
    a = S.STEParams(b=None, ridge="psi")
    b = S.STEParams(b=None)
    tau = np.array([1.0, 5.0])
    np.testing.assert_allclose(S.simulate(a, d=200, tau=tau, runs=2, seed=0).eps,
                               S.simulate(b, d=200, tau=tau, runs=2, seed=0).eps, rtol=0, atol=1e-10)


def test_ridge_on_psi_methods_agree_and_differ_from_latent():
    p = S.STEParams(b=3, omega=1.0, ridge="psi")
    tau = np.array([5.0, 15.0, 30.0])
    r = S.simulate(p, d=800, tau=tau, runs=8, seed=2)
    pr = S.solve_particles(p, tau=tau, n_particles=40_000, dt=0.01, seed=2)
    pd = S.solve_pde(p, tau=tau)
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    pde = _at(pd, tau)
    assert np.all(np.abs(r.mean()[idx] - pde) < _tol_mean(r, idx) + 0.004), (r.mean()[idx], pde)
    assert np.all(np.abs(_at(pr, tau) - pde) < K_SE * 1.5 / math.sqrt(40_000) + 0.006)
    latent = _at(S.solve_pde(S.STEParams(b=3, omega=1.0), tau=tau), tau)
    assert np.max(np.abs(latent - pde)) > 0.02  # the switch changes the dynamics


def test_onset_limits_and_methods():
    tau = np.array([2.0, 6.0, 12.0])
    q = S.STEParams(b=2, omega=1.0, b_x=2, omega_x=1.0)
    # onset beyond the horizon: the unquantized dynamics; onset 0: unchanged (bit for bit)
    late = S.solve_pde(S.STEParams(b=2, omega=1.0, b_x=2, omega_x=1.0, onset=50.0), tau=tau, h=0.01)
    np.testing.assert_allclose(late.eps, S.solve_pde(S.STEParams(b=None), tau=tau, h=0.01).eps, atol=1e-12)
    np.testing.assert_array_equal(S.simulate(q, d=100, tau=tau, runs=2).eps,
                                  S.simulate(S.STEParams(b=2, b_x=2, onset=0.0), d=100, tau=tau, runs=2).eps)
    p = S.STEParams(b=2, omega=1.0, b_x=2, omega_x=1.0, onset=4.0)
    pd = S.solve_pde(p, tau=tau)
    pr = S.solve_particles(p, tau=tau, n_particles=40_000, dt=0.01, seed=1)
    r = S.simulate(p, d=800, tau=tau, runs=8, seed=1)
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    pde = _at(pd, tau)
    assert np.all(np.abs(_at(pr, tau) - pde) < K_SE * 1.5 / math.sqrt(40_000) + 0.006), (_at(pr, tau), pde)
    assert np.all(np.abs(r.mean()[idx] - pde) < _tol_mean(r, idx) + 0.004), (r.mean()[idx], pde)
    # before the onset it is the unquantized run; after, not the always-quantized one
    assert abs(pde[0] - _at(S.solve_pde(S.STEParams(b=None), tau=tau), tau)[0]) < 1e-12
    assert abs(pde[1] - _at(S.solve_pde(q, tau=tau), tau)[1]) > 0.01
    # closed ODE with onset (input-only) against the PDE (psi = id: no thresholds)
    pi = S.STEParams(b=None, b_x=2, omega_x=1.0, onset=4.0)
    np.testing.assert_allclose(S.theory_curve(pi, tau, "closed"), _at(S.solve_pde(pi, tau=tau), tau), atol=0.004)


# ------------------------------------------------------------------------------------ closures
def test_gaussian_closure_exact_for_input_only():
    """psi = id: the dynamics is linear and w | w* Gaussian: the Gaussian closure is the closed ODE
    (RK4 error at dt = 0.05: < 1e-8)."""
    p = S.STEParams(b=None, b_x=3, omega_x=1.0, eta=0.3, lam=0.2, sigma2=0.1)
    tau = np.linspace(0, 20, 11)
    for cl in ("gaussian", "split"):
        np.testing.assert_allclose(S.theory_curve(p, tau, cl, dt=0.05), S.theory_curve(p, tau, "closed"), rtol=0,
                                   atol=1e-8)
        # the default step 0.2: RK4 error (0.2 eta (s2 + lam))^4-sized, measured 7e-8 here
        np.testing.assert_allclose(S.theory_curve(p, tau, cl), S.theory_curve(p, tau, "closed"), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_closures_against_pde_fig2_setting():
    """b = 2, omega = 1 (Fig. 2): both closures follow the PDE within the errors measured over the figure
    settings (max 0.06 in the transient) and reach its long-time value within 0.002."""
    p = S.STEParams(b=2, omega=1.0)
    tau = np.linspace(0, 60, 13)
    pde = S.theory_curve(p, tau, "pde")
    for cl in ("gaussian", "split"):
        e = S.theory_curve(p, tau, cl)
        assert np.max(np.abs(e - pde)) < 0.06, (cl, e, pde)
        assert abs(e[-1] - pde[-1]) < 0.004, (cl, e[-1], pde[-1])


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kw,name", [(dict(psi="bogus"), "psi"), (dict(phi="tanh:x"), "phi"), (dict(ridge="w"), "ridge"),
                                     (dict(onset=-1.0), "onset"), (dict(onset=float("nan")), "onset"),
                                     (dict(psi=3), "psi"), (dict(phi="uniform:2.5"), "phi"),
                                     (dict(phi=Map.from_callable(lambda u: u * u, lambda u: 2 * u)), "phi")])
def test_bad_params(kw, name):
    with pytest.raises(ValueError, match=name):
        S.STEParams(**kw)


def test_closure_onset_and_method_errors():
    with pytest.raises(ValueError, match="onset"):
        S.theory_curve(S.STEParams(onset=1.0), [0, 1], "gaussian")
    with pytest.raises(ValueError, match="method"):
        S.theory_curve(S.STEParams(), [0, 1], "closure")


def test_tanh_with_temperature_generic_paths():
    """T > 0 on the generic update paths (tanh surrogate: micro's generic pass + Langevin noise, the
    particles' generic step with B = g^2 B_c + 2 eta T) against the PDE; tolerances as above."""
    p = S.STEParams(psi="tanh:1.2,0.8", eta=0.08, lam=0.5, T=0.05)
    tau = np.array([2.0, 6.0])
    r = S.simulate(p, d=500, tau=tau, runs=8, seed=7)
    pr = S.solve_particles(p, tau=tau, n_particles=30_000, dt=0.01, seed=7)
    pde = _at(S.solve_pde(p, tau=tau), tau)
    idx = [int(np.argmin(abs(r.tau - t))) for t in tau]
    assert np.all(np.abs(r.mean()[idx] - pde) < _tol_mean(r, idx) + 0.004), (r.mean()[idx], pde)
    assert np.all(np.abs(_at(pr, tau) - pde) < K_SE * 1.5 / math.sqrt(30_000) + 0.006), (_at(pr, tau), pde)
    # T matters here: the T = 0 curve is further away than the tolerances
    assert np.max(np.abs(_at(S.solve_pde(S.STEParams(psi="tanh:1.2,0.8", eta=0.08, lam=0.5), tau=tau), tau) - pde)) > 0.01


def test_cli_simulate_with_maps(tmp_path):
    """qmf ste simulate --psi/--phi/--ridge/--onset: the JSON matches the API; bad names are one-line errors."""
    import json
    import subprocess
    import sys

    out = tmp_path / "r.json"
    argv = ["ste", "simulate", "--method", "pde", "--psi", "tanh:1.2", "--phi", "sign:0.5", "--ridge", "psi",
            "--tau-max", "2", "--n-tau", "3", "--out", str(out)]
    r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", *argv], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    p = S.STEParams(psi="tanh:1.2", phi="sign:0.5", ridge="psi")
    assert got["params"]["psi"] == "tanh(1.2,1)" and got["params"]["phi"] == "sign(0.5)"
    np.testing.assert_allclose(got["eps"], S.theory_curve(p, np.array(got["tau"]), "pde"), rtol=0, atol=1e-12)
    for bad in (["--psi", "cosh"], ["--phi", "tanh:x"], ["--onset", "-1"], ["--ridge", "both"]):
        r = subprocess.run([sys.executable, "-m", "qmf_sim.cli", "ste", "simulate", *bad], capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 2 and "Traceback" not in r.stderr and bad[0] in r.stderr, r.stderr
