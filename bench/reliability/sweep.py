"""Private PostgreSQL clusters left behind by killed reliability runs, found and dropped.

`make reliability` runs its own cluster (HHPU_PG_CLUSTER, named ``hhpu_rel...``) and its Makefile
trap destroys it at the end, but a trap does not survive a SIGKILL. So each run marks its cluster
with the pid of the process that owns it (``hhpu-owner`` in the cluster's configuration directory,
removed with the cluster), and the next run first drops every ``hhpu_rel...`` cluster that is down
with no live owner, or up with a dead owner. A cluster up without a mark, or marked by a live
process, may be someone else's run: it is left alone (and said so).

    python bench/reliability/sweep.py          # what `make reliability` runs first
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hhpu_shared.testing.processes import pid_alive

PREFIX = "hhpu_rel"
CONF = Path("/etc/postgresql")
OWNER_FILE = "hhpu-owner"


@dataclass(frozen=True)
class PgCluster:
    version: str
    name: str
    port: int
    online: bool


def parse_clusters(text: str) -> list[PgCluster]:
    """`pg_lsclusters -h` lines: version, name, port, status, owner, data directory, log file."""
    out = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[2].isdigit():
            out.append(PgCluster(cols[0], cols[1], int(cols[2]), cols[3].startswith("online")))
    return out


def owner_of(c: PgCluster, conf: Path = CONF) -> int | None:
    try:
        return int((conf / c.version / c.name / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def stale(
    clusters: list[PgCluster],
    owner: Callable[[PgCluster], int | None],
    is_alive: Callable[[int], bool] = pid_alive,
    prefix: str = PREFIX,
) -> list[PgCluster]:
    """The reliability clusters to drop: down without a live owner, or up with a dead one."""
    out = []
    for c in clusters:
        if not c.name.startswith(prefix) or c.name == "main":
            continue
        pid = owner(c)
        owner_alive = pid is not None and is_alive(pid)
        if (not c.online and not owner_alive) or (c.online and pid is not None and not owner_alive):
            out.append(c)
    return out


def claim(cluster: str, pid: int, conf: Path = CONF) -> None:
    """Mark the private cluster `cluster` (every version of it) as owned by `pid`."""
    for version_dir in conf.glob(f"*/{cluster}"):
        try:
            (version_dir / OWNER_FILE).write_text(f"{pid}\n")
        except OSError as exc:  # not root: the cluster stays unmarked (a later sweep leaves it if up)
            print(f"sweep: could not mark {version_dir} as owned by {pid}: {exc}", file=sys.stderr)


def sweep(prefix: str = PREFIX) -> list[str]:
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True)
    if listed.returncode != 0:  # PostgreSQL not installed: nothing to sweep
        return []
    clusters = parse_clusters(listed.stdout)
    dropped = []
    for c in stale(clusters, owner_of, prefix=prefix):
        subprocess.run(["pg_dropcluster", "--stop", c.version, c.name], check=True, timeout=120)
        dropped.append(f"{c.version}/{c.name}")
    for c in clusters:
        if c.name.startswith(prefix) and f"{c.version}/{c.name}" not in dropped:
            print(f"sweep: left {c.version}/{c.name} (port {c.port}): it may belong to a run in progress")
    return dropped


def main() -> None:
    for name in sweep():
        print(f"sweep: dropped the orphaned reliability cluster {name}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
