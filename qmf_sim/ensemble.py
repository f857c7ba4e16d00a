"""Ensemble training: many runs of one shape trained together as ONE batched model.

The runs of a trainable-depth sweep that share the shape of their network and of their protocol
(depth, width, batch size, steps, evaluation steps, dtype, data, device: :func:`ensemble_key`) are
stacked: the weights of layer l of the M members form one tensor (M, n_out, n_in) and every layer is
one batched product (``torch.baddbmm``), so one SGD step of the ensemble costs about as many kernel
launches and Python operations as one step of one network.  Everything else stays per member:

* its own sigma_w, sigma_b and seed (the initial draw of :func:`qmf_sim.nn.init_draws`, the same
  numbers as the run alone), its own staircase (``Staircase.uniform(levels)``: the offsets, rounded up
  to the dtype as in :func:`qmf_sim.nn.staircase_forward`, and levels are padded to a common length
  with +inf / the top level: :func:`qmf_sim.nn.stacked_staircase_forward`, the batched face of the one
  lookup, bit for bit the values of the single network's), its own STE
  (clip bound 1 for 'clipped', none for 'identity') and slope, learning rate, momentum, weight decay;
* its own batches (a ``torch.Generator`` seeded with seed + 1, the sampler of :mod:`qmf_sim.training`);
* its loss: the ensemble minimises the SUM of the members' mean cross-entropies, whose gradient with
  respect to a member's parameters is exactly that member's own gradient (members share no
  parameter);
* its fate: a member whose loss or logits stop being finite is recorded as diverged at that step (the
  rule of :func:`qmf_sim.training.run_training`) and dropped from the stacks (the step is redone for
  the survivors, so a NaN never reaches their gradients); the others go on.

Result: the records of :func:`qmf_sim.training.run_training` (:func:`qmf_sim.training.make_record`),
equal to those of the runs trained alone up to float rounding (batched vs single products, the loss's
own pass, the fused update; tested in float64 in tests/test_ensemble.py), plus ``run.ensemble`` (size,
position).  The SGD step is ``torch.optim.SGD``'s rule written out with per-member coefficients (dampening
0, no Nesterov).

One step, without autograd: the forward pass keeping each layer's input and STE gain, every
intermediate in a buffer reused from step to step; the members' losses and their gradient at the logits
in one pass (``qmf_sim.nn._stacked_cross_entropy``: (softmax - onehot) / B, autograd's to float
rounding, tested); the layers' gradients by hand (:meth:`StackedMLP.backward`: the very products autograd
runs, so the same numbers bit for bit, tested).  Plain SGD (no momentum, no weight decay: the defaults of
TrainConfig) is fused into the weight-gradient product, W += (-lr) h^T g as one in-place ``baddbmm_`` per layer
once its input gradient is formed (the update SGD makes, to float rounding: the product and the update
round together); with momentum or weight decay the weight gradient goes into one reused buffer per shape
and ``torch.optim.SGD``'s rule is applied to it (no fresh gradient tensors: at width 2048 a fresh 150 MB
gradient per layer and step cost page faults comparable to a product).  benchmarks/bench_ensemble.py
measures the step against its ceiling, the rate of the same batched products alone.

Memory: the stacks hold M times one network's parameters, gradients, momentum buffers and
activations; :func:`split_ensembles` cuts a group into ensembles within a byte budget
(:func:`member_bytes`).
"""
from __future__ import annotations

import math
import platform
import time

import numpy as np

from qmf_sym import _validate as V

from .training import EVAL_CHUNK, TrainConfig, _Batches, check_config, check_configs, device_data, make_record

__all__ = ["ensemble_key", "group_configs", "member_bytes", "split_ensembles", "train_ensemble",
           "StackedMLP"]

# fields that must agree between the members of one ensemble (the rest is per member)
SHARED_FIELDS = ("depth", "width", "batch_size", "steps", "eval_steps", "dtype", "data", "train_eval_size",
                 "quantize_output", "loss", "optimizer", "device", "activation")


def ensemble_key(cfg: TrainConfig) -> tuple:
    """The fields a run shares with the other members of its ensemble (:data:`SHARED_FIELDS`)."""
    cfg = check_config(cfg)
    return tuple((k, getattr(cfg, k)) for k in SHARED_FIELDS)


