"""Markdown tables of a `make reliability` run, for docs/reliability.md.

.venv/bin/python bench/reliability/report.py [bench/results/reliability.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _recovery(r: dict[str, float | None]) -> str:
    if not r:
        return "n/a"
    parts = [
        f"{k.replace('first 201 after ready', 'first 201')}: {'none' if v is None else f'{v:.1f} s'}"
        for k, v in r.items()
    ]
    return "; ".join(parts)


def _errors(e: dict[str, int] | int) -> str:
    if isinstance(e, int):
        return str(e)
    return ", ".join(f"{n} × {k}" for k, n in sorted(e.items(), key=lambda kv: -kv[1])) or "0"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _secs(v: float | None) -> str:
    return "none" if v is None else f"{v:.1f} s"


def _alerts(f: dict[str, Any]) -> str:
    """Each alert that began firing in the fault's window: seconds after the fault began that it
    fired and resolved (`still firing` if it never resolved in the run)."""
    if "alerts" not in f:
        return ", ".join(f"{a} ({len(v)})" for a, v in sorted(f["alerts_fired"].items())) or "none"
    spans = [
        f"{a['alert']} +{a['fired_s']:.0f}→"
        + ("still firing" if a["resolved_s"] is None else f"+{a['resolved_s']:.0f} s")
        for a in f["alerts"]
    ]
    return "; ".join(spans) or "none"


def distributed(d: dict[str, Any]) -> list[str]:
    head: tuple[str, ...] = (
        "fault (referrals acknowledged in its window)",
        "down (kill to ready)",
        "new effects after ready",
    )
    head += ("lost", "duplicated", "client errors in window", "alerts firing in window")
    out = [_row(*head), _row(*["---"] * len(head))]
    b = d.get("effects_before_the_first_fault", {})
    out.append(
        _row(f"none ({b.get('referrals', 0)})", "", "", b.get("lost", 0), b.get("duplicated", 0), "", "")
    )
    for f in d["faults"]:
        w = f.get("effects_of_referrals_acknowledged_in_window", {})
        alerts = _alerts(f)
        out.append(
            _row(
                f"{f['fault']} ({w.get('referrals', 0)})",
                _secs(f["down_s"]),
                _recovery(f["recovery_s"]),
                w.get("lost", 0),
                w.get("duplicated", 0),
                _errors(f["client_errors_in_window"]),
                alerts,
            )
        )
    return out


def single(s: dict[str, Any]) -> list[str]:
    head: tuple[str, ...] = ("fault (referrals acknowledged in its window)", "restart to ready")
    head += ("first 201 after ready", "lost", "duplicated", "client errors in window")
    out = [_row(*head), _row(*["---"] * len(head))]
    b = s.get("effects_before_the_first_kill", {})
    out.append(_row(f"none ({b.get('referrals', 0)})", "", "", b.get("lost", 0), b.get("duplicated", 0), ""))
    for f in s["faults"]:
        w = f.get("effects_of_referrals_acknowledged_in_window", {})
        out.append(
            _row(
                f"{f['fault']} ({w.get('referrals', 0)})",
                _secs(f["restart_to_ready_s"]),
                _secs(f["first_201_after_ready_s"]),
                w.get("lost", 0),
                w.get("duplicated", 0),
                f["client_errors_in_window"],
            )
        )
    return out


def summary(mode: str, m: dict[str, Any]) -> str:
    v = m["verdict"]
    return (
        f"**{mode}**: {v['referrals_acknowledged']} referrals acknowledged, lost {v['lost_total']}, "
        f"duplicated {v['duplicated_total']}, given up {m['given_up']}, awaiting a match review "
        f"{v.get('awaiting_match_review', 0)}; client errors: {_errors(m['client_errors'])}."
        + _chains(m.get("audit_chains"))
    )


def _chains(chains: dict[str, Any] | None) -> str:
    if not chains:
        return ""
    broken = [f"{name} at {c['first_bad_id']}" for name, c in chains.items() if not c["ok"]]
    entries = sum(c["checked"] for c in chains.values())
    if broken:
        return " Audit chains BROKEN: " + ", ".join(broken) + "."
    return f" Audit chains intact in all {len(chains)} databases ({entries} entries verified)."


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench/results/reliability.json"
    r = json.loads(path.read_text())
    src = r.get("source", {})
    lines = [
        f"Run of {r['at']}, commit {src.get('commit', 'unknown')[:12]}"
        + (" (DIRTY TREE)" if src.get("dirty") or src.get("dirty_at_end") else "")
        + f", {r['machine']['cpus']} CPUs, {r['duration_s'] / 60:.1f} min in all.",
        "",
    ]
    failed = r.get("failures")
    if failed is not None:
        lines += ["Checks: " + ("all passed." if not failed else f"{len(failed)} failed:"), ""]
        lines += [f"- {f}" for f in failed] + ([""] if failed else [])
    if "distributed" in r:
        d = r["distributed"]
        lines += [summary("Distributed", d), "", *distributed(d), ""]
        still = ", ".join(d["alerts_firing_at_end"]) or "nothing"
        lines += [f"Still firing a minute after the last fault: {still}.", ""]
        empty = [q for q in d["dashboard_queries"] if not q["series"]]
        lines += [
            f"Dashboard: {len(d['dashboard_queries']) - len(empty)} of {len(d['dashboard_queries'])} queries "
            "returned data"
            + ("." if not empty else "; without data: " + "; ".join(f"{q['panel']}" for q in empty)),
            "",
        ]
    if "single" in r:
        lines += [summary("Single process", r["single"]), "", *single(r["single"])]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
