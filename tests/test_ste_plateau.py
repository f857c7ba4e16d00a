"""Tests of qmf_sym.ste.plateau (plateau analysis and the model's predictions) and of the
experiment module qmf_sim.experiments.ste_plateau."""
import math

import numpy as np
import pytest

from qmf_sym.ste import plateau as PL


# ---------------------------------------------------------------------------- the analysis on known curves
def _logistic(tau, level, final, t50, w):
    """A drop of known shape: tau_x = t50 + (w / (2 ln 9)) ln(x/(1-x)) -> width (10..90 %) exactly w."""
    k = 2 * math.log(9) / w
    return final + (level - final) / (1 + np.exp(k * (tau - t50)))


def test_analysis_recovers_a_known_drop():
    tau = np.linspace(0, 200, 20001)
    e = _logistic(tau, 0.6, 0.1, 80.0, 10.0)
    a = PL.plateau_analysis(tau, e, final=0.1)
    # the logistic starts at level(1 - tiny) at tau = 0; crossings by interpolation on a 0.01 grid: error < 1e-3
    assert a.tau_50 == pytest.approx(80.0, abs=1e-3)
    assert a.width == pytest.approx(10.0, abs=1e-3)
    assert a.length == pytest.approx(75.0, abs=1e-3)
    assert a.sharpness == pytest.approx(7.5, abs=1e-3) and a.has_plateau
    assert a.level == pytest.approx(0.6, abs=1e-6)


def test_analysis_exponential_has_no_plateau():
    tau = np.linspace(0, 100, 2001)
    a = PL.plateau_analysis(tau, 0.1 + 0.4 * np.exp(-tau / 10), final=0.1)
    # tau_x = -10 ln(1 - x): length 1.054, width 21.97, sharpness 0.048
    assert a.length == pytest.approx(-10 * math.log(0.9), rel=1e-3)
    assert a.width == pytest.approx(10 * (math.log(10) - math.log(10 / 9)), rel=1e-3)
    assert not a.has_plateau
    flat = PL.plateau_analysis(tau, np.full(tau.size, 0.3))
    assert not flat.has_plateau and math.isnan(flat.tau_50)


