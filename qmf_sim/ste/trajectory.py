"""What the three STE solvers share: the recording :class:`Schedule`, the divergence rule
(:func:`check_bounds`; compiled as ``_kernels.out_of_bounds``; on recorded arrays :func:`apply_divergence`,
on a curve known at its recording times :func:`curve_trajectory`) and the result type :class:`Trajectory`.

Divergence rule (all solvers, spec §5.1/§5.3): a run diverges at the first step where eps_g > eps_bound
or the latent second moment q = E[w_hat^2] > q_bound, or either is not a number; the Fokker--Planck
solver also stops when the density reaches the walls of its domain (more than ``WALL_MASS`` of the mass
in the outer cells: the solution has left [-L, L]).  The run stops there; ``diverged`` is True,
``tau_diverged`` the time, and every recorded value from that time on is NaN with ``valid`` False.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qmf_sym import _validate as V

#: default divergence bounds: far above any stationary value of the model with rho = O(1)
#: (eps_g* <= rho / (2 - eta s2) and |psi| <= omega), spec §5.1
EPS_BOUND = 1.0e4
Q_BOUND = 1.0e8
#: Fokker--Planck: largest mass allowed in the outer cells before the run counts as diverged
WALL_MASS = 1.0e-3
#: the most elementary updates one solver call may take (micro: coordinate updates, sets x runs x d x
#: SGD steps; particles: particle steps; pde: cell updates, cells x teacher nodes x time steps), so that
#: a huge tau (``qmf ste simulate --tau-max 1e12``) is refused at once instead of running for years
#: without a word.  1e13 is about 7 h of micro on one quiet core (2.2-2.8 ns per update; ~28 h at the
#: loaded 1e8/s of micro.UPDATES_PER_SECOND), 8 h of particles (2.9 ns per particle step) and 3.4 h of
#: pde (1.2 ns per cell update), measured on a 2-core Xeon; the numpy paths of callable maps are ~25x
#: slower.  A module constant: raise it to allow longer calls.
MAX_WORK = 1.0e13


def check_bounds(eps_bound, q_bound):
    """Validate the divergence bounds (finite and > 0); returns them as floats."""
    for name, v in (("eps_bound", eps_bound), ("q_bound", q_bound)):
        if isinstance(v, bool):
            raise ValueError(f"{name} must be a positive real number, got {v!r}")
        V.positive(name, v)
    return V.finite("eps_bound", eps_bound), V.finite("q_bound", q_bound)


def check_work(name, work, what):
    """Refuse a solver call of more than :data:`MAX_WORK` elementary updates before it starts: ValueError
    naming ``name`` (the parameter, with the sizes that multiply it), ``work`` the estimate (``what``:
    of which updates); returns ``work``."""
    if not work <= MAX_WORK:
        raise ValueError(f"{name} asks for too long a run: about {work:.3g} {what}, above the bound {MAX_WORK:.3g} "
                         "of one call (hours to years of computing; qmf_sim.ste.trajectory.MAX_WORK)")
    return work


def tau_grid(tau_max, n=60, tau_min=None):
    """Log-spaced tau grid on [tau_min, tau_max] with tau = 0 prepended (the default recording grid)."""
    V.positive("tau_max", tau_max)
    n = V.integer("n", n, 2)
    from qmf_sym._validate import check_bytes

    check_bytes(f"n = {n}", 8.0 * 8 * n, "recording times and the records of a run")
    if tau_min is None:  # the default first record: tau_max / 10, at most 0.1, never below 1e-12
        if not tau_max >= 1e-11:
            raise ValueError(f"tau_max must be >= 1e-11 (the default first record tau_max / 10 >= 1e-12), got {tau_max!r}")
        tau_min = min(0.1, tau_max / 10)
    V.in_closed("tau_min", tau_min, 1e-12, tau_max)
    return np.concatenate([[0.0], np.geomspace(tau_min, tau_max, n)])


class Schedule:
    """The recording times of a solver: tau = 0 and the sorted distinct finite times given (>= 0),
    plus optional snapshot times (finite, >= 0).  Each solver maps them onto its own clock:
    :meth:`steps` (SGD steps t = round(tau d)), :meth:`euler` (time steps landing on the grid).
    ``name``: the parameter the times came from (``tau``, or ``tau_max`` for the default grid), for errors."""

    def __init__(self, tau=None, snapshot_tau=(), tau_max=None):
        if tau_max is not None:
            V.finite("tau_max", V.positive("tau_max", tau_max))
        self.name = "tau_max" if tau is None else "tau"
        if tau is None:
            if tau_max is None:
                tau_max = 100.0
            tau = tau_grid(tau_max)
        tau = self._times("tau", tau)
        self.snapshot_tau = np.unique(self._times("snapshot_tau", snapshot_tau))
        self.tau = np.unique(np.concatenate([[0.0], tau]))

    @staticmethod
    def _times(name, t):
        if V._is_bool(t) or isinstance(t, (str, bytes)) or (name == "tau" and np.size(t) == 0):
            raise ValueError(f"{name} must be an array of finite times >= 0 (tau: at least one), got {t!r}")
        try:
            t = np.asarray(t, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be an array of finite times >= 0, got {t!r}") from exc
        if t.size:
            V.nonnegative(name, t)
        return t

    def with_snapshots(self):
        """tau with the snapshot times merged in, and the snapshot index of each entry (-1: none)."""
        tau = np.unique(np.concatenate([self.tau, self.snapshot_tau]))
        idx = np.full(tau.size, -1, dtype=np.int64)
        for k, st in enumerate(self.snapshot_tau):
            idx[np.searchsorted(tau, st)] = k
        return tau, idx

    def steps(self, d):
        """SGD step numbers round(tau d) (distinct; at least one step); ValueError naming :attr:`name` past
        2^62 steps, before the integer cast."""
        t = np.round(self.tau * d)
        if not t[-1] < 2.0 ** 62:
            raise ValueError(f"{self.name} must keep round(tau d) below 2^62 SGD steps, got tau up to {self.tau[-1]:g} "
                             f"at d = {d}")
        steps = np.unique(t.astype(np.int64))
        if steps[-1] < 1:
            steps = np.array([0, 1], dtype=np.int64)
        return steps

    def snapshot_steps(self, d, last):
        """SGD step numbers round(snapshot_tau d) of the snapshots (distinct), each at most ``last`` (the last
        recorded step): else ValueError naming snapshot_tau (checked in floating point, before the integer cast)."""
        t = np.round(self.snapshot_tau * d)
        if t.size and not t.max() <= last:
            raise ValueError(f"snapshot_tau must lie in [0, {last / d}], got {self.snapshot_tau.tolist()!r}")
        return np.unique(t.astype(np.int64))

    def euler(self, dt, tau=None):
        """Steps of at most ``dt`` that land exactly on every recording time: (dts, rec_at), rec_at[k] =
        the number of steps before recording time k."""
        tau = self.tau if tau is None else tau
        gaps = np.diff(np.asarray(tau, dtype=float))
        with np.errstate(over="ignore", invalid="ignore"):
            total = float(np.maximum(1.0, np.ceil(gaps / dt - 1e-9)).sum()) if gaps.size else 0.0
        from qmf_sym._validate import check_bytes

        check_bytes(f"dt = {dt} ({total:.3g} time steps up to tau = {tau[-1]:g})", 48.0 * total,
                    "the list of step sizes")
        dts, rec_at = [], [0]
        for a, b in zip(tau[:-1], tau[1:]):
            n = max(1, int(math.ceil((b - a) / dt - 1e-9)))
            dts.extend([(b - a) / n] * n)
            rec_at.append(len(dts))
        return np.asarray(dts, dtype=np.float64), np.asarray(rec_at, dtype=np.int64)


@dataclass
class Trajectory:
    """The result of every STE solver (``method`` = 'micro', 'particles' or 'pde'), R runs (R = 1 for the
    particle and PDE solvers).

    tau (n,) recording times; eps, m_psi, q_psi, q (R, n): eps_g = 1/2 (rho - 2 kappa m_psi + s2 q_psi),
    m_psi = E w* psi(w), q_psi = E psi(w)^2, the latent q = E w^2.  ``valid`` (R, n) is False, and the
    values NaN, from a run's divergence on (module docstring); ``diverged`` (R,), ``tau_diverged`` (R,)
    (+inf for runs that never diverged).  ``snapshot_tau`` / ``snapshots``: latent weights at those
    times (micro: (R, n_snap, d); particles: (1, n_snap, N)); ``density`` (pde): (n_snap, n_teacher, M)
    cell densities p_tau(w_hat | w*) on the cell centres ``x``.  ``info``: solver facts (d, seed,
    n_particles, dt, h, steps, ...).
    """

    params: object
    method: str
    tau: np.ndarray
    eps: np.ndarray
    m_psi: np.ndarray
    q_psi: np.ndarray
    q: np.ndarray
    valid: np.ndarray
    diverged: np.ndarray
    tau_diverged: np.ndarray
    eps_bound: float
    q_bound: float
    info: dict = field(default_factory=dict)
    snapshot_tau: np.ndarray = field(default_factory=lambda: np.zeros(0))
    snapshots: np.ndarray | None = None
    w_star: np.ndarray | None = None  # micro: (R, d) teacher weights; pde: teacher nodes
    x: np.ndarray | None = None  # pde cell centres
    density: np.ndarray | None = None  # pde

    def __getattr__(self, name):  # solver facts as attributes (r.d, r.seed, r.h, r.n_particles, ...)
        info = self.__dict__.get("info", {})
        if name in info:
            return info[name]
        raise AttributeError(name)

    @property
    def runs(self):
        return self.eps.shape[0]

    def mean(self):
        """Mean of eps_g over the runs that have not diverged (NaN where none is left)."""
        with np.errstate(invalid="ignore"):
            n = self.valid.sum(0)
            s = np.where(self.valid, self.eps, 0.0).sum(0)
            return np.where(n > 0, s / np.maximum(n, 1), np.nan)

    def std(self):
        """Sample standard deviation (ddof = 1) over the valid runs (NaN with fewer than 2)."""
        n = self.valid.sum(0)
        m = self.mean()
        dev = np.where(self.valid, self.eps - np.where(np.isfinite(m), m, 0.0), 0.0)
        return np.where(n > 1, np.sqrt((dev**2).sum(0) / np.maximum(n - 1, 1)), np.nan)

    def stderr(self):
        n = self.valid.sum(0)
        return self.std() / np.sqrt(np.maximum(n, 1))

    def density_given(self, w_star=1.0):
        """(n_snap, M) densities for the teacher node nearest ``w_star`` (pde)."""
        if self.density is None:
            raise ValueError("density_given needs a PDE trajectory with snapshot_tau")
        j = int(np.argmin(np.abs(self.w_star - w_star)))
        return self.density[:, j, :]

    def to_dict(self):
        """Plain data (for qmf_sim.io.write_json): parameters, tau, mean/std, divergence."""
        return dict(params=self.params.as_dict(), method=self.method, tau=self.tau, eps_mean=self.mean(),
                    eps_std=self.std(), diverged=self.diverged, tau_diverged=self.tau_diverged,
                    runs=self.runs, **{k: v for k, v in self.info.items() if np.isscalar(v)})


def mask_after(values, rec_index, first_bad):
    """Set entries with rec_index >= first_bad to NaN; returns the valid mask (rec_index < first_bad)."""
    valid = rec_index < first_bad
    for a in values:
        a[~valid] = np.nan
    return valid


def apply_divergence(arrs, rec_index, first_bad, d=1, step_tau=None):
    """The one divergence rule applied to a solver's recorded arrays ``arrs`` (dict of (runs, n)):
    run r diverged iff ``first_bad[r] >= 0`` (the first step past the bounds); its records from that
    step on become NaN.  Returns ``(diverged, valid, tau_diverged)``: tau = step / d, or
    ``step_tau[step]`` where the steps are not of length 1/d (a curve known at its recording times);
    inf if the run never diverged."""
    first_bad = np.asarray(first_bad)
    diverged = first_bad >= 0
    valid = np.ones((first_bad.size, np.asarray(rec_index).size), dtype=bool)
    tau_diverged = np.full(first_bad.size, np.inf)
    for r in np.nonzero(diverged)[0]:
        tau_diverged[r] = first_bad[r] / d if step_tau is None else step_tau[first_bad[r]]
        valid[r] = mask_after([a[r] for a in arrs.values()], rec_index, first_bad[r])
    return diverged, valid, tau_diverged


def first_out_of_bounds(eps, q=None, eps_bound=EPS_BOUND, q_bound=Q_BOUND):
    """Index of the first entry of a recorded curve where the divergence rule holds (eps_g > eps_bound,
    q > q_bound, or either not a number); -1 if none (module docstring)."""
    eps = np.asarray(eps, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(eps <= eps_bound)
        if q is not None:
            bad |= ~(np.asarray(q, dtype=float) <= q_bound)
    return int(np.argmax(bad)) if bad.any() else -1


def curve_trajectory(params, method, tau, eps, q=None, m_psi=None, q_psi=None, eps_bound=EPS_BOUND,
                     q_bound=Q_BOUND, info=None) -> Trajectory:
    """A :class:`Trajectory` (one run) for a curve known only at its recording times ``tau`` (the closed
    ODE, the closures), with the one divergence rule applied at those times: ``tau_diverged`` is the
    first recorded time past the bounds (resolution: the recording grid); NaN from there on.
    Missing order parameters are NaN."""
    tau = np.asarray(tau, dtype=float).reshape(-1)
    nan = np.full(tau.size, np.nan)
    arrs = {k: np.array(v if v is not None else nan, dtype=float).reshape(1, -1)
            for k, v in (("eps", eps), ("q", q), ("m_psi", m_psi), ("q_psi", q_psi))}
    first = first_out_of_bounds(arrs["eps"][0], None if q is None else arrs["q"][0], eps_bound, q_bound)
    diverged, valid, tdiv = apply_divergence(arrs, np.arange(tau.size), [first], step_tau=tau)
    return Trajectory(params=params, method=method, tau=tau, eps=arrs["eps"], m_psi=arrs["m_psi"],
                      q_psi=arrs["q_psi"], q=arrs["q"], valid=valid, diverged=diverged, tau_diverged=tdiv,
                      eps_bound=eps_bound, q_bound=q_bound, info=dict(info or {}))


def divergence_note(traj) -> str | None:
    """One line saying which runs of ``traj`` diverged and when (the one rule of this module), or None."""
    dv = np.asarray(traj.diverged, dtype=bool)
    if not dv.any():
        return None
    td = np.asarray(traj.tau_diverged, dtype=float)[dv]
    rule = f"eps_g > {traj.eps_bound:g}, q > {traj.q_bound:g} or not a number"
    if traj.method == "pde" and traj.info.get("stop") == "walls":
        rule = f"mass in the outer cells of [-L, L] > {traj.info.get('wall_mass', WALL_MASS):g}"
    who = "diverged" if dv.size == 1 else f"{int(dv.sum())} of {dv.size} runs diverged"
    when = f"at tau = {td.min():.6g}" if dv.size == 1 else f"(first at tau = {td.min():.6g})"
    return f"{who} {when} ({rule}; spec §5.1): eps_g is NaN (null) from then on"
