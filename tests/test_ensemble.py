"""qmf_sim.ensemble: members trained together give the records of the runs trained alone.

Tolerance.  In float64 the batched products (baddbmm) and the single ones (addmm) differ by rounding
only (~1e-16 relative per product); over 60 SGD steps of a 3-layer staircase network such differences
stay far below the distance of a pre-activation to a staircase jump (a jump crossed by rounding would
change the trajectory and fail the test, as it must).  So: status, divergence step, checkpoint steps and
accuracies equal; mean training losses equal to 1e-9 relative (the rounding, amplified by the steps,
is ~1e-14; 1e-9 leaves room without letting a real difference through: one different batch or one
different level changes the loss by >1e-4).
"""
import json
import math

import pytest
import torch

from qmf_sim import ensemble as E
from qmf_sim.training import TrainConfig, run_training

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

BASE = dict(width=24, depth=3, steps=60, eval_steps=(20, 40), batch_size=16, train_eval_size=200, device="cpu",
            dtype="float64")

MEMBERS = [
    dict(sigma_w=1.5, levels=4, lr=0.05, seed=7),
    dict(sigma_w=0.8, levels=10, lr=0.02, seed=3, ste="identity", ste_slope=0.5),
    dict(sigma_w=2.0, levels=3, lr=1e306, seed=1),  # diverges at step 7
    dict(sigma_w=1.2, levels=2, lr=0.03, seed=2, momentum=0.9, weight_decay=1e-3, sampling="replacement"),
    dict(sigma_w=1.0, levels=5, lr=0.04, seed=5, sigma_b=0.1),
]


def strip(rec):
    return {k: v for k, v in rec.items() if k not in ("run", "checkpoints", "provenance")}


def same(ens, alone):
    assert strip(ens) == strip(alone)
    assert [c["step"] for c in ens["checkpoints"]] == [c["step"] for c in alone["checkpoints"]]
    for a, b in zip(ens["checkpoints"], alone["checkpoints"]):
        assert a["test_acc"] == b["test_acc"] and a["train_acc"] == b["train_acc"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9)


def test_members_equal_runs_alone_and_divergence_is_masked():
    cfgs = [TrainConfig(**BASE, **m) for m in MEMBERS]
    seen = []
    ens = E.train_ensemble(cfgs, threads=1, on_record=lambda r: seen.append(r["key"]))
    alone = [run_training(c, threads=1) for c in cfgs]
    assert [r["status"] for r in alone] == ["ok", "ok", "diverged", "ok", "ok"]  # the test covers both
    for e, a in zip(ens, alone):
        same(e, a)
        json.dumps(e, allow_nan=False)
    assert ens[2]["diverged_step"] == alone[2]["diverged_step"]
    assert seen[0] == cfgs[2].key() and sorted(seen) == sorted(c.key() for c in cfgs)  # saved at once
    assert ens[0]["run"]["ensemble"] == {"members": 5, "position": 0}


def test_ensemble_of_one_and_float32_close():
    cfg = TrainConfig(**{**BASE, "dtype": "float32"}, **MEMBERS[0])
    (e,) = E.train_ensemble([cfg], threads=1)
    a = run_training(cfg, threads=1)
    # float32: the first checkpoint (20 steps) agrees; later ones may drift by a crossed jump
    assert e["checkpoints"][0]["train_loss"] == pytest.approx(a["checkpoints"][0]["train_loss"], rel=1e-4)
    assert e["status"] == a["status"] == "ok"


def test_initial_weights_are_those_of_the_network_alone():
    from qmf_sim.nn import QuantizedMLP
    from qmf_sym.activations import Staircase

    cfgs = [TrainConfig(**BASE, **m).resolved() for m in (MEMBERS[0], MEMBERS[4])]
    model = E.StackedMLP(cfgs, 64, 10, torch.float64, torch.device("cpu"))
    for m, c in enumerate(cfgs):
        net = QuantizedMLP(64, c.width, c.depth, 10, Staircase.uniform(c.levels), c.sigma_w, c.sigma_b,
                           dtype=torch.float64, seed=c.seed)
        for l, lin in enumerate(net.layers):
            assert torch.equal(model.Ws[l][m], lin.weight.detach().T)
            assert torch.equal(model.bs[l][m], lin.bias.detach())