def group_configs(configs) -> list[list[TrainConfig]]:
    """The (resolved) configs grouped by :func:`ensemble_key`, groups and members in first-seen order.
    Given an empty list (a finished sweep: :func:`qmf_sim.sweep.run_sweep` passes its pending runs), no
    groups: ``[]``."""
    configs = check_configs(configs)
    groups: dict = {}
    for c in configs:
        groups.setdefault(ensemble_key(c), []).append(c)
    return list(groups.values())


def member_bytes(cfg: TrainConfig, n_in: int = 784, n_out: int = 10, eval_rows: int = EVAL_CHUNK) -> int:
    """Bytes one member needs: parameters, gradients and momentum (3 copies), training activations
    (pre-activations, STE gains and outputs of every layer for one batch) and one evaluation chunk."""
    cfg, n_in, n_out, eval_rows = check_config(cfg), *(V.integer(k, v, 1) for k, v in (("n_in", n_in), ("n_out", n_out), ("eval_rows", eval_rows)))  # noqa: E501
    item = 8 if cfg.dtype == "float64" else 4
    w = cfg.width
    params = n_in * w + (cfg.depth - 1) * w * w + w * n_out + cfg.depth * w + n_out
    acts = 3 * cfg.depth * cfg.batch_size * w + 2 * eval_rows * w
    return int(item * (3 * params + acts))


