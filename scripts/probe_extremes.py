#!/usr/bin/env python
"""Valid extreme input, right answer: every registered closed form, float64 face against the dps = 30 face.

For each ``ClosedForm`` of the registry (``qmf_sym._faces.registry``) and each of its registered test cases,
every scalar float argument in turn is replaced by each extreme value of ``EXT`` (the smallest subnormal,
1e-300, 1e-30, 1e-8, 1 -+ 1e-8, 1 -+ 1e-15 and their negatives near -1, 1e8, 1e30, 1e300, ...), and the form
is called with ``dps=None`` and ``dps=30`` (30 s each at most).  A case is flagged when the two faces disagree
in status (one answers, the other raises), when either raises anything but ValueError, or when both answer
and differ by more than max(1e3 rtol, 1e-11) relative plus 10 atol (the form's own stated tolerances).  A
ValueError from both faces is a refusal, not a flag.

    python scripts/probe_extremes.py -- -quadrature   # every form but the Smooth quadratures (~10 min)
    python scripts/probe_extremes.py activations      # the forms whose name contains "activations"

The last lines print ``calls N flagged K``; each flagged case is printed as it is found.
"""

import argparse
import math
import signal
import sys

import mpmath
import numpy as np

from qmf_sym._faces import registry

#: the extreme values substituted for each scalar float argument
EXT = [5e-324, 1e-300, 1e-30, 1e-8, 1 - 1e-8, 1 - 1e-15, -1 + 1e-8, -1 + 1e-15, -1e-300, 1e8, 1e30, 1e300, -1e8, -1e300]
TIMEOUT_S = 30


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout()


def call(form, args, kw, dps):
    """(status, value): "ok", "VE" (ValueError: a refusal), "EXC" (anything else) or "timeout"."""
    signal.alarm(TIMEOUT_S)
    try:
        return "ok", form(*args, dps=dps, **kw)
    except _Timeout:
        return "timeout", None
    except ValueError as exc:
        return "VE", str(exc).splitlines()[0][:100]
    except Exception as exc:  # noqa: BLE001 - anything but ValueError is a finding
        return "EXC", f"{type(exc).__name__}: {str(exc)[:100]}"
    finally:
        signal.alarm(0)


def flat(v):
    if isinstance(v, tuple):
        return [x for t in v for x in flat(t)]
    return [complex(x) if isinstance(x, mpmath.mpc) else float(x) for x in np.asarray(v, dtype=object).ravel()]


def compare(form, x64, xmp):
    """None if the float64 values agree with the dps ones to the form's tolerance, else the reason."""
    for x, y in zip(flat(x64), flat(xmp)):
        if isinstance(y, complex) or isinstance(x, complex):
            return "complex"
        if math.isnan(y) or math.isnan(x):
            if not (math.isnan(x) and math.isnan(y)):
                return "nan"
            continue
        if math.isinf(y) or math.isinf(x):
            if x != y:
                return "inf"
            continue
        if abs(x - y) > max(1e3 * form.rtol, 1e-11) * abs(y) + 10 * form.atol:
            return f"rel {abs(x - y) / max(abs(y), 1e-320):.2e}"
    return None


def variants(args, kw):
    """Each (args, kwargs) with one scalar float argument replaced by one extreme value."""
    slots = [("a", i) for i, a in enumerate(args) if isinstance(a, float)]
    slots += [("k", k) for k, v in kw.items() if isinstance(v, float)]
    for kind, key in slots:
        for e in EXT:
            a2, k2 = list(args), dict(kw)
            if kind == "a":
                a2[key] = e
            else:
                k2[key] = e
            yield a2, k2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="probe only the forms whose name contains one of these; a leading - "
                    "(after --, e.g. -- -quadrature) excludes instead")
    a = ap.parse_args(argv)
    skip = [n[1:] for n in a.names if n.startswith("-")]
    only = [n for n in a.names if not n.startswith("-")]
    signal.signal(signal.SIGALRM, _alarm)
    n_calls, flagged = 0, 0
    for name, form in registry().items():
        if any(s in name for s in skip) or not form.cases or (only and not any(o in name for o in only)):
            continue
        seen = set()
        for args, kw in form.cases():
            for a2, k2 in variants(args, kw):
                key = (repr(a2), repr(sorted(k2.items())))
                if key in seen:
                    continue
                seen.add(key)
                r64, rmp = call(form, a2, k2, None), call(form, a2, k2, 30)
                n_calls += 1
                why = None
                if r64[0] != rmp[0]:
                    why = "status"
                elif r64[0] == "EXC":
                    why = "exception"
                elif r64[0] == "ok":
                    why = compare(form, r64[1], rmp[1])
                if why:
                    flagged += 1
                    print(f"{name}{tuple(a2)}{k2}", why, r64, rmp, sep=" | ", flush=True)
        print(f"{name}: done, {flagged} flagged so far", flush=True)
    print("calls", n_calls, "flagged", flagged, flush=True)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
