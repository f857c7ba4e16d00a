"""qmf_sim.ste._kernels and .rng: the generator, generated code, numba caching (issue 8 §2 items 3, 4)."""
from __future__ import annotations

import ast
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from qmf_sim.ste import _kernels as K
from qmf_sim.ste.rng import fill_normals, stream_state, ziggurat_tables

ROOT = Path(__file__).resolve().parents[1]


def test_ziggurat_is_standard_normal():
    from scipy import stats

    z = fill_normals(7, (0,), 1_000_000)
    n = z.size
    # moments: 5 standard errors (SE of mean 1/sqrt n, of variance sqrt(2/n), of E z^4 sqrt(96/n))
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 5 * math.sqrt(96 / n)
    # tails (the ziggurat's base strip / tail branch): P(|z| > 3.6541...) and P(|z| > 4)
    for c in (ziggurat_tables()[3], 4.0):
        p = 2 * stats.norm.sf(c)
        assert abs((np.abs(z) > c).mean() - p) < 5 * math.sqrt(p / n)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_fill_normals_deterministic():
    a = fill_normals(3, (1, 2), 1000)
    np.testing.assert_array_equal(a, fill_normals(3, (1, 2), 1000))
    out = np.empty(1000)
    K.fill_normals(stream_state(3, (1, 2)), out)
    np.testing.assert_array_equal(a, out)


def test_regenerating_passes_changes_nothing():
    """The generated lookup passes are what scripts/ste_gen_passes.py writes (issue 8 §1)."""
    spec = importlib.util.spec_from_file_location("ste_gen_passes", ROOT / "scripts" / "ste_gen_passes.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = (ROOT / "qmf_sim" / "ste" / "_kernels.py").read_text()
    assert gen.render(text) == text
    assert gen.CHAINS == K.CHAINS


def test_kernels_import_nothing_from_the_project():
    """Staleness by construction (issue 8 §2 item 3): numba's cache is keyed on the time stamp of the
    kernel's own file, so the kernels may read no global defined elsewhere in qmf (before, they froze
    the ziggurat tables imported from qmf_sim.ste_dynamics).  All compiled code is in this one module
    and it imports only numpy, numba, scipy and the standard library."""
    tree = ast.parse((ROOT / "qmf_sim" / "ste" / "_kernels.py").read_text())
    mods = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            mods.add((node.module or "").split(".")[0] if node.level == 0 else ".")
    assert mods <= {"math", "sys", "numpy", "numba", "scipy"}, mods
    # the tables the kernels use are the ones rebuilt from scratch now
    ki, wi, fi, r = K.ziggurat_tables()
    np.testing.assert_array_equal(ki, K.KI)
    np.testing.assert_array_equal(wi, K.WI)
    np.testing.assert_array_equal(fi, K.FI)
    assert r == K.ZIG_R


def test_no_numba_cache_location_falls_back(tmp_path):
    """Read-only install (issue 8 §2 item 4): no cache location is writable -> one line on stderr, the
    STE code runs without a cache.  A read-only NUMBA_CACHE_DIR alone does not stop root, so the
    subprocess also makes every temporary-file probe fail with EROFS, as on a read-only filesystem."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code = ("import errno, tempfile\n"
            "def _ro(*a, **k): raise OSError(errno.EROFS, 'Read-only file system')\n"
            "tempfile.TemporaryFile = _ro\n"
            "from qmf_sim import ste\n"
            "r = ste.simulate(ste.STEParams(), d=8, tau_max=0.25, runs=1)\n"
            "print('ok', r.eps.shape)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(ro), HOME=str(ro))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("ok")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cache" in lines[0], res.stderr
