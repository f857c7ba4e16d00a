"""TRANSITIONAL: the '2-16,32,64' level syntax.  The CLI parses its flags with qmf_sim/cli/_vocab.py
and ``spacing.table`` accepts only integers; this module stays only while
``qmf_sym.proof.proven_table`` (and benchmarks/bench_proof.py) still pass string specs, and is deleted
with ``parse_levels`` when they take sequences of ints (qmf_sym does no argument parsing)."""
from __future__ import annotations

from .. import _validate as V


def parse_levels(spec):
    """'2-16,32,64' -> [2, ..., 16, 32, 64] (sorted, unique); also accepts an iterable of ints."""
    if not isinstance(spec, str):
        out = sorted({V.integer("levels", n, 2) for n in spec})
        if not out:
            raise ValueError("levels must name at least one N >= 2")
        return out
    out = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            try:
                a, b = int(a), int(b)
            except ValueError as exc:
                raise ValueError(f"levels: cannot parse range {part!r} (use e.g. 2-256)") from exc
            if b < a:
                raise ValueError(f"levels: empty range {part!r}")
            out.update(range(a, b + 1))
        else:
            try:
                out.add(int(part))
            except ValueError as exc:
                raise ValueError(f"levels: cannot parse {part!r} (use e.g. 2-16,32,64)") from exc
    out = sorted(out)
    if not out or out[0] < 2:
        raise ValueError(f"levels must be integers N >= 2, got {spec!r}")
    return out
