"""``index.html``: the results of ``qmf reproduce`` as one self-contained page.

:func:`write_report` writes ``<out>/index.html``: every figure of the run (PNG inline as a data URI,
the PDF linked by a relative path), each with its caption and, where the paper states a number,
the paper's value beside qmf's and their agreement; the certified tables (``*table*.csv``) as HTML
tables; each part's time; and the provenance.  The page has no scripts, no fonts, no network
references: it opens from disk in any browser.

Figures found: the PNGs each part reported as written, plus every PNG under ``out`` (so a figure a
part wrote without reporting it is still shown); a PNG's PDF is the same stem with ``.pdf``.

Captions: :data:`CAPTIONS` here and the ``CAPTIONS`` dict of each part's module (:func:`captions`).  Each
experiments module also declares ``FIGURE_STEMS = {part: (stem, ...)}``, the figures each of its parts can
write (:func:`figure_stems`; a module without it: the literal stems of its ``save_figure`` calls), so
that a test checks that every figure of every registered part has a caption without running the parts.

A run made with ``--quick`` (the flag, or ``--quick`` in the provenance command of the run's files:
:func:`quick_run`) says so at the top of the page and beside every comparison, with the sizes the
quick run used (:data:`QUICK_SIZES`) and what they imply.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from pathlib import Path

from qmf_sim import io

# stem -> (title, caption: what qmf drew, the paper's caption in short).  An experiments module may
# define its own ``CAPTIONS`` dict of the same form for its figures (merged by :func:`captions`).
CAPTIONS = {
    "fig2_spacing": ("Paper 1, Fig. 2: fixed-point slope of uniform staircases",
                     "Left: chi(D~; N) of eq. 17 with the optima (black dots). Right: 1 - chi_max(N) and D~_opt(N) "
                     "from the certified table, the OLS fits over N = 3..100, the paper's regression and the "
                     "large-N asymptotics.",
                     "Paper: 1 - chi_max is approximated well by a power law in N (eq. 18 regression)."),
    "sign_map": ("Paper 1, sec. 4.1: the sign activation (N = 2)",
                 "Left: the correlation map M(C) of eq. 12 for sigma_b / sigma_w in {0, 0.25, 0.5, 1, 2}; dashed: the "
                 "diagonal. Right: chi = M'(C*) at the stable fixed point against sigma_b / sigma_w; dashed: the 2/pi "
                 "bound (sigma_b = 0), dotted: the limit 1/2.",
                 "Paper: eqs. 11-12; M'(C) diverges at C = 1, so no stable fixed point has chi = 1; chi_max = 2/pi at "
                 "sigma_b = 0 (xi_max < 3)."),
    "fig1": ("Paper 1, Fig. 1: covariance propagation in random quantized networks",
             "Empirical covariance between hidden states vs the input angle difference Delta theta at several layers "
             "(N = 16), for sigma_w = factor x sigma_w_opt; the mean field drawn over it.",
             "Paper: signal propagation is maximised at sigma_w = sigma_w_opt and degrades away from it."),
    "fig1_heatmap": ("Paper 1, Fig. 1 (heat maps)",
                     "The empirical correlation C^(l) of Fig. 1 as heat maps over layer l (vertical) and Delta theta "
                     "(horizontal), one panel per sigma_w = factor x sigma_w_opt (N = 16).",
                     "Paper: as Fig. 1; the correlation structure survives most layers at sigma_w_opt."),
    "finite_width": ("Finite-width error of the mean field",
                     "RMS error of the mean-field Q and C over independent networks vs width n, with fitted slopes "
                     "(expected -1/2).", ""),
    "trainable_depth_sigma": ("Paper 1, Fig. 3 left: trainable depth vs sigma_w (N = 10)",
                              "Test accuracy vs depth and sigma_w; curves xi, 4 xi, 6 xi of the mean field; orange: "
                              "the accuracy-midpoint boundary per column and its fit L = c xi.",
                              "Paper: accuracy is high up to ~4 xi layers early in training; beyond ~6 xi the "
                              "networks appear untrainable."),
    "trainable_depth_levels": ("Paper 1, Fig. 3 right: trainable depth vs N (sigma_w optimal)",
                               "As the left panel, columns N with sigma_w = sigma_w_opt(N).",
                               "Paper: as left; L_max ~ 3 (N+1)^1.82."),
    "ste_fig1": ("Paper 2, Fig. 1: weight density, simulations vs PDE",
                 "Red bars: histogram of the d latent weights w_hat of one d-dimensional STE run (d = 3000; quick: "
                 "1000) at tau = 10, 25, 50, 100; blue line: the PDE density (spec sec. 4.3) from the same start. "
                 "b = b_x = 2, omega = omega_x = 2, w* = 1, N(0, 1) start, eta = 0.04, lam = 1 (eta and lam are not "
                 "in the paper's caption).",
                 "Paper: mu_tau(w_hat | w* = 1) at tau in {10, 25, 50, 100}, d = 3000, w* = 1, mu_0 standard "
                 "Gaussian, weights and inputs quantized with omega = 2, b = 2; the red histograms (simulations) "
                 "match the blue PDE curves."),
    "ste_fig2": ("Paper 2, Fig. 2: eps_g(tau) vs weight bits b",
                 "Hollow symbols with bars: mean +- standard deviation over runs of eps_g of the d-dimensional STE "
                 "SGD (d = 900, 5 runs; quick: d = 300, 3 runs), one colour and marker per b in {2, 3, 4, 5}; line of "
                 "the same colour: the model (exact moment equations fed by the PDE, spec sec. 4.4 ii). Weights "
                 "quantized, inputs not; eta = 0.04, lam = 1, omega = 1.",
                 "Paper: b in {2, 3, 4, 5}, eta = 0.04, lambda = 1, omega = 1, d = 900; symbols with error bars: STE "
                 "simulations over five runs; solid curves: the ODE prediction."),
    "ste_fig3": ("Paper 2, Fig. 3: eps_g(tau) vs range omega at b = 3",
                 "As Fig. 2 (symbols: simulations, mean +- std over runs; lines: the model), one colour per weight "
                 "range omega in {0.25, 0.5, 1, 1.25, 1.5} at b = 3; d = 900, 5 runs (quick: 300, 3), eta = 0.04, "
                 "lam = 1 (d, runs, eta, lam as Fig. 2: not in the paper's caption).",
                 "Paper: b = 3, omega in {0.25, 0.50, 1.00, 1.25, 1.50}; symbols: STE simulations over five runs; "
                 "solid curves: the ODE prediction."),
    "ste_fig4": ("Paper 2, Fig. 4: joint weight and input quantization",
                 "Symbols: simulations (mean +- std over 5 runs, d = 500; quick: 3 runs, d = 250); curves: the model; "
                 "panels b = 3 and b = 4, one colour per input bits b_x. The b_x = 3, 4, 5 curves "
                 "nearly coincide: at omega_x = 1 the input moments the ODE sees hardly change with b_x "
                 "(kappa = E[z phi(z)] = 0.684, 0.683, 0.683; sigma_phi^2 = E[phi(z)^2] = 0.524, 0.518, 0.516; "
                 "qmf_sym.ste.input_moments), because clipping at |z| = 1, not the resolution, dominates; the "
                 "unquantized-input curve (kappa = sigma_phi^2 = 1) stands apart.",
                 "Paper: omega = 1, T = 0, d = 500, eta = 0.05, lambda = 1, b in {3, 4} (top, bottom), b_x in {3, 4, 5} "
                 "and unquantized inputs; symbols: simulations over five runs; curves: the ODE."),
    "ste_fig5": ("Paper 2, Fig. 5: input-only quantization, long times",
                 "Left: eta_c = 2 / sigma_psi^2 against the input bits b_x for omega_x in {0.5, 1, 2, 3} (lines; "
                 "dashed: unquantized, 2); orange markers on the omega_x = 1 line: d-dimensional simulations at "
                 "0.85 eta_c (o: all runs converged) and 1.15 eta_c (x: all runs diverged). Right: the closed-form "
                 "eps_g*(eta) for b_x = 1..4 at omega_x = 1 (lines); hollow markers of the same colour: the "
                 "late-time simulation mean +- s.e. lam = 0, sigma^2 = 0; d = 500, 3 runs (quick: 200, 2).",
                 "Paper: input-only quantization, lambda = 0, sigma^2 = 0. Left: the stability boundary 2 / "
                 "sigma_psi^2 (for larger eta no asymptotically stable fixed point exists); dashed: the unquantized "
                 "baseline. Right: the steady-state eps_g*."),
}


def captions(parts=()) -> dict:
    """:data:`CAPTIONS` plus the ``CAPTIONS`` dict (same form: stem -> (title, caption, paper's
    caption)) of each part's module, so that a module adding a figure also supplies its caption."""
    import importlib

    from qmf_sim import experiments

    out = dict(CAPTIONS)
    for part in parts:
        for spec in experiments.PARTS.get(part, ()):
            try:
                out.update(getattr(importlib.import_module(spec.split(":")[0]), "CAPTIONS", {}) or {})
            except ImportError:
                pass
    return out


