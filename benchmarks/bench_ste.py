"""Speed of qmf_sim.ste (paper 2), as ratios against baselines measured in the same run.

    .venv/bin/python benchmarks/bench_ste.py [--quick] [--no-fig2] [--repeats K]

Every ratio is the MEDIAN over K interleaved pairs (baseline, measured thing, baseline, ...) and every
line ends with os.getloadavg(): the machine is shared.  One-thread rates use CPU time (process time:
other processes' time slices do not count), the 2-thread scaling uses wall time.

1. Gaussian draws alone, one thread: the numba ziggurat used by the simulation (xoshiro256++, 256
   layers, exact), numba's own np.random.standard_normal (polar Box-Muller), numpy's
   Generator.standard_normal (ziggurat, vectorised).  The ziggurat is the baseline.
2. d-dimensional STE SGD (d = 900, Fig. 2 setting), one thread, one replica: coordinate updates per
   second as a fraction of the draw rate; b = 2, joint weight and input quantization (b = b_x = 3 and
   2), unquantized.
3. Common random numbers: 4 parameter sets (the bit widths of Fig. 2) sharing one input stream per
   run -- one normal per coordinate for all 4 sets.  Sound for per-set means and error bars (the
   runs of a set stay independent; only the sets become correlated, see simulate_many).
4. Scaling over replicas: 2 threads vs 1 (prange over replicas), and the draws alone the same way
   (what the two cores give at that moment).
5. All of Fig. 2 (4 bit widths x 5 runs, d = 900, tau to 160), simulation + PDE theory curves.
6. The quantizer lookup pass alone (d = 900 values, repeated): the kernels' pass (_kernels.mpass: select
   chains over tuples of the thresholds, the arithmetic pass for b = 4) against the generated select
   chain it replaced, compiled here from the old generator's text (:data:`OLD_CHAIN`), same values.
7. General maps: tanh weights and inputs (compiled: the kernels' vectorised tanh), the ridge on psi,
   a quantization onset, and a user callable on the pure-numpy path.

2026-12-07, 512-bit vectors for the elementwise passes (2 cores, Intel Xeon with AVX-512 under KVM, LLVM
host CPU "rocketlake"; quiet machine, load average 0.2-0.5; CPU time, one thread, d = 900): LLVM's tuning for
AVX-512 cores prefers 256-bit vectors, so every pass ran on ymm registers.  _kernels.wide puts the function
attribute prefer-vector-width=512 on the lookup chains, the arithmetic grid pass, tanh and the update passes
(elementwise, so the same bits: sha256 of micro's and the particles' outputs over 10 settings identical to the
tree before), not on the reassociated sums (512-bit sums gave other bits in 200 of 200 random trials).  [6],
the pass alone, now against the old chain compiled at 256 bits: b=1 1.21x, b=2 1.49-1.59x, b=3 1.69-1.71x,
b=4 2.00-2.30x, uneven 15 thresholds 1.80-1.81x.  A harness (ns per value): 7-threshold chain 0.47-0.50 ->
0.27-0.28, tanh pass 1.12 -> 0.84, update pass 0.17 -> 0.15, generic update 0.25 -> 0.23; the sums 0.11 at
256 bits (0.09 at 512, not taken).  In the kernel (a /tmp script, tau = 12, one replica, medians of 5, old /
new tree alternating twice, ns per update with the draw rate's fraction): b = 2 2.44/2.39 (0.72/0.70) and
2.30/2.36 (0.75/0.73); b = b_x = 3 2.90/2.80 (0.61/0.59) and 2.72/2.77 (0.63/0.62); tanh 4.42/3.89
(0.40/0.43) and 4.27/3.86 (0.40/0.44).  So only tanh gains in the kernel (~10 %); the chains' saving (~0.2 ns
per update expected at b = b_x = 3) is within the run-to-run noise there.  This run (--repeats 7): [2] b=2
0.62, b = b_x = 3 0.52, b = b_x = 2 0.60, unquantized 0.65; [7] tanh 0.39; [3] 1.12; [4] 1.86x (draws alone
1.98x).  Making the fused input chain + sums (rpass_chain) wide too would change every joint run's rounding
for at most ~0.15 ns of ~2.8: not done.

2026-12-07, the arithmetic lookup without a division (2 cores, Intel Xeon with AVX-512 under KVM, load
average 0.6-1.0 with one other job; CPU time, one thread, d = 900): the uniform grids above 7 thresholds
(code -2) compute their thresholds and levels as (a k + b) / D by a reciprocal and one fused multiply-add
(llvm.fma) instead of a division; lookup_tables takes it only where the pass's own values equal the grid's
bits (every grid of the three kinds up to 2^10 levels does).  Pass alone, ns per value, medians of 7:
division form 1.06-1.09, FMA form 0.73-0.76, the gather pass (code -1) 1.36-1.44 -- the gather pass is gone
(a grid that is not spec §2.2's takes the chain up to 15 thresholds, the binary search beyond).  In the
kernel, old / new tree, two alternating pairs: b = 4 0.41 / 0.51, 0.49 / 0.45 (noisy), then 0.48 / 0.53,
0.48 / 0.53; b = b_x = 4 0.367 / 0.434, 0.365 / 0.429, 0.367 / 0.437, 0.366 / 0.434; b = 5 0.47 / 0.53, 0.48
/ 0.53; b = b_x = 3 unchanged (0.53-0.54).  Same numbers bit for bit for every quantizer grid, the
particles and the PDE.  The T > 0 path now takes the reassociated sums (and the input chain inside them)
like T = 0: those runs change at the rounding level (largest relative difference 8e-15 over 20 runs to
tau = 20 at d = 900), at the same speed (0.32-0.40 old, 0.36-0.37 new: the Langevin noise doubles the
draws).  Tried and not kept: the generic update pass for every map in micro (same bits, b = 2 0.55 against
0.61-0.66, unquantized 0.63-0.64 against 0.65-0.69).  The 15-threshold chain split from one 15-tuple by
static tuple slices measured 0.92x of the row slices, split inside the loop 0.71-0.87x.

2026-12-07, Ctrl-C and the work bound (same machine, load average 1.0-1.3): the kernels read their stop
flag once per step (an atomic load) and run where they are called (qmf_sim.ste.interrupt): same speed,
with the flag read and without it, alternating: b = 2 0.639/0.640, 0.646/0.648, 0.650/0.653, unquantized
0.678/0.678, 0.684/0.689, 0.685/0.691; a tiny simulate() (d = 8) 0.326 -> 0.330 ms.  Running the kernel
in a worker thread instead measured slower for the prange kernel (b = 2 0.595-0.658 against 0.677-0.687
in place; OpenMP and workqueue layers alike) and was dropped.  [4], old tree / this tree, three
alternating runs: 1.74x/1.90x, 1.87x/1.90x, 1.87x/1.91x (draws alone 1.98-2.00x).  --quick, this tree
after an old-tree run (load 1.2-1.3): [2] b=2 0.64 / 0.64, b = b_x = 3 0.52 / 0.54, b = b_x = 2 0.62 /
0.63, unquantized 0.70 / 0.69; tanh 0.36 / 0.36; [3] 0.94 / 0.92; [5] Fig. 2 12.5 s; [6] b=1 0.59x,
b=2 0.99x, b=3 1.00x, b=4 1.09x (split chain 1.00x, unsplit 0.03x), uneven 1.00x.

2026-12-07, joint quantization (same machine, load average 1.9-2.3 from other jobs; CPU time, one thread,
d = 900): phi(x) by a chain of <= 7 thresholds is now computed inside the pass of the five sums (T = 0),
same numbers bit for bit (every solver path; d = 900, 1001, 7 against the tree before).  Alternating
before / after, 3 pairs, fraction of a one-stream draw rate: b = b_x = 3 0.536/0.573, 0.538/0.578,
0.526/0.556; b = b_x = 2 0.635/0.665, 0.653/0.673, 0.652/0.670; b = 2 and unquantized inputs unchanged
(0.69, 0.72-0.74).  In a harness (ns per coordinate update, arrays in L1): a 7-threshold chain pass +
the sums 0.59-0.64, the chain inside the sums 0.45-0.46.  Measured and not kept: the chain inside the
draw loop 2.59-2.66 against draws + chain pass 1.87-1.90 (the draw loop is scalar, and so becomes the
chain); both chains inside the sums 1.04 against two chain passes + sums 1.08 while one inside is 0.91
in all; psi(w) inside the update pass 0.585 against 0.562-0.586 separate; the arithmetic lookup
(code -2) for b = 3, 0.99 ns against the chain's 0.46.  What bounds b = b_x = 3: the draws 1.50 ns of
the ~2.65 ns per update, the update 0.15, the weight chain 0.47, the input chain with the sums 0.45
(this bench's [2] line at load 2.2: 0.54).  0.7 of the draw rate means <= 2.14 ns, i.e. <= 0.64 ns for
everything but the draws, while the two 7-threshold chains alone take 0.93 ns (7 compares and 7
selects per 4 values; the compares go to one port).  Even with a free update and free sums the two
chains cap it at 1.50 / 2.43 = 0.62: 0.7 is out of reach with an exact lookup of this form.

2026-12-07, lookup without a generator (2 cores, Intel Xeon with AVX-512 under KVM, load average 0.5-0.7;
--quick --no-fig2 --repeats 5 and [6] at 7): scripts/ste_gen_passes.py and its generated block are gone.
A chain is now a loop over tuples of the row (numba's to_fixed_tuple), which LLVM unrolls.  numba compiles
a loop over a homogeneous tuple with a switch on the index for each tuple element read (literal_unroll
emits exactly the same machine code: it only versions loops over heterogeneous tuples).  LLVM unrolls the
loop and folds the switches up to 10 elements; from 12 on it does not, and the pass becomes a scalar loop
of switches (the 0.04x / 0.03x of the unsplit 15-tuple loop).  So 15 thresholds run as two chains of 8 +
7 in one loop.  Uniform 15-threshold grids (b = 4) now take the arithmetic pass (code -2, exact and
checked bit for bit as before).  [6], kernels' pass / old chain: b=1 0.97x, b=2 0.99x, b=3 0.99x, b=4
1.09x (the arithmetic pass; the split chain 1.01x, the unsplit 15-tuple loop 0.03x), uneven 15-threshold
staircase 1.01x (a second run: 1.46x / 0.99x / 1.00x / 1.09x / 1.01x).  The b = 1 pass takes ~80 ns, and
its ratio swings 0.45x-1.46x from one compilation to the next with the same code (placement of a tiny
loop, not the algorithm; earlier the same swing hit the generated chain).  A pass called through an
inline="always" dispatcher pays ~20 ns per call, against one that has the same dispatch written in place:
that is why the old reference goes through the same kind of dispatcher.  Inside the kernel the
difference is nil: old tree / new tree, fraction of the draw rate, CPU time, three alternating pairs at
load 0.6: b=1 0.696/0.698, 0.697/0.701, 0.703/0.700; b=2 0.668/0.665, 0.657/0.664, 0.665/0.663; b = b_x =
2 0.627/0.630, 0.621/0.622, 0.628/0.631; b = b_x = 3 0.518/0.517, 0.520/0.521, 0.520/0.522.  b=4 0.464 ->
0.464 and 0.476 -> 0.487, b = b_x = 4 0.351 -> 0.365 and 0.359 -> 0.374 (load 2.3-2.4).  This run's
other lines: [2] b=2 0.66, b = b_x = 3 0.52, b = b_x = 2 0.63, unquantized 0.70; [7] tanh 0.36; [3] 0.95;
[4] 1.80x with the draws alone at 1.99x.
The module then lost its duplicates (846 -> 699 lines, same numbers bit for bit; the draw-rate baseline
draw_normals moved here): one dispatcher mpass for all maps, upass + add_noise for the Langevin fast path
(upass_noise did the same operations in the same order), shared eps_g / record / chunk_sums /
fill_normal helpers, max |A| of the PDE taken by numpy.  Old / new at load 1.3-1.7, CPU time:
micro b=2 0.690/0.699, b = b_x = 3 0.531/0.541, T > 0 0.330/0.337, tanh 0.372/0.376 of the draw rate;
particles 2.9 / 2.9 ns per particle-step; PDE 0.65 / 0.65 s.  Not merged, because slower: the
particles' generic update for every map, bit-identical but 2.9 -> 3.7 ns per particle-step; rpass
written with chained assignments changes how LLVM vectorises the reassociated sums, so its rounding
and the results: its text stays.

2026-12-07 (2 shared cores, load average 8-11 from other jobs; --quick --no-fig2, medians of 3):
the libm tanh (math.tanh per coordinate, not vectorised: ~17 ns) replaced by _kernels.tanh (expm1 by
Cody-Waite reduction and Estrin's scheme, one division, fused multiply-adds: ~1.8 ns, max relative error
3.4e-16): psi = phi = tanh 0.07 (the tree before, 4a086f2, same benchmark, load 7.4) -> 0.31 of the draw
rate (0.26 before the multiply-adds were fused); the other paths unchanged within noise (before: b = 2
0.63, b = b_x = 3 0.55, b = b_x = 2 0.61, unquantized 0.64, scaling 1.03x with draws alone 1.38x).
Same run: b = 2 0.63, joint b = b_x = 3 0.54, b = b_x = 2 0.60, unquantized 0.64 (the draws take ~2 ns
of a coordinate update, the four vectorised passes -- update, two lookups, five sums -- ~1.2 ns; a fused
update + lookups loop measured slower, 1.84 vs 1.24 ns, and fusing the input lookup into the draw loop
too, 2.78 vs 2.47 ns); 4 sets sharing inputs 1.08; 2-thread scaling 1.22x with the draws alone at
1.23x in the same run (the machine, not the kernel: at load 10 two threads do not get two cores).
The generated chain stays: literal_unroll over a pairs argument ran 1.20x / 0.96x / 1.01x / 0.74x of
it at 1 / 3 / 7 / 15 thresholds (an earlier run: 0.80x / 1.21x / 0.91x / 0.74x), and the form the
kernels would need (table rows -> to_fixed_tuple -> literal_unroll) 1.07x / 0.96x / 0.89x / 0.02x (15
thresholds: not unrolled, a stack tuple indexed at run time).

2026-12-07, later (2 cores, Intel Xeon with AVX-512 under KVM; --quick --no-fig2 --repeats 7, the tree
before (git archive) and after run back to back, twice; load average 2.5-3.4 from other helpers' jobs:
the one-thread lines use CPU time, the 2-thread line only counts where the draws alone scale ~2x):
  * 2 threads: each replica now updates a copy of its latent weights allocated by its own thread.  W[g]
    and W[g + 1] met inside one cache line (8 d = 7200 bytes is not a multiple of 64), and both threads
    wrote it every step (false sharing).  The same fix with the step buffers also padded by 64 bytes
    measured 0.1-0.25 ns per update SLOWER and was dropped.  The scaling, old -> new, from a /tmp script
    (b = 2, tau = 10, wall time, medians of 9 interleaved), alternating the trees, counting only pairs
    whose draws alone scaled >= 1.95x (load 0.7-1.4): old 1.71-1.86x (median 1.79x, 9 runs), new
    1.78-1.92x (median 1.86x, 10 runs).  This bench's [4] line (tau = 4): old 1.69x / 1.76x, new 1.90x /
    1.74x / 1.84x, draws alone 1.98-2.00x.  So the 1.85x target is reached in the median, not in every
    run.  What bounds the rest is not measured (no hardware counters in this VM).  Per-call overhead is
    not it: on a quiet machine a call costs the same at 2 threads as at 1.  A guess: the passes are vector code and the
    draws scalar, so a two-core vector frequency limit would slow only the former.
  * One thread, fraction of the draw rate, before -> after (two pairs): b=2 0.65/0.66 -> 0.66/0.68; joint
    b=b_x=3 0.50/0.51 -> 0.53/0.52; joint b=b_x=2 0.61/0.62 -> 0.64/0.64; unquantized 0.69/0.69 ->
    0.70/0.71; tanh 0.35 -> 0.36; 4 sets sharing inputs 0.92/0.93 -> 0.92/0.95.  A third pair at load 1.4: 0.65 -> 0.68,
    0.51 -> 0.53, 0.62 -> 0.64, 0.70 -> 0.71.  Part of that gain came from a fused fast-path loop
    (update + psi(w) + phi(x) in one generated loop for identity and the b = 2 / 3 chains, same bits): in a
    harness 2.13 -> 2.03 ns per update at b = b_x = 2 and 2.65 -> 2.53 at b = b_x = 3, ~1-3 % in the kernel
    alone on this machine (32 vector registers), while on the AMD machine (16 registers) the same fusion
    had measured slower.  It was reverted: ~370 more generated lines (the module 846 -> 1207) and a cold
    first compile of simulate 8.1 -> 12.2 s for a few per cent that depend on the machine.  The rest of
    the gain (thread-private weights, the config arrays built once: ~0.1 ms of Python per call) stays.
  * Where the time goes, b = b_x = 3, one thread, d = 900, arrays in L1, ns per coordinate update: draws
    1.49-1.6 (the baseline itself), update pass 0.15, one 7-threshold lookup 0.46 (two per update), sums
    0.21.  In the whole kernel that is ~2.7 ns; simulate() adds ~0.5 ms of Python per call (~0.15 ns per
    update at tau = 4).  The chain runs 7 compares into mask registers per 4 values, and on this core only
    one port takes those, so that is the bound.  0.7 of the draw rate means at most 1.5/0.7 = 2.1-2.3 ns
    in all: <= 0.7 ns for everything but the draws.  Update + sums alone take 0.36, so two b = 3 lookups
    cannot fit.  The 0.7 target for joint b=b_x=3 is out of reach while results stay bit for bit.  For b
    = b_x = 2 (kernel alone ~0.69 at load 0.7) the bench line sits at 0.64 because of the Python overhead
    of a 10 ms run.
  * Tried and measured slower, so not kept: (a) software-pipelining the next step's draws into the blocks
    of this step's passes, for out-of-order overlap: blocks of 8-900 coordinates gave 4.7-5.3 ns vs 2.7
    ns; blocking the draw loop alone already cost +0.5 ns, more than any overlap won back (no
    hardware counters in this VM to say why).  (b) A gather-based bucket lookup (code -1): 1.33 ns per value at any
    b.  (c) An arithmetic bucket lookup with FMA-corrected quotients instead of divisions (bit-exact
    against the table at and beside every threshold, b = 2, 3, 4, 5, 8 endpoints): 0.68 ns at
    any b.  That is slower than the chain at b <= 3 (0.22 / 0.46) and faster at b = 4 (1.15) and at
    b >= 5 (the division form, 1.08).  It is not wired in, because picking
    it needs qmf_sim/ste/quantizer.py (lookup_tables' codes), which this change does not own.
  * Seen, not changed: while another process held a core, a tiny simulate() call with 2 numba threads
    (OpenMP layer) cost 6-9 ms against 0.5 ms on one thread, in the trees before and after.  That is the
    threading layer waiting for a thread that has no core.  On a quiet machine both cost 0.36-0.40 ms.

History (2 cores, AMD EPYC, best of 5, quiet machine): the ziggurat's fast path had a branch on the sign
bit and a uint64 -> float conversion: 2.0e8 normals/s per core; without them (same draws bit for bit)
4.9e8/s.  The SGD passes were scalar (a 2-D bucket-table gather per lookup): 0.50 (b=2) and 0.16 (b=3,
b_x=3) of the old draw rate; vectorised (select chains in registers, reassociated sums) they reached 0.81
and 0.76 of that old rate, i.e. 1.6e8 and 1.5e8 updates/s; with the faster generator, 2.9e8 and 2.5e8
updates/s = ~0.6 and ~0.5 of the new draw rate (the draws are now ~2 ns of the ~3.3 ns per update).
Re-housing (qmf_sim.ste package): the quantizer lookup became one pass (weights and inputs
alike) after a separate update pass, instead of an update fused with the weight lookup; measured with
--quick --no-fig2 back to back on the loaded shared machine (load ~8 on 2 cores), old -> new, as fractions of
the draw rate: b=2 0.46 -> 0.47, b=3/b_x=3 0.34 -> 0.39, unquantized 0.45 -> 0.48, 4 sets common inputs
0.74 -> 0.77; interleaved best-of-5 single-thread runs gave new/old 1.1-1.4x.  [6] literal_unroll over
(threshold, level) pairs: 1.02x (b=2) and 1.10x (b=4) of the generated chain in the pass alone (0.87x and
1.3x in an earlier run: parity within the noise); the generated chains stayed then, because micro picks
each config's grid at run time and a tuple argument fixes one grid per compiled pass (superseded: the
rows are now turned into tuples inside the kernel, see above).
General maps (one Map representation; the quantizer rows of the tables bit for bit as
before): --quick --no-fig2, old tree (git archive 3cec08a) vs new, back to back on the loaded machine
(load ~9 on 2 cores), updates/s: b=2 1.68e8 / 1.21e8 (two old runs) vs 1.30e8 new; b=3, b_x=3 1.12e8 /
0.85e8 vs 1.01e8; unquantized 1.51e8 / 1.15e8 vs 1.39e8; 4 sets common inputs 2.16e8 / 1.77e8 vs 2.25e8:
within the run-to-run noise.  New paths [7]: ridge on psi 1.5e8, onset 1.6e8 (as the quantizer path);
psi = phi = tanh compiled 7.8e6 (0.03 of the draw rate: three scalar math.tanh per coordinate and step,
not vectorised by LLVM); a callable tanh on the numpy path 5.3e6 (16 s per 100 tau at d = 900).
"""
from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from qmf_sim import ste as S
from qmf_sim.ste import _kernels as KM
from qmf_sim.ste.rng import stream_state


