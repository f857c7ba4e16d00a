"""The d-dimensional online STE-SGD of spec §3 in torch: many replicas at once, on a GPU.

The same process as :mod:`qmf_sim.ste.micro` (the numba kernel; spec §3), written as batched tensor
operations over (replicas, d): per step a fresh x ~ N(0, I_d) and label noise, the forward pass with
psi(w) and phi(x), the backward pass through the surrogate g(w), the ridge (on the latent weights or on
psi(w)), Langevin noise sqrt(2 eta T / d) N(0, I_d); eps_g, m_psi, q_psi and the latent q from the
weights before every step; the one divergence rule (:mod:`qmf_sim.ste.trajectory`); a quantization onset
(psi = phi = id and g = 1 before tau = onset).  Every switch of :class:`~qmf_sim.ste.params.STEParams`
is supported, with the maps identity, any staircase (the quantizers of spec §2.2, sign, uneven
staircases) and tanh; user callables (no compiled form in the numba kernel either) are not: they raise
``ValueError`` (use the numpy path of ``qmf_sim.ste.simulate``).

Random numbers: the initial draws (w*, w^0) of replica r are exactly those of the numba kernel
(:func:`qmf_sim.ste.rng.init_rng`), so every replica starts where its numba twin starts; the inputs,
label noise and Langevin noise come from one ``torch.Generator`` on the device, seeded from
``SeedSequence(seed)`` (other draws than the kernel's xoshiro/ziggurat streams: the two agree in
distribution, not bit for bit -- tested within standard errors).  With ``share_inputs=True`` the sets of
``plist`` see the same inputs and label noise (common random numbers, as in ``simulate_many``).

The step loop never waits for the device except at recording steps (divergence and the recorded values
stay on the device; a run stops early once every replica has diverged, checked there).  Precision:
float64 by default (the kernel's); ``dtype=torch.float32`` halves the memory traffic (thresholds are
rounded up to float32 as in :func:`qmf_sim.nn.round_up`, so the lookup is the float64 one at the float32
value).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from qmf_sim.ste.params import as_params
from qmf_sim.ste.rng import check_seed, draw_init, draw_teacher, init_rng
from qmf_sim.ste.trajectory import EPS_BOUND, Q_BOUND, Schedule, Trajectory, apply_divergence, check_bounds
from qmf_sym import _validate as V

__all__ = ["simulate_torch", "simulate_many_torch", "torch_map", "resolve_device"]


def resolve_device(device):
    """A torch device from ``device`` ('cpu', 'cuda', 'cuda:1', a torch.device; None: CUDA if present).
    ``ValueError`` naming ``device`` if it is not a device or CUDA is asked for and absent."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'cpu' or 'cuda' (or 'cuda:<index>'), got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: no CUDA device is available (torch {torch.__version__}); use 'cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev


def torch_map(m, dtype, device):
    """(forward, surrogate) of a :class:`qmf_sym.ste.maps.Map` as torch functions (the same values as
    ``m.forward`` / ``m.surrogate``: right-continuous lookup, surrogate ``1{|u| <= clip}`` or tanh').
    device=None: torch's default device (the CPU unless set otherwise)."""
    import torch

    from qmf_sim.nn import round_up
    from qmf_sym.ste.maps import Map

    if not isinstance(m, Map):
        raise ValueError(f"m must be a qmf_sym.ste.maps.Map, got {type(m).__name__}")
    V.torch_float_dtype("dtype", dtype), V.device_spec("device", device)
    if m.kind == "callable":
        raise ValueError(f"map {m.name} is a Python callable: it has no torch form (use the numpy path, "
                         "qmf_sim.ste.simulate on the CPU)")
    if m.kind == "tanh":
        a, w = m.amplitude, m.width

        def fwd(u):
            return a * torch.tanh(u / w)

        def sur(u):
            t = torch.tanh(u / w)
            return (a / w) * (1.0 - t * t)

        return fwd, sur
    clip = m.clip

    def sur(u):
        if math.isinf(clip):
            return torch.ones_like(u)
        return (u.abs() <= clip).to(u.dtype)

    if m.kind == "identity":
        return (lambda u: u), sur
    thr = round_up(np.asarray(m.thresholds, dtype=np.float64), dtype, device)
    lev = torch.tensor(np.asarray(m.levels, dtype=np.float64), device=device).to(dtype)  # a copy (read-only levels)

    def fwd(u):
        return lev[torch.bucketize(u, thr, right=True)]  # number of thresholds <= u

    return fwd, sur


