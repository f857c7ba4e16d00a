"""The one home of "a value -> an mpmath number" for every mpmath face of :mod:`qmf_sym`
(mpmath is imported lazily: the float64 faces never need it)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["mp", "to_mpf"]


def mp():
    """The mpmath module (imported on first use)."""
    import mpmath

    return mpmath


def to_mpf(x):
    """``x`` as an mpf at the current mpmath precision, rounded once from its exact value.

    An int (Python or numpy) or a :class:`~fractions.Fraction` is converted from its exact value
    (a Fraction by one correctly rounded division); an mpf, a float, a decimal string or anything
    with an ``_mpf_`` (a sympy Float) keeps all its digits; numpy floats and 0-d arrays go through
    their float64 value.  No validation: callers validate first (:mod:`qmf_sym._validate`).
    """
    import mpmath

    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if isinstance(x, (int, np.integer)):
        return mpmath.mpf(int(x))
    if isinstance(x, (np.floating, np.ndarray)):
        return mpmath.mpf(float(x))
    return mpmath.mpf(x)
