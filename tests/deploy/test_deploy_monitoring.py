"""Offline checks of deploy/prometheus and deploy/grafana.

promtool (from Debian's prometheus package, unpacked by deploy/local/promtool.sh, which the test
command runs first) checks the scrape config, the alert rules, the alert unit tests and every Grafana
query. Without promtool those tests fail, saying so: they never pass through a weaker check. The strict
PromQL syntax checker below is tested on its own.
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
    "hhpu_events_consumed_total",
    "hhpu_events_failed_total",
    "hhpu_events_dead_lettered_total",
    "hhpu_consumer_duplicates_total",
    "hhpu_consumer_lag",
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


# -- a strict PromQL syntax checker (the metric-name checks use it; tested on its own) --

AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor",
    "histogram_quantile", "histogram_count", "histogram_sum", "holt_winters", "hour", "idelta",
    "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10", "minute", "month",
    "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt",
    "time", "timestamp", "vector", "year", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
    "stdvar_over_time", "last_over_time", "present_over_time",
}  # fmt: skip
BINARY = {"+", "-", "*", "/", "%", "^", "==", "!=", "<=", ">=", "<", ">", "and", "or", "unless", "atan2"}
DURATION = re.compile(r"^(\d+(ms|[smhdwy]))+$")
TOKEN = re.compile(
    r"\s*(?:(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')"
    r"|(?P<dur>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)(?![\w.])"
    r"|(?P<num>\d+(?:\.\d+)?(?:e[+-]?\d+)?|\.\d+)"
    r"|(?P<id>[A-Za-z_:][\w:]*)"
    r"|(?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=(){}\[\],:@]))"
)


class PromQLError(ValueError):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise PromQLError(f"unexpected character at {pos}: {text[pos : pos + 10]!r}")
            kind = m.lastgroup or ""
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.metrics: set[str] = set()

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("eof", "")

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        k, v = self.peek()
        if (value is not None and v != value) or (kind is not None and k != kind):
            raise PromQLError(f"expected {value or kind}, got {v or 'end of input'!r}")
        self.i += 1
        return v

    def parse(self) -> set[str]:
        self.expr()
        if self.peek()[0] != "eof":
            raise PromQLError(f"unexpected {self.peek()[1]!r}")
        return self.metrics

    def expr(self) -> None:
        self.unary()
        while self.peek()[1] in BINARY:
            self.take()
            if self.peek()[1] == "bool":
                self.take()
            if self.peek()[1] in ("on", "ignoring"):
                self.take()
                self.labels()
            if self.peek()[1] in ("group_left", "group_right"):
                self.take()
                if self.peek()[1] == "(":
                    self.labels()
            self.unary()

    def unary(self) -> None:
        while self.peek()[1] in ("+", "-"):
            self.take()
        self.primary()
        if self.peek()[1] == "[":
            self.take("[")
            self.duration()
            if self.peek()[1] == ":":
                self.take(":")
                if self.peek()[1] != "]":
                    self.duration()
            self.take("]")
        if self.peek()[1] == "offset":
            self.take()
            if self.peek()[1] == "-":
                self.take()
            self.duration()

    def duration(self) -> None:
        v = self.take(kind="dur") if self.peek()[0] == "dur" else self.take(kind="dur_or_error")
        if not DURATION.match(v):
            raise PromQLError(f"bad duration {v!r}")

    def labels(self) -> None:
        self.take("(")
        while self.peek()[1] != ")":
            self.take(kind="id")
            if self.peek()[1] != ",":
                break
            self.take(",")
        self.take(")")

    def args(self) -> None:
        self.take("(")
        if self.peek()[1] != ")":
            self.expr()
            while self.peek()[1] == ",":
                self.take(",")
                self.expr()
        self.take(")")

    def primary(self) -> None:
        kind, v = self.peek()
        if kind in ("num", "str"):
            self.take()
        elif v == "(":
            self.take("(")
            self.expr()
            self.take(")")
        elif v == "{":
            self.matchers()
        elif kind == "id" and v in AGGREGATIONS:
            self.take()
            if self.peek()[1] in ("by", "without"):
                self.take()
                self.labels()
            self.args()
            if self.peek()[1] in ("by", "without"):
                self.take()
                self.labels()
        elif kind == "id" and self.i + 1 < len(self.toks) and self.toks[self.i + 1][1] == "(":
            if v not in FUNCTIONS:
                raise PromQLError(f"unknown function {v!r}")
            self.take()
            self.args()
        elif (
            kind == "id"
            and v not in BINARY
            and v not in ("by", "without", "on", "ignoring", "bool", "offset")
        ):
            self.metrics.add(self.take())
            if self.peek()[1] == "{":
                self.matchers()
        else:
            raise PromQLError(f"unexpected {v or 'end of input'!r}")

    def matchers(self) -> None:
        self.take("{")
        while self.peek()[1] != "}":
            self.take(kind="id")
            op = self.take()
            if op not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"bad matcher operator {op!r}")
            value = self.take(kind="str")
            if op in ("=~", "!~"):
                try:
                    re.compile(value[1:-1])
                except re.error as exc:
                    raise PromQLError(f"bad regex {value}: {exc}") from exc
            if self.peek()[1] != ",":
                break
            self.take(",")
        self.take("}")


def check_promql(expr: str) -> set[str]:
    """Parse `expr` strictly; return the metric names it selects. Raises PromQLError."""
    return _Parser(expr).parse()


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


# -- the strict checker, always exercised ---------------------------------------------------------


def test_strict_checker_accepts_every_alert_and_dashboard_query() -> None:
    for e in [r["expr"] for r in alert_rules()] + [grafana_to_promql(x) for x in dashboard_exprs()]:
        check_promql(e)


@pytest.mark.parametrize(
    "bad",
    [
        "sum by (service (hhpu_outbox_pending)",
        "rate(hhpu_http_requests_total[5 m])",
        "rate(hhpu_http_requests_total[5x])",
        'hhpu_http_requests_total{status=~"5.."',
        'hhpu_http_requests_total{status=="500"}',
        'hhpu_http_requests_total{status=~"(5"}',
        "rates(hhpu_http_requests_total[5m])",
        "max by (service) (hhpu_outbox_pending) >",
        "sum(hhpu_outbox_pending) hhpu_consumer_lag",
    ],
)
def test_strict_checker_rejects_broken_queries(bad: str) -> None:
    with pytest.raises(PromQLError):
        check_promql(bad)


# -- metric names, coverage -----------------------------------------------------------------------


def test_documented_metrics_are_registered_by_the_code() -> None:
    assert DOCUMENTED_METRICS <= exported_metrics()


def test_alerts_and_dashboard_use_only_exported_metrics() -> None:
    allowed = exported_metrics() | {"up"}
    for e in [r["expr"] for r in alert_rules()] + [grafana_to_promql(x) for x in dashboard_exprs()]:
        used = check_promql(e)
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
