"""The evaluation report a year on (journey 5), assembled from two services' JSON through the gateway.

Where it is assembled, and why: the figures live in two services that share nothing but events
(the case-service: cases managed by month and cohort, interventions with the chi-square test,
training, costs, capacity; the ranking-service: every run's back-test, the history summary and the
top bracket's stability). Neither service may call the other, so the document is composed by the
caller, here the `hhpu` command line, from `GET /api/v1/reports/evaluation` and
`GET /api/v1/ranking-history/summary` (plus the latest back-test's deciles) fetched through the
gateway with the caller's own token: the same roles and audit trail as any other reader. Both are
aggregate figures: no person is named. `render()` is pure and the PDF is WeasyPrint's
(`hhpu_shared.documents`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from hhpu_shared.charts import bar_chart, line_chart
from hhpu_shared.documents import e, local_date, page, table

FIGURE_TITLES = {
    "spearman_harm": "Spearman's rho, score vs later harm",
    "top_share_of_later_harm": "Top bracket's share of later harm",
    "auc_high_harm": "AUC for a later high-harm offence",
    "top_precision_any_later_offence": "Top bracket: share who offend again",
    "top_share_minus_prior_count_baseline": "Top share minus the prior-offence-count baseline",
    "top_jaccard_vs_previous": "Top bracket overlap with the previous run (Jaccard)",
    "top_churn_vs_previous": "Top bracket churn against the previous run",
}


def fetch(client: httpx.Client, step: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Both services' figures through the gateway (raises on a refused or failed call)."""

    def get(path: str, **params: Any) -> Any:
        r = client.get(path, params=params)
        r.raise_for_status()
        return r.json()

    step("case figures")
    cases = get("/api/v1/reports/evaluation")
    step("ranking history")
    history = get("/api/v1/ranking-history/summary")
    per_run = history.get("figures", {}).get("spearman_harm", {}).get("per_run", [])
    latest = None
    if per_run:
        step("latest back-test")
        latest = get(f"/api/v1/ranking-runs/{per_run[-1]['run_id']}/evaluation")
    return {"cases": cases, "history": history, "latest_backtest": latest}


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * float(v):.1f}%"


def _num(v: Any, digits: int = 3) -> str:
    return "" if v is None else f"{float(v):.{digits}f}"


def _ci(ci: Any) -> str:
    return "" if not ci else f"{_num(ci[0])} to {_num(ci[1])}"


def _capacity(c: dict[str, Any]) -> str:
    cap = c.get("capacity") or {}
    months = c["managed_by_month"]
    cohorts = sorted({k for m in months for k in m["by_cohort"]})
    chart = line_chart(
        "Cases managed per month",
        [m["month"] for m in months],
        [float(m["total"]) for m in months],
        y_label="cases",
        fmt="{:.0f}",
    )
    rows = [[m["month"], *(m["by_cohort"].get(k, 0) for k in cohorts), m["total"]] for m in months]
    return (
        "<h2>1. Capacity and cases managed</h2>"
        + table(
            [
                "Managers",
                "Managed cases",
                "Capacity (points)",
                "Load (points)",
                "Utilisation",
                "Over capacity",
            ],
            [
                [
                    cap.get("managers"),
                    cap.get("managed_cases"),
                    cap.get("capacity_points"),
                    cap.get("load_points"),
                    _pct(cap.get("utilisation")),
                    cap.get("managers_over_capacity"),
                ]
            ],
            "No team recorded.",
        )
        + chart
        + table(["Month", *cohorts, "Total"], rows, "No case managed in the period.")
    )


def _interventions(c: dict[str, Any]) -> str:
    iv = c["interventions"]
    rows = [[g, *iv["counts"][i], sum(iv["counts"][i])] for i, g in enumerate(iv["groups"])]
    test = iv.get("chi_square")
    verdict = (
        "<p><em>Too few interventions for the test.</em></p>"
        if not test
        else "<p>Pearson's chi-square test of cohort against category: "
        f"chi-square = {_num(test['statistic'])}, "
        f"{test['dof']} degrees of freedom, p = {_num(test['p_value'], 4)}. {e(test.get('note', ''))}</p>"
    )
    return (
        "<h2>2. Intervention mix by cohort</h2>"
        + table(["Cohort group", *iv["categories"], "Total"], rows, "No intervention recorded.")
        + verdict
    )


