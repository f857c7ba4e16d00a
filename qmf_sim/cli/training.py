"""``qmf train-depth``: argument parsing for the trainable-depth sweep of paper 1 (sec. 5, Fig. 3).

    qmf train-depth --preset smoke                 # CPU, digits set, a few minutes
    qmf train-depth --preset paper --data ~/mnist  # the full Fig. 3 protocol (GPU)
    qmf train-depth --preset smoke --depths 2-32:10 --sigma-w 0.5,1.2 --levels 2,4 --steps 400
    qmf train-depth --preset paper --scheduler tcp://host:8786 --out runs/   # on a Dask cluster

The sweep, its analysis and figures are in :mod:`qmf_sim.experiments.trainable_depth` (what it
writes is described there); the ``qmf reproduce`` part ``trainable_depth`` is registered in
:mod:`qmf_sim.experiments`.  Presets (``qmf_sim.sweep.PRESETS``): sigma_w columns are multiples of
sigma_w_opt(N) unless ``--sigma-w`` gives absolute values.
"""
from __future__ import annotations

import argparse

from qmf_sim.cli import _vocab as A

PANELS = ("sigma", "levels")
#: TrainConfig.activation (qmf_sim.training.ACTIVATIONS; a copy: --help imports no numerics, tested equal)
ACTIVATIONS = ("staircase", "tanh", "erf", "relu", "hardtanh")


def _panels(text):
    ps = [p.strip() for p in str(text).split(",")]
    bad = [p for p in ps if p not in PANELS]
    if bad or not ps:
        raise argparse.ArgumentTypeError(f"expected a list of {', '.join(PANELS)}, got {text!r}")
    return tuple(ps)


def _ste_slope(text):
    """``--ste-slope``: ``critical`` (backward gain 1 per run, App. H) or a positive number."""
    t = str(text).strip()
    if t == "critical":
        return t
    try:
        return A.number(0, lo_open=True)(t)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"expected 'critical' or a number > 0 ({exc})") from None


def _check_sizes(plan):
    """The largest run of the sweep against the memory one network needs (qmf_sim.ensemble.member_bytes:
    parameters x 3, activations of a batch, an evaluation chunk), before training (qmf_sym._validate.memory_budget)."""
    from qmf_sim.ensemble import member_bytes
    from qmf_sym._validate import check_bytes

    cfgs = [c for cs in plan.values() for c in cs]
    if not cfgs:
        return
    big = max(cfgs, key=member_bytes)
    flag = "--width" if big.width * big.width >= big.depth * 1000 else "--depths"
    name = (f"argument --width: --width {big.width} (with depth {big.depth})" if flag == "--width"
            else f"argument --depths: depth {big.depth} (with --width {big.width})")
    check_bytes(name, member_bytes(big),
                "one network's parameters x 3, a batch's activations and an evaluation chunk")


def plan_kwargs(args) -> dict:
    """The keyword arguments of :func:`qmf_sim.experiments.trainable_depth.build_plan` for these flags (the
    one translation, for the sweep and for its resume / interrupt counts)."""
    return dict(depths=args.depths, sigma_w=args.sigma_w, levels=args.levels, width=args.width, steps=args.steps,
                lr=args.lr, data=args.data, device=args.device, seed=args.seed, sigma_levels=args.sigma_levels,
                panels=args.panels, ste_slope=args.ste_slope, activation=args.activation)


def _cmd_train_depth(args):
    from qmf_sim.experiments import trainable_depth as E

    out = A.out_dir(args.out)
    kw = plan_kwargs(args)  # build_plan refuses what a continuous --activation cannot take (its messages name the flags)
    # build_plan loads --data (a missing or corrupt one: "data ...", named --data by the CLI), then the sizes
    _check_sizes(E.build_plan(args.preset, **kw))  # before anything trains
    scheduler = None
    if args.scheduler is not None:
        from qmf_sim.sweep import connect

        scheduler = connect(args.scheduler, name="argument --scheduler")  # unreachable: error before training
    try:
        written, results, plan, elapsed = E.run(args.preset, out, scheduler=scheduler,
                                                progress=not args.no_progress, threads=args.threads, **kw)
    finally:
        if scheduler is not None:
            scheduler.close()
    from qmf_sim import io

    fits = io.read_json(out / "fit.json")
    for panel, an in fits.items():
        print(f"[{panel}] test accuracy (rows: depth)")
        print(E.format_grid(an))
    print(f"sweep time {elapsed:.1f} s")
    for p in written:
        print(f"wrote {p}")
    return 0


def add_commands(subparsers):
    from qmf_sim.sweep import PRESETS

    p = subparsers.add_parser(
        "train-depth",
        help="trainable depth vs sigma_w and N (paper 1, Fig. 3): resumable STE training sweep",
        description=__doc__.split("\n\n")[0] + " Presets: " + ", ".join(PRESETS)
        + ". The JSONL results file makes the sweep resumable: re-running trains only missing runs; two "
        "sweeps on one --out share the work. Lists: ITEM[,ITEM...], ITEM = VALUE or START-STOP[:STEP] "
        "(inclusive).",
    )
    p.add_argument("--preset", default="smoke", choices=list(PRESETS), help="preset (default: smoke)")
    p.add_argument("--depths", type=A.int_list(2), help="list of depths (hidden layers >= 2), e.g. 2,4,10-40:10")
    p.add_argument("--sigma-w", type=A.float_list(0, lo_open=True), dest="sigma_w",
                   help="list of absolute sigma_w for the depth x sigma_w panel")
    p.add_argument("--levels", type=A.int_list(2), help="list of N for the depth x N panel, e.g. 2-6,8,10")
    p.add_argument("--sigma-levels", type=A.integer(2), dest="sigma_levels", default=None,
                   help="N of the depth x sigma_w panel (default 10)")
    p.add_argument("--width", type=A.integer(1), help="hidden width")
    p.add_argument("--steps", type=A.integer(1), help="SGD steps")
    p.add_argument("--lr", type=A.number(0, lo_open=True),
                   help="learning rate (paper preset default: 1e-3 / 5e-4 by depth)")
    p.add_argument("--seed", type=A.integer(0), default=0, help="random seed (default 0)")
    p.add_argument("--panels", type=_panels, default=None,
                   help="which grids to run (default sigma,levels; sigma alone for a continuous --activation)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="staircase",
                   help="the network's activation (default: the uniform N-level staircase of the paper); a continuous "
                   "one (true derivative, no STE) runs the depth x sigma_w panel only, its columns multiples of its "
                   "edge-of-chaos sigma_w unless --sigma-w is given")
    p.add_argument("--ste-slope", type=_ste_slope, dest="ste_slope", default=1.0,
                   help="clipped-STE slope: a number (default 1, as in the paper) or 'critical' (per run the slope with "
                   "backward gain 1 at its fixed point, as qmf init prints; paper 1 App. H)")
    p.add_argument("--out", default="results/trainable_depth", help="output directory (results file inside)")
    p.add_argument("--data", default=None, help="'mnist' (real MNIST from the user cache, downloaded and checksum-verified once: "
                   "qmf data mnist) or an MNIST IDX directory (default: $QMF_MNIST_DIR, else sklearn digits)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://host:port (default: in-process)")
    p.add_argument("--device", type=A.device, default=None, help="torch device (default: cuda if present, else cpu)")
    p.add_argument("--threads", type=A.integer(1), default=None, help="torch threads per run (>= 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train_depth)
