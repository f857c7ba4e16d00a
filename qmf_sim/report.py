"""``index.html``: the results of ``qmf reproduce`` as one self-contained page (issue 11, section 4).

:func:`write_report` writes ``<out>/index.html``: every figure of the run (PNG inline as a data URI,
the PDF linked by a relative path), each with its caption and, where the paper states a number,
the paper's value beside qmf's and their agreement; the certified tables (``*table*.csv``) as HTML
tables; each part's time; and the provenance.  The page has no scripts, no fonts, no network
references: it opens from disk in any browser.

Figures found: the PNGs each part reported as written, plus every PNG under ``out`` (so a figure a
part wrote without reporting it is still shown); a PNG's PDF is the same stem with ``.pdf``.
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
    "sign_map": ("Sign activation: the correlation map", "The C-map of the sign activation (N = 2).", ""),
    "fig1": ("Paper 1, Fig. 1: covariance propagation in random quantized networks",
             "Empirical covariance between hidden states vs the input angle difference Delta theta at several layers "
             "(N = 16), for sigma_w = factor x sigma_w_opt; the mean field drawn over it.",
             "Paper: signal propagation is maximised at sigma_w = sigma_w_opt and degrades away from it."),
    "fig1_heatmap": ("Paper 1, Fig. 1 (heat maps)", "Covariance vs layer and Delta theta for each sigma_w.", ""),
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
                 "Histogram of the d-dim STE weights and the PDE density at several tau.",
                 "Paper: d = 3000, w* = 1, b = 2, omega = 2; simulations (red) match the PDE (blue)."),
    "ste_fig2": ("Paper 2, Fig. 2: eps_g(tau) vs weight bits b",
                 "Symbols: STE simulations (mean and standard error over runs); curves: the ODE.",
                 "Paper: b in {2,3,4,5}, eta = 0.04, lambda = 1, omega = 1, d = 900, five runs."),
    "ste_fig3": ("Paper 2, Fig. 3: eps_g(tau) vs range omega at b = 3", "Symbols: simulations; curves: ODE.",
                 "Paper: omega in {0.25, 0.5, 1, 1.25, 1.5}, five runs."),
    "ste_fig4": ("Paper 2, Fig. 4: joint weight and input quantization",
                 "Symbols: simulations; curves: ODE; panels b = 3 and b = 4, input bits b_x. The b_x = 3, 4, 5 curves "
                 "nearly coincide: at omega_x = 1 the input moments the ODE sees hardly change with b_x "
                 "(kappa = E[z phi(z)] = 0.684, 0.683, 0.683; sigma_phi^2 = E[phi(z)^2] = 0.524, 0.518, 0.516; "
                 "qmf_sym.ste.input_moments), because clipping at |z| = 1, not the resolution, dominates; the "
                 "unquantized-input curve (kappa = sigma_phi^2 = 1) stands apart.",
                 "Paper: omega = 1, T = 0, d = 500, eta = 0.05, lambda = 1, b_x in {3,4,5} and unquantized."),
    "ste_fig5": ("Paper 2, Fig. 5: input-only quantization, long times",
                 "Left: stability boundary eta_c = 2 / sigma_psi^2; right: steady-state eps_g*.",
                 "Paper: no asymptotically stable fixed point for eta > 2 / sigma_psi^2."),
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


def write_report(out, parts=(), timings=None, written=None, quick=False) -> Path:
    """Write ``out/index.html`` (see module docstring) and return its path."""
    out = Path(out)
    timings, written = dict(timings or {}), dict(written or {})
    prov = io.provenance()
    comp = comparisons(out)
    caps = captions(parts)
    by_fig: dict = {}
    for row in comp:
        by_fig.setdefault(row[0], []).append(row)
    part_of = {Path(p).resolve(): part for part, ps in written.items() for p in ps}
    sections = []
    for png in figures(out, written):
        stem, rel = png.stem, png.relative_to(out).as_posix()
        title, caption, paper = caps.get(stem, (stem.replace("_", " "), "", ""))
        data = base64.b64encode(png.read_bytes()).decode()
        pdf = png.with_suffix(".pdf")
        pdf_link = (f" &middot; <a href='{_esc(pdf.relative_to(out).as_posix())}'>PDF</a>" if pdf.exists()
                    else " &middot; (no PDF)")
        part = part_of.get(png.resolve(), "")
        cmp_rows = "".join(f"<tr><td>{_esc(q)}</td><td>{_esc(pv)}</td><td>{_esc(qv)}</td><td>{_esc(a)}</td></tr>"
                           for _, q, pv, qv, a in by_fig.get(stem, []))
        cmp_html = (f"<table><tr><th>quantity</th><th>paper</th><th>qmf</th><th>agreement</th></tr>{cmp_rows}</table>"
                    if cmp_rows else "")
        sections.append(
            f"<figure id='{_esc(stem)}'><figcaption><b>{_esc(title)}</b>"
            f"{' (part ' + _esc(part) + ')' if part else ''}<br>{_esc(caption)}"
            f"{'<br><i>' + _esc(paper) + '</i>' if paper else ''}<br><code>{_esc(rel)}</code>{pdf_link}"
            f"</figcaption><img alt='{_esc(stem)}' src='data:image/png;base64,{data}'>{cmp_html}</figure>")
    other = [r for r in comp if r[0] not in {p.stem for p in figures(out, written)}]
    tables = "".join(f"<h3>{_esc(p.relative_to(out).as_posix())}</h3>{_table_html(p)}"
                     for p in sorted(out.rglob("*table*.csv")))
    timing_rows = "".join(f"<tr><td>{_esc(k)}</td><td>{v:.1f} s</td><td>{len(written.get(k, []))}</td></tr>"
                          for k, v in timings.items())
    prov_rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in prov.items())
    extra = "".join(f"<tr><td>{_esc(f)}</td><td>{_esc(q)}</td><td>{_esc(pv)}</td><td>{_esc(qv)}</td>"
                    f"<td>{_esc(a)}</td></tr>" for f, q, pv, qv, a in other)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>qmf reproduce: results</title>
<style>
body{{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}}
figure{{border-top:1px solid #ccc;margin:1.5em 0;padding-top:.5em}} img{{max-width:100%}}
table{{border-collapse:collapse;font-size:90%;margin:.5em 0}} td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}
.scroll{{max-height:400px;overflow:auto}} .note{{color:#666;font-size:85%}} code{{font-size:90%}}
</style></head><body>
<h1>qmf reproduce{' --quick' if quick else ''}: results</h1>
<p>Written {_esc(_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))} by qmf {_esc(prov['qmf_version'])}.
Parts: {_esc(', '.join(parts) or '(none given)')}. Figures: {len(sections)}.
Each figure: PNG inline, PDF linked; the paper's value beside qmf's where the paper states one.</p>
<h2>Parts and times</h2><table><tr><th>part</th><th>time</th><th>files</th></tr>{timing_rows}</table>
<h2>Figures</h2>{''.join(sections) or '<p>No figures were written.</p>'}
{'<h2>Other comparisons</h2><table><tr><th>figure</th><th>quantity</th><th>paper</th><th>qmf</th><th>agreement</th></tr>' + extra + '</table>' if extra else ''}
<h2>Certified tables</h2>{tables or '<p>No table in this run.</p>'}
<h2>Provenance</h2><table>{prov_rows}</table>
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

