"""The command line for people: help, tables, --json, agency keys, the evaluation report, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from hhpu.cli import common, main, parser, work
from hhpu.evaluation_report import render, summary_lines
from hhpu.webhook_receiver import Receiver
from hhpu_shared.documents import to_pdf
from hhpu_shared.testing.documents import pdf_text


def test_help_documents_the_address_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    text = parser().format_help()
    assert "HHPU_URL" in text and "HHPU_PORT" in text and "--json" in text
    assert "agency keys list|rotate|revoke" in text and "hhpu open" in text
    monkeypatch.delenv("HHPU_URL", raising=False)
    monkeypatch.setenv("HHPU_PORT", "8123")
    assert common.default_url() == "http://127.0.0.1:8123"
    monkeypatch.setenv("HHPU_URL", "http://127.0.0.1:9000")
    assert common.default_url() == "http://127.0.0.1:9000"


def test_open_prints_the_docs_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    main(["open", "--url", "http://127.0.0.1:8777"])
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8777/docs" in out and "http://127.0.0.1:8777/redoc" in out


KEY = {
    "key_id": "k1",
    "agency_id": "a1",
    "label": "demo",
    "scopes": ["referrals:read", "referrals:write"],
    "active": True,
    "created_at": "2026-11-01T10:00:00+00:00",
    "revoked_at": None,
    "replaced_by": None,
}


def _fake(monkeypatch: pytest.MonkeyPatch, seen: list[tuple[str, str]]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path.endswith("/rotate"):
            return httpx.Response(201, json={**KEY, "key_id": "k2", "key": "hhpu_new_secret"})
        if request.url.path.endswith("/revoke"):
            return httpx.Response(
                200, json={**KEY, "active": False, "revoked_at": "2026-11-29T10:00:00+00:00"}
            )
        if request.url.path.endswith("/missing/keys"):
            return httpx.Response(
                404,
                json={"title": "Not found", "detail": "No such agency.", "status": 404},
                headers={"content-type": "application/problem+json"},
            )
        return httpx.Response(200, json={"items": [KEY], "total": 1, "limit": 500, "offset": 0})

    monkeypatch.setattr(
        work, "client", lambda args: httpx.Client(base_url="http://t", transport=httpx.MockTransport(handler))
    )


RUN = {
    "id": "run-1",
    "kind": "production",
    "model": "hh_recency_harm@2",
    "as_of": "2026-11-30",
    "people_scored": 1200,
    "top_bracket_size": 50,
    "candidates_emitted": 8,
    "provisional_reasons": [],
    "comparison": {},
}


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("argv", "terminal", "bar"),
    [
        (["rank"], False, False),  # piped standard error: no bar
        (["rank"], True, True),  # a terminal: the bar
        (["rank", "--progress"], False, True),  # asked for
        (["rank", "--progress", "--json"], True, False),  # --json: never
        (["import", "{file}"], True, True),
        (["import", "{file}", "--json"], True, False),
    ],
)
def test_progress_bars_on_a_terminal_or_when_asked_never_with_json(
    argv: list[str],
    terminal: bool,
    bar: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hhpu.cli import core

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v1/imports/"):
            return httpx.Response(201, json={"import_id": "imp-1", "rows_accepted": len(request.read())})
        return httpx.Response(201, json=RUN)

    fake = lambda args: httpx.Client(base_url="http://t", transport=httpx.MockTransport(handler))  # noqa: E731
    monkeypatch.setattr(work, "client", fake)
    monkeypatch.setattr(core, "client", fake)
    upload = tmp_path / "offences.csv"
    upload.write_bytes(b"person_id,offence_code\n" * 1000)
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    main([a.format(file=upload) for a in argv])
    out = capsys.readouterr().out
    shown = err.getvalue()
    label = "offences.csv" if argv[0] == "import" else "ranking"
    assert (label in shown and "100%" in shown) is bar, shown
    if not bar:
        assert shown == ""
    if "--json" in argv:
        json.loads(out)  # standard output is the JSON alone


def test_agency_keys_list_rotate_revoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, str]] = []
    _fake(monkeypatch, seen)
    main(["agency", "keys", "list", "a1"])
    out = capsys.readouterr().out
    assert "key id" in out and "k1" in out and "referrals:read, referrals:write" in out and "1 keys" in out
    main(["agency", "keys", "list", "a1", "--json"])
    assert json.loads(capsys.readouterr().out)["items"][0]["key_id"] == "k1"
    main(["agency", "keys", "rotate", "a1", "k1"])
    assert "hhpu_new_secret" in capsys.readouterr().out
    main(["agency", "keys", "revoke", "a1", "k1"])
    assert "revoked" in capsys.readouterr().out
    assert seen[-2:] == [
        ("POST", "/api/v1/agencies/a1/keys/k1/rotate"),
        ("POST", "/api/v1/agencies/a1/keys/k1/revoke"),
    ]
    with pytest.raises(SystemExit):
        main(["agency", "keys", "list", "missing"])
    assert "404 Not found: No such agency." in capsys.readouterr().err


def _evaluation_data() -> dict[str, Any]:
    per_run = [
        {"run_id": f"r{i}", "as_of": f"2025-0{i}-01", "value": 0.2 + i / 100, "ci95": [0.15, 0.3]}
        for i in range(1, 5)
    ]
    fig = {
        "across_runs": {"n": 4, "mean": 0.225, "ci95": [0.2, 0.25]},
        "trend": {"statement": "no clear trend"},
        "per_run": per_run,
    }
    return {
        "cases": {
            "period": {"start": "2025-12-01", "end": "2026-11-29"},
            "capacity": {
                "managers": 4,
                "managed_cases": 15,
                "capacity_points": 114.0,
                "load_points": 52.5,
                "utilisation": 0.4605,
                "managers_over_capacity": 1,
            },
            "managed_by_month": [
                {"month": "2026-10", "by_cohort": {"hhpu": 3, "visor": 2}, "total": 5},
                {"month": "2026-11", "by_cohort": {"hhpu": 4, "visor": 2}, "total": 6},
            ],
            "interventions": {
                "groups": ["IOM", "ViSOR", "HHPU"],
                "categories": ["disruptive", "rehabilitative", "both"],
                "counts": [[2, 4, 1], [4, 0, 1], [5, 1, 1]],
                "chi_square": {
                    "statistic": 5.988,
                    "dof": 4,
                    "p_value": 0.2001,
                    "note": "low expected counts",
                },
            },
            "training": {"managers": 4, "mosovo_trained": 2, "coverage": 0.5},
            "costs": {
                "mosovo_cost_per_person": 471.0,
                "mosovo_training_spent": 942.0,
                "mosovo_training_to_complete_team": 942.0,
                "supervising_di_for_period": 67314.0,
                "period_months": 12.0,
            },
        },
        "history": {
            "runs": 4,
            "evaluated_runs": 4,
            "first_as_of": "2025-01-01",
            "last_as_of": "2025-04-01",
            "method": "per run...",
            "figures": {"spearman_harm": fig, "top_jaccard_vs_previous": fig, "top_churn_vs_previous": fig},
        },
        "latest_backtest": {
            "as_of": "2025-04-01",
            "deciles": [{"decile": d, "harm_share": 0.3 / d} for d in range(1, 11)],
        },
    }


def test_evaluation_report_html_and_pdf_carry_every_section() -> None:
    data = _evaluation_data()
    html = render(data)
    assert "<svg" in html and "<script" not in html  # inline charts, no JavaScript
    text = " ".join(pdf_text(to_pdf(html)).split())
    for expected in (
        "OFFICIAL-SENSITIVE",
        "Evaluation report",
        "1. Capacity and cases managed",
        "46.1%",
        "chi-square = 5.988, 4 degrees of freedom, p = 0.2001",
        "MOSOVO to train the rest of the team",
        "Share of later harm by score decile",
        "Spearman's rho per run",
        "5. Stability of the top bracket",
    ):
        assert expected in text, expected
    lines = "\n".join(summary_lines(data))
    assert "chi-square 5.988" in lines and "mean rho 0.225" in lines


def test_webhook_receiver_checks_signatures_and_records(tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    rec = Receiver(0, "whsec_test", log, echo=False).start()
    try:
        body = json.dumps(
            {"partner_reference": "DAS-2026-0412", "from_status": "submitted", "to_status": "screened"}
        ).encode()
        ts = str(int(time.time()))
        sig = "sha256=" + hmac.new(b"whsec_test", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        for signature in (sig, "sha256=00"):
            r = httpx.post(
                rec.url, content=body, headers={"X-HHPU-Timestamp": ts, "X-HHPU-Signature": signature}
            )
            assert r.status_code == 204
    finally:
        rec.stop()
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    assert [r["signature_valid"] for r in rows] == [True, False]
    assert rows[0]["event"]["to_status"] == "screened"
