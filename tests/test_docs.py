"""The documentation builds with warnings as errors, and every public name has its reference page.

Default suite: the whole site without executing the tutorials (``nb_execution_mode=off``) through
Sphinx's ``dummy`` builder, which reads every page and resolves every cross-reference but writes no
HTML.  Slow: the real build, HTML with the five tutorials executed (a cell that raises fails it).
Both build into a temporary directory; the pages generated from the code (``docs/api``,
``docs/derivations``) are rewritten in the source tree, as every build does.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TUTORIALS = sorted(p.stem for p in (DOCS / "tutorials").glob("[0-9]*.md"))


def _ext(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)  # a dataclass in it needs its module registered
    spec.loader.exec_module(mod)
    return mod


def _sphinx(tmp_path, builder, *extra, timeout):
    env = dict(os.environ, QMF_NO_PROGRESS="1", MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("QMF_DOCS_STRICT", None)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder, *extra,
           "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / builder)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"sphinx failed ({proc.returncode}):\n{proc.stderr[-6000:]}"
    return tmp_path / builder


def test_reference_pages_build_with_warnings_as_errors(tmp_path):
    _sphinx(tmp_path, "dummy", "-D", "nb_execution_mode=off", timeout=1200)
    api = _ext("qmf_api")
    modules, entries, errors = api.collect()
    assert not errors, errors
    pages = {p.stem for p in (DOCS / "api" / "generated").glob("*.rst")}
    expected = {f"{m}.{e.name}" for m, rows in entries.items() for e in rows if e.kind != "module" and e.home == m}
    assert expected == pages
    assert len(pages) > 300 and {"qmf_sym.maps.chi", "qmf_sim.nn.QuantizedMLP"} <= pages
    for m in modules:  # every module page, every exported name listed on its module's page
        text = (DOCS / "api" / f"{m}.rst").read_text(encoding="utf-8")
        assert all(e.name in text for e in entries[m]), m
    derivations = {p.stem for p in (DOCS / "derivations").glob("*.md")} - {"index"}
    assert derivations == {p.stem for p in (ROOT / "derivations").glob("*.md")}
    assert len(TUTORIALS) == 5, TUTORIALS


def test_every_public_name_is_collected():
    """A name in an ``__all__`` gets a page at its home; a re-export links there (no duplicate page)."""
    api = _ext("qmf_api")
    modules, entries, _ = api.collect()
    ste = {e.name: e for e in entries["qmf_sym.ste"]}
    assert ste["stationary_state"].home != "qmf_sym.ste" or "qmf_sym.ste.stationary" not in modules
    homes = {}
    for rows in entries.values():
        for e in rows:
            if e.kind in ("class", "function"):
                homes.setdefault((id(e.obj), e.name), set()).add(e.home)
    assert all(len(h) == 1 for h in homes.values())


@pytest.mark.slow
def test_full_site_with_executed_tutorials(tmp_path):
    out = _sphinx(tmp_path, "html", timeout=3000)
    assert (out / "index.html").exists() and (out / "api" / "index.html").exists()
    for name in TUTORIALS:
        html = (out / "tutorials" / f"{name}.html").read_text(encoding="utf-8")
        assert "cell_output" in html, f"{name} shows no output"