@pytest.mark.parametrize("bad,match", [
    (lambda: PL.plateau_analysis([0, 1], [1, 0]), "tau and eps"),
    (lambda: PL.plateau_analysis([0, 2, 1], [1, 0, 0]), "increasing"),
    (lambda: PL.plateau_analysis([0, 1, 2], [1, np.nan, 0]), "eps"),
    (lambda: PL.plateau_analysis([0, 1, 2], [1, 0.5, 0], tau_ref=5), "tau_ref"),
    (lambda: PL.plateau_analysis([0, 1, 2], [1, 0.5, 0], min_drop=-1), "min_drop"),
    (lambda: PL.reentry_time(2.0, 0.0, 0.04, 1.0), "clip"),
    (lambda: PL.reentry_time(2.0, 1.0, 0.04, -1.0), "lam"),
    (lambda: PL.saturated_plateau(0.5, 1.0, 0.04, 1.0), "a must"),
    (lambda: PL.zero_cell_plateau(3, 1.0, 0.04, 1.0, kind="endpoints"), "kind"),
    (lambda: PL.zero_cell_plateau(2, 1.0, 0.04, 1.0, w0=0.9), "w0"),
    (lambda: PL.plateau_level(True), "l_plus"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_closed_forms():
    # (1 + omega^2)/2 for the symmetric start, w* = 1; general p_+ and m_sign from the definition
    assert PL.plateau_level(0.25) == pytest.approx((1 + 0.25**2) / 2, rel=1e-15)
    assert PL.plateau_level(0.5, -0.5, 0.8, m_sign=1.0) == pytest.approx(0.5 * (1 - 2 * 0.5 * 0.6 + 0.25))
    assert PL.reentry_time(1.0, 0.25, 0.04, 1.0) == pytest.approx(math.log(4) / 0.04)
    assert PL.reentry_time(0.2, 0.25, 0.04, 1.0) == 0.0 and PL.reentry_time(2.0, 1.0, 0.04, 0.0) == math.inf
    p = PL.saturated_plateau(1.0, 0.25, 0.04, 1.0, b=3)
    assert p.exact_flat and p.end == p.tau_10 == PL.reentry_time(1.0, 0.25, 0.04, 1.0)
    # 'cells' grid: outer level omega - Delta/2 = 0.25 * 7/8
    pc = PL.saturated_plateau(1.0, 0.25, 0.04, 1.0, b=3, kind="cells")
    assert pc.level == pytest.approx((1 + (0.25 * 7 / 8) ** 2) / 2)
    z = PL.zero_cell_plateau(2, 1.0, 0.04, 1.0)
    # theta = 1/2, kappa/lam = 1: end = ln 2 / 0.04; the OU estimate comes earlier (noise)
    assert z.end == pytest.approx(math.log(2) / 0.04) and 0 < z.tau_10 < z.end and z.level == 0.5


# ---------------------------------------------------------------------------- predictions against the model
def _particles(p, tau_max, N=20_000, seed=5):
    from qmf_sim.ste import solve_particles

    tau = np.linspace(0, tau_max, int(tau_max / 0.25) + 1)
    return tau, solve_particles(p, tau=tau, n_particles=N, dt=0.05, seed=seed).eps[0]


@pytest.mark.parametrize("b", [2, 3, 4])
def test_saturated_plateau_flat_and_independent_of_b(b):
    """Clipped STE, Rademacher start +-1, omega = 0.25: eps_g is exactly flat at (1 + omega^2)/2 given the
    drawn signs until tau_in = ln 4 / 0.04 = 34.66, for every b; the 10 % point of the drop lies 0.5..2
    later (measured 1.0..1.1 at lam = 1: the first thresholds inside the range are crossed after re-entry)."""
    from qmf_sim.ste import STEParams

    p = STEParams(b=b, omega=0.25, eta=0.04, lam=1.0, init="rademacher", init_scale=1.0)
    tau, e = _particles(p, 80.0)
    pred = PL.saturated_plateau(1.0, 0.25, 0.04, 1.0, b=b)
    before = tau < pred.end - 0.1
    # exactly flat (no weight moves psi): the particle values are identical up to rounding
    assert np.ptp(e[before]) < 1e-12
    # the level given the drawn signs differs from (1 + omega^2)/2 by omega * mean(sign) ~ omega/sqrt(N):
    # 5 standard deviations = 5 * 0.25 / sqrt(20000) = 0.009
    assert e[0] == pytest.approx(pred.level, abs=0.009)
    a = PL.plateau_analysis(tau, e)
    assert a.has_plateau and 0.5 < a.tau_10 - pred.end < 2.0


def test_zero_cell_plateau_ou_estimate():
    """midtread b = 2, start uniform +-0.02*sqrt3: the OU estimate of tau_10 within 10 % of the model's
    (particles, N = 20000: sampling error of tau_10 ~ 1 %), and the plateau grows with omega."""
    from qmf_sim.ste import STEParams

    lengths = []
    for om in (0.5, 1.0):
        p = STEParams(b=2, omega=om, kind="midtread", eta=0.04, lam=1.0, init="uniform", init_scale=0.02)
        tau, e = _particles(p, 60.0)
        a = PL.plateau_analysis(tau, e)
        z = PL.zero_cell_plateau(2, om, 0.04, 1.0, v0=0.02**2)
        assert a.level == pytest.approx(0.5, abs=1e-3)
        assert a.tau_10 == pytest.approx(z.tau_10, rel=0.1)
        lengths.append(a.tau_10)
    assert lengths[1] > 1.5 * lengths[0]


def test_sgd_plateau_length_agrees_with_model():
    """d-dimensional SGD (d = 300, 4 runs, each analysed) against the model (particles): plateau length
    and drop time within 4 standard errors (+0.3 for the finite-d and finite-N offsets)."""
    from qmf_sim.ste import STEParams, simulate

    p = STEParams(b=3, omega=0.25, eta=0.04, lam=1.0, init="rademacher", init_scale=1.0)
    tau, e = _particles(p, 70.0)
    am = PL.plateau_analysis(tau, e)
    r = simulate(p, 300, tau=tau[::4], runs=4, seed=2)
    res = [PL.plateau_analysis(r.tau, x) for x in r.eps]
    for key in ("tau_10", "tau_50"):
        v = np.array([getattr(x, key) for x in res])
        se = v.std(ddof=1) / 2
        assert abs(v.mean() - getattr(am, key)) < 4 * se + 0.3, (key, v, getattr(am, key))


@pytest.mark.slow
def test_experiment_quick(tmp_path):
    """The reproduce part runs in quick mode and writes its CSVs and figures (numbers checked above)."""
    from qmf_sim.experiments import resolve
    from qmf_sim.io import read_csv

    fn = resolve("ste_plateau")
    paths = fn(tmp_path, True)
    names = {p.name for p in paths}
    for stem in ("ste_plateau_curves", "ste_plateau_lengths", "ste_plateau_phase"):
        assert f"{stem}.csv" in names and f"{stem}.png" in names
    rows = read_csv(tmp_path / "ste_plateau_lengths.csv")
    r = [x for x in rows if x["init"] == "rademacher(1)" and float(x["omega"]) == 0.25][0]
    assert float(r["pred_end"]) == pytest.approx(math.log(4) / 0.04)
    assert 0 < float(r["model_length"]) - float(r["pred_end"]) < 2.0
