#!/usr/bin/env python
"""Attack every public function and class of ``qmf_sym`` and ``qmf_sim`` with bad arguments.

For each public callable (a module's ``__all__``; a module without ``__all__``: the public functions,
classes and closed forms defined in it; subpackages recursed; the CLI, private modules and the
file-writing / experiment-running helpers skipped, see ``SKIP``) one *valid* call is built from the
table ``VALID`` below (typical calls taken from the tests), from a closed form's registered
``cases``, or from the parameter defaults.  Then each parameter in turn is replaced by each bad
value of ``BAD`` (NaN, +-inf, 0, -1, True, None, "x", 1+2j, [], 1e-300, and 10**12 for size-like
names) with the other arguments at their valid values, and the call is run in a worker process
under a timeout (SIGALRM; the worker's address space is capped so that an unchecked allocation ends
in MemoryError instead of exhausting the machine).  A case passes when

* the call raises ``ValueError`` whose message names the parameter, or
* the call returns, the substituted value can be valid (an extreme number: inf, 0, -1, 1e-300,
  10**12; None where the default is None; True where the default is a bool; [] where the default is a
  sequence) and the result holds no NaN that the valid call's result did not.

Anything else fails: TypeError, AttributeError, a ValueError naming another parameter, NaN returned,
NaN / complex / a string / a bool accepted as a number, a size of -1 or inf accepted, a timeout,
MemoryError.  The pass rate and the failing list are printed.

    python scripts/attack_api.py                    # every function (about 10-20 minutes on a core)
    python scripts/attack_api.py --only qmf_sim.netprop qmf_sym.quantization   # prefixes
    python scripts/attack_api.py --list             # what would be attacked, with the valid call
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import os
import pkgutil
import re
import signal
import subprocess
import sys
import time
import traceback
import warnings

ROOTS = ("qmf_sym", "qmf_sim")
TIMEOUT = 10.0
MEM_LIMIT = 6 * 2 ** 30  # bytes of address space for the worker

# ----------------------------------------------------------------------------------------- scope
SKIP_MODULES = (
    "qmf_sim.cli",          # attacked flag by flag by the CLI attack (tests/test_cli_errors.py)
    "qmf_sim.io",           # file writing
    "qmf_sim.report", "qmf_sim.replot", "qmf_sim.progress",
    "qmf_sym.proof._arb",
    "qmf_sym._faces",        # the ClosedForm registry machinery (every registered form is attacked where it lives)
    "qmf_sym._numbers",      # mpmath context plumbing
    "qmf_sym._maps_kernels", "qmf_sym._gaussian_univariate",  # raw kernels behind validated faces
)
#: private modules whose public names are attacked all the same (the ones the API reaches users through:
#: the continuous-activation kernels, public in qmf_sym.activations; the one memory budget); None: all
PRIVATE_ATTACKED = {"qmf_sym._continuous": None,
                    "qmf_sym._validate": ("human_bytes", "check_bytes", "size_product", "memory_budget")}
#: experiment drivers (qmf_sim.experiments.*): they write files and figures or run a whole figure for
#: minutes; their numeric helpers (fixed_point_report, levels_to_match, network_rates, kernels, ...) are
#: attacked.  A name matching this is a driver.
DRIVER = re.compile(r"^(run|run_\w+|reproduce(_\w+)?|plot(_\w+)?|write(_\w+)?|read_\w+|rows_from_csv|train|"
                    r"fig\d|closure_errors|compute|propagation|trainable_depth|trainable_depth_plan|analyse(_\w+)?|"
                    r"fit_exponents|kernel_errors|network_errors(_many)?|large_n_tables|stochastic_rounding_table|"
                    r"optimal_activation_table|bias_table|levels_table|xi_curves|edge_of_chaos_rows|"
                    r"linearisation_rows|claim_scan|format_grid|run_closure_errors|fig1_summary|"
                    r"finite_width_summary|plan)$")
SKIP_NAMES = {
    # file / network / device I/O, long-running drivers, configuration of the process
    "qmf_sim.data.read_idx", "qmf_sim.data.write_idx", "qmf_sim.data.load_mnist_arrays",
    "qmf_sim.data.load_mnist", "qmf_sim.data.resolve_data_dir", "qmf_sim.data.cache_dir",
    "qmf_sim.data.mnist_cache_dir", "qmf_sim.data.verify_mnist_dir", "qmf_sim.data.fetch_mnist",
    "qmf_sim.data.ensure_mnist", "qmf_sim.data.load_dataset", "qmf_sim.data.verify_mnist_bytes",
    "qmf_sim.sweep.load_results", "qmf_sim.sweep.load_results_locked", "qmf_sim.sweep.append_record",
    "qmf_sim.sweep.pending",
    "qmf_sim.sweep.connect", "qmf_sim.sweep.run_sweep",
    "qmf_sim.training.run_training", "qmf_sim.ensemble.train_ensemble",
    # plumbing of run_training / train_ensemble (a loaded dataset, a trained model's checkpoints)
    "qmf_sim.training.device_data", "qmf_sim.training.make_record",
    "qmf_sim.nn.default_device", "qmf_sim.ste.torch_micro.resolve_device",
    "qmf_sym._faces.registry", "qmf_sym._faces.equations", "qmf_sym._faces.equation_table",
    "qmf_sym._faces.register_equation", "qmf_sym._faces.ClosedForm", "qmf_sym._faces.Equation",
    "qmf_sym.proof.available",
    # raw kernels (docs/CONVENTIONS.md: code that has validated its inputs calls them; no checks, NaN
    # propagates): the eq. 17 sums and moments shared by the float64, mpmath and proof faces
    "qmf_sym.spacing.uniform.eq17_sums", "qmf_sym.spacing.uniform.chi_derivatives_from_sums",
    "qmf_sym.spacing.uniform.moments_f64", "qmf_sym.spacing.uniform.moments_mp",
    "qmf_sym.spacing.uniform.Thresholds",
    # the quadrature oracles of the continuous-activation ClosedForms (their ``oracle`` face, mpmath on
    # inputs the faces harness has validated): raw kernels like eq17_sums
    "qmf_sym._continuous.oracle_moment", "qmf_sym._continuous.oracle_cross", "qmf_sym._continuous.oracle_conditional",
}


def _is_record(obj):
    """A result container: a dataclass with no checks of its own (an output, not an input).  A
    dataclass with a ``validate`` method is a configuration: attacked, constructed and validated."""
    return (inspect.isclass(obj) and dataclasses.is_dataclass(obj) and not hasattr(obj, "__post_init__")
            and not hasattr(obj, "validate"))


def _public(mod):
    from qmf_sym._faces import ClosedForm

    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_")
                 and (inspect.isfunction(o) or inspect.isclass(o) or isinstance(o, ClosedForm))
                 and getattr(o, "__module__", None) == mod.__name__]
    return names


def _modules():
    """Every module of both packages (imported), in walk order."""
    mods = []
    for root in ROOTS:
        pkg = importlib.import_module(root)
        mods += [pkg] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(pkg.__path__, root + ".")
                         if not m.name.startswith(SKIP_MODULES)]
    return mods


def _fate(mod, name, obj):
    """(qualified name, None when attacked or the reason it is not) of one public name of ``mod``."""
    from qmf_sym._faces import ClosedForm

    home = getattr(obj, "__module__", mod.__name__) or mod.__name__
    qual = obj.name if isinstance(obj, ClosedForm) else f"{home}.{getattr(obj, '__name__', name)}"
    if obj is None or inspect.ismodule(obj) or not callable(obj):
        return qual, "not callable (a constant or a module)"
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return qual, "an exception type"
    if qual in SKIP_NAMES:
        return qual, "SKIP_NAMES (I/O, plumbing, raw kernel or oracle)"
    if _is_record(obj):
        return qual, "a result record (a dataclass without checks)"
    if mod.__name__.startswith("qmf_sim.experiments") and DRIVER.match(name):
        return qual, "experiment driver (writes files / runs a figure)"
    return qual, None


def _scanned(mod):
    """Whether the public names of ``mod`` are its own API (not stated by a parent package's __all__)."""
    if mod.__name__.startswith(SKIP_MODULES):
        return False
    private = any(part.startswith("_") for part in mod.__name__.split("."))
    if private:
        return mod.__name__ in PRIVATE_ATTACKED
    parent = sys.modules.get(mod.__name__.rpartition(".")[0])
    root = mod.__name__.split(".")[0]
    return not (getattr(mod, "__all__", None) is None and parent is not None and hasattr(parent, "__all__")
                and parent.__name__ != root)  # a package with __all__ states the public part of its modules


def coverage():
    """[(module, name, qualified name, fate)] for every public name of every module of both packages:
    fate None = attacked, else why not (skipped module, constant, record, driver, SKIP_NAMES)."""
    rows = []
    for root in ROOTS:
        pkg = importlib.import_module(root)
        for m in [pkg] + list(pkgutil.walk_packages(pkg.__path__, root + ".")):
            name = m if isinstance(m, str) else getattr(m, "name", pkg.__name__)
            mod = pkg if m is pkg else None
            if mod is None:
                if name.startswith(SKIP_MODULES):
                    rows.append((name, "*", name, "SKIP_MODULES (CLI, I/O, registry plumbing, raw kernels)"))
                    continue
                mod = importlib.import_module(name)
            names = _public(mod)
            if not _scanned(mod):
                why = ("private module" if any(p.startswith("_") for p in mod.__name__.split("."))
                       else "its package's __all__ states the public part")
                for n in names:
                    if mod.__name__ in PRIVATE_ATTACKED:
                        continue
                    rows.append((mod.__name__, n, f"{mod.__name__}.{n}", why))
                continue
            allowed = PRIVATE_ATTACKED.get(mod.__name__)
            for n in names:
                if allowed is not None and n not in allowed:
                    continue
                qual, fate = _fate(mod, n, getattr(mod, n, None))
                rows.append((mod.__name__, n, qual, fate))
    return rows


def targets(only=()):
    """[(qualified name, object)] of everything attacked, one entry per object."""
    out, seen = [], set()
    for mod in _modules():
        if not _scanned(mod):
            continue
        allowed = PRIVATE_ATTACKED.get(mod.__name__)
        for name in _public(mod):
            if allowed is not None and name not in allowed:
                continue
            obj = getattr(mod, name, None)
            qual, fate = _fate(mod, name, obj)
            if fate is not None or id(obj) in seen:
                continue
            seen.add(id(obj))
            if only and not qual.startswith(tuple(only)):
                continue
            out.append((qual, obj))
    return sorted(out)


# ------------------------------------------------------------------------------- valid calls
def _staircase(N=4):
    from qmf_sym.activations import Staircase

    return Staircase.uniform(N)


def _rows():
    from qmf_sym.spacing import table

    return table(range(2, 12))


def _sc_cfgs():
    from qmf_sim.training import TrainConfig

    return [TrainConfig(depth=2, width=8, steps=2, eval_steps=(2,))]


def _tensor(*shape):
    import torch

    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))


