"""Ctrl-C stops the compiled STE solvers (qmf_sim.ste.interrupt): the C-level SIGINT handler writes to
the wakeup socket, a helper thread sets the running kernel's stop flag, the kernel returns at its next
step; the solver raises Interrupted (a KeyboardInterrupt) with the records made up to the stop, which
are the numbers of an uninterrupted run.

The interrupt is simulated from a timer thread with _thread.interrupt_main (the same path as SIGINT: the
C handler's trip, then KeyboardInterrupt in the main thread), into runs that would take minutes, so the
interrupt always lands while the kernel runs; one test sends a real SIGINT to a subprocess.  No timing
is asserted beyond "it stopped": an unstopped run shows up as a finished, fully recorded result.
"""
from __future__ import annotations

import _thread
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from qmf_sim import ste as S
from qmf_sim.ste.interrupt import Interrupted

P = S.STEParams(b=2)


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    """Compile (or load) the kernels first, so the interrupts land in the kernels, not in numba."""
    S.simulate(P, d=20, tau_max=0.1, runs=2)
    S.simulate(S.STEParams(b=2, onset=0.05), d=20, tau_max=0.1, runs=1)
    S.solve_particles(P, tau=[0, 0.1], n_particles=100)
    S.solve_pde(P, tau=[0, 0.1], h=0.05)


def _interrupted(call, after=0.5):
    """Run call() with a KeyboardInterrupt sent to the main thread after ``after`` seconds; returns the
    Interrupted it raised (the test fails if the call finished instead)."""
    timer = threading.Timer(after, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(Interrupted) as info:
            call()
    finally:
        timer.cancel()
    assert isinstance(info.value, KeyboardInterrupt)
    return info.value


def _check_prefix(part, full):
    """The interrupted run's records: a valid prefix (at least tau = 0), NaN and not valid after, and the
    same numbers as an uninterrupted run up to there."""
    assert part.info["interrupted"] is True
    for r in range(part.runs):
        k = int(part.valid[r].sum())
        assert 1 <= k < part.tau.size  # stopped at all, after its first record
        assert part.valid[r, :k].all() and np.isnan(part.eps[r, k:]).all()
        np.testing.assert_array_equal(part.eps[r, :k], full(k)[r, :k])


def test_micro_stops_and_keeps_its_records():
    tau = np.linspace(0.0, 2000.0, 2001)  # ~8e9 coordinate updates: minutes, uninterrupted
    e = _interrupted(lambda: S.simulate(P, d=2000, tau=tau, runs=2, seed=4))
    _check_prefix(e.partial, lambda k: S.simulate(P, d=2000, tau=tau[:k], runs=2, seed=4).eps)
    # the watch is gone and the flag new for the next run: the same numbers as ever
    np.testing.assert_array_equal(S.simulate(P, d=50, tau_max=1.0, runs=2, seed=1).eps,
                                  S.simulate(P, d=50, tau_max=1.0, runs=2, seed=1).eps)


def test_simulate_many_and_onset_keep_every_set():
    tau = np.linspace(0.0, 1000.0, 1001)
    plist = [P, S.STEParams(b=3)]
    e = _interrupted(lambda: S.simulate_many(plist, 2000, tau=tau, runs=1, seed=2))
    assert len(e.partial) == 2
    for p, r in zip(plist, e.partial):
        _check_prefix(r, lambda k, p=p: S.simulate(p, d=2000, tau=tau[:k], runs=1, seed=2).eps)
    on = S.STEParams(b=2, onset=0.5)  # the onset path: two kernel runs, stopped in the second
    e = _interrupted(lambda: S.simulate(on, d=2000, tau=tau, runs=1, seed=2), after=1.0)
    _check_prefix(e.partial, lambda k: S.simulate(on, d=2000, tau=tau[:k], runs=1, seed=2).eps)


def test_particles_stop_and_keep_their_records():
    tau = np.linspace(0.0, 1000.0, 201)  # 5e4 Euler steps of 1e6 particles: minutes, uninterrupted
    e = _interrupted(lambda: S.solve_particles(P, tau=tau, n_particles=1_000_000, seed=3))
    _check_prefix(e.partial, lambda k: S.solve_particles(P, tau=tau[:k], n_particles=1_000_000, seed=3).eps)


def test_pde_stops_and_keeps_its_records():
    p = S.STEParams(b=2, teacher="gaussian")
    tau = np.linspace(0.0, 5000.0, 501)  # 24 densities of 12000 cells, ~1e6 steps: minutes, uninterrupted
    e = _interrupted(lambda: S.solve_pde(p, tau=tau, h=0.001))
    _check_prefix(e.partial, lambda k: S.solve_pde(p, tau=tau[:k], h=0.001).eps)


def test_kernel_outside_the_main_thread_runs_unwatched():
    """No SIGINT reaches another thread (nor may it set the wakeup fd): there the kernel runs without the
    watch, with the same numbers."""
    out = []
    t = threading.Thread(target=lambda: out.append(S.simulate(P, d=50, tau_max=1.0, runs=2, seed=1).eps))
    t.start()
    t.join()
    np.testing.assert_array_equal(out[0], S.simulate(P, d=50, tau_max=1.0, runs=2, seed=1).eps)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_real_sigint_stops_the_parallel_kernel_and_keeps_other_handlers():
    """A real SIGINT to a process in the prange kernel (2 replicas): it stops and raises Interrupted; with
    a SIGINT handler of the user's own the signal reaches that handler and the run goes on."""
    code = ("import os, signal, threading, numpy as np\n"
            "from qmf_sim import ste as S\n"
            "from qmf_sim.ste.interrupt import Interrupted\n"
            "S.simulate(S.STEParams(), d=20, tau_max=0.1, runs=2)\n"
            "threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
            "try:\n"
            "    S.simulate(S.STEParams(), d=2000, tau=np.linspace(0, 2000, 2001), runs=2)\n"
            "    print('finished')\n"
            "except Interrupted as e:\n"
            "    print('interrupted', int(e.partial.valid.sum()))\n"
            "hits = []\n"
            "signal.signal(signal.SIGINT, lambda *a: hits.append(1))\n"
            "threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
            "r = S.simulate(S.STEParams(), d=1000, tau=np.linspace(0, 400, 11), runs=2)\n"  # ~3 s
            "print(len(hits), int(r.valid.sum()))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    (word, n), (hits, done) = (ln.split() for ln in res.stdout.splitlines())
    assert word == "interrupted" and 2 <= int(n) < 2 * 2001
    assert (hits, done) == ("1", "22")  # the user's handler ran once; the run finished