def default_budget(device) -> int:
    """Bytes an ensemble may use on ``device``: 60 % of a CUDA device's memory, a quarter of the RAM."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return int(0.6 * torch.cuda.get_device_properties(dev).total_memory)
    try:
        import os

        return int(0.25 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4 << 30


def split_ensembles(configs, max_members: int | None = None, budget_bytes: int | None = None, n_in: int = 784,
                    n_out: int = 10) -> list[list[TrainConfig]]:
    """:func:`group_configs`, each group cut into ensembles of at most ``max_members`` members whose
    :func:`member_bytes` sum stays within ``budget_bytes`` (at least one member per ensemble).  Given
    an empty list (nothing left to train), no ensembles: ``[]``."""
    if max_members is not None:
        max_members = V.integer("max_members", max_members, 1)
    configs, n_in, n_out = check_configs(configs), V.integer("n_in", n_in, 1), V.integer("n_out", n_out, 1)
    budget_bytes = None if budget_bytes is None else V.integer("budget_bytes", budget_bytes, 1)
    out = []
    for grp in group_configs(configs):
        per = member_bytes(grp[0], n_in, n_out)
        k = len(grp) if budget_bytes is None else max(1, int(budget_bytes) // max(per, 1))
        if max_members is not None:
            k = min(k, max_members)
        out += [grp[i:i + k] for i in range(0, len(grp), k)]
    return out


# ---------------------------------------------------------------------------------- the stacked model
class StackedMLP:
    """M networks of eq. 1 (:class:`qmf_sim.nn.QuantizedMLP`, same sizes) as stacked tensors.

    ``Ws[l]``: (M, n_in, n_out) (each member's W^(l) transposed, so that forward and backward products
    run on contiguous operands), ``bs[l]``: (M, n_out).  Per-member tables: staircase offsets/levels
    (padded), STE clip bound and slope.  :meth:`keep` drops members.

    Forward: every member's staircase (:func:`qmf_sim.nn.stacked_staircase_forward`, exact); backward
    (:meth:`backward`, written out: the products autograd would run, without its graph): the STE
    multiplies the incoming gradient by gain = ``slope * 1[|x| < clip]`` (clip = 1: eq. 19's clipped STE;
    inf: identity STE), bit for bit autograd's result for this model (tested).  A continuous activation
    (``TrainConfig.activation``, one per ensemble): its torch op forward and its derivative phi'(x) as the
    gain (:func:`qmf_sim.nn.activation_with_derivative`), autograd's result to float rounding (tested).

    ``device``: where the stacks live (``'cpu'``, ``'cuda:0'``, a ``torch.device``); ``device=None`` is
    the CPU, as for :class:`qmf_sim.nn.QuantizedMLP` and :class:`qmf_sim.nn.StackedTables` (the weights and
    the staircase tables on one device, whatever torch's default device)."""

    def __init__(self, configs, n_in, n_out, dtype, device):
        import torch

        from qmf_sym import _validate as V
        from qmf_sym.activations import Staircase

        from .nn import StackedTables, init_draws
        from .training import check_configs

        configs = check_configs(configs)
        if not configs:
            raise ValueError("configs must hold at least one TrainConfig (the members of the ensemble)")
        if any(ensemble_key(c) != ensemble_key(configs[0]) for c in configs):
            raise ValueError("configs must share one ensemble shape (ensemble_key: width, depth, data, steps...); "
                             "group them with group_configs")
        n_in = V.integer("n_in", n_in, 1)
        n_out = V.integer("n_out", n_out, 1)
        V.torch_float_dtype("dtype", dtype)
        V.device_spec("device", device)
        device = torch.device(device) if device is not None else torch.device("cpu")
        sizes = [n_in] + [configs[0].width] * configs[0].depth + [n_out]
        w = configs[0].width
        V.size_product("n_in", [("members", len(configs)), ("n_in", n_in), ("width", w)])
        V.size_product("n_out", [("members", len(configs)), ("width", w), ("n_out", n_out)])
        V.size_product("configs", [("members", len(configs)), ("weights per member",
                                                               sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))])
        self.M = len(configs)
        self.dtype, self.device = dtype, device
        self.Ws = [torch.empty((self.M, a, b), dtype=dtype, device=device) for a, b in zip(sizes[:-1], sizes[1:])]
        self.bs = [torch.empty((self.M, b), dtype=dtype, device=device) for b in sizes[1:]]
        for m, c in enumerate(configs):
            for l, (w, b) in enumerate(init_draws(sizes, c.sigma_w, c.sigma_b, c.seed)):
                self.Ws[l][m].copy_(w.T)
                self.bs[l][m].copy_(b)
        self.act = configs[0].act()  # one activation per ensemble (ensemble_key); a staircase's N per member
        self.staircase = isinstance(self.act, Staircase)
        self.tab = StackedTables([c.act() for c in configs], dtype, device) if self.staircase else None
        self.clip = torch.tensor([1.0 if c.ste == "clipped" else math.inf for c in configs], dtype=dtype,
                                 device=device)
        self.slope = torch.tensor([c.ste_slope for c in configs], dtype=dtype, device=device)
        self.quantize_output = configs[0].quantize_output
        # a step's intermediates by role (:meth:`_buf`), rows of ones by batch, the pass's arguments, views
        self._bufs, self._ones, self._args, self._lv = {}, {}, {}, None

    def params(self):
        return self.Ws + self.bs

    def gain(self, a):
        """The STE gain ``slope * 1[|a| < clip]`` of each member (a: (M, ...)): :func:`qmf_sim.nn.stacked_ste_gain`."""
        from .nn import stacked_ste_gain

        return stacked_ste_gain(a, self.clip, self.slope)

    def _buf(self, key, shape):
        """A reused tensor of ``shape`` (this dtype and device) under ``key``: the step's intermediates
        (pre-activations, staircase outputs, STE gains, input gradients) are written into the same memory
        every step instead of fresh tensors."""
        import torch

        t = self._bufs.get(key)
        if t is None or t.shape != shape:
            t = self._bufs[key] = torch.empty(shape, dtype=self.dtype, device=self.device)
        return t

    def _views(self):
        """Per layer (b[:, None, :], W^T): the views a step reads, made once (again after :meth:`keep`)."""
        if self._lv is None:
            self._lv = [(b[:, None, :], W.transpose(1, 2)) for W, b in zip(self.Ws, self.bs)]
        return self._lv

    def forward(self, x, saved=None):
        """Logits (M, B, n_out) for inputs ``x``: (M, B, n_in) per member, or (B, n_in) shared.

        ``saved``: a list that receives, per layer, its input and the STE gain of its output (None where
        the output is not quantized), for :meth:`backward`.  With ``saved`` (a training step) every
        layer's pre-activation, output and gain lie in reused buffers (:meth:`_buf`): the logits and the
        saved tensors of one step are overwritten by the next step's forward."""
        import torch

        from .nn import (
            _stacked_pass,
            _stacked_pass_args,
            _stacked_ste,
            activation_forward,
            activation_with_derivative,
            stacked_staircase_forward,
        )

        h = x
        L = len(self.Ws)
        train = saved is not None and x.dim() == 3
        views = self._views()
        for l in range(L):
            W, b = self.Ws[l], views[l][0]
            if h.dim() == 2:  # a shared input (evaluation): one product against every member
                a = torch.matmul(h, W) + b
            elif train:
                a = torch.baddbmm(b, h, W, out=self._buf(("a", l), (h.shape[0], h.shape[1], W.shape[2])))
            else:
                a = torch.baddbmm(b, h, W)
            quantized = l < L - 1 or self.quantize_output
            if not quantized:
                if saved is not None:
                    saved.append((h, None))
                h = a
                continue
            if not self.staircase:  # a continuous activation: phi' from autograd (no STE)
                if saved is None:
                    h = activation_forward(a, self.act)
                    continue
                phi, gain = activation_with_derivative(a, self.act)
            elif saved is None:
                h = stacked_staircase_forward(a, self.tab)
                continue
            elif not train:  # clip and slope checked once, in __init__
                phi, gain = _stacked_ste(a, self.tab, self.clip, self.slope)
            else:  # the numba pass's arguments made once per buffer (the same every step)
                c = self._args.get(l)
                if c is None or c[0] is not a:
                    out, gn = self._buf(("phi", l), a.shape), self._buf(("gain", l), a.shape)
                    c = self._args[l] = (a, out, gn, _stacked_pass_args(a, self.tab, self.clip, self.slope, out, gn))
                if c[3] is None:
                    phi, gain = _stacked_ste(a, self.tab, self.clip, self.slope, c[1], c[2])
                else:
                    _stacked_pass()(*c[3])
                    phi, gain = c[1], c[2]
            saved.append((h, gain))
            h = phi
        return h

    __call__ = forward

    def backward(self, g, saved, update=None, neg_lr=None):
        """Back-propagate ``g`` (the loss gradient at the logits; overwritten) through the layers recorded in
        ``saved`` by :meth:`forward`, top layer first.  The products are autograd's for
        ``baddbmm(b, h, W)``: grad_W = h^T g, grad_h = g W^T, grad_b = sum of g over the batch.

        Either ``update(l, grad_W, grad_b)``, called for layer l once its input gradient is formed (so it
        may change ``Ws[l]`` in place; grad_W lies in one reused buffer per shape), or ``neg_lr``: plain SGD
        (no momentum, no weight decay) fused into the weight-gradient product, W += (-lr) h^T g by one
        in-place ``baddbmm_`` and b += (-lr) 1^T g likewise, with ``neg_lr`` a float (every member's -lr)
        or an (M,) tensor (per member: g scaled by -lr_m first); the update SGD makes, to float rounding
        (the product and the update round once together; tested against the one-network trainer)."""
        import torch

        if (update is None) == (neg_lr is None):
            raise ValueError("backward takes exactly one of update and neg_lr")
        per_member = isinstance(neg_lr, torch.Tensor)
        views = self._views()
        for l in reversed(range(len(self.Ws))):
            h, gain = saved[l]
            if gain is not None:
                g = g.mul_(gain)  # g is this step's own tensor (the loss's gradient or a buffer): in place
            W = self.Ws[l]
            # into alternating buffers: layer l's input gradient must not overwrite g, layer l+1's
            gh = torch.bmm(g, views[l][1], out=self._buf(("gh", l % 2), h.shape)) if l > 0 else None
            if neg_lr is None:
                gW = torch.bmm(h.transpose(1, 2), g, out=self._buf(("gW", W.shape), W.shape))
                update(l, gW, g.sum(1))
            else:
                ones = self._ones.get(g.shape[1])
                if ones is None or ones.shape[0] != g.shape[0]:
                    ones = self._ones[g.shape[1]] = torch.ones((g.shape[0], 1, g.shape[1]), dtype=g.dtype,
                                                               device=g.device)
                if per_member:
                    gs = torch.mul(g, neg_lr.view(-1, 1, 1), out=self._buf(("gs", g.shape), g.shape))
                    W.baddbmm_(h.transpose(1, 2), gs)
                    views[l][0].baddbmm_(ones, gs)
                else:
                    W.baddbmm_(h.transpose(1, 2), g, alpha=neg_lr)
                    views[l][0].baddbmm_(ones, g, alpha=neg_lr)
            g = gh

    def keep(self, idx):
        """Keep only the members ``idx`` (a list of positions)."""
        import torch

        sel = torch.as_tensor(idx, dtype=torch.long, device=self.device)
        self.Ws = [W[sel] for W in self.Ws]
        self.bs = [b[sel] for b in self.bs]
        self.tab = self.tab.select(sel) if self.tab is not None else None
        self.clip, self.slope = self.clip[sel], self.slope[sel]
        self.M = len(idx)
        self._bufs, self._ones, self._args, self._lv = {}, {}, {}, None
        return sel


