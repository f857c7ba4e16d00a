"""README.md: within its bound, its Python example runs, its test command is CI's, and every ``qmf ...``
command it or the documentation shows exists (sub-command, flags, choices) in the argparse definitions."""
import importlib
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
GENERATED = ("api", "derivations", "_build", "jupyter_execute")  # written by the build from the code


def _cli():
    spec = importlib.util.spec_from_file_location("qmf_cli", DOCS / "_ext" / "qmf_cli.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)  # a dataclass in it needs its module registered
    spec.loader.exec_module(mod)
    return mod


def _text():
    return README.read_text(encoding="utf-8")


def _doc_sources():
    out = [README]
    for p in sorted(DOCS.rglob("*.md")):
        if not set(p.relative_to(DOCS).parts) & set(GENERATED):
            out.append(p)
    return out


def test_readme_within_150_lines():
    n = len(_text().splitlines())
    assert n <= 150, f"README.md has {n} lines (at most 150; long material belongs in docs/)"


def test_readme_names_only_importable_modules():
    names = set(re.findall(r"`((?:qmf_sym|qmf_sim)(?:\.[A-Za-z_][A-Za-z0-9_]*)+)", _text()))
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


def test_readme_python_example_runs(capsys):
    section = _text().split("## The Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 5 <= len(code.strip().splitlines()) <= 12
    exec(compile(code, "README.md[python example]", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "chi_max = 0.974312930582" in out and "xi = 38.43" in out


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_cmds = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    blocks = re.findall(r"```bash\n(.*?)```", _text(), re.S)
    test_line = next(b for b in blocks if "pytest" in b).strip()
    install, run = (s.strip() for s in test_line.split("&&"))
    assert run == "python -m pytest" and run in ci_cmds
    assert install.startswith("pip install ")
    assert any("pip install" in c and c.endswith(install.split()[-1]) for c in ci_cmds), install
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in _text().split("## Two commands")[1][:900]


def test_shown_commands_exist_in_the_cli():
    cli = _cli()
    tree = cli.commands()
    shown, problems = 0, []
    for path in _doc_sources():
        for cmd in cli.commands_in_markdown(path.read_text(encoding="utf-8")):
            shown += 1
            problems += [f"{path.relative_to(ROOT)}: {p}" for p in cli.check_command(cmd, tree)]
    assert shown >= 15, shown
    assert not problems, "\n".join(problems)


def test_readme_lists_every_command():
    cli = _cli()
    tree = cli.commands()
    shown = [c.split()[1:] for c in cli.commands_in_markdown(_text())]
    leaves = [c.split() for c, p in tree.items() if c and cli._subparsers(p) is None]
    missing = [" ".join(w) for w in leaves if not any(s[:len(w)] == w for s in shown)]
    assert not missing, f"README's command table lacks: {missing}"


@pytest.mark.parametrize("line, why", [
    ("qmf ste simulate --method ode", "no choice 'ode'"),
    ("qmf ste plateu --b 2", "not a sub-command"),
    ("qmf table --level 3", "has no flag --level"),
    ("qmf train-depth --preset smoke\\|fast", "no choice 'fast'"),
])
def test_command_check_catches_drift(line, why):
    cli = _cli()
    problems = cli.check_command(line, cli.commands())
    assert problems and why in problems[0]


def test_markdown_command_extraction():
    cli = _cli()
    text = "run `qmf init --levels 4` then\n\n```bash\npip install -e . && .venv/bin/qmf table --levels 3  # x\n```\n"
    assert cli.commands_in_markdown(text) == ["qmf table --levels 3", "qmf init --levels 4"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