def test_grouping_and_budget():
    a = [TrainConfig(**BASE, **m).resolved() for m in MEMBERS]
    b = [TrainConfig(**{**BASE, "depth": 4}, **m).resolved() for m in MEMBERS[:2]]
    groups = E.group_configs(a + b)
    assert [len(g) for g in groups] == [5, 2]
    per = E.member_bytes(a[0])
    assert E.member_bytes(b[0]) > per  # one more layer: more bytes, so only one depth-4 member fits
    assert [len(u) for u in E.split_ensembles(a + b, budget_bytes=2 * per)] == [2, 2, 1, 1, 1]
    assert [len(u) for u in E.split_ensembles(a + b, max_members=3)] == [3, 2, 2]
    assert [len(u) for u in E.split_ensembles(a, budget_bytes=1)] == [1] * 5  # at least one member
    # member_bytes: float32 parameters x 3 (weights, gradients, momentum) at least
    c = TrainConfig(depth=10, sigma_w=1.0)
    assert E.member_bytes(c) > 3 * 4 * 9 * 2048 ** 2


def test_no_configs_no_groups():
    """An empty list is a sweep with nothing left to train (run_sweep passes its pending runs): no groups,
    no ensembles, and the docstrings say so (the API's rule: an accepted empty list is documented)."""
    assert E.group_configs([]) == [] and E.split_ensembles([]) == []
    assert E.split_ensembles((), max_members=2, budget_bytes=1) == []
    for fn in (E.group_configs, E.split_ensembles):
        assert "an empty list" in " ".join(fn.__doc__.split()), fn.__name__


def test_stacked_mlp_device_none_is_the_cpu():
    """device=None: the stacks on the CPU, with the staircase tables (StackedTables' rule); before, the
    model kept None and made its weights and buffers on torch's default device."""
    cfgs = [TrainConfig(**BASE, **MEMBERS[0]).resolved()]
    m = E.StackedMLP(cfgs, 4, 3, torch.float64, None)
    assert m.device == torch.device("cpu")
    assert {t.device for t in m.params() + [m.clip, m.slope, m.tab.bnd]} == {torch.device("cpu")}
    assert m._buf("x", (2, 3)).device == torch.device("cpu")


def test_bad_input():
    with pytest.raises(ValueError, match="share"):
        E.train_ensemble([TrainConfig(**BASE, **MEMBERS[0]), TrainConfig(**{**BASE, "depth": 4}, **MEMBERS[0])])
    with pytest.raises(ValueError, match="at least one"):
        E.train_ensemble([])
    with pytest.raises(ValueError, match="max_members"):
        E.split_ensembles([TrainConfig(**BASE, **MEMBERS[0])], max_members=0)


def test_sweep_ensemble_equals_one_by_one(tmp_path):
    from qmf_sim import sweep as S

    cfgs = S.sigma_grid([2, 3], [1.0, 2.0], levels=4, **{**BASE, "lr": 0.05, "depth": None})
    one = S.run_sweep(cfgs, tmp_path / "one.jsonl", progress=False, threads=1, ensemble=False)
    ens = S.run_sweep(cfgs, tmp_path / "ens.jsonl", progress=False, threads=1)
    assert set(one) == set(ens) == {c.key() for c in cfgs}
    for k in one:
        same(ens[k], one[k])
        assert ens[k]["run"]["ensemble"]["members"] == 2


