"""Staircase (quantized) activations, eq. 13 of Blumenfeld, Gilboa & Soudry (2019).

    phi_N(x) = A + sum_{i=1}^{N-1} h_i H(x - g_i)

with base ``A``, ordered offsets ``g_1 < ... < g_{N-1}`` and positive heights ``h_i``.  H is the
Heaviside step with H(0) = 1, so phi is right-continuous (the choice at the jumps has probability 0
under any Gaussian and does not enter any mean-field quantity).

Parameters are kept *exactly* (as :class:`fractions.Fraction`) so that the arbitrary-precision
evaluators see, e.g., the offsets D(i - N/2) with D = 2/(N-1) of the uniform family without a
float64 rounding.
"""
from __future__ import annotations

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


@dataclass(frozen=True, eq=False)
class Staircase:
    """A non-decreasing N-level step function phi(x) = A + sum_i h_i H(x - g_i) (eq. 13).

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
        N = V.integer("N", N, 2)
        step = Fraction(2, N - 1)
        D = step if spacing is None else _exact("spacing", V.positive("spacing", spacing))
        offs = [D * (Fraction(i) - Fraction(N, 2)) for i in range(1, N)]
        return cls(offs, [step] * (N - 1), base=-1)

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

    @property
    def offsets(self) -> np.ndarray:
        return np.array([float(x) for x in self.offsets_exact])

    @property
    def heights(self) -> np.ndarray:
        return np.array([float(x) for x in self.heights_exact])

    @property
    def base(self) -> float:
        return float(self.base_exact)

    @property
    def levels(self) -> np.ndarray:
        """The N states A, A + h_1, ..., A + sum h (float64)."""
        return self.base + np.concatenate([[0.0], np.cumsum(self.heights)])

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

    def __repr__(self):
        return f"Staircase(N={self.N}, base={self.base:g}, offsets={self.offsets.tolist()}, heights={self.heights.tolist()})"

    def __eq__(self, other):
        return isinstance(other, Staircase) and (self.offsets_exact, self.heights_exact, self.base_exact) == (
            other.offsets_exact, other.heights_exact, other.base_exact)

    def __hash__(self):
        return hash((self.offsets_exact, self.heights_exact, self.base_exact))


def as_staircase(act, name="act") -> Staircase:
    """Return ``act`` if it is a :class:`Staircase`, else raise a clear ``ValueError``."""
    if not isinstance(act, Staircase):
        raise ValueError(f"{name} must be a qmf_sym.activations.Staircase (eq. 13), got {type(act).__name__}")
    return act
