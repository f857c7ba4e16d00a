"""Sphinx extension: every docstring must be valid reStructuredText; one that is not is shown as plain text.

Docstrings of qmf are prose with ASCII mathematics; written as source they read well, but
reStructuredText reads ``|u|`` as a substitution, ``w_`` as a target and a leading ``*`` as emphasis.
Each docstring is checked after numpydoc has processed it: if docutils reports a problem (level
>= warning), the original text is shown verbatim in a literal block under a one-line note, so that
the page is never garbled, and

* unless its name is in the conf value ``qmf_plain_docstrings_allowed`` (a set of full names, e.g.
  ``"qmf_sim.nn.torch_function"``), a Sphinx warning names the object, its source file and docutils'
  first message: under ``-W`` (the documented build, ``tests/test_docs.py``) the build fails;
* every such object is listed in ``<outdir>/plain_docstrings.txt`` (``name<TAB>message``; written at
  every build, empty when there are none), and a name of the allowed set whose docstring is valid
  now is reported (info) so that it can be dropped from the set.

Making a docstring valid: mathematics with ``|x|`` or a leading ``*`` in double backquotes (an
inline literal), a display of several lines as a literal block (end the sentence before it with
``::``), a blank line before a bullet list and around a block nested in it.  ``QMF_DOCS_STRICT=1``
turns the fallback off to see docutils' own messages in the rendered build.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

_ROLE = re.compile(r":[A-Za-z][\w:.+-]*:`([^`]*)`")
_SPHINX_DIRECTIVES = re.compile(r"^(\s*)\.\. (autosummary|currentmodule|versionadded|versionchanged|deprecated|"
                                r"seealso|plot|index|rubric|only|py:\w+)::", re.M)
_PLAIN: dict[str, str] = {}  # name -> docutils' first message, this build
_VALID: set[str] = set()  # names whose docstring was checked and is valid, this build


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


def _where(obj) -> str:
    """`` (path:line)`` of an object's definition, relative to the repository, or ``""``."""
    import inspect

    try:
        target = obj.fget if isinstance(obj, property) else inspect.unwrap(obj)
        path = Path(inspect.getsourcefile(target)).resolve()
        line = 1 if inspect.ismodule(target) else inspect.getsourcelines(target)[1]
    except (TypeError, OSError):  # a closed form, a builtin: no source of its own
        return ""
    try:
        path = path.relative_to(Path(__file__).resolve().parents[2])
    except ValueError:
        pass
    return f" ({path}:{line})"


_MESSAGE = re.compile(r"^<string>:(\d+): \((\w+)/\d\) (.*)$")


def _locate(first: str, lines, raw: str) -> str:
    """docutils' message with the line of the docstring it points at (docutils numbers the wrapped,
    numpydoc-processed block; the line is found again in the docstring as written)."""
    m = _MESSAGE.match(first)
    if not m:
        return first
    k = int(m.group(1)) - 3  # ".. note::" and a blank line precede the processed docstring in _problems
    text = lines[k].strip() if 0 <= k < len(lines) else ""
    if not text:
        return f"{m.group(2)}: {m.group(3)}"
    at = next((i for i, ln in enumerate(raw.splitlines(), 1) if ln.strip() == text), None)
    return f"{m.group(2)}: {m.group(3)} -- {f'docstring line {at}' if at else 'at'}: {text!r}"


def _more(msg: str) -> str:
    n = sum(1 for ln in msg.splitlines() if _MESSAGE.match(ln)) - 1
    return f"; {n} more message{'s' if n > 1 else ''}" if n > 0 else ""


def _process(app, what, name, obj, options, lines):
    if not lines or os.environ.get("QMF_DOCS_STRICT") == "1":
        return
    msg = _problems(lines)
    if not msg:
        _VALID.add(name)
        return
    import inspect

    raw = inspect.getdoc(obj) if what != "module" else (obj.__doc__ or "")
    raw = inspect.cleandoc(raw or "\n".join(lines))
    first = msg.splitlines()[0]
    seen = name in _PLAIN  # autosummary on the module page reads the docstring too: one warning per name
    _PLAIN[name] = first
    if not seen and name not in set(app.config.qmf_plain_docstrings_allowed):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            f"qmf_docstrings: the docstring of {name}{_where(obj)} is not valid reStructuredText "
            f"({_locate(first, lines, raw)}{_more(msg)}); "
            "it is shown as plain text.  Write |x| as ``|x|``, a display as a literal block (::), a blank line "
            "before a list (QMF_DOCS_STRICT=1 shows every message)",
            type="qmf", subtype="plain_docstring", location=app.env.docname)
    lines[:] = ["*(This docstring is plain text; it is shown as written.)*", "", "::", ""]
    lines += ["    " + ln if ln.strip() else "" for ln in raw.splitlines()]
    lines.append("")


def _inited(app):
    _PLAIN.clear()
    _VALID.clear()


def _finished(app, exc):
    if exc is not None or os.environ.get("QMF_DOCS_STRICT") == "1":
        return
    from sphinx.util import logging

    log = logging.getLogger(__name__)
    if _PLAIN:
        log.info(f"qmf_docstrings: {len(_PLAIN)} docstrings shown as plain text (not valid reStructuredText)")
    stale = sorted((set(app.config.qmf_plain_docstrings_allowed) & _VALID) - set(_PLAIN))
    if stale:
        log.info(f"qmf_docstrings: valid now, drop from qmf_plain_docstrings_allowed: {', '.join(stale)}")
    out = Path(app.outdir) / "plain_docstrings.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
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
    app.add_config_value("qmf_plain_docstrings_allowed", frozenset(), "env", types=[set, frozenset, list, tuple])
    app.connect("builder-inited", _inited)
    app.connect("autodoc-process-docstring", _process, priority=900)
    app.connect("build-finished", _finished)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
