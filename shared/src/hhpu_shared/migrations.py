"""Schema migrations with Alembic: one history per service, its own MetaData and version table.

Each service declares its tables on its own SQLAlchemy registry (``service_registry("case")``),
whose MetaData also carries copies of the plumbing tables (outbox, inbox, audit log) every
service database has. Its Alembic scripts live in ``<package>/migrations`` (``env.py`` calls
:func:`run_env`), and :class:`ServiceMigrations` upgrades a database to head. Processes never
create tables: ``hhpu migrate`` or ``python -m <service> migrate`` does, before they start; a
process refuses to start on a database that is not at head (:func:`require_head`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Connection, Engine, MetaData, event, inspect, text
from sqlalchemy.orm import registry

from hhpu_shared.db import make_engine

log = logging.getLogger("hhpu.migrations")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MIGRATION_LOCK_KEY = 7_201_160


class SchemaNotCurrent(RuntimeError):
    """The database is not at the service's head revision: run ``hhpu migrate`` first."""


def plumbing_tables() -> list[Any]:
    """The tables every service database holds besides its own (outbox, inbox, audit log, marks)."""
    from hhpu_shared.audit import AuditEntry, AuditLink
    from hhpu_shared.messaging.inbox import InboxRecord
    from hhpu_shared.messaging.outbox import OutboxRecord
    from hhpu_shared.protection import ProtectionMark

    models: list[Any] = [OutboxRecord, InboxRecord, AuditEntry, AuditLink, ProtectionMark]
    return [m.__table__ for m in models]


def service_registry(service: str) -> registry:
    """A registry (and MetaData) of one service's tables, plumbing tables included.

    Table models pass it as ``class X(SQLModel, table=True, registry=REGISTRY)``.
    """
    metadata = MetaData(naming_convention=NAMING_CONVENTION, info={"service": service})
    for table in plumbing_tables():
        table.to_metadata(metadata)
    event.listen(metadata, "after_create", _chain_audit_at_commit)
    return registry(metadata=metadata)


def _chain_audit_at_commit(_metadata: MetaData, conn: Connection, **_kw: Any) -> None:
    """Tables made from the models (tests' `create_all`) chain the audit at commit as migrated ones
    do (the trigger of plumbing step 4, on PostgreSQL), installed once under the migrations' lock."""
    from hhpu_shared.audit_schema import install_chain_trigger_once

    install_chain_trigger_once(conn, MIGRATION_LOCK_KEY)


