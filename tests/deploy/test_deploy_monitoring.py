"""Offline checks of deploy/prometheus and deploy/grafana.

promtool (from Debian's prometheus package, unpacked by deploy/local/promtool.sh, which the test
command runs first) checks the scrape config, the alert rules, the alert unit tests and every Grafana
query. Without promtool those tests fail, saying so: they never pass through a weaker check.
Metric names are checked against the names the platform's code registers.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "hhpu-dashboard.json"
METRIC_SOURCES = [
    ROOT / "shared/src/hhpu_shared/metrics.py",
    ROOT / "gateway/src/gateway/metrics.py",
    *sorted(ROOT.glob("services/*/src/*/metrics.py")),
]
DOCUMENTED_METRICS = {
    "hhpu_http_requests_total",
    "hhpu_http_request_duration_seconds",
    "hhpu_events_published_total",
    "hhpu_outbox_publish_failures_total",
    "hhpu_outbox_pending",
    "hhpu_outbox_oldest_pending_age_seconds",
    "hhpu_outbox_held_aggregates",
    "hhpu_events_consumed_total",
    "hhpu_events_failed_total",
    "hhpu_events_dead_lettered_total",
    "hhpu_consumer_duplicates_total",
    "hhpu_consumer_lag",
    "hhpu_consumer_group_lag",
    "hhpu_consumer_group_members",
    "hhpu_audit_entries_total",
}


@functools.cache
def exported_metrics() -> frozenset[str]:
    """Metric names registered in the code, as exposed (``_total``, histogram series added).

    Handles both ``Counter("name", ...)`` and collector families (``CounterMetricFamily("name", ...)``,
    to which the client library appends ``_total``).
    """
    names: set[str] = set()
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)(MetricFamily)?\(\s*\"(hhpu_[a-z0-9_]+)\"")
    for src in METRIC_SOURCES:
        for kind, _family, name in pattern.findall(src.read_text()):
            if kind == "Counter" and not name.endswith("_total"):
                name += "_total"
            names.add(name)
            if kind in ("Histogram", "Summary"):
                names.update(name + s for s in ("_bucket", "_sum", "_count"))
    return frozenset(names)


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_exprs() -> list[str]:
    out = []
    for panel in dashboard()["panels"]:
        for target in panel.get("targets", []):
            out.append(target["expr"])
    return out


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's variables the way Grafana would before sending the query."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?[A-Za-z_]\w*\}?", ".*", expr)


def metrics_in(expr: str) -> set[str]:
    """The metric names an expression selects: ``up`` and the platform's ``hhpu_*`` series (the
    expression's syntax is promtool's to check, in the tests below; quoted label values are skipped)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'", '""', expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", bare)  # label lists
    names = set(re.findall(r"\bhhpu_[a-z0-9_]+\b", bare))
    if re.search(r"\bup\b\s*(?:\{|\[|\)|==|$)", bare):
        names.add("up")
    return names


# -- promtool -------------------------------------------------------------------------------------


