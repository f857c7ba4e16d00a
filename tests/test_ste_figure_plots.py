"""The drawing of paper 2's Fig. 5 (qmf_sim.experiments.ste_figures.fig5): what each marker's colour says."""
from types import SimpleNamespace

import numpy as np
from matplotlib.colors import to_rgba

from qmf_sim.experiments import ste_figures as F
from qmf_sym import ste


def _fake_simulate_many(plist, d, tau=None, runs=2, seed=0, **kw):
    """Stand-in for the d-dim simulation: a run diverges exactly above eta_c; eps_g sits at the closed form."""
    out = []
    for p in plist:
        ec = float(ste.stability_boundary(p.b_x, p.omega_x))
        div = np.full(runs, p.eta > ec)
        e = float(ste.steady_state_error(p.eta, p.b_x, p.omega_x)) if not div[0] else np.nan
        eps = np.full((runs, len(tau)), e)
        out.append(SimpleNamespace(tau=np.asarray(tau), eps=eps, valid=np.isfinite(eps), diverged=div,
                                   tau_diverged=np.where(div, 5.0, np.inf)))
    return out


def test_fig5_simulation_markers_take_the_colour_of_the_line_they_test(tmp_path, monkeypatch):
    from qmf_sim import ste as S

    monkeypatch.setattr(S, "simulate_many", _fake_simulate_many)
    figs = []  # the figure itself, not its files
    monkeypatch.setattr(F, "save_figure", lambda fig, out, stem: figs.append(fig) or [tmp_path / f"{stem}.png"])
    F.fig5(tmp_path, quick=True)
    left, right = figs[0].axes[:2]
    lines = {ln.get_label(): ln for ln in left.get_lines()}
    om1 = to_rgba(lines[r"$\omega_x$=1"].get_color())
    sims = [ln for ln in left.get_lines() if ln.get_marker() in ("o", "x", "s") and len(ln.get_xdata())]
    assert len(sims) == 8  # b_x = 1..4, below and above eta_c
    assert all(to_rgba(ln.get_color()) == om1 for ln in sims)  # not the colour of another omega_x line
    for ln in sims:  # o below eta_c (converged), x above (diverged)
        bx, eta = ln.get_xdata()[0], ln.get_ydata()[0]
        assert ln.get_marker() == ("x" if eta > float(ste.stability_boundary(int(bx), 1.0)) else "o")
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert any("converged" in t for t in labels) and any("diverged" in t for t in labels)
    # right panel: each simulation point has the colour of its b_x curve
    curve = {ln.get_label(): to_rgba(ln.get_color()) for ln in right.get_lines() if ln.get_label().startswith("b_x=")}
    pts = [c for c in right.containers if len(c.lines[0].get_xdata())]
    assert len(pts) == 12
    for c in pts:
        eta, m = c.lines[0].get_xdata()[0], c.lines[0].get_ydata()[0]
        bx = min(range(1, 5), key=lambda b: abs(float(ste.steady_state_error(eta, b, 1.0)) - m))
        assert to_rgba(c.lines[0].get_color()) == curve[f"b_x={bx}"]
