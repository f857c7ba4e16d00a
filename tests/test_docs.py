"""The documentation builds with warnings as errors, and every public name has its reference page.

Default suite: the whole site without executing the tutorials (``nb_execution_mode=off``) through
Sphinx's ``dummy`` builder, which reads every page and resolves every cross-reference but writes no
HTML.  Slow: the real build, HTML with the five tutorials executed (a cell that raises fails it).
Both build into a temporary directory; the pages generated from the code (``docs/api``,
``docs/derivations``) are rewritten in the source tree, as every build does.  Every docstring must be
valid reStructuredText (``docs/_ext/qmf_docstrings.py``): one that is not fails the ``-W`` build unless
its name is in ``qmf_plain_docstrings_allowed`` (``docs/conf.py``).
"""
import importlib.util
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

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
    out = _sphinx(tmp_path, "dummy", "-D", "nb_execution_mode=off", timeout=1200)
    # a docstring that is not valid reStructuredText is a warning (the build above fails) unless allowed
    plain = {ln.split("\t")[0] for ln in (out / "plain_docstrings.txt").read_text(encoding="utf-8").splitlines()}
    env = dict(os.environ)
    try:  # conf.py sets NUMBA_NUM_THREADS & co for the build; they must not leak into this process
        allowed = runpy.run_path(str(DOCS / "conf.py"))["qmf_plain_docstrings_allowed"]
    finally:  # (numba re-reads its config at each compile and refuses a thread count changed after launch)
        os.environ.clear()
        os.environ.update(env)
    assert plain <= allowed, sorted(plain - allowed)
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


def test_invalid_docstring_is_a_warning_unless_allowed(monkeypatch, caplog):
    """The check of docs/_ext/qmf_docstrings.py on its own: ``|x|`` read as a substitution and a display
    without ``::`` are invalid (plain-text fallback, a warning naming the object and the line) unless the
    name is allowed; the same text with inline literals and a literal block is valid and left alone."""
    monkeypatch.delenv("QMF_DOCS_STRICT", raising=False)
    ext = _ext("qmf_docstrings")
    app = SimpleNamespace(config=SimpleNamespace(qmf_plain_docstrings_allowed={"pkg.allowed"}),
                          env=SimpleNamespace(docname="api/generated/pkg"))

    def obj():
        pass

    bad = ["P(|u| < 1) for u ~ N(0, Q), and", "    x^(l+1) = x^l + alpha phi(x^l),", "    C' = M(C)", "done."]
    good = ["``P(|u| < 1)`` for u ~ N(0, Q), and::", "", "    x^(l+1) = x^l + alpha phi(x^l),", "    C' = M(C)", "",
            "done."]
    for name, lines, warns in (("pkg.bad", bad, True), ("pkg.allowed", bad, False), ("pkg.good", good, False)):
        obj.__doc__ = "\n".join(lines)
        caplog.clear()
        processed = list(lines)
        with caplog.at_level(logging.WARNING):
            ext._process(app, "function", name, obj, {}, processed)
        warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warned) == warns, (name, warned)
        assert (name in ext._PLAIN) == (lines is bad), name
        assert (processed == lines) == (lines is good), processed  # the fallback: a literal block of the text
    assert "pkg.bad" not in ext._VALID and "pkg.good" in ext._VALID
    obj.__doc__ = "P(|u| < 1) for u ~ N(0, Q)."
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        ext._process(app, "function", "pkg.bar", obj, {}, [obj.__doc__])
    msg = caplog.records[0].getMessage()
    assert "pkg.bar (tests/test_docs.py:" in msg and 'substitution referenced: "u"' in msg, msg
    assert "docstring line 1: 'P(|u| < 1) for u ~ N(0, Q).'" in msg, msg


@pytest.mark.slow
def test_full_site_with_executed_tutorials(tmp_path):
    out = _sphinx(tmp_path, "html", timeout=3000)
    assert (out / "index.html").exists() and (out / "api" / "index.html").exists()
    for name in TUTORIALS:
        html = (out / "tutorials" / f"{name}.html").read_text(encoding="utf-8")
        assert "cell_output" in html, f"{name} shows no output"
