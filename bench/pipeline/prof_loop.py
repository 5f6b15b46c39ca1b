"""The timing-and-report loop of the consumer profiles (`case_prof.py`, `referral_prof.py`): a
warm-up, one timed run (CPU of this process and wall time), the figures per event, and on request the
statements of one more event and a CPU profile of N more."""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

WARM_UP = 20


class Counted(Protocol):
    """What counts the statements (``case_prof.Statements``)."""

    counts: Counter[str]
    trace: list[str] | None


def measure(
    args: argparse.Namespace,
    stmts: Counted,
    *,
    title: str,
    unit: str,
    apply: Callable[[int], Any],
    timed: Callable[[int], tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """`apply(n)` handles n more events (untimed: the warm-up, the trace, the profile); `timed(n)`
    handles n and returns (CPU s, wall s) of the handling alone, its statements counted (default:
    `apply` timed whole). Prints the figures per `unit` and returns them (args: n, trace, profile,
    sort, lines)."""
    if timed is None:

        def timed(n: int) -> tuple[float, float]:
            stmts.counts.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            apply(n)
            return time.process_time() - cpu, time.perf_counter() - wall

    apply(WARM_UP)  # imports, caches, the first of everything
    n = args.n
    cpu, wall = timed(n)
    load = os.getloadavg()
    print(f"{title}, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
    print(f"  per {unit}: cpu {cpu / n * 1000:.2f} ms, wall {wall / n * 1000:.2f} ms")
    kinds = {k: v / n for k, v in stmts.counts.most_common() if k != "all"}
    listed = ", ".join(f"{k} {v:.2f}" for k, v in kinds.items())
    print(f"  statements per {unit}: {stmts.counts['all'] / n:.2f} ({listed})")
    figures = {
        "n": n,
        "cpu_ms": round(cpu / n * 1000, 3),
        "wall_ms": round(wall / n * 1000, 3),
        "statements": round(stmts.counts["all"] / n, 2),
        "statement_kinds": {k: round(v, 2) for k, v in kinds.items()},
        "load_average": [round(x, 2) for x in load],
    }
    if getattr(args, "trace", False):
        stmts.trace = []
        apply(1)
        print("\n".join(stmts.trace))
        stmts.trace = None
    if getattr(args, "profile", False):
        prof = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
        prof.enable()
        apply(n)
        prof.disable()
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)
    return figures
