"""Offline checks of the deployment files: Dockerfile, docker-compose.yml and deploy/k8s.

Kubernetes objects are validated against the schemas shipped in the kubernetes-validate wheel (strict:
unknown fields fail), the compose file against check-jsonschema's vendored compose-spec schema.
Monitoring files (Prometheus, Grafana) are checked in test_deploy_monitoring.py.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.31"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")

# (name, package, env prefix): the four services; the gateway is separate.
SERVICES = [
    ("referral-api", "referral_api", "REFERRAL"),
    ("ranking-service", "ranking_service", "RANKING"),
    ("case-service", "case_service", "CASE"),
    ("meeting-service", "meeting_service", "MEETING"),
]
# Every file this deployment owns (checked for YAML hygiene; registry hosts: test_repo_hygiene.py).
OWNED = [
    "Dockerfile",
    ".dockerignore",
    "docker-compose.yml",
    "docs/deployment.md",
    "deploy/local/promtool.sh",
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "deploy" / "k8s").rglob("*.yaml"))),
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "deploy" / "compose").rglob("*"))),
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "deploy" / "prometheus").rglob("*.yml"))),
    *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "deploy" / "grafana").rglob("*.*"))),
]


def api_command(pkg: str) -> list[str]:
    return [
        "uvicorn",
        f"{pkg}.app:create_app",
        "--factory",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        # Services' access logs are their own (route templates only, no query strings or paths).
        *(["--no-access-log"] if pkg != "gateway" else []),
    ]


def consumer_command(pkg: str) -> list[str]:
    return ["python", "-m", f"{pkg}.consumer"]


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _no_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_UniqueKeyLoader) if d is not None]


def k8s_docs() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for i, doc in enumerate(load_all(path)):
            out.append((str(path.relative_to(ROOT)), i, doc))
    return out


@functools.cache
def base_objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (d["kind"], d["metadata"]["name"]): d for f, _, d in k8s_docs() if f.startswith("deploy/k8s/base/")
    }


def compose() -> dict[str, Any]:
    return load_all(ROOT / "docker-compose.yml")[0]


# -- Kubernetes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "index", "doc"), k8s_docs(), ids=lambda v: str(v) if not isinstance(v, dict) else ""
)
def test_k8s_object_is_valid_for_the_api_version(path: str, index: int, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_k8s_strict_validation_rejects_unknown_fields() -> None:
    svc = dict(base_objects()[("Service", "gateway")])
    svc["spec"] = {**svc["spec"], "portz": []}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(svc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("kdir", ["base", "overlays/dev", "overlays/prod"])
def test_kustomization_resources_exist(kdir: str) -> None:
    kfile = K8S / kdir / "kustomization.yaml"
    k = load_all(kfile)[0]
    assert k["kind"] == "Kustomization"
    for res in k["resources"]:
        target = (kfile.parent / res).resolve()
        assert target.exists(), f"{kdir}: resource {res} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{kdir}: {res} has no kustomization.yaml"
    if kdir == "base":
        listed = set(k["resources"])
        present = {p.name for p in (K8S / "base").glob("*.yaml")} - {"kustomization.yaml"}
        assert listed == present, "every base manifest must be listed in base/kustomization.yaml"


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_patches_and_replicas_name_real_objects(overlay: str) -> None:
    k = load_all(K8S / "overlays" / overlay / "kustomization.yaml")[0]
    objects = base_objects()
    for patch in k.get("patches", []):
        t = patch["target"]
        assert any(kind == t["kind"] and t.get("name", name) == name for kind, name in objects), t
    for rep in k.get("replicas", []):
        assert ("Deployment", rep["name"]) in objects


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_builds_and_validates(overlay: str) -> None:
    """Render the overlay with kustomize (kubectl or kustomize binary) and validate the result."""
    kubectl, kustomize = shutil.which("kubectl"), shutil.which("kustomize")
    if kubectl:
        cmd = [kubectl, "kustomize", str(K8S / "overlays" / overlay)]
    elif kustomize:
        cmd = [kustomize, "build", str(K8S / "overlays" / overlay)]
    else:
        pytest.skip("neither kubectl nor kustomize is on PATH: the overlay was not rendered nor validated")
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    docs = [d for d in yaml.safe_load_all(res.stdout) if d]
    namespace = {"dev": "hhpu-dev", "prod": "hhpu"}[overlay]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace
    images = {
        c["image"]
        for d in docs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1 and ":" in next(iter(images)), images


def test_k8s_names_every_component() -> None:
    objs = base_objects()
    for name, _, _ in SERVICES:
        for key in [
            ("Deployment", name),
            ("Deployment", f"{name}-consumer"),
            ("Service", name),
            ("PodDisruptionBudget", name),
        ]:
            assert key in objs, key
    for kind in ["Deployment", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"]:
        assert (kind, "gateway") in objs, kind
    assert ("ConfigMap", "hhpu-config") in objs
    hpa = objs[("HorizontalPodAutoscaler", "gateway")]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}


def test_no_secret_values_in_k8s() -> None:
    assert not [d for _, _, d in k8s_docs() if d["kind"] == "Secret"], "secrets are referenced, never stored"
    for (kind, name), d in base_objects().items():
        if kind != "ConfigMap":
            continue
        for key, value in d["data"].items():
            assert not re.search(r"SECRET|PASSWORD|DATABASE_URL", key) or value == "", f"{name}.{key}"


def _deployments() -> list[dict[str, Any]]:
    return [d for (kind, _), d in base_objects().items() if kind == "Deployment"]


def test_deployments_are_hardened_and_sized() -> None:
    for d in _deployments():
        spec = d["spec"]["template"]["spec"]
        name = d["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            for part in ("requests", "limits"):
                assert set(c["resources"][part]) == {"cpu", "memory"}, (name, part)
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"], name


def test_http_pods_have_probes_and_env() -> None:
    for d in _deployments():
        c = d["spec"]["template"]["spec"]["containers"][0]
        name = d["metadata"]["name"]
        if name.endswith("-consumer"):
            # Consumers serve only /metrics (lag, dead letters) on 9100; liveness checks that port.
            assert c["ports"] == [{"name": "metrics", "containerPort": 9100, "protocol": "TCP"}], name
            assert c["livenessProbe"]["tcpSocket"]["port"] == "metrics", name
            env = {e["name"]: e.get("value") for e in c["env"]}
            assert env["HHPU_METRICS_PORT"] == "9100" and env["HHPU_METRICS_ADDR"] == "0.0.0.0", name
            annotations = d["spec"]["template"]["metadata"]["annotations"]
            assert annotations["prometheus.io/port"] == "9100", name
            continue
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    for name, _, prefix in SERVICES:
        for dep in (name, f"{name}-consumer"):
            c = base_objects()[("Deployment", dep)]["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e for e in c["env"]}
            ref = env[f"{prefix}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": f"hhpu-{name.split('-')[0]}-db", "key": "database-url"}
            assert env["HHPU_INTERNAL_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "hhpu-internal"
    cfg = base_objects()[("ConfigMap", "hhpu-config")]["data"]
    assert cfg["HHPU_TRANSPORT"] == "kafka" and cfg["HHPU_KAFKA_BOOTSTRAP"]
    gw = base_objects()[("ConfigMap", "hhpu-gateway-config")]["data"]
    assert gw["GATEWAY_ENVIRONMENT"] == "production" and gw["GATEWAY_JWT_DEV_SECRET"] == ""
    for name, _, _ in SERVICES:
        assert gw[f"GATEWAY_{name.replace('-', '_').upper()}_URL"] == f"http://{name}:8000"


def test_network_policy_admits_only_gateway_to_services() -> None:
    pols = {name: d for (kind, name), d in base_objects().items() if kind == "NetworkPolicy"}
    deny = pols["default-deny-ingress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress"]}
    svc = pols["services-from-gateway"]["spec"]
    assert svc["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "api"
    assert svc["ingress"][0]["from"] == [
        {
            "podSelector": {
                "matchLabels": {"app.kubernetes.io/name": "gateway", "app.kubernetes.io/component": "gateway"}
            }
        }
    ]
    # No policy admits anything into the consumers.
    for d in pols.values():
        sel = d["spec"]["podSelector"]
        assert sel.get("matchLabels", {}).get("app.kubernetes.io/component") != "consumer"
        for expr in sel.get("matchExpressions", []):
            assert "consumer" not in expr["values"]


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


# -- hygiene --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rel", OWNED)
def test_owned_file_is_clean(rel: str) -> None:
    path = ROOT / rel
    text = path.read_text()
    assert text.endswith("\n") and not text.endswith("\n\n"), f"{rel}: exactly one final newline"
    for n, line in enumerate(text.splitlines(), 1):
        assert line == line.rstrip(), f"{rel}:{n} trailing whitespace"
        if path.suffix in (".yml", ".yaml"):
            assert "\t" not in line, f"{rel}:{n} tab"
            assert len(line) <= 140, f"{rel}:{n} line too long"
    if path.suffix in (".yml", ".yaml"):
        assert load_all(path), rel  # parses, no duplicate keys
    if path.suffix == ".json":
        json.loads(text)
