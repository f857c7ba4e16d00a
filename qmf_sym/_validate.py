"""Input validation shared by every qmf module.

Every public function checks its arguments with these helpers, so bad input raises a
``ValueError`` that names the parameter and its allowed range instead of returning NaN.

Rules:

* a ``bool`` is not a number: ``True``/``False`` (Python or numpy) are rejected wherever an integer
  or a real is expected (``dps=True``, ``b=True``, ``seed=True`` ...);
* NaN is not a number: it is rejected by every check here (``real`` admits +-inf, nothing admits NaN);
* ``dps`` is bounded: an integer in ``[1, DPS_MAX]`` (mpmath's cost grows faster than linearly in
  the digits; ``dps = 10**5`` would run for hours inside quadratures);
* a subnormal float64 (0 < |x| < 2.2e-308) is not a scale: :func:`positive`, :func:`nonnegative` and the
  ``deficit`` / ``one_plus`` of :func:`correlation` refuse it (its few significant bits make the float64
  faces wrong, e.g. sqrt(deficit) near C = 1); 0 itself is accepted where the range includes it;
* an empty list or array is not a number: the numeric checks reject it (``positive("step", [])``);
  a function taking a sequence states its shortest length (:func:`array`);
* a size is bounded before anything is allocated or iterated: :func:`integer` with ``hi`` and a
  ``why`` (the cost that sets the bound, e.g. ``lloyd_max``'s ``N <= 256``), :func:`size_product`
  for sizes that multiply into one allocation (width x depth x draws ...).  The message names the
  parameter, the bound and the estimate.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np

DPS_MAX = 1000
"""The largest ``dps`` accepted (digits); the mean-field quadratures take minutes near this bound."""


def _is_bool(value):
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, np.ndarray) and value.dtype == bool


def _is_mp(value):
    return type(value).__module__.startswith("mpmath")


def _real_array(name, value, what):
    if _is_bool(value):
        raise ValueError(f"{name} must be {what}, got a bool {value!r}")
    if value is None or isinstance(value, (str, bytes)):  # asarray(None, float) is a silent NaN
        raise ValueError(f"{name} must be {what}, got {value!r}")
    try:  # asarray(complex128(1+2j), float) drops the imaginary part without a word
        complex_ = not _is_mp(value) and np.iscomplexobj(value)
    except (TypeError, ValueError):  # ragged or foreign: asarray below says so
        complex_ = False
    if complex_:
        raise ValueError(f"{name} must be {what}, got a complex {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{name} must be {what}, got {value!r}") from exc
    if arr.dtype == object:  # pragma: no cover - asarray(dtype=float) never returns object
        raise ValueError(f"{name} must be {what}, got {value!r}")
    if isinstance(value, (list, tuple)) and any(_is_bool(v) for v in np.ravel(np.asarray(value, dtype=object))):
        raise ValueError(f"{name} must be {what}, got bools in {value!r}")
    if arr.size == 0:
        raise ValueError(f"{name} must be {what}, got an empty {type(value).__name__}")
    return arr


def _finite_array(name, value):
    arr = _real_array(name, value, "a finite real number or array of them")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def finite(name, value):
    """Require a finite real scalar; returns it as a float."""
    if _is_mp(value):
        import mpmath

        if not mpmath.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
        return float(value)
    arr = _finite_array(name, value)
    if arr.ndim:
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(arr)


def real(name, value):
    """Require a real scalar or array that is not NaN (+-inf allowed); returns ``value`` unchanged."""
    if _is_mp(value):
        import mpmath

        if mpmath.isnan(value) or isinstance(value, mpmath.mpc):
            raise ValueError(f"{name} must be a real number (not NaN), got {value}")
        return value
    arr = _real_array(name, value, "a real number or array of them (not NaN)")
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must be a real number (NaN is not a number), got {value!r}")
    return value


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


TINY = float(np.finfo(float).tiny)
"""The smallest normal float64 (2.2e-308): a positive scale below it (a subnormal) is refused."""


def _not_subnormal(v):
    return (v == 0) | (abs(v) >= TINY)


def positive(name, value):
    """Require finite ``value > 0`` (scalar or array), not subnormal: a subnormal scale (0 < value <
    2.2e-308) keeps too few significant bits for the float64 faces (its square root, its products with
    other small numbers), and no variance, deficit or width of a mean-field computation is one."""
    return _check(name, value, lambda v: (v > 0) & _not_subnormal(v), f"[{TINY}, inf) (positive, not subnormal)")


def nonnegative(name, value):
    """Require finite ``value >= 0`` (scalar or array), 0 or not subnormal (:func:`positive`)."""
    return _check(name, value, lambda v: (v >= 0) & _not_subnormal(v), f"{{0}} or [{TINY}, inf) (not subnormal)")


def positive_at_most(name, value, hi, why):
    """Require :func:`positive` ``value`` (scalar or array) at most ``hi``, a documented bound; ``why`` (what sets
    it) follows the range in the message: "Q must be in (0, 1e+12] for ..., got ...".  Returns ``value``."""
    positive(name, value)
    return _check(name, value, lambda v: v <= hi, f"(0, {hi:g}] {why}")


SIGMA_MAX = 1e150
"""The largest weight or bias scale sigma_w, sigma_b accepted: its square (every map's factor) stays a
float64 number; above ~1.3e154 sigma_w^2 = inf, and inf times a kernel that underflows to 0 was NaN."""


def sigma(name, value, zero=False):
    """A weight or bias scale (``sigma_w``: ``zero=False``, > 0; ``sigma_b``: ``zero=True``, >= 0): finite,
    not subnormal, at most :data:`SIGMA_MAX` (scalar or array); returns ``value`` unchanged."""
    (nonnegative if zero else positive)(name, value)
    return _check(name, value, lambda v: v <= SIGMA_MAX,
                  f"{'[0' if zero else '(0'}, {SIGMA_MAX:g}] (its square must be a float64 number)")


def in_closed(name, value, lo, hi):
    """Require ``lo <= value <= hi`` (scalar or array)."""
    return _check(name, value, lambda v: (v >= lo) & (v <= hi), f"[{lo}, {hi}]")


def in_open(name, value, lo, hi):
    """Require ``lo < value < hi`` (scalar or array)."""
    return _check(name, value, lambda v: (v > lo) & (v < hi), f"({lo}, {hi})")


def integer(name, value, lo, hi=None, why=""):
    """Require an integer ``lo <= value (<= hi)``; returns it as ``int``.  Bools are rejected;
    integral floats (``3.0``) are accepted.  ``why`` (optional) says what sets ``hi`` (a cost or an
    allocation) and is appended to the message."""
    rng = f"[{lo}, {'inf' if hi is None else hi}] (integers)"
    if why:
        rng += f"; {why}"
    if _is_bool(value):
        raise ValueError(f"{name} must be an integer in {rng}, got a bool {value!r}")
    if not isinstance(value, (int, np.integer)):
        if isinstance(value, Real) and math.isfinite(float(value)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be an integer in {rng}, got {value!r}")
    return value


def dps(value):
    """Validate a ``dps`` argument: ``None`` (float64) or an integer in [1, DPS_MAX] (mpmath digits)."""
    if value is None:
        return None
    return integer("dps", value, 1, DPS_MAX)


def choice(name, value, options):
    """Require ``value`` to be one of ``options``."""
    try:
        ok = value in options
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {sorted(options)!r}, got {value!r}")
    return value


def correlation(C=None, deficit=None, name="C", one_plus=None):
    """Validate a correlation given as ``C`` in [-1, 1], as ``deficit = 1 - C`` in [0, 2] (accurate
    near C = 1) or as ``one_plus = 1 + C`` in [0, 2] (accurate near C = -1).

    Exactly one must be given.  Returns ``(C, deficit)`` when ``one_plus`` is not used (the
    historical two-value form), else ``(C, deficit, one_plus)`` with the unused ones ``None``.
    """
    given = [v is not None for v in (C, deficit, one_plus)]
    if sum(given) == 0:
        raise ValueError(f"give either {name} in [-1, 1], deficit = 1 - {name} in [0, 2] "
                         f"or one_plus = 1 + {name} in [0, 2]")
    if sum(given) > 1:
        raise ValueError(f"give only one of {name}, deficit (= 1 - {name}) and one_plus (= 1 + {name})")
    if deficit is not None:
        _check("deficit", deficit, lambda v: (v >= 0) & (v <= 2) & _not_subnormal(v), f"{{0}} or [{TINY}, 2] (not subnormal)")
    elif one_plus is not None:
        _check("one_plus", one_plus, lambda v: (v >= 0) & (v <= 2) & _not_subnormal(v), f"{{0}} or [{TINY}, 2] (not subnormal)")
    else:
        in_closed(name, C, -1, 1)
    if one_plus is None:
        return C, deficit
    return C, deficit, one_plus


def guard_digits(d):
    """Working precision used internally for a requested ``dps`` (10 guard digits)."""
    return d + 10 + int(math.log10(max(d, 1)))


def array(name, value, ndim=None, min_size=1, finite=True, missing=False):
    """Require a real array (or a number / list of them) of at least ``min_size`` elements, of
    ``ndim`` dimensions when given (a scalar counts as one dimension of length 1 for ``ndim=1``),
    without NaN (and without +-inf when ``finite``); returns it as a float64 ``ndarray``.

    ``missing=True`` admits NaN and +-inf as documented "no value" entries (a censored boundary, a
    missing grid cell); the caller says what they mean."""
    what = "a real array" + (" of finite values" if finite else " (not NaN)")
    if missing:
        what = "a real array (nan for a missing value)"
    arr = _real_array(name, value, what)
    if ndim == 1 and arr.ndim == 0:
        arr = arr.reshape(1)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {what} with {ndim} dimension(s), got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must hold at least {min_size} value(s), got {arr.size}")
    bad = np.zeros(arr.shape, bool) if missing else ~np.isfinite(arr) if finite else np.isnan(arr)
    if np.any(bad):
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return arr


# ============================================================================ the memory budget
#: fraction of the physical memory a single run may plan to allocate
MEMORY_FRACTION = 0.5
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def physical_memory() -> int:
    """Bytes of physical memory of this machine (4 GiB where the OS does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4 << 30


def memory_budget() -> tuple[int, str]:
    """The one size bound of the package: ``(bytes, where it comes from)``.

    A run (every size: d, runs, particles, width, depth, r, widths, draws, grid points) may plan at
    most ``QMF_MAX_BYTES`` bytes where that environment variable is set (an integer, or with a suffix
    K, M, G, T: ``QMF_MAX_BYTES=8G``), else :data:`MEMORY_FRACTION` of :func:`physical_memory`."""
    import os
    import re

    env = os.environ.get("QMF_MAX_BYTES", "").strip()
    if env:
        m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([KMGT]?)i?B?", env, flags=re.IGNORECASE)
        if m:
            return int(float(m.group(1)) * _UNITS[m.group(2).upper()]), "QMF_MAX_BYTES"
    return int(MEMORY_FRACTION * physical_memory()), "half the physical memory; set QMF_MAX_BYTES to change it"


def human_bytes(n) -> str:
    """``36.4 TiB``-style size of ``n`` bytes (finite)."""
    n = finite("n", n)
    if n < 0:
        raise ValueError(f"n must be a number of bytes >= 0, got {n!r}")
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else (f"{n:.1f} {unit}" if n < 1e4 else f"{n:.3g} {unit}")
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_bytes(name: str, nbytes, what: str = "") -> int:
    """Raise ``ValueError`` naming ``name`` when a run that needs ``nbytes`` bytes (``what``: of which
    arrays) exceeds :func:`memory_budget`, before it allocates; returns ``nbytes`` as an int otherwise.
    The CLI passes ``argument --d`` as the name, so the message is the one line of ``qmf ... --d 1e12``."""
    label("name", name)
    if not isinstance(what, str):
        raise ValueError(f"what must be a string (which arrays, for the message; '' for none), got {what!r}")
    need = real("nbytes", nbytes)
    if np.ndim(need) or not need >= 0:
        raise ValueError(f"nbytes must be a number of bytes >= 0, got {nbytes!r}")
    budget, why = memory_budget()
    if not need <= budget:
        detail = f" ({what})" if what else ""
        size = human_bytes(need) if math.isfinite(need) else "more than any machine has (an estimate of inf bytes)"
        raise ValueError(f"{name} would need about {size} of memory{detail}; the limit is "
                         f"{human_bytes(budget)} ({why})")
    return int(need)


def size_product(name, factors, limit=None, what="float64 elements"):
    """Refuse a run whose arrays would hold ``prod(factors)`` elements of 8 bytes beyond the
    :func:`memory_budget` (or beyond ``limit`` elements) before it allocates; returns the product.

    ``factors``: ``(label, value)`` pairs of validated integers, labels being the parameters'
    names (``[("n_draws", D), ("width", n), ("width", n)]``).  The message names ``name``, or with
    name=None the parameter with the largest factor, and gives the estimate; ``what``: free text, the
    unit of the count."""
    if name is not None:
        label("name", name)
    label("what", what)
    if isinstance(factors, (str, bytes, dict)) or not isinstance(factors, (list, tuple)) or not factors \
            or not all(isinstance(kv, (list, tuple)) and len(kv) == 2 and isinstance(kv[0], str) for kv in factors):
        raise ValueError(f"factors must be a non-empty list of (label, size) pairs, got {factors!r}")
    factors = [(k, integer(k, v, 0)) for k, v in factors]
    total = 1
    for _, f in factors:
        total *= f
    if limit is None:
        budget, why = memory_budget()
        limit = budget // 8
    else:
        limit = integer("limit", limit, 1)
        why = "the bound of this function"
    if total > limit:
        if name is None:
            name = max(factors, key=lambda kv: int(kv[1]))[0]
        terms = " x ".join(f"{k} {int(v)}" for k, v in factors)
        raise ValueError(f"{name} too large: the run would allocate about {total:.3g} {what} ({terms}, "
                         f"~{human_bytes(8.0 * total)}), above the bound {limit:.3g} (~{human_bytes(8.0 * limit)}; {why})")
    return total


def label(name, value):
    """Require a non-empty string: the label a function's messages name a bad argument by (a
    parameter name, or a CLI flag such as ``argument --psi``); returns it."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string (the label the messages use, e.g. a parameter "
                         f"name or a CLI flag), got {value!r}")
    return value


def flag(name, value):
    """Require a bool (Python or numpy); returns it as ``bool``.  ``0``/``1``, ``None`` or strings are
    not flags."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_callable(name, value):
    """Require ``None`` or a callable; returns it."""
    if value is not None and not callable(value):
        raise ValueError(f"{name} must be None or a callable, got {value!r}")
    return value


_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def torch_float_dtype(name, value):
    """Require a floating torch dtype (``torch.float32`` ...), recognised without importing torch
    (``qmf_sym`` never imports it); returns it."""
    if not (type(value).__module__ == "torch" and type(value).__name__ == "dtype"
            and str(value).replace("torch.", "") in _FLOAT_DTYPES):
        raise ValueError(f"{name} must be a floating torch dtype (torch.{', torch.'.join(_FLOAT_DTYPES)}), "
                         f"got {value!r}")
    return value


def device_spec(name, value):
    """Require ``None``, a ``torch.device`` or a device string ``cpu`` / ``cuda`` / ``cuda:<k>`` /
    ``mps`` (the form only; whether it exists is the caller's check); returns it."""
    import re

    if value is None or (type(value).__module__ == "torch" and type(value).__name__ == "device"):
        return value
    if isinstance(value, str) and re.fullmatch(r"(cpu|cuda|mps)(:\d+)?", value):
        return value
    raise ValueError(f"{name} must be None, a torch.device or 'cpu' / 'cuda' / 'cuda:<index>' / 'mps', "
                     f"got {value!r}")


def integers(name, values, lo, hi=None, min_len=1):
    """Require a sequence (list, tuple, range, 1-D array) of at least ``min_len`` integers in
    ``[lo, hi]``; returns them as a list of ``int``."""
    if isinstance(values, (str, bytes, dict)) or values is None or np.ndim(values) != 1 \
            or (isinstance(values, np.ndarray) and values.dtype.kind not in "iuf"):
        raise ValueError(f"{name} must be a sequence of integers in [{lo}, {'inf' if hi is None else hi}], "
                         f"got {values!r}")
    out = [integer(name, v, lo, hi) for v in values]
    if len(out) < min_len:
        raise ValueError(f"{name} must hold at least {min_len} integer(s), got {len(out)}")
    return out


def float_tensor(name, value):
    """Require a floating torch tensor (recognised without importing torch); returns it."""
    if not (type(value).__module__.startswith("torch") and hasattr(value, "is_floating_point")
            and value.is_floating_point()):
        raise ValueError(f"{name} must be a floating torch tensor, got {type(value).__name__}")
    return value
