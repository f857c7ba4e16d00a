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


#: functions whose last failing cases were fixed (an empty list documented where it has a meaning, device=None
#: documented as the CPU, build_plan's unreadable data named): the sweep over them finds nothing
CLEAN = ("qmf_sim.ensemble.StackedMLP", "qmf_sim.ensemble.group_configs", "qmf_sim.ensemble.split_ensembles",
         "qmf_sim.experiments.trainable_depth.build_plan", "qmf_sim.nn.StackedTables", "qmf_sim.nn.round_up")


def test_attack_fixed_functions_clean():
    A = _attack_module()
    r = A.attack(CLEAN, timeout=20)
    assert r["functions"] == len(CLEAN) and not r["novalid"], r["novalid"]
    assert not r["fails"], r["fails"]


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


def test_every_public_name_is_attacked_or_skipped_with_a_reason():
    """The sweep's scope: every public name (each module's ``__all__``, or its public definitions) of both
    packages is a target or carries the reason it is not; the new areas (any activation, the continuous
    kernels, CNN / residual mean field, architectures, experiments' helpers, maps.edge_of_chaos / chi_1 /
    last_downcrossing) are targets."""
    A = _attack_module()
    rows = A.coverage()
    attacked = {q for _, _, q, fate in rows if fate is None}
    assert attacked == {q for q, _ in A.targets()}
    for want in ("qmf_sym.maps.edge_of_chaos", "qmf_sym.maps.chi_1", "qmf_sym.maps.last_downcrossing",
                 "qmf_sym.activations.Smooth", "qmf_sym.activations.arcsin_kernel", "qmf_sym.linearisation.linearise",
                 "qmf_sym.cnn.iterate_correlation", "qmf_sym.residual.layer_map", "qmf_sim.architectures.conv_weights",
                 "qmf_sim.experiments.activations.network_rates", "qmf_sim.experiments.generalization.kernels",
                 "qmf_sym._validate.size_product"):
        assert want in attacked, want
    assert all(fate for _, _, q, fate in rows if q not in attacked)
    # every target has a working valid call (none left out of the count)
    for qual, obj in A.targets():
        A.valid_kwargs(qual, obj)


def _tanh():
    from qmf_sym.activations import Tanh

    return Tanh()


