"""index.html of qmf reproduce: every figure the run wrote, offline."""
import re
from pathlib import Path

import pytest

from qmf_sim import io, report


def _fig(out, stem, pdf=True):
    plt = io.plt()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return io.save_figure(fig, out, stem, formats=("png", "pdf") if pdf else ("png",))


def test_report_lists_every_figure_and_links_pdfs(tmp_path):
    a = _fig(tmp_path, "fig2_spacing")
    b = _fig(tmp_path / "trainable_depth", "trainable_depth_sigma")
    stray = _fig(tmp_path / "sub", "unreported", pdf=False)  # written but not reported by its part
    io.write_csv(tmp_path / "spacing_table.csv", ["N", "chi_max"], [[2, 0.6366], [3, 0.83]])
    index = report.write_report(tmp_path, parts=["spacing", "trainable_depth"], timings={"spacing": 1.0},
                                written={"spacing": a, "trainable_depth": b})
    listed = report.figure_list(index)
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert sorted(listed) == on_disk and len(on_disk) == 3
    text = index.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 3  # inline
    for pdf in ("fig2_spacing.pdf", "trainable_depth/trainable_depth_sigma.pdf"):
        assert f"href='{pdf}'" in text and (tmp_path / pdf).exists()
    assert "(no PDF)" in text and stray[0].name.replace(".png", "") in text
    assert "<td>0.6366</td>" in text  # the certified table is shown
    assert "Provenance" in text and io.provenance()["qmf_version"] in text


def test_report_needs_no_network(tmp_path):
    _fig(tmp_path, "sign_map")
    text = report.write_report(tmp_path).read_text(encoding="utf-8")
    # no remote resource: no src/href to http(s), no scripts, no external stylesheets or fonts
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text)
    assert "<script" not in text and "@import" not in text and "<link" not in text


