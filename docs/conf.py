"""Sphinx configuration of the qmf documentation.

Build everything (tutorials executed)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Reference pages only, tutorials parsed but not run (what ``tests/test_docs.py`` does)::

    python -m sphinx -W --keep-going -b html -D nb_execution_mode=off docs docs/_build/html

The API pages (``docs/api/``), the equation table, the command-line reference and the derivation
pages (``docs/derivations/``) are generated at every build by the extensions in ``docs/_ext`` from
the modules' ``__all__``, the ``ClosedForm`` registry, ``qmf_sim.cli.build_parser()`` and
``derivations/*.md``; they are not kept in git.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))
os.environ.setdefault("QMF_NO_PROGRESS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

project = "qmf"
author = "the qmf authors"
copyright = "2026, the qmf authors"
try:
    import qmf_sym

    release = qmf_sym.__version__
except Exception:  # noqa: BLE001 -- an uninstalled tree still builds
    release = "0+unknown"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_nb",
    "qmf_api",
    "qmf_pages",
    "qmf_docstrings",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "jupyter_execute"]
templates_path = []

# --- autodoc / autosummary / numpydoc -------------------------------------------------------------
autosummary_generate = False  # qmf_api writes the pages itself, one per public name
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # signatures carry the names; the docstrings say the types
autodoc_mock_imports = []
autodoc_inherit_docstrings = False  # a torch base class's docstring is not ours
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Docstrings here are prose in numpydoc's summary/extended-summary form; what must hold for every
# public name is that it has a docstring (GL08).  The other numpydoc checks (parameter sections and
# the like) are not required by the house style.
numpydoc_validation_checks = {"GL08"}
numpydoc_validation_exclude = {r"\.__init__$", r"\.__call__$", r"\.__repr__$"} | {
    r"^qmf_sim\.cli\.\w+\.add_commands$"}  # the plugin hook of every CLI module (qmf_sim.cli docstring)
# Every docstring must be valid reStructuredText (docs/_ext/qmf_docstrings.py): one that is not is shown
# as plain text and, unless its full name is listed here, is a warning (an error under -W).  None is
# listed; a listed name that becomes valid is reported at the end of the build.
qmf_plain_docstrings_allowed = frozenset()

# --- MyST / myst-nb ---------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# --- HTML -------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"qmf {release}"
html_static_path = []
html_last_updated_fmt = None

intersphinx_mapping = {}  # offline build: no inventories fetched

nitpicky = False
suppress_warnings = []
