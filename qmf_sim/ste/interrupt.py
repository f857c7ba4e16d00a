"""Ctrl-C for the compiled STE solvers: a kernel runs one call per segment without returning to Python,
so a KeyboardInterrupt could not stop it (Python handles a signal only between two bytecodes).

:func:`run_kernel` runs the kernel where it was called and points the signal module's wakeup fd
(:func:`signal.set_wakeup_fd`, written by the C-level handler at once) at a socket watched by one
helper thread; on SIGINT that thread sets the kernel's stop flag, which every kernel reads once per
step (micro: per SGD step; particles: per Euler step; pde: per time step; an atomic load, so it cannot
be hoisted out of the loop).  The kernel returns, Python raises the KeyboardInterrupt, and the solver
raises :class:`Interrupted` (a KeyboardInterrupt) carrying what it recorded: ``partial`` is the
Trajectory (a list of them for ``simulate_many``) with the records made so far, NaN and ``valid`` False
from the stop on, and ``info['interrupted'] = True``.  Uninterrupted runs give the same numbers (the
flag is only read) at the same speed: running the kernel in a worker thread instead, the main thread
waiting in short joins, measured 2-10 % slower for the prange kernel (b = 2, d = 900, one thread).
"""
from __future__ import annotations

import os
import signal
import socket
import threading

import numpy as np


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an STE solver; ``partial`` holds its records up to the stop (see the module)."""

    def __init__(self, partial=None):
        super().__init__("STE solver interrupted (records up to the stop: .partial)")
        self.partial = partial


class _Watcher:
    """The helper thread of this process: reads the signal numbers the C handler writes to the wakeup
    socket, sets the stop flag of the running kernel on SIGINT and passes every byte on to the wakeup
    fd that was set before (an event loop's)."""

    def __init__(self):
        self.pid = os.getpid()
        self.rsock, self.wsock = socket.socketpair()
        self.wsock.setblocking(False)
        self.flag = None  # the stop array of the kernel that runs now
        self.previous = -1
        threading.Thread(target=self._loop, name="qmf-ste-sigint", daemon=True).start()

    def _loop(self):
        while True:
            data = self.rsock.recv(64)
            if (self.flag is not None and signal.SIGINT in data
                    and signal.getsignal(signal.SIGINT) is signal.default_int_handler):  # Ctrl-C raises
                self.flag[0] = 1
            if self.previous >= 0:
                try:
                    os.write(self.previous, data)
                except OSError:
                    pass


_watcher = None


def run_kernel(kernel, *args):
    """``kernel(*args, stop)`` with stop = int64[1] zeros, in the calling thread; True if SIGINT (Ctrl-C)
    stopped it (the kernel returned at its next step), else False.  Only the main thread receives
    signals and may set the wakeup fd: in other threads, and where the wakeup fd cannot be set, the
    kernel runs without the watch."""
    global _watcher
    stop = np.zeros(1, dtype=np.int64)
    args = args + (stop,)
    if threading.current_thread() is not threading.main_thread():
        kernel(*args)
        return False
    if _watcher is None or _watcher.pid != os.getpid():  # none yet, or a forked child (the thread is gone)
        _watcher = _Watcher()
    try:
        previous = signal.set_wakeup_fd(_watcher.wsock.fileno())
    except (ValueError, OSError):  # pragma: no cover - e.g. an embedding that owns the wakeup fd
        kernel(*args)
        return False
    _watcher.previous, _watcher.flag = previous, stop
    try:
        kernel(*args)
    except KeyboardInterrupt:  # raised when the kernel has returned: a SIGINT arrived during the call
        stop[0] = 1
    finally:
        _watcher.flag = None
        signal.set_wakeup_fd(previous)
    return bool(stop[0])


def mark_unrecorded(valid, eps):
    """valid & (a value was recorded): after a stop, the records never made are NaN (a recorded eps_g is
    never NaN: that is a divergence, already not valid)."""
    return np.asarray(valid) & ~np.isnan(eps)
