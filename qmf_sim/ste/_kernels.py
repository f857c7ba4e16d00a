"""Numba kernels of :mod:`qmf_sim.ste` (imported lazily, so numba loads only when a solver runs).

Every compiled function of the STE solvers lives in this one module, and the module imports nothing
from the project: each global a kernel reads (the ziggurat tables, the pass dispatch) is computed in
this file.  numba keys its on-disk cache on the defining file's time stamp, so a change to anything a
kernel depends on changes this file and invalidates the cache: a stale cache is impossible by
construction (a kernel that froze tables imported from another module kept old, wrong values).

Caching falls back to none, with one line on stderr, where no cache location is writable (a read-only
install without a writable $HOME or NUMBA_CACHE_DIR).  Algorithms: see the solvers' docstrings
(:mod:`qmf_sim.ste.micro`, :mod:`~qmf_sim.ste.particles`, :mod:`~qmf_sim.ste.pde`).
"""
import math
import sys

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic
from numba.np.unsafe.ndarray import to_fixed_tuple


def _cache_usable():
    """True if numba can cache functions of this file; else one line on stderr, and False."""
    try:
        njit(cache=True)(_cache_probe)
        return True
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        print(f"qmf: numba cannot cache compiled STE kernels here ({str(exc).split(':')[0]}); "
              "running without a cache (set NUMBA_CACHE_DIR to a writable directory to enable it)",
              file=sys.stderr)
        return False


def _cache_probe(x):  # pragma: no cover - only decorated
    return x


CACHE = _cache_usable()


# ---------------------------------------------------------------- ziggurat tables (defined HERE)
def ziggurat_tables(n=256):
    """Tables of the Marsaglia--Tsang ziggurat for N(0,1) with n layers of equal area v.

    x_1 = r > x_2 > ... > x_{n-1} > x_n = 0, f(x_{i+1}) = f(x_i) + v/x_i with f(x) = exp(-x^2/2),
    x_0 = v/f(r) (the base strip including the tail).  r is solved so that the recursion ends at
    f(x_n) = 1 exactly (to float64), so every layer has the same area and sampling is exact.
    Returns (ki, wi, fi, r).
    """
    from scipy.optimize import brentq
    from scipy.special import erfc

    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731

    def build(r):  # the layers' x and the mismatch 1 - f(x_n) (< 0 where r is too small)
        v = r * f(r) + math.sqrt(math.pi / 2) * erfc(r / math.sqrt(2))
        x = np.zeros(n + 1)
        x[0], x[1] = v / f(r), r
        for i in range(1, n - 1):
            arg = v / x[i] + f(x[i])
            if arg >= 1.0:
                return x, 1.0 - arg - (n - 1 - i)
            x[i + 1] = math.sqrt(-2.0 * math.log(arg))
        return x, 1.0 - (v / x[n - 1] + f(x[n - 1]))

    r = brentq(lambda r: build(r)[1], 3.0, 4.0, xtol=1e-15, rtol=1e-15)
    x, mismatch = build(r)
    assert abs(mismatch) < 1e-12, mismatch
    ki = np.floor(x[1:] / x[:-1] * 2.0**52).astype(np.uint64)  # < 2^52: exact
    return ki, x[:-1] / 2.0**52, np.exp(-0.5 * x * x), r  # fi[n] = exp(-0) = 1


KI, WI, FI, ZIG_R = ziggurat_tables()
ZR = float(ZIG_R)
INV_ZR = 1.0 / ZR
M8, M9, U1 = np.uint64(255), np.uint64(511), np.uint64(1)
S8, S11, S12, S17, S19, S23, S41, S45 = (np.uint64(k) for k in (8, 11, 12, 17, 19, 23, 41, 45))
TWO53I = 1.0 / 9007199254740992.0
WIS = np.concatenate([WI, -WI])  # signed layer widths, index u & 511
KIS = KI.astype(np.int64)  # < 2^52: exact
jit = dict(nogil=True, cache=CACHE, fastmath=False, error_model="numpy")
#: the vectorised passes (no bounds checks: indices are in range by construction)
J = dict(nogil=True, cache=CACHE, error_model="numpy", boundscheck=False)


