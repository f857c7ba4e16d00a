"""Mean field of circular convolutional networks with a quantized (or any) activation (paper 1, sec. 4.2;
Xiao et al. 2018, "Dynamical isometry and a mean field theory of CNNs", sec. 2-3).

The network (1-D or 2-D, periodic boundary, C channels, the same spatial size n in every layer):

    h^(l+1)_{c, a} = sum_{c'} sum_{j in ker} W^(l)_{c c'}(j) phi(h^(l)_{c', a + j}) + b^(l)_c,

with ``a`` a spatial position (an integer, or a pair in 2-D, taken mod n) and ``j`` a filter offset
centred on 0.  Initialisations:

* **Gaussian**: W(j)_{c c'} ~ N(0, sigma_w^2 v_j / C) independently, b_c ~ N(0, sigma_b^2), with the
  *filter-variance profile* v_j >= 0, sum_j v_j = 1 (uniform: v_j = 1 / k^d over a k^d kernel);
* **delta-orthogonal** (Xiao et al., Algorithm 2): W(0) = sigma_w H with H a Haar-orthogonal C x C
  matrix and W(j) = 0 for j != 0.  Its covariance map at infinite width is the Gaussian one with the
  profile v = delta_{j, 0} (the forward second moments are all the mean field sees).

**Covariance map** (derivations/cnn_modes.md, sec. 1).  With K^(l)_{ab} = E h_{c,a} h_{c,b} over
the (i.i.d. at infinite width) channels, the map is the fully connected one applied entry by entry,
followed by the *averaging operator* A of the filter-variance profile,

    K^(l+1) = A[ sigma_w^2 E_{K^(l)} phi(h_a) phi(h_b) + sigma_b^2 ],   A(M)_{ab} = sum_j v_j M_{a+j, b+j}.

A preserves the diagonal (and every band b - a), so a covariance with a uniform diagonal Q keeps one
(Q^(l+1) = the fully connected variance map of eq. 4) and every off-diagonal entry evolves by the fully
connected layer map (eq. 2-5) followed by A.  The functions below take such covariances (uniform
diagonal, the class that contains the fixed point) and call :mod:`qmf_sym.maps` for the entry maps.

**Fixed point and Fourier modes** (derivations/cnn_modes.md, sec. 2-3).  The fixed point is the fully
connected one in every entry: diagonal Q*, off-diagonal Q* C*.  Linearised there (diagonal held at
Q*), an off-diagonal perturbation e evolves as e^(l+1) = chi_c A(e^(l)) with chi_c = chi(Q*, C*)
(eq. 6/15).  A commutes with the joint circular shifts, so its eigenvectors are Fourier modes in the
centre coordinate: for each frequency s (and any band d), the symmetric matrix P^(s,d) with
P_{a, a+d} = P_{a+d, a} = cos(2 pi s.(2a + d) / (2n)) satisfies A P = lambda_s P,

    lambda_s = sum_j v_j cos(2 pi s.j / n)   (symmetric profile),   ``|lambda_s| <= sum_j v_j = 1``,

so the mode s decays per layer by chi_mode = chi_c lambda_s, with depth scale
``xi_mode = -1/log|chi_c lambda_s|`` <= xi_fc = -1/log chi_c: the bound of paper 1, sec. 4.2, mode by mode
(equality for s = 0 and, for every s, under delta-orthogonal initialisation).

Pure mathematics: numpy only; every input check through :mod:`qmf_sym._validate`.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import maps
from ._faces import register_equation
from .activations import as_activation

__all__ = ["INITS", "filter_variance", "averaging_eigenvalues", "average", "mode_perturbation", "mode_amplitude",
           "fixed_point_correlation", "correlation_map", "covariance_map", "iterate_correlation", "ModeSlopes",
           "mode_slopes", "frequencies"]

INITS = ("gaussian", "delta_orthogonal")

for _name, _summary in (("correlation_map", "CNN correlation map at Q*: A applied to eq. 5 entry by entry"),
                        ("covariance_map", "exact CNN covariance map, uniform diagonal (A applied to eq. 2-4)"),
                        ("averaging_eigenvalues", "lambda_s of the filter-variance averaging operator A"),
                        ("mode_slopes", "chi_c lambda_s and xi_mode <= xi_fc per Fourier mode")):
    register_equation(f"qmf_sym.cnn.{_name}", "paper 1, sec. 4.2 (Xiao et al. 2018)", _summary)


# ============================================================================ the filter-variance profile
def _check_spatial(spatial):
    if isinstance(spatial, (int, np.integer)) and not isinstance(spatial, (bool, np.bool_)):
        spatial = (spatial,)
    if not isinstance(spatial, (tuple, list)) or len(spatial) not in (1, 2):
        raise ValueError(f"spatial must be n (1-D) or (n1, n2) (2-D) with every n >= 1, got {spatial!r}")
    return tuple(V.integer("spatial", n, 1) for n in spatial)


def filter_variance(kernel_size, dim=1, init="gaussian"):
    """The filter-variance profile v (shape ``(k,) * dim``, v >= 0, sum 1) of an initialisation
    (module docstring): ``"gaussian"`` uniform v_j = 1/k^dim, ``"delta_orthogonal"`` all of it on
    the centre tap.  ``kernel_size`` k must be odd (a centred kernel), ``dim`` 1 or 2."""
    k = V.integer("kernel_size", kernel_size, 1)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be an odd integer >= 1 (a kernel centred on 0), got {kernel_size!r}")
    dim = V.integer("dim", dim, 1, 2)
    V.choice("init", init, INITS)
    if init == "gaussian":
        return np.full((k,) * dim, 1.0 / k ** dim)
    v = np.zeros((k,) * dim)
    v[(k // 2,) * dim] = 1.0
    return v


def _check_profile(profile, spatial=None):
    v = np.asarray(V.nonnegative("profile", profile), dtype=float)
    if v.ndim not in (1, 2) or any(s % 2 == 0 for s in v.shape):
        raise ValueError(f"profile must be a 1-D or 2-D array with odd side lengths (a centred kernel), "
                         f"got shape {v.shape}")
    if abs(v.sum() - 1.0) > 1e-12:
        raise ValueError(f"profile must sum to 1 (the filter variances v_j of W(j) ~ N(0, sigma_w^2 v_j / C)), "
                         f"got sum {v.sum()!r}")
    if not np.allclose(v, v[(slice(None, None, -1),) * v.ndim], rtol=0, atol=1e-15):
        raise ValueError("profile must be symmetric under j -> -j (then every lambda_s is real)")
    if spatial is not None:
        spatial = _check_spatial(spatial)
        if len(spatial) != v.ndim:
            raise ValueError(f"spatial must have {v.ndim} side length(s) for a {v.ndim}-D profile, got {spatial!r}")
        if any(k > n for k, n in zip(v.shape, spatial)):
            raise ValueError(f"spatial sizes {spatial} must be >= the kernel size {v.shape} (no wrapped taps)")
    return v


def _offsets(v):
    """(offset tuple j, weight v_j) for the non-zero taps of a centred profile."""
    centre = tuple(s // 2 for s in v.shape)
    return [(tuple(i - c for i, c in zip(idx, centre)), float(v[idx])) for idx in zip(*np.nonzero(v))]


def frequencies(spatial):
    """Every frequency s of the spatial grid (tuples, s_i in 0..n_i - 1), in row-major order."""
    spatial = _check_spatial(spatial)
    return list(itertools.product(*(range(n) for n in spatial)))


def averaging_eigenvalues(profile, spatial):
    """lambda_s = sum_j v_j cos(2 pi s.j / n) for every frequency s (array of shape ``spatial``):
    the eigenvalues of the averaging operator A (derivations/cnn_modes.md, sec. 3; Xiao et al. 2018,
    sec. 3).  ``|lambda_s| <= 1``, lambda_0 = 1."""
    v = _check_profile(profile, spatial)
    spatial = _check_spatial(spatial)
    grids = np.meshgrid(*(np.arange(n) for n in spatial), indexing="ij")
    lam = np.zeros(spatial)
    for j, w in _offsets(v):
        lam += w * np.cos(2 * np.pi * sum(g * ji / n for g, ji, n in zip(grids, j, spatial)))
    return lam


def average(profile, M):
    """A(M)_{ab} = sum_j v_j M_{a+j, b+j} (indices mod n): the averaging operator of the covariance map.

    ``M`` has shape (n, n) for a 1-D profile or (n1, n2, n1, n2) for a 2-D one (positions a, b)."""
    v = _check_profile(profile)
    M = np.asarray(V.real("M", M), dtype=float)
    d = v.ndim
    if M.ndim != 2 * d or M.shape[:d] != M.shape[d:]:
        raise ValueError(f"M must have shape (n, n) (1-D) or (n1, n2, n1, n2) (2-D) for a {d}-D profile, "
                         f"got {M.shape}")
    return _average(v, M)


def _average(v, M):
    d = v.ndim
    out = np.zeros_like(M)
    for j, w in _offsets(v):
        out += w * np.roll(M, shift=tuple(-ji for ji in j) * 2, axis=tuple(range(2 * d)))
    return out


# ============================================================================ the modes
def _check_freq(spatial, value, name="mode"):
    value = (value,) if np.ndim(value) == 0 else tuple(value)
    if len(value) != len(spatial):
        raise ValueError(f"{name} must have {len(spatial)} component(s) for spatial {spatial}, got {value!r}")
    return tuple(V.integer(name, s, 0, n - 1) for s, n in zip(value, spatial))


def _check_mode(spatial, mode, band):
    spatial = _check_spatial(spatial)
    mode = _check_freq(spatial, mode, "mode")
    band = _check_freq(spatial, band, "band")
    if all((2 * b) % n == 0 for b, n in zip(band, spatial)):
        raise ValueError(f"band must satisfy 2 band != 0 (mod n) in some direction (a band other than the "
                         f"diagonal and its own transpose), got {band!r} for spatial {spatial}")
    return spatial, mode, band


def mode_perturbation(spatial, mode, band=1):
    """The symmetric off-diagonal eigenvector P^(s,d) of A (module docstring; derivations/cnn_modes.md,
    sec. 3): P_{a, a+d} = P_{a+d, a} = cos(2 pi s.(2a + d) / (2n)), zero elsewhere.  Shape (n, n) or
    (n1, n2, n1, n2).  Its spectral norm is <= 2 (each row holds at most two entries of size <= 1)."""
    spatial, mode, band = _check_mode(spatial, mode, band)
    P = np.zeros(spatial * 2)
    for a in itertools.product(*(range(n) for n in spatial)):
        b = tuple((ai + di) % n for ai, di, n in zip(a, band, spatial))
        val = np.cos(2 * np.pi * sum(s * (2 * ai + di) / (2 * n) for s, ai, di, n in zip(mode, a, band, spatial)))
        P[a + b] = val
        P[b + a] = val
    if not np.any(np.abs(P) > 1e-12):
        raise ValueError(f"band {band!r} carries no amplitude of mode {mode!r} (cos vanishes on it, e.g. s = n/2 "
                         f"with d odd); choose another band")
    return P


def mode_amplitude(R, P, R_star=None):
    """The amplitude of the mode P in a correlation array R: <R - R*, P> / <P, P> (R* default 0)."""
    R = np.asarray(V.real("R", R), dtype=float)
    P = V.array("P", P)
    if R.shape[-P.ndim:] != P.shape:
        raise ValueError(f"R must end in the shape of P {P.shape}, got {R.shape}")
    if not (P * P).sum() > 0:
        raise ValueError("P must not vanish (a mode with <P, P> > 0)")
    if R_star is not None:
        R_star = V.array("R_star", R_star)
        try:
            fits = np.broadcast_shapes(R_star.shape, R.shape) == R.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"R_star must broadcast to the shape of R {R.shape}, got {R_star.shape}")
    D = R if R_star is None else R - R_star
    axes = tuple(range(D.ndim - P.ndim, D.ndim))
    return np.tensordot(D, P, axes=(axes, tuple(range(P.ndim)))) / float((P * P).sum())


# ============================================================================ the maps
def _diag_mask(shape_half):
    n = int(np.prod(shape_half))
    return np.eye(n, dtype=bool).reshape(shape_half * 2)


def fixed_point_correlation(spatial, C_star):
    """R* = (1 - C*) I + C* 1 1^T on the spatial grid (shape (n, n) or (n1, n2, n1, n2))."""
    spatial = _check_spatial(spatial)
    V.in_closed("C_star", C_star, -1, 1)
    return np.where(_diag_mask(spatial), 1.0, float(C_star))


def _check_R(R, d, name="R"):
    R = np.asarray(V.in_closed(name, R, -1, 1), dtype=float)
    if R.ndim != 2 * d or R.shape[:d] != R.shape[d:]:
        raise ValueError(f"{name} must have shape (n, n) (1-D) or (n1, n2, n1, n2) (2-D) for a {d}-D profile, "
                         f"got {R.shape}")
    if not np.allclose(R[_diag_mask(R.shape[:d])], 1.0, rtol=0, atol=1e-12):
        raise ValueError(f"{name} must be a correlation array (unit diagonal)")
    return R


def correlation_map(act, Q, R, sigma_w, sigma_b=0.0, profile=(1.0,)):
    """One layer of the CNN correlation map at the fixed-point variance Q = Q* (the form of eq. 5):

        R'_{ab} = sum_j v_j M_Q(R_{a+j, b+j})  (a != b),   R'_{aa} = 1,

    with M_Q the fully connected correlation map :func:`qmf_sym.maps.correlation_map` (eq. 5) applied
    entry by entry (derivations/cnn_modes.md, sec. 1).  For Q != Q* use :func:`covariance_map`."""
    v = _check_profile(profile)
    R = _check_R(R, v.ndim)
    act = as_activation(act)
    M = np.asarray(maps.correlation_map(act, Q, C=R, sigma_w=sigma_w, sigma_b=sigma_b), dtype=float)
    out = _average(v, M)
    out[_diag_mask(R.shape[:v.ndim])] = 1.0
    return out


def covariance_map(act, Q, R, sigma_w, sigma_b=0.0, profile=(1.0,)):
    """One layer of the exact CNN covariance map for a covariance Q R with uniform diagonal Q (any Q > 0):
    returns (Q', R') with Q' = the variance map of eq. 4 and R' = A[C'(R)] with C' the correlation of the
    fully connected layer map :func:`qmf_sym.maps.layer_map` (eq. 2-4), entry by entry."""
    v = _check_profile(profile)
    R = _check_R(R, v.ndim)
    Qn, Cn = maps.layer_map(as_activation(act), Q, R, sigma_w, sigma_b)
    out = _average(v, np.asarray(Cn, dtype=float))
    out[_diag_mask(R.shape[:v.ndim])] = 1.0
    return float(np.ravel(Qn)[0]), np.clip(out, -1.0, 1.0)


def iterate_correlation(act, Q1, R1, sigma_w, sigma_b=0.0, profile=(1.0,), n_layers=1):
    """Iterate :func:`covariance_map` from the first hidden layer's (Q1, R1): arrays Q (n_layers,) and
    R ``(n_layers, *R1.shape)``; row k holds layer k + 1."""
    v = _check_profile(profile)
    R = _check_R(R1, v.ndim, "R1")
    n_layers = V.integer("n_layers", n_layers, 1, 10 ** 6, "one layer map per layer")
    V.size_product("n_layers", [("n_layers", n_layers), ("R1", R.size)])
    Q = float(V.finite("Q1", V.positive("Q1", Q1)))
    Qs, Rs = [Q], [R]
    for _ in range(n_layers - 1):
        Q, R = covariance_map(act, Q, R, sigma_w, sigma_b, profile)
        Qs.append(Q)
        Rs.append(R)
    return np.array(Qs), np.array(Rs)


# ============================================================================ slopes and depth scales
@dataclass(frozen=True)
class ModeSlopes:
    """Linearised CNN dynamics at the fixed point (derivations/cnn_modes.md, sec. 2-3).

    ``fixed_point``: the fully connected :class:`qmf_sym.maps.FixedPoint` (Q*, C*, chi_c, xi_fc);
    ``modes``: the frequencies s (tuples); ``lam``, ``chi_mode`` = chi_c lambda_s and
    ``xi_mode`` = -1/log|chi_mode| (0 where lambda_s = 0), arrays in the order of ``modes``;
    ``chi_c``, ``xi_fc`` = -1/log chi_c."""

    fixed_point: object
    modes: list
    lam: np.ndarray
    chi_mode: np.ndarray
    xi_mode: np.ndarray
    chi_c: float
    xi_fc: float


def mode_slopes(act, sigma_w, sigma_b=0.0, profile=(1.0,), spatial=1, modes=None):
    """chi_mode = chi_c lambda_s and xi_mode = -1/log|chi_c lambda_s| for the frequencies ``modes``
    (default: all of the grid ``spatial``), with chi_c = chi(Q*, C*) of the fully connected fixed point
    (:func:`qmf_sym.maps.fixed_point`, eq. 4-7) and lambda_s of :func:`averaging_eigenvalues`.
    Any activation of :mod:`qmf_sym.activations` (the maps it calls dispatch on it).
    Raises ValueError when the fixed point has C* = 1 (no linear regime)."""
    act = as_activation(act)
    v = _check_profile(profile, spatial)
    spatial = _check_spatial(spatial)
    fp = maps.fixed_point(act, sigma_w, sigma_b)
    if not (fp.C < 1 and np.isfinite(fp.chi)):
        raise ValueError(f"the fixed point has C* = 1 for sigma_w={sigma_w!r}, sigma_b={sigma_b!r}: no off-diagonal "
                         f"perturbation on both sides of C*, no linear regime (for staircases chi_c is infinite there)")
    lam_grid = averaging_eigenvalues(v, spatial)
    if modes is None:
        modes = frequencies(spatial)
    if isinstance(modes, (str, bytes, dict)) or not hasattr(modes, "__iter__") or len(modes := list(modes)) == 0:
        raise ValueError(f"modes must be None or a non-empty list of frequencies of the grid {spatial!r}, got {modes!r}")
    modes = [_check_freq(spatial, m, "modes") for m in modes]
    lam = np.array([lam_grid[m] for m in modes])
    chi_c = float(fp.chi)
    chi_mode = chi_c * lam
    a = np.abs(chi_mode)
    xi_mode = np.where(a > 0, maps.depth_scale.f64(np.where(a > 0, a, 0.5)), 0.0)
    return ModeSlopes(fp, modes, lam, chi_mode, np.asarray(xi_mode, float), chi_c, float(maps.depth_scale(chi_c)))
