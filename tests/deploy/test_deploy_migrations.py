"""Schema migrations run before any process of a service starts, in Kubernetes and in compose.

Kubernetes: both Deployments of a service (API and consumer) have the ``migrate`` init container
(``python -m <package> migrate``, the main container's image, database and secrets), so a new pod of
either kind finds its database at the newest schema. Compose: the API and the consumer wait for the
one-off ``<service>-migrate`` to complete successfully.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = [
    ("referral-api", "referral_api", "REFERRAL"),
    ("ranking-service", "ranking_service", "RANKING"),
    ("case-service", "case_service", "CASE"),
    ("meeting-service", "meeting_service", "MEETING"),
]


def _deployments(name: str) -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / f"{name}.yaml").read_text())
    return {d["metadata"]["name"]: d for d in docs if d and d["kind"] == "Deployment"}


@pytest.mark.parametrize(("name", "pkg", "prefix"), SERVICES)
def test_every_deployment_of_a_service_migrates_first(name: str, pkg: str, prefix: str) -> None:
    deployments = _deployments(name)
    assert set(deployments) == {name, f"{name}-consumer"}
    for dep_name, dep in deployments.items():
        spec = dep["spec"]["template"]["spec"]
        (init,) = spec.get("initContainers", [None])
        assert init is not None, f"{dep_name} starts without migrating its database"
        main = spec["containers"][0]
        assert init["name"] == "migrate" and init["command"] == ["python", "-m", pkg, "migrate"], dep_name
        assert init["image"] == main["image"], dep_name  # the release's own migrations
        env = {e["name"]: e for e in init["env"]}
        main_env = {e["name"]: e for e in main["env"]}
        for var in (f"{prefix}_DATABASE_URL", "HHPU_INTERNAL_SECRET"):
            assert env[var] == main_env[var], (dep_name, var)
        assert init["envFrom"] == main["envFrom"], dep_name
        sc = init["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, dep_name
        assert set(init["resources"]["limits"]) == {"cpu", "memory"}, dep_name


@pytest.mark.parametrize(("name", "pkg", "prefix"), SERVICES)
def test_compose_starts_a_service_only_after_its_migration_completed(
    name: str, pkg: str, prefix: str
) -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    migrate = services[f"{name}-migrate"]
    assert migrate["command"] == ["python", "-m", pkg, "migrate"]
    assert migrate["restart"] == "no"
    db = migrate["environment"][f"{prefix}_DATABASE_URL"]
    for process in (name, f"{name}-consumer"):
        assert services[process]["depends_on"][f"{name}-migrate"] == {
            "condition": "service_completed_successfully"
        }, process
        assert services[process]["environment"][f"{prefix}_DATABASE_URL"] == db, process