def _params():
    from qmf_sim.ste import STEParams

    return STEParams(b=2, omega=1.0, eta=0.5, lam=1.0)


def _record():
    """A run record of the shape run_training writes (tests/test_training.py)."""
    return {"key": "L2_N4", "status": "ok", "diverged_step": None, "final_test_acc": 0.5, "final_train_acc": 0.5,
            "chance": 0.1, "theory": {"xi": 3.0},
            "config": {"depth": 2, "width": 8, "levels": 4, "sigma_w": 1.0, "steps": 2, "lr": 1e-3, "seed": 0},
            "checkpoints": [{"step": 2, "train_acc": 0.5, "test_acc": 0.5, "loss": 1.0}],
            "run": {"wall_s": 1.0, "steps_per_s": 2.0}}


def _psi():
    from qmf_sym.ste.maps import named_map

    return named_map("quant", b=2, omega=1.0)


def _tau():
    import numpy as np

    return np.linspace(0.0, 2.0, 5)


def _eps_curve():
    import numpy as np

    t = np.linspace(0, 10, 101)
    return t, 0.5 / (1 + np.exp(2 * (t - 5))) + 0.1


def _tanh():
    from qmf_sym.activations import Tanh

    return Tanh()


def _profile():
    from qmf_sym.cnn import filter_variance

    return filter_variance(3, 1)


def _R():
    from qmf_sym.cnn import fixed_point_correlation

    return fixed_point_correlation(8, 0.5)


def _tables():
    import torch

    from qmf_sim.nn import StackedTables

    return StackedTables([_staircase(4), _staircase(4)], torch.float64, "cpu")


