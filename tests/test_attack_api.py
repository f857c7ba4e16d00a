"""scripts/attack_api.py: the sweep of bad values over the public API (at least 97 % must pass).

The default suite runs a fast subset (the analysis helpers and the quantizer
laws); the whole package is the slow test.  Each case is a call with one argument replaced by NaN,
+-inf, 0, -1, True, None, "x", 1+2j, [], 1e-300 (and 10**12 for sizes), the others valid; it passes
when it ends in a ValueError naming that argument or in a finite answer for a valid extreme."""
import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "attack_api.py"


def _attack_module():
    spec = importlib.util.spec_from_file_location("attack_api", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


FAST = ("qmf_sim.netprop.decay_layer", "qmf_sim.netprop.circulant_profile", "qmf_sim.sweep.boundary_depths",
        "qmf_sim.sweep.fit_boundary_constant", "qmf_sim.sweep.grid_table", "qmf_sim.data.standardize",
        "qmf_sym.quantization.hui_neuhoff", "qmf_sym.quantization.panter_dite", "qmf_sym.quantization.lloyd_max",
        "qmf_sym.ste.input_only.input_only_eps_g", "qmf_sym.ste.input_only.stability_boundary",
        "qmf_sym.spacing.fits", "qmf_sym.maps.iterate")


def test_attack_fast_subset():
    A = _attack_module()
    r = A.attack(FAST, timeout=20)
    assert r["functions"] >= 12 and r["cases"] > 300
    assert not r["novalid"], r["novalid"]  # every valid call of the table works
    assert r["rate"] >= 97.0, r["fails"]


def test_classifier():
    A = _attack_module()
    tg = dict(A.targets(("qmf_sim.netprop.decay_layer",)))
    obj = tg["qmf_sim.netprop.decay_layer"]
    ok = {"status": "returned", "nan": False}
    assert A.classify("q", obj, "target", "nan", {"status": "ValueError", "detail": "target must be finite"}, ok)[0]
    assert not A.classify("q", obj, "target", "nan", {"status": "ValueError", "detail": "values must be"}, ok)[0]
    assert not A.classify("q", obj, "target", "0", {"status": "TypeError", "detail": ""}, ok)[0]
    assert not A.classify("q", obj, "target", "0", {"status": "returned", "nan": True}, ok)[0]
    assert not A.classify("q", obj, "target", "nan", {"status": "returned", "nan": False}, ok)[0]  # NaN accepted
    assert A.classify("q", obj, "target", "0", {"status": "returned", "nan": False}, ok)[0]  # a valid extreme
    assert not A.classify("q", obj, "target", "0", {"status": "timeout"}, ok)[0]


@pytest.mark.slow
def test_attack_whole_api():
    A = _attack_module()
    r = A.attack((), timeout=10)
    assert r["rate"] >= 97.0, (r["rate"], r["fails"][:50])
