"""The paper's power-law regressions of the optimum (paper 1, Fig. 2 right and eq. 18) and the
local slopes of log(1 - chi_max) against log(N + 1)."""
from __future__ import annotations

import math

import numpy as np

from .. import _validate as V
from .._faces import register_equation

__all__ = ["PAPER_FIT", "fit_power_laws", "local_slopes"]

#: The paper's regression for 1 - chi_max (eq. 18): 1 - chi_max = exp(a) (N + 1)^b.
PAPER_FIT = {"a": 0.71, "b": -1.82}


def _ols(x, y):
    """Least squares y = a + b x with standard errors (classical, residual variance)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 3:
        raise ValueError("a regression needs at least 3 points")
    X = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    s2 = float(resid @ resid) / (n - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    return {"a": float(coef[0]), "b": float(coef[1]), "se_a": float(math.sqrt(cov[0, 0])),
            "se_b": float(math.sqrt(cov[1, 1])), "rms_resid": float(math.sqrt(s2)), "n_points": n}


def fit_power_laws(rows, N_min=3, N_max=100):
    """The paper's regressions (Fig. 2 right, eq. 18), recomputed by ordinary least squares:

    * ``one_minus_chi``: log(1 - chi_max) = a + b log(N + 1)   (paper: a = 0.71, b = -1.82);
    * ``D_opt``: log D~_opt = a + b log(N + 1)  (Fig. 2 bottom right; the paper calls the relation
      "logarithmic" and plots both right panels on log-log axes against N, so we regress it as a
      power law in N + 1 like eq. 18; the paper does not print these coefficients).

    Default range N = 3..100 (N = 2 has no D_opt; the paper's Fig. 2 spans N up to ~10^2; with
    this range we recover a = 0.711, b = -1.817, i.e. the paper's numbers).
    Standard errors are the classical OLS ones; note the residuals are *not* noise but the
    systematic curvature of log(1 - chi_max) in log N (the true law is ~ N^-2 ln N, see
    :mod:`qmf_sym.quantization`), so the SEs measure the misfit of a straight line, and the slope
    depends on the N range, which is reported.
    """
    rows = _rows(rows)
    N_min = V.integer("N_min", N_min, 2)
    N_max = V.integer("N_max", N_max, N_min)
    sel = [r for r in rows if N_min <= _get(r, "N") <= N_max]
    if not sel:
        raise ValueError(f"no rows with N in [N_min, N_max] = [{N_min}, {N_max}]")
    N = np.array([_get(r, "N") for r in sel], dtype=float)
    chi = np.array([float(_get(r, "chi_max")) for r in sel])
    D = np.array([float(_get(r, "D_opt")) for r in sel])
    x = np.log(N + 1)
    okD = np.isfinite(D)  # N = 2 has no D_opt
    return {
        "N_min": int(N.min()), "N_max": int(N.max()), "n_points": len(N),
        "one_minus_chi": _ols(x, np.log1p(-chi)),
        "D_opt": _ols(x[okD], np.log(D[okD])),
        "paper_one_minus_chi": dict(PAPER_FIT),
        "model": "log(y) = a + b log(N + 1), ordinary least squares",
    }


def local_slopes(rows):
    """Effective exponent d log(1 - chi_max) / d log(N + 1) between consecutive rows (centred
    differences): it drifts towards -2 as N grows (N^-2 ln N has local slope -2 + 1/ln N)."""
    rows = _rows(rows, min_rows=2)
    N = np.array([_get(r, "N") for r in rows], dtype=float)
    y = np.log1p(-np.array([float(_get(r, "chi_max")) for r in rows]))
    x = np.log(N + 1)
    return np.sqrt(N[1:] * N[:-1]), np.diff(y) / np.diff(x)


def _get(r, k):
    return r[k] if isinstance(r, dict) else getattr(r, k)


def _rows(rows, min_rows=1):
    """Rows of :func:`qmf_sym.spacing.table` (OptimalSpacing objects or dicts with N, chi_max, D_opt)."""
    if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
        raise ValueError(f"rows must be a list of spacing-table rows (N, chi_max, D_opt), got {rows!r}"[:200])
    rows = list(rows)
    if len(rows) < min_rows:
        raise ValueError(f"rows must hold at least {min_rows} row(s), got {len(rows)}")
    for r in rows:
        try:
            V.integer("rows: N", _get(r, "N"), 2)
            V.in_closed("rows: chi_max", float(_get(r, "chi_max")), 0.0, 1.0)
            _get(r, "D_opt")
        except (KeyError, AttributeError, TypeError) as exc:
            raise ValueError(f"rows must be spacing-table rows with N, chi_max and D_opt, got {r!r}"[:200]) from exc
    return rows


register_equation("qmf_sym.spacing.fit_power_laws", "paper 1, eq. 18 (power-law fit of 1 - chi_max(N))",
                  "ordinary least squares on log(N + 1)")
