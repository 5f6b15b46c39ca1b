"""A real Prometheus (Debian's package) for the fault suite, on a private port.

It scrapes every API, consumer and the gateway with the project's own scrape configuration
(deploy/prometheus/prometheus.yml: the same jobs, paths and labels, with the targets replaced by the
local processes' addresses) and evaluates the project's own alert rules (deploy/prometheus/alerts.yml).
The suite compresses time by TIME_SCALE: scrape and evaluation every 2 s, each rule's `for:` and
each range window divided by TIME_SCALE, thresholds unchanged, so an alert can fire during a
fault of seconds and resolve after it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
TIME_SCALE = 20
_DUR = re.compile(r"^(\d+)([smh])$")
_UNITS = {"s": 1, "m": 60, "h": 3600}


def prometheus_binary(run_dir: Path) -> str:
    """/usr/bin/prometheus, or the binary unpacked from Debian's package (apt-get download, no daemon)."""
    found = shutil.which("prometheus")
    if found:
        return found
    dest = run_dir / "prometheus-pkg"
    binary = dest / "usr" / "bin" / "prometheus"
    if binary.exists():
        return str(binary)
    tmp = Path(tempfile.mkdtemp())
    got = subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=tmp, capture_output=True)
    if got.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        subprocess.run(["apt-get", "download", "-q", "prometheus"], cwd=tmp, check=True, capture_output=True)
    deb = next(tmp.glob("prometheus_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return str(binary)


def _seconds(d: str) -> int:
    m = _DUR.match(d)
    if not m:
        raise ValueError(f"unsupported duration {d!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _scaled(d: str) -> str:
    return f"{max(2, _seconds(d) // TIME_SCALE)}s"


def render_rules(dest: Path) -> list[str]:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    names = []
    for group in rules["groups"]:
        group["interval"] = "2s"
        for rule in group["rules"]:
            names.append(rule.get("alert", rule.get("record")))
            if "for" in rule:
                rule["for"] = _scaled(rule["for"])
            rule["expr"] = re.sub(
                r"\[(\d+[smh])\]",
                lambda m: f"[{max(10, _seconds(m.group(1)) // TIME_SCALE)}s]",
                str(rule["expr"]),
            )
    dest.write_text(yaml.safe_dump(rules))
    return names


def render_config(dest: Path, port: int, targets: dict[str, list[str]]) -> None:
    """The project's scrape configuration with each job's targets replaced by `targets[job]`."""
    cfg = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    cfg["global"].update(scrape_interval="2s", scrape_timeout="2s", evaluation_interval="2s")
    cfg["rule_files"] = [str(dest.parent / "alerts.yml")]
    for job in cfg["scrape_configs"]:
        name = job["job_name"]
        wanted = [f"127.0.0.1:{port}"] if name == "prometheus" else targets[name]
        for sc in job["static_configs"]:
            sc["targets"] = wanted
    dest.write_text(yaml.safe_dump(cfg))


class Prometheus:
    def __init__(self, run_dir: Path, port: int, targets: dict[str, list[str]]) -> None:
        self.dir = run_dir / "prometheus"
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "data").mkdir(parents=True)
        self.rules = render_rules(self.dir / "alerts.yml")
        render_config(self.dir / "prometheus.yml", port, targets)
        self.url = f"http://127.0.0.1:{port}"
        binary = prometheus_binary(run_dir)
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1d",
            ],
            stdout=(self.dir / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "prometheus did not start:\n" + (self.dir / "prometheus.log").read_text()[-2000:]
                )
            time.sleep(0.5)

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        r = httpx.get(self.url + "/api/v1/query", params=params, timeout=30)
        body = r.json()
        if body.get("status") != "success":
            raise RuntimeError(f"{expr}: {body}")
        return list(body["data"]["result"])

    def firing_between(self, start: float, end: float) -> dict[str, list[dict[str, str]]]:
        """Alert name -> the label sets that were firing at some point in [start, end]."""
        r = httpx.get(
            self.url + "/api/v1/query_range",
            params={"query": 'ALERTS{alertstate="firing"}', "start": start, "end": end, "step": 1},
            timeout=30,
        ).json()
        out: dict[str, list[dict[str, str]]] = {}
        for series in r["data"]["result"]:
            labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "alertstate")}
            out.setdefault(labels["alertname"], []).append(labels)
        return out

    def alert_spans(self, start: float, window_end: float, until: float) -> list[dict[str, Any]]:
        """The alerts that began firing in [start, window_end]: when (seconds after `start`) each
        began and stopped firing, looking on to `until` (None: still firing then)."""
        r = httpx.get(
            self.url + "/api/v1/query_range",
            params={"query": 'ALERTS{alertstate="firing"}', "start": start, "end": until, "step": 1},
            timeout=30,
        ).json()
        out = []
        for series in r["data"]["result"]:
            labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "alertstate")}
            times = [float(t) for t, _v in series["values"]]
            runs: list[list[float]] = []
            for t in times:  # contiguous firing spans (1 s step; a gap of more than 3 s ends a span)
                if runs and t - runs[-1][1] <= 3:
                    runs[-1][1] = t
                else:
                    runs.append([t, t])
            for first, last in runs:
                if first > window_end:
                    continue
                what = labels.get("instance") or labels.get("service") or labels.get("upstream") or ""
                out.append(
                    {
                        "alert": labels["alertname"],
                        "on": what,
                        "fired_s": round(first - start, 1),
                        "resolved_s": None if last >= until - 3 else round(last - start, 1),
                    }
                )
        return sorted(out, key=lambda a: (a["fired_s"], a["alert"]))

    def firing_now(self) -> set[str]:
        return {s["metric"]["alertname"] for s in self.query('ALERTS{alertstate="firing"}')}

    def targets_up(self) -> dict[str, float]:
        return {
            f"{s['metric']['job']}/{s['metric']['instance']}": float(s["value"][1]) for s in self.query("up")
        }

    def target_health(self) -> list[dict[str, str]]:
        """Each scrape target with its job, health and last scrape error (which process a down
        target is: the instance is the process's address, see DistributedRun.targets)."""
        body = httpx.get(self.url + "/api/v1/targets", timeout=30).json()
        return [
            {
                "job": t["labels"].get("job", ""),
                "instance": t["labels"].get("instance", ""),
                "health": t.get("health", ""),
                "last_error": t.get("lastError", ""),
            }
            for t in body["data"]["activeTargets"]
        ]

    def dashboard_queries(self) -> list[dict[str, Any]]:
        """Every query of the Grafana dashboard, as Grafana would send it, and whether it returned data."""
        dash = json.loads((ROOT / "deploy/grafana/hhpu-dashboard.json").read_text())
        out = []
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"].replace("$__rate_interval", "1m").replace("$__interval", "10s")
                expr = expr.replace("$__range", "1h")
                expr = re.sub(r"\$\{?[A-Za-z_]\w*\}?", ".*", expr)
                try:
                    n = len(self.query(expr))
                    out.append({"panel": panel.get("title"), "expr": expr, "series": n})
                except Exception as exc:  # a query Prometheus refuses is a finding, not a crash
                    out.append(
                        {"panel": panel.get("title"), "expr": expr, "series": 0, "error": str(exc)[:300]}
                    )
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
