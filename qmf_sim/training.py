"""Training one quantized network: the trainable-depth experiment of paper 1 (sec. 5, Fig. 3).

The protocol of the paper is the default (:class:`TrainConfig`):

* network: :class:`qmf_sim.nn.QuantizedMLP` (eq. 1), ``depth`` hidden layers of width 2048,
  the evenly spaced N-level staircase ``Staircase.uniform(N)`` (sec. 5; N = 10), sigma_b = 0 and
  sigma_w from :func:`qmf_sym.init.sigma_w_opt` (the optimal normalized spacing, eq. 16-17);
* gradients through the activation by the clipped straight-through estimator of eq. 19
  (grad passes where ``|pre-activation| < 1``);
* plain SGD, batch 32, learning rate 1e-3 for depth < 100 and 5e-4 from depth 100 up, 1600 steps;
* test and train accuracy at steps 100, 200, 400, 800, 1600 (plus the last step if it is not one
  of these).

What the paper leaves unsaid, chosen here (every choice is a field of the config, and the record of
each run states all of them):

* ``momentum = 0`` (plain SGD), ``weight_decay = 0``;
* the output layer (readout) is linear, not quantized (``quantize_output=False``; switchable);
* the loss is the mean cross-entropy of the softmax of the logits;
* batches are drawn by ``sampling="epoch"``: a fresh random permutation of the training set per
  epoch, consumed 32 at a time, the incomplete tail dropped (``"replacement"``: i.i.d. uniform
  indices each step);
* train accuracy is measured on a fixed subset of ``train_eval_size = 1000`` training examples (the
  first 1000 of a permutation drawn with seed 0, the same for every run), test accuracy on the whole
  test set;
* biases are trainable (initialised to 0 since sigma_b = 0); weights N(0, sigma_w^2 / fan_in) for
  every layer including the readout (the network's initialisation, sec. 3.1);
* float32 on the device from :func:`qmf_sim.nn.default_device` (CUDA when present).

Any activation: ``activation`` names a continuous activation of :func:`qmf_sym.activations.by_name`
(``tanh``, ``erf``, ``relu``, ``hardtanh``) instead of the staircase; such a network trains with the true
derivative (autograd: no STE), ``levels`` does not apply (``None`` once resolved), and ``sigma_w=None``
means the edge of chaos at ``sigma_b`` (:func:`qmf_sym.maps.edge_of_chaos`, where chi = 1 and xi is
infinite).  Staircase runs keep the keys they had before the field existed.

Divergence: if the loss (or the logits) at a step is NaN or infinite, the run stops and is recorded
with ``status = "diverged"`` and ``diverged_step``; it never raises.

Determinism: the initial weights come from ``seed`` (a private generator inside the network), the
batches from a ``torch.Generator`` seeded with ``seed + 1``; ``torch.manual_seed(seed)`` is set too.
On the CPU two runs with the same config and the same thread count give identical records (apart
from timings); on CUDA the matmuls are not guaranteed bitwise reproducible.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields, replace

from qmf_sym import _validate as V

DEFAULT_EVAL_STEPS = (100, 200, 400, 800, 1600)
PAPER_LR_SHALLOW = 1e-3
PAPER_LR_DEEP = 5e-4
PAPER_LR_SWITCH_DEPTH = 100
TRAIN_EVAL_SEED = 0
EVAL_CHUNK = 2048

# fields of TrainConfig that do not change the result of a run and so stay out of its key (the rules
# only say where sigma_w and lr came from: the same numbers give the same run)
_NON_KEY_FIELDS = ("device", "sigma_w_rule", "lr_rule")
#: ``TrainConfig.activation``: the uniform staircase of ``levels`` states, or a continuous activation by name
ACTIVATIONS = ("staircase", "tanh", "erf", "relu", "hardtanh")

#: The most SGD steps of one run: 10^8 steps of batch 32 are 3.2e9 samples (53 000 epochs of MNIST; the
#: paper's runs take 1600), days at the smallest widths on a CPU.  A larger count is refused as a slip.
STEPS_MAX = 10**8


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run (paper-1 protocol by default).

    ``sigma_w=None`` means sigma_w_opt(N) from qmf_sym (optimal normalized spacing) and ``lr=None``
    the paper's depth rule (1e-3 below depth 100, 5e-4 from 100 up); :meth:`resolved` replaces both
    by numbers.  ``data=None`` means ``$QMF_MNIST_DIR`` if set, else the scikit-learn digits set.
    ``activation``: one of :data:`ACTIVATIONS` (``levels`` is the staircase's N and does not apply to the
    others; ``ste`` and ``ste_slope`` are the staircase's estimator, eq. 19).
    """

    depth: int
    width: int = 2048
    levels: int | None = 10
    sigma_w: float | None = None
    sigma_b: float = 0.0
    lr: float | None = None
    batch_size: int = 32
    steps: int = 1600
    eval_steps: tuple = DEFAULT_EVAL_STEPS
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    loss: str = "cross_entropy"
    ste: str = "clipped"
    ste_slope: float = 1.0
    quantize_output: bool = False
    sampling: str = "epoch"
    train_eval_size: int = 1000
    dtype: str = "float32"
    seed: int = 0
    data: str | None = None
    device: str | None = None
    sigma_w_rule: str = field(default="given")
    lr_rule: str = field(default="given")
    activation: str = "staircase"

    @property
    def staircase(self) -> bool:
        """True for the quantized network (the uniform staircase of ``levels`` states)."""
        return self.activation == "staircase"

    def act(self):
        """The activation of the run (:mod:`qmf_sym.activations`): ``Staircase.uniform(levels)`` or
        ``by_name(activation)``."""
        from qmf_sym.activations import N_MAX, Staircase, by_name

        V.choice("activation", self.activation, ACTIVATIONS)
        if self.staircase:
            return Staircase.uniform(V.integer("levels", self.levels, 2, N_MAX))
        return by_name(self.activation)

    def label(self) -> str:
        """``N10`` for a staircase, the activation's name otherwise (keys, progress bars, figures)."""
        return f"N{self.levels}" if self.staircase else self.activation

    # ------------------------------------------------------------------ validation / resolution
    def validate(self) -> "TrainConfig":
        """Raise ``ValueError`` naming the bad field (before any training starts).

        Sizes: ``levels`` <= ``qmf_sym.activations.N_MAX``; ``steps`` <= :data:`STEPS_MAX`; the weights depth x width^2 and the
        activations batch_size x width x depth are bounded by the memory budget (``qmf_sym._validate.memory_budget``)."""
        from qmf_sym.activations import N_MAX

        depth = V.integer("depth", self.depth, 2)
        width = V.integer("width", self.width, 1)
        V.choice("activation", self.activation, ACTIVATIONS)
        if self.staircase or self.levels is not None:
            V.integer("levels", self.levels, 2, N_MAX)
        if self.sigma_w is not None:
            V.finite("sigma_w", V.sigma("sigma_w", self.sigma_w))
        V.finite("sigma_b", V.sigma("sigma_b", self.sigma_b, zero=True))
        if self.lr is not None:
            V.finite("lr", V.positive("lr", self.lr))
        batch = V.integer("batch_size", self.batch_size, 1)
        V.integer("steps", self.steps, 1, STEPS_MAX)
        V.integers("eval_steps", self.eval_steps, 1, min_len=0)  # empty: the last step only (always evaluated)
        V.size_product(None, [("depth", depth), ("width", width), ("width", width)])
        V.size_product(None, [("batch_size", batch), ("width", width), ("depth", depth)])
        V.choice("optimizer", self.optimizer, {"sgd"})
        V.in_closed("momentum", self.momentum, 0.0, 0.999999)
        V.nonnegative("weight_decay", self.weight_decay)
        V.choice("loss", self.loss, {"cross_entropy"})
        V.choice("ste", self.ste, {"clipped", "identity"})
        V.finite("ste_slope", V.positive("ste_slope", self.ste_slope))
        if not self.staircase and (self.ste != "clipped" or self.ste_slope != 1.0):
            raise ValueError(f"ste and ste_slope apply to the staircase only (eq. 19); activation={self.activation!r} "
                             f"trains with its true derivative, got ste={self.ste!r}, ste_slope={self.ste_slope!r}")
        V.flag("quantize_output", self.quantize_output)
        V.choice("sampling", self.sampling, {"epoch", "replacement"})
        V.integer("train_eval_size", self.train_eval_size, 1)
        V.choice("dtype", self.dtype, {"float32", "float64"})
        V.integer("seed", self.seed, 0)
        if self.data is not None and not isinstance(self.data, (str, os.PathLike)):
            raise ValueError(f"data must be None or a directory path, got {self.data!r}")
        for name in ("sigma_w_rule", "lr_rule"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        V.device_spec("device", self.device)
        if self.device is not None:
            import torch

            try:
                torch.device(self.device)
            except (RuntimeError, TypeError) as exc:
                raise ValueError(f"device must be a torch device string such as 'cpu' or 'cuda', got {self.device!r}") from exc
        return self

    def resolved(self) -> "TrainConfig":
        """A validated copy with sigma_w, lr and the data path turned into concrete values."""
        from .data import resolve_data_dir

        self.validate()
        c = self
        if not c.staircase:
            c = replace(c, levels=None)
        if c.sigma_w is None and c.staircase:
            c = replace(c, sigma_w=sigma_w_opt(c.levels), sigma_w_rule="opt (qmf_sym.init.sigma_w_opt)")
        elif c.sigma_w is None:
            from qmf_sym.maps import edge_of_chaos

            c = replace(c, sigma_w=float(edge_of_chaos(c.act(), c.sigma_b).sigma_w),
                        sigma_w_rule="edge of chaos (qmf_sym.maps.edge_of_chaos)")
        if c.lr is None:
            lr = PAPER_LR_SHALLOW if c.depth < PAPER_LR_SWITCH_DEPTH else PAPER_LR_DEEP
            c = replace(c, lr=lr, lr_rule=f"paper: {PAPER_LR_SHALLOW:g} for depth < {PAPER_LR_SWITCH_DEPTH}, "
                                          f"{PAPER_LR_DEEP:g} from {PAPER_LR_SWITCH_DEPTH} up")
        c = replace(c, data=resolve_data_dir(c.data), eval_steps=tuple(int(s) for s in c.eval_steps),
                    sigma_w=float(c.sigma_w), lr=float(c.lr))
        return c

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eval_steps"] = list(d["eval_steps"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        d = dict(d)
        if "eval_steps" in d:
            d["eval_steps"] = tuple(d["eval_steps"])
        return cls(**d)

    def key(self) -> str:
        """A stable id of the run: hash of every result-relevant field of the *resolved* config."""
        c = self.resolved()
        d = {k: v for k, v in c.to_dict().items() if k not in _NON_KEY_FIELDS}
        if c.staircase:
            del d["activation"]  # the keys of staircase runs are those they had before the field existed
        d["sigma_w"] = float(f"{d['sigma_w']:.12g}")
        blob = json.dumps(d, sort_keys=True)
        h = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return f"L{c.depth}_{c.label()}_sw{c.sigma_w:.4g}_w{c.width}_s{c.seed}_{h}"


def sigma_w_opt(levels: int) -> float:
    """sigma_w at the optimal normalized spacing for ``Staircase.uniform(levels)`` (qmf_sym.init)."""
    from qmf_sym.activations import N_MAX, Staircase
    from qmf_sym.init import sigma_w_opt as _opt

    return float(_opt(Staircase.uniform(V.integer("levels", levels, 2, N_MAX))))


def critical_ste_slope(levels: int, sigma_w: float, sigma_b: float = 0.0) -> float:
    """The clipped-STE slope s (eq. 19) whose backward gain per layer is 1 at the fixed point Q* of
    (``Staircase.uniform(levels)``, sigma_w, sigma_b): ``sigma_w^2 s^2 P(|u| < 1) = 1`` (paper 1, App. J;
    :func:`qmf_sym.backward.jacobian_moment_at_fixed_point`).  At sigma_w = sigma_w_opt it is the
    ``ste_slope`` of :func:`qmf_sym.init.critical_init` (``qmf init``)."""
    from qmf_sym.activations import N_MAX, Staircase
    from qmf_sym.backward import jacobian_moment_at_fixed_point

    act = Staircase.uniform(V.integer("levels", levels, 2, N_MAX))
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    m = float(jacobian_moment_at_fixed_point(act, sigma_w, sigma_b))
    return 1.0 / math.sqrt(m)


def check_config(cfg, name: str = "cfg") -> "TrainConfig":
    """``cfg`` validated (:meth:`TrainConfig.validate`); ValueError naming ``name`` if it is not a
    :class:`TrainConfig`."""
    V.label("name", name)
    if not isinstance(cfg, TrainConfig):
        raise ValueError(f"{name} must be a qmf_sim.training.TrainConfig, got {type(cfg).__name__}")
    return cfg.validate()


def check_configs(configs, name: str = "configs") -> list:
    """A list of validated :class:`TrainConfig` (ValueError naming ``name`` otherwise; an empty list
    is a sweep with nothing left to run)."""
    if isinstance(configs, (str, bytes, dict)) or not hasattr(configs, "__iter__"):
        raise ValueError(f"{name} must be a list of TrainConfig, got {configs!r}"[:200])
    return [check_config(c, name) for c in configs]


THEORY_FIELDS = ("Q", "C", "chi", "xi")


def theory(levels, sigma_w: float, sigma_b: float = 0.0) -> dict:
    """Mean-field predictions for the run: Q*, C*, chi and xi (eq. 7) at the fixed point, and a status.

    ``levels``: N of ``Staircase.uniform(N)``, or any activation of :mod:`qmf_sym.activations`.

    ``status``: ``"ok"``; ``"non_finite"`` when some of them are not finite numbers in float64 (e.g.
    chi = inf at C* = 1 for sigma_b >> sigma_w) -- those fields are ``None``, the finite ones stay;
    ``"unavailable"`` when ``fixed_point`` has no answer (no non-trivial fixed point, or its
    arithmetic overflows for a huge sigma_w) -- every field ``None`` and ``error`` says why.
    A training run is never lost to its theory: the record is written in every case.
    """
    from qmf_sym.activations import N_MAX, Activation, Staircase
    from qmf_sym.maps import fixed_point

    act = levels if isinstance(levels, Activation) else Staircase.uniform(V.integer("levels", levels, 2, N_MAX))
    sigma_w = V.finite("sigma_w", V.sigma("sigma_w", sigma_w))
    sigma_b = V.finite("sigma_b", V.sigma("sigma_b", sigma_b, zero=True))
    try:
        fp = fixed_point(act, sigma_w, sigma_b)
        vals = {k: float(getattr(fp, k)) for k in THEORY_FIELDS}
    except (ValueError, ArithmeticError) as exc:
        return {**dict.fromkeys(THEORY_FIELDS), "status": "unavailable", "error": f"{type(exc).__name__}: {exc}"}
    bad = [k for k, v in vals.items() if not math.isfinite(v)]
    if bad:
        out = {k: (None if k in bad else v) for k, v in vals.items()}
        return {**out, "status": "non_finite", "error": "not finite in float64: " + ", ".join(
            f"{k} = {vals[k]}" for k in bad)}
    return {**vals, "status": "ok"}


# ---------------------------------------------------------------------------------- one run
def _accuracy(model, x, y):
    import torch

    correct = 0
    finite = True
    with torch.no_grad():
        for i in range(0, len(y), EVAL_CHUNK):
            logits = model(x[i:i + EVAL_CHUNK])
            finite = finite and bool(torch.isfinite(logits).all())
            correct += int((logits.argmax(1) == y[i:i + EVAL_CHUNK]).sum())
    return correct / len(y), finite


class _Batches:
    def __init__(self, n, batch_size, sampling, generator):
        self.n, self.bs, self.sampling, self.gen = n, min(batch_size, n), sampling, generator
        self.perm, self.pos = None, n

    def next(self):
        import torch

        if self.sampling == "replacement":
            return torch.randint(self.n, (self.bs,), generator=self.gen)
        if self.pos + self.bs > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.gen), 0
        idx = self.perm[self.pos:self.pos + self.bs]
        self.pos += self.bs
        return idx



