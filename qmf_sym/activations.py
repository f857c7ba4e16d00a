"""Activations of paper 1's mean-field theory: staircases (eq. 13) and continuous ones.

Every activation is an :class:`Activation` (``name``, ``__call__`` numpy float64 phi(x),
``derivative``, ``mp`` / ``mp_derivative`` mpmath scalars, ``is_odd()``, ``is_smooth``), accepted by
every map of :mod:`qmf_sym.maps` (eq. 4-7), :func:`qmf_sym.maps.fixed_point`, :mod:`qmf_sym.backward`,
:mod:`qmf_sym.ntk` and :func:`qmf_sym.init.critical_init`.  Kinds:

* :class:`Staircase` (eq. 13, below), ``Staircase.uniform(N)``, ``Staircase.sign()``;
* :class:`Erf` (arcsin kernel), :class:`ReLU` and :class:`LeakyReLU` (arc-cosine kernel),
  :class:`HardTanh` (clip(x, low, high): piecewise Gaussian integrals) -- closed forms with three
  faces in :mod:`qmf_sym._continuous`, exported here (``arcsin_kernel``, ``arccos_kernel``,
  ``hardtanh_kernel``, ...);
* :class:`Smooth` (any smooth callable with its derivative, e.g. SiLU, GELU) and :class:`Tanh`:
  certified quadrature (``quadrature_moments``, ``quadrature_kernel``).

``is_smooth`` says whether chi_1 = sigma_w^2 E phi'(u)^2 (the slope of the correlation map at C = 1)
is finite: True for every continuous kind (ReLU and hard tanh included: phi' is bounded), False for
staircases, whose phi' is a sum of Dirac deltas (chi_1 = inf, the paper's sec. 4.2 point).
:func:`by_name` builds ``tanh, erf, relu, hardtanh, sign, staircase`` from a name.

Staircase (quantized) activations, eq. 13 of Blumenfeld, Gilboa & Soudry (2019).

    phi_N(x) = A + sum_{i=1}^{N-1} h_i H(x - g_i)

with base ``A``, ordered offsets ``g_1 < ... < g_{N-1}`` and positive heights ``h_i``.  H is the
Heaviside step with H(0) = 1, so phi is right-continuous (the choice at the jumps has probability 0
under any Gaussian and does not enter any mean-field quantity).

Parameters are kept *exactly* (as :class:`fractions.Fraction`) so that the arbitrary-precision
evaluators see, e.g., the offsets D(i - N/2) with D = 2/(N-1) of the uniform family without a
float64 rounding.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from . import _validate as V


def _exact(name, value):
    if isinstance(value, (Fraction, int, np.integer)):
        return Fraction(int(value)) if not isinstance(value, Fraction) else value
    f = V.finite(name, value)
    # mpmath numbers carry more digits than a float: keep them via their exact binary value
    if type(value).__module__.startswith("mpmath"):
        import mpmath

        sign, man, exp, _ = mpmath.mpf(value)._mpf_  # man is unsigned; the sign is separate
        return (-1) ** sign * Fraction(int(man)) * (Fraction(2) ** int(exp))
    return Fraction(f)


N_MAX = 10 ** 6
"""The most states :meth:`Staircase.uniform` builds.  Every staircase map is a sum over pairs of
jumps (O(N^2), eq. 15-16); at N = 10^6 building the exact parameters alone takes ~5 s of one CPU
core (measured; 10^7 would take minutes and GBs of Fractions).  The ``qmf table`` bound is the same."""


class Activation:
    """Base class of every activation phi (module docstring).

    Attributes / methods: ``name`` (str); ``__call__(x)`` (numpy, vectorised float64 phi(x));
    ``derivative(x)`` (numpy phi'(x)); ``mp(x)`` and ``mp_derivative(x)`` (mpmath scalars at the
    current precision); ``is_odd()``; ``is_smooth`` (True when chi_1 = sigma_w^2 E phi'(u)^2 is finite).
    Subclasses provide the Gaussian kernels the maps use (private ``_moments_f64``, ``_cov_f64``,
    ``_dd_f64``, ``_d2_f64`` and their ``_mp`` twins) and ``bound`` = ``sup |phi|`` (inf if unbounded).
    """

    name = "activation"
    is_smooth = True
    kinks: tuple = ()
    bound = math.inf
    #: the largest pre-activation variance Q its kernels are certified at (inf: every finite Q)
    q_max = math.inf

    def is_odd(self) -> bool:  # pragma: no cover - every kind overrides it
        return False

    def check_Q(self, Q, name="Q"):
        """Validate a variance for this activation's kernels: positive (not subnormal) and <= ``q_max``."""
        return V.positive_at_most(name, Q, self.q_max, f"for {self.name} (its kernels are certified up to there)")

    # generic quadrature oracles (independent of the kernels; used by the faces harness)
    def _oracle_moments(self, Q):
        from ._continuous import oracle_moment

        return (oracle_moment(self.mp, Q, self.kinks), oracle_moment(lambda x: self.mp(x) ** 2, Q, self.kinks))

    def _oracle_cov(self, Q, r, d, e):
        from ._continuous import oracle_cross

        return oracle_cross(self.mp, self.mp, Q, r, d, e, self.kinks)

    def _oracle_dd(self, Q, r, d, e):
        from ._continuous import oracle_cross

        return oracle_cross(self.mp_derivative, self.mp_derivative, Q, r, d, e, self.kinks)

    def _d2_f64(self, Q):
        Q = np.asarray(Q, float)
        one = np.ones_like(Q)
        return self._dd_f64(Q, one, 0 * one, 2 * one)

    def _d2_mp(self, Q):
        import mpmath

        return self._dd_mp(Q, mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(2))


@dataclass(frozen=True, eq=False)
class Staircase(Activation):
    """A non-decreasing N-level step function phi(x) = A + sum_i h_i H(x - g_i) (eq. 13).

    As an :class:`Activation`: ``is_smooth`` is False (phi' is a sum of Dirac deltas h_i delta(x - g_i),
    so chi_1 = inf); ``derivative(x)`` returns 0 away from the jumps and inf at a jump point;
    ``mp(x)`` is the level at x (mpmath).

    Parameters
    ----------
    offsets : sequence of N-1 reals, strictly increasing (the g_i).
    heights : sequence of N-1 positive reals (the h_i), or one positive real used for every step.
    base : the lowest state A.
    """

    offsets_exact: tuple
    heights_exact: tuple
    base_exact: Fraction

    def __init__(self, offsets: Sequence, heights, base=0):
        offs = list(offsets) if np.ndim(offsets) else [offsets]
        if len(offs) < 1:
            raise ValueError("offsets must hold N-1 >= 1 values (an N-level staircase needs N >= 2)")
        g = tuple(_exact("offsets", o) for o in offs)
        if any(b <= a for a, b in zip(g, g[1:])):
            raise ValueError("offsets must be strictly increasing (g_1 < g_2 < ... < g_{N-1})")
        hs = list(heights) if np.ndim(heights) else [heights] * len(g)
        if len(hs) != len(g):
            raise ValueError(f"heights must have N-1 = {len(g)} entries like offsets, got {len(hs)}")
        h = tuple(_exact("heights", x) for x in hs)
        if any(x <= 0 for x in h):
            raise ValueError("heights must be in (0, inf): every step goes up")
        object.__setattr__(self, "offsets_exact", g)
        object.__setattr__(self, "heights_exact", h)
        object.__setattr__(self, "base_exact", _exact("base", base))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def uniform(cls, N: int, spacing=None):
        """The evenly spaced family of sec. 4.2 / sec. 5: N states from -1 to 1.

        phi_N(x) = -1 + sum_{i=1}^{N-1} (2/(N-1)) H(x - D (i - N/2)), with D = 2/(N-1) unless a
        ``spacing`` D > 0 is given.  Works for every N >= 2, odd and even; the offsets are
        symmetric about 0, so phi_N is odd (up to the jump points).
        """
        N = V.integer("N", N, 2, N_MAX)
        step = Fraction(2, N - 1)
        if spacing is None:  # D (i - N/2) = (2i - N)/(N - 1), built directly (the same Fractions, ~3x faster)
            return cls._trusted(tuple(Fraction(2 * i - N, N - 1) for i in range(1, N)), (step,) * (N - 1),
                                Fraction(-1))
        D = step if spacing is None else _exact("spacing", V.positive("spacing", spacing))
        offs = [D * (Fraction(i) - Fraction(N, 2)) for i in range(1, N)]
        return cls(offs, [step] * (N - 1), base=-1)

    @classmethod
    def _trusted(cls, g, h, base):
        """Build from exact, already checked parameters (no re-validation)."""
        self = object.__new__(cls)
        object.__setattr__(self, "offsets_exact", g)
        object.__setattr__(self, "heights_exact", h)
        object.__setattr__(self, "base_exact", base)
        return self

    @classmethod
    def from_grid(cls, levels, thresholds):
        """The staircase of a quantizer grid (paper 2): N increasing ``levels`` q_0 < ... < q_{N-1}
        and N-1 increasing ``thresholds`` t_i, with q(x) = q_i on (t_i, t_{i+1}]; as eq. 13:
        base q_0, offsets t_i, heights q_{i} - q_{i-1}."""
        lv = list(levels) if np.ndim(levels) else [levels]
        th = list(thresholds) if np.ndim(thresholds) else [thresholds]
        if len(lv) != len(th) + 1:
            raise ValueError(f"levels must have len(thresholds) + 1 = {len(th) + 1} entries, got {len(lv)}")
        q = [_exact("levels", x) for x in lv]
        return cls(th, [b - a for a, b in zip(q, q[1:])], base=q[0])

    @classmethod
    def sign(cls):
        """sign(x) = -1 + 2 H(x) (sec. 4.1)."""
        return cls([0], [2], base=-1)

    # ------------------------------------------------------------------ views
    @property
    def N(self) -> int:
        """Number of states (levels)."""
        return len(self.offsets_exact) + 1

    def _cached(self, key, make):
        c = self.__dict__.get("_cache")
        if c is None:
            c = {}
            object.__setattr__(self, "_cache", c)
        if key not in c:
            arr = make()
            arr.setflags(write=False)
            c[key] = arr
        return c[key]

    @property
    def offsets(self) -> np.ndarray:
        """The offsets g_i (float64; a read-only array computed once)."""
        return self._cached("g", lambda: np.array([float(x) for x in self.offsets_exact]))

    @property
    def heights(self) -> np.ndarray:
        """The heights h_i (float64; read-only, computed once)."""
        return self._cached("h", lambda: np.array([float(x) for x in self.heights_exact]))

    @property
    def base(self) -> float:
        return float(self.base_exact)

    @property
    def levels(self) -> np.ndarray:
        """The N states A, A + h_1, ..., A + sum h (float64; read-only, computed once)."""
        return self._cached("l", lambda: self.base + np.concatenate([[0.0], np.cumsum(self.heights)]))

    # ------------------------------------------------------------------ Activation protocol
    is_smooth = False

    @property
    def name(self) -> str:
        if self.N == 2 and self.offsets_exact == (0,) and self.is_odd():
            return "sign"
        return f"staircase(N={self.N})"

    @property
    def bound(self) -> float:
        return float(np.max(np.abs(self.levels)))

    @property
    def kinks(self) -> tuple:
        return tuple(self.offsets_exact)

    def derivative(self, x):
        """phi'(x): 0 away from the jumps, inf at a jump point g_i (a Dirac delta of mass h_i)."""
        x = np.asarray(x, dtype=float)
        return np.where(np.isin(x, self.offsets), np.inf, 0.0)[()]

    def mp(self, x):
        """phi(x) as an mpmath number (exact parameters at the current precision)."""
        import mpmath

        A, g, h = self.mp_params()
        x = mpmath.mpf(x)
        return A + mpmath.fsum(hi for gi, hi in zip(g, h) if x >= gi)

    def mp_derivative(self, x):
        """phi'(x) in mpmath: 0 away from the jumps, inf at a jump."""
        import mpmath

        _, g, _ = self.mp_params()
        return mpmath.inf if any(mpmath.mpf(x) == gi for gi in g) else mpmath.mpf(0)

    def mp_params(self):
        """(base, offsets, heights) as mpmath numbers at the current mpmath precision."""
        import mpmath

        def m(fr):
            return mpmath.mpf(fr.numerator) / fr.denominator

        return m(self.base_exact), [m(x) for x in self.offsets_exact], [m(x) for x in self.heights_exact]

    def scaled(self, s):
        """The staircase x -> phi(x / s): offsets multiplied by s > 0 (levels unchanged)."""
        s = _exact("s", V.positive("s", s))
        return Staircase([g * s for g in self.offsets_exact], self.heights_exact, self.base_exact)

    def is_odd(self) -> bool:
        """True if phi(-x) = -phi(x) away from the jumps (symmetric offsets and heights, centred)."""
        g, h = self.offsets_exact, self.heights_exact
        sym = all(a == -b for a, b in zip(g, reversed(g))) and h == tuple(reversed(h))
        return sym and 2 * self.base_exact + sum(h) == 0

    def __call__(self, x):
        """Evaluate phi at x (numpy, vectorised; float64)."""
        x = np.asarray(x, dtype=float)
        idx = np.searchsorted(self.offsets, x, side="right")  # number of offsets <= x
        return self.levels[idx]

    def act(self, x):
        """Alias of ``__call__`` (numpy)."""
        return self(x)

    def __repr__(self):
        return f"Staircase(N={self.N}, base={self.base:g}, offsets={self.offsets.tolist()}, heights={self.heights.tolist()})"

    def __eq__(self, other):
        return isinstance(other, Staircase) and (self.offsets_exact, self.heights_exact, self.base_exact) == (
            other.offsets_exact, other.heights_exact, other.base_exact)

    def __hash__(self):
        return hash((self.offsets_exact, self.heights_exact, self.base_exact))


def as_staircase(act, name="act") -> Staircase:
    """Return ``act`` if it is a :class:`Staircase`, else raise a clear ``ValueError`` naming ``name``."""
    V.label("name", name)
    if not isinstance(act, Staircase):
        raise ValueError(f"{name} must be a qmf_sym.activations.Staircase (eq. 13), got {type(act).__name__}")
    return act


def as_activation(act, name="act") -> Activation:
    """Return ``act`` if it is an :class:`Activation`, else raise a clear ``ValueError`` naming ``name``."""
    V.label("name", name)
    if not isinstance(act, Activation):
        raise ValueError(f"{name} must be a qmf_sym.activations.Activation (a Staircase, Erf(), ReLU(), "
                         f"LeakyReLU(slope), HardTanh(), Tanh() or Smooth(fn, derivative)), got {type(act).__name__}")
    return act


# ============================================================================ continuous activations
from . import _continuous as _K  # noqa: E402  (the kernels; they import nothing from this module at load)
from ._continuous import (  # noqa: E402,F401
    arccos_derivative_kernel,
    arccos_kernel,
    arcsin_derivative_kernel,
    arcsin_kernel,
    hardtanh_derivative_kernel,
    hardtanh_kernel,
    hardtanh_moments,
    quadrature_kernel,
    quadrature_moments,
)


class _Continuous(Activation):
    """Common parts of the continuous kinds: value equality on ``_key``, repr."""

    is_smooth = True

    def _conditionals(self):
        """(E phi(m + sd W), E phi'(m + sd W)) in closed form, or None: the one-dimensional oracles."""
        return None

    def _oracle_cov(self, Q, r, d, e):
        c = self._conditionals()
        if c is None:
            return super()._oracle_cov(Q, r, d, e)
        return _K.oracle_conditional(self.mp, c[0], Q, r, d, e, self.kinks)

    def _oracle_dd(self, Q, r, d, e):
        c = self._conditionals()
        if c is None:
            return super()._oracle_dd(Q, r, d, e)
        return _K.oracle_conditional(self.mp_derivative, c[1], Q, r, d, e, self.kinks)

    def _key(self):
        return ()

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self).__name__, self._key()))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(repr(k) for k in self._key())})"


