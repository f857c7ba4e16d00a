"""Hypothesis strategies shared by the qmf_sym tests."""
from fractions import Fraction

from hypothesis import strategies as st

from qmf_sym.activations import Staircase


@st.composite
def staircases(draw, max_steps=6):
    """Random staircases of eq. 13: N in [2, max_steps + 1], distinct ordered offsets, positive heights."""
    n = draw(st.integers(1, max_steps))
    # offsets on a 1/64 grid so that they are exactly representable and distinct
    offs = sorted(draw(st.sets(st.integers(-160, 160), min_size=n, max_size=n)))
    heights = draw(st.lists(st.integers(1, 64), min_size=n, max_size=n))
    base = draw(st.integers(-64, 64))
    return Staircase([Fraction(o, 64) for o in offs], [Fraction(h, 32) for h in heights], Fraction(base, 32))


sigma_w = st.floats(0.2, 3.0)
sigma_b = st.one_of(st.just(0.0), st.floats(0.0, 1.5))
Q = st.floats(0.05, 6.0)
C_interior = st.floats(-0.97, 0.97)
deficit_near_one = st.floats(1e-12, 1e-3)  # C = 1 - deficit within 1e-3 of +1