def device_data(dataset, train_eval_size: int, dtype, dev):
    """The data of one run (or one ensemble) on its device: train and test tensors and the fixed
    train-accuracy subset (``train_eval_size`` examples drawn with :data:`TRAIN_EVAL_SEED`, the same
    for every run)."""
    import torch

    x_tr = torch.as_tensor(dataset.x_train, dtype=dtype, device=dev)
    y_tr = torch.as_tensor(dataset.y_train, device=dev)
    x_te = torch.as_tensor(dataset.x_test, dtype=dtype, device=dev)
    y_te = torch.as_tensor(dataset.y_test, device=dev)
    n_sub = min(train_eval_size, len(y_tr))
    sub = torch.randperm(len(y_tr), generator=torch.Generator().manual_seed(TRAIN_EVAL_SEED))[:n_sub].to(dev)
    return x_tr, y_tr, x_te, y_te, x_tr[sub], y_tr[sub]


def run_training(config: TrainConfig, dataset=None, progress: bool = False, threads: int | None = None,
                 device=None, model_factory=None) -> dict:
    """Train one network and return its record (a JSON-serialisable dict).

    The record holds ``key``, the full resolved ``config``, the ``data`` description, the
    ``theory`` (xi etc.), ``status`` ("ok" or "diverged"), ``diverged_step``, the ``checkpoints``
    (step, test_acc, train_acc, mean training loss since the previous checkpoint),
    ``final_test_acc`` / ``final_train_acc`` (at the last checkpoint reached; ``None`` if diverged),
    and the execution facts (device, torch version, threads, wall time, steps per second).

    ``model_factory(cfg, dataset, dtype, device)``: builds the network instead of the default
    :class:`qmf_sim.nn.QuantizedMLP` (e.g. the residual network of :mod:`qmf_sim.architectures`); the
    caller then keys and labels its records (the config does not name the architecture).
    """
    import torch

    if threads is None:
        return _run_training(config, dataset, progress, device, model_factory)
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))  # ``threads`` torch threads for this run only
    try:
        return _run_training(config, dataset, progress, device, model_factory)
    finally:
        torch.set_num_threads(before)