class Erf(_Continuous):
    """phi(x) = erf(x): odd, bounded by 1, phi'(x) = (2/sqrt(pi)) e^{-x^2}; the arcsin kernel
    (``arcsin_kernel``, Williams 1997) gives every map in closed form."""

    name = "erf"
    bound = 1.0

    def __call__(self, x):
        from scipy.special import erf

        return erf(np.asarray(x, dtype=float))

    def derivative(self, x):
        x = np.asarray(x, dtype=float)
        return 2 / math.sqrt(math.pi) * np.exp(-x * x)

    def mp(self, x):
        return _K._erf_mp(x)

    def mp_derivative(self, x):
        import mpmath

        return _K._erf_prime_mp(mpmath.mpf(x))

    def is_odd(self):
        return True

    def _conditionals(self):
        return _K._cond_erf, _K._cond_erf_prime

    def _moments_f64(self, Q):
        Q = np.asarray(Q, float)
        one = np.ones_like(Q)
        return 0 * Q, _K._erf_cov64(Q, one, 0 * one, 2 * one)

    def _moments_mp(self, Q):
        import mpmath

        return mpmath.mpf(0), _K._erf_cov_mp(Q, mpmath.mpf(1), mpmath.mpf(0), mpmath.mpf(2))

    def _cov_f64(self, Q, r, d, e):
        return _K._erf_cov64(Q, r, d, e)

    def _cov_mp(self, Q, r, d, e):
        return _K._erf_cov_mp(Q, r, d, e)

    def _dd_f64(self, Q, r, d, e):
        return _K._erf_dd64(Q, r, d, e)

    def _dd_mp(self, Q, r, d, e):
        return _K._erf_dd_mp(Q, r, d, e)


