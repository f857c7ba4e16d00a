"""Ball face of the Gaussian building blocks (the fourth face of qmf_sym.gaussian): every function
returns an Arb ball that provably contains the exact value.

* ``pdf_ball(x)``  = exp(-x^2/2) / sqrt(2 pi)
* ``cdf_ball(x)``  = Phi(x) = erfc(-x / sqrt 2) / 2
* ``cell_probability_ball(a, b)`` = P(a < z <= b) (a may be -inf, b may be +inf), written as a
  difference of the tails on the side away from 0, like the other faces (a ball never lies, but
  this keeps it narrow in the tails)
* ``bvn_excess_ball(h, k, rho)`` = Phi_2(h, k; rho) - Phi(h) Phi(k) by Sheppard's formula
  (1/2pi) int_0^{asin rho} exp(-(h^2 - 2hk sin t + k^2) / (2 cos^2 t)) dt, integrated rigorously by
  Arb (acb.integral, Gauss-Legendre with error bounds from the analytic continuation; the integrand
  is meromorphic, its poles at cos t = 0 lie outside [0, asin rho] for ``|rho| < 1``).  The cost grows
  as ``|rho| -> 1`` (the pole approaches the path).

Inputs are converted exactly (floats, ints, Fractions, mpmath numbers; decimal strings are rounded
outward by Arb).  ``dps`` (default 30) sets the working precision (the project's guard digits).
"""
from __future__ import annotations

import math

from .. import _validate as V
from . import _arb

__all__ = ["pdf_ball", "cdf_ball", "cell_probability_ball", "bvn_excess_ball"]


def _dps(dps):
    d = V.dps(dps)
    if d is None:
        raise ValueError("dps must be an integer >= 1 for the ball face (it sets the working precision), got None")
    return d


def _real(name, x, allow_inf=False):
    """Validate a real input (bools and NaN rejected) and return it unchanged (or +-inf as float)."""
    if isinstance(x, bool):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    f = _arb.flint()
    if isinstance(x, f.arb):
        if not x.is_finite():
            raise ValueError(f"{name} must be a finite ball, got {x}")
        return x
    if isinstance(x, str):  # a decimal string: its digits exactly (rounded outward by Arb)
        try:
            v = f.arb(x)
        except ValueError as exc:
            raise ValueError(f"{name} must be a real number or a decimal string, got {x!r}") from exc
        if not v.is_finite():
            raise ValueError(f"{name} must be finite, got {x!r}")
        return x
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {x!r}") from exc
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be a finite real number{' or +-inf' if allow_inf else ''}, got {x!r}")
    return x


def _pdf(x):
    f = _arb.flint()
    return (-x * x / 2).exp() / (2 * f.arb.pi()).sqrt()


def _upper_tail(x):
    """G(x) = 1 - Phi(x) = erfc(x / sqrt 2) / 2 (a ball for a ball x)."""
    f = _arb.flint()
    return (x / f.arb(2).sqrt()).erfc() / 2


def pdf_ball(x, dps=30):
    """Ball of the standard normal density n(x)."""
    d = _dps(dps)
    _real("x", x)
    with _arb.precision(_arb.bits_for(d)):
        return _pdf(_arb.arb(x))


def cdf_ball(x, dps=30):
    """Ball of the standard normal CDF Phi(x) (relative accuracy in both tails: erfc)."""
    d = _dps(dps)
    x = _real("x", x, allow_inf=True)
    f = _arb.flint()
    if isinstance(x, (float, int)) and math.isinf(x):
        return f.arb(1 if x > 0 else 0)
    with _arb.precision(_arb.bits_for(d)):
        return _upper_tail(-_arb.arb(x))


def cell_probability_ball(a, b, dps=30):
    """Ball of P(a < z <= b), z ~ N(0, 1), a <= b (a = -inf and b = +inf allowed)."""
    d = _dps(dps)
    a = _real("a", a, allow_inf=True)
    b = _real("b", b, allow_inf=True)
    f = _arb.flint()
    lo_inf = isinstance(a, (float, int)) and math.isinf(a)
    hi_inf = isinstance(b, (float, int)) and math.isinf(b)
    if (lo_inf and a > 0) or (hi_inf and b < 0):
        raise ValueError(f"cell_probability needs a <= b with a < inf and b > -inf, got a={a!r}, b={b!r}")
    with _arb.precision(_arb.bits_for(d)):
        A = None if lo_inf else _arb.arb(a)
        B = None if hi_inf else _arb.arb(b)
        if A is not None and B is not None and not (A <= B):
            raise ValueError(f"cell_probability needs a <= b (the cell (a, b]), got a={a!r}, b={b!r}")
        GA = f.arb(1) if A is None else _upper_tail(A)  # P(z > a)
        GB = f.arb(0) if B is None else _upper_tail(B)  # P(z > b)
        if A is not None and A >= 0:
            return GA - GB
        LA = f.arb(0) if A is None else _upper_tail(-A)  # P(z < a)
        LB = f.arb(1) if B is None else _upper_tail(-B)  # P(z < b)
        if B is not None and B <= 0:
            return LB - LA
        return 1 - LA - GB


def _excess_terms(terms, r):
    """(1/2pi) int_0^{asin r} sum_w w exp(-(x^2 - 2xy sin t + y^2) / (2 cos^2 t)) dt for a list of
    (w, x, y) Arb triples: one rigorous integral of the summed integrand."""
    f = _arb.flint()
    if r == 0:
        return f.arb(0)
    acb = f.acb

    def integrand(t, analytic):
        s, c = t.sin(), t.cos()
        c2 = 2 * c * c
        tot = acb(0)
        for w, x, y in terms:
            tot += w * (-(x * x - 2 * x * y * s + y * y) / c2).exp()
        return tot

    val = acb.integral(integrand, 0, r.asin())
    if not val.imag.contains(0) or not val.real.is_finite():  # pragma: no cover - Arb gave up
        raise ArithmeticError("the rigorous integral of the excess did not converge")
    return val.real / (2 * f.arb.pi())


def bvn_excess_ball(h, k, rho, dps=30):
    """Ball of Phi_2(h, k; rho) - Phi(h) Phi(k) for ``|rho| < 1`` (Sheppard's integral, rigorous
    integration); paper 1, eq. 5 summand."""
    d = _dps(dps)
    _real("h", h)
    _real("k", k)
    _real("rho", rho)
    with _arb.precision(_arb.bits_for(d)):
        r = _arb.arb(rho)
        if not (r > -1 and r < 1):
            raise ValueError(f"rho must be in (-1, 1) for the ball face of the excess, got {rho!r}")
        return _excess_terms([(_arb.arb(1), _arb.arb(h), _arb.arb(k))], r)