@pytest.mark.cuda
@needs_cuda
def test_ensemble_cuda_matches_cpu():
    cfgs = [TrainConfig(**{**BASE, "device": None}, **m) for m in MEMBERS]
    cpu = E.train_ensemble(cfgs, threads=1, device="cpu")
    gpu = E.train_ensemble(cfgs, device="cuda")
    for g, c in zip(gpu, cpu):
        assert g["run"]["device"].startswith("cuda")
        same(g, c)


@pytest.mark.slow
def test_device_check_cpu_dry_run(capsys):
    # the device check (benchmarks/device_check.py), at its small sizes on the CPU: every part runs and reports
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"
    spec = importlib.util.spec_from_file_location("device_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--cpu-dry-run", "--skip-tests"]) == 0
    out = capsys.readouterr().out
    for part in ("(b) ensemble depth", "(b) training / matmul rate", "(c) STE d=1e+03", "(d) train-depth"):
        assert part in out, part
    assert "nan" not in out.lower()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_hand_written_backward_is_autograds_bit_for_bit(dtype):
    """StackedMLP.backward (the products autograd runs for baddbmm, without its graph) gives exactly
    autograd's gradients for the same forward: the STE as an autograd Function (gain = slope 1[|x| < clip]),
    clipped / identity STE, slopes != 1, quantized output; torch.equal, not a tolerance."""
    from qmf_sim.nn import stacked_staircase_forward

    class STE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, model):
            ctx.save_for_backward(model.gain(a))
            return stacked_staircase_forward(a, model.tab)

        @staticmethod
        def backward(ctx, g):
            return g * ctx.saved_tensors[0], None

    for qout in (False, True):
        cfgs = [TrainConfig(**{**BASE, "quantize_output": qout}, **m).resolved() for m in MEMBERS]
        model = E.StackedMLP(cfgs, 64, 10, dtype, torch.device("cpu"))
        x = torch.randn((len(cfgs), 16, 64), generator=torch.Generator().manual_seed(0), dtype=dtype)
        y = torch.randint(0, 10, (len(cfgs), 16), generator=torch.Generator().manual_seed(1))
        loss = lambda z: torch.nn.functional.cross_entropy(z.reshape(-1, 10), y.reshape(-1))  # noqa: E731
        saved = []
        with torch.no_grad():
            z = model(x, saved)
        z.requires_grad_(True)
        (gz,) = torch.autograd.grad(loss(z), z)
        got = {}
        with torch.no_grad():
            model.backward(gz, saved, lambda l, gW, gb: got.update({l: (gW.clone(), gb.clone())}))
        Ws = [W.clone().requires_grad_(True) for W in model.Ws]
        bs = [b.clone().requires_grad_(True) for b in model.bs]
        h = x
        for l in range(len(Ws)):
            a = torch.baddbmm(bs[l][:, None, :], h, Ws[l])
            h = STE.apply(a, model) if (l < len(Ws) - 1 or qout) else a
        assert torch.equal(h.detach(), z.detach())
        loss(h).backward()
        for l in range(len(Ws)):
            assert torch.equal(got[l][0], Ws[l].grad) and torch.equal(got[l][1], bs[l].grad), (qout, l)