def _training(c: dict[str, Any]) -> str:
    t, cost = c["training"], c["costs"]
    return (
        "<h2>3. Training coverage and indicative costs</h2>"
        + table(
            ["Active managers", "Hold MOSOVO", "Coverage"],
            [[t["managers"], t["mosovo_trained"], _pct(t["coverage"])]],
            "",
        )
        + table(
            ["Item", "GBP"],
            [
                ["MOSOVO course, per person", f"{cost['mosovo_cost_per_person']:,.0f}"],
                ["MOSOVO training so far", f"{cost['mosovo_training_spent']:,.0f}"],
                ["MOSOVO to train the rest of the team", f"{cost['mosovo_training_to_complete_team']:,.0f}"],
                [
                    f"Supervising DI for {cost['period_months']:.0f} months",
                    f"{cost['supervising_di_for_period']:,.0f}",
                ],
            ],
            "",
        )
    )


def _backtest(h: dict[str, Any], latest: dict[str, Any] | None) -> str:
    parts = [
        "<h2>4. The algorithm's back-test</h2>",
        f"<p>{h.get('runs', 0)} production runs from {e(local_date(h.get('first_as_of')))} to "
        f"{e(local_date(h.get('last_as_of')))}; {h.get('evaluated_runs', 0)} with a complete follow-up year. "
        f"{e(h.get('method', ''))}</p>",
    ]
    if latest:
        d = latest["deciles"]
        parts.append(
            bar_chart(
                f"Share of later harm by score decile (run as of {latest['as_of']})",
                [str(r["decile"]) for r in d],
                [100 * float(r["harm_share"]) for r in d],
                y_label="% of later harm",
                fmt="{:.1f}",
                reference=10.0,
                reference_label="no skill (10%)",
            )
        )
    figures = h.get("figures", {})
    rows = []
    for key in (
        "spearman_harm",
        "top_share_of_later_harm",
        "auc_high_harm",
        "top_share_minus_prior_count_baseline",
    ):
        f = figures.get(key)
        if not f:
            continue
        across, tr = f["across_runs"] or {}, f["trend"]
        rows.append(
            [FIGURE_TITLES[key], _num(across.get("mean")), _ci(across.get("ci95")), e(tr["statement"])]
        )
    parts.append(table(["Figure", "Mean across runs", "95% interval", "Trend"], rows, "No back-test yet."))
    rho = figures.get("spearman_harm", {}).get("per_run", [])
    parts.append(
        line_chart(
            "Spearman's rho per run, with its 95% interval",
            [str(r["as_of"]) for r in rho],
            [r["value"] for r in rho],
            intervals=[r["ci95"] for r in rho],
            y_label="rho",
        )
    )
    return "".join(parts)


def _stability(h: dict[str, Any]) -> str:
    f = h.get("figures", {}).get("top_jaccard_vs_previous", {})
    per_run = f.get("per_run", [])
    churn = h.get("figures", {}).get("top_churn_vs_previous", {}).get("across_runs") or {}
    return (
        "<h2>5. Stability of the top bracket</h2>"
        + line_chart(
            "Top-bracket overlap with the previous run (Jaccard)",
            [str(r["as_of"]) for r in per_run],
            [r["value"] for r in per_run],
            y_label="Jaccard",
        )
        + f"<p>Mean overlap {_num((f.get('across_runs') or {}).get('mean'))}; mean churn "
        f"{_pct(churn.get('mean'))} of the bracket per run. A harm ranking churns: the 'felonious few' "
        "change from year to year, which is why every candidate gets a human assessment.</p>"
    )


def render(data: dict[str, Any]) -> str:
    """The whole report as HTML (inline SVG charts, no script)."""
    c, h = data["cases"], data["history"]
    period = c["period"]
    body = (
        _capacity(c)
        + _interventions(c)
        + _training(c)
        + _backtest(h, data.get("latest_backtest"))
        + _stability(h)
    )
    return page(
        "Evaluation report",
        body,
        subtitle=f"{e(local_date(period['start']))} to {e(local_date(period['end']))}: aggregate figures "
        "only, no person is identified",
    )


def summary_lines(data: dict[str, Any]) -> list[str]:
    """The headline figures for the terminal."""
    c, h = data["cases"], data["history"]
    rho = (h.get("figures", {}).get("spearman_harm", {}).get("across_runs") or {}).get("mean")
    test = c["interventions"].get("chi_square") or {}
    months = c["managed_by_month"]
    return [
        f"period           {c['period']['start']} to {c['period']['end']}",
        f"managed now      {months[-1]['total'] if months else 0} cases; team utilisation "
        f"{_pct((c.get('capacity') or {}).get('utilisation'))}",
        f"interventions    chi-square {_num(test.get('statistic'))}, p {_num(test.get('p_value'), 4)}",
        f"MOSOVO coverage  {_pct(c['training']['coverage'])}",
        f"ranking runs     {h.get('runs', 0)} ({h.get('evaluated_runs', 0)} back-tested); "
        f"mean rho {_num(rho)}",
    ]