@dataclass(frozen=True)
class ServiceMigrations:
    """Where a service's migration scripts live and which MetaData they build."""

    package: str  # e.g. "case_service": scripts in case_service/migrations
    metadata: MetaData

    @property
    def service(self) -> str:
        return str(self.metadata.info["service"])

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.service}"

    def config(self, url: str | None = None) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", f"{self.package}:migrations")
        cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
        if url:
            cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        # New revisions come out ruff-clean.
        cfg.set_section_option("post_write_hooks", "hooks", "ruff_fix, ruff_format")
        cfg.set_section_option("post_write_hooks", "ruff_fix.type", "module")
        cfg.set_section_option("post_write_hooks", "ruff_fix.module", "ruff")
        cfg.set_section_option(
            "post_write_hooks", "ruff_fix.options", "check --fix -q REVISION_SCRIPT_FILENAME"
        )
        cfg.set_section_option("post_write_hooks", "ruff_format.type", "module")
        cfg.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
        cfg.set_section_option(
            "post_write_hooks", "ruff_format.options", "format -q REVISION_SCRIPT_FILENAME"
        )
        cfg.attributes["migrations"] = self
        return cfg

    @cached_property
    def script(self) -> ScriptDirectory:
        return ScriptDirectory.from_config(self.config())

    @property
    def head(self) -> str:
        head = self.script.get_current_head()
        if head is None:
            raise RuntimeError(f"{self.package} has no migrations")
        return head

    @property
    def base(self) -> str:
        bases = self.script.get_bases()
        return bases[0]

    def current(self, engine: Engine) -> str | None:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"version_table": self.version_table})
            return ctx.get_current_revision()

    def upgrade(self, url: str, revision: str = "head") -> str:
        """Upgrade the database at `url` to `revision`; return the revision it is at afterwards."""
        engine = make_engine(url)
        try:
            current = self.current(engine)
            if revision == "head" and current is not None and not self.known(current):
                self._ahead(engine, current)  # an older release's migrate during a rollback: nothing to do
                return current
            with engine.begin() as conn:
                _lock(conn)
                self._adopt_unversioned(conn)
                cfg = self.config(url)
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            current = self.current(engine)
        finally:
            engine.dispose()
        log.info("database migrated", extra={"service": self.service, "revision": current})
        return current or ""

    def migrate_to(self, url: str, revision: str) -> str:
        """Bring the database at `url` to `revision`, up or down: down is how a release that is to be
        rolled back is undone first (only the newer release knows its own revisions)."""
        engine = make_engine(url)
        try:
            current = self.current(engine)
            older = {r.revision for r in self.script.iterate_revisions(current, "base")} if current else set()
        finally:
            engine.dispose()
        if revision not in older or revision == current:
            return self.upgrade(url, revision)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                _lock(conn)
                cfg = self.config(url)
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, revision)
            current = self.current(engine)
        finally:
            engine.dispose()
        log.warning("database downgraded", extra={"service": self.service, "revision": current})
        return current or ""

    def _adopt_unversioned(self, conn: Connection) -> None:
        """A database made before migrations existed holds the first revision's tables: stamp it."""
        names = set(inspect(conn).get_table_names())
        own = {t for t in self.metadata.tables if t not in {p.name for p in plumbing_tables()}}
        if self.version_table not in names and own and own <= names:
            cfg = self.config()
            cfg.attributes["connection"] = conn
            command.stamp(cfg, self.base)
            log.warning("unversioned database stamped at the first revision", extra={"service": self.service})

    def differences(self, engine: Engine) -> list[Any]:
        """What autogenerate would change to bring the database to the models (empty when in step)."""
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts=_compare_opts(self.version_table))
            return list(compare_metadata(ctx, self.metadata))

    def revision(self, message: str) -> str:
        """Write a new revision autogenerated from the models' difference to head; return its path.

        The comparison runs against a scratch SQLite database upgraded to head."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/scratch.db"
            if self.script.get_current_head() is not None:
                self.upgrade(url)
            engine = make_engine(url)
            try:
                with engine.begin() as conn:
                    cfg = self.config(url)
                    cfg.attributes["connection"] = conn
                    script = command.revision(cfg, message=message, autogenerate=True)
            finally:
                engine.dispose()
        self.__dict__.pop("script", None)
        assert script is not None and not isinstance(script, list)
        return str(script.path)

    def known(self, revision: str) -> bool:
        """Whether `revision` is one of this code's own revisions."""
        try:
            return self.script.get_revision(revision) is not None
        except Exception:  # alembic raises a ResolutionError (or a CommandError) for an unknown id
            return False

    def not_additive(self, engine: Engine) -> list[str]:
        """How a database differs from this code's models other than by additions this code can
        ignore (empty: the code can run on it). Additions it can ignore: tables, non-unique indexes,
        and columns it can leave out (nullable, or with a server default); and a non-unique index of
        its models that the database no longer has. Anything else (a column
        or table this code needs gone or changed, a new unique index, constraint or foreign key)
        would make this code fail on the database."""
        return [_describe(d) for d in self.differences(engine) if not _ignorable(d)]

    def _ahead(self, engine: Engine, current: str) -> None:
        """A database at a revision this code does not know: a newer release migrated it (a rollout
        in progress, or this release was rolled back). Accepted when additive, else refused."""
        problems = self.not_additive(engine)
        if problems:
            raise SchemaNotCurrent(
                f"{self.service} database is at revision {current}, newer than this release's "
                f"{self.head}, and not compatible with it ({'; '.join(problems[:5])}): run the newer "
                f"release's `python -m {self.package} migrate --to {self.head}` before rolling back"
            )
        log.warning(
            "database ahead of this release: its newer revisions only add to the schema; running",
            extra={"service": self.service, "revision": current, "head": self.head},
        )

    def require_head(self, engine: Engine) -> None:
        """Refuse to run on a database behind head (processes never create tables); accept one a newer
        release migrated when the difference is additive (rolling upgrades and rollbacks, see
        docs/deployment.md "Schema migrations")."""
        current = self.current(engine)
        if current == self.head:
            return
        if current is not None and not self.known(current):
            self._ahead(engine, current)
            return
        raise SchemaNotCurrent(
            f"{self.service} database is at revision {current or 'none'}, not {self.head}: "
            f"run `hhpu migrate` (or `python -m {self.package} migrate`) first"
        )