UNEVEN = [[-0.3, 0.1, 0.15, 0.9], [0.0], [-2.0, -1.0, 1e-3, 0.5, 0.75, 3.0]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("even", [True, False])
def test_fused_cpu_pass_is_the_lookup_bit_for_bit(dtype, even):
    """nn.stacked_staircase_ste (one numba pass on the CPU) = nn.stacked_staircase_forward and the torch STE gain,
    torch.equal, on values at, just below and just above every offset, far outside, +-inf, NaN, +-0: both
    branches of the pass (the select chain up to CHAIN_MAX = 24 offsets, the nearest-offset formula above:
    25 and 26 levels sit on either side), and uneven offsets (chain only; the torch faces' own lookup is the
    comparison pass there)."""
    from qmf_sim.nn import CHAIN_MAX, StackedTables, stacked_staircase_forward, stacked_staircase_ste
    from qmf_sym.activations import Staircase

    assert CHAIN_MAX == 24
    levels = [2, 3, 4, 6, 10, 17, 25, 26, 40] if even else [len(u) + 1 for u in UNEVEN]
    acts = [Staircase.uniform(n) for n in levels] if even else [Staircase(u, 0.5, -1) for u in UNEVEN]
    tab = StackedTables(acts, dtype, "cpu")
    assert tab.cpu_pass() and (tab.inv is None) == (not even)
    clip = torch.tensor([1.0, math.inf, 1.0, 0.5, 1.0, 2.0, 1.0, math.inf, 0.25][:len(levels)], dtype=dtype)
    slope = torch.tensor([1.0, 0.5, 2.0, 1.0, -1.0, 1.0, 0.3, 1.0, 1.0][:len(levels)], dtype=dtype)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((len(levels), 40, 50), generator=g, dtype=dtype) * 2
    flat = x.view(len(levels), -1)
    for m in range(len(levels)):
        b = tab.bnd[m][torch.isfinite(tab.bnd[m])]
        near = torch.cat([b, torch.nextafter(b, b - 1), torch.nextafter(b, b + 1), b * 10, -b * 10])
        flat[m, : near.numel()] = near
        flat[m, -6:] = torch.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0, 1e30], dtype=dtype)
    out, gain = stacked_staircase_ste(x, tab, clip, slope)
    assert torch.equal(out, stacked_staircase_forward(x, tab))
    shape = (-1, 1, 1)
    assert torch.equal(gain, (x.abs() < clip.view(shape)).to(dtype) * slope.view(shape))
    # the torch faces (the path off the CPU pass: a non-contiguous x) give the same pair
    xt = x.transpose(1, 2).contiguous().transpose(1, 2)
    assert not xt.is_contiguous()
    o2, g2 = stacked_staircase_ste(xt, tab, clip, slope)
    assert torch.equal(o2, out) and torch.equal(g2, gain)


def test_cpu_pass_refuses_many_uneven_offsets():
    """More than CHAIN_MAX offsets that are not evenly spaced: no numba branch applies, the torch faces run."""
    from qmf_sim.nn import CHAIN_MAX, StackedTables, stacked_staircase_forward, stacked_staircase_ste
    from qmf_sym.activations import Staircase

    uneven = Staircase([k + 0.01 * k * k for k in range(CHAIN_MAX + 1)], 1.0)
    tab = StackedTables([uneven, Staircase.uniform(4)], torch.float64, "cpu")
    assert tab.inv is None and not tab.cpu_pass()
    assert tab.select(torch.tensor([1])).cpu_pass()  # the other member alone: the chain
    x = torch.linspace(-3, 30, 200, dtype=torch.float64).repeat(2, 1)
    one = torch.ones(2, dtype=torch.float64)
    out, gain = stacked_staircase_ste(x, tab, one, one)
    assert torch.equal(out, stacked_staircase_forward(x, tab))


def test_stacked_staircase_ste_refuses_bad_members():
    from qmf_sim.nn import StackedTables, stacked_staircase_ste
    from qmf_sym.activations import Staircase

    tab = StackedTables([Staircase.uniform(4)] * 2, torch.float64, "cpu")
    x = torch.zeros((2, 3), dtype=torch.float64)
    one = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match="clip must be a \\(2,\\) tensor"):
        stacked_staircase_ste(x, tab, torch.ones(3, dtype=torch.float64), one)
    with pytest.raises(ValueError, match="slope must be"):
        stacked_staircase_ste(x, tab, one, one.float())
    with pytest.raises(ValueError, match="tab must be"):
        stacked_staircase_ste(x, "tab", one, one)