class _Set:
    """One parameter set on the device: maps before/after the onset, coefficients, state."""

    def __init__(self, p, d, runs, seed, dtype, device):
        import torch

        self.p = p
        self.n1 = int(round(p.onset * d))
        self.phases = []
        for q in ((p.before_onset(), p.after_onset()) if self.n1 > 0 else (p.after_onset(),)):
            psi, g = torch_map(q.weight_map(), dtype, device)
            phi, _ = torch_map(q.input_map(), dtype, device)
            kappa, s2 = q.input_moments()
            self.phases.append(dict(psi=psi, g=g, phi=phi, kappa=kappa, s2=s2, ridge_psi=q.ridge == "psi",
                                    eta=q.eta, lam=q.lam, sig=math.sqrt(q.sigma2), tn=math.sqrt(2 * q.eta * q.T / d)))
        WS = np.empty((runs, d))
        W = np.empty((runs, d))
        for r in range(runs):  # the numba kernel's initial draws, replica by replica
            rng = init_rng(seed, (r,))
            WS[r] = draw_teacher(rng, p.teacher, d)
            W[r] = draw_init(rng, p.init, p.init_scale, d)
        self.rho = torch.as_tensor((WS**2).mean(-1), device=device).to(dtype)
        self.WS = torch.as_tensor(WS, device=device).to(dtype)
        self.W = torch.as_tensor(W, device=device).to(dtype)
        self.alive = torch.ones(runs, dtype=torch.bool, device=device)
        self.div = torch.full((runs,), -1, dtype=torch.int64, device=device)

    def phase(self, t):
        return self.phases[0] if (self.n1 > 0 and t < self.n1) else self.phases[-1]


