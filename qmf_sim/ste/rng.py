"""Random numbers of the STE solvers: one xoshiro256++ stream per replica / chunk, and the initial laws.

Streams are seeded from ``numpy.random.SeedSequence(seed, spawn_key=key)``, so results depend only on
(seed, key), never on the number of threads.  Gaussians inside the kernels come from an exact
256-layer ziggurat (Marsaglia & Tsang 2000) on xoshiro256++ (Blackman & Vigna 2019); both are compiled
in :mod:`qmf_sim.ste._kernels`, which also builds the ziggurat tables (:func:`ziggurat_tables`), so
that numba's cache can never hold tables from an older version of this code.
"""
from __future__ import annotations

import math

import numpy as np

from qmf_sym import _validate as V


def check_seed(seed):
    """A seed is an integer >= 0 (not a bool)."""
    return V.integer("seed", seed, 0)


def stream_state(seed, key):
    """xoshiro256++ state (4 x uint64, not all zero) for the stream ``key`` of ``seed``."""
    st = np.random.SeedSequence(seed, spawn_key=tuple(key)).generate_state(4, np.uint64)
    if not st.any():  # pragma: no cover - probability 2^-256
        st[0] = 1
    return st


def init_rng(seed, key):
    """numpy Generator for the initial draws of stream ``key`` (independent of the kernel stream)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key) + (1 << 30,)))


def draw_teacher(rng, law, n):
    """n teacher weights w*: 'ones', 'gaussian' N(0,1) or 'rademacher' (spec §2.1)."""
    if law == "ones":
        return np.ones(n)
    if law == "gaussian":
        return rng.standard_normal(n)
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def draw_init(rng, law, scale, n):
    """n initial latent weights w_hat^0 of the law of :class:`~qmf_sim.ste.params.STEParams`."""
    if law == "gaussian":
        return scale * rng.standard_normal(n)
    if law == "uniform":
        return scale * math.sqrt(3.0) * rng.uniform(-1.0, 1.0, n)
    if law == "rademacher":
        return scale * rng.choice(np.array([-1.0, 1.0]), size=n)
    return np.zeros(n)


def ziggurat_tables():
    """(ki, wi, fi, r): the tables the kernels use (built in :mod:`qmf_sim.ste._kernels`)."""
    from qmf_sim.ste import _kernels as K

    return K.KI, K.WI, K.FI, K.ZIG_R


def fill_normals(seed, key, n):
    """n standard normals of stream ``key`` of ``seed``, drawn by the kernels' ziggurat."""
    from qmf_sim.ste import _kernels as K

    out = np.empty(V.integer("n", n, 0))
    K.fill_normals(stream_state(check_seed(seed), key), out)
    return out