# Per-function valid arguments (lambdas so heavy objects are made in the worker, by name).
# Values: plain data or a callable of no arguments producing the value.
S = _staircase
VALID = {
    # qmf_sym: maps / activations / backward / ntk / init / phase
    "qmf_sym.activations.Staircase": dict(offsets=[-1.0, 0.0, 1.0], heights=[1.0, 1.0, 1.0], base=-1.5),
    "qmf_sym.activations.as_staircase": dict(act=S),
    "qmf_sym.maps.iterate": dict(act=S, Q1=1.0, C1=0.5, sigma_w=1.5, n_layers=3),
    "qmf_sym.maps.layer_map": dict(act=S, Q=1.0, C=0.5, sigma_w=1.5),
    "qmf_sym.maps.fixed_point": dict(act=S, sigma_w=1.5),
    "qmf_sym.init.uniform_spacing": dict(act=S),
    "qmf_sym.init.sigma_w_opt": dict(act=S),
    "qmf_sym.init.init_for": dict(act=S),
    "qmf_sym.init.critical_init": dict(act=S),
    "qmf_sym.phase.fixed_point_at_Q": dict(act=S, Q=1.0),
    "qmf_sym.phase.best_chi_over_sigma_w": dict(act=S, n_scan=10),
    "qmf_sym.phase.phase_diagram": dict(act=S, sigma_w=[1.0, 1.5], sigma_b=[0.0, 0.1]),
    "qmf_sym.phase.bias_study": dict(act=S, sigma_bs=[0.0, 0.1]),
    "qmf_sym.backward.jacobian_moment_at_fixed_point": dict(act=S, sigma_w=1.5),
    "qmf_sym.backward.backward_depth_scale": dict(m=0.9),
    "qmf_sym.ntk.ste_ntk": dict(act=S, Q1=1.0, C1=0.5, sigma_w=1.5, depth=2),
    "qmf_sym.ntk.ntk_rates": dict(act=S, sigma_w=1.5),
    # asymptotics / quantization / spacing / optimal activation / rounding / sign
    "qmf_sym.asymptotics.slope_decomposition": dict(rows=lambda: _rows()[1:]),  # N >= 3
    "qmf_sym.quantization.lloyd_max": dict(N=4),
    "qmf_sym.quantization.quantizer_mse": dict(thresholds=[0.0], levels=[-0.8, 0.8]),
    "qmf_sym.quantization.chi_of_quantizer": dict(thresholds=[0.0], levels=[-0.8, 0.8]),
    "qmf_sym.quantization.uniform_quantizer_mse": dict(step=1.0, N=4),
    "qmf_sym.quantization.chi_via_stein": dict(act=S),
    "qmf_sym.spacing.optimum.optimal_spacing": dict(N=4),
    "qmf_sym.spacing.optimum.table": dict(levels=[2, 3, 4]),
    "qmf_sym.spacing.fits.fit_power_laws": dict(rows=_rows, N_min=3, N_max=11),
    "qmf_sym.spacing.fits.local_slopes": dict(rows=_rows),
    "qmf_sym.spacing.uniform.chi_uniform_derivatives": dict(D=0.5, N=4),
    "qmf_sym.spacing.uniform.Thresholds": dict(Ns=[4]),
    "qmf_sym.optimal_activation.optimise_equal_steps": dict(N=3, starts=1),
    "qmf_sym.optimal_activation.uniform_offset_scan": dict(N=3, offsets=[-0.5, 0.0, 0.5]),
    "qmf_sym.optimal_activation.compare_classes": dict(N=3),
    "qmf_sym.optimal_activation.hessian_at_uniform": dict(N=3),
    "qmf_sym.rounding.forms.variance_map": dict(act=S, Q=1.0, sigma_w=1.5),
    "qmf_sym.rounding.forms.correlation_map": dict(act=S, Q=1.0, C=0.5),
    "qmf_sym.rounding.forms.chi": dict(act=S, Q=1.0, C=0.5),
    "qmf_sym.rounding.forms.fixed_point": dict(act=S, sigma_w=1.5),
    "qmf_sym.rounding.optimum.chi_at_zero": dict(act=S, Q=1.0),
    "qmf_sym.rounding.optimum.chi_deficit_at_zero": dict(act=S, Q=1.0),
    "qmf_sym.rounding.optimum.optimal_sr": dict(N=3),
    "qmf_sym.rounding.optimum.ratio_asymptotic": dict(N=4),
    "qmf_sym.sign.fixed_point": dict(sigma_w=1.5),
    # proof (arb balls)
    "qmf_sym.proof.gaussian.pdf_ball": dict(x=0.5),
    "qmf_sym.proof.gaussian.cdf_ball": dict(x=0.5),
    "qmf_sym.proof.gaussian.cell_probability_ball": dict(a=-0.5, b=0.5),
    "qmf_sym.proof.gaussian.bvn_excess_ball": dict(h=0.1, k=0.2, rho=0.3),
    "qmf_sym.proof.maps.post_activation_moments_ball": dict(act=S, Q=1.0),
    "qmf_sym.proof.maps.variance_map_ball": dict(act=S, Q=1.0, sigma_w=1.5),
    "qmf_sym.proof.maps.correlation_map_ball": dict(act=S, Q=1.0, C=0.5),
    "qmf_sym.proof.maps.chi_ball": dict(act=S, Q=1.0, C=0.5),
    "qmf_sym.proof.maps.chi_staircase_ball": dict(offsets=[-0.5, 0.5]),
    "qmf_sym.proof.uniform.chi_uniform_ball": dict(D=0.5, N=4),
    "qmf_sym.proof.uniform.chi_uniform_derivatives_ball": dict(D=0.5, N=4),
    "qmf_sym.proof.uniform.uniform_sums": dict(N=4, D=0.5),
    "qmf_sym.proof.uniform.taylor_models": dict(N=4, D0=0.5, K=3, rho=0.01),
    "qmf_sym.proof.optimum.prove_optimum": dict(N=3),
    "qmf_sym.proof.optimum.proven_table": dict(levels=[2, 3]),
    "qmf_sym.proof._arb.mid_rad": dict(a=lambda: __import__("qmf_sym.proof.gaussian", fromlist=["x"]).pdf_ball(0.5)),
    # STE theory (paper 2)
    "qmf_sym.ste.quantizers.quantizer_grid": dict(b=2, omega=1.0),
    "qmf_sym.ste.quantizers.quantize": dict(u=[0.1, -0.7], b=2, omega=1.0),
    "qmf_sym.ste.quantizers.ste_grad": dict(u=[0.1, -0.7], omega=1.0),
    "qmf_sym.ste.quantizers.quantizer_staircase": dict(b=2, omega=1.0),
    "qmf_sym.ste.quantizers.input_moments": dict(b=2),
    "qmf_sym.ste.input_only.input_only_eps_g": dict(m=0.5, q=1.0, kappa=1.0, s2=1.0),
    "qmf_sym.ste.input_only.input_only_ode_rhs": dict(tau=0.0, y=[0.0, 1.0], eta=0.5, lam=1.0, sigma2=0.0,
                                                      kappa=1.0, s2=1.0),
    "qmf_sym.ste.input_only.solve_input_only_ode": dict(tau=_tau, eta=0.5, lam=1.0, sigma2=0.0, kappa=1.0, s2=1.0),
    "qmf_sym.ste.input_only.input_only_fixed_point": dict(eta=0.5, lam=1.0, sigma2=0.0, kappa=1.0, s2=1.0),
    "qmf_sym.ste.input_only.stability_boundary": dict(b=2),
    "qmf_sym.ste.input_only.steady_state_error": dict(eta=0.5, b=2),
    "qmf_sym.ste.input_only.baseline_deviation": dict(eta=0.5, b=2),
    "qmf_sym.ste.input_only.fig5_curves": dict(b_x=(2, 3), omegas=(1.0,), etas=[0.1, 0.5], b_right=(2,)),
    "qmf_sym.ste.input_only.FixedPoint": dict(),
    "qmf_sym.ste.stationary.stationary_density": dict(w_star=1.0, eta=0.5, lam=1.0, b=2, omega=1.0),
    "qmf_sym.ste.stationary.stationary_state": dict(eta=0.5, lam=1.0, b=2, omega=1.0),
    "qmf_sym.ste.stationary.edge_mass": dict(eta=0.5, lam=1.0, b=2, omega=1.0),
    "qmf_sym.ste.stationary.stationary_branches": dict(eta=0.5, lam=1.0, b=2, omega=1.0, n_scan=20),
    "qmf_sym.ste.closure.gauss_expectations": dict(psi=_psi, mu=0.1, v=1.0),
    "qmf_sym.ste.closure.solve_closure": dict(tau=_tau, psi=_psi, kappa=1.0, s2=1.0, eta=0.5, lam=1.0),
    "qmf_sym.ste.closure.initial_law_cdf": dict(init="gaussian", scale=1.0),
    "qmf_sym.ste.degradation.unquantized_ridge_eps": dict(eta=0.5, lam=1.0),
    "qmf_sym.ste.degradation.weight_degradation": dict(eta=0.5, lam=1.0, b=2, omega=1.0),
    "qmf_sym.ste.degradation.unquantized_stationary_law": dict(eta=0.5, lam=1.0),
    "qmf_sym.ste.degradation.ptq_eps": dict(eta=0.5, lam=1.0, b=2, omega=1.0),
    "qmf_sym.ste.degradation.best_input_range": dict(b=2),
    "qmf_sym.ste.degradation.max_input_range": dict(b=2),
    "qmf_sym.ste.maps.Map": dict(kind="tanh", name="psi"),
    "qmf_sym.ste.maps.named_map": dict(spec="quant", b=2, omega=1.0),
    "qmf_sym.ste.maps.map_moments": dict(phi=_psi),
    "qmf_sym.ste.maps.tanh_moments": dict(amplitude=1.0, width=1.0),
    "qmf_sym.ste.maps.map_eta_c": dict(phi=_psi),
    "qmf_sym.ste.maps.map_steady_state": dict(eta=0.5, phi=_psi),
    "qmf_sym.ste.maps.stationary_pieces": dict(psi=_psi),
    "qmf_sym.ste.plateau.plateau_analysis": dict(tau=lambda: _eps_curve()[0], eps=lambda: _eps_curve()[1]),
    "qmf_sym.ste.plateau.plateau_level": dict(l_plus=1.0),
    "qmf_sym.ste.plateau.reentry_time": dict(w0=2.0, clip=1.0, eta=0.5, lam=1.0),
    "qmf_sym.ste.plateau.saturated_plateau": dict(a=2.0, omega=1.0, eta=0.5, lam=1.0),
    "qmf_sym.ste.plateau.zero_cell_plateau": dict(b=2, omega=1.0, eta=0.5, lam=1.0),
    # qmf_sim
    "qmf_sim.data.standardize": dict(x_train=lambda: __import__("numpy").arange(12.0).reshape(4, 3),
                                     x_test=lambda: __import__("numpy").arange(6.0).reshape(2, 3)),
    "qmf_sim.data.Dataset": dict(name="t", x_train=lambda: __import__("numpy").zeros((4, 3)),
                                 y_train=lambda: __import__("numpy").zeros(4, dtype=int),
                                 x_test=lambda: __import__("numpy").zeros((2, 3)),
                                 y_test=lambda: __import__("numpy").zeros(2, dtype=int), n_classes=2,
                                 description="toy"),
    "qmf_sim.netprop.circle_inputs": dict(r=8, n0=16, Q1=1.0, sigma_w=1.5),
    "qmf_sim.netprop.gaussian_pair_inputs": dict(Q=1.0, C=0.5, n=16),
    "qmf_sim.netprop.propagate": dict(act=S, X=lambda: _tensor(3, 16), sigma_w=1.5, depth=2, width=16),
    "qmf_sim.netprop.layer_statistics": dict(act=S, X=lambda: _tensor(3, 16), sigma_w=1.5, depth=2, width=16,
                                             n_draws=2),
    "qmf_sim.netprop.one_layer_statistics": dict(act=S, Q=1.0, C=0.5, sigma_w=1.5, n_prev=32, n_next=32,
                                                 n_draws=2, seed=0),
    "qmf_sim.netprop.empirical_chi": dict(act=S, sigma_w=1.5, n_prev=32, n_next=32, n_draws=2, seed=0),
    "qmf_sim.netprop.circulant_profile": dict(K=lambda: __import__("torch").eye(4, dtype=__import__("torch").float64)),
    "qmf_sim.netprop.sigma_w_optimal": dict(act=S),
    "qmf_sim.netprop.decay_layer": dict(values=[0.9, 0.7, 0.5, 0.3], start=0.9, target=0.5),
    "qmf_sim.netprop.correlation_propagation": dict(act=S, sigma_ws=[1.5], depth=3, width=16, r=8, n_theory=5),
    "qmf_sim.netprop.finite_width_errors": dict(act=S, sigma_w=1.5, widths=(8, 16), depth=2, n_draws=2),
    "qmf_sim.nn.staircase_forward": dict(x=lambda: _tensor(5), act=S),
    "qmf_sim.nn.staircase_ste": dict(x=lambda: _tensor(5), act=S),
    "qmf_sim.nn.activation_forward": dict(x=lambda: _tensor(5), act=S),
    "qmf_sim.nn.activation_with_derivative": dict(x=lambda: _tensor(5), act=_tanh),
    "qmf_sim.nn.stacked_staircase_forward": dict(
        x=lambda: _tensor(2, 3, 4),
        tab=lambda: __import__("qmf_sim.nn", fromlist=["x"]).StackedTables([S(4), S(4)], __import__("torch").float64,
                                                                          "cpu")),
    "qmf_sim.nn.QuantizedMLP": dict(n_in=4, width=8, depth=2, n_out=3, act=S, sigma_w=1.5),
    "qmf_sim.nn.init_draws": dict(sizes=[4, 8, 3], sigma_w=1.5, sigma_b=0.0, seed=0),
    "qmf_sim.nn.round_up": dict(values=[0.5, 1.5], dtype=lambda: __import__("torch").float32),
    "qmf_sim.nn.StackedTables": dict(acts=lambda: [S(4), S(4)], dtype=lambda: __import__("torch").float64,
                                     device="cpu"),
    "qmf_sim.ensemble.ensemble_key": dict(cfg=lambda: _sc_cfgs()[0]),
    "qmf_sim.ensemble.group_configs": dict(configs=_sc_cfgs),
    "qmf_sim.ensemble.member_bytes": dict(cfg=lambda: _sc_cfgs()[0]),
    "qmf_sim.ensemble.split_ensembles": dict(configs=_sc_cfgs),
    "qmf_sim.sweep.preset": dict(name="smoke"),
    "qmf_sim.sweep.sigma_grid": dict(depths=[2, 4], sigma_ws=[1.0, 1.5]),
    "qmf_sim.sweep.levels_grid": dict(depths=[2, 4], levels=[2, 4]),
    "qmf_sim.sweep.boundary_depths": dict(depths=[2, 4, 8, 16], acc=[0.9, 0.8, 0.3, 0.1]),
    "qmf_sim.sweep.fit_boundary_constant": dict(xi=[1.0, 2.0, 3.0, 4.0], L_b=[6.0, 12.5, 18.0, 24.5], n_boot=50),
    "qmf_sim.sweep.grid_table": dict(records=lambda: [_record()], column_field="levels"),
    "qmf_sim.training.TrainConfig": dict(depth=2, width=8),
    "qmf_sim.training.check_config": dict(cfg=lambda: _sc_cfgs()[0]),
    "qmf_sim.training.check_configs": dict(configs=_sc_cfgs),
    "qmf_sim.training.sigma_w_opt": dict(levels=4),
    "qmf_sim.training.theory": dict(levels=4, sigma_w=1.5),
    "qmf_sim.training.critical_ste_slope": dict(levels=4, sigma_w=1.5),
    "qmf_sim.training.accuracy_for_plot": dict(record=_record),
    "qmf_sim.training.summarize": dict(record=_record),
    "qmf_sim.ste.params.STEParams": dict(),
    "qmf_sim.ste.params.as_params": dict(params=_params),
    "qmf_sim.ste.micro.simulate": dict(params=_params, d=16, tau_max=1.0, runs=2),
    "qmf_sim.ste.micro.simulate_many": dict(plist=lambda: [_params()], d=16, tau_max=1.0, runs=2),
    "qmf_sim.ste.particles.solve_particles": dict(params=_params, tau=_tau, n_particles=200, n_chunks=2),
    "qmf_sim.ste.pde.solve_pde": dict(params=_params, tau=_tau, h=0.02, n_teacher=4),
    "qmf_sim.ste.theory.theory_curve": dict(params=_params, tau=_tau, method="gaussian"),
    "qmf_sim.ste.theory.theory_result": dict(params=_params, tau=_tau, method="gaussian"),
    "qmf_sim.ste.theory.closed_curve": dict(params=lambda: __import__("qmf_sim.ste", fromlist=["x"]).STEParams(
        b=None, eta=0.5, lam=1.0), tau=_tau),
    "qmf_sim.ste.torch_micro.torch_map": dict(m=_psi, dtype=lambda: __import__("torch").float64, device="cpu"),
    "qmf_sim.ste.theory.closure_curve": dict(params=_params, tau=_tau, n_teacher=4),
    "qmf_sim.ste.trajectory.Schedule": dict(tau=_tau),
    "qmf_sim.ste.trajectory.tau_grid": dict(tau_max=2.0, n=5),
    "qmf_sim.ste.trajectory.check_bounds": dict(eps_bound=1e4, q_bound=1e8),
    "qmf_sim.ste.torch_micro.simulate_torch": dict(params=_params, d=16, tau_max=1.0, runs=2),
    "qmf_sim.ste.torch_micro.simulate_many_torch": dict(plist=lambda: [_params()], d=16, tau_max=1.0, runs=2),
    "qmf_sim.ste.quantizer.quantize": dict(u=[0.1, -0.7], b=2, omega=1.0),
    "qmf_sym._validate.human_bytes": dict(n=1024),
    "qmf_sym._validate.check_bytes": dict(name="d", nbytes=1024),
    "qmf_sim.ensemble.StackedMLP": dict(configs=lambda: [c.resolved() for c in _sc_cfgs()], n_in=4, n_out=3,
                                        dtype=lambda: __import__("torch").float32, device="cpu"),
    "qmf_sim.ste.rng.check_seed": dict(seed=0),
    "qmf_sim.ste.rng.init_rng": dict(seed=0, key=1),
    "qmf_sim.ste.rng.stream_state": dict(seed=0, key=1),
    "qmf_sim.ste.rng.fill_normals": dict(seed=0, key=1, n=8),
    # activations (any kind), continuous maps, linearisation, CNN and residual mean field (paper 1, sec. 4)
    "qmf_sym.activations.Smooth": dict(fn=lambda: __import__("numpy").sin, derivative=lambda: __import__("numpy").cos,
                                       name="sin"),
    "qmf_sym.activations.by_name": dict(name="tanh"),
    "qmf_sym.backward.gradient_factor": dict(act=_tanh, sigma_w=1.5),
    "qmf_sym.maps.edge_of_chaos": dict(act=_tanh, sigma_b=0.1),
    "qmf_sym.maps.edge_of_chaos_line": dict(act=_tanh, sigma_b=[0.0, 0.1]),
    "qmf_sym.maps.last_downcrossing": dict(vmap=lambda: (lambda q: 1.0 + 0.5 * __import__("numpy").sqrt(q)),
                                           grid=lambda: __import__("numpy").linspace(0.5, 4.0, 50)),
    "qmf_sym.ntk.ntk": dict(act=_tanh, Q1=1.0, C1=0.5, sigma_w=1.5, depth=2),
    "qmf_sym.cnn.filter_variance": dict(kernel_size=3, dim=1),
    "qmf_sym.cnn.averaging_eigenvalues": dict(profile=_profile, spatial=(8,)),
    "qmf_sym.cnn.average": dict(profile=_profile, M=lambda: __import__("numpy").eye(8)),
    "qmf_sym.cnn.frequencies": dict(spatial=8),
    "qmf_sym.cnn.fixed_point_correlation": dict(spatial=8, C_star=0.5),
    "qmf_sym.cnn.mode_perturbation": dict(spatial=8, mode=1, band=1),
    "qmf_sym.cnn.correlation_map": dict(act=S, Q=1.0, R=_R, sigma_w=1.5, profile=_profile),
    "qmf_sym.cnn.covariance_map": dict(act=S, Q=1.0, R=_R, sigma_w=1.5, profile=_profile),
    "qmf_sym.cnn.iterate_correlation": dict(act=S, Q1=1.0, R1=_R, sigma_w=1.5, profile=_profile, n_layers=2),
    "qmf_sym.cnn.mode_amplitude": dict(R=_R, P=lambda: __import__("qmf_sym.cnn", fromlist=["x"]).mode_perturbation(8, 1)),
    "qmf_sym.cnn.mode_slopes": dict(act=S, sigma_w=1.5, profile=_profile, spatial=8),
    "qmf_sym.residual.layer_map": dict(act=S, Q=1.0, C=0.5, alpha=0.5, sigma_w=1.5),
    "qmf_sym.residual.iterate": dict(act=S, Q1=1.0, C1=0.5, alpha=0.5, sigma_w=1.5, n_layers=3),
    "qmf_sym.residual.depth_clock": dict(Q=1.0, alpha=0.5, V_inf=0.5),
    "qmf_sym.residual.power_law_prediction": dict(act=S, Q1=1.0, C1=0.5, alpha=0.5, sigma_w=1.5, n_layers=5),
    "qmf_sym._validate.size_product": dict(name="width", factors=[("width", 8), ("depth", 4)]),
    "qmf_sim.architectures.conv_weights": dict(channels=4, kernel_size=3, dim=1, sigma_w=1.5, init="gaussian",
                                               gen=lambda: __import__("torch").Generator().manual_seed(0)),
    "qmf_sim.architectures.fit_mode_slope": dict(amplitudes=lambda: __import__("numpy").array(
        [[1.0, 0.8, 0.64, 0.51], [1.0, 0.79, 0.63, 0.5]]), n_layers=3),
    "qmf_sim.architectures.residual_correlations": dict(act=S, Q1=1.0, C1=0.5, alpha=0.5, sigma_w=1.5, width=16,
                                                        depth=3, seeds=(0,), pairs=2),
    "qmf_sim.architectures.residual_factory": dict(alpha=0.5),
    "qmf_sim.architectures.cnn_mode_decay": dict(act=S, sigma_w=1.5, spatial=8, channels=8, depth=3, seeds=(0,),
                                                 batch=2),
    "qmf_sim.architectures.QuantizedResMLP": dict(n_in=4, width=8, depth=2, n_out=3, act=S, sigma_w=1.5, alpha=0.5,
                                                  seed=0),
    "qmf_sim.nn.stacked_staircase_ste": dict(x=lambda: _tensor(2, 3, 4), tab=_tables, clip=lambda: _tensor(2).abs() + 1,
                                             slope=lambda: _tensor(2).abs() + 1),
    "qmf_sim.nn.stacked_ste_gain": dict(x=lambda: _tensor(2, 3, 4), clip=lambda: _tensor(2).abs() + 1,
                                        slope=lambda: _tensor(2).abs() + 1),
    # experiments' numeric helpers (their drivers are DRIVER)
    "qmf_sim.experiments.resolve": dict(part="sign"),
    "qmf_sim.experiments.activations.make_activation": dict(name="tanh"),
    "qmf_sim.experiments.activations.fixed_point_report": dict(name="tanh", levels=None, sigma_w=1.5),
    "qmf_sim.experiments.activations.levels_to_match": dict(xi_target=10.0),
    "qmf_sim.experiments.activations.network_rates": dict(act=_tanh, sigma_w=1.5, width=64, depth=3, seeds=range(2)),
    "qmf_sim.experiments.app_h.settings": dict(quick=True),
    "qmf_sim.experiments.cnn.settings": dict(quick=True),
    "qmf_sim.experiments.generalization.settings": dict(quick=True),
    "qmf_sim.experiments.appendices.stochastic_round": dict(u=lambda: _tensor(5), act=S),
    "qmf_sim.experiments.appendices.sr_one_layer_statistics": dict(act=S, Q=1.0, C=0.5, sigma_w=1.5, n_prev=32,
                                                                   n_next=32, n_draws=2),
    "qmf_sim.experiments.appendices.phase_grid": dict(act=S, sigma_w=[1.0, 1.5], sigma_b=[0.0, 0.1]),
    "qmf_sim.experiments.appendices.init_report": dict(N=4),
    "qmf_sim.experiments.appendices.empirical_ste_ntk": dict(act=S, Q1=1.0, C1=0.5, sigma_w=1.5, width=32, n_in=8),
    "qmf_sim.experiments.generalization.kernel_tables": dict(act=S, Q=1.0, sigma_w=1.5, sigma_b=0.0),
    "qmf_sim.experiments.generalization.kernels": dict(act=S, sigma_w=1.5, sigma_b=0.0, c1=0.5, depths=[1, 2]),
    "qmf_sim.experiments.generalization.stop_depth": dict(depths=[1, 2, 4, 8], errors=[0.1, 0.1, 0.2, 0.5]),
    "qmf_sim.experiments.generalization.half_depth": dict(depths=[1, 2, 4, 8], errors=[0.1, 0.1, 0.2, 0.95]),
    "qmf_sim.experiments.ste_plateau.prediction": dict(law="rademacher(2)", omega=1.0),
    "qmf_sim.experiments.ste_uses.overshoot": dict(eps=lambda: __import__("numpy").array([1.0, 0.5, 0.6, 0.4])),
    "qmf_sim.experiments.trainable_depth.xi_sigma_curve": dict(levels=4, sigma_ws=[1.0, 1.5]),
    "qmf_sim.experiments.trainable_depth.xi_levels_curve": dict(levels=[2, 4]),
    "qmf_sim.experiments.spacing.table": dict(levels=[2, 3, 4]),
}