def _run_training(config, dataset, progress, device, model_factory=None):
    import torch

    from .data import load_dataset
    from .nn import QuantizedMLP, default_device

    cfg = config.resolved()
    if dataset is None:
        dataset = load_dataset(cfg.data)
    dev = torch.device(device or cfg.device or default_device())
    dtype = getattr(torch, cfg.dtype)

    torch.manual_seed(cfg.seed)
    x_tr, y_tr, x_te, y_te, x_sub, y_sub = device_data(dataset, cfg.train_eval_size, dtype, dev)

    if model_factory is not None:
        model = model_factory(cfg, dataset, dtype, dev)
    else:
        model = QuantizedMLP(dataset.n_features, cfg.width, cfg.depth, dataset.n_classes, cfg.act(),
                             cfg.sigma_w, cfg.sigma_b, ste=cfg.ste, ste_slope=cfg.ste_slope,
                             quantize_output=cfg.quantize_output, dtype=dtype, device=dev, seed=cfg.seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    batches = _Batches(len(y_tr), cfg.batch_size, cfg.sampling, torch.Generator().manual_seed(cfg.seed + 1))
    eval_at = sorted({s for s in cfg.eval_steps if s <= cfg.steps} | {cfg.steps})

    checkpoints, status, div_step = [], "ok", None
    loss_sum, loss_n = 0.0, 0
    t0 = time.perf_counter()
    t_train = 0.0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, desc=f"L={cfg.depth} {cfg.label()} sw={cfg.sigma_w:.3g}", unit="step",
                   leave=False, mininterval=0.5)
    step = 0
    try:
        for step in range(1, cfg.steps + 1):
            ts = time.perf_counter()
            idx = batches.next().to(dev)
            logits = model(x_tr[idx])
            loss = torch.nn.functional.cross_entropy(logits, y_tr[idx])
            lv = float(loss.detach())
            if not math.isfinite(lv) or not bool(torch.isfinite(logits).all()):
                status, div_step = "diverged", step
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            t_train += time.perf_counter() - ts
            loss_sum += lv
            loss_n += 1
            if bar is not None:
                bar.update(1)
            if step in eval_at:
                te, f1 = _accuracy(model, x_te, y_te)
                tr, f2 = _accuracy(model, x_sub, y_sub)
                checkpoints.append({"step": step, "test_acc": te, "train_acc": tr,
                                    "train_loss": loss_sum / max(loss_n, 1)})
                loss_sum, loss_n = 0.0, 0
                if not (f1 and f2):
                    status, div_step = "diverged", step
                    break
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    n_done = step if status == "ok" else max(div_step - 1, 0)
    return make_record(cfg, dataset, status, div_step, checkpoints, {
        "device": str(dev),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "host": platform.node(),
        "wall_s": wall,
        "train_steps_done": n_done,
        "steps_per_s": n_done / t_train if t_train > 0 else None,
    })


