"""Each figure and table of the papers as a function a notebook can call (run, analyse, plot).

Modules (no argparse here; files are written only through :mod:`qmf_sim.io`):

* ``netprop`` -- paper 1 Fig. 1 (correlation propagation) and the finite-width scaling;
* ``trainable_depth`` -- paper 1 Fig. 3 (the resumable training sweep and its heat maps);
* ``spacing`` -- paper 1 Fig. 2 and the chi_max / D_opt table; ``sign`` -- the sign-map figure;
* ``ste_figures`` -- paper 2 Figs. 1-5; ``appendices`` -- paper 1 appendices (stochastic rounding, bias, phase
  diagram, optimal activation, large-N law, initialisation, STE NTK).

:data:`PARTS` is the registry of ``qmf reproduce``: part name -> where its function lives, as
``"module:attribute"`` strings, tried in order (a part may list a former home as a fallback while its
new module is being written; none does now).  Modules are imported lazily,
only when a part is resolved, so one missing or broken module does not stop the other parts; the
test suite resolves every part, so an import error is never silently swallowed there.
Every part is ``fn(out_dir: Path, quick: bool) -> list[Path]``.
"""
from __future__ import annotations

import importlib

PARTS: dict[str, tuple[str, ...]] = {
    "spacing": ("qmf_sim.experiments.spacing:reproduce",),
    "sign": ("qmf_sim.experiments.sign:reproduce",),
    "fig1": ("qmf_sim.experiments.netprop:reproduce_fig1",),
    "finite_width": ("qmf_sim.experiments.netprop:reproduce_finite_width",),
    "trainable_depth": ("qmf_sim.experiments.trainable_depth:reproduce",),
    **{f"ste_fig{k}": (f"qmf_sim.experiments.ste_figures:fig{k}",) for k in range(1, 6)},
    "ste_closures": ("qmf_sim.experiments.ste_figures:closure_errors",),
    **{part: (f"qmf_sim.experiments.appendices:reproduce_{part}",)
       for part in ("stochastic_rounding", "bias", "phase", "optimal_activation", "large_n", "init", "ntk")},
    "ste_plateau": ("qmf_sim.experiments.ste_plateau:reproduce",),
    "ste_uses": ("qmf_sim.experiments.ste_uses:reproduce",),
    "activations": ("qmf_sim.experiments.activations:reproduce",),
    "linearisation": ("qmf_sim.experiments.activations:reproduce_linearisation",),
    "generalization": ("qmf_sim.experiments.generalization:reproduce",),
    "cnn": ("qmf_sim.experiments.cnn:reproduce",),
    "residual": ("qmf_sim.experiments.residual:reproduce",),
    "app_h": ("qmf_sim.experiments.app_h:reproduce",),
}


class PartUnavailable(ImportError):
    """A registered part whose function cannot be imported (the reasons of every home tried)."""


def resolve(part: str):
    """The callable of ``part``: the first of its homes that imports and has the attribute.

    A home whose *module itself* does not exist (not yet written) is skipped; any other import
    error (a bug inside an existing module) is raised at once.  Raises ``ValueError`` naming ``part``
    for an unknown part and :class:`PartUnavailable` when no home has it."""
    if not isinstance(part, str) or part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
    reasons = []
    for spec in PARTS[part]:
        mod_name, attr = spec.split(":")
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name != mod_name:
                raise
            reasons.append(f"{mod_name} does not exist")
            continue
        fn = getattr(mod, attr, None)
        if callable(fn):
            return fn
        reasons.append(f"{spec} is not defined")
    raise PartUnavailable(f"part {part!r} is unavailable: " + "; ".join(reasons))


def parts() -> list[str]:
    """Names of all registered parts, in the order ``qmf reproduce`` runs them."""
    return list(PARTS)