def _literal_stems(mod) -> tuple:
    """The stems written as string literals in the module's ``save_figure(fig, out_dir, "stem")`` calls."""
    import ast
    import inspect

    try:
        tree = ast.parse(inspect.getsource(mod))
    except (OSError, TypeError, SyntaxError):
        return ()
    stems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name == "save_figure":
                arg = node.args[2] if len(node.args) > 2 else next((k.value for k in node.keywords if k.arg == "stem"),
                                                                    None)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    stems.append(arg.value)
    return tuple(dict.fromkeys(stems))


def figure_stems(part) -> tuple | None:
    """The figure stems ``part`` can write: ``FIGURE_STEMS[part]`` of the module of its function (its
    first home in :data:`qmf_sim.experiments.PARTS`), else the string-literal stems of that module's
    ``save_figure`` calls; ``None`` when neither exists.  A part that writes no figure declares ``()``."""
    import importlib

    from qmf_sim import experiments

    for spec in experiments.PARTS.get(part, ()):
        try:
            mod = importlib.import_module(spec.split(":")[0])
        except ModuleNotFoundError:
            continue
        stems = (getattr(mod, "FIGURE_STEMS", None) or {}).get(part)
        if stems is not None:
            return tuple(stems)
        return _literal_stems(mod) or None
    return None


def _presets_text():
    from qmf_sim.sweep import PRESETS

    def one(name):
        p = PRESETS[name]
        return (f"width {p['width']}, {p['steps']} steps, depths {', '.join(map(str, p['depths']))}, "
                f"sigma_w factors {', '.join(f'{f:g}' for f in p['sigma_w_factors'])}, "
                f"N in {', '.join(map(str, p['levels']))}")

    return f"preset 'quick': {one('quick')} (full reproduce: preset 'smoke', {one('smoke')}; the paper: width 2048, " \
           f"1600 steps)"


