"""Before / after of the referral-api's API process in one run: api_prof.py on another checkout (the
base, e.g. main's or the branch point's, made with ``git worktree add --detach DIR COMMIT``) and on this
one, rounds interleaved, then one py-spy profile of each; medians and the ratio to
bench/results/api_prof.json.

Run: HHPU_TEST_PG_URL=... HHPU_TEST_KAFKA=... .venv/bin/python bench/intake/api_prof_ab.py BASE_DIR
     [--rounds 3] [--n 1000] [--concurrency 16] [--hide crc32c]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from common import write_result  # noqa: E402

KEYS = (
    "cpu_ms_per_referral",
    "cpu_ms_per_referral_net_of_idle",
    "system_cpu_ms_per_referral",
    "context_switches_per_referral",
)


def run(label: str, base: Path | None, args: argparse.Namespace, profile: bool, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "api_prof.py"), "--label", label, "--out", str(out)]
    cmd += ["--n", str(args.n), "--concurrency", str(args.concurrency), "--warmup", str(args.warmup)]
    if base is not None:
        cmd += ["--code", str(base), *(x for h in args.hide for x in ("--hide", h))]
    if profile:
        cmd += ["--profile"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=1800)
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--hide", action="append", default=[], help="modules the base does not install")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="api-prof-ab-"))
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for i in range(args.rounds):
        for label, base in (("before", args.base), ("after", None)):
            r = run(label, base, args, False, tmp / f"{label}-{i}.json")
            runs[label].append(r)
            print(label, i, {k: r[k] for k in KEYS}, r["load"]["per_s"], flush=True)
    result = {
        "n": args.n,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "base": str(args.base),
        "hidden_from_base": args.hide,
    } | summarise(runs)
    write_result("api_prof", result)  # the rounds are kept even if a profile run fails
    profiles: dict[str, Any] = {}
    for label, base in (("before", args.base), ("after", None)):
        try:
            v = run(label, base, args, True, tmp / f"{label}-profile.json")
            profiles[label] = {"under_profiler": v.get("under_profiler"), "profile": v.get("profile")}
        except subprocess.SubprocessError as exc:
            profiles[label] = {"error": str(exc)[-500:]}
    result["profiles"] = profiles
    write_result("api_prof", result)
    print(json.dumps({k: result[k] for k in ("median", "ratio_after_over_before_cpu")}, indent=1))


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians of the rounds of each side, per thread too, and the CPU ratio after / before."""
    summary: dict[str, Any] = {}
    for label, rs in runs.items():
        threads: dict[str, list[float]] = {}
        for r in rs:
            for name, v in r["cpu_ms_per_referral_by_thread"].items():
                threads.setdefault(name, []).append(v)
        summary[label] = {k: median(r[k] for r in rs) for k in KEYS} | {
            "referrals_per_s": median(r["load"]["per_s"] for r in rs),
            "p50_ms": median(r["load"]["p50_ms"] for r in rs),
            "p99_ms": median(r["load"]["p99_ms"] for r in rs),
            "idle_cpu_ms_per_s": median(r["idle_cpu_ms_per_s"] for r in rs),
            "load_average_1m": [r["load_average"][0] for r in rs],
            "cpu_ms_per_referral_by_thread": {k: round(median(v), 2) for k, v in threads.items()},
        }
    ratio = summary["after"]["cpu_ms_per_referral"] / summary["before"]["cpu_ms_per_referral"]
    return {"median": summary, "ratio_after_over_before_cpu": round(ratio, 3), "runs": runs}


if __name__ == "__main__":
    main()
