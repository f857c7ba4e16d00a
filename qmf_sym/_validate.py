"""Input validation shared by every qmf module.

Every public function checks its arguments with these helpers, so bad input raises a
``ValueError`` that names the parameter and its allowed range instead of returning NaN.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np


def _finite_array(name, value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:  # pragma: no cover - message path
        raise ValueError(f"{name} must be a finite real number or array of them, got {value!r}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def finite(name, value):
    """Require a finite real scalar; returns it as a float."""
    arr = _finite_array(name, value)
    if arr.ndim:
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(arr)


def _is_mp(value):
    return type(value).__module__.startswith("mpmath")


def _check(name, value, ok, rng):
    if _is_mp(value):
        import mpmath

        if not mpmath.isfinite(value) or not ok(value):
            raise ValueError(f"{name} must be in {rng}, got {value}")
        return value
    arr = _finite_array(name, value)
    if not np.all(ok(arr)):
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return value


def positive(name, value):
    """Require ``value > 0`` (scalar or array)."""
    return _check(name, value, lambda v: v > 0, "(0, inf)")


def nonnegative(name, value):
    """Require ``value >= 0`` (scalar or array)."""
    return _check(name, value, lambda v: v >= 0, "[0, inf)")


def in_closed(name, value, lo, hi):
    """Require ``lo <= value <= hi`` (scalar or array)."""
    return _check(name, value, lambda v: (v >= lo) & (v <= hi), f"[{lo}, {hi}]")


def integer(name, value, lo, hi=None):
    """Require an integer ``lo <= value (<= hi)``; returns it as ``int``."""
    rng = f"[{lo}, {'inf' if hi is None else hi}] (integers)"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    return value


def dps(value):
    """Validate a ``dps`` argument: ``None`` (float64) or an integer >= 1 (mpmath digits)."""
    if value is None:
        return None
    return integer("dps", value, 1)


def choice(name, value, options):
    """Require ``value`` to be one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)!r}, got {value!r}")
    return value


def correlation(C=None, deficit=None, name="C"):
    """Validate a correlation given either as ``C`` in [-1, 1] or as ``deficit = 1 - C`` in [0, 2].

    Returns ``(C, deficit)`` with exactly one of them possibly ``None``.
    """
    if C is None and deficit is None:
        raise ValueError(f"give either {name} in [-1, 1] or deficit = 1 - {name} in [0, 2]")
    if C is not None and deficit is not None:
        raise ValueError(f"give only one of {name} and deficit (= 1 - {name})")
    if deficit is not None:
        in_closed("deficit", deficit, 0, 2)
    else:
        in_closed(name, C, -1, 1)
    return C, deficit


def guard_digits(d):
    """Working precision used internally for a requested ``dps`` (10 guard digits)."""
    return d + 10 + int(math.log10(max(d, 1)))
