"""Paper 1, sec. 3.2 / App. M: signal propagation and generalization.

The claim: when the correlation map converges fast (depth >> xi), the kernel between a test point and the
training set no longer depends on the test point (it tends to Q* C* for every pair), so the part of the
prediction that carries the test point's label shrinks like chi^depth while the random function the network
starts from does not; the test error of a typical network stops improving and returns to chance, later
the closer chi is to 1 (sigma_w_opt for a staircase, the edge of chaos for a continuous activation).

What is computed (digits set, :func:`qmf_sim.data.load_digits_dataset`; inputs scaled so that the first
layer's pre-activations have variance Q*, isolating the C direction as in Fig. 1):

* the NNGP kernel K^(l) = Q* C^(l) from the correlation map iterate C^(l+1) = M_{Q*}(C^(l)) (eq. 5,
  :func:`qmf_sym.maps.correlation_map` tabulated on a C grid and interpolated, diagonal exactly 1);
* the NTK of :mod:`qmf_sym.ntk` (Theta^(l+1) = K^(l+1) + sigma_w^2 E[g g'] Theta^(l)) with g the clipped STE
  gain of eq. 19 for staircases (:func:`qmf_sym.backward.gain_cross_moment`) and g = phi' for continuous
  activations (sigma_w^2 E phi' phi' = chi, :func:`qmf_sym.maps.chi`), vectorised over all pairs; checked
  against :func:`qmf_sym.ntk.ste_ntk` pair by pair in the tests;
* predictors on one-hot targets: the NNGP posterior mean K(x, X) K^-1 Y ("nngp"), the NTK mean predictor
  Theta(x, X) Theta^-1 Y ("ntk", the ensemble mean of trained wide networks), and the *typical* trained
  wide network f_0(x) + Theta(x, X) Theta^-1 (Y - f_0(X)), f_0 ~ GP(0, K) the network at initialisation
  ("ntk_typical", test error averaged over draws of f_0) -- sec. 3.2's "typical test point" setting;
* finite networks (:class:`qmf_sim.nn.QuantizedMLP`, clipped STE for staircases, true gradient for tanh)
  trained with SGD on the same data (:func:`qmf_sim.training.run_training`).

Each against depth L (also in units of xi = -1/log chi, eq. 7), at sigma_w_opt and off it.
:func:`stop_depth` reports the depth after which the test error no longer improves by more than a
tolerance, :func:`half_depth` the depth at which it has climbed half way back to chance (both also in
units of xi: the README sentence's numbers).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io
from qmf_sym import _validate as V

__all__ = ["settings", "kernel_tables", "kernels", "kernel_errors", "network_errors", "network_errors_many",
           "stop_depth", "half_depth", "mnist_available", "reproduce", "CAPTIONS", "FIGURE_STEMS"]


# ============================================================================ settings
def settings(quick=False):
    """(label, activation, sigma_w, sigma_b) of the comparison: uniform staircases at sigma_w_opt (sec. 5) and at
    2 sigma_w_opt; tanh (if the continuous maps exist) near its edge of chaos at sigma_b = 0.05 and at 2x it."""
    quick = V.flag("quick", quick)
    from qmf_sym import maps
    from qmf_sym.activations import Staircase
    from qmf_sym.init import sigma_w_opt

    out = []
    for N in ((4,) if quick else (4, 16)):
        a = Staircase.uniform(N)
        s = float(sigma_w_opt(a))
        out += [(f"N={N} opt", a, s, 0.0), (f"N={N} 2x opt", a, 2 * s, 0.0)]
    if hasattr(maps, "edge_of_chaos"):
        from qmf_sym.activations import Tanh

        t = Tanh()
        crit = float(maps.edge_of_chaos(t, 0.05).sigma_w)
        out += [("tanh 1.1x crit", t, 1.1 * crit, 0.05), ("tanh 2x crit", t, 2 * crit, 0.05)]
    return out


_DATA_CACHE: dict = {}


def mnist_available() -> bool:
    """True when the verified MNIST copy is in the cache (:func:`qmf_sim.data.mnist_cache_dir`); nothing is
    downloaded here (``qmf data mnist`` does that)."""
    from qmf_sim import data

    try:
        data.verify_mnist_dir(data.mnist_cache_dir())
        return True
    except (OSError, ValueError):
        return False


def _data(quick, name="digits"):
    """(dataset, x_train, y_train, x_test, y_test): digits (quick: the first 300 / 200 of the project split,
    else all 1397 / 400), or an MNIST subset (the first 300 / 200 quick, 1000 / 500 otherwise, of the official
    split, standardised as the training sweep does)."""
    from qmf_sim import data

    if name not in _DATA_CACHE:
        _DATA_CACHE[name] = data.load_digits_dataset() if name == "digits" else data.load_mnist(data.mnist_cache_dir())
    d = _DATA_CACHE[name]
    if name == "digits":
        n_tr, n_te = (300, 200) if quick else (len(d.y_train), len(d.y_test))
    else:
        n_tr, n_te = (300, 200) if quick else (1000, 500)
    return d, d.x_train[:n_tr].astype(np.float64), d.y_train[:n_tr], d.x_test[:n_te].astype(np.float64), d.y_test[:n_te]


# ============================================================================ kernels
def _grid(n=3001):
    """theta = arccos C, uniform on [0, pi]: the maps are smooth in theta at C = +-1 (a staircase's
    1 - M(1 - delta) ~ sqrt(delta) ~ theta), so a cubic spline in theta is accurate to ~1e-12 everywhere
    with 3001 nodes (staircases, closed forms); continuous activations (certified quadrature, slower) use
    401 nodes, accurate to ~1e-10 (tests/test_generalization.py)."""
    return np.linspace(0.0, math.pi, n)


def kernel_tables(act, Q, sigma_w, sigma_b, ste="clipped", slope=1.0):
    """(theta grid, M, gain_off, gain_diag): the correlation map M_{Q*}(C) (eq. 5) and the NTK factor
    sigma_w^2 E[g(u1) g(u2)] at (Q*, C = cos theta), and sigma_w^2 E g(u)^2; g = STE gain for staircases,
    phi' for continuous activations (then gain_off = chi(C), gain_diag = chi_1).  Correlations near +-1 are
    passed as deficit = 2 sin^2(theta/2) / one_plus = 2 cos^2(theta/2) (no cancellation)."""
    from qmf_sym import backward, maps
    from qmf_sym.activations import Staircase

    t = _grid(3001 if isinstance(act, Staircase) else 401)
    d, e = 2 * np.sin(t / 2) ** 2, 2 * np.cos(t / 2) ** 2
    lo, hi = (t > 0) & (t <= math.pi / 2), (t > math.pi / 2) & (t < math.pi)
    M = np.empty_like(t)
    M[0] = 1.0  # the fixed point Q* maps C = 1 to itself
    M[lo] = maps.correlation_map(act, Q, sigma_w=sigma_w, sigma_b=sigma_b, deficit=d[lo])
    M[hi] = maps.correlation_map(act, Q, sigma_w=sigma_w, sigma_b=sigma_b, one_plus=e[hi])
    M[-1] = float(maps.correlation_map(act, Q, -1.0, sigma_w, sigma_b))
    sw2 = float(sigma_w) ** 2
    go = np.empty_like(t)
    inner = np.cos(t[1:-1])
    if isinstance(act, Staircase):
        go[1:-1] = sw2 * np.asarray(backward.gain_cross_moment(Q, inner, ste, slope), float)
        gd = sw2 * float(backward.gain_moment(Q, ste, slope, 2))
        go[-1] = sw2 * float(backward.gain_cross_moment(Q, -1.0 + 1e-15, ste, slope))
    else:
        go[1:-1] = maps.chi(act, Q, inner, sigma_w)
        gd = float(maps.chi_1(act, Q, sigma_w))
        go[-1] = float(maps.chi(act, Q, sigma_w=sigma_w, one_plus=1e-15))
    go[0] = gd
    return t, M, go, gd


def _splines(grid, *tables):
    """c -> the cubic splines (scipy's CubicSpline, not-a-knot) of each table over theta = arccos c, at every
    entry of the array c.  The grid is uniform (:func:`_grid`), so the cell is floor(theta / h): no search,
    and theta and the cell are shared by all tables (4.5x scipy's evaluation of two splines at the 1.6e6
    correlations of the digits set; the same values to 2e-16)."""
    from scipy.interpolate import CubicSpline

    coef = [CubicSpline(grid, v).c for v in tables]  # (4, cells): the cubic of each cell, highest power first
    inv_h, top = 1.0 / (grid[1] - grid[0]), len(grid) - 2

    def f(c):
        t = np.arccos(np.clip(c, -1.0, 1.0))
        k = np.minimum((t * inv_h).astype(np.intp), top)
        x = t - grid[k]
        out = []
        for cf in coef:  # Horner, in place
            r = cf[0].take(k)
            for row in cf[1:]:
                r *= x
                r += row.take(k)
            out.append(r)
        return out
    return f


def _first_layer(xs, Q, sigma_w, sigma_b):
    """C^(1) of all pairs when every input is scaled so that its first-layer variance is Q*:
    sigma_w^2 |x|^2 / n0 + sigma_b^2 = Q*  ->  C_ij = (sigma_w^2 x_i.x_j / n0 + sigma_b^2) / Q*."""
    if Q <= sigma_b ** 2:
        raise ValueError("Q* must exceed sigma_b^2")
    u = xs / np.linalg.norm(xs, axis=1, keepdims=True)
    C = ((Q - sigma_b ** 2) * (u @ u.T) + sigma_b ** 2) / Q
    np.fill_diagonal(C, 1.0)
    return np.clip(C, -1.0, 1.0)


def _solve_errors(Kall, Tall, n_tr, Y, y_te, rng, draws):
    """(err_nngp, err_ntk, err_ntk_typical): test classification errors of the three predictors."""
    tr, te = slice(0, n_tr), slice(n_tr, None)
    Yc = Y - Y.mean(0)
    out = []
    for A in (Kall, Tall):
        Att = A[tr, tr] + 1e-10 * np.trace(A[tr, tr]) / n_tr * np.eye(n_tr)
        pred = A[te, tr] @ np.linalg.solve(Att, Yc)
        out.append(float(np.mean(pred.argmax(1) != y_te)))
    # typical network: f_0 ~ GP(0, K) on train + test jointly, one column per class
    n = Kall.shape[0]
    L = np.linalg.cholesky(Kall + 1e-10 * np.trace(Kall) / n * np.eye(n))
    Ttt = Tall[tr, tr] + 1e-10 * np.trace(Tall[tr, tr]) / n_tr * np.eye(n_tr)
    sol = np.linalg.solve(Ttt, np.eye(n_tr))
    P = Tall[te, tr] @ sol
    errs = []
    for _ in range(draws):
        f0 = L @ rng.standard_normal((n, Y.shape[1]))
        pred = f0[te] + P @ (Y - f0[tr])
        errs.append(float(np.mean(pred.argmax(1) != y_te)))
    out.append(float(np.mean(errs)))
    return out


def kernels(act, sigma_w, sigma_b, c1, depths):
    """Yield (L, C, Theta, Theta_diag) for each depth L in ``depths``: the readout (layer L + 1) correlation
    C = M_{Q*}^L(c1) (eq. 5 iterated, entry-wise over the array ``c1`` of first-layer correlations, inputs at
    variance Q*), the off-diagonal NTK Theta (:mod:`qmf_sym.ntk`'s recursion, STE gain for staircases) and
    the diagonal Theta(x, x), from the tables of :func:`kernel_tables`."""
    from qmf_sym import maps

    c = np.asarray(V.in_closed("c1", V.array("c1", c1), -1, 1), float)
    want = set(V.integers("depths", depths, 1, 10 ** 6))
    fp = maps.fixed_point(act, sigma_w, sigma_b)  # validates act, sigma_w, sigma_b (before the generator starts)
    return _kernels(act, sigma_w, sigma_b, float(fp.Q), c, want)


def _kernels(act, sigma_w, sigma_b, Q, c, want):
    grid, M, go, gd = kernel_tables(act, Q, sigma_w, sigma_b)
    f = _splines(grid, M, go)
    th, th_diag = Q * c, Q  # Theta^(1) = Sigma^(1)
    for l in range(1, max(want) + 1):
        cn, gain = f(c)
        th = Q * cn + gain * th  # Theta of layer l + 1 (hidden layer l's output feeds it)
        th_diag = Q + gd * th_diag
        c = cn
        if l in want:
            yield l, c, th, th_diag


def kernel_errors(act, sigma_w, sigma_b, depths, quick=False, draws=None, seed=0, data="digits"):
    """Rows (depth, xi, depth/xi, err_nngp, err_ntk, err_ntk_typical) of the infinite-width predictors at each
    depth L (L hidden layers, readout layer L+1), from the tabulated maps (module docstring)."""
    from qmf_sym import maps

    draws = draws or (8 if quick else 20)
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    Q, xi = float(fp.Q), float(fp.xi)
    _, xtr, ytr, xte, yte = _data(quick, data)
    n_tr = len(ytr)
    C = _first_layer(np.vstack([xtr, xte]), Q, sigma_w, sigma_b)
    Y = np.eye(10)[ytr] - 0.1
    n = C.shape[0]
    iu = np.triu_indices(n, 1)  # the maps act entry-wise: iterate the strict upper triangle only
    rng = np.random.default_rng(seed)

    def full(v, diag):
        A = np.empty((n, n))
        A[iu] = v
        A.T[iu] = v
        np.fill_diagonal(A, diag)
        return A

    rows = []
    for l, c, th, thd in kernels(act, sigma_w, sigma_b, C[iu], depths):
        e = _solve_errors(Q * full(c, 1.0), full(th, thd), n_tr, Y, yte, rng, draws)
        rows.append([l, xi, l / xi if math.isfinite(xi) else 0.0, *e])
    return rows


# ============================================================================ finite networks
def network_errors(act, sigma_w, sigma_b, depths, quick=False, seeds=(0,), steps=None):
    """Rows (depth, seed, test_error_early, test_error_final) of finite networks trained with SGD on the
    digits set (:func:`qmf_sim.training.run_training`; staircases: clipped STE of eq. 19; tanh: its gradient);
    width 64 / 256, 200 / 800 steps (or ``steps``), batch 32, lr 0.01; errors at step 50 ("early") and the last
    step.  :func:`network_errors_many` for several settings at once."""
    return network_errors_many([(act, sigma_w, sigma_b)], depths, quick, seeds, steps)[0]


def network_errors_many(settings, depths, quick=False, seeds=(0,), steps=None):
    """:func:`network_errors` of each (act, sigma_w, sigma_b) in ``settings``: one list of rows per setting.
    Runs that share a network shape and an activation kind (the uniform staircases at one depth; one
    continuous activation at one depth) train together as one ensemble (:func:`qmf_sim.ensemble.train_ensemble`:
    each member's own init, batches and update, the run alone's numbers to float rounding; 2.9x faster than
    one by one for the four staircase settings at depth 32, width 256); any other activation trains alone
    through a model factory that builds the network from the activation itself."""
    from qmf_sim import ensemble, training
    from qmf_sim.nn import QuantizedMLP
    from qmf_sym.activations import Staircase

    settings = list(settings)
    width, n_steps = (64, 200) if quick else (256, 800)
    steps = n_steps if steps is None else int(steps)
    d, *_ = _data(quick)
    jobs = []  # (setting index, config, model factory or None)
    for k, (act, sigma_w, sigma_b) in enumerate(settings):
        # the run's activation as TrainConfig names it (the uniform staircase by N, a continuous one by name);
        # any other activation goes through the factory (the config's activation fields then stand for
        # nothing: a staircase's N, or a placeholder staircase)
        factory = None
        if isinstance(act, Staircase) and act == Staircase.uniform(act.N):
            fields = dict(levels=act.N)
        elif not isinstance(act, Staircase) and act.name in training.ACTIVATIONS:
            fields = dict(activation=act.name, levels=None)
        else:
            fields = dict(levels=act.N if isinstance(act, Staircase) else 2)

            def factory(cfg, dataset, dtype, dev, _a=act):
                return QuantizedMLP(dataset.n_features, cfg.width, cfg.depth, dataset.n_classes, _a, cfg.sigma_w,
                                    cfg.sigma_b, dtype=dtype, device=dev, seed=cfg.seed)
        for L in depths:
            for s in seeds:
                cfg = training.TrainConfig(depth=max(int(L), 2), width=width, sigma_w=float(sigma_w), **fields,
                                           sigma_b=float(sigma_b), lr=0.01, steps=steps, eval_steps=(50,),
                                           train_eval_size=200, dtype="float32", seed=int(s), data=None,
                                           device="cpu")
                jobs.append((k, cfg, factory))
    recs, groups = [None] * len(jobs), {}
    for i, (_, cfg, factory) in enumerate(jobs):
        if factory is None:
            groups.setdefault(ensemble.ensemble_key(cfg), []).append(i)
        else:
            recs[i] = training.run_training(cfg, dataset=d, model_factory=factory, threads=1)
    for idx in groups.values():
        for i, rec in zip(idx, ensemble.train_ensemble([jobs[i][1] for i in idx], dataset=d, threads=1)):
            recs[i] = rec
    rows = [[] for _ in settings]
    for (k, cfg, _), rec in zip(jobs, recs):  # per setting: its depths, then seeds, in order
        cps = rec["checkpoints"]
        early = next((1 - c["test_acc"] for c in cps if c["step"] == 50), None)
        final = 1 - cps[-1]["test_acc"] if cps and rec["status"] == "ok" else None
        rows[k].append([int(cfg.depth), int(cfg.seed), early, final])
    return rows


# ============================================================================ analysis
def stop_depth(depths, errors, tol=0.01):
    """The depth after which the test error never again improves on its best-so-far by more than ``tol``
    (absolute), and the best error: where deepening stops helping.  ``errors``: one per depth (None or
    nan for a missing one)."""
    depths, errors = _curve(depths, errors)
    V.nonnegative("tol", tol)
    best, stop = math.inf, float(depths[0])
    for d, e in zip(depths, errors):
        if e is None or not math.isfinite(e):
            continue
        if e < best - tol:
            best, stop = e, d
        best = min(best, e)
    return stop, best


CHANCE = 0.9  # ten balanced classes


def _curve(depths, errors):
    """``depths`` (finite, > 0) and ``errors`` (one per depth in [0, 1]; None or nan = missing) as float arrays."""
    depths = V.positive("depths", V.array("depths", depths, ndim=1))
    if isinstance(errors, (list, tuple)):
        errors = [np.nan if e is None else e for e in errors]
    errors = V.array("errors", errors, ndim=1, missing=True)
    if errors.shape != depths.shape:
        raise ValueError(f"depths and errors must have one error per depth, got {depths.size} depths and "
                         f"{errors.size} errors")
    ok = np.isfinite(errors)
    if np.any(np.isinf(errors)):
        raise ValueError(f"errors must be in [0, 1] (nan or None for a missing one), got {errors.tolist()}")
    if ok.any():
        V.in_closed("errors", errors[ok], 0, 1)
    return depths, errors


def half_depth(depths, errors, chance=CHANCE):
    """The depth (log-linear interpolation) at which the test error first climbs half way from its best
    value back to chance: where the depth has eaten half of what the network can generalise.  ``None`` if it
    never does within ``depths``."""
    depths, errors = _curve(depths, errors)
    chance = V.finite("chance", V.in_closed("chance", chance, 0, 1))
    pts = [(float(d), float(e)) for d, e in zip(depths, errors) if math.isfinite(e)]
    if not pts:
        return None
    best = min(e for _, e in pts)
    target = 0.5 * (best + chance)
    for (d0, e0), (d1, e1) in zip(pts, pts[1:]):
        if e0 < target <= e1:
            f = (target - e0) / (e1 - e0)
            return float(math.exp(math.log(d0) + f * (math.log(d1) - math.log(d0))))
    return None


def _depths(quick):
    return (1, 2, 4, 8, 16, 32, 64) if quick else (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


KERNEL_HEADER = ["data", "setting", "activation", "sigma_w", "sigma_b", "depth", "xi", "depth_over_xi", "err_nngp",
                 "err_ntk",
                 "err_ntk_typical"]
NET_HEADER = ["setting", "activation", "sigma_w", "sigma_b", "depth", "seed", "xi", "depth_over_xi",
              "test_error_step50", "test_error_final"]
SUMMARY_HEADER = ["data", "setting", "xi", "predictor", "stop_depth", "stop_depth_over_xi", "best_error", "half_depth",
                  "half_depth_over_xi", "error_at_max_depth"]


def reproduce(out_dir: Path, quick: bool = False) -> list:
    """``qmf reproduce --only generalization``: generalization_kernels.csv, generalization_networks.csv,
    generalization_summary.csv (stop depths in units of xi) and generalization.{png,pdf}."""

    out_dir = Path(out_dir)
    krow, nrow, srow = [], [], []
    depths = _depths(quick)
    net_depths = (2, 16) if quick else (2, 4, 8, 16, 32, 64)
    sets = settings(quick)
    runs = [("digits", st) for st in sets]
    if mnist_available():  # kernel predictors on an MNIST subset too (staircases: closed forms, fast)
        from qmf_sym.activations import Staircase

        runs += [("mnist", st) for st in sets if isinstance(st[1], Staircase)]
    xis = {}
    for data_name, (label, act, sw, sb) in runs:
        name = getattr(act, "name", type(act).__name__)
        rows = kernel_errors(act, sw, sb, depths, quick, data=data_name)
        krow += [[data_name, label, name, sw, sb, *r] for r in rows]
        xi = xis[label] = rows[0][1]
        for k, pred in ((3, "nngp"), (4, "ntk"), (5, "ntk_typical")):
            ds, es = [r[0] for r in rows], [r[k] for r in rows]
            st, best = stop_depth(ds, es)
            hd = half_depth(ds, es)
            srow.append([data_name, label, xi, pred, st, st / xi, best, hd, hd / xi if hd else None, rows[-1][k]])
    # finite networks on digits, every setting at once (shared shapes train as ensembles)
    for (label, act, sw, sb), rows in zip(sets, network_errors_many([st[1:] for st in sets], net_depths, quick)):
        name, xi = getattr(act, "name", type(act).__name__), xis[label]
        nrow += [[label, name, sw, sb, r[0], r[1], xi, r[0] / xi, r[2], r[3]] for r in rows]
    paths = [io.write_csv(out_dir / "generalization_kernels.csv", KERNEL_HEADER, krow,
                          meta={"data": "sklearn digits (qmf_sim.data.load_digits_dataset); mnist: a subset of the "
                                        "cached official MNIST (when present; staircase settings)",
                                "predictors": "nngp: K(x,X)K^-1 Y; ntk: Theta(x,X)Theta^-1 Y; ntk_typical: "
                                              "f0 + Theta(x,X)Theta^-1 (Y - f0(X)), f0 ~ GP(0, K), mean error"}),
             io.write_csv(out_dir / "generalization_networks.csv", NET_HEADER, nrow),
             io.write_csv(out_dir / "generalization_summary.csv", SUMMARY_HEADER, srow,
                          meta={"stop_depth": "depth after which the test error never improves by more than 0.01",
                                "half_depth": "depth where the error first climbs half way from its best back to "
                                              "chance (0.9), log-linear interpolation"})]
    plt = io.plt()
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    for k, (col, title) in enumerate(((8, "NNGP posterior mean"), (10, "typical wide network (NTK, f0 ~ GP)"))):
        for dn, label in dict.fromkeys((r[0], r[1]) for r in krow):
            rr = [r for r in krow if r[0] == dn and r[1] == label]
            ax[k].semilogx([r[7] for r in rr], [r[col] for r in rr], "o-" if dn == "digits" else "x--", ms=3,
                           label=f"{label} ({dn})")
        ax[k].set_xlabel(r"depth / $\xi$")
        ax[k].set_ylabel("test error (digits; MNIST subset dashed)")
        ax[k].set_title(title, fontsize=9)
        ax[k].axhline(0.9, color="gray", ls=":", lw=0.8)
        ax[k].legend(fontsize=7)
    for label in dict.fromkeys(r[0] for r in nrow):
        rr = [r for r in nrow if r[0] == label and r[9] is not None]
        ax[2].semilogx([r[7] for r in rr], [r[9] for r in rr], "s-", ms=3, label=label)
    ax[2].set_xlabel(r"depth / $\xi$")
    ax[2].set_ylabel("test error after SGD (finite, STE)")
    ax[2].axhline(0.9, color="gray", ls=":", lw=0.8)
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    return paths + io.save_figure(fig, out_dir, "generalization")


FIGURE_STEMS = {"generalization": ("generalization",)}
CAPTIONS = {
    "generalization": ("Sec. 3.2 / App. M: signal propagation and generalization (digits, MNIST subset)",
                       "Test error against depth in units of xi: left, the NNGP posterior mean; middle, a typical "
                       "infinite-width network trained to convergence from its random initial function (NTK, STE gain "
                       "for staircases); right, finite networks trained with SGD (STE). Settings at sigma_w_opt (or "
                       "near the edge of chaos) and off it.",
                       "Paper: when C converges fast (depth >> xi) the test error at a typical point does not "
                       "decrease; critical initialisation mitigates it."),
}
