"""The one switch for progress bars.

A bar is shown only when it was asked for (``requested``), the process has not switched bars off
(:func:`set_enabled`, which ``qmf --no-progress`` / ``qmf reproduce --no-progress`` call), the
environment does not say ``QMF_NO_PROGRESS=1``, and stderr is a terminal: a log file or a pipe
(non-TTY) stays quiet.  Bars are tqdm bars on stderr.
"""
from __future__ import annotations

import os
import sys

_STATE = {"enabled": True}


def set_enabled(flag: bool) -> None:
    """Switch every bar of this process on or off."""
    _STATE["enabled"] = bool(flag)


def enabled(requested: bool = True) -> bool:
    """Whether a bar asked for with ``requested`` is to be drawn now."""
    if not requested or not _STATE["enabled"] or os.environ.get("QMF_NO_PROGRESS", "") not in ("", "0"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def bar(iterable=None, total=None, desc=None, unit="it", requested=True, **kw):
    """A tqdm bar on stderr, drawn only when :func:`enabled` (otherwise a silent pass-through)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled(requested), file=sys.stderr,
                dynamic_ncols=True, **kw)
