"""qmf_sim.experiments.appendices: finite networks against the appendix maps (CPU, small)."""
import csv

import pytest

from qmf_sim.experiments import appendices as A
from qmf_sym import rounding as R
from qmf_sym.activations import Staircase


@pytest.mark.parametrize("act,Q,C,sw,sb", [
    (Staircase.uniform(4), 0.5, 0.3, 1.2, 0.0),
    pytest.param(Staircase.uniform(3), 2.0, -0.4, 1.0, 0.3, marks=pytest.mark.slow),
    pytest.param(Staircase([-0.3, 0.2, 1.1], [0.5, 1.0, 0.25], base=-0.4), 0.8, 0.7, 1.5, 0.2, marks=pytest.mark.slow),
])
def test_sr_maps_on_a_finite_layer(act, Q, C, sw, sb):
    """A finite layer (torch, independent rounding noise per neuron and input): the per-draw
    estimators are unbiased for the SR variance map and Q* x correlation map (eq. D.1, D.2); the
    mean over 24 draws must lie within 5 standard errors (false-failure rate ~6e-7 per check, if
    the draws were Gaussian; the seed is fixed)."""
    st = A.sr_one_layer_statistics(act, Q, C, sw, sb, n_prev=1000, n_next=1000, n_draws=24, seed=3)
    q_th = float(R.variance_map(act, Q, sw, sb))
    k_th = float(R.correlation_map(act, Q, C, sw, sb)) * Q
    assert abs(st["Q"][0] - q_th) < 5 * st["Q"][1]
    assert abs(st["K12"][0] - k_th) < 5 * st["K12"][1]


def test_sr_noise_is_unbiased_and_on_the_levels():
    import torch

    act = Staircase.uniform(5)
    g = torch.Generator().manual_seed(0)
    u = torch.full((200_000,), 0.3, dtype=torch.float64)
    y = A.stochastic_round(u, act, g)
    assert set(torch.unique(y).tolist()) == {0.0, 0.5}
    se = float(y.std()) / len(y) ** 0.5
    assert abs(float(y.mean()) - 0.3) < 5 * se
    assert set(A.stochastic_round(torch.tensor([-7.0, 9.0], dtype=torch.float64), act, g).tolist()) == {-1.0, 1.0}


@pytest.mark.slow
def test_reproduce_stochastic_rounding_quick(tmp_path):
    paths = A.reproduce_stochastic_rounding(tmp_path, quick=True)
    rows = list(csv.DictReader(open(tmp_path / "stochastic_rounding.csv")))
    assert [int(r["N"]) for r in rows] == list(range(2, 17))
    for r in rows:
        assert float(r["chi_sr"]) <= float(r["chi_det"]) + 1e-15
        assert abs(float(r["ratio"]) - (1 - float(r["chi_sr"])) / (1 - float(r["chi_det"]))) < 1e-9
    assert any(p.suffix == ".pdf" for p in paths) and any(p.suffix == ".png" for p in paths)


@pytest.mark.parametrize("n_max", [16, 64])
def test_stochastic_rounding_figure_tick_labels_do_not_overlap(tmp_path, monkeypatch, n_max):
    """The N + 1 log axis: plain integer labels, no two of them (major or minor) overlapping once drawn --
    the quick (N <= 16) and the full (N <= 64) range.  Rows are made up: only the layout is tested."""
    from qmf_sim import io

    rows = [dict(N=N, one_minus_det=0.6 / (N + 1) ** 1.8, one_minus_sr=1.1 / (N + 1) ** 1.8, ratio=1.8)
            for N in range(2, n_max + 1)]
    figs = []  # the figure itself, not its files
    monkeypatch.setattr(io, "save_figure", lambda fig, out, stem: figs.append(fig) or [])
    A.plot_stochastic_rounding(rows, tmp_path, [dict(N=1024, ratio=1.9)])
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figs[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    r = canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.xaxis.get_majorticklabels() + ax.xaxis.get_minorticklabels()
              if t.get_visible() and t.get_text() and ax.get_xlim()[0] <= t.get_position()[0] <= ax.get_xlim()[1]]
    assert len(labels) >= 3 and all(t.get_text().isdigit() for t in labels)
    boxes = sorted((t.get_window_extent(r) for t in labels), key=lambda b: b.x0)
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))  # left to right, no overlap


def test_torch_copies_read_only_tables():
    """The staircase tables are read-only numpy arrays; torch must get copies, not shared views (torch
    warns once per process, 'The given NumPy array is not writable', and writing would be undefined):
    run in a fresh process with that warning as an error, as ``qmf reproduce`` printed it."""
    import subprocess
    import sys

    code = ("import warnings, torch; warnings.simplefilter('error');"
            "from qmf_sim.experiments.appendices import stochastic_round;"
            "from qmf_sim.ste.torch_micro import torch_map; from qmf_sym.ste.maps import named_map;"
            "from qmf_sym.activations import Staircase;"
            "stochastic_round(torch.zeros(4, dtype=torch.float64), Staircase.uniform(4));"
            "torch_map(named_map('quant', b=3), torch.float64, 'cpu'); print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
