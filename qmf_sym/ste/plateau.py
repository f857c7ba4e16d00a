"""The plateau and the sharp drop of STE training (paper 2's abstract; spec §5.4 and its erratum;
derivations/ste_plateau.md).

Two parts:

* :func:`plateau_analysis` -- from ANY eps_g(tau) curve (simulation or theory): the plateau level, its
  length, the drop time and the drop width, from level crossings (definitions in its docstring), and
  whether the curve has a plateau at all (a plateau longer than the drop is wide);
* the model's predictions for two starts where the reconstructed model has a plateau:
  :func:`saturated_plateau` (clipped STE, every latent weight starting outside the clip range,
  ``|w_0| > c``: eps_g is exactly flat at :func:`plateau_level` until the first re-entry
  ``tau_in = ln(|w_0|/c)/(eta lam)``, independent of b) and :func:`zero_cell_plateau` (a grid with a zero
  level, start inside the zero cell: eps_g = rho/2 until the drift carries the weights to the first
  threshold, a time that grows with omega).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as V

__all__ = ["PlateauAnalysis", "plateau_analysis", "plateau_level", "reentry_time", "saturated_plateau",
           "zero_cell_plateau", "PlateauPrediction"]


def _real(name, x):
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    return float(V.finite(name, x))


@dataclass(frozen=True)
class PlateauAnalysis:
    """Result of :func:`plateau_analysis` (times on the curve's own tau axis; NaN where undefined)."""

    level: float  # eps_g at the reference time (the plateau level when there is one)
    final: float  # the long-time level the curve drops to
    drop: float  # level - final
    tau_10: float  # first time 10 % of the drop is done (the plateau length, from tau_ref)
    tau_50: float  # first time half of the drop is done (the drop time)
    tau_90: float  # first time 90 % of the drop is done
    width: float  # tau_90 - tau_10 (the drop width)
    length: float  # tau_10 - tau_ref (the plateau length)
    sharpness: float  # length / width
    has_plateau: bool  # drop >= min_drop and sharpness >= min_sharpness
    tau_ref: float

    def as_dict(self):
        return {k: (bool(v) if isinstance(v, (bool, np.bool_)) else float(v)) for k, v in self.__dict__.items()}


def _first_crossing(tau, eps, target):
    """First time eps <= target, by linear interpolation between records; NaN if never."""
    below = np.flatnonzero(eps <= target)
    if below.size == 0:
        return math.nan
    k = int(below[0])
    if k == 0:
        return float(tau[0])
    t0, t1, e0, e1 = tau[k - 1], tau[k], eps[k - 1], eps[k]
    return float(t0 + (t1 - t0) * (e0 - target) / (e0 - e1)) if e0 != e1 else float(t1)


def plateau_analysis(tau, eps, tau_ref=None, final=None, min_drop=0.01, min_sharpness=1.0):
    """Plateau length, drop time and drop width of one eps_g(tau) curve (any source).

    Definitions (derivations/ste_plateau.md §1): the reference level is eps_g at ``tau_ref`` (default
    the first record); ``final`` the long-time level (default: the mean of the last 5 % of the records,
    at least one); drop = level - final.  tau_x is the first time after tau_ref that eps_g has done the
    fraction x of the drop (linear interpolation between records).  The plateau length is
    tau_10 - tau_ref, the drop time tau_50, the drop width tau_90 - tau_10, the sharpness length/width.
    A curve has a plateau when drop >= ``min_drop`` (relative to level) and sharpness >= ``min_sharpness``:
    the plateau is longer than the drop is wide (an exponential relaxation has sharpness 0.05, the
    saturated plateau of the clipped STE 3 to 50).  A time the curve never reaches (a drop <= 0, or a
    ``final`` below the curve) is nan, and the curve has no plateau.  ValueError naming the argument for
    bad input.
    """
    tau = V.array("tau", tau, missing=True).reshape(-1)
    eps = V.array("eps", eps, missing=True).reshape(-1)
    if tau.size < 3 or tau.shape != eps.shape:
        raise ValueError(f"tau and eps must be 1-D arrays of equal length >= 3, got {tau.shape} and {eps.shape}")
    if not np.all(np.isfinite(tau)):
        raise ValueError("tau must be finite real numbers")
    if not np.all(np.diff(tau) > 0):
        raise ValueError("tau must be strictly increasing")
    if not np.all(np.isfinite(eps)):
        raise ValueError("eps must be finite (a diverged curve has no plateau analysis)")
    V.nonnegative("min_drop", min_drop)
    V.nonnegative("min_sharpness", min_sharpness)
    t0 = float(tau[0]) if tau_ref is None else _real("tau_ref", tau_ref)
    if not tau[0] <= t0 < tau[-1]:
        raise ValueError(f"tau_ref must lie in [{tau[0]}, {tau[-1]}), got {t0}")
    k0 = int(np.searchsorted(tau, t0, side="left"))
    level = float(np.interp(t0, tau, eps))
    if final is None:
        n = max(1, int(round(0.05 * tau.size)))
        final = float(np.mean(eps[-n:]))
    final = _real("final", final)
    drop = level - final
    ts = np.concatenate([[t0], tau[k0:][tau[k0:] > t0]])
    es = np.concatenate([[level], eps[k0:][tau[k0:] > t0]])
    if drop <= 0:
        nan = math.nan
        return PlateauAnalysis(level, final, drop, nan, nan, nan, nan, nan, nan, False, t0)
    t10, t50, t90 = (_first_crossing(ts, es, level - x * drop) for x in (0.1, 0.5, 0.9))
    width = t90 - t10
    length = t10 - t0
    sharp = length / width if width > 0 else (math.inf if length > 0 else math.nan)
    has = bool(drop >= min_drop * abs(level) and np.isfinite(t90) and sharp >= min_sharpness)
    return PlateauAnalysis(level, final, drop, t10, t50, t90, width, length, sharp, has, t0)


# ============================================================================ model predictions
def plateau_level(l_plus, l_minus=None, p_plus=0.5, kappa=1.0, s2=1.0, rho=1.0, m_sign=0.0):
    """eps_g while every weight is frozen outside the clip range (spec §3's eps_g with psi fixed at the
    outer levels): psi = ``l_+`` with probability ``p_+`` and ``l_-`` otherwise, independently of w*, so::

        eps_plateau = 1/2 [rho - 2 kappa E(w*) E(psi) + s2 E(psi^2)],
        E psi = p_+ l_+ + (1 - p_+) l_-,   E psi^2 = p_+ l_+^2 + (1 - p_+) l_-^2,

    with ``m_sign`` = E(w*) (1 for the spec's w* = 1).  For the symmetric grid (``l_+- = +-omega``),
    ``p_+ = 1/2``, kappa = s2 = rho = 1: (1 + omega^2)/2 (the abstract's plateau).
    """
    l_plus = _real("l_plus", l_plus)
    l_minus = -l_plus if l_minus is None else _real("l_minus", l_minus)
    V.in_closed("p_plus", p_plus, 0.0, 1.0)
    kappa, s2, rho, m_sign = (_real(n, x) for n, x in (("kappa", kappa), ("s2", s2), ("rho", rho), ("m_sign", m_sign)))
    V.nonnegative("s2", s2)
    V.nonnegative("rho", rho)
    e_psi = p_plus * l_plus + (1 - p_plus) * l_minus
    e_psi2 = p_plus * l_plus**2 + (1 - p_plus) * l_minus**2
    return 0.5 * (rho - 2 * kappa * m_sign * e_psi + s2 * e_psi2)


def reentry_time(w0, clip, eta, lam):
    """``tau_in = ln(|w0|/clip)/(eta lam)``: a latent weight outside the clip range of the clipped STE gets
    no gradient and no noise and only shrinks, w(tau) = w0 exp(-eta lam tau) (spec §5.4); 0 if ``|w0| <= clip``,
    +inf at lam = 0."""
    w0 = np.abs(V.array("w0", w0))
    V.positive("clip", clip)
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    with np.errstate(divide="ignore"):
        r = np.where(w0 > clip, np.log(np.maximum(w0, clip) / clip) / (eta * lam) if lam > 0 else np.inf, 0.0)
    return float(r) if r.ndim == 0 else r


@dataclass(frozen=True)
class PlateauPrediction:
    """Model prediction of a plateau: ``level`` (eps_g on it), ``end`` (the time it ends: the first
    weights leave the frozen state), ``exact_flat`` (True if eps_g is exactly constant until ``end``)."""

    level: float
    end: float
    exact_flat: bool
    mechanism: str
    tau_10: float = math.nan  # predicted time of 10 % of the drop (the plateau length of plateau_analysis)

    def as_dict(self):
        return dict(level=self.level, end=self.end, tau_10=self.tau_10, exact_flat=self.exact_flat,
                    mechanism=self.mechanism)


def saturated_plateau(a, omega, eta, lam, b=None, kind="endpoints", kappa=1.0, s2=1.0, rho=1.0, m_sign=1.0,
                      p_plus=0.5):
    """Clipped STE, start concentrated at ``|w_0| = a > omega`` (Rademacher +-a with P(+a) = p_plus,
    independent of w*): no weight gets a gradient or noise before tau_in = ln(a/omega)/(eta lam); psi
    stays at the outer levels, so eps_g is exactly flat at :func:`plateau_level` until then -- for every
    b (the outer levels of the endpoints/midtread grids are +-omega; of 'cells' +-(omega - Delta/2)).
    ``m_sign`` = E[w*] (1 for the spec's w* = 1)."""
    from .quantizers import _check_kind

    a = _real("a", a)
    V.positive("omega", omega)
    _check_kind(kind)
    if not abs(a) > omega:
        raise ValueError(f"a must satisfy |a| > omega (the start outside the clip range), got a={a}, omega={omega}")
    lmax = float(omega)
    if b is not None:
        from .quantizers import quantizer_grid

        lmax = float(quantizer_grid(b, omega, kind)[0][-1])
    level = plateau_level(lmax, -lmax, p_plus, kappa, s2, rho, m_sign)
    t_in = reentry_time(a, omega, eta, lam)
    return PlateauPrediction(level, t_in, True, "saturated (clipped STE, |w0| > omega)", t_in)


def zero_cell_plateau(b, omega, eta, lam, kind="midtread", ste="clipped", kappa=1.0, s2=1.0, rho=1.0,
                      sigma2=0.0, w0=0.0, v0=0.0):
    """A grid with a zero level (``midtread``), teacher w* = 1, start inside the zero cell
    (``|w_0| < theta = Delta/2``, mean ``w0``, variance ``v0``): psi = 0 and eps_g = rho/2 while the weights
    stay in the cell (derivations/ste_plateau.md §3).

    * ``end``: the noise-free weight w(tau) = kappa/lam + (w0 - kappa/lam) exp(-eta lam tau) (drift
      eta (kappa - lam w) in the zero cell) reaches theta at ln((kappa/lam - w0)/(kappa/lam - theta))/(eta lam)
      (theta/(eta kappa) at lam = 0; +inf if kappa/lam <= theta: the weights never leave);
    * ``tau_10``: in the zero cell the latent weight is an Ornstein-Uhlenbeck process, Gaussian with that
      mean and variance v(tau) = v0 e^{-2 eta lam tau} + B (1 - e^{-2 eta lam tau})/(2 eta lam),
      B = eta^2 s2 (rho + sigma2) (eps_g = rho/2 on the plateau); the weights that crossed +-theta carry
      psi = +-Delta, so eps_g(tau) ~ 1/2 [rho - 2 kappa Delta (P+ - P-) + s2 Delta^2 (P+ + P-)], and tau_10 is
      where that has done 10 % of the drop to the stationary eps_g* (:func:`stationary_state`).  Valid
      while few weights have gone past the next threshold (3 theta); measured against the PDE in
      tests/test_ste_plateau.py.

    theta = Delta/2 = omega/(2^b - 2) grows with omega, and so does the plateau.
    """
    from scipy.optimize import brentq
    from scipy.special import ndtr

    from .quantizers import quantizer_grid
    from .stationary import stationary_state

    lv, th = quantizer_grid(b, omega, kind)
    if not np.any(lv == 0):
        raise ValueError(f"kind must give a grid with a zero level (midtread), got kind={kind!r}")
    V.positive("eta", eta)
    V.nonnegative("lam", lam)
    w0, v0 = _real("w0", w0), _real("v0", v0)
    V.nonnegative("v0", v0)
    kappa, s2, rho = _real("kappa", kappa), _real("s2", s2), _real("rho", rho)
    V.positive("s2", s2)
    V.nonnegative("rho", rho)
    if not kappa > 0:
        raise ValueError(f"kappa must be > 0 (w* = 1 must pull the weights out of the zero cell), got {kappa}")
    k = int(np.flatnonzero(lv == 0)[0])
    theta, delta = float(th[k]), float(lv[k + 1])
    if not abs(w0) < theta:
        raise ValueError(f"w0 must lie inside the zero cell (|w0| < {theta:g}), got {w0}")
    if lam == 0:
        end = (theta - w0) / (eta * kappa)
    elif kappa / lam <= theta:
        end = math.inf
    else:
        end = math.log((kappa / lam - w0) / (kappa / lam - theta)) / (eta * lam)
    level = 0.5 * rho
    final = stationary_state(eta, lam, b, omega, kind=kind, ste=ste, kappa=kappa, s2=s2, sigma2=sigma2).eps_g
    Bc = eta**2 * s2 * (rho + sigma2)

    def eps_ou(t):
        if lam > 0:
            e1, e2 = math.exp(-eta * lam * t), math.exp(-2 * eta * lam * t)
            mu = kappa / lam + (w0 - kappa / lam) * e1
            v = v0 * e2 + Bc * (1 - e2) / (2 * eta * lam)
        else:
            mu, v = w0 + eta * kappa * t, v0 + Bc * t
        sd = math.sqrt(max(v, 1e-300))
        pp, pm = ndtr((mu - theta) / sd), ndtr((-theta - mu) / sd)
        return 0.5 * (rho - 2 * kappa * delta * (pp - pm) + s2 * delta**2 * (pp + pm))

    target = level - 0.1 * (level - final)
    t10 = math.inf  # eps_g never falls below the plateau level: no end of the drop
    if final < level:
        hi = 1.0
        while eps_ou(hi) > target and hi < 1e7:
            hi *= 2
        t10 = brentq(lambda t: eps_ou(t) - target, 0.0, hi, xtol=1e-10) if eps_ou(hi) <= target else math.inf
    return PlateauPrediction(level, end, False, "zero cell (midtread grid, start near 0)", t10)