def _lock(conn: Connection) -> None:
    """On PostgreSQL, replicas starting together (init containers) migrate one at a time."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_KEY})


def _ignorable(diff: Any) -> bool:
    """An autogenerate difference (what would bring the database to the models) that only removes
    what a newer release added and this code can ignore, or adds back a plain index it dropped."""
    if not isinstance(diff, tuple):  # a list of column modifications
        return False
    op = diff[0]
    if op == "remove_table":
        return True
    if op in ("remove_index", "add_index"):  # add: a newer release dropped a plain index this code
        return not diff[1].unique  # declares; lookups without it are slower at worst, never wrong
    if op == "remove_column":
        column = diff[3]
        return bool(column.nullable or column.server_default is not None)
    return False


def _describe(diff: Any) -> str:
    if isinstance(diff, list):
        return "; ".join(_describe(d) for d in diff)
    op, *rest = diff
    names = [getattr(r, "name", r) for r in rest if isinstance(r, str) or hasattr(r, "name")]
    return f"{op} {' '.join(str(n) for n in names if n)}".strip()


def _compare_opts(version_table: str) -> dict[str, Any]:
    return {
        "version_table": version_table,
        "compare_type": True,
        "compare_server_default": _compare_server_default,
        "render_as_batch": True,
        "include_object": _include_object,
    }


def _compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Server defaults are compared too; a JSON one as text (PostgreSQL has no ``json = json``),
    every other by Alembic's own rule (None)."""
    if isinstance(metadata_column.type, JSON) and inspected_default and rendered_metadata_default:
        return _bare_default(inspected_default) != _bare_default(rendered_metadata_default)
    return None


def _bare_default(sql: str) -> str:
    """``'[]'::json`` -> ``[]``: the literal of a reflected or rendered default."""
    return re.sub(r"::[\w ]+$", "", sql.strip()).strip("()").strip("'")


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (type_ == "table" and name is not None and name.startswith("alembic_version"))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render SQLModel's own column types as plain SQLAlchemy types in migration scripts."""
    if type_ != "type":
        return False
    name = type(obj).__name__
    if name == "AutoString":
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    if name == "UTCDateTime":
        return "sa.DateTime(timezone=True)"
    return False


def run_env(migrations: ServiceMigrations) -> None:
    """The body of every service's ``migrations/env.py`` (online mode; offline mode renders SQL)."""
    from alembic import context

    cfg = context.config
    opts: dict[str, Any] = {
        "target_metadata": migrations.metadata,
        "version_table": migrations.version_table,
        "render_as_batch": True,
        "compare_type": True,
        "compare_server_default": _compare_server_default,
        "render_item": render_item,
        "include_object": _include_object,
    }
    if context.is_offline_mode():
        context.configure(url=cfg.get_main_option("sqlalchemy.url"), literal_binds=True, **opts)
        with context.begin_transaction():
            context.run_migrations()
        return
    with _connection(cfg) as conn:
        context.configure(connection=conn, **opts)
        with context.begin_transaction():
            context.run_migrations()


@contextmanager
def _connection(cfg: Config) -> Iterator[Any]:
    conn = cfg.attributes.get("connection")
    if conn is not None:
        yield conn
        return
    engine = make_engine(cfg.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()
