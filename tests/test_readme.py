"""README.md's "Where each equation lives" table is the registry's, and names only modules that exist."""
import importlib
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("equation_table", ROOT / "scripts" / "equation_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_equation_table_is_the_registry():
    from qmf_sym._faces import equation_table

    block = _script().readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block == equation_table(), "README table is stale: run python scripts/equation_table.py --write"


def test_readme_names_only_importable_modules():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`((?:qmf_sym|qmf_sim)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", text))
    assert names
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        for i in range(len(parts), 0, -1):  # longest importable prefix, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                missing.append(name)
            break
        else:
            missing.append(name)
    assert not missing, f"README names what does not exist: {missing}"
