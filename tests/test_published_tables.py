"""Published reference values, not remembered or self-computed ones.

Owen's T function T(h, a) = (1/2pi) int_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2) dx enters the
bivariate normal CDF of qmf_sym.gaussian (the building block of eq. 5 / 15 of paper 1) through
Owen (1956): Phi_2(0, h; r) - Phi(0) Phi(h) = -T(h, -r / sqrt(1 - r^2)), i.e.

    T(h, a) = -bvn_excess(0, h; rho = -a / sqrt(1 + a^2)),   1 + rho = 1 / (sqrt(1+a^2) (sqrt(1+a^2) + a)).

Source of the values: J. Burkardt, test_values library, routine OWEN_VALUES (modified 24 May
2009; values computed in Mathematica as 1/(2 Pi) Integrate[...], cited there with Patefield &
Tandy, J. Stat. Software 5(5), 2000), copied here with all their published digits from the C#
port of that routine (namespace Burkardt.Probability, class Owen).  A reformatted copy of the same
table circulating in a web-scraped corpus has digit errors (e.g. T(1, 1) = 0.06674188216097097,
T(0.0625, 0.25) = 0.039111930234701366, T(2, 0.5) = 0.008250779855215071); the values below are
the ones that agree with the defining integral (checked at 30 digits in this file) and with the
identity T(h, 1) = Phi(h) Phi(-h) / 2 (Owen 1956, eq. 2.3).

Max's (1960) tables of the optimal uniform and non-uniform Gaussian quantizers were not reachable
from this workplace's sources; their link to chi_max(N) is checked against independent code
paths in derivations/stein_chi_quantization.md and tests/test_quantization.py instead.
"""
import math

import mpmath
import pytest

from qmf_sym import gaussian as G

# (h, a, T) as published (OWEN_VALUES, Burkardt 2009)
OWEN_VALUES = [
    (0.0625, 0.25, 3.8911930234701366E-02),
    (6.5, 0.4375, 2.0005773048508315E-11),
    (7.0, 0.96875, 6.3990627193898685E-13),
    (4.78125, 0.0625, 1.0632974804687463E-07),
    (2.0, 0.5, 8.6250779855215071E-03),
    (1.0, 0.9999975, 6.6741808978228592E-02),
    (1.0, 0.5, 0.4306469112078537E-01),
    (1.0, 1.0, 0.6674188216570097E-01),
    (1.0, 2.0, 0.7846818699308410E-01),
    (1.0, 3.0, 0.7929950474887259E-01),
    (0.5, 0.5, 0.6448860284750376E-01),
    (0.5, 1.0, 0.1066710629614485E+00),
    (0.5, 2.0, 0.1415806036539784E+00),
    (0.5, 3.0, 0.1510840430760184E+00),
    (0.25, 0.5, 0.7134663382271778E-01),
    (0.25, 1.0, 0.1201285306350883E+00),
    (0.25, 2.0, 0.1666128410939293E+00),
    (0.25, 3.0, 0.1847501847929859E+00),
    (0.125, 0.5, 0.7317273327500385E-01),
    (0.125, 1.0, 0.1237630544953746E+00),
    (0.125, 2.0, 0.1737438887583106E+00),
    (0.125, 3.0, 0.1951190307092811E+00),
    (0.0078125, 0.5, 0.7378938035365546E-01),
    (0.0078125, 1.0, 0.1249951430754052E+00),
    (0.0078125, 2.0, 0.1761984774738108E+00),
    (0.0078125, 3.0, 0.1987772386442824E+00),
    (0.0078125, 10.0, 0.2340886964802671E+00),
    (0.0078125, 100.0, 0.2479460829231492E+00),
]


def _rho_args(a):
    s = math.sqrt(1 + a * a)
    return {"rho": -a / s} if a < 1 else {"one_plus": 1 / (s * (s + a))}


def _half_unit(T):
    """Half a unit in the 16th significant digit of a published value, plus its float64 parse."""
    return 0.5 * 10.0 ** (math.floor(math.log10(T)) - 15) + 1.2e-16 * T


@pytest.mark.parametrize("h,a,T", OWEN_VALUES)
def test_owen_t_float64_face(h, a, T):
    """float64 face of qmf_sym.gaussian.bvn_excess: 4e-15 relative, or 3e-17 absolute -- the
    documented accuracy of the float64 excess is absolute (~1e-16): for h = 0 it is formed as
    Phi(k)/2 - T(k, .), which cancels when the result is tiny (T(7, 0.97) = 6.4e-13 comes out with
    relative error 4e-5; the mpmath face below keeps relative accuracy there)."""
    got = -G.bvn_excess(0.0, h, **_rho_args(a))
    assert abs(got - T) <= max(4e-15 * T, 3e-17)


@pytest.mark.parametrize("h,a,T", OWEN_VALUES)
def test_owen_t_mpmath_face(h, a, T):
    """mpmath face at 25 digits (rho formed at 40 digits): agrees with every published value to
    half a unit of its 16th significant digit (the published rounding), tiny values included."""
    with mpmath.workdps(40):
        aa = mpmath.mpf(a)
        s = mpmath.sqrt(1 + aa * aa)
        kw = {"rho": -aa / s} if a < 1 else {"one_plus": 1 / (s * (s + aa))}
        got = -G.bvn_excess(mpmath.mpf(0), mpmath.mpf(h), dps=25, **kw)
        assert abs(got - mpmath.mpf(T)) <= _half_unit(T)


def test_owen_identity_T_h_1():
    """Owen (1956): T(h, 1) = Phi(h) Phi(-h) / 2 -- the published T(1, 1) satisfies it through
    qmf_sym.gaussian.cdf (so the published table and our cdf are mutually consistent)."""
    assert abs(0.5 * G.cdf(1.0) * G.cdf(-1.0) - 0.6674188216570097E-01) < 2e-17


def test_published_values_match_the_defining_integral():
    """The values kept above are the correct ones: the defining integral at 30 digits."""
    with mpmath.workdps(30):
        for h, a, T in OWEN_VALUES[:8]:
            h_, a_ = mpmath.mpf(h), mpmath.mpf(a)
            ref = mpmath.quad(lambda x: mpmath.exp(-h_ * h_ * (1 + x * x) / 2) / (1 + x * x), [0, a_]) / (2 * mpmath.pi)
            assert abs(ref - T) <= _half_unit(T)
