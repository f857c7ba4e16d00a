"""Proven optimum of eq. 17 of paper 1: for each N, a bracket [D_lo, D_hi] that provably contains
the unique global maximiser D~_opt(N) of chi(D~; N) over D~ > 0, and balls that provably contain
chi_max(N) and xi_max(N) = -1 / log chi_max(N) (eq. 7).

The argument (derivations/proof_tail_bounds.md) for N >= 3, with H(D) = A(D)/D - B(D) whose sign
is the sign of dchi/dD~:

1. *Bracket.*  Newton on a Taylor model of H about the float64 optimum (one erfc pass and one
   moments pass, O(N)) gives a point D*; ball arithmetic shows H(D_lo) > 0 > H(D_hi) at
   D_lo,hi = D* -/+ D* 10^-(dps+6).  H is continuous, so it has a zero in the bracket.
2. *Globality.*  Lemma E (even N): H' < 0 on (0, inf) (a Poisson-summation identity; no
   computation), so the zero is unique and chi increases before it and decreases after it.
   Lemma O (odd N): H' < 0 on (0, 2/N] (every term negative); on [2/N, D_m] by an interval check of
   a Poisson bound against the first two omitted lattice terms; H < 0 on [D_m, 5/2] by an interval
   check of the Poisson representation H = -1/12 + E(D) + T(D) with explicit bounds; H < 0 on
   [5/2, inf) by the large-spacing tail lemma (checked once).  D_m >= D_hi is chosen on a geometric
   grid; each interval check is O(1) (elementary functions), bisected when it fails.
3. *Cross-face check.*  The proven D* must agree with the independent float64 face to its stated
   accuracy (1e-14 N^2 relative: 100x the documented ~1e-16 N^2), else the row is not proven
   ("faces disagree"); this is what catches a wrong (mutated) sum in either face.
4. *chi_max* by the mean-value form chi(D_lo) + chi'([D_lo, D_hi]) [0, D_hi - D_lo] (Taylor models
   of A and B with Lagrange remainders), *xi_max* = -1/log of that ball (monotone).

A row that cannot be completed says why in ``proof`` ("not proven: ..."); never a silent "proven".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from .. import _validate as V
from ..spacing.optimum import _levels  # the one check of a list of N (qmf_sym parses no strings)
from . import _arb
from .uniform import check_N, taylor_models

__all__ = ["ProvenRow", "prove_optimum", "proven_table", "PROVEN"]

PROVEN = "proven"
D_TAIL = (5, 2)  # D_T = 5/2: the large-spacing tail lemma holds for D >= D_T (odd N)
_LEMMA_BITS = 64
_GRID_RATIO = (5, 4)  # geometric grid of the lemma O interval checks (bisected where a check fails)


@dataclass(frozen=True)
class ProvenRow:
    """One row of the proven table.  ``D_opt_lo <= D~_opt(N) <= D_opt_hi``, ``chi_max_lo <= chi_max(N)
    <= chi_max_hi``, ``xi_lo <= xi_max(N) <= xi_hi`` (decimals with ``dps`` significant digits,
    rounded outward) hold when ``proof == "proven"``; otherwise ``proof`` says why not and the bounds
    are None.  N = 2 has no D_opt (chi = 2/pi for every spacing): D_opt_lo = D_opt_hi = None.
    ``D_opt_ball``, ``chi_max_ball``, ``xi_ball`` are the Arb balls (more digits than the decimals),
    ``lemmas`` names the steps of the proof."""

    N: int
    D_opt_lo: Decimal | None
    D_opt_hi: Decimal | None
    chi_max_lo: Decimal | None
    chi_max_hi: Decimal | None
    xi_lo: Decimal | None
    xi_hi: Decimal | None
    proof: str
    dps: int
    D_opt_ball: object = field(default=None, repr=False, compare=False)
    chi_max_ball: object = field(default=None, repr=False, compare=False)
    xi_ball: object = field(default=None, repr=False, compare=False)
    lemmas: tuple = field(default=(), compare=False)

    @property
    def proven(self) -> bool:
        return self.proof == PROVEN

    def as_row(self):
        """The table columns (decimals as strings, None for missing)."""
        out = {"N": self.N}
        for k in ("D_opt_lo", "D_opt_hi", "chi_max_lo", "chi_max_hi", "xi_lo", "xi_hi"):
            v = getattr(self, k)
            out[k] = None if v is None else str(v)
        out["proof"] = self.proof
        return out


def _not_proven(N, dps, why, lemmas=()):
    return ProvenRow(N, None, None, None, None, None, None, f"not proven: {why}", dps, lemmas=tuple(lemmas))


# ----------------------------------------------------------------------------- N = 2
def _row_N2(dps):
    f = _arb.flint()
    with _arb.precision(_arb.bits_for(dps)):
        chi = 2 / f.arb.pi()
        xi = -1 / chi.log()
        return ProvenRow(2, None, None, _arb.decimal_lower(chi, dps), _arb.decimal_upper(chi, dps),
                         _arb.decimal_lower(xi, dps), _arb.decimal_upper(xi, dps), PROVEN, dps,
                         None, chi, xi, ("N = 2: K = {0}, chi = A^2/B = 4 p(0)^2 = 2/pi for every D~ (no D_opt)",))


# ----------------------------------------------------------------------------- lemma O (odd N)
def _g(x):
    """g(x) = (x^2 - 1) p(x) = p''(x)."""
    f = _arb.flint()
    return (x * x - 1) * (-x * x / 2).exp() / (2 * f.arb.pi()).sqrt()


def _j_ok(N, a, b):
    """J = H' D^2 < 0 on [a, b] (2/N <= a < b <= 5/2), odd N:
    J <= P(D) - 2 [g(N D/2) + g((N/2 + 1) D)] with P(D) <= 8 pi^2 D^-3 exp(-2 pi^2 / D^2) (increasing
    for D < 3.6) and g unimodal on [0, inf) (minimum over an interval at an endpoint)."""
    f = _arb.flint()
    pi2 = f.arb.pi() ** 2
    t1 = f.arb(N) / 2
    t2 = t1 + 1
    low = 2 * (_g(t1 * a).min(_g(t1 * b)) + _g(t2 * a).min(_g(t2 * b)))
    P = 8 * pi2 / b ** 3 * (-2 * pi2 / (b * b)).exp()
    return bool(low > P)


def _h_ok(N, a, b):
    """H < 0 on [a, b] (0 < a < b <= 5/2), odd N, from H = -1/12 + E(D) + T(D):
    E <= (2/D^2 + 1/pi^2) e1/(1 - e1), e1 = exp(-2 pi^2/D^2) (e1 increasing, 2/D^2 decreasing);
    T <= (4/D) p(N D/2) / (1 - exp(-(N+1) D^2/2)) (decreasing in D)."""
    f = _arb.flint()
    pi2 = f.arb.pi() ** 2
    e1 = (-2 * pi2 / (b * b)).exp()
    E = (2 / (a * a) + 1 / pi2) * e1 / (1 - e1)
    x = f.arb(N) * a / 2
    T = 4 / a * (-x * x / 2).exp() / (2 * f.arb.pi()).sqrt() / (1 - (-(N + 1) * a * a / 2).exp())
    return bool(-f.arb(1) / 12 + E + T < 0)


def _bisect_ok(check, N, a, b, depth=6):
    if check(N, a, b):
        return True
    if depth == 0:
        return False
    m = (a + b) / 2
    return _bisect_ok(check, N, a, m, depth - 1) and _bisect_ok(check, N, m, b, depth - 1)


_TAIL_OK = {}


def _tail_lemma_ok():
    """Large-spacing tail (odd N): for D >= D_T, 1/(1 - exp(-D^2)) < 2 D^2 / (4 + D^2) implies
    H(D) < 0; both sides are monotone in D, so the check at D_T proves it for all D >= D_T."""
    if "odd" not in _TAIL_OK:
        f = _arb.flint()
        with _arb.precision(_LEMMA_BITS):
            D = f.arb(f.fmpq(*D_TAIL))
            _TAIL_OK["odd"] = bool(1 / (1 - (-D * D).exp()) < 2 * D * D / (4 + D * D))
    return _TAIL_OK["odd"]


def _odd_global(N, D_hi):
    """Lemma O for odd N >= 3 with the bracket's upper end D_hi (an Arb number).  Returns
    (ok, description)."""
    f = _arb.flint()
    if not _tail_lemma_ok():  # pragma: no cover - a fixed numeric fact
        return False, "large-spacing tail lemma failed at D_T = 5/2"
    with _arb.precision(_LEMMA_BITS):
        DT = f.arb(f.fmpq(*D_TAIL))
        grid = [f.arb(f.fmpq(2, N))]
        ratio = f.arb(f.fmpq(*_GRID_RATIO))
        while grid[-1] < DT:
            nxt = grid[-1] * ratio
            grid.append(nxt if nxt < DT else DT)
        if not (D_hi < DT):
            return False, f"D_hi = {D_hi} is not below D_T = 5/2"
        n = len(grid) - 1
        # first interval index whose right end lies above D_hi
        i_star = next(i for i in range(n) if grid[i + 1] > D_hi)
        jok = []
        for i in range(n):
            jok.append(_bisect_ok(_j_ok, N, grid[i], grid[i + 1]))
            if not jok[-1]:
                break
        if len(jok) <= i_star or not all(jok[: i_star + 1]):
            return False, "H' < 0 could not be shown on [2/N, D_hi] (lemma O, Poisson bound)"
        hok = [None] * n
        for m in range(i_star + 1, n + 1):  # D_m = grid[m]
            if m - 1 >= len(jok) or not jok[m - 1]:
                break
            ok = True
            for k in range(m, n):
                if hok[k] is None:
                    hok[k] = _bisect_ok(_h_ok, N, grid[k], grid[k + 1])
                if not hok[k]:
                    ok = False
                    break
            if ok:
                Dm = grid[m]
                return True, (f"lemma O: H' < 0 on (0, {Dm.mid().str(5, radius=False)}], "
                              f"H < 0 on [{Dm.mid().str(5, radius=False)}, 5/2] and on [5/2, inf)")
        return False, "H < 0 could not be shown beyond D_m (lemma O, Poisson representation)"


# ----------------------------------------------------------------------------- the proof for one N
def _f64_estimate(N):
    from ..spacing import optimal_spacing

    return float(optimal_spacing(N, check=False).D_opt)


def _digits_bits(N, dps):
    T = dps + 6  # bracket half-width 10^-T relative
    bits = int(math.ceil((T + 2 * math.log10(N) + 14) * math.log2(10)))
    return T, bits


def prove_optimum(N, dps=30, D0=None, _retry=0):
    """The proven row of N (see the module docstring): bracket of D~_opt(N), balls of chi_max(N) and
    xi_max(N), all at ``dps`` significant digits, or ``proof = "not proven: <why>"``.

    ``D0``: the float64 optimum (the independent face); computed with
    :func:`qmf_sym.spacing.optimal_spacing` when not given.
    """
    N = check_N(N)
    dps = V.dps(dps)
    if dps is None:
        raise ValueError("dps must be an integer >= 1 for the proven table, got None")
    if N == 2:
        return _row_N2(dps)
    if D0 is None:
        D0 = _f64_estimate(N)
    D0 = V.finite("D0", D0)
    V.positive("D0", D0)
    f = _arb.flint()
    T, bits = _digits_bits(N, dps)
    bits += 64 * _retry
    tol_f64 = 1e-14 * N * N  # the float64 face is good to ~1e-16 N^2 (spacing docs): 100x margin
    gain = -math.log10(30.0 * 1e-16 * N * N)  # digits gained per Taylor order (typical float64 error)
    K = max(2, int(math.ceil((T + 8) / gain))) + 2 * _retry
    lemmas = []
    with _arb.precision(bits):
        D0a = _arb.arb(D0)
        # the Taylor window Y = D0 (1 +/- rho) must hold the zero, whose distance from D0 is checked
        # below against tol_f64: rho >= 4 tol_f64 (and >= 2^-20)
        rho = f.arb(2) ** int(math.ceil(math.log2(max(2.0 ** -20, 4 * tol_f64))))
        A, B, H = taylor_models(N, D0a, K, rho)
        # Newton on the Taylor polynomial (midpoints): the zero of H near D0
        e = f.arb(0)
        for _ in range(80):
            dp = sum((k * H.c[k].mid() * e ** (k - 1) for k in range(1, len(H.c))), f.arb(0))
            step = (H.poly_mid(e) / dp).mid()
            e = (e - step).mid()
            if abs(step) < D0a * f.arb(2) ** (-bits + 16):
                break
        rel = abs(float(e.mid()) / D0)
        if not rel <= tol_f64:
            return _not_proven(N, dps, f"faces disagree: the ball-face zero of dchi/dD~ is {rel:.2e} (relative) "
                                        f"from the float64 optimum (allowed {tol_f64:.1e})")
        if not abs(e) < rho * D0a / 2:  # pragma: no cover - implied by the check above
            return _not_proven(N, dps, "the zero lies outside the Taylor window")
        delta = f.arb(2) ** int(math.floor(math.log2(D0) - T * math.log2(10)))
        e_lo, e_hi = (e - delta).mid(), (e + delta).mid()
        H_lo, H_hi = H(e_lo), H(e_hi)
        if not (H_lo > 0 and H_hi < 0):
            if _retry < 1:
                return prove_optimum(N, dps, D0, _retry + 1)
            return _not_proven(N, dps, f"sign change of dchi/dD~ not resolved (H(D_lo) = {H_lo.str(3)}, "
                                        f"H(D_hi) = {H_hi.str(3)} at {bits} bits, Taylor degree {K})")
        lemmas.append(f"bracket: H(D_lo) > 0 > H(D_hi), Taylor degree {K}, {bits} bits")
        D_lo, D_hi = D0a + e_lo, D0a + e_hi
        D_ball = D_lo.union(D_hi)
        if N % 2 == 0:
            lemmas.append("lemma E: H' < 0 on (0, inf) for even N (Poisson summation), unique zero")
        else:
            ok, why = _odd_global(N, D_hi)
            if not ok:
                return _not_proven(N, dps, why, lemmas)
            lemmas.append(why)
        # chi_max by the mean-value form about D_lo over the bracket
        eb = e_lo.union(e_hi)
        Al, Bl = A(e_lo), B(e_lo)
        Ab, Bb, A1, B1 = A(eb), B(eb), A.derivative(eb), B.derivative(eb)
        dchi = (2 * Ab * A1 * Bb - Ab * Ab * B1) / (Bb * Bb)
        width = e_hi - e_lo
        chi = Al * Al / Bl + dchi * (width * f.arb(f.fmpq(1, 2), f.fmpq(1, 2)))
        if not (chi < 1 and chi > 0):
            return _not_proven(N, dps, "chi_max ball not inside (0, 1)", lemmas)
        xi = -1 / chi.log()
        lemmas.append("chi_max: mean-value form over the bracket; xi = -1/log chi (monotone)")
        return ProvenRow(N, _arb.decimal_lower(D_ball, dps), _arb.decimal_upper(D_ball, dps),
                         _arb.decimal_lower(chi, dps), _arb.decimal_upper(chi, dps),
                         _arb.decimal_lower(xi, dps), _arb.decimal_upper(xi, dps), PROVEN, dps,
                         D_ball, chi, xi, tuple(lemmas))


def proven_table(levels, dps=30, progress=None):
    """Rows :class:`ProvenRow` for every N in ``levels`` (an iterable of integers N >= 2, e.g.
    ``range(2, 1025)``; qmf_sym parses no range strings, the CLI does).

    The float64 optima (the independent face and starting points) come from
    ``qmf_sym.spacing.table(levels, dps=None, check=False)`` (vectorised); each row then costs one
    O(N) erfc pass and one O(N) moments pass.  ``progress``: optional callable(k, n) after each row.
    """
    from ..spacing import table

    V.optional_callable("progress", progress)
    dps = V.dps(dps)
    if dps is None:
        raise ValueError("dps must be an integer >= 1 for the proven table, got None")
    Ns = _levels(levels)
    f64 = {r.N: r.D_opt for r in table(Ns, dps=None, check=False)}
    rows = []
    for i, n in enumerate(Ns):
        rows.append(prove_optimum(n, dps, D0=None if n == 2 else float(f64[n])))
        if progress is not None:
            progress(i + 1, len(Ns))
    return rows
