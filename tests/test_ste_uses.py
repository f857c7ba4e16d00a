"""Tests of qmf_sym.ste.degradation and qmf_sim.experiments.ste_uses."""
import math

import numpy as np
import pytest

from qmf_sym import ste
from qmf_sym.ste import degradation as D
from qmf_sym.ste.stationary import stationary_branches


def test_unquantized_baseline_closed_form():
    """Independent route: the stationary OU law, eps = 1/2 ((1 - m)^2 + v), m = 1/(1 + lam),
    v = eta eps/(1 + lam)  =>  eps = (lam/(1 + lam))^2 / (2 - eta/(1 + lam))."""
    for eta, lam in [(0.04, 1.0), (0.5, 0.1), (1.9, 0.0)]:
        ref = (lam / (1 + lam)) ** 2 / (2 - eta / (1 + lam))
        assert D.unquantized_ridge_eps(eta, lam) == pytest.approx(ref, rel=1e-12, abs=1e-15)
    assert D.unquantized_ridge_eps(2.5, 0.1) == math.inf  # eta_c = 2.2
    m, v = D.unquantized_stationary_law(0.04, 1.0)
    fp = ste.input_only_fixed_point(0.04, 1.0, 0.0, 1.0, 1.0)
    assert m == pytest.approx(float(fp[0])) and m * m + v == pytest.approx(float(fp[1]), rel=1e-12)


def test_degradation_vanishes_for_fine_grids():
    # b = 12, omega = 2: cell width 1e-3 << spread 0.05 of the latent law, clip far away: Delta ~ Delta_q^2/24
    assert abs(D.weight_degradation(0.04, 1.0, 12, 2.0)) < 1e-5
    # coarse grid: a real cost; sign with omega = w* beats ridge shrinkage (a negative Delta)
    assert D.weight_degradation(0.04, 1.0, 2, 1.0) > 0.05
    assert D.weight_degradation(0.04, 1.0, 1, 1.0) < -0.09


def test_ptq_closed_form_vs_monte_carlo():
    """Gaussian cell probabilities against 4e6 samples: tolerance 5 standard errors."""
    rng = np.random.default_rng(3)
    for b, om in [(2, 1.0), (3, 0.5), (3, 1.0)]:
        m, v = 0.5, 0.02
        w = m + math.sqrt(v) * rng.standard_normal(4_000_000)
        x = 0.5 * (1 - ste.quantize(w, b, om)) ** 2
        se = x.std() / math.sqrt(x.size)
        assert D.ptq_eps(0.04, 1.0, b, om, mean=m, var=v) == pytest.approx(x.mean(), abs=5 * se + 1e-12)


def test_ptq_vs_particles_after_long_unquantized_training():
    """PTQ = quantize the converged unquantized model: particles with the quantization onset at tau = 150
    (> 6 relaxation times 1/(eta (1 + lam)) = 12.5), N = 50000: eps at the onset vs the closed form; the
    sampling error of eps is ~1e-3 here (psi levels 1/3 apart, law width 0.05), tolerance 4e-3."""
    from qmf_sim.ste import STEParams, solve_particles

    for b, om in [(2, 1.0), (3, 1.0)]:
        p = STEParams(b=b, omega=om, eta=0.04, lam=1.0, onset=150.0)
        r = solve_particles(p, tau=[0.0, 150.0], n_particles=50_000, dt=0.02, seed=2)
        assert r.eps[0][-1] == pytest.approx(D.ptq_eps(0.04, 1.0, b, om), abs=4e-3)


def test_degradation_vs_sgd():
    """SGD d = 300, 3 runs, tau in [125, 250]: finite-d bias < 5e-4 (measured at these settings) plus 5 s.e."""
    from qmf_sim.ste import STEParams, simulate

    base = D.unquantized_ridge_eps(0.04, 1.0)
    for b, om in [(3, 0.5), (2, 1.0)]:
        r = simulate(STEParams(b=b, omega=om, eta=0.04, lam=1.0), 300, tau=np.linspace(0, 250, 41), runs=3, seed=4)
        per = r.eps[:, 20:].mean(axis=1)
        se = per.std(ddof=1) / math.sqrt(3)
        assert per.mean() - base == pytest.approx(D.weight_degradation(0.04, 1.0, b, om), abs=5 * se + 5e-4)


