"""Paper 1's appendices as computed answers: run / analyse / plot functions.

Parts for ``qmf reproduce`` (each ``fn(out_dir: Path, quick: bool) -> list[Path]``):

* :func:`reproduce_stochastic_rounding` -- App. D: best chi over sigma_w at sigma_b = 0 of the
  stochastic-rounding (SR) and the deterministic uniform staircase for N = 2..64, their ratio
  (1 - chi_SR) / (1 - chi_det) against its large-N law, and a finite-network check of the SR maps
  (``stochastic_rounding.csv``, ``stochastic_rounding_network.csv``, figure);
* :func:`reproduce_bias` -- App. F: best chi over sigma_w at each sigma_b of a grid, N = 2..64
  (``bias.csv``, figure);
* :func:`reproduce_phase` -- App. F: chi and xi over a sigma_w x sigma_b grid at the true fixed
  point, optimum marked (``phase_N<N>.csv``, heat map with contours), and erf's with its edge of chaos;
* :func:`reproduce_optimal_activation` -- App. G: uniform (= best equal-step) against Lloyd-Max,
  with the certificates (``optimal_activation.csv``, figure);
* :func:`reproduce_init` -- sec. 5, App. I/J: the critical initialisation of the uniform staircase
  for N = 2..64 (``init.csv``: sigma_w, Q*, chi, xi, STE slope, predicted depths);
* :func:`reproduce_ntk` -- sec. 7: the STE NTK with depth at the fixed point for three STE slopes,
  and the empirical NTK of finite networks against the recursion (``ntk_depth.csv``,
  ``ntk_network.csv``, figure);
* :func:`reproduce_large_n` -- eq. 18: the corrected large-N law against the table to N = 1e5, the
  local slope and its decomposition, and the paper's xi / L_max formulas against the exact values
  (``large_n.csv``, ``large_n_paper.csv``, figure);

The torch SR activation (:func:`stochastic_round`) lives here until it has a home in
:mod:`qmf_sim.nn`.  Files are written only through :mod:`qmf_sim.io`.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from qmf_sim import io
from qmf_sym import _validate as V
from qmf_sym import asymptotics as AS
from qmf_sym import optimal_activation as OA
from qmf_sym import phase as PH
from qmf_sym import rounding as R
from qmf_sym import spacing as S
from qmf_sym.activations import Staircase, as_staircase

__all__ = ["stochastic_round", "sr_one_layer_statistics", "stochastic_rounding_table",
           "plot_stochastic_rounding", "reproduce_stochastic_rounding", "bias_table", "plot_bias",
           "reproduce_bias", "phase_axes", "phase_grid", "plot_phase", "write_phase", "reproduce_phase",
           "optimal_activation_table", "reproduce_optimal_activation", "large_n_tables", "reproduce_large_n", "init_report",
           "FITTED_DEPTH_CONSTANT", "empirical_ste_ntk", "reproduce_init", "reproduce_ntk"]


# ============================================================================ App. D: stochastic rounding
def stochastic_round(u, act, generator=None):
    """The SR staircase (App. D; derivations/stochastic_rounding.md) applied elementwise to a torch tensor ``u``: clip to
    [l_0, l_{N-1}], round up to the next level with probability equal to the fractional position
    (fresh, independent noise for every element).  ``generator``: None (torch's global one) or a
    ``torch.Generator``."""
    import torch

    V.float_tensor("u", u)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be None or a torch.Generator, got {type(generator).__name__}")
    act = as_staircase(act)
    lv = torch.tensor(act.levels, dtype=u.dtype, device=u.device)  # a copy: the levels are read-only
    c = u.clamp(lv[0], lv[-1])
    k = (torch.searchsorted(lv, c.contiguous(), right=True) - 1).clamp(0, len(lv) - 2)
    lo, hi = lv[k], lv[k + 1]
    p = (c - lo) / (hi - lo)
    r = torch.rand(u.shape, generator=generator, dtype=u.dtype, device=u.device)
    return torch.where(r < p, hi, lo)


def sr_one_layer_statistics(act, Q, C, sigma_w, sigma_b=0.0, n_prev=2000, n_next=2000, n_draws=16, seed=0):
    """One finite layer with SR activations: (u1, u2) ~ N(0, Q [[1, C], [C, 1]]) on ``n_prev``
    neurons, phi = SR(u) with independent noise per neuron and per input, alpha = W phi + b,
    W ~ N(0, sigma_w^2 / n_prev), b ~ N(0, sigma_b^2).  Per draw: Q_hat = mean alpha_1^2 (and
    alpha_2^2), K12_hat = mean alpha_1 alpha_2 over ``n_next`` neurons: unbiased for the SR
    variance map and Q* x correlation map.  Returns {name: (mean, standard error over draws)}."""
    import torch

    act = as_staircase(act)
    V.positive("Q", Q)
    V.in_closed("C", C, -1, 1)
    V.sigma("sigma_w", sigma_w)
    V.sigma("sigma_b", sigma_b, zero=True)
    n_prev, n_next = V.integer("n_prev", n_prev, 1), V.integer("n_next", n_next, 1)
    n_draws = V.integer("n_draws", n_draws, 2, 10 ** 6, "one layer drawn per draw")
    V.size_product(None, [("n_next", n_next), ("n_prev", n_prev)])
    V.size_product(None, [("n_draws", n_draws), ("n_prev", n_prev), ("pair", 2)])
    g = torch.Generator().manual_seed(V.integer("seed", seed, 0))
    qs, ks = [], []
    for _ in range(n_draws):
        z = torch.randn(2, n_prev, generator=g, dtype=torch.float64)
        u = math.sqrt(Q) * torch.stack([z[0], C * z[0] + math.sqrt(max(0.0, 1 - C * C)) * z[1]])
        phi = stochastic_round(u, act, g)
        W = torch.randn(n_next, n_prev, generator=g, dtype=torch.float64) * (sigma_w / math.sqrt(n_prev))
        b = torch.randn(n_next, 1, generator=g, dtype=torch.float64) * sigma_b
        a = W @ phi.T + b  # (n_next, 2)
        qs.append(0.5 * float((a[:, 0] ** 2).mean() + (a[:, 1] ** 2).mean()))
        ks.append(float((a[:, 0] * a[:, 1]).mean()))
    out = {}
    for name, x in (("Q", np.array(qs)), ("K12", np.array(ks))):
        out[name] = (float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))))
    return out


def stochastic_rounding_table(levels=range(2, 65), dps=None):
    """Rows (N, chi_det, chi_sr, one_minus_det, one_minus_sr, ratio, ratio_asymptotic, s_opt_sr,
    D_opt_det, sigma_w_sr, xi_det, xi_sr): the best chi over sigma_w at sigma_b = 0 of the
    deterministic uniform staircase (eq. 17, :func:`qmf_sym.spacing.optimal_spacing`) and of its SR
    version (:func:`qmf_sym.rounding.optimal_sr`)."""
    rows = []
    for N in levels:
        det = S.optimal_spacing(N, dps=dps, check=False)
        sr = R.optimal_sr(N, dps=dps)
        om_det = 1 - det.chi_max
        rows.append({
            "N": N, "chi_det": det.chi_max, "chi_sr": sr.chi_max,
            "one_minus_det": om_det, "one_minus_sr": sr.one_minus_chi,
            "ratio": sr.one_minus_chi / om_det,
            "ratio_asymptotic": R.ratio_asymptotic(N) if N >= 3 else None,
            "s_opt_sr": sr.s_opt, "D_opt_det": det.D_opt if N > 2 else None,
            "sigma_w_sr": sr.sigma_w if N > 2 else None, "xi_det": det.xi, "xi_sr": sr.xi,
        })
    return rows


def plot_stochastic_rounding(rows, out_dir, large=None):
    """Figure: chi_max (det vs SR) and the ratio (1 - chi_SR)/(1 - chi_det) with its large-N law."""
    plt = io.plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    N = np.array([r["N"] for r in rows], float)
    ax[0].loglog(N + 1, [float(r["one_minus_det"]) for r in rows], "o-", ms=3, label="deterministic (eq. 17)")
    ax[0].loglog(N + 1, [float(r["one_minus_sr"]) for r in rows], "s-", ms=3, label="stochastic rounding")
    ax[0].set_xlabel("N + 1")
    ax[0].set_ylabel(r"$1-\chi_{\max}$ (best over $\sigma_w$, $\sigma_b=0$)")
    # plain integer ticks: the default log labels (3x10^0, 4x10^0, 6x10^0, ...) collide on a short range
    ticks = [t for t in (3, 4, 5, 7, 10, 20, 30, 50, 70, 100, 200, 500, 1000) if N.min() + 1 <= t <= N.max() + 1]
    ticks = ticks[::max(1, len(ticks) // 7)]
    ax[0].set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax[0].xaxis.set_minor_formatter(plt.NullFormatter())
    ax[0].legend()
    allrows = list(rows) + list(large or [])
    Na = np.array([r["N"] for r in allrows], float)
    ax[1].semilogx(Na, [float(r["ratio"]) for r in allrows], "o", ms=3, label="exact")
    Nn = np.logspace(np.log10(16), np.log10(max(Na.max(), 1e4)), 200)  # an asymptotic law
    ax[1].semilogx(Nn, [R.ratio_asymptotic(int(n)) for n in Nn], "-", label="large-N law")
    ax[1].axhline(2, color="k", lw=0.8, ls=":")
    ax[1].set_xlabel("N")
    ax[1].set_ylabel(r"$(1-\chi_{SR})/(1-\chi_{det})$")
    ax[1].legend()
    fig.tight_layout()
    return io.save_figure(fig, out_dir, "stochastic_rounding")


def reproduce_stochastic_rounding(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only stochastic_rounding``: stochastic_rounding.csv (N, chi_det, chi_sr,
    ratio, ...), stochastic_rounding_large_n.csv (N up to 1e4), the finite-network check
    stochastic_rounding_network.csv, and the figure."""
    out_dir = Path(out_dir)
    rows = stochastic_rounding_table(range(2, 17) if quick else range(2, 65))
    cols = list(rows[0])
    paths = [io.write_csv(out_dir / "stochastic_rounding.csv", cols, [[r[c] for c in cols] for r in rows])]
    large = stochastic_rounding_table([128, 256, 1024] if quick else [128, 256, 512, 1024, 2048, 4096, 10000])
    paths.append(io.write_csv(out_dir / "stochastic_rounding_large_n.csv", cols, [[r[c] for c in cols] for r in large]))
    # finite-network check of the SR maps (CPU, small)
    net = []
    act = Staircase.uniform(4)
    for Q, C, sw, sb in ((0.5, 0.3, 1.2, 0.0), (2.0, -0.4, 1.0, 0.3), (0.2, 0.9, 2.0, 0.1)):
        st = sr_one_layer_statistics(act, Q, C, sw, sb, n_prev=500 if quick else 2000,
                                     n_next=500 if quick else 2000, n_draws=8 if quick else 16, seed=11)
        q_th = float(R.variance_map(act, Q, sw, sb))
        k_th = float(R.correlation_map(act, Q, C, sw, sb)) * Q
        net.append([Q, C, sw, sb, q_th, st["Q"][0], st["Q"][1], k_th, st["K12"][0], st["K12"][1]])
    paths.append(io.write_csv(out_dir / "stochastic_rounding_network.csv",
                              ["Q", "C", "sigma_w", "sigma_b", "Q_next_theory", "Q_next_net", "Q_next_se",
                               "K12_theory", "K12_net", "K12_se"], net))
    paths += plot_stochastic_rounding(rows, out_dir, large)
    return paths


# ============================================================================ App. F: the bias
BIAS_GRID = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0)


