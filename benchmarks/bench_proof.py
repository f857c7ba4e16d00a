"""Speed of the proven table (qmf_sym.proof.proven_table) against the non-proven dps=30
table (qmf_sym.spacing.table(levels, dps=30): Newton at 30 + guard digits, with its certificate
re-run at 45 digits), both measured in the same run on the same levels.

The proven table computes, for each N, a bracket that provably holds the unique global maximiser
D~_opt(N), and balls of chi_max(N) and xi_max(N), at 30 significant digits (one erfc pass and one
exp pass per N, O(N); the globality lemmas are O(log N) interval checks).

Both wall-clock and CPU (process) time are printed: on a shared machine the CPU time is the
reproducible number.

Usage: python benchmarks/bench_proof.py [--levels 2-1024] [--quick]   (--quick = --levels 2-256)
"""
import argparse
import time

from qmf_sim.cli import _vocab
from qmf_sym import spacing as S
from qmf_sym.proof import proven_table


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--levels", default="2-1024")
    ap.add_argument("--quick", action="store_true", help="levels 2-256")
    ap.add_argument("--dps", type=int, default=30)
    args = ap.parse_args(argv)
    spec = "2-256" if args.quick else args.levels
    levels = _vocab.int_list(2)(spec)
    rows, w_p, c_p = timed(lambda: proven_table(levels, dps=args.dps))
    n_proven = sum(r.proven for r in rows)
    print(f"proven table N = {spec} at {args.dps} digits: {len(rows)} rows, {n_proven} proven; "
          f"wall {w_p:.2f} s, cpu {c_p:.2f} s")
    bad = [(r.N, r.proof) for r in rows if not r.proven]
    if bad:
        print("not proven:", bad[:10])
    _, w_t, c_t = timed(lambda: S.table(levels, dps=args.dps))
    print(f"non-proven dps={args.dps} table (with its {args.dps + 15}-digit re-run): wall {w_t:.2f} s, cpu {c_t:.2f} s")
    _, w_n, c_n = timed(lambda: S.table(levels, dps=args.dps, check=False))
    print(f"non-proven dps={args.dps} table without the re-run: wall {w_n:.2f} s, cpu {c_n:.2f} s")
    print(f"ratio proven / non-proven (cpu): {c_p / c_t:.3f} (with re-run), {c_p / c_n:.3f} (without)")


if __name__ == "__main__":
    main()
