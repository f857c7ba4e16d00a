"""Speed of the chi_max / D_opt table (eq. 17 of paper 1), measured against a baseline in the same run.

* Fast: qmf_sym.spacing.table(range(2, 257), dps=30) (O(N) sums, Newton on the analytic derivative,
  including the certificate re-run at 45 digits).
* Baseline: the straightforward O(N^2) mpmath double sums of eq. 17 as printed, maximised by
  golden-section search on [0.01, 3] to a relative bracket of 1e-15 (~ 75 evaluations; golden section
  cannot certify 30 digits of D_opt, so the baseline is *cheaper* than an equal-accuracy method).
  It is far too slow for all N = 2..256, so it is timed on a subsample of N and the total is
  extrapolated by fitting time(N) = c N^2 to the subsample (stated in the output).
* float64 table N = 2..10 000 (no per-row 20-digit re-run).

Usage: python benchmarks/bench_table.py [--quick]
"""
import sys
import time

import mpmath
import numpy as np

from qmf_sym import spacing as S


def chi_eq17_naive(D, N):
    K = [mpmath.mpf(2 * k - N) / 2 for k in range(1, N)]
    num = mpmath.fsum(mpmath.exp(-(i * i + j * j) * D * D / 2) for i in K for j in K) / (2 * mpmath.pi)
    den = mpmath.fsum(mpmath.ncdf(-max(i, j) * D) * mpmath.ncdf(min(i, j) * D) for i in K for j in K)
    return num / den


def golden_max(f, a, b, rtol):
    g = (mpmath.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = f(c), f(d)
    n = 2
    while b - a > rtol * (a + b):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = f(d)
        n += 1
    return (a + b) / 2, n


def baseline(N, dps=30):
    with mpmath.workdps(dps + 10):
        if N == 2:
            return chi_eq17_naive(mpmath.mpf(1), 2), 1
        D, n = golden_max(lambda D: chi_eq17_naive(D, N), mpmath.mpf("0.01"), mpmath.mpf(3), mpmath.mpf(10) ** -15)
        return chi_eq17_naive(D, N), n


def main(quick=False):
    t, c0 = time.perf_counter(), time.process_time()
    rows = S.table(range(2, 257), dps=30)
    t_fast, c_fast = time.perf_counter() - t, time.process_time() - c0
    worst = min(r.agree_digits for r in rows if r.check_dps)
    print(f"fast 30-digit table N=2..256 (with 45-digit certificate re-runs): {t_fast:.2f} s wall, "
          f"{c_fast:.2f} s CPU; worst agreement {worst:.1f} digits")
    sub = [4, 8, 16] if quick else [4, 8, 16, 24, 32]
    times = {}
    for N in sub:
        t = time.process_time()
        chi_b, n = baseline(N)
        times[N] = time.process_time() - t
        chi_f = [r for r in rows if r.N == N][0].chi_max
        with mpmath.workdps(40):
            print(f"  baseline N={N}: {times[N]:.2f} s CPU ({n} evaluations), |chi - certified| = "
                  f"{mpmath.nstr(abs(chi_b - chi_f), 3)}")
    Ns = np.array(sub, float)
    ts = np.array([times[n] for n in sub])
    c = float(np.sum(ts * Ns ** 2) / np.sum(Ns ** 4))  # least squares for t = c N^2
    total = c * float(np.sum(np.arange(2, 257, dtype=float) ** 2))
    print(f"baseline extrapolated to N=2..256 (t = c N^2 fitted on N={sub}, c={c:.3g} s): {total:.0f} s "
          f"(~{total / 3600:.1f} h; measured only on the subsample)")
    print(f"ratio baseline/fast (CPU time; the machine is shared, wall times are noisier): {total / c_fast:.0f}x")
    t, c0 = time.perf_counter(), time.process_time()
    f64 = S.table(range(2, 10001), check=False)
    t64, c64 = time.perf_counter() - t, time.process_time() - c0
    print(f"float64 table N=2..10000: {t64:.2f} s wall, {c64:.2f} s CPU ({len(f64)} rows; max Newton evaluations "
          f"{max(r.newton_steps for r in f64)})")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
