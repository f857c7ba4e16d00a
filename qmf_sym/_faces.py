"""One mechanism for the three faces of every closed form, and the registry of equations.

A :class:`ClosedForm` bundles

* ``name`` (its public dotted name, e.g. ``"qmf_sym.gaussian.cdf"``) and ``equation`` (the paper and
  equation number it implements, e.g. ``"paper 1, eq. 12"``);
* ``f64``: the float64 face, vectorised over numpy arrays;
* ``mp``: the mpmath face, computed at the *current* mpmath precision;
* optionally ``sympy`` (a face returning a sympy number/expression where a derivation exists) and
  ``oracle`` (an independent mpmath evaluation of the defining integral or sum);
* ``check``: the validation of the arguments, run once at the public boundary;
* ``signature``: optionally a stub ``def f(x, C=None, dps=None, deficit=None): ...`` with the public
  signature; calls are then bound to it (so ``dps`` may also be passed positionally, as before) and
  the faces receive the remaining arguments with the stub's names (positional up to ``dps``,
  keywords after it);
* ``cases``: a callable returning test arguments spanning many magnitudes, for the faces harness
  (``tests/test_faces.py``), with the tolerances ``rtol``/``atol`` the float64 face is held to;
* ``cancel_scale``: 0 (default) when the ``dps`` face is accurate to ``dps`` digits *relative* at
  every argument; else the size of the terms that cancel where the form's value is ~0 (e.g.
  E phi = A + sum_i h_i Phi(-g~_i) = 0 exactly for a centred staircase): the ``dps`` face is then
  accurate to ``10^-dps * (|value| + cancel_scale)``, and the harness holds it to that (a tuple:
  one scale per element of a tuple-valued form).

Calling it dispatches (one rule for the whole package):

``form(*args, dps=None, **kw)``
    ``check(*args, **kw)`` once, then ``dps=None`` -> ``f64(*args, **kw)``;
    ``dps=k`` (an integer in [1, ``_validate.DPS_MAX``]) -> ``mp(*args, **kw)`` inside
    ``mpmath.workdps(guard_digits(k))``.

**Return precision rule.**  The ``dps`` face returns mpmath numbers rounded to the *guard* precision
``guard_digits(k)`` (unary ``+`` inside the working block; tuples element-wise).  An mpf carries its
own mantissa, so the caller sees at least ``k`` correct digits whatever the global ``mpmath.mp.dps``;
it is rounded to the caller's precision by the caller's first arithmetic operation.

**Raw faces for internal kernels.**  Code inside ``qmf_sym`` that has already validated its inputs
calls ``form.f64(x)`` (float arrays in, float arrays out, no checks, NaN propagates) or ``form.mp(x)``
(at whatever mpmath precision the caller set), e.g. ``gaussian.cdf.f64(-g / s)``.

**Registering a closed form** (any module of ``qmf_sym``, e.g. ``spacing``, ``ste``)::

    from ._faces import ClosedForm
    chi_uniform = ClosedForm(
        "qmf_sym.spacing.chi_uniform", "paper 1, eq. 17",
        f64=_chi_uniform_f64, mp=_chi_uniform_mp, check=_check_chi_uniform,
        oracle=_chi_uniform_by_quadrature,              # optional, mpmath, independent route
        cases=lambda: [((3, 0.5), {}), ((101, 1e-3), {})],   # (args, kwargs) pairs
        rtol=1e-13, doc=__doc_string__)

Constructing it registers it (by name; constructing again under the same name, e.g. on module
reload, replaces the entry).  :func:`registry` returns every registered form after importing all
``qmf_sym`` modules; :func:`equation_table` renders the README's "Where each equation lives" table.
Solvers and tables that are not closed forms (fixed points, optima) can be listed with
:func:`register_equation` so that the table is complete.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

from . import _validate as V

__all__ = ["ClosedForm", "Equation", "register_equation", "registry", "equations", "equation_table",
           "round_mp"]

_REGISTRY: dict = {}
_EQUATIONS: dict = {}


def round_mp(value):
    """Apply the return-precision rule: unary ``+`` on mpmath numbers (element-wise on tuples)."""
    if isinstance(value, tuple):
        return tuple(round_mp(v) for v in value)
    if type(value).__module__.startswith("mpmath"):
        return +value
    return value


class ClosedForm:
    """A closed form with its float64 and mpmath faces (see the module docstring)."""

    def __init__(self, name: str, equation: str, *, f64: Callable, mp: Callable,
                 check: Callable | None = None, sympy: Callable | None = None,
                 oracle: Callable | None = None, cases: Callable | None = None,
                 rtol: float = 1e-13, atol: float = 0.0, oracle_dps: int = 30, doc: str | None = None,
                 signature: Callable | None = None, cancel_scale=0.0):
        self.name = name
        self.equation = equation
        self.f64 = f64
        self.mp = mp
        self.check = check
        self.sympy = sympy
        self.oracle = oracle
        self.cases = cases
        self.rtol = rtol
        self.atol = atol
        self.oracle_dps = oracle_dps
        self.cancel_scale = cancel_scale
        self.__name__ = name.rsplit(".", 1)[-1]
        self.__qualname__ = self.__name__
        self.__module__ = name.rsplit(".", 1)[0]
        self.__doc__ = doc if doc is not None else (f64.__doc__ or "")
        self._sig = None
        if signature is not None:
            self._sig = inspect.signature(signature)
            self.__signature__ = self._sig
        _REGISTRY[name] = self

    def __call__(self, *args, **kwargs):
        if self._sig is not None:
            b = self._sig.bind(*args, **kwargs)
            dps = b.arguments.pop("dps", None)
            args, kwargs = b.args, b.kwargs
        else:
            dps = kwargs.pop("dps", None)
        d = V.dps(dps)
        if self.check is not None:
            args, kwargs = self.check(*args, **kwargs)
        if d is None:
            return self.f64(*args, **kwargs)
        return self.at_dps(d, *args, **kwargs)

    def at_dps(self, d, *args, **kwargs):
        """The mpmath face at ``d`` digits (guard digits added, no validation), rounded by the rule."""
        import mpmath

        with mpmath.workdps(V.guard_digits(d)):
            return round_mp(self.mp(*args, **kwargs))

    def faces(self):
        """The names of the faces this form has."""
        return ["f64", "mp"] + [n for n in ("sympy", "oracle") if getattr(self, n) is not None]

    def __repr__(self):
        return f"<ClosedForm {self.name} ({self.equation}); faces: {', '.join(self.faces())}>"


@dataclass(frozen=True)
class Equation:
    """A paper equation implemented by something other than a :class:`ClosedForm` (a solver, a table)."""

    name: str
    equation: str
    summary: str = ""
    faces: tuple = field(default=("f64",))


def register_equation(name: str, equation: str, summary: str = "", faces=("f64",)):
    """List a non-closed-form implementation (e.g. a fixed-point solver) in the equation table."""
    _EQUATIONS[name] = Equation(name, equation, summary, tuple(faces))
    return _EQUATIONS[name]


def _import_all():
    import qmf_sym

    for info in pkgutil.walk_packages(qmf_sym.__path__, "qmf_sym."):
        if info.name.rsplit(".", 1)[-1].startswith("_") and not info.ispkg:
            continue
        importlib.import_module(info.name)


def registry(import_all: bool = True) -> dict:
    """Every registered :class:`ClosedForm`, by name (imports every ``qmf_sym`` module first)."""
    if import_all:
        _import_all()
    return dict(sorted(_REGISTRY.items()))


def equations(import_all: bool = True) -> dict:
    """Every registered :class:`Equation` (non-closed-form implementations), by name."""
    if import_all:
        _import_all()
    return dict(sorted(_EQUATIONS.items()))


def equation_table() -> str:
    """The README's "Where each equation lives" table, rendered from the registry (markdown)."""
    rows = [(c.equation, f"`{c.name}`", ", ".join(c.faces())) for c in registry().values()]
    rows += [(e.equation, f"`{e.name}`" + (f" ({e.summary})" if e.summary else ""), ", ".join(e.faces))
             for e in equations(import_all=False).values()]

    def key(r):
        import re

        m = re.match(r"paper (\d+)[^0-9]*(\d+)?", r[0])
        return (int(m.group(1)) if m else 99, int(m.group(2)) if m and m.group(2) else 999, r[0], r[1])

    lines = ["| Equation | Implementation | Faces |", "|---|---|---|"]
    lines += [f"| {eq} | {impl} | {faces} |" for eq, impl, faces in sorted(rows, key=key)]
    return "\n".join(lines) + "\n"
