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


# the maps' mpmath faces and oracles (2-D quadratures) take ~0.5 s a case: run them in the slow suite
ALL = [pytest.param(*[c], marks=pytest.mark.slow) if c[0].name.startswith("qmf_sym.maps.") else c
       for f in FORMS for c in _cases(f)]


def _id(c):
    form, args, kw = c
    a = ", ".join(repr(x) if not hasattr(x, "N") else f"N{x.N}" for x in args)
    return f"{form.name.replace('qmf_sym.', '')}({a}{', ' if kw else ''}{', '.join(f'{k}={v!r}' for k, v in kw.items())})"


def _flat(v):
    return list(v) if isinstance(v, tuple) else [v]


def _close_mp(a, b, digits):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    if mpmath.isinf(a) or mpmath.isinf(b):
        return a == b
    return abs(a - b) <= mpmath.mpf(10) ** (-digits) * max(abs(a), abs(b)) + mpmath.mpf(10) ** (-10 ** 6)


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
        for a, m, h in zip(v64, vmp, vhi):
            assert isinstance(m, (mpmath.mpf, type(mpmath.inf))) or isinstance(m, mpmath.mpf)
            with mpmath.workdps(D + 20):
                assert _close_mp(m, h, D - 1), f"dps={D} vs dps={D + 15}: {m} vs {h}"
                a = float(np.asarray(a))
                if math.isinf(a) or mpmath.isinf(h):
                    assert a == h
                else:
                    assert abs(mpmath.mpf(a) - h) <= form.rtol * abs(h) + form.atol, f"float64 {a!r} vs {h}"
        if form.oracle is not None:
            with mpmath.workdps(form.oracle_dps + 10):
                ref = _flat(form.oracle(*args, **kw))
                for m, r in zip(vmp, ref):
                    assert _close_mp(m, r, min(D, form.oracle_dps) - 2), f"oracle {r} vs dps face {m}"
        if form.sympy is not None:
            ref = _flat(form.sympy(*args, **kw))
            with mpmath.workdps(D + 10):
                for m, r in zip(vmp, ref):
                    assert _close_mp(m, mpmath.mpf(str(r.evalf(D + 10))), D - 1), f"sympy {r} vs {m}"
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
