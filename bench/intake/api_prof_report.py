"""Read a ``py-spy record --threads -f raw`` profile and say where the samples go.

Each sample is put in the first bucket whose test it passes (more specific first), so the shares add
up to 100%. Also the top functions by own samples and by inclusive samples.

Run: python bench/intake/api_prof_report.py PROFILE.txt
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Stack = tuple[str, tuple[str, ...]]  # (thread, frames root -> leaf)
_LINE = re.compile(r"^(.*) (\d+)$")


def read_raw(path: Path) -> Counter[Stack]:
    out: Counter[Stack] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        parts = m.group(1).split(";")
        out[(parts[0], tuple(parts[1:]))] += int(m.group(2))
    return out


def _any(*needles: str) -> Callable[[str, tuple[str, ...]], bool]:
    return lambda _t, frames: any(n in f for f in frames for n in needles)


def _thread(*needles: str) -> Callable[[str, tuple[str, ...]], bool]:
    return lambda t, _f: any(n in t for n in needles)


def _both(
    a: Callable[[str, tuple[str, ...]], bool], b: Callable[[str, tuple[str, ...]], bool]
) -> Callable[[str, tuple[str, ...]], bool]:
    return lambda t, f: a(t, f) and b(t, f)


BUCKETS: list[tuple[str, Callable[[str, tuple[str, ...]], bool]]] = [
    ("kafka producer network thread", _thread("kafka-python-producer")),
    ("relay: kafka-python send and acks", _both(_thread("relay-"), _any("kafka/", "messaging/kafka.py"))),
    ("relay: outbox read and mark (database)", _thread("relay-")),
    ("group lag monitor", _thread("lag")),
    ("intake.submit (service + database)", _any("service/intake.py")),
    ("identity assertion (jwt)", _any("verify_identity", "jwt/")),
    ("unit of work (session, audit, commit)", _any("uow.py", "audit.py")),
    ("prometheus metrics", _any("prometheus_client")),
    ("logging", _any("logging/__init__.py", "hhpu_shared/logging.py")),
    ("pydantic (request body, headers)", _any("pydantic")),
    ("response JSON", _any("responses.py", "jsonable_encoder", "json/encoder.py")),
    ("threadpool hops (anyio to_thread)", _any("to_thread.py", "_backends/_asyncio.py", "concurrent/")),
    ("uvicorn HTTP protocol", _any("uvicorn/protocols", "h11", "httptools")),
    ("fastapi dependencies and routing", _any("fastapi/")),
    ("starlette and middleware", _any("starlette/", "hhpu_shared/http.py", "hhpu_shared/overload.py")),
    ("asyncio event loop", _any("asyncio/", "selectors.py")),
]


def _fn(frame: str) -> str:
    """'func (path/to/file.py:12)' -> 'func (file.py)'."""
    m = re.match(r"^(.*) \((.*?):\d+\)$", frame)
    if not m:
        return frame
    path = m.group(2)
    short = "/".join(path.split("/")[-2:])
    return f"{m.group(1)} ({short})"


def buckets_of(stacks: Counter[Stack], top: int = 25) -> dict[str, Any]:
    total = sum(stacks.values()) or 1
    shares: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for (thread, frames), n in stacks.items():
        name = next((b for b, test in BUCKETS if test(thread, frames)), "other")
        shares[name] += n
        tname = re.sub(r"\s*\(?0x[0-9a-f]+\)?|\s*\(\d+\)", "", thread.replace("thread", "")).strip() or thread
        threads[re.sub(r"AnyIO worker.*", "AnyIO worker threads", tname)] += n
        if frames:
            own[_fn(frames[-1])] += n
        for f in {_fn(x) for x in frames}:
            inclusive[f] += n

    def pct(c: Counter[str], k: int | None = None) -> dict[str, float]:
        return {key: round(100 * v / total, 1) for key, v in c.most_common(k)}

    return {
        "samples": total,
        "share_pct_by_part": pct(shares),
        "share_pct_by_thread": pct(threads),
        "top_own_pct": pct(own, top),
        "top_inclusive_pct": pct(inclusive, top),
    }


if __name__ == "__main__":
    print(json.dumps(buckets_of(read_raw(Path(sys.argv[1]))), indent=1))
