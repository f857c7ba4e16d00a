"""Number conversions shared by the modules of :mod:`qmf_sym.spacing` (mpmath imported lazily)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def mp():
    """The mpmath module (imported on first use: the float64 faces never need it)."""
    import mpmath

    return mpmath


def to_mpf(x):
    """``x`` as an mpf at the current precision: an mpf keeps its digits, an int or a Fraction is
    converted exactly, anything else goes through float64."""
    mpmath = mp()
    if type(x).__module__.startswith("mpmath"):
        return mpmath.mpf(x)
    if isinstance(x, (int, np.integer)):
        return mpmath.mpf(int(x))
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(float(x))