#: part -> the sizes ``--quick`` uses (and the full run's), as the parts' reproduce functions set them (keep in
#: step); ``None``: computed (:func:`quick_sizes`); a part not listed gets a general sentence
QUICK_SIZES = {
    "spacing": "certified table N = 2..64 at 20 digits, float64 fit table to N = 1000 (full: N = 2..256 at 30 "
               "digits, to N = 10 000)",
    "sign": "31 ratios sigma_b / sigma_w (full: 121)",
    "fig1": "depth 40, width 300, r = 120 inputs on the circle, sigma_w factors 0.85, 1, 1.2 (full and paper: depth "
            "100, width 1000, r = 500; full: factors 0.7 .. 1.5)",
    "finite_width": "widths 64, 256, 1024, depth 10, 32 networks per width, sigma_w factor 1 (full: widths 64 .. "
                    "4096, depth 30, 128 networks, factors 1 and 1.5)",
    "trainable_depth": None,
    "ste_fig1": "d = 1000 (full and paper: d = 3000)",
    "ste_fig2": "d = 300, 3 runs, tau <= 80 (full and paper: d = 900, 5 runs; full: tau <= 160)",
    "ste_fig3": "d = 300, 3 runs, tau <= 80 (full and paper: d = 900, 5 runs; full: tau <= 160)",
    "ste_fig4": "d = 250, 3 runs, tau <= 60 (full and paper: d = 500, 5 runs; full: tau <= 100)",
    "ste_fig5": "d = 200, 2 runs, tau <= 40 (full: d = 500, 3 runs, tau <= 80)",
    "ste_closures": "3 of the 13 settings of Figs. 2-4, on a quarter of each time range (full: all 13, whole range)",
    "ste_plateau": "d = 200, 2 runs, 20 000 particles in the example curves, omega in {0.25, 0.5}, two starts, "
                   "clipped STE and lam = 1 only, a 3 x 3 phase map (full: d = 1000 / 500, 5 / 4 runs, 100 000 "
                   "particles, 10 omegas, four starts, both STEs, lam = 1 and 0.5, a 10 x 7 map)",
    "ste_uses": "d = 200, 2 runs, b = 1..4, omega in {0.5, 1}, lam = 1, two learning rates, one schedule setting "
                "(full: d = 500, 3 runs, b = 1..8, six omegas, lam = 1 and 0.1, eight rates, five settings)",
    "stochastic_rounding": "N = 2..16 and 128, 256, 1024; 500-unit networks (full: N = 2..64 and to 10 000; 2000)",
    "bias": "N in {2, 3, 4, 8, 16} (full: N = 2..64)",
    "phase": "N = 4 and erf, a 12 x 7 grid (full: N = 4, 16 and erf, 36 x 31)",
    "optimal_activation": "N in {2, 3, 4, 8, 16} (full: N = 2..64)",
    "large_n": "to N = 10 000, dense to N = 80 (full: to 100 000, dense to 200)",
    "init": "N = 2..16 (full: N = 2..64)",
    "ntk": "depth 100, width 400, 12 draws (full: depth 300, width 1000, 24 draws)",
}

QUICK_MEANS = ("smaller networks, dimensions d, fewer runs, training steps and grid points than the paper's. "
               "Standard errors are larger and finite-size effects bigger, fits with too few points show 'n/a', and "
               "gaps of 2-3 SE between simulation and theory are expected from these sizes alone: such a page checks "
               "that every part runs, it does not test the papers. Run qmf reproduce without --quick for the full "
               "sizes.")


def quick_sizes(part) -> str:
    """What ``--quick`` changes in ``part``: :data:`QUICK_SIZES`, else ``QUICK_SIZES[part]`` of the part's
    module (a new part may say it there), else a general sentence."""
    import importlib

    from qmf_sim import experiments

    if part == "trainable_depth":
        try:
            return _presets_text()
        except (ImportError, KeyError):
            pass
    if QUICK_SIZES.get(part):
        return QUICK_SIZES[part]
    for spec in experiments.PARTS.get(part, ()):
        try:
            text = (getattr(importlib.import_module(spec.split(":")[0]), "QUICK_SIZES", None) or {}).get(part)
        except ImportError:
            continue
        if text:
            return text
    return "reduced sizes (see the part's reproduce function)"


def quick_run(out, quick=False) -> bool:
    """Whether the results in ``out`` come from a ``--quick`` run: the flag, else ``--quick`` in the
    provenance command of any JSON file there (a CSV's sidecar included), two levels down."""
    if quick:
        return True
    out = Path(out)
    for pattern in ("*.json", "*/*.json"):
        for p in out.glob(pattern):
            try:
                _, prov = io.read_json(p, provenance=True)
            except (OSError, ValueError):
                continue
            if isinstance(prov, dict) and "--quick" in str(prov.get("command") or "").split():
                return True
    return False


def _esc(x) -> str:
    return html.escape(str(x))


