"""Access to Arb (through python-flint) for the ball face: the import with a clear message when it is
missing, a precision context, exact conversions into balls, and outward decimal rounding.

python-flint is imported lazily (inside functions) so that ``import qmf_sym.proof`` and the equation
registry work without it; only *using* the ball face needs it.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

from .. import _validate as V

_FLINT = None
MISSING = ("the ball face (qmf_sym.proof) needs python-flint (Arb ball arithmetic): "
           "pip install 'python-flint>=0.8'")


def flint():
    """The python-flint module (ImportError with the install line when it is missing)."""
    global _FLINT
    if _FLINT is None:
        try:
            import flint as _f
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(MISSING) from exc
        _FLINT = _f
    return _FLINT


def available() -> bool:
    """True when python-flint can be imported."""
    try:
        flint()
    except ImportError:  # pragma: no cover
        return False
    return True


def bits_for(dps: int) -> int:
    """Working precision in bits for ``dps`` requested digits (the project's guard digits)."""
    return int(math.ceil(V.guard_digits(dps) * math.log2(10))) + 8


@contextmanager
def precision(bits: int):
    """Set Arb's working precision (bits) inside the block and restore it afterwards."""
    ctx = flint().ctx
    old = ctx.prec
    ctx.prec = int(bits)
    try:
        yield
    finally:
        ctx.prec = old


def arb(x):
    """An Arb ball that contains ``x`` exactly where possible.

    ints, Fractions, floats (binary, exact), mpmath mpf (exact binary value) and decimal strings
    (rounded outward by Arb) are accepted; an Arb ball is returned unchanged.  Call inside
    :func:`precision` so that the rounding (if any) is at the working precision.
    """
    f = flint()
    if isinstance(x, f.arb):
        return x
    if isinstance(x, bool):
        raise ValueError(f"expected a real number, got {x!r}")
    if isinstance(x, int):
        return f.arb(f.fmpz(x))
    if isinstance(x, Fraction):
        return f.arb(f.fmpq(x.numerator, x.denominator))
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"expected a finite real number, got {x!r}")
        n, d = x.as_integer_ratio()
        return f.arb(f.fmpq(n, d))
    if type(x).__module__.startswith("mpmath"):
        import mpmath

        if not mpmath.isfinite(x):
            raise ValueError(f"expected a finite real number, got {x}")
        sign, man, exp, _ = x._mpf_  # not mpmath.mpf(x): that would round to mp.prec
        v = f.arb(f.fmpz(int(man))) * f.arb(2) ** int(exp)  # exact: a power of two times an integer
        return -v if sign else v
    if isinstance(x, str):
        return f.arb(x)
    if hasattr(x, "item"):  # numpy scalars
        return arb(x.item())
    raise ValueError(f"expected a real number, got {type(x).__name__}")


def man_exp(a):
    """(mantissa, exponent) Python ints with value = mantissa * 2^exponent, for an exact Arb number
    (radius 0; e.g. a midpoint or an endpoint)."""
    m = a.mid() if a.rad() != 0 else a
    man, exp = m.mid().man_exp()
    return int(man), int(exp)


def exact_fraction(a) -> Fraction:
    """The exact rational value of an Arb number with radius 0 (e.g. a midpoint or an endpoint)."""
    man, exp = man_exp(a)
    return Fraction(man) * (Fraction(2) ** exp)


def lower(a) -> Fraction:
    """Exact lower endpoint of a ball, as a Fraction."""
    return exact_fraction(a.lower())


def upper(a) -> Fraction:
    """Exact upper endpoint of a ball, as a Fraction."""
    return exact_fraction(a.upper())


def _decimal_round(man: int, exp: int, digits: int, up: bool) -> Decimal:
    """man * 2^exp rounded to ``digits`` significant decimal digits, towards +inf (``up``) or -inf
    (exact integer arithmetic)."""
    if man == 0:
        return Decimal(0)
    neg = man < 0
    am = -man if neg else man
    # decimal exponent e10 = floor(log10 |x|): a float estimate, then corrected exactly
    e10 = math.floor(math.log10(am) + exp * math.log10(2))

    def ge_pow10(e):  # |x| >= 10^e ?
        num, den = am * (2 ** max(exp, 0)), 2 ** max(-exp, 0)
        return num * (10 ** max(-e, 0)) >= den * (10 ** max(e, 0))

    while not ge_pow10(e10):
        e10 -= 1
    while ge_pow10(e10 + 1):
        e10 += 1
    k = digits - 1 - e10
    num = am * (2 ** max(exp, 0)) * (10 ** max(k, 0))
    den = (2 ** max(-exp, 0)) * (10 ** max(-k, 0))
    q, r = divmod(num, den)
    # |x| 10^k = q + r/den; round the signed value towards +inf (up) or -inf
    away = (up and not neg) or (not up and neg)
    if r and away:
        q += 1
        if q == 10 ** digits:  # rounding up carried into a new digit: 10^digits = 10^(digits-1) * 10
            q //= 10
            k -= 1
    return Decimal(f"{'-' if neg else ''}{q}E{-k}")


def decimal_lower(a, digits: int) -> Decimal:
    """A ``digits``-significant-digit decimal <= every point of the ball ``a`` (outward rounding)."""
    return _decimal_round(*man_exp(a.lower()), digits, up=False)


def decimal_upper(a, digits: int) -> Decimal:
    """A ``digits``-significant-digit decimal >= every point of the ball ``a`` (outward rounding)."""
    return _decimal_round(*man_exp(a.upper()), digits, up=True)


def to_mpf(a):
    """The midpoint of a ball as an mpmath mpf (exact: mpf precision is raised to hold it)."""
    import mpmath

    fr = exact_fraction(a.mid())
    with mpmath.workprec(max(53, fr.numerator.bit_length() + 8)):
        return mpmath.mpf(fr.numerator) / fr.denominator


def mid_rad(a):
    """``(midpoint, radius)`` of a ball as mpmath numbers (the radius rounded up to 53 bits)."""
    import mpmath

    if not isinstance(a, flint().arb):
        raise ValueError(f"a must be an Arb ball (python-flint arb), got {type(a).__name__}")
    r = exact_fraction(a.rad())
    with mpmath.workprec(60):
        rad = mpmath.mpf(r.numerator) / r.denominator
        rad = rad * (1 + mpmath.mpf(2) ** -50)  # never smaller than the Arb radius
    return to_mpf(a), rad
