"""Test databases built by the services' migrations (never by ``create_all``).

SQLite: each service's schema is migrated once per test session into a template file, which is
copied for every new test database (a copy costs far less than replaying the migrations).
PostgreSQL: the database is upgraded to head by the migrations themselves.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, table

from hhpu_shared.migrations import ServiceMigrations

_TEMPLATES: dict[str, Path] = {}


@atexit.register
def _remove_templates() -> None:
    """The session's schema templates go with the process (they were left in the temp dir)."""
    for template in _TEMPLATES.values():
        shutil.rmtree(template.parent, ignore_errors=True)


def _sqlite_path(url: str) -> Path | None:
    path = url.split("///", 1)[-1]
    return None if not path or path == ":memory:" else Path(path)


def migrated(migrations: ServiceMigrations, url: str) -> str:
    """Bring the database at `url` to the service's head revision; return `url`."""
    path = _sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None and not (path.exists() and path.stat().st_size > 0):
        template = _TEMPLATES.get(migrations.package)
        if template is None or not template.exists():
            template = Path(tempfile.mkdtemp(prefix="hhpu-schema-")) / f"{migrations.service}.db"
            migrations.upgrade(f"sqlite:///{template}")
            _TEMPLATES[migrations.package] = template
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return url
    migrations.upgrade(url)
    return url


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the database (a refused request must leave all of them as they were)."""
    names = sorted(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one()) for n in names}