@functools.cache
def promtool() -> str | None:
    """Path of promtool obtained by deploy/local/promtool.sh, or None (then the promtool tests fail)."""
    try:
        res = subprocess.run(
            ["bash", str(ROOT / "deploy/local/promtool.sh")], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = res.stdout.strip().splitlines()[-1] if res.returncode == 0 and res.stdout.strip() else ""
    return path if path and Path(path).exists() else None


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool; a missing promtool fails the test (the test command installs it)."""
    tool = promtool()
    if tool is None:
        pytest.fail(
            "promtool is missing: `make test` / `make validate` obtain it from Debian's prometheus package "
            "(bash deploy/local/promtool.sh); run that, or the check cannot be made"
        )
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_promtool_checks_alert_rules_and_their_unit_tests() -> None:
    res = run_promtool("check", "rules", "deploy/prometheus/alerts.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    res = run_promtool("test", "rules", "deploy/prometheus/alerts_test.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_checks_the_compose_scrape_config() -> None:
    res = run_promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert res.returncode == 0, res.stdout + res.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    expr = "sum by (service (hhpu_outbox_pending)"
    bad = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": expr}]}]}
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(bad))
    assert run_promtool("check", "rules", str(tmp_path / "bad.yml")).returncode != 0


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    exprs = [grafana_to_promql(e) for e in dashboard_exprs()]
    rules = [{"record": f"hhpu:dashboard_query:{i}", "expr": e} for i, e in enumerate(exprs)]
    (tmp_path / "dashboard.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]})
    )
    res = run_promtool("check", "rules", str(tmp_path / "dashboard.yml"))
    assert res.returncode == 0, res.stdout + res.stderr


# -- metric names, coverage -----------------------------------------------------------------------


def test_documented_metrics_are_registered_by_the_code() -> None:
    assert DOCUMENTED_METRICS <= exported_metrics()


def test_metric_names_are_read_from_queries() -> None:
    q = 'sum by (service) (rate(hhpu_http_requests_total{service="hhpu_fake", status=~"5.."}[5m]))'
    assert metrics_in(q) == {"hhpu_http_requests_total"}
    assert metrics_in('up{job="referral-api"} == 0') == {"up"}
    assert metrics_in("max by (up) (hhpu_outbox_pending)") == {"hhpu_outbox_pending"}
    assert metrics_in("hhpu_not_registered > 0") - exported_metrics() == {"hhpu_not_registered"}


def test_alerts_and_dashboard_use_only_exported_metrics() -> None:
    allowed = exported_metrics() | {"up"}
    for e in [r["expr"] for r in alert_rules()] + [grafana_to_promql(x) for x in dashboard_exprs()]:
        used = metrics_in(e)
        assert used, f"no metric in {e!r}"
        assert used <= allowed, f"unknown metric(s) {used - allowed} in {e!r}"


def test_alerts_cover_the_operational_risks() -> None:
    rules = {r["alert"]: r for r in alert_rules()}
    wanted = {
        "hhpu_outbox_pending": "outbox backlog",
        "hhpu_outbox_oldest_pending_age_seconds": "outbox age",
        "hhpu_events_dead_lettered_total": "DLT messages",
        "hhpu_consumer_lag": "consumer lag",
        'status=~"5.."': "5xx rate",
        "histogram_quantile(0.95": "latency p95",
    }
    for needle, what in wanted.items():
        assert any(needle in r["expr"] for r in rules.values()), what
    for name, r in rules.items():
        assert r["labels"]["severity"] in ("warning", "critical"), name
        assert r["annotations"]["summary"] and r["annotations"]["description"], name


def test_scrape_config_names_every_http_component() -> None:
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    targets = {
        t for job in cfg["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]
    }
    for name in ["referral-api", "ranking-service", "case-service", "meeting-service", "gateway"]:
        assert f"{name}:8000" in targets
    assert cfg["rule_files"] == ["alerts.yml"]
    for job in cfg["scrape_configs"]:
        for sc in job.get("static_configs", []):
            assert "service" not in sc.get("labels", {}), "would clash with the exported service label"
    k8s = yaml.safe_load((PROM / "prometheus-k8s.yml").read_text())
    (job,) = k8s["scrape_configs"]
    assert job["kubernetes_sd_configs"][0]["role"] == "pod"
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["hhpu"]


# -- Grafana --------------------------------------------------------------------------------------


def test_dashboard_identity_and_panels() -> None:
    d = dashboard()
    assert d["uid"] == "hhpu-operations"
    assert d["title"] == "HHPU Platform operations"
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in d["templating"]["list"]}
    assert {"datasource", "service"} <= variables
    graphs = [p for p in d["panels"] if p["type"] != "row"]
    for p in graphs:
        assert p["targets"] and p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
    text = " ".join(dashboard_exprs())
    for metric in [
        "hhpu_http_requests_total",
        "hhpu_http_request_duration_seconds_bucket",
        "hhpu_outbox_pending",
        "hhpu_consumer_lag",
        "hhpu_events_dead_lettered_total",
        "hhpu_audit_entries_total",
    ]:
        assert metric in text, metric


def test_grafana_provisioning_points_at_the_dashboard() -> None:
    prov = ROOT / "deploy" / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus"
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    dash = yaml.safe_load((prov / "dashboards" / "hhpu.yml").read_text())
    path = dash["providers"][0]["options"]["path"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/hhpu-dashboard.json:{path}/hhpu-dashboard.json:ro" in mounts