def simulate_many_torch(plist: Sequence, d, tau_max=None, runs=5, seed=0, tau=None, share_inputs=True,
                        snapshot_tau=(), eps_bound=EPS_BOUND, q_bound=Q_BOUND, keep_teacher=False, device=None,
                        dtype=None) -> list:
    """:func:`qmf_sim.ste.micro.simulate_many` in torch (module docstring); a list of
    :class:`~qmf_sim.ste.trajectory.Trajectory` (method 'micro', ``info['path'] = 'torch'``)."""
    import torch

    if isinstance(plist, (str, bytes, dict)) or not hasattr(plist, "__iter__"):
        raise ValueError(f"plist must be a list of STEParams, got {plist!r}"[:200])
    V.flag("share_inputs", share_inputs), V.flag("keep_teacher", keep_teacher)
    plist = [as_params(p) for p in plist]
    if not plist:
        raise ValueError("plist must contain at least one STEParams")
    d = V.integer("d", d, 1)
    runs = V.integer("runs", runs, 1)
    seed = check_seed(seed)
    eps_bound, q_bound = check_bounds(eps_bound, q_bound)
    dev = resolve_device(device)
    dtype = torch.float64 if dtype is None else dtype
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    if tau is None:
        if tau_max is None:
            raise ValueError("give tau_max or tau")
        V.positive("tau_max", tau_max)
    sched = Schedule(tau, Schedule._times("snapshot_tau", snapshot_tau), tau_max=tau_max)
    from qmf_sim.ste.micro import check_memory, check_work

    check_work(d, runs, sched.tau[-1], len(plist), sched.name)
    rec = sched.steps(d)
    snap = sched.snapshot_steps(d, rec[-1])
    check_memory(d, 3 * runs, rec.size, len(plist), snap.size, keep_teacher)  # x, psi(w), phi(x) temporaries
    sets = [_Set(p, d, runs, seed, dtype, dev) for p in plist]
    n_rec = rec.size
    outs = [{k: torch.full((runs, n_rec), math.nan, dtype=dtype, device=dev) for k in ("eps", "q", "m", "qpsi")}
            for _ in sets]
    snaps = [torch.full((runs, snap.size, d), math.nan, dtype=dtype) if snap.size else None for _ in sets]
    WS0 = [s.WS.cpu().numpy().copy() for s in sets] if keep_teacher or snap.size else None
    ss = np.random.SeedSequence(seed, spawn_key=(5 << 20,)).generate_state(len(plist) + 1, np.uint64)
    gens = [torch.Generator(device=dev).manual_seed(int(v) & ((1 << 63) - 1)) for v in ss]
    sqd = math.sqrt(d)
    rec_pos = {int(t): i for i, t in enumerate(rec)}
    snap_pos = {int(t): i for i, t in enumerate(snap)}
    last = int(rec[-1])
    for t in range(last + 1):
        ir = rec_pos.get(t)
        isn = snap_pos.get(t)
        if share_inputs and t < last:
            x = torch.randn((runs, d), generator=gens[-1], dtype=dtype, device=dev)
            nz = torch.randn((runs,), generator=gens[-1], dtype=dtype, device=dev)
        for k, s in enumerate(sets):
            ph = s.phase(t)
            psi_w = ph["psi"](s.W)
            mpsi = (s.WS * psi_w).mean(1)
            qpsi = (psi_w * psi_w).mean(1)
            qlat = (s.W * s.W).mean(1)
            eps = 0.5 * (s.rho - 2.0 * ph["kappa"] * mpsi + ph["s2"] * qpsi)
            bad = s.alive & ~((eps <= eps_bound) & (qlat <= q_bound))  # NaN compares False: diverged
            s.div = torch.where(bad, torch.full_like(s.div, t), s.div)
            s.alive = s.alive & ~bad
            if ir is not None:
                o = outs[k]
                for key, v in (("eps", eps), ("q", qlat), ("m", mpsi), ("qpsi", qpsi)):
                    o[key][:, ir] = torch.where(s.alive, v, torch.full_like(v, math.nan))
            if isn is not None:
                snaps[k][:, isn] = torch.where(s.alive[:, None], s.W, torch.full_like(s.W, math.nan)).cpu()
            if t == last:
                continue
            if not share_inputs:
                x = torch.randn((runs, d), generator=gens[k], dtype=dtype, device=dev)
                nz = torch.randn((runs,), generator=gens[k], dtype=dtype, device=dev)
            px = ph["phi"](x)
            e = ((s.WS * x).sum(1) - (psi_w * px).sum(1)) / sqd + ph["sig"] * nz
            coef = (ph["eta"] / sqd) * e
            g = ph["g"](s.W)
            decay = ph["eta"] * ph["lam"] / d
            if ph["ridge_psi"]:
                Wn = s.W + g * (coef[:, None] * px - decay * psi_w)
            else:
                Wn = s.W + coef[:, None] * px * g - decay * s.W
            if ph["tn"] > 0:
                Wn = Wn + ph["tn"] * torch.randn((runs, d), generator=gens[k], dtype=dtype, device=dev)
            s.W = torch.where(s.alive[:, None], Wn, s.W)
        if ir is not None and not any(bool(s.alive.any()) for s in sets):
            break  # every replica of every set has diverged (checked at recording steps only)
    results = []
    for k, (s, p) in enumerate(zip(sets, plist)):
        arrs = {key: v.cpu().numpy() for key, v in outs[k].items()}
        dv = s.div.cpu().numpy()
        diverged, valid, tdiv = apply_divergence(arrs, rec, dv, d)
        sn = snaps[k].numpy() if snaps[k] is not None else None
        results.append(Trajectory(
            params=p, method="micro", tau=rec / d, eps=arrs["eps"], q=arrs["q"], m_psi=arrs["m"],
            q_psi=arrs["qpsi"], valid=valid, diverged=diverged, tau_diverged=tdiv, eps_bound=eps_bound,
            q_bound=q_bound, info=dict(d=d, seed=seed, path="torch", device=str(dev),
                                       dtype=str(dtype).replace("torch.", "")),
            snapshot_tau=snap / d, snapshots=sn, w_star=WS0[k] if WS0 is not None else None))
    return results


def simulate_torch(params=None, d=900, tau_max=None, runs=5, seed=0, tau=None, snapshot_tau=(),
                   eps_bound=EPS_BOUND, q_bound=Q_BOUND, device=None, dtype=None, **kw) -> Trajectory:
    """:func:`qmf_sim.ste.micro.simulate` in torch: one parameter set (``params`` or keywords of
    :class:`~qmf_sim.ste.params.STEParams`), ``runs`` replicas in parallel on ``device``."""
    p = as_params(params, **kw)
    snapshot_tau = Schedule._times("snapshot_tau", snapshot_tau)
    return simulate_many_torch([p], d, tau_max=tau_max, runs=runs, seed=seed, tau=tau, snapshot_tau=snapshot_tau,
                               eps_bound=eps_bound, q_bound=q_bound, keep_teacher=bool(snapshot_tau.size),
                               device=device, dtype=dtype)[0]