def _num(v, spec=".4g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def _read(path):
    try:
        return io.read_json(path)
    except (OSError, ValueError):
        return None


def comparisons(out: Path) -> list[tuple]:
    """Rows ``(figure, quantity, paper, qmf, agreement)`` from the run's JSON summaries (what exists)."""
    rows = []
    fit = _read(out / "spacing_fit.json")
    if isinstance(fit, dict) and "fit" in fit:
        f = fit["fit"]["one_minus_chi"]
        for k, paper in (("a", 0.71), ("b", -1.82)):
            se = f.get(f"se_{k}")
            z = abs(f[k] - paper) / se if se else math.nan
            rows.append(("fig2_spacing", f"1 - chi_max = e^a (N+1)^b: {k}", paper, f"{f[k]:.4f} (SE {se:.2g})",
                         f"|diff| = {abs(f[k] - paper):.3f}: the paper quotes 2 digits; "
                         + ("agrees to its rounding" if abs(f[k] - paper) <= 0.005 else f"{z:.1f} SE")))
    for tag in ("trainable_depth", "trainable_depth_mnist"):
        fj = _read(out / tag / "fit.json")
        if isinstance(fj, dict):
            for panel, an in fj.items():
                if isinstance(an, dict) and "c" in an:
                    c = an["c"]
                    where = ("no fit" if c is None or not math.isfinite(c) else
                             "below the paper's ~4 xi (qmf's presets train far fewer steps than 1600)" if c < 4 else
                             "within the paper's 4 xi - 6 xi" if c <= 6 else "above the paper's ~6 xi")
                    rows.append((f"trainable_depth_{panel}", "boundary fit c in L = c xi",
                                 "~4 xi early in training, ~6 xi late",
                                 f"{_num(c, '.2f')} (bootstrap SE {_num(an.get('se_boot'), '.2f')}, "
                                 f"{an.get('n_used')} columns)", where))
    f1 = _read(out / "fig1.json")
    if isinstance(f1, dict) and "runs" in f1:
        for r in f1["runs"]:
            rows.append(("fig1", f"1/e decay layer at sigma_w = {_num(r['sigma_w'], '.3f')}", "mean field (eq. 4)",
                         f"empirical {_num(r['decay_emp'], '.2f')} vs mean field {_num(r['decay_mf'], '.2f')} "
                         f"(xi = {_num(r['xi'], '.2f')})", "n/a" if r["decay_emp"] is None or r["decay_mf"] is None
                         else f"{abs(r['decay_emp'] - r['decay_mf']):.2f} layers apart"))
    fw = _read(out / "finite_width.json")
    if isinstance(fw, dict) and "fits" in fw:
        for r in fw["fits"]:
            for k, v in r["exponents"].items():
                want, why = (-1.0, "-1 (bias is O(1/n))") if k.endswith("bias") else (-0.5, "-1/2 (CLT fluctuations)")
                rows.append(("finite_width", f"width exponent of {k} (sigma_w = {_num(r['sigma_w'], '.3f')})",
                             why, _num(v, ".3f"),
                             "n/a (bias not resolved above 3 SE at enough widths)" if v is None
                             else f"{abs(v - want):.3f} from {want:g}"))
    return rows + ste_comparisons(out)


# ---------------------------------------------------------------------------- paper 2 (STE dynamics)
def _floats(path):
    """Rows of a CSV as dicts of floats where a cell parses as one (else the string; empty: None)."""
    def conv(v):
        if v is None:
            return None
        try:
            return float(v)
        except ValueError:
            return v

    try:
        return [{k: conv(v) for k, v in r.items()} for r in io.read_csv(path)]
    except OSError:
        return None


def _meta(path) -> dict:
    side = _read(io.sidecar_path(path))
    return (side or {}).get("meta") or {} if isinstance(side, dict) else {}


def _sizes(meta, paper_d, paper_runs=None) -> tuple[str, str]:
    """(qmf's d and runs, agreement) from a CSV sidecar's meta against the paper's d and runs."""
    d, runs = meta.get("d"), meta.get("runs")
    if d is None:
        return "d, runs not recorded", "n/a"
    txt = f"d = {d:g}" + (f", {runs:g} run{'s' if runs != 1 else ''}" if runs is not None else "")
    same = d == paper_d and (paper_runs is None or runs == paper_runs)
    return txt, "as the paper" if same else "smaller than the paper's"


def _ste_fig1(out):
    hist, pde = _floats(out / "ste_fig1_hist.csv"), _floats(out / "ste_fig1_pde.csv")
    if not hist or not pde:
        return []
    import numpy as np

    meta = _meta(out / "ste_fig1_hist.csv")
    sz, agree = _sizes(meta, 3000)
    rows = [("ste_fig1", "dimension d (one run)", "d = 3000, w* = 1, N(0, 1) start, b = omega = 2 (weights and inputs)",
             f"{sz}, w* = 1, N(0, 1) start, b = b_x = 2, omega = omega_x = 2", agree)]
    n = meta.get("d", 0) * meta.get("runs", 1)
    x = np.array([r["w_center"] for r in hist])
    width = float(x[1] - x[0])
    w = np.array([r["w"] for r in pde])
    for col in [c for c in hist[0] if c.startswith("sim_density[")]:
        tag = col[len("sim_density["):-1]
        h = np.array([r[col] or 0.0 for r in hist])
        p = np.interp(x, w, np.array([r.get(f"pde_density[{tag}]") or 0.0 for r in pde]))
        tv = 0.5 * float(np.sum(np.abs(h - p)) * width)
        # sampling noise of a histogram of n independent draws: E|count/n - p_i width| ~ sqrt(2 p_i width / (pi n))
        floor = 0.5 * float(np.sum(np.sqrt(2 * np.maximum(p, 0) * width / (math.pi * n)))) if n else math.nan
        ratio = tv / floor if floor and math.isfinite(floor) else math.nan
        rows.append(("ste_fig1", f"total variation |histogram - PDE| / 2 at {tag}", "the histograms match the PDE",
                     f"{tv:.3f} (noise floor of {n:g} draws in {x.size} bins: {floor:.3f})",
                     "n/a" if not math.isfinite(ratio) else
                     "within the sampling noise" if ratio <= 1.5 else f"{ratio:.1f} x the sampling noise"))
    return rows


def _z(z) -> str:
    return f"{z:.1f}" if z < 100 else "> 100"


_EPS_FIGS = {  # stem -> (CSV names, paper's settings, paper d, paper runs)
    "ste_fig2": (("ste_fig2",), "d = 900, 5 runs, eta = 0.04, lam = 1, omega = 1, b in {2, 3, 4, 5}", 900, 5),
    "ste_fig3": (("ste_fig3",), "b = 3, omega in {0.25, 0.5, 1, 1.25, 1.5}, five runs (d, eta, lam: as Fig. 2)", 900, 5),
    "ste_fig4": (("ste_fig4_b3", "ste_fig4_b4"), "d = 500, five runs, eta = 0.05, lam = 1, omega = omega_x = 1, T = 0, "
                 "b in {3, 4}, b_x in {3, 4, 5} and unquantized", 500, 5),
}


def _ste_eps(out, stem):
    """Sizes and, per curve, the largest gap between the simulation mean and the model in standard errors
    (std over runs / sqrt(runs)) over tau > 0."""
    import numpy as np

    names, paper, pd, pr = _EPS_FIGS[stem]
    rows = []
    for name in names:
        sim, th = _floats(out / f"{name}_sim.csv"), _floats(out / f"{name}_theory.csv")
        if not sim or not th:
            continue
        meta = _meta(out / f"{name}_sim.csv")
        if name == names[0]:
            sz, agree = _sizes(meta, pd, pr)
            keys = ("eta", "lam", "omega", "b", "b_x", "omega_x", "tau_max")
            rows.append((stem, "settings", paper, sz + "".join(f", {k} = {meta[k]}" for k in keys if k in meta), agree))
        runs = meta.get("runs")
        tau = np.array([r["tau"] for r in sim])
        tt = np.array([r["tau"] for r in th])
        panel = name[len(stem) + 1:]
        for col in [c for c in sim[0] if c.startswith("sim_mean[")]:
            lab = col[len("sim_mean["):-1]
            m = np.array([np.nan if r[col] is None else r[col] for r in sim], float)
            sd = np.array([np.nan if r[f"sim_std[{lab}]"] is None else r[f"sim_std[{lab}]"] for r in sim], float)
            model = np.interp(tau, tt, np.array([np.nan if r[f"theory[{lab}]"] is None else r[f"theory[{lab}]"]
                                                 for r in th], float))
            se = sd / math.sqrt(runs) if runs else sd
            ok = (tau > 0) & np.isfinite(m) & np.isfinite(model) & (sd > 1e-9)  # sd ~ 0: runs not independent
            what = f"{lab}{' (' + panel + ')' if panel else ''}: simulation vs model"
            if not ok.any():
                rows.append((stem, what, "symbols on the curve", "no finite point", "n/a"))
                continue
            z = np.abs(m - model)[ok] / se[ok]
            k = int(np.argmax(z))
            unit = "SE" if runs else "std"
            rows.append((stem, what, "symbols on the curve",
                         f"max |sim - model| = {np.max(np.abs(m - model)[ok]):.4f}; largest gap {_z(z[k])} {unit} at tau = "
                         f"{tau[ok][k]:g}; median {np.median(z):.1f} {unit}",
                         f"within 3 {unit}" if z[k] <= 3 else f"{_z(z[k])} {unit} apart at its largest gap"))
    return rows


def _ste_fig5(out):
    b, st = _floats(out / "ste_fig5_sim_boundary.csv"), _floats(out / "ste_fig5_sim_steady.csv")
    rows = []
    if b:
        meta = _meta(out / "ste_fig5_sim_boundary.csv")
        sz = (f"d = {meta['d']:g}, {meta['runs']:g} runs, tau <= {meta.get('tau_max', math.nan):g}" if "d" in meta
              else "d, runs not recorded")
        rows.append(("ste_fig5", "settings", "input-only quantization, lambda = 0, sigma^2 = 0 (b_x, omega_x swept; "
                     "no simulation sizes stated)", f"lam = 0, sigma^2 = 0; curves for omega_x in {{0.5, 1, 2, 3}}, "
                     f"b_x = 1..8; simulations at omega_x = 1: {sz}", "as the paper's caption"))
        below = [r for r in b if r["eta"] < r["eta_c"]]
        above = [r for r in b if r["eta"] > r["eta_c"]]
        nb, rb = sum(r["n_diverged"] for r in below), sum(r["runs"] for r in below)
        na, ra = sum(r["n_diverged"] for r in above), sum(r["runs"] for r in above)
        bx = ", ".join(f"{r['b_x']:g}" for r in below)
        rows.append(("ste_fig5", "divergence across eta_c = 2 / sigma_psi^2 (omega_x = 1)",
                     "no asymptotically stable fixed point for eta > 2 / sigma_psi^2",
                     f"b_x = {bx}: {nb:g} of {rb:g} runs diverged at 0.85 eta_c, {na:g} of {ra:g} at 1.15 eta_c",
                     "as the paper" if nb == 0 and na == ra else "not as the paper"))
    if st:
        for bx in sorted({r["b_x"] for r in st}):
            rr = [r for r in st if r["b_x"] == bx]
            rel = max(abs(r["sim_eps_g*"] - r["theory_eps_g*"]) / abs(r["theory_eps_g*"]) for r in rr)
            zs = [abs(r["sim_eps_g*"] - r["theory_eps_g*"]) / r["sim_se"] for r in rr if r.get("sim_se")]
            rows.append(("ste_fig5", f"steady state eps_g* at b_x = {bx:g} ({len(rr)} rates)", "eps_g*(eta), closed form",
                         f"largest relative gap simulation vs closed form {rel:.1%}"
                         + (f", {max(zs):.1f} SE (SE over runs and late records, treated as independent)" if zs else ""),
                         "within 3 SE" if zs and max(zs) <= 3 else
                         f"{rel:.1%} apart, {max(zs):.1f} SE (an understated SE)" if zs else f"{rel:.1%} apart"))
    return rows


def _ste_closures(out):
    rr = _floats(out / "ste_closure_errors.csv")
    rows = []
    for cl in sorted({r["closure"] for r in rr or []}):
        sel = [r for r in rr if r["closure"] == cl]
        worst = max(sel, key=lambda r: r["max_abs_err"])
        rows.append(("ste_closures", f"{cl} closure vs the PDE moment equations ({len(sel)} settings of Figs. 2-4)",
                     "'ODE prediction' (the paper's closure is not stated; spec sec. 8 item 8)",
                     f"max |eps_closure - eps_PDE| = {worst['max_abs_err']:.3g} ({worst['setting']}, tau = "
                     f"{worst['tau_at_max']:g}); mean over settings of the final error "
                     f"{sum(r['final_abs_err'] for r in sel) / len(sel):.2g}",
                     "an approximation: the figures' curves use the PDE"))
    return rows


def _ste_plateau(out):
    import numpy as np

    rows = []
    cur = _floats(out / "ste_plateau_curves.csv") or []
    for case in dict.fromkeys(r["case"] for r in cur):
        mod = [r for r in cur if r["case"] == case and r["source"] == "model" and r["eps"] is not None]
        sgd = [r for r in cur if r["case"] == case and r["source"] == "sgd" and r["eps"] is not None and r.get("se")]
        if not mod or not sgd:
            continue
        m = np.interp([r["tau"] for r in sgd], [r["tau"] for r in mod], [r["eps"] for r in mod])
        z = [abs(r["eps"] - v) / r["se"] for r, v in zip(sgd, m)]
        k = int(np.argmax(z))
        rows.append(("ste_plateau_curves", f"SGD vs model curve ({case})", "the d-dim SGD follows the model (sec. IV)",
                     f"max |SGD - model| = {max(abs(r['eps'] - v) for r, v in zip(sgd, m)):.4f}; largest gap "
                     f"{_z(z[k])} SE at tau = {sgd[k]['tau']:g}",
                     "within 3 SE" if z[k] <= 3 else f"{_z(z[k])} SE apart at its largest gap"))
    ln = _floats(out / "ste_plateau_lengths.csv") or []
    groups = sorted({(r["init"], r["ste"], r["lam"]) for r in ln})
    for init, ste, lam in groups:
        sel = sorted((r for r in ln if (r["init"], r["ste"], r["lam"]) == (init, ste, lam)), key=lambda r: r["omega"])
        L = [r["model_length"] for r in sel]
        if len(sel) >= 2 and all(v is not None for v in L):
            dec, inc = (all(a >= b for a, b in zip(L, L[1:])), all(a <= b for a, b in zip(L, L[1:])))
            rows.append(("ste_plateau_lengths", f"model plateau length vs omega ({init}, {ste} STE, lam = {lam:g})",
                         "plateau length depends on the quantization range",
                         ", ".join(f"{v:.3g} at omega = {r['omega']:g}" for v, r in zip(L, sel)),
                         "depends on omega: longer for smaller omega" if dec and L[0] > L[-1] else
                         "depends on omega: longer for larger omega" if inc and L[-1] > L[0] else
                         "does not depend on omega" if dec and inc else "depends on omega, not monotone"))
        sgd = [r for r in sel if r.get("sgd_length") is not None and r.get("model_length") is not None]
        if sgd:
            zs = [abs(r["sgd_length"] - r["model_length"]) / r["sgd_length_se"] for r in sgd if r.get("sgd_length_se")]
            rel = max(abs(r["sgd_length"] - r["model_length"]) / max(abs(r["model_length"]), 1e-12) for r in sgd)
            rows.append(("ste_plateau_lengths", f"SGD vs model plateau length ({init}, {ste} STE, lam = {lam:g})",
                         "the d-dim SGD follows the model (sec. IV)",
                         f"largest relative gap {rel:.1%}" + (f", {max(zs):.1f} SE" if zs else " (one run: no SE)"),
                         "within 3 SE" if zs and max(zs) <= 3 else f"{max(zs):.1f} SE apart" if zs else "n/a"))
        pred = [r for r in sel if r.get("pred_tau_10") is not None and r.get("model_length")]
        if pred:
            rel = max(abs(r["pred_tau_10"] - r["model_length"]) / r["model_length"] for r in pred)
            rows.append(("ste_plateau_lengths", f"closed-form end vs model length ({init}, {ste} STE, lam = {lam:g})",
                         "(qmf's closed form, spec sec. 5.4: tau_in = ln(|w_0| / omega) / (eta lam))",
                         f"largest relative gap {rel:.1%}", "within 10%" if rel <= 0.1 else f"{rel:.0%} apart"))
    ph = _floats(out / "ste_plateau_phase.csv") or []
    if ph:
        yes = [r for r in ph if r["has_plateau"] in ("True", 1.0, True)]
        inside = [r for r in yes if r["a"] <= r["omega"]]
        rows.append(("ste_plateau_phase", "cells with a sharp plateau (sharpness >= 1), Rademacher start +-a",
                     "a plateau, then a sharp drop (abstract)",
                     f"{len(yes)} of {len(ph)} (omega, a) cells; {len(inside)} of them with a <= omega",
                     "a plateau only where the start lies outside the range (a > omega)" if not inside
                     else "plateaus also inside the range"))
    return rows


def _ste_uses(out):
    rows = []
    deg = _floats(out / "ste_degradation.csv") or []
    sim = [r for r in deg if r.get("sgd_delta") is not None and r.get("sgd_se")]
    if sim:
        z = [(abs(r["sgd_delta"] - r["delta"]) / r["sgd_se"], r) for r in sim]
        zm, r = max(z, key=lambda t: t[0])
        rows.append(("ste_uses", f"degradation Delta eps_g*: SGD vs theory ({len(sim)} (b, omega) settings)",
                     "explicit degradation relative to the unquantized baseline (fixed-point analysis)",
                     f"largest gap {zm:.1f} SE (b = {r['b']:g}, omega = {r['omega']:g}: SGD {r['sgd_delta']:.4f} vs "
                     f"theory {r['delta']:.4f})", "within 3 SE" if zm <= 3 else f"{zm:.1f} SE apart"))
    ei = _floats(out / "ste_eta_inputs.csv") or []
    if ei:
        lo = min(r["eta_c"] for r in ei)
        rows.append(("ste_uses", "largest stable rate eta_c with quantized inputs (lam = 0)",
                     "quantization influences training stability (stable at higher rates)",
                     f"eta_c from {lo:.3g} to {max(r['eta_c'] for r in ei):.3g} over b_x and omega_x; unquantized "
                     f"{ei[0]['eta_c_unquantized']:g}", "raised above the unquantized value" if lo > ei[0]["eta_c_unquantized"]
                     else "not raised everywhere"))
    ew = _floats(out / "ste_eta_weights.csv") or []
    if ew:
        qd = sum(r["particles_quant_diverged"] in ("True", True) for r in ew)
        ud = sum(r["particles_unquant_diverged"] in ("True", True) for r in ew)
        rows.append(("ste_uses", f"divergence with quantized weights (particles, b = 3, {len(ew)} rates up to "
                     f"{max(r['eta'] for r in ew):g})", "(qmf's finding: weight quantization bounds the update)",
                     f"quantized: {qd} of {len(ew)} diverged; unquantized: {ud} of {len(ew)}", "n/a (not in the paper)"))
    sch = _floats(out / "ste_schedules.csv") or []
    for key in sorted({(r["b"], r["omega"]) for r in sch}):
        sel = sorted((r for r in sch if (r["b"], r["omega"]) == key), key=lambda r: r["tau_0"])
        if len(sel) >= 2:
            qat, ptq = sel[0]["model_eps"], sel[-1]["model_eps"]
            rows.append(("ste_uses", f"schedule b = {key[0]:g}, omega = {key[1]:g}: eps_g(tau_tot) of QAT vs PTQ",
                         "implications for post-training quantization and schedules",
                         f"QAT {qat:.4f}, PTQ {ptq:.4f}, best switch tau_0 = "
                         f"{min(sel, key=lambda r: r['model_eps'])['tau_0']:g}",
                         "QAT better" if qat < ptq else "PTQ better"))
    return rows


def ste_comparisons(out: Path) -> list[tuple]:
    """Paper 2's rows ``(figure, quantity, paper, qmf, agreement)``: the captions' settings against the run's
    and what it reproduces, from the parts' CSVs (what exists)."""
    from functools import partial

    out = Path(out)
    rows = []
    for fn in (_ste_fig1, *(partial(_ste_eps, stem=s) for s in _EPS_FIGS), _ste_fig5, _ste_closures, _ste_plateau,
               _ste_uses):
        try:
            rows += fn(out)
        except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError) as exc:  # a CSV of another layout
            name = fn.keywords["stem"] if isinstance(fn, partial) else fn.__name__.lstrip("_")
            rows.append((name, "comparison", "", f"could not read its CSV: {exc!r}", "n/a"))
    return rows


