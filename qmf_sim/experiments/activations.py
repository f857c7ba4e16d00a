"""Any activation, not only staircases (paper 1 sec. 3.1, App. K): fixed points, depth scales, the edge of
chaos, how many levels a staircase needs, and the 2-D linearisation against finite random networks.

Notebook use::

    from qmf_sim.experiments import activations as E
    E.fixed_point_report("tanh", None, sigma_w=1.5, sigma_b=0.05)     # Q*, C*, chi, chi_1, xi (the CLI's numbers)
    rows = E.xi_curves(quick=True)                                    # xi against sigma_w, tanh ... N = 64
    E.levels_to_match("tanh", 1.5, 0.0)                               # smallest N whose optimum reaches that xi
    E.network_rates(act, sigma_w, sigma_b)                            # lambda_Q, lambda_C measured in random nets
    E.reproduce("out/", quick=True)                                   # the ``activations`` part
    E.reproduce_linearisation("out/", quick=True)                     # the ``linearisation`` part

The mathematics is in :mod:`qmf_sym` (``maps`` for every activation, :mod:`qmf_sym.linearisation` for
App. K); this module only runs, tabulates and draws (files through :mod:`qmf_sim.io`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io
from qmf_sym import _validate as V
from qmf_sym import activations as _A

__all__ = ["NAMES", "CONTINUOUS", "STAIRCASE_LEVELS", "make_activation", "fixed_point_report", "xi_curves",
           "edge_of_chaos_rows", "levels_to_match", "levels_table", "network_rates", "linearisation_rows",
           "claim_scan", "softplus", "plot_xi", "reproduce", "reproduce_linearisation", "CAPTIONS",
           "FIGURE_STEMS"]

#: names accepted by ``qmf fixed-point --activation`` (and :func:`make_activation`): those of
#: :func:`qmf_sym.activations.by_name`
NAMES = _A.NAMES
#: the continuous activations of the ``activations`` figure
CONTINUOUS = ("tanh", "erf", "hardtanh")
#: the uniform staircases of the figure (levels -1..1, sec. 5)
STAIRCASE_LEVELS = (2, 4, 16, 64)
SIGMA_BS = (0.0, 0.05)


# ============================================================================ activations by name
def make_activation(name, levels=None):
    """The activation called ``name`` (one of :data:`NAMES`); ``levels`` = N for ``staircase`` only
    (the uniform N-level staircase of sec. 5, levels -1..1), refused otherwise: :func:`qmf_sym.activations.by_name`
    with its messages worded for the command line (``--activation``, ``--levels``)."""
    V.choice("activation", name, NAMES)
    if name == "staircase":
        if levels is None:
            raise ValueError("argument --levels: required for --activation staircase (N >= 2)")
        V.integer("levels", levels, 2, _A.N_MAX)
        return _A.by_name(name, levels=levels)
    if levels is not None:
        raise ValueError(f"argument --levels: only for --activation staircase, not {name}")
    return _A.by_name(name)


def softplus():
    """(activation, torch_fn): softplus log(1 + e^x) as a ``Smooth`` activation with its torch twin -- monotone
    with phi phi'' > 0, the counterexample to the claim of sec. 3.1 (App. K)."""
    import torch

    from qmf_sym.activations import Smooth

    act = Smooth(lambda x: np.logaddexp(0, x), lambda x: 0.5 * (1 + np.tanh(np.asarray(x, float) / 2)),
                 name="softplus")
    return act, torch.nn.functional.softplus


def _label(act):
    from qmf_sym.activations import Staircase

    if isinstance(act, Staircase):
        return "sign" if act.N == 2 else f"staircase N={act.N}"
    return str(getattr(act, "name", type(act).__name__))


def _f(x):
    return None if x is None else float(x)


# ============================================================================ one fixed point (the CLI)
def fixed_point_report(name, levels, sigma_w, sigma_b=0.0, dps=None) -> dict:
    """Q*, C*, 1 - C* (``one_minus_C_star``: the solver's root itself, :class:`qmf_sym.maps.FixedPoint`'s
    ``deficit``, non-zero where float64 rounds C* to 1), chi (eq. 6), chi_1 (the slope at C = 1, where it
    exists: not for staircases), xi (eq. 7) of the activation ``name`` at (sigma_w, sigma_b), from
    :func:`qmf_sym.maps.fixed_point`; with ``dps`` the values also as strings of ``dps`` significant digits
    (``digits``).  ``levels``: N for ``staircase``, levels=None for the others (:func:`make_activation`, whose
    messages name ``--activation`` / ``--levels``)."""
    from qmf_sym import maps
    from qmf_sym.activations import Staircase

    act = make_activation(name, levels)
    fp = maps.fixed_point(act, sigma_w, sigma_b, dps=dps)
    stair = isinstance(act, Staircase)
    chi1 = None
    if not stair:
        chi1 = getattr(fp, "chi_1", None)
        if chi1 is None and hasattr(maps, "chi_1"):
            chi1 = maps.chi_1(act, fp.Q, sigma_w)
    out = {"activation": name, "levels": levels, "sigma_w": float(sigma_w), "sigma_b": float(sigma_b),
           "dps": dps, "Q_star": _f(fp.Q), "C_star": _f(fp.C),
           "one_minus_C_star": _f(fp.deficit), "chi": _f(fp.chi),
           "chi_1": None if chi1 is None else _f(chi1),
           "chi_1_note": "does not exist (staircase)" if stair else None, "xi": _f(fp.xi)}
    if dps is not None:
        import mpmath

        out["digits"] = {k: mpmath.nstr(v, dps) for k, v in
                         (("Q_star", fp.Q), ("C_star", fp.C), ("one_minus_C_star", fp.deficit), ("chi", fp.chi),
                          ("chi_1", chi1), ("xi", fp.xi))
                         if v is not None}
    return out


# ============================================================================ xi against sigma_w
def _fixed(act, sw, sb):
    from qmf_sym import maps

    try:
        fp = maps.fixed_point(act, sw, sb)
        return float(fp.Q), float(fp.C), float(fp.chi), float(fp.xi)
    except (ValueError, ArithmeticError):
        return (math.nan,) * 4


def _sigma_ws(quick):
    return np.round(np.linspace(0.5, 3.0, 26 if quick else 126), 10)


def xi_curves(quick=False, sigma_ws=None, sigma_bs=SIGMA_BS, continuous=CONTINUOUS, levels=STAIRCASE_LEVELS):
    """Rows (activation, sigma_b, sigma_w, Q_star, C_star, chi, xi) over a sigma_w grid (0.5..3, 26 points
    quick / 126 full) for the continuous activations and the uniform staircases; a point without a
    finite fixed point (e.g. tanh at sigma_b = 0, sigma_w <= 1: Q* = 0) is NaN."""
    from qmf_sym.activations import Staircase

    sws = _sigma_ws(quick) if sigma_ws is None else np.asarray(sigma_ws, float)
    acts = [(n, make_activation(n)) for n in continuous] + [
        ("sign" if N == 2 else f"staircase N={N}", Staircase.uniform(N)) for N in levels]
    rows = []
    for label, act in acts:
        for sb in sigma_bs:
            for sw in sws:
                rows.append([label, float(sb), float(sw), *_fixed(act, float(sw), float(sb))])
    return rows


# ============================================================================ the edge of chaos
def edge_of_chaos_rows(quick=False, names=CONTINUOUS, sigma_bs=None):
    """Rows (activation, sigma_b, sigma_w_crit, Q_star, chi_1, lambda_Q, xi_Q, xi_q_maps, xi_C): the order-to-chaos
    line chi_1 = 1 (:func:`qmf_sym.maps.edge_of_chaos`).  On it xi_C (the C direction) is infinite by
    definition; the Q direction still converges, at the rate lambda_Q of App. K
    (:func:`qmf_sym.linearisation.jacobian` at (Q*, 1)), xi_Q = -1/log lambda_Q, beside the ``xi_q`` of
    :func:`qmf_sym.maps.edge_of_chaos` (an independent computation of the same number).  No such line exists
    for a staircase (chi diverges at C = 1, eq. 15)."""
    from qmf_sym import linearisation as L
    from qmf_sym import maps

    sbs = np.round(np.linspace(0.0, 0.5, 6 if quick else 26), 10) if sigma_bs is None else sigma_bs
    rows = []
    for n in names:
        act = make_activation(n)
        for sb in sbs:
            try:
                e = maps.edge_of_chaos(act, float(sb))
            except (ValueError, ArithmeticError):
                rows.append([n, float(sb)] + [math.nan] * 7)
                continue
            sw, Q = float(e.sigma_w), float(e.Q_star)
            if not Q > 0:  # sigma_b = 0: the line meets Q* = 0, no Q direction
                rows.append([n, float(sb), sw, Q, float(e.chi_1), math.nan, math.nan, float(e.xi_q), math.inf])
                continue
            lq = float(L.jacobian(act, Q, 1.0, sw, float(sb)).J[0, 0])
            rows.append([n, float(sb), sw, Q, float(e.chi_1), lq, L._xi(lq), float(e.xi_q), math.inf])
    return rows


# ============================================================================ levels needed
def _stair_opt_xi(N):
    from qmf_sym.spacing import optimal_spacing

    return float(optimal_spacing(int(N), check=False).xi) if N > 2 else -1.0 / math.log(2 / math.pi)


def levels_to_match(xi_target, n_max=100_000):
    """The smallest N whose uniform staircase at its own optimum (sigma_b = 0, D~_opt(N) of eq. 17, i.e.
    sigma_w_opt) has xi >= ``xi_target``; ``None`` when xi_target is infinite or beyond N = ``n_max``.
    (xi_opt(N) increases with N, so a doubling search then bisection.)"""
    V.real("xi_target", xi_target)
    if np.ndim(xi_target):
        raise ValueError(f"xi_target must be a real number, got {xi_target!r}")
    n_max = V.integer("n_max", n_max, 2, _A.N_MAX)
    if not math.isfinite(xi_target):
        return None
    if _stair_opt_xi(2) >= xi_target:
        return 2
    lo, hi = 2, 4
    while _stair_opt_xi(hi) < xi_target:
        lo, hi = hi, hi * 2
        if hi > n_max:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _stair_opt_xi(mid) < xi_target else (lo, mid)
    return hi


def levels_table(quick=False, names=CONTINUOUS, sigma_ws=(0.9, 1.2, 1.5, 2.0, 3.0), sigma_bs=SIGMA_BS):
    """Rows (activation, sigma_w, sigma_b, xi_continuous, N_needed, xi_staircase_at_N): how many levels a
    uniform staircase at its own optimum needs to propagate as deep as the continuous activation at
    (sigma_w, sigma_b).  At the continuous edge of chaos xi is infinite and no N suffices (N_needed empty)."""
    rows = []
    for n in names:
        act = make_activation(n)
        for sb in sigma_bs:
            for sw in sigma_ws:
                xi = _fixed(act, float(sw), float(sb))[3]
                N = levels_to_match(xi) if math.isfinite(xi) else None
                rows.append([n, float(sw), float(sb), xi, N, _stair_opt_xi(N) if N else None])
    return rows


# ============================================================================ App. K against random networks
def _ls_rate(d):
    """Least-squares slope through the origin of d_{l+1} on d_l (rows: seeds): per-seed rates."""
    d = np.asarray(d, float)
    x, y = d[:, :-1], d[:, 1:]
    return (x * y).sum(1) / (x * x).sum(1)


def _mean_field_differences(act, Q, C, sigma_w, sigma_b, eps, depth):
    """dQ_l, dC_l of the mean-field map itself (:func:`qmf_sym.maps.layer_map`) from the same perturbed
    starts as :func:`network_rates`: what the network should show at this eps (the O(eps^2) bias included)."""
    from qmf_sym import maps

    cp, cm = min(C + eps, 1.0), max(C - eps, -1.0)
    qs = np.array([Q * (1 + eps), Q * (1 - eps)])
    q0, cs = Q, np.array([cp, cm])
    dq, dc = [], []
    for _ in range(depth):
        dq.append((qs[0] - qs[1]) / 2)
        dc.append((cs[0] - cs[1]) / 2)
        qs = np.asarray(maps.variance_map(act, qs, sigma_w, sigma_b), float)
        qn, cs = maps.layer_map(act, np.array([q0, q0]), np.clip(cs, -1, 1), sigma_w, sigma_b)
        q0 = float(np.asarray(qn).ravel()[0])
        cs = np.asarray(cs, float)
    return np.array(dq), np.array(dc)


def network_rates(act, sigma_w, sigma_b=0.0, width=2000, depth=5, seeds=range(8), eps=0.1, method="gram",
                  torch_fn=None):
    """lambda_Q and lambda_C measured in finite random networks (eq. 1, torch CPU, float64) started off the
    fixed point (Q*, C*) in each eigen-direction, with common random numbers.

    Per seed: first-layer pre-activations z, w ~ N(0, Q*) i.i.d. over ``width`` units; Q direction: the
    inputs sqrt(1 +- eps) z (variance Q*(1 +- eps)); C direction: z and z'_+- = C_+- z + sqrt(1 - C_+-^2) w
    (variance Q*, correlation C* +- eps).  Through ``depth - 1`` hidden layers of the network of eq. 1
    (``method="weights"``: W ~ N(0, sigma_w^2 / n), b ~ N(0, sigma_b^2) drawn by
    :func:`qmf_sim.nn.init_draws`; ``"gram"``: the layer's pre-activations drawn from their exact law given
    the previous layer, i.i.d. columns N(0, sigma_w^2 h h^T / n + sigma_b^2) over the 5 inputs -- the same
    joint law as the weights, at O(n) cost instead of O(n^2)), the empirical ``Q^(l) = |alpha|^2 / n`` and
    C^(l); dQ_l = (Q_l(+) - Q_l(-)) / 2 and dC_l likewise (common random numbers: the finite-width noise
    largely cancels in the differences).  Per seed the rate is the least-squares slope of d_{l+1} on d_l.

    Returns a dict: ``lambda_Q``, ``lambda_C`` (mean over seeds), ``se_Q``, ``se_C`` (standard errors over
    seeds), ``mf_Q``, ``mf_C`` (the same estimator on the mean-field map from the same starts: the network's
    expectation up to O(1/width), which differs from the eigenvalue by the O(eps^2) nonlinearity of the map)."""
    import torch

    from qmf_sim.nn import activation_forward, init_draws
    from qmf_sym import maps

    width = V.integer("width", width, 2)
    depth = V.integer("depth", depth, 3, 10 ** 4, "the layers are simulated one after the other")
    seeds = V.integers("seeds", seeds, 0)
    V.in_open("eps", eps, 0, 0.5)
    if eps < 1e-8:
        raise ValueError(f"eps must be in [1e-8, 0.5) (the +-eps differences must survive float64 rounding), got {eps!r}")
    V.choice("method", method, ("gram", "weights"))
    V.size_product("width", [("inputs", 5), ("width", width)] if method == "gram"
                   else [("width", width), ("width", width)])
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    Q, C = float(fp.Q), float(fp.C)
    if not Q > 0:
        raise ValueError(f"sigma_w = {sigma_w!r}, sigma_b = {sigma_b!r}: the fixed point is Q* = 0 (the signal dies "
                         f"out, eq. 4), there are no directions off it to measure rates in")
    cp, cm = min(C + eps, 1.0), max(C - eps, -1.0)
    sw, sb = float(sigma_w), float(sigma_b)
    DQ, DC = [], []
    for seed in seeds:
        g = torch.Generator().manual_seed(10_000 + int(seed))
        z = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(Q)
        w = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(Q)
        a = torch.stack([math.sqrt(1 + eps) * z, math.sqrt(1 - eps) * z, z,
                         cp * z + math.sqrt(1 - cp * cp) * w, cm * z + math.sqrt(1 - cm * cm) * w])
        dq, dc = [], []
        layers = init_draws([width] * depth, sw, sb, seed=int(seed)) if method == "weights" else None
        for l in range(depth):
            q = (a * a).mean(1)
            c_p = (a[2] * a[3]).mean() / torch.sqrt(q[2] * q[3])
            c_m = (a[2] * a[4]).mean() / torch.sqrt(q[2] * q[4])
            dq.append(float(q[0] - q[1]) / 2)
            dc.append(float(c_p - c_m) / 2)
            if l == depth - 1:
                break
            h = activation_forward(a, act, torch_fn)
            if method == "weights":
                W, b = next(layers)
                a = h @ W.T + b
            else:
                G = (sw * sw / width) * (h @ h.T) + sb * sb
                ev, U = torch.linalg.eigh(G)
                A = U * ev.clamp_min(0).sqrt()[None, :]
                a = A @ torch.randn(5, width, generator=g, dtype=torch.float64)
        DQ.append(dq)
        DC.append(dc)
    rq, rc = _ls_rate(DQ), _ls_rate(DC)
    mq, mc = _mean_field_differences(act, Q, C, sw, sb, eps, depth)
    n = len(rq)
    return {"Q_star": Q, "C_star": C, "width": width, "depth": depth, "seeds": n, "eps": eps, "method": method,
            "lambda_Q": float(rq.mean()), "se_Q": float(rq.std(ddof=1) / math.sqrt(n)),
            "lambda_C": float(rc.mean()), "se_C": float(rc.std(ddof=1) / math.sqrt(n)),
            "mf_Q": float(_ls_rate([mq])[0]), "mf_C": float(_ls_rate([mc])[0])}


def _lin_settings(quick):
    """(act, sigma_w, sigma_b, torch_fn) of the App. K table."""
    from qmf_sym.activations import Staircase
    from qmf_sym.init import sigma_w_opt

    out = []
    for N in (4, 16):
        a = Staircase.uniform(N)
        out += [(a, float(sigma_w_opt(a)), 0.0, None), (a, float(sigma_w_opt(a)), 0.05, None)]
    for n in CONTINUOUS + ("relu",):
        act = make_activation(n)
        out += [(act, 1.5, 0.05, None), (act, 1.2, 0.3, None)] if n != "relu" else [(act, 1.2, 0.3, None)]
    sp, fn = softplus()
    out.append((sp, 1.0, 0.3, fn))
    return out if not quick else out[:2] + out[4::2]


def linearisation_rows(quick=False, width=None, seeds=None, network=True):
    """Rows for ``linearisation.csv``: per setting the analytic lambda_Q, lambda_C (App. K), their
    finite-difference cross-check error, whether C converges no faster than Q, and (``network``) the rates
    measured in random networks (:func:`network_rates`) with standard errors and their distance in SE."""
    from qmf_sym import linearisation as L

    width = width or (2000 if quick else 8000)
    seeds = seeds or (range(4) if quick else range(12))
    rows = []
    for act, sw, sb, tfn in _lin_settings(quick):
        try:
            lin = L.linearise(act, sw, sb)
        except ValueError:
            continue
        fd = L.jacobian_fd(act, lin.Q, lin.C, sw, sb)
        fd_dev = float(np.max(np.abs(fd.J - lin.J)))
        fd_err = float(np.max(fd.error + lin.error))
        row = [_label(act), sw, sb, lin.Q, lin.C, lin.lambda_Q, lin.lambda_C, float(lin.J[1, 0]), lin.xi_Q, lin.xi_C,
               lin.c_not_faster, fd_dev, fd_err]
        if network:
            r = network_rates(act, sw, sb, width=width, depth=5, seeds=seeds, torch_fn=tfn)
            row += [r["width"], r["seeds"], r["eps"], r["lambda_Q"], r["se_Q"], r["mf_Q"], r["lambda_C"], r["se_C"],
                    r["mf_C"], abs(r["lambda_Q"] - r["mf_Q"]) / r["se_Q"] if r["se_Q"] > 0 else None,
                    abs(r["lambda_C"] - r["mf_C"]) / r["se_C"] if r["se_C"] > 0 else None]
        rows.append(row)
    return rows


LIN_HEADER = ["activation", "sigma_w", "sigma_b", "Q_star", "C_star", "lambda_Q", "lambda_C", "J_CQ", "xi_Q", "xi_C",
              "c_not_faster", "fd_max_dev", "fd_error_bound", "width", "seeds", "eps", "net_lambda_Q", "net_se_Q",
              "mf_lambda_Q", "net_lambda_C", "net_se_C", "mf_lambda_C", "dev_Q_in_se", "dev_C_in_se"]


def claim_scan(names=("tanh", "erf", "hardtanh", "relu"), sigma_ws=(0.8, 1.0, 1.2, 1.5, 2.0, 3.0),
               sigma_bs=(0.0, 0.05, 0.3, 1.0), levels=(2, 4, 16, 64)):
    """Where ``|lambda_C| >= |lambda_Q|`` (the claim of sec. 3.1) holds: rows (activation, sigma_w, sigma_b,
    Q_star, C_star, lambda_Q, lambda_C, holds) over a grid, for the continuous activations, softplus (the
    counterexample) and the uniform staircases (their grid: sigma_w_opt(N) x (0.8, 1, 1.25))."""
    from qmf_sym import linearisation as L
    from qmf_sym.activations import Staircase
    from qmf_sym.init import sigma_w_opt

    settings = []
    for n in names:
        act = make_activation(n)
        settings += [(act, sw, sb) for sw in sigma_ws for sb in sigma_bs]
    sp, _ = softplus()
    settings += [(sp, sw, sb) for sw in sigma_ws[:4] for sb in sigma_bs]
    for N in levels:
        a = Staircase.uniform(N)
        s0 = float(sigma_w_opt(a))
        settings += [(a, f * s0, sb) for f in (0.8, 1.0, 1.25) for sb in sigma_bs]
    rows = []
    for act, sw, sb in settings:
        try:
            lin = L.linearise(act, sw, sb)
        except (ValueError, ArithmeticError):
            continue
        rows.append([_label(act), float(sw), float(sb), lin.Q, lin.C, lin.lambda_Q, lin.lambda_C, lin.c_not_faster])
    return rows


# ============================================================================ figures and parts
def plot_xi(rows, eoc_rows=None):
    """The figure ``activations_xi`` of :func:`reproduce` (paper 1, sec. 3.1 and eq. 7): xi = -1/log chi
    against sigma_w, one log-scale panel per sigma_b of ``SIGMA_BS`` (0, 0.05), from the ``rows`` of
    :func:`xi_curves` (continuous activations solid, staircases dashed); if ``eoc_rows`` (from
    :func:`edge_of_chaos_rows`) are given, a third panel draws the edge-of-chaos line sigma_w(sigma_b)
    where chi_1 = 1 (:func:`qmf_sym.maps.edge_of_chaos`; staircases have none, sec. 4.2).  Returns the
    matplotlib figure (saved by :func:`qmf_sim.io.save_figure`)."""
    plt = io.plt()
    ncol = 3 if eoc_rows else 2
    fig, ax = plt.subplots(1, ncol, figsize=(5 * ncol, 4.2))
    labels = list(dict.fromkeys(r[0] for r in rows))
    for k, sb in enumerate(SIGMA_BS):
        for lab in labels:
            rr = [r for r in rows if r[0] == lab and r[1] == sb]
            x = np.array([r[2] for r in rr])
            y = np.array([r[6] for r in rr], dtype=float)
            y[~np.isfinite(y)] = np.nan
            ls = "-" if lab in CONTINUOUS else "--"
            ax[k].semilogy(x, y, ls, label=lab)
        ax[k].set_xlabel(r"$\sigma_w$")
        ax[k].set_ylabel(r"$\xi = -1/\log\chi$ (eq. 7)")
        ax[k].set_title(rf"$\sigma_b = {sb:g}$")
        ax[k].set_ylim(0.3, 3e3)
        ax[k].legend(fontsize=7)
    if eoc_rows:
        for n in CONTINUOUS:
            rr = [r for r in eoc_rows if r[0] == n and np.isfinite(r[2])]
            ax[2].plot([r[1] for r in rr], [r[2] for r in rr], label=n)
        ax[2].set_xlabel(r"$\sigma_b$")
        ax[2].set_ylabel(r"critical $\sigma_w$ ($\chi_1 = 1$)")
        ax[2].set_title("edge of chaos (none for staircases)")
        ax[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def reproduce(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only activations``: activations_xi.csv (xi against sigma_w, tanh, erf, hard tanh,
    N = 2, 4, 16, 64 at sigma_b = 0, 0.05), edge_of_chaos.csv, levels_needed.csv, c_vs_q_claim.csv and the
    figure activations_xi.{png,pdf}."""
    out_dir = Path(out_dir)
    rows = xi_curves(quick)
    paths = [io.write_csv(out_dir / "activations_xi.csv",
                          ["activation", "sigma_b", "sigma_w", "Q_star", "C_star", "chi", "xi"], rows,
                          meta={"staircases": "uniform, levels -1..1 (sec. 5)",
                                "nan": "no finite fixed point (e.g. tanh, sigma_b = 0, sigma_w <= 1)"})]
    eoc = edge_of_chaos_rows(quick)
    paths.append(io.write_csv(out_dir / "edge_of_chaos.csv",
                              ["activation", "sigma_b", "sigma_w_crit", "Q_star", "chi_1", "lambda_Q", "xi_Q",
                               "xi_q_maps", "xi_C"],
                              eoc, meta={"note": "chi_1 = 1 on the line; no such line exists for staircases"}))
    lv = levels_table(quick)
    paths.append(io.write_csv(out_dir / "levels_needed.csv",
                              ["activation", "sigma_w", "sigma_b", "xi_continuous", "N_needed", "xi_staircase_opt"],
                              lv, meta={"staircase": "uniform N-level at its own optimum (sigma_b = 0, D~_opt(N))"}))
    paths.append(io.write_csv(out_dir / "c_vs_q_claim.csv",
                              ["activation", "sigma_w", "sigma_b", "Q_star", "C_star", "lambda_Q", "lambda_C",
                               "c_not_faster"], claim_scan()))
    return paths + io.save_figure(plot_xi(rows, eoc), out_dir, "activations_xi")