# Generic valid values by parameter name, for required parameters not in VALID.
BY_NAME = {
    "act": S, "N": 4, "Q": 1.0, "Q1": 1.0, "C": 0.5, "C1": 0.5, "sigma_w": 1.5, "sigma_b": 0.0,
    "D": 0.5, "x": 0.5, "b": 2, "omega": 1.0, "eta": 0.5, "lam": 1.0, "m": 0.5, "q": 1.0,
    "levels": 4, "depth": 2, "width": 8, "seed": 0,
}

SIZE_NAMES = {"N", "n", "d", "r", "n0", "width", "depth", "runs", "draws", "n_draws", "levels", "widths",
              "n_layers", "n_prev", "n_next", "n_particles", "n_chunks", "n_boot", "n_scan", "n_theory",
              "n_teacher", "n_tau", "steps", "starts", "maxit", "block", "K", "n_in", "n_out", "batch_size",
              "N_max", "train_eval_size", "sizes", "n_sub", "max_members"}
# Element-wise maps whose NaN-in, NaN-out is a documented decision (a diverged run's NaN weight stays
# NaN, never a level): NaN substituted there and returned as NaN is their stated answer.
NAN_PROPAGATES = {("qmf_sym.ste.quantizers.quantize", "u"), ("qmf_sym.ste.quantizers.ste_grad", "u")}
# Functions documented to name a bad argument by another label (a CLI flag passed as ``name``).
NAMED_AS = {("qmf_sym.ste.maps.named_map", "spec"): "psi",
            # worded for the command line (their docstrings say so): --activation, --levels
            ("qmf_sim.experiments.activations.make_activation", "name"): "activation",
            ("qmf_sim.experiments.activations.fixed_point_report", "name"): "activation",
            # a run too large for the memory budget names the run's parameter (``name``, e.g. ``--d``)
            ("qmf_sym._validate.check_bytes", "nbytes"): "would need about"}
