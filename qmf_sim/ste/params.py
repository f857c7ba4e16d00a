"""The one parameter object of the STE solvers (spec ``ste_dynamics.md`` §2, §8 switches)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qmf_sym import _validate as V

GRIDS = ("endpoints", "cells", "midtread")
STES = ("clipped", "identity")
TEACHERS = ("ones", "gaussian", "rademacher")
INITS = ("gaussian", "uniform", "rademacher", "zeros")


@dataclass(frozen=True)
class STEParams:
    """All switches of spec §2/§8 for one dynamics, shared by every solver (micro, particles, pde, theory).

    b, omega, kind      weight quantizer psi = Q_{b,omega} (b=None: unquantized weights, psi = id)
    b_x, omega_x, kind_x  input quantizer phi (b_x=None: unquantized inputs, phi = id)
    ste                 'clipped' (g = 1{|w| <= omega}) or 'identity' (g = 1); g = 1 if b is None
    eta, lam, sigma2, T learning rate, ridge on the latent weights, label-noise variance, temperature
    teacher             'ones' (w*_i = 1), 'gaussian' (N(0,1)) or 'rademacher' (+-1)
    init, init_scale    law of w_hat^0: 'gaussian' N(0, s^2), 'uniform' on [-s sqrt3, s sqrt3],
                        'rademacher' +-s, 'zeros'
    """

    b: int | None = 2
    omega: float = 1.0
    b_x: int | None = None
    omega_x: float = 1.0
    kind: str = "endpoints"
    kind_x: str = "endpoints"
    ste: str = "clipped"
    eta: float = 0.04
    lam: float = 1.0
    sigma2: float = 0.0
    T: float = 0.0
    teacher: str = "ones"
    init: str = "gaussian"
    init_scale: float = 1.0

    def __post_init__(self):
        if self.b is not None:
            object.__setattr__(self, "b", V.integer("b", self.b, 1, 16))
        if self.b_x is not None:
            object.__setattr__(self, "b_x", V.integer("b_x", self.b_x, 1, 16))
        for name in ("omega", "omega_x", "eta", "lam", "sigma2", "T", "init_scale"):
            value = getattr(self, name)
            if isinstance(value, bool):
                raise ValueError(f"{name} must be a real number, got {value!r}")
            (V.positive if name in ("omega", "omega_x", "eta") else V.nonnegative)(name, value)
            object.__setattr__(self, name, V.finite(name, value))
        V.choice("kind", self.kind, GRIDS)
        V.choice("kind_x", self.kind_x, GRIDS)
        V.choice("ste", self.ste, STES)
        V.choice("teacher", self.teacher, TEACHERS)
        V.choice("init", self.init, INITS)
        self.weight_grid()  # the grid's own checks (e.g. midtread needs b >= 2)
        self.input_grid()

    # -- derived ------------------------------------------------------------------------------
    @property
    def rho(self) -> float:
        """rho = E[w*^2] (spec §2.1): 1 for every teacher law offered."""
        return 1.0

    @property
    def input_only(self) -> bool:
        """psi = id (spec §4.4 iii): the closed ODE applies."""
        return self.b is None

    @property
    def clipped(self) -> bool:
        return self.b is not None and self.ste == "clipped"

    def input_moments(self):
        """(kappa_phi, sigma_phi^2) of spec §4.1, from :func:`qmf_sym.ste.input_moments`."""
        from qmf_sym.ste import input_moments

        if self.b_x is None:
            return 1.0, 1.0
        k, s2 = input_moments(self.b_x, self.omega_x, kind=self.kind_x)
        return float(k), float(s2)

    def weight_grid(self):
        """(levels, thresholds) of psi, from :func:`qmf_sym.ste.quantizer_grid` (empty if b is None)."""
        return _grid(self.b, self.omega, self.kind)

    def input_grid(self):
        """(levels, thresholds) of phi (empty if b_x is None)."""
        return _grid(self.b_x, self.omega_x, self.kind_x)

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _grid(b, omega, kind):
    if b is None:
        return np.zeros(0), np.zeros(0)
    from qmf_sym.ste import quantizer_grid

    lev, thr = quantizer_grid(b, omega, kind)
    return np.asarray(lev, dtype=np.float64), np.asarray(thr, dtype=np.float64)


def as_params(params=None, **kw) -> STEParams:
    """``params`` (an :class:`STEParams`) with ``kw`` replaced, or ``STEParams(**kw)``."""
    if params is None:
        return STEParams(**kw)
    if not isinstance(params, STEParams):
        raise ValueError(f"params must be an STEParams, got {type(params).__name__}")
    return replace(params, **kw) if kw else params