class LeakyReLU(_Continuous):
    """phi(x) = max(x, 0) + slope min(x, 0) for a finite real ``slope`` (0: ReLU; 1: identity;
    -1: ``|x|``); unbounded; phi' = H(x) + slope H(-x) (bounded, so chi_1 = sigma_w^2 (1 + slope^2)/2 is
    finite).  Closed forms: the arc-cosine kernels (``arccos_kernel``, Cho & Saul 2009)."""

    def __init__(self, slope=0.01):
        self.slope = V.finite("slope", slope)

    @property
    def name(self):
        return "relu" if self.slope == 0 else f"leaky_relu({self.slope:g})"

    kinks = (0,)

    def _key(self):
        return (self.slope,)

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, x, self.slope * x)

    def derivative(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, 1.0, self.slope)

    def mp(self, x):
        return _K._leaky_mp(self.slope)(x)

    def mp_derivative(self, x):
        import mpmath

        return mpmath.mpf(_K._leaky_prime_mp(self.slope)(x))

    def is_odd(self):
        return self.slope == 1

    def _conditionals(self):
        return _K._cond_leaky(self.slope), _K._cond_leaky_prime(self.slope)

    def _moments_f64(self, Q):
        Q = np.asarray(Q, float)
        a = self.slope
        return (1 - a) * np.sqrt(Q / (2 * np.pi)), (1 + a * a) * Q / 2

    def _moments_mp(self, Q):
        import mpmath

        a, Q = to_mpf_(self.slope), to_mpf_(Q)
        return (1 - a) * mpmath.sqrt(Q / (2 * mpmath.pi)), (1 + a * a) * Q / 2

    def _cov_f64(self, Q, r, d, e):
        return _K._relu_cov64(Q, r, d, e, self.slope)

    def _cov_mp(self, Q, r, d, e):
        return _K._relu_cov_mp(Q, r, d, e, self.slope)

    def _dd_f64(self, Q, r, d, e):
        return _K._relu_dd64(Q, r, d, e, self.slope)

    def _dd_mp(self, Q, r, d, e):
        return _K._relu_dd_mp(Q, r, d, e, self.slope)