def test_bench_ensemble_prints_its_fraction(capsys):
    """benchmarks/bench_ensemble.py at tiny sizes: it runs, counts the products' FLOPs as documented
    (forward + weight gradient everywhere, input gradient from the second layer on) and its last line
    is the fraction (a number; no timing is asserted)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ensemble.py"
    spec = importlib.util.spec_from_file_location("bench_ensemble", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.product_flops(2, 4, [3, 5, 7]) == 2 * (4 * 4 * 3 * 5 + 6 * 4 * 5 * 7)
    # 80 steps (20..80 timed): at width 8 a step costs ~0.1 ms CPU, the jitter of a run's set-up ~1 ms, so the
    # CPU-time difference of a 2- and an 8-step run could come out negative
    mod.main(["--width", "8", "--depth", "2", "--steps", "80", "--repeats", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("fraction ") and float(last.split()[1]) > 0, last


# ---------------------------------------------------------------------------------- continuous activations
CONTINUOUS_MEMBERS = [
    dict(sigma_w=1.5, lr=0.05, seed=7),
    dict(sigma_w=0.9, lr=0.02, seed=3, sigma_b=0.1),
    dict(sigma_w=2.0, lr=1e306, seed=1),  # diverges for the unbounded ReLU (bounded ones saturate)
]


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu", "hardtanh"])
def test_continuous_members_equal_runs_alone(activation):
    # the same tolerance as for staircases (module docstring): a smooth phi has no jump to cross, so the
    # float64 rounding of batched vs single products and of phi' (autograd's formula, applied by hand)
    # stays ~1e-14 relative in the losses; accuracies are equal
    cfgs = [TrainConfig(**BASE, **m, activation=activation) for m in CONTINUOUS_MEMBERS]
    ens = E.train_ensemble(cfgs, threads=1)
    alone = [run_training(c, threads=1) for c in cfgs]
    assert [r["status"] for r in alone][:2] == ["ok", "ok"]
    if activation == "relu":
        assert alone[2]["status"] == "diverged"  # the masking of a diverged member is covered too
    for e, a in zip(ens, alone):
        same(e, a)
    assert ens[0]["config"]["activation"] == activation and ens[0]["config"]["levels"] is None
    assert ens[0]["key"].startswith(f"L3_{activation}_sw1.5_")


def test_activation_field_keeps_staircase_keys_and_refuses_ste_for_continuous():
    # a staircase run's key does not depend on the field (results files of earlier versions resume)
    c = TrainConfig(depth=3, width=8, levels=4, sigma_w=1.0, lr=0.1)
    assert c.key() == "L3_N4_sw1_w8_s0_" + c.key().rsplit("_", 1)[1]
    import hashlib
    from dataclasses import asdict
    d = {k: v for k, v in asdict(c.resolved()).items() if k not in ("device", "sigma_w_rule", "lr_rule", "activation")}
    d["eval_steps"] = list(d["eval_steps"])
    d["sigma_w"] = float(f"{d['sigma_w']:.12g}")
    assert c.key().endswith(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12])
    with pytest.raises(ValueError, match="ste and ste_slope apply to the staircase only"):
        TrainConfig(depth=3, activation="tanh", ste_slope=2.0).validate()
    with pytest.raises(ValueError, match="activation"):
        TrainConfig(depth=3, activation="sigmoid").validate()
    # sigma_w=None: the edge of chaos of the activation at sigma_b
    from qmf_sym.activations import Tanh
    from qmf_sym.maps import edge_of_chaos

    r = TrainConfig(depth=3, activation="tanh", sigma_b=0.05).resolved()
    assert r.sigma_w == pytest.approx(float(edge_of_chaos(Tanh(), 0.05).sigma_w), rel=1e-12)
    assert r.sigma_w_rule.startswith("edge of chaos")


# ---------------------------------------------------------------------------------- the step without autograd
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacked_cross_entropy_is_autograds(dtype):
    """nn._stacked_cross_entropy (the numba pass on contiguous CPU logits, the torch ops otherwise) = the
    members' mean F.cross_entropy and autograd's gradient of their sum, to a few ulps of the dtype (exp, log
    and the order of the sums round differently); large logits do not overflow; a member with a NaN or inf
    logit is flagged, the others are not."""
    from qmf_sim.nn import _stacked_cross_entropy as stacked_cross_entropy

    M, B, C = 5, 16, 10
    g = torch.Generator().manual_seed(0)
    z = torch.randn((M, B, C), generator=g, dtype=dtype) * 4
    z[1] += 1e4  # max subtraction
    y = torch.randint(0, C, (M, B), generator=g)
    zz = z.clone().requires_grad_(True)
    per = torch.nn.functional.cross_entropy(zz.reshape(M * B, C), y.reshape(-1), reduction="none").view(M, B).mean(1)
    (ref,) = torch.autograd.grad(per.sum(), zz)
    tol = 8 * torch.finfo(dtype).eps
    for zin in (z, z.transpose(0, 1).contiguous().transpose(0, 1)):  # the CPU pass, then the torch face
        loss, grad, ok = stacked_cross_entropy(zin, y)
        assert loss.dtype == torch.float64 and grad.dtype == dtype and ok.all()
        assert torch.allclose(loss, per.detach().double(), rtol=tol, atol=0)
        assert (grad - ref).abs().max() <= tol * ref.abs().max()
        assert torch.allclose(grad.sum(2), torch.zeros(M, B, dtype=dtype), atol=tol)  # softmax - onehot sums to 0
    bad = z.clone()
    bad[2, 3, 4], bad[4, 0, 0] = math.nan, -math.inf
    for zin in (bad, bad.transpose(0, 1).contiguous().transpose(0, 1)):
        loss, _, ok = stacked_cross_entropy(zin, y)
        assert ok.tolist() == [True, True, False, True, False] and not torch.isfinite(loss[[2, 4]]).any()
        assert torch.isfinite(loss[[0, 1, 3]]).all()
    with pytest.raises(ValueError, match="labels in"):
        stacked_cross_entropy(z, y + C)
    with pytest.raises(ValueError, match="z must be"):
        stacked_cross_entropy(z, y.int())


@pytest.mark.parametrize("per_member", [False, True])
def test_fused_sgd_step_is_the_sgd_update(per_member):
    """StackedMLP.backward(neg_lr=...) (W += -lr h^T g in one baddbmm_, the bias likewise) = the written-out
    step (the gradients of backward(update) applied as W - lr grad_W), to float64 rounding: one rate for
    every member (a float) or one per member (a tensor)."""
    from qmf_sim.nn import _stacked_cross_entropy as stacked_cross_entropy

    cfgs = [TrainConfig(**BASE, **m).resolved() for m in MEMBERS]
    x = torch.randn((len(cfgs), 16, 64), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.randint(0, 10, (len(cfgs), 16), generator=torch.Generator().manual_seed(1))
    lr = torch.tensor([0.05, 0.02, 0.3, 0.03, 0.04] if per_member else [0.05] * len(cfgs), dtype=torch.float64)
    after = []
    for fused in (False, True):
        model = E.StackedMLP(cfgs, 64, 10, torch.float64, torch.device("cpu"))
        saved = []
        _, gz, _ = stacked_cross_entropy(model(x, saved), y)
        if fused:
            model.backward(gz, saved, neg_lr=-lr if per_member else -0.05)
        else:
            def update(l, gW, gb):
                model.Ws[l].sub_(lr.view(-1, 1, 1) * gW)
                model.bs[l].sub_(lr.view(-1, 1) * gb)
            model.backward(gz, saved, update)
        after.append(model.params())
    init = E.StackedMLP(cfgs, 64, 10, torch.float64, torch.device("cpu")).params()
    for p0, a, b in zip(init, *after):
        step = (a - p0).abs().max()
        assert step > 0 and (a - b).abs().max() <= 1e-13 * step + 1e-15 * p0.abs().max()
    with pytest.raises(ValueError, match="exactly one"):
        model.backward(gz, saved)