def reproduce_linearisation(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only linearisation``: linearisation.csv (App. K eigenvalues, FD cross-check and
    random networks of width 1000 quick / 2000 full, 4 / 12 seeds) and linearisation.{png,pdf}."""
    out_dir = Path(out_dir)
    rows = linearisation_rows(quick)
    paths = [io.write_csv(out_dir / "linearisation.csv", LIN_HEADER, rows,
                          meta={"network": "5 layers, eps = 0.05 central differences, common random numbers",
                                "se": "standard error over seeds of the per-seed mean one-layer ratio"})]
    plt = io.plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lab = [f"{r[0]}\nsw={r[1]:.3g} sb={r[2]:g}" for r in rows]
    x = np.arange(len(rows))
    ax.errorbar(x - 0.1, [r[16] for r in rows], yerr=[2 * r[17] for r in rows], fmt="o",
                label=r"net $\lambda_Q$ (2 SE)")
    ax.errorbar(x + 0.1, [r[19] for r in rows], yerr=[2 * r[20] for r in rows], fmt="s",
                label=r"net $\lambda_C$ (2 SE)")
    ax.plot(x - 0.1, [r[5] for r in rows], "k_", ms=14, label="theory (App. K)")
    ax.plot(x + 0.1, [r[6] for r in rows], "k_", ms=14)
    ax.set_xticks(x)
    ax.set_xticklabels(lab, fontsize=6, rotation=60)
    ax.set_ylabel("eigenvalue")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return paths + io.save_figure(fig, out_dir, "linearisation")


FIGURE_STEMS = {"activations": ("activations_xi",), "linearisation": ("linearisation",)}
CAPTIONS = {
    "activations_xi": ("Depth scale of continuous and quantized activations",
                       "xi = -1/log chi at the stable fixed point against sigma_w for tanh, erf, hard tanh (solid) and "
                       "the uniform N = 2, 4, 16, 64 staircases (dashed) at sigma_b = 0 and 0.05; right: the "
                       "continuous "
                       "edge of chaos sigma_w(sigma_b) (chi_1 = 1), which no staircase has.",
                       "Paper 1 sec. 4: chi = 1 is unattainable for quantized activations."),
    "linearisation": ("App. K: the two eigenvalues of the linearised layer map",
                      "lambda_Q = dQ'/dQ and lambda_C = chi at (Q*, C*) (black) and as measured in random networks "
                      "started off the fixed point in each direction (2 standard errors over seeds).",
                      "Paper 1 sec. 3.1: C cannot converge faster than Q for monotone activations (App. K)."),
}