# NaN that is a documented "no value" in the result, with its reason beside it (a censored boundary with
# its flag, a grid cell with its status, a time the curve never reaches): the answer, not NaN passing
NAN_DOCUMENTED = {("qmf_sim.sweep.boundary_depths", "best"): "L_b = nan with flag 'above' (censored)",
                  ("qmf_sym.phase.phase_diagram", "sigma_w"): "a cell without a fixed point: NaN with its status",
                  ("qmf_sym.ste.plateau.plateau_analysis", "final"): "a fraction of the drop never reached: nan time",
                  ("qmf_sim.experiments.appendices.phase_grid", "sigma_w"): "phase_diagram's cell without a fixed point",
                  ("qmf_sim.experiments.trainable_depth.xi_sigma_curve", "sigma_ws"): "nan where no fixed point exists"}
FREE_TEXT = {"name", "description", "desc", "label", "title", "tag", "unit", "sigma_w_rule", "lr_rule", "data", "what"}


def _is_size(name):
    return name in SIZE_NAMES or name.startswith("n_")


def bad_values(name):
    vals = [("nan", float("nan")), ("+inf", float("inf")), ("-inf", float("-inf")), ("0", 0), ("-1", -1),
            ("True", True), ("None", None), ("'x'", "x"), ("1+2j", 1 + 2j), ("[]", []), ("1e-300", 1e-300)]
    if _is_size(name):
        vals.append(("10**12", 10 ** 12))
    return vals