@intrinsic
def wide(typingctx):
    """Let LLVM vectorise the calling function with 512-bit registers where the CPU has them.

    LLVM's tuning for AVX-512 cores prefers 256-bit vectors (its ``prefer-256-bit``); the function
    attribute ``prefer-vector-width=512`` lifts that for this function only (a no-op on other CPUs).  Only
    for passes whose every element is computed alone (lookups, maps, updates): their bits do not depend
    on the vector width.  Not for reassociated sums, whose rounding does (:func:`rpass`).  llvmlite
    accepts only enumerated attributes, so the string attribute is added to its set directly."""
    def codegen(context, builder, sig, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen


# ---------------------------------------------------------------- the one quantizer lookup
# psi(u) = lev[#{thr <= u}] (right-continuous: qmf_sym.ste.quantizer_grid's lookup) as a pass dst[i] = psi(src[i]).
# What each code computes, and why it is exact: qmf_sim.ste.quantizer.lookup_tables and map_tables.  The chains
# hold their thresholds and levels in registers (no gather), so LLVM vectorises the loop.

#: chain lengths with a vectorised pass (qmf_sim.ste.quantizer.lookup_tables picks the shortest that fits)
CHAINS = (1, 3, 7, 15)


@njit(**J)
def _chain(u, q, th, lv):
    """q = lv[j] for the last j with u >= th[j] (q if there is none); th, lv: tuples of one length.  LLVM
    unrolls the loop into vector compares for tuples of up to 10 elements only (benchmarks/bench_ste.py)."""
    j = 0
    for t in th:
        q = lv[j] if u >= t else q
        j += 1
    return q


@njit(**J)
def qpass_chain(src, dst, d, th, lv):
    """The chain over the n thresholds th and the n + 1 levels lv."""
    wide()
    l0, lv = lv[0], lv[1:]
    for i in range(d):
        dst[i] = _chain(src[i], l0, th, lv)


@njit(**J)
def qpass_chain2(src, dst, d, l0, th, lv, th2, lv2):
    """15 thresholds as chains of 8 + 7 in one pass, each short enough to be unrolled (:func:`_chain`)."""
    wide()
    for i in range(d):
        u = src[i]
        dst[i] = _chain(u, _chain(u, l0, th, lv), th2, lv2)


@njit(inline="always", **J)
def bucket(u, t0, inv, top):
    """The nearest threshold's index (u - thr[0]) / Delta + 1/2 clipped to [0, top] (NaN: 0), not rounded."""
    s = (u - t0) * inv + 0.5
    s = s if s > 0.0 else 0.0
    return s if s < top else top


@intrinsic
def fma(typingctx, a, b, c):
    """a b + c rounded once (llvm.fma: vectorised, the same bits in every caller)."""
    def codegen(context, builder, sig, args):
        f64 = ir.DoubleType()
        return builder.call(builder.module.declare_intrinsic("llvm.fma", [f64], ir.FunctionType(f64, [f64] * 3)), args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@njit(inline="always", **J)
def grid_value(k, a, b, den, rden, sc):
    """sc ((a k + b) / den) for an integer-valued k (a k + b exact), the quotient as q = (a k + b) rden
    corrected by one fused multiply-add, q + (a k + b - q den) rden (Markstein): no division.
    lookup_tables takes it only where it gives the grid's own bits at every k (:func:`grid_values`)."""
    x = a * k + b
    q = x * rden
    return sc * fma(fma(-q, den, x), rden, q)


@njit(**J)
def grid_values(k, a, b, den, sc):
    """:func:`grid_value` at each k of an array (what the arithmetic pass computes, for the table check)."""
    out = np.empty(k.shape[0])
    for i in range(k.shape[0]):
        out[i] = grid_value(k[i], a, b, den, 1.0 / den, sc)
    return out


@njit(**J)
def qpass_a(src, dst, d, lev, thr, t0, inv, top):
    """A uniform grid without a gather: the nearest threshold j (:func:`bucket`), the cell j + (u >= thr[j])
    and its level, thresholds and levels from :func:`grid_value` (lev row: a_t, b_t, D_t, a_l, b_l, D_l, omega)."""
    at, bt, dt, al, bl, dl, sc = lev[0], lev[1], lev[2], lev[3], lev[4], lev[5], lev[6]
    wide()
    rt, rl = 1.0 / dt, 1.0 / dl
    for i in range(d):
        u = src[i]
        jf = np.floor(bucket(u, t0, inv, top))
        cf = jf + 1.0 if u >= grid_value(jf, at, bt, dt, rt, sc) else jf
        dst[i] = grid_value(cf, al, bl, dl, rl, sc)


#: map codes beyond the quantizer passes (qmf_sim.ste.quantizer.map_tables): tanh, and a binary search for
#: staircases with many unevenly spaced thresholds
CODE_TANH = 100
CODE_SEARCH = 200


# ---- tanh without a libm call (vectorised by LLVM)
@intrinsic
def _pow2(typingctx, t):
    """2.0**k from t = 1.5 * 2^52 + k as a float64 (|k| < 1022): the exponent field (bits(t) + 1023) << 52
    (a bit cast; the high bits of t's own exponent and mantissa are shifted out)."""
    def codegen(context, builder, sig, args):
        i64 = ir.IntType(64)
        b = builder.add(builder.bitcast(args[0], i64), ir.Constant(i64, 1023))
        return builder.bitcast(builder.shl(b, ir.Constant(i64, 52)), ir.DoubleType())
    return types.float64(types.float64), codegen


LOG2E, LN2HI, LN2LO = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10  # fdlibm split
ROUND52 = 6755399441055744.0  # 1.5 * 2^52: y + ROUND52 - ROUND52 = y rounded to an integer
E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13 = (1.0 / math.factorial(n) for n in range(2, 14))


@njit(fastmath={"contract"}, **J)
def tanh(x):
    """tanh(x) = copysign(m / (m + 2), x), m = expm1(2|x|), in float64 without a libm call.

    expm1(y) = 2^k (expm1(r) + 1) - 1 with k = round(y / ln 2), r = y - k ln 2 (Cody--Waite, |r| <=
    ln2 / 2; y clipped at 40, where tanh = 1 to float64) and expm1(r) = r + r^2 sum_{n=2}^{13} r^(n-2)/n!
    (Estrin's scheme; the omitted terms < 4e-17 r), 2^k built in the exponent field.  No cancellation
    anywhere (m / (m + 2) with m >= 0), so the result is within a few ulps: max relative error 3.4e-16
    against 40-digit mpmath over a dense grid of [-25, 25] and +-[1e-300, 30] (libm's ~1.5e-16;
    tests/test_ste_sim_kernels.py checks <= 4e-16 against mpmath, <= 6e-16 against numpy).  tanh(+-0) =
    +-0, tanh(+-inf) = +-1, NaN -> NaN, subnormals exact.  Not inlined by numba but by LLVM, so its
    multiply-adds keep their own ``contract`` flag (fused: ~25 % faster) in every caller, vectorised or
    not: the same bits everywhere (tested: the pass, a scalar loop and the surrogate agree)."""
    y = abs(x + x)
    y = 40.0 if y > 40.0 else y  # NaN stays NaN
    t = y * LOG2E + ROUND52
    kf = t - ROUND52
    r = (y - kf * LN2HI) - kf * LN2LO
    r2 = r * r
    r4 = r2 * r2
    q = (((E2 + E3 * r) + r2 * (E4 + E5 * r)) + r4 * ((E6 + E7 * r) + r2 * (E8 + E9 * r))
         + (r4 * r4) * ((E10 + E11 * r) + r2 * (E12 + E13 * r)))
    s = _pow2(t)
    m = s * (r + r2 * q) + (s - 1.0)
    return math.copysign(m / (m + 2.0), x)


@njit(**J)
def mpass_tanh(src, dst, d, lev):
    wide()
    a, inv = lev[0], 1.0 / lev[1]
    for i in range(d):
        dst[i] = a * tanh(src[i] * inv)


@njit(**J)
def mpass_search(src, dst, d, lev, thr, nt):
    for i in range(d):
        u = src[i]
        lo, hi = 0, nt
        while lo < hi:  # number of thresholds <= u (right-continuous)
            mid = (lo + hi) >> 1
            if thr[mid] <= u:
                lo = mid + 1
            else:
                hi = mid
        dst[i] = lev[lo]


@njit(inline="always", **J)
def mpass(code, src, dst, d, lev, thr, t0, inv, top):
    """dst[i] = psi(src[i]), i < d, for every map of qmf_sim.ste.quantizer.map_tables (staircase rows padded
    to >= 16 levels and 15 thresholds)."""
    if code == 0:
        dst[:d] = src[:d]
    elif code == 1:
        qpass_chain(src, dst, d, to_fixed_tuple(thr, 1), to_fixed_tuple(lev, 2))
    elif code == 3:
        qpass_chain(src, dst, d, to_fixed_tuple(thr, 3), to_fixed_tuple(lev, 4))
    elif code == 7:
        qpass_chain(src, dst, d, to_fixed_tuple(thr, 7), to_fixed_tuple(lev, 8))
    elif code == 15:
        qpass_chain2(src, dst, d, lev[0], to_fixed_tuple(thr, 8), to_fixed_tuple(lev[1:], 8),
                     to_fixed_tuple(thr[8:], 7), to_fixed_tuple(lev[9:], 7))
    elif code == -2:
        qpass_a(src, dst, d, lev, thr, t0, inv, top)
    elif code == CODE_TANH:
        mpass_tanh(src, dst, d, lev)
    else:
        mpass_search(src, dst, d, lev, thr, np.intp(top))


@njit(inline="always", **jit)
def surrogate(w, om, gcode, ga, gc):
    """The backward derivative g(w): gcode 0: 1{|w| <= om}; 1: ga (1 - tanh(w / gc)^2)."""
    if gcode == 0:
        return 1.0 if abs(w) <= om else 0.0
    t = tanh(w / gc)
    return ga * (1.0 - t * t)


@njit(**jit)
def upass_gen(w, px, ps, d, coef, decay, om, gcode, ga, gc, rpsi):
    """:func:`upass` for any surrogate (gcode) and the ridge on psi (rpsi: w -= decay g psi, spec §8
    item 3) instead of on the latent weight; ps = psi(w) of the weights the gradient was taken at (gcode
    1 is tanh's derivative, only paired with psi = tanh: computed from ps)."""
    wide()
    ainv = 1.0 / (ga * gc) if gcode == 1 else 0.0
    for i in range(d):
        wi = w[i]
        if gcode == 0:
            g = 1.0 if abs(wi) <= om else 0.0
        else:  # tanh: g = (a/c) (1 - tanh^2(w/c)) from psi(w) = a tanh(w/c) itself (no second tanh)
            t = ps[i] * ainv
            g = ga * (1.0 - t * t)
        if rpsi:
            w[i] = wi + g * (coef * px[i] - decay * ps[i])
        else:
            w[i] = wi + g * coef * px[i] - decay * wi


@njit(**jit)
def add_noise(w, d, tnoise, s0, s1, s2, s3):
    """w += tnoise N(0,1) per coordinate, drawn in order (Langevin noise of the generic update)."""
    for i in range(d):
        zt, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
        w[i] += tnoise * zt
    return s0, s1, s2, s3


@njit(**jit)
def upass(w, px, d, coef, decay, om):
    """Finish the previous SGD step: w += coef px g(w) - decay w, g = 1{|w| <= om} (om = inf: g = 1)."""
    wide()
    for i in range(d):
        wi = w[i]
        gi = coef * px[i]
        gi = gi if abs(wi) <= om else 0.0
        w[i] = wi + gi - decay * wi


@njit(fastmath={"reassoc", "nsz", "contract"}, **J)
def rpass(w, ws, ps, px, X, d):
    """The five sums of one step (reassociated: vectorised; differs from a serial sum by rounding only, and
    its rounding depends on how LLVM vectorises this very loop: keep its text, or the results change)."""
    ay = 0.0
    ayh = 0.0
    am = 0.0
    aq = 0.0
    aqq = 0.0
    for i in range(d):
        wi = w[i]
        p = ps[i]
        wsi = ws[i]
        am += wsi * p
        aq += p * p
        aqq += wi * wi
        ay += wsi * X[i]
        ayh += p * px[i]
    return ay, ayh, am, aq, aqq


@njit(fastmath={"reassoc", "nsz", "contract"}, **J)
def rpass_chain(w, ws, ps, px, X, d, th, lv):
    """:func:`rpass` with px = phi(X) computed inside, by the chain over th, lv (:func:`qpass_chain`), and
    stored: the sums run in the shadow of the chain's compares (the same sums bit for bit)."""
    l0, lv = lv[0], lv[1:]
    ay = 0.0
    ayh = 0.0
    am = 0.0
    aq = 0.0
    aqq = 0.0
    for i in range(d):
        wi = w[i]
        p = ps[i]
        wsi = ws[i]
        xi = X[i]
        pxi = _chain(xi, l0, th, lv)
        px[i] = pxi
        am += wsi * p
        aq += p * p
        aqq += wi * wi
        ay += wsi * xi
        ayh += p * pxi
    return ay, ayh, am, aq, aqq


@njit(inline="always", **J)
def rpass_phi(code, w, ws, ps, px, X, d, lev, thr):
    """:func:`rpass_chain` for the input map's chain of code 1, 3 or 7."""
    if code == 1:
        return rpass_chain(w, ws, ps, px, X, d, to_fixed_tuple(thr, 1), to_fixed_tuple(lev, 2))
    if code == 3:
        return rpass_chain(w, ws, ps, px, X, d, to_fixed_tuple(thr, 3), to_fixed_tuple(lev, 4))
    return rpass_chain(w, ws, ps, px, X, d, to_fixed_tuple(thr, 7), to_fixed_tuple(lev, 8))


@intrinsic
def stopped(typingctx, flag):
    """flag[0] != 0 for an int64 array that another thread may set (Ctrl-C, qmf_sim.ste.interrupt), read
    by an atomic load at every call: a plain flag[0] was hoisted out of the prange loop, and the kernel
    never saw the flag set."""
    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.icmp_signed("!=", builder.load_atomic(data, "monotonic", 8), ir.Constant(ir.IntType(64), 0))
    return types.boolean(flag), codegen


# ---------------------------------------------------------------- the one divergence rule
@njit(inline="always", **jit)
def out_of_bounds(eps, q, eps_bound, q_bound):
    """The divergence rule of every solver: eps_g > eps_bound, q > q_bound, or either not a number."""
    return not (eps <= eps_bound and q <= q_bound)


@njit(inline="always", **jit)
def eps_g(rho, kappa, s2, m_psi, q_psi):
    """eps_g = 1/2 (rho - 2 kappa m_psi + s2 q_psi) (spec §4.1), from the order parameters of any solver."""
    return 0.5 * (rho - 2.0 * kappa * m_psi + s2 * q_psi)


@njit(inline="always", **jit)
def record(k, eps, m_psi, q_psi, q, out_eps, out_m, out_qpsi, out_q):
    """Recording k of a solver: eps_g, m_psi, q_psi and the latent q."""
    out_eps[k], out_m[k], out_qpsi[k], out_q[k] = eps, m_psi, q_psi, q


# ---------------------------------------------------------------- xoshiro256++ and the ziggurat
@njit(inline="always", **jit)
def nxt(s0, s1, s2, s3):
    # xoshiro256++ (Blackman & Vigna 2019)
    t0 = s0 + s3
    res = ((t0 << S23) | (t0 >> S41)) + s0
    t = s1 << S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << S45) | (s3 >> S19)
    return res, s0, s1, s2, s3


@njit(**jit)
def _normal_slow(u, idx, xx, s0, s1, s2, s3):
    # the rare branches of the ziggurat (about 1.2% of draws)
    while True:
        if idx == 0:
            # tail beyond r (Marsaglia 1964)
            while True:
                a, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
                c, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
                e1 = -math.log(1.0 - float(a >> S11) * TWO53I) * INV_ZR
                e2 = -math.log(1.0 - float(c >> S11) * TWO53I)
                if e2 + e2 > e1 * e1:
                    z = ZR + e1
                    return (-z if (u >> S8) & U1 else z), s0, s1, s2, s3
        a, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
        if FI[idx] + float(a >> S11) * TWO53I * (FI[idx + 1] - FI[idx]) < math.exp(-0.5 * xx * xx):
            return xx, s0, s1, s2, s3
        # rejected: draw afresh (the fast path of :func:`normal`)
        u, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
        idx = u & M8
        rabs = np.int64(u >> S12)
        xx = float(rabs) * WIS[u & M9]
        if rabs < KIS[idx]:
            return xx, s0, s1, s2, s3


@njit(inline="always", **jit)
def normal(s0, s1, s2, s3):
    # fast path without branches on the sign: the signed layer width WIS[u & 511] (bit 8 = sign), and a
    # signed int64 -> float conversion (rabs < 2^52; a uint64 conversion needs a branchy sequence).
    # Bit-identical to float(rabs) * WI[idx] negated when bit 8 is set.
    u, s0, s1, s2, s3 = nxt(s0, s1, s2, s3)
    idx = u & M8
    rabs = np.int64(u >> S12)
    xx = float(rabs) * WIS[u & M9]
    if rabs < KIS[idx]:
        return xx, s0, s1, s2, s3
    return _normal_slow(u, idx, xx, s0, s1, s2, s3)


@njit(inline="always", **jit)
def fill_normal(out, n, s0, s1, s2, s3):
    """out[:n] = n standard normals, drawn in order; returns the stream's new state."""
    for i in range(n):
        out[i], s0, s1, s2, s3 = normal(s0, s1, s2, s3)
    return s0, s1, s2, s3


@njit(**jit)
def fill_normals(state, out):
    state[0], state[1], state[2], state[3] = fill_normal(out, out.shape[0], state[0], state[1], state[2], state[3])


# ---------------------------------------------------------------- d-dimensional SGD (micro)
@njit(parallel=True, **jit)
def micro(states, W, WS, slot_cfg, wgl, wgt, wgm, xgl, xgt, xgm, eta, lam, sig, temp, kappa, s2, rho_emp,
          rec_steps, snap_steps, eps_bound, q_bound, out_eps, out_q, out_m, out_qpsi, out_snap, div_step, stop):
    """W, WS: (n_groups, G, d) latent and teacher weights; slot_cfg: (n_groups, G) config index; the
    slots of a group share one stream of inputs.  Each step: draw x (d normals) and the label noise,
    then per slot: finish the previous update (:func:`upass`), psi(w) and phi(x) (:func:`mpass`), the
    five sums (:func:`rpass`).  wgl/wgt (C, n): padded levels/thresholds, wgm (C, 9) = (code, t0, inv,
    top, clip bound, surrogate code, ga, gc, ridge-on-psi flag) of each config's map
    (``qmf_sim.ste.quantizer.map_tables``); stop[0] != 0 ends the run at the next step (weights written back)."""
    n_groups, G, d = W.shape
    n_steps = rec_steps[-1]
    sqd = math.sqrt(d)
    n_rec = rec_steps.shape[0]
    n_snap = snap_steps.shape[0]
    for g in prange(n_groups):
        s0, s1, s2_, s3 = states[g, 0], states[g, 1], states[g, 2], states[g, 3]
        # the weights live in a copy allocated by this replica's thread (written back at the end): W[g] and
        # W[g + 1] can share a cache line, which two threads writing every step would bounce between cores
        WL = W[g].copy()
        X = np.zeros(d)
        PS = np.zeros((G, d))  # psi(w) per slot, kept to the next step (generic update pass)
        PX = np.zeros((G, d))
        coef = np.zeros(G)  # eta e / sqrt(d) of the previous step
        decay = np.zeros(G)
        tnoise = np.zeros(G)
        active = np.ones(G, dtype=np.bool_)
        ir = isn = 0
        n_active = G
        for t in range(n_steps + 1):
            if stopped(stop):  # Ctrl-C (qmf_sim.ste.interrupt): the records up to step t - 1 stay
                break
            if t < n_steps:
                s0, s1, s2_, s3 = fill_normal(X, d, s0, s1, s2_, s3)
                # label noise of the new sample (always drawn: streams do not depend on sigma2)
                epsn, s0, s1, s2_, s3 = normal(s0, s1, s2_, s3)
            else:
                epsn = 0.0
            rec_now = ir < n_rec and rec_steps[ir] == t
            snap_now = isn < n_snap and snap_steps[isn] == t
            for j in range(G):
                if not active[j]:
                    continue
                c = slot_cfg[g, j]
                w = WL[j]
                if wgm[c, 5] == 0.0 and wgm[c, 8] == 0.0:  # indicator surrogate, ridge on w: the fast path
                    upass(w, PX[j], d, coef[j], decay[j], wgm[c, 4])
                else:  # PS[j] = psi of the weights the gradient was taken at (the previous step's pass)
                    upass_gen(w, PX[j], PS[j], d, coef[j], decay[j], wgm[c, 4], np.int64(wgm[c, 5]), wgm[c, 6],
                              wgm[c, 7], wgm[c, 8] != 0.0)
                if tnoise[j] != 0.0:  # Langevin noise, drawn in coordinate order
                    s0, s1, s2_, s3 = add_noise(w, d, tnoise[j], s0, s1, s2_, s3)
                mpass(np.int64(wgm[c, 0]), w, PS[j], d, wgl[c], wgt[c], wgm[c, 1], wgm[c, 2], wgm[c, 3])
                xc = np.int64(xgm[c, 0])
                if xc == 1 or xc == 3 or xc == 7:  # phi(x) inside the sums
                    ay, ayh, am, aq, aqq = rpass_phi(xc, w, WS[g, j], PS[j], PX[j], X, d, xgl[c], xgt[c])
                else:
                    mpass(xc, X, PX[j], d, xgl[c], xgt[c], xgm[c, 1], xgm[c, 2], xgm[c, 3])
                    ay, ayh, am, aq, aqq = rpass(w, WS[g, j], PS[j], PX[j], X, d)
                mpsi, qpsi, qlat = am / d, aq / d, aqq / d
                eps = eps_g(rho_emp[g, j], kappa[c], s2[c], mpsi, qpsi)
                if rec_now:
                    record(ir, eps, mpsi, qpsi, qlat, out_eps[g, j], out_m[g, j], out_qpsi[g, j], out_q[g, j])
                if snap_now:
                    out_snap[g, j, isn] = w
                if out_of_bounds(eps, qlat, eps_bound, q_bound):
                    active[j] = False
                    n_active -= 1
                    div_step[g, j] = t
                    continue
                e = (ay - ayh) / sqd + sig[c] * epsn
                coef[j] = eta[c] * e / sqd
                decay[j] = eta[c] * lam[c] / d
                tnoise[j] = math.sqrt(2.0 * eta[c] * temp[c] / d)
            if rec_now:
                ir += 1
            if snap_now:
                isn += 1
            if n_active == 0:
                break
        W[g] = WL
        states[g, 0], states[g, 1], states[g, 2], states[g, 3] = s0, s1, s2_, s3


# ---------------------------------------------------------------- McKean-Vlasov particles
@njit(inline="always", **jit)
def chunk_sums(code, w, ws, ps, n, lev, thr, t0, inv, top):
    """ps = psi(w) of a chunk of particles, and its sums of w* psi, psi^2 and w^2 (in order)."""
    mpass(code, w, ps, n, lev, thr, t0, inv, top)
    a1 = a2 = a3 = 0.0
    for i in range(n):
        p = ps[i]
        a1 += ws[i] * p
        a2 += p * p
        a3 += w[i] * w[i]
    return a1, a2, a3


@njit(**jit)
def particles(states, WP, WSP, lev, thr, meta, clip, omega, kappa, s2, eta, lam, sig2, temp, rho,
              dts, rec_at, snap_rec, eps_bound, q_bound, out_eps, out_m, out_q, out_qlat, out_snap, status, stop):
    """WP, WSP: (n_chunks, n) particles; chunk c uses stream states[c].  Euler--Maruyama with eps_g
    recomputed from all particles before every step; status = [diverged, step]; stop[0] != 0 ends the
    run.  Serial on purpose: the global eps_g couples all particles at every step, and a per-step thread
    barrier costs more than it gains on a loaded machine (run independent solves in parallel instead)."""
    code = np.int64(meta[0])
    t0, inv, top = meta[1], meta[2], meta[3]
    gcode = np.int64(meta[5])
    ga, gc = meta[6], meta[7]
    rpsi = meta[8] != 0.0
    generic = gcode != 0 or rpsi
    C, n = WP.shape
    N = C * n
    Z = np.zeros(n)
    PS = np.zeros((C, n))
    am = np.zeros(C)
    aq = np.zeros(C)
    aqq = np.zeros(C)
    for c in range(C):
        am[c], aq[c], aqq[c] = chunk_sums(code, WP[c], WSP[c], PS[c], n, lev, thr, t0, inv, top)
    n_steps = dts.shape[0]
    ir = 0
    for t in range(n_steps + 1):
        mpsi = qpsi = qlat = 0.0
        for c in range(C):
            mpsi += am[c]
            qpsi += aq[c]
            qlat += aqq[c]
        mpsi, qpsi, qlat = mpsi / N, qpsi / N, qlat / N
        eps = eps_g(rho, kappa, s2, mpsi, qpsi)
        while ir < rec_at.shape[0] and rec_at[ir] == t:
            record(ir, eps, mpsi, qpsi, qlat, out_eps, out_m, out_q, out_qlat)
            if snap_rec[ir] >= 0:
                out_snap[snap_rec[ir]] = WP.reshape(-1)
            ir += 1
        if out_of_bounds(eps, qlat, eps_bound, q_bound):
            status[0], status[1] = 1, t
            return
        if t == n_steps or stopped(stop):  # stop: Ctrl-C (qmf_sim.ste.interrupt), the records up to t stay
            break
        dt = dts[t]
        b_in = eta * eta * s2 * (2.0 * eps + sig2) + 2.0 * eta * temp
        sd_in = math.sqrt(b_in * dt)
        sd_out = math.sqrt(2.0 * eta * temp * dt)
        for c in range(C):
            s0, s1, s2_, s3 = states[c, 0], states[c, 1], states[c, 2], states[c, 3]
            states[c, 0], states[c, 1], states[c, 2], states[c, 3] = fill_normal(Z, n, s0, s1, s2_, s3)
            w_c = WP[c]
            ps_c = PS[c]
            if generic:  # any surrogate g, ridge on w or on psi(w) (spec §8 item 3)
                bc = eta * eta * s2 * (2.0 * eps + sig2)
                bt = 2.0 * eta * temp
                for i in range(n):
                    w = w_c[i]
                    g = surrogate(w, omega, gcode, ga, gc)
                    ps = ps_c[i]
                    ridge = g * ps if rpsi else w
                    w_c[i] = (w + (eta * g * (kappa * WSP[c, i] - s2 * ps) - eta * lam * ridge) * dt
                              + math.sqrt((g * g * bc + bt) * dt) * Z[i])
            else:
                for i in range(n):  # ps_c = psi(w_c) (= w_c for psi = id)
                    w = w_c[i]
                    if clip and (w > omega or w < -omega):
                        w_c[i] = w + (-eta * lam * w) * dt + sd_out * Z[i]
                    else:
                        w_c[i] = w + (eta * (kappa * WSP[c, i] - s2 * ps_c[i]) - eta * lam * w) * dt + sd_in * Z[i]
            am[c], aq[c], aqq[c] = chunk_sums(code, w_c, WSP[c], ps_c, n, lev, thr, t0, inv, top)


# ---------------------------------------------------------------- Fokker-Planck finite volumes
@njit(**jit)
def pde(P, wst, pw, A, Bshape, amax, bsmax, psi_avg, psi2_avg, x, h, eta, s2, kappa, sig2, temp, rho, rec_tau,
        snap_rec, eps_bound, q_bound, wall_cells, wall_mass, out_eps, out_m, out_q, out_qlat, out_snap, status,
        tau_div, stop):
    """P: (nT, M) cell densities, one per teacher value wst[j] with weight pw[j]; A: (nT, M) drift at the
    cells; B_i = eta^2 s2 (2 eps + sig2) Bshape_i + 2 eta T; amax = max |A|, bsmax = max(Bshape, 0).
    Upwind (donor-cell) drift flux F = A_i^+ p_i + A_{i+1}^- p_{i+1} - (B_{i+1} p_{i+1} - B_i p_i)/(2h),
    zero flux at the walls, explicit Euler with dt = 0.4 min(h / max|A|, h^2 / max B). Divergence:
    :func:`out_of_bounds` (q at the recording times only: the domain bounds it by L^2), or more than
    ``wall_mass`` of the mass in the ``wall_cells`` cells next to either wall (the solution has left the
    domain); status = [0 / 1 (bounds) / 2 (walls), steps], tau_div[0] = the time; stop[0] != 0 ends the
    run after the current step's record."""
    nT, M = P.shape
    B = np.zeros(M)
    F = np.zeros(M + 1)
    tau = 0.0
    ir = 0
    n_rec = rec_tau.shape[0]
    steps = 0
    while True:
        mpsi = qpsi = edge = 0.0
        for j in range(nT):
            a1 = a2 = 0.0
            for i in range(M):
                a1 += psi_avg[i] * P[j, i]
                a2 += psi2_avg[i] * P[j, i]
            e = 0.0
            for i in range(wall_cells):
                e += P[j, i] + P[j, M - 1 - i]
            mpsi += pw[j] * wst[j] * a1 * h
            qpsi += pw[j] * a2 * h
            edge += pw[j] * e * h
        eps = eps_g(rho, kappa, s2, mpsi, qpsi)
        rec_now = ir < n_rec and tau >= rec_tau[ir] - 1e-12
        # the latent q only where recorded (the domain bounds it by L^2; the wall rule watches every step)
        qlat = 0.0
        if rec_now:
            for j in range(nT):
                a3 = 0.0
                for i in range(M):
                    a3 += x[i] * x[i] * P[j, i]
                qlat += pw[j] * a3 * h
        bad = 1 if out_of_bounds(eps, qlat, eps_bound, q_bound) else (2 if not (edge <= wall_mass) else 0)
        if rec_now and not bad:
            record(ir, eps, mpsi, qpsi, qlat, out_eps, out_m, out_q, out_qlat)
            if snap_rec[ir] >= 0:
                out_snap[snap_rec[ir]] = P
            ir += 1
        if bad or ir >= n_rec or stopped(stop):  # stop: Ctrl-C (qmf_sim.ste.interrupt)
            status[0], status[1] = bad, steps
            if bad:
                tau_div[0] = tau
            return
        bc = eta * eta * s2 * (2.0 * eps + sig2)
        bt = 2.0 * eta * temp
        bmax = bc * bsmax + bt
        dt = 1e300
        if amax > 0.0:
            dt = 0.4 * h / amax
        if bmax > 0.0:
            dt = min(dt, 0.4 * h * h / bmax)
        if tau + dt >= rec_tau[ir]:
            dt = rec_tau[ir] - tau
            tau = rec_tau[ir]
        else:
            tau += dt
        for i in range(M):
            B[i] = bc * Bshape[i] + bt
        r = dt / h
        for j in range(nT):  # F[0] = F[M] = 0: no flux through the walls
            for i in range(M - 1):
                ai = A[j, i]
                an = A[j, i + 1]
                f = 0.0
                if ai > 0.0:
                    f += ai * P[j, i]
                if an < 0.0:
                    f += an * P[j, i + 1]
                f -= 0.5 * (B[i + 1] * P[j, i + 1] - B[i] * P[j, i]) / h
                F[i + 1] = f
            for i in range(M):
                P[j, i] -= r * (F[i + 1] - F[i])
        steps += 1
