"""Size guards: a run is refused *before* it allocates when its arrays would not fit in memory.

The bound (one for every size of the package: d, runs, particles, width, depth, r, widths, grid
points): a run may plan at most :func:`memory_budget` bytes, **half of this machine's physical RAM**
(``os.sysconf``; 4 GiB where that is unknown), or ``QMF_MAX_BYTES`` bytes where that environment
variable is set (an integer, or with a suffix K, M, G, T: ``QMF_MAX_BYTES=8G``).  Each solver states
what it allocates (e.g. :func:`qmf_sim.ste.micro.memory_bytes`), calls :func:`check_bytes` with the
name of the size that makes it large, and gets a ``ValueError`` that names it, gives the estimate
and the budget: ``d = 1000000000000 would need about 36.4 TiB of memory (...); the limit is 62.5 GiB
(half the physical memory; set QMF_MAX_BYTES to change it)``.  The CLI passes ``argument --d`` as the
name, so the message is the one line of ``qmf ... --d 1e12``.
"""
from __future__ import annotations

import os
import re

#: fraction of the physical memory a single run may plan to allocate
MEMORY_FRACTION = 0.5
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def physical_memory() -> int:
    """Bytes of physical memory of this machine (4 GiB where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4 << 30


def memory_budget() -> tuple[int, str]:
    """``(bytes, where it comes from)``: ``QMF_MAX_BYTES`` if set and valid, else
    :data:`MEMORY_FRACTION` of :func:`physical_memory`."""
    env = os.environ.get("QMF_MAX_BYTES", "").strip()
    if env:
        m = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([KMGT]?)i?B?", env, flags=re.IGNORECASE)
        if m:
            return int(float(m.group(1)) * _UNITS[m.group(2).upper()]), "QMF_MAX_BYTES"
    return int(MEMORY_FRACTION * physical_memory()), "half the physical memory; set QMF_MAX_BYTES to change it"


def human_bytes(n) -> str:
    """``36.4 TiB``-style size."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else (f"{n:.1f} {unit}" if n < 1e4 else f"{n:.3g} {unit}")
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_bytes(name: str, nbytes, what: str = "") -> int:
    """Raise ``ValueError`` naming ``name`` when a run that needs ``nbytes`` bytes (``what``: of which
    arrays) exceeds :func:`memory_budget`; returns ``nbytes`` as an int otherwise."""
    need = float(nbytes)
    budget, why = memory_budget()
    if not need <= budget:
        detail = f" ({what})" if what else ""
        raise ValueError(f"{name} would need about {human_bytes(need)} of memory{detail}; the limit is "
                         f"{human_bytes(budget)} ({why})")
    return int(need)