# ----------------------------------------------------------------------------- one call
def signature(obj):
    from qmf_sym._faces import ClosedForm

    if isinstance(obj, ClosedForm) and obj._sig is None:
        sig = inspect.signature(obj.f64)
        params = list(sig.parameters.values())
        if "dps" not in sig.parameters:
            params.append(inspect.Parameter("dps", inspect.Parameter.KEYWORD_ONLY, default=None))
        return sig.replace(parameters=params)
    return inspect.signature(obj)


def _materialise(v):
    """A value of the table, made: functions of this module (and lambdas in it) are called."""
    if inspect.isfunction(v) and v.__module__ == __name__:
        return v()
    return v


def valid_kwargs(qual, obj):
    """The valid keyword arguments of one call, or raise LookupError."""
    from qmf_sym._faces import ClosedForm

    sig = signature(obj)
    kw = {}
    if qual in VALID:
        kw = dict(VALID[qual])
    elif isinstance(obj, ClosedForm) and obj.cases is not None:
        args, kwargs = obj.cases()[0]
        bound = sig.bind_partial(*args, **kwargs)
        kw = dict(bound.arguments)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in kw:
            continue
        if p.default is inspect.Parameter.empty:
            if p.name in BY_NAME:
                kw[p.name] = BY_NAME[p.name]
            else:
                raise LookupError(f"no valid value for required parameter {p.name!r}")
    return kw


