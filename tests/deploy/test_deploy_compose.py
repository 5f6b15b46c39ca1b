"""Offline checks of docker-compose.yml (against check-jsonschema's vendored compose-spec schema), the
Dockerfile, and the commands that compose, Kubernetes and docs/deployment.md give each service."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
from deploy_testing import (
    CHECK_JSONSCHEMA,
    ROOT,
    SERVICES,
    api_command,
    base_objects,
    compose,
    consumer_command,
)

# -- docker-compose -------------------------------------------------------------------------------


def _check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_matches_the_compose_spec(tmp_path: Path) -> None:
    res = _check_compose(ROOT / "docker-compose.yml")
    assert res.returncode == 0, res.stdout + res.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace('- "8000:8000"', "- [8000]", 1))
    assert _check_compose(broken).returncode != 0, "the schema check must catch a malformed port"


def test_compose_names_every_component_with_documented_commands() -> None:
    svcs = compose()["services"]
    assert {"kafka", "postgres", "gateway", "prometheus", "grafana"} <= set(svcs)
    assert svcs["kafka"]["image"].startswith("apache/kafka:")
    assert svcs["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert svcs["postgres"]["image"] == "postgres:15"
    init = (ROOT / "deploy" / "compose" / "postgres-init.sh").read_text()
    databases = set()
    for name, pkg, prefix in SERVICES:
        api, consumer = svcs[name], svcs[f"{name}-consumer"]
        assert api["command"] == api_command(pkg)
        assert consumer["command"] == consumer_command(pkg)
        for svc in (api, consumer):
            env = svc["environment"]
            assert env["HHPU_TRANSPORT"] == "kafka" and env["HHPU_KAFKA_BOOTSTRAP"] == "kafka:9092"
            assert env[f"{prefix}_ENVIRONMENT"] == "production"
            db = env[f"{prefix}_DATABASE_URL"].rsplit("/", 1)[1]
            assert env[f"{prefix}_DATABASE_URL"].startswith("postgresql+psycopg://")
            assert db in init.split("for db in ")[1].split(";")[0], f"{db} is not created by the init script"
        databases.add(db)
    assert len(databases) == len(SERVICES), "one database per service"
    gw = svcs["gateway"]
    assert gw["command"] == api_command("gateway")
    assert gw["ports"] == ["8000:8000"]
    assert gw["environment"]["GATEWAY_ENVIRONMENT"] == "production"
    for name, _, _ in SERVICES:
        assert gw["environment"][f"GATEWAY_{name.replace('-', '_').upper()}_URL"] == f"http://{name}:8000"
    # The APIs' health is their readiness; the gateway's is its own liveness (its /readyz aggregates
    # every service's, so one service's database down must not mark the gateway unhealthy).
    for name, _, _ in SERVICES:
        assert "/readyz'" in " ".join(svcs[name]["healthcheck"]["test"]), name
    gw_check = svcs["gateway"]["healthcheck"]
    assert "/healthz'" in " ".join(gw_check["test"]) and "/readyz" not in " ".join(gw_check["test"])
    assert gw_check["interval"] == svcs["referral-api"]["healthcheck"]["interval"]
    mounts = " ".join(svcs["grafana"]["volumes"] + svcs["prometheus"]["volumes"])
    assert "./deploy/grafana/hhpu-dashboard.json" in mounts and "./deploy/prometheus" in mounts


def test_compose_secrets_are_required_variables() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for var in [
        "HHPU_INTERNAL_SECRET",
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "GATEWAY_JWT_JWKS_URL",
    ]:
        assert re.search(r"\$\{" + var + r":\?[^}]+\}", text), var
    for name, svc in compose()["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"SECRET|PASSWORD", key) and key != "GATEWAY_JWT_DEV_SECRET":
                assert str(value).startswith("${") and ":?" in str(value), (
                    f"{name}.{key} must be ${{VAR:?...}}"
                )


# -- Dockerfile and commands ----------------------------------------------------------------------


def test_dockerfile_builds_one_non_root_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in text.splitlines() if line.startswith("FROM"))
    assert "pip install -r requirements/pins.txt" in text
    assert (ROOT / "requirements" / "pins.txt").exists()
    install = text.split("pip install --no-deps")[1].split("&&")[0]
    dirs = re.findall(r"\./(\S+)", install)
    assert sorted(dirs) == sorted(
        ["shared", "gateway", "hhpu", *(f"services/{name}" for name, _, _ in SERVICES)]
    )
    for d in dirs:
        assert (ROOT / d / "pyproject.toml").exists(), d
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", text, re.M)[-1])
    assert cmd == api_command("gateway")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".run"} <= set(ignored)
    for needed in ("shared", "services", "gateway", "hhpu", "requirements"):
        assert needed not in ignored


@pytest.mark.parametrize(("name", "pkg", "prefix"), SERVICES + [("gateway", "gateway", "GATEWAY")])
def test_commands_point_at_real_modules(name: str, pkg: str, prefix: str) -> None:
    app = importlib.util.find_spec(f"{pkg}.app")
    assert app is not None and app.origin
    assert re.search(r"^def create_app\(", Path(app.origin).read_text(), re.M)
    if pkg != "gateway":
        consumer = importlib.util.find_spec(f"{pkg}.consumer")
        assert consumer is not None and consumer.origin
        assert 'if __name__ == "__main__":' in Path(consumer.origin).read_text()
        k8s_consumer = base_objects()[("Deployment", f"{name}-consumer")]
        assert k8s_consumer["spec"]["template"]["spec"]["containers"][0]["command"] == consumer_command(pkg)
    k8s_api = base_objects()[("Deployment", name)]
    assert k8s_api["spec"]["template"]["spec"]["containers"][0]["command"] == api_command(pkg)
    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert " ".join(api_command(pkg)) in docs or f"{pkg}.app:create_app" in docs
    assert pkg == "gateway" or " ".join(consumer_command(pkg)) in docs