def bias_table(levels=range(2, 65), sigma_bs=BIAS_GRID):
    """Rows (N, sigma_b, sigma_w, Q_star, C_star, chi, xi, attained, chi_loss, xi_ratio): the best chi
    over sigma_w at each sigma_b (:func:`qmf_sym.phase.best_chi_over_sigma_w`, true fixed point) for
    the uniform N-level staircase (levels -1..1); chi_loss = chi(sigma_b = 0) - chi, xi_ratio =
    xi / xi(sigma_b = 0)."""
    rows = []
    for N in levels:
        base = None
        for sb in sigma_bs:
            b = PH.best_chi_over_sigma_w(N, sb)
            if base is None:
                base = b
            rows.append({"N": N, "sigma_b": sb, "sigma_w": b.sigma_w, "Q_star": b.Q_star, "C_star": b.C_star,
                         "chi": b.chi, "xi": b.xi, "attained": b.attained, "chi_loss": base.chi - b.chi,
                         "xi_ratio": b.xi / base.xi})
    return rows


def plot_bias(rows, out_dir):
    """Figure: xi(sigma_b) / xi(0) of the best sigma_w, one curve per N (a selection)."""
    plt = io.plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    Ns = sorted({r["N"] for r in rows})
    show = [n for n in Ns if n in (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)] or Ns
    cmap = plt.get_cmap("viridis")
    for k, n in enumerate(show):
        rr = [r for r in rows if r["N"] == n and r["sigma_b"] > 0]
        ax[0].semilogx([r["sigma_b"] for r in rr], [r["xi_ratio"] for r in rr], "o-", ms=3,
                       color=cmap(k / max(1, len(show) - 1)), label=f"N={n}")
    ax[0].set_xlabel(r"$\sigma_b$")
    ax[0].set_ylabel(r"$\xi(\sigma_b)/\xi(0)$ at the best $\sigma_w$")
    ax[0].legend(fontsize=7, ncol=2)
    for sb in sorted({r["sigma_b"] for r in rows}):
        rr = [r for r in rows if r["sigma_b"] == sb]
        ax[1].semilogy([r["N"] for r in rr], [max(r["chi_loss"], 1e-17) for r in rr], ".-", label=f"$\\sigma_b$={sb:g}")
    ax[1].set_xlabel("N")
    ax[1].set_ylabel(r"$\chi_{\max}(0) - \chi_{\max}(\sigma_b)$")
    ax[1].legend(fontsize=7)
    fig.tight_layout()
    return io.save_figure(fig, out_dir, "bias")