PAPER_DEFAULTS = ("width 2048, SGD, batch 32, lr 1e-3 (<100 layers) / 5e-4, 1600 steps, "
                  "sigma_b 0, sigma_w opt, clipped STE eq. 19, N=10")


def make_record(cfg: TrainConfig, dataset, status: str, div_step, checkpoints: list, run: dict) -> dict:
    """The record of one run (the one writer of its fields, for :func:`run_training` and the ensembles of
    :mod:`qmf_sim.ensemble`): ``cfg`` resolved, ``run`` the execution facts (device, wall time, ...)."""
    ok = status == "ok"
    return {
        "key": cfg.key(),
        "config": cfg.to_dict(),
        "data": dataset.info(),
        "theory": theory(cfg.act(), cfg.sigma_w, cfg.sigma_b),
        "status": status,
        "diverged_step": div_step,
        "checkpoints": checkpoints,
        "final_step": checkpoints[-1]["step"] if checkpoints else None,
        "final_test_acc": checkpoints[-1]["test_acc"] if (ok and checkpoints) else None,
        "final_train_acc": checkpoints[-1]["train_acc"] if (ok and checkpoints) else None,
        "chance": 1.0 / dataset.n_classes,
        "run": {**run, "paper_defaults": PAPER_DEFAULTS},
    }


