"""Shared by the deployment-file tests: the repository's paths, the services' commands and a YAML loader
that refuses duplicate keys. Importable because pyproject's pytest `pythonpath` names tests/deploy."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

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
