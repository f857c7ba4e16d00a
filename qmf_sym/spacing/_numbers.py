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


def _gaussian():
    """qmf_sym.gaussian with its raw faces (``pdf.f64``, ``cdf.mp`` ...).  TRANSITIONAL: until
    qmf_sym.gaussian exposes raw faces, thin adapters over its public functions stand in."""
    from .. import gaussian

    if hasattr(gaussian.cdf, "f64"):
        return gaussian
    from types import SimpleNamespace

    def _mp_cdf(x):
        mpmath = mp()
        return mpmath.erfc(-x / mpmath.sqrt(2)) / 2

    return SimpleNamespace(pdf=SimpleNamespace(f64=gaussian.pdf, mp=lambda x: mp().npdf(x)),
                           cdf=SimpleNamespace(f64=gaussian.cdf, mp=_mp_cdf))


G = _gaussian()