def _accuracies(model, x, y):
    """Per-member accuracy on (x, y) and whether all their logits were finite (chunks of EVAL_CHUNK)."""
    import torch

    correct = torch.zeros(model.M, dtype=torch.long, device=x.device)
    finite = torch.ones(model.M, dtype=torch.bool, device=x.device)
    with torch.no_grad():
        for i in range(0, len(y), EVAL_CHUNK):
            logits = model(x[i:i + EVAL_CHUNK])
            finite &= torch.isfinite(logits).flatten(1).all(1)
            correct += (logits.argmax(2) == y[i:i + EVAL_CHUNK]).sum(1)
    return (correct.double() / len(y)).tolist(), finite.tolist()


# ---------------------------------------------------------------------------------- training
def train_ensemble(configs, dataset=None, progress: bool = False, threads: int | None = None, device=None,
                   on_record=None) -> list[dict]:
    """Train the runs ``configs`` (same :func:`ensemble_key`) as one ensemble; their records, in order.

    ``on_record(record)`` is called as soon as a member's record is final (a diverged member at once,
    the others at the end), so a sweep saves finished members even if the ensemble is interrupted.
    ``threads``: torch threads for this call (``None``: leave torch's default)."""
    import torch

    cfgs = [c.resolved() for c in configs]
    if not cfgs:
        raise ValueError("configs must hold at least one run")
    keys = {ensemble_key(c) for c in cfgs}
    if len(keys) > 1:
        raise ValueError(f"configs of one ensemble must share {', '.join(SHARED_FIELDS)}")
    if threads is None:
        return _train(cfgs, dataset, progress, device, on_record)
    before = torch.get_num_threads()
    torch.set_num_threads(V.integer("threads", threads, 1))
    try:
        return _train(cfgs, dataset, progress, device, on_record)
    finally:
        torch.set_num_threads(before)