class ReLU(LeakyReLU):
    """phi(x) = max(x, 0) (LeakyReLU with slope 0)."""

    def __init__(self):
        super().__init__(0.0)

    def _key(self):
        return ()


class HardTanh(_Continuous):
    """phi(x) = clip(x, low, high) (low < high; the default [-1, 1] is hard tanh, and the clip of
    paper 2's quantizer range); phi' = 1 on (low, high), 0 outside (bounded: chi_1 finite).
    Closed forms: ``hardtanh_moments``, ``hardtanh_kernel``, ``hardtanh_derivative_kernel``."""

    #: the clip's window (high - low)/sqrt(Q) is >= 1e-6 (high - low) up to here (``_continuous.HT_Q_MAX``)
    q_max = _K.HT_Q_MAX

    def __init__(self, low=-1.0, high=1.0):
        _K._check_lohi(low, high)
        self.low, self.high = float(low), float(high)

    @property
    def name(self):
        return "hardtanh" if (self.low, self.high) == (-1.0, 1.0) else f"hardtanh({self.low:g}, {self.high:g})"

    @property
    def kinks(self):
        return (self.low, self.high)

    @property
    def bound(self):
        return max(abs(self.low), abs(self.high))

    def _key(self):
        return (self.low, self.high)

    def __call__(self, x):
        return np.clip(np.asarray(x, dtype=float), self.low, self.high)

    def derivative(self, x):
        x = np.asarray(x, dtype=float)
        return np.where((x > self.low) & (x < self.high), 1.0, 0.0)

    def mp(self, x):
        return to_mpf_(_K._clip_mp(self.low, self.high)(to_mpf_(x)))

    def mp_derivative(self, x):
        import mpmath

        return mpmath.mpf(_K._clip_prime_mp(self.low, self.high)(to_mpf_(x)))

    def is_odd(self):
        return self.low == -self.high

    def _conditionals(self):
        return _K._cond_clip(self.low, self.high), _K._cond_clip_prime(self.low, self.high)

    def _moments_f64(self, Q):
        return _K._ht_moments64(Q, self.low, self.high)

    def _moments_mp(self, Q):
        return _K._ht_moments_mp(Q, self.low, self.high)

    def _cov_f64(self, Q, r, d, e):
        return _K._ht_cov64(Q, r, d, e, self.low, self.high)

    def _cov_mp(self, Q, r, d, e):
        return _K._ht_cov_mp(Q, r, d, e, self.low, self.high)

    def _dd_f64(self, Q, r, d, e):
        return _K._ht_dd64(Q, r, d, e, self.low, self.high)

    def _dd_mp(self, Q, r, d, e):
        return _K._ht_dd_mp(Q, r, d, e, self.low, self.high)