def _cases():
    import numpy as np
    import torch

    from qmf_sim.experiments import activations as EA
    from qmf_sim.experiments import appendices as AP
    from qmf_sim.experiments import generalization as G
    from qmf_sim.experiments import spacing as SPX
    from qmf_sim.experiments import ste_plateau as SP
    from qmf_sim.experiments import ste_uses as SU
    from qmf_sim.experiments import trainable_depth as TD
    from qmf_sim.ste import STEParams
    from qmf_sim.ste.particles import solve_particles
    from qmf_sim.ste.theory import closed_curve
    from qmf_sim.ste.trajectory import tau_grid
    from qmf_sym import _validate as V
    from qmf_sym import cnn, init, maps, ntk, phase
    from qmf_sym.activations import Staircase, as_activation, as_staircase, to_mpf_
    from qmf_sym.proof import available
    from qmf_sym.ste.maps import named_map

    S = Staircase.uniform(4)
    R = cnn.fixed_point_correlation(8, 0.5)
    out = [
        (lambda: tau_grid(1e-300), "tau_max"),  # named tau_min before
        (lambda: maps.depth_scale(float("nan")), "chi_value"),  # named chi before
        (lambda: init.sigma_w_opt(0), "act"), (lambda: phase.fixed_point_at_Q(-1, 1.0), "act"),  # named N before
        (lambda: as_staircase(S, name=None), "name"), (lambda: as_activation(S, name=1 + 2j), "name"),  # accepted
        (lambda: to_mpf_(float("nan")), "x"), (lambda: to_mpf_(None), "x"),  # NaN returned / TypeError
        (lambda: maps.layer_map(S, 1.0, 0.5, 1e-300), "sigma_w"),  # NaN returned (Q_next underflowed to 0)
        (lambda: maps.iterate(S, 1.0, 0.5, 1e-300, n_layers=3), "sigma_w"),  # named Q
        (lambda: ntk.ste_ntk(S, 1.0, 0.5, 1e-300, depth=2), "sigma_w"),
        (lambda: phase.bias_study(S, []), "sigma_bs"), (lambda: phase.bias_study(S, 1 + 2j), "sigma_bs"),
        (lambda: V.finite("v", np.complex128(1 + 2j)), "v"),  # numpy complex silently lost its imaginary part
        (lambda: V.size_product("w", 5), "factors"), (lambda: V.size_product(None, [("w", 8)], limit=-1), "limit"),
        (lambda: V.size_product(1 + 2j, [("w", 8)]), "name"),
        (lambda: maps.last_downcrossing(None, np.linspace(0, 1, 5)), "vmap"),  # TypeError before
        (lambda: maps.last_downcrossing(lambda q: q, 0.5), "grid"),  # IndexError before
        (lambda: cnn.iterate_correlation(S, 1.0, np.nan, 1.5, profile=cnn.filter_variance(3, 1)), "R1"),  # named R
        (lambda: cnn.mode_amplitude(R, cnn.mode_perturbation(8, 1), R_star=True), "R_star"),  # accepted a bool
        (lambda: cnn.mode_amplitude(R, "x"), "P"),
        (lambda: named_map("tanh:nan", name="argument --psi"), "argument --psi"),
        (lambda: named_map("uniform:inf"), "psi"),  # OverflowError before
        (lambda: solve_particles(tau=np.linspace(0, 1, 3), n_particles=10, keep="x"), "keep"),  # accepted
        (lambda: G.stop_depth(float("nan"), [0.1]), "depths"), (lambda: G.half_depth([1, 2], [0.1, 0.2], chance=None), "chance"),
        (lambda: G.kernels(S, 1.5, 0.0, 0.5, [1, 2.5]), "depths"),  # a generator: nothing checked before
        (lambda: G.kernels(S, 1.5, 0.0, float("nan"), [1]), "c1"),
        (lambda: TD.build_plan(preset_name=None), "preset_name"), (lambda: TD.build_plan(depths=0), "depths"),
        (lambda: TD.build_plan(sigma_levels=0), "sigma_levels"), (lambda: TD.build_plan(panels="sigma"), "panels"),
        (lambda: TD.xi_sigma_curve(float("inf"), [1.5]), "levels"), (lambda: TD.xi_sigma_curve(4, None), "sigma_ws"),
        (lambda: TD.xi_levels_curve(4), "levels"),
        (lambda: EA.levels_to_match(None), "xi_target"), (lambda: EA.levels_to_match(10.0, n_max=-1), "n_max"),
        (lambda: EA.network_rates(_tanh(), 1.5, width=10 ** 12, depth=3), "width"),  # allocation attempted
        (lambda: EA.network_rates(_tanh(), 1.5, width=64, depth=3, seeds=0), "seeds"),
        (lambda: EA.network_rates(_tanh(), 1.5, width=64, depth=3, eps=1e-300), "eps"),  # NaN returned
        (lambda: EA.network_rates(_tanh(), 1e-300, width=64, depth=3), "sigma_w"),  # ZeroDivisionError
        (lambda: AP.stochastic_round(0.5, S), "u"), (lambda: AP.stochastic_round(torch.zeros(3), S, 1), "generator"),
        (lambda: AP.sr_one_layer_statistics(S, 1.0, 0.5, 1.5, n_prev=10 ** 12), "n_prev"),  # allocation attempted
        (lambda: AP.phase_grid(S, sigma_w=1 + 2j), "sigma_w"), (lambda: AP.phase_grid(S, sigma_b="x"), "sigma_b"),
        (lambda: AP.empirical_ste_ntk(S, 1.0, 0.5, 1.5, sigma_b=None, width=8, n_in=4), "sigma_b"),
        (lambda: G.settings(quick="x"), "quick"), (lambda: G.stop_depth(1e-300, [0.1, 0.2]), "depths"),
        (lambda: SPX.table([2, 3], progress=None), "progress"),
        (lambda: SU.overshoot(None), "eps"), (lambda: SU.overshoot([]), "eps"),  # TypeError / numpy's message
        (lambda: SP.prediction("x", 1.0), "law"),  # KeyError
        (lambda: V.check_bytes("d", 8, what=None), "what"), (lambda: V.human_bytes(float("inf")), "n"),
        (lambda: V.check_bytes("argument --d", float("inf")), "argument --d"),
        (lambda: closed_curve(STEParams(), [0.0, 1.0]), "params"),
        (lambda: AP.empirical_ste_ntk(S, 1.0, 0.5, 1.5, width=8, n_in=4, seed=None), "seed"),  # an unseeded run
    ]
    if available():
        from qmf_sym.proof.uniform import taylor_models

        out += [(lambda: taylor_models(4, 0, 3, 0.01), "D0"), (lambda: taylor_models(4, 0.5, -1, 0.01), "K"),
                (lambda: taylor_models(True, 0.5, 3, 0.01), "N"), (lambda: taylor_models(4, 0.5, 3, float("nan")), "rho")]
    return out


def test_fixed_bad_inputs_are_named():
    """Each case failed the sweep before (TypeError, AttributeError, NaN returned, a ValueError naming another
    parameter, or silent acceptance); now a ValueError naming the parameter."""
    import re

    for call, name in _cases():
        with pytest.raises(ValueError, match=re.escape(name)):
            call()


def test_valid_extremes_still_answer():
    """The fixes refuse only what is wrong: taylor_models takes a plain float D0 and rho (converted exactly),
    last_downcrossing an increasing grid, the tiny-sigma_w fixed point of tanh is Q* = 0 (the ordered phase)."""
    import numpy as np

    from qmf_sym import maps
    from qmf_sym.proof import available

    assert maps.last_downcrossing(lambda q: 1.0 + 0.5 * np.sqrt(q), np.linspace(0.5, 4.0, 50)) > 1.0
    assert float(maps.fixed_point(_tanh(), 1e-300, 0.0).Q) == 0.0
    if available():
        from qmf_sym.proof.uniform import taylor_models

        assert len(taylor_models(4, 0.5, 3, 2 ** -8)) == 3


def test_resolve_names_an_unknown_part():
    # was a KeyError (TypeError for an unhashable value), unlike every other bad argument
    from qmf_sim import experiments

    for bad in ("x", None, [], 1.0):
        with pytest.raises(ValueError, match="part must be one of"):
            experiments.resolve(bad)
