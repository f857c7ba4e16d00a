"""Sphinx extension: pages generated from the code at build time.

* ``.. qmf-equation-table::`` — every registered equation (``qmf_sym._faces.registry()`` and
  ``equations()``), each implementation linked to its API page;
* ``.. qmf-cli::`` — the command-line reference, read from ``qmf_sim.cli.build_parser()``;
* ``docs/derivations/`` — one page per ``derivations/*.md`` (included, so the text is the one the
  tests run), written on ``builder-inited``.
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

DERIVATIONS = Path(__file__).resolve().parents[2] / "derivations"


def _parse(directive, text: str):
    from sphinx.util.nodes import nested_parse_with_titles

    node = nodes.section()
    node.document = directive.state.document
    nested_parse_with_titles(directive.state, StringList(text.splitlines(), source="<generated>"), node)
    return node.children


def equation_rows():
    """``[(equation, dotted name, summary, faces)]`` sorted as the registry's table."""
    import re

    from qmf_sym._faces import equations, registry

    rows = [(c.equation, c.name, "", ", ".join(c.faces())) for c in registry().values()]
    rows += [(e.equation, e.name, e.summary, ", ".join(e.faces)) for e in equations(import_all=False).values()]

    def key(r):
        m = re.match(r"paper (\d+)[^0-9]*(\d+)?", r[0])
        return (int(m.group(1)) if m else 99, int(m.group(2)) if m and m.group(2) else 999, r[0], r[1])

    return sorted(rows, key=key)


class EquationTable(SphinxDirective):
    """The equation table of the ClosedForm registry."""

    def run(self):
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 35 45 20", "",
                 "   * - equation", "     - implementation", "     - faces"]
        for eq, name, summary, faces in equation_rows():
            impl = f":py:obj:`{name}`" + (f" — {summary}" if summary else "")
            lines += [f"   * - {eq}", f"     - {impl}", f"     - {faces}"]
        return _parse(self, "\n".join(lines))


class CliReference(SphinxDirective):
    """The ``qmf`` command-line reference."""

    def run(self):
        import qmf_cli

        return _parse(self, qmf_cli.rst())


def _write_derivations(app):
    out = Path(app.srcdir) / "derivations"
    out.mkdir(exist_ok=True)
    docs = sorted(DERIVATIONS.glob("*.md"))
    keep = set()
    for doc in docs:
        page = out / doc.name
        keep.add(page.name)
        text = (f"```{{include}} ../../derivations/{doc.name}\n```\n\n"
                f"*Source:* `derivations/{doc.name}`; each ``python`` block above is run by "
                "`tests/test_derivations.py`.\n")
        if not page.exists() or page.read_text(encoding="utf-8") != text:
            page.write_text(text, encoding="utf-8")
    index = ["# Derivations", "",
             "One document per derivation. Each written step is followed by the code that checks it",
             "(sympy identities, quadrature at many digits, simulations); the test suite runs every block.",
             "", "```{toctree}", ":maxdepth: 1", ""] + [doc.stem for doc in docs] + ["```", ""]
    text = "\n".join(index)
    keep.add("index.md")
    idx = out / "index.md"
    if not idx.exists() or idx.read_text(encoding="utf-8") != text:
        idx.write_text(text, encoding="utf-8")
    for p in out.glob("*.md"):
        if p.name not in keep:
            p.unlink()


def setup(app):
    app.add_directive("qmf-equation-table", EquationTable)
    app.add_directive("qmf-cli", CliReference)
    app.connect("builder-inited", _write_derivations)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
