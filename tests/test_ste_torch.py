"""qmf_sim.ste.torch_micro against the numba kernel (qmf_sim.ste.simulate), in distribution.

The two draw different inputs (torch's generator vs the kernel's xoshiro/ziggurat streams) from the same
initial weights, so they agree at tau = 0 exactly and later in law.  At each later recording time the
mean eps_g over R = 120 replicas of each is compared by z = (mean_a - mean_b) / sqrt(se_a^2 + se_b^2):
the replica means are averages of 120 independent runs (close to normal), and the shared initial
weights correlate the two means positively, which only makes |z| smaller than for independent samples;
|z| < 5 then fails by chance with probability < 1e-6 per comparison (~40 comparisons here), while a
wrong drift, noise level or map shifts the means by many standard errors at these sizes (d = 120,
eps_g changes by ~0.1 over the recorded window with SE ~ 0.003).
"""

import numpy as np
import pytest
import torch

from qmf_sim.ste import STEParams, simulate, simulate_many
from qmf_sim.ste.torch_micro import simulate_many_torch, simulate_torch

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

D, R, TAU = 120, 120, [0.0, 0.5, 1.5, 3.0]
K_SE = 5.0

SWITCHES = [
    dict(b=2),
    dict(b=3, kind="cells", ste="identity", eta=0.1),
    dict(b=None, b_x=2, omega_x=1.5),
    dict(b=2, kind="midtread", ridge="psi", lam=0.5, sigma2=0.2, T=0.02),
    dict(b=1, teacher="gaussian", init="uniform", init_scale=0.5),
    dict(psi="tanh", b=None, teacher="rademacher"),
    dict(psi="sign:0.5", phi="tanh", init="rademacher"),
    dict(b=2, onset=1.0),
]


def z_scores(a, b):
    return (a.mean() - b.mean()) / np.sqrt(a.stderr() ** 2 + b.stderr() ** 2)


def _cases(switches, fast=(0, 3, 6)):
    """Every switch set; those not in ``fast`` marked slow (about 12 s each on the 2-core CPU)."""
    return [pytest.param(s, id=",".join(f"{k}={v}" for k, v in s.items()),
                         marks=() if i in fast else pytest.mark.slow) for i, s in enumerate(switches)]


@pytest.mark.parametrize("kw", _cases(SWITCHES))
def test_agrees_with_numba_in_distribution(kw):
    a = simulate(d=D, tau=TAU, runs=R, seed=3, **kw)
    b = simulate_torch(d=D, tau=TAU, runs=R, seed=3, device="cpu", **kw)
    assert b.info["path"] == "torch" and np.array_equal(a.tau, b.tau)
    np.testing.assert_allclose(b.eps[:, 0], a.eps[:, 0], rtol=1e-12)  # same initial weights
    z = z_scores(a, b)[1:]
    assert np.all(np.isfinite(z)) and np.max(np.abs(z)) < K_SE, z
    # the latent second moment too (the surrogate and the ridge act on it)
    qa, qb = a.q.mean(0)[1:], b.q.mean(0)[1:]
    se = np.sqrt(a.q.std(0, ddof=1)[1:] ** 2 / R + b.q.std(0, ddof=1)[1:] ** 2 / R)
    assert np.max(np.abs(qa - qb) / se) < K_SE


def test_divergence_rule_and_masking():
    # no weight quantization, eta s2 = 3 > 2: every replica diverges (spec §5.1), both solvers
    kw = dict(b=None, eta=3.0, lam=0.0)
    a = simulate(d=50, tau=[0, 2, 20], runs=8, seed=0, **kw)
    b = simulate_torch(d=50, tau=[0, 2, 20], runs=8, seed=0, device="cpu", **kw)
    assert a.diverged.all() and b.diverged.all()
    assert np.all(np.isfinite(b.tau_diverged)) and np.all(b.tau_diverged <= 20)
    assert not b.valid[:, -1].any() and np.isnan(b.eps[:, -1]).all()
    # a stable set next to it is not stopped by the diverging one
    ok, bad = simulate_many_torch([STEParams(b=2), STEParams(b=None, eta=3.0, lam=0.0)], d=50, tau=[0, 2, 20], runs=8,
                                  seed=0, device="cpu")
    assert not ok.diverged.any() and ok.valid.all() and bad.diverged.all()


def test_shared_inputs_sets_snapshots_float32():
    ps = [STEParams(b=2), STEParams(b=3)]
    a = simulate_many(ps, 60, tau=[0, 1], runs=60, seed=2)
    b = simulate_many_torch(ps, 60, tau=[0, 1], runs=60, seed=2, device="cpu", share_inputs=False)
    for x, y in zip(a, b):
        assert abs(z_scores(x, y)[-1]) < K_SE
    s = simulate_torch(d=40, tau=[0, 1], runs=3, seed=1, device="cpu", snapshot_tau=[0.5], b=2)
    assert s.snapshots.shape == (3, 1, 40) and np.all(np.isfinite(s.snapshots)) and s.w_star.shape == (3, 40)
    f32 = simulate_torch(d=D, tau=TAU, runs=R, seed=3, device="cpu", dtype=torch.float32, b=2)
    f64 = simulate_torch(d=D, tau=TAU, runs=R, seed=4, device="cpu", b=2)
    assert np.max(np.abs(z_scores(f32, f64)[1:])) < K_SE


def test_bad_input():
    from qmf_sym.ste.maps import Map

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            simulate_torch(d=10, tau=[0, 1], runs=2, device="cuda")
    with pytest.raises(ValueError, match="device"):
        simulate_torch(d=10, tau=[0, 1], runs=2, device="tpu-ish")
    with pytest.raises(ValueError, match="callable"):
        simulate_torch(d=10, tau=[0, 1], runs=2, device="cpu", b=None,
                       psi=Map.from_callable(np.tanh, lambda u: 1 - np.tanh(u) ** 2))
    with pytest.raises(ValueError, match="dtype"):
        simulate_torch(d=10, tau=[0, 1], runs=2, device="cpu", dtype=torch.int32)
    with pytest.raises(ValueError, match="d"):
        simulate_torch(d=0, tau=[0, 1], runs=2, device="cpu")
    with pytest.raises(ValueError, match="tau_max"):
        simulate_torch(d=10, runs=2, device="cpu")


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("kw", SWITCHES[:4] + SWITCHES[6:], ids=str)
def test_cuda_agrees_with_cpu_and_numba(kw):
    a = simulate(d=D, tau=TAU, runs=R, seed=3, **kw)
    g = simulate_torch(d=D, tau=TAU, runs=R, seed=3, device="cuda", **kw)
    assert g.info["device"].startswith("cuda")
    np.testing.assert_allclose(g.eps[:, 0], a.eps[:, 0], rtol=1e-12)
    assert np.max(np.abs(z_scores(a, g)[1:])) < K_SE


def test_cli_device(capsys):
    from qmf_sim.cli import main

    args = ["ste", "simulate", "--d", "30", "--runs", "3", "--tau-max", "1", "--n-tau", "2"]
    assert main(args + ["--device", "cpu"]) == 0
    assert "eps_g_mean" in capsys.readouterr().out
    if not torch.cuda.is_available():
        assert main(args + ["--device", "cuda"]) == 2
        err = capsys.readouterr().err
        assert "CUDA" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(args + ["--device", "cpu", "--method", "pde"]) == 2
    assert "--device" in capsys.readouterr().err