def test_best_input_range_is_max_uniform_quantizer():
    """eta -> 0: the omega_x maximising Corr(z, phi)^2 is Max's optimal uniform quantizer's range
    (2^b - 1) s_Max / 2 (a stationary point of both; derivations/ste_uses.md §4); there
    1 - kappa^2/s2 = Max's MSE = 1 - chi (paper 1, eq. 16 double sum)."""
    from qmf_sym.quantization import chi_of_quantizer, optimal_uniform_quantizer

    for b in (2, 3, 4, 5, 6):
        s, om_max = D.max_input_range(b)
        om, f = D.best_input_range(b)
        assert om == pytest.approx(om_max, rel=1e-6)  # two 1-D optimisations (xatol ~1e-8 in omega)
        mse = optimal_uniform_quantizer(2**b)[1]
        lv, th = ste.quantizer_grid(b, om_max)
        assert f == pytest.approx(mse, rel=1e-9)
        assert 1 - float(chi_of_quantizer(th, lv)) == pytest.approx(mse, rel=1e-9)
        k, s2 = ste.input_moments(b, om_max)
        assert k == pytest.approx(s2, rel=1e-7)  # Max's gain condition E[z q] = E[q^2]
    # eta > 0 favours a smaller range (smaller sigma_phi^2 in 2 - eta s2)
    assert D.best_input_range(2, eta=1.0)[0] < D.max_input_range(2)[1] - 0.2
    e_best = D.best_input_range(2, eta=1.0)[1]
    assert e_best <= ste.steady_state_error(1.0, 2, D.max_input_range(2)[1]) + 1e-15


def test_branches():
    br = stationary_branches(4.0, 0.1, 3, 1.0)
    assert len(br) == 3 and [s for _, s in br] == [True, False, True]
    low = ste.stationary_state(4.0, 0.1, 3, 1.0).eps_g
    assert br[0][0] == pytest.approx(low, rel=1e-10)
    assert len(stationary_branches(1.0, 0.1, 3, 1.0)) == 1


def test_overshoot_measure():
    from qmf_sim.experiments.ste_uses import overshoot

    assert overshoot([3, 2, 1, 1]) == 0.0
    assert overshoot([3, 1, 2, 0.5, 0.7]) == pytest.approx(1.0)


