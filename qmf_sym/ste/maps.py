"""Named weight and input maps psi, phi of the STE model (paper 2, spec §2.3) and their
Gaussian moments.

The student is y_hat = (1/sqrt d) sum_i psi(w_hat_i) phi(x_i).  ONE object, :class:`Map`, represents
either map for every method (d-dimensional SGD, particles, PDE, closed ODE, closures, stationary state):

* ``forward(u)``   psi(u) / phi(u) (numpy, float64);
* ``surrogate(u)`` the derivative used by the backward pass (the STE surrogate g of spec §2.3 for a
  staircase: ``1{|u| <= clip}``, clip = omega for the clipped STE, +inf for the identity STE; the true
  derivative for a smooth map);
* ``kind`` + parameters: how the compiled kernels evaluate it -- 'identity', 'staircase' (a lookup
  table: levels and thresholds, right-continuous), 'tanh' (amplitude a tanh(u / width)); 'callable'
  maps (any user function with its derivative or surrogate) have no compiled form and run on the
  slower pure-numpy paths of ``qmf_sim.ste`` (measured there).

Constructors: :meth:`Map.identity`, :meth:`Map.quantizer` (the uniform grids of spec §2.2, exactly the
tables of :func:`~qmf_sym.ste.quantizer_grid`), :meth:`Map.staircase` (any
:class:`qmf_sym.activations.Staircase`, uniform or not), :meth:`Map.sign` (the 1-bit quantizer
+-scale, clipped at scale), :meth:`Map.tanh`, :meth:`Map.from_callable`; :func:`named_map` parses
the CLI names.

Gaussian moments (spec §4.1): :func:`map_moments` = (kappa, sigma_phi^2) = (E z phi(z), E phi(z)^2),
z ~ N(0,1): closed forms for identity and staircases (Stein: kappa = sum_i h_i n(g_i)), the
:class:`~qmf_sym._faces.ClosedForm` :data:`tanh_moments` (float64 adaptive quadrature; mpmath
quadrature whose error estimate is checked against the requested digits: a certified-by-estimate
value or a ValueError), plain quadrature for callables.  With them the closed input-only ODE of
spec §4.4(iii) holds for any odd phi: :func:`map_eta_c`, :func:`map_steady_state` (eta_c, eps_g*).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import _validate as V
from .. import gaussian as G
from .._faces import ClosedForm, register_equation

__all__ = ["Map", "MAP_KINDS", "MAP_NAMES", "named_map", "map_moments", "tanh_moments", "map_eta_c",
           "map_steady_state", "stationary_pieces"]

MAP_KINDS = ("identity", "staircase", "tanh", "callable")
MAP_NAMES = ("identity", "tanh", "sign", "uniform", "quant")
_STES = ("clipped", "identity")


def _pos(name, x):
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be a positive real number, got {x!r}")
    V.positive(name, x)
    return float(V.finite(name, x))


@dataclass(frozen=True, eq=False)
class Map:
    """A weight map psi or an input map phi (module docstring).  Build it with the class methods."""

    kind: str
    name: str
    levels: np.ndarray | None = None  # staircase: L levels (float64)
    thresholds: np.ndarray | None = None  # staircase: L - 1 thresholds, increasing
    clip: float = math.inf  # identity / staircase surrogate 1{|u| <= clip}
    amplitude: float = 1.0  # tanh
    width: float = 1.0  # tanh
    fn: Callable | None = field(default=None, repr=False)  # callable
    dfn: Callable | None = field(default=None, repr=False)
    exact: object = field(default=None, repr=False)  # Staircase (exact parameters) for the dps faces
    grid: tuple | None = None  # (b, omega, kind) for the uniform quantizers of spec §2.2

    # ------------------------------------------------------------------ constructors
    @classmethod
    def identity(cls):
        """psi(u) = u, surrogate 1 (unquantized weights or inputs)."""
        return cls("identity", "identity")

    @classmethod
    def quantizer(cls, b, omega=1.0, kind="endpoints", ste="clipped"):
        """The uniform b-bit quantizer Q_{b,omega} of spec §2.2 with the STE of spec §2.3 (clip = omega
        for 'clipped', +inf for 'identity'); tables exactly those of :func:`qmf_sym.ste.quantizer_grid`."""
        from .quantizers import quantizer_grid

        V.choice("ste", ste, set(_STES))
        lv, th = quantizer_grid(b, omega, kind)
        b = int(b)
        name = f"quant(b={b},omega={float(omega):g},{kind}{',identity-STE' if ste == 'identity' else ''})"
        return cls("staircase", name, lv, th, float(omega) if ste == "clipped" else math.inf,
                   grid=(b, float(omega), kind))

    @classmethod
    def sign(cls, scale=1.0, ste="clipped"):
        """scale * sign(u) (sign(0) = +1, right-continuous), surrogate ``1{|u| <= scale}`` (clipped) or 1:
        the 1-bit 'endpoints' quantizer with omega = scale."""
        scale = _pos("scale", scale)
        m = cls.quantizer(1, scale, "endpoints", ste)
        return cls("staircase", f"sign({scale:g})", m.levels, m.thresholds, m.clip, grid=m.grid)

    @classmethod
    def staircase(cls, st, ste="clipped", clip=None):
        """Any :class:`qmf_sym.activations.Staircase` (eq. 13 of paper 1; uniform or not), surrogate
        ``1{|u| <= clip}`` ('clipped'; clip defaults to ``max |level|``) or 1 ('identity')."""
        from ..activations import as_staircase

        st = as_staircase(st, "st")
        V.choice("ste", ste, set(_STES))
        lv = np.asarray(st.levels, dtype=float)
        if clip is None:
            clip = float(np.max(np.abs(lv)))
        clip = _pos("clip", clip) if ste == "clipped" else math.inf
        return cls("staircase", f"staircase(N={st.N})", lv, np.asarray(st.offsets, dtype=float), clip, exact=st)

    @classmethod
    def tanh(cls, amplitude=1.0, width=1.0):
        """amplitude * tanh(u / width), with its true derivative (amplitude/width) sech^2(u/width)."""
        a, c = _pos("amplitude", amplitude), _pos("width", width)
        return cls("tanh", f"tanh({a:g},{c:g})", amplitude=a, width=c)

    @classmethod
    def from_callable(cls, fn, dfn, name="callable"):
        """Any user map ``fn`` (numpy in, numpy out) with its derivative or STE surrogate ``dfn``.
        No compiled form: the solvers use their pure-numpy paths (slower; see qmf_sim.ste)."""
        if not callable(fn):
            raise ValueError(f"fn must be callable, got {fn!r}")
        if not callable(dfn):
            raise ValueError(f"dfn must be callable (the derivative or STE surrogate of fn), got {dfn!r}")
        probe = np.linspace(-3.0, 3.0, 7)
        for nm, f in (("fn", fn), ("dfn", dfn)):
            try:
                out = np.asarray(f(probe), dtype=float)
            except Exception as exc:  # noqa: BLE001 - any failure of a user function is bad input
                raise ValueError(f"{nm} must map a float64 array to a float64 array: {exc}") from exc
            if out.shape != probe.shape or not np.all(np.isfinite(out)):
                raise ValueError(f"{nm} must map a float64 array elementwise to finite values")
        return cls("callable", str(name), fn=fn, dfn=dfn)

    # ------------------------------------------------------------------ evaluation
    @property
    def compiled(self) -> bool:
        """True if the numba kernels evaluate this map (everything but 'callable')."""
        return self.kind != "callable"

    @property
    def piecewise_constant(self) -> bool:
        return self.kind == "staircase"

    def forward(self, u):
        """psi(u) (float64 array); NaN stays NaN."""
        u = np.asarray(u, dtype=float)
        if self.kind == "identity":
            return u.copy()
        if self.kind == "staircase":
            if self.grid is not None:  # the one lookup of the uniform quantizers (spec §2.2)
                from .quantizers import quantize

                return np.asarray(quantize(u, *self.grid), dtype=float)
            out = self.exact(u)  # Staircase.__call__ (eq. 13, right-continuous)
            return np.where(np.isnan(u), np.nan, out) if np.isnan(u).any() else out
        if self.kind == "tanh":
            return self.amplitude * np.tanh(u / self.width)
        return np.asarray(self.fn(u), dtype=float)

    __call__ = forward

    def surrogate(self, u):
        """The backward-pass derivative g(u) (module docstring)."""
        u = np.asarray(u, dtype=float)
        if self.kind in ("identity", "staircase"):
            g = (np.abs(u) <= self.clip).astype(float)
            return np.where(np.isnan(u), np.nan, g) if np.isnan(u).any() else g
        if self.kind == "tanh":
            t = np.tanh(u / self.width)
            return (self.amplitude / self.width) * (1.0 - t * t)
        return np.asarray(self.dfn(u), dtype=float)

    def saturation(self):
        """(psi(-inf), psi(+inf)): the values of weights frozen outside the clip range (staircases)."""
        if self.kind == "staircase":
            return float(self.levels[0]), float(self.levels[-1])
        if self.kind == "tanh":
            return -self.amplitude, self.amplitude
        raise ValueError(f"psi={self.name} has no finite saturation values")

    def pieces(self):
        """(breakpoints, psi on each piece, g on each piece) for a piecewise-constant psi and surrogate
        (the stationary state of spec §5.2 needs them); ValueError naming psi otherwise."""
        return stationary_pieces(self)

    def key(self):
        lv = None if self.levels is None else tuple(self.levels.tolist())
        th = None if self.thresholds is None else tuple(self.thresholds.tolist())
        return (self.kind, self.name, lv, th, self.clip, self.amplitude, self.width, id(self.fn), id(self.dfn))

    def __eq__(self, other):
        return isinstance(other, Map) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return f"Map({self.name})"


def stationary_pieces(psi):
    """Pieces of a piecewise-constant psi with its surrogate for the stationary state (spec §5.2).

    Returns ``(breaks, level, g)``: sorted breakpoints (the thresholds of psi and +-clip when clip is
    finite) and, on each of the len(breaks) + 1 open pieces between them, the value of psi and of g.
    ValueError naming ``psi`` if psi is not piecewise constant (identity, tanh, callables): the
    closed-form stationary density needs A affine and B constant on each piece.
    """
    if not isinstance(psi, Map):
        raise ValueError(f"psi must be a qmf_sym.ste.maps.Map, got {type(psi).__name__}")
    if not psi.piecewise_constant:
        raise ValueError(f"psi must be piecewise constant (a staircase, sign or quantizer) for the stationary "
                         f"state of spec §5.2, got psi={psi.name}")
    br = list(psi.thresholds)
    if math.isfinite(psi.clip):
        br += [-psi.clip, psi.clip]
    br = np.unique(np.asarray(br, dtype=float))
    lo = np.concatenate([[-np.inf], br])
    hi = np.concatenate([br, [np.inf]])
    mid = np.where(np.isfinite(lo) & np.isfinite(hi), 0.5 * (lo + hi), np.where(np.isfinite(lo), lo + 1.0, hi - 1.0))
    return br, psi.forward(mid), psi.surrogate(mid)


def _map_of(head, vals, b, omega, kind, ste, name, args):
    """The :class:`Map` of a parsed ``named_map`` spec, or None when ``head``/``vals`` name none."""
    if head == "identity" and not vals:
        return Map.identity()
    if head == "tanh" and len(vals) <= 2:
        return Map.tanh(*vals)
    if head == "sign" and len(vals) <= 1:
        return Map.sign(*vals, ste=ste)
    if head == "uniform" and 1 <= len(vals) <= 2:
        from ..activations import Staircase

        if not (math.isfinite(vals[0]) and vals[0] == int(vals[0])):
            raise ValueError(f"{name}: uniform:N needs an integer N >= 2, got {args!r}")
        return Map.staircase(Staircase.uniform(int(vals[0]), *vals[1:]), ste=ste, clip=1.0)
    if head == "quant" and not vals:
        return Map.identity() if b is None else Map.quantizer(b, omega, kind, ste)
    return None


def named_map(spec, b=None, omega=1.0, kind="endpoints", ste="clipped", name="psi"):
    """A :class:`Map` from a CLI name: ``identity``, ``tanh[:A[,W]]`` (A tanh(u/W)), ``sign[:S]``,
    ``uniform:N[,D]`` (the N-level Staircase.uniform with spacing D, clipped at 1), or ``quant`` (the
    quantizer of --b/--omega/--kind; b=None gives identity).  ValueError naming ``name`` otherwise."""
    V.label("name", name)
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"{name} must be one of {', '.join(MAP_NAMES)} (optionally NAME:ARGS), got {spec!r}")
    head, _, args = spec.partition(":")
    try:
        vals = [float(a) for a in args.split(",")] if args else []
    except ValueError:
        raise ValueError(f"{name}: arguments of {head!r} must be numbers, got {args!r}") from None
    try:  # the map's own checks (finite amplitude, N >= 2 ...), reported under the label ``name``
        m = _map_of(head, vals, b, omega, kind, ste, name, args)
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(name) else f"{name}: {spec!r}: {msg}") from None
    if m is not None:
        return m
    raise ValueError(f"{name} must be one of identity, tanh[:A[,W]], sign[:S], uniform:N[,D], quant; got {spec!r}")


# ============================================================================ Gaussian moments
def _tanh_integrands(a, c, mp):
    if mp:
        import mpmath

        return (lambda z: z * a * mpmath.tanh(z / c) * mpmath.npdf(z),
                lambda z: (a * mpmath.tanh(z / c)) ** 2 * mpmath.npdf(z))
    return (lambda z: z * a * math.tanh(z / c) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi),
            lambda z: (a * math.tanh(z / c)) ** 2 * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))


def _tanh_f64_one(a, c):
    from scipy.integrate import quad

    fk, fs = _tanh_integrands(a, c, False)
    pts = {0.0, min(c, 40.0), 4.0, 8.0, 40.0}
    if c < 0.1:  # tanh(z/c) turns on within ~20 c: break points there too (24 % off in 1 - E tanh^2 at c = 1e-8)
        pts |= {j * c for j in (2.0, 4.0, 8.0, 16.0, 32.0)}
    pts = sorted(pts)
    k = 2.0 * sum(quad(fk, lo, hi, epsabs=1e-17, epsrel=1e-13, limit=200)[0] for lo, hi in zip(pts, pts[1:]))
    s = 2.0 * sum(quad(fs, lo, hi, epsabs=1e-17, epsrel=1e-13, limit=200)[0] for lo, hi in zip(pts, pts[1:]))
    return k, s


def _tanh_f64(amplitude, width):
    a, c = np.broadcast_arrays(np.asarray(amplitude, float), np.asarray(width, float))

    def one(x, y):
        if x <= 1e100:
            return _tanh_f64_one(x, y)
        # a huge amplitude: kappa = a kappa_1, sigma^2 = a^2 sigma_1^2 (the integrands with a^2 = inf gave NaN)
        k1, s1 = _tanh_f64_one(1.0, y)
        with np.errstate(over="ignore"):
            return x * k1, (x * s1) * x

    out = np.array([one(x, y) for x, y in zip(a.ravel(), c.ravel())]).reshape(a.shape + (2,))
    if out.ndim == 1:
        return float(out[0]), float(out[1])
    return out[..., 0], out[..., 1]


def _mp_quad_certified(f, pts):
    """mpmath.quad with its error estimate checked against the working precision (ValueError if not met)."""
    import mpmath

    val, err = mpmath.quad(f, pts, error=True, maxdegree=10)
    if not err <= abs(val) * mpmath.mpf(10) ** (-(mpmath.mp.dps - 4)) + mpmath.mpf(10) ** (-mpmath.mp.dps):
        raise ValueError(f"quadrature did not reach the requested digits (error estimate {mpmath.nstr(err, 3)})")
    return val


def _tanh_mp(amplitude, width):
    import mpmath

    a, c = mpmath.mpf(amplitude), mpmath.mpf(width)
    fk, fs = _tanh_integrands(a, c, True)
    pts = [0, c / 2, c, 2 * c, 4, 8, 16, mpmath.inf]
    pts = sorted(set(pts), key=lambda x: float(x))
    return 2 * _mp_quad_certified(fk, pts), 2 * _mp_quad_certified(fs, pts)


def _tanh_oracle(amplitude, width):
    """Independent route: Stein, kappa = (a/c) E sech^2(z/c); sigma^2 = a^2 (1 - E sech^2(z/c)) --
    one integral, summed over the whole line."""
    import mpmath

    a, c = mpmath.mpf(amplitude), mpmath.mpf(width)
    e = mpmath.quad(lambda z: mpmath.sech(z / c) ** 2 * mpmath.npdf(z), [-mpmath.inf, -4, 0, 4, mpmath.inf])
    return a / c * e, a * a * (1 - e)


def _check_tanh(amplitude, width):
    for nm, x in (("amplitude", amplitude), ("width", width)):
        if isinstance(x, (bool, np.bool_)):
            raise ValueError(f"{nm} must be a positive real number, got {x!r}")
        V.positive(nm, x)
        V.finite(nm, x)
    return (amplitude, width), {}


tanh_moments = ClosedForm(
    "qmf_sym.ste.maps.tanh_moments", "paper 2, spec §4.1 (kappa, sigma_phi^2 of phi = A tanh(z/W))",
    f64=_tanh_f64, mp=_tanh_mp, check=_check_tanh, oracle=_tanh_oracle,
    cases=lambda: [((1.0, 1.0), {}), ((2.0, 0.25), {}), ((0.5, 5.0), {}), ((1.0, 1e-3), {})],
    rtol=1e-12, atol=1e-15, signature=lambda amplitude, width, dps=None: None,
    doc="""(E[z A tanh(z/W)], E[(A tanh(z/W))^2]) for z ~ N(0,1) (spec §4.1 for phi = tanh): no closed
    form; float64 by adaptive quadrature on [0, 40] (rel. 1e-14), ``dps`` by mpmath quadrature whose
    error estimate is checked against the requested digits (ValueError if not met).""")


def _staircase_moments(m, dps):
    """Stein: kappa = sum_i h_i n(g_i); sigma^2 = E phi^2 (qmf_sym.maps.post_activation_moments)."""
    from .. import maps as M

    st = m.exact
    if dps is None:
        kappa = float(np.sum(np.diff(m.levels) * G.pdf.f64(m.thresholds)))
        return kappa, float(M.post_activation_moments(st, 1.0)[1])
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        base, g, h = st.mp_params()
        kappa = sum(hi * G.pdf.mp(x) for hi, x in zip(h, g))
    s2 = M.post_activation_moments(st, 1, dps=dps)[1]
    with mpmath.workdps(dps):
        return +kappa, +s2


def _callable_moments(m, dps):
    if dps is None:
        from scipy.integrate import quad

        n = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
        f = lambda z: float(np.asarray(m.fn(np.array([z])), dtype=float)[0])  # noqa: E731
        pts = [-40.0, -8.0, -4.0, -1.0, 0.0, 1.0, 4.0, 8.0, 40.0]
        k = sum(quad(lambda z: z * f(z) * n(z), lo, hi, limit=200)[0] for lo, hi in zip(pts, pts[1:]))
        s = sum(quad(lambda z: f(z) ** 2 * n(z), lo, hi, limit=200)[0] for lo, hi in zip(pts, pts[1:]))
        return k, s
    import mpmath

    with mpmath.workdps(V.guard_digits(dps)):
        try:
            m.fn(mpmath.mpf(0.5))
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"dps needs a callable map that accepts mpmath numbers ({m.name}: {exc})") from exc
        pts = [-mpmath.inf, -4, 0, 4, mpmath.inf]
        k = _mp_quad_certified(lambda z: z * m.fn(z) * mpmath.npdf(z), pts)
        s = _mp_quad_certified(lambda z: m.fn(z) ** 2 * mpmath.npdf(z), pts)
    with mpmath.workdps(dps):
        return +k, +s


def map_moments(phi, dps=None):
    """(kappa, sigma_phi^2) = (E z phi(z), E phi(z)^2), z ~ N(0,1) (spec §4.1) for any :class:`Map`.

    identity: (1, 1); uniform quantizers: :func:`qmf_sym.ste.input_moments` (the same numbers as
    before); other staircases: Stein + eq. 14 cells; tanh: :data:`tanh_moments`; callables: quadrature
    (``dps``: certified-by-estimate mpmath quadrature, the callable must accept mpmath numbers).
    """
    if not isinstance(phi, Map):
        raise ValueError(f"phi must be a qmf_sym.ste.maps.Map, got {type(phi).__name__}")
    dps = V.dps(dps)
    if phi.kind == "identity":
        if dps is None:
            return 1.0, 1.0
        import mpmath

        return mpmath.mpf(1), mpmath.mpf(1)
    if phi.kind == "staircase":
        if phi.grid is not None:
            from .quantizers import input_moments

            b, om, kind = phi.grid
            return input_moments(b, om, kind, dps=dps)
        return _staircase_moments(phi, dps)
    if phi.kind == "tanh":
        return tanh_moments(phi.amplitude, phi.width, dps=dps)
    return _callable_moments(phi, dps)


def check_input_map(phi, tol=1e-9):
    """An input map must have E phi(z) = 0 (spec §3: the cross terms i != j of eps_g vanish), else
    ValueError naming phi.  Internal, not in ``__all__``: the check ``qmf_sim.ste.params.STEParams`` runs
    on its input map."""
    if phi.kind in ("identity", "tanh"):
        return phi
    if phi.kind == "staircase":
        if phi.exact is not None and phi.exact.is_odd():
            return phi
        mean = float(np.sum(phi.levels * np.diff(np.concatenate([[0.0], G.cdf.f64(phi.thresholds), [1.0]]))))
    else:
        from scipy.integrate import quad

        f = lambda z: float(np.asarray(phi.fn(np.array([z])), dtype=float)[0]) * math.exp(-0.5 * z * z)  # noqa: E731
        mean = sum(quad(f, lo, hi, limit=200)[0] for lo, hi in ((-40, -4), (-4, 0), (0, 4), (4, 40))) / math.sqrt(2 * math.pi)
    if abs(mean) > tol:
        raise ValueError(f"phi must have E phi(z) = 0 (odd input maps; spec §3), got E phi = {mean:.3g} for {phi.name}")
    return phi


# ============================================================================ closed ODE with any phi
def map_eta_c(phi, lam=0.0, dps=None):
    """eta_c = 2 (sigma_phi^2 + lam) / sigma_phi^4 for the input map phi (spec §5.1, any odd phi)."""
    from .input_only import _evaluate

    V.nonnegative("lam", lam)
    kappa, s2 = map_moments(phi, dps=dps)
    return _evaluate("eta_c", V.dps(dps), (1, lam, 0, kappa, s2, 1, 0))


def map_steady_state(eta, phi, lam=0.0, sigma2=0.0, rho=1.0, T=0.0, dps=None):
    """eps_g* of the closed input-only ODE (spec §5.1) with input map phi; +inf where eta >= eta_c."""
    from .input_only import input_only_fixed_point

    kappa, s2 = map_moments(phi, dps=dps)
    fp = input_only_fixed_point(eta, lam, sigma2, kappa, s2, rho, T, dps=dps)
    if dps is None:
        e = np.where(fp.stable, np.asarray(fp.eps_g, dtype=float), np.inf)
        return float(e) if e.ndim == 0 else e
    import mpmath

    return fp.eps_g if fp.stable else mpmath.inf


register_equation("qmf_sym.ste.maps.map_moments", "paper 2, spec §4.1 (kappa, sigma_phi^2 for any input map)",
                  "identity / staircase closed forms, tanh quadrature ClosedForm, callable quadrature", faces=("f64", "mp"))
register_equation("qmf_sym.ste.maps.map_eta_c", "paper 2, spec §5.1 (eta_c for any odd input map)", "", faces=("f64", "mp"))
register_equation("qmf_sym.ste.maps.map_steady_state", "paper 2, spec §5.1 (eps_g* for any odd input map)", "",
                  faces=("f64", "mp"))
