"""qmf_sim.nn against qmf_sym: exact staircase forward (eq. 13), explicit STE backward (eq. 19) and
the network of eq. 1 (paper 1); moved from test_networks.py.

Statistical tolerances.  Every Monte-Carlo comparison uses k = 5 standard errors, the SE estimated
from D independent weight draws (per-draw statistics are means over >= 500 neurons, hence close
to normal).  With D = 32 draws the studentised deviation is t-distributed with 31 d.o.f.:
P(|t_31| > 5) ~ 2e-5 per comparison (under exact normality it would be 6e-7); the suite makes
< 200 such comparisons, so a false failure has probability < 0.4 %, and the seeds are fixed
(Hypothesis is derandomized in tests/conftest.py), so a run is reproducible.
"""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qmf_sim import nn as NW
from qmf_sym import backward as B
from qmf_sym.activations import Staircase

K_SE = 5.0
D = 32


@st.composite
def staircases(draw, max_states=6):
    n = draw(st.integers(1, max_states - 1))
    gaps = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    start = draw(st.floats(-1.5, 0.5))
    offsets = start + np.cumsum(gaps) - gaps[0]
    heights = draw(st.lists(st.floats(0.1, 2.0), min_size=n, max_size=n))
    base = draw(st.floats(-2.0, 0.5))
    return Staircase(list(offsets), heights, base)


# ----------------------------------------------------------------------------- forward
@given(act=staircases(), seed=st.integers(0, 2 ** 31 - 1))
def test_forward_exact_float64(act, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2000, generator=g, dtype=torch.float64) * 2
    off = torch.tensor(act.offsets, dtype=torch.float64)
    x = torch.cat([x, off, torch.nextafter(off, off - 1), torch.nextafter(off, off + 1)])  # the jumps
    y = NW.staircase_ste(x, act)
    assert y.dtype == torch.float64
    assert np.array_equal(y.numpy(), act(x.numpy()))


@given(act=staircases(), seed=st.integers(0, 2 ** 31 - 1))
def test_forward_exact_float32(act, seed):
    # float32 inputs: same branch as the float64 staircase at the float32 value, levels rounded to float32
    g = torch.Generator().manual_seed(seed)
    off = torch.tensor(act.offsets, dtype=torch.float32)
    x = torch.cat([torch.randn(2000, generator=g) * 2, off, torch.nextafter(off, off - 1),
                   torch.nextafter(off, off + 1)])
    y = NW.staircase_ste(x, act)
    assert y.dtype == torch.float32
    assert np.array_equal(y.numpy(), act(x.double().numpy()).astype(np.float32))


def test_round_up_empty_table():
    """An accepted extreme, documented: an empty table of thresholds (a map without any) stays empty."""
    import re

    for dt in (torch.float32, torch.float64):
        g = NW.round_up([], dt)
        assert g.shape == (0,) and g.dtype == dt
    assert re.search(r"\ban empty list\b", NW.round_up.__doc__)


def test_stacked_tables_device_none_is_the_cpu():
    """An accepted value, documented: device=None puts the stacked tables on the CPU."""
    import re

    tab = NW.StackedTables([Staircase.uniform(4), Staircase.uniform(3)], torch.float32, None)
    assert {t.device for t in (tab.bnd, tab.lev, tab.inv, tab.c, tab.top)} == {torch.device("cpu")}
    assert re.search(r"\bdevice\s*=\s*None\b", NW.StackedTables.__doc__)


def test_forward_uniform16_right_continuous():
    act = Staircase.uniform(16)
    x = torch.tensor(act.offsets, dtype=torch.float64)
    assert np.array_equal(NW.staircase_ste(x, act).numpy(), act.levels[1:])  # H(0) = 1


# ----------------------------------------------------------------------------- STE backward
def _grad(x, **kw):
    x = x.clone().requires_grad_(True)
    up = torch.linspace(-1, 2, x.numel(), dtype=x.dtype).reshape(x.shape)
    NW.staircase_ste(x, Staircase.uniform(4), **kw).backward(up)
    return x.grad, up


def test_ste_clipped_and_slope():
    x = torch.tensor([-2.0, -1.0, -0.999, -0.3, 0.0, 0.5, 0.999, 1.0, 3.0], dtype=torch.float64)
    mask = torch.tensor([0, 0, 1, 1, 1, 1, 1, 0, 0], dtype=torch.float64)  # |x| < 1 strictly (eq. 19)
    for s in (1.0, 0.5, 2.5):
        g, up = _grad(x, ste="clipped", slope=s)
        assert torch.equal(g, up * mask * s)


def test_ste_identity_and_hook():
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    g, up = _grad(x, ste="identity", slope=0.7)
    assert torch.allclose(g, up * 0.7, rtol=0, atol=0)
    hook = lambda t: 1 - torch.tanh(t) ** 2  # noqa: E731
    g, up = _grad(x, ste=hook)
    assert torch.allclose(g, up * (1 - torch.tanh(x) ** 2), rtol=1e-15, atol=0)
    g, up = _grad(x, ste=hook, slope=2.0)
    assert torch.allclose(g, 2 * up * (1 - torch.tanh(x) ** 2), rtol=1e-15, atol=0)