def test_reproduce_writes_index_listing_its_figures(tmp_path):
    from qmf_sim import cli

    assert cli.main(["reproduce", "--only", "sign", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    index = Path(tmp_path) / "index.html"
    pngs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert pngs and sorted(report.figure_list(index)) == pngs


def test_comparisons_paper_values(tmp_path):
    # the spacing fit beside the paper's regression e^0.71 (N+1)^-1.82
    io.write_json(tmp_path / "spacing_fit.json",
                  {"fit": {"one_minus_chi": {"a": 0.7111, "b": -1.8166, "se_a": 0.011, "se_b": 0.003}}})
    rows = {r[1]: r for r in report.comparisons(tmp_path)}
    a = rows["1 - chi_max = e^a (N+1)^b: a"]
    assert a[2] == 0.71 and "agrees to its rounding" in a[4]
    b = rows["1 - chi_max = e^a (N+1)^b: b"]
    assert b[2] == -1.82 and "agrees to its rounding" in b[4]


def test_fig4_caption_numbers_are_the_input_moments():
    """The caption's explanation of the coinciding b_x curves quotes kappa and sigma_phi^2: check them."""
    from qmf_sym.ste.quantizers import input_moments

    cap = report.CAPTIONS["ste_fig4"][1]
    kap = [float(x) for x in re.search(r"kappa = E\[z phi\(z\)\] = ([\d.]+), ([\d.]+), ([\d.]+)", cap).groups()]
    sig = [float(x) for x in re.search(r"sigma_phi\^2 = E\[phi\(z\)\^2\] = ([\d.]+), ([\d.]+), ([\d.]+)", cap).groups()]
    for b, k, s in zip((3, 4, 5), kap, sig):
        kb, sb = input_moments(b, 1.0)
        assert abs(kb - k) <= 5e-4 and abs(sb - s) <= 5e-4  # quoted to 3 decimals


def test_qmf_plot_redraws_without_training(tmp_path, monkeypatch):
    from qmf_sim import cli, training

    out = tmp_path / "td"
    argv = ["train-depth", "--panels", "levels", "--levels", "2,3", "--depths", "2,3", "--width", "8",
            "--steps", "20", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    monkeypatch.setattr(training, "run_training", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained")))
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "again")]) == 0
    assert io.read_json(tmp_path / "again" / "fit.json") == io.read_json(out / "fit.json")
    assert (tmp_path / "again" / "trainable_depth_levels.png").exists()
    assert (tmp_path / "again" / "trainable_depth_levels.pdf").exists()
    assert cli.main(["plot", str(tmp_path / "again" / "fit.json")]) == 2  # not a results file it can redraw


def test_a_part_module_supplies_its_captions(tmp_path, monkeypatch):
    from qmf_sim.experiments import sign

    monkeypatch.setattr(sign, "CAPTIONS", {"my_new_fig": ("My title", "What it shows.", "")}, raising=False)
    _fig(tmp_path, "my_new_fig")
    text = report.write_report(tmp_path, parts=["sign"]).read_text(encoding="utf-8")
    assert "My title" in text and "What it shows." in text


def test_every_figure_of_every_part_has_a_caption():
    """Each registered part declares the figures it can write (FIGURE_STEMS in its module), and each of them has
    a caption (title and what qmf drew) in report.CAPTIONS or its module's CAPTIONS -- a new part too."""
    from qmf_sim import experiments

    caps = report.captions(experiments.parts())
    undeclared = [p for p in experiments.parts() if report.figure_stems(p) is None]
    assert not undeclared, (f"parts {undeclared}: declare FIGURE_STEMS = {{part: (stem, ...)}} in the part's module "
                            "(() for a part without figures) and a CAPTIONS entry for each stem")
    missing = [(p, s) for p in experiments.parts() for s in report.figure_stems(p)
               if not (s in caps and caps[s][0].strip() and caps[s][1].strip())]
    assert not missing, f"figures without a caption (part, stem): {missing}"


def test_quick_run_says_so_at_the_top_and_beside_each_comparison(tmp_path):
    io.write_json(tmp_path / "spacing_fit.json",
                  {"fit": {"one_minus_chi": {"a": 0.75, "b": -1.80, "se_a": 0.011, "se_b": 0.003}}})
    _fig(tmp_path, "fig2_spacing")
    text = report.write_report(tmp_path, parts=["spacing"]).read_text(encoding="utf-8")
    assert "Quick sizes" not in text  # a full run (no --quick anywhere) says nothing of it
    text = report.write_report(tmp_path, parts=["spacing"], quick=True).read_text(encoding="utf-8")
    body = text[text.index("<body>"):]
    assert body.index("quickbox") < body.index("<h2>")  # the first thing on the page
    assert "--quick" in body and "not evidence against the paper" in body
    fig = body[body.index("<figure id='fig2_spacing'"):body.index("</figure>")]
    assert "Quick sizes: spacing: certified table N = 2..64" in fig  # beside its comparison table
    assert fig.index("Quick sizes: spacing") < fig.index("<table>")
    assert "(quick sizes: see the note above)" in fig  # the 2-SE-and-more gap of this made-up fit is flagged


def test_quick_run_is_read_from_the_files_provenance(tmp_path):
    io.set_context(["qmf", "reproduce", "--quick", "--out", str(tmp_path)])
    try:
        io.write_json(tmp_path / "fig1.json", {"runs": []})
    finally:
        io.set_context(None)
    assert report.quick_run(tmp_path) and not report.quick_run(tmp_path / "nothing")
    io.write_json(tmp_path / "fig1.json", {"runs": []})  # rewritten by a run without --quick
    assert not report.quick_run(tmp_path)


def test_paper2_comparisons_from_the_csvs(tmp_path):
    """Settings (paper's vs the run's, from the CSV sidecars) and the largest sim-vs-model gap in SE; Fig. 5's
    divergence count across eta_c."""
    import numpy as np

    tau = np.linspace(0, 10, 6)
    runs, std = 4, 0.02
    se = std / np.sqrt(runs)
    meta = dict(d=900, runs=runs, eta=0.04, lam=1.0, omega=1.0, b=[2])
    sim = [[t, 0.5 - 0.01 * t + (2.5 * se if t == 6 else 0.0), std] for t in tau]
    io.write_csv(tmp_path / "ste_fig2_sim.csv", ["tau", "sim_mean[b=2]", "sim_std[b=2]"], sim, meta=meta)
    io.write_csv(tmp_path / "ste_fig2_theory.csv", ["tau", "theory[b=2]"], [[t, 0.5 - 0.01 * t] for t in tau], meta=meta)
    io.write_csv(tmp_path / "ste_fig5_sim_boundary.csv", ["b_x", "omega_x", "eta", "eta_c", "n_diverged", "runs",
                                                          "mean_tau_diverged"],
                 [[1, 1.0, 0.85, 1.0, 0, 3, None], [1, 1.0, 1.15, 1.0, 3, 3, 12.0]])
    rows = {(r[0], r[1]): r for r in report.comparisons(tmp_path)}
    s = rows[("ste_fig2", "settings")]
    assert "d = 900" in s[2] and s[3].startswith("d = 900, 4 runs") and s[4] == "smaller than the paper's"  # 4 < 5 runs
    g = rows[("ste_fig2", "b=2: simulation vs model")]
    assert "largest gap 2.5 SE at tau = 6" in g[3] and g[4] == "within 3 SE"
    f5 = rows[("ste_fig5", "divergence across eta_c = 2 / sigma_psi^2 (omega_x = 1)")]
    assert "0 of 3 runs diverged at 0.85 eta_c, 3 of 3 at 1.15 eta_c" in f5[3] and f5[4] == "as the paper"


def test_wide_tables_scroll_or_wrap_inside_the_page(tmp_path):
    io.write_csv(tmp_path / "spacing_table.csv", ["N", "chi_max", "sigma_w"], [[3, "0." + "8" * 60, "1." + "1" * 60]])
    text = report.write_report(tmp_path).read_text(encoding="utf-8")
    css = text[text.index("<style>"):text.index("</style>")]
    assert re.search(r"\.scroll\{[^}]*max-width:100%[^}]*overflow:auto", css)  # a box no wider than the page
    assert re.search(r"td,th\{[^}]*overflow-wrap:anywhere", css)  # long digit strings wrap in their cell
    tables = text[text.index("<h2>Certified tables"):]
    assert tables.count("<table>") == tables.count("<div class=scroll><table>")  # every table in such a box


@pytest.mark.slow
def test_quick_reproduce_every_figure_captioned_and_declared(tmp_path):
    """``qmf reproduce --quick`` over every part (a few minutes): each PNG has a caption, each part wrote only
    figures it declares (report.figure_stems), and the page says at the top that quick sizes were used."""
    from qmf_sim import cli, experiments

    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    caps = report.captions(experiments.parts())
    pngs = sorted(tmp_path.rglob("*.png"))
    assert pngs
    assert not [p.name for p in pngs if not (p.stem in caps and caps[p.stem][1].strip())]
    declared = {s for part in experiments.parts() for s in (report.figure_stems(part) or ())}
    assert not [p.name for p in pngs if p.stem not in declared]
    text = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "no caption" not in text and "class=quickbox" in text
