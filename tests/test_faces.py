"""One harness for every registered closed form (qmf_sym._faces.registry()), in the spirit of
SciPy's special/tests/test_mpmath.py: each form's float64 face against its mpmath face, its mpmath
face at two precisions, and against its independent oracle (the defining integral or sum) and its
sympy face, over the arguments its ``cases`` give (chosen to span many magnitudes).  Forms that
other modules register later are picked up automatically (the registry imports every qmf_sym
module first).  mpmath's global precision is restored in ``finally`` whatever happens.

Tolerances: float64 vs mpmath |f64 - mp| <= rtol |mp| + atol with the form's own (rtol, atol),
which its docstring justifies (e.g. Owen's T has absolute accuracy ~1e-16; pdf/cdf a few ulp
relative).  mpmath faces: the dps=D face against the dps=D+15 face and the oracle to 10^-(D-2)
relative (two digits below what the dps contract promises, for the oracle's own quadrature error).
These are deterministic comparisons; no randomness is involved.
"""
import math

import mpmath
import numpy as np
import pytest

from qmf_sym import _faces

REGISTRY = _faces.registry()
FORMS = [f for f in REGISTRY.values() if f.cases is not None]
D = 25  # digits of the dps face under test


def _cases(form):
    return [(form, args, kw) for args, kw in form.cases()]


# The full sweep (~700 cases, ~11 min on 2 busy cores) is the slow suite.  The default suite keeps a
# representative subset: every registered form is visited, with its first and last case (the cases
# lists run from ordinary arguments to the extreme magnitudes), or only its first case for the forms
# whose mpmath face and oracle are 2-D quadratures over a staircase (maps, rounding: ~0.5-10 s a
# case).  Which cases are default is a rule on the index, so forms registered later are covered too.
_QUADRATURE_2D = ("qmf_sym.maps.", "qmf_sym.rounding.")


def _default_indices(form, n):
    if n == 0:
        return set()
    return {0} if form.name.startswith(_QUADRATURE_2D) else {0, n - 1}


ALL = []
for _f in FORMS:
    _cs = _cases(_f)
    _keep = _default_indices(_f, len(_cs))
    ALL += [c if i in _keep else pytest.param(*[c], marks=pytest.mark.slow) for i, c in enumerate(_cs)]


def _id(c):
    form, args, kw = c
    a = ", ".join(repr(x) if not hasattr(x, "N") else f"N{x.N}" for x in args)
    return f"{form.name.replace('qmf_sym.', '')}({a}{', ' if kw else ''}{', '.join(f'{k}={v!r}' for k, v in kw.items())})"


def _flat(v):
    return list(v) if isinstance(v, tuple) else [v]


def _close_mp(a, b, digits, floor=0):
    """|a - b| <= 10^-digits (max(|a|, |b|) + floor): relative, or absolute at the scale ``floor`` of
    the terms that cancel where a form is ~0 (its ``cancel_scale``; 0 for most forms)."""
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= mpmath.mpf(10) ** (-digits) * (max(abs(a), abs(b)) + floor) + mpmath.mpf(10) ** (-10 ** 6)


def test_default_subset_visits_every_form():
    """The fast default subset covers every registered form (the rule above, checked)."""
    default = {c[0].name for c in ALL if not hasattr(c, "marks")}
    assert default == {f.name for f in FORMS}


def test_registry_is_populated_and_named():
    assert len(REGISTRY) >= 20
    for name, form in REGISTRY.items():
        assert name == form.name and name.startswith("qmf_sym.")
        assert form.equation and form.__doc__, name
        assert form.cases is not None, f"{name} registers no harness cases"


def test_equation_table_lists_every_form():
    table = _faces.equation_table()
    for name in REGISTRY:
        assert f"`{name}`" in table
    assert table.startswith("| Equation | Implementation | Faces |")


@pytest.mark.parametrize("case", ALL, ids=[_id(c.values[0] if hasattr(c, "values") else c) for c in ALL])
def test_faces_agree(case):
    form, args, kw = case
    old = mpmath.mp.dps
    try:
        v64 = _flat(form(*args, **kw))
        vmp = _flat(form(*args, dps=D, **kw))
        vhi = _flat(form(*args, dps=D + 15, **kw))
        assert mpmath.mp.dps == old, "a face leaked its working precision"
        floors = form.cancel_scale if isinstance(form.cancel_scale, tuple) else (form.cancel_scale,) * len(vmp)
        for a, m, h, floor in zip(v64, vmp, vhi, floors):
            assert isinstance(m, (mpmath.mpf, type(mpmath.inf))) or isinstance(m, mpmath.mpf)
            with mpmath.workdps(D + 20):
                assert _close_mp(m, h, D - 1, floor), f"dps={D} vs dps={D + 15}: {m} vs {h}"
                a = float(np.asarray(a))
                if math.isinf(a) or mpmath.isinf(h):
                    assert a == h
                else:
                    assert abs(mpmath.mpf(a) - h) <= form.rtol * abs(h) + form.atol, f"float64 {a!r} vs {h}"
        if form.oracle is not None:
            with mpmath.workdps(form.oracle_dps + 10):
                ref = _flat(form.oracle(*args, **kw))
                for m, r, floor in zip(vmp, ref, floors):
                    assert _close_mp(m, r, min(D, form.oracle_dps) - 2, floor), f"oracle {r} vs dps face {m}"
        if form.sympy is not None:
            ref = _flat(form.sympy(*args, **kw))
            with mpmath.workdps(D + 10):
                for m, r, floor in zip(vmp, ref, floors):
                    assert _close_mp(m, mpmath.mpf(str(r.evalf(D + 10))), D - 1, floor), f"sympy {r} vs {m}"
    finally:
        mpmath.mp.dps = old


def test_dps_call_restores_precision_on_error():
    form = REGISTRY["qmf_sym.gaussian.cdf"]
    old = mpmath.mp.dps
    with pytest.raises(ValueError):
        form(float("nan"), dps=30)
    assert mpmath.mp.dps == old


def test_raw_faces_do_not_validate():
    """The documented raw faces: .f64 propagates NaN (no check), the public call raises."""
    from qmf_sym import gaussian as G

    assert math.isnan(G.cdf.f64(float("nan"))) and math.isnan(G.pdf.f64(float("nan")))
    with pytest.raises(ValueError, match="x"):
        G.pdf(float("nan"))