def _train(cfgs, dataset, progress, device, on_record):
    import torch

    from .data import load_dataset
    from .nn import _stacked_ce, default_device

    c0 = cfgs[0]
    if dataset is None:
        dataset = load_dataset(c0.data)
    dev = torch.device(device or c0.device or default_device())
    dtype = getattr(torch, c0.dtype)
    x_tr, y_tr, x_te, y_te, x_sub, y_sub = device_data(dataset, c0.train_eval_size, dtype, dev)

    model = StackedMLP(cfgs, dataset.n_features, dataset.n_classes, dtype, dev)
    M0 = len(cfgs)
    members = list(range(M0))  # positions (in cfgs) of the members still training
    vec = lambda vals: torch.tensor(vals, dtype=dtype, device=dev)  # noqa: E731
    lr = vec([c.lr for c in cfgs])
    mom = vec([c.momentum for c in cfgs])
    wd = vec([c.weight_decay for c in cfgs])
    use_mom = any(c.momentum > 0 for c in cfgs)
    use_wd = any(c.weight_decay > 0 for c in cfgs)
    bufs = None
    samplers = [_Batches(len(y_tr), c.batch_size, c.sampling, torch.Generator().manual_seed(c.seed + 1)) for c in cfgs]
    eval_at = sorted({s for s in c0.eval_steps if s <= c0.steps} | {c0.steps})

    checkpoints = [[] for _ in cfgs]
    status = ["ok"] * M0
    div_step = [None] * M0
    loss_sum = np.zeros(M0)
    loss_n = np.zeros(M0, dtype=np.int64)
    records = [None] * M0
    t0 = time.perf_counter()
    t_train = 0.0
    facts = lambda: {  # noqa: E731
        "device": str(dev), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "host": platform.node()}

    def finish(m, n_done, wall, sps):
        run = {**facts(), "wall_s": wall, "train_steps_done": n_done, "steps_per_s": sps,
               "ensemble": {"members": M0, "position": m}}
        records[m] = make_record(cfgs[m], dataset, status[m], div_step[m], checkpoints[m], run)
        if on_record is not None:
            on_record(records[m])

    L = len(model.Ws)
    fused = not (use_mom or use_wd)  # plain SGD: the update fused into the weight-gradient product
    neg_lr = None
    at = np.arange(M0)  # positions (in cfgs) of the members, as an index into loss_sum / loss_n

    def rates():
        """-lr for the fused step: one float when every member has the same rate, else the (M,) tensor."""
        nonlocal neg_lr
        vals = lr.tolist()
        neg_lr = -vals[0] if all(v == vals[0] for v in vals) else -lr

    def update(l, gW, gb):
        """torch.optim.SGD's rule (dampening 0, no Nesterov) with momentum or weight decay, per member
        coefficients."""
        nonlocal bufs
        if bufs is None:
            bufs = [None] * (2 * L)  # in the order of model.params(): Ws, then bs
        for i, p, g in ((l, model.Ws[l], gW), (L + l, model.bs[l], gb)):
            shape = (-1,) + (1,) * (p.dim() - 1)
            if use_wd:
                g = g + wd.view(shape) * p
            if use_mom:
                bufs[i] = g.clone() if bufs[i] is None else bufs[i].mul_(mom.view(shape)).add_(g)
                g = bufs[i]
            p.addcmul_((-lr).view(shape), g)

    rates()

    def drop(dead, step):
        """Record the members at positions ``dead`` (of ``members``) as diverged at ``step``; compact."""
        nonlocal lr, mom, wd, bufs, at
        for j in dead:
            m = members[j]
            status[m], div_step[m] = "diverged", step
        keep = [j for j in range(len(members)) if j not in set(dead)]
        gone = [members[j] for j in dead]
        members[:] = [members[j] for j in keep]
        if keep:
            sel = model.keep(keep)
            lr, mom, wd = lr[sel], mom[sel], wd[sel]
            if bufs is not None:
                bufs = [b[sel] for b in bufs]
            rates()
        wall = time.perf_counter() - t0
        at = np.array(members, dtype=np.intp)
        for m in gone:
            finish(m, max(step - 1, 0), wall, (step - 1) / t_train if t_train > 0 else None)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=c0.steps, desc=f"L={c0.depth} ensemble of {M0}", unit="step", leave=False, mininterval=0.5)
    step = 0
    try:
        for step in range(1, c0.steps + 1):
            if not members:
                break
            ts = time.perf_counter()
            idx = torch.stack([samplers[m].next() for m in members]).to(dev)
            while True:  # redone without the members that diverge at this step
                saved = []
                M, B = idx.shape
                flat = idx.view(-1)
                logits = model(x_tr.index_select(0, flat).view(M, B, -1), saved)
                per, g_logits, ok = _stacked_ce(logits, y_tr.index_select(0, flat).view(M, B))
                okl = ok.tolist()
                if all(okl):
                    break
                dead = [j for j, v in enumerate(okl) if not v]
                keep = [j for j, v in enumerate(okl) if v]
                drop(dead, step)
                if not members:
                    break
                idx = idx[torch.as_tensor(keep, device=dev)]
            if not members:
                break
            if fused:
                model.backward(g_logits, saved, neg_lr=neg_lr)
            else:
                model.backward(g_logits, saved, update)
            del saved, g_logits
            t_train += time.perf_counter() - ts
            loss_sum[at] += per.cpu().numpy()
            loss_n[at] += 1
            if bar is not None:
                bar.update(1)
            if step in eval_at:
                te, f1 = _accuracies(model, x_te, y_te)
                tr, f2 = _accuracies(model, x_sub, y_sub)
                for j, m in enumerate(members):
                    checkpoints[m].append({"step": step, "test_acc": te[j], "train_acc": tr[j],
                                           "train_loss": loss_sum[m] / max(loss_n[m], 1)})
                    loss_sum[m], loss_n[m] = 0.0, 0
                dead = [j for j in range(len(members)) if not (f1[j] and f2[j])]
                if dead:
                    drop(dead, step)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    for m in members:
        finish(m, step, wall, step / t_train if t_train > 0 else None)
    return records