def cpu(fn):
    """CPU seconds of fn() (process time: on a shared machine the time slices of other processes do
    not count, unlike wall time; used for the one-thread rates)."""
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def wall(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(fns, k, clock=cpu):
    """Times of each fn in fns, measured k times in turn (fn0, fn1, ..., fn0, fn1, ...): list per fn."""
    ts = [[] for _ in fns]
    for _ in range(k):
        for j, fn in enumerate(fns):
            ts[j].append(clock(fn))
    return ts


def med_ratio(num, den):
    """Median over the interleaved pairs of num[i] / den[i]."""
    return float(np.median(np.asarray(num) / np.asarray(den)))


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-fig2", action="store_true")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved pairs per ratio (default 3 quick, 5)")
    a = ap.parse_args()
    d = 900
    tau = 4.0 if a.quick else 10.0
    n = int(tau * d * d)
    k = a.repeats or (3 if a.quick else 5)
    st1 = np.stack([stream_state(0, (0,))])
    st2 = np.stack([stream_state(0, (r,)) for r in range(2)])
    # warm-up / compile
    draw_normals(st1.copy(), 10)
    draw_normals_numba(1, 10)
    p2 = S.STEParams(b=2)
    configs = {"b=2 (Fig. 2)": p2, "b=3, b_x=3 (joint)": S.STEParams(b=3, b_x=3, eta=0.05),
               "b=2, b_x=2 (joint)": S.STEParams(b=2, b_x=2), "unquantized": S.STEParams(b=None)}
    for p in configs.values():
        S.simulate(p, d=d, tau_max=0.01, runs=1)
    numba.set_num_threads(1)
    draws = lambda: draw_normals(st1.copy(), n)  # noqa: E731  the baseline of every ratio
    rng = np.random.default_rng(0)
    m = 10 * d * d
    t_zig, t_nbr, t_np = interleaved([draws, lambda: draw_normals_numba(1, n),
                                      lambda: [rng.standard_normal(d) for _ in range(m // d)]], k)
    t_np = [t * n / m for t in t_np]
    r_zig = n / float(np.median(t_zig))
    print(f"[1] normal draws, 1 thread (CPU time, medians of {k} interleaved): ziggurat {r_zig:.3e}/s (baseline); "
          f"numba np.random {med_ratio(t_zig, t_nbr):.2f}x; numpy Generator (d-sized calls) "
          f"{med_ratio(t_zig, t_np):.2f}x; {load()}")
    for name, p in configs.items():
        t_d, t = interleaved([draws, lambda p=p: S.simulate(p, d=d, tau_max=tau, runs=1)], k)
        print(f"[2] SGD {name}, d={d}, 1 thread: {n / float(np.median(t)):.3e} coordinate-updates/s = "
              f"{med_ratio(t_d, t):.2f} of the draw rate; {load()}")
    if hasattr(S.STEParams, "weight_map"):  # general maps (absent in older trees: before/after runs)
        bench_maps(k, d, tau, n, draws)
    bits = [S.STEParams(b=b) for b in (2, 3, 4, 5)]
    t_d, t_sh, t_un = interleaved([draws, lambda: S.simulate_many(bits, d, tau_max=tau, runs=1, share_inputs=True),
                                   lambda: S.simulate_many(bits, d, tau_max=tau, runs=1, share_inputs=False)], k)
    print(f"[3] 4 sets x 1 run, 1 thread: common inputs {4 * med_ratio(t_d, t_sh):.2f} of the draw rate (set-"
          f"coordinate-updates); separate streams {4 * med_ratio(t_d, t_un):.2f}; speed-up {med_ratio(t_un, t_sh):.2f}x"
          f"; {load()}")
    bench_scaling(k, d, tau, n, p2, st2)
    if not a.no_fig2:
        tt = np.linspace(0, 160, 41)
        t0 = time.perf_counter()
        res = S.simulate_many(bits, 900, tau=tt, runs=5, seed=0)
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in bits:
            S.theory_curve(p, np.linspace(0, 160, 321), "pde")
        t_th = time.perf_counter() - t0
        print(f"[5] Fig. 2 (4 bit widths x 5 runs, d=900, tau<=160): simulation {t_sim:.1f} s + PDE curves "
              f"{t_th:.1f} s = {t_sim + t_th:.1f} s on {numba.get_num_threads()} threads "
              f"({sum(r.runs for r in res)} runs, target < 120 s); {load()}")
    bench_lookup(k)


def bench_scaling(k, d, tau, n, p, st2):
    """[4]: 2 replicas on 2 threads vs 1 thread (wall time: interleaved, median of the ratios), and the
    same for the draws alone (what the machine's two cores give at this moment: the honest ceiling)."""
    def at(threads, fn):
        def run():
            numba.set_num_threads(threads)
            try:
                fn()
            finally:
                numba.set_num_threads(1)
        return run

    sim = lambda: S.simulate(p, d=d, tau_max=tau, runs=2)  # noqa: E731
    drw = lambda: draw_normals(st2.copy(), n)  # noqa: E731
    t1, t2, d1, d2 = interleaved([at(1, sim), at(2, sim), at(1, drw), at(2, drw)], k, wall)
    print(f"[4] 2 replicas: 2 threads {2 * n / float(np.median(t2)):.3e} updates/s vs 1 thread "
          f"{2 * n / float(np.median(t1)):.3e}/s: scaling {med_ratio(t1, t2):.2f}x (wall, median of {k} interleaved); "
          f"draws alone scale {med_ratio(d1, d2):.2f}x in the same run; {load()}")


@numba.njit(parallel=True, nogil=True, error_model="numpy")
def draw_normals(states, n):
    """Sum of n normals of the kernels' ziggurat (_kernels.normal) per stream: the draw rate, the baseline of
    every ratio (one stream per replica, as in the simulation)."""
    R = states.shape[0]
    out = np.zeros(R)
    for r in numba.prange(R):
        s0, s1, s2, s3 = states[r, 0], states[r, 1], states[r, 2], states[r, 3]
        acc = 0.0
        for _ in range(n):
            z, s0, s1, s2, s3 = KM.normal(s0, s1, s2, s3)
            acc += z
        out[r] = acc
    return out


@numba.njit(parallel=True)
def draw_normals_numba(R, n):
    """Sum of n of numba's own np.random.standard_normal per stream (a baseline for [1])."""
    out = np.zeros(R)
    for r in numba.prange(R):
        acc = 0.0
        for _ in range(n):
            acc += np.random.standard_normal()
        out[r] = acc
    return out


def bench_maps(k, d, tau, n, draws):
    """[7]: the general maps, 1 thread, 1 replica: tanh weights and inputs (compiled: the kernels' own
    vectorised tanh, no libm call), the ridge on psi(w) (generic update pass), a quantization onset, and a
    user callable tanh on the pure-numpy path (short run, scaled)."""
    import math

    from qmf_sym.ste.maps import Map

    f = Map.from_callable(np.tanh, lambda u: 1.0 - np.tanh(u) ** 2)
    cfg = {"psi=phi=tanh (compiled)": S.STEParams(psi="tanh", phi="tanh", eta=0.1),
           "b=2, ridge on psi": S.STEParams(b=2, ridge="psi"),
           "b=2, onset tau/2": S.STEParams(b=2, onset=tau / 2)}
    for p in cfg.values():
        S.simulate(p, d=d, tau_max=0.01, runs=1)
    for name, p in cfg.items():
        t_d, t = interleaved([draws, lambda p=p: S.simulate(p, d=d, tau_max=tau, runs=1)], k)
        print(f"[7] SGD {name}, d={d}, 1 thread: {n / float(np.median(t)):.3e} updates/s = {med_ratio(t_d, t):.2f} "
              f"of the draw rate; {load()}")
    tc = min(tau, 0.5)
    nc = int(tc * d * d)
    t = cpu(lambda: S.simulate(S.STEParams(psi=f, phi=f, eta=0.1), d=d, tau_max=tc, runs=1))
    t_d = cpu(draws)
    print(f"[7] SGD psi=phi=callable tanh (numpy path), d={d}: {nc / t:.3e} updates/s = {(nc / t) / (n / t_d):.3f} of "
          f"the draw rate ({math.ceil(t / tc * 100)} s per 100 tau); {load()}")


#: the lookup passes as scripts/ste_gen_passes.py generated them into _kernels.py before the tuple-loop
#: chains replaced them (the in-run reference of [6]): per chain length n, the n thresholds and n + 1
#: levels in named registers, behind the same kind of dispatch on the code as the kernels' mpass
OLD_CHAIN = """
@njit(**J)
def chain_{n}(src, dst, d, lev, thr):
    {hoist}
    for i in range(d):
        u = src[i]
        q = l0
{body}
        dst[i] = q
"""
OLD_PASS = """
@njit(inline="always", **J)
def old_qpass(code, src, dst, d, lev, thr, t0, inv, top):
    if code == 1:
        chain_1(src, dst, d, lev, thr)
    elif code == 3:
        chain_3(src, dst, d, lev, thr)
    elif code == 7:
        chain_7(src, dst, d, lev, thr)
    elif code == 15:
        chain_15(src, dst, d, lev, thr)
    else:
        KM.mpass(code, src, dst, d, lev, thr, t0, inv, top)


@njit(**J)
def old_pass(code, src, dst, d, lev, thr, t0, inv, top, reps):
    for r in range(reps):
        old_qpass(code, src, dst, d, lev, thr, t0, inv, top)
        src[r % d] += 1e-300
"""


def old_pass():
    """The old lookup pass (codes 1, 3, 7, 15: the generated chains), called reps times: compiled from
    the old generator's text (:data:`OLD_CHAIN`, :data:`OLD_PASS`)."""
    from numba import njit

    ns = dict(njit=njit, J=dict(KM.J, cache=False), KM=KM)
    for n in KM.CHAINS:
        hoist = "; ".join([f"t{j} = thr[{j}]" for j in range(n)] + [f"l{j} = lev[{j}]" for j in range(n + 1)])
        body = "\n".join(f"        q = l{j + 1} if u >= t{j} else q" for j in range(n))
        exec(OLD_CHAIN.format(n=n, hoist=hoist, body=body), ns)  # noqa: S102 - fixed benchmark text
    exec(OLD_PASS, ns)  # noqa: S102
    return ns["old_pass"]


def bench_lookup(k):
    """[6]: the quantizer lookup pass of the kernels (_kernels.mpass, the code that
    quantizer.lookup_tables picks) against the generated select chain it replaced (:data:`OLD_CHAIN`),
    d = 900 values in L1, 20000 passes, CPU time, medians of k interleaved pairs; ratio > 1: the
    kernels' pass is faster.  Grids: the b = 1..4 endpoint quantizers (1, 3, 7, 15 thresholds; b = 4
    takes the arithmetic pass, code -2) and an uneven 15-threshold staircase (the split 8 + 7 tuple
    chain, code 15).  Also, at 15 thresholds: the split chain and one unsplit 15-tuple loop, on the b =
    4 grid (why the split: LLVM does not unroll the 15-element tuple loop)."""
    from numba import njit
    from numba.np.unsafe.ndarray import to_fixed_tuple

    from qmf_sim.ste.quantizer import lookup_tables, map_tables
    from qmf_sym.activations import Staircase
    from qmf_sym.ste import quantizer_grid
    from qmf_sym.ste.maps import Map

    @njit(nogil=True, boundscheck=False, error_model="numpy")
    def new_pass(code, src, dst, lev, thr, t0, inv, top, reps):
        for r in range(reps):
            KM.mpass(code, src, dst, src.shape[0], lev, thr, t0, inv, top)
            src[r % src.shape[0]] += 1e-300

    @njit(nogil=True, boundscheck=False, error_model="numpy")
    def unsplit_15(src, dst, lev, thr, reps):
        for r in range(reps):
            KM.qpass_chain(src, dst, src.shape[0], to_fixed_tuple(thr, 15), to_fixed_tuple(lev, 16))
            src[r % src.shape[0]] += 1e-300

    old = old_pass()
    src = np.random.default_rng(0).standard_normal(900)
    reps = 20000
    rng = np.random.default_rng(3)
    uneven = Map.staircase(Staircase(np.cumsum(rng.uniform(0.05, 0.3, 15)) - 1.2, rng.uniform(0.1, 0.5, 15)))
    def plain(lv, th):
        """The grid's own rows, padded (what the old chain reads), and its chain length in meta[0, 0]."""
        lev, thr = np.full((1, 16), float(lv[-1])), np.full((1, 16), np.inf)
        lev[0, :len(lv)], thr[0, :len(th)] = lv, th
        return lev, thr, np.array([[float(len(th))]])

    cases = [(f"b={b} ({2**b - 1} thresholds)", lookup_tables([quantizer_grid(b, 1.0)], scales=[1.0]),
              plain(*quantizer_grid(b, 1.0))) for b in (1, 2, 3, 4)]
    cases.append(("uneven staircase (15 thresholds)", map_tables([uneven]), plain(uneven.levels, uneven.thresholds)))
    for name, (lev, thr, meta), (clev, cthr, cmeta) in cases:
        code, nt = np.int64(meta[0, 0]), int(cmeta[0, 0])  # the kernels' code; the old chain's length
        a, o = np.empty(900), np.empty(900)
        fn_new = lambda: new_pass(code, src, a, lev[0], thr[0], meta[0, 1], meta[0, 2], meta[0, 3], reps)  # noqa: E731
        fn_old = lambda: old(np.int64(nt), src, o, 900, clev[0], cthr[0], 0.0, 0.0, 0.0, reps)  # noqa: E731
        fn_new(), fn_old()
        same = np.array_equal(a, o)
        t_o, t_n = interleaved([fn_old, fn_new], k)
        extra = ""
        if nt == 15 and code == -2:  # the b = 4 grid: the two 15-threshold chains too
            c15 = np.int64(15)
            fn_ch = lambda: new_pass(c15, src, a, clev[0], cthr[0], 0.0, 0.0, 0.0, reps)  # noqa: E731
            fn_un = lambda: unsplit_15(src, o, clev[0], cthr[0], reps)  # noqa: E731
            t_o2, t_ch, t_un = interleaved([fn_old, fn_ch, fn_un], k)
            extra = (f"; at 15 thresholds the split tuple chain (8 + 7) {med_ratio(t_o2, t_ch):.2f}x, one unsplit "
                     f"15-tuple loop {med_ratio(t_o2, t_un):.2f}x")
        print(f"[6] lookup pass, {name}: kernels' pass (code {int(code)}) {reps * 900 / float(np.median(t_n)):.3e}/s = "
              f"{med_ratio(t_o, t_n):.2f}x the old generated chain{extra}; same values: {same}; {load()}")


if __name__ == "__main__":
    main()