def _table_html(path: Path, max_rows=40) -> str:
    rows = io.read_csv(path)
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{_esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_esc(r[c] if r[c] is not None else '')}</td>" for c in cols) + "</tr>"
                   for r in rows[:max_rows])
    more = f"<p class=note>first {max_rows} of {len(rows)} rows; all in <a href='{_esc(path.name)}'>" \
           f"{_esc(path.name)}</a></p>" if len(rows) > max_rows else ""
    return f"<div class=scroll><table><tr>{head}</tr>{body}</table></div>{more}"


def figures(out: Path, written: dict | None = None) -> list[Path]:
    """Every PNG of the run: those reported as written (in part order), then any other PNG under ``out``."""
    seen, figs = set(), []
    for paths in (written or {}).values():
        for p in paths:
            p = Path(p)
            if p.suffix.lower() == ".png" and p.resolve() not in seen and p.exists():
                seen.add(p.resolve())
                figs.append(p)
    for p in sorted(out.rglob("*.png")):
        if p.resolve() not in seen:
            seen.add(p.resolve())
            figs.append(p)
    return figs


def _cmp_table(rows, quick, part_of_fig, with_figure=False) -> str:
    """A paper-vs-qmf table (in a scrolling box), and under quick sizes a note naming them beside it."""
    if not rows:
        return ""
    head = ("<th>figure</th>" if with_figure else "") + "<th>quantity</th><th>paper</th><th>qmf</th><th>agreement</th>"
    def flag(a):  # under quick sizes, an n/a or a gap says where it may come from
        ok = (str(a).startswith(("within", "as the paper", "depends on omega", "raised", "a plateau only",
                                 "an approximation", "QAT better", "PTQ better", "n/a (not in the paper)"))
              or "agrees to its rounding" in str(a))
        return "" if not quick or ok else " <span class=quick>(quick sizes: see the note above)</span>"

    body = "".join("<tr>" + (f"<td>{_esc(f)}</td>" if with_figure else "") + f"<td>{_esc(q)}</td><td>{_esc(pv)}</td>"
                   f"<td>{_esc(qv)}</td><td>{_esc(a)}{flag(a)}</td></tr>" for f, q, pv, qv, a in rows)
    note = ""
    if quick:
        parts = list(dict.fromkeys(part_of_fig(r[0]) for r in rows))
        note = ("<p class=quick>Quick sizes: " + "; ".join(f"{_esc(p)}: {_esc(quick_sizes(p))}" for p in parts)
                + ". With these sizes 'n/a' and gaps of a few SE are expected; they are not evidence against the "
                "paper.</p>")
    return f"{note}<div class=scroll><table><tr>{head}</tr>{body}</table></div>"


