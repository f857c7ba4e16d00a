"""Tests of the qmf_sym.ste package as a whole: every public name of the former module, and bad
input across its modules (ValueError naming the parameter)."""
import pytest

from qmf_sym import ste


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call,name", [
    (lambda: ste.quantize(0.3, 0, 1.0), "b"),
    (lambda: ste.quantize(0.3, 1, 1.0, "midtread"), "b"),
    (lambda: ste.quantize(0.3, 2.5, 1.0), "b"),
    (lambda: ste.quantize(0.3, 2, 0.0), "omega"),
    (lambda: ste.quantize(0.3, 2, -1.0), "omega"),
    (lambda: ste.quantize(0.3, 2, 1.0, "foo"), "kind"),
    (lambda: ste.quantizer_grid(2, 1.0, "foo"), "kind"),
    (lambda: ste.ste_grad(0.3, 1.0, "foo"), "ste"),
    (lambda: ste.ste_grad(0.3, 0.0), "omega"),
    (lambda: ste.input_moments(0, 1.0), "b"),
    (lambda: ste.input_moments(2, 1.0, dps=0), "dps"),
    (lambda: ste.steady_state_error(0.0, 2, 1.0), "eta"),
    (lambda: ste.steady_state_error(-0.1, 2, 1.0), "eta"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, lam=-0.1), "lam"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, sigma2=-0.1), "sigma2"),
    (lambda: ste.stability_boundary(2, 1.0, lam=-1), "lam"),
    (lambda: ste.solve_input_only_ode(1.0, 0.0, 0.0, 0.0, 0.7, 0.5), "eta"),
    (lambda: ste.input_only_fixed_point(0.5, -1.0, 0.0, 0.7, 0.5), "lam"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, ste="foo"), "ste"),
    (lambda: ste.stationary_state(0.0, 1.0, 3, 1.0), "eta"),
    (lambda: ste.stationary_density(1.0, 0.04, 1.0, 0, 1.0), "b"),
    (lambda: ste.fig5_curves(b_x=(0,)), "b_x"),
    # issue 8 §2 item 10: bools are not integers, NaN is not a number, tolerances are validated
    (lambda: ste.quantize(0.3, True, 1.0), "b"),
    (lambda: ste.quantizer_grid(True, 1.0), "b"),
    (lambda: ste.input_moments(True, 1.0), "b"),
    (lambda: ste.input_moments(2, 1.0, dps=True), "dps"),
    (lambda: ste.steady_state_error(0.5, 2, 1.0, dps=True), "dps"),
    (lambda: ste.quantize(True, 2, 1.0), "u"),
    (lambda: ste.quantize(0.3, 2, float("nan")), "omega"),
    (lambda: ste.steady_state_error(float("nan"), 2, 1.0), "eta"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=0.0), "xtol"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=float("nan")), "xtol"),
    (lambda: ste.stationary_state(0.04, 1.0, 3, 1.0, xtol=True), "xtol"),
])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_public_names_kept():
    """Every public name of the former qmf_sym.ste module is still importable from the package."""
    names = ["KINDS", "STES", "B_MAX", "quantizer_grid", "quantize", "ste_grad", "quantizer_staircase",
             "input_moments", "input_only_symbolic", "input_only_eps_g", "input_only_ode_rhs",
             "solve_input_only_ode", "FixedPoint", "input_only_fixed_point", "stability_boundary",
             "steady_state_error", "baseline_deviation", "fig5_curves", "stationary_density",
             "StationaryState", "stationary_state"]
    assert all(hasattr(ste, n) for n in names)
