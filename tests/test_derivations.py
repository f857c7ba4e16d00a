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