def _has_nan(value, depth=0):
    import numpy as np

    if depth > 6:
        return False
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return False
    if isinstance(value, (int, float, complex)):
        return isinstance(value, (float, complex)) and value != value
    mod = type(value).__module__
    if mod.startswith("mpmath"):
        import mpmath

        try:
            return bool(mpmath.isnan(value))
        except Exception:
            return False
    if mod.startswith("torch") and hasattr(value, "detach") and hasattr(value, "is_floating_point"):
        return bool(value.is_floating_point() and value.isnan().any())
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            return bool(np.isnan(value).any())
        if value.dtype == object:
            return any(_has_nan(v, depth + 1) for v in value.ravel()[:1000])
        return False
    if isinstance(value, np.generic):
        return bool(np.isnan(value)) if value.dtype.kind in "fc" else False
    if isinstance(value, dict):
        return any(_has_nan(v, depth + 1) for v in list(value.values())[:1000])
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v, depth + 1) for v in value[:1000])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_has_nan(getattr(value, f.name, None), depth + 1) for f in dataclasses.fields(value))
    return False


def _diverged(result):
    """True when ``result`` is (a list of) STE trajectories flagged by the one divergence rule: their
    NaN after the divergence is the documented mask (``diverged`` / ``tau_diverged``), not NaN passing."""
    import numpy as np

    items = result if isinstance(result, list) else [result]
    flags = [getattr(r, "diverged", None) for r in items]
    return bool(flags) and all(f is not None for f in flags) and bool(any(np.any(f) for f in flags))


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Alarm()


def run_case(qual, param, label, timeout):
    """Run one case in this process; returns a dict (status, detail, seconds)."""
    import numpy as np

    obj = dict(targets(only=(qual,)))[qual] if qual not in _TARGETS else _TARGETS[qual]
    t0 = time.perf_counter()
    try:
        kw = {k: _materialise(v) for k, v in valid_kwargs(qual, obj).items()}
    except Exception as exc:  # no valid call
        return {"status": "novalid", "detail": f"{type(exc).__name__}: {exc}"}
    if param is not None:
        value = dict(bad_values(param))[label]
        kw[param] = value
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                result = obj(**kw)
                if inspect.isclass(obj) and hasattr(result, "validate"):
                    result = result.validate()
        nan = bool(_has_nan(result))
        out = {"status": "returned", "nan": nan, "diverged": _diverged(result)}
    except _Alarm:
        out = {"status": "timeout"}
    except ValueError as exc:
        out = {"status": "ValueError", "detail": str(exc)[:300]}
    except MemoryError:
        out = {"status": "MemoryError"}
    except BaseException as exc:  # noqa: BLE001 - classification of everything else
        tb = traceback.extract_tb(exc.__traceback__)
        where = f"{tb[-1].filename.split('/')[-1]}:{tb[-1].lineno}" if tb else ""
        out = {"status": type(exc).__name__, "detail": f"{str(exc)[:200]} [{where}]"}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


