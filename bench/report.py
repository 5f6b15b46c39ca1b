"""Render the figures of bench/results/*.json (issue 17: intake, pipeline, consumers, matching,
ranking) as the generated block of docs/benchmarks.md, with each goal met or not.

bench/run_all.py (`make bench`) runs it last; run it alone after one benchmark:
.venv/bin/python bench/report.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-report:begin -->", "<!-- bench-report:end -->"


def _load(name: str) -> dict[str, Any] | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None


def _met(ok: bool | None) -> str:
    return "not measured" if ok is None else ("**met**" if ok else "**not met**")


def _when(d: dict[str, Any]) -> str:
    la = d.get("load_average") or d.get("load_average_before_write") or []
    return f"{d.get('when', '?')}, load {la[0]:.1f}" if la else str(d.get("when", "?"))


def _ms(d: dict[str, Any]) -> str:
    return "/".join(f"{d.get(q, 0):.0f}" for q in ("p50", "p95", "p99"))


def _ranking(out: list[tuple[str, str, str, str]], r: dict[str, Any]) -> None:
    for s in r.get("sizes", []):
        n = f"{s['rows'] / 1e6:.0f}M rows, {s['people'] / 1e6:.1f}M people"
        eng, pol, duck = s["engine_headline_s"], s["polars"]["seconds"], s["duckdb"]["seconds"]
        fig = f"engine {eng:.2f} s (best of 1/2 threads); polars {pol:.2f} s, duckdb {duck:.2f} s"
        pg = s.get("postgres")
        if pg:
            fig += f", PostgreSQL GROUP BY {pg['seconds']:.2f} s ({pg['ratio_over_engine']}x the engine)"
        fig += f"; peak RSS {s['peak_rss_engine_mb']:.0f} MB"
        if s["rows"] <= 10_000_000 and pg:
            out.append((f"ranking {n}", fig, ">= 10x PostgreSQL", _met(pg["ratio_over_engine"] >= 10)))
        elif s["rows"] >= 60_000_000:
            ok = eng < 5 and s["peak_rss_engine_mb"] < 3072
            out.append((f"ranking {n}", fig, "< 5 s and < 3 GB", _met(ok)))
        fastest = min((eng, "engine"), (pol, "polars"), (duck, "duckdb"))[1]
        out.append((f"ranking {n}: fastest", fastest, "the service's engine", _met(fastest == "engine")))
        sh = s.get("shuffled")
        if sh and s["rows"] >= 60_000_000:
            one, two = sh["recency_harm@1 threads=1"], sh["recency_harm@1 threads=2"]
            fig = f"grouping + re-rank {sh['headline_s']:.2f} s (2 threads; 1 thread {one['seconds']:.2f} s,"
            fig += f" CPU {one['cpu_s']:.2f} s; grouping {two['group_s']:.2f} s); the first call, which"
            fig += f" allocates the grouped copy, groups in {sh['first_group_s']:.2f} s; peak RSS"
            fig += f" {sh['peak_rss_mb']:.0f} MB"
            ok = sh["headline_s"] < 5 and sh["peak_rss_mb"] < 3072
            out.append((f"ranking {n}, rows shuffled", fig, "< 5 s and < 3 GB", _met(ok)))


def rows() -> list[tuple[str, str, str, str]]:
    """(measurement, figure, goal, status)."""
    out: list[tuple[str, str, str, str]] = []
    r = _load("ranking")
    if r:
        _ranking(out, r)
    i = _load("intake")
    if i:
        it, ce = i["intake"], i["ceiling"]
        fig = f"{it['ok_per_s']:.1f} req/s, p50/p95/p99 {_ms(_pq(it))} ms; ceiling {ce['ok_per_s']:.0f} req/s"
        fig += f" (p99 {ce['p99_ms']:.0f} ms): {i['ratio_intake_over_ceiling']:.3f} of the ceiling"
        what = f"intake, {i['connections']} connections ({_when(i)})"
        out.append((what, fig, ">= 0.25 of ceiling, p99 < 100 ms", _met(i["goal"]["met"])))
    c = _load("consumers")
    if c and len(c.get("runs", [])) >= 2:
        one, three = c["runs"][0]["events_per_s"], c["runs"][1]["events_per_s"]
        fig = f"1 process {one} events/s, 3 processes {three} events/s: {c['ratio_3_over_1']}x"
        if "ratios_3_over_1" in c:  # pairs of runs: their median, and what the cores allow
            fig = f"median of {len(c['ratios_3_over_1'])} pairs {c['ratio_3_over_1']}x "
            fig += f"({', '.join(map(str, c['ratios_3_over_1']))}); the cores allow "
            fig += f"{c['ratio_bound_by_cores']}x; first pair {one} and {three} events/s"
        out.append((f"consumer scale ({_when(c)})", fig, "3 processes >= 2x one", _met(c["goal"]["met"])))
    p = _load("pipeline")
    if p:
        for s in p.get("steps", []):
            fig = f"{s['reached_agenda']}/{s['referrals']} on the agenda"
            if s.get("held_for_match_review"):
                fig += f" ({s['held_for_match_review']} held for a match review)"
            fig += "; to assessment p50/p95/p99 "
            fig += f"{_ms(s['to_assessment_ms'])} ms; to agenda {_ms(s['to_agenda_ms'])} ms; "
            fig += f"sustained {s['sustained_per_s']}/s"
            at100 = s["offered_per_s"] == 100
            met = p.get("goal", {}).get("sustains_100_per_s_with_agenda_p95_under_500_ms")
            goal = "sustained, agenda p95 < 500 ms" if at100 else "-"
            out.append(
                (f"pipeline at {s['offered_per_s']:.0f}/s offered", fig, goal, _met(met) if at100 else "-")
            )
        if not any(s["offered_per_s"] == 100 for s in p.get("steps", [])):
            goal = "sustained, agenda p95 < 500 ms"
            out.append(("pipeline at 100/s offered", "not reached in the latest run", goal, "not measured"))
        b = p.get("backfill")
        if b:
            fig = f"{b['reached_agenda']}/{b['referrals']} in {b['span_s']} s ({b['sustained_per_s']}/s)"
            fig += f"; 100,000 extrapolated: {b.get('extrapolated_100k_s')} s"
            out.append(("backfill (scaled)", fig, "-", "-"))
    z = _load("idle")
    if z:
        after = z["median"]["after"]
        fig = f"cluster {after['cluster_ms_per_s']} ms CPU/s, PostgreSQL {after['postgres_ms_per_s']} ms/s"
        if "before" in z["median"]:
            before = z["median"]["before"]
            fig += f" (before: {before['cluster_ms_per_s']} and {before['postgres_ms_per_s']} ms/s)"
        out.append((f"distributed cluster at rest ({_when(z)})", fig, "-", "-"))
    g = _load("gateway")
    if g:
        gs = g["summary"]
        ratio = gs["gateway_throughput_ratio"]
        fig = f"{ratio:.3f} of direct, +{gs['gateway_added_p50_ms']:.2f} ms p50 at no load"
        fig += f"; nginx {gs['nginx_throughput_ratio']:.3f}"
        out.append((f"gateway ({_when(g)})", fig, ">= 0.7 of direct", _met(ratio >= 0.7)))
    m = _load("matching")
    if m and m.get("sizes"):
        for size, s in m["sizes"].items():
            fig = f"lookup p95 {s['indexed_ms']['p95']:.1f} ms (old scan {s['like_scan_ms']['p95']:.1f} ms)"
            fig += f"; intake p95 {s['intake_ms']['p95']:.1f} ms; load {s.get('load_s', '?')} s"
            out.append((f"matching, {int(size):,} known people", fig, "-", "-"))
        if "intake_p95_ratio_largest_vs_smallest" in m:
            largest = max(int(k) for k in m["sizes"])
            fig = f"{m['intake_p95_ratio_largest_vs_smallest']:.2f}x at {largest:,} vs the smallest"
            unmatched = m.get("intake_no_match_p95_ratio_largest_vs_smallest")
            if unmatched is not None:
                fig += f" ({unmatched:.2f}x for subjects matching nobody)"
            ok = bool(m.get("goal_met")) if largest >= 1_000_000 else None
            out.append(("matching: intake p95 ratio", fig, "<= 1.2x at 1,000,000", _met(ok)))
    return out


def _pq(d: dict[str, Any]) -> dict[str, Any]:
    return {q: d[f"{q}_ms"] for q in ("p50", "p95", "p99")}


def render() -> str:
    lines = [BEGIN, "", "| measurement | figure (one run) | goal | status |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {f} | {g} | {s} |" for a, f, g, s in rows()]
    lines += ["", "_Generated by `bench/report.py` from `bench/results/*.json`._", "", END]
    return "\n".join(lines)


def main() -> int:
    doc = DOC.read_text()
    block = render()
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n## Figures of the latest `make bench`\n\n" + block + "\n"
    DOC.write_text(doc)
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
