"""Every row a handler writes, normalised so that two paths that wrote the same things compare equal
(the equivalence tests of the plain-statement paths: `test_case_newcomers.py`,
`test_case_known_people.py`). Test code, never shipped."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hhpu_shared.auth import system_principal
from hhpu_shared.uow import UnitOfWork, unit_of_work
from sqlalchemy import Connection, Engine, event, inspect, text

ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
UNCOMPARED = {"id", "seq", "entry_id", "row_hash", "prev_hash", "entry_hash"}  # keys, hashes: new each run

Rows = dict[str, list[dict[str, Any]]]


class _Undo(Exception):
    pass


def written(engine: Engine, apply: Callable[[UnitOfWork], None]) -> tuple[Rows, list[str]]:
    """Every row of the database after `apply` ran (audit entries flushed), normalised; then undone.
    Also the first word of each statement it ran."""
    seen: list[str] = []

    def add(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    out: Rows = {}
    event.listen(engine, "before_cursor_execute", add)
    try:
        with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
            apply(uow)
            uow.session.flush()
            uow.audit_buffer.flush(uow.session)
            event.remove(engine, "before_cursor_execute", add)
            out = dump(uow.session.connection())
            raise _Undo
    except _Undo:
        pass
    return out, seen


def dump(conn: Connection) -> Rows:
    """Each table's rows without their own keys and times; every id replaced by its order of first
    appearance (so two runs compare equal when they wrote the same things about the same ids)."""
    ids: dict[str, str] = {}

    def norm(v: Any) -> Any:
        if isinstance(v, datetime):
            return "<time>"
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, dict | list):
            v = json.dumps(v, sort_keys=True)
        if isinstance(v, str):
            v = TIME.sub("<time>", v)
            return ID.sub(lambda m: ids.setdefault(m.group(0), f"<id{len(ids)}>"), v)
        return v

    out = {}
    for table in sorted(inspect(conn).get_table_names()):
        if table.startswith("alembic"):
            continue
        cols = [c["name"] for c in inspect(conn).get_columns(table)]
        order = "seq" if "seq" in cols else "id" if table == "audit_log" else cols[0]
        for key in ("at", "added_at", "received_at", "opened_at", "created_at"):
            if key in cols and table not in ("audit_log", "outbox"):
                order = f"{key}, {order}"
                break
        rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings().all()  # noqa: S608
        dumped = [{k: norm(v) for k, v in r.items() if k not in UNCOMPARED} for r in rows]
        out[table] = sorted(dumped, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out
