"""The ball face: rigorous enclosures (Arb ball arithmetic through python-flint) of the closed forms
of paper 1, and proofs about the optimal spacing of the uniform staircase.

A *ball* is an Arb number [m +/- r]; every function here returns balls that provably contain the
exact value of the formula it evaluates (Arb propagates rounding and truncation errors of every
operation and of exp/erfc/log/pi).  The faces:

* :mod:`.gaussian` -- pdf, cdf, cell probabilities P(a < z <= b), the bivariate excess
  Phi_2(h, k; rho) - Phi(h) Phi(k) (rigorous integration of Sheppard's formula);
* :mod:`.maps` -- post-activation moments, the variance map (eq. 4/14), the correlation map (eq. 5),
  chi (eq. 6/15) and chi at C* = 0 for any staircase (eq. 16);
* :mod:`.uniform` -- eq. 17 for the uniform family with Taylor models in D~ (derivatives);
* :mod:`.optimum` -- :func:`proven_table`: for each N a bracket that provably contains the unique
  global maximiser D~_opt(N) of chi(D~; N), and balls containing chi_max(N) and xi_max(N).

**What "proven" means.**  A row with ``proof == "proven"`` is a computer-assisted proof that, for
the formula of eq. 17 as written in derivations/spacing_eq16_17.md (A(D)^2 / B(D) with the O(N)
sums), (i) dchi/dD~ changes sign from + to - inside [D_opt_lo, D_opt_hi], (ii) it has no other zero
on D~ > 0 (analytic lemmas in derivations/proof_tail_bounds.md plus interval checks), so the bracket
holds the unique global maximiser, and (iii) chi_max and xi_max lie in the stated intervals.  It
assumes the correctness of Arb's arithmetic and elementary functions (exp, erfc, log, pi) and of
python-flint's bindings, and the correctness of the formula being proven: the link from eq. 17 to the
definitions (eq. 4-6, 13-16) is made by the derivations and the quadrature oracles of the tests, not
by this proof.  Rows that cannot be completed say why ("not proven: ...").
"""
from .._faces import register_equation
from ._arb import MISSING, available, mid_rad
from .gaussian import bvn_excess_ball, cdf_ball, cell_probability_ball, pdf_ball
from .maps import chi_ball, chi_staircase_ball, correlation_map_ball, post_activation_moments_ball, variance_map_ball
from .optimum import PROVEN, ProvenRow, prove_optimum, proven_table
from .uniform import chi_uniform_ball, chi_uniform_derivatives_ball

__all__ = [
    "available", "MISSING", "mid_rad", "pdf_ball", "cdf_ball", "cell_probability_ball", "bvn_excess_ball",
    "post_activation_moments_ball", "variance_map_ball", "correlation_map_ball", "chi_ball",
    "chi_staircase_ball", "chi_uniform_ball", "chi_uniform_derivatives_ball", "ProvenRow",
    "prove_optimum", "proven_table", "PROVEN",
]

for _name, _eq, _what in [
    ("pdf_ball", "standard normal density n(x) (paper 1 notation)", "exp(-x^2/2)/sqrt(2 pi)"),
    ("cdf_ball", "standard normal CDF Phi(x) (paper 1 notation)", "erfc(-x/sqrt 2)/2"),
    ("cell_probability_ball", "P(a < z <= b), the cell weights of eq. 14 (paper 1)", "P(a < z <= b)"),
    ("bvn_excess_ball", "paper 1, eq. 5", "Phi_2(h, k; rho) - Phi(h) Phi(k)"),
    ("variance_map_ball", "paper 1, eq. 4", "sigma_w^2 E phi(u)^2 + sigma_b^2"),
    ("correlation_map_ball", "paper 1, eq. 5", "correlation map"),
    ("chi_ball", "paper 1, eq. 15", "chi = sigma_w^2 E phi' phi'"),
    ("chi_staircase_ball", "paper 1, eq. 16", "chi at C* = 0, any staircase"),
    ("chi_uniform_ball", "paper 1, eq. 17", "chi of the uniform family"),
    ("proven_table", "paper 1, eq. 17", "proven D_opt bracket, chi_max and xi_max balls"),
]:
    register_equation(f"qmf_sym.proof.{_name}", _eq, f"ball face: {_what}", faces=("ball",))
