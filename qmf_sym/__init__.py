"""qmf_sym: the closed forms of the mean-field theory of quantized networks (no I/O, no torch).

``__version__`` is the installed distribution's version (package metadata of ``qmf``); a source
tree that was never installed reports ``"0+unknown"``.  This is the one home of the version string:
``qmf_sim.__version__`` and ``qmf --version`` read it from here.
"""
from __future__ import annotations


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qmf")
    except PackageNotFoundError:  # a source tree on sys.path, not installed
        return "0+unknown"


def __getattr__(name):  # PEP 562: read the metadata only when asked (importing qmf_sym stays cheap)
    if name == "__version__":
        v = globals()["__version__"] = _version()
        return v
    raise AttributeError(f"module 'qmf_sym' has no attribute {name!r}")