_TARGETS: dict = {}


def classify(qual, obj, param, label, res, base):
    """(passed, reason) for one case result ``res``; ``base`` is the valid call's result."""
    st = res["status"]
    if st == "ValueError":
        msg = res.get("detail", "")
        if param in msg or NAMED_AS.get((qual, param), "\0") in msg:
            return True, "ValueError naming it"
        return False, f"ValueError not naming {param}: {msg[:120]}"
    if st != "returned":
        return False, f"{st} {res.get('detail', '')[:160]}".strip()
    if label == "nan" and (qual, param) in NAN_PROPAGATES:
        return True, "NaN in, NaN out (documented element-wise rule)"
    if res.get("nan") and (qual, param) in NAN_DOCUMENTED:
        return True, f"documented NaN: {NAN_DOCUMENTED[(qual, param)]}"
    if res.get("nan") and not base.get("nan") and not res.get("diverged"):
        return False, "returned NaN"
    p = signature(obj).parameters[param]
    default = p.default
    if label in ("nan", "1+2j"):
        return False, f"accepted {label}"
    if label == "'x'":
        if param in FREE_TEXT:
            return True, "free text"
        return False, "accepted a string"
    if label == "True":
        if isinstance(default, bool) or p.annotation in (bool, "bool"):
            return True, "flag"
        return False, "accepted a bool as a number"
    if label == "None":
        if default is None:
            return True, "None is the default"
        if re.search(rf"\b{re.escape(param)}\s*=\s*None\b", getattr(obj, "__doc__", None) or ""):
            return True, "None is documented (its meaning in the docstring)"
        return False, "accepted None"
    if label == "[]":
        if isinstance(default, (tuple, list)):
            return True, "empty sequence where a sequence is the default"
        if re.search(r"\ban empty (list|sequence)\b", getattr(obj, "__doc__", None) or ""):
            return True, "an empty sequence is documented (its meaning in the docstring)"
        return False, "accepted an empty list"
    if _is_size(param) and label in ("-1", "+inf", "-inf"):
        return False, f"accepted size {label}"
    return True, "valid extreme, finite answer"


# -------------------------------------------------------------------------- worker protocol
def worker(timeout):
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the code prints goes to stderr
    sys.stdout = sys.stderr
    import qmf_sym.activations  # noqa: F401 - warm imports
    for qual, obj in targets():
        _TARGETS[qual] = obj
    proto.write("ready\n")
    for line in sys.stdin:
        qual, param, label = json.loads(line)
        try:
            out = run_case(qual, param, label, timeout)
        except BaseException as exc:  # noqa: BLE001
            out = {"status": "harness", "detail": repr(exc)[:200]}
        proto.write(json.dumps(out, default=str) + "\n")


class Pool:
    def __init__(self, timeout):
        self.timeout = timeout
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker",
                                      "--timeout", str(self.timeout)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1,
                                     env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **os.environ})
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError("worker failed to start")

    def call(self, qual, param, label):
        import select

        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps([qual, param, label]) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout + 20)
        if ready:
            line = self.proc.stdout.readline()
            if line:
                return json.loads(line)
            self.proc = None
            return {"status": "crash", "detail": "worker died"}
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        return {"status": "timeout", "detail": "(hard, in native code)"}

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def attack(only=(), timeout=TIMEOUT, verbose=False, stream=sys.stdout):
    """Run the attack; returns a dict with counts, the rate and the failing cases."""
    tg = targets(only)
    pool = Pool(timeout)
    cases, fails, novalid = 0, [], []
    t0 = time.perf_counter()
    try:
        for qual, obj in tg:
            base = pool.call(qual, None, None)
            if base["status"] != "returned":
                novalid.append((qual, f"{base['status']} {base.get('detail', '')}"[:200]))
                continue
            params = [p for p in signature(obj).parameters.values()  # private (_retry) ones are not API
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and not p.name.startswith("_")]
            for p in params:
                for label, _ in bad_values(p.name):
                    res = pool.call(qual, p.name, label)
                    ok, why = classify(qual, obj, p.name, label, res, base)
                    cases += 1
                    if not ok:
                        fails.append((qual, p.name, label, why))
                    if verbose:
                        print(f"{'PASS' if ok else 'FAIL'} {qual}({p.name}={label}): {why}", file=stream)
    finally:
        pool.close()
    passed = cases - len(fails)
    rate = 100.0 * passed / cases if cases else 100.0
    return {"functions": len(tg), "cases": cases, "passed": passed, "rate": rate, "fails": fails,
            "novalid": novalid, "seconds": time.perf_counter() - t0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", default=(), help="qualified-name prefixes to attack")
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per call (default 10)")
    ap.add_argument("--list", action="store_true", help="list the targets and their valid calls")
    ap.add_argument("--verbose", action="store_true", help="print every case")
    ap.add_argument("--json", help="also write the result as JSON to this path")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if a.worker:
        worker(a.timeout)
        return 0
    if a.list:
        for qual, obj in targets(a.only):
            try:
                kw = valid_kwargs(qual, obj)
                print(qual, {k: getattr(v, "__name__", v) for k, v in kw.items()})
            except LookupError as exc:
                print(qual, "NO VALID CALL:", exc)
        return 0
    r = attack(a.only, a.timeout, a.verbose)
    by_fn = {}
    for qual, param, label, why in r["fails"]:
        by_fn.setdefault(qual, []).append(f"{param}={label}: {why}")
    print(f"\nfailing cases ({len(r['fails'])}):")
    for qual in sorted(by_fn):
        print(f"  {qual}")
        for line in by_fn[qual]:
            print(f"      {line}")
    if r["novalid"]:
        print(f"\nfunctions without a working valid call (not attacked, {len(r['novalid'])}):")
        for qual, why in r["novalid"]:
            print(f"  {qual}: {why}")
    print(f"\n{r['functions']} functions, {r['cases']} cases, {r['passed']} pass: {r['rate']:.1f} % "
          f"({r['seconds']:.0f} s)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