class Smooth(_Continuous):
    """Any smooth activation given as callables: ``fn`` (numpy, vectorised float64 phi) and
    ``derivative`` (numpy phi'); ``mp_fn`` / ``mp_derivative`` (mpmath scalars) enable the ``dps``
    faces.  Extra keywords: ``odd`` (declare phi odd: E phi = 0 and C* = 0 at sigma_b = 0), ``bound``
    (``sup |phi|`` if finite, else inf: the fixed-point bracket uses it), ``scale`` (the length over which
    phi varies, default 1: it sets the quadrature panels).

    Faces (``quadrature_moments``, ``quadrature_kernel``):

    * float64: composite 10-point Gauss-Legendre in z = u / sqrt(Q) on ``|z| <= 9.5`` with panels of width
      min(1/2, scale/sqrt(Q)) (at most 2400 nodes; 1000 x 1000 for the bivariate kernels).  Accuracy
      (tested for tanh against ``dps=30``): relative 1e-13 for the moments and 1e-12 for the kernels
      at Q <= 100, absolute (at the scale 1) where a kernel is ~0 (E phi phi near C = 0 for an odd phi:
      7e-37 for 2.6e-31 at C = 1e-30); the truncation ``|z| <= 9.5`` costs < 1e-20.  For phi analytic in a strip
      ``|Im x| < scale`` this is the stated accuracy; a phi with kinks needs ReLU / HardTanh instead.
      Q above ``q_max`` = 100 scale^2 is refused (public maps, and a fixed point Q* beyond it).
    * ``dps``: mpmath.quad (tanh-sinh) at both levels with its error estimate checked; ArithmeticError
      if it exceeds 10^-dps relative (never silently fewer digits).
    """

    def __init__(self, fn, derivative, name="smooth", mp_fn=None, mp_derivative=None, *, odd=False,
                 bound=math.inf, scale=1.0):
        if not callable(fn):
            raise ValueError(f"fn must be a callable (numpy, vectorised), got {fn!r}")
        if not callable(derivative):
            raise ValueError(f"derivative must be a callable (numpy phi'), got {derivative!r}")
        for nm, f in (("mp_fn", mp_fn), ("mp_derivative", mp_derivative)):
            if f is not None and not callable(f):
                raise ValueError(f"{nm} must be None or a callable (mpmath scalars), got {f!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        V.choice("odd", odd, (True, False))
        if not (isinstance(bound, (int, float)) and not isinstance(bound, bool) and bound > 0):
            raise ValueError(f"bound must be in (0, inf] (sup |phi|), got {bound!r}")
        self.fn, self.derivative_fn = fn, derivative
        self.mp_fn, self.mp_derivative_fn = mp_fn, mp_derivative
        self.name, self.odd = name, odd
        self.bound = float(bound)
        self.scale = V.positive("scale", scale) and float(scale)

    def _key(self):
        return (self.name, self.fn, self.derivative_fn, self.mp_fn, self.mp_derivative_fn, self.odd, self.bound, self.scale)

    @property
    def q_max(self):
        """100 scale^2: the range of Q where the float64 quadrature's accuracy is stated and tested (its panels
        are scale / sqrt(Q) wide only up to there; beyond, E phi'^2 of tanh was 1e-8 off at Q = 1e3, 9e-4 at 1e4)."""
        return 100.0 * self.scale ** 2

    def __repr__(self):
        return f"Smooth(name={self.name!r})"

    def __call__(self, x):
        return np.asarray(self.fn(np.asarray(x, dtype=float)), dtype=float)

    def derivative(self, x):
        return np.asarray(self.derivative_fn(np.asarray(x, dtype=float)), dtype=float)

    def mp(self, x):
        return _K._mp_fns(self)[0](x)

    def mp_derivative(self, x):
        return _K._mp_fns(self)[1](x)

    def is_odd(self):
        return self.odd

    def _moments_f64(self, Q):
        m1, m2, _ = _K._quad_moments64(self, Q, slope=False)
        return (0 * np.asarray(m1) if self.odd else m1), m2

    def _moments_mp(self, Q):
        import mpmath

        if self.odd:
            return mpmath.mpf(0), _K._quad_moments_mp_one(self, Q, 2)
        m1, m2, _ = _K._quad_moments_mp(self, Q)
        return m1, m2

    def _d2_f64(self, Q):
        return _K._quad_moments64(self, Q)[2]

    def _d2_mp(self, Q):
        return _K._quad_moments_mp_one(self, Q, 3)

    def _cov_f64(self, Q, r, d, e):
        return _K._quad_cross64(self, Q, r, d, e, which=0)[0]

    def _cov_mp(self, Q, r, d, e):
        return _K._quad_cross_mp(self, Q, r, d, e, which=0)

    def _dd_f64(self, Q, r, d, e):
        return _K._quad_cross64(self, Q, r, d, e, which=1)[1]

    def _dd_mp(self, Q, r, d, e):
        return _K._quad_cross_mp(self, Q, r, d, e, which=1)

    def _oracle_moments(self, Q):
        return _K._quad_oracle_moments(self, Q)[:2]


def _tanh_mp(x):
    import mpmath

    return mpmath.tanh(x)


def _tanh_prime_mp(x):
    import mpmath

    return mpmath.sech(x) ** 2


def _tanh_prime(x):
    return 1.0 / np.cosh(np.clip(x, -350.0, 350.0)) ** 2


class Tanh(Smooth):
    """phi(x) = tanh(x) (no closed-form kernel: the certified quadrature of :class:`Smooth`; odd,
    bounded by 1, analytic in the strip ``|Im x| < pi/2``)."""

    def __init__(self):
        super().__init__(np.tanh, _tanh_prime, name="tanh", mp_fn=_tanh_mp, mp_derivative=_tanh_prime_mp,
                         odd=True, bound=1.0, scale=1.0)

    def _key(self):
        return ()

    def __repr__(self):
        return "Tanh()"


def to_mpf_(x):
    """``x`` (a real number, +-inf allowed, or an mpmath number) as an mpmath ``mpf`` at the working
    precision; ValueError naming ``x`` for NaN, a bool, None, a string, a complex number or an array.

    The validated form of the package's one conversion, ``qmf_sym._numbers.to_mpf`` (an int or a
    Fraction rounded once from its exact value, a float exactly); :class:`HardTanh` (``mp``,
    ``mp_derivative``) and :class:`LeakyReLU` (its mpmath moments) convert their arguments with it."""
    from ._numbers import to_mpf

    V.real("x", x)
    if np.ndim(x):
        raise ValueError(f"x must be a real number (a scalar), got {x!r}")
    return to_mpf(x)


# ============================================================================ by name
NAMES = ("tanh", "erf", "relu", "hardtanh", "sign", "staircase")


def by_name(name, levels=None) -> Activation:
    """The activation called ``name`` (one of ``tanh, erf, relu, hardtanh, sign, staircase``);
    ``staircase`` needs ``levels`` = N >= 2 (the uniform odd family ``Staircase.uniform(N)``, N <= N_MAX),
    the others take no ``levels``.  ValueError naming ``name`` or ``levels`` otherwise."""
    V.choice("name", name, NAMES)
    if name == "staircase":
        if levels is None:
            raise ValueError("levels must be given for name='staircase' (the number of states N, an integer in "
                             f"[2, {N_MAX}])")
        return Staircase.uniform(V.integer("levels", levels, 2, N_MAX))
    if levels is not None:
        raise ValueError(f"levels applies only to name='staircase'; got levels={levels!r} with name={name!r}")
    return {"tanh": Tanh, "erf": Erf, "relu": ReLU, "hardtanh": HardTanh, "sign": Staircase.sign}[name]()