def write_report(out, parts=(), timings=None, written=None, quick=False) -> Path:
    """Write ``out/index.html`` (see module docstring) and return its path.  ``quick``: the run used
    ``--quick`` (also detected from the files' provenance, :func:`quick_run`)."""
    out = Path(out)
    timings, written = dict(timings or {}), dict(written or {})
    quick = quick_run(out, quick)
    prov = io.provenance()
    comp = comparisons(out)
    caps = captions(parts)
    by_fig: dict = {}
    for row in comp:
        by_fig.setdefault(row[0], []).append(row)
    part_of = {Path(p).resolve(): part for part, ps in written.items() for p in ps}
    from qmf_sim import experiments

    stem_part = {}
    for part in experiments.parts():
        try:
            stem_part.update({st: part for st in (figure_stems(part) or ())})
        except ImportError:
            pass

    def part_of_fig(stem):
        return stem_part.get(stem, stem)

    sections, figs = [], figures(out, written)
    for png in figs:
        stem, rel = png.stem, png.relative_to(out).as_posix()
        title, caption, paper = caps.get(stem, (stem.replace("_", " "), "", ""))
        if not caption:
            caption = "(no caption: the part's module has no CAPTIONS entry for this figure)"
        data = base64.b64encode(png.read_bytes()).decode()
        pdf = png.with_suffix(".pdf")
        pdf_link = (f" &middot; <a href='{_esc(pdf.relative_to(out).as_posix())}'>PDF</a>" if pdf.exists()
                    else " &middot; (no PDF)")
        part = part_of.get(png.resolve(), "") or stem_part.get(stem, "")
        cmp_html = _cmp_table(by_fig.get(stem, []), quick, part_of_fig)  # with its own quick note
        qnote = (f"<br><span class=quick>Quick sizes: {_esc(quick_sizes(part or stem))}.</span>"
                 if quick and not cmp_html else "")
        sections.append(
            f"<figure id='{_esc(stem)}'><figcaption><b>{_esc(title)}</b>"
            f"{' (part ' + _esc(part) + ')' if part else ''}<br>{_esc(caption)}"
            f"{'<br><i>' + _esc(paper) + '</i>' if paper else ''}{qnote}<br><code>{_esc(rel)}</code>{pdf_link}"
            f"</figcaption><img alt='{_esc(stem)}' src='data:image/png;base64,{data}'>{cmp_html}</figure>")
    shown = {p.stem for p in figs}
    other = [r for r in comp if r[0] not in shown]
    tables = "".join(f"<h3>{_esc(p.relative_to(out).as_posix())}</h3>{_table_html(p)}"
                     for p in sorted(out.rglob("*table*.csv")))
    timing_rows = "".join(f"<tr><td>{_esc(k)}</td><td>{v:.1f} s</td><td>{len(written.get(k, []))}</td></tr>"
                          for k, v in timings.items())
    prov_rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in prov.items())
    banner = ("<p class=quickbox><b>Quick sizes.</b> These results come from <code>qmf reproduce --quick</code>: "
              + _esc(QUICK_MEANS) + " Each figure and each comparison below names the sizes its part used.</p>"
              if quick else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>qmf reproduce{' --quick' if quick else ''}: results</title>
<style>
body{{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}}
figure{{border-top:1px solid #ccc;margin:1.5em 0;padding-top:.5em}} img{{max-width:100%;height:auto}}
table{{border-collapse:collapse;font-size:90%;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}}
.scroll{{max-width:100%;max-height:400px;overflow:auto}} .note{{color:#666;font-size:85%}} code{{font-size:90%}}
.quick{{color:#8a4b00}} .quickbox{{background:#fff4e0;border:1px solid #e0a040;padding:.5em .8em}}
</style></head><body>
<h1>qmf reproduce{' --quick' if quick else ''}: results</h1>
{banner}
<p>Written {_esc(_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))} by qmf {_esc(prov['qmf_version'])}.
Parts: {_esc(', '.join(parts) or '(none given)')}. Figures: {len(sections)}.
Each figure: PNG inline, PDF linked; the paper's value beside qmf's where the paper states one.</p>
<h2>Parts and times</h2><table><tr><th>part</th><th>time</th><th>files</th></tr>{timing_rows}</table>
<h2>Figures</h2>{''.join(sections) or '<p>No figures were written.</p>'}
{'<h2>Other comparisons</h2>' + _cmp_table(other, quick, part_of_fig, with_figure=True) if other else ''}
<h2>Certified tables</h2>{tables or '<p>No table in this run.</p>'}
<h2>Provenance</h2><div class=scroll><table>{prov_rows}</table></div>
<p class=note>Every JSON file here has a top-level "provenance" object; every CSV has a sidecar
&lt;name&gt;.csv.meta.json with its columns, parameters and provenance.</p>
</body></html>
"""
    return io.write_text(out / "index.html", page)


def figure_list(index_html) -> list[str]:
    """The relative paths of the figures listed in an ``index.html`` (for tests and tools)."""
    import re

    text = Path(index_html).read_text(encoding="utf-8")
    return re.findall(r"<code>([^<]+\.png)</code>", text)