def test_mlp_gradient_by_hand():
    act = Staircase.uniform(5)
    net = NW.QuantizedMLP(3, 7, 2, 2, act, 1.3, 0.2, ste="clipped", ste_slope=1.5, dtype=torch.float64, seed=3)
    x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    out, pre = net(x, return_preactivations=True)
    W1, W2, W3 = (l.weight for l in net.layers)
    b1, b2, b3 = (l.bias for l in net.layers)
    # eq. 1: the input is not passed through phi
    assert torch.allclose(pre[0], x @ W1.T + b1, rtol=0, atol=1e-15)
    h1 = torch.tensor(act(pre[0].detach().numpy()))
    assert torch.allclose(pre[1], h1 @ W2.T + b2, atol=1e-15)
    out.sum().backward()
    gain = lambda a: 1.5 * (a.abs() < 1).double()  # noqa: E731
    d2 = gain(pre[1].detach()) * (torch.ones(4, 2, dtype=torch.float64) @ W3.detach())
    d1 = gain(pre[0].detach()) * (d2 @ W2.detach())
    assert torch.allclose(x.grad, d1 @ W1.detach(), rtol=1e-12, atol=1e-14)


def test_mlp_init_and_options():
    act = Staircase.uniform(4)
    a = NW.QuantizedMLP(200, 300, 3, 10, act, 2.0, 0.5, seed=7)
    b = NW.QuantizedMLP(200, 300, 3, 10, act, 2.0, 0.5, seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    for lin in a.layers:  # W ~ N(0, sigma_w^2 / n_in): sample std within 5 SE (SE ~ std / sqrt(2 n))
        w = lin.weight.detach().double()
        sd = 2.0 / math.sqrt(lin.in_features)
        assert abs(w.std().item() - sd) < 5 * sd / math.sqrt(2 * w.numel())
    assert a(torch.zeros(5, 200)).shape == (5, 10)
    q = NW.QuantizedMLP(4, 8, 1, 3, act, 1.0, quantize_output=True, seed=0)
    y = q(torch.randn(6, 4))
    assert set(np.unique(y.detach().numpy())).issubset(set(act.levels.astype(np.float32)))
    assert NW.default_device().type in ("cpu", "cuda")


@pytest.mark.parametrize("kw", [dict(width=0), dict(depth=0), dict(sigma_w=0.0), dict(sigma_w=-1.0),
                                dict(sigma_b=-0.1), dict(act=np.tanh), dict(act=torch.tanh), dict(ste="tanh"),
                                dict(ste_slope=float("nan"))])
def test_mlp_bad_input(kw):
    args = dict(n_in=3, width=4, depth=2, n_out=2, act=Staircase.uniform(4), sigma_w=1.0)
    args.update(kw)
    with pytest.raises(ValueError):
        NW.QuantizedMLP(**args)


@settings(max_examples=10)
@given(Q=st.floats(0.05, 5.0), sw=st.floats(0.3, 3.0), slope=st.floats(0.2, 2.0),
       ste=st.sampled_from(["clipped", "identity"]), seed=st.integers(0, 2 ** 20))
def test_ste_backward_gain_matches_closed_form(Q, sw, slope, ste, seed):
    # u ~ N(0, Q) on n neurons, alpha = W phi(u), W ~ N(0, sw^2/n); back-propagate v ~ N(0, I):
    # |J_STE^T v|^2 / n = (1/n) sum_j g(u_j)^2 sum_i W_ij^2 v_i^2 is unbiased for m = sw^2 E g^2 (eq. 9)
    n, draws = 256, D
    g = torch.Generator().manual_seed(seed)
    act = Staircase.uniform(8)
    est, g2 = [], []
    for _ in range(draws):
        u = (math.sqrt(Q) * torch.randn(n, generator=g, dtype=torch.float64)).requires_grad_(True)
        W = torch.randn(n, n, generator=g, dtype=torch.float64) * (sw / math.sqrt(n))
        a = W @ NW.staircase_ste(u, act, ste=ste, slope=slope)
        v = torch.randn(n, generator=g, dtype=torch.float64)
        (a * v).sum().backward()
        est.append((u.grad ** 2).sum().item() / n)
        gain = NW._ste_gain(u.detach(), ste, slope)
        g2.append((gain ** 2).mean().item())
    est, g2 = np.array(est), np.array(g2)
    m = B.jacobian_moment(Q, sw, ste, slope)
    assert abs(est.mean() - m) <= K_SE * est.std(ddof=1) / math.sqrt(draws) + 1e-12
    e2 = B.gain_moment(Q, ste, slope)
    # g^2 is s^2 x Bernoulli(p): use the exact binomial SE s^2 sqrt(p (1 - p) / (n draws)) (the sample
    # SE is 0 when p ~ 1)
    p = e2 / slope ** 2
    assert abs(g2.mean() - e2) <= K_SE * slope ** 2 * math.sqrt(p * (1 - p) / (n * draws)) + 1e-12


# ----------------------------------------------------------------------------- stacked lookup
@given(acts=st.lists(staircases(), min_size=1, max_size=4), uniform=st.lists(st.integers(2, 40), max_size=4),
       seed=st.integers(0, 2 ** 31 - 1), dt=st.sampled_from([torch.float32, torch.float64]))
def test_stacked_forward_equals_single_lookup(acts, uniform, seed, dt):
    # the batched face (qmf_sim.ensemble) against staircase_forward, bit for bit, at and around every jump,
    # at +-inf and NaN; uneven staircases take the comparison path, all-uniform stacks the formula path
    for stack in (acts + [Staircase.uniform(n) for n in uniform], [Staircase.uniform(n) for n in uniform]):
        if not stack:
            continue
        tab = NW.StackedTables(stack, dt, "cpu")
        if len(stack) == len(uniform):  # the all-uniform stack: the nearest-offset formula is exercised
            assert tab.inv is not None
        g = torch.Generator().manual_seed(seed)
        rows = []
        for a in stack:
            off = torch.tensor(a.offsets, dtype=dt)
            rows.append(torch.cat([torch.randn(500, generator=g, dtype=dt) * 3, off, torch.nextafter(off, off - 1),
                                   torch.nextafter(off, off + 1), torch.tensor([math.nan, math.inf, -math.inf],
                                                                               dtype=dt)]))
        n = max(len(r) for r in rows)
        X = torch.stack([torch.cat([r, r[: n - len(r)]]) for r in rows]).reshape(len(stack), 1, n)
        Y = NW.stacked_staircase_forward(X, tab)
        for m, a in enumerate(stack):
            ref = NW.staircase_forward(X[m], a)
            assert torch.equal(Y[m].nan_to_num(nan=0.5), ref.nan_to_num(nan=0.5))


# ----------------------------------------------------------------------------- any activation (torch face)
def _continuous_kinds():
    from qmf_sym import activations as A

    return [A.Erf(), A.Tanh(), A.ReLU(), A.LeakyReLU(0.2), A.HardTanh(), A.HardTanh(-0.5, 2.0)]


@pytest.mark.parametrize("k", range(6))
def test_continuous_forward_and_derivative_match_numpy(k):
    act = _continuous_kinds()[k]
    x = torch.linspace(-4, 4, 1601, dtype=torch.float64)
    y = NW.activation_forward(x, act)
    # torch ops vs the numpy face of qmf_sym: float64 rounding only (erf/tanh differ by <= 2 ulp)
    assert np.allclose(y.numpy(), act(x.numpy()), rtol=0, atol=4e-16)
    xr = x.clone().requires_grad_(True)
    NW.activation_forward(xr, act).sum().backward()
    off_kinks = ~np.isin(x.numpy(), [float(v) for v in act.kinks])  # torch's convention at a kink is its own
    assert np.allclose(xr.grad.numpy()[off_kinks], act.derivative(x.numpy())[off_kinks], rtol=0, atol=1e-15)


def test_smooth_needs_a_torch_callable():
    from qmf_sym import activations as A

    silu = A.Smooth(lambda x: x / (1 + np.exp(-x)), lambda x: (1 + np.exp(-x) + x * np.exp(-x)) / (1 + np.exp(-x)) ** 2,
                    name="silu")
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    with pytest.raises(ValueError, match="torch_fn"):
        NW.activation_forward(x, silu)
    y = NW.activation_forward(x, silu, torch_fn=torch.nn.functional.silu)
    assert np.allclose(y.numpy(), silu(x.numpy()), atol=1e-15)
    net = NW.QuantizedMLP(3, 5, 2, 1, silu, 1.0, torch_fn=torch.nn.functional.silu, dtype=torch.float64, seed=0)
    assert torch.isfinite(net(torch.ones(2, 3, dtype=torch.float64))).all()
    with pytest.raises(ValueError, match="torch_fn"):
        NW.QuantizedMLP(3, 5, 2, 1, silu, 1.0)


def test_mlp_with_continuous_activation_uses_true_gradient():
    from qmf_sym import activations as A

    act = A.Tanh()
    net = NW.QuantizedMLP(3, 7, 2, 2, act, 1.3, 0.2, dtype=torch.float64, seed=3)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    (W1, b1), (W2, b2), (W3, b3) = [(l.weight, l.bias) for l in net.layers]
    ref = torch.tanh(torch.tanh(x @ W1.T + b1) @ W2.T + b2) @ W3.T + b3
    assert torch.allclose(net(x), ref, rtol=0, atol=1e-14)
    net(x).sum().backward()
    g = W1.grad.clone()
    W1.grad = None
    ref.sum().backward()
    assert torch.allclose(W1.grad, g, atol=1e-14)
    assert "act=tanh" in repr(net)
    with pytest.raises(ValueError, match="ste"):
        NW.QuantizedMLP(3, 7, 2, 2, act, 1.3, ste="identity")
    with pytest.raises(ValueError, match="act"):
        NW.QuantizedMLP(3, 7, 2, 2, np.tanh, 1.3)
