"""Sphinx extension: the API reference, generated from each module's ``__all__`` at every build.

For every module of ``qmf_sym`` and ``qmf_sim`` (private ones, ``_name``, left out) the public names
are its ``__all__``; a module without ``__all__`` contributes the functions, classes and closed
forms it defines itself (``obj.__module__`` is the module).  Each public object gets one page, at its
home: the module whose ``__all__`` lists it and which defines it (``__module__``), else the deepest
module listing it; a package that re-exports it links there.  The pages are written under
``docs/api/`` on ``builder-inited`` (before Sphinx reads the sources), so a name added to an
``__all__`` appears at the next build without touching the docs.  A module that cannot be imported
is a warning (an error under ``-W``).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("qmf_sym", "qmf_sim")
API_DIR = "api"


@dataclass
class Entry:
    module: str  # the module whose public name this is
    name: str  # the name in that module
    obj: object
    kind: str  # "module", "class", "function", "data"
    home: str = ""  # the module whose page documents it

    @property
    def target(self) -> str:
        return f"{self.home}.{self.name}" if self.kind != "module" else self.obj.__name__


def _is_private(modname: str) -> bool:
    return any(part.startswith("_") for part in modname.split(".")[1:])


def iter_modules(packages=PACKAGES):
    """Yield ``(name, module or exception)`` for every public module of the packages, sorted."""
    names = []
    for pkg in packages:
        mod = importlib.import_module(pkg)
        names.append(pkg)
        for info in pkgutil.walk_packages(mod.__path__, pkg + "."):
            if not _is_private(info.name):
                names.append(info.name)
    for name in sorted(set(names)):
        try:
            yield name, importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 -- reported as a build warning
            yield name, exc


def _kind(obj) -> str:
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def public_names(mod) -> list[str]:
    """The public names of a module: ``__all__``, else what it defines itself."""
    names = getattr(mod, "__all__", None)
    if names is not None:
        return list(names)
    own = []
    for name, obj in vars(mod).items():
        if name.startswith("_") or _kind(obj) not in ("class", "function"):
            continue
        if getattr(obj, "__module__", None) == mod.__name__:
            own.append(name)
    return sorted(own)


def collect(packages=PACKAGES):
    """``(modules, entries, errors)``: module names in order, ``{module: [Entry]}``, import failures."""
    modules, entries, errors = [], {}, []
    for modname, mod in iter_modules(packages):
        if isinstance(mod, Exception):
            errors.append((modname, f"cannot be imported: {type(mod).__name__}: {mod}"))
            continue
        modules.append(modname)
        rows = []
        for name in public_names(mod):
            if not hasattr(mod, name):
                errors.append((modname, f"__all__ names {name!r}, which the module does not have"))
                continue
            obj = getattr(mod, name)
            rows.append(Entry(modname, name, obj, _kind(obj)))
        entries[modname] = rows
    # the home of each (object, name): the exporting module that defines it, else the deepest exporter
    exporters: dict[tuple, list[Entry]] = {}
    for rows in entries.values():
        for e in rows:
            if e.kind in ("class", "function"):
                exporters.setdefault((id(e.obj), e.name), []).append(e)
            else:
                e.home = e.module
    for group in exporters.values():
        defined = getattr(group[0].obj, "__module__", None)
        same = [e for e in group if e.module == defined]
        home = same[0].module if same else max(group, key=lambda e: (e.module.count("."), e.module)).module
        for e in group:
            e.home = home
    return modules, entries, errors


def _title(text: str, ch: str = "=") -> str:
    return f"{text}\n{ch * len(text)}\n"


def _object_page(e: Entry) -> str:
    directive = {"class": "autoclass", "function": "autofunction", "data": "autodata"}[e.kind]
    opts = ""
    if e.kind == "class":
        opts = "   :members:\n   :show-inheritance:\n"
    elif e.kind == "data":
        opts = "   :no-value:\n"
    return (f"{_title(e.name)}\n.. currentmodule:: {e.module}\n\n.. {directive}:: {e.name}\n{opts}\n"
            f"*Module* :mod:`{e.module}`.\n")


def _module_page(modname: str, rows: list[Entry]) -> str:
    out = [_title(modname), f".. automodule:: {modname}\n", f".. currentmodule:: {modname}\n"]
    here = [e for e in rows if e.kind != "module" and e.home == modname]
    away = [e for e in rows if e.kind != "module" and e.home != modname]
    subs = [e for e in rows if e.kind == "module"]
    if here:
        out.append(".. rubric:: Public names\n\n.. autosummary::\n   :toctree: generated\n   :nosignatures:\n")
        out += [f"   {e.name}" for e in here]
        out.append("")
    if away:
        out.append(".. rubric:: Also exported here (documented at their home)\n")
        out += [f"* ``{e.name}``: :py:obj:`{e.target}`" for e in away]
        out.append("")
    if subs:
        out.append(".. rubric:: Modules exported here\n")
        out += [f"* :mod:`{e.obj.__name__}`" for e in subs]
        out.append("")
    if not rows:
        out.append("*This module has no public names of its own.*\n")
    return "\n".join(out) + "\n"


def _index_page(modules: list[str]) -> str:
    out = [_title("API reference"),
           "Every public name of :mod:`qmf_sym` (the closed forms, no I/O) and :mod:`qmf_sim` (simulations,",
           "training, files, the command line), one page each, generated at every build from the modules'",
           "``__all__`` (a module without ``__all__`` contributes what it defines itself).\n"]
    for pkg, blurb in (("qmf_sym", "pure mathematics"), ("qmf_sim", "simulation, training, I/O, CLI")):
        out.append(_title(f"{pkg} ({blurb})", "-"))
        out.append(".. toctree::\n   :maxdepth: 1\n")
        out += [f"   {m}" for m in modules if m == pkg or m.startswith(pkg + ".")]
        out.append("")
    return "\n".join(out) + "\n"


def _write(path: Path, text: str, keep: set):
    keep.add(path.resolve())
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def generate(srcdir: Path, logger=None) -> dict:
    """Write ``srcdir/api``; return counts (``modules``, ``pages``, ``errors``)."""
    modules, entries, errors = collect()
    root = Path(srcdir) / API_DIR
    keep: set = set()
    _write(root / "index.rst", _index_page(modules), keep)
    pages = 0
    for modname in modules:
        _write(root / f"{modname}.rst", _module_page(modname, entries[modname]), keep)
        for e in entries[modname]:
            if e.kind != "module" and e.home == modname:
                _write(root / "generated" / f"{modname}.{e.name}.rst", _object_page(e), keep)
                pages += 1
    if root.exists():  # names that went away
        for p in sorted(root.rglob("*.rst")):
            if p.resolve() not in keep:
                p.unlink()
    if logger is not None:
        for modname, msg in errors:
            logger.warning(f"qmf_api: {modname} {msg}")
    return {"modules": len(modules), "pages": pages, "errors": errors}


def _on_builder_inited(app):
    from sphinx.util import logging

    generate(Path(app.srcdir), logging.getLogger(__name__))


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # python docs/_ext/qmf_api.py: print the counts
    print({k: v for k, v in generate(Path(__file__).resolve().parents[1]).items()})