@pytest.mark.parametrize("bad,match", [
    (lambda: D.ptq_eps(0.04, 1.0, 3, 1.0, mean=0.5, var=-1.0), "var"),
    (lambda: D.unquantized_stationary_law(2.5, 0.1), "eta"),
    (lambda: D.best_input_range(0), "b"),
    (lambda: D.best_input_range(True), "b"),
    (lambda: D.best_input_range(2, eta=0.0, lam=1.0), "lam"),
    (lambda: D.weight_degradation(0.04, -1.0, 3, 1.0), "lam"),
    (lambda: stationary_branches(4.0, 0.1, 3, 1.0, n_scan=2), "n_scan"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.slow
def test_experiment_quick(tmp_path):
    from qmf_sim.experiments import resolve

    paths = resolve("ste_uses")(tmp_path, True)
    names = {p.name for p in paths}
    for f in ("ste_degradation.csv", "ste_schedules.csv", "ste_eta_inputs.csv", "ste_eta_weights.csv",
              "ste_input_range.csv", "ste_monotonicity.csv", "ste_uses.png"):
        assert f in names


def test_low_bit_non_monotone():
    """Spec §8 item 10: sign quantizer, omega = 2 > w*, clipped STE, lam = 0: eps_g dips (most weights
    positive while the slow positive ones drift to 0) and rises to the chattering law; particles N = 20000:
    rise measured 0.19 against a noise of 0.005 -- assert > 0.1 (20 noise levels), and the dip lies below
    the flux-balance level (omega^2 - 1)/2 = 1.5 (derivations/ste_uses.md §5)."""
    from qmf_sim.experiments.ste_uses import overshoot
    from qmf_sim.ste import STEParams, solve_particles

    p = STEParams(b=1, omega=2.0, eta=0.04, lam=0.0)
    e = solve_particles(p, tau=np.linspace(0, 150, 61), n_particles=20_000, dt=0.02, seed=1).eps[0]
    assert overshoot(e) > 0.1
    assert e.min() < 1.45 and e[-1] > 1.45


def _plot_rows():
    """Small hand-made rows of every kind plot_all draws (the keys the run_* functions write)."""
    deg = [dict(lam=1.0, b=b, omega=om, delta=0.01 * b, sgd_eps=0.1 if b == 2 else None,
                sgd_delta=0.02 if b == 2 else None, sgd_se=0.003 if b == 2 else None) for b in (1, 2, 3) for om in (0.5, 1.0)]
    sch = [dict(b=3, omega=1.0, tau_0=t, tau_total=60.0, model_eps=0.15 + 0.001 * t, ptq_converged=0.154,
                sgd_eps=0.149 if t == 0 else None, sgd_se=0.002 if t == 0 else None) for t in (0.0, 30.0, 60.0)]
    eta_in = [dict(b_x=b, omega_x=om, eta_c=3.0 + b / 10) for b in (2, 3) for om in (1.0, 1.5)]
    eta_w = [dict(eta=e, lam=0.1, branches="0.0131;0.24(unstable)" if e > 2 else "0.0131", eta_c_unquantized=2.2,
                  particles_quant_eps40=0.013 * e, particles_unquant_eps40=0.008, particles_unquant_diverged=e > 2.2)
             for e in (1.0, 4.0)]
    rng = [dict(b=b, one_minus_corr2_at_best=0.3 / b**2, mse_max=0.3 / b**2, omega_best_eta0=0.6 * b, omega_max=0.6 * b,
                omega_best_eta1=0.5 * b) for b in (1, 2, 3)]
    mono = [dict(ste=ste, lam=lam, b=b, omega=om, overshoot=0.01 if (b, om, lam) == (1, 1.0, 1.0) else 0.0)
            for ste in ("clipped", "identity") for lam in (0.0, 1.0) for b in (1, 2) for om in (0.5, 1.0)
            if not (ste == "identity" and lam == 0 and om <= 1.0)]
    return deg, sch, eta_in, eta_w, rng, mono


def test_ste_uses_figure_labels_and_replot(tmp_path, monkeypatch):
    """The six-panel figure: the non-monotonicity axis names each (b, omega) setting (one common position per
    setting for every curve), the legends name every marker kind; and ``qmf plot`` redraws it from the CSVs."""
    from qmf_sim import cli
    from qmf_sim.experiments import ste_uses as U

    rows = _plot_rows()
    for name, rr in zip(U.CSV_NAMES, rows):
        U._csv(tmp_path, name, rr, {})
    back = U.rows_from_csv(tmp_path)
    assert back[3][1]["particles_unquant_diverged"] is True and back[0][0]["sgd_eps"] is None and back[0][0]["b"] == 1
    figs = []  # the figure itself, not its files (io.save_figure is tested elsewhere)
    monkeypatch.setattr(U, "save_figure", lambda fig, out, stem: figs.append(fig) or [])
    U.plot_all(*back, tmp_path / "fig")
    ax = figs[0].axes
    mono_ax = next(a for a in ax if "non-monotonicity" in a.get_title())
    ticks = [t.get_text() for t in mono_ax.get_xticklabels()]
    assert ticks == ["b=1\nω=0.5", "b=1\nω=1", "b=2\nω=0.5", "b=2\nω=1"] and "setting" in mono_ax.get_xlabel()
    for line in mono_ax.get_lines():  # identity, lam = 0 has no omega <= 1 setting: its points sit at their own ticks
        assert set(line.get_xdata()) <= set(range(4))
    labels = [t.get_text() for a in ax if a.get_legend() for t in a.get_legend().get_texts()]
    for want in ("SGD (± s.e.), colour of its ω", "PTQ of the converged model", "stationary branch, stable",
                 "stationary branch, unstable", "best ω_x, η→0 (right)"):
        assert want in labels, want
    twin = [a for a in ax if a.get_ylabel() == r"input range $\omega_x$"]
    assert twin, "the twin axis of the input-range panel is labelled"
    calls = []  # qmf plot on the folder (or one of its CSVs) redraws from the same rows
    monkeypatch.setattr(U, "plot_all", lambda *a: calls.append(a) or [])
    assert cli.main(["plot", str(tmp_path), "--out", str(tmp_path / "again")]) == 0
    assert cli.main(["plot", str(tmp_path / "ste_schedules.csv")]) == 0
    assert len(calls) == 2 and list(calls[0][:6]) == back and calls[0][6] == tmp_path / "again"
