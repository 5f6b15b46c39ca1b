"""Which code a reliability run measured: the commit, whether the tree was clean, where the code came from.

The figures of a run belong to one commit only if the tree had no uncommitted change at its start and
at its end (a run made in a working tree while commits landed measured half-edited code), and if the
platform's packages were imported from that tree (a virtualenv's editable installs can point at
another checkout). Run it from a clean worktree at a fixed commit:

    git worktree add ../hhpu-reliability <commit> && cd ../hhpu-reliability && make reliability
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = (
    "hhpu_shared",
    "hhpu",
    "gateway",
    "referral_api",
    "ranking_service",
    "case_service",
    "meeting_service",
)


def git_state(root: Path) -> tuple[str, bool]:
    """(commit, dirty): HEAD, and whether any tracked file is changed or an untracked one is not ignored."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=normal"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return commit, bool(status.strip())


def code_outside(root: Path, packages: tuple[str, ...] = PACKAGES) -> list[str]:
    """The packages imported from somewhere other than `root` (or not importable at all)."""
    out = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
        if origin is None or not origin.is_relative_to(root.resolve()):
            out.append(f"{name} ({origin})")
    return out


def at_start(root: Path) -> dict[str, Any]:
    commit, dirty = git_state(root)
    return {"tree": str(root), "commit": commit, "dirty": dirty, "code_outside_tree": code_outside(root)}


def at_end(root: Path, source: dict[str, Any]) -> dict[str, Any]:
    commit, dirty = git_state(root)
    return {**source, "commit_at_end": commit, "dirty_at_end": dirty}
