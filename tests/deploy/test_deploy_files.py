"""Offline checks of the Kubernetes deployment files (deploy/k8s) and of every deployment file's hygiene.

Kubernetes objects are validated against the schemas shipped in the kubernetes-validate wheel (strict:
unknown fields fail). docker-compose.yml, the Dockerfile and the commands are checked in
test_deploy_compose.py, monitoring files (Prometheus, Grafana) in test_deploy_monitoring.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_testing import (
    K8S,
    K8S_VERSION,
    OWNED,
    ROOT,
    SERVICES,
    base_objects,
    k8s_docs,
    load_all,
)

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
        # A service is ready with its database (the broker may be away: its outbox waits); the gateway
        # with itself: its /readyz aggregates every service's, so probing it would take the whole
        # platform out of rotation when one service is down.
        ready = "/healthz" if name == "gateway" else "/readyz"
        assert c["readinessProbe"]["httpGet"]["path"] == ready, name
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