def accuracy_for_plot(record: dict) -> float:
    """Final test accuracy, with a diverged run counted at chance level (1 / n_classes)."""
    if not isinstance(record, dict):
        raise ValueError(f"record must be a run record (a dict), got {record!r}"[:200])
    acc = record.get("final_test_acc")
    return float(record.get("chance", 0.1)) if acc is None else float(acc)


def summarize(record: dict) -> dict:
    """One flat row for CSV summaries (of a record of :func:`run_training`)."""
    missing = [k for k in ("key", "config", "status", "diverged_step", "final_test_acc", "final_train_acc", "run")
               if not isinstance(record, dict) or k not in record]
    if missing:
        raise ValueError(f"record must be a run record of run_training; missing {missing}")
    c = record["config"]
    return {
        "key": record["key"], "depth": c["depth"], "activation": c.get("activation", "staircase"),
        "levels": c["levels"], "sigma_w": c["sigma_w"],
        "width": c["width"], "steps": c["steps"], "lr": c["lr"], "seed": c["seed"],
        "xi": record.get("theory", {}).get("xi"), "status": record["status"],
        "diverged_step": record["diverged_step"], "final_test_acc": record["final_test_acc"],
        "final_train_acc": record["final_train_acc"], "wall_s": record["run"]["wall_s"],
        "steps_per_s": record["run"]["steps_per_s"],
    }
