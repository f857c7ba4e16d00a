"""index.html of qmf reproduce (issue 11 section 4): every figure the run wrote, offline."""
import re
from pathlib import Path

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
