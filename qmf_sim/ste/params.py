"""The one parameter object of the STE solvers (spec ``ste_dynamics.md`` §2, §8 switches)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from qmf_sym import _validate as V

GRIDS = ("endpoints", "cells", "midtread")
STES = ("clipped", "identity")
TEACHERS = ("ones", "gaussian", "rademacher")
INITS = ("gaussian", "uniform", "rademacher", "zeros")
RIDGES = ("latent", "psi")


@dataclass(frozen=True)
class STEParams:
    """All switches of spec §2/§8 for one dynamics, shared by every solver (micro, particles, pde, theory).

    The fields::

        b, omega, kind      weight quantizer psi = Q_{b,omega} (b=None: unquantized weights, psi = id)
        b_x, omega_x, kind_x  input quantizer phi (b_x=None: unquantized inputs, phi = id)
        ste                 'clipped' (g = 1{|w| <= omega}) or 'identity' (g = 1); g = 1 if b is None
        eta, lam, sigma2, T learning rate, ridge on the latent weights, label-noise variance, temperature
        teacher             'ones' (w*_i = 1), 'gaussian' (N(0,1)) or 'rademacher' (+-1)
        init, init_scale    law of w_hat^0: 'gaussian' N(0, s^2), 'uniform' on [-s sqrt3, s sqrt3],
                            'rademacher' +-s, 'zeros'
        psi, phi            general weight / input maps: a qmf_sym.ste.maps.Map or a
                            name of qmf_sym.ste.maps.named_map ('tanh', 'sign:0.5', ...); when given
                            they replace the quantizer of (b, omega, kind, ste) / (b_x, omega_x, kind_x)
                            (None: those switches define psi and phi, exactly as before)
        ridge               'latent' (lam |w_hat|^2 / 2d, spec §2.3) or 'psi' (lam |psi(w_hat)|^2 / 2d through
                            the STE: drift -eta lam g psi; spec §8 item 3)
        onset               quantization onset time tau_0 (spec §8 item 6, "T = onset"): psi = phi = id and
                            g = 1 for tau < onset, the maps above from tau = onset on (0: from the start)
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
    psi: object = None
    phi: object = None
    ridge: str = "latent"
    onset: float = 0.0

    def __post_init__(self):
        if self.b is not None:
            object.__setattr__(self, "b", V.integer("b", self.b, 1, 16))
        if self.b_x is not None:
            object.__setattr__(self, "b_x", V.integer("b_x", self.b_x, 1, 16))
        for name in ("omega", "omega_x", "eta", "lam", "sigma2", "T", "init_scale", "onset"):
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
        V.choice("ridge", self.ridge, RIDGES)
        from qmf_sym.ste.maps import Map, check_input_map, named_map

        for name, spec, kw in (("psi", self.psi, dict(b=self.b, omega=self.omega, kind=self.kind, ste=self.ste)),
                               ("phi", self.phi, dict(b=self.b_x, omega=self.omega_x, kind=self.kind_x))):
            if spec is None:
                continue
            if isinstance(spec, str):
                spec = named_map(spec, name=name, **kw)
            if not isinstance(spec, Map):
                raise ValueError(f"{name} must be a qmf_sym.ste.maps.Map or a map name, got {type(spec).__name__}")
            object.__setattr__(self, name, spec)
        if self.psi is None:
            self.weight_grid()  # the grid's own checks (e.g. midtread needs b >= 2)
        if self.phi is None:
            self.input_grid()
        else:
            check_input_map(self.phi)

    # -- derived ------------------------------------------------------------------------------
    @property
    def rho(self) -> float:
        """rho = E[w*^2] (spec §2.1): 1 for every teacher law offered."""
        return 1.0

    @property
    def input_only(self) -> bool:
        """psi = id (spec §4.4 iii): the closed ODE applies (also before a quantization onset)."""
        return self.weight_map().kind == "identity"

    @property
    def clipped(self) -> bool:
        """The surrogate vanishes outside a finite range (clip bound of psi finite)."""
        return math.isfinite(self.weight_map().clip) and self.weight_map().kind in ("identity", "staircase")

    def weight_map(self):
        """psi as a :class:`qmf_sym.ste.maps.Map`: ``psi`` if given, else Q_{b,omega} with the STE ``ste``
        (identity if b is None)."""
        from qmf_sym.ste.maps import Map

        if self.psi is not None:
            return self.psi
        return Map.identity() if self.b is None else _quantizer_map(self.b, self.omega, self.kind, self.ste)

    def input_map(self):
        """phi as a :class:`qmf_sym.ste.maps.Map`: ``phi`` if given, else Q_{b_x,omega_x} (identity if b_x is None)."""
        from qmf_sym.ste.maps import Map

        if self.phi is not None:
            return self.phi
        return Map.identity() if self.b_x is None else _quantizer_map(self.b_x, self.omega_x, self.kind_x, "identity")

    @property
    def compiled(self) -> bool:
        """Both maps have a compiled form (else the solvers take their pure-numpy paths)."""
        return self.weight_map().compiled and self.input_map().compiled

    def before_onset(self):
        """The unquantized dynamics that runs for tau < onset (psi = phi = id, g = 1; spec §8 item 6)."""
        from qmf_sym.ste.maps import Map

        return replace(self, psi=Map.identity(), phi=Map.identity(), onset=0.0)

    def after_onset(self):
        return replace(self, onset=0.0)

    def input_moments(self):
        """(kappa_phi, sigma_phi^2) of spec §4.1, from :func:`qmf_sym.ste.maps.map_moments` (for the
        quantizers: :func:`qmf_sym.ste.input_moments`, the same numbers as before)."""
        from qmf_sym.ste.maps import map_moments

        k, s2 = map_moments(self.input_map())
        return float(k), float(s2)

    def weight_grid(self):
        """(levels, thresholds) of the quantizer (b, omega, kind), from :func:`qmf_sym.ste.quantizer_grid`
        (empty if b is None)."""
        return _grid(self.b, self.omega, self.kind)

    def input_grid(self):
        """(levels, thresholds) of phi (empty if b_x is None)."""
        return _grid(self.b_x, self.omega_x, self.kind_x)

    def as_dict(self):
        """Plain data; the optional switches (psi, phi by name; ridge, onset) only where set, so
        that the dicts of the quantizer-only parameter sets are unchanged."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in _NEW}
        for k in _NEW:
            v = getattr(self, k)
            if v != _NEW[k]:
                out[k] = v.name if hasattr(v, "name") else v
        return out


_NEW = {"psi": None, "phi": None, "ridge": "latent", "onset": 0.0}


@lru_cache(maxsize=256)
def _quantizer_map(b, omega, kind, ste):
    from qmf_sym.ste.maps import Map

    return Map.quantizer(b, omega, kind, ste)


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
