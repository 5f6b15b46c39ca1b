"""House rules that hold for every committed file: no package registry host is named anywhere, and no
downloaded artefact (jar, wheel, lock file with download URLs) is committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelt in parts so that this file, which is committed too, does not name them itself.
REGISTRY_HOSTS = [
    ".".join(parts)
    for parts in (
        ("docker", "io"),
        ("registry-1", "docker"),
        ("ghcr", "io"),
        ("quay", "io"),
        ("gcr", "io"),
        ("pypi", "org"),
        ("pythonhosted", "org"),
        ("deb", "debian", "org"),
        ("security", "debian", "org"),
        ("registry", "npmjs", "org"),
        ("repo", "maven", "apache", "org"),
        ("repo1", "maven", "org"),
    )
]
FORBIDDEN_NAMES = ("uv.lock", "package-lock.json", "yarn.lock")
FORBIDDEN_SUFFIXES = (".jar", ".whl", ".tgz", ".tar.gz", ".so", ".deb")


def committed_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.fail("not a git checkout: the committed files cannot be listed")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name]


def test_the_file_list_is_real() -> None:
    files = committed_files()
    assert "Makefile" in files and "README.md" in files
    assert len(files) > 100


def test_no_committed_file_names_a_registry_host() -> None:
    offenders = []
    for rel in committed_files():
        path = ROOT / rel
        if not path.is_file():
            continue  # deleted in the working tree, not yet committed
        low = path.read_bytes().decode("utf-8", errors="ignore").lower()
        offenders += [f"{rel}: {host}" for host in REGISTRY_HOSTS if host in low]
    assert offenders == []


def test_no_downloaded_artefact_or_url_lock_is_committed() -> None:
    offenders = [
        rel
        for rel in committed_files()
        if Path(rel).name in FORBIDDEN_NAMES or rel.endswith(FORBIDDEN_SUFFIXES)
    ]
    assert offenders == []
