"""Paper 1, sec. 4.1: the sign activation's correlation map (eq. 12) and chi at its fixed point
(eq. 11) against the 2/pi bound (Appendix L.1): run, plot, write.

Notebook use::

    from qmf_sim.experiments import sign as E
    res = E.compute(quick=True)     # the curves (numpy arrays), from qmf_sym.sign
    fig = E.plot(res)               # the two-panel figure (matplotlib)
    paths = E.run("out/")           # sign_map.{png,pdf} through qmf_sim.io (the ``sign`` part)

``run`` is the ``sign`` part of ``qmf reproduce`` (``reproduce`` is the same function, the name
used by the registry in :mod:`qmf_sim.experiments`).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qmf_sim import io
from qmf_sym import sign

__all__ = ["RATIOS_B", "compute", "plot", "run", "reproduce"]

RATIOS_B = (0.0, 0.25, 0.5, 1.0, 2.0)
"""sigma_b / sigma_w of the M(C) curves (left panel)."""


def compute(quick: bool = False) -> dict:
    """M(C) on [-1, 1] for each ratio in :data:`RATIOS_B` (sigma_w = 1) and chi* against
    sigma_b / sigma_w on [0, 3] (31 points if ``quick`` else 121)."""
    C = np.linspace(-1, 1, 401)
    maps = {r: sign.correlation_map(C, sigma_w=1.0, sigma_b=r) for r in RATIOS_B}
    ratios = np.linspace(0, 3, 31 if quick else 121)
    chis = np.array([sign.fixed_point(1.0, float(r))[1] for r in ratios])
    return {"C": C, "maps": maps, "ratios": ratios, "chi": chis}


def plot(res: dict):
    """The two-panel figure: M(C) with the diagonal; chi* with the 2/pi bound and the limit 1/2."""
    plt = io.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    for r, m in res["maps"].items():
        a1.plot(res["C"], m, label=rf"$\sigma_b/\sigma_w={r:g}$")
    a1.plot(res["C"], res["C"], "k--", lw=1, label="diagonal")
    a1.set_xlabel("$C$")
    a1.set_ylabel(r"$\mathcal{M}(C)$ (eq. 12)")
    a1.legend(fontsize=8)
    a2.plot(res["ratios"], res["chi"], label=r"$\chi$ at the stable fixed point")
    a2.axhline(2 / math.pi, color="k", ls="--", lw=1, label=r"$2/\pi$ bound ($\sigma_b = 0$)")
    a2.axhline(0.5, color="gray", ls=":", lw=1, label=r"limit $1/2$")
    a2.set_xlabel(r"$\sigma_b/\sigma_w$")
    a2.set_ylabel(r"$\chi$")
    a2.legend(fontsize=8)
    fig.suptitle("Sign activation (paper 1, eq. 11-12)")
    fig.tight_layout()
    return fig


def run(out_dir, quick: bool = False) -> list[Path]:
    """Compute, plot and write sign_map.png/.pdf into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return io.save_figure(plot(compute(quick)), out_dir, "sign_map")


reproduce = run


#: the figures of each part (qmf_sim.report.figure_stems: every one must have a caption)
FIGURE_STEMS = {"sign": ("sign_map",)}
