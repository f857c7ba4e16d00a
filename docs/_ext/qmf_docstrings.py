"""Sphinx extension: a docstring that is not valid reStructuredText is shown as plain text.

Many docstrings of qmf are written as plain prose with mathematics in Unicode (``|u|``,
``E[phi(u)]``, ``w_i``), which reStructuredText reads as substitutions, targets or emphasis.  Rather
than render them garbled (and fail the ``-W`` build), each docstring is checked after numpydoc has
processed it: if docutils reports a problem, the original text is shown verbatim in a literal block
under a one-line note.  The objects so treated are listed at the end of the build (``qmf_docstrings:``
lines) and in ``<outdir>/plain_docstrings.txt``, so that their owners can make them valid
reStructuredText; ``QMF_DOCS_STRICT=1`` turns the fallback off to see docutils' own messages.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

_ROLE = re.compile(r":[A-Za-z][\w:.+-]*:`([^`]*)`")
_SPHINX_DIRECTIVES = re.compile(r"^(\s*)\.\. (autosummary|currentmodule|versionadded|versionchanged|deprecated|"
                                r"seealso|plot|index|rubric|only|py:\w+)::", re.M)
_PLAIN: dict[str, str] = {}


def _problems(lines) -> str:
    """docutils' messages (level >= warning) for the docstring as it would sit in an autodoc block."""
    from docutils.core import publish_doctree
    from docutils.utils import SystemMessage

    text = "\n".join(lines)
    text = _ROLE.sub(lambda m: "``" + (m.group(1).replace("`", "") or "x") + "``", text)
    text = _SPHINX_DIRECTIVES.sub(lambda m: f"{m.group(1)}.. note::", text)
    wrapped = ".. note::\n\n" + "\n".join("   " + ln if ln.strip() else "" for ln in text.splitlines()) + "\n"
    stream = io.StringIO()
    try:
        publish_doctree(wrapped, settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream,
                                                     "file_insertion_enabled": False, "raw_enabled": False})
    except SystemMessage as exc:  # pragma: no cover -- halt_level 5 never halts
        return str(exc)
    except Exception as exc:  # noqa: BLE001 -- anything docutils cannot read is a problem
        return f"{type(exc).__name__}: {exc}"
    return stream.getvalue().strip()


def _process(app, what, name, obj, options, lines):
    if not lines or os.environ.get("QMF_DOCS_STRICT") == "1":
        return
    msg = _problems(lines)
    if not msg:
        return
    import inspect

    raw = inspect.getdoc(obj) if what != "module" else (obj.__doc__ or "")
    raw = inspect.cleandoc(raw or "\n".join(lines))
    _PLAIN[name] = msg.splitlines()[0]
    lines[:] = ["*(This docstring is plain text; it is shown as written.)*", "", "::", ""]
    lines += ["    " + ln if ln.strip() else "" for ln in raw.splitlines()]
    lines.append("")


def _finished(app, exc):
    if exc is not None or not _PLAIN:
        return
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    log.info(f"qmf_docstrings: {len(_PLAIN)} docstrings shown as plain text (not valid reStructuredText)")
    out = Path(app.outdir) / "plain_docstrings.txt"
    out.write_text("".join(f"{k}\t{v}\n" for k, v in sorted(_PLAIN.items())), encoding="utf-8")


def _robust_numpydoc_validator():
    """numpydoc's validator looks for a ``def``/``class`` line in the object's source and raises
    StopIteration (crashing the build) for a public name bound to an object whose source has none (an
    alias of a lambda, a functools.partial): answer "line unknown" instead."""
    from numpydoc import validate

    prop = validate.Validator.source_file_def_line
    if getattr(prop.fget, "_qmf_robust", False):
        return

    def source_file_def_line(self):
        try:
            return prop.fget(self)
        except (StopIteration, RuntimeError):
            return None

    source_file_def_line._qmf_robust = True
    validate.Validator.source_file_def_line = property(source_file_def_line)


def setup(app):
    _robust_numpydoc_validator()
    app.connect("autodoc-process-docstring", _process, priority=900)
    app.connect("build-finished", _finished)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