def reproduce_bias(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only bias``: bias.csv (N = 2..64; quick: N in 2, 3, 4, 8, 16) and figure."""
    out_dir = Path(out_dir)
    rows = bias_table([2, 3, 4, 8, 16] if quick else range(2, 65))
    cols = list(rows[0])
    paths = [io.write_csv(out_dir / "bias.csv", cols, [[r[c] for c in cols] for r in rows])]
    return paths + plot_bias(rows, out_dir)


# ============================================================================ App. F: the phase diagram
def phase_axes(sigma_w=None, sigma_b=None):
    """``(sigma_w, sigma_b)`` of the App. F grid as 1-D float arrays: the values given (sigma_w > 0,
    sigma_b >= 0, finite), or the defaults, 36 sigma_w log-spaced in 0.3..4 and 31 sigma_b in 0..1.5."""
    sw = np.geomspace(0.3, 4.0, 36) if sigma_w is None else V.sigma("sigma_w", V.array("sigma_w", sigma_w, ndim=1))
    sb = np.linspace(0.0, 1.5, 31) if sigma_b is None else V.sigma("sigma_b", V.array("sigma_b", sigma_b, ndim=1), zero=True)
    return np.asarray(sw, float), np.asarray(sb, float)


def phase_grid(act, sigma_w=None, sigma_b=None, rows=None):
    """:func:`qmf_sym.phase.phase_diagram` on the grid of :func:`phase_axes` (default sigma_w 0.3..4,
    sigma_b 0..1.5); ``rows``: its mapping of finished sigma_b rows (taken from it, stored into it)."""
    return PH.phase_diagram(act, *phase_axes(sigma_w, sigma_b), rows=rows)


def phase_rows(pd):
    rows = []
    for i, b in enumerate(pd.sigma_b):
        for j, w in enumerate(pd.sigma_w):
            rows.append([float(w), float(b), pd.Q[i, j], pd.C[i, j], pd.chi[i, j], pd.xi[i, j]])
    return rows


def _plot_phase_line(pd, out_dir, stem):
    """A grid with one sigma_b (or one sigma_w) value: chi and xi drawn as curves of the other one."""
    plt = io.plt()
    along_w = len(pd.sigma_b) == 1
    x = pd.sigma_w if along_w else pd.sigma_b
    chi, xi = (pd.chi[0, :], pd.xi[0, :]) if along_w else (pd.chi[:, 0], pd.xi[:, 0])
    fixed = (rf"$\sigma_b$ = {pd.sigma_b[0]:g}" if along_w else rf"$\sigma_w$ = {pd.sigma_w[0]:g}")
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(x, chi, "o-", color="C0", ms=3, label=r"$\chi$ at $(Q^*, C^*)$")
    ax.set_ylabel(r"$\chi$", color="C0")
    ax.set_xlabel(r"$\sigma_w$" if along_w else r"$\sigma_b$")
    if along_w:
        ax.set_xscale("log")
        ticks = [t for t in (0.3, 0.5, 1, 2, 3, 4) if x.min() <= t <= x.max()]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax2 = ax.twinx()
    ax2.plot(x, xi, "s--", color="C1", ms=3, label=r"$\xi = -1/\log\chi$")
    ax2.set_ylabel(r"$\xi$", color="C1")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best")
    if pd.boundary is None:
        ax.set_title(f"one-row grid at {fixed}: no $\\chi=1$ boundary, $\\chi<1$ everywhere", fontsize=9)
    else:
        edge = [e for e in pd.boundary if e is not None]
        if along_w and edge:
            ax.axvline(float(edge[0].sigma_w), color="k", ls=":", lw=1,
                       label=rf"edge of chaos $\sigma_w$ = {float(edge[0].sigma_w):.4g}")
            h1, l1 = ax.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best")
        ax.set_title(f"{pd.activation}, one-row grid at {fixed}: $\\chi = 1$ on the edge of chaos", fontsize=9)
    fig.tight_layout()
    return io.save_figure(fig, out_dir, stem)


def plot_phase(pd, out_dir, stem):
    """Heat map of chi with contours of xi, the grid optimum and the refined sigma_b = 0 optimum (App. F);
    a grid with a single sigma_b or sigma_w value is drawn as curves of chi and xi instead."""
    if len(pd.sigma_b) == 1 or len(pd.sigma_w) == 1:
        return _plot_phase_line(pd, out_dir, stem)
    plt = io.plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    cmap = plt.get_cmap("magma").with_extremes(bad="0.8")  # cells without a fixed point: grey, in the legend
    im = ax.pcolormesh(pd.sigma_w, pd.sigma_b, np.ma.masked_invalid(pd.chi), shading="auto", cmap=cmap)
    if np.isnan(pd.chi).any():
        ax.plot([], [], "s", color="0.8", ms=7, label="no fixed point Q* > 0 (status in the CSV)")
    fig.colorbar(im, ax=ax, label=r"$\chi$ at $(Q^*, C^*)$")
    xi = np.where(np.isfinite(pd.xi), pd.xi, np.nan)  # inf on the edge of chaos: no contour through it
    cs = ax.contour(pd.sigma_w, pd.sigma_b, xi, levels=[2, 3, 5, 8, 12, 20, 30, 50], colors="w", linewidths=0.7)
    ax.clabel(cs, fontsize=7, fmt=lambda v: f"xi={v:g}")
    ax.plot([pd.grid_optimum[0]], [pd.grid_optimum[1]], "c+", ms=10, label="grid optimum")
    if pd.boundary is not None:
        pts = [(float(e.sigma_w), float(b)) for e, b in zip(pd.boundary, pd.sigma_b) if e is not None]
        if pts:
            ax.plot(*zip(*pts), "c-", lw=1.8, label=r"edge of chaos $\chi_1 = 1$ ($\xi = \infty$)")
    elif math.isfinite(pd.optimum.sigma_w):
        ax.plot([pd.optimum.sigma_w], [0.0], "g*", ms=12, clip_on=False, label=rf"optimum $\sigma_w$={pd.optimum.sigma_w:.4f}")
    ax.set_xscale("log")
    ticks = [t for t in (0.3, 0.5, 1, 2, 3, 4) if pd.sigma_w.min() <= t <= pd.sigma_w.max()]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel(r"$\sigma_w$")
    ax.set_ylabel(r"$\sigma_b$")
    ax.set_title("no $\\chi=1$ boundary: $\\chi<1$ everywhere" if pd.boundary is None else
                 f"{pd.activation}: ordered (left) and chaotic (right) of the $\\chi_1 = 1$ line", fontsize=9)
    ax.set_xlim(pd.sigma_w.min(), pd.sigma_w.max())
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return io.save_figure(fig, out_dir, stem)


def reproduce_phase(out_dir: Path, quick: bool = False, levels=(4, 16)) -> list:
    """``qmf reproduce --only phase``: phase_N<N>.csv and heat maps for the uniform N = 4 and 16, and beside
    them the continuous erf (phase_erf.csv, phase_erf_edge_of_chaos.csv: the chi_1 = 1 line that no staircase
    has; erf for its closed-form arcsin kernel, ~2 s on the full grid)."""
    from qmf_sym.activations import Erf

    out_dir = Path(out_dir)
    grid = (np.geomspace(0.3, 4.0, 12 if quick else 36), np.linspace(0, 1.5, 7 if quick else 31))
    paths = []
    for N in levels[:1] if quick else levels:
        paths += write_phase(phase_grid(N, *grid), out_dir, f"phase_N{N}")
    return paths + write_phase(phase_grid(Erf(), *grid), out_dir, "phase_erf")


def write_phase(pd, out_dir, stem) -> list:
    """``<stem>.csv`` (sigma_w, sigma_b, Q_star, C_star, chi, xi, status) and its figure; for a continuous
    activation also ``<stem>_edge_of_chaos.csv`` (its chi_1 = 1 line: sigma_b, sigma_w, Q_star, chi_1, xi_q).  ``status`` is
    "ok", or why the solver gave no fixed point at that cell; each such cell is also named on stderr,
    so no cell is ever silently blank."""
    status = [pd.status[i, j] for i in range(len(pd.sigma_b)) for j in range(len(pd.sigma_w))]
    rows = phase_rows(pd)
    for (w, b, *_), st in zip(rows, status):
        if st != "ok":
            print(f"{stem}: cell sigma_w={w:g}, sigma_b={b:g} not solved: {st}", file=sys.stderr)
    paths = [io.write_csv(Path(out_dir) / f"{stem}.csv", ["sigma_w", "sigma_b", "Q_star", "C_star", "chi", "xi", "status"],
                          [r + [st] for r, st in zip(rows, status)])]
    if pd.boundary is not None:  # the order-to-chaos line of a continuous activation, one row per sigma_b
        meta = {"activation": pd.activation, "columns": {
            "sigma_w": "the sigma_w with chi_1 = sigma_w^2 E phi'(u)^2 = 1 at Q* (qmf_sym.maps.edge_of_chaos)",
            "Q_star": "the fixed point there; empty where every Q is fixed (ReLU at sigma_b = 0)",
            "xi_q": "the variance depth scale; empty = infinite (sigma_b = 0: Q* = 0)",
            "method": "how the point was found", "status": "ok, or why the line has no point at this sigma_b"}}
        paths.append(io.write_csv(Path(out_dir) / f"{stem}_edge_of_chaos.csv",
                                  ["sigma_b", "sigma_w", "Q_star", "chi_1", "xi_q", "method", "status"],
                                  [[float(b), None, None, None, None, None, "no point of the line at this sigma_b"]
                                   if e is None else [float(b), float(e.sigma_w), float(e.Q_star), float(e.chi_1),
                                                      float(e.xi_q), e.method, "ok"]
                                   for b, e in zip(pd.sigma_b, pd.boundary)], meta=meta))
    return paths + plot_phase(pd, out_dir, stem)


# ============================================================================ App. G: the best activation
def optimal_activation_table(levels=range(2, 65)):
    """Rows (N, chi_uniform, chi_lloyd_max, xi_uniform, xi_lloyd_max, xi_gain, hessian_max_eig,
    best_shift): uniform (= best equal-step staircase) against Lloyd-Max, with the two certificates
    of the equal-steps theorem (derivations/optimal_activation.md): the largest Hessian eigenvalue
    of eq. 16 at the uniform optimum (< 0) and the best grid shift c of the uniform quantizer (0)."""
    rows = []
    for N in levels:
        c = OA.compare_classes(N)
        ev = float(OA.hessian_at_uniform(N).max()) if N >= 3 else None
        cs, m = OA.uniform_offset_scan(N)
        rows.append({"N": N, "chi_uniform": c.chi_uniform, "chi_lloyd_max": c.chi_lloyd_max,
                     "xi_uniform": c.xi_uniform, "xi_lloyd_max": c.xi_lloyd_max, "xi_gain": c.xi_gain,
                     "hessian_max_eig": ev, "best_shift": float(cs[int(np.argmin(m))])})
    return rows


def reproduce_optimal_activation(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only optimal_activation``: optimal_activation.csv (N = 2..64) and figure."""
    out_dir = Path(out_dir)
    rows = optimal_activation_table([2, 3, 4, 8, 16] if quick else range(2, 65))
    cols = list(rows[0])
    paths = [io.write_csv(out_dir / "optimal_activation.csv", cols, [[r[c] for c in cols] for r in rows])]
    plt = io.plt()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot([r["N"] for r in rows], [r["xi_gain"] for r in rows], "o-", ms=3)
    ax.axhline(1, color="k", lw=0.8, ls=":")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$\xi_{\mathrm{Lloyd-Max}} / \xi_{\mathrm{uniform}}$")
    ax.set_title("best equal-step staircase = uniform; free levels: Lloyd-Max", fontsize=9)
    fig.tight_layout()
    return paths + io.save_figure(fig, out_dir, "optimal_activation")


# ============================================================================ eq. 18: the large-N law
LARGE_N_PAPER = (2, 3, 4, 8, 16, 32, 64, 128, 256, 1000, 10000, 100000)


def large_n_tables(N_max=100_000, dense_to=200):
    """(rows, slope, paper): the certified float64 table at N = 3..dense_to and log-spaced to N_max
    with the corrected and leading asymptotic laws; the local slope and its decomposition
    (:func:`qmf_sym.asymptotics.slope_decomposition`); and the paper's xi ~ (1/2)(N+1)^1.82 and
    L_max ~ 3 (N+1)^1.82 against xi_exact = -1/ln chi_max (with 4 xi and 6 xi, sec. 5)."""
    Ns = sorted(set(range(3, dense_to + 1)) | {int(round(x)) for x in np.geomspace(dense_to, N_max, 40)})
    tab = S.table(Ns, check=False)
    rows = []
    for r in tab:
        om = 1 - r.chi_max
        a1, a0 = AS.one_minus_chi_asymptotic(r.N), AS.one_minus_chi_asymptotic(r.N, 0)
        d1, d0 = AS.D_opt_asymptotic(r.N), AS.D_opt_asymptotic(r.N, 0)
        rows.append({"N": r.N, "one_minus_chi": om, "D_opt": r.D_opt, "asym": a1, "asym_leading": a0,
                     "ratio": a1 / om, "ratio_leading": a0 / om, "D_asym": d1, "D_ratio": d1 / r.D_opt,
                     "D_ratio_leading": d0 / r.D_opt})
    d = AS.slope_decomposition(tab)
    slope = [{"N_mid": x, "slope": s_, "s_step": a, "s_gran": b} for x, s_, a, b in zip(d.x, d.slope, d.s_step, d.s_gran)]
    paper = []
    for r in S.table([n for n in LARGE_N_PAPER if n <= N_max], check=False):
        xi = -1 / math.log(r.chi_max)
        paper.append({"N": r.N, "xi_exact": xi, "xi_paper": AS.paper_xi(r.N), "xi_ratio": AS.paper_xi(r.N) / xi,
                      "L_max_paper": AS.paper_L_max(r.N), "six_xi_exact": 6 * xi, "four_xi_exact": 4 * xi})
    return rows, slope, paper


def reproduce_large_n(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only large_n``: large_n.csv, large_n_slope.csv, large_n_paper.csv, figure."""
    out_dir = Path(out_dir)
    rows, slope, paper = large_n_tables(10_000 if quick else 100_000, 80 if quick else 200)
    paths = []
    for name, rr in (("large_n", rows), ("large_n_slope", slope), ("large_n_paper", paper)):
        cols = list(rr[0])
        paths.append(io.write_csv(out_dir / f"{name}.csv", cols, [[r[c] for c in cols] for r in rr]))
    plt = io.plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    x = np.array([r["N_mid"] for r in slope])
    ax[0].semilogx(x, [r["slope"] for r in slope], "-", label="exact local slope")
    ax[0].semilogx(x, [r["s_step"] for r in slope], "--", lw=0.8, label=r"$2\,d\ln\tilde D_{opt}$ part")
    xs = np.geomspace(20, x.max(), 100)
    asym = [(math.log(AS.one_minus_chi_asymptotic(int(v * 1.05))) - math.log(AS.one_minus_chi_asymptotic(int(v / 1.05))))
            / (math.log(int(v * 1.05) + 1) - math.log(int(v / 1.05) + 1)) for v in xs]
    ax[0].semilogx(xs, asym, ":", label="corrected asymptotic law")
    ax[0].semilogx(xs, -2 + 1 / np.log(xs), "-.", lw=0.8, label=r"$-2 + 1/\ln N$")
    ax[0].axhline(-1.82, color="k", lw=0.6, ls=":")
    ax[0].set_xlabel("N")
    ax[0].set_ylabel(r"$d\ln(1-\chi_{\max})/d\ln(N+1)$")
    ax[0].legend(fontsize=7)
    ax[1].loglog([r["N"] for r in paper], [r["xi_exact"] for r in paper], "o", label=r"$\xi$ exact")
    ax[1].loglog([r["N"] for r in paper], [r["xi_paper"] for r in paper], "-", label=r"$\frac{1}{2}(N+1)^{1.82}$")
    ax[1].set_xlabel("N")
    ax[1].set_ylabel(r"$\xi$")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    return paths + io.save_figure(fig, out_dir, "large_n")


# ============================================================================ sec. 5, App. I/J: the initialisation
#: L_max = c xi: the boundary constant fitted by ``qmf reproduce --only trainable_depth`` (smoke preset,
#: digits data, width 128, 300 steps; over N at sigma_w,opt): c = 4.33 +- 0.17 (README "Results").
FITTED_DEPTH_CONSTANT = (4.33, 0.17)


def init_report(N, dps=None, sigma_b=0.0):
    """Everything ``qmf init`` prints for the uniform N-level staircase (levels -1..1, D = 2/(N-1)):
    sigma_w, sigma_b, Q*, C*, chi, xi, the normalised spacing D / sqrt(Q*), the clipped-STE slope
    with backward gain 1 and that gain, and the predicted trainable depth c xi (fitted c) with the
    paper's 4 xi and 6 xi.  Values are floats; with ``dps`` also their digits as strings."""
    from qmf_sym.init import critical_init

    N = V.integer("N", N, 2, 10 ** 6)
    ci = critical_init(N, sigma_b, dps=dps)
    c, c_se = FITTED_DEPTH_CONSTANT
    f = lambda v: float(v)
    xi = f(ci.xi)
    out = {"N": N, "sigma_w": f(ci.sigma_w), "sigma_b": f(ci.sigma_b), "Q_star": f(ci.Q_star),
           "C_star": f(ci.C_star), "chi": f(ci.chi), "xi": xi,
           "D_normalized": (2 / (N - 1)) / math.sqrt(f(ci.Q_star)) if N > 2 and math.isfinite(f(ci.Q_star)) else None,
           "ste_slope": f(ci.ste_slope), "backward_gain": f(ci.backward_gain),
           "depth_fitted": c * xi, "depth_fitted_se": c_se * xi, "depth_fitted_c": c,
           "depth_4xi": 4 * xi, "depth_6xi": 6 * xi, "attained": ci.attained, "method": ci.method}
    if dps is not None:
        import mpmath

        out["digits"] = {k: mpmath.nstr(getattr(ci, k), dps) for k in
                         ("sigma_w", "Q_star", "chi", "xi", "ste_slope")}
    return out


# ============================================================================ sec. 7: the STE NTK
def empirical_ste_ntk(act, Q1, C1, sigma_w, sigma_b=0.0, depth=2, width=1000, n_in=64, slope=1.0, seed=0):
    """Empirical STE NTK of one finite network (:class:`qmf_sim.nn.QuantizedMLP`, clipped STE with
    ``slope``, one output, float64) for two inputs whose first-layer kernel is Q1 [[1, C1], [C1, 1]]:
    Theta(x, x') = sum over layers of (sigma_w^2 / n_in) <df/dW(x), df/dW(x')> + sigma_b^2 <df/db(x),
    df/db(x')> -- the standard-parametrisation gradients rescaled to the NTK parametrisation of
    :mod:`qmf_sym.ntk`.  Returns (Theta11, Theta12, Theta22)."""
    import torch

    from qmf_sim.nn import QuantizedMLP

    V.positive("Q1", Q1)
    V.in_closed("C1", C1, -1, 1)
    sb2 = float(V.sigma("sigma_b", sigma_b, zero=True)) ** 2
    if Q1 <= sb2:
        raise ValueError("Q1 must exceed sigma_b^2 (Q1 = sigma_w^2 |x|^2 / n_in + sigma_b^2)")
    net = QuantizedMLP(n_in, width, depth, 1, act, sigma_w, sigma_b, "clipped", slope, dtype=torch.float64,
                       seed=V.integer("seed", seed, 0))
    r = math.sqrt(n_in * (Q1 - sb2)) / float(sigma_w)
    c = (Q1 * C1 - sb2) / (Q1 - sb2)
    X = torch.zeros(2, n_in, dtype=torch.float64)
    X[0, 0] = r
    X[1, 0], X[1, 1] = r * c, r * math.sqrt(max(0.0, 1 - c * c))
    grads = []
    for i in range(2):
        net.zero_grad()
        net(X[i:i + 1]).sum().backward()
        grads.append([(lin.weight.grad.clone(), lin.bias.grad.clone(), lin.in_features) for lin in net.layers])
    def theta(a, b):
        return sum(float(sigma_w) ** 2 / n * float((ga * gb).sum()) + sb2 * float((ba * bb).sum())
                   for (ga, ba, n), (gb, bb, _) in zip(grads[a], grads[b]))
    return theta(0, 0), theta(0, 1), theta(1, 1)


def reproduce_init(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only init``: init.csv, :func:`init_report` for N = 2..64 (quick: 2..16)."""
    out_dir = Path(out_dir)
    rows = [init_report(N) for N in (range(2, 17) if quick else range(2, 65))]
    cols = [c for c in rows[0] if c != "digits"]
    return [io.write_csv(out_dir / "init.csv", cols, [[r[c] for c in cols] for r in rows])]


def reproduce_ntk(out_dir: Path, quick: bool = False, N=8) -> list:
    """``qmf reproduce --only ntk``: the STE NTK of the uniform N-level staircase at its critical
    initialisation (levels -1..1 with offsets spacing 0.5, so that ``P(|u| < 1)`` matters) with depth, for
    STE slopes s_crit x (0.9, 1, 1.1) (``ntk_depth.csv``), and finite networks against the recursion
    (``ntk_network.csv``: width 400 (quick) / 1000, depth 2, mean and standard error over draws)."""
    from qmf_sym import ntk as NTK
    from qmf_sym.init import critical_init

    out_dir = Path(out_dir)
    act = Staircase.uniform(N, spacing=0.5)
    c = critical_init(act, 0.1)
    m, chi_g, Q, C = NTK.ntk_rates(act, c.sigma_w, 0.1, slope=c.ste_slope)
    depth = 100 if quick else 300
    rows = []
    for f in (0.9, 1.0, 1.1):
        r = NTK.ste_ntk(act, Q, C, c.sigma_w, 0.1, depth=depth, slope=f * c.ste_slope)
        for l in range(len(r.Q)):
            rows.append([f, l + 1, r.theta_diag[l], r.theta_off[l], r.theta_off[l] / r.theta_diag[l]])
    paths = [io.write_csv(out_dir / "ntk_depth.csv", ["slope_factor", "layer", "theta_diag", "theta_off", "ntk_corr"], rows)]
    net = []
    w, draws = (400, 12) if quick else (1000, 24)
    for f in (1.0, 1.1):
        th = NTK.ste_ntk(act, Q, 0.5, c.sigma_w, 0.1, depth=2, slope=f * c.ste_slope)
        e = np.array([empirical_ste_ntk(act, Q, 0.5, c.sigma_w, 0.1, depth=2, width=w, n_in=32,
                                        slope=f * c.ste_slope, seed=300 + k) for k in range(draws)])
        mu, se = e.mean(0), e.std(0, ddof=1) / math.sqrt(draws)
        net.append([f, w, draws, th.theta_diag[-1], mu[0], se[0], th.theta_off[-1], mu[1], se[1]])
    paths.append(io.write_csv(out_dir / "ntk_network.csv", ["slope_factor", "width", "draws", "theta11_theory",
                                                           "theta11_net", "theta11_se", "theta12_theory",
                                                           "theta12_net", "theta12_se"], net))
    plt = io.plt()
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for f in (0.9, 1.0, 1.1):
        rr = [r for r in rows if r[0] == f]
        ax[0].semilogy([r[1] for r in rr], [r[2] for r in rr], label=f"slope = {f:g} s_crit")
        ax[1].plot([r[1] for r in rr], [r[4] for r in rr], label=f"slope = {f:g} s_crit")
    ax[0].set_xlabel("layer")
    ax[0].set_ylabel(r"$\Theta(x, x)$")
    ax[0].legend(fontsize=8)
    ax[1].axhline(C, color="k", lw=0.6, ls=":", label=r"$C^*$")
    ax[1].set_xlabel("layer")
    ax[1].set_ylabel(r"$\Theta(x, x')/\Theta(x, x)$")
    ax[1].legend(fontsize=8)
    fig.suptitle(f"STE NTK, uniform N={N} staircase, critical sigma_w={c.sigma_w:.4g}, sigma_b=0.1", fontsize=9)
    fig.tight_layout()
    return paths + io.save_figure(fig, out_dir, "ntk")


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption); --quick draws no phase_N16
FIGURE_STEMS = {"stochastic_rounding": ("stochastic_rounding",), "bias": ("bias",),
                "phase": ("phase_N4", "phase_N16", "phase_erf"),
                "optimal_activation": ("optimal_activation",), "large_n": ("large_n",), "init": (), "ntk": ("ntk",)}

_PHASE_CAPTION = ("Heat map: chi at the true fixed point (Q*, C*) of the uniform N-level staircase (levels -1..1) over "
                  "sigma_w (log axis) x sigma_b; white contours: the depth scale xi; cyan +: the grid optimum; green "
                  "star: the refined optimum at sigma_b = 0 (qmf_sym.phase.phase_diagram).",
                  "Paper, App. F: empirical evidence that sigma_b > 0 is sub-optimal; chi < 1 everywhere for a "
                  "quantized activation (no chi = 1 boundary, sec. 4).")

#: stem -> (title, what qmf drew, the paper's caption in short), merged by qmf_sim.report.captions
CAPTIONS = {
    "stochastic_rounding": (
        "Paper 1, App. D: stochastic rounding against the deterministic staircase",
        "Left: 1 - chi_max (best over sigma_w at sigma_b = 0) against N + 1 on log axes, circles the deterministic "
        "uniform staircase (eq. 17), squares its stochastic-rounding version (qmf_sym.rounding.optimal_sr). Right: "
        "their ratio (1 - chi_SR) / (1 - chi_det) against N, dots exact, line the large-N law, dotted its limit 2.",
        "Paper, App. D: stochastic rounding can only decrease the signal-propagation depth scale."),
    "bias": (
        "Paper 1, App. F: the cost of a bias sigma_b > 0",
        "Left: xi(sigma_b) / xi(0) at the best sigma_w for each sigma_b, one colour per N. Right: the loss "
        "chi_max(0) - chi_max(sigma_b) against N, one line per sigma_b (true fixed point, "
        "qmf_sym.phase.best_chi_over_sigma_w).",
        "Paper, App. F: empirical evidence that sigma_b > 0 is sub-optimal (sigma_b = 0 is used throughout)."),
    "phase_N4": ("Paper 1, App. F: phase diagram, N = 4", *_PHASE_CAPTION),
    "phase_N16": ("Paper 1, App. F: phase diagram, N = 16", *_PHASE_CAPTION),
    "phase_erf": (
        "Paper 1, sec. 4.2 / App. F: the phase diagram of a continuous activation (erf), for comparison",
        "Heat map: chi at the true fixed point of erf over sigma_w (log axis) x sigma_b; cyan line: the edge of "
        "chaos chi_1 = 1 (qmf_sym.maps.edge_of_chaos), ordered (C* = 1) left of it, chaotic (C* < 1) right, xi "
        "infinite on it; white contours: xi; grey: no fixed point Q* > 0 (sigma_b = 0, sigma_w below the line: "
        "the signal dies out). The line is what the staircase diagrams lack.",
        "Paper, sec. 4.2: for quantized activations chi = 1 is unattainable, unlike smooth activations "
        "(Schoenholz et al. 2017)."),
    "optimal_activation": (
        "Paper 1, App. G: uniform staircase against free levels",
        "xi of the Lloyd-Max quantizer (free levels and offsets) over xi of the uniform staircase (the best "
        "equal-step one, derivations/optimal_activation.md) against N; dotted: 1.",
        "Paper, App. G: numerical results suggest that more complex activations with the same number of levels "
        "do not give better results than the uniform one."),
    "large_n": (
        "Paper 1, eq. 18: the large-N law",
        "Left: the local slope d ln(1 - chi_max) / d ln(N + 1) of the certified table against N (line), its "
        "2 d ln D_opt part (dashed), the corrected asymptotic law (dotted), -2 + 1 / ln N (dash-dot) and the "
        "paper's -1.82 (thin dotted). Right: xi = -1 / ln chi_max exact (circles) against the paper's "
        "(1/2)(N + 1)^1.82 (line).",
        "Paper, eq. 18: xi_N ~ -1 / log(1 - e^0.71 (N + 1)^-1.82) ~ (1/2)(N + 1)^1.82 for large N; L_max ~ "
        "3 (N + 1)^1.82."),
    "ntk": (
        "Paper 1, sec. 7: the STE NTK with depth",
        "Left: the diagonal Theta(x, x) of the STE NTK recursion (qmf_sym.ntk.ste_ntk) against the layer for the "
        "uniform N = 8 staircase (spacing 0.5) at its critical initialisation, sigma_b = 0.1, STE slopes 0.9, 1, "
        "1.1 x s_crit. Right: the NTK correlation Theta(x, x') / Theta(x, x), dotted: C*.",
        "Paper, sec. 7 / App. M: rapid convergence of the correlations makes the NTK independent of the test "
        "point's label; maximal signal propagation mitigates it."),
}
