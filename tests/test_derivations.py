"""Run every derivation document: each ```python block of derivations/*.md, in order, in one
namespace per document.  The blocks hold the checks (sympy identities, numeric agreements) that
make each written step of a derivation true; an assertion that fails fails the test."""
import re
from pathlib import Path

import pytest

DERIV = Path(__file__).resolve().parents[1] / "derivations"
DOCS = sorted(DERIV.glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_derivations_exist():
    assert DOCS, "derivations/ holds no documents"


def test_every_cited_derivation_exists():
    """Each derivations/<name>.md that the code, the tests, the scripts or the docs cite is a document here
    (two docstrings once pointed at files that were never written)."""
    root = DERIV.parent
    cited = {}
    for d in ("qmf_sym", "qmf_sim", "tests", "scripts", "benchmarks", "docs"):
        for f in (root / d).rglob("*"):
            if f.suffix in (".py", ".md") and "_build" not in f.parts:
                for name in re.findall(r"derivations/([A-Za-z0-9_]+\.md)", f.read_text(errors="replace")):
                    cited.setdefault(name, str(f.relative_to(root)))
    cited.pop("index.md", None)  # the docs site's page of the derivations (docs/derivations/index.md)
    missing = {n: where for n, where in cited.items() if not (DERIV / n).is_file()}
    assert cited and not missing, missing


@pytest.mark.parametrize("doc", DOCS, ids=[d.stem for d in DOCS])
def test_derivation(doc):
    blocks = BLOCK.findall(doc.read_text())
    assert blocks, f"{doc.name} has no ```python check blocks"
    ns = {"__name__": f"derivation_{doc.stem}"}
    for i, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{doc.name}[block {i}]", "exec"), ns)
        except AssertionError as exc:
            raise AssertionError(f"{doc.name}, check block {i} failed: {exc}") from exc
